"""Hotspot and point-process models (scikit-learn style; each returns a Surface)."""

from __future__ import annotations

from ._base import Model

__all__ = ["Model"]
