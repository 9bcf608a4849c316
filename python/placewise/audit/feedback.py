"""Spatial feedback-loop simulation: deploy → discover → retrain, on a real grid.

The simulation runs in the Rust core (``placewise::audit::feedback``); this module turns its
result into pandas frames, summaries and plots. Each replicate runs ``rounds`` rounds. In every
round, in every active cell ``c``:

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
   budget over its surface (negative values clipped to 0).

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

**Seeds.** Replicate ``i`` draws from the stream ``(seed, i)`` of placewise's one generator
(ChaCha8, see the README's "Randomness"), so results do not depend on the number of threads,
and a study can be split: ``feedback(..., replicate_ids=[...])`` runs only those replicates and
:meth:`FeedbackResult.combine` merges the pieces into exactly the result of running them all
at once.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import _native
from ..exceptions import param_error

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..space import Grid, Population

__all__ = ["feedback", "compare_mitigations", "FeedbackResult", "FeedbackComparison", "TRAINING"]

TRAINING = ("all", "reported", "ensign")
_STRATEGY_KWARGS = {"epsilon", "tau", "reference", "population"}


def _base_rates(truth: Any, grid: Grid) -> tuple[np.ndarray, float]:
    """Relative true rates per active cell, and their default total per round (a week)."""
    from ..data import Incidents
    from ..surface import Surface

    if isinstance(truth, Incidents):
        base = grid.counts(truth).ravel()[grid.cell_ids].astype(float)
        days = max((truth.t.max() - truth.t.min()) / 86_400, 1.0) if len(truth) else 1.0
        return base, float(base.sum()) * 7 / days
    if isinstance(truth, Surface):
        base = truth.values.ravel()[grid.cell_ids].astype(float)
        return base, float(base.sum())
    try:
        arr = np.asarray(truth, dtype=float)
    except (TypeError, ValueError):
        raise param_error("truth", f"expected Incidents, a Surface, or an array of numbers, got {type(truth).__name__}") from None
    if arr.shape == grid.shape:
        arr = arr.ravel()[grid.cell_ids]
    if arr.shape != (grid.n_active,):
        raise param_error("truth", f"expected Incidents, a Surface, or an array of shape {grid.shape} or "
                                   f"({grid.n_active},), got shape {arr.shape}")
    return np.ascontiguousarray(arr), float(np.nansum(arr))


def _per_cell(value: Any, grid: Grid, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise param_error(name, "a number, or one value per active cell / grid cell") from None
    if arr.ndim == 0:
        arr = np.full(grid.n_active, float(arr))
    elif arr.shape == grid.shape:
        arr = arr.ravel()[grid.cell_ids]
    if arr.shape != (grid.n_active,):
        raise param_error(name, "a number, or one value per active cell / grid cell")
    return np.ascontiguousarray(arr)


def _count(name: str, v: Any) -> int:
    """A non-negative Python integer (the Rust core checks the rest of the domain)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise param_error(name, f"a non-negative integer, got {v!r}")
    return int(v)


def _model_spec(model: Any, grid: Grid) -> _native.ModelSpec:
    """The native description of a placewise model, which the simulator refits every round."""
    from ..models import KDE, Naive, ProspectiveHotspot, RetrospectiveHotspot

    if model is None:
        return _native.ModelSpec.kde(rule="fixed", bandwidth=4 * grid.cell_size, mode="binned")
    if isinstance(model, Naive):
        return _native.ModelSpec.naive(None if model.window_days is None else float(model.window_days))
    if isinstance(model, KDE):
        return _native.ModelSpec.kde(
            kernel=str(model.kernel), mode=str(model.mode), cutoff=float(model.cutoff),
            window_days=None if model.window_days is None else float(model.window_days),
            half_life_days=None if model.half_life_days is None else float(model.half_life_days),
            k=None if model.k is None else int(model.k), min_bandwidth=float(model.min_bandwidth),
            binning_order=None if model.binning_order is None else int(model.binning_order),
            **model._rule(),
        )
    if isinstance(model, RetrospectiveHotspot):
        return _native.ModelSpec.retrospective(float(model.bandwidth), float(model.window_days))
    if isinstance(model, ProspectiveHotspot):
        return _native.ModelSpec.prospective(float(model.bandwidth_cells), float(model.time_bandwidth_weeks),
                                             str(model.distance))
    raise param_error("model", "the feedback simulator refits Naive, KDE, RetrospectiveHotspot or ProspectiveHotspot "
                               f"in the Rust core; got {type(model).__name__}")


