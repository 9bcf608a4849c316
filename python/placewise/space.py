"""Region, Grid and Population: where incidents can happen and who lives there."""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj

from . import _check, _native
from ._crs import as_crs, target_for
from .exceptions import DataValidationError, EmptyInputError, PlacewiseWarning, param_error

if TYPE_CHECKING:
    import geopandas as gpd
    import shapely


def _rings(poly: shapely.Polygon) -> list[np.ndarray]:
    rings = [np.ascontiguousarray(np.asarray(poly.exterior.coords)[:, :2], dtype=np.float64)]
    rings += [np.ascontiguousarray(np.asarray(r.coords)[:, :2], dtype=np.float64) for r in poly.interiors]
    return rings


def _polygons(geom: shapely.Geometry, row: int) -> list[list[np.ndarray]]:
    """Polygon parts of one geometry as rings; raises for non-areal geometries."""
    if geom is None or geom.is_empty:
        return []
    gt = geom.geom_type
    if gt == "Polygon":
        return [_rings(geom)]
    if gt in ("MultiPolygon", "GeometryCollection"):
        out: list[list[np.ndarray]] = []
        for g in geom.geoms:
            if g.geom_type in ("Polygon", "MultiPolygon"):
                out += _polygons(g, row)
        return out
    raise DataValidationError(f"invalid data at row {row}: column `geometry`: {gt} has no area")


def dominant_polygon(layer: gpd.GeoDataFrame, grid: Grid, name: str = "layer") -> np.ndarray:
    """For every cell of ``grid``, the row of ``layer`` whose polygon overlaps the cell by the
    largest area (−1: none overlaps it). Ties (overlaps equal within a relative 1e-9) go to the
    polygon that comes **first** in the layer. The rule lives in the Rust core
    (``space::dominant_polygon``); districts and concentration areas both use it."""
    if getattr(layer, "crs", None) is None:
        raise param_error(name, "the layer has no CRS; set one with set_crs()")
    proj = layer.to_crs(grid.crs)
    polys = [_polygons(g, i) for i, g in enumerate(proj.geometry)]
    return _native.dominant_polygon(polys, grid._native)


def _projected(gdf: gpd.GeoDataFrame, crs: Any) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    if gdf.crs is None:
        raise param_error("gdf", "the layer has no CRS; set one with set_crs()")
    src = pyproj.CRS.from_user_input(gdf.crs)
    if crs is None:
        c = gdf.geometry.union_all().representative_point() if len(gdf) else None
        if c is None:
            raise EmptyInputError("empty input: the layer has no features")
        target = target_for(src, np.array([c.x]), np.array([c.y]))
    else:
        target = as_crs(crs)
    return gdf.to_crs(target), target


class Region:
    """The study area: a union of polygons, in a projected CRS in metres.

    Points strictly inside count as inside; points on the boundary do not.
    """

    def __init__(self, native: _native.Region, crs: pyproj.CRS, name: str | None = None) -> None:
        self._native = native
        self.crs = crs
        self.name = name

    @classmethod
    def from_geodataframe(cls, gdf: gpd.GeoDataFrame, crs: Any = None, name: str | None = None) -> Region:
        """The union of the layer's polygons, projected to ``crs`` (default: the local UTM zone
        when the layer is in lon/lat or feet, else the layer's own metric CRS)."""
        if len(gdf) == 0:
            raise EmptyInputError("empty input: the layer has no features")
        proj, target = _projected(gdf, crs)
        polys: list[list[np.ndarray]] = []
        for i, g in enumerate(proj.geometry):
            polys += _polygons(g, i)
        if not polys:
            raise param_error("region", "the layer has no polygons with area")
        return cls(_native.Region.from_polygons(polys), target, name)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], crs: Any = None, name: str | None = None) -> Region:
        """The union of the polygons in a GeoJSON (or any file geopandas reads)."""
        import geopandas as gpd

        return cls.from_geodataframe(gpd.read_file(path), crs=crs, name=name or os.path.basename(os.fspath(path)))

    @classmethod
    def from_bounds(cls, x0: float, y0: float, x1: float, y1: float, crs: Any) -> Region:
        """A rectangle in ``crs`` (which must be projected in metres)."""
        c = as_crs(crs)
        from ._crs import is_metric_projected

        if not is_metric_projected(c):
            raise param_error("crs", f"{c.name} is not projected in metres")
        return cls(_native.Region.from_bounds(x0, y0, x1, y1), c)

    @property
    def area_m2(self) -> float:
        return self._native.area_m2

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self._native.bounds

    def contains(self, x: Any, y: Any) -> np.ndarray:
        """Whether each point (in the region's CRS) is inside."""
        return self._native.contains(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64))

    def to_shapely(self) -> shapely.MultiPolygon:
        import shapely

        parts = [shapely.Polygon(r[0], r[1:]) for r in self._native.to_polygons()]
        return shapely.MultiPolygon(parts)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.GeoDataFrame({"name": [self.name]}, geometry=[self.to_shapely()], crs=self.crs)

    def __repr__(self) -> str:
        return f"<Region {self.name or ''}: {self.area_m2 / 1e6:,.1f} km², CRS {self.crs.name}>"


