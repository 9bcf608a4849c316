"""Targeting audit of another system's output: hand-computed cases, the real Plainfield PredPol
data against an independent pandas implementation of The Markup's rules, bad input, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.exceptions import DataValidationError, InvalidParameterError

PLAINFIELD = "plainfield_predpol_2018_2020"
GROUPS = ["white_alone", "latino_alone", "black_alone", "asian_alone"]


def _areas(counts, total, a, b=None):
    df = pd.DataFrame({"id": [f"a{i}" for i in range(len(counts))], "count": counts, "total": total, "A": a})
    if b is not None:
        df["B"] = b
    return df


def test_hand_computed_windows_and_shares():
    # 20 areas with counts 0..19 and 100 residents each; group A lives 80 in areas 18 and 19,
    # 10 everywhere else. n = 20 -> w = round(1.0) = 1 -> windows of 2 areas.
    counts = list(range(20))
    a = [10] * 18 + [80, 80]
    df = _areas(counts, [100] * 20, a)
    r = pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id", permutations=0)
    assert r.window_size == 1
    most = r.areas.loc[r.areas["window"] == "most", "area"].tolist()
    assert sorted(most) == ["a18", "a19"]
    # by hand: A in the most targeted window = 160 / 200; overall = (18*10 + 160) / 2000 = 0.17
    assert r.share("most", "A") == pytest.approx(0.8, abs=1e-12)
    w = r.windows.set_index(["window", "group"])
    assert w.loc[("most", "A"), "overall"] == pytest.approx(340 / 2000, abs=1e-12)
    assert w.loc[("most", "A"), "relative_increase"] == pytest.approx(0.8 / 0.17 - 1, abs=1e-12)
    # median window: n/2 = 10, offset 0 -> rank 10 = the area with count 9
    assert r.areas.loc[r.areas["window"] == "median", "area"].tolist() == ["a9"]
    assert r.share("median", "A") == pytest.approx(0.1, abs=1e-12)
    # least: ranks 1..2 = counts 0 and 1
    assert sorted(r.areas.loc[r.areas["window"] == "least", "area"]) == ["a0", "a1"]
    # median count 9.5: areas 10..19 above it hold 8*10 + 160 = 240 of A's 340
    am = r.above_median.set_index("group")
    assert am.loc["A", "share_of_group_above_median"] == pytest.approx(240 / 340, abs=1e-12)


def test_ties_by_population_and_least_window_covers_all_zero_areas():
    # 20 areas, six with zero count (more than w = 1). Ties among the zeros are broken by
    # population: the most populous zero area ranks highest among them.
    counts = [0] * 6 + list(range(1, 15))
    total = [100, 300, 200, 400, 500, 600] + [100] * 14
    a = [0, 0, 0, 0, 250, 300] + [10] * 14
    df = _areas(counts, total, a)
    r = pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id", permutations=0)
    least = set(r.areas.loc[r.areas["window"] == "least", "area"])
    assert least == {f"a{i}" for i in range(6)}
    # by hand: (250 + 300) / (100+300+200+400+500+600)
    assert r.share("least", "A") == pytest.approx(550 / 2100, abs=1e-12)
    # The Markup's published rule: ranks n_min - w .. n_min = 5..6, the two most populous zeros
    m = pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id", permutations=0,
                           least="markup")
    assert set(m.areas.loc[m.areas["window"] == "least", "area"]) == {"a4", "a5"}
    assert m.share("least", "A") == pytest.approx(550 / 1100, abs=1e-12)


def test_points_in_any_crs_are_assigned_and_outside_boxes_counted():
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    # four unit squares in UTM 18N metres (x 500000.., y 4500000..) side by side
    polys = [box(500000 + 1000 * i, 4500000, 500000 + 1000 * (i + 1), 4501000) for i in range(4)]
    areas = gpd.GeoDataFrame({"id": list("pqrs"), "total": [100] * 4, "A": [90, 10, 10, 10]}, geometry=polys,
                             crs="EPSG:32618")
    pts_m = gpd.GeoDataFrame({"n": [5, 3, 1, 7]},
                             geometry=gpd.points_from_xy([500500, 500600, 501500, 600000], [4500500] * 4),
                             crs="EPSG:32618")
    # the same boxes in lon/lat: the audit reprojects
    pts = pts_m.to_crs("EPSG:4326")
    r = pw.audit.targeting(pts, areas, groups=["A"], total="total", count="n", area_id="id", permutations=0)
    got = r.areas.set_index("area")["count"]
    assert got["p"] == pytest.approx(8)
    assert got["q"] == pytest.approx(1)
    assert got["r"] == 0 and got["s"] == 0
    acc = r.accounting
    assert (acc.rows_read, acc.rows_assigned, acc.rows_outside) == (4, 3, 1)
    assert acc.count_outside == pytest.approx(7)
    assert acc.rows_read == acc.rows_assigned + acc.rows_outside


def test_polygon_boxes_split_by_area():
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    polys = [box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)]
    areas = gpd.GeoDataFrame({"total": [10, 10, 10], "A": [1, 2, 3]}, geometry=polys, crs="EPSG:32618")
    # a box 50 m in the first area and 50 m in the second; count 4 -> 2 and 2
    boxes = gpd.GeoDataFrame({"n": [4]}, geometry=[box(50, 0, 150, 100)], crs="EPSG:32618")
    r = pw.audit.targeting(boxes, areas, groups=["A"], total="total", count="n", permutations=0)
    assert r.areas["count"].tolist() == pytest.approx([2, 2, 0])
    assert r.accounting.rows_split == 1


def test_bounds_from_margins():
    counts = list(range(20))
    df = _areas(counts, [100] * 20, [10] * 18 + [80, 80])
    df["A_moe"] = 5
    df["total_moe"] = 10
    r = pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id", permutations=0,
                           margins={"A": "A_moe", "total": "total_moe"})
    # lower bounds: A 75 + 75 over totals 90 + 90
    assert r.share("most", "A", "lower") == pytest.approx(150 / 180, abs=1e-12)
    assert r.share("most", "A", "upper") == pytest.approx(170 / 220, abs=1e-12)
    assert bool(r.windows.set_index(["window", "group"]).loc[("most", "A"), "higher_under_every_bound"])


def test_bad_input_is_named():
    df = _areas([1, 2, -3, 4], [10] * 4, [1] * 4)
    with pytest.raises(DataValidationError) as e:
        pw.audit.targeting(None, df, groups=["A"], total="total", count="count", permutations=0)
    assert e.value.row == 2 and e.value.column == "count"
    df = _areas([1, 2, 3, 4], [10, np.nan, 10, 10], [1] * 4)
    with pytest.raises(DataValidationError) as e:
        pw.audit.targeting(None, df, groups=["A"], total="total", count="count", permutations=0)
    assert e.value.row == 1 and e.value.column == "total"
    df = _areas([1, 2, 3, 4], [10] * 4, [1] * 4)
    df["lo"], df["hi"] = [1, 1, 5, 1], [2, 2, 2, 2]
    with pytest.raises(DataValidationError) as e:
        pw.audit.targeting(None, df, groups=["A"], total="total", count="count", permutations=0,
                           bounds={"A": ("lo", "hi")})
    assert e.value.row == 2
    with pytest.raises(InvalidParameterError):
        pw.audit.targeting(None, df, groups=["nope"], total="total", count="count")
    with pytest.raises(InvalidParameterError):
        pw.audit.targeting(None, df, groups=["A"], total="total", count="count", least="middle")
    # areas without residents are kept and counted
    df = _areas([1, 2, 3, 4], [10, 0, 10, 10], [1, 0, 1, 1])
    r = pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id", permutations=0)
    assert r.accounting.areas_without_population == ("a1",)


def _markup_reference(bg: pd.DataFrame, groups: list[str]) -> dict[tuple[str, str], float]:
    """The Markup's rank-and-label rules written independently with pandas."""
    d = bg.sort_values(["count", "total_estimate"], ascending=[False, False]).reset_index(drop=True)
    n = len(d)
    d["rank"] = np.arange(n, 0, -1)
    w = int(np.round(n * 0.05))  # numpy rounds half to even, as R does
    mid, off = n // 2, w // 2
    n_min = int((d["count"] == d["count"].min()).sum())
    win = {
        "most": d[(d["rank"] >= n - w) & (d["rank"] <= n)],
        "median": d[(d["rank"] >= mid - off) & (d["rank"] <= mid + off)],
        "least": d[d["rank"] <= (n_min if n_min > w else 1 + w)],
    }
    return {(k, g): v[g].sum() / v["total_estimate"].sum() for k, v in win.items() for g in groups}


