"""placewise: place-based crime hotspots, patrol allocation, and built-in audits.

Estimate where crime is likely (places, never people), turn risk into a patrol allocation, and
audit that allocation for demographic disparity and runaway feedback loops before anyone acts
on it.
"""

from __future__ import annotations

from . import _native, datasets, evaluate, exceptions, report, space
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
    "report",
    "evaluate",
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

# --- hotspot models
from . import models  # noqa: E402
from .models import KDE, Naive, ProspectiveHotspot, RetrospectiveHotspot  # noqa: E402

__all__ += ["models", "Naive", "KDE", "RetrospectiveHotspot", "ProspectiveHotspot"]
# --- allocation
from .allocate import Allocation, Budget, Plan, PriceOfFairness, allocate, allocate_shifts  # noqa: E402

__all__ += ["Allocation", "Budget", "Plan", "PriceOfFairness", "allocate", "allocate_shifts"]
# --- statistics: pw.stats.gi_star, emerging_hotspots, knox
from . import stats  # noqa: E402

__all__ += ["stats"]
# --- audit + provenance
from . import audit, runlog  # noqa: E402
from .policy import AuditPolicy  # noqa: E402
from .runlog import RunLog  # noqa: E402

__all__ += ["audit", "runlog", "AuditPolicy", "RunLog"]
# --- sepp
from .models import SEPP  # noqa: E402

__all__ += ["SEPP"]
# --- what patrols actually did
from . import dosage  # noqa: E402
from .dosage import Patrols  # noqa: E402

__all__ += ["dosage", "Patrols"]

# --- risk factors, blend, model selection
from . import selection  # noqa: E402
from .models import Blend, RiskFactors  # noqa: E402

__all__ += ["Blend", "RiskFactors", "selection"]

# --- size limits
from .limits import Limits, limits, set_limits  # noqa: E402

__all__ += ["Limits", "limits", "set_limits"]
