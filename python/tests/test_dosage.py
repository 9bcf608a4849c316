"""Patrol dosage: row accounting of patrol records and GPS pings, dose per cell and area,
exposure audits on actual dosage, compliance against a recommendation, concentration
against need (a check that can fail, with its power)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.exceptions import DataQualityWarning, InvalidParameterError

PLAINFIELD = "plainfield_predpol_2018_2020"


def _records():
    # UTM 18N metres; region 0..1000 x 0..1000 around (500000, 4500000)
    x0, y0 = 500000.0, 4500000.0
    return pd.DataFrame({
        "unit": ["1", "1", "2", "2", "3", "3", None, "4"],
        "x": [x0 + 50, x0 + 60, np.nan, x0 + 450, x0 + 450, x0 + 5000, x0 + 50, x0 + 950],
        "y": [y0 + 50, y0 + 70, y0 + 50, y0 + 450, y0 + 450, y0 + 50, y0 + 50, y0 + 950],
        "start": ["2019-01-01 10:00", "2019-01-01 11:00", "2019-01-01 12:00", "2019-01-01 13:00",
                  "2019-01-01 14:00", "2019-01-01 15:00", "2019-01-01 16:00", "not a time"],
        "end": ["2019-01-01 10:20", "2019-01-01 11:10", "2019-01-01 12:30", "2019-01-01 12:00",
                "2019-01-02 14:00", "2019-01-01 15:30", "2019-01-01 16:15", "2019-01-01 17:00"],
    })


def _grid():
    region = pw.Region.from_bounds(500000, 4500000, 501000, 4501000, crs="EPSG:32618")
    return pw.Grid(region, cell_size=100)


def test_record_accounting_by_reason():
    g = _grid()
    with pytest.warns(DataQualityWarning, match="dropped 5 of 8 rows"):
        p = pw.Patrols.from_frame(_records(), x="x", y="y", start="start", end="end", unit="unit", crs="EPSG:32618",
                                  tz="America/New_York", region=g.region, max_minutes=480)
    q = p.quality
    # by hand: row 2 no location; row 3 ends before it starts; row 4 lasts 24 h (> 8 h);
    # row 5 lies outside the region; row 7 has no readable start; rows 0, 1, 6 are kept
    assert q.dropped["no_location"] == 1
    assert q.dropped["end_before_start"] == 1
    assert q.dropped["implausible_duration"] == 1
    assert q.dropped["outside_region"] == 1
    assert q.dropped["unparseable_time"] == 1
    assert q.rows_read == 8 and q.rows_kept == 3
    assert q.rows_read == q.rows_kept + sum(q.dropped.values())
    assert q.repaired.get("missing_unit_set_to_unknown") == 1
    assert sorted(p.minutes.tolist()) == [10.0, 15.0, 20.0]
    d = p.dose(g, "minutes")
    # rows 0 and 6 in the south-west cell (id 0), row 1 too (x+60, y+70): 20 + 10 + 15 minutes
    assert d[0] == pytest.approx(45.0)
    assert p.dose(g, "visits")[0] == 3
    assert d.sum() == pytest.approx(45.0)


def test_bad_parameters():
    with pytest.raises(InvalidParameterError):
        pw.Patrols.from_frame(_records(), x="x", y="y", start="start", crs="EPSG:32618", tz="UTC")
    with pytest.raises(InvalidParameterError):
        pw.Patrols.from_frame(_records(), x="x", y="nope", start="start", end="end", crs="EPSG:32618", tz="UTC")
    with pytest.raises(InvalidParameterError):
        pw.Patrols.from_frame(_records(), x="x", y="y", start="start", end="end", crs="EPSG:32618", tz="UTC",
                              max_minutes=-1)


def test_pings_to_dose_by_hand():
    g = _grid()
    x0, y0 = 500000.0, 4500000.0
    t = pd.to_datetime(["2019-01-01 10:00", "2019-01-01 10:02", "2019-01-01 10:04", "2019-01-01 10:30",
                        "2019-01-01 10:00", "2019-01-01 10:05"]).tz_localize("UTC")
    df = pd.DataFrame({"unit": ["a", "a", "a", "a", "b", "b"],
                       "x": [x0 + 50, x0 + 60, x0 + 150, x0 + 150, x0 + 950, np.nan],
                       "y": [y0 + 50] * 4 + [y0 + 950, y0 + 950], "t": t})
    p = pw.Patrols.from_pings(df, x="x", y="y", t="t", unit="unit", grid=g, crs="EPSG:32618", max_gap_minutes=10)
    assert p.quality.dropped["no_location"] == 1
    assert p.quality.rows_kept == 5
    m = p.dose(g, "minutes")
    # unit a: 2 min + 2 min in cell 0; then 26 min gap capped at 10 in cell 1; last ping 0
    assert m[0] == pytest.approx(4.0)
    assert m[1] == pytest.approx(10.0)
    # unit b: one ping, the last of its unit: 0 minutes but one visit in cell 99
    v = p.dose(g, "visits")
    assert v[0] == 1 and v[1] == 2 and v[99] == 1  # cell 1: a new visit after the 26-minute silence


def test_compliance_by_hand():
    g = _grid()
    with pytest.warns(DataQualityWarning):
        p = pw.Patrols.from_frame(_records(), x="x", y="y", start="start", end="end", crs="EPSG:32618",
                                  tz="America/New_York", region=g.region)
    rec = np.zeros(g.n_cells)
    rec[[0, 44, 55]] = 1.0  # three recommended cells, one of them (0) patrolled
    c = pw.audit.compliance(p, rec, g, planned_minutes=30)
    assert c.recommended_cells == 3 and c.visited_cells == 1
    assert c.share_visited == pytest.approx(1 / 3)
    assert c.minutes_in_recommended == pytest.approx(45.0)
    assert c.planned_minutes == pytest.approx(90.0)
    assert c.delivered_over_planned == pytest.approx(0.5)
    assert "1 of 3" in c.statement()
    assert pickle.loads(pickle.dumps(c)).visited_cells == 1


def test_need_check_can_fail_where_the_old_gini_check_cannot():
    """The old check: Gini of patrol across cells against uniformly random placement. With 60
    units over thousands of cells, a plan that follows need and a plan that puts every unit in
    the areas of least need both sit at the random baseline. The area-level check against need
    passes the first and fails the second, and says what it could have detected."""
    region = pw.Region.from_bounds(0, 0, 15000, 15000, crs="EPSG:32616")
    grid = pw.Grid(region, cell_size=100)  # 22,500 cells
    n_area_side = 5
    rows, cols = np.divmod(np.arange(grid.n_cells), grid.nx)
    area = (rows // (grid.ny // n_area_side)) * n_area_side + cols // (grid.nx // n_area_side)
    need = np.arange(1, 26, dtype=float)  # incidents per area: area 24 has most
    rng = np.random.default_rng(0)
    follows = np.zeros(grid.n_cells)
    bad = np.zeros(grid.n_cells)
    # 60 units: in proportion to need (per area), one unit per distinct cell
    per_area = np.round(60 * need / need.sum()).astype(int)
    for a, k in enumerate(per_area):
        follows[rng.choice(np.flatnonzero(area == a), size=k, replace=False)] = 1
    for a in (0, 1):  # every unit in the two areas of least need
        bad[rng.choice(np.flatnonzero(area == a), size=30, replace=False)] = 1
    old_f = pw.audit.concentration(follows, grid, seed=0, simulations=199)
    old_b = pw.audit.concentration(bad, grid, seed=0, simulations=199)
    # the old statistic cannot tell them apart: both at the random baseline (within 0.001)
    assert abs(old_f.cells["gini"] - old_f.cells["baseline_gini_mean"]) < 1e-3
    assert abs(old_b.cells["gini"] - old_b.cells["baseline_gini_mean"]) < 1e-3
    dose_f = np.bincount(area, weights=follows, minlength=25)
    dose_b = np.bincount(area, weights=bad, minlength=25)
    new_f = pw.audit.concentration_vs_need(dose_f, need, simulations=499, seed=1, cell_dose=follows)
    new_b = pw.audit.concentration_vs_need(dose_b, need, simulations=499, seed=1, cell_dose=bad)
    assert new_f.verdict == "pass"
    assert new_b.verdict == "fail"
    assert new_b.p_value <= 0.05
    assert new_f.critical_value < new_b.index
    assert "smallest index this check could detect" in new_b.statement()
    assert new_b.context["cell_gini"] > 0.99  # kept as context only
    # two units over 25 areas: no plan could be told from chance
    tiny = np.zeros(25)
    tiny[[23, 24]] = 1  # where need is highest: not more concentrated than need
    assert pw.audit.concentration_vs_need(tiny, need, simulations=499, seed=1).verdict == "not_informative"


def test_eb_rates_by_hand():
    # two areas, events 0 and 10, populations 10 and 1000: overall rate b = 10/1010
    y, n = np.array([0.0, 10.0]), np.array([10.0, 1000.0])
    b = 10 / 1010
    r = y / n
    s2 = (n * (r - b) ** 2).sum() / n.sum()
    a = max(s2 - b / n.mean(), 0)
    expect = b + (a / (a + b / n)) * (r - b)
    assert pw.audit.eb_rates(y, n) == pytest.approx(expect, abs=1e-15)


@pytest.fixture(scope="module")
def plainfield_patrols(shared_data):
    path = shared_data / PLAINFIELD / "plainfield_patrol_dosage.csv"
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", DataQualityWarning)
        p = pw.Patrols.from_csv(path, x="Longitude", y="Latitude", start="Started", end="Ended",
                                minutes="Time Spent", unit="Unit ID", tz="America/New_York",
                                time_format="%m/%d/%Y %H:%M")
    return p, pd.read_csv(path, skip_blank_lines=False)


def test_plainfield_dosage_accounting_against_pandas(plainfield_patrols):
    p, raw = plainfield_patrols
    q = p.quality
    assert q.rows_read == len(raw)
    assert q.rows_read == q.rows_kept + sum(q.dropped.values())
    # independent count of usable rows with pandas
    lat = pd.to_numeric(raw["Latitude"], errors="coerce")
    lon = pd.to_numeric(raw["Longitude"], errors="coerce")
    st = pd.to_datetime(raw["Started"], format="%m/%d/%Y %H:%M", errors="coerce")
    en = pd.to_datetime(raw["Ended"], format="%m/%d/%Y %H:%M", errors="coerce")
    spent = pd.to_numeric(raw["Time Spent"], errors="coerce")
    ok = lat.notna() & lon.notna() & st.notna() & ~(en < st) & spent.notna() & (spent <= 480)
    assert q.rows_kept == int(ok.sum())
    assert p.minutes.sum() == pytest.approx(spent[ok].sum())
    assert q.dropped["empty_row"] == int(raw.isna().all(axis=1).sum())


def test_plainfield_exposure_and_compliance(plainfield_patrols, shared_data):
    gpd = pytest.importorskip("geopandas")
    p, _ = plainfield_patrols
    bg = gpd.read_file(f"/vsigzip/{shared_data / PLAINFIELD / 'plainfield_block_groups.geojson.gz'}")
    region = pw.Region.from_geodataframe(bg, crs=p.crs)
    grid = pw.Grid(region, cell_size=150)
    groups = ["white_alone", "latino_alone", "black_alone", "asian_alone"]
    pop = pw.Population.from_geodataframe(bg, groups=groups, grid=grid, area_id="id")
    dose = p.dose(grid, "minutes")
    # every exposure audit runs on actual dosage
    dis = pw.audit.disparity(dose, pop, bootstrap=99, seed=0)
    assert set(dis.by_group.index if "group" not in dis.by_group.columns else dis.by_group["group"]) >= set(groups)
    boxes = pd.read_csv(shared_data / PLAINFIELD / "plainfield_prediction_boxes.csv")
    c = pw.audit.compliance(p, boxes, grid, x="lon", y="lat", crs="EPSG:4326", count="pred_count",
                            areas=bg, area_id="id", population=pop, planned_minutes=15)
    assert c.boxes_read == 570
    assert 0 < c.share_visited < 1
    # independent: cells of box centres and of patrols, with pyproj, and set intersection
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    bx, by = tr.transform(boxes["lon"].to_numpy(), boxes["lat"].to_numpy())
    bcell = grid.cell_of(bx, by)
    rec = set(bcell[bcell >= 0].tolist())
    pcell = set(grid.cell_of(p.x, p.y).tolist()) - {-1}
    assert c.recommended_cells == len(rec)
    assert c.visited_cells == len(rec & pcell)
    assert c.by_area is not None and c.by_area["recommended_cells"].sum() == len(rec)
    assert c.by_group is not None and len(c.by_group) == 4
    # dose by area keeps visits outside every area in their own row
    by_area = p.dose_by_area(bg, area_id="id")
    assert by_area["minutes"].sum() == pytest.approx(p.minutes.sum())
