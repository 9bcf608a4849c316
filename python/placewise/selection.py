"""Choosing a model from evidence: a rolling-origin search over models and their parameters,
scored on a metric the user names, with the naive baseline always in the field.

How it avoids tuning on the test windows: every candidate is scored at every origin (fit on
incidents before the origin, scored on the week after it). At each *test* origin ``t_k`` the
search picks, within each model family and across all of them, the candidate with the best
mean score over the ``lookback`` origins before ``t_k`` — origins whose test windows ended by
``t_k`` (``warmup`` origins before ``start`` exist only for this). The "tuned" and "selected"
scores at ``t_k`` are those of the picked candidate at ``t_k``. So each reported score comes
from a choice that could have been made at the time, and the paired interval against the
baseline is an honest estimate of what selecting would have gained.

Work is shared where the maths allows: the scores matrix is computed once for all uses; a
:class:`~placewise.Blend` is fitted once per origin for all its weights (its two components
do not depend on the weight); :class:`~placewise.RiskFactors` candidates that differ only in
their penalty share one feature matrix per origin, and each penalty's Newton iterations start
from the fit at the nearest penalty already solved at that origin (same optimum, fewer
iterations); an exact fixed-bandwidth :class:`~placewise.KDE` over a trailing window is
computed by :class:`placewise._native.WindowKernelSums`, which keeps the kernel sums of one
origin and moves to the next by adding the incidents that entered the window and removing
those that left it. Its sums are fixed-point integers (each point–cell term rounded once to
``surface.params["quantum"]`` of the kernel peak), so the surface at an origin is the same
bits whichever origins a process computed before — the distributed map gives the same
results with any number of workers — and differs from the direct sum by at most the
``error_bound`` it reports (truncation plus rounding).

Distribution: the work is one :class:`SelectionTask` per origin, a plain picklable record;
``select(..., map=...)`` takes any ``map(function, tasks)`` (default the builtin ``map``), e.g.
one built on ``dask.distributed``. Results do not depend on the order or place tasks run.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _native
from ._time import to_utc_seconds
from .evaluate import DEFAULT_FLOOR, LOWER_IS_BETTER, PROB_METRICS, BacktestResult, _timedelta, expected_counts
from .exceptions import EmptyInputError, param_error

if TYPE_CHECKING:
    from .data import Incidents
    from .space import Grid
    from .surface import Surface

BASELINE = "Naive (baseline)"
AUTO = "Selected (auto)"
RANK_METRICS = ("hit_rate", "pai", "pei_star")


@dataclass(frozen=True)
class Candidate:
    """One model setting in the search: its family (e.g. "KDE"), a label naming its
    parameters, and the unfitted model."""

    family: str
    label: str
    model: Any


@dataclass(frozen=True)
class SelectionTask:
    """Everything one origin's scoring needs except the data (picklable)."""

    origin: pd.Timestamp
    horizon: pd.Timedelta
    history: pd.Timedelta | None
    baseline_window: pd.Timedelta
    candidates: tuple[Candidate, ...]
    coverages: tuple[float, ...]
    floor: float = DEFAULT_FLOOR


class TaskRunner:
    """Scores one :class:`SelectionTask` on the incidents and grid it holds (picklable when
    they are); ``runner(task)`` returns a list of score rows."""

    def __init__(self, incidents: Incidents, grid: Grid) -> None:
        self.incidents = incidents
        self.grid = grid
        self._cache: dict[tuple[Any, ...], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"incidents": self.incidents, "grid": self.grid}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["incidents"], state["grid"])  # type: ignore[misc]

    def __call__(self, task: SelectionTask) -> list[dict[str, Any]]:
        return run_task(task, self.incidents, self.grid, self._cache)


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


def _label(family: str, params: Mapping[str, Any]) -> str:
    return f"{family}({', '.join(f'{k}={_fmt(v)}' for k, v in params.items())})" if params else family


