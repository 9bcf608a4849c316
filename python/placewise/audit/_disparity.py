"""Disparity audit: who bears the patrol exposure, and who gets the protection."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from .._jsonable import jsonable, nan
from ..exceptions import InvalidParameterError
from ._common import CAVEAT, dose_array, grid_of, same_grid

_METHODS = ("between_groups", "to_overall", "to_reference")


class DisparityAudit:
    """Exposure per capita by group, in the style of fairlearn's ``MetricFrame``.

    Built by :func:`disparity`. ``overall`` is the whole population's exposure per capita
    E = Σ dose·pop / Σ pop; ``by_group`` a DataFrame with one row per group: ``population``,
    ``exposure`` (person-dose), ``rate`` (E_g), ``exposure_share``, ``population_share``,
    ``ratio_to_reference`` / ``difference_to_reference``, ``ratio_to_overall`` /
    ``difference_to_overall``, bootstrap interval columns ``*_low`` / ``*_high``, ``verdict``
    (the point ratio to the reference against [τ, 1/τ]), ``verdict_ci`` (the interval against
    the band: ``inconclusive`` when it straddles an edge), and, when given, ``protection`` and
    need columns. The bootstrap resamples cells (``resampling_unit``), seeded by ``seed``.
    """

    def __init__(self, *, data: Mapping[str, Any], groups: list[str]) -> None:
        self._data = dict(data)
        rows = []
        for r in data["groups"]:
            rows.append(
                {
                    "group": r["group"],
                    "population": r["population"],
                    "exposure": r["exposure"],
                    "rate": nan(r["rate"]),
                    "rate_low": nan(r["rate_ci"][0]),
                    "rate_high": nan(r["rate_ci"][1]),
                    "exposure_share": nan(r["exposure_share"]),
                    "population_share": nan(r["population_share"]),
                    "ratio_to_reference": nan(r["ratio_to_reference"]),
                    "ratio_to_reference_low": nan(r["ratio_to_reference_ci"][0]),
                    "ratio_to_reference_high": nan(r["ratio_to_reference_ci"][1]),
                    "difference_to_reference": nan(r["difference_to_reference"]),
                    "ratio_to_overall": nan(r["ratio_to_overall"]),
                    "ratio_to_overall_low": nan(r["ratio_to_overall_ci"][0]),
                    "ratio_to_overall_high": nan(r["ratio_to_overall_ci"][1]),
                    "difference_to_overall": nan(r["difference_to_overall"]),
                    "verdict": r["verdict"],
                    "verdict_ci": r["verdict_ci"],
                    "protection": nan(r["protection"]),
                    "need_share": nan(r["need_share"]),
                    "exposure_to_need": nan(r["exposure_to_need"]),
                }
            )
        df = pd.DataFrame(rows).set_index("group")
        if data["overall_protection"] is None and df["protection"].isna().all():
            df = df.drop(columns=["protection"])
        if df["need_share"].isna().all():
            df = df.drop(columns=["need_share", "exposure_to_need"])
        self.by_group: pd.DataFrame = df
        self.groups = list(groups)
        self.overall: float = nan(data["overall_rate"])
        self.overall_ci: tuple[float, float] = (nan(data["overall_rate_ci"][0]), nan(data["overall_rate_ci"][1]))
        self.overall_protection: float = nan(data["overall_protection"])
        self.reference: str = data["reference"]
        self.reference_rule: str = data["reference_rule"]
        self.tau: float = data["tau"]
        self.band: tuple[float, float] = (self.tau, 1.0 / self.tau)
        self.bootstrap: int = data["bootstrap"]
        self.confidence: float = data["confidence"]
        self.seed: int = data["seed"]
        self.resampling_unit: str = data["resampling_unit"]
        self.n_units: int = data["n_units"]
        self.undefined_resamples: int = data["undefined_resamples"]
        self.total_dose: float = data["total_dose"]
        self.caveat: str = CAVEAT

    # ---------------------------------------------------------------- MetricFrame-like
    def group_max(self) -> float:
        return float(self.by_group["rate"].max())

    def group_min(self) -> float:
        return float(self.by_group["rate"].min())

    def difference(self, method: str = "between_groups") -> float:
        """Largest difference of exposure per capita: ``between_groups`` (max − min, as
        fairlearn), ``to_overall`` (max |E_g − E|) or ``to_reference`` (max |E_g − E_ref|)."""
        r = self.by_group["rate"]
        if method == "between_groups":
            return float(r.max() - r.min())
        if method == "to_overall":
            return float((r - self.overall).abs().max())
        if method == "to_reference":
            return float((r - r[self.reference]).abs().max())
        raise InvalidParameterError(f"invalid parameter `method`: must be one of {_METHODS}, got {method!r}")

    def ratio(self, method: str = "between_groups") -> float:
        """Smallest ratio of exposure per capita, ≤ 1: ``between_groups`` (min / max, as
        fairlearn), ``to_overall`` (min over groups of min(E_g/E, E/E_g)) or ``to_reference``."""
        r = self.by_group["rate"].to_numpy()
        if method == "between_groups":
            return float(r.min() / r.max()) if r.max() > 0 else float("nan")
        if method in ("to_overall", "to_reference"):
            base = self.overall if method == "to_overall" else float(self.by_group["rate"][self.reference])
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.minimum(r / base, base / r)
            return float(np.nanmin(q))
        raise InvalidParameterError(f"invalid parameter `method`: must be one of {_METHODS}, got {method!r}")

    @property
    def ci(self) -> pd.DataFrame:
        """Bootstrap intervals of the rate and the ratios, one row per group."""
        cols = [c for c in self.by_group.columns if c.endswith("_low") or c.endswith("_high")]
        return self.by_group[cols]

    @property
    def outside_band(self) -> list[str]:
        """Groups whose point ratio to the reference lies outside [τ, 1/τ]."""
        return [g for g, v in self.by_group["verdict"].items() if v in ("above", "below")]

    @property
    def verdict(self) -> str:
        out = self.outside_band
        lo, hi = self.band
        if not out:
            return f"every group's exposure ratio to {self.reference} lies within [{lo:.2f}, {hi:.2f}]"
        return f"outside [{lo:.2f}, {hi:.2f}] relative to {self.reference}: " + ", ".join(
            f"{g} ({self.by_group.loc[g, 'ratio_to_reference']:.2f})" for g in out
        )

    # ---------------------------------------------------------------- export
    def summary(self) -> dict[str, Any]:
        """The section a policy checks (see :class:`placewise.AuditPolicy`)."""
        bg = self.by_group
        return jsonable(
            {
                "ratio_to_reference": bg["ratio_to_reference"].to_dict(),
                "ratio_to_overall": bg["ratio_to_overall"].to_dict(),
                "ratio_to_reference_ci": {
                    g: [bg.loc[g, "ratio_to_reference_low"], bg.loc[g, "ratio_to_reference_high"]] for g in bg.index
                },
                "ratio_to_overall_ci": {
                    g: [bg.loc[g, "ratio_to_overall_low"], bg.loc[g, "ratio_to_overall_high"]] for g in bg.index
                },
                "reference": self.reference,
                "tau": self.tau,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (NaN as None)."""
        out = jsonable(self._data)
        out["caveat"] = self.caveat
        return out

    def __repr__(self) -> str:
        return (
            f"DisparityAudit(overall={self.overall:.4g}, reference={self.reference!r} ({self.reference_rule}), "
            f"tau={self.tau}, bootstrap={self.bootstrap} over {self.resampling_unit}, seed={self.seed})\n"
            f"{self.by_group[['rate', 'exposure_share', 'population_share', 'ratio_to_reference', 'verdict']]}\n"
            f"{self.verdict}"
        )

    def _repr_html_(self) -> str:
        cols = ["population", "rate", "exposure_share", "population_share", "ratio_to_reference",
                "ratio_to_reference_low", "ratio_to_reference_high", "verdict", "verdict_ci"]
        if "protection" in self.by_group:
            cols.append("protection")
        table = self.by_group[cols].to_html(float_format=lambda v: f"{v:.3g}", na_rep="–")
        pct = int(round(self.confidence * 100))
        return (
            "<div><b>Disparity audit</b> — exposure per capita by group<br>"
            f"overall {self.overall:.4g} (CI {self.overall_ci[0]:.4g}–{self.overall_ci[1]:.4g}); reference "
            f"<b>{html.escape(self.reference)}</b> ({html.escape(self.reference_rule)}); band "
            f"[{self.band[0]:.2f}, {self.band[1]:.2f}]; {pct}% percentile bootstrap, {self.bootstrap} resamples of "
            f"{self.resampling_unit}, seed {self.seed}.{table}"
            f"<p>{html.escape(self.verdict)}</p><p><i>{html.escape(self.caveat)}</i></p></div>"
        )


