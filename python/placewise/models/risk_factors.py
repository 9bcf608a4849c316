"""Risk-factor (risk terrain) model: features per cell built in Rust, a penalised Poisson
log-linear learner in Rust (or any scikit-learn regressor), expected counts per cell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from .._time import to_utc_seconds
from ..exceptions import param_error
from ..surface import Surface
from ._base import Model
from ._common import at_seconds, check_inputs, surface

_DAY_S = 86_400


def layer_arrays(layers: Mapping[str, Any] | None, grid: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, x, y)`` per layer, in the grid's CRS.

    A layer is a GeoDataFrame / GeoSeries of points (its CRS must equal the grid's: project it
    with ``.to_crs(grid.crs)`` first; nothing is reprojected silently) or an ``(x, y)`` pair of
    arrays in the grid's CRS. Rows with a missing or non-point geometry are an error naming
    the layer and row.
    """
    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    if layers is None:
        return out
    if not isinstance(layers, Mapping):
        raise param_error("layers", f"a mapping of layer name to points (GeoDataFrame or (x, y))")
    for name, layer in layers.items():
        pname = f"layers[{name}]"
        geom = getattr(layer, "geometry", None)
        if geom is not None:
            crs = getattr(layer, "crs", None)
            if crs is None or grid.crs is None or not grid.crs.equals(crs):
                raise param_error(f"{pname}", f"its CRS ({getattr(crs, 'name', None)}) differs from the grid's "
                    f"({getattr(grid.crs, 'name', None)}); project it first with .to_crs(grid.crs)"
                )
            bad = geom.isna() | geom.is_empty
            if bad.any():
                raise param_error(f"{pname}", f"row {int(np.flatnonzero(bad.to_numpy())[0])} has no geometry")
            kinds = geom.geom_type.to_numpy()
            if (kinds != "Point").any():
                i = int(np.flatnonzero(kinds != "Point")[0])
                raise param_error(f"{pname}", f"row {i} is a {kinds[i]}, not a point")
            x, y = geom.x.to_numpy(dtype=np.float64), geom.y.to_numpy(dtype=np.float64)
        elif isinstance(layer, (tuple, list)) and len(layer) == 2:
            x = np.asarray(layer[0], dtype=np.float64).ravel()
            y = np.asarray(layer[1], dtype=np.float64).ravel()
        else:
            raise param_error(f"{pname}", f"give a GeoDataFrame/GeoSeries of points or an (x, y) pair")
        out.append((str(name), np.ascontiguousarray(x), np.ascontiguousarray(y)))
    return out