def expand(models: Any) -> list[Candidate]:
    """Candidates from ``models``: a list or mapping (family label → entry) whose entries are
    a model, a ``(model, {parameter: [values…]})`` pair expanded over the grid of values, or
    a :class:`Candidate` (kept as it is)."""
    items: list[tuple[str | None, Any]]
    if isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    elif isinstance(models, Iterable):
        items = [(None, v) for v in models]
    else:
        raise param_error("models", f"a list or mapping of models or (model, param_grid) pairs")
    out: list[Candidate] = []
    for fam, entry in items:
        if isinstance(entry, Candidate):
            out.append(entry)
        elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], Mapping):
            base, grid = entry
            family = fam or getattr(base, "name", type(base).__name__)
            keys = list(grid)
            values = [list(grid[k]) for k in keys]
            if any(len(v) == 0 for v in values):
                raise param_error("models", f"an empty list of values for {family}")
            for combo in _product(values):
                params = dict(zip(keys, combo))
                m = base.clone().set_params(**params) if hasattr(base, "clone") else base
                out.append(Candidate(family, _label(family, params), m))
        else:
            family = fam or getattr(entry, "name", type(entry).__name__)
            out.append(Candidate(family, family if fam else _label(family, {}), entry))
    labels = [c.label for c in out]
    dup = {lab for lab in labels if labels.count(lab) > 1}
    if dup:
        raise param_error("models", f"two candidates are labelled {sorted(dup)}; name them in a mapping")
    if BASELINE in labels or AUTO in labels:
        raise param_error("models", f"{BASELINE!r} and {AUTO!r} are reserved labels")
    return out


def _product(values: list[list[Any]]) -> Iterable[tuple[Any, ...]]:
    if not values:
        yield ()
        return
    for v in values[0]:
        for rest in _product(values[1:]):
            yield (v, *rest)


def default_candidates(cell_size: float, layers: Mapping[str, Any] | None = None) -> list[Candidate]:
    """The default search: four families × four settings.

    * ``Naive`` over 91, 365, 730 and 1095 days;
    * ``KDE`` (Gaussian, exact sums within 4 bandwidths, 1095-day window) at 0.5, 0.75, 1 and
      1.5 cells;
    * ``Blend`` of 1095-day counts and a 28-day near-repeat surface at weights 0.6–0.95;
    * ``RiskFactors`` (lagged, neighbour and near-repeat features, plus ``layers`` when given)
      at penalties 1e-4 to 1e-1.
    """
    from .models import KDE, Blend, Naive, RiskFactors

    cs = float(cell_size)
    return expand({
        "Naive": (Naive(), {"window_days": [91, 365, 730, 1095]}),
        "KDE": (KDE(mode="exact", cutoff=4.0, window_days=1095), {"bandwidth": [round(f * cs) for f in (0.5, 0.75, 1, 1.5)]}),
        "Blend": (Blend(short_bandwidth_m=max(200.0, 1.5 * cs)), {"weight": [0.6, 0.8, 0.9, 0.95]}),
        "RiskFactors": (RiskFactors(layers=layers, training_origins=4), {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]}),
    })


