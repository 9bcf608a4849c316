"""Probabilistic scores and calibration against hand-computed values."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw

UTM = "EPSG:32616"


def line_grid(n: int = 3) -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, n * 100.0, 100.0, crs=UTM), cell_size=100.0)


def test_scores_hand_computed() -> None:
    g = line_grid()
    mu = np.array([0.5, 2.0, 1.0])
    y = np.array([0.0, 3.0, 1.0])
    s = pw.evaluate.probabilistic_scores(mu, y, grid=g, floor=0.0)
    # log P(0|0.5) + log P(3|2) + log P(1|1), written out by hand
    ll = -0.5 + (3 * math.log(2) - 2 - math.log(6)) + (-1.0)
    assert s.log_likelihood == pytest.approx(ll, abs=1e-12)
    assert s.deviance == pytest.approx(2 * (0.5 + 3 * math.log(1.5) - 1), abs=1e-12)
    p = [1 - math.exp(-m) for m in mu]
    assert s.brier == pytest.approx((p[0] ** 2 + (p[1] - 1) ** 2 + (p[2] - 1) ** 2) / 3, abs=1e-15)
    assert pickle.loads(pickle.dumps(s)).deviance == s.deviance


def test_floor_is_applied_and_reported() -> None:
    g = line_grid(2)
    s = pw.evaluate.probabilistic_scores(np.array([0.0, 1.0]), np.array([1.0, 1.0]), grid=g, floor=0.01)
    assert s.floored_cells == 1
    assert s.log_likelihood == pytest.approx(math.log(0.01) - 0.01 - 1.0, abs=1e-12)


def test_naive_surface_scaled_to_the_horizon() -> None:
    g = line_grid(2)
    day = 86_400
    inc = pw.Incidents.from_arrays(x=[50.0] * 4 + [150.0] * 2, y=[50.0] * 6, t=[i * day for i in range(6)], crs=UTM, tz="UTC")
    s = pw.Naive(window_days=6).fit(inc, g).predict(at=pd.Timestamp(6 * day, unit="s", tz="UTC"))
    mu = pw.evaluate.expected_counts(s, "3D")
    # 4 incidents in 6 days → 2 in 3 days; 2 in 6 days → 1
    assert mu == pytest.approx([2.0, 1.0])


def test_ranking_only_surface_is_refused() -> None:
    g = line_grid(2)
    s = pw.Surface(np.array([[1.0, 2.0]]), g, "ProspectiveHotspot", units="prospective risk score")
    assert pw.evaluate.expected_counts(s, "7D") is None
    with pytest.raises(pw.InvalidParameterError, match="only rank"):
        pw.evaluate.probabilistic_scores(s, np.array([0.0, 1.0]), horizon="7D")


def test_calibration_table_hand_computed() -> None:
    g = pw.Grid(pw.Region.from_bounds(0, 0, 500.0, 100.0, crs=UTM), cell_size=100.0)
    mu = np.array([0.1, 0.4, 0.2, 3.0, 1.0])
    y = np.array([0.0, 1.0, 0.0, 2.0, 2.0])
    t = pw.evaluate.calibration(mu, y, grid=g, bins=2)
    f = t.frame
    assert list(f["cells"]) == [3, 2]
    assert f["predicted_total"].tolist() == pytest.approx([0.7, 4.0])
    assert f["observed_total"].tolist() == [1.0, 4.0]
    assert f["observed_mean"].tolist() == pytest.approx([1 / 3, 2.0])
    ax = t.plot()
    assert ax.get_xlabel().startswith("mean predicted")


def test_bad_inputs_named() -> None:
    g = line_grid()
    with pytest.raises(pw.DataValidationError) as e:
        pw.evaluate.probabilistic_scores(np.array([1.0, -1.0, 1.0]), np.zeros(3), grid=g)
    assert e.value.column == "expected"
    with pytest.raises(pw.InvalidParameterError) as e2:
        pw.evaluate.probabilistic_scores(np.ones(3), np.zeros(3), grid=g, floor=-1)
    assert e2.value.name == "floor"
    with pytest.raises(pw.InvalidParameterError, match="grid"):
        pw.evaluate.probabilistic_scores(np.ones(3), np.zeros(3))
    with pytest.raises(pw.InvalidParameterError) as e3:
        pw.evaluate.calibration(np.ones(3), np.zeros(3), grid=g, bins=0)
    assert e3.value.name == "bins"


def test_backtest_has_probabilistic_rows(chicago) -> None:
    res = pw.evaluate.backtest([pw.ProspectiveHotspot()], chicago.incidents, chicago.grid, start="2019-06-02",
                               end="2019-06-16", bootstrap=0)
    f = res.frame[res.frame["metric"] == "deviance"].set_index("model")["value"]
    assert np.isfinite(f.loc["Naive (baseline)"]).all()
    # the prospective score only ranks: no made-up probabilistic score
    assert np.isnan(f.loc["ProspectiveHotspot"]).all()
