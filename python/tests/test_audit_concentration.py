"""Concentration: Gini/Theil against pysal's `inequality`, the baseline against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from test_audit_helpers import grid

import placewise as pw


def test_gini_theil_match_pysal_inequality():
    from inequality.gini import Gini
    from inequality.theil import Theil

    g = grid(nx=8, ny=6)
    rng = np.random.default_rng(0)
    dose = rng.gamma(0.7, 3.0, g.n_cells) + 1e-3  # strictly positive: pysal's Theil takes logs
    c = pw.audit.concentration(dose, grid=g, simulations=50, seed=0)
    # Both are closed forms over the same 48 values: agreement to rounding.
    assert c.cells["gini"] == pytest.approx(Gini(dose).g, rel=1e-10)
    assert c.cells["theil"] == pytest.approx(Theil(dose).T, rel=1e-10)


def test_gini_with_zeros_matches_pairwise_definition():
    g = grid(nx=8, ny=6)
    dose = np.zeros(g.n_cells)
    dose[[1, 5, 9]] = [1.0, 2.0, 5.0]
    c = pw.audit.concentration(dose, grid=g, simulations=50, seed=0)
    mad = np.abs(dose[:, None] - dose[None, :]).sum() / (2 * dose.size**2 * dose.mean())
    assert c.cells["gini"] == pytest.approx(mad, rel=1e-12)
    nz = dose[dose > 0] / dose.mean()
    assert c.cells["theil"] == pytest.approx((nz * np.log(nz)).sum() / dose.size, rel=1e-12)


def test_baseline_matches_an_independent_multinomial_simulation():
    """The baseline places round(budget / unit) quanta uniformly on active cells; the same with
    numpy's multinomial gives the same mean Gini within Monte Carlo error (4 standard errors)."""
    g = grid(nx=10, ny=10)
    dose = np.zeros(g.n_cells)
    dose[:12] = 1.0
    dose[12] = 3.0  # budget 15
    c = pw.audit.concentration(dose, grid=g, simulations=4000, seed=1)
    rng = np.random.default_rng(7)
    gs = []
    for _ in range(4000):
        x = np.sort(rng.multinomial(15, np.full(100, 0.01)).astype(float))
        i = np.arange(1, 101)
        gs.append(((2 * i - 101) * x).sum() / (100 * x.sum()))
    gs = np.array(gs)
    se = np.hypot(gs.std() / np.sqrt(4000), gs.std() / np.sqrt(4000))
    assert c.cells["baseline_gini_mean"] == pytest.approx(gs.mean(), abs=4 * se)
    assert c.quanta == 15
    assert c.cells["gini_over_baseline"] == pytest.approx(c.cells["gini"] - c.cells["baseline_gini_mean"])


def test_areas_from_labels_and_from_geodataframe(chicago):
    g = chicago.grid
    counts = g.counts(chicago.incidents).ravel()
    dose = np.zeros(g.n_cells)
    dose[np.argsort(-counts, kind="stable")[:40]] = 1.0
    c = pw.audit.concentration(dose, grid=g, areas=chicago.areas, area_id="community", simulations=200, seed=0)
    assert c.areas is not None and c.areas["n"] == 77
    labels, ids = pw.audit.area_of_cells(chicago.areas, g, "community")
    c2 = pw.audit.concentration(dose, grid=g, areas=labels, simulations=200, seed=0)
    assert c2.areas["gini"] == c.areas["gini"]
    # Top-40 hotspot cells cluster in a few community areas: more concentrated than chance.
    assert c.areas["gini_over_baseline"] > 0.05
    assert c.summary()["areas_gini_over_baseline"] == pytest.approx(c.areas["gini_over_baseline"])
    assert "Concentration audit" in c._repr_html_()


def test_bad_input():
    g = grid()
    with pytest.raises(pw.InvalidParameterError, match="budget is zero"):
        pw.audit.concentration(np.zeros(g.n_cells), grid=g)
    with pytest.raises(pw.InvalidParameterError, match="unit"):
        pw.audit.concentration(np.ones(g.n_cells), grid=g, unit=0)
    with pytest.raises(pw.InvalidParameterError, match="grid"):
        pw.audit.concentration(np.ones(g.n_cells))
    with pytest.raises(pw.InvalidParameterError, match="cells"):
        pw.audit.concentration(np.ones(g.n_cells + 1), grid=g)
