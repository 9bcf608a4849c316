"""Gi*: cross-checks against esda/libpysal and a brute force, permutation p-values, corrections,
bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats as st
from scipy.spatial import cKDTree

import placewise as pw
from placewise.exceptions import DataValidationError, InvalidParameterError


def _grid(nx: int, ny: int, cs: float = 100.0) -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, nx * cs, ny * cs, crs="EPSG:32616"), cell_size=cs)


def _esda_local(values: np.ndarray, grid: pw.Grid, distance: float, permutations: int, seed: int = 1):
    import esda
    import libpysal

    ids = grid.cell_ids
    cx, cy = grid.centres(ids)
    # the same distance band over the same active-cell centres; the relative 1e-9 slack only
    # absorbs rounding in the centres (placewise compares squared offsets in cell units)
    w = libpysal.weights.DistanceBand(np.column_stack([cx, cy]), threshold=distance * (1 + 1e-9), binary=True,
                                      silence_warnings=True)
    with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
        warnings.simplefilter("always")
        return esda.G_Local(values.ravel()[ids], w, transform="B", star=True, permutations=permutations, seed=seed)


def test_z_equals_esda_on_real_counts(chicago):
    """z equals esda's G_Local(star=True, transform="B") to 1e-8 on the bundled Chicago counts,
    over the real (irregular) mask."""
    grid = chicago.grid
    counts = grid.counts(chicago.incidents)
    ours = pw.stats.gi_star(counts, grid=grid, distance=450, permutations=None)
    ref = _esda_local(counts, grid, 450, permutations=0)
    assert len(ours.z) == grid.n_active
    np.testing.assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-8)
    # esda's p_norm is one-sided (sf(|z|)); ours is two-sided
    np.testing.assert_allclose(ours.p, 2 * ref.p_norm, rtol=1e-9, atol=1e-12)


def _brute_z(values: np.ndarray, grid: pw.Grid, distance: float, inverse: bool) -> np.ndarray:
    ids = grid.cell_ids
    x = values.ravel()[ids]
    cx, cy = grid.centres(ids)
    tree = cKDTree(np.column_stack([cx, cy]))
    d = tree.sparse_distance_matrix(tree, distance * (1 + 1e-9), output_type="coo_matrix")
    off = d.row != d.col
    w = np.where(inverse, grid.cell_size / np.where(off, d.data, 1.0), 1.0)[off]
    W = sp.coo_matrix((w, (d.row[off], d.col[off])), shape=(len(x), len(x))).tocsr() + sp.identity(len(x))
    n = len(x)
    mean, s = x.mean(), x.std()
    wi = np.asarray(W.sum(axis=1)).ravel()
    s1 = np.asarray(W.multiply(W).sum(axis=1)).ravel()
    return (W @ x - mean * wi) / (s * np.sqrt((n * s1 - wi**2) / (n - 1)))


def test_inverse_distance_z_equals_brute_force(chicago):
    grid = chicago.grid
    counts = grid.counts(chicago.incidents)
    ours = pw.stats.gi_star(counts, grid=grid, distance=500, weights="inverse_distance", permutations=None)
    np.testing.assert_allclose(ours.z, _brute_z(counts, grid, 500, inverse=True), rtol=0, atol=1e-8)


def test_permutation_p_agrees_with_esda_in_distribution():
    """Seeded pseudo p-values agree with esda's conditional randomisation (alternative
    "directed", its default) cell by cell within Monte Carlo error. Each is a binomial
    proportion over R = 999 draws, so the difference of the two estimates has sd
    √(2 p (1 − p) / 999); we allow 4.5 sd plus 2/1000 for the discrete +1 rule and require
    that at most 1 % of cells exceed it, and a two-sample KS test must not reject (p > 0.001).
    Continuous values (gamma) so that ties, which esda folds differently, play no role."""
    rng = np.random.default_rng(7)
    grid = _grid(30, 30)
    v = rng.gamma(2.0, 1.0, size=grid.shape)
    v[10:14, 10:14] += 3.0  # a planted hot spot
    ours = pw.stats.gi_star(v, grid=grid, distance=150, permutations=999, seed=3)
    ref = _esda_local(v, grid, 150, permutations=999, seed=11)
    np.testing.assert_allclose(ours.z, ref.Zs, atol=1e-8)
    p = ref.p_sim
    tol = 4.5 * np.sqrt(2 * p * (1 - p) / 999) + 2 / 1000
    bad = np.abs(ours.p_sim - p) > tol
    assert bad.mean() <= 0.01, f"{bad.sum()} cells differ beyond Monte Carlo error"
    assert st.ks_2samp(ours.p_sim, p).pvalue > 1e-3
    assert ours.p_sim.min() >= 1 / 1000 and ours.p_sim.max() <= 1.0
    # the planted block is found (no permutation reaches it: p_sim = 1/1000)
    centre = 11 * 30 + 11
    assert ours.z[centre] > 3 and ours.p_sim[centre] == pytest.approx(1 / 1000)


def test_pseudo_p_is_uniformish_under_the_null():
    """iid values: the folded one-sided p has P(p ≤ 0.05) ≈ 0.10 (both tails); over 2,500 cells
    (dependent through shared draws and overlapping neighbourhoods) we allow 0.06–0.14."""
    rng = np.random.default_rng(2)
    grid = _grid(50, 50)
    v = rng.normal(size=grid.shape)
    g = pw.stats.gi_star(v, grid=grid, distance=150, permutations=499, seed=5, correction=None)
    frac = (g.p_sim <= 0.05).mean()
    assert 0.06 <= frac <= 0.14, frac


def test_same_result_with_one_and_two_threads():
    code = (
        "import numpy as np, placewise as pw, hashlib;"
        "g = pw.Grid(pw.Region.from_bounds(0, 0, 4000, 3000, crs='EPSG:32616'), cell_size=100);"
        "v = np.random.default_rng(1).poisson(2.0, size=g.shape).astype(float);"
        "r = pw.stats.gi_star(v, grid=g, distance=250, weights='inverse_distance', permutations=199, seed=9);"
        "inc = pw.datasets.load_chicago(cell_size=150).incidents;"
        "k = pw.stats.knox(inc, [0, 200, 400], [0, 7, 14], permutations=49, seed=2);"
        "print(hashlib.sha256(r.p_sim.tobytes() + r.z.tobytes() + k.table.to_csv().encode()).hexdigest())"
    )
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        out.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert out[0] == out[1] and len(out[0]) > 60


def _holm_reference(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adj[i] = running
    return adj


def test_corrections_match_scipy_and_a_reference():
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 0.01, size=30), [0.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(pw.stats.adjust_pvalues(p, "fdr_bh"), st.false_discovery_control(p, method="bh"), atol=1e-12)
    np.testing.assert_allclose(pw.stats.adjust_pvalues(p, "holm"), _holm_reference(p), atol=1e-12)
    with pytest.raises(DataValidationError, match="row 1"):
        pw.stats.adjust_pvalues([0.1, 1.2], "holm")


def test_result_states_correction_and_bins(chicago):
    grid = chicago.grid
    counts = grid.counts(chicago.incidents)
    surf = pw.Surface(counts, grid, model="counts")
    for corr in ("fdr_bh", "holm", None):
        g = pw.stats.gi_star(surf, distance=450, permutations=None, correction=corr)
        assert g.correction == corr and g.p_source == "analytic"
        want_p = g.p if corr is None else pw.stats.adjust_pvalues(g.p, corr)
        np.testing.assert_allclose(g.p_corrected, want_p)
        lvl = np.select([want_p <= 0.01, want_p <= 0.05, want_p <= 0.10], [3, 2, 1], 0)
        np.testing.assert_array_equal(g.bins, np.sign(g.z).astype(int) * lvl)
        assert "two-sided" in g.sidedness
    g = pw.stats.gi_star(surf, distance=450, permutations=99, seed=1)
    np.testing.assert_allclose(g.p_tested, np.minimum(1, 2 * g.p_sim))
    df = g.to_frame()
    assert len(df) == grid.n_active and {"z", "p", "p_sim", "p_corrected", "bin", "significant"} <= set(df.columns)
    gdf = g.to_geodataframe()
    assert len(gdf) == grid.n_active and gdf.crs == grid.crs
    html = g._repr_html_()
    assert "fdr_bh" in html and "one-sided" in html
    assert g.counts_by_bin().sum() == grid.n_active
    import matplotlib

    matplotlib.use("Agg")
    ax = g.plot()
    assert ax.get_title().startswith("Gi*")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"permutations": 0}, "permutations"),
        ({"permutations": -5}, "permutations"),
        ({"permutations": True}, "permutations"),
        ({"distance": 0}, "distance"),
        ({"distance": -100}, "distance"),
        ({"distance": 50}, "distance"),  # below one cell (100 m): no neighbours
        ({"correction": "bonferroni"}, "correction"),
        ({"weights": "gaussian"}, "weights"),
        ({"seed": -1}, "seed"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_parameters(kwargs, match):
    grid = _grid(6, 5)
    v = np.arange(30, dtype=float).reshape(5, 6)
    args = {"distance": 150, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        pw.stats.gi_star(v, grid=grid, **args)


def test_bad_counts():
    grid = _grid(6, 5)
    with pytest.raises(InvalidParameterError, match="grid"):
        pw.stats.gi_star(np.ones((5, 6)), distance=150)
    with pytest.raises(InvalidParameterError, match="shape"):
        pw.stats.gi_star(np.ones((6, 5)), grid=grid, distance=150)
    with pytest.raises(DataValidationError, match="same value"):
        pw.stats.gi_star(np.zeros((5, 6)), grid=grid, distance=150)
    v = np.ones((5, 6))
    v[2, 3] = np.nan
    with pytest.raises(InvalidParameterError, match="NaN"):
        pw.stats.gi_star(pw.Surface(v, grid, model="x"), distance=150)
    v[2, 3] = np.inf
    with pytest.raises(DataValidationError, match="row 15"):
        pw.stats.gi_star(v, grid=grid, distance=150)
