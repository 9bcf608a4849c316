"""Risk-factor model: features by hand, the Poisson learner against scikit-learn and a
closed form, relative risks, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise import _native

UTM = "EPSG:32616"
DAY = 86_400


def small_city(seed: int = 0) -> tuple[pw.Incidents, pw.Grid]:
    """A 20 × 20 grid of 100 m cells; incidents concentrate near a 'bar' at (500, 500)."""
    rng = np.random.default_rng(seed)
    n = 3000
    near = rng.random(n) < 0.5
    x = np.where(near, rng.normal(500, 150, n), rng.uniform(0, 2000, n)).clip(1, 1999)
    y = np.where(near, rng.normal(500, 150, n), rng.uniform(0, 2000, n)).clip(1, 1999)
    t = np.sort(rng.integers(0, 400 * DAY, n))
    inc = pw.Incidents.from_arrays(x=x, y=y, t=t, crs=UTM, tz="UTC")
    g = pw.Grid(pw.Region.from_bounds(0, 0, 2000, 2000, crs=UTM), cell_size=100)
    return inc, g


def test_poisson_matches_closed_form_two_groups() -> None:
    # group 0: 8 rows and 12 incidents; group 1: 4 rows and 18 incidents
    x = np.array([[0.0]] * 8 + [[1.0]] * 4)
    y = np.array([1, 2, 1, 3, 0, 2, 1, 2, 5, 4, 6, 3], dtype=float)
    f = _native.fit_poisson(x, y, alpha=0.0, dispersion="fixed")
    assert f.intercept == pytest.approx(math.log(1.5), abs=1e-9)
    assert f.coef[0] == pytest.approx(math.log(3.0), abs=1e-9)
    # Var(log rate ratio) = 1/12 + 1/18 (Poisson, no overdispersion)
    assert f.se[0] == pytest.approx(math.sqrt(1 / 12 + 1 / 18), abs=1e-9)


def test_poisson_matches_scikit_learn_with_the_same_alpha() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(3)
    n, p = 4000, 4
    x = rng.normal(size=(n, p))
    beta = np.array([0.5, -0.3, 0.0, 0.2])
    y = rng.poisson(np.exp(0.1 + x @ beta)).astype(float)
    for alpha in (1e-4, 1e-2, 0.1):
        ours = _native.fit_poisson(x, y, alpha=alpha, dispersion="fixed")
        ref = sklearn.PoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(x, y)
        # both minimise the same convex objective to tolerance 1e-12: agreement to 1e-7
        assert np.asarray(ours.coef) == pytest.approx(ref.coef_, abs=1e-7)
        assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-7)
        # SEs: sandwich H⁻¹ I H⁻¹ from sklearn's coefficients, computed with numpy
        xa = np.column_stack([np.ones(n), x])
        mu = np.exp(ref.intercept_ + x @ ref.coef_)
        info = xa.T @ (mu[:, None] * xa)
        pen = info + alpha * n * np.diag([0.0] + [1.0] * p)
        hinv = np.linalg.inv(pen)
        se = np.sqrt(np.diag(hinv @ info @ hinv))
        assert np.asarray(ours.se) == pytest.approx(se[1:], rel=1e-6)


def test_features_by_hand_and_no_leak() -> None:
    g = pw.Grid(pw.Region.from_bounds(0, 0, 500, 500, crs=UTM), cell_size=100)
    inc = pw.Incidents.from_arrays(x=[250.0, 250.0, 350.0], y=[250.0, 250.0, 250.0], t=[DAY, 95 * DAY, 99 * DAY], crs=UTM, tz="UTC")
    x, names, units, cells = _native.build_features(g._native, inc._native, [100 * DAY], [], windows_days=[7.0, 90.0],
                                                    neighbour_radii_m=[100.0])
    f = pd.DataFrame(x, columns=names, index=cells)
    assert f.loc[12, "count_7d"] == pytest.approx(math.log1p(1))
    assert f.loc[12, "count_90d"] == pytest.approx(math.log1p(1))  # day 1 is 99 days back
    assert f.loc[13, "neighbours_100m"] == pytest.approx(math.log1p(2))
    assert f.loc[12, "near_repeat"] == pytest.approx(math.exp(-1 / 14))
    assert len(units) == len(names)
    x2, names2, _, _ = _native.build_features(g._native, inc._native, [95 * DAY], [], windows_days=[7.0])
    assert x2[12, names2.index("count_7d")] == 0.0  # the incident at the origin is not used


def test_risk_factors_model_finds_the_bar_and_is_calibrated() -> None:
    inc, g = small_city()
    bar = {"bar": (np.array([500.0]), np.array([500.0]))}
    # without long count windows, only the layer can explain where incidents concentrate
    m = pw.RiskFactors(layers=bar, windows_days=(7,), neighbour_radii_m=(), training_origins=6).fit(inc, g)
    rr = m.relative_risks_.set_index("factor")
    # closer to the bar / denser is riskier, with the interval excluding 1
    assert rr.loc["distance_bar", "ci_high"] < 1 or rr.loc["density_bar", "ci_low"] > 1
    assert (rr["ci_low"] <= rr["relative_risk"]).all() and (rr["relative_risk"] <= rr["ci_high"]).all()
    assert m.dispersion_ > 0
    s = m.predict(at=pd.Timestamp(390 * DAY, unit="s", tz="UTC"), horizon="7D")
    assert s.units == "expected incidents per cell over the horizon"
    # calibrated: the expected total over a week is near the observed weekly rate (3000 / 400 × 7 = 52.5)
    total = float(s.values.sum())
    assert 35 < total < 75, total


def test_any_scikit_learn_regressor() -> None:
    ens = pytest.importorskip("sklearn.ensemble")
    inc, g = small_city(1)
    m = pw.RiskFactors(estimator=ens.HistGradientBoostingRegressor(loss="poisson", max_iter=30, random_state=0),
                       windows_days=(28, 365), training_origins=4).fit(inc, g)
    assert m.relative_risks_ is None
    s = m.predict(horizon="7D")
    assert (s.values >= 0).all() and s.values.sum() > 0


def test_bad_layers_and_parameters() -> None:
    gpd = pytest.importorskip("geopandas")
    inc, g = small_city(2)
    with pytest.raises(pw.EmptyInputError, match="empty_layer"):
        pw.RiskFactors(layers={"empty_layer": (np.array([]), np.array([]))}).fit(inc, g)
    ll = gpd.GeoDataFrame(geometry=gpd.points_from_xy([-87.6], [41.8]), crs="EPSG:4326")
    with pytest.raises(pw.InvalidParameterError) as e:
        pw.RiskFactors(layers={"stops": ll}).fit(inc, g)
    assert "layers[stops]" in str(e.value) and "to_crs" in str(e.value)
    with pytest.raises(pw.InvalidParameterError) as e2:
        pw.RiskFactors(neighbour_radii_m=(float("nan"),)).fit(inc, g)
    assert e2.value.name == "neighbour_radii_m"
    with pytest.raises(pw.InvalidParameterError) as e3:
        pw.RiskFactors(near_repeat_radius_m=float("inf")).fit(inc, g)
    assert e3.value.name == "near_repeat_radius_m"
    with pytest.raises(pw.InvalidParameterError) as e4:
        pw.RiskFactors(dispersion="poisson").fit(inc, g)
    assert e4.value.name == "dispersion"


def test_chicago_layers_reader(shared_data) -> None:
    layers = pw.datasets.read_chicago_risk_factors(shared_data, crs="EPSG:32616")
    assert set(layers) == set(pw.datasets.CHICAGO_RISK_LAYERS)
    assert len(layers["rail_stations"]) == 143
    assert all(str(v.crs) == "EPSG:32616" and len(v) > 0 for v in layers.values())