@pytest.fixture(scope="module")
def plainfield(shared_data):
    gpd = pytest.importorskip("geopandas")
    bg = gpd.read_file(f"/vsigzip/{shared_data / PLAINFIELD / 'plainfield_block_groups.geojson.gz'}")
    boxes = pd.read_csv(shared_data / PLAINFIELD / "plainfield_prediction_boxes.csv")
    return bg, boxes


def test_plainfield_against_independent_pandas(plainfield):
    bg, _ = plainfield
    r = pw.audit.targeting(None, bg, groups=GROUPS, total="total_estimate", count="count", area_id="id",
                           jurisdiction="Plainfield, N.J.", period="2018-02-24 to 2020-03", permutations=999, seed=1)
    ref = _markup_reference(pd.DataFrame(bg.drop(columns="geometry")), GROUPS)
    for (k, g), v in ref.items():
        assert r.share(k, g) == pytest.approx(v, abs=1e-12), (k, g)
    # 35 block groups: w = round(1.75) = 2, windows of 3
    assert r.window_size == 2
    assert (r.areas["window"] == "most").sum() == 3
    # overall shares by hand from the column sums
    tot = bg["total_estimate"].sum()
    for g in GROUPS:
        assert r.share("most", g) >= 0
        assert r.windows.set_index(["window", "group"]).loc[("most", g), "overall"] == pytest.approx(bg[g].sum() / tot)
    # every permutation p-value is a proper (+1 rule) p-value
    assert ((r.windows["p_higher"] > 0) & (r.windows["p_higher"] <= 1)).all()
    # deciles cover every area once
    assert r.deciles["areas"].sum() == len(bg)
    s = r.summary()
    assert s["areas"] == 35


