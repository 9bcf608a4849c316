"""The naive hotspot model: incidents per cell in a trailing window."""

from __future__ import annotations

from typing import Any

from .. import _native
from ..surface import Surface
from ._base import Model
from ._common import at_seconds, check_inputs, surface


class Naive(Model):
    """Counts per cell of the incidents in the ``window_days`` before ``at`` ("last year's map").

    ``predict(at)`` counts the (weighted) incidents with ``at - window_days <= t < at``; ``at``
    defaults to just after the last training incident and may not be at or before the first.
    ``window_days=None`` counts every incident before ``at``.

    >>> import placewise as pw
    >>> city = pw.datasets.load_chicago(cell_size=500)
    >>> s = pw.Naive(window_days=90).fit(city.incidents, city.grid).predict()
    >>> s.model, s.values.shape == city.grid.shape
    ('Naive', True)
    """

    def __init__(self, window_days: float | None = 365.0) -> None:
        self.window_days = window_days

    def fit(self, incidents: Any, grid: Any) -> Naive:
        inc, g = check_inputs(incidents, grid)
        wd = None if self.window_days is None else float(self.window_days)
        self._model = _native.NaiveModel(inc._native, g._native, window_days=wd)
        self.grid_ = g
        self.tz_ = inc.tz
        self.n_incidents_ = len(inc)
        self.fitted_ = True
        return self

    def predict(self, at: Any = None) -> Surface:
        """Counts from the incidents strictly before ``at`` (a time, read in the incidents'
        zone; default just after the last incident)."""
        self._check_fitted()
        return surface(self._model.predict(at_seconds(at, self.tz_)), self.grid_, "Naive", self.tz_)
