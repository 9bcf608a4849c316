"""Size limits: every parameter-dependent allocation is sized first and refused with
TooLargeError naming the parameter, the size and the limit; each case that used to abort the
interpreter runs in a child process under a 2 GB address-space limit."""

from __future__ import annotations

import pytest

import placewise as pw

from _capped import run_capped

pytestmark = pytest.mark.skipif(__import__("sys").platform != "linux", reason="RLIMIT_AS is Linux-specific")

# A 2 km square region with 100 m cells and a few incidents, in UTM metres.
SETUP = """
region = pw.Region.from_bounds(440000, 4630000, 442000, 4632000, crs="EPSG:32616")
grid = pw.Grid(region, cell_size=100)
rng = np.random.default_rng(0)
df = pd.DataFrame({"x": 440000 + rng.uniform(0, 2000, 200), "y": 4630000 + rng.uniform(0, 2000, 200),
                   "t": pd.date_range("2020-01-01", periods=200, freq="6h").astype(str)})
inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616", tz="UTC")
"""

CATCH = """
try:
    {call}
except pw.TooLargeError as e:
    print("REFUSED", e.name, e.requested, e.limit)
    print(e)
else:
    print("NOT REFUSED")
"""

CASES = {
    # 184 GB FFT lattice
    "kde_huge_bandwidth": ('pw.KDE(bandwidth=1e7, mode="binned").fit(inc, grid).predict()', "bandwidth"),
    "kde_huge_cutoff": ('pw.KDE(bandwidth=800, cutoff=1e6, mode="binned").fit(inc, grid).predict()', "cutoff"),
    # 10^10 cells
    "grid_max_cells_raised": (
        'pw.Grid(pw.Region.from_bounds(0, 0, 1e5, 1e5, crs="EPSG:32616"), cell_size=1.0, max_cells=10**12)',
        "cell_size",
    ),
    # 43,200 origins
    "backtest_one_minute_steps": (
        'pw.evaluate.backtest([pw.Naive()], inc, grid, start="2020-01-10", end="2020-02-09", step="1min")',
        "step",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_before_allocating_under_a_memory_cap(case):
    call, param = CASES[case]
    r = run_capped(SETUP + CATCH.format(call=call))
    assert r.returncode == 0, f"child died ({r.returncode}): {r.stderr[-2000:]}"
    first = r.stdout.splitlines()[0].split()
    assert first[0] == "REFUSED", r.stdout + r.stderr[-2000:]
    assert first[1] == param
    assert int(first[2]) > int(first[3])  # requested above the limit
    assert f"`{param}`" in r.stdout


def test_population_cells_times_groups_is_refused_under_a_memory_cap():
    # A 25-million-cell grid (the default limit) with 30 groups would need 6 GB.
    code = """
    import geopandas as gpd, shapely
    region = pw.Region.from_bounds(0, 0, 5000, 5000, crs="EPSG:32616")
    grid = pw.Grid(region, cell_size=1.0)
    assert grid.n_cells == 25_000_000
    groups = [f"g{i}" for i in range(30)]
    areas = gpd.GeoDataFrame({g: [100.0] for g in groups}, geometry=[shapely.box(0, 0, 5000, 5000)], crs="EPSG:32616")
    try:
        pw.Population.from_geodataframe(areas, groups=groups, grid=grid)
    except pw.TooLargeError as e:
        print("REFUSED", e.name, e.requested, e.limit)
    else:
        print("NOT REFUSED")
    """
    r = run_capped(code, timeout=600)
    assert r.returncode == 0, f"child died ({r.returncode}): {r.stderr[-2000:]}"
    assert r.stdout.split()[:3] == ["REFUSED", "groups", str(25_000_000 * 30)], r.stdout


def test_limits_are_listed_and_set_in_one_place():
    lim = pw.limits()
    assert lim.max_grid_cells == 25_000_000
    assert lim.max_fft_nodes == 2**26
    region = pw.Region.from_bounds(0, 0, 1000, 1000, crs="EPSG:32616")
    before = pw.set_limits(max_grid_cells=50)
    try:
        assert before == lim
        with pytest.raises(pw.TooLargeError) as e:
            pw.Grid(region, cell_size=100)  # 100 cells
        assert (e.value.name, e.value.requested, e.value.limit) == ("cell_size", 100, 50)
        assert isinstance(e.value, pw.PlacewiseError) and isinstance(e.value, ValueError)
    finally:
        pw.set_limits(**before.as_dict())
    assert pw.limits() == lim
    assert pw.Grid(region, cell_size=100).n_cells == 100
    # a per-call cap below the limit
    with pytest.raises(pw.TooLargeError):
        pw.Grid(region, cell_size=100, max_cells=99)


@pytest.mark.parametrize("bad", [{"max_grid_cells": 0}, {"max_grid_cells": -1}, {"max_grid_cells": True},
                                 {"max_grid_cells": 1.5}, {"max_grid_cells": "10"}, {"max_cells": 10},
                                 {"max_pairs": 2**64}])
def test_bad_limits_are_refused_by_name(bad):
    with pytest.raises(pw.InvalidParameterError) as e:
        pw.set_limits(**bad)
    assert e.value.name == next(iter(bad))
    assert pw.limits() == pw.Limits(**pw.limits().as_dict())  # unchanged and consistent


def test_backtest_origin_limit_can_be_raised_per_call():
    region = pw.Region.from_bounds(440000, 4630000, 442000, 4632000, crs="EPSG:32616")
    grid = pw.Grid(region, cell_size=500)
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"x": 440000 + np.arange(60) * 30.0, "y": 4630000 + np.arange(60) * 30.0,
                       "t": pd.date_range("2020-01-01", periods=60, freq="12h").astype(str)})
    inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616", tz="UTC")
    kw = dict(start="2020-01-10", end="2020-01-20", step="1D", bootstrap=0)
    with pytest.raises(pw.TooLargeError) as e:
        pw.evaluate.backtest([pw.Naive()], inc, grid, max_origins=5, **kw)
    assert (e.value.name, e.value.requested, e.value.limit) == ("step", 10, 5)
    res = pw.evaluate.backtest([pw.Naive()], inc, grid, max_origins=10, **kw)
    assert res.frame["origin"].nunique() == 10
