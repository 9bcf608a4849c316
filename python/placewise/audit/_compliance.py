"""Compliance: did patrols go where the system (or placewise) recommended, and for how long?

Share of recommended cells visited, minutes delivered against planned, by area and by group —
the "dosage" question the LAPD Inspector General's 2019 PredPol review could not answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import param_error


@dataclass(frozen=True, eq=False)
class ComplianceAudit:
    """Patrols against a recommendation. Frozen and picklable.

    ``by_area`` (with ``areas=``) and ``by_group`` (with ``population=``) are DataFrames or
    None; ``boxes_outside`` counts recommendation rows that fell outside the grid (counted, not
    used)."""

    recommended_cells: int
    visited_cells: int
    share_visited: float
    visits_total: float
    visits_in_recommended: float
    minutes_total: float
    minutes_in_recommended: float
    share_minutes_in_recommended: float
    planned_minutes: float | None
    delivered_over_planned: float | None
    boxes_read: int
    boxes_outside: int
    near_m: float
    by_area: pd.DataFrame | None
    by_group: pd.DataFrame | None

    def statement(self) -> str:
        from ..report._format import number, of

        s = (f"{of(self.visited_cells, self.recommended_cells)} recommended cells received at least one patrol; "
             f"{of(self.minutes_in_recommended, self.minutes_total)} patrol minutes were spent in recommended cells")
        if self.planned_minutes is not None and self.delivered_over_planned is not None:
            s += (f"; {number(self.minutes_in_recommended)} minutes delivered against {number(self.planned_minutes)} planned "
                  f"({self.delivered_over_planned:.1%})")
        if self.boxes_outside:
            s += f"; {number(self.boxes_outside)} recommendation rows fell outside the grid and were not used"
        return s + "."

    def summary(self) -> dict[str, Any]:
        from .._jsonable import jsonable

        return jsonable({k: v for k, v in self.__dict__.items() if not isinstance(v, pd.DataFrame)})


def _recommended_cells(recommended: Any, grid: Any, count: str | None, x: str | None, y: str | None,
                       crs: Any) -> tuple[np.ndarray, int, int]:
    """Recommended dose per cell (flat, n_cells), rows read, rows outside the grid."""
    from .._crs import as_crs, project
    from ._common import dose_array

    if isinstance(recommended, pd.DataFrame):
        df = recommended
        if count is not None and count not in df.columns:
            raise param_error("count", f"column {count!r} is not in the recommendation table")
        w = np.ones(len(df)) if count is None else pd.to_numeric(df[count], errors="coerce").to_numpy(np.float64)
        if np.isnan(w).any() or (w < 0).any():
            i = int(np.flatnonzero(np.isnan(w) | (w < 0))[0])
            from ..exceptions import data_error

            raise data_error(i, count or "count", "must be a number ≥ 0")
        if hasattr(df, "geometry") and getattr(df, "_geometry_column_name", None) in df.columns:
            if df.crs is None:
                raise param_error("recommended", "the GeoDataFrame has no CRS")
            pts = df.geometry.to_crs(grid.crs)
            if not set(pts.geom_type.dropna()) <= {"Point"}:
                pts = pts.representative_point()
            px, py = pts.x.to_numpy(), pts.y.to_numpy()
        else:
            if x is None or y is None:
                raise param_error("x, y", "name the coordinate columns of the recommended boxes")
            for c in (x, y):
                if c not in df.columns:
                    raise param_error("x, y", f"column {c!r} is not in the recommendation table")
            px, py = project(pd.to_numeric(df[x], errors="coerce").to_numpy(np.float64),
                             pd.to_numeric(df[y], errors="coerce").to_numpy(np.float64),
                             as_crs(crs if crs is not None else "EPSG:4326"), grid.crs)
        ok = np.isfinite(px) & np.isfinite(py)
        cell = np.full(len(df), -1, dtype=np.int64)
        cell[ok] = grid.cell_of(px[ok], py[ok])
        inside = cell >= 0
        rec = np.bincount(cell[inside], weights=w[inside], minlength=grid.n_cells).astype(np.float64)
        return rec, len(df), int((~inside).sum())
    rec = dose_array(recommended, grid.n_cells, "recommended")
    return rec, int((rec > 0).sum()), 0


def compliance(
    patrols: Any,
    recommended: Any,
    grid: Any,
    *,
    areas: Any = None,
    area_id: str | None = None,
    population: Any = None,
    planned_minutes: float | None = None,
    near: float = 0.0,
    count: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
) -> ComplianceAudit:
    """Compliance of actual patrols (:class:`~placewise.dosage.Patrols`) with a recommendation.

    ``recommended`` is an allocation (anything with ``.dose``), a dose per cell, or boxes (a
    GeoDataFrame, or a DataFrame with ``x``/``y`` in ``crs``, with an optional ``count`` per
    box). A recommended cell counts as visited when a patrol lies in it or within ``near``
    metres of its centre; minutes count as delivered under the same rule. ``planned_minutes``
    is the time planned per unit of recommendation (per box-prediction, or per patrol unit).
    """
    from ..dosage import Patrols

    if not isinstance(patrols, Patrols):
        raise param_error("patrols", f"expected placewise.dosage.Patrols, got {type(patrols).__name__}")
    if not (np.isfinite(near) and near >= 0):
        raise param_error("near", f"must be a distance in metres ≥ 0, got {near!r}")
    if planned_minutes is not None and not (np.isfinite(planned_minutes) and planned_minutes > 0):
        raise param_error("planned_minutes", f"must be a positive number of minutes, got {planned_minutes!r}")
    patrols._check_grid(grid)
    rec, boxes_read, boxes_outside = _recommended_cells(recommended, grid, count, x, y, crs)
    rec_ids = np.flatnonzero(rec > 0)
    pcell = grid.cell_of(patrols.x, patrols.y)
    if near > 0 and len(patrols):
        from scipy.spatial import cKDTree

        cx, cy = grid.centres(rec_ids)
        tree = cKDTree(np.column_stack([patrols.x, patrols.y]))
        hits = tree.query_ball_point(np.column_stack([cx, cy]), r=near)
        visited_ids = {int(c) for c, h in zip(rec_ids, hits) if h}
        counts_patrol = np.zeros(len(patrols), dtype=bool)
        for h in hits:
            counts_patrol[h] = True
        in_rec = counts_patrol | np.isin(pcell, rec_ids)
        visited_ids |= set(np.intersect1d(pcell, rec_ids).tolist())
    else:
        in_rec = np.isin(pcell, rec_ids)
        visited_ids = set(np.intersect1d(pcell, rec_ids).tolist())
    visited = np.zeros(grid.n_cells, dtype=bool)
    visited[list(visited_ids)] = True
    minutes_cell = np.bincount(pcell[pcell >= 0], weights=patrols.minutes[pcell >= 0], minlength=grid.n_cells)
    m_total = float(patrols.minutes.sum())
    m_in = float(patrols.minutes[in_rec].sum())
    planned = None if planned_minutes is None else float(rec.sum() * planned_minutes)

    by_area = None
    if areas is not None:
        from ._concentration import area_of_cells

        labels, ids = area_of_cells(areas, grid, area_id)
        rows = []
        for k, aid in enumerate(ids):
            cells = labels == k
            rc = cells & (rec > 0)
            in_area = np.isin(pcell, np.flatnonzero(cells))
            row = {"area": aid, "recommended_cells": int(rc.sum()), "visited_cells": int((rc & visited).sum()),
                   "share_visited": float((rc & visited).sum() / rc.sum()) if rc.sum() else np.nan,
                   "minutes_in_area": float(patrols.minutes[in_area].sum()),
                   "minutes_in_recommended": float(patrols.minutes[in_area & in_rec].sum())}
            if planned_minutes is not None:
                row["planned_minutes"] = float(rec[cells].sum() * planned_minutes)
                row["delivered_over_planned"] = (row["minutes_in_recommended"] / row["planned_minutes"]
                                                 if row["planned_minutes"] > 0 else np.nan)
            rows.append(row)
        by_area = pd.DataFrame(rows)

    by_group = None
    if population is not None:
        pc = np.asarray(population.counts, dtype=np.float64)
        if pc.shape[0] != grid.n_cells:
            raise param_error("population", "is not on this grid (build it with the same grid)")
        rows = []
        tot = pc.sum(axis=1)
        for j, g in enumerate(population.groups):
            pg = pc[:, j]
            res_rec = float(pg[rec > 0].sum())
            rows.append({
                "group": g,
                "residents": float(pg.sum()),
                "residents_in_recommended_cells": res_rec,
                "share_of_those_in_visited_cells": float(pg[(rec > 0) & visited].sum() / res_rec) if res_rec > 0 else np.nan,
                "recommended_per_resident": float((pg * rec).sum() / pg.sum()) if pg.sum() > 0 else np.nan,
                "patrol_minutes_per_resident": float((pg * minutes_cell).sum() / pg.sum()) if pg.sum() > 0 else np.nan,
            })
        by_group = pd.DataFrame(rows)
        allres = tot.sum()
        if allres > 0:
            by_group["minutes_ratio_to_all_residents"] = by_group["patrol_minutes_per_resident"] / float((tot * minutes_cell).sum() / allres)

    return ComplianceAudit(
        recommended_cells=int(len(rec_ids)), visited_cells=int(visited[rec_ids].sum()),
        share_visited=float(visited[rec_ids].mean()) if len(rec_ids) else float("nan"),
        visits_total=float(patrols.visit.sum()), visits_in_recommended=float(patrols.visit[in_rec].sum()),
        minutes_total=m_total, minutes_in_recommended=m_in,
        share_minutes_in_recommended=m_in / m_total if m_total > 0 else float("nan"),
        planned_minutes=planned, delivered_over_planned=(m_in / planned if planned else None),
        boxes_read=int(boxes_read), boxes_outside=int(boxes_outside), near_m=float(near),
        by_area=by_area, by_group=by_group,
    )
