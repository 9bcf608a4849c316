"""Self-exciting point process (SEPP) models: fit by EM, predict expected counts, simulate.

Two models (see the Rust core, ``src/models/sepp/mod.rs``, for the full mathematics):

* ``kind="space_time"`` — Mohler et al. (2011), *Self-exciting point process modeling of
  crime*, JASA 106(493): a triggering kernel ``θ ω e^{−ωΔt} N(Δx, Δy; σ²)`` that crosses
  cells, truncated (and renormalised) at ``time_cutoff_days`` and ``space_cutoff_m``, and by
  default their variable-bandwidth kernel background: each event's Gaussian kernel, with the
  distance to its ``background_k``-th nearest neighbour as bandwidth, weighted by the event's
  background probability from the E-step (weighted declustering), left-one-out at the events,
  with the E-step's background/triggering split corrected for the estimate's sampling variance
  (``docs/sepp.md``).
  Unlike a per-cell background (``background="grid"``), whose free rate per cell absorbs
  triggered clusters on fine grids and smears clustered backgrounds on coarse ones, it does not
  depend on the grid's cell size, so θ, ω and σ do not either. The E-step visits only pairs
  whose kernel value is at least ``trigger_tol`` times its peak at the current σ and ω,
  through a bucket index; it never builds an N × N matrix. ``dropped_kernel_share_`` bounds
  the share of the kernel so skipped.
* ``kind="grid"`` — Mohler et al. (2015), *Randomized controlled field trials of predictive
  policing*, JASA 110(512): grid ETAS, each cell its own background ``μ_n`` plus exponential
  triggering by earlier events in the same cell, with the edge-corrected M-step. Exact O(N)
  recursion; the cut-offs do not apply.

Exact repeats (identical timestamps) never trigger one another (``p_ij = 0``), so times heaped
at midnight or recorded to the minute cannot drive ``ω`` to infinity. ``σ`` is bounded below by
``min_sigma_m`` (set it to the geocoding precision).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from .._time import seconds_to_timestamps, to_utc_seconds
from ..exceptions import NotConvergedError, PlacewiseWarning, param_error
from ..surface import Surface
from ._base import Model
from ._common import check_inputs

KINDS = ("space_time", "grid")
_SECONDS_PER_DAY = 86_400


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise param_error(name, f"expected a number, got {value!r}")
    return float(value)


def _days(name: str, value: Any) -> float:
    """A duration as days: a number of days, a pandas offset string ("7D", "12h") or a timedelta."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError) as e:
        raise param_error(name, f"{value!r} is not a duration ({e})") from e
    if td is pd.NaT:
        raise param_error(name, "missing duration")
    return td.total_seconds() / _SECONDS_PER_DAY


