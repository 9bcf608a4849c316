"""The feedback simulator as it was before the Rust port (placewise 0.1, pure Python over
numpy and the native model/allocation calls), kept to compare speed in ``bench/feedback.py``.
Not part of the package; seeded outputs differ from the Rust simulator (numpy PCG64 streams).

Spatial feedback-loop simulation: deploy → discover → retrain, on a real grid.

Each replicate runs ``rounds`` rounds. In every round, in every active cell ``c``:

1. ``occurred_c ~ Poisson(λ_c)`` — the true rate (from data or a scenario), fixed over time;
2. ``reported_c ~ Binomial(occurred_c, r_c)`` — victims and witnesses report with a rate that
   may differ by area;
3. ``discovered_c ~ Binomial(occurred_c − reported_c, 1 − (1 − q)^{dose_c})`` — police find
   unreported incidents where they patrol, ``q`` per unit of patrol;
4. the records that enter training depend on the training rule:
   ``"all"`` (reported + discovered, what most agencies do), ``"reported"`` (reported only), or
   ``"ensign"`` (discovered incidents kept with probability ∝ 1 − p_c, p_c the cell's share of
   patrol, normalised so the largest acceptance is 1 — the correction of Ensign et al. 2018);
5. the model is refitted on the records of the last ``history_rounds`` rounds (records sit at
   cell centres, weighted by count) and predicts the next round; the strategy allocates the
   budget over its surface.

Per round it reports: total-variation distance between the model's normalised surface and the
truth (``tv_model``, "divergence from the truth"), the share of patrol units placed in the truly
highest-rate cells (``dose_in_true_top``), the Gini of patrol across cells, and, with a
population, recorded ÷ occurred per group (the discovery-probability gap of D'Amour et al. 2020:
``discovery_gap`` = largest minus smallest group rate).

**Verdict** (a convention, stated in the result), from the mean ``tv_model`` over the last
tenth of the rounds against its value after the first round: ``"runaway"`` when it grew by more
than ``runaway_delta`` (default 0.1, i.e. ten percentage points of probability mass moved away
from where incidents truly occur); ``"converges"`` when it did not grow; ``"biased"`` when it
grew by less than ``runaway_delta``. These are the words :class:`~placewise.AuditPolicy`'s
``[feedback] required_verdict`` reads.

Replicates are independent, seeded from ``numpy.random.SeedSequence(seed).spawn(replicates)``,
and run in parallel threads (the model and allocation calls release the GIL); results do not
depend on the number of workers.
"""

from __future__ import annotations

import html
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from placewise import _native
from placewise.exceptions import InvalidParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from placewise.data import Incidents
    from placewise.space import Grid, Population
    from placewise.surface import Surface

TRAINING = ("all", "reported", "ensign")
_ROUND_SECONDS = 7 * 86_400


def _compact(counts: np.ndarray, r: int, cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, ...]:
    """One round's recorded counts as rows at cell centres (cells with a record only)."""
    nz = np.flatnonzero(counts)
    return cx[nz], cy[nz], np.full(nz.size, r * _ROUND_SECONDS, dtype=np.int64), counts[nz].astype(np.float64)


def _records(grid: Grid, rounds: list[tuple[np.ndarray, ...]]) -> Incidents:
    """Recorded rounds as weighted incidents at cell centres (one row per round and cell)."""
    from placewise.data import DataQualityReport
    from placewise.data import Incidents as Inc

    x, y, t, w = (np.concatenate([r[k] for r in rounds]) for k in range(4))
    native, rep = _native.ingest(x, y, t, np.zeros(t.size, dtype=bool), weight=w, time_range=(-(2**40), 2**40))
    return Inc(native, grid.crs, DataQualityReport.from_native(rep, grid.crs, "UTC"), tz="UTC", source="feedback simulation")


def _gini(v: np.ndarray) -> float:
    v = np.sort(np.asarray(v, dtype=float))
    n, s = v.size, v.sum()
    if n == 0 or s <= 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1).dot(v) / (n * s))


