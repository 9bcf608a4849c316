"""Incidents: ingest from pandas, CSV or GeoDataFrames, with a data-quality report."""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj

from . import _native
from ._crs import as_crs, check_declared, project, target_for
from ._jsonable import jsonable
from ._time import parse_times, seconds_to_timestamps, to_utc_seconds
from .exceptions import DataQualityWarning, DataValidationError, EmptyInputError, param_error

if TYPE_CHECKING:
    import geopandas as gpd

    from .space import Region

ORIGINS = ("reported", "discovered", "unknown")
_REASONS: list[str] = list(_native.drop_reasons())
_REASON_CODE = {r: i for i, r in enumerate(_REASONS)}


def _read_csv(path: Any, **kw: Any) -> pd.DataFrame:
    """pandas.read_csv with its failures as placewise errors: a file that cannot be opened is a
    PlacewiseIOError, a file that is not CSV text a DataValidationError."""
    from .exceptions import PlacewiseIOError

    try:
        return pd.read_csv(path, **kw)
    except OSError as e:
        err = PlacewiseIOError(f"could not read the file {os.fspath(path)}: {e.strerror or e}")
        err.filename = os.fspath(path)
        raise err from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        reason = " ".join(str(e).split())
        raise DataValidationError(f"invalid data: column `file`: {os.fspath(path)} is not readable CSV ({reason})") from None


