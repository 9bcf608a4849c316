"""Metrics against hand-computed answers, the oracle, random surfaces, and the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.models import Model

UTM = "EPSG:32616"


def line_grid(n: int = 5) -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, n * 100.0, 100.0, crs=UTM), cell_size=100.0)


def test_metrics_hand_computed() -> None:
    g = line_grid()
    s = pw.Surface(np.array([[0.5, 0.1, 0.9, 0.0, 0.3]]), g, "hand")
    test = np.array([2.0, 5.0, 1.0, 0.0, 2.0])
    train = np.array([4.0, 1.0, 4.0, 1.0, 0.0])
    m = pw.evaluate.metrics(s, test, coverage=[0.2, 0.4], train=train).set_index("coverage")
    # 20 %: flag cell 2 (one incident of ten); the best single cell holds five
    assert m.loc[0.2, "hit_rate"] == pytest.approx(0.1)
    assert m.loc[0.2, "pai"] == pytest.approx(0.1 / 0.2)
    assert m.loc[0.2, "pei_star"] == pytest.approx(1 / 5)
    assert m.loc[0.2, "rri"] == pytest.approx((1 / 4) / (10 / 10))
    # 40 %: cells 2 and 0 hold three; the best two cells hold seven
    assert m.loc[0.4, "pai"] == pytest.approx(0.3 / 0.4)
    assert m.loc[0.4, "pei_star"] == pytest.approx(3 / 7)


def test_oracle_pei_star_is_one_and_random_pai_is_one_on_average(chicago) -> None:
    g = chicago.grid
    test = chicago.incidents.between("2019-06-01", "2019-07-01")
    counts = g.counts(test)
    oracle = pw.Surface(counts, g, "oracle")
    m = pw.evaluate.metrics(oracle, test, coverage=[0.01, 0.05, 0.2])
    np.testing.assert_allclose(m["pei_star"], 1.0)
    # uniform random surfaces: PAI averages 1 (mean over 60 seeds within 4 standard errors)
    pais = []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        s = pw.Surface(rng.random(g.shape), g, "random")
        pais.append(pw.evaluate.metrics(s, counts, coverage=0.05)["pai"].iloc[0])
    pais = np.array(pais)
    assert abs(pais.mean() - 1) < 4 * pais.std(ddof=1) / np.sqrt(len(pais))


def test_coverage_curve_and_auc(chicago) -> None:
    g = chicago.grid
    counts = g.counts(chicago.incidents.between("2019-06-01", "2019-07-01"))
    past = g.counts(chicago.incidents.until("2019-06-01"))
    c = pw.evaluate.coverage_curve(pw.Surface(past, g, "past counts"), counts)
    assert c.hit_rate[-1] == pytest.approx(1.0)
    assert c.area_share[-1] == pytest.approx(1.0)
    assert np.all(np.diff(c.hit_rate) >= 0)
    assert 0.5 < c.auc < 1.0  # past counts predict far better than chance
    assert c.at([0.05])[0] == pytest.approx(np.interp(0.05, c.area_share, c.hit_rate))


def test_metric_bad_input() -> None:
    g = line_grid()
    s = pw.Surface(np.ones((1, 5)), g, "flat")
    for bad in (0.0, -0.5, 1.01):
        with pytest.raises(pw.InvalidParameterError, match="coverage"):
            pw.evaluate.metrics(s, np.ones(5), coverage=bad)
    with pytest.raises(pw.InvalidParameterError, match="5 cells"):
        pw.evaluate.metrics(s, np.ones(4))
    # an empty test window is reported as NaN with n_test 0, not a division by zero
    m = pw.evaluate.metrics(s, np.zeros(5), coverage=0.2)
    assert m["n_test"].iloc[0] == 0 and np.isnan(m["pai"].iloc[0])
    # ties at the threshold are reported
    assert m["tied_at_threshold"].iloc[0] == 5 and m["tied_flagged"].iloc[0] == 1


class Spy(Model):
    """Records the latest training time it saw; predicts past counts."""

    seen: list[tuple[pd.Timestamp, int]] = []

    def __init__(self, tag: str = "spy") -> None:
        self.tag = tag

    def fit(self, incidents: pw.Incidents, grid: pw.Grid) -> Spy:
        self.incidents_, self.grid_ = incidents, grid
        self.fitted_ = True
        return self

    def predict(self, at: pd.Timestamp) -> pw.Surface:
        self._check_fitted()
        t = int(pd.Timestamp(at).tz_convert("UTC").value // 10**9)
        Spy.seen.append((t, int(self.incidents_.t.max()) if len(self.incidents_) else -1))
        return pw.Surface(self.grid_.counts(self.incidents_), self.grid_, "Spy")


def test_backtest_never_trains_on_the_future(chicago) -> None:
    Spy.seen = []
    res = pw.evaluate.backtest([Spy()], chicago.incidents, chicago.grid, start="2019-03-01", end="2019-05-01",
                               step="7D", train_window="60D", coverage=[0.01], bootstrap=200, progress=False)
    assert len(Spy.seen) == res.frame["origin"].nunique() == 9
    for origin, latest in Spy.seen:
        assert latest < origin
    assert res.models == ["Naive (baseline)", "Spy"]
    f = res.frame
    assert set(f.columns) >= {"model", "origin", "coverage", "metric", "value", "n_test"}
    s = res.summary()
    row = s[(s.model == "Spy") & (s.metric == "pai")].iloc[0]
    assert row.ci_low <= row["mean"] <= row.ci_high
    cmp = res.compare()
    assert set(cmp["model"]) == {"Spy"}
    assert "PAI" in res._repr_html_() or "pai" in res._repr_html_()
    res.plot("curves")
    res.plot("time")


def test_backtest_bad_input(chicago) -> None:
    inc, g = chicago.incidents, chicago.grid
    kw = dict(progress=False, bootstrap=0)
    with pytest.raises(pw.InvalidParameterError, match="step"):
        pw.evaluate.backtest([], inc, g, "2019-03-01", "2019-04-01", step="0D", **kw)
    with pytest.raises(pw.InvalidParameterError, match="horizon"):
        pw.evaluate.backtest([], inc, g, "2019-03-01", "2019-04-01", horizon="-1D", **kw)
    with pytest.raises(pw.InvalidParameterError, match="coverage"):
        pw.evaluate.backtest([], inc, g, "2019-03-01", "2019-04-01", coverage=[1.5], **kw)
    with pytest.raises(pw.InvalidParameterError, match="start"):
        pw.evaluate.backtest([], inc, g, "2017-03-01", "2019-04-01", **kw)
    with pytest.raises(pw.InvalidParameterError, match="end"):
        pw.evaluate.backtest([], inc, g, "2019-03-01", "2021-04-01", **kw)
    with pytest.raises(pw.InvalidParameterError, match="end"):
        pw.evaluate.backtest([], inc, g, "2019-03-01", "2019-02-01", **kw)
