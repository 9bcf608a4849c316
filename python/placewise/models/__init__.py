"""Hotspot and point-process models (scikit-learn style; each returns a Surface)."""

from __future__ import annotations

from ._base import Model, refit_on_unpickle

__all__ = ["Model"]

# --- hotspot models
from .hotspot import ProspectiveHotspot, RetrospectiveHotspot
from .kde import KDE, kde_grid
from .naive import Naive

__all__ += ["Naive", "KDE", "kde_grid", "RetrospectiveHotspot", "ProspectiveHotspot"]

# --- parameter domains (one table per estimator in the Rust core: what it checks is what is listed)
import pandas as _pd  # noqa: E402

from .. import _native  # noqa: E402


def parameter_constraints(estimator: str | type) -> _pd.DataFrame:
    """The numeric domains the core checks for ``estimator`` (a class or its name, e.g.
    ``"KDE"``): one row per parameter with its domain and meaning.

    >>> import placewise as pw
    >>> pw.models.parameter_constraints(pw.models.KDE).loc["bandwidth", "domain"]
    'a finite number greater than 0'
    """
    name = estimator if isinstance(estimator, str) else estimator.__name__
    rows = _native.parameter_constraints(name)
    return _pd.DataFrame(rows, columns=["parameter", "domain", "meaning"]).set_index("parameter")


def _document_domains(cls: type) -> None:
    lines = [f"    * ``{n}``: {d} — {m}" for n, d, m in _native.parameter_constraints(cls.__name__)]
    cls.__doc__ = (cls.__doc__ or "") + "\n\n    Parameter domains (checked by the core):\n\n" + "\n".join(lines) + "\n"


for _cls in (KDE, Naive, RetrospectiveHotspot):
    _document_domains(_cls)

__all__ += ["parameter_constraints"]
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
