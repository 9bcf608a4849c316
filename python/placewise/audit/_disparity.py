"""Disparity audit: who bears the patrol exposure, and who gets the protection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _native
from ..exceptions import param_error
from .._results import DisparityAudit
from ._common import dose_array, grid_of, same_grid


def _need(need: Any, groups: list[str]) -> np.ndarray | None:
    if need is None:
        return None
    if isinstance(need, Mapping):
        missing = [g for g in groups if g not in need]
        if missing:
            raise param_error("need", f"no value for groups {missing}")
        extra = [k for k in need if k not in groups]
        if extra:
            raise param_error("need", f"unknown groups {extra}; groups are {groups}")
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
        raise param_error("population", f"expected a placewise.Population, got {type(population).__name__}"
        )
    if not same_grid(grid_of(dose), grid_of(population)):
        raise param_error("population", "it was built on another grid than the allocation; it does not join"
        )
    counts = np.ascontiguousarray(population.counts, dtype=np.float64)
    if counts.ndim != 2:
        raise param_error("population", f"counts must be (n_cells, n_groups), got {counts.shape}")
    d = dose_array(dose, counts.shape[0])
    groups = [str(g) for g in population.groups]
    if not isinstance(reference, str):
        raise param_error("reference", f"expected a string, got {type(reference).__name__}")
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
    return DisparityAudit(raw)
