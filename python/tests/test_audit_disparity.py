"""Disparity audit: arithmetic against fairlearn and brute force, bootstrap against numpy, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_audit_helpers import grid, population

import placewise as pw

GROUPS = ["A", "B", "C"]


@pytest.fixture(scope="module")
def small():
    g = grid()
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 60, size=(g.n_cells, 3)).astype(float)
    counts[:, 2] += 1  # every group has people
    dose = (rng.random(g.n_cells) < 0.3).astype(float)
    return g, population(g, counts, GROUPS), dose


def test_group_rates_match_fairlearn_metricframe(small):
    """A binary dose is a selection: each resident of a patrolled cell is 'selected'. Expanding
    cells into people gives fairlearn's MetricFrame the same problem; selection rates by group
    are exposure per capita, and its difference()/ratio() must agree with ours."""
    from fairlearn.metrics import MetricFrame, selection_rate

    g, pop, dose = small
    people_cell = np.repeat(np.tile(np.arange(g.n_cells), 3), pop.counts.T.ravel().astype(int))
    people_group = np.repeat(np.repeat(GROUPS, g.n_cells), pop.counts.T.ravel().astype(int))
    y_pred = dose[people_cell]
    mf = MetricFrame(metrics=selection_rate, y_true=np.zeros_like(y_pred), y_pred=y_pred,
                     sensitive_features=pd.Series(people_group, name="group"))
    audit = pw.audit.disparity(dose, pop, bootstrap=0)
    # Same sums of integers in a different order: agreement to rounding (1e-12).
    np.testing.assert_allclose(audit.by_group["rate"].to_numpy(), mf.by_group.loc[GROUPS].to_numpy(), rtol=1e-12)
    assert audit.overall == pytest.approx(mf.overall, rel=1e-12)
    for method in ("between_groups", "to_overall"):
        assert audit.difference(method) == pytest.approx(mf.difference(method=method), rel=1e-12)
        assert audit.ratio(method) == pytest.approx(mf.ratio(method=method), rel=1e-12)


def test_shares_ratios_and_protection_by_brute_force(small):
    g, pop, _ = small
    rng = np.random.default_rng(2)
    dose = rng.gamma(1.0, 2.0, g.n_cells) * (rng.random(g.n_cells) < 0.5)
    inc = rng.poisson(3.0, g.n_cells).astype(float)
    a = pw.audit.disparity(dose, pop, reference="B", bootstrap=0, incidents_per_cell=inc, need={"A": 1, "B": 2, "C": 1})
    P = pop.counts
    rate = (dose[:, None] * P).sum(0) / P.sum(0)
    np.testing.assert_allclose(a.by_group["rate"], rate, rtol=1e-12)
    np.testing.assert_allclose(a.by_group["ratio_to_reference"], rate / rate[1], rtol=1e-12)
    exp_share = (dose[:, None] * P).sum(0) / (dose[:, None] * P).sum()
    np.testing.assert_allclose(a.by_group["exposure_share"], exp_share, rtol=1e-12)
    # Protection: incidents shared by residents, counted where dose > 0 (a loop, not arrays).
    num, den = np.zeros(3), np.zeros(3)
    for c in range(g.n_cells):
        tot = P[c].sum()
        if tot == 0:
            continue
        for k in range(3):
            share = inc[c] * P[c, k] / tot
            den[k] += share
            if dose[c] > 0:
                num[k] += share
    np.testing.assert_allclose(a.by_group["protection"], num / den, rtol=1e-12)
    need_share = np.array([1, 2, 1]) * P.sum(0) / (np.array([1, 2, 1]) * P.sum(0)).sum()
    np.testing.assert_allclose(a.by_group["exposure_to_need"], exp_share / need_share, rtol=1e-12)
    assert a.reference == "B" and a.reference_rule == "named"
    assert pw.audit.disparity(dose, pop, reference="least_exposed", bootstrap=0).reference == GROUPS[int(np.argmin(rate))]


def test_bootstrap_interval_agrees_with_an_independent_numpy_bootstrap(small):
    """Percentile bootstrap over cells, done independently with numpy's generator: the 95 %
    limits of the ratio must agree within Monte Carlo error (10 % of the interval's width with
    2000 resamples each; the sd of a 2.5 % quantile estimate is about 3 % of the width)."""
    g, pop, dose = small
    a = pw.audit.disparity(dose, pop, reference="A", bootstrap=2000, seed=5)
    P = pop.counts
    units = np.flatnonzero((dose > 0) | (P.sum(1) > 0))
    rng = np.random.default_rng(123)
    ratios = []
    for _ in range(2000):
        idx = units[rng.integers(0, len(units), len(units))]
        r = (dose[idx, None] * P[idx]).sum(0) / P[idx].sum(0)
        ratios.append(r[1] / r[0])
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    width = hi - lo
    assert a.by_group.loc["B", "ratio_to_reference_low"] == pytest.approx(lo, abs=0.1 * width)
    assert a.by_group.loc["B", "ratio_to_reference_high"] == pytest.approx(hi, abs=0.1 * width)
    assert a.resampling_unit == "cells" and a.n_units == len(units)


def test_seeded_and_serialisable(small):
    _, pop, dose = small
    a = pw.audit.disparity(dose, pop, bootstrap=300, seed=1)
    b = pw.audit.disparity(dose, pop, bootstrap=300, seed=1)
    c = pw.audit.disparity(dose, pop, bootstrap=300, seed=2)
    pd.testing.assert_frame_equal(a.by_group, b.by_group)
    assert not a.by_group["rate_low"].equals(c.by_group["rate_low"])
    json.dumps(a.to_dict(), allow_nan=False)
    assert "Disparity audit" in a._repr_html_() and "conventions" in a._repr_html_()
    s = a.summary()
    assert set(s["ratio_to_reference"]) == set(GROUPS)

    class Allocation:  # anything with a .dose attribute
        def __init__(self, d):
            self.dose = d
            self.grid = pop.grid

    d2 = pw.audit.disparity(Allocation(dose), pop, bootstrap=300, seed=1)
    pd.testing.assert_frame_equal(a.by_group, d2.by_group)


def test_bad_input(small):
    g, pop, dose = small
    with pytest.raises(pw.InvalidParameterError, match="does not join"):
        pw.audit.disparity(dose[:-1], pop)
    other = grid(nx=5, ny=6)
    with pytest.raises(pw.InvalidParameterError, match="another grid"):
        class A:
            pass
        x = A()
        x.dose, x.grid = dose, other
        pw.audit.disparity(x, pop)
    zero = pop.counts.copy()
    zero[:, 1] = 0
    with pytest.raises(pw.DataValidationError, match="`B` has zero people") as e:
        pw.audit.disparity(dose, population(g, zero, GROUPS))
    assert e.value.column == "B"
    with pytest.raises(pw.InvalidParameterError, match="unknown group `D`") as e2:
        pw.audit.disparity(dose, pop, reference="D")
    assert e2.value.name == "reference"
    with pytest.raises(pw.InvalidParameterError, match="budget is zero") as e3:
        pw.audit.disparity(np.zeros_like(dose), pop)
    assert e3.value.name == "dose"
    with pytest.raises(pw.InvalidParameterError) as e4:
        pw.audit.disparity(dose, pop, tau=1.5)
    assert e4.value.name == "tau"
    bad = dose.copy()
    bad[3] = np.nan
    with pytest.raises(pw.DataValidationError) as e5:
        pw.audit.disparity(bad, pop)
    assert e5.value.row == 3
    with pytest.raises(pw.InvalidParameterError, match="need"):
        pw.audit.disparity(dose, pop, need={"A": 1.0})
    with pytest.raises(pw.InvalidParameterError, match="population"):
        pw.audit.disparity(dose, pop.counts)


def test_chicago_top_cells(chicago):
    g = chicago.grid
    counts = g.counts(chicago.incidents).ravel()
    dose = np.zeros(g.n_cells)
    dose[np.argsort(-counts, kind="stable")[:40]] = 1.0
    a = pw.audit.disparity(dose, chicago.population, bootstrap=200, seed=0, incidents_per_cell=chicago.incidents)
    assert a.reference == "WHITE"  # the largest group in the ACS counts
    assert a.by_group["exposure_share"].sum() == pytest.approx(1.0)
    assert a.by_group["population_share"].sum() == pytest.approx(1.0)
    lo, hi = a.by_group["ratio_to_reference_low"], a.by_group["ratio_to_reference_high"]
    assert ((lo <= a.by_group["ratio_to_reference"] + 1e-12) & (a.by_group["ratio_to_reference"] <= hi + 1e-12)).all()
    # Protection on observed incidents: covered share of all incidents equals 40 top cells' share.
    assert a.overall_protection == pytest.approx(counts[dose > 0].sum() / counts.sum())


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    dose=st.lists(st.floats(0, 10), min_size=30, max_size=30).filter(lambda d: sum(d) > 0),
    mix=st.lists(st.floats(0.1, 5), min_size=3, max_size=3),
    size=st.lists(st.floats(1, 100), min_size=30, max_size=30),
)
def test_ratio_is_one_when_exposure_is_proportional_to_population(dose, mix, size):
    """Every cell has the same group mix, so every group meets the same doses: all ratios are 1
    and exposure shares equal population shares, whatever the dose."""
    g = grid()
    counts = np.outer(size, mix)
    a = pw.audit.disparity(np.array(dose), population(g, counts, GROUPS), bootstrap=0)
    np.testing.assert_allclose(a.by_group["ratio_to_reference"], 1.0, rtol=1e-9)
    np.testing.assert_allclose(a.by_group["exposure_share"], a.by_group["population_share"], rtol=1e-9, atol=1e-12)
    assert (a.by_group["verdict"] == "within").all()


# ---- power of the band check -------------------------------------------------------------


def _independent_log_ratio_bootstrap(dose, P, units, ref, g, draws, seed):
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for b in range(draws):
        idx = units[rng.integers(0, len(units), len(units))]
        r = (dose[idx, None] * P[idx]).sum(0) / P[idx].sum(0)
        out[b] = r[g] / r[ref]
    return out


def test_detectable_ratios_agree_with_an_independent_bootstrap(small):
    """The smallest detectable ratios (R / hi, R / lo) recomputed from an independent numpy
    bootstrap of the same ratio: agreement within Monte Carlo error (5 % relative with 2000
    resamples each; the 2.5 % quantile of the ratio moves by about 1–2 % between seeds here).
    Informative iff both log distances are within ln(1/τ), judged only when the independent
    value is clearly on one side of the edge."""
    g, pop, dose = small
    a = pw.audit.disparity(dose, pop, reference="A", bootstrap=2000, seed=5)
    P = pop.counts
    units = np.flatnonzero((dose > 0) | (P.sum(1) > 0))
    worst = 0.0
    for k, name in enumerate(GROUPS[1:], start=1):
        ratios = _independent_log_ratio_bootstrap(dose, P, units, 0, k, 2000, 99 + k)
        r = a.by_group.loc[name, "ratio_to_reference"]
        lo, hi = np.percentile(ratios, [2.5, 97.5])
        assert a.by_group.loc[name, "detectable_ratio_to_reference_below"] == pytest.approx(r / hi, rel=0.05)
        assert a.by_group.loc[name, "detectable_ratio_to_reference_above"] == pytest.approx(r / lo, rel=0.05)
        worst = max(worst, np.log(hi / r), np.log(r / lo))
    mde = worst / np.log(1 / a.tau)
    assert a.mde_normalised_to_reference == pytest.approx(mde, rel=0.1)
    if abs(mde - 1) > 0.15:
        assert a.informative_to_reference == (mde <= 1)
    assert np.isnan(a.by_group.loc["A", "detectable_ratio_to_reference_below"])
    outside = a.outside_band
    expect = "fail" if outside else ("pass" if a.informative_to_reference else "not_informative")
    assert a.check("reference") == expect
    assert a.to_dict()["check_to_reference"] == expect


def test_a_check_that_could_not_fail_says_not_informative():
    """Six cells: the bootstrap over so few units is wide, so a plan inside the band is not
    evidence of parity. Two groups living apart, dose uneven within each group but balanced between them."""
    g = grid(3, 2)
    counts = np.array([[90, 10], [85, 15], [95, 5], [10, 90], [15, 85], [5, 95]], dtype=float)
    pop = population(g, counts, ["A", "B"])
    dose = np.array([3.0, 0.0, 0.2, 0.2, 2.8, 0.3])
    a = pw.audit.disparity(dose, pop, reference="A", bootstrap=999, seed=1)
    assert a.outside_band == []
    assert not a.informative_to_reference and a.check() == "not_informative"
    below, above = a.detectable_ratios()
    assert below < a.band[0] or above > a.band[1]
    assert a.power_statement().startswith("not informative at this budget")
    # without a bootstrap the power is unknown: never a pass
    b = pw.audit.disparity(dose, pop, reference="A", bootstrap=0)
    assert b.check() == "not_informative" and "unknown" in b.power_statement()
    # the report says so instead of "pass"
    from placewise.report._base import Section
    from placewise.report.wiring import disparity_section

    verdicts: list = []
    with_incidents = pw.audit.disparity(dose, pop, reference="A", bootstrap=999, seed=1, incidents_per_cell=np.ones(6))
    disparity_section(Section("disparity", "Disparity"), with_incidents, verdicts, policy=None)
    assert verdicts[-1].status == "not_informative"
    assert "Not informative at this budget" in verdicts[-1].explanation
    with pytest.raises(pw.InvalidParameterError) as e:
        a.check("nobody")
    assert e.value.name == "compare_to"