def _population(population: Any, grid: Grid) -> tuple[np.ndarray | None, list[str] | None]:
    if population is None:
        return None, None
    from ..space import Population

    if not isinstance(population, Population):
        raise param_error("population", f"expected a Population, got {type(population).__name__}")
    return np.ascontiguousarray(population.counts[grid.cell_ids], dtype=np.float64), list(population.groups)


def _frame(run: _native.FeedbackRun, groups: list[str] | None) -> pd.DataFrame:
    """One row per (replicate, round), in the columns (and order) of placewise 0.1."""
    cols: dict[str, Any] = {
        "round": run.round.astype(np.int64),
        "tv_model": run.tv_model,
        "dose_in_true_top": run.dose_in_true_top,
        "gini_dose": run.gini_dose,
        "occurred": run.occurred.astype(np.int64),
        "recorded": run.recorded.astype(np.int64),
        "discovered": run.discovered.astype(np.int64),
    }
    if groups is not None:
        rates = run.recorded_rate.reshape(len(run), run.n_groups)
        for j in range(run.n_groups):
            cols[f"recorded_rate_{j}"] = rates[:, j]
        cols["discovery_gap"] = run.discovery_gap
    cols["replicate"] = run.replicate.astype(np.int64)
    return pd.DataFrame(cols)


