"""Region, Grid, Population: geometry, masks, areal weights and their bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import placewise as pw
from placewise import _native
from placewise.space import _polygons

UTM = "EPSG:32616"


def square_region(size: float = 1000.0) -> pw.Region:
    return pw.Region.from_bounds(0, 0, size, size, crs=UTM)


def test_region_from_geodataframe_is_the_union_in_metres(chicago) -> None:
    areas = chicago.areas
    region = pw.Region.from_geodataframe(areas)
    assert region.crs.to_epsg() == 32616
    # independent union with shapely/geopandas in the same CRS
    expected = areas.to_crs(region.crs).union_all().area
    assert region.area_m2 == pytest.approx(expected, rel=1e-9)
    assert region.area_m2 == pytest.approx(599e6, rel=0.01)  # PROVENANCE.md: about 599 km²
    # named target CRS
    r2 = pw.Region.from_geodataframe(areas, crs="EPSG:26916")
    assert r2.crs.to_epsg() == 26916


def test_region_bad_input() -> None:
    with pytest.raises(pw.EmptyInputError):
        pw.Region.from_geodataframe(gpd.GeoDataFrame(geometry=[], crs=UTM))
    line = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=UTM)
    with pytest.raises(pw.DataValidationError, match="row 0.*no area"):
        pw.Region.from_geodataframe(line)
    flat = gpd.GeoDataFrame(geometry=[shapely.Polygon([(0, 0), (1, 0), (2, 0)])], crs=UTM)
    with pytest.raises(pw.InvalidParameterError, match="no area"):
        pw.Region.from_geodataframe(flat)
    with pytest.raises(pw.InvalidParameterError, match="no CRS"):
        pw.Region.from_geodataframe(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))
    with pytest.raises(pw.InvalidParameterError, match="not projected in metres"):
        pw.Region.from_bounds(0, 0, 1, 1, crs="EPSG:4326")


def test_grid_mask_rule_and_counts(chicago) -> None:
    grid = chicago.grid
    mask = grid.mask()
    cov = grid.coverage()
    assert mask.shape == grid.shape == (grid.ny, grid.nx)
    assert mask.sum() == grid.n_active
    assert ((cov > 0) == mask).all()
    # coverage-weighted area equals the region's area (exact overlay, float error only)
    assert grid.active_area_m2 == pytest.approx(chicago.region.area_m2, rel=1e-9)
    # every kept incident (inside the region) lies in an active cell
    cells = grid.cell_of(chicago.incidents.x, chicago.incidents.y)
    assert (cells >= 0).all()
    counts = grid.counts(chicago.incidents)
    assert counts.sum() == len(chicago.incidents)
    np.testing.assert_array_equal(np.bincount(cells, minlength=grid.n_cells).reshape(grid.shape), counts)


def test_counts_refuse_incidents_in_another_crs(chicago) -> None:
    other = pw.Incidents.from_frame(pw.datasets.chicago_incidents_frame().head(50), x="longitude", y="latitude", t="date",
                                    tz="America/Chicago", target_crs="EPSG:26916")
    with pytest.raises(pw.InvalidParameterError, match="CRS"):
        chicago.grid.counts(other)
    with pytest.raises(pw.InvalidParameterError, match="CRS"):
        pw.evaluate.metrics(pw.Surface(np.zeros(chicago.grid.shape), chicago.grid, "z"), other)


def test_grid_cell_ids_match_an_independent_overlay(chicago) -> None:
    grid = chicago.grid
    gdf = grid.to_geodataframe()
    assert len(gdf) == grid.n_active
    # overlap share of each active cell computed with shapely: agrees with grid.coverage()
    sample = gdf.sample(300, random_state=0)
    union = chicago.region.to_shapely()
    share = shapely.area(shapely.intersection(sample.geometry.values, union)) / grid.cell_size**2
    # geo's boolean ops (i_overlay) snap coordinates to a fixed-point lattice scaled to the
    # shape's bounding box (~1e-9 of 40 km): overlaps agree with GEOS to ~1e-7 of a cell.
    np.testing.assert_allclose(share, sample["coverage"].to_numpy(), atol=1e-7)
    # points land in the polygon of the cell geopandas finds
    inc = chicago.incidents
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(inc.x[:2000], inc.y[:2000]), crs=grid.crs)
    joined = gpd.sjoin(pts, gdf, predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    ok = joined["cell_id"].notna()
    np.testing.assert_array_equal(joined.loc[ok, "cell_id"].to_numpy(int), grid.cell_of(inc.x[:2000], inc.y[:2000])[ok.to_numpy()])


@pytest.mark.parametrize("cell", [0.0, -150.0, float("nan"), float("inf")])
def test_bad_cell_sizes(cell: float) -> None:
    with pytest.raises(pw.InvalidParameterError, match="cell_size"):
        pw.Grid(square_region(), cell_size=cell)


def test_huge_cell_and_too_large_grid() -> None:
    g = pw.Grid(square_region(), cell_size=1e7)
    assert g.n_cells == 1 and g.n_active == 1
    with pytest.raises(pw.TooLargeError) as e:
        pw.Grid(square_region(100_000), cell_size=1.0)
    assert e.value.requested == 10_000_000_000 and e.value.limit == _native.DEFAULT_MAX_CELLS
    with pytest.raises(pw.TooLargeError):
        pw.Grid(square_region(), cell_size=1.0, max_cells=1000)


@settings(max_examples=50, deadline=None)
@given(
    st.floats(1.0, 400.0),
    st.lists(st.tuples(st.floats(-50, 1050, allow_subnormal=False), st.floats(-50, 1050, allow_subnormal=False)), min_size=1, max_size=30),
)
def test_cell_of_round_trip_and_outside(cell: float, pts: list[tuple[float, float]]) -> None:
    g = pw.Grid(square_region(), cell_size=cell)
    ids = g.cell_ids
    cx, cy = g.centres(ids)
    np.testing.assert_array_equal(g.cell_of(cx, cy), ids)
    x, y = np.array(pts).T
    got = g.cell_of(x, y)
    x0, y0, x1, y1 = g.extent
    inside = (x >= 0) & (x < 1000) & (y >= 0) & (y < 1000)
    assert (got[~((x >= x0) & (x < x1) & (y >= y0) & (y < y1))] == -1).all()
    assert (got[inside] >= 0).all()


def test_areal_weights_of_a_polygon_inside_sum_to_one() -> None:
    g = pw.Grid(square_region(), cell_size=70.0)
    poly = shapely.Polygon([(100, 100), (830, 240), (600, 910), (150, 700)]).buffer(20)
    indptr, cell, w, area, share = _native.areal_weights([_polygons(poly, 0)], g._native)
    # fixed-point snapping in i_overlay (see above) bounds the error at ~1e-9 relative
    assert share[0] == pytest.approx(1.0, abs=1e-8)
    assert area[0] == pytest.approx(poly.area, rel=1e-8)
    # each weight equals the independent shapely overlap of that cell
    cx, cy = g.centres(cell.astype(np.int64))
    boxes = shapely.box(cx - 35, cy - 35, cx + 35, cy + 35)
    np.testing.assert_allclose(w, shapely.area(shapely.intersection(boxes, poly)) / poly.area, atol=1e-9)


def test_population_distributes_by_area_and_reports_misses() -> None:
    g = pw.Grid(square_region(), cell_size=100.0)
    areas = gpd.GeoDataFrame(
        {"name": ["left", "right", "far"], "A": [100.0, 50.0, 7.0], "B": [0.0, 50.0, 3.0]},
        geometry=[shapely.box(0, 0, 500, 1000), shapely.box(500, 0, 1000, 1000), shapely.box(5000, 0, 6000, 100)],
        crs=UTM,
    )
    with pytest.warns(pw.exceptions.PlacewiseWarning, match="do not overlap"):
        pop = pw.Population.from_geodataframe(areas, ["A", "B"], g, area_id="name")
    assert pop.report["areas_missing_grid"] == ["far"]
    assert pop.totals["A"] == pytest.approx(150.0)
    # uniform density: each of the 50 left cells holds 2 people of A
    assert pop.counts[0, 0] == pytest.approx(2.0)
    assert pop.to_frame().shape == (100, 3)


def test_population_bad_input(chicago) -> None:
    areas = chicago.areas
    with pytest.raises(pw.DataValidationError, match="`LATINO`.*available columns"):
        pw.Population.from_geodataframe(areas, ["WHITE", "LATINO"], chicago.grid)
    neg = areas.copy()
    neg.loc[neg.index[3], "BLACK"] = -5
    with pytest.raises(pw.DataValidationError, match="row 3.*`BLACK`"):
        pw.Population.from_geodataframe(neg, ["WHITE", "BLACK"], chicago.grid)
    nan = areas.copy()
    nan["WHITE"] = nan["WHITE"].astype(float)
    nan.loc[nan.index[5], "WHITE"] = np.nan
    with pytest.raises(pw.DataValidationError, match="row 5.*`WHITE`"):
        pw.Population.from_geodataframe(nan, ["WHITE"], chicago.grid)
    with pytest.raises(pw.InvalidParameterError, match="groups"):
        pw.Population.from_geodataframe(areas, [], chicago.grid)
    away = areas.copy()
    away["geometry"] = away.geometry.translate(10, 10)  # degrees: somewhere else entirely
    with pytest.raises(pw.DataValidationError, match="no area overlaps"):
        pw.Population.from_geodataframe(away, ["WHITE"], chicago.grid)


def test_chicago_population_matches_acs_totals(chicago) -> None:
    pop = chicago.population
    # PROVENANCE.md city totals; the region is the union of the areas, so everyone is placed
    expected = {"WHITE": 901_413, "HISP": 780_081, "BLACK": 790_455, "ASIAN": 177_142, "OTHER": 59_437}
    for g, v in expected.items():
        assert pop.totals[g] == pytest.approx(v, rel=0.01), g
    assert pop.report["areas_missing_grid"] == []


def test_areal_weights_python_api(chicago) -> None:
    # district "31" names three separate polygons, so key by position
    w = pw.space.areal_weights(chicago.districts, chicago.grid)
    share = w.attrs["in_grid_share"]
    assert len(share) == 25
    # districts extend a little beyond the community-area extent (e.g. O'Hare): shares are <= 1
    assert (share <= 1 + 1e-8).all() and (share > 0.9).all()
    sums = w.groupby("area")["weight"].sum()
    np.testing.assert_allclose(sums.loc[share.index].to_numpy(), share.to_numpy(), rtol=1e-12)
    assert set(pw.space.areal_weights(chicago.districts, chicago.grid, id_column="district")["area"]) == set(chicago.districts["district"])
    with pytest.raises(pw.DataValidationError, match="`nope`"):
        pw.space.areal_weights(chicago.districts, chicago.grid, id_column="nope")


def test_region_from_file(shared_data) -> None:
    path = shared_data / "toronto_mci_2014_2021" / "neighbourhoods_historical_140_epsg4326.geojson"
    r = pw.Region.from_file(path)
    assert r.crs.to_epsg() == 32617  # UTM 17N for Toronto
    assert r.area_m2 == pytest.approx(630e6, rel=0.03)  # City of Toronto is about 630 km²
