"""Model selection: labels, no peeking at test windows, the executor hook, the fallback to the
baseline, and the chain's use of the choice."""

from __future__ import annotations

import builtins
import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.selection import AUTO, BASELINE, expand, select

UTM = "EPSG:32616"
DAY = 86_400


@pytest.fixture(scope="module")
def stable() -> tuple[pw.Incidents, pw.Grid]:
    """Three years of incidents from fixed, very uneven cell rates (a stationary process):
    a longer count window estimates the rates better than last year's counts."""
    rng = np.random.default_rng(7)
    g = pw.Grid(pw.Region.from_bounds(0, 0, 2000, 2000, crs=UTM), cell_size=100)
    rate = rng.gamma(0.3, 5.0, g.n_cells)  # incidents per cell per year, very skewed
    days = 3 * 365
    counts = rng.poisson(rate * 3)
    cell = np.repeat(np.arange(g.n_cells), counts)
    cx, cy = g.centres(cell)
    t = np.sort(rng.integers(0, days * DAY, cell.size))
    perm = rng.permutation(cell.size)
    inc = pw.Incidents.from_arrays(x=cx[perm] + rng.uniform(-40, 40, cell.size), y=cy[perm] + rng.uniform(-40, 40, cell.size),
                                   t=t, crs=UTM, tz="UTC")
    return inc, g


def when(day: int) -> pd.Timestamp:
    return pd.Timestamp(day * DAY, unit="s", tz="UTC")


def test_expand_labels_and_errors() -> None:
    c = expand({"KDE": (pw.KDE(), {"bandwidth": [100, 200]}), "N": pw.Naive()})
    assert [x.label for x in c] == ["KDE(bandwidth=100)", "KDE(bandwidth=200)", "N"]
    assert c[1].model.bandwidth == 200 and c[0].model is not c[1].model
    with pytest.raises(pw.InvalidParameterError, match="reserved"):
        expand({BASELINE: pw.Naive()})
    with pytest.raises(pw.InvalidParameterError, match="empty list"):
        expand({"K": (pw.KDE(), {"bandwidth": []})})


def test_metric_and_window_errors(stable) -> None:
    inc, g = stable
    with pytest.raises(pw.InvalidParameterError) as e:
        select([pw.Naive()], inc, g, when(800), when(830), metric="auc")
    assert e.value.name == "metric"
    with pytest.raises(pw.InvalidParameterError) as e2:
        select([pw.Naive()], inc, g, when(800), when(830), metric="pai", coverage=0)
    assert e2.value.name == "coverage"
    with pytest.raises(pw.InvalidParameterError) as e3:
        select([pw.Naive()], inc, g, when(380), when(420))  # warm-up + baseline window before the data
    assert e3.value.name == "start"


def test_longer_window_wins_on_a_stationary_process_and_beats_the_baseline(stable) -> None:
    inc, g = stable
    res = select({"Naive": (pw.Naive(), {"window_days": [91, 730]})}, inc, g, when(760), when(1060), metric="deviance",
                 history="730D", lookback=4, bootstrap=500)
    # most test origins pick the 2-year window: with stationary rates it is the better estimate
    assert (res.choices[AUTO] == "Naive(window_days=730)").mean() >= 0.8
    assert res.winner == "Naive(window_days=730)"
    e = res.evidence()
    assert e["ci_high"] < 0 and res.beats_baseline  # deviance: lower is better
    assert res.chosen == "Naive(window_days=730)"
    assert isinstance(res.model(), pw.Naive) and res.model().window_days == 730
    assert "chosen by rolling validation" in res.plain_words()


def test_falls_back_to_the_baseline_in_plain_words(stable) -> None:
    inc, g = stable
    res = select({"Naive": (pw.Naive(), {"window_days": [7, 14]})}, inc, g, when(800), when(900), metric="pai",
                 coverage=0.05, lookback=3, bootstrap=300)
    assert not res.beats_baseline
    assert res.chosen == BASELINE
    assert isinstance(res.model(res.chosen), pw.Naive) and res.model(res.chosen).window_days == 365
    assert res.plain_words().startswith("No model beat the naive baseline")


