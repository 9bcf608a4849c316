"""Concentration audit: Gini and Theil of exposure against a random-allocation baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import _check
from .. import _native
from .._results import ConcentrationAudit
from ..exceptions import param_error
from ..space import dominant_polygon
from ._common import dose_array, grid_of


def area_of_cells(areas: Any, grid: Any, area_id: str | None = None) -> tuple[np.ndarray, list[Any]]:
    """Each cell's area: the polygon of ``areas`` (a GeoDataFrame) that overlaps it most
    (−1 for cells no area overlaps; ties go to the area that comes first in the layer, the
    rule of ``space::dominant_polygon`` in the Rust core); returns the labels and the area ids."""
    if area_id is not None and area_id not in areas.columns:
        raise param_error("area_id", f"column {area_id!r} is not in the layer")
    labels = dominant_polygon(areas, grid, name="areas")
    ids = list(areas[area_id]) if area_id else list(range(len(areas)))
    return labels, ids


def concentration(
    dose: Any,
    grid: Any = None,
    areas: Any = None,
    seed: int = 0,
    unit: float = 1.0,
    simulations: int = 999,
    area_id: str | None = None,
    confidence: float = 0.95,
) -> ConcentrationAudit:
    """Gini and Theil of ``dose`` across the grid's active cells (and across ``areas``), each
    next to its Monte Carlo distribution when the same budget, cut into quanta of ``unit``, is
    placed on uniformly random active cells.

    ``dose`` covers all cells (``n_cells`` or ``(ny, nx)``) or has a ``.dose`` attribute;
    ``grid`` defaults to ``dose.grid``. ``areas`` is a GeoDataFrame (each cell belongs to the
    area it overlaps most; ``area_id`` names them) or an integer array of one area label per
    cell (−1: none).
    """
    grid = grid if grid is not None else grid_of(dose)
    if grid is None:
        raise param_error("grid", "give the grid the dose is on")
    d = dose_array(dose, grid.n_cells)
    active = np.ascontiguousarray(grid.mask().ravel())
    labels = None
    ids: list[Any] | None = None
    if areas is not None:
        if hasattr(areas, "geometry"):
            labels, ids = area_of_cells(areas, grid, area_id)
        else:
            labels = np.ascontiguousarray(np.asarray(areas).ravel(), dtype=np.int64)
    raw = _native.concentration(
        d, active, labels, unit=float(unit), simulations=_check.integer("simulations", simulations, 0), confidence=float(confidence), seed=_check.seed(seed)
    )
    return ConcentrationAudit(raw, area_ids=ids)
