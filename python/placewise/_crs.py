"""Coordinate reference systems: choosing the metric CRS the core works in, and projecting."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pyproj
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from .exceptions import CRSWarning, DataValidationError, param_error

_METRE_NAMES = {"metre", "meter", "m"}


def as_crs(crs: Any, name: str = "crs") -> pyproj.CRS:
    """Parses anything pyproj accepts (``"EPSG:4326"``, an int, WKT, a CRS) or raises naming ``name``."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as e:
        raise param_error(name, f"not a CRS pyproj understands ({e})") from e


def is_metric_projected(crs: pyproj.CRS) -> bool:
    """True for a projected CRS whose axes are in metres."""
    if not crs.is_projected:
        return False
    units = {(ax.unit_name or "").lower() for ax in crs.axis_info}
    return bool(units) and units <= _METRE_NAMES


def utm_for(lon: float, lat: float) -> pyproj.CRS:
    """The WGS 84 UTM zone holding ``(lon, lat)``."""
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    if not infos:
        raise param_error("crs", f"no UTM zone found for lon={lon}, lat={lat}; pass target_crs=")
    return pyproj.CRS.from_epsg(int(infos[0].code))


def target_for(source: pyproj.CRS, x: np.ndarray, y: np.ndarray, target: Any = None) -> pyproj.CRS:
    """The metric CRS to work in.

    A named ``target`` wins (it must be projected in metres). Otherwise input already in a
    metre-based projected CRS stays as it is, and anything else (lon/lat, US feet) goes to the
    UTM zone of the data's median location.
    """
    if target is not None:
        t = as_crs(target, "target_crs")
        if not is_metric_projected(t):
            raise param_error("target_crs", f"{t.name} is not a projected CRS in metres")
        return t
    if is_metric_projected(source):
        return source
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise DataValidationError("invalid data: column `x/y`: no finite coordinates to locate the data")
    mx, my = float(np.median(x[ok])), float(np.median(y[ok]))
    if source.is_geographic:
        lon, lat = mx, my
    else:
        to_ll = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform(mx, my)
    return utm_for(lon, lat)


def project(x: np.ndarray, y: np.ndarray, source: pyproj.CRS, target: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Projects coordinates; points that cannot be projected become ``inf``."""
    if source == target:
        return x.astype(np.float64, copy=True), y.astype(np.float64, copy=True)
    tr = pyproj.Transformer.from_crs(source, target, always_xy=True)
    px, py = tr.transform(x, y, errcheck=False)
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    # pyproj marks failures as inf; keep NaN (missing) distinct from failures
    bad = ~(np.isfinite(px) & np.isfinite(py)) & np.isfinite(x) & np.isfinite(y)
    px[bad] = np.inf
    py[bad] = np.inf
    return px, py


def check_declared(source: pyproj.CRS, x: np.ndarray, y: np.ndarray) -> None:
    """Warns when projected coordinates look like degrees (a lon/lat frame declared as metres)."""
    if not source.is_projected:
        return
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() == 0:
        return
    if (np.abs(x[ok]) <= 180).all() and (np.abs(y[ok]) <= 90).all():
        warnings.warn(
            f"every coordinate is within ±180/±90 although the CRS {source.name!r} is projected: "
            "these look like longitude/latitude in degrees; pass crs='EPSG:4326' if so",
            CRSWarning,
            stacklevel=4,
        )
