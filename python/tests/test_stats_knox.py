"""Knox near-repeat test: counts against an O(N²) brute force, the +1 rule, expectations,
bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.exceptions import EmptyInputError, InvalidParameterError

DAY = 86_400


def _incidents(n: int, seed: int, repeats: bool = True) -> pw.Incidents:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3000, n)
    y = rng.uniform(0, 3000, n)
    t = rng.integers(0, 365 * DAY, n)
    if repeats:
        # every 8th incident repeats an earlier one at the same place within 5 days
        for i in range(8, n, 8):
            x[i], y[i] = x[i - 1], y[i - 1]
            t[i] = t[i - 1] + rng.integers(0, 5 * DAY)
    df = pd.DataFrame({"x": x, "y": y, "t": pd.to_datetime(t, unit="s", utc=True)})
    return pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616")


def _which(v: np.ndarray, bands: list[tuple[float, float]]) -> np.ndarray:
    """Band index per value: (lo, hi], the first closed at 0 when lo == 0; len(bands) beyond
    the last band; -1 in a gap."""
    out = np.full(v.shape, -1)
    out[v > bands[-1][1]] = len(bands)
    for k, (lo, hi) in enumerate(bands):
        inside = (v <= hi) & ((v > lo) | ((k == 0) & (lo == 0)))
        out[inside] = k
    return out


def _brute(inc: pw.Incidents, sb, tb) -> np.ndarray:
    x, y, t = inc.x, inc.y, inc.t
    i, j = np.triu_indices(len(x), k=1)
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    dt = np.abs(t[i] - t[j]) / DAY
    s, k = _which(d, sb), _which(dt, tb)
    ok = (s >= 0) & (k >= 0)
    table = np.zeros((len(sb) + 1, len(tb) + 1), dtype=np.int64)
    np.add.at(table, (s[ok], k[ok]), 1)
    return table.ravel()


@pytest.mark.parametrize(
    ("space", "time"),
    [
        ([0, 100, 200, 400], [0, 7, 14, 30]),
        ([(0, 0), (0, 150)], [(0, 2), (2, 10), (30, 60)]),  # a gap in time
        ([(50, 120), (300, 500)], [0, 3.5, 20]),  # gaps in space
    ],
)
def test_observed_counts_equal_brute_force(space, time):
    inc = _incidents(2500, seed=1)
    k = pw.stats.knox(inc, space, time, permutations=19, seed=0)
    assert k.table["observed"].to_numpy().tolist() == _brute(inc, k.space_bands, k.time_bands).tolist()
    assert k.n_pairs == 2500 * 2499 // 2


def test_p_values_use_the_plus_one_rule_and_detect_repeats():
    inc = _incidents(3000, seed=2)
    r = 99
    k = pw.stats.knox(inc, [0, 100, 200], [0, 7, 14], permutations=r, seed=4)
    p = k.table["p"].to_numpy()
    # p = (1 + #sim >= obs) / (1 + R): a multiple of 1/(R + 1), never 0
    np.testing.assert_allclose(p * (r + 1), np.round(p * (r + 1)))
    assert p.min() >= 1 / (r + 1) and p.max() <= 1
    same = k.table[(k.table.space_band == "same location") & (k.table.time_band == "0–7 days")].iloc[0]
    assert same.observed > 300 and same.p == pytest.approx(1 / (r + 1)) and same.knox_ratio > 20
    # a cell nobody can fall short of: observed 0 pairs ⇒ every simulation ≥ 0 ⇒ p = 1
    zero = k.table[k.table.observed == 0]
    assert (zero.p == 1.0).all()


def test_simulated_expectation_matches_the_exact_one():
    """The mean over R = 999 permutations estimates n_s m_τ / M; a pair count under permutation
    has variance at most about its mean (≈ hypergeometric), so the mean of R draws has sd
    ≤ √(E/R): we allow 5 sd (plus 1e-9)."""
    inc = _incidents(1500, seed=3, repeats=False)
    k = pw.stats.knox(inc, [0, 250, 500], [0, 20, 40], permutations=999, seed=1)
    e, ex = k.table["expected"].to_numpy(), k.table["expected_exact"].to_numpy()
    assert np.all(np.abs(e - ex) <= 5 * np.sqrt(ex / 999) + 1e-9)
    assert k.table["expected_exact"].sum() == pytest.approx(k.n_pairs)
    assert k.table["observed"].sum() == k.n_pairs


def test_real_sample_table_and_html(chicago):
    k = pw.stats.knox(chicago.incidents, [0, 100, 200, 300, 400], [0, 7, 14, 21, 28], permutations=99, seed=0)
    piv = k.pivot()
    assert piv.shape == (6, 5)
    assert "Knox" in k._repr_html_() and "one-sided" in repr(k)


@pytest.mark.parametrize(
    ("space", "time", "match"),
    [
        ([0, 100], [(7, 14), (0, 7)], "sorted"),
        ([0, 100], [(0, 10), (7, 14)], "overlap"),
        ([0, 100], [0, 14, 7], "increasing"),
        ([(0, -100)], [0, 7], "space_bands"),
        ([0, 100], [], "time_bands"),
        ([0, 100], [(3, 3)], "empty"),
        ([0, float("nan")], [0, 7], "space_bands"),
        ("0,100", [0, 7], "space_bands"),
    ],
)
def test_bad_bands(space, time, match):
    inc = _incidents(50, seed=4)
    with pytest.raises(InvalidParameterError, match=match):
        pw.stats.knox(inc, space, time)


def test_bad_permutations_and_empty():
    inc = _incidents(50, seed=5)
    for bad in (0, -1, 2.5):
        with pytest.raises(InvalidParameterError, match="permutations"):
            pw.stats.knox(inc, [0, 100], [0, 7], permutations=bad)
    with pytest.raises(EmptyInputError):
        pw.stats.knox(inc.until("1970-01-01"), [0, 100], [0, 7])
    with pytest.raises(pw.TooLargeError):
        # the stored pair list has a memory limit
        pw.stats.knox(inc, [0, 5000], [(0, 0)], max_pairs=10, method="pairs")
    with pytest.raises(InvalidParameterError, match="method"):
        pw.stats.knox(inc, [0, 100], [0, 7], method="fast")


@pytest.mark.parametrize(
    ("space", "time"),
    [
        ([0, 150, 300], [0, 10, 20]),
        ([(20, 80), (150, 300)], [(1, 3), (10, 40)]),  # gaps between bands
        ([0, 5000], [(0, 0)]),  # same time only
        ([0, 200], [0, 400]),  # the time band covers most pairs: auto picks the pair list
    ],
)
def test_sweep_and_pair_list_agree(space, time):
    """Both counting methods, and auto, give the identical table for the same permutations."""
    inc = _incidents(3000, seed=6)
    tables = [
        pw.stats.knox(inc, space, time, permutations=49, seed=8, method=m).table for m in ("sweep", "pairs", "auto")
    ]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    pd.testing.assert_frame_equal(tables[0], tables[2])
    # over max_pairs, auto falls back on the sweep
    over = pw.stats.knox(inc, space, time, permutations=49, seed=8, max_pairs=10).table
    pd.testing.assert_frame_equal(tables[0], over)
