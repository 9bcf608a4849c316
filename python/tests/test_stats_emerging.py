"""Emerging hot spots: Mann–Kendall against scipy, constructed patterns, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import placewise as pw
from placewise.exceptions import EmptyInputError, InvalidParameterError

DAY = 86_400


def test_mann_kendall_matches_kendalltau():
    """S and its tie-corrected variance equal those behind scipy's Kendall tau-b against time
    (scipy's asymptotic z = S/√Var, without continuity correction); placewise's p uses the
    continuity-corrected z = (S − sign S)/√Var."""
    rng = np.random.default_rng(0)
    for n in (5, 12, 30):
        for trend in (0.0, 0.3):
            x = np.round(rng.normal(size=n) + trend * np.arange(n), 1)  # rounding makes ties
            mk = pw.stats.mann_kendall(x)
            res = st.kendalltau(np.arange(n), x, method="asymptotic")
            _, counts = np.unique(x, return_counts=True)
            n0 = n * (n - 1) / 2
            n2 = (counts * (counts - 1) / 2).sum()
            s = res.statistic * np.sqrt(n0 * (n0 - n2))
            assert mk["s"] == pytest.approx(s, abs=1e-9)
            if mk["s"] != 0:
                z_scipy = st.norm.isf(res.pvalue / 2) * np.sign(s)
                var = (s / z_scipy) ** 2
                assert mk["var_s"] == pytest.approx(var, rel=1e-7)
                assert mk["p"] == pytest.approx(2 * st.norm.sf((abs(s) - 1) / np.sqrt(var)), rel=1e-7)


def _cube_incidents(grid: pw.Grid, heavy: dict[int, list[int]], steps: int, seed: int) -> pw.Incidents:
    """Background: Poisson(0.3) per cell and week; `heavy[cell]` lists weeks with 40 extra
    incidents in that cell."""
    rng = np.random.default_rng(seed)
    ids = grid.cell_ids
    cx, cy = grid.centres(ids)
    xs, ys, ts = [], [], []
    for w in range(steps):
        n = rng.poisson(0.3, size=len(ids))
        for extra_cell, weeks in heavy.items():
            if w in weeks:
                n[extra_cell] += 40
        k = np.repeat(np.arange(len(ids)), n)
        xs.append(cx[k] + rng.uniform(-40, 40, len(k)))
        ys.append(cy[k] + rng.uniform(-40, 40, len(k)))
        ts.append(w * 7 * DAY + rng.integers(0, 7 * DAY, len(k)))
    df = pd.DataFrame({"x": np.concatenate(xs), "y": np.concatenate(ys),
                       "t": pd.to_datetime(np.concatenate(ts), unit="s", utc=True)})
    return pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616")


def test_constructed_patterns_are_classified():
    grid = pw.Grid(pw.Region.from_bounds(0, 0, 3000, 3000, crs="EPSG:32616"), cell_size=100)
    nx = grid.nx
    steps = 12
    cells = {
        "persistent hot spot": 5 * nx + 5,
        "new hot spot": 5 * nx + 20,
        "consecutive hot spot": 20 * nx + 5,
        "historical hot spot": 20 * nx + 20,
        "sporadic hot spot": 12 * nx + 12,
    }
    heavy = {
        cells["persistent hot spot"]: list(range(steps)),
        cells["new hot spot"]: [steps - 1],
        cells["consecutive hot spot"]: [9, 10, 11],
        cells["historical hot spot"]: list(range(steps - 1)),
        cells["sporadic hot spot"]: [2, 6, 11],
    }
    inc = _cube_incidents(grid, heavy, steps, seed=1)
    e = pw.stats.emerging_hotspots(inc, grid, "7D", distance=150, time_steps=0, start="1970-01-01", end="1970-03-26")
    assert len(e.steps) == steps
    cat = e.categories.set_index("cell_id")["category"]
    for want, cell in cells.items():
        assert cat[cell] == want, (want, cat[cell])
    # a queen neighbour of the persistent cell shares its pattern; far background cells do not
    assert cat[5 * nx + 6] == "persistent hot spot"
    assert (e.categories.category == "no pattern detected").mean() > 0.5
    # counts are the incidents per bin
    assert e.counts.sum() + e.n_ignored == len(inc)
    assert e.summary_table().sum() == grid.n_active
    assert "Emerging" in e._repr_html_()
    gdf = e.to_geodataframe()
    assert len(gdf) == grid.n_active and "category" in gdf


def test_intensifying_and_diminishing_trends():
    grid = pw.Grid(pw.Region.from_bounds(0, 0, 2000, 2000, crs="EPSG:32616"), cell_size=100)
    steps = 12
    rng = np.random.default_rng(3)
    ids = grid.cell_ids
    cx, cy = grid.centres(ids)
    up, down = 5 * grid.nx + 5, 14 * grid.nx + 14
    xs, ys, ts = [], [], []
    for w in range(steps):
        n = rng.poisson(0.3, size=len(ids))
        for dr in (-1, 0, 1):  # 3 × 3 blocks, so that the whole neighbourhood is heavy
            for dc in (-1, 0, 1):
                n[up + dr * grid.nx + dc] += 60 + 10 * w
                n[down + dr * grid.nx + dc] += 60 + 10 * (steps - 1 - w)
        k = np.repeat(np.arange(len(ids)), n)
        xs.append(cx[k])
        ys.append(cy[k])
        ts.append(w * 7 * DAY + rng.integers(0, 7 * DAY, len(k)))
    df = pd.DataFrame({"x": np.concatenate(xs), "y": np.concatenate(ys),
                       "t": pd.to_datetime(np.concatenate(ts), unit="s", utc=True)})
    inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616")
    e = pw.stats.emerging_hotspots(inc, grid, "7D", distance=150, time_steps=0, start="1970-01-01", end="1970-03-26")
    cat = e.categories.set_index("cell_id")["category"]
    assert cat[up] == "intensifying hot spot"
    assert cat[down] == "diminishing hot spot"


def test_bad_inputs(chicago):
    inc, grid = chicago.incidents, chicago.grid
    with pytest.raises(InvalidParameterError, match="step"):
        pw.stats.emerging_hotspots(inc, grid, "0D")
    with pytest.raises(InvalidParameterError, match="step"):
        pw.stats.emerging_hotspots(inc, grid, "400D")  # fewer than 3 steps in two years
    with pytest.raises(InvalidParameterError, match="distance"):
        pw.stats.emerging_hotspots(inc, grid, "28D", distance=100)  # below one 150 m cell
    with pytest.raises(InvalidParameterError, match="distance"):
        pw.stats.emerging_hotspots(inc, grid, "28D", distance=-1)
    with pytest.raises(InvalidParameterError, match="alpha"):
        pw.stats.emerging_hotspots(inc, grid, "28D", alpha=0)
    with pytest.raises(InvalidParameterError, match="time_steps"):
        pw.stats.emerging_hotspots(inc, grid, "28D", time_steps=-1)
    with pytest.raises(EmptyInputError):
        pw.stats.emerging_hotspots(inc.until("2000-01-01"), grid, "28D")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="at least 10"):
            pw.stats.emerging_hotspots(inc, grid, "120D")


def test_real_sample_runs(chicago):
    e = pw.stats.emerging_hotspots(chicago.incidents, chicago.grid, "28D")
    assert e.z.shape == (len(e.steps), chicago.grid.n_active)
    assert e.summary_table().sum() == chicago.grid.n_active
    assert "correction='fdr_bh'" in e.summary()
