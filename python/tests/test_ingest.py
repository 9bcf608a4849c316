"""Ingest: every row accounted for, CRS handling, times, origins, and bad input."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pyproj
import pytest

import placewise as pw
from placewise.exceptions import CRSWarning, DataQualityWarning


def frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "lon": -87.65 + rng.uniform(-0.05, 0.05, n),
            "lat": 41.85 + rng.uniform(-0.05, 0.05, n),
            "when": pd.date_range("2019-03-01", periods=n, freq="7h").strftime("%Y-%m-%d %H:%M"),
            "kind": rng.choice(["street", "residence"], n),
            "src": rng.choice(["call", "stop"], n),
        }
    )


def load(df: pd.DataFrame, **kw) -> pw.Incidents:
    kw.setdefault("tz", "America/Chicago")
    return pw.Incidents.from_frame(df, x="lon", y="lat", t="when", **kw)


def accounted(q: pw.DataQualityReport) -> bool:
    return q.rows_read == q.rows_kept + sum(q.dropped.values())


# ------------------------------------------------------------------ real data
def test_full_chicago_file_accounts_for_every_row(shared_data) -> None:
    path = shared_data / "chicago_agg_assault_2010_2019" / "chicago_aggravated_assaults.csv.gz"
    inc = pw.Incidents.from_csv(path, x="longitude", y="latitude", t="date", tz="America/Chicago", category="loc_cat")
    q = inc.quality
    assert q.rows_read == 148_636
    assert accounted(q)
    assert q.rows_kept == len(inc)
    # PROVENANCE.md: 111 fully identical rows; our key (x, y, t, category) is the whole row but
    # the district, so at least that many later copies are found.
    assert q.duplicate_rows >= 111
    assert q.time_span[0] == pd.Timestamp("2010-01-01 00:05", tz="America/Chicago")
    assert q.time_span[1] == pd.Timestamp("2019-12-31 23:54", tz="America/Chicago")
    # PROVENANCE.md: 17.8 % of times on minute 00, 0.3 % at exactly 00:00
    assert q.heaping["share_on_the_hour"] == pytest.approx(0.178, abs=0.002)
    assert q.heaping["share_midnight"] == pytest.approx(0.003, abs=0.001)
    assert q.heaping["clock"] == "local"
    assert inc.crs.to_epsg() == 32616  # UTM 16N


def test_full_chicago_with_region_drops_points_outside_and_counts_them(shared_data) -> None:
    city = pw.datasets.read_chicago(shared_data)
    q = city.incidents.quality
    assert q.rows_read == 148_636 and accounted(q)
    # PROVENANCE.md: 100 points fall outside every community-area polygon
    assert 90 <= q.dropped["outside_region"] <= 110
    assert city.grid.n_active == pytest.approx(27_000, rel=0.05)
    assert city.population.totals.sum() == pytest.approx(2_708_500, rel=0.002)


def test_toronto_loads_with_documented_quirks_handled(shared_data) -> None:
    city = pw.datasets.read_toronto(shared_data)
    q = city.incidents.quality
    assert q.rows_read == 240_992
    assert accounted(q)
    # No row is lost to time parsing: the local date + hour rebuild parses every row
    assert q.dropped["unparseable_time"] == 0
    # hour-only data: every time is on the hour, and heaping shows hour 0 / 12 excess
    assert q.heaping["minutes_missing"] is True
    assert q.heaping["share_hour_0"] == pytest.approx(0.067, abs=0.01)
    assert q.heaping["share_hour_12"] == pytest.approx(0.056, abs=0.01)
    # PROVENANCE.md: 47 points outside every polygon
    assert 30 <= q.dropped["outside_region"] <= 60
    # ~1,050 occurrences before 2014 are kept (they are real), back to 1966
    assert q.time_span[0].year == 1966
    assert set(city.incidents.categories) == {"Assault", "Auto Theft", "Break and Enter", "Robbery", "Theft Over"}
    # all 140 neighbourhoods joined to census counts; population placed in the grid
    assert len(city.areas) == 140
    assert city.population.report["areas_missing_grid"] == []
    # local midnight written as 04:00/05:00 UTC is read as a local date: check one row
    raw = pw.datasets.toronto_incidents_frame(shared_data)
    assert raw["local_time"].notna().all()


# ------------------------------------------------------------------ CRS
def test_lonlat_and_projected_input_give_the_same_cells(chicago) -> None:
    df = pw.datasets.chicago_incidents_frame()
    region, grid = chicago.region, chicago.grid
    a = pw.Incidents.from_frame(df, x="longitude", y="latitude", t="date", tz="America/Chicago", region=region)
    # the same points projected independently, given in UTM metres …
    tr = pyproj.Transformer.from_crs("EPSG:4326", region.crs, always_xy=True)
    ux, uy = tr.transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    b = pw.Incidents.from_frame(df.assign(ux=ux, uy=uy), x="ux", y="uy", t="date", crs=region.crs, tz="America/Chicago", region=region)
    # … and in Illinois State Plane East (US survey feet), converted to metres by placewise
    tf = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3435", always_xy=True)
    fx, fy = tf.transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    c = pw.Incidents.from_frame(df.assign(fx=fx, fy=fy), x="fx", y="fy", t="date", crs="EPSG:3435", tz="America/Chicago", region=region)
    assert len(a) == len(b) == len(c)
    np.testing.assert_allclose(a.x, b.x, atol=1e-6)
    # feet → metres goes through a second projection: agree to a millimetre
    np.testing.assert_allclose(a.x, c.x, atol=1e-3)
    np.testing.assert_allclose(a.y, c.y, atol=1e-3)
    ca, cb, cc = grid.cell_of(a.x, a.y), grid.cell_of(b.x, b.y), grid.cell_of(c.x, c.y)
    np.testing.assert_array_equal(ca, cb)
    # a millimetre can move a point across a cell edge only if it lies within 1 mm of one
    assert (ca == cc).mean() > 0.9999
    assert (ca >= 0).all()


def test_feet_input_without_region_goes_to_utm() -> None:
    df = frame()
    tf = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3435", always_xy=True)
    fx, fy = tf.transform(df["lon"].to_numpy(), df["lat"].to_numpy())
    inc = pw.Incidents.from_frame(df.assign(fx=fx, fy=fy), x="fx", y="fy", t="when", crs="EPSG:3435", tz="UTC")
    assert inc.crs.to_epsg() == 32616


def test_named_target_crs_is_used_and_must_be_metric() -> None:
    inc = load(frame(), target_crs="EPSG:26916")
    assert inc.crs.to_epsg() == 26916
    with pytest.raises(pw.InvalidParameterError, match="target_crs"):
        load(frame(), target_crs="EPSG:4326")
    with pytest.raises(pw.InvalidParameterError, match="crs"):
        load(frame(), crs="not a crs")


def test_lonlat_declared_as_metres_warns() -> None:
    with pytest.warns(CRSWarning, match="look like longitude/latitude"):
        load(frame(), crs="EPSG:32616")


def test_swapped_lat_lon_is_detected() -> None:
    df = frame()
    # columns swapped in the call: latitude given as x, longitude as y
    with pytest.raises(pw.DataValidationError, match="swapped"):
        pw.Incidents.from_frame(df, x="lat", y="lon", t="when", tz="UTC")
    # a west-coast city: "latitude" -122 is out of range
    sf = df.assign(lon=df["lon"] - 34.8, lat=df["lat"] - 4.1)
    with pytest.raises(pw.DataValidationError, match="swapped"):
        pw.Incidents.from_frame(sf, x="lat", y="lon", t="when", tz="UTC")


def test_swapped_within_range_is_detected_against_a_region(chicago) -> None:
    df = pw.datasets.chicago_incidents_frame().head(500)
    # Chicago swapped stays within ±90/±180 (lon -87.6 as latitude): only the region can tell
    with pytest.raises(pw.DataValidationError, match="swapped"):
        pw.Incidents.from_frame(df, x="latitude", y="longitude", t="date", tz="America/Chicago", region=chicago.region)


def test_projected_numbers_declared_as_lonlat_are_refused() -> None:
    df = frame()
    df["lon"], df["lat"] = df["lon"] * 1e4, df["lat"] * 1e5
    with pytest.raises(pw.DataValidationError, match="not longitude/latitude"):
        load(df)


# ------------------------------------------------------------------ bad coordinates
def test_nan_inf_and_out_of_range_coordinates_are_counted() -> None:
    df = frame(20).astype({"lon": object})
    df.loc[0, "lon"] = np.nan
    df.loc[1, "lat"] = np.inf
    df.loc[2, "lat"] = 95.0
    df.loc[3, "lon"] = "not a number"
    with pytest.warns(DataQualityWarning):
        inc = load(df)
    q = inc.quality
    assert q.dropped["missing_coordinates"] == 2  # NaN and an unparseable string
    assert q.dropped["non_finite_coordinates"] == 1
    assert q.dropped["coordinates_out_of_range"] == 1
    assert len(inc) == 16 and accounted(q)
    assert np.isfinite(inc.x).all()


# ------------------------------------------------------------------ times
def test_naive_times_need_a_zone() -> None:
    with pytest.raises(pw.DataValidationError, match="tz="):
        pw.Incidents.from_frame(frame(), x="lon", y="lat", t="when")


def test_unparseable_and_out_of_range_times_are_counted() -> None:
    df = frame(20)
    df.loc[0, "when"] = "yesterday-ish"
    df.loc[1, "when"] = None
    df.loc[2, "when"] = "1850-01-01 00:00"
    with pytest.warns(DataQualityWarning):
        inc = load(df)
    assert inc.quality.dropped["unparseable_time"] == 2
    assert inc.quality.dropped["time_out_of_range"] == 1
    assert accounted(inc.quality)


def test_time_kinds_agree() -> None:
    df = frame(10)
    utc_strings = pd.to_datetime(df["when"]).dt.tz_localize("America/Chicago").dt.tz_convert("UTC")
    a = load(df)  # naive strings + tz
    b = load(df.assign(when=utc_strings))  # tz-aware pandas datetimes
    c = load(df.assign(when=utc_strings.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")), tz=None)  # ISO with offset
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.t, c.t)
    d = load(df.assign(when=[dt.date(2019, 3, i + 1) for i in range(10)]))  # dates
    assert d.quality.heaping["date_only"] is True
    assert d.times[0] == pd.Timestamp("2019-03-01", tz="America/Chicago")


def test_dst_repairs_are_counted() -> None:
    df = frame(3)
    df["when"] = ["2019-11-03 01:30", "2019-03-10 02:30", "2019-06-01 12:00"]  # ambiguous, nonexistent, normal
    inc = load(df)
    assert inc.quality.repaired == {
        "ambiguous_local_time_read_as_first_occurrence": 1,
        "nonexistent_local_time_shifted_forward": 1,
    }
    assert len(inc) == 3
    # 01:30 on fall-back day read as the first (CDT, UTC-5) occurrence
    assert pd.Timestamp("2019-11-03 06:30", tz="UTC").value // 10**9 in set(inc.t)


# ------------------------------------------------------------------ frames and columns
def test_empty_frame_and_missing_columns() -> None:
    with pytest.raises(pw.EmptyInputError):
        load(frame().iloc[:0])
    with pytest.raises(pw.DataValidationError) as e:
        pw.Incidents.from_frame(frame(), x="longitude", y="lat", t="when", tz="UTC")
    msg = str(e.value)
    assert "`longitude`" in msg and "available columns: lon, lat, when, kind, src" in msg
    with pytest.raises(pw.EmptyInputError, match="every row was dropped"):
        load(frame().assign(lon=np.nan))


def test_from_csv_reads_only_named_columns(tmp_path) -> None:
    df = frame().assign(victim_name="X")  # a column that must never be read
    p = tmp_path / "inc.csv"
    df.to_csv(p, index=False)
    inc = pw.Incidents.from_csv(p, x="lon", y="lat", t="when", tz="UTC", category="kind")
    assert "victim_name" not in inc.to_frame().columns
    assert len(inc) == len(df)
    with pytest.raises(pw.DataValidationError, match="`nope`"):
        pw.Incidents.from_csv(p, x="nope", y="lat", t="when", tz="UTC")


def test_from_geodataframe() -> None:
    import geopandas as gpd

    df = frame()
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
    a = pw.Incidents.from_geodataframe(gdf, t="when", tz="UTC")
    b = pw.Incidents.from_frame(df, x="lon", y="lat", t="when", tz="UTC")
    np.testing.assert_array_equal(a.x, b.x)
    with pytest.raises(pw.InvalidParameterError, match="no CRS"):
        pw.Incidents.from_geodataframe(gdf.set_crs(None, allow_override=True), t="when", tz="UTC")


# ------------------------------------------------------------------ origin, category, duplicates
def test_origin_mapping() -> None:
    inc = load(frame(), origin="src", origin_map={"call": "reported", "stop": "discovered"})
    f = inc.to_frame()
    raw = frame()
    assert (f["origin"] == "discovered").sum() == (raw["src"] == "stop").sum()
    assert len(inc.origin("reported")) + len(inc.origin("discovered")) == len(inc)
    with pytest.raises(pw.DataValidationError, match="not in origin_map"):
        load(frame(), origin="src", origin_map={"call": "reported"})
    with pytest.raises(pw.InvalidParameterError, match="origin_map"):
        load(frame(), origin="src", origin_map={"call": "reported", "stop": "police"})
    assert (load(frame(), default_origin="reported").to_frame()["origin"] == "reported").all()


def test_missing_category_and_origin_are_repairs() -> None:
    df = frame(10).astype({"kind": object, "src": object})
    df.loc[0, "kind"] = None
    df.loc[1, "src"] = None
    inc = load(df, category="kind", origin="src", origin_map={"call": "reported", "stop": "discovered"})
    assert inc.quality.repaired["missing_category_set_to_unknown"] == 1
    assert inc.quality.repaired["missing_origin_set_to_unknown"] == 1
    assert "unknown" in inc.categories
    assert len(inc.category("unknown")) == 1


@pytest.mark.parametrize("policy,kept,flagged", [("keep", 12, 0), ("flag", 12, 2), ("drop", 10, 0)])
def test_duplicate_policies(policy: str, kept: int, flagged: int) -> None:
    df = pd.concat([frame(10), frame(10).iloc[:2]], ignore_index=True)
    inc = load(df, duplicates=policy)
    assert len(inc) == kept
    assert inc.quality.duplicate_rows == 2
    assert int(inc.to_frame()["duplicate"].sum()) == flagged
    assert accounted(inc.quality)
    with pytest.raises(pw.InvalidParameterError, match="duplicates"):
        load(df, duplicates="merge")


# ------------------------------------------------------------------ slicing and display
def test_time_slices_and_display() -> None:
    inc = load(frame(100), category="kind")
    a = inc.until("2019-03-10")
    b = inc.between("2019-03-10", "2019-03-20")
    assert (a.times < pd.Timestamp("2019-03-10", tz="America/Chicago")).all()
    assert len(a) + len(b) == len(inc.until("2019-03-20"))
    assert len(inc.category("street")) + len(inc.category(["residence"])) == len(inc)
    with pytest.raises(pw.InvalidParameterError, match="unknown categories"):
        inc.category("theft")
    assert "Incidents: 100 rows" in repr(inc)
    assert "<table>" in inc._repr_html_()
    f = inc.to_frame()
    assert list(f.columns) == ["x", "y", "t", "category", "origin", "source_row", "duplicate"]
    assert "rows read" in inc.quality._repr_html_()
    assert inc.quality.to_dict()["rows_read"] == 100
    # the native columns are read-only views
    with pytest.raises(ValueError):
        inc.x[0] = 1.0
