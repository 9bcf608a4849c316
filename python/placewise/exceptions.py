"""Exceptions raised by placewise.

Every error placewise raises derives from :class:`PlacewiseError`. Errors about bad parameters
or bad data also derive from :class:`ValueError`, so code that already catches ``ValueError``
keeps working. The Rust core maps each of its error variants to one class here
(``src/python/error.rs``); structured details are attributes (``name``, ``row``, ``column``…).
"""

from __future__ import annotations

from typing import Any


class PlacewiseError(Exception):
    """Base class of every placewise error."""


class PlacewiseWarning(UserWarning):
    """Base class of placewise warnings (suspicious but usable input)."""


class InvalidParameterError(PlacewiseError, ValueError):
    """A parameter is outside its domain. ``name`` names it, ``reason`` says why."""

    name: str
    reason: str


class DataValidationError(PlacewiseError, ValueError):
    """A value in the input data is unusable. ``row`` (0-based, or None) and ``column`` say where."""

    row: int | None
    column: str
    reason: str


class EmptyInputError(DataValidationError):
    """An input that needs at least one element has none. ``what`` says which."""

    what: str


class TooLargeError(PlacewiseError, ValueError):
    """A request would exceed a size limit (``requested`` > ``limit``); raised before allocating.

    ``name`` is the parameter that sets the size, ``what`` what would be allocated. The limits
    are listed by :func:`placewise.limits` and raised with :func:`placewise.set_limits`.
    """

    name: str
    what: str
    requested: int
    limit: int


class NotFittedError(PlacewiseError, AttributeError):
    """A model was used before ``fit``."""


class NotConvergedError(PlacewiseError, RuntimeError):
    """An iterative fit hit its iteration limit. ``partial`` holds the partial fit, when there is one."""

    iterations: int
    reason: str
    partial: Any = None


class InfeasibleError(PlacewiseError, ValueError):
    """An optimisation problem has no feasible solution. ``constraint`` names the binding one."""

    constraint: str
    reason: str


class PolicyViolation(PlacewiseError):
    """An audit policy blocked a result. ``failed_checks`` (also ``checks``) lists each failed
    check; ``blocked`` is the blocked plan (an :class:`~placewise.Allocation` or
    :class:`~placewise.Plan` whose ``decision.status`` is ``"blocked"``), so that it can be
    reviewed — never deployed — or None when no plan was involved.

    Pass ``override_reason="..."`` (and ``override_by``) to proceed anyway; the override is
    recorded in the decision and the run log.
    """

    failed_checks: list[str]
    checks: list[str]
    blocked: Any = None


class LogVerificationError(PlacewiseError):
    """A run log failed verification. ``record`` is the 0-based index of the first bad record."""

    record: int
    reason: str


class PlacewiseIOError(PlacewiseError, OSError):
    """Reading or writing a file failed. The message says which file and why, in words;
    ``filename``, ``errno`` and ``strerror`` are set when known."""

    def __str__(self) -> str:
        # OSError would print "[Errno 2] None: 'path'" once errno is set; keep the sentence.
        if self.args and isinstance(self.args[0], str):
            return self.args[0]
        return super().__str__()


def param_error(name: str, reason: str) -> InvalidParameterError:
    """An :class:`InvalidParameterError` for parameter ``name``, with the core's message format
    (``invalid parameter `name`: reason``) and ``.name`` / ``.reason`` set. Python raises these
    only for what the Rust core cannot see (types, column names, CRS, pandas dtypes); numeric
    domains are checked in Rust."""
    e = InvalidParameterError(f"invalid parameter `{name}`: {reason}")
    e.name, e.reason = name, reason
    return e


def data_error(row: int | None, column: str, reason: str) -> DataValidationError:
    """A :class:`DataValidationError` at ``row`` (0-based, or None) of ``column``, in the core's
    message format, with ``.row`` / ``.column`` / ``.reason`` set."""
    where = f" at row {row}" if row is not None else ""
    e = DataValidationError(f"invalid data{where}: column `{column}`: {reason}")
    e.row, e.column, e.reason = row, column, reason
    return e


def too_large_error(name: str, what: str, requested: int, limit: int, hint: str = "") -> TooLargeError:
    """A :class:`TooLargeError` in the core's message format, with ``.name`` / ``.what`` /
    ``.requested`` / ``.limit`` set."""
    msg = f"too large: `{name}` asks for {requested} {what}, the limit is {limit}"
    e = TooLargeError(msg + (f" ({hint})" if hint else ""))
    e.name, e.what, e.requested, e.limit = name, what, int(requested), int(limit)
    return e


class CRSWarning(PlacewiseWarning):
    """Coordinates look inconsistent with the CRS they were declared in."""


class DataQualityWarning(PlacewiseWarning):
    """Ingest dropped or repaired a notable share of rows."""


__all__ = [
    "PlacewiseError",
    "PlacewiseWarning",
    "InvalidParameterError",
    "DataValidationError",
    "EmptyInputError",
    "TooLargeError",
    "NotFittedError",
    "NotConvergedError",
    "InfeasibleError",
    "PolicyViolation",
    "LogVerificationError",
    "PlacewiseIOError",
    "CRSWarning",
    "DataQualityWarning",
]