def _true_rates(truth: Any, grid: Grid, incidents_per_round: float | None) -> np.ndarray:
    from placewise.data import Incidents as Inc
    from placewise.surface import Surface as Surf

    if isinstance(truth, Inc):
        base = grid.counts(truth).ravel()[grid.cell_ids].astype(float)
        days = max((truth.t.max() - truth.t.min()) / 86_400, 1.0) if len(truth) else 1.0
        default_total = base.sum() * 7 / days
    elif isinstance(truth, Surf):
        base = truth.values.ravel()[grid.cell_ids].astype(float)
        default_total = base.sum()
    else:
        arr = np.asarray(truth, dtype=float)
        if arr.shape == grid.shape:
            arr = arr.ravel()[grid.cell_ids]
        if arr.shape != (grid.n_active,):
            raise InvalidParameterError(
                f"invalid parameter `truth`: expected Incidents, a Surface, or an array of shape {grid.shape} or "
                f"({grid.n_active},), got shape {arr.shape}"
            )
        base, default_total = arr, arr.sum()
    if not np.isfinite(base).all() or (base < 0).any():
        raise InvalidParameterError("invalid parameter `truth`: true rates must be finite and >= 0")
    if base.sum() <= 0:
        raise InvalidParameterError("invalid parameter `truth`: true rates are all zero")
    total = default_total if incidents_per_round is None else float(incidents_per_round)
    if not total > 0:
        raise InvalidParameterError(f"invalid parameter `incidents_per_round`: must be > 0, got {incidents_per_round}")
    return base / base.sum() * total


