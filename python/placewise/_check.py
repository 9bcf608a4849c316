"""Type checks of scalar parameters, before they reach the Rust core (which checks domains).

Booleans are not numbers here: ``True`` passed as a bandwidth or a seed is a mistake, not 1.
Each failure is an :class:`~placewise.InvalidParameterError` naming the parameter.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .exceptions import InvalidParameterError, param_error

U64_MAX = 2**64 - 1


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def number(name: str, value: Any) -> float:
    """``value`` as a float; refuses booleans, strings and other non-numbers."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise param_error(name, f"must be a number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)
    except OverflowError:
        raise param_error(name, f"{value!r} is too large for a floating-point number") from None


def integer(name: str, value: Any, minimum: int | None = None, maximum: int | None = U64_MAX) -> int:
    """``value`` as an int within ``[minimum, maximum]``; refuses booleans and non-integers."""
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise param_error(name, f"must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if minimum is not None and v < minimum:
        raise param_error(name, f"must be at least {minimum}, got {v}")
    if maximum is not None and v > maximum:
        bound = "2**64 - 1" if maximum == U64_MAX else str(maximum)
        raise param_error(name, f"must be at most {bound}, got {v}")
    return v


def seed(value: Any, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**64 - 1]."""
    return integer(name, value, 0, U64_MAX)


__all__ = ["number", "integer", "seed", "U64_MAX", "InvalidParameterError"]
