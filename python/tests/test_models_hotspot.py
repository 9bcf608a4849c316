"""Naive, retrospective and prospective hotspot models against straightforward references."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_common import grid, incidents

import placewise as pw

DAY = 86400
T0 = 1_600_000_000


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(11)
    n = 300
    x = rng.uniform(-60, 560, n)  # some outside the grid
    y = rng.uniform(-60, 460, n)
    t = T0 + rng.integers(0, 100 * DAY, n)
    w = rng.uniform(0.5, 2, n)
    return x, y, t, w, incidents(x, y, t, weight=w), grid(0, 0, 500, 400, 25)


def _cells(g):
    ids = np.arange(g.nx * g.ny)
    return ids // g.nx, ids % g.nx, *g.centres(ids)


@pytest.mark.parametrize("distance", ["linf", "l1", "l2"])
@pytest.mark.parametrize("sb,tb", [(3, 2), (2.5, 8), (0, 0)])
def test_prospective_equals_reference(small, distance, sb, tb):
    x, y, t, w, inc, g = small
    at = T0 + 90 * DAY
    s = pw.ProspectiveHotspot(bandwidth_cells=sb, time_bandwidth_weeks=tb, distance=distance).fit(inc, g).predict(at=at)
    rows, cols, _, _ = _cells(g)
    want = np.zeros(g.nx * g.ny)
    for i in range(len(x)):  # the definition, one incident at a time
        if t[i] >= at:
            continue
        weeks = (at - t[i]) // (7 * DAY)
        if weeks > tb:
            continue
        ri = np.floor(y[i] / g.cell_size)
        ci = np.floor(x[i] / g.cell_size)
        dr, dc = np.abs(rows - ri), np.abs(cols - ci)
        d = {"linf": np.maximum(dr, dc), "l1": dr + dc, "l2": np.sqrt(dr**2 + dc**2)}[distance]
        want += np.where(d <= sb, w[i] / ((1 + d) * (1 + weeks)), 0.0)
    np.testing.assert_allclose(s.values.ravel(), want, rtol=1e-12, atol=1e-12)
    assert s.model == "ProspectiveHotspot" and s.params["distance"] == distance


def test_retrospective_equals_reference(small):
    x, y, t, w, inc, g = small
    at = T0 + 80 * DAY
    s = pw.RetrospectiveHotspot(bandwidth=120, window_days=30).fit(inc, g).predict(at=at)
    sel = (t >= at - 30 * DAY) & (t < at)
    _, _, cx, cy = _cells(g)
    d2 = ((cx[:, None] - x[sel]) ** 2 + (cy[:, None] - y[sel]) ** 2) / 120.0**2
    want = (np.where(d2 < 1, 3 / np.pi * (1 - d2) ** 2, 0) * w[sel]).sum(1) / 120.0**2 * g.cell_size**2
    np.testing.assert_allclose(s.values.ravel(), want, rtol=1e-10, atol=1e-13)
    assert s.params["window_days"] == "30" and s.params["n_incidents"] == str(int(sel.sum()))


def test_retrospective_defaults_follow_the_literature():
    m = pw.RetrospectiveHotspot()
    assert (m.bandwidth, m.window_days) == (200.0, 60.0)


def test_naive_equals_reference(small):
    x, y, t, w, inc, g = small
    at = T0 + 70 * DAY
    s = pw.Naive(window_days=20).fit(inc, g).predict(at=at)
    sel = (t >= at - 20 * DAY) & (t < at) & (x >= 0) & (x < 500) & (y >= 0) & (y < 400)
    want = np.zeros(g.shape)
    np.add.at(want, ((y[sel] // 25).astype(int), (x[sel] // 25).astype(int)), w[sel])
    np.testing.assert_allclose(s.values, want, rtol=1e-12)
    all_before = pw.Naive(window_days=None).fit(inc, g).predict(at=at)
    assert all_before.values.sum() >= s.values.sum()


@pytest.mark.parametrize("model", [pw.Naive(window_days=5), pw.RetrospectiveHotspot(window_days=5), pw.ProspectiveHotspot(time_bandwidth_weeks=0)])
def test_empty_window_and_early_at(small, model):
    *_, inc, g = small
    m = model.clone().fit(inc, g)
    with pytest.raises(pw.EmptyInputError, match="training window"):
        m.predict(at=T0 + 400 * DAY)
    with pytest.raises(pw.InvalidParameterError, match="`at`"):
        m.predict(at=T0 - DAY)


def test_bad_parameters(small):
    *_, inc, g = small
    with pytest.raises(pw.InvalidParameterError, match="bandwidth"):
        pw.RetrospectiveHotspot(bandwidth=0).fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="window_days"):
        pw.Naive(window_days=-1).fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="distance"):
        pw.ProspectiveHotspot(distance="l3").fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="bandwidth_cells"):
        pw.ProspectiveHotspot(bandwidth_cells=-2).fit(inc, g)
    with pytest.raises(pw.InvalidParameterError, match="incidents"):
        pw.Naive().fit("not incidents", g)
    with pytest.raises(pw.NotFittedError):
        pw.ProspectiveHotspot().predict()


def test_all_incidents_in_one_cell():
    inc = incidents([1012.0] * 5, [1012.0] * 5, T0 + np.arange(5) * DAY)
    g = grid(1000, 1000, 1100, 1100, 25)
    s = pw.ProspectiveHotspot(bandwidth_cells=1).fit(inc, g).predict(at=T0 + 5 * DAY)
    assert s.values[0, 0] == pytest.approx(5.0)
    assert s.values[1, 1] == pytest.approx(2.5)
    assert s.values[2, 2] == 0
    n = pw.Naive().fit(inc, g).predict()
    assert n.values[0, 0] == 5 and n.values.sum() == 5


def test_exported_names():
    for name in ["Naive", "KDE", "RetrospectiveHotspot", "ProspectiveHotspot"]:
        assert getattr(pw, name) is getattr(pw.models, name)
        assert name in pw.__all__
