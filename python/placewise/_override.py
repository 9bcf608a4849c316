"""Override records for the gate: who proceeds despite failed policy checks, why, and when."""

from __future__ import annotations

import datetime as _dt
import getpass
from typing import Any

from . import _native
from .exceptions import param_error


def make_override(reason: Any, by: Any) -> _native.Override | None:
    """The typed override record (reason, who, when — now, UTC) of the Rust core, or None
    without a reason. The core refuses a reason with fewer than 10 visible characters (Unicode
    letters, digits, punctuation, symbols), so blank, whitespace-only or invisible text such as
    zero-width spaces never counts as a justification."""
    if reason is None:
        if by is not None:
            raise param_error("override_by", "given without override_reason: there is no override to attribute")
        return None
    if not isinstance(reason, str):
        raise param_error("override_reason", f"must be text, got {type(reason).__name__}")
    if by is None:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):
            raise param_error("override_by", "say who overrides (the user name could not be read from the system)") from None
    if not isinstance(by, str):
        raise param_error("override_by", f"must be text, got {type(by).__name__}")
    at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return _native.Override(reason, by, at)


__all__ = ["make_override"]
