"""Concentration of patrol against need, per area, with the power of the check.

Replaces the cell-level Gini against a uniformly random baseline (which a small budget passes
whatever the plan) by a check that can fail: is patrol more concentrated than need (incidents,
or expected incidents, per area)? The statistic, the need-proportional null and the minimum
detectable effect are computed in the Rust core (``placewise._native.need_check``); the
cell-level Gini is kept as context only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from ..exceptions import param_error

METHOD = (
    "Concentration against need: areas are sorted by patrol per unit of need; the index is 1 − 2 × the "
    "area under the curve of cumulative patrol share against cumulative need share (0 when patrol follows "
    "need exactly; its largest value, 1 − the smallest need share, when all patrol sits in the area of least "
    "need). The null spreads the same number of independent placements (visits or units) over areas in "
    "proportion to need; its 95th percentile is the smallest concentration the check could detect. When "
    "that detectable value lies more than half-way from the null mean to the largest possible index, the "
    "check says 'not informative at this budget' instead of 'pass'. Per-capita patrol rates are smoothed "
    "by the global empirical-Bayes estimator of Marshall (1991, Applied Statistics 40), which pulls rates "
    "of areas with few residents toward the overall rate."
)

VERDICT_WORDS = {
    "pass": "pass",
    "fail": "fail: patrol is more concentrated than need beyond what chance produces",
    "not_informative": "not informative at this budget",
}


def eb_rates(events: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Global empirical-Bayes (Marshall 1991) smoothed rates ``events / population``.

    Areas without residents get NaN."""
    y = np.asarray(events, dtype=np.float64)
    n = np.asarray(population, dtype=np.float64)
    ok = n > 0
    out = np.full(len(y), np.nan)
    if not ok.any():
        return out
    r = y[ok] / n[ok]
    b = y[ok].sum() / n[ok].sum()
    s2 = float((n[ok] * (r - b) ** 2).sum() / n[ok].sum())
    a = max(s2 - b / n[ok].mean(), 0.0)
    c = np.where(a + b / n[ok] > 0, a / (a + b / n[ok]), 0.0)
    out[ok] = b + c * (r - b)
    return out


@dataclass(frozen=True, eq=False)
class NeedAudit:
    """The outcome of :func:`concentration_vs_need`. Frozen and picklable.

    ``table``: one row per area (patrol, need, shares, patrol per unit of need, and per 1,000
    residents raw and smoothed when population is given). The verdict is ``"pass"``,
    ``"fail"`` or ``"not_informative"``; :meth:`statement` says it with its power.
    """

    table: pd.DataFrame
    index: float
    misallocated_share: float
    null_mean: float
    critical_value: float
    max_index: float
    mde_normalised: float
    p_value: float
    informative: bool
    verdict: str
    quanta: int
    simulations: int
    confidence: float
    max_mde: float
    seed: int
    patrol_label: str = "patrol"
    need_label: str = "need"
    context: dict[str, Any] = field(default_factory=dict)

    def statement(self) -> str:
        """The verdict in plain words, with what the check could have detected."""
        s = (f"Concentration of {self.patrol_label} against {self.need_label} across {len(self.table)} areas: index "
             f"{self.index:.3f} (0 = follows need; largest possible {self.max_index:.3f}). Under {self.patrol_label} "
             f"spread in proportion to {self.need_label} ({self.quanta:,} placements, {self.simulations:,} simulations) "
             f"the index averages {self.null_mean:.3f}; the smallest index this check could detect at "
             f"{self.confidence:.0%} is {self.critical_value:.3f} "
             f"({self.mde_normalised:.0%} of the way to the largest possible). p = {self.p_value:.3f}. "
             f"{self.misallocated_share:.0%} of {self.patrol_label} would have to move to follow {self.need_label}. ")
        return s + "Verdict: " + VERDICT_WORDS[self.verdict] + "."

    def summary(self) -> dict[str, Any]:
        from .._jsonable import jsonable

        return jsonable({k: getattr(self, k) for k in ("index", "misallocated_share", "null_mean", "critical_value",
                                                        "max_index", "mde_normalised", "p_value", "informative",
                                                        "verdict", "quanta", "simulations", "confidence")})

    def __repr__(self) -> str:
        return f"<NeedAudit {self.verdict}: index {self.index:.3f}, detectable ≥ {self.critical_value:.3f}, p {self.p_value:.3f}>"


