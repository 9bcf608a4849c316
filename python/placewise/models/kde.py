"""Kernel density estimation of incident intensity on a grid."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from ..exceptions import PlacewiseWarning, param_error
from ..surface import Surface
from ._base import Model
from .. import _check
from ._common import at_seconds, check_inputs, surface


class KDE(Model):
    """Kernel density estimate of incident intensity (Silverman 1986), exact or binned-FFT.

    Values are ``A · Σ w_i K_h(centre − x_i)`` (``A`` the cell area): kernel-weighted incidents
    per cell over the training window.

    Parameters
    ----------
    bandwidth : float, "scott", "silverman", list of floats, or "knn"
        A bandwidth in metres; Scott's rule ``σ̄ n^{-1/6}``; Silverman's robust rule
        ``min(σ̄, IQR̄/1.349) n^{-1/6}``; a list of candidates chosen by leave-one-out
        likelihood cross-validation (scores in ``cv_scores_``); or "knn": adaptive, each
        incident's bandwidth is the distance to its ``k``-th nearest other incident (at least
        ``min_bandwidth`` m). Rules and cross-validation use every training incident.
    kernel : "gaussian", "quartic" or "uniform"
    mode : "exact" or "binned"
        ``exact`` sums every point–cell pair within ``cutoff`` bandwidths (Gaussian; the compact
        kernels are exact); each point misses at most ``e^{-cutoff²/2}`` (1.5e-8 at 6) of its
        peak per cell; ``cutoff=float("inf")`` sums every pair. ``binned`` spreads incidents
        onto a lattice with Lagrange interpolation weights and convolves by FFT; with the
        Gaussian kernel and no ``binning_order`` the lattice may be coarser than the cells
        (up to 8 cells, when the bandwidth spans many cells), and the result is interpolated
        to the cell centres (order in ``surface.params``). Its worst-case error (per unit of
        total weight × kernel peak, binning and interpolation together) is kept ≤ 1e-5 when
        the cell is ≤ bandwidth/4 and is reported as ``surface.params["error_bound"]``
        (absolute). An explicit ``binning_order`` bins onto the cell centres themselves
        (``2``: classic linear binning).
        ``binned`` refuses a bandwidth smaller than a cell, the uniform kernel and adaptive
        bandwidths.
    window_days : float, optional
        Use only incidents in ``[at - window_days, at)``.
    half_life_days : float, optional
        Weight incidents by ``2^{-(at - t)/half_life}``.

    Edges: no edge correction; kernel mass outside the grid is lost, not renormalised
    (``surface.params["mass_share_active"]`` reports the share on active cells).

    ``predict(at)`` uses incidents strictly before ``at`` (default: just after the last
    training incident); ``at`` at or before the first training incident is refused.

    >>> import placewise as pw
    >>> city = pw.datasets.load_chicago(cell_size=500)
    >>> s = pw.KDE(bandwidth=400).fit(city.incidents, city.grid).predict(at="2019-07-01")
    >>> s.params["kernel"], s.values.shape == city.grid.shape
    ('gaussian', True)
    """

    def __init__(
        self,
        bandwidth: float | str | Sequence[float] = 250.0,
        kernel: str = "gaussian",
        mode: str = "exact",
        cutoff: float = 6.0,
        window_days: float | None = None,
        half_life_days: float | None = None,
        k: int | None = None,
        min_bandwidth: float = 1.0,
        binning_order: int | None = None,
    ) -> None:
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.mode = mode
        self.cutoff = cutoff
        self.window_days = window_days
        self.half_life_days = half_life_days
        self.k = k
        self.min_bandwidth = min_bandwidth
        self.binning_order = binning_order

    def _rule(self) -> dict[str, Any]:
        bw = self.bandwidth
        if isinstance(bw, str):
            if bw not in ("scott", "silverman", "knn"):
                raise param_error("bandwidth", f"{bw!r}; give metres, 'scott', 'silverman', 'knn' or a list for cross-validation")
            if bw == "knn" and self.k is None:
                raise param_error("k", "bandwidth='knn' needs k (the neighbour rank)")
            return {"rule": bw}
        if isinstance(bw, numbers.Real) and not isinstance(bw, bool):
            return {"rule": "fixed", "bandwidth": float(bw)}
        if isinstance(bw, (Sequence, np.ndarray)):
            vals = [float(v) for v in bw]
            return {"rule": "cv", "bandwidths": vals}
        raise param_error("bandwidth", f"{bw!r} is not a number, rule name or list")

    def fit(self, incidents: Any, grid: Any) -> KDE:
        """Chooses the bandwidth on ``incidents`` and stores them with ``grid``."""
        inc, g = check_inputs(incidents, grid)
        kw = self._rule()
        self._model = _native.KDEModel(
            inc._native,
            g._native,
            kernel=str(self.kernel),
            mode=str(self.mode),
            cutoff=float(self.cutoff),
            window_days=None if self.window_days is None else float(self.window_days),
            half_life_days=None if self.half_life_days is None else float(self.half_life_days),
            k=None if self.k is None else _check.integer("k", self.k, 0),  # its domain is the core's
            min_bandwidth=float(self.min_bandwidth),
            binning_order=None if self.binning_order is None else int(self.binning_order),
            **kw,
        )
        self.bandwidth_ = self._model.bandwidth_m
        if self.mode == "binned" and self.bandwidth_ < 4 * g.cell_size:
            warnings.warn(
                f"KDE binned mode with bandwidth {self.bandwidth_:g} m on {g.cell_size:g} m cells: the binning error "
                "guarantee (≤ 1e-5 of the kernel peak) needs cell ≤ bandwidth/4; see surface.params['error_bound'] "
                "or use mode='exact'",
                PlacewiseWarning,
                stacklevel=2,
            )
        scores = self._model.cv_scores
        self.cv_scores_ = None if scores is None else pd.DataFrame(scores, columns=["bandwidth_m", "loo_log_likelihood"])
        self.point_bandwidths_ = self._model.point_bandwidths
        self.grid_ = g
        self.tz_ = inc.tz
        self.n_incidents_ = len(inc)
        self.fitted_ = True
        return self

    def predict(self, at: Any = None) -> Surface:
        """The KDE surface from incidents strictly before ``at`` (a time read in the incidents'
        zone; default just after the last incident)."""
        self._check_fitted()
        return surface(self._model.predict(at_seconds(at, self.tz_)), self.grid_, "KDE", self.tz_)


def kde_grid(
    grid: Any,
    x: Any,
    y: Any,
    bandwidth: float,
    weights: Any = None,
    kernel: str = "gaussian",
    mode: str = "exact",
    cutoff: float = 6.0,
    binning_order: int | None = None,
) -> np.ndarray:
    """Kernel sum of points (metres, in the grid's CRS) on every cell: an (ny, nx) array of
    ``A · Σ w K_h``, without a model or time window."""
    from ..space import Grid

    if not isinstance(grid, Grid):
        raise param_error("grid", f"expected placewise.Grid, got {type(grid).__name__}")
    xs = np.ascontiguousarray(x, dtype=np.float64)
    ys = np.ascontiguousarray(y, dtype=np.float64)
    ws = np.ones_like(xs) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    values, _ = _native.kde_grid(grid._native, xs, ys, ws, float(bandwidth), kernel=kernel, mode=mode, cutoff=float(cutoff),
                                 binning_order=binning_order)
    return values
