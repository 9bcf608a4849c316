"""Retrospective and prospective hotspot maps."""

from __future__ import annotations

from typing import Any

from .. import _native
from ..surface import Surface
from ._base import Model
from ._common import at_seconds, check_inputs, surface


class RetrospectiveHotspot(Model):
    """The analyst's retrospective hotspot map: a quartic-kernel density of the incidents in the
    ``window_days`` before ``at`` (literature defaults: 200 m bandwidth, 60 days, 150 m cells —
    the cell size is the grid's). Exact kernel sums (the quartic kernel has compact support).

    ``predict(at)`` uses incidents with ``at - window_days <= t < at``; ``at`` defaults to just
    after the last training incident; an empty window or an ``at`` before the data is refused.
    """

    def __init__(self, bandwidth: float = 200.0, window_days: float = 60.0) -> None:
        self.bandwidth = bandwidth
        self.window_days = window_days

    def fit(self, incidents: Any, grid: Any) -> RetrospectiveHotspot:
        inc, g = check_inputs(incidents, grid)
        self._model = _native.RetrospectiveModel(inc._native, g._native, float(self.bandwidth), float(self.window_days))
        self.grid_, self.tz_, self.n_incidents_ = g, inc.tz, len(inc)
        self.fitted_ = True
        return self

    def predict(self, at: Any = None) -> Surface:
        self._check_fitted()
        return surface(self._model.predict(at_seconds(at, self.tz_)), self.grid_, "RetrospectiveHotspot", self.tz_)


class ProspectiveHotspot(Model):
    """Prospective hotspot map of Bowers, Johnson & Pease (2004, *Br. J. Criminol.* 44:641–658).

    The risk of a cell at ``at`` is ``Σ w / ((1 + d)(1 + t))`` over incidents with
    ``d <= bandwidth_cells`` and ``t <= time_bandwidth_weeks``: ``d`` the distance in cells
    between the cell and the incident's cell (``distance="linf"`` rings of neighbours, ``"l1"``
    or ``"l2"``), ``t`` the incident's age in whole weeks before ``at``. Defaults follow the
    paper: 8 cells and 8 weeks. ``predict(at)`` uses incidents strictly before ``at``.
    """

    def __init__(self, bandwidth_cells: float = 8, time_bandwidth_weeks: float = 8, distance: str = "linf") -> None:
        self.bandwidth_cells = bandwidth_cells
        self.time_bandwidth_weeks = time_bandwidth_weeks
        self.distance = distance

    def fit(self, incidents: Any, grid: Any) -> ProspectiveHotspot:
        inc, g = check_inputs(incidents, grid)
        self._model = _native.ProspectiveModel(
            inc._native, g._native, float(self.bandwidth_cells), float(self.time_bandwidth_weeks), str(self.distance)
        )
        self.grid_, self.tz_, self.n_incidents_ = g, inc.tz, len(inc)
        self.fitted_ = True
        return self

    def predict(self, at: Any = None) -> Surface:
        self._check_fitted()
        return surface(self._model.predict(at_seconds(at, self.tz_)), self.grid_, "ProspectiveHotspot", self.tz_)