def test_plainfield_boxes_reprojected_and_accounted(plainfield):
    bg, boxes = plainfield
    r = pw.audit.targeting(boxes, bg, groups=GROUPS, total="total_estimate", count="pred_count", x="lon", y="lat",
                           crs="EPSG:4326", area_id="id", permutations=99)
    acc = r.accounting
    assert acc.rows_read == len(boxes) == 570
    assert acc.rows_read == acc.rows_assigned + acc.rows_outside
    assert acc.count_read == pytest.approx(boxes["pred_count"].sum())
    assert acc.count_assigned + acc.count_outside == pytest.approx(acc.count_read)
    # independent point-in-polygon with geopandas
    gpd = pytest.importorskip("geopandas")
    pts = gpd.GeoDataFrame(boxes, geometry=gpd.points_from_xy(boxes["lon"], boxes["lat"]), crs="EPSG:4326")
    j = gpd.sjoin(pts, bg[["id", "geometry"]], predicate="within", how="inner")
    expect = j.groupby("id")["pred_count"].sum()
    got = r.areas.set_index("area")["count"]
    for aid, v in expect.items():
        assert got[aid] == pytest.approx(v), aid


def test_crime_correlation_and_summary_and_pickle(plainfield, shared_data):
    bg, _ = plainfield
    crime = pd.read_csv(shared_data / PLAINFIELD / "plainfield_crime_with_predictions.csv.gz", usecols=["lat", "lon"])
    gpd = pytest.importorskip("geopandas")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(crime["lon"], crime["lat"]), crs="EPSG:4326").dropna()
    pts = pts[~pts.geometry.is_empty & pts.geometry.x.notna()]
    r = pw.audit.targeting(None, bg, groups=GROUPS, total="total_estimate", count="count", area_id="id",
                           recorded={"crime reports": pts}, permutations=99, jurisdiction="Plainfield")
    c = r.correlation.iloc[0]
    # independent: sjoin then scipy
    from scipy import stats

    j = gpd.sjoin(pts, bg[["id", "geometry"]], predicate="within").groupby("id").size()
    per = j.reindex(bg["id"], fill_value=0).to_numpy()
    assert c["pearson"] == pytest.approx(stats.pearsonr(bg["count"], per).statistic, abs=1e-9)
    assert c["spearman"] == pytest.approx(stats.spearmanr(bg["count"], per).statistic, abs=1e-9)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.share("most", "black_alone") == r.share("most", "black_alone")
    # two jurisdictions (the second a reshuffle) in the summary table
    bg2 = bg.copy()
    bg2["count"] = bg["count"].to_numpy()[::-1]
    r3 = pw.audit.targeting(None, bg2, groups=GROUPS, total="total_estimate", count="count", area_id="id",
                            permutations=99, jurisdiction="reversed")
    t = pw.audit.targeting_summary([r, r3])
    row = t[(t["group"] == "black_alone") & (t["window"] == "most")].iloc[0]
    expect_higher = int(r.share("most", "black_alone") > r.windows["overall"][r.windows["group"] == "black_alone"].iloc[0]) + \
        int(r3.share("most", "black_alone") > r3.windows["overall"][r3.windows["group"] == "black_alone"].iloc[0])
    assert row["jurisdictions"] == 2 and row["higher"] == expect_higher