class RiskFactors(Model):
    """Risk terrain style model: expected incidents per cell over the next ``horizon_days``
    from the cell's own history, its neighbours, near repeats and the places around it.

    At ``training_origins`` origins spaced ``horizon_days`` apart before the end of the
    training data (or ``until``), Rust builds features for every active cell — lagged counts
    (``windows_days``), decayed counts (``half_lives_days``), neighbour counts
    (``neighbour_radii_m``), near-repeat recency, and the distance to / kernel density of each
    point layer in ``layers`` — and pairs them with the cell's count over the next horizon.
    The default learner is a penalised Poisson log-linear model fitted by IRLS in Rust (L2
    penalty ``alpha`` on scikit-learn's scale; standard errors from the inverse Fisher
    information, multiplied by the Pearson overdispersion when ``dispersion="pearson"``, the
    default). ``relative_risks_`` lists each factor's relative risk per unit with a Wald
    ``confidence`` interval. Any scikit-learn regressor may be passed as ``estimator`` (e.g.
    ``HistGradientBoostingRegressor(loss="poisson")``); then there are no relative risks.

    Point layers are snapshots: a layer from one year used across others is an assumption, and
    the model's output says which layers it used. Features at origin ``t`` use incidents
    strictly before ``t``. Values are expected counts (calibrated).
    """

    def __init__(
        self,
        layers: Mapping[str, Any] | None = None,
        windows_days: Sequence[float] = (7, 28, 91, 365),
        half_lives_days: Sequence[float] = (),
        neighbour_radii_m: Sequence[float] = (300, 600),
        neighbour_window_days: float = 365,
        near_repeat_radius_m: float = 200,
        near_repeat_days: float = 14,
        distance_cap_m: float = 2000,
        density_bandwidth_m: float = 400,
        horizon_days: float = 7,
        training_origins: int = 8,
        alpha: float = 1e-4,
        dispersion: str = "pearson",
        estimator: Any = None,
        confidence: float = 0.95,
    ) -> None:
        self.layers = layers
        self.windows_days = windows_days
        self.half_lives_days = half_lives_days
        self.neighbour_radii_m = neighbour_radii_m
        self.neighbour_window_days = neighbour_window_days
        self.near_repeat_radius_m = near_repeat_radius_m
        self.near_repeat_days = near_repeat_days
        self.distance_cap_m = distance_cap_m
        self.density_bandwidth_m = density_bandwidth_m
        self.horizon_days = horizon_days
        self.training_origins = training_origins
        self.alpha = alpha
        self.dispersion = dispersion
        self.estimator = estimator
        self.confidence = confidence

    def _spec(self) -> dict[str, Any]:
        return {
            "windows_days": [float(v) for v in self.windows_days],
            "half_lives_days": [float(v) for v in self.half_lives_days],
            "neighbour_radii_m": [float(v) for v in self.neighbour_radii_m],
            "neighbour_window_days": float(self.neighbour_window_days),
            "near_repeat_radius_m": float(self.near_repeat_radius_m),
            "near_repeat_days": float(self.near_repeat_days),
            "distance_cap_m": float(self.distance_cap_m),
            "density_bandwidth_m": float(self.density_bandwidth_m),
        }

    def fit(self, incidents: Any, grid: Any, until: Any = None) -> RiskFactors:
        """Builds the training features and fits the learner; ``until`` (a time) ends the
        training data (default: just after the last incident)."""
        inc, g = check_inputs(incidents, grid)
        if not isinstance(self.training_origins, (int, np.integer)) or isinstance(self.training_origins, bool):
            raise param_error("training_origins", f"an integer >= 1, got {self.training_origins!r}")
        layers = layer_arrays(self.layers, g)
        until_s = None if until is None else to_utc_seconds(until, inc.tz, "until")
        self.layer_names_ = [n for n, _, _ in layers]
        if self.estimator is None:
            self._model = _native.RiskFactorModel(
                inc._native, g._native, layers, **self._spec(), horizon_days=float(self.horizon_days),
                training_origins=int(self.training_origins), alpha=float(self.alpha), dispersion=str(self.dispersion),
                until=until_s,
            )
            f = self._model.fit
            self.feature_names_ = list(self._model.feature_names)
            rr = self._model.relative_risks(float(self.confidence))
            self.relative_risks_ = pd.DataFrame([{"factor": r.name, "unit": r.unit, "coef": r.coef, "se": r.se,
                                                  "relative_risk": r.relative_risk, "ci_low": r.ci_low,
                                                  "ci_high": r.ci_high} for r in rr])
            self.intercept_ = f.intercept
            self.dispersion_ = f.dispersion
            self.converged_ = f.converged
            self.iterations_ = f.iterations
            self.deviance_explained_ = 1 - f.deviance / f.null_deviance if f.null_deviance > 0 else float("nan")
            self.estimator_ = None
        else:
            from sklearn.base import clone

            if until_s is None:
                first, last = inc.time_span  # type: ignore[misc]
                until_s = to_utc_seconds(last, inc.tz, "until") + 1
            h = int(round(float(self.horizon_days) * _DAY_S))
            if not h > 0:
                raise param_error("horizon_days", f"must be > 0, got {self.horizon_days!r}")
            origins = [until_s - j * h for j in range(int(self.training_origins), 0, -1)]
            x, names, _, _ = _native.build_features(g._native, inc._native, origins, layers, **self._spec())
            y = _native.future_counts(g._native, inc._native, origins, float(self.horizon_days))
            self.estimator_ = clone(self.estimator).fit(x, y)
            self.feature_names_ = list(names)
            self.relative_risks_ = None
            self._until = until_s
        self.grid_, self.tz_, self.n_incidents_ = g, inc.tz, len(inc)
        self._inc = inc
        self.fitted_ = True
        return self

    def predict(self, at: Any = None, horizon: Any = None) -> Surface:
        """Expected incidents per cell over ``[at, at + horizon)`` (``horizon`` defaults to
        ``horizon_days``; another length rescales the rate)."""
        self._check_fitted()
        h_days = float(self.horizon_days) if horizon is None else pd.Timedelta(
            horizon if not isinstance(horizon, (int, float)) else f"{horizon}D") / pd.Timedelta(days=1)
        at_s = at_seconds(at, self.tz_)
        if self.estimator_ is None:
            s = surface(self._model.predict(at_s, h_days), self.grid_, "RiskFactors", self.tz_)
        else:
            g = self.grid_
            at_s = self._until if at_s is None else at_s
            x, _, _, cells = _native.build_features(g._native, self._inc._native, [at_s], layer_arrays(self.layers, g),
                                                    **self._spec())
            mu = np.clip(np.asarray(self.estimator_.predict(x), dtype=np.float64), 0, None) * (h_days / float(self.horizon_days))
            values = np.zeros(g.n_cells)
            values[cells.astype(np.int64)] = mu
            s = Surface(values.reshape(g.shape), g, model="RiskFactors",
                        params={"estimator": repr(self.estimator_), "features": ",".join(self.feature_names_)},
                        window=None, units="expected incidents per cell over the horizon",
                        at=pd.Timestamp(at_s, unit="s", tz="UTC").tz_convert(self.tz_))
        s.horizon = pd.Timedelta(days=h_days)
        return s

    @staticmethod
    def fit_predict_shared(model: RiskFactors, train: Any, grid: Any, at: pd.Timestamp, horizon: pd.Timedelta,
                           shared: dict[tuple[Any, ...], Any], warm_start: bool = True) -> Surface:
        """Fit ``model`` on ``train`` ending at ``at`` and predict over ``horizon``, sharing the
        feature matrices in ``shared`` with every other call whose features are the same (the
        penalty and dispersion do not change them): the rolling search's shortcut. With
        ``warm_start`` each fit starts from the coefficients of the nearest penalty already fitted on the same
        features, so its estimate can differ from a cold start's within the solver's
        tolerance (Newton decrement < 1e-16)."""
        inc, g = check_inputs(train, grid)
        spec = model._spec()
        at_s = to_utc_seconds(at, inc.tz, "at")
        key = ("risk_factors", tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in spec.items()),
               id(model.layers), float(model.horizon_days), int(model.training_origins), at_s)
        if key not in shared:
            # the layers' columns do not depend on the origin: built once per layer set
            lkey = ("risk_factor_layers", id(model.layers), spec["distance_cap_m"], spec["density_bandwidth_m"])
            if lkey not in shared:
                layers = layer_arrays(model.layers, g)
                if layers:
                    xs, ns, _, _ = _native.build_features(g._native, inc._native, [at_s], layers, **spec)
                    shared[lkey] = (xs[:, -2 * len(layers):], ns[-2 * len(layers):])
                else:
                    shared[lkey] = (np.zeros((g.n_active, 0)), [])
            xs, lnames = shared[lkey]
            h = int(round(float(model.horizon_days) * _DAY_S))
            origins = [at_s - j * h for j in range(int(model.training_origins), 0, -1)]
            x, names, _, _ = _native.build_features(g._native, inc._native, origins + [at_s], [], **spec)
            x = np.hstack([x, np.tile(xs, (len(origins) + 1, 1))])
            y = _native.future_counts(g._native, inc._native, origins, float(model.horizon_days))
            n_tr = len(origins) * xs.shape[0]
            cells = np.flatnonzero(g.mask().ravel())
            shared[key] = (np.ascontiguousarray(x[:n_tr]), y, x[n_tr:], cells, list(names) + list(lnames))
        x, y, xa, cells, names = shared[key]
        # warm start: the coefficients at the nearest penalty already fitted on these features
        # (the optimum is the same; Newton needs fewer steps from nearby)
        fits = shared.setdefault(("risk_factor_fits", key), {})
        alpha = float(model.alpha)
        start = None
        if warm_start and fits and alpha > 0:
            near = min((a for a in fits if a > 0), key=lambda a: (abs(np.log(a / alpha)), a), default=None)
            start = None if near is None else fits[near]
        f = _native.fit_poisson(x, y, alpha=alpha, dispersion=str(model.dispersion), start=start)
        fits.setdefault(alpha, [float(f.intercept), *map(float, f.coef)])
        h_days = horizon / pd.Timedelta(days=1)
        mu = np.exp(f.intercept + xa @ np.asarray(f.coef)) * (h_days / float(model.horizon_days))
        values = np.zeros(g.n_cells)
        values[cells] = mu
        return Surface(values.reshape(g.shape), g, model="RiskFactors",
                       params={"alpha": float(model.alpha), "features": ",".join(names)},
                       units="expected incidents per cell over the horizon", at=at, horizon=horizon)
