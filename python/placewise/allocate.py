"""Patrol allocation: turn a risk surface into units per cell under a budget.

A *unit* patrols one cell for the whole shift; fractions of a unit are parts of the shift
(``Budget(shift_hours=8)`` counts them in hours). The expected risk covered by an allocation is
``Σ_c risk_c · units_c`` — with the default cap of one unit per cell, the risk of the patrolled
cells (Wheeler 2019). Four strategies:

* ``"top_k"`` — the highest-risk cells (ties: lower cell id), greedily, within the per-cell cap
  and any district caps and minimums; this maximises the risk covered.
* ``"proportional"`` — units in proportion to risk, whole units (or hours) by largest-remainder
  rounding (Hamilton's method); every cell is within one unit (hour) of its exact share.
* ``"randomized"`` — units drawn in proportion to risk mixed with a uniform exploration floor
  ``epsilon`` (Ensign et al. 2018); needs an explicit ``seed``.
* ``"fair"`` — the most risk covered while every group's per-capita exposure stays within
  ``[tau, 1/tau]`` of a reference group's (or of the population average): a linear programme
  (Wheeler 2019) solved by the pure-Rust interior-point solver Clarabel. Its result carries the
  *price of fairness*: the risk ``top_k`` would cover minus what ``fair`` covers.

Per-capita exposure of group ``g``: ``E_g = Σ_c units_c · pop_{c,g} / pop_g`` (units per
person), the patrol dose an average member of the group lives under.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _native
from ._export import csv_text
from ._override import make_override
from ._results import ConcentrationAudit, DisparityAudit
from .exceptions import PolicyViolation, data_error, param_error
from .space import Grid, Population, dominant_polygon
from .surface import Surface

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes

STRATEGIES = ("top_k", "proportional", "randomized", "fair")

__all__ = ["Budget", "Allocation", "Plan", "PriceOfFairness", "allocate", "allocate_shifts", "district_of_cells", "STRATEGIES",
           "AUDITS"]

AUDITS = ("disparity", "concentration", "data", "feedback")


_param_error = param_error
_data_error = data_error


class Budget:
    """Patrol units for one shift.

    Parameters
    ----------
    units
        Units to place (a unit patrols one cell for the whole shift; fractions allowed).
    per_cell_cap
        Most units any one cell may receive (default 1).
    shift_hours
        Length of the shift in hours. When set, ``proportional`` and ``randomized`` hand out
        whole hours instead of whole units, and allocations report hours too.
    district_caps, district_minimums
        Most / fewest units per district, keyed by district label (see ``districts=`` in
        :func:`allocate`). Supported by ``top_k`` and ``fair``.
    """

    def __init__(
        self,
        units: float,
        per_cell_cap: float = 1.0,
        shift_hours: float | None = None,
        district_caps: Mapping[Any, float] | None = None,
        district_minimums: Mapping[Any, float] | None = None,
    ) -> None:
        self.units = units
        self.per_cell_cap = per_cell_cap
        self.shift_hours = shift_hours
        self.district_caps = dict(district_caps or {})
        self.district_minimums = dict(district_minimums or {})

    @property
    def has_districts(self) -> bool:
        return bool(self.district_caps or self.district_minimums)

    def _native(self, districts: tuple[np.ndarray, list[str]] | None) -> _native.Budget:
        def num(name: str, v: Any) -> float:
            try:
                return float(v)
            except (TypeError, ValueError):
                raise _param_error(name, f"must be a number, got {v!r}") from None

        units = num("units", self.units)
        cap = num("per_cell_cap", self.per_cell_cap)
        hours = None if self.shift_hours is None else num("shift_hours", self.shift_hours)
        if not self.has_districts:
            return _native.Budget(units, cap, hours)
        if districts is None:
            raise _param_error("districts", "the budget has district caps or minimums: pass districts= to allocate()")
        of_cell, names = districts
        index = {n: i for i, n in enumerate(names)}
        caps = np.full(len(names), np.nan)
        mins = np.zeros(len(names))
        for what, table, out in (("district_caps", self.district_caps, caps), ("district_minimums", self.district_minimums, mins)):
            for key, v in table.items():
                if str(key) not in index:
                    raise _param_error(f"{what}[{key}]", f"no such district; districts are: {', '.join(names[:30])}")
                out[index[str(key)]] = num(f"{what}[{key}]", v)
        return _native.Budget(units, cap, hours, of_cell, names, caps, mins)

    def __repr__(self) -> str:
        extra = f", shift_hours={self.shift_hours}" if self.shift_hours is not None else ""
        if self.district_caps:
            extra += f", district_caps={self.district_caps}"
        if self.district_minimums:
            extra += f", district_minimums={self.district_minimums}"
        return f"Budget(units={self.units}, per_cell_cap={self.per_cell_cap}{extra})"


@dataclass(frozen=True)
class PriceOfFairness:
    """Risk covered by unconstrained ``top_k`` versus ``fair`` under the same budget."""

    top_k_risk_covered: float
    fair_risk_covered: float
    absolute: float
    share: float

    def __str__(self) -> str:
        return (f"price of fairness: {self.absolute:.4g} of {self.top_k_risk_covered:.4g} risk covered "
                f"({100 * self.share:.2f}%)")


def district_of_cells(districts: Any, grid: Grid) -> tuple[np.ndarray, list[str]]:
    """District of each active cell of ``grid``: ``(index per active cell, -1 for none; names)``.

    ``districts`` is a polygon layer (GeoDataFrame; labels from its ``district`` column when it
    has one, else its index) or one label per active cell (None/NaN: no district). A cell
    belongs to the polygon that overlaps it by the **largest area** (ties: the first polygon);
    cells that no polygon overlaps are in no district.
    """
    ids = grid.cell_ids
    if hasattr(districts, "geometry"):
        gdf = districts
        labels = [str(v) for v in (gdf["district"] if "district" in gdf.columns else gdf.index)]
        per_poly = dominant_polygon(gdf, grid, name="districts")[ids]
        # Several polygons may share a label (a district drawn in pieces): merge them.
        names = list(dict.fromkeys(labels))
        index = {n: i for i, n in enumerate(names)}
        lab = np.array([index[labels[p]] if p >= 0 else -1 for p in per_poly], dtype=np.int64)
        return lab, names
    arr = pd.Series(list(districts) if not isinstance(districts, pd.Series) else districts.to_numpy())
    if len(arr) != len(ids):
        raise _param_error("districts", f"one label per active cell is needed, got {len(arr)} for {len(ids)} cells")
    missing = arr.isna().to_numpy()
    names = list(dict.fromkeys(str(v) for v, m in zip(arr, missing) if not m))
    index = {n: i for i, n in enumerate(names)}
    lab = np.array([-1 if m else index[str(v)] for v, m in zip(arr, missing)], dtype=np.int64)
    return lab, names


def _risk(surface: Surface) -> np.ndarray:
    if not isinstance(surface, Surface):
        raise _param_error("surface", f"expected a Surface, got {type(surface).__name__}")
    ids = surface.grid.cell_ids
    risk = np.ascontiguousarray(surface.values.ravel()[ids], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(risk) | (risk < 0))
    if bad.size:
        i = int(bad[0])
        what = "NaN" if np.isnan(risk[i]) else ("negative" if risk[i] < 0 else "infinite")
        raise _data_error(i, "risk", f"cell {ids[i]} has {what} risk ({risk[i]}); allocation needs finite risk ≥ 0")
    return risk


def _population(population: Population | None, grid: Grid) -> tuple[np.ndarray | None, list[str] | None]:
    if population is None:
        return None, None
    if not isinstance(population, Population):
        raise _param_error("population", f"expected a Population, got {type(population).__name__}")
    pg = population.grid
    if pg is not grid and (pg.shape != grid.shape or not np.array_equal(pg.mask(), grid.mask())):
        raise _param_error("population", "is on a different grid from the surface")
    counts = np.ascontiguousarray(population.counts, dtype=np.float64)
    return counts, [str(g) for g in population.groups]


def _reference(reference: str | None, groups: list[str] | None) -> int | None:
    if reference is None:
        return None
    if groups is None or reference not in groups:
        raise _param_error("reference", f"{reference!r} is not a group of the population ({', '.join(groups or [])})")
    return groups.index(reference)


def _common(strategy: str, population: Any, seed: Any, tau: Any, epsilon: Any) -> None:
    if strategy not in STRATEGIES:
        raise _param_error("strategy", f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if strategy == "fair" and population is None:
        raise _param_error("population", "the fair strategy needs population counts by group (a Population)")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**64):
        raise _param_error("seed", f"must be an integer from 0 to 2**64 - 1, got {seed!r}")
    if strategy == "randomized" and seed is None:
        raise _param_error("seed", "randomized allocation needs an explicit seed (an integer ≥ 0)")
    try:
        float(tau), float(epsilon)
    except (TypeError, ValueError):
        raise _param_error("tau" if not isinstance(tau, (int, float)) else "epsilon", "must be a number") from None


class Allocation:
    """Units per active cell, what they cover, how they were made, and the gate's verdict.

    Attributes: ``units`` (per active cell, in ``cell_ids`` order), ``expected_units`` (the
    exact proportional share for ``proportional``, the sampling target for ``randomized``,
    ``units`` otherwise), ``risk_covered`` (``Σ risk · units``), ``total_risk``,
    ``risk_share`` (``risk_covered / total_risk``), ``exposure`` (per-capita exposure by group,
    when a population was given), ``price_of_fairness`` (for ``fair``), ``strategy``,
    ``params``, ``budget``, ``surface``; and from the gate: ``audit`` (the
    :class:`~placewise.audit.DisparityAudit`, when a population was given), ``concentration``,
    ``audit_summary`` (what the policy was checked against) and ``decision`` (status
    ``"passed"``, ``"overridden"``, ``"blocked"`` or ``"no_policy"``, the failed checks, the
    skipped audits, the override record, and the policy's name and source).
    """

    def __init__(self, *, surface: Surface, budget: Budget, strategy: str, params: dict[str, Any],
                 audited: _native.AuditedAllocation, population: Population | None,
                 districts: tuple[np.ndarray, list[str]] | None, concentration_seed: int = 0) -> None:
        result = audited.allocation
        self.surface = surface
        self.grid: Grid = surface.grid
        self.budget = budget
        self.strategy = strategy
        self.params = params
        self.population = population
        self.cell_ids = surface.grid.cell_ids
        self.risk = surface.values.ravel()[self.cell_ids]
        self.units: np.ndarray = result.dose
        self.expected_units: np.ndarray = result.expected_dose
        self.risk_covered: float = result.risk_covered
        self.total_risk: float = result.total_risk
        groups = population.groups if population is not None else None
        exposure = result.exposure
        self.exposure: pd.Series | None = (
            pd.Series(exposure, index=groups, name="exposure_per_capita") if exposure is not None else None
        )
        self.average_exposure: float | None = result.average_exposure
        pof = result.price_of_fairness
        self.price_of_fairness: PriceOfFairness | None = PriceOfFairness(*pof) if pof is not None else None
        self._districts = districts
        self._audited = audited
        self.decision: _native.Decision = audited.decision
        self.audit_summary: _native.AuditSummary = audited.summary
        dis = audited.disparity
        self.audit: DisparityAudit | None = DisparityAudit(dis) if dis is not None else None
        conc = audited.concentration
        self._concentration: ConcentrationAudit | None = ConcentrationAudit(conc) if conc is not None else None
        self._concentration_seed = concentration_seed

    @property
    def blocked(self) -> bool:
        """True when the policy blocked this plan (it reached you through
        :class:`~placewise.PolicyViolation`'s ``.blocked``): it must not be deployed."""
        return self.decision.status == "blocked"

    @property
    def overrides(self) -> list[dict[str, str]]:
        """The override of this plan's failed checks, as rows for a report (empty without one)."""
        o = self.decision.override
        if o is None:
            return []
        return [{"by": o.by, "at": o.at, "reason": o.reason, "failed_checks": "; ".join(self.decision.failed_checks)}]

    @property
    def risk_share(self) -> float:
        """Risk covered as a share of the surface's total risk (with a cap of 1 unit per cell:
        the share of risk in patrolled cells)."""
        return self.risk_covered / self.total_risk if self.total_risk > 0 else 0.0

    @property
    def hours(self) -> np.ndarray | None:
        """Patrol hours per active cell, when the budget has ``shift_hours``."""
        return None if self.budget.shift_hours is None else self.units * float(self.budget.shift_hours)

    def units_grid(self) -> np.ndarray:
        """Units as a (ny, nx) array (0 in inactive cells)."""
        out = np.zeros(self.grid.n_cells)
        out[self.cell_ids] = self.units
        return out.reshape(self.grid.shape)

    def exposure_ratios(self) -> pd.Series | None:
        """Each group's exposure divided by the reference's (the reference group, or the
        population average)."""
        if self.exposure is None:
            return None
        ref = self.params.get("reference")
        denom = self.exposure[ref] if ref is not None else self.average_exposure
        return self.exposure / denom if denom else self.exposure * np.nan

    @property
    def dose(self) -> np.ndarray:
        """Units over **all** grid cells (``n_cells``, 0 outside active cells): the form the
        audits read."""
        return self.units_grid().ravel()

    @property
    def concentration(self) -> ConcentrationAudit:
        """Gini/Theil of the units across cells next to a random allocation of the same budget:
        the gate's audit when a policy was applied, else computed on first use (999 random
        allocations, seeded like the gate) and kept."""
        if self._concentration is None:
            active = np.ascontiguousarray(self.grid.mask().ravel())
            raw = _native.concentration(np.ascontiguousarray(self.dose), active, None, unit=1.0, simulations=999,
                                        confidence=0.95, seed=self._concentration_seed)
            self._concentration = ConcentrationAudit(raw)
        return self._concentration

    def decision_dict(self) -> dict[str, Any]:
        """The decision as plain values (for logs, GeoJSON and reports)."""
        return decision_dict(self.decision)

    def to_frame(self, patrolled_only: bool = False) -> pd.DataFrame:
        """One row per active cell: cell_id, row, col, x, y (centre), risk, units, expected_units
        (+ hours, district when known)."""
        ids = self.cell_ids
        x, y = self.grid.centres(ids)
        df = pd.DataFrame({"cell_id": ids, "row": ids // self.grid.nx, "col": ids % self.grid.nx, "x": x, "y": y,
                           "risk": self.risk, "units": self.units, "expected_units": self.expected_units})
        if self.hours is not None:
            df["hours"] = self.hours
        if self._districts is not None:
            lab, names = self._districts
            df["district"] = [names[i] if i >= 0 else None for i in lab]
        if self.decision.status != "no_policy":
            df["decision"] = self.decision.status.upper()
        if patrolled_only:
            df = df[df["units"] > 0].reset_index(drop=True)
        return df

    def to_geodataframe(self, patrolled_only: bool = False) -> gpd.GeoDataFrame:
        """Cell squares with the columns of :meth:`to_frame`, in the grid's CRS."""
        import geopandas as gpd
        import shapely

        df = self.to_frame(patrolled_only)
        h = self.grid.cell_size / 2
        geom = shapely.box(df["x"] - h, df["y"] - h, df["x"] + h, df["y"] + h)
        return gpd.GeoDataFrame(df, geometry=geom, crs=self.grid.crs)

    def summary(self) -> dict[str, Any]:
        """Strategy, parameters and headline numbers as plain values (JSON-ready)."""
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "params": {k: v for k, v in self.params.items()},
            "budget": {"units": self.budget.units, "per_cell_cap": self.budget.per_cell_cap,
                       "shift_hours": self.budget.shift_hours,
                       "district_caps": {str(k): v for k, v in self.budget.district_caps.items()},
                       "district_minimums": {str(k): v for k, v in self.budget.district_minimums.items()}},
            "surface_model": self.surface.model,
            "cells_patrolled": int((self.units > 0).sum()),
            "risk_covered": self.risk_covered,
            "total_risk": self.total_risk,
            "risk_share": self.risk_share,
        }
        if self.exposure is not None:
            out["exposure_per_capita"] = {str(k): float(v) for k, v in self.exposure.items()}
        if self.price_of_fairness is not None:
            out["price_of_fairness"] = self.price_of_fairness.__dict__.copy()
        out["decision"] = self.decision_dict()
        return out

    def to_geojson(self, path: str | os.PathLike[str] | None = None, patrolled_only: bool = True) -> str:
        """GeoJSON of the (patrolled) cells with their units, in the grid's CRS; the strategy,
        parameters and summary are recorded under ``"placewise"``."""
        gdf = self.to_geodataframe(patrolled_only)
        doc = json.loads(gdf.to_json(drop_id=True))
        doc["placewise"] = {**self.summary(), "crs": self.grid.crs.to_string()}
        text = json.dumps(doc, default=str)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None, patrolled_only: bool = True) -> str:
        """CSV of :meth:`to_frame` (patrolled cells by default); returns the text."""
        return csv_text(self.to_frame(patrolled_only), path)

    def plot(self, ax: Axes | None = None, cmap: str = "viridis", show_risk: bool = True, **kwargs: Any) -> Axes:
        """Map of the units per cell (over the risk surface in grey); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        g = self.grid
        x0, y0, x1, y1 = g.extent
        mask = g.mask()
        if show_risk:
            ax.imshow(np.where(mask, self.surface.values, np.nan), origin="lower", extent=(x0, x1, y0, y1), cmap="Greys", alpha=0.5)
        u = self.units_grid()
        im = ax.imshow(np.where(u > 0, u, np.nan), origin="lower", extent=(x0, x1, y0, y1), cmap=cmap, **kwargs)
        ax.figure.colorbar(im, ax=ax, label="units", shrink=0.8)
        stamp = "BLOCKED — " if self.blocked else ""
        ax.set_title(f"{stamp}{self.strategy}: {self.budget.units:g} units, {100 * self.risk_share:.1f}% of risk covered")
        ax.set_aspect("equal")
        return ax

    def __repr__(self) -> str:
        s = (f"<Allocation {'BLOCKED ' if self.blocked else ''}{self.strategy}: {self.budget.units:g} units on {int((self.units > 0).sum())} cells, "
             f"risk covered {self.risk_covered:.4g} ({100 * self.risk_share:.1f}%)")
        if self.price_of_fairness is not None:
            s += f", {self.price_of_fairness}"
        return s + ">"

    def _repr_html_(self) -> str:
        rows = [("decision", self.decision.status), ("strategy", self.strategy), ("budget", repr(self.budget)),
                ("cells patrolled", f"{int((self.units > 0).sum()):,} of {len(self.units):,}"),
                ("risk covered", f"{self.risk_covered:.4g} ({100 * self.risk_share:.1f}% of {self.total_risk:.4g})")]
        rows += [(k, str(v)) for k, v in self.params.items()]
        if self.price_of_fairness is not None:
            p = self.price_of_fairness
            rows.append(("price of fairness", f"{p.absolute:.4g} ({100 * p.share:.2f}% of top_k's {p.top_k_risk_covered:.4g})"))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        table = f"<table>{body}</table>"
        if self.exposure is not None:
            ratios = self.exposure_ratios()
            ex = pd.DataFrame({"exposure per capita": self.exposure, "ratio to reference": ratios})
            table += "<p>Exposure by group (units per person)</p>" + ex.to_html(float_format=lambda v: f"{v:.4g}")
        if self.audit is not None and hasattr(self.audit, "_repr_html_"):
            table += self.audit._repr_html_()
        return f"<div><b>{html.escape(repr(self))}</b>{table}</div>"


def _params(strategy: str, seed: Any, tau: float, reference: str | None, epsilon: float) -> dict[str, Any]:
    if strategy == "randomized":
        return {"epsilon": float(epsilon), "seed": int(seed)}
    if strategy == "fair":
        return {"tau": float(tau), "reference": reference}
    return {}


def _budget(budget: Any) -> Budget:
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, (int, float, np.integer, np.floating)) and not isinstance(budget, bool):
        return Budget(units=float(budget))
    raise _param_error("budget", f"expected a Budget or a number of units, got {budget!r}")


def decision_dict(d: _native.Decision) -> dict[str, Any]:
    """A gate decision as plain values (for logs, GeoJSON properties and reports)."""
    o = d.override
    return {
        "status": d.status,
        "failed_checks": list(d.failed_checks),
        "skipped_audits": [{"audit": k.audit, "reason": k.reason, "by_caller": k.by_caller} for k in d.skipped_audits],
        "override": None if o is None else {"reason": o.reason, "by": o.by, "at": o.at},
        "policy_name": d.policy_name,
        "policy_source": d.policy_source,
    }


def _native_policy(policy: Any) -> _native.AuditPolicy | None:
    if policy is None:
        return None
    native = getattr(policy, "_native", policy)
    if not isinstance(native, _native.AuditPolicy):
        raise param_error("policy", f"expected an AuditPolicy (placewise.AuditPolicy), got {type(policy).__name__}")
    return native


def _skip(skip_audits: Any) -> list[str]:
    if skip_audits is None:
        return []
    if isinstance(skip_audits, str):  # one name, never its characters
        return [skip_audits]
    if not isinstance(skip_audits, Iterable):
        raise param_error("skip_audits", f"expected audit names, got {type(skip_audits).__name__}")
    out = []
    for k in skip_audits:
        if not isinstance(k, str):
            raise param_error("skip_audits", f"audit names are text, got {k!r}")
        out.append(k)
    return out


def _extra_audits(provenance: Any, feedback: Any) -> dict[str, Any]:
    """The data-provenance share and the feedback verdict of audits run outside the gate."""
    out: dict[str, Any] = {}
    if provenance is not None:
        summ = provenance.summary() if hasattr(provenance, "summary") else provenance
        if not isinstance(summ, Mapping) or "discovered_share" not in summ:
            raise param_error("provenance", "expected a data-provenance audit (placewise.audit.data_provenance)")
        v = summ["discovered_share"]
        out["discovered_share"] = None if v is None else float(v)
    if feedback is not None:
        summ = feedback.summary() if hasattr(feedback, "summary") else feedback
        if not isinstance(summ, Mapping) or not isinstance(summ.get("verdict"), str):
            raise param_error("feedback", "expected a feedback audit with a verdict (placewise.audit.feedback, "
                                          "compare_mitigations or ensign_urn)")
        out["feedback_verdict"] = summ["verdict"]
    return out


def _gate_kwargs(policy: Any, override_reason: Any, override_by: Any, skip_audits: Any, seed: int | None,
                 provenance: Any, feedback: Any) -> dict[str, Any]:
    return {
        "policy": _native_policy(policy),
        "override_record": make_override(override_reason, override_by),
        "skip_audits": _skip(skip_audits),
        "audit_seed": 0 if seed is None else int(seed),
        **_extra_audits(provenance, feedback),
    }


def _incidents(surface: Surface) -> np.ndarray:
    return np.ascontiguousarray(surface.values.ravel(), dtype=np.float64)


def allocate(
    surface: Surface,
    budget: Budget | float,
    strategy: str = "top_k",
    population: Population | None = None,
    seed: int | None = None,
    tau: float = 0.8,
    reference: str | None = None,
    epsilon: float = 0.1,
    districts: Any = None,
    policy: Any = None,
    override_reason: str | None = None,
    override_by: str | None = None,
    skip_audits: Sequence[str] | str | None = None,
    provenance: Any = None,
    feedback: Any = None,
) -> Allocation:
    """Places ``budget`` over the active cells of ``surface`` with ``strategy``, audits the plan
    and applies ``policy`` — one call to the gate of the Rust core.

    Parameters
    ----------
    surface : risk per cell; allocation uses the active cells.
    budget : a :class:`Budget` (or a number of units).
    strategy : ``"top_k"``, ``"proportional"``, ``"randomized"`` or ``"fair"``.
    population : people by group per cell; required by ``fair``. When given, the allocation
        carries its disparity audit (``.audit``) and each group's per-capita exposure. A group
        with no people is refused (its per-capita exposure would be undefined).
    seed : required by ``randomized``; also seeds the audits' bootstrap (0 when None).
    tau : ``fair`` keeps each group's exposure within ``[tau, 1/tau]`` of the reference; in (0, 1].
    reference : a group name, or None for the population average (``fair``).
    epsilon : ``randomized``'s exploration floor in [0, 1]: the share of the budget spread
        uniformly over all cells.
    districts : polygon layer (or one label per active cell) for district caps/minimums; a
        cell belongs to the district polygon that overlaps it most.
    policy : an :class:`~placewise.AuditPolicy` (e.g. :meth:`AuditPolicy.default`). A failed
        check raises :class:`~placewise.PolicyViolation`, whose ``.blocked`` is this plan
        (marked blocked), unless overridden. Without a policy the decision says "no_policy".
    override_reason, override_by : a written justification (at least 10 visible characters)
        and who gives it (default: the system user name); recorded with the time in
        ``decision.override``.
    skip_audits : audits the policy must not check ("disparity", "concentration", "data",
        "feedback"): an explicit choice, recorded in ``decision.skipped_audits``. The default
        policy fails a plan without a disparity audit (no population) unless it is skipped.
    provenance, feedback : a data-provenance audit and a feedback audit run beforehand, for the
        policy's ``[data]`` and ``[feedback]`` checks.

    Examples
    --------
    >>> import numpy as np, placewise as pw
    >>> grid = pw.Grid(pw.Region.from_bounds(0, 0, 300, 200, crs="EPSG:32616"), cell_size=100)
    >>> s = pw.Surface(np.array([[1.0, 5.0, 2.0], [0.5, 4.0, 0.0]]), grid, "test")
    >>> a = pw.allocate(s, budget=pw.Budget(units=2), strategy="top_k")
    >>> a.to_frame(patrolled_only=True)["cell_id"].tolist()
    [1, 4]
    >>> float(a.risk_covered)
    9.0
    >>> a.decision.status
    'no_policy'
    """
    budget = _budget(budget)
    _common(strategy, population, seed, tau, epsilon)
    risk = _risk(surface)
    grid = surface.grid
    counts, groups = _population(population, grid)
    ref = _reference(reference, groups) if strategy == "fair" else None
    dist = district_of_cells(districts, grid) if districts is not None else None
    nb = budget._native(dist)
    gk = _gate_kwargs(policy, override_reason, override_by, skip_audits, seed, provenance, feedback)
    params = _params(strategy, seed, tau, reference, epsilon)
    conc_seed = int(params.get("seed") or 0)
    incidents = _incidents(surface) if counts is not None else None
    active = np.ascontiguousarray(grid.mask().ravel())

    def wrap(audited: _native.AuditedAllocation) -> Allocation:
        return Allocation(surface=surface, budget=budget, strategy=strategy, params=params, audited=audited,
                          population=population, districts=dist, concentration_seed=conc_seed)

    try:
        audited = _native.gate(risk, active, nb, strategy, epsilon=float(epsilon), seed=None if seed is None else int(seed),
                               tau=float(tau), reference=ref, population=counts, groups=groups, incidents=incidents,
                               concentration_seed=conc_seed, **gk)
    except PolicyViolation as e:
        if isinstance(e.blocked, _native.AuditedAllocation):
            e.blocked = wrap(e.blocked)
        raise
    return wrap(audited)


class Plan:
    """Allocations for several shifts (e.g. day and night), each with its own surface and budget.

    ``plan["night"]`` is one shift's :class:`Allocation`; ``to_frame()`` stacks them with a
    ``shift`` column; ``units_total`` sums units per active cell over the shifts.
    """

    def __init__(self, shifts: dict[str, Allocation], audited: _native.AuditedPlan | None = None) -> None:
        self.shifts = shifts
        self._audited = audited
        #: The decision on the whole plan (its failed checks name the shift or "whole plan").
        self.decision: _native.Decision | None = None if audited is None else audited.decision
        dis = None if audited is None else audited.disparity
        #: Disparity audit of the shifts' summed units (plans of two shifts or more, with a population).
        self.audit: DisparityAudit | None = DisparityAudit(dis) if dis is not None else None
        conc = None if audited is None else audited.concentration
        self.concentration: ConcentrationAudit | None = ConcentrationAudit(conc) if conc is not None else None

    @property
    def blocked(self) -> bool:
        """True when the policy blocked the plan (it must not be deployed)."""
        return self.decision is not None and self.decision.status == "blocked"

    @property
    def names(self) -> list[str]:
        return list(self.shifts)

    def __getitem__(self, name: str) -> Allocation:
        return self.shifts[name]

    def __iter__(self) -> Any:
        return iter(self.shifts.values())

    def __len__(self) -> int:
        return len(self.shifts)

    @property
    def risk_covered(self) -> float:
        return float(sum(a.risk_covered for a in self.shifts.values()))

    @property
    def units_total(self) -> np.ndarray:
        return np.sum([a.units for a in self.shifts.values()], axis=0)

    def to_frame(self, patrolled_only: bool = False) -> pd.DataFrame:
        """The shifts' frames stacked, with a ``shift`` column (and ``decision``: the whole
        plan's, when a policy was applied)."""
        frames = []
        for name, a in self.shifts.items():
            df = a.to_frame(patrolled_only)
            df.insert(0, "shift", name)
            frames.append(df)
        df = pd.concat(frames, ignore_index=True)
        if self.decision is not None and self.decision.status != "no_policy":
            df["decision"] = self.decision.status.upper()
        return df

    def summary(self) -> pd.DataFrame:
        """One row per shift: strategy, units, cells patrolled, risk covered and share."""
        return pd.DataFrame([{"shift": n, "strategy": a.strategy, "units": a.budget.units,
                              "cells_patrolled": int((a.units > 0).sum()), "risk_covered": a.risk_covered,
                              "risk_share": a.risk_share,
                              "price_of_fairness": a.price_of_fairness.absolute if a.price_of_fairness else None}
                             for n, a in self.shifts.items()]).set_index("shift")

    def to_csv(self, path: str | os.PathLike[str] | None = None, patrolled_only: bool = True) -> str:
        return csv_text(self.to_frame(patrolled_only), path)

    def plot(self, axes: Any = None, **kwargs: Any) -> Any:
        """One map per shift; returns the Axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, len(self.shifts), figsize=(5 * len(self.shifts), 5), squeeze=False)
            axes = axes[0]
        for ax, a in zip(axes, self.shifts.values()):
            a.plot(ax=ax, **kwargs)
        return axes

    def __repr__(self) -> str:
        return f"<Plan {'BLOCKED ' if self.blocked else ''}{len(self.shifts)} shifts ({', '.join(self.shifts)}), risk covered {self.risk_covered:.4g}>"

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.summary().to_html(float_format=lambda v: f'{v:.4g}')}</div>"


def allocate_shifts(
    surfaces: Mapping[str, Surface] | Sequence[Surface],
    budgets: Budget | float | Mapping[str, Budget | float] | Sequence[Budget | float],
    strategy: str = "top_k",
    population: Population | None = None,
    seed: int | None = None,
    tau: float = 0.8,
    reference: str | None = None,
    epsilon: float = 0.1,
    districts: Any = None,
    policy: Any = None,
    override_reason: str | None = None,
    override_by: str | None = None,
    skip_audits: Sequence[str] | str | None = None,
    provenance: Any = None,
    feedback: Any = None,
) -> Plan:
    """Allocates several shifts at once, in parallel: a surface per shift (a dict name →
    Surface, or a list named ``shift0``, ``shift1``…), a budget per shift (one for all, or a
    dict/list matching the surfaces). With ``randomized``, shift ``i`` draws from its own
    stream derived from ``(seed, i)``, so the plan does not depend on the number of threads.

    The plan passes the same gate as :func:`allocate`, per shift (shift ``i``'s audits are
    seeded with ``seed + i``) and for the whole plan (the shifts' units summed): a failed check
    anywhere raises :class:`~placewise.PolicyViolation` whose ``.blocked`` is the
    :class:`Plan`, unless ``override_reason`` is given. ``policy``, ``override_reason``,
    ``override_by``, ``skip_audits``, ``provenance`` and ``feedback`` are as in :func:`allocate`.
    """
    if isinstance(surfaces, Mapping):
        names = [str(k) for k in surfaces]
        surfs = list(surfaces.values())
    else:
        surfs = list(surfaces)
        names = [f"shift{i}" for i in range(len(surfs))]
    if not surfs:
        raise _param_error("surfaces", "a plan needs at least one shift")
    if isinstance(budgets, Mapping):
        missing = [n for n in names if n not in budgets]
        if missing:
            raise _param_error("budgets", f"no budget for shift(s) {missing}")
        bl = [_budget(budgets[n]) for n in names]
    elif isinstance(budgets, (Budget, int, float, np.integer, np.floating)):
        bl = [_budget(budgets)] * len(surfs)
    else:
        bl = [_budget(b) for b in budgets]
        if len(bl) != len(surfs):
            raise _param_error("budgets", f"one budget per shift is needed: {len(surfs)} surfaces, {len(bl)} budgets")
    _common(strategy, population, seed, tau, epsilon)
    grid = surfs[0].grid
    risks = []
    for i, s in enumerate(surfs):
        r = _risk(s)
        if s.grid is not grid and (s.grid.shape != grid.shape or not np.array_equal(s.grid.mask(), grid.mask())):
            raise _param_error(f"surfaces[{names[i]}]", "all shifts must be on the same grid")
        risks.append(r)
    counts, groups = _population(population, grid)
    ref = _reference(reference, groups) if strategy == "fair" else None
    dist = district_of_cells(districts, grid) if districts is not None else None
    gk = _gate_kwargs(policy, override_reason, override_by, skip_audits, seed, provenance, feedback)
    params = _params(strategy, seed, tau, reference, epsilon)
    conc_seed = int(params.get("seed") or 0)
    incidents = [_incidents(s) for s in surfs] if counts is not None else None

    def wrap(audited: _native.AuditedPlan) -> Plan:
        shifts = {n: Allocation(surface=s, budget=b, strategy=strategy, params=dict(params), audited=a,
                                population=population, districts=dist, concentration_seed=conc_seed)
                  for n, s, b, a in zip(names, surfs, bl, audited.shifts)}
        return Plan(shifts, audited)

    try:
        audited = _native.gate_shifts(names, risks, [b._native(dist) for b in bl], np.ascontiguousarray(grid.mask().ravel()),
                                      strategy, incidents=incidents, epsilon=float(epsilon),
                                      seed=None if seed is None else int(seed), tau=float(tau), reference=ref,
                                      population=counts, groups=groups, concentration_seed=conc_seed, **gk)
    except PolicyViolation as e:
        if isinstance(e.blocked, _native.AuditedPlan):
            e.blocked = wrap(e.blocked)
        raise
    return wrap(audited)
