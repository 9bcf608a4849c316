"""What patrols actually did: patrol records (CAD "hotspot patrol" logs with a location and a
start/end or minutes) and GPS/AVL pings, turned into dose per cell or area (minutes, visits).

Ingest accounts for every row as incident ingest does — ``rows_read == rows_kept +
Σ dropped`` in the same :class:`~placewise.DataQualityReport` — with named reasons: ``empty_row``,
``no_location``, ``coordinates_out_of_range``, ``unparseable_time``, ``end_before_start``,
``no_duration``, ``implausible_duration`` (above ``max_minutes``), ``outside_region``.
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._crs import as_crs, check_declared, project, target_for
from ._time import parse_times, seconds_to_timestamps
from .data import DataQualityReport
from .exceptions import DataQualityWarning, EmptyInputError, param_error

if TYPE_CHECKING:
    from .space import Grid, Region

REASONS = (
    "empty_row",
    "no_location",
    "coordinates_out_of_range",
    "unparseable_time",
    "end_before_start",
    "no_duration",
    "implausible_duration",
    "outside_region",
)


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _need(df: pd.DataFrame, cols: Mapping[str, str | None]) -> None:
    for param, col in cols.items():
        if col is not None and col not in df.columns:
            raise param_error(param, f"column {col!r} is not in the table; available: {', '.join(map(str, df.columns))}")


def _quality(n: int, reason: np.ndarray, repairs: dict[str, int], t: np.ndarray, kept: np.ndarray,
             xs: np.ndarray, ys: np.ndarray, crs: Any, tz: str) -> DataQualityReport:
    dropped = {r: int((reason == i).sum()) for i, r in enumerate(REASONS)}
    locs = (int((~pd.DataFrame({"x": np.round(xs[kept], 3), "y": np.round(ys[kept], 3)}).duplicated()).sum())
            if kept.any() else 0)
    span = [int(t[kept].min()), int(t[kept].max())] if kept.any() else None
    data = {
        "rows_read": int(n), "rows_kept": int(kept.sum()), "dropped": dropped, "repaired": dict(repairs),
        "duplicate_policy": "keep", "duplicate_rows": 0, "distinct_locations": int(locs), "heaping": None,
        "spike_rule": "not checked for patrol records", "time_span": span, "spikes": [], "top_locations": [],
    }
    assert data["rows_read"] == data["rows_kept"] + sum(dropped.values())
    return DataQualityReport(data, crs=crs, tz=tz)


class Patrols:
    """Patrol presence in a metric CRS: one row per visit (a patrol record, or a run of GPS pings
    in one cell), with its start (UTC seconds), minutes, unit and whether it starts a visit.

    Build it with :meth:`from_frame` / :meth:`from_csv` (patrol records) or :meth:`from_pings`
    (GPS/AVL); :attr:`quality` accounts for every row read.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, start: np.ndarray, minutes: np.ndarray, visit: np.ndarray,
                 unit: np.ndarray, crs: Any, quality: DataQualityReport, tz: str = "UTC", kind: str = "records",
                 source: str | None = None) -> None:
        self.x, self.y, self.start, self.minutes = x, y, start, minutes
        self.visit, self.unit = visit, unit
        self.crs = crs
        self.quality = quality
        self.tz = tz
        self.kind = kind
        self.source = source

    # ----------------------------------------------------------------- records
    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, x: str, y: str, start: str, end: str | None = None,
                   minutes: str | None = None, unit: str | None = None, crs: Any = "EPSG:4326",
                   target_crs: Any = None, tz: str | None = None, time_format: str | None = None,
                   region: Region | None = None, max_minutes: float = 480.0, source: str | None = None) -> Patrols:
        """Patrol records: a location (``x``, ``y`` in ``crs``), a ``start`` time and either an
        ``end`` time or ``minutes`` (when both are given, ``minutes`` is the time spent and
        ``end`` is only checked against ``start``). Naive times need ``tz``. Durations above
        ``max_minutes`` (default 8 hours) are dropped as implausible."""
        if not isinstance(df, pd.DataFrame):
            raise param_error("df", f"expected a pandas DataFrame, got {type(df).__name__}")
        _need(df, {"x": x, "y": y, "start": start, "end": end, "minutes": minutes, "unit": unit})
        if end is None and minutes is None:
            raise param_error("end, minutes", "give the end time or the minutes spent")
        if not (np.isfinite(max_minutes) and max_minutes > 0):
            raise param_error("max_minutes", f"must be a positive number of minutes, got {max_minutes!r}")
        if len(df) == 0:
            raise EmptyInputError("empty input: the table has no rows")
        df = df.reset_index(drop=True)
        n = len(df)
        used = [c for c in (x, y, start, end, minutes, unit) if c is not None]
        reason = np.full(n, -1, dtype=np.int8)

        def mark(mask: np.ndarray, name: str) -> None:
            reason[(reason < 0) & mask] = REASONS.index(name)

        blank = df[used].isna().all(axis=1).to_numpy()
        mark(blank, "empty_row")
        xs, ys = _num(df, x), _num(df, y)
        mark(~(np.isfinite(xs) & np.isfinite(ys)), "no_location")
        src = as_crs(crs, "crs")
        if src.is_geographic:
            mark((np.abs(xs) > 180) | (np.abs(ys) > 90), "coordinates_out_of_range")
        else:
            check_declared(src, xs, ys)
        ts = parse_times(df[start], tz, time_format)
        repairs = dict(ts.repairs)
        mark(ts.missing, "unparseable_time")
        t0 = ts.utc
        mins = _num(df, minutes) if minutes is not None else np.full(n, np.nan)
        if end is not None:
            te = parse_times(df[end], ts.tz, time_format)
            span = np.where(te.missing, np.nan, (te.utc - t0) / 60.0)
            mark(~te.missing & (span < 0), "end_before_start")
            if minutes is None:
                mins = span
            else:
                fill = np.isnan(mins) & ~np.isnan(span)
                if fill.any():
                    repairs["minutes_taken_from_end_minus_start"] = int((fill & (reason < 0)).sum())
                    mins = np.where(fill, span, mins)
        mark(np.isnan(mins), "no_duration")
        mark(mins < 0, "implausible_duration")
        mark(mins > max_minutes, "implausible_duration")
        ok = reason < 0
        if not ok.any():
            raise EmptyInputError("empty input: no patrol row has a location, a time and a plausible duration "
                                  + str({r: int((reason == i).sum()) for i, r in enumerate(REASONS) if (reason == i).any()}))
        target = region.crs if region is not None else target_for(src, xs[ok], ys[ok], target_crs)
        px, py = project(np.where(ok, xs, 0.0), np.where(ok, ys, 0.0), src, target)
        if region is not None:
            inside = np.zeros(n, dtype=bool)
            inside[ok] = region.contains(px[ok], py[ok])
            mark(ok & ~inside, "outside_region")
        ok = reason < 0
        units = (df[unit].astype("string").fillna("unknown").to_numpy(dtype=object) if unit is not None
                 else np.full(n, "all", dtype=object))
        if unit is not None and df[unit].isna().to_numpy()[ok].any():
            repairs["missing_unit_set_to_unknown"] = int(df[unit].isna().to_numpy()[ok].sum())
        q = _quality(n, reason, repairs, t0, ok, px, py, target, ts.tz)
        lost = q.rows_dropped - q.dropped["empty_row"]
        if lost > 0.05 * n:
            warnings.warn(f"patrol ingest dropped {lost:,} of {n:,} rows ({lost / n:.1%}); see .quality",
                          DataQualityWarning, stacklevel=2)
        return cls(px[ok], py[ok], t0[ok], mins[ok].astype(np.float64), np.ones(int(ok.sum())), units[ok],
                   target, q, tz=ts.tz, kind="records", source=source)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], **kwargs: Any) -> Patrols:
        """Patrol records from a CSV file; only the named columns are read. Keyword arguments
        are those of :meth:`from_frame`."""
        cols = [kwargs.get(k) for k in ("x", "y", "start", "end", "minutes", "unit")]
        cols = [c for c in cols if c]
        header = pd.read_csv(path, nrows=0)
        _need(header, {k: kwargs.get(k) for k in ("x", "y", "start", "end", "minutes", "unit")})
        df = pd.read_csv(path, usecols=list(dict.fromkeys(cols)), dtype=str, skip_blank_lines=False)
        kwargs.setdefault("source", os.path.basename(os.fspath(path)))
        return cls.from_frame(df, **kwargs)

    # ----------------------------------------------------------------- pings
    @classmethod
    def from_pings(cls, df: pd.DataFrame, *, x: str, y: str, t: str, unit: str, grid: Grid,
                   crs: Any = "EPSG:4326", tz: str | None = None, max_gap_minutes: float = 10.0,
                   source: str | None = None) -> Patrols:
        """GPS/AVL pings (location, time, unit). Each ping stands for the time until the unit's
        next ping, capped at ``max_gap_minutes`` (a longer silence is not counted as presence;
        a unit's last ping counts 0 minutes). Consecutive pings of a unit in the same cell of
        ``grid`` form one visit. Pings outside the grid's active cells are dropped as
        ``outside_region``."""
        if not isinstance(df, pd.DataFrame):
            raise param_error("df", f"expected a pandas DataFrame, got {type(df).__name__}")
        _need(df, {"x": x, "y": y, "t": t, "unit": unit})
        if not (np.isfinite(max_gap_minutes) and max_gap_minutes > 0):
            raise param_error("max_gap_minutes", f"must be a positive number of minutes, got {max_gap_minutes!r}")
        if len(df) == 0:
            raise EmptyInputError("empty input: the table has no rows")
        n = len(df)
        reason = np.full(n, -1, dtype=np.int8)

        def mark(mask: np.ndarray, name: str) -> None:
            reason[(reason < 0) & mask] = REASONS.index(name)

        xs, ys = _num(df, x), _num(df, y)
        mark(~(np.isfinite(xs) & np.isfinite(ys)), "no_location")
        src = as_crs(crs, "crs")
        if src.is_geographic:
            mark((np.abs(xs) > 180) | (np.abs(ys) > 90), "coordinates_out_of_range")
        col = df[t]
        if pd.api.types.is_numeric_dtype(col):
            tt = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
            missing = ~np.isfinite(tt)
            t0 = np.where(missing, 0, tt).astype(np.int64)
            zone, repairs = tz or "UTC", {}
        else:
            ts = parse_times(col, tz)
            t0, missing, zone, repairs = ts.utc, ts.missing, ts.tz, dict(ts.repairs)
        mark(missing, "unparseable_time")
        ok = reason < 0
        if not ok.any():
            raise EmptyInputError("empty input: no ping has a location and a time")
        if not grid.crs.equals(src):
            px, py = project(np.where(ok, xs, 0.0), np.where(ok, ys, 0.0), src, grid.crs)
        else:
            px, py = xs, ys
        cell = np.full(n, -1, dtype=np.int64)
        cell[ok] = grid.cell_of(px[ok], py[ok])
        mark(ok & (cell < 0), "outside_region")
        ok = reason < 0
        idx = np.flatnonzero(ok)
        ucode, uniq = pd.factorize(df[unit].to_numpy()[idx], use_na_sentinel=False)
        uniq = np.asarray(["unknown" if pd.isna(u) else str(u) for u in uniq], dtype=object)
        order = np.lexsort((t0[idx], ucode))
        sel = idx[order]
        uc = ucode[order]
        tk = t0[sel]
        ck = cell[sel]
        same_next = np.r_[uc[1:] == uc[:-1], False]
        gap = np.r_[np.diff(tk), 0] / 60.0
        dwell = np.where(same_next, np.minimum(gap, max_gap_minutes), 0.0)
        prev_same = np.r_[False, uc[1:] == uc[:-1]]
        prev_gap = np.r_[np.inf, np.diff(tk) / 60.0]
        new_visit = ~prev_same | (np.r_[-2, ck[:-1]] != ck) | (prev_gap > max_gap_minutes)
        q = _quality(n, reason, repairs, t0, ok, px, py, grid.crs, zone)
        return cls(px[sel], py[sel], tk, dwell, new_visit.astype(np.float64), uniq[uc],
                   grid.crs, q, tz=zone, kind="pings", source=source)

    # ----------------------------------------------------------------- dose
    def __len__(self) -> int:
        return len(self.x)

    @property
    def units(self) -> list[str]:
        return sorted(set(map(str, self.unit)))

    def between(self, start: Any, end: Any) -> Patrols:
        """Visits starting in ``[start, end)`` (naive times in the patrols' zone)."""
        from ._time import to_utc_seconds

        a, b = to_utc_seconds(start, self.tz, "start"), to_utc_seconds(end, self.tz, "end")
        m = (self.start >= a) & (self.start < b)
        return Patrols(self.x[m], self.y[m], self.start[m], self.minutes[m], self.visit[m], self.unit[m], self.crs,
                       self.quality, tz=self.tz, kind=self.kind, source=self.source)

    def _check_grid(self, grid: Grid) -> None:
        if not self.crs.equals(grid.crs):
            raise param_error("grid", f"its CRS ({grid.crs.name}) differs from the patrols' ({self.crs.name}); "
                              "ingest the patrols with region= the grid's region, or target_crs= its CRS")

    def dose(self, grid: Grid, measure: str = "minutes") -> np.ndarray:
        """Dose per cell over all of ``grid``'s cells (flat, ``n_cells``): ``"minutes"`` or
        ``"visits"``. Visits outside the grid's active cells are not counted (see
        :meth:`outside`). The result feeds every exposure audit (``pw.audit.disparity``,
        ``pw.audit.concentration``) in place of a recommendation."""
        self._check_grid(grid)
        if measure not in ("minutes", "visits"):
            raise param_error("measure", f"must be 'minutes' or 'visits', got {measure!r}")
        cell = grid.cell_of(self.x, self.y)
        w = self.minutes if measure == "minutes" else self.visit
        inside = cell >= 0
        return np.bincount(cell[inside], weights=w[inside], minlength=grid.n_cells).astype(np.float64)

    def outside(self, grid: Grid) -> int:
        """Visits whose location falls outside the grid's active cells."""
        self._check_grid(grid)
        return int((grid.cell_of(self.x, self.y) < 0).sum())

    def dose_by_area(self, areas: Any, area_id: str | None = None) -> pd.DataFrame:
        """Minutes and visits per area of a polygon layer (any CRS); visits outside every area
        are in the row ``area = None`` so that nothing is dropped silently."""
        import geopandas as gpd

        from .audit._targeting import _assign_points

        if not isinstance(areas, gpd.GeoDataFrame) or areas.crs is None:
            raise param_error("areas", "expected a GeoDataFrame of polygons with a CRS")
        if area_id is not None and area_id not in areas.columns:
            raise param_error("area_id", f"column {area_id!r} is not in the layer")
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(self.x, self.y), crs=self.crs)
        pos, _ = _assign_points(pts, areas.to_crs(self.crs).reset_index(drop=True))
        ids = list(areas[area_id]) if area_id is not None else list(range(len(areas)))
        k = len(ids)
        minutes = np.bincount(np.where(pos >= 0, pos, k), weights=self.minutes, minlength=k + 1)
        visits = np.bincount(np.where(pos >= 0, pos, k), weights=self.visit, minlength=k + 1)
        return pd.DataFrame({"area": ids + [None], "minutes": minutes, "visits": visits})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"x": self.x, "y": self.y, "start": seconds_to_timestamps(self.start, self.tz),
                             "minutes": self.minutes, "visit": self.visit, "unit": self.unit})

    def __repr__(self) -> str:
        return (f"<Patrols ({self.kind}): {len(self):,} visits, {self.minutes.sum():,.0f} minutes, "
                f"{len(self.units)} units, CRS {self.crs.name}>")

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self))}</b>{self.quality._repr_html_()}</div>"


__all__ = ["Patrols", "REASONS"]
