"""Data provenance audit on synthetic incidents with known origins, and on the Chicago sample."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_audit_helpers import CRS, grid, population

import placewise as pw


@pytest.fixture(scope="module")
def synthetic():
    g = grid(nx=4, ny=2, cell=100.0)  # 8 cells
    rng = np.random.default_rng(0)
    n = 400
    x = rng.uniform(1, 399, n)
    y = rng.uniform(1, 199, n)
    origin = np.where(x < 200, "discovered", "reported")  # west half discovered
    origin[::50] = "unknown"
    cat = np.where(rng.random(n) < 0.7, "assault", "theft")
    df = pd.DataFrame({"x": x, "y": y, "t": pd.date_range("2020-01-01 13:17", periods=n, freq="37min"),
                       "origin": origin, "cat": cat})
    inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs=CRS, tz="UTC", origin="origin", category="cat")
    counts = np.zeros((g.n_cells, 2))
    counts[:, 0] = [10, 10, 0, 0, 10, 10, 0, 0]  # group W lives in the west
    counts[:, 1] = [0, 10, 10, 10, 0, 10, 10, 10]  # group E mostly east
    pop = population(g, counts, ["W", "E"])
    areas = gpd.GeoDataFrame({"name": ["west", "east"]},
                             geometry=[shapely.box(0, 0, 200, 200), shapely.box(200, 0, 400, 200)], crs=CRS)
    return inc, pop, areas, df


def test_shares_overall_by_area_and_by_group(synthetic):
    inc, pop, areas, df = synthetic
    with pytest.warns(pw.exceptions.DataQualityWarning, match="discovered by police"):
        a = pw.audit.data_provenance(inc, population=pop, areas=areas, area_id="name")
    o = df["origin"].value_counts()
    assert a.overall["discovered"] == o["discovered"]
    assert a.discovered_share == pytest.approx(o["discovered"] / len(df))
    west = df[df.x < 200]
    assert a.by_area.loc["west", "discovered"] == (west.origin == "discovered").sum()
    assert a.by_area.loc["east", "discovered_share"] == 0.0
    # By group, brute force: each incident split among its cell's residents.
    cell = (df.y // 100).astype(int) * 4 + (df.x // 100).astype(int)
    P = pop.counts
    wshare = P[cell, 0] / P[cell].sum(axis=1)
    disc = (df.origin == "discovered").to_numpy()
    assert a.by_group.loc["W", "discovered"] == pytest.approx(wshare[disc].sum())
    assert a.by_group.loc["W", "discovered_share"] == pytest.approx(wshare[disc].sum() / wshare.sum())
    assert a.by_group.loc["W", "discovered_share"] > a.by_group.loc["E", "discovered_share"]
    assert a.categories.loc["assault", "dominant"]
    assert any("assault" in w for w in a.warnings)
    assert a.summary()["discovered_share"] == pytest.approx(a.discovered_share)
    assert "Data provenance" in a._repr_html_()


def test_reported_only_data_gives_no_origin_warning(chicago):
    with warnings.catch_warnings():
        warnings.simplefilter("error", pw.exceptions.DataQualityWarning)
        a = pw.audit.data_provenance(chicago.incidents, population=chicago.population)
    assert a.discovered_share == 0.0
    assert a.quality["spikes"] == len(chicago.incidents.quality.spikes)
    assert a.by_group["total"].sum() + a.unpopulated_incidents == pytest.approx(len(chicago.incidents))


def test_bad_input(synthetic):
    inc, pop, areas, _ = synthetic
    with pytest.raises(pw.InvalidParameterError):
        pw.audit.data_provenance(np.zeros(3))
    with pytest.raises(pw.InvalidParameterError, match="area_id"):
        pw.audit.data_provenance(inc, areas=areas, area_id="nope", warn=False)
