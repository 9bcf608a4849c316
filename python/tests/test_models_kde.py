"""KDE: cross-checks against scikit-learn and scipy, binned-vs-exact error, mass, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import gaussian_kde
from sklearn.neighbors import KernelDensity

import placewise as pw

from test_models_common import cloud, grid, incidents


@pytest.fixture(scope="module")
def data():
    x, y, t = cloud(3000, seed=1)
    return x, y, t, incidents(x, y, t), grid(0, 0, 2000, 1500, 20)


def _centres(g):
    ids = np.arange(g.nx * g.ny)
    cx, cy = g.centres(ids)
    return np.column_stack([cx, cy])


@pytest.mark.parametrize("kernel,sk_kernel", [("gaussian", "gaussian"), ("uniform", "tophat")])
def test_exact_equals_scikit_learn(data, kernel, sk_kernel):
    x, y, _, inc, g = data
    h = 120.0
    s = pw.KDE(bandwidth=h, kernel=kernel, cutoff=float("inf")).fit(inc, g).predict()
    # scikit-learn's exact tree KDE (rtol=atol=0), normalised by n: density per m².
    kd = KernelDensity(bandwidth=h, kernel=sk_kernel).fit(np.column_stack([x, y]))
    dens = np.exp(kd.score_samples(_centres(g))).reshape(g.shape)
    expect = dens * len(x) * g.cell_size**2
    mask = expect > 0
    # 1e-6 relative on every cell with mass (the tolerance; round-off is ~1e-13)
    np.testing.assert_allclose(s.values[mask], expect[mask], rtol=1e-6)
    assert np.all(s.values[~mask] == 0)


def test_truncated_exact_within_stated_bound(data):
    x, y, _, inc, g = data
    h = 120.0
    s = pw.KDE(bandwidth=h).fit(inc, g).predict()  # cutoff 6 bandwidths
    kd = KernelDensity(bandwidth=h).fit(np.column_stack([x, y]))
    expect = np.exp(kd.score_samples(_centres(g))).reshape(g.shape) * len(x) * g.cell_size**2
    bound = len(x) * g.cell_size**2 / (2 * np.pi * h * h) * np.exp(-18)
    assert np.max(np.abs(s.values - expect)) <= bound
    assert float(s.params["error_bound"]) == pytest.approx(bound, rel=1e-9)


def test_exact_equals_scipy_gaussian_kde_and_scott_rule():
    # whiten the sample so its covariance is exactly s²·I: scipy's kernel is then isotropic
    rng = np.random.default_rng(5)
    p = rng.normal(size=(2500, 2))
    p -= p.mean(0)
    p = p @ np.linalg.inv(np.linalg.cholesky(np.cov(p.T))).T
    p = p * 300.0 + 1000.0
    inc = incidents(p[:, 0], p[:, 1], np.arange(len(p)) + 1_600_000_000)
    g = grid(0, 0, 2000, 2000, 25)
    model = pw.KDE(bandwidth="scott", cutoff=float("inf")).fit(inc, g)
    sk = gaussian_kde(p.T, bw_method="scott")
    assert model.bandwidth_ == pytest.approx(300.0 * sk.factor, rel=1e-12)
    s = model.predict()
    expect = sk(_centres(g).T).reshape(g.shape) * len(p) * g.cell_size**2
    np.testing.assert_allclose(s.values, expect, rtol=1e-6)


def test_quartic_equals_brute_force(data):
    x, y, _, inc, _ = data
    g = grid(0, 0, 2000, 1500, 50)
    h = 150.0
    s = pw.KDE(bandwidth=h, kernel="quartic").fit(inc, g).predict()
    c = _centres(g)
    d2 = ((c[:, None, 0] - x[None]) ** 2 + (c[:, None, 1] - y[None]) ** 2) / h**2
    k = np.where(d2 < 1, 3 / np.pi * (1 - d2) ** 2, 0).sum(1) / h**2 * g.cell_size**2
    np.testing.assert_allclose(s.values.ravel(), k, rtol=1e-10, atol=1e-12 * k.max())


@pytest.mark.parametrize("cell,h", [(20.0, 80.0), (10.0, 200.0), (25.0, 100.0)])
def test_binned_within_documented_error_of_exact(data, cell, h):
    x, y, t, inc, _ = data
    g = grid(0, 0, 2000, 1500, cell)
    ex = pw.KDE(bandwidth=h, cutoff=float("inf")).fit(inc, g).predict()
    b = pw.KDE(bandwidth=h, mode="binned").fit(inc, g).predict()
    err = np.max(np.abs(b.values - ex.values))
    assert err <= float(b.params["error_bound"])
    # the target: ≤ 5e-5 of the maximum on a grid whose cell is ≤ bandwidth/4
    assert err <= 5e-5 * ex.values.max()
    if h / cell >= 20:
        # a bandwidth of many cells: the plan bins on a coarser lattice and interpolates back
        assert int(b.params["binning_lattice_cells"]) > 1
        assert int(b.params["interpolation_order"]) >= 4
    # linear binning (order 2) is within its own, looser, bound
    lin = pw.KDE(bandwidth=h, mode="binned", binning_order=2).fit(inc, g).predict()
    assert np.max(np.abs(lin.values - ex.values)) <= float(lin.params["error_bound"])


def test_quartic_binned_within_bound(data):
    _, _, _, inc, _ = data
    g = grid(0, 0, 2000, 1500, 10)
    ex = pw.KDE(bandwidth=100, kernel="quartic").fit(inc, g).predict()
    b = pw.KDE(bandwidth=100, kernel="quartic", mode="binned").fit(inc, g).predict()
    assert np.max(np.abs(b.values - ex.values)) <= float(b.params["error_bound"])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 60), h=st.floats(40, 90), seed=st.integers(0, 10_000), mode=st.sampled_from(["exact", "binned"]))
def test_total_mass_equals_total_weight(n, h, seed, mode):
    # points ≥ 7 bandwidths from the grid's edge: the surface holds their whole weight, less the
    # documented truncation at 6 bandwidths (e^-18 = 1.5e-8 of each point's mass)
    rng = np.random.default_rng(seed)
    x = rng.uniform(700, 1300, n)
    y = rng.uniform(700, 1300, n)
    w = rng.uniform(0.5, 2.0, n)
    g = grid(0, 0, 2000, 2000, 10)
    v = pw.models.kde_grid(g, x, y, h, weights=w, mode=mode)
    assert v.sum() == pytest.approx(w.sum(), rel=2e-8)


def test_time_weighting(data):
    x, y, t, inc, g = data
    at = int(t[-1]) + 1
    win = pw.KDE(bandwidth=100, window_days=30).fit(inc, g).predict(at=at)
    sel = t >= at - 30 * 86400
    ref = pw.models.kde_grid(g, x[sel], y[sel], 100)
    np.testing.assert_allclose(win.values, ref, rtol=1e-12, atol=1e-15)
    assert win.params["n_incidents"] == str(int(sel.sum()))
    dec = pw.KDE(bandwidth=100, half_life_days=10).fit(inc, g).predict(at=at)
    ref = pw.models.kde_grid(g, x, y, 100, weights=0.5 ** ((at - t) / (10 * 86400)))
    np.testing.assert_allclose(dec.values, ref, rtol=1e-10, atol=1e-15)


def test_cross_validation_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    p = np.vstack([rng.normal(500, 40, (150, 2)), rng.uniform(0, 1000, (150, 2))])
    inc = incidents(p[:, 0], p[:, 1], np.arange(300) + 1_600_000_000)
    g = grid(0, 0, 1000, 1000, 20)
    hs = [10.0, 30.0, 60.0, 120.0]
    m = pw.KDE(bandwidth=hs, cutoff=float("inf")).fit(inc, g)
    d2 = ((p[:, None] - p[None]) ** 2).sum(-1)
    n = len(p)
    want = []
    for h in hs:
        k = np.exp(-d2 / (2 * h * h)) / (2 * np.pi * h * h)
        np.fill_diagonal(k, 0)
        want.append(np.log(k.sum(1) / (n - 1)).sum())
    np.testing.assert_allclose(m.cv_scores_["loo_log_likelihood"], want, rtol=1e-10)
    assert m.bandwidth_ == hs[int(np.argmax(want))]


def test_adaptive_knn_bandwidths():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 1000, (200, 2))
    inc = incidents(p[:, 0], p[:, 1], np.arange(200) + 1_600_000_000)
    g = grid(0, 0, 1000, 1000, 25)
    m = pw.KDE(bandwidth="knn", k=5, min_bandwidth=30).fit(inc, g)
    d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
    hk = np.maximum(np.sort(d, 1)[:, 5], 30)
    np.testing.assert_allclose(m.point_bandwidths_, hk, rtol=1e-12)
    c = _centres(g)
    d2 = ((c[:, None] - p[None]) ** 2).sum(-1)
    ref = (np.exp(-d2 / (2 * hk**2)) / (2 * np.pi * hk**2)).sum(1) * 625
    s = m.predict()
    np.testing.assert_allclose(s.values.ravel(), ref, rtol=1e-6, atol=1e-9 * ref.max())


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("h", [0, -50, float("nan")])
def test_zero_or_negative_bandwidth(data, h):
    _, _, _, inc, g = data
    with pytest.raises(pw.InvalidParameterError, match="bandwidth"):
        pw.KDE(bandwidth=h).fit(inc, g)


def test_binned_bandwidth_smaller_than_cell(data):
    _, _, _, inc, g = data
    with pytest.raises(pw.InvalidParameterError, match="smaller than the cell size"):
        pw.KDE(bandwidth=10, mode="binned").fit(inc, g)
    with pytest.warns(pw.exceptions.PlacewiseWarning, match="bandwidth/4"):
        pw.KDE(bandwidth=40, mode="binned").fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="uniform"):
        pw.KDE(bandwidth=100, mode="binned", kernel="uniform").fit(inc, g)


def test_empty_training_window(data):
    _, _, t, inc, g = data
    m = pw.KDE(bandwidth=100, window_days=1).fit(inc, g)
    with pytest.raises(pw.EmptyInputError, match="training window"):
        m.predict(at=int(t[-1]) + 400 * 86400)


def test_predict_before_the_data(data):
    _, _, t, inc, g = data
    m = pw.KDE(bandwidth=100).fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="`at`"):
        m.predict(at="2000-01-01")
    with pytest.raises(pw.InvalidParameterError, match="`at`"):
        m.predict(at=int(t[0]))


def test_all_incidents_in_one_cell():
    inc = incidents([505.0] * 20, [505.0] * 20, np.arange(20) + 1_600_000_000)
    g = grid(0, 0, 1000, 1000, 10)
    for bw in ["scott", "silverman", [10.0, 20.0]]:
        with pytest.raises(pw.InvalidParameterError, match="one location"):
            pw.KDE(bandwidth=bw).fit(inc, g)
    s = pw.KDE(bandwidth=30).fit(inc, g).predict()
    top = s.top(1)
    assert top["cell_id"].iloc[0] == 50 * 100 + 50
    assert top["value"].iloc[0] == pytest.approx(20 / (2 * np.pi * 900) * 100, rel=1e-12)


def test_not_fitted_and_bad_names(data):
    _, _, _, inc, g = data
    with pytest.raises(pw.NotFittedError):
        pw.KDE().predict()
    with pytest.raises(pw.InvalidParameterError, match="kernel"):
        pw.KDE(kernel="cosine").fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="mode"):
        pw.KDE(mode="fast").fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="k"):
        pw.KDE(bandwidth="knn").fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="bandwidth"):
        pw.KDE(bandwidth="wide").fit(inc, g)


def test_sklearn_contract_and_surface_metadata(chicago):
    m = pw.KDE(bandwidth=300, window_days=90)
    assert m.get_params()["bandwidth"] == 300
    assert m.fit(chicago.incidents, chicago.grid) is m
    s = m.predict(at="2019-07-01")
    assert isinstance(s, pw.Surface) and s.model == "KDE"
    assert s.params["bandwidth_m"] == "300" and s.params["edge_correction"] == "none"
    assert s.window[1] == s.at and str(s.at.tz) == chicago.incidents.tz
    assert (s.window[1] - s.window[0]).days == 90
    assert "incidents per cell" in s.units
    assert 0 < float(s.params["mass_share_active"]) <= 1
    assert s.values.flags.owndata or s.values.base is not None
    assert "KDE" in s._repr_html_()
