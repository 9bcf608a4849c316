"""Small synthetic grids and populations for the audit tests."""

from __future__ import annotations

import numpy as np

import placewise as pw

CRS = "EPSG:32616"


def grid(nx: int = 6, ny: int = 5, cell: float = 100.0) -> pw.Grid:
    region = pw.Region.from_bounds(0, 0, nx * cell, ny * cell, crs=CRS)
    return pw.Grid(region, cell_size=cell)


def population(g: pw.Grid, counts: np.ndarray, groups: list[str]) -> pw.Population:
    return pw.Population(g, groups, np.asarray(counts, dtype=np.float64), {}, list(range(g.n_cells)))