class SEPP(Model):
    """Self-exciting point process fitted by EM (scikit-learn style).

    Parameters
    ----------
    kind
        ``"space_time"`` (default) or ``"grid"``.
    background, background_k, min_bandwidth_m, bandwidth_m
        Space–time background: ``"knn"`` (default for ``kind="space_time"``; Mohler et al.
        2011: Gaussian kernels with the distance to the ``background_k``-th nearest other
        event as bandwidth, at least ``min_bandwidth_m`` metres, weighted by each event's
        background probability; not an exact EM, so the log-likelihood path need not rise
        monotonically), ``"grid"`` (one rate per active cell; the estimates then depend on the
        cell size) or ``"kde"`` (a fixed-bandwidth Gaussian KDE of the training events,
        leave-one-out, s.d. ``bandwidth_m`` metres, times one rate fitted by EM; its shape is
        fixed so the EM stays exact). ``kind="grid"`` always uses ``"grid"``.
    trigger_tol
        Relative tolerance of the space–time E-step: pairs whose triggering kernel value is
        below ``trigger_tol`` times its peak at the current σ and ω are skipped (default 1e-5;
        0 visits every pair within the cut-offs). The fitted ``dropped_kernel_share_`` is the
        largest share of an event's kernel so skipped (about 1.3e-4 at the default), a bound on
        the relative downward bias this puts on θ.
    time_cutoff_days, space_cutoff_m
        Cut-offs of the space–time triggering kernel (pairs further apart in time or space do
        not trigger). ``kind="grid"`` has no cut-offs (exact recursion) and uses
        ``time_cutoff_days`` only for its default starting value of ``1/ω``.
    min_sigma_m
        Lower bound on the spatial kernel's s.d. (metres).
    max_iter, tol, param_tol
        EM stops when the relative log-likelihood change is below ``tol`` and the parameter
        change ``max(|Δθ|, θ·|Δω|/ω, θ·|Δσ|/σ, |Δμ|/μ)`` is below ``param_tol`` (ω and σ are
        weighted by θ, as they are not identified when θ → 0), or after ``max_iter`` iterations.
    init
        Starting ``{"theta": ..., "omega": ... (per day), "sigma": ... (m)}``; default
        θ = 0.5 and, for ``"space_time"``, 1/ω = min(time_cutoff_days, span) / 40 and
        σ = space_cutoff_m / 20 (a small kernel: the pairs the E-step visits grow with it, so a
        small start keeps early iterations cheap); for ``"grid"`` 1/ω = min(time_cutoff_days,
        span) / 10.
    on_not_converged
        ``"raise"`` (default): raise :class:`~placewise.NotConvergedError` whose ``.partial``
        is a fitted copy holding the last iterate; ``"warn"``: warn and keep the last iterate.
    n_threads
        Threads for the E-step (default: all). Results are identical for any value.

    Fitted attributes: ``theta_`` (branching ratio), ``omega_`` (decay rate per day; mean lag
    ``1/omega_`` days), ``sigma_`` (metres; None for ``"grid"``), ``mu_`` (background events per
    day per cell, shape (ny, nx)), ``background_rate_`` (events per day in all), ``loglik_``, ``loglik_path_``, ``n_iter_``, ``aic_``,
    ``n_params_``, ``converged_``, ``triggered_share_``, ``n_pairs_``, ``dropped_kernel_share_``,
    ``window_``.

    Examples
    --------
    >>> import placewise as pw
    >>> city = pw.datasets.load_chicago(cell_size=500)
    >>> model = pw.SEPP(kind="grid", max_iter=500).fit(city.incidents, city.grid)
    >>> 0 <= model.theta_ < 1
    True
    >>> surface = model.predict(horizon="7D")
    >>> surface.values.shape == city.grid.shape
    True
    """

    def __init__(
        self,
        kind: str = "space_time",
        *,
        background: str | None = None,
        bandwidth_m: float | None = None,
        background_k: int = 15,
        min_bandwidth_m: float = 10.0,
        trigger_tol: float = 1e-5,
        time_cutoff_days: float = 120.0,
        space_cutoff_m: float = 500.0,
        min_sigma_m: float = 1.0,
        max_iter: int = 200,
        tol: float = 1e-6,
        param_tol: float = 1e-4,
        init: dict[str, float] | None = None,
        on_not_converged: str = "raise",
        n_threads: int | None = None,
    ) -> None:
        self.kind = kind
        self.background = background
        self.bandwidth_m = bandwidth_m
        self.background_k = background_k
        self.min_bandwidth_m = min_bandwidth_m
        self.trigger_tol = trigger_tol
        self.time_cutoff_days = time_cutoff_days
        self.space_cutoff_m = space_cutoff_m
        self.min_sigma_m = min_sigma_m
        self.max_iter = max_iter
        self.tol = tol
        self.param_tol = param_tol
        self.init = init
        self.on_not_converged = on_not_converged
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fit
    def _native_args(self) -> dict[str, Any]:
        if self.kind not in KINDS:
            raise param_error("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if self.on_not_converged not in ("raise", "warn"):
            raise param_error("on_not_converged", f"must be 'raise' or 'warn', got {self.on_not_converged!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise param_error("max_iter", f"must be an integer >= 1, got {self.max_iter!r}")
        if self.n_threads is not None and (
            isinstance(self.n_threads, bool) or not isinstance(self.n_threads, (int, np.integer)) or self.n_threads < 1
        ):
            raise param_error("n_threads", f"must be None or an integer >= 1, got {self.n_threads!r}")
        if (
            isinstance(self.background_k, bool)
            or not isinstance(self.background_k, (int, np.integer))
            or self.background_k < 1
        ):
            raise param_error("background_k", f"must be an integer >= 1, got {self.background_k!r}")
        if self.background is not None and not isinstance(self.background, str):
            raise param_error("background", f"expected a string, got {self.background!r}")
        init = None
        if self.init is not None:
            unknown = set(self.init) - {"theta", "omega", "sigma"}
            if unknown:
                raise param_error("init", f"unknown keys {sorted(unknown)}; use theta, omega, sigma")
            init = (
                _number("init.theta", self.init.get("theta", 0.5)),
                _number("init.omega", self.init.get("omega", 0.1)),
                _number("init.sigma", self.init.get("sigma", _number("space_cutoff_m", self.space_cutoff_m) / 5)),
            )
        return dict(
            kind=self.kind,
            background=self.background,
            bandwidth_m=None if self.bandwidth_m is None else _number("bandwidth_m", self.bandwidth_m),
            background_k=int(self.background_k),
            min_bandwidth_m=_number("min_bandwidth_m", self.min_bandwidth_m),
            trigger_tol=_number("trigger_tol", self.trigger_tol),
            time_cutoff_days=_number("time_cutoff_days", self.time_cutoff_days),
            space_cutoff_m=_number("space_cutoff_m", self.space_cutoff_m),
            min_sigma_m=_number("min_sigma_m", self.min_sigma_m),
            max_iter=int(self.max_iter),
            tol=_number("tol", self.tol),
            param_tol=_number("param_tol", self.param_tol),
            init=init,
            n_threads=None if self.n_threads is None else int(self.n_threads),
        )

    def fit(self, incidents: Any, grid: Any) -> SEPP:
        """Fits by EM on ``incidents`` (all inside ``grid``'s active cells) over their time span.

        Raises :class:`~placewise.NotConvergedError` (with ``.partial``) if the iteration limit
        is reached first and ``on_not_converged="raise"``.
        """
        incidents, grid = check_inputs(incidents, grid)
        native = _native.sepp_fit(incidents._native, grid._native, **self._native_args())
        if native.converged:
            self._set_fitted(native, grid, incidents.tz)
            return self
        msg = f"SEPP ({self.kind}) did not converge after {native.n_iter} iterations: {native.reason}"
        if self.on_not_converged == "warn":
            warnings.warn(msg + "; keeping the last iterate", PlacewiseWarning, stacklevel=2)
            self._set_fitted(native, grid, incidents.tz)
            return self
        partial = self.clone()
        assert isinstance(partial, SEPP)
        partial._set_fitted(native, grid, incidents.tz)
        err = NotConvergedError(msg)
        err.iterations = native.n_iter
        err.reason = native.reason
        err.partial = partial
        raise err

    def _set_fitted(self, native: Any, grid: Any, tz: str) -> None:
        self._fit = native
        self.grid_ = grid
        self.tz_ = tz
        self.theta_: float = native.theta
        self.omega_: float = native.omega
        self.sigma_: float | None = None if self.kind == "grid" else native.sigma
        self.mu_: np.ndarray = native.mu
        self.background_rate_: float = native.background_rate
        self.loglik_: float = native.loglik
        self.loglik_path_: np.ndarray = native.loglik_path
        self.n_iter_: int = native.n_iter
        self.aic_: float = native.aic
        self.n_params_: int = native.n_params
        self.converged_: bool = native.converged
        self.triggered_share_: float = native.triggered_share
        self.n_pairs_: int = native.n_pairs
        self.dropped_kernel_share_: float = native.dropped_kernel_share
        a, b = seconds_to_timestamps(np.array(native.window), tz)
        self.window_: tuple[pd.Timestamp, pd.Timestamp] = (a, b)
        self.fitted_ = True

    # ------------------------------------------------------------------ predict
    def predict(self, at: Any = None, horizon: Any = "7D") -> Surface:
        """Expected number of incidents per cell in ``[at, at + horizon)``.

        ``at`` defaults to the end of the training window (naive times are read in the
        incidents' zone); ``horizon`` is a duration (``"7D"``, a ``Timedelta``, or a number of
        days) and must be positive. Values integrate the background rate over the horizon and
        the triggering still owed by training events before ``at`` over the horizon and each
        cell; offspring of events inside the horizon itself are not included.
        """
        self._check_fitted()
        h_days = _days("horizon", horizon)
        if not (np.isfinite(h_days) and h_days > 0):
            raise param_error("horizon", f"must be a positive duration, got {horizon!r}")
        at_s = int(self._fit.window[1]) if at is None else to_utc_seconds(at, self.tz_, "at")
        h_s = int(round(h_days * _SECONDS_PER_DAY))
        if h_s <= 0:
            raise param_error("horizon", f"{horizon!r} is under one second")
        values = self._fit.predict(at_s, h_s)
        params = {k: v for k, v in self.get_params().items() if k not in ("on_not_converged", "n_threads")}
        params.update(theta=self.theta_, omega_per_day=self.omega_, sigma_m=self.sigma_)
        return Surface(
            values,
            self.grid_,
            model="SEPP",
            params=params,
            window=self.window_,
            units="expected incidents per cell over the horizon",
            at=seconds_to_timestamps(np.array([at_s]), self.tz_)[0],
            horizon=pd.Timedelta(seconds=h_s),
        )

    # ------------------------------------------------------------------ simulate
    @staticmethod
    def simulate(params: dict[str, Any], region: Any, T: Any, seed: int, **kwargs: Any) -> Any:
        """Same as :func:`placewise.models.sepp.simulate`."""
        return simulate(params, region, T, seed, **kwargs)


def simulate(
    params: dict[str, Any],
    region: Any,
    T: Any,
    seed: int,
    *,
    grid: Any = None,
    start: Any = "2020-01-01",
    tz: str = "UTC",
    max_events: int = 50_000_000,
) -> Any:
    """Exact simulation of a SEPP by its branching (cluster) construction.

    ``params``: ``theta`` (branching ratio, in [0, 1)), ``omega`` (per day), ``sigma`` (metres;
    0 puts offspring on their parent, the grid model), ``mu`` (background: events per day over
    the whole ``region``, uniform; or an array of shape ``grid.shape`` of events per day per
    cell, uniform within each cell, with ``grid=``), optional ``time_cutoff_days`` and
    ``space_cutoff_m`` (kernel truncation, as in the fitted model). ``T`` is the length (days,
    or a duration such as ``"365D"``) starting at ``start``; ``seed`` makes it reproducible.

    Returns :class:`~placewise.Incidents` in the region's CRS. Offspring that land outside the
    region are dropped and counted in ``.quality`` (reason ``outside_region``).
    """
    from ..data import Incidents
    from ..space import Grid, Region

    if not isinstance(region, Region):
        raise param_error("region", f"expected placewise.Region, got {type(region).__name__}")
    if not isinstance(params, dict):
        raise param_error("params", f"expected a dict, got {type(params).__name__}")
    allowed = {"theta", "omega", "sigma", "mu", "time_cutoff_days", "space_cutoff_m"}
    unknown = set(params) - allowed
    missing = {"theta", "omega", "sigma", "mu"} - set(params)
    if unknown or missing:
        raise param_error(
            "params",
            f"unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; expected {sorted(allowed)}",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise param_error("seed", f"must be a non-negative integer, got {seed!r}")
    t_days = _days("T", T)
    opt = {k: (None if params.get(k) is None else _number(k, params[k])) for k in ("time_cutoff_days", "space_cutoff_m")}
    mu = params["mu"]
    if np.ndim(mu) == 0:
        bg: dict[str, Any] = dict(region=region._native, rate_per_day=_number("mu", mu))
    else:
        if not isinstance(grid, Grid):
            raise param_error("grid", "per-cell rates `mu` need the Grid they refer to")
        bg = dict(grid=grid._native, cell_rates=np.ascontiguousarray(mu, dtype=np.float64))
    x, y, t, _parent = _native.sepp_simulate(
        _number("theta", params["theta"]),
        _number("omega", params["omega"]),
        _number("sigma", params["sigma"]),
        t_days,
        int(seed),
        max_events=int(max_events),
        **bg,
        **opt,
    )
    t0 = to_utc_seconds(start, tz, "start")
    ts = t0 + np.round(t * _SECONDS_PER_DAY).astype(np.int64)
    return Incidents.from_arrays(x, y, ts, crs=region.crs, tz=tz, region=region, source=f"SEPP simulation (seed {seed})")


__all__ = ["SEPP", "simulate", "KINDS"]