def _require_columns(df: pd.DataFrame, cols: Mapping[str, str | None]) -> None:
    for param, col in cols.items():
        if col is not None and col not in df.columns:
            available = ", ".join(map(str, df.columns))
            raise DataValidationError(
                f"invalid data: column `{col}` (given as {param}=) is not in the frame; "
                f"available columns: {available}"
            )


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class DataQualityReport:
    """What ingest read, kept, dropped and repaired, by reason.

    ``rows_read == rows_kept + sum(dropped.values())`` always holds. Also reports exact
    duplicates, geocoding spikes (locations holding an unusual number of incidents) and time
    heaping (excess incidents at midnight, noon, or on the hour).
    """

    def __init__(self, data: dict[str, Any], crs: pyproj.CRS | None = None, tz: str = "UTC") -> None:
        self._data = data
        self.crs = crs
        self.tz = tz
        self.rows_read: int = data["rows_read"]
        self.rows_kept: int = data["rows_kept"]
        self.dropped: dict[str, int] = dict(data["dropped"])
        self.repaired: dict[str, int] = dict(data["repaired"])
        self.duplicate_policy: str = data["duplicate_policy"]
        self.duplicate_rows: int = data["duplicate_rows"]
        self.distinct_locations: int = data["distinct_locations"]
        self.heaping: dict[str, Any] | None = data["heaping"]
        self.spike_rule: str = data["spike_rule"]
        span = data["time_span"]
        self.time_span: tuple[pd.Timestamp, pd.Timestamp] | None = (
            None if span is None else tuple(seconds_to_timestamps(np.array(span), tz))  # type: ignore[assignment]
        )

    @classmethod
    def from_native(cls, rep: _native.QualityReport, crs: pyproj.CRS | None = None, tz: str = "UTC") -> DataQualityReport:
        """From the core's typed report (the plain-data form is built here, on the Python side)."""
        cols = ("x", "y", "count", "share", "ratio_to_mean")
        h = rep.heaping
        heaping = None if h is None else {
            k: getattr(h, k)
            for k in ("clock", "share_midnight", "share_noon", "share_on_the_hour", "share_hour_0", "share_hour_12",
                      "expected_exact_minute", "expected_on_the_hour", "expected_hour", "minutes_missing", "date_only")
        }
        span = rep.time_span
        data = {
            "rows_read": rep.rows_read, "rows_kept": rep.rows_kept, "dropped": dict(rep.dropped),
            "repaired": dict(rep.repaired), "duplicate_policy": rep.duplicate_policy,
            "duplicate_rows": rep.duplicate_rows, "distinct_locations": rep.distinct_locations,
            "spikes": [dict(zip(cols, s)) for s in rep.spikes],
            "top_locations": [dict(zip(cols, s)) for s in rep.top_locations],
            "spike_rule": rep.spike_rule, "heaping": heaping, "time_span": None if span is None else list(span),
        }
        return cls(jsonable(data), crs=crs, tz=tz)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def spikes(self) -> pd.DataFrame:
        """Locations flagged as geocoding spikes (x, y in the incidents' CRS)."""
        return pd.DataFrame(self._data["spikes"], columns=["x", "y", "count", "share", "ratio_to_mean"])

    @property
    def top_locations(self) -> pd.DataFrame:
        """The ten most frequent locations."""
        return pd.DataFrame(self._data["top_locations"], columns=["x", "y", "count", "share", "ratio_to_mean"])

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        out = dict(self._data)
        out["tz"] = self.tz
        out["crs"] = self.crs.to_string() if self.crs is not None else None
        return out

    def summary(self) -> str:
        """A few plain lines."""
        lines = [f"{self.rows_read:,} rows read, {self.rows_kept:,} kept, {self.rows_dropped:,} dropped"]
        for k, v in self.dropped.items():
            if v:
                lines.append(f"  dropped {v:,}: {k.replace('_', ' ')}")
        for k, v in self.repaired.items():
            if v:
                lines.append(f"  repaired {v:,}: {k.replace('_', ' ')}")
        lines.append(f"  exact duplicates: {self.duplicate_rows:,} (policy: {self.duplicate_policy})")
        lines.append(f"  geocoding spikes: {len(self._data['spikes'])} of {self.distinct_locations:,} locations")
        if self.heaping:
            h = self.heaping
            lines.append(
                f"  time heaping ({h['clock']} clock): {h['share_midnight']:.1%} at 00:00 "
                f"(uniform {h['expected_exact_minute']:.2%}), {h['share_on_the_hour']:.1%} on the hour "
                f"(uniform {h['expected_on_the_hour']:.1%}), {h['share_noon']:.1%} at 12:00"
            )
        if self.time_span:
            lines.append(f"  time span: {self.time_span[0]} to {self.time_span[1]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "DataQualityReport\n" + self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>dropped: {html.escape(k.replace('_', ' '))}</td><td>{v:,}</td></tr>"
            for k, v in self.dropped.items()
        )
        rows += "".join(
            f"<tr><td>repaired: {html.escape(k.replace('_', ' '))}</td><td>{v:,}</td></tr>"
            for k, v in self.repaired.items()
        )
        body = html.escape(self.summary()).replace("\n", "<br>")
        return (
            "<div><b>Data quality</b><table>"
            f"<tr><td>rows read</td><td>{self.rows_read:,}</td></tr>"
            f"<tr><td>rows kept</td><td>{self.rows_kept:,}</td></tr>{rows}</table>"
            f"<details><summary>details</summary><p>{body}</p></details></div>"
        )


