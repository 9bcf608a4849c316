"""A blend of long-window counts and a short-window near-repeat surface."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import param_error
from ..surface import Surface
from ._base import Model
from ._common import check_inputs
from .kde import KDE
from .naive import Naive


def _expected(surface: Surface, horizon: pd.Timedelta) -> np.ndarray:
    from ..evaluate import expected_counts

    mu = expected_counts(surface, horizon)
    if mu is None:  # pragma: no cover - both components are count models
        raise param_error("surface", f"{surface.model} does not give counts")
    return mu


class Blend(Model):
    """Expected incidents per cell as a mixture of two calibrated forecasts:
    ``weight × long-window rate + (1 − weight) × short-window near-repeat rate``.

    * long: incidents per cell over the last ``long_window_days`` (the stable hot spots);
    * short: a Gaussian kernel density (``short_bandwidth_m``, exact sums) of the incidents of
      the last ``short_window_days`` (near repeats spread to nearby cells).

    Each is turned into expected counts over the forecast horizon (count ÷ window length ×
    horizon), so the blend is itself an expected count (calibrated up to the kernel mass lost
    off the grid's edge). ``weight`` is chosen by :func:`placewise.evaluate.select` on past
    origins (the rolling search shares the two components across weights).
    """

    def __init__(self, weight: float = 0.8, long_window_days: float = 1095, short_window_days: float = 28,
                 short_bandwidth_m: float = 200) -> None:
        self.weight = weight
        self.long_window_days = long_window_days
        self.short_window_days = short_window_days
        self.short_bandwidth_m = short_bandwidth_m

    def _check_weight(self) -> float:
        w = float(self.weight)
        if not 0 <= w <= 1:
            raise param_error("weight", f"must be in [0, 1], got {self.weight!r}")
        return w

    def fit(self, incidents: Any, grid: Any) -> Blend:
        inc, g = check_inputs(incidents, grid)
        self._check_weight()
        self.long_ = Naive(window_days=self.long_window_days).fit(inc, g)
        self.short_ = KDE(bandwidth=self.short_bandwidth_m, mode="exact", window_days=self.short_window_days).fit(inc, g)
        self.grid_, self.tz_, self.n_incidents_ = g, inc.tz, len(inc)
        self.fitted_ = True
        return self

    def components(self, at: Any = None, horizon: Any = "7D") -> tuple[np.ndarray, np.ndarray]:
        """Expected counts over ``horizon`` of the long and the short component (flat arrays
        over every cell). A short window with no incident gives a zero short component."""
        self._check_fitted()
        h = pd.Timedelta(horizon)
        long = _expected(self.long_.predict(at=at), h)
        try:
            short = _expected(self.short_.predict(at=at), h)
        except Exception as e:  # an empty short window
            from ..exceptions import EmptyInputError

            if not isinstance(e, EmptyInputError):
                raise
            short = np.zeros_like(long)
        return long, short

    def combine(self, long: np.ndarray, short: np.ndarray, at: Any, horizon: Any) -> Surface:
        """The blended surface from precomputed components."""
        w = self._check_weight()
        g = self.grid_
        v = (w * long + (1 - w) * short).reshape(g.shape)
        h = pd.Timedelta(horizon)
        at_ts = None if at is None else pd.Timestamp(at)
        return Surface(v, g, model="Blend",
                       params={"weight": w, "long_window_days": self.long_window_days,
                               "short_window_days": self.short_window_days, "short_bandwidth_m": self.short_bandwidth_m},
                       units="expected incidents per cell over the horizon", at=at_ts, horizon=h)

    def predict(self, at: Any = None, horizon: Any = "7D") -> Surface:
        """Expected incidents per cell over ``[at, at + horizon)``."""
        long, short = self.components(at, horizon)
        return self.combine(long, short, at, horizon)