class Grid:
    """Square cells of ``cell_size`` metres over a region.

    Cell ids run row-major from the south-west corner (``id = row * nx + col``); arrays of
    cell values have shape ``(ny, nx)`` with row 0 the southern row. A cell is *active* when it
    overlaps the region with positive area, so every point inside the region lies in an active
    cell; :meth:`coverage` gives the share of each cell inside the region. Grids larger than
    ``max_cells`` (default: no extra cap) or than ``placewise.limits().max_grid_cells`` are
    refused with :class:`~placewise.TooLargeError` before anything is allocated.
    """

    def __init__(self, region: Region, cell_size: float = 150.0, max_cells: int | None = None) -> None:
        if not isinstance(region, Region):
            raise param_error("region", f"expected a Region, got {type(region).__name__}")
        cs = _check.number("cell_size", cell_size)
        mc = _check.U64_MAX if max_cells is None else _check.integer("max_cells", max_cells, 1)
        self.region = region
        self.crs = region.crs
        self._native = _native.Grid(region._native, cs, mc)

    @classmethod
    def _from_native(cls, native: _native.Grid, region: Region) -> Grid:
        g = cls.__new__(cls)
        g.region, g.crs, g._native = region, region.crs, native
        return g

    cell_size = property(lambda self: self._native.cell_size, doc="Cell side (m).")
    nx = property(lambda self: self._native.nx, doc="Columns.")
    ny = property(lambda self: self._native.ny, doc="Rows.")
    n_cells = property(lambda self: self._native.n_cells, doc="All cells (nx * ny).")
    n_active = property(lambda self: self._native.n_active, doc="Cells inside the region.")
    extent = property(lambda self: self._native.extent, doc="(x0, y0, x1, y1) in metres.")

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (self.ny, self.nx)

    @property
    def active_area_m2(self) -> float:
        """Area of the region covered by the grid (Σ coverage × cell area)."""
        return self._native.active_area_m2

    def mask(self) -> np.ndarray:
        """Active cells as a (ny, nx) boolean array."""
        return self._native.mask()

    def coverage(self) -> np.ndarray:
        """Share of each cell inside the region, (ny, nx)."""
        return self._native.coverage()

    @property
    def cell_ids(self) -> np.ndarray:
        """Ids of the active cells, ascending."""
        return np.flatnonzero(self.mask().ravel())

    def cell_of(self, x: Any, y: Any) -> Any:
        """Active cell id of a point (or of arrays of points); -1 outside the region's cells."""
        if np.ndim(x) == 0 and np.ndim(y) == 0:
            cid = self._native.cell_of(float(x), float(y))
            return -1 if cid is None or not self._native.is_active(cid) else cid
        return self._native.assign(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64))

    def centres(self, ids: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Centres (x, y) of cells ``ids`` (default: the active cells)."""
        ids = self.cell_ids if ids is None else np.asarray(ids, dtype=np.int64)
        return self._native.centres(np.ascontiguousarray(ids, dtype=np.int64))

    def counts(self, incidents: Any) -> np.ndarray:
        """Incidents (or summed weights) per cell, (ny, nx); points outside active cells are ignored.

        Refuses incidents in another CRS (their points would silently miss every cell)."""
        if not incidents.crs.equals(self.crs):
            raise param_error("incidents", f"their CRS ({incidents.crs.name}) differs from the grid's ({self.crs.name})")
        w = incidents._native.weight
        c, _missed = self._native.counts(incidents.x, incidents.y, w)
        return c

    def to_geodataframe(self, active_only: bool = True) -> gpd.GeoDataFrame:
        """One square polygon per cell, with ``cell_id``, ``row``, ``col`` and ``coverage``."""
        import geopandas as gpd
        import shapely

        ids = self.cell_ids if active_only else np.arange(self.n_cells)
        cx, cy = self.centres(ids)
        h = self.cell_size / 2
        geom = shapely.box(cx - h, cy - h, cx + h, cy + h)
        return gpd.GeoDataFrame(
            {"cell_id": ids, "row": ids // self.nx, "col": ids % self.nx, "coverage": self.coverage().ravel()[ids]},
            geometry=geom,
            crs=self.crs,
        )

    def __repr__(self) -> str:
        return (
            f"<Grid {self.nx}×{self.ny} cells of {self.cell_size:g} m, {self.n_active:,} active, "
            f"CRS {self.crs.name}>"
        )

    def _repr_html_(self) -> str:
        return f"<b>{html.escape(repr(self))}</b>"


def areal_weights(layer: gpd.GeoDataFrame, grid: Grid, id_column: str | None = None) -> pd.DataFrame:
    """Share of each polygon's area in each grid cell (long format: ``area``, ``cell_id``,
    ``weight``), computed with exact polygon overlay.

    A polygon wholly inside the grid's extent has weights summing to 1; ``attrs["in_grid_share"]``
    holds each polygon's sum (below 1 when part of it lies outside the grid, 0 when it misses the
    grid entirely). Overlapping or repeated parts of one multipolygon are dissolved first.
    """
    if len(layer) == 0:
        raise EmptyInputError("empty input: the polygon layer has no features")
    if layer.crs is None:
        raise param_error("layer", "the layer has no CRS; set one with set_crs()")
    if id_column is not None and id_column not in layer.columns:
        raise DataValidationError(f"invalid data: column `{id_column}` (id_column) is not in the layer")
    proj = layer.to_crs(grid.crs)
    polys = [_polygons(g, i) for i, g in enumerate(proj.geometry)]
    indptr, cell, weight, area, share = _native.areal_weights(polys, grid._native)
    ids = np.asarray(layer[id_column] if id_column else np.arange(len(layer)))
    out = pd.DataFrame({"area": np.repeat(ids, np.diff(indptr).astype(np.int64)), "cell_id": cell.astype(np.int64), "weight": weight})
    out.attrs["in_grid_share"] = pd.Series(share, index=ids)
    out.attrs["area_m2"] = pd.Series(area, index=ids)
    return out


class Population:
    """People by group per grid cell, distributed from areas by area share.

    Attributes: ``groups`` (names), ``counts`` ((n_cells, n_groups) array; zero outside active
    cells), ``report`` (what could not be placed: areas missing the grid, areas partly outside).
    """

    def __init__(self, grid: Grid, groups: list[str], counts: np.ndarray, report: dict[str, Any], area_ids: list[Any]) -> None:
        self.grid = grid
        self.groups = groups
        self.counts = counts
        self.report = report
        self.area_ids = area_ids

    @classmethod
    def from_geodataframe(
        cls,
        areas: gpd.GeoDataFrame,
        groups: Sequence[str],
        grid: Grid,
        area_id: str | None = None,
    ) -> Population:
        """Distributes each area's group counts to the grid's cells in proportion to area.

        Raises when a group column is missing (listing those available), holds a missing,
        non-numeric or negative count (naming the area and group), or when no area overlaps
        the grid. Areas that miss the grid are reported and warned about, not dropped silently.
        """
        if len(areas) == 0:
            raise EmptyInputError("empty input: the area layer has no features")
        groups = list(groups)
        if not groups:
            raise param_error("groups", "name at least one group column")
        missing = [g for g in groups if g not in areas.columns]
        if missing:
            raise DataValidationError(
                f"invalid data: column `{missing[0]}` (a group) is not in the layer; available columns: "
                + ", ".join(map(str, areas.columns))
            )
        if area_id is not None and area_id not in areas.columns:
            raise DataValidationError(f"invalid data: column `{area_id}` (area_id) is not in the layer")
        ids = list(areas[area_id]) if area_id else list(range(len(areas)))
        vals = areas[groups].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.argwhere(~np.isfinite(vals))
        if len(bad):
            r, c = bad[0]
            raise DataValidationError(
                f"invalid data at row {r}: column `{groups[c]}`: count is missing or not a number "
                f"(area {ids[r]!r}: {areas[groups[c]].iloc[r]!r})"
            )
        proj = areas.to_crs(grid.crs) if areas.crs is not None else None
        if proj is None:
            raise param_error("areas", "the layer has no CRS; set one with set_crs()")
        layer = [_polygons(g, i) for i, g in enumerate(proj.geometry)]
        counts, rep = _native.distribute_population(grid._native, layer, np.ascontiguousarray(vals), groups)
        report: dict[str, Any] = {
            "n_areas": rep.n_areas,
            "input_total": rep.input_total.tolist(),
            "allocated_total": rep.allocated_total.tolist(),
            "areas_missing_grid": [ids[i] for i in rep.areas_missing_grid],
            "areas_partly_outside": [(ids[i], s) for i, s in rep.areas_partly_outside],
        }
        if len(report["areas_missing_grid"]) == len(ids):
            raise DataValidationError(
                "invalid data: column `geometry`: no area overlaps the grid's active cells; are the layer and the "
                "grid of the same place and is the layer's CRS right?"
            )
        if report["areas_missing_grid"]:
            warnings.warn(
                f"{len(report['areas_missing_grid'])} areas do not overlap the grid and their people are not placed: "
                f"{report['areas_missing_grid'][:10]}",
                PlacewiseWarning,
                stacklevel=2,
            )
        return cls(grid, groups, counts, report, ids)

    @property
    def totals(self) -> pd.Series:
        """People placed in the grid, by group."""
        return pd.Series(self.counts.sum(axis=0), index=self.groups)

    def to_frame(self, active_only: bool = True) -> pd.DataFrame:
        """One row per cell, one column per group."""
        ids = self.grid.cell_ids if active_only else np.arange(self.grid.n_cells)
        df = pd.DataFrame(self.counts[ids], columns=self.groups)
        df.insert(0, "cell_id", ids)
        return df

    def __repr__(self) -> str:
        tot = ", ".join(f"{g} {v:,.0f}" for g, v in self.totals.items())
        return f"<Population {len(self.groups)} groups on {self.grid.n_active:,} cells: {tot}>"