class Incidents:
    """A validated table of incidents (x, y in metres of ``crs``; t in UTC), sorted by time.

    Build it with :meth:`from_frame`, :meth:`from_csv` or :meth:`from_geodataframe`; every row
    dropped or repaired on the way is counted in :attr:`quality`. Only the columns named in the
    call are read (places, never people).
    """

    def __init__(
        self,
        native: _native.Incidents,
        crs: pyproj.CRS,
        quality: DataQualityReport,
        tz: str = "UTC",
        source: str | None = None,
    ) -> None:
        self._native = native
        self.crs = crs
        self.quality = quality
        self.tz = tz
        self.source = source

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        x: str,
        y: str,
        t: str,
        crs: Any = "EPSG:4326",
        target_crs: Any = None,
        tz: str | None = None,
        time_format: str | None = None,
        dayfirst: bool = False,
        category: str | None = None,
        origin: str | None = None,
        origin_map: Mapping[Any, str] | None = None,
        default_origin: str = "unknown",
        weight: str | None = None,
        region: Region | None = None,
        duplicates: str = "keep",
        time_range: tuple[Any, Any] | None = None,
        spike_ratio: float = 10.0,
        spike_min_count: int = 20,
        source: str | None = None,
    ) -> Incidents:
        """Incidents from a pandas DataFrame.

        Parameters
        ----------
        x, y, t
            Column names of the coordinates and the time.
        crs
            CRS of ``x``/``y`` (default lon/lat, ``"EPSG:4326"``).
        target_crs
            Metric CRS to work in. Default: the region's CRS when ``region`` is given; else the
            input CRS if it is projected in metres; else the local UTM zone.
        tz
            Time zone of naive times, and the zone whose clock is used for time-heaping checks.
            Naive times without ``tz`` raise.
        category, weight
            Optional columns. Missing categories become ``"unknown"`` (counted as a repair).
        origin, origin_map, default_origin
            How each incident came to police attention: a column whose values ``origin_map``
            maps to ``"reported"``, ``"discovered"`` or ``"unknown"`` (without a map the values
            must be those words). Without a column every row gets ``default_origin``.
        region
            Drop (and count) points outside this :class:`~placewise.Region`.
        duplicates
            Exact duplicate rows: ``"keep"`` (count only), ``"flag"`` (count and mark) or
            ``"drop"`` (keep the first).
        time_range
            Accepted ``(start, end)`` times (default 1900-01-01 to 2100-01-01, UTC).
        """
        if not isinstance(df, pd.DataFrame):
            raise param_error("df", f"expected a pandas DataFrame, got {type(df).__name__}")
        _require_columns(df, {"x": x, "y": y, "t": t, "category": category, "origin": origin, "weight": weight})
        if len(df) == 0:
            raise EmptyInputError("empty input: the frame has no rows")
        if default_origin not in ORIGINS:
            raise param_error("default_origin", f"must be one of {ORIGINS}, got {default_origin!r}")
        n = len(df)
        source_crs = as_crs(crs, "crs")
        xs, ys = _numeric(df, x), _numeric(df, y)
        preset = np.full(n, -1, dtype=np.int8)
        preset[np.isnan(xs) | np.isnan(ys)] = _REASON_CODE["missing_coordinates"]
        preset[(preset < 0) & ~(np.isfinite(xs) & np.isfinite(ys))] = _REASON_CODE["non_finite_coordinates"]
        if source_crs.is_geographic:
            _check_lonlat(xs, ys, x, y)
            out = np.isfinite(xs) & np.isfinite(ys) & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
            preset[(preset < 0) & out] = _REASON_CODE["coordinates_out_of_range"]
        else:
            check_declared(source_crs, xs, ys)
        if region is not None:
            target = region.crs if target_crs is None else as_crs(target_crs, "target_crs")
            if target != region.crs:
                raise param_error("target_crs", "differs from the region's CRS; omit it to use the region's")
        else:
            ok = preset < 0
            if not ok.any():
                counts = {r: int((preset == c).sum()) for r, c in _REASON_CODE.items() if (preset == c).any()}
                raise EmptyInputError(f"empty input: every row was dropped: no row has usable coordinates {counts}")
            target = target_for(source_crs, xs[ok], ys[ok], target_crs)
        px, py = project(xs, ys, source_crs, target)
        if region is not None and source_crs.is_geographic:
            _check_swapped(xs, ys, px, py, preset, source_crs, target, region, x, y)

        times = parse_times(df[t], tz, time_format, dayfirst)
        if times.out_of_range is not None:
            preset[(preset < 0) & times.out_of_range] = _REASON_CODE["time_out_of_range"]
        repairs = dict(times.repairs)

        cat_codes = cat_labels = None
        if category is not None:
            col = df[category]
            n_missing = int(col.isna().sum())
            if n_missing:
                repairs["missing_category_set_to_unknown"] = n_missing
            codes, uniques = pd.factorize(col.astype("string").fillna("unknown"), sort=True)
            cat_codes = codes.astype(np.uint32)
            cat_labels = [str(u) for u in uniques]

        origin_codes = _origin_codes(df, origin, origin_map, default_origin, repairs)
        w = _numeric(df, weight) if weight is not None else None
        tr = None
        if time_range is not None:
            tz_ = times.tz
            tr = (to_utc_seconds(time_range[0], tz_, "time_range"), to_utc_seconds(time_range[1], tz_, "time_range"))
        native, rep = _native.ingest(
            np.ascontiguousarray(px),
            np.ascontiguousarray(py),
            times.utc,
            times.missing,
            t_local=times.local,
            category=cat_codes,
            categories=cat_labels,
            origin=origin_codes,
            weight=w,
            preset=preset,
            repairs=repairs,
            region=region._native if region is not None else None,
            time_range=tr,
            duplicates=duplicates,
            spike_ratio=spike_ratio,
            spike_min_count=spike_min_count,
        )
        quality = DataQualityReport.from_native(rep, crs=target, tz=times.tz)
        if quality.rows_kept == 0:
            raise EmptyInputError(
                "empty input: every row was dropped during ingest\n" + quality.summary()
            )
        # duplicates dropped on request are not a data problem
        lost = quality.rows_dropped - quality.dropped.get("duplicate", 0)
        if lost > 0.05 * quality.rows_read:
            warnings.warn(
                f"ingest dropped {lost:,} of {quality.rows_read:,} rows "
                f"({lost / quality.rows_read:.1%}) as unusable; see .quality",
                DataQualityWarning,
                stacklevel=2,
            )
        return cls(native, target, quality, tz=times.tz, source=source)

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], *, x: str, y: str, t: str, read_csv_kwargs: Mapping[str, Any] | None = None, **kwargs: Any) -> Incidents:
        """Incidents from a CSV file (gzip and other compressions as pandas reads them).

        Only the columns named (``x``, ``y``, ``t`` and any of ``category``, ``origin``,
        ``weight``) are read. Other keyword arguments are those of :meth:`from_frame`.
        """
        cols = [c for c in (x, y, t, kwargs.get("category"), kwargs.get("origin"), kwargs.get("weight")) if c]
        header = _read_csv(path, nrows=0, **(read_csv_kwargs or {}))
        _require_columns(header, {"x": x, "y": y, "t": t, "category": kwargs.get("category"),
                                  "origin": kwargs.get("origin"), "weight": kwargs.get("weight")})
        df = _read_csv(path, usecols=list(dict.fromkeys(cols)), dtype={t: "string"}, **(read_csv_kwargs or {}))
        kwargs.setdefault("source", os.fspath(path))
        return cls.from_frame(df, x=x, y=y, t=t, **kwargs)

    @classmethod
    def from_geodataframe(cls, gdf: gpd.GeoDataFrame, *, t: str, **kwargs: Any) -> Incidents:
        """Incidents from a GeoDataFrame of points (its CRS is used; empty geometries count as
        missing coordinates)."""
        geom = gdf.geometry
        if gdf.crs is None:
            raise param_error("gdf", "the GeoDataFrame has no CRS; set one with set_crs()")
        types = geom.geom_type
        bad = types.notna() & (types != "Point")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(f"invalid data at row {i}: column `geometry`: {types.iloc[i]} is not a Point")
        empty = geom.isna() | geom.is_empty
        xs = np.where(empty, np.nan, geom.x.where(~empty))
        ys = np.where(empty, np.nan, geom.y.where(~empty))
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["__x"], df["__y"] = xs, ys
        return cls.from_frame(df, x="__x", y="__y", t=t, crs=gdf.crs, **kwargs)

    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        t: Any,
        *,
        crs: Any,
        tz: str = "UTC",
        region: Region | None = None,
        source: str | None = None,
    ) -> Incidents:
        """Incidents from coordinate arrays already in the metric ``crs`` and times as int64 UTC
        seconds (simulations, tests). Rows go through the same validation and quality report
        as :meth:`from_frame`; with ``region``, points outside it are dropped and counted."""
        xs = np.ascontiguousarray(x, dtype=np.float64)
        ys = np.ascontiguousarray(y, dtype=np.float64)
        ts = np.ascontiguousarray(t, dtype=np.int64)
        if not (xs.ndim == ys.ndim == ts.ndim == 1 and len(xs) == len(ys) == len(ts)):
            raise param_error("x, y, t", f"must be 1-d arrays of one length, got shapes {xs.shape}, {ys.shape}, {ts.shape}")
        target = as_crs(crs, "crs")
        native, rep = _native.ingest(xs, ys, ts, np.zeros(len(xs), dtype=bool),
                                     region=region._native if region is not None else None)
        return cls(native, target, DataQualityReport.from_native(rep, crs=target, tz=tz), tz=tz, source=source)

    # ---------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self._native)

    @property
    def x(self) -> np.ndarray:
        """Easting in metres (read-only)."""
        return self._native.x

    @property
    def y(self) -> np.ndarray:
        """Northing in metres (read-only)."""
        return self._native.y

    @property
    def t(self) -> np.ndarray:
        """UTC seconds since 1970-01-01, ascending (read-only)."""
        return self._native.t

    @property
    def times(self) -> pd.DatetimeIndex:
        """Times as a tz-aware index in the incidents' zone."""
        return seconds_to_timestamps(self.t, self.tz)

    @property
    def categories(self) -> list[str]:
        return self._native.categories

    @property
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        span = self._native.time_span
        if span is None:
            return None
        a, b = seconds_to_timestamps(np.array(span), self.tz)
        return a, b

    def _wrap(self, native: _native.Incidents) -> Incidents:
        return Incidents(native, self.crs, self.quality, tz=self.tz, source=self.source)

    def _seconds(self, when: Any, name: str) -> int:
        return to_utc_seconds(when, self.tz, name)

    def until(self, end: Any) -> Incidents:
        """Incidents strictly before ``end`` (naive times are read in the incidents' zone)."""
        return self._wrap(self._native.until(self._seconds(end, "end")))

    def between(self, start: Any, end: Any) -> Incidents:
        """Incidents with ``start <= t < end``."""
        return self._wrap(self._native.between(self._seconds(start, "start"), self._seconds(end, "end")))

    def category(self, names: str | Iterable[str]) -> Incidents:
        """Incidents in the named categories."""
        wanted = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in wanted if n not in self.categories]
        if unknown:
            raise param_error("names", f"unknown categories {unknown}; available: {self.categories}")
        return self._wrap(self._native.with_categories([self.categories.index(n) for n in wanted]))

    def origin(self, names: str | Iterable[str]) -> Incidents:
        """Incidents of the given origins (``"reported"``, ``"discovered"``, ``"unknown"``)."""
        wanted = [names] if isinstance(names, str) else list(names)
        for n in wanted:
            if n not in ORIGINS:
                raise param_error("names", f"{n!r} is not one of {ORIGINS}")
        return self._wrap(self._native.with_origins([ORIGINS.index(n) for n in wanted]))

    def to_frame(self) -> pd.DataFrame:
        """One row per incident: x, y, t (in the incidents' zone), category, origin, weight,
        source_row, duplicate."""
        cats = np.asarray(self.categories, dtype=object)
        df = pd.DataFrame(
            {
                "x": np.array(self.x),
                "y": np.array(self.y),
                "t": self.times,
                "category": pd.Categorical(cats[np.asarray(self._native.category)], categories=self.categories),
                "origin": pd.Categorical(np.asarray(ORIGINS, dtype=object)[self._native.origin], categories=ORIGINS),
                "source_row": np.array(self._native.source_row),
                "duplicate": np.array(self._native.duplicate),
            }
        )
        w = self._native.weight
        if w is not None:
            df["weight"] = np.array(w)
        return df

    def __repr__(self) -> str:
        span = self.time_span
        s = f"{span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}" if span else "empty"
        return (
            f"<Incidents: {len(self):,} rows, {s}, {len(self.categories)} categories, "
            f"CRS {self.crs.name} (EPSG:{self.crs.to_epsg()})>"
        )

    def _repr_html_(self) -> str:
        origin = np.bincount(self._native.origin, minlength=3) if len(self) else np.zeros(3, int)
        rows = "".join(f"<tr><td>{o}</td><td>{c:,}</td></tr>" for o, c in zip(ORIGINS, origin))
        return (
            f"<div><b>{html.escape(repr(self))}</b><table><tr><th>origin</th><th>rows</th></tr>{rows}</table>"
            f"{self.quality._repr_html_()}</div>"
        )