def _per_cell(value: Any, grid: Grid, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(grid.n_active, float(arr))
    elif arr.shape == grid.shape:
        arr = arr.ravel()[grid.cell_ids]
    if arr.shape != (grid.n_active,):
        raise InvalidParameterError(f"invalid parameter `{name}`: a number, or one value per active cell / grid cell")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise InvalidParameterError(f"invalid parameter `{name}`: probabilities must be in [0, 1]")
    return arr


@dataclass
class _Config:
    model: Any
    strategy: str
    budget: Any
    strategy_kwargs: dict[str, Any]
    training: str
    rounds: int
    history_rounds: int | None
    warmup_rounds: int


def _replicate(cfg: _Config, grid: Grid, lam: np.ndarray, report: np.ndarray, q: float,
               pop_share: np.ndarray | None, ss: np.random.SeedSequence) -> pd.DataFrame:
    from placewise.allocate import allocate

    rng = np.random.default_rng(ss)
    ids = grid.cell_ids
    cx, cy = grid.centres(ids)
    n = ids.size
    units = float(getattr(cfg.budget, "units", cfg.budget))
    true_share = lam / lam.sum()
    k_top = max(1, min(n, int(round(units))))
    true_top = np.zeros(n, dtype=bool)
    true_top[np.lexsort((ids, -lam))[:k_top]] = True
    dose = np.full(n, units / n)  # warm-up: patrol spread evenly
    history: list[tuple[np.ndarray, ...]] = []
    rows = []
    # rounds 0 … warmup−1 patrol evenly; the fit after round r allocates round r + 1, so the
    # last fit happens after round warmup + rounds − 2 and there are exactly `rounds` rows
    for r in range(cfg.warmup_rounds + cfg.rounds - 1):
        occurred = rng.poisson(lam)
        reported = rng.binomial(occurred, report)
        p_disc = 1.0 - (1.0 - q) ** dose
        discovered = rng.binomial(occurred - reported, p_disc)
        if cfg.training == "all":
            recorded = reported + discovered
        elif cfg.training == "reported":
            recorded = reported
        else:  # ensign
            share = dose / dose.sum() if dose.sum() > 0 else np.zeros(n)
            accept = (1.0 - share) / (1.0 - share).max()
            recorded = reported + rng.binomial(discovered, accept)
        history.append(_compact(recorded, r, cx, cy))
        if cfg.history_rounds is not None:
            history = history[-cfg.history_rounds:]
        if r < cfg.warmup_rounds - 1:
            continue
        train = _records(grid, history)
        model = cfg.model.clone() if hasattr(cfg.model, "clone") else cfg.model
        surface = model.fit(train, grid).predict(at=int(train.t.max()) + _ROUND_SECONDS)
        kwargs = dict(cfg.strategy_kwargs)
        if cfg.strategy == "randomized":
            kwargs["seed"] = int(rng.integers(0, 2**63 - 1))
        plan = allocate(surface, budget=cfg.budget, strategy=cfg.strategy, **kwargs)
        dose = np.asarray(plan.units, dtype=float)
        belief = np.clip(surface.values.ravel()[ids], 0, None)
        belief = belief / belief.sum() if belief.sum() > 0 else np.full(n, 1 / n)
        row = {
            "round": r - cfg.warmup_rounds + 2,
            "tv_model": 0.5 * float(np.abs(belief - true_share).sum()),
            "dose_in_true_top": float(dose[true_top].sum() / dose.sum()) if dose.sum() > 0 else 0.0,
            "gini_dose": _gini(dose),
            "occurred": int(occurred.sum()),
            "recorded": int(recorded.sum()),
            "discovered": int(discovered.sum()),
        }
        if pop_share is not None:
            occ_g = occurred @ pop_share
            rec_g = (reported + discovered) @ pop_share
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(occ_g > 0, rec_g / occ_g, np.nan)
            for j, v in enumerate(rate):
                row[f"recorded_rate_{j}"] = float(v)
            row["discovery_gap"] = float(np.nanmax(rate) - np.nanmin(rate)) if np.isfinite(rate).any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


class FeedbackResult:
    """Per-round trajectories of one feedback scenario over replicates, and the verdict."""

    def __init__(self, *, label: str, rounds: pd.DataFrame, groups: list[str] | None, params: dict[str, Any],
                 runaway_delta: float) -> None:
        self.label = label
        self.rounds = rounds
        self.groups = groups
        self.params = params
        self.runaway_delta = runaway_delta
        mean = self.mean()
        last = max(1, int(np.ceil(len(mean) / 10)))
        self.tv_initial = float(mean["tv_model"].iloc[0])
        self.tv_final = float(mean["tv_model"].iloc[-last:].mean())
        growth = self.tv_final - self.tv_initial
        self.runaway = bool(growth > runaway_delta)
        self._verdict = "runaway" if self.runaway else ("converges" if growth <= 0 else "biased")

    def mean(self) -> pd.DataFrame:
        """Mean over replicates, per round."""
        return self.rounds.drop(columns=["replicate"]).groupby("round").mean()

    @property
    def verdict(self) -> str:
        """``"runaway"``, ``"biased"`` or ``"converges"`` (see the module docs)."""
        return self._verdict

    def summary(self) -> dict[str, Any]:
        m = self.mean()
        out: dict[str, Any] = {
            "scenario": self.label, "verdict": self.verdict, "tv_initial": self.tv_initial, "tv_final": self.tv_final,
            "dose_in_true_top_final": float(m["dose_in_true_top"].iloc[-1]), "gini_dose_final": float(m["gini_dose"].iloc[-1]),
            "rule": (f"runaway when mean TV over the last tenth of rounds exceeds round 1 by > {self.runaway_delta}; "
                     "converges when it does not exceed round 1; biased otherwise"),
        }
        if "discovery_gap" in m:
            out["discovery_gap_final"] = float(m["discovery_gap"].iloc[-1])
        return out

    def by_group(self) -> pd.DataFrame | None:
        """Recorded ÷ occurred per group over rounds (means over replicates)."""
        if self.groups is None:
            return None
        m = self.mean()
        cols = {f"recorded_rate_{j}": g for j, g in enumerate(self.groups)}
        return m[list(cols)].rename(columns=cols)

    def plot(self, ax: Axes | None = None, metric: str = "tv_model") -> Axes:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        m = self.mean()
        ax.plot(m.index, m[metric], label=f"{self.label} ({self.verdict})")
        ax.set_xlabel("round")
        ax.set_ylabel({"tv_model": "distance of the model from the truth (TV)"}.get(metric, metric))
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return f"<FeedbackResult {self.label}: {self.verdict}, TV {self.tv_initial:.3f} → {self.tv_final:.3f}>"

    def _repr_html_(self) -> str:
        return f"<b>{html.escape(repr(self))}</b>"


class FeedbackComparison:
    """Several feedback scenarios (the unmitigated loop and its mitigations) side by side."""

    def __init__(self, results: list[FeedbackResult]) -> None:
        self.results = results

    def __getitem__(self, label: str) -> FeedbackResult:
        for r in self.results:
            if r.label == label:
                return r
        raise KeyError(label)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([r.summary() for r in self.results])

    @property
    def runaway(self) -> bool:
        """Whether the unmitigated scenario (the first) ran away."""
        return self.results[0].runaway

    @property
    def verdict(self) -> str:
        return self.results[0].verdict

    def summary(self) -> dict[str, Any]:
        """The unmitigated scenario's summary (what an audit policy judges), with each
        mitigation's verdict alongside."""
        out = dict(self.results[0].summary())
        out["mitigations"] = {r.label: r.verdict for r in self.results[1:]}
        return out

    def plot(self, ax: Axes | None = None, metric: str = "tv_model") -> Axes:
        for r in self.results:
            ax = r.plot(ax=ax, metric=metric)
        assert ax is not None
        return ax

    def __repr__(self) -> str:
        return "<FeedbackComparison " + ", ".join(f"{r.label}: {r.verdict}" for r in self.results) + ">"

    def _repr_html_(self) -> str:
        return self.table().to_html(index=False, float_format=lambda v: f"{v:.3f}")


def feedback(
    *,
    grid: Grid,
    truth: Any = None,
    scenario: Any = None,
    model: Any = None,
    strategy: str = "top_k",
    budget: Any = 50,
    rounds: int = 100,
    replicates: int = 50,
    reporting_rate: Any = 0.5,
    discovery_rate: float = 0.3,
    training: str = "all",
    history_rounds: int | None = None,
    warmup_rounds: int = 4,
    incidents_per_round: float | None = None,
    population: Population | None = None,
    strategy_kwargs: dict[str, Any] | None = None,
    runaway_delta: float = 0.1,
    seed: int = 0,
    workers: int | None = None,
    label: str | None = None,
) -> FeedbackResult:
    """Simulates the deploy → discover → retrain loop (see the module docs for the model).

    ``truth`` (or its synonym ``scenario``): true rates per cell — Incidents (their counts per
    cell, scaled to a week), a Surface, or an array. ``model``: any placewise model (default ``KDE(bandwidth=4 cells,
    mode="binned")``). ``reporting_rate``: probability that an incident is reported, a number or
    one per cell. ``discovery_rate``: probability that one unit of patrol discovers an
    unreported incident in its cell.
    """
    from placewise.models import KDE

    if training not in TRAINING:
        raise InvalidParameterError(f"invalid parameter `training`: one of {TRAINING}, got {training!r}")
    for name, v, lo in (("rounds", rounds, 1), ("replicates", replicates, 1), ("warmup_rounds", warmup_rounds, 1)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidParameterError(f"invalid parameter `{name}`: an integer >= {lo}, got {v!r}")
    if history_rounds is not None and (not isinstance(history_rounds, (int, np.integer)) or history_rounds < 1):
        raise InvalidParameterError(f"invalid parameter `history_rounds`: None or an integer >= 1, got {history_rounds!r}")
    if not 0 <= discovery_rate <= 1:
        raise InvalidParameterError(f"invalid parameter `discovery_rate`: must be in [0, 1], got {discovery_rate}")
    if (truth is None) == (scenario is None):
        raise InvalidParameterError("invalid parameter `truth`: give the true rates as truth= (or scenario=), once")
    lam = _true_rates(truth if truth is not None else scenario, grid, incidents_per_round)
    report = _per_cell(reporting_rate, grid, "reporting_rate")
    if model is None:
        model = KDE(bandwidth=4 * grid.cell_size, mode="binned")
    pop_share = None
    groups = None
    if population is not None:
        counts = population.counts[grid.cell_ids]
        tot = counts.sum(axis=0)
        if (tot <= 0).any():
            bad = [g for g, t in zip(population.groups, tot) if t <= 0]
            raise InvalidParameterError(f"invalid parameter `population`: groups with no people {bad}: rates undefined")
        # share of each cell's incidents attributed to each group: residents' share in the cell
        cell_tot = counts.sum(axis=1, keepdims=True)
        pop_share = np.divide(counts, cell_tot, out=np.zeros_like(counts), where=cell_tot > 0)
        groups = list(population.groups)
    cfg = _Config(model, strategy, budget, dict(strategy_kwargs or {}), training, int(rounds), history_rounds, int(warmup_rounds))
    seeds = np.random.SeedSequence(seed).spawn(int(replicates))
    workers = workers or min(int(replicates), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        frames = list(pool.map(lambda s: _replicate(cfg, grid, lam, report, discovery_rate, pop_share, s), seeds))
    rounds_df = pd.concat([f.assign(replicate=i) for i, f in enumerate(frames)], ignore_index=True)
    params = {"strategy": strategy, "budget": getattr(budget, "units", budget), "rounds": rounds, "replicates": replicates,
              "reporting_rate": "per cell" if np.ndim(reporting_rate) else reporting_rate, "discovery_rate": discovery_rate,
              "training": training, "history_rounds": history_rounds, "model": repr(model), "seed": seed}
    return FeedbackResult(label=label or f"{strategy}, trained on {training}", rounds=rounds_df, groups=groups,
                          params=params, runaway_delta=runaway_delta)


def compare_mitigations(*, epsilon: float = 0.2, **kwargs: Any) -> FeedbackComparison:
    """The unmitigated loop next to its standard mitigations, with the same seed and settings:
    training on reported incidents only, the Ensign et al. correction, and ``randomized``
    allocation with an exploration floor ``epsilon``."""
    base = {k: v for k, v in kwargs.items() if k not in ("training", "strategy", "label")}
    strategy = kwargs.get("strategy", "top_k")
    runs = [
        feedback(**base, strategy=strategy, training="all", label=f"{strategy}, trained on all records (no mitigation)"),
        feedback(**base, strategy=strategy, training="reported", label=f"{strategy}, trained on reported only"),
        feedback(**base, strategy=strategy, training="ensign", label=f"{strategy}, Ensign correction"),
        feedback(**base, strategy="randomized", training="all", strategy_kwargs={"epsilon": epsilon},
                 label=f"randomized, floor ε={epsilon}"),
    ]
    return FeedbackComparison(runs)