def test_no_peeking_at_later_test_windows(stable) -> None:
    """Choices at an origin do not change when every incident after that origin changes."""
    inc, g = stable
    models = {"Naive": (pw.Naive(), {"window_days": [91, 365, 730]})}
    a = select(models, inc, g, when(800), when(870), lookback=3, bootstrap=0, history="730D")
    cut = when(835)
    later = inc.t >= cut.value // 10**9
    moved = pw.Incidents.from_arrays(x=np.where(later, 2000 - inc.x, inc.x), y=inc.y, t=inc.t, crs=UTM, tz="UTC")
    b = select(models, moved, g, when(800), when(870), lookback=3, bootstrap=0, history="730D")
    assert not a.scores.equals(b.scores)  # later windows did change
    early = a.choices["origin"] + pd.Timedelta(days=0) <= cut
    pd.testing.assert_frame_equal(a.choices[early], b.choices[early])


def test_executor_hook_and_tasks_pickle(stable) -> None:
    inc, g = stable
    seen: list[pd.Timestamp] = []

    def reversed_map(fn, tasks):  # runs the tasks in reverse order, returns them in order
        tasks = list(tasks)
        for t in tasks:
            pickle.loads(pickle.dumps(t))  # a task is a plain picklable record
            seen.append(t.origin)
        out = [fn(t) for t in reversed(tasks)]
        return list(reversed(out))

    models = {"Naive": (pw.Naive(), {"window_days": [91, 730]}), "Blend": (pw.Blend(long_window_days=730), {"weight": [0.5, 0.9]})}
    a = select(models, inc, g, when(800), when(850), lookback=2, bootstrap=200, history="730D")
    b = select(models, inc, g, when(800), when(850), lookback=2, bootstrap=200, history="730D", map=reversed_map)
    assert len(seen) == 2 + 8
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.table(), b.table())
    # blend weights share their components: weight 1 equals the long counts rescaled
    assert builtins.set(a.scores["family"]) == {BASELINE, "Naive", "Blend"}


def test_blend_is_a_calibrated_mixture(stable) -> None:
    inc, g = stable
    at = when(900)
    b = pw.Blend(weight=1.0, long_window_days=730).fit(inc.until(at), g)
    s = b.predict(at=at, horizon="7D")
    n = pw.Naive(window_days=730).fit(inc.until(at), g).predict(at=at)
    assert s.values == pytest.approx(n.values * 7 / 730)
    with pytest.raises(pw.InvalidParameterError) as e:
        pw.Blend(weight=1.5).fit(inc, g)
    assert e.value.name == "weight"


class _DirectKDE(pw.KDE):
    """A KDE the selection cannot recognise as incremental (a subclass): fitted and
    predicted directly at every origin, the reference for the incremental window sums."""


