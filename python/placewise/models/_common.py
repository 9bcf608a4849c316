"""Helpers shared by the hotspot models: checking inputs and turning a native prediction into a
:class:`~placewise.Surface`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._time import seconds_to_timestamps, to_utc_seconds
from ..exceptions import InvalidParameterError, param_error
from ..surface import Surface

if TYPE_CHECKING:
    from ..data import Incidents
    from ..space import Grid


def check_inputs(incidents: Any, grid: Any) -> tuple[Incidents, Grid]:
    from ..data import Incidents
    from ..space import Grid

    if not isinstance(incidents, Incidents):
        raise InvalidParameterError(f"invalid parameter `incidents`: expected placewise.Incidents, got {type(incidents).__name__}")
    if not isinstance(grid, Grid):
        raise InvalidParameterError(f"invalid parameter `grid`: expected placewise.Grid, got {type(grid).__name__}")
    if incidents.crs is not None and grid.crs is not None and not incidents.crs.equals(grid.crs):
        raise param_error("grid", f"its CRS ({grid.crs.name}) differs from the incidents' ({incidents.crs.name})")
    return incidents, grid


def at_seconds(at: Any, tz: str) -> int | None:
    return None if at is None else to_utc_seconds(at, tz, "at")


def _bound(t: int, tz: str) -> pd.Timestamp:
    """A window bound as a Timestamp; one beyond pandas' range (a window of a billion days)
    becomes pandas' earliest or latest Timestamp, which still reads as "unbounded"."""
    try:
        return seconds_to_timestamps(np.array([t], dtype=np.int64), tz)[0]
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        return (pd.Timestamp.min if t < 0 else pd.Timestamp.max).tz_localize("UTC").tz_convert(tz)


def surface(native_prediction: tuple[Any, dict[str, str], tuple[int, int] | None, str], grid: Grid, model: str, tz: str) -> Surface:
    values, params, window, units = native_prediction
    win = None
    at_ts = None
    if window is not None:
        start, end = (_bound(w, tz) for w in window)
        win = (pd.Timestamp(start), pd.Timestamp(end))
        at_ts = win[1]
    return Surface(values, grid, model=model, params=dict(params), window=win, units=units, at=at_ts)
