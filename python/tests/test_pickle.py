"""Inputs and results that distributed work ships between processes pickle, and come back equal.

Equality is exact (``np.array_equal`` / ``==``): pickling copies numbers, it does not compute them.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise import _native
from placewise.exceptions import InvalidParameterError, PlacewiseWarning


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.fixture(scope="module")
def city():
    return pw.datasets.load_chicago(cell_size=500)


def assert_same_grid(a, b):
    assert (a.nx, a.ny, a.cell_size, a.extent, a.n_active) == (b.nx, b.ny, b.cell_size, b.extent, b.n_active)
    assert np.array_equal(a.mask(), b.mask())
    assert np.array_equal(a.coverage(), b.coverage())
    assert a.crs == b.crs


def test_region_pickles_with_its_exact_coordinates(city):
    r = roundtrip(city.region)
    assert r.name == city.region.name and r.crs == city.region.crs
    assert r.area_m2 == city.region.area_m2 and r.bounds == city.region.bounds
    before, after = city.region._native.to_polygons(), r._native.to_polygons()
    assert len(before) == len(after)
    for pa, pb in zip(before, after):
        assert len(pa) == len(pb)
        assert all(np.array_equal(ra, rb) for ra, rb in zip(pa, pb))
    x, y = city.incidents.x[:500], city.incidents.y[:500]
    assert np.array_equal(r.contains(x, y), city.region.contains(x, y))


def test_grid_pickles_lattice_mask_and_coverage(city):
    g = roundtrip(city.grid)
    assert_same_grid(g, city.grid)
    assert np.array_equal(g.counts(city.incidents), city.grid.counts(city.incidents))


def test_rectangular_grid_pickles():
    g = pw.Grid(pw.Region.from_bounds(0, 0, 1000, 450, crs="EPSG:32616"), cell_size=150)
    assert_same_grid(roundtrip(g), g)
    native = _native.Grid.from_extent(5.0, 7.0, 10.0, 3, 2)
    back = roundtrip(native)
    assert (back.x0, back.y0, back.nx, back.ny) == (5.0, 7.0, 3, 2)
    assert np.array_equal(back.coverage(), np.ones((2, 3)))


def test_grid_state_is_validated():
    with pytest.raises(InvalidParameterError, match="coverage"):
        _native.Grid._from_state(0.0, 0.0, 10.0, 3, 2, np.ones((3, 3)))
    with pytest.raises(InvalidParameterError, match="coverage"):
        _native.Grid._from_state(0.0, 0.0, 10.0, 2, 1, np.array([[0.5, 2.0]]))


def test_incidents_pickle_every_column_and_the_quality_report(city):
    inc = city.incidents
    back = roundtrip(inc)
    assert len(back) == len(inc)
    for col in ("x", "y", "t", "category", "origin", "source_row", "duplicate"):
        assert np.array_equal(getattr(back._native, col), getattr(inc._native, col)), col
    assert back.categories == inc.categories and back.tz == inc.tz and back.crs == inc.crs
    assert back._native.weight is None and inc._native.weight is None
    assert back.quality.summary() == inc.quality.summary()
    pd.testing.assert_frame_equal(back.to_frame(), inc.to_frame())


def test_weighted_incidents_keep_weights_and_row_numbers():
    nat = _native.Incidents(np.array([3.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), np.array([30, 10, 20]),
                            weight=np.array([0.5, 1.5, 2.5]))
    back = roundtrip(nat)
    assert np.array_equal(back.t, [10, 20, 30])
    assert np.array_equal(back.weight, nat.weight) and np.array_equal(back.source_row, nat.source_row)
    assert list(back.source_row) == [1, 2, 0]


def test_incidents_state_is_validated():
    one = np.array([1.0])
    with pytest.raises(InvalidParameterError, match="source_row"):
        _native.Incidents._from_state(one, one, np.array([1]), np.array([0], dtype=np.uint32), ["all"],
                                      np.array([0], dtype=np.uint8), None, np.array([0, 1], dtype=np.uint64),
                                      np.array([False]))


def test_population_and_surface_pickle(city):
    pop = roundtrip(city.population)
    assert pop.groups == city.population.groups and pop.area_ids == city.population.area_ids
    assert np.array_equal(pop.counts, city.population.counts) and pop.report == city.population.report
    s = pw.Naive(window_days=90).fit(city.incidents, city.grid).predict(at="2019-06-01")
    s2 = roundtrip(s)
    assert np.array_equal(s2.values, s.values) and s2.params == s.params and s2.window == s.window
    assert_same_grid(s2.grid, s.grid)


@pytest.mark.parametrize(
    "model",
    [
        pw.Naive(window_days=90),
        pw.KDE(bandwidth=2000, mode="binned", window_days=365),
        pw.KDE(bandwidth=600, kernel="quartic"),
        pw.RetrospectiveHotspot(bandwidth=400, window_days=60),
        pw.ProspectiveHotspot(bandwidth_cells=3, time_bandwidth_weeks=4),
    ],
    ids=["naive", "kde-binned", "kde-quartic", "retrospective", "prospective"],
)
def test_fitted_models_pickle_and_predict_the_same(city, model):
    fitted = model.clone().fit(city.incidents.until("2019-06-01"), city.grid)
    back = roundtrip(fitted)
    assert repr(back) == repr(fitted)
    a, b = fitted.predict(at="2019-06-01"), back.predict(at="2019-06-01")
    assert np.array_equal(a.values, b.values) and a.params == b.params


def test_audit_policy_and_allocation_pickle(city):
    policy = pw.AuditPolicy.from_file(pw_policy_path())
    back = roundtrip(policy)
    assert back._native.to_json() == policy._native.to_json()
    s = pw.Naive(window_days=365).fit(city.incidents, city.grid).predict()
    plan = pw.allocate(s, budget=pw.Budget(units=10), strategy="top_k", population=city.population)
    p2 = roundtrip(plan)
    assert np.array_equal(p2.dose, plan.dose)
    assert p2.risk_covered == plan.risk_covered
    pd.testing.assert_frame_equal(p2.audit.by_group, plan.audit.by_group)


def pw_policy_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "audits" / "policy.toml"


def _same_fit(a, b) -> None:
    assert repr(a) == repr(b)
    sa, sb = a.predict(at="2019-06-01"), b.predict(at="2019-06-01")
    assert np.array_equal(sa.values, sb.values) and sa.params == sb.params


@pytest.mark.parametrize("model", [pw.SEPP(kind="space_time"), pw.SEPP(kind="grid"), pw.RiskFactors(alpha=1e-2)],
                         ids=["sepp-space-time", "sepp-grid", "risk-factors"])
def test_models_with_native_fitted_state_pickle_by_refitting_to_the_same_fit(city, model):
    train = city.incidents.between("2019-03-01", "2019-06-01")
    fitted = model.clone().fit(train, city.grid)
    back = roundtrip(fitted)
    _same_fit(fitted, back)
    if isinstance(model, pw.SEPP):
        assert (back.theta_, back.omega_, back.loglik_, back.n_iter_) == (fitted.theta_, fitted.omega_, fitted.loglik_,
                                                                          fitted.n_iter_)
        assert np.array_equal(back.loglik_path_, fitted.loglik_path_) and np.array_equal(back.mu_, fitted.mu_)
    # A copy of the copy is the same fit again, and an unfitted model pickles as its parameters.
    _same_fit(fitted, roundtrip(back))
    unfitted = roundtrip(model)
    assert repr(unfitted) == repr(model) and not getattr(unfitted, "fitted_", False)


def test_a_sepp_fit_that_did_not_converge_pickles_as_the_same_partial_fit_without_warning_again(city):
    import warnings

    train = city.incidents.between("2019-03-01", "2019-06-01")
    with pytest.raises(pw.NotConvergedError) as e:
        pw.SEPP(max_iter=2).fit(train, city.grid)
    partial = e.value.partial
    assert not partial.converged_ and partial.n_iter_ == 2
    back = roundtrip(partial)
    assert not back.converged_ and back.on_not_converged == partial.on_not_converged
    _same_fit(partial, back)
    with pytest.warns(PlacewiseWarning, match="did not converge"):
        kept = pw.SEPP(max_iter=2, on_not_converged="warn").fit(train, city.grid)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        back = roundtrip(kept)
    assert seen == [] and back.on_not_converged == "warn" and not back.converged_
    _same_fit(kept, back)