# ------------------------------------------------------------------------------ one origin
def _score_rows(label: str, family: str, origin: pd.Timestamp, grid: Grid, values: np.ndarray, mu: np.ndarray | None,
                test: np.ndarray, n_test: float, coverages: Sequence[float], floor: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = {"candidate": label, "family": family, "origin": origin, "n_test": n_test}
    ms = _native.evaluate_metrics(grid._native, np.ascontiguousarray(values), test, list(coverages), None)
    for m in ms:
        for metric in RANK_METRICS:
            v = m[metric]
            rows.append({**base, "coverage": m["coverage"], "metric": metric, "value": np.nan if v is None else float(v)})
    ps = None if mu is None or n_test == 0 else _native.probabilistic_scores(grid._native, np.ascontiguousarray(mu), test, floor)
    for metric in PROB_METRICS:
        rows.append({**base, "coverage": np.nan, "metric": metric, "value": np.nan if ps is None else float(getattr(ps, metric))})
    return rows


def _fit_predict(model: Any, train: Incidents, grid: Grid, origin: pd.Timestamp, horizon: pd.Timedelta) -> Any:
    from .evaluate import _fresh, _predict

    return _predict(_fresh(model).fit(train, grid), origin, horizon)


#: Whether the search uses its shortcuts (incremental window KDE, warm-started penalties);
#: ``False`` computes every candidate directly (for benchmarks and checks only).
_SHORTCUTS = True

#: Kinds of ``shared`` entries kept across the tasks one process runs: they give the same
#: result whatever tasks ran before (layer features do not depend on the origin; window kernel
#: sums are exact integers).
_CACHED = ("risk_factor_layers", "kde_window")


def _window_kde_key(model: Any, history: pd.Timedelta | None) -> tuple[Any, ...] | None:
    """The ``shared`` key of the incremental window sums that compute ``model``'s surface, or
    ``None`` when they do not apply: only an exact fixed-bandwidth :class:`~placewise.KDE`
    with a trailing window, no decay, and a finite cutoff, whose window lies inside the
    training ``history`` (so fitting on the history and reading the window selects the same
    incidents)."""
    from .models import KDE

    if type(model) is not KDE:
        return None
    bw = model.bandwidth
    if isinstance(bw, bool) or not isinstance(bw, numbers.Real) or model.mode != "exact":
        return None
    if model.half_life_days is not None or model.window_days is None or model.binning_order is not None:
        return None
    cutoff, wd = float(model.cutoff), float(model.window_days)
    if not (math.isfinite(cutoff) and cutoff > 0 and math.isfinite(wd) and wd > 0 and float(bw) > 0):
        return None  # the KDE itself reports the bad parameter
    if history is not None and history.total_seconds() < round(wd * 86_400):
        return None
    return ("kde_window", float(bw), str(model.kernel).lower(), cutoff, wd)


def _window_kde(key: tuple[Any, ...], incidents: Incidents, grid: Grid, origin: pd.Timestamp,
                shared: dict[tuple[Any, ...], Any]) -> Surface:
    from .models._common import surface

    if key not in shared:
        _, bw, kernel, cutoff, wd = key
        shared[key] = _native.WindowKernelSums(incidents._native, grid._native, bandwidth=bw, window_days=wd,
                                               kernel=kernel, cutoff=cutoff)
    at = to_utc_seconds(origin, incidents.tz, "origin")
    return surface(shared[key].predict(at), grid, "KDE", incidents.tz)


def run_task(task: SelectionTask, incidents: Incidents, grid: Grid,
             cache: dict[tuple[Any, ...], Any] | None = None) -> list[dict[str, Any]]:
    """Scores of the baseline and every candidate of ``task`` at its origin (tidy rows).
    ``cache`` keeps, across tasks run by one process, what gives the same result whatever ran
    before (a risk-factor model's layer features; a KDE's window sums)."""
    from .models import Blend, Naive, RiskFactors

    o, h = task.origin, task.horizon
    test = np.ascontiguousarray(grid.counts(incidents.between(o, o + h)).ravel())
    n_test = float(test.sum())
    rows: list[dict[str, Any]] = []
    base_train = incidents.between(o - task.baseline_window, o)
    base = Naive(window_days=task.baseline_window / pd.Timedelta(days=1)).fit(base_train, grid).predict(at=o)
    rows += _score_rows(BASELINE, BASELINE, o, grid, base.values.ravel(), expected_counts(base, h), test, n_test,
                        task.coverages, task.floor)
    train = incidents.between(o - task.history, o) if task.history is not None else incidents.until(o)
    shared: dict[tuple[Any, ...], Any] = {}
    if cache is not None:
        shared.update({k: v for k, v in cache.items() if k[0] in _CACHED})
    for c in task.candidates:
        m = c.model
        kde_key = _window_kde_key(m, task.history) if _SHORTCUTS else None
        if kde_key is not None:
            surface = _window_kde(kde_key, incidents, grid, o, shared)
        elif isinstance(m, Blend):
            key = ("blend", m.long_window_days, m.short_window_days, m.short_bandwidth_m)
            if key not in shared:
                fitted = m.clone().fit(train, grid)
                shared[key] = (fitted, *fitted.components(o, h))
            fitted, long, short = shared[key]
            s = fitted.clone().set_params(weight=m.weight)
            s.grid_ = grid  # combine() needs only the grid
            surface = s.combine(long, short, o, h)
        elif isinstance(m, RiskFactors) and m.estimator is None:
            surface = RiskFactors.fit_predict_shared(m, train, grid, o, h, shared, warm_start=_SHORTCUTS)
        else:
            surface = _fit_predict(m, train, grid, o, h)
        values = surface.values.ravel()
        rows += _score_rows(c.label, c.family, o, grid, values, expected_counts(surface, h), test, n_test,
                            task.coverages, task.floor)
    if cache is not None:
        cache.update({k: v for k, v in shared.items() if k[0] in _CACHED})
    return rows


# ------------------------------------------------------------------------------ search
def _metric_key(metric: str, coverage: float | None) -> tuple[str, float | None]:
    metric = metric.lower().replace("*", "_star").replace("pei_star_star", "pei_star")
    if "@" in metric:
        metric, cov = metric.split("@", 1)
        coverage = float(cov.rstrip("%")) / (100 if cov.endswith("%") else 1)
    if metric in RANK_METRICS:
        if coverage is None or not 0 < float(coverage) <= 1:
            raise param_error("coverage", f"{metric} needs a coverage in (0, 1], got {coverage!r}")
        return metric, float(coverage)
    if metric in PROB_METRICS:
        return metric, None
    raise param_error("metric", f"{metric!r}; choose from {', '.join(RANK_METRICS + PROB_METRICS)} "
        "(e.g. 'pai' with coverage=0.01, or 'pai@1%')"
    )


def select(
    models: Any,
    incidents: Incidents,
    grid: Grid,
    start: Any,
    end: Any,
    *,
    metric: str = "pai",
    coverage: float | None = 0.01,
    report_coverages: Sequence[float] = (0.01, 0.05),
    step: Any = "7D",
    horizon: Any = None,
    history: Any = "1095D",
    baseline_window: Any = "365D",
    lookback: int = 13,
    warmup: int | None = None,
    bootstrap: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    floor: float = DEFAULT_FLOOR,
    map: Callable[[Callable[[SelectionTask], list[dict[str, Any]]], Iterable[SelectionTask]], Iterable[list[dict[str, Any]]]] = map,  # noqa: A002
) -> SelectionResult:
    """Rolling-origin model selection.

    ``models``: candidates as for :func:`expand` (``None``: :func:`default_candidates`).
    Test origins run weekly (``step``) from ``start`` to before ``end``; ``warmup`` origins
    (default ``lookback``) before ``start`` are scored only to inform the first choices.
    Candidates are fitted on ``history`` before each origin (``None``: everything before it);
    the baseline is :class:`~placewise.Naive` over ``baseline_window`` (last year's counts).
    ``metric`` (with ``coverage`` for hit_rate, pai, pei_star) is what the search maximises
    (minimises for deviance and brier). Intervals are percentile bootstraps over test origins,
    paired by origin (``bootstrap`` resamples, ``seed``).
    """
    key, cov = _metric_key(metric, coverage)
    step_td = _timedelta(step, "step")
    horizon_td = step_td if horizon is None else _timedelta(horizon, "horizon")
    history_td = None if history is None else _timedelta(history, "history")
    base_td = _timedelta(baseline_window, "baseline_window")
    if not isinstance(lookback, (int, np.integer)) or isinstance(lookback, bool) or lookback < 1:
        raise param_error("lookback", f"an integer >= 1, got {lookback!r}")
    warm = lookback if warmup is None else warmup
    if not isinstance(warm, (int, np.integer)) or isinstance(warm, bool) or warm < 1:
        raise param_error("warmup", f"an integer >= 1, got {warmup!r}")
    if len(incidents) == 0:
        raise EmptyInputError("empty input: no incidents to select a model on")
    if incidents.crs is not None and grid.crs is not None and not incidents.crs.equals(grid.crs):
        raise param_error("grid", f"its CRS differs from the incidents' CRS")
    candidates = default_candidates(grid.cell_size) if models is None else expand(models)
    covs = sorted({float(c) for c in report_coverages} | ({cov} if cov is not None else set()))
    tz = incidents.tz
    t0 = pd.Timestamp(to_utc_seconds(start, tz, "start"), unit="s", tz="UTC").tz_convert(tz)
    t1 = pd.Timestamp(to_utc_seconds(end, tz, "end"), unit="s", tz="UTC").tz_convert(tz)
    if t1 <= t0:
        raise param_error("end", f"{t1} is not after start {t0}")
    first, last = incidents.time_span  # type: ignore[misc]
    tests = list(pd.date_range(t0, t1, freq=step_td, inclusive="left"))
    warmups = [t0 - step_td * k for k in range(warm, 0, -1)]
    if warmups[0] - base_td < first:
        raise param_error("start", f"the first warm-up origin {warmups[0]} minus the baseline window starts before "
            f"the first incident ({first}); start later or use fewer warm-up origins"
        )
    if tests[-1] >= last:
        raise param_error("end", f"the last test window starts after the last incident ({last})")
    origins = warmups + tests
    tasks = [SelectionTask(o, horizon_td, history_td, base_td, tuple(candidates), tuple(covs), float(floor)) for o in origins]
    runner = TaskRunner(incidents, grid)
    rows = [r for part in map(runner, tasks) for r in part]
    scores = pd.DataFrame(rows)
    params = {"metric": key, "coverage": cov, "start": t0, "end": t1, "step": step_td, "horizon": horizon_td,
              "history": history_td, "baseline_window": base_td, "lookback": int(lookback), "warmup": int(warm),
              "bootstrap": int(bootstrap), "confidence": float(confidence), "seed": int(seed), "floor": float(floor),
              "report_coverages": covs}
    return SelectionResult(scores=scores, candidates=candidates, tests=tests, params=params)


def _select_metric(scores: pd.DataFrame, key: str, cov: float | None) -> pd.DataFrame:
    f = scores[scores["metric"] == key]
    if cov is not None:
        f = f[np.isclose(f["coverage"], cov)]
    return f.pivot_table(index="origin", columns="candidate", values="value", dropna=False)


@dataclass
class SelectionResult:
    """Scores of every candidate at every origin, the choices made at each test origin, and
    the evidence for the final choice.

    ``choices``: per test origin, the candidate picked within each family (``tuned <family>``)
    and overall (``Selected (auto)``, the baseline included). ``backtest``: a
    :class:`~placewise.evaluate.BacktestResult` over the test origins with every fixed
    candidate, each tuned family and the auto selection, so ``summary()`` and ``compare()``
    give means and paired intervals against the baseline. ``winner``: the candidate the
    search picks at ``end`` from the last ``lookback`` origins; ``beats_baseline``: whether
    the auto selection's paired interval against the baseline lies wholly on the better side
    of 0 on the selection metric.
    """

    scores: pd.DataFrame
    candidates: list[Candidate]
    tests: list[pd.Timestamp]
    params: dict[str, Any]
    choices: pd.DataFrame = field(init=False)
    backtest: BacktestResult = field(init=False)

    def __post_init__(self) -> None:
        p = self.params
        key, cov, look = p["metric"], p["coverage"], p["lookback"]
        sign = -1.0 if key in LOWER_IS_BETTER else 1.0
        wide = _select_metric(self.scores, key, cov)
        origins = list(wide.index)
        fams: dict[str, list[str]] = {}
        for c in self.candidates:
            fams.setdefault(c.family, []).append(c.label)
        fams_all = {**{f"tuned {k}": v for k, v in fams.items() if len(v) > 1}, AUTO: [BASELINE] + [c.label for c in self.candidates]}
        choice_rows = []
        for t in self.tests + [p["end"]]:
            past = [o for o in origins if o + p["horizon"] <= t][-look:]
            row: dict[str, Any] = {"origin": t}
            for name, labels in fams_all.items():
                means = (sign * wide.loc[past, labels]).mean(axis=0, skipna=True)
                means = means.dropna()
                row[name] = means.idxmax() if len(means) else None
            choice_rows.append(row)
        choices = pd.DataFrame(choice_rows)
        self.choices = choices[choices["origin"].isin(self.tests)].reset_index(drop=True)
        self._final = choice_rows[-1]
        # the backtest-style frame over test origins
        f = self.scores[self.scores["origin"].isin(self.tests)].rename(columns={"candidate": "model"})
        f = f.drop(columns=["family"])
        extra = []
        by = {(lab, o): g for (lab, o), g in f.groupby(["model", "origin"], sort=False)}
        for _, r in self.choices.iterrows():
            for name in fams_all:
                pick = r[name]
                if pick is None:
                    continue
                g = by[(pick, r["origin"])].copy()
                g["model"] = name
                extra.append(g)
        frame = pd.concat([f, *extra], ignore_index=True)
        frame["cells"], frame["tied_at_threshold"] = np.nan, np.nan
        bt_params = {"start": p["start"], "end": p["end"], "step": p["step"], "horizon": p["horizon"],
                     "train_window": p["history"], "coverage": p["report_coverages"], "bootstrap": p["bootstrap"],
                     "confidence": p["confidence"], "seed": p["seed"]}
        self.backtest = BacktestResult(frame=frame, baseline=BASELINE, params=bt_params, curves={})

    # --------------------------------------------------------------------- evidence
    @property
    def winner(self) -> str:
        """Label of the candidate the search picks at ``end`` (possibly the baseline)."""
        return str(self._final[AUTO])

    def model(self, label: str | None = None) -> Any:
        """An unfitted copy of a candidate (default: the winner; the baseline is a Naive)."""
        from .evaluate import _fresh
        from .models import Naive

        label = label or self.winner
        if label == BASELINE:
            return Naive(window_days=self.params["baseline_window"] / pd.Timedelta(days=1))
        for c in self.candidates:
            if c.label == label:
                return _fresh(c.model)
        raise param_error("label", f"{label!r} is not a candidate")

    def evidence(self, model: str = AUTO) -> dict[str, Any]:
        """Paired difference of ``model`` (default the auto selection) against the baseline on
        the selection metric: mean, interval, share of test origins better, origins."""
        p = self.params
        c = self.backtest.compare()
        c = c[(c["model"] == model) & (c["metric"] == p["metric"])]
        if p["coverage"] is not None:
            c = c[np.isclose(c["coverage"], p["coverage"])]
        if c.empty:
            return {"model": model, "metric": p["metric"], "coverage": p["coverage"], "mean_difference": math.nan,
                    "ci_low": math.nan, "ci_high": math.nan, "share_better": math.nan, "origins": 0}
        r = c.iloc[0]
        return {"model": model, "metric": p["metric"], "coverage": p["coverage"], "mean_difference": float(r["mean_difference"]),
                "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]), "share_better": float(r["share_better"]),
                "origins": int(r["origins"])}

    @property
    def beats_baseline(self) -> bool:
        """True when the auto selection's whole interval against the baseline is on the better
        side of 0 (above for PAI, PEI*, hit rate and log-likelihood; below for deviance and
        Brier)."""
        e = self.evidence()
        if self.params["metric"] in LOWER_IS_BETTER:
            return bool(e["ci_high"] < 0)
        return bool(e["ci_low"] > 0)

    @property
    def chosen(self) -> str:
        """What the chain should act on: the winner when the selection beats the baseline,
        else the baseline."""
        return self.winner if self.beats_baseline and self.winner != BASELINE else BASELINE

    def metric_name(self) -> str:
        p = self.params
        name = {"pai": "PAI", "pei_star": "PEI*", "hit_rate": "hit rate", "log_likelihood": "Poisson log-likelihood",
                "deviance": "Poisson deviance", "brier": "Brier score"}[p["metric"]]
        return f"{name} at {p['coverage']:.0%} of the area" if p["coverage"] is not None else name

    def plain_words(self) -> str:
        """One paragraph for the report."""
        e = self.evidence()
        p = self.params
        n = e["origins"]
        what = self.metric_name()
        span = (f"{len(self.tests)} weekly test origins from {p['start']:%Y-%m-%d}; at each, the choice used only the "
                f"{p['lookback']} origins before it")
        diff = (f"selecting by this rule changed the {what} by {e['mean_difference']:+.3g} on average "
                f"(95 % interval {e['ci_low']:+.3g} to {e['ci_high']:+.3g}, better in {e['share_better']:.0%} of {n} weeks)")
        if self.chosen == BASELINE:
            if self.winner == BASELINE:
                why = "the search itself preferred last year's counts"
            else:
                why = f"the search's pick, {self.winner}, is not shown to beat last year's counts: the interval includes 0 or lies below it"
            return (f"No model beat the naive baseline (last year's counts) with its interval above 0, so the plan uses the "
                    f"baseline. Evidence: {span}; {diff}. In plain words: {why}.")
        return (f"The plan uses {self.winner}, chosen by rolling validation. Evidence: {span}; {diff}. The whole interval "
                f"is on the better side of 0, so the choice beats last year's counts on this record.")

    def table(self) -> pd.DataFrame:
        """Per model (fixed candidates, tuned families, auto, baseline): mean and interval of
        the selection metric and the paired difference against the baseline."""
        p = self.params
        s = self.backtest.summary()
        s = s[s["metric"] == p["metric"]]
        c = self.backtest.compare()
        c = c[c["metric"] == p["metric"]]
        if p["coverage"] is not None:
            s = s[np.isclose(s["coverage"], p["coverage"])]
            c = c[np.isclose(c["coverage"], p["coverage"])]
        t = s[["model", "mean", "ci_low", "ci_high"]].merge(
            c[["model", "mean_difference", "ci_low", "ci_high", "share_better"]].rename(
                columns={"ci_low": "diff_ci_low", "ci_high": "diff_ci_high"}), on="model", how="left")
        asc = p["metric"] in LOWER_IS_BETTER
        return t.sort_values("mean", ascending=asc).reset_index(drop=True)

    def __repr__(self) -> str:
        return (f"<SelectionResult {len(self.candidates)} candidates × {len(self.tests)} test origins on {self.metric_name()}: "
                f"winner {self.winner}, beats baseline: {self.beats_baseline}>")

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.table().to_html(index=False, float_format=lambda v: f'{v:.3f}')}</div>"


def choose_model(
    incidents: Incidents,
    grid: Grid,
    at: Any,
    *,
    models: Any = None,
    weeks: int = 26,
    metric: str = "pai",
    coverage: float | None = 0.01,
    seed: int = 0,
    bootstrap: int = 1000,
    map: Any = map,  # noqa: A002
    **kwargs: Any,
) -> tuple[Any, SelectionResult]:
    """For the chain: runs :func:`select` over the ``weeks`` weekly origins before ``at`` (on
    incidents before ``at`` only) and returns the model to allocate with — the winner when it
    beats the baseline with its whole interval on the better side of 0, else the baseline —
    unfitted, with the selection result for the report."""
    tz = incidents.tz
    at_ts = pd.Timestamp(to_utc_seconds(at, tz, "at"), unit="s", tz="UTC").tz_convert(tz)
    start = at_ts - pd.Timedelta(days=7 * int(weeks))
    res = select(models, incidents.until(at_ts), grid, start, at_ts, metric=metric, coverage=coverage, seed=seed,
                 bootstrap=bootstrap, map=map, **kwargs)
    return res.model(res.chosen), res
