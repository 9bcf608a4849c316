"""Concentration audit: Gini and Theil of exposure against a random-allocation baseline."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from .. import _check
from .. import _native
from .._jsonable import jsonable, nan
from ..exceptions import InvalidParameterError
from ._common import dose_array, grid_of


def area_of_cells(areas: Any, grid: Any, area_id: str | None = None) -> tuple[np.ndarray, list[Any]]:
    """Each cell's area: the polygon of ``areas`` (a GeoDataFrame) that overlaps it most
    (−1 for cells no area overlaps); returns the labels and the area ids."""
    from ..space import _polygons

    if area_id is not None and area_id not in areas.columns:
        raise InvalidParameterError(f"invalid parameter `area_id`: column {area_id!r} is not in the layer")
    if areas.crs is None:
        raise InvalidParameterError("invalid parameter `areas`: the layer has no CRS; set one with set_crs()")
    proj = areas.to_crs(grid.crs)
    layer = [_polygons(g, i) for i, g in enumerate(proj.geometry)]
    indptr, cell, weight, area_m2, _ = _native.areal_weights(layer, grid._native)
    owner = np.repeat(np.arange(len(layer)), np.diff(indptr.astype(np.int64)))
    overlap = weight * area_m2[owner]
    labels = np.full(grid.n_cells, -1, dtype=np.int64)
    order = np.argsort(overlap, kind="stable")  # ascending: the largest overlap is written last
    labels[cell.astype(np.int64)[order]] = owner[order]
    ids = list(areas[area_id]) if area_id else list(range(len(areas)))
    return labels, ids


class ConcentrationAudit:
    """Gini and Theil of exposure across cells (and areas), each next to its distribution
    under random allocation of the same budget.

    ``table`` has one row per level (``cells``, ``areas``) with ``gini``,
    ``baseline_gini_mean``, ``baseline_gini_low``/``_high``, ``gini_over_baseline`` and the
    same for Theil, plus ``share_random_at_least_as_concentrated`` (a one-sided Monte Carlo
    p-value of "no more concentrated than chance").
    """

    def __init__(self, *, data: dict[str, Any], area_ids: list[Any] | None = None) -> None:
        self._data = data
        self.area_ids = area_ids
        rows = {}
        for level in ("cells", "areas"):
            d = data.get(level)
            if d is None:
                continue
            rows[level] = {
                "n": d["n"],
                "gini": nan(d["gini"]),
                "baseline_gini_mean": nan(d["baseline_gini_mean"]),
                "baseline_gini_low": nan(d["baseline_gini_ci"][0]),
                "baseline_gini_high": nan(d["baseline_gini_ci"][1]),
                "gini_over_baseline": nan(d["gini_over_baseline"]),
                "theil": nan(d["theil"]),
                "baseline_theil_mean": nan(d["baseline_theil_mean"]),
                "baseline_theil_low": nan(d["baseline_theil_ci"][0]),
                "baseline_theil_high": nan(d["baseline_theil_ci"][1]),
                "theil_over_baseline": nan(d["theil_over_baseline"]),
                "share_random_at_least_as_concentrated": nan(d["share_random_at_least_as_concentrated"]),
            }
        self.table: pd.DataFrame = pd.DataFrame.from_dict(rows, orient="index")
        self.budget: float = data["budget"]
        self.unit: float = data["unit"]
        self.quanta: int = data["quanta"]
        self.simulations: int = data["simulations"]
        self.confidence: float = data["confidence"]
        self.seed: int = data["seed"]
        self.baseline: str = data["baseline"]

    @property
    def cells(self) -> pd.Series:
        return self.table.loc["cells"]

    @property
    def areas(self) -> pd.Series | None:
        return self.table.loc["areas"] if "areas" in self.table.index else None

    def summary(self) -> dict[str, Any]:
        """The section a policy checks."""
        return jsonable(
            {
                "cells_gini_over_baseline": self.cells["gini_over_baseline"],
                "areas_gini_over_baseline": None if self.areas is None else self.areas["gini_over_baseline"],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self._data)

    def __repr__(self) -> str:
        return f"ConcentrationAudit({self.baseline}; seed {self.seed})\n{self.table[['gini', 'baseline_gini_mean', 'gini_over_baseline', 'theil', 'baseline_theil_mean']]}"

    def _repr_html_(self) -> str:
        t = self.table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="–")
        return (
            f"<div><b>Concentration audit</b><br>baseline: {html.escape(self.baseline)}; seed {self.seed}; "
            f"{int(round(self.confidence * 100))}% central interval.{t}"
            "<p><i>The raw Gini of a small budget is near 1 whatever the strategy; read the excess over the "
            "random-allocation baseline.</i></p></div>"
        )


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
        raise InvalidParameterError("invalid parameter `grid`: give the grid the dose is on")
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
    return ConcentrationAudit(data=json.loads(raw), area_ids=ids)