def test_incremental_window_kde_matches_the_direct_kde(stable) -> None:
    from placewise.selection import _window_kde, _window_kde_key

    inc, g = stable
    model = pw.KDE(bandwidth=150, cutoff=4.0, window_days=365)
    hist = pd.Timedelta(days=730)
    key = _window_kde_key(model, hist)
    assert key is not None
    assert _window_kde_key(_DirectKDE(bandwidth=150, window_days=365), hist) is None
    assert _window_kde_key(pw.KDE(bandwidth=150, window_days=365), pd.Timedelta(days=300)) is None  # window beyond history
    assert _window_kde_key(pw.KDE(bandwidth=150, window_days=365, half_life_days=30), hist) is None
    shared: dict = {}
    # forward steps, a jump back, a jump forward past the window: the same sums each time
    days = [800, 807, 814, 821, 780, 1040, 807]
    got = {d: _window_kde(key, inc, g, when(d), shared) for d in days}
    fresh = _window_kde(key, inc, g, when(807), {})  # never saw another origin
    np.testing.assert_array_equal(got[807].values, fresh.values)  # bit-identical whatever the path
    for d in days:
        at = when(d)
        want = model.clone().fit(inc.between(at - hist, at), g).predict(at=at)
        s = got[d]
        assert s.window == want.window and s.params["n_incidents"] == want.params["n_incidents"]
        # both truncate at 4 bandwidths; they differ by the fixed-point rounding (≤ quantum/2 of
        # the kernel peak per incident) and the direct sum's own round-off (≤ 4ε per incident)
        peak = 1 / (2 * np.pi * 150.0**2) * g.cell_size**2
        n = int(want.params["n_incidents"])
        tol = n * peak * (0.5 * float(s.params["quantum"]) + 4 * np.finfo(float).eps)
        assert np.max(np.abs(s.values - want.values)) <= tol
        assert np.array_equal(s.values == 0, want.values == 0)
        assert float(s.params["error_bound"]) >= float(want.params["error_bound"])
        from placewise.evaluate import expected_counts

        np.testing.assert_allclose(expected_counts(s, "7D"), expected_counts(want, "7D"), rtol=0, atol=tol * 7 / 365)


def test_incremental_kde_leaves_the_selection_unchanged(stable) -> None:
    inc, g = stable
    bws = [80, 150, 300]
    fast = select({"KDE": (pw.KDE(cutoff=4.0, window_days=365), {"bandwidth": bws})}, inc, g, when(800), when(900),
                  history="730D", lookback=3, bootstrap=300)
    slow = select({"KDE": (_DirectKDE(cutoff=4.0, window_days=365), {"bandwidth": bws})}, inc, g, when(800), when(900),
                  history="730D", lookback=3, bootstrap=300)
    pd.testing.assert_frame_equal(fast.choices, slow.choices)
    assert fast.winner == slow.winner
    a, b = fast.scores, slow.scores
    pd.testing.assert_frame_equal(a.drop(columns="value"), b.drop(columns="value"))
    # rank metrics: the same cells are flagged (no value moves across a threshold); the
    # probabilistic scores differ by at most the rounding of the expected counts
    rank = a["metric"].isin(["hit_rate", "pai", "pei_star"]).to_numpy()
    np.testing.assert_array_equal(a["value"].to_numpy()[rank], b["value"].to_numpy()[rank])
    np.testing.assert_allclose(a["value"].to_numpy()[~rank], b["value"].to_numpy()[~rank], rtol=1e-9)


def test_risk_factor_penalties_warm_start_to_the_cold_optimum(stable) -> None:
    from placewise import _native

    inc, g = stable
    at = when(900)
    train = inc.between(at - pd.Timedelta(days=730), at)
    shared: dict = {}
    alphas = [1e-4, 1e-3, 1e-2, 1e-1]
    surf = {a: pw.RiskFactors.fit_predict_shared(pw.RiskFactors(training_origins=4, alpha=a), train, g, at,
                                                  pd.Timedelta("7D"), shared) for a in alphas}
    (key,) = [k for k in shared if k[0] == "risk_factors"]
    x, y, xa, cells, _ = shared[key]
    warm = shared[("risk_factor_fits", key)]
    for a in alphas:
        cold = _native.fit_poisson(x, y, alpha=a)
        # both stop at a Newton decrement < 1e-16: within ~1e-8 of the optimum in the
        # Hessian's norm, so coefficients agree to 1e-6 (features are counts of order 1–100)
        np.testing.assert_allclose(warm[a], [cold.intercept, *cold.coef], rtol=0, atol=1e-6)
        mu = np.exp(cold.intercept + xa @ np.asarray(cold.coef))
        np.testing.assert_allclose(surf[a].values.ravel()[cells], mu, rtol=1e-5)
    with pytest.raises(pw.InvalidParameterError) as e:
        _native.fit_poisson(x, y, alpha=1e-3, start=[0.0])
    assert e.value.name == "start"
