"""Evaluation: hit rate, PAI, PEI*, RRI, coverage curves, and rolling-origin backtests.

Definitions (the Rust core, ``src/evaluate/metrics.rs``, documents them in full):

* cells are ranked by predicted value, highest first, ties broken by the lower cell id; the
  flagged set at coverage ``c`` is the shortest prefix of the ranking whose region area reaches
  ``c`` × the region's area (masked cells are excluded; partial cells count by their share
  inside the region);
* hit rate = n / N; PAI = (n / N) / (a / A) (Chainey, Tompson & Uhlig 2008);
* PEI* = n / n*, with n* the incidents captured by the best possible set of the same number of
  cells (Hunt 2016; Drawve 2016);
* RRI, recapture rate index = (n₂ / n₁) / (N₂ / N₁) (Levine 2008): test-window share of the
  flagged cells relative to their training-window share;
* AUC: area under the hit-rate / area-share curve (0.5 for a random ranking on average).

Probabilistic scores (``src/evaluate/scores.rs``) judge the counts, not only the ranking: the
Poisson log-likelihood and deviance of the expected counts per cell, the Brier score of "at
least one incident in the cell" (P = 1 − e^{−μ}), and a calibration table by decile of the
forecast. They need expected counts over the test window, which :func:`expected_counts`
derives from a surface:

* **calibrated** (values are counts): ``Naive`` and ``KDE`` / ``RetrospectiveHotspot``
  (incidents or kernel-weighted incidents over the training window, rescaled to the test
  window's length; an exponential decay's effective window is used; KDE loses the kernel mass
  that falls off the grid, so it runs a little low near the edges), ``SEPP``, ``RiskFactors`` and
  ``Blend`` (expected incidents over the horizon);
* **ranking only**: ``ProspectiveHotspot`` (a score Σ 1/((1+d)(1+t)) with no unit); its
  probabilistic scores are NaN, never a made-up rescaling.
"""

from __future__ import annotations

import html
import inspect
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _check, _native
from ._time import to_utc_seconds
from .exceptions import EmptyInputError, param_error, too_large_error

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .data import Incidents
    from .space import Grid
    from .surface import Surface

METRICS = ("hit_rate", "pai", "pei_star", "rri")
PROB_METRICS = ("log_likelihood", "deviance", "brier")
#: Metrics where a lower value is better (every other metric: higher is better).
LOWER_IS_BETTER = frozenset({"deviance", "brier"})
#: Expected counts below this are raised to it before the log-likelihood (a cell forecast at
#: zero that then sees an incident would otherwise cost −∞): 0.001 incidents per cell.
DEFAULT_FLOOR = 1e-3


def _counts(grid: Grid, incidents: Incidents | np.ndarray) -> np.ndarray:
    if isinstance(incidents, np.ndarray):
        arr = np.asarray(incidents, dtype=np.float64).ravel()
        if arr.size != grid.n_cells:
            raise param_error("test", f"{arr.size} counts but the grid has {grid.n_cells} cells")
        return arr
    return grid.counts(incidents).ravel()


def _coverages(coverage: float | Iterable[float]) -> list[float]:
    cov = [float(coverage)] if np.ndim(coverage) == 0 else [float(c) for c in coverage]  # type: ignore[arg-type]
    if not cov:
        raise param_error("coverage", "give at least one coverage in (0, 1]")
    # The domain (0, 1] of each coverage is checked by the Rust core, which names `coverage`.
    return cov


def metrics(
    surface: Surface,
    test: Incidents | np.ndarray,
    coverage: float | Iterable[float] = (0.01, 0.05),
    train: Incidents | np.ndarray | None = None,
) -> pd.DataFrame:
    """Hit rate, PAI, PEI* (and RRI when ``train`` is given) of ``surface`` against the test
    incidents (or counts per cell), one row per coverage.

    The frame also says how many cells were flagged and how many cells were tied at the
    threshold (``tied_at_threshold``, of which ``tied_flagged`` made the cut by the cell-id
    rule). With no test incident the ratios are NaN and ``n_test`` is 0.
    """
    g = surface.grid
    test_counts = _counts(g, test)
    train_counts = None if train is None else _counts(g, train)
    rows = _native.evaluate_metrics(
        g._native, np.ascontiguousarray(surface.values.ravel()), np.ascontiguousarray(test_counts), _coverages(coverage),
        None if train_counts is None else np.ascontiguousarray(train_counts),
    )
    return pd.DataFrame(rows)


