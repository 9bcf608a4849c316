"""Hotspot and point-process models (scikit-learn style; each returns a Surface)."""

from __future__ import annotations

from ._base import Model

__all__ = ["Model"]

# --- sepp (issue 4) ---
from .sepp import SEPP  # noqa: E402

__all__ += ["SEPP"]
