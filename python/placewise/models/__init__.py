"""Hotspot and point-process models (scikit-learn style; each returns a Surface)."""

from __future__ import annotations

from ._base import Model, refit_on_unpickle

__all__ = ["Model"]

# --- hotspot models
from .hotspot import ProspectiveHotspot, RetrospectiveHotspot
from .kde import KDE, kde_grid
from .naive import Naive

__all__ += ["Naive", "KDE", "kde_grid", "RetrospectiveHotspot", "ProspectiveHotspot"]
# --- sepp
from .sepp import SEPP  # noqa: E402

# A fitted SEPP's state is a native object that does not pickle: it pickles as its parameters
# and training inputs and is refitted when unpickled (deterministic, so equal).
refit_on_unpickle(SEPP)

__all__ += ["SEPP"]
# --- risk factors and blend
from .blend import Blend  # noqa: E402
from .risk_factors import RiskFactors  # noqa: E402

# Likewise a fitted RiskFactors (its native regression does not pickle).
refit_on_unpickle(RiskFactors)

__all__ += ["Blend", "RiskFactors"]