def _check_lonlat(xs: np.ndarray, ys: np.ndarray, xcol: str, ycol: str) -> None:
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return
    x_ok = np.abs(xs[ok]) <= 180
    y_ok = np.abs(ys[ok]) <= 90
    if y_ok.mean() < 0.5 and (np.abs(ys[ok]) <= 180).mean() > 0.5 and (np.abs(xs[ok]) <= 90).mean() > 0.5:
        raise DataValidationError(
            f"invalid data: column `{ycol}`: most values are outside ±90 but `{xcol}` is within ±90: "
            f"longitude and latitude look swapped (x= must be longitude, y= latitude)"
        )
    if y_ok.mean() >= 0.5 and x_ok.mean() >= 0.5:
        my, mx = float(np.median(np.abs(ys[ok]))), float(np.median(np.abs(xs[ok])))
        if my > 80 and mx <= 80:
            raise DataValidationError(
                f"invalid data: column `{ycol}`: the median latitude is {my:.1f}° (near a pole) while `{xcol}` "
                f"is within ±80: longitude and latitude look swapped (x= must be longitude, y= latitude)"
            )
    if x_ok.mean() < 0.5 or y_ok.mean() < 0.5:
        raise DataValidationError(
            f"invalid data: column `{xcol}`/`{ycol}`: most coordinates are outside ±180/±90, so they are not "
            f"longitude/latitude; pass the CRS they are in with crs= (for example crs='EPSG:26916')"
        )


