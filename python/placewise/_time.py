"""Parsing times into UTC seconds, counting every repair."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataValidationError, param_error

_NS = 1_000_000_000


@dataclass
class ParsedTimes:
    utc: np.ndarray  # int64 seconds (0 where missing)
    missing: np.ndarray  # bool
    local: np.ndarray  # int64 wall-clock seconds in the local zone
    tz: str  # zone used for local times and for naive inputs
    repairs: dict[str, int] = field(default_factory=dict)
    # valid dates outside the range pandas holds (1677-09-21 .. 2262-04-11), e.g. 3000-01-01
    out_of_range: np.ndarray | None = None


def _is_real_date(v: Any, fmt: str | None) -> bool:
    """Whether ``v`` is a valid calendar date/time (that pandas could not hold)."""
    if isinstance(v, (dt.date, np.datetime64)):
        return True
    if not isinstance(v, str):
        return False
    text = v.strip()
    try:
        if fmt is not None and fmt != "ISO8601":
            dt.datetime.strptime(text, fmt)
        else:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except (ValueError, TypeError):
        return False
    return True


def _out_of_range(col: pd.Series, parsed: pd.Series, fmt: str | None) -> np.ndarray:
    """Rows whose value is a real date that failed to parse only because of its range."""
    failed = parsed.isna().to_numpy() & col.notna().to_numpy()
    out = np.zeros(len(col), dtype=bool)
    for i in np.flatnonzero(failed):
        out[i] = _is_real_date(col.iloc[i], fmt)
    return out


def _seconds(s: pd.Series) -> np.ndarray:
    """Datetime series (naive or tz-aware, NaT allowed) as int64 epoch seconds (NaT → 0)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    v = s.to_numpy(dtype="datetime64[ns]")
    out = np.zeros(len(v), dtype=np.int64)
    ok = ~np.isnat(v)
    out[ok] = v[ok].astype("datetime64[s]").astype(np.int64)
    return out


def _to_datetime(col: pd.Series, fmt: str | None, dayfirst: bool) -> pd.Series:
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        return col
    if col.dtype == object and len(col) and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in col.dropna().iloc[:100]
    ):
        return pd.to_datetime(col, errors="coerce")
    kw: dict[str, Any] = {"errors": "coerce", "dayfirst": dayfirst}
    kw["format"] = fmt if fmt is not None else "ISO8601"
    try:
        return pd.to_datetime(col, **kw)
    except (ValueError, TypeError):
        # mixed UTC offsets: parse to UTC
        return pd.to_datetime(col, utc=True, **kw)


def parse_times(col: pd.Series, tz: str | None, fmt: str | None = None, dayfirst: bool = False) -> ParsedTimes:
    """Parses a column of times.

    * tz-aware values (pandas datetimes with a zone, ISO 8601 strings with an offset) are
      converted to UTC; their local clock time is taken in ``tz`` when given, else in their own
      zone.
    * naive values need ``tz`` (``"UTC"`` is a valid answer); without it this raises, because
      guessing the zone would shift every incident silently. Local times that occur twice (DST
      fall-back) are read as the first occurrence and local times that do not exist (spring
      forward) are shifted forward; both are counted as repairs.
    * missing or unparseable values are reported in ``missing`` (the core drops them, counted).
    """
    name = str(col.name)
    col = col.reset_index(drop=True)
    parsed = _to_datetime(col, fmt, dayfirst)
    if not (isinstance(parsed.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(parsed.dtype)):
        raise DataValidationError(f"invalid data: column `{name}`: could not be read as times")
    repairs: dict[str, int] = {}
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        zone = tz if tz is not None else str(parsed.dt.tz)
        try:
            local = parsed.dt.tz_convert(zone).dt.tz_localize(None)
        except Exception as e:  # unknown zone name
            raise param_error("tz", f"{tz!r} is not a time zone ({e})") from e
        utc = parsed
    else:
        if tz is None:
            raise DataValidationError(
                f"invalid data: column `{name}`: times have no time zone; pass tz= "
                "(for example tz='America/Chicago', or tz='UTC' if they are UTC)"
            )
        zone = tz
        local = parsed
        try:
            first = np.ones(len(parsed), dtype=bool)
            utc = parsed.dt.tz_localize(zone, ambiguous=first, nonexistent="shift_forward")
            amb = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
            nonex = parsed.dt.tz_localize(zone, ambiguous=first, nonexistent="NaT")
        except Exception as e:
            raise param_error("tz", f"{tz!r} is not a time zone ({e})") from e
        valid = parsed.notna().to_numpy()
        n_amb = int((amb.isna().to_numpy() & valid).sum())
        n_non = int((nonex.isna().to_numpy() & valid).sum())
        if n_amb:
            repairs["ambiguous_local_time_read_as_first_occurrence"] = n_amb
        if n_non:
            repairs["nonexistent_local_time_shifted_forward"] = n_non
    missing = utc.isna().to_numpy()
    oor = _out_of_range(col, parsed, fmt) if missing.any() else np.zeros(len(col), dtype=bool)
    return ParsedTimes(utc=_seconds(utc), missing=missing, local=_seconds(local), tz=zone, repairs=repairs,
                       out_of_range=oor)


def to_utc_seconds(when: Any, tz: str, name: str = "at") -> int:
    """One instant (string, datetime, Timestamp, date, or int seconds) as UTC seconds; naive
    values are read in ``tz``."""
    if isinstance(when, (int, np.integer)) and not isinstance(when, bool):
        return int(when)
    try:
        ts = pd.Timestamp(when)
    except (ValueError, TypeError) as e:
        raise param_error(name, f"{when!r} is not a time ({e})") from e
    if ts is pd.NaT:
        raise param_error(name, "missing time")
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return int(ts.tz_convert("UTC").value // _NS)


def seconds_to_timestamps(t: np.ndarray, tz: str | None = None) -> pd.DatetimeIndex:
    """UTC seconds to a tz-aware DatetimeIndex (UTC, or ``tz``)."""
    idx = pd.to_datetime(np.asarray(t, dtype=np.int64), unit="s", utc=True)
    return idx.tz_convert(tz) if tz else idx
