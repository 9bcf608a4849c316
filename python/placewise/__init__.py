"""placewise: place-based crime hotspots, patrol allocation, and built-in audits.

Estimate where crime is likely (places, never people), turn risk into a patrol allocation, and
audit that allocation for demographic disparity and runaway feedback loops before anyone acts
on it.
"""

from __future__ import annotations

from . import _native, datasets, exceptions
from .data import DataQualityReport, Incidents
from .exceptions import (
    DataValidationError,
    EmptyInputError,
    InfeasibleError,
    InvalidParameterError,
    LogVerificationError,
    NotConvergedError,
    NotFittedError,
    PlacewiseError,
    PolicyViolation,
    TooLargeError,
)
from .space import Grid, Population, Region
from .surface import Surface

__version__: str = _native.__version__

__all__ = [
    "__version__",
    "datasets",
    "exceptions",
    "DataQualityReport",
    "Incidents",
    "Grid",
    "Population",
    "Region",
    "Surface",
    "PlacewiseError",
    "InvalidParameterError",
    "DataValidationError",
    "EmptyInputError",
    "TooLargeError",
    "NotFittedError",
    "NotConvergedError",
    "InfeasibleError",
    "PolicyViolation",
    "LogVerificationError",
]

# --- sepp (issue 4) ---
from .models import SEPP  # noqa: E402

__all__ += ["SEPP"]