def _check_swapped(xs, ys, px, py, preset, source, target, region, xcol, ycol) -> None:  # type: ignore[no-untyped-def]
    ok = preset < 0
    if ok.sum() == 0:
        return
    inside = region._native.contains(px[ok], py[ok])
    if inside.mean() >= 0.5:
        return
    sx, sy = project(ys[ok], xs[ok], source, target)
    if region._native.contains(sx, sy).mean() > 0.5:
        raise DataValidationError(
            f"invalid data: column `{xcol}`/`{ycol}`: most points fall outside the region but would fall "
            f"inside with longitude and latitude swapped; x= must be longitude and y= latitude"
        )


def _origin_codes(
    df: pd.DataFrame,
    origin: str | None,
    origin_map: Mapping[Any, str] | None,
    default_origin: str,
    repairs: dict[str, int],
) -> np.ndarray:
    n = len(df)
    if origin is None:
        if origin_map is not None:
            raise param_error("origin_map", "given without an origin= column")
        return np.full(n, ORIGINS.index(default_origin), dtype=np.uint8)
    col = df[origin]
    missing = col.isna().to_numpy()
    if origin_map is None:
        mapping: dict[Any, str] = {o: o for o in ORIGINS}
        mapped = col.astype("string").str.lower().map(mapping)
    else:
        for k, v in origin_map.items():
            if v not in ORIGINS:
                raise param_error("origin_map", f"{k!r} maps to {v!r}, which is not one of {ORIGINS}")
        mapped = col.map(dict(origin_map))
    unmapped = mapped.isna().to_numpy() & ~missing
    if unmapped.any():
        vals = list(pd.unique(col[unmapped]))[:10]
        raise DataValidationError(
            f"invalid data at row {int(np.flatnonzero(unmapped)[0])}: column `{origin}`: values {vals} are not in "
            f"origin_map; map each to 'reported', 'discovered' or 'unknown'"
        )
    if missing.any():
        repairs["missing_origin_set_to_unknown"] = int(missing.sum())
    out = np.full(n, ORIGINS.index("unknown"), dtype=np.uint8)
    vals = mapped.to_numpy(dtype=object)
    for i, o in enumerate(ORIGINS):
        out[vals == o] = i
    return out