@dataclass
class CoverageCurve:
    """Hit rate after flagging each ranked cell, against the share of the area flagged."""

    area_share: np.ndarray
    hit_rate: np.ndarray
    auc: float
    label: str = ""

    def at(self, coverage: Sequence[float]) -> np.ndarray:
        """Hit rate interpolated at the given area shares."""
        return np.interp(np.asarray(coverage, dtype=float), self.area_share, self.hit_rate)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        ax.plot(self.area_share, self.hit_rate, label=f"{self.label} (AUC {self.auc:.3f})".strip(), **kwargs)
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set_xlabel("share of area flagged")
        ax.set_ylabel("share of incidents captured (hit rate)")
        ax.legend()
        return ax


def coverage_curve(surface: Surface, test: Incidents | np.ndarray) -> CoverageCurve:
    """The full hit-rate curve of ``surface`` against the test incidents, and its AUC."""
    a, h, auc = _native.coverage_curve(
        surface.grid._native, np.ascontiguousarray(surface.values.ravel()), np.ascontiguousarray(_counts(surface.grid, test))
    )
    return CoverageCurve(a, h, auc, surface.model)


# ------------------------------------------------------------------------- probabilistic
def expected_counts(surface: Surface, horizon: Any) -> np.ndarray | None:
    """Expected incidents per cell over ``horizon`` (a duration) implied by ``surface``, as a
    flat array over every cell; ``None`` when the surface only ranks cells (its values are not
    counts, e.g. the prospective hotspot score).

    Surfaces in "expected incidents … over the horizon" are rescaled from their own horizon;
    surfaces in "(kernel-weighted) incidents … over the (training) window" are divided by the
    window's length (with a half-life decay h over a window W, by its effective length
    h/ln 2 · (1 − 2^{−W/h})) and multiplied by ``horizon``.
    """
    h_days = _timedelta(horizon, "horizon") / pd.Timedelta(days=1)
    units = surface.units or ""
    v = np.asarray(surface.values, dtype=np.float64).ravel()
    if "over the horizon" in units:
        own = surface.horizon
        scale = 1.0 if own is None else h_days / (own / pd.Timedelta(days=1))
        return v * scale
    if "over the training window" in units or "over the window" in units:
        if surface.window is None:
            return None
        w_days = (surface.window[1] - surface.window[0]) / pd.Timedelta(days=1)
        hl = surface.params.get("half_life_days")
        if hl is not None:
            h = float(hl)
            w_days = h / np.log(2) * (1 - 2 ** (-w_days / h))
        if not w_days > 0:
            return None
        return v * (h_days / w_days)
    return None


def probabilistic_scores(
    surface: Surface | np.ndarray,
    test: Incidents | np.ndarray,
    horizon: Any = None,
    grid: Grid | None = None,
    floor: float = DEFAULT_FLOOR,
) -> _native.ProbabilisticScores:
    """Poisson log-likelihood, deviance and Brier score (for "≥ 1 incident") of a forecast
    against the test incidents (or counts per cell), over the active cells.

    ``surface`` is a :class:`~placewise.Surface` (turned into expected counts over
    ``horizon`` by :func:`expected_counts`) or an array of expected counts per cell (then
    ``grid`` is required). Expected counts below ``floor`` are raised to it (reported as
    ``floored_cells``). A ranking-only surface is refused.
    """
    mu, g = _mu(surface, horizon, grid)
    return _native.probabilistic_scores(g._native, mu, np.ascontiguousarray(_counts(g, test)), float(floor))