def _per_area(v: Any, name: str, index: pd.Index | None) -> pd.Series:
    if isinstance(v, pd.Series):
        s = v.astype(np.float64)
        if index is not None:
            unknown = ~s.index.isin(index)
            if unknown.any():
                raise param_error(name, f"area {s.index[unknown][0]!r} is not among the areas of the other inputs")
            s = s.groupby(level=0).sum().reindex(index, fill_value=0.0)
        return s
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise param_error(name, f"expected numbers per area ({e})") from None
    if a.ndim != 1:
        raise param_error(name, f"expected one value per area, got shape {a.shape}")
    return pd.Series(a, index=index if index is not None and len(index) == len(a) else pd.RangeIndex(len(a)))


def concentration_vs_need(
    dose: Any,
    need: Any,
    *,
    quanta: int | None = None,
    population: Any = None,
    simulations: int = 999,
    confidence: float = 0.95,
    max_mde: float = 0.5,
    seed: int = 0,
    patrol_label: str = "patrol",
    need_label: str = "need",
    cell_dose: Any = None,
) -> NeedAudit:
    """Is patrol more concentrated than need, across areas, and could this check have told?

    ``dose`` and ``need`` are per area (Series indexed by area id, aligned by index; or arrays in
    one order). ``quanta`` is the number of independent placements the patrol is made of (units
    or visits; default: the dose rounded, when it is a whole number). ``population`` per area
    adds per-1,000-resident rates, raw and empirical-Bayes smoothed. ``cell_dose`` (dose per grid
    cell) adds the Gini across the cells given (pass active cells only) as context only.
    """
    d = _per_area(dose, "dose", None)
    n = _per_area(need, "need", d.index)
    if isinstance(need, pd.Series) and not isinstance(dose, pd.Series):
        raise param_error("dose", "give dose as a Series indexed by area id when need is one")
    if isinstance(dose, pd.Series) and isinstance(need, pd.Series):
        n = need.astype(np.float64).groupby(level=0).sum().reindex(d.index, fill_value=0.0)
    if len(d) != len(n):
        raise param_error("need", f"has {len(n)} areas but dose has {len(d)}")
    total = float(np.nansum(d.to_numpy()))
    if quanta is None:
        if np.isfinite(total) and total >= 1 and np.allclose(d.to_numpy(), np.round(d.to_numpy())):
            quanta = int(round(total))
        else:
            raise param_error("quanta", "the dose is not a whole number of placements; give the number of "
                              "independent placements (patrol units, or visits) it is made of")
    r = _native.need_check(np.ascontiguousarray(d.to_numpy(np.float64)), np.ascontiguousarray(n.to_numpy(np.float64)),
                           int(quanta), simulations=int(simulations), confidence=float(confidence),
                           max_mde=float(max_mde), seed=int(seed))
    ps, qs = r.patrol_share, r.need_share
    table = pd.DataFrame({"area": d.index.to_numpy(), "patrol": d.to_numpy(), "need": n.to_numpy(),
                          "patrol_share": ps, "need_share": qs,
                          "patrol_share_over_need_share": np.where(qs > 0, ps / np.where(qs > 0, qs, 1), np.inf)})
    if population is not None:
        pop = _per_area(population, "population", d.index).to_numpy(np.float64)
        if len(pop) != len(d):
            raise param_error("population", f"has {len(pop)} areas but dose has {len(d)}")
        table["population"] = pop
        with np.errstate(divide="ignore", invalid="ignore"):
            table["patrol_per_1000_residents"] = np.where(pop > 0, 1000 * d.to_numpy() / pop, np.nan)
        table["patrol_per_1000_residents_smoothed"] = 1000 * eb_rates(d.to_numpy(), pop)
    context: dict[str, Any] = {}
    if cell_dose is not None:
        from ._common import dose_array

        cd = dose_array(cell_dose)
        pos = cd[cd > 0]
        context["cells_patrolled"] = int(len(pos))
        context["cell_gini"] = float(_gini(cd)) if cd.sum() > 0 else float("nan")
    return NeedAudit(table=table, index=r.index, misallocated_share=r.misallocated_share, null_mean=r.null_mean,
                     critical_value=r.critical_value, max_index=r.max_index, mde_normalised=r.mde_normalised,
                     p_value=r.p_value, informative=r.informative, verdict=r.verdict, quanta=r.quanta,
                     simulations=r.simulations, confidence=float(confidence), max_mde=float(max_mde), seed=int(seed),
                     patrol_label=patrol_label, need_label=need_label, context=context)


def _gini(v: np.ndarray) -> float:
    x = np.sort(np.asarray(v, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return float("nan")
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)