class FeedbackResult:
    """Per-round trajectories of one feedback scenario over replicates, and the verdict.

    ``rounds`` is a DataFrame with one row per (replicate, round); ``tv_initial``,
    ``tv_final``, ``runaway`` and ``verdict`` come from the Rust core (see the module docs).
    Pickles (the native run travels, the frame is rebuilt).
    """

    def __init__(self, run: _native.FeedbackRun, *, label: str, groups: list[str] | None, params: dict[str, Any],
                 runaway_delta: float = 0.1) -> None:
        self._run = run
        self.label = label
        self.groups = groups
        self.params = params
        self.runaway_delta = float(runaway_delta)
        v = run.verdict(self.runaway_delta)
        self.tv_initial, self.tv_final, self.growth = v.tv_initial, v.tv_final, v.growth
        self.runaway, self._verdict = v.runaway, v.verdict
        self.rounds = _frame(run, groups)

    def __getstate__(self) -> dict[str, Any]:
        return {"run": self._run, "label": self.label, "groups": self.groups, "params": self.params,
                "runaway_delta": self.runaway_delta}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["run"], label=state["label"], groups=state["groups"],  # type: ignore[misc]
                      params=state["params"], runaway_delta=state["runaway_delta"])

    @property
    def run(self) -> _native.FeedbackRun:
        """The native result."""
        return self._run

    @property
    def replicate_ids(self) -> list[int]:
        """The replicates this result holds (all of ``range(params["replicates"])`` unless it
        was run with ``replicate_ids``)."""
        return [int(i) for i in self._run.replicate_ids]

    @classmethod
    def combine(cls, results: Sequence[FeedbackResult]) -> FeedbackResult:
        """Merges results of disjoint replicates of one study (same settings and seed) into
        exactly the result of running those replicates at once."""
        results = list(results)
        if not results or not all(isinstance(r, FeedbackResult) for r in results):
            raise param_error("results", "a non-empty list of FeedbackResult")
        first = results[0]
        for i, r in enumerate(results):
            same = (r.label, r.groups, r.params, r.runaway_delta) == (first.label, first.groups, first.params, first.runaway_delta)
            if not same:
                raise param_error(f"results[{i}]", "was run with other settings (label, groups, parameters or "
                                                   "runaway_delta); only replicates of one study combine")
        run = _native.FeedbackRun.combine([r._run for r in results])
        return cls(run, label=first.label, groups=first.groups, params=first.params, runaway_delta=first.runaway_delta)

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

    @classmethod
    def combine(cls, comparisons: Sequence[FeedbackComparison]) -> FeedbackComparison:
        """Merges comparisons run on disjoint replicates, scenario by scenario."""
        comparisons = list(comparisons)
        if not comparisons or len({len(c.results) for c in comparisons}) != 1:
            raise param_error("comparisons", "a non-empty list of comparisons with the same scenarios")
        return cls([FeedbackResult.combine([c.results[k] for c in comparisons]) for k in range(len(comparisons[0].results))])

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
    replicate_ids: Sequence[int] | None = None,
) -> FeedbackResult:
    """Simulates the deploy → discover → retrain loop (see the module docs for the model).

    ``truth`` (or its synonym ``scenario``): true rates per cell — Incidents (their counts per
    cell, scaled to a week), a Surface, or an array. ``model``: a ``Naive``, ``KDE``,
    ``RetrospectiveHotspot`` or ``ProspectiveHotspot`` (its parameters; the simulator refits it
    each round; default ``KDE(bandwidth=4 cells, mode="binned")``). ``strategy``: ``top_k``,
    ``proportional``, ``randomized`` (``strategy_kwargs={"epsilon": ...}``; its per-round seeds
    come from the replicate's stream) or ``fair`` (``tau``, ``reference``; uses ``population``).
    ``reporting_rate``: probability that an incident is reported, a number or one per cell.
    ``discovery_rate``: probability that one unit of patrol discovers an unreported incident in
    its cell. ``workers``: threads (the result does not depend on it). ``replicate_ids``: run
    only these replicates of ``range(replicates)`` (to split a study; see
    :meth:`FeedbackResult.combine`).
    """
    if training not in TRAINING:
        raise param_error("training", f"one of {TRAINING}, got {training!r}")
    if (truth is None) == (scenario is None):
        raise param_error("truth", "give the true rates as truth= (or scenario=), once")
    base, default_total = _base_rates(truth if truth is not None else scenario, grid)
    report = _per_cell(reporting_rate, grid, "reporting_rate")
    spec = _model_spec(model, grid)
    counts, groups = _population(population, grid)
    kwargs = dict(strategy_kwargs or {})
    unknown = set(kwargs) - _STRATEGY_KWARGS
    if unknown:
        raise param_error("strategy_kwargs", f"unknown keys {sorted(unknown)}; the simulator takes {sorted(_STRATEGY_KWARGS)}")
    fair_pop = kwargs.pop("population", None)
    if fair_pop is not None and population is None:
        counts, groups = _population(fair_pop, grid)
    reference = kwargs.get("reference")
    ref = None
    if reference is not None:
        if groups is None or reference not in groups:
            raise param_error("reference", f"{reference!r} is not a group of the population ({', '.join(groups or [])})")
        ref = groups.index(reference)
    if getattr(budget, "has_districts", False):
        raise param_error("budget", "district caps and minimums are not supported by the feedback simulator")
    try:
        units = float(getattr(budget, "units", budget))
        cap = float(getattr(budget, "per_cell_cap", 1.0))
        hours = getattr(budget, "shift_hours", None)
        hours = None if hours is None else float(hours)
    except (TypeError, ValueError):
        raise param_error("budget", f"expected a Budget or a number of units, got {budget!r}") from None
    if incidents_per_round is not None:
        try:
            total = float(incidents_per_round)
        except (TypeError, ValueError):
            raise param_error("incidents_per_round", f"must be a number, got {incidents_per_round!r}") from None
    else:
        total = default_total
    ids = None if replicate_ids is None else [_count("replicate_ids", i) for i in replicate_ids]
    run = _native.feedback_simulate(
        grid._native, base, report, spec, incidents_per_round=total, strategy=strategy, units=units,
        per_cell_cap=cap, shift_hours=hours, epsilon=float(kwargs.get("epsilon", 0.1)),
        tau=float(kwargs.get("tau", 0.8)), reference=ref, population=counts, groups=groups, rounds=_count("rounds", rounds),
        replicates=_count("replicates", replicates), warmup_rounds=_count("warmup_rounds", warmup_rounds),
        history_rounds=None if history_rounds is None else _count("history_rounds", history_rounds), training=training,
        discovery_rate=float(discovery_rate), seed=_count("seed", seed), replicate_ids=ids,
        threads=None if workers is None else max(1, _count("workers", workers)),
    )
    params = {"strategy": strategy, "budget": getattr(budget, "units", budget), "rounds": rounds, "replicates": replicates,
              "reporting_rate": "per cell" if np.ndim(reporting_rate) else reporting_rate, "discovery_rate": discovery_rate,
              "training": training, "history_rounds": history_rounds, "model": repr(model), "seed": seed}
    return FeedbackResult(run, label=label or f"{strategy}, trained on {training}",
                          groups=groups, params=params, runaway_delta=runaway_delta)


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
        feedback(**{k: v for k, v in base.items() if k != "strategy_kwargs"}, strategy="randomized", training="all",
                 strategy_kwargs={"epsilon": epsilon}, label=f"randomized, floor ε={epsilon}"),
    ]
    return FeedbackComparison(runs)