def test_datasheet_renders(plainfield, tmp_path):
    bg, _ = plainfield
    r = pw.audit.targeting(None, bg, groups=GROUPS, total="total_estimate", count="count", area_id="id",
                           permutations=99, jurisdiction="Plainfield, N.J.")
    html = r.datasheet(tmp_path / "sheet.html")
    assert "Targeting datasheet: Plainfield, N.J." in html and "data:image/png;base64," in html
    md = r.datasheet(format="markdown")
    assert "| Group | Whole jurisdiction |" in md
    assert "e+0" not in md


def _holm_by_hand(p):
    """Holm (1979) from its definition: the k-th smallest of m p-values (k from 1) times
    m − k + 1, made monotone by a running maximum, capped at 1."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    out = np.empty(m)
    running = 0.0
    for k, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - k + 1) * p[i]))
        out[i] = running
    return out


def test_window_tests_are_corrected_together_with_holm():
    """12 one-sided tests (3 windows × 2 groups × 2 directions), one family."""
    rng = np.random.default_rng(4)
    n = 60
    counts = rng.poisson(3, n) + np.arange(n) // 6
    a = 10 + np.arange(n)
    df = _areas(counts, [100] * n, a, 90 - np.arange(n) // 2)
    r = pw.audit.targeting(None, df, groups=["A", "B"], total="total", count="count", area_id="id",
                           permutations=499, seed=3)
    w = r.windows
    raw = np.concatenate([w["p_higher"], w["p_lower"]])
    adj = np.concatenate([w["p_higher_adjusted"], w["p_lower_adjusted"]])
    assert len(raw) == 12 and r.params["family_size"] == 12 and r.params["correction"] == "holm"
    np.testing.assert_allclose(adj, _holm_by_hand(raw), rtol=0, atol=1e-12)
    assert (adj >= raw).all()
    none = pw.audit.targeting(None, df, groups=["A", "B"], total="total", count="count", area_id="id",
                              permutations=499, seed=3, correction=None)
    np.testing.assert_array_equal(none.windows["p_higher_adjusted"], none.windows["p_higher"])
    with pytest.raises(InvalidParameterError) as e:
        pw.audit.targeting(None, df, groups=["A"], total="total", count="count", area_id="id",
                           permutations=19, correction="bonferroni-ish")
    assert e.value.name == "correction"
    md = r.datasheet(format="markdown")
    assert "corrected for 12 tests (Holm)" in md


def test_summary_corrects_across_jurisdictions():
    rng = np.random.default_rng(8)
    audits = []
    for j in range(3):
        n = 40
        counts = rng.poisson(2 + j, n) + (np.arange(n) // 8) * j
        df = _areas(counts, [100] * n, 10 + 2 * np.arange(n), 50 + rng.integers(0, 40, n))
        audits.append(pw.audit.targeting(None, df, groups=["A", "B"], total="total", count="count", area_id="id",
                                         permutations=199, seed=j, jurisdiction=f"j{j}"))
    t = pw.audit.targeting_summary(audits)
    assert t.attrs["correction"] == "holm" and t.attrs["family_size"] == 3 * 3 * 2
    allw = pd.concat([a.windows.assign(j=a.jurisdiction) for a in audits], ignore_index=True)
    allw["adj"] = _holm_by_hand(allw["p_higher"])
    for row in t.itertuples():
        sel = allw[(allw["group"] == row.group) & (allw["window"] == row.window)]
        assert row.higher_beyond_chance == int((sel["adj"] <= 0.05).sum())
        assert row.higher_beyond_chance_raw == int((sel["p_higher"] <= 0.05).sum())
        assert row.higher_beyond_chance <= row.higher_beyond_chance_raw
    with pytest.raises(InvalidParameterError) as e:
        pw.audit.targeting_summary(audits, correction="bonferroni")
    assert e.value.name == "correction"