def _mu(surface: Surface | np.ndarray, horizon: Any, grid: Grid | None) -> tuple[np.ndarray, Grid]:
    from .surface import Surface as _Surface

    if isinstance(surface, _Surface):
        if horizon is None:
            if surface.horizon is None:
                raise param_error("horizon", f"give the length of the test window, e.g. '7D'")
            horizon = surface.horizon
        mu = expected_counts(surface, horizon)
        if mu is None:
            raise param_error("surface", f"{surface.model} values ({surface.units or 'no unit'}) only rank cells; "
                "probabilistic scores need expected counts"
            )
        return np.ascontiguousarray(mu), surface.grid
    if grid is None:
        raise param_error("grid", f"needed when `surface` is an array of expected counts")
    arr = np.ascontiguousarray(np.asarray(surface, dtype=np.float64).ravel())
    if arr.size != grid.n_cells:
        raise param_error("surface", f"{arr.size} values but the grid has {grid.n_cells} cells")
    return arr, grid


class CalibrationTable:
    """Predicted against observed counts by group of cells (lowest forecasts first).

    ``frame``: bin, cells, predicted_min/max, predicted_total, observed_total, and the means per
    cell. ``plot()`` draws observed against predicted mean counts per bin with the diagonal.
    """

    def __init__(self, frame: pd.DataFrame, label: str = "") -> None:
        self.frame = frame
        self.label = label

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.5))
        f = self.frame
        ax.plot(f["predicted_mean"], f["observed_mean"], marker="o", label=self.label or None, **kwargs)
        hi = float(max(f["predicted_mean"].max(), f["observed_mean"].max()))
        ax.plot([0, hi], [0, hi], ls=":", color="grey")
        ax.set_xlabel("mean predicted incidents per cell")
        ax.set_ylabel("mean observed incidents per cell")
        if self.label:
            ax.legend()
        return ax

    def __repr__(self) -> str:
        return f"<CalibrationTable {len(self.frame)} bins>\n{self.frame.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, float_format=lambda v: f"{v:.4g}")


def calibration(
    surface: Surface | np.ndarray,
    test: Incidents | np.ndarray,
    horizon: Any = None,
    grid: Grid | None = None,
    bins: int = 10,
) -> CalibrationTable:
    """Calibration table: active cells ranked by expected count and cut into ``bins`` groups
    of equal cell count (deciles by default), each with its predicted and observed totals. A
    calibrated forecast has observed ≈ predicted in every group."""
    mu, g = _mu(surface, horizon, grid)
    rows = _native.calibration(g._native, mu, np.ascontiguousarray(_counts(g, test)), int(bins))
    frame = _calibration_frame(rows)
    return CalibrationTable(frame, getattr(surface, "model", ""))


def _calibration_frame(rows: Sequence[_native.CalibrationBin]) -> pd.DataFrame:
    f = pd.DataFrame([{"bin": r.bin, "cells": r.cells, "predicted_min": r.predicted_min, "predicted_max": r.predicted_max,
                       "predicted_total": r.predicted_total, "observed_total": r.observed_total} for r in rows])
    f["predicted_mean"] = f["predicted_total"] / f["cells"]
    f["observed_mean"] = f["observed_total"] / f["cells"]
    return f


# --------------------------------------------------------------------------------- backtest
def _timedelta(value: Any, name: str) -> pd.Timedelta:
    if value is None or isinstance(value, (bool, np.bool_)):
        raise param_error(name, f"{value!r} is not a duration such as '7D'")
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError) as e:
        raise param_error(name, f"{value!r} is not a duration such as '7D' ({e})") from e
    if td is pd.NaT or pd.isna(td):
        raise param_error(name, f"{value!r} is not a duration such as '7D'")
    if td > pd.Timedelta(days=200 * 365):
        raise param_error(name, f"{value!r} is longer than 200 years")
    if td <= pd.Timedelta(0):
        raise param_error(name, f"must be positive, got {value!r}")
    return td