def _need(need: Any, groups: list[str]) -> np.ndarray | None:
    if need is None:
        return None
    if isinstance(need, Mapping):
        missing = [g for g in groups if g not in need]
        if missing:
            raise InvalidParameterError(f"invalid parameter `need`: no value for groups {missing}")
        extra = [k for k in need if k not in groups]
        if extra:
            raise InvalidParameterError(f"invalid parameter `need`: unknown groups {extra}; groups are {groups}")
        return np.array([float(need[g]) for g in groups])
    return np.ascontiguousarray(need, dtype=np.float64)


def _incidents_per_cell(inc: Any, population: Any) -> np.ndarray | None:
    if inc is None:
        return None
    if hasattr(inc, "_native") and hasattr(inc, "quality"):  # Incidents: count per cell
        return np.ascontiguousarray(population.grid.counts(inc).ravel(), dtype=np.float64)
    vals = getattr(inc, "values", inc)  # a Surface of expected incidents
    return dose_array(vals, name="incidents_per_cell")


def disparity(
    dose: Any,
    population: Any,
    reference: str = "majority",
    tau: float = 0.8,
    bootstrap: int = 1000,
    seed: int = 0,
    incidents_per_cell: Any = None,
    need: Any = None,
    confidence: float = 0.95,
) -> DisparityAudit:
    """Per-group exposure to a patrol allocation, with bootstrap intervals and verdicts.

    Parameters
    ----------
    dose
        Dose per grid cell over **all** cells (``n_cells`` or ``(ny, nx)``): patrol units,
        hours or visit probability; or an object with a ``.dose`` attribute (an Allocation).
    population
        A :class:`placewise.Population` on the same grid.
    reference
        ``"majority"`` (the group with most people), ``"least_exposed"``, or a group name.
    tau
        Band [τ, 1/τ] of the verdicts (default 0.8: 0.8–1.25). A convention, not a proof.
    bootstrap, seed, confidence
        Percentile bootstrap over cells (resamples, seed, level); ``bootstrap=0`` skips it.
    incidents_per_cell
        Expected or observed incidents per cell (array, Surface, or Incidents to count) for
        the protection side: per group, the share of its incidents (shared among groups by
        residents) in cells with dose > 0.
    need
        Per-capita need per group from a non-police source (dict by group or array), e.g.
        survey prevalence as in Lum & Isaac (2016); adds ``need_share`` and
        ``exposure_to_need`` (exposure share / need share).

    Raises ``InvalidParameterError`` for a population that does not join the grid, an unknown
    reference group, τ outside (0, 1] or a zero budget, and ``DataValidationError`` for a group
    with zero people or negative counts.

    Examples
    --------
    >>> import numpy as np, placewise as pw
    >>> city = pw.datasets.load_chicago(cell_size=1000)
    >>> dose = np.zeros(city.grid.n_cells); dose[city.grid.cell_ids[:40]] = 1.0
    >>> audit = pw.audit.disparity(dose, city.population, reference="WHITE", bootstrap=200, seed=0)
    >>> float(audit.by_group.loc["WHITE", "ratio_to_reference"])
    1.0
    """
    if not (hasattr(population, "counts") and hasattr(population, "groups")):
        raise InvalidParameterError(
            f"invalid parameter `population`: expected a placewise.Population, got {type(population).__name__}"
        )
    if not same_grid(grid_of(dose), grid_of(population)):
        raise InvalidParameterError(
            "invalid parameter `population`: it was built on another grid than the allocation; it does not join"
        )
    counts = np.ascontiguousarray(population.counts, dtype=np.float64)
    if counts.ndim != 2:
        raise InvalidParameterError(f"invalid parameter `population`: counts must be (n_cells, n_groups), got {counts.shape}")
    d = dose_array(dose, counts.shape[0])
    groups = [str(g) for g in population.groups]
    if not isinstance(reference, str):
        raise InvalidParameterError(f"invalid parameter `reference`: expected a string, got {type(reference).__name__}")
    raw = _native.disparity(
        d,
        counts,
        groups,
        reference=reference,
        tau=float(tau),
        bootstrap=int(bootstrap),
        confidence=float(confidence),
        seed=int(seed),
        incidents=_incidents_per_cell(incidents_per_cell, population),
        need=_need(need, groups),
    )
    return DisparityAudit(data=json.loads(raw), groups=groups)