def _check_origins(t0: pd.Timestamp, t1: pd.Timestamp, step: pd.Timedelta, max_origins: Any, bootstrap: int) -> int:
    """Refuses more origins than ``max_origins`` (default: the process-wide limit), and a
    bootstrap matrix (resamples × origins) above ``max_matrix_values``, before anything is
    built."""
    from . import _check
    from .limits import limits

    lim = limits()
    limit = lim.max_backtest_origins if max_origins is None else _check.integer("max_origins", max_origins, 1)
    n = -(-(t1 - t0) // step)  # origins t0, t0 + step, … < t1
    if n > limit:
        raise too_large_error("step", "backtest origins", n, limit,
                              "pass max_origins= or raise placewise.set_limits(max_backtest_origins=...)")
    if bootstrap * n > lim.max_matrix_values:
        raise too_large_error("bootstrap", "bootstrap values (resamples × origins)", bootstrap * n,
                              lim.max_matrix_values)
    return int(n)


def _labels(models: Sequence[Any] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(models, Mapping):
        return [(str(k), m) for k, m in models.items()]
    out: list[tuple[str, Any]] = []
    seen: dict[str, int] = {}
    for m in models:
        base = getattr(m, "name", type(m).__name__)
        seen[base] = seen.get(base, 0) + 1
        out.append((base if seen[base] == 1 else f"{base}#{seen[base]}", m))
    return out


def _fresh(model: Any) -> Any:
    return model.clone() if hasattr(model, "clone") else model


def _predict(model: Any, origin: pd.Timestamp, horizon: pd.Timedelta) -> Surface:
    params = inspect.signature(model.predict).parameters
    if "horizon" in params:
        return model.predict(at=origin, horizon=horizon)
    return model.predict(at=origin)


def _progress(total: int, enabled: bool | None, desc: str) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty() or "ipykernel" in sys.modules
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency of the dev set, optional at run time
        return None
    return tqdm(total=total, desc=desc, leave=False)


def backtest(
    models: Sequence[Any] | Mapping[str, Any],
    incidents: Incidents,
    grid: Grid,
    start: Any,
    end: Any,
    step: Any = "7D",
    horizon: Any = None,
    train_window: Any = "365D",
    coverage: float | Iterable[float] = (0.01, 0.05),
    baseline: Any = None,
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    progress: bool | None = None,
    max_origins: int | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of ``models`` on ``incidents``.

    At each origin t = start, start + step, … (< end) every model is fitted on the incidents in
    ``[t - train_window, t)`` — never on anything at or after t — and its surface predicted at t
    is scored against the incidents in ``[t, t + horizon)`` (``horizon`` defaults to ``step``).
    A :class:`~placewise.Naive` baseline over the same training window is always included (pass
    ``baseline=`` to use another one). Test windows with no incident are kept in the table with
    ``n_test = 0`` and NaN metrics and listed in ``result.empty_windows``; they are left out of
    means and intervals.

    Returns a :class:`BacktestResult`; ``result.frame`` is the tidy table (model, origin,
    coverage, metric, value, n_test).

    More than ``max_origins`` origins (default: ``placewise.limits().max_backtest_origins``,
    5,000) raise :class:`~placewise.TooLargeError` before any model is fitted: each origin refits
    every model, so ``step="1min"`` over a month (43,200 origins) is refused unless asked for.
    """
    step_td = _timedelta(step, "step")
    horizon_td = step_td if horizon is None else _timedelta(horizon, "horizon")
    window_td = _timedelta(train_window, "train_window")
    covs = _coverages(coverage)
    if not isinstance(bootstrap, (int, np.integer)) or isinstance(bootstrap, bool) or bootstrap < 0:
        raise param_error("bootstrap", f"must be an integer >= 0, got {bootstrap!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise param_error("seed", f"must be a non-negative integer, got {seed!r}")
    # The Rust core owns the domains of `bootstrap` and `confidence` (and of each coverage):
    # ask it now, on no values, so that a bad one fails before any model is fitted.
    _native.bootstrap_mean_interval(np.empty(0), int(bootstrap), _check.number("confidence", confidence),
                                    int(seed), 0)
    _native.evaluate_metrics(grid._native, np.zeros(grid.n_cells), np.zeros(grid.n_cells), covs, None)
    if len(incidents) == 0:
        raise EmptyInputError("empty input: no incidents to backtest on")
    if incidents.crs != grid.crs:
        raise param_error("grid", "its CRS differs from the incidents' CRS")
    tz = incidents.tz
    t0 = pd.Timestamp(to_utc_seconds(start, tz, "start"), unit="s", tz="UTC").tz_convert(tz)
    t1 = pd.Timestamp(to_utc_seconds(end, tz, "end"), unit="s", tz="UTC").tz_convert(tz)
    if t1 <= t0:
        raise param_error("end", f"{t1} is not after start {t0}")
    first, last = incidents.time_span  # type: ignore[misc]
    if t0 <= first:
        raise param_error(
            "start",
            f"the first origin {t0} is not after the first incident ({first}); models need training data before each origin",
        )
    if t1 > last + pd.Timedelta(seconds=1):
        raise param_error("end", f"{t1} is after the last incident ({last}); test windows would be empty")
    n_origins = _check_origins(t0, t1, step_td, max_origins, int(bootstrap))
    origins = [t0 + k * step_td for k in range(n_origins)]
    labelled = _labels(models)
    if baseline is None:
        from .models import Naive

        baseline = Naive(window_days=window_td / pd.Timedelta(days=1))
    labelled = [("Naive (baseline)", baseline)] + labelled
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[np.ndarray]] = {lab: [] for lab, _ in labelled}
    grid_cov = np.linspace(0, 1, 201)
    bar = _progress(len(origins) * len(labelled), progress, "backtest")
    try:
        for origin in origins:
            train = incidents.between(origin - window_td, origin)
            test = incidents.between(origin, origin + horizon_td)
            test_counts = grid.counts(test).ravel()
            train_counts = grid.counts(train).ravel()
            n_test = float(test_counts.sum())
            for label, model in labelled:
                m = _fresh(model).fit(train, grid)
                surface = _predict(m, origin, horizon_td)
                res = metrics(surface, test_counts, covs, train=train_counts)
                for rec in res.to_dict("records"):
                    for metric in METRICS:
                        rows.append({"model": label, "origin": origin, "coverage": rec["coverage"], "metric": metric,
                                     "value": rec[metric] if rec[metric] is not None else np.nan, "n_test": n_test,
                                     "cells": rec["cells"], "tied_at_threshold": rec["tied_at_threshold"]})
                mu = expected_counts(surface, horizon_td)
                ps = None if mu is None or n_test == 0 else _native.probabilistic_scores(
                    grid._native, np.ascontiguousarray(mu), np.ascontiguousarray(test_counts), DEFAULT_FLOOR)
                for metric in PROB_METRICS:
                    rows.append({"model": label, "origin": origin, "coverage": np.nan, "metric": metric,
                                 "value": np.nan if ps is None else getattr(ps, metric), "n_test": n_test,
                                 "cells": np.nan, "tied_at_threshold": np.nan})
                curve = coverage_curve(surface, test_counts)
                rows.append({"model": label, "origin": origin, "coverage": np.nan, "metric": "auc",
                             "value": curve.auc if n_test > 0 else np.nan, "n_test": n_test, "cells": np.nan,
                             "tied_at_threshold": np.nan})
                if n_test > 0:
                    curves[label].append(curve.at(grid_cov))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    frame = pd.DataFrame(rows)
    mean_curves = {k: (grid_cov, np.mean(v, axis=0)) for k, v in curves.items() if v}
    params = {"start": t0, "end": t1, "step": step_td, "horizon": horizon_td, "train_window": window_td,
              "coverage": covs, "bootstrap": bootstrap, "confidence": confidence, "seed": seed}
    return BacktestResult(frame=frame, baseline="Naive (baseline)", params=params, curves=mean_curves)


class BacktestResult:
    """A rolling backtest's scores, with bootstrap intervals over origins.

    ``frame``: one row per (model, origin, coverage, metric). ``summary()``: mean and interval
    per model, coverage and metric. ``compare()``: paired difference of each model against the
    baseline, origin by origin, with its interval.
    """

    def __init__(self, *, frame: pd.DataFrame, baseline: str, params: dict[str, Any],
                 curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.frame = frame
        self.baseline = baseline
        self.params = params
        self.curves = curves

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.frame["model"]))

    @property
    def empty_windows(self) -> list[pd.Timestamp]:
        """Origins whose test window held no incident (excluded from means and intervals)."""
        f = self.frame
        return sorted(set(f.loc[f["n_test"] == 0, "origin"]))

    def _boot(self, values: np.ndarray, seed: int, task: int) -> tuple[float, float]:
        """Percentile bootstrap interval of the mean, drawn in the Rust core from the streams of
        ``(seed, task)`` (one task per interval, so intervals are independent)."""
        b, conf = self.params["bootstrap"], self.params["confidence"]
        if b == 0 or len(values) < 2:
            return (np.nan, np.nan)
        return _native.bootstrap_mean_interval(np.ascontiguousarray(values, dtype=np.float64), int(b), float(conf),
                                               int(seed), int(task))

    def summary(self) -> pd.DataFrame:
        """Mean over origins and a percentile bootstrap interval (origins resampled with
        replacement, seeded) per model, coverage and metric."""
        out = []
        f = self.frame[self.frame["n_test"] > 0]
        groups = f.groupby(["model", "coverage", "metric"], dropna=False, sort=False)
        for task, ((model, cov, metric), g) in enumerate(groups):
            v = g["value"].dropna().to_numpy()
            lo, hi = self._boot(v, self.params["seed"], task)
            out.append({"model": model, "coverage": cov, "metric": metric, "mean": v.mean() if len(v) else np.nan,
                        "ci_low": lo, "ci_high": hi, "origins": len(v)})
        return pd.DataFrame(out)

    def compare(self, baseline: str | None = None) -> pd.DataFrame:
        """Each model minus the baseline, paired by origin: mean difference, bootstrap
        interval, and the share of origins where the model scored higher."""
        base = baseline or self.baseline
        if base not in self.models:
            raise param_error("baseline", f"{base!r} is not one of {self.models}")
        f = self.frame[self.frame["n_test"] > 0]
        task = 0
        wide = f.pivot_table(index=["origin", "coverage", "metric"], columns="model", values="value", dropna=False)
        out = []
        for model in self.models:
            if model == base:
                continue
            for (cov, metric), g in wide.groupby(level=["coverage", "metric"], dropna=False):
                d = (g[model] - g[base]).dropna().to_numpy()
                if len(d) == 0:  # a (coverage, metric) pair that does not occur, e.g. AUC at a coverage
                    continue
                # paired differences: tasks counted from 2^31, apart from summary()'s
                lo, hi = self._boot(d, self.params["seed"], 2**31 + task)
                task += 1
                out.append({"model": model, "baseline": base, "coverage": cov, "metric": metric,
                            "mean_difference": d.mean() if len(d) else np.nan, "ci_low": lo, "ci_high": hi,
                            "share_better": float(((d < 0) if metric in LOWER_IS_BETTER else (d > 0)).mean())
                            if len(d) else np.nan, "origins": len(d)})
        return pd.DataFrame(out)

    def plot(self, kind: str = "curves", metric: str = "pai", coverage: float | None = None, ax: Axes | None = None) -> Axes:
        """``kind="curves"``: mean hit-rate curve per model; ``kind="time"``: ``metric`` at
        ``coverage`` (default the first) over origins."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if kind == "curves":
            for label, (x, y) in self.curves.items():
                ax.plot(x, y, label=label)
            ax.plot([0, 1], [0, 1], ls=":", color="grey")
            ax.set_xlabel("share of area flagged")
            ax.set_ylabel("mean hit rate")
            ax.set_xlim(0, 0.2)
            ax.set_ylim(0, None)
        elif kind == "time":
            cov = self.params["coverage"][0] if coverage is None else coverage
            f = self.frame[(self.frame["metric"] == metric) & np.isclose(self.frame["coverage"], cov)]
            for label, g in f.groupby("model", sort=False):
                ax.plot(g["origin"], g["value"], marker=".", label=label)
            ax.set_ylabel(f"{metric} at {cov:.0%} coverage")
        else:
            raise param_error("kind", f"'curves' or 'time', got {kind!r}")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return (f"<BacktestResult {len(self.models)} models × {self.frame['origin'].nunique()} origins, "
                f"coverage {self.params['coverage']}, {len(self.empty_windows)} empty test windows>")

    def _repr_html_(self) -> str:
        s = self.summary()
        s = s[s["metric"].isin(["pai", "pei_star"])]
        return f"<div><b>{html.escape(repr(self))}</b>{s.to_html(index=False, float_format=lambda v: f'{v:.3f}')}</div>"


def select(*args: Any, **kwargs: Any) -> Any:
    """Rolling-origin model selection; see :func:`placewise.selection.select`."""
    from .selection import select as _select

    return _select(*args, **kwargs)


select.__doc__ = "Rolling-origin model selection against the naive baseline; see :func:`placewise.selection.select`."
