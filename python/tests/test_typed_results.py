"""The statistics and urn results cross `_native` as typed, frozen classes that pickle exactly;
policy checks take the typed audit summary; reprs are Python's.

Pickled copies are compared exactly (pickling copies numbers, it does not compute them); the
structural checks (which cells, how many pairs, how many incidents) are computed here from the
inputs with numpy.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise import _native

CRS = "EPSG:32616"


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


@pytest.fixture(scope="module")
def grid() -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, 800, 600, crs=CRS), cell_size=100)


@pytest.fixture(scope="module")
def incidents() -> pw.Incidents:
    rng = np.random.default_rng(7)
    n = 300
    t0 = int(pd.Timestamp("2021-01-04", tz="UTC").value // 10**9)
    x = np.concatenate([rng.uniform(5, 795, n - 100), rng.normal(250, 40, 100).clip(5, 795)])
    y = np.concatenate([rng.uniform(5, 595, n - 100), rng.normal(250, 40, 100).clip(5, 595)])
    t = t0 + rng.integers(0, 86400 * 7 * 14, n)
    return pw.Incidents.from_arrays(x, y, np.sort(t), crs=CRS)


def _getters(obj) -> dict[str, object]:
    names = [n for n, v in vars(type(obj)).items() if type(v).__name__ == "getset_descriptor"]
    assert names, type(obj)
    return {n: getattr(obj, n) for n in names}


def assert_same(a, b) -> None:
    assert type(a) is type(b)
    ga, gb = _getters(a), _getters(b)
    assert ga.keys() == gb.keys()
    for k, va in ga.items():
        vb = gb[k]
        if type(va).__module__ == "placewise._native":
            assert_same(va, vb)
        elif isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and va.shape == vb.shape, k
            assert np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"), k
        else:
            assert va == vb or (va != va and vb != vb), k


def test_gi_star_result_is_typed_and_pickles(grid, incidents) -> None:
    counts = grid.counts(incidents).astype(float)
    raw = _native.gi_star(counts, grid._native, 150.0, "binary", 99, 3, "fdr_bh")
    assert isinstance(raw, _native.GiStarResult)
    assert np.array_equal(raw.cell_ids, np.flatnonzero(grid.mask().ravel()))
    assert raw.z.shape == raw.p_sim.shape == raw.bins.shape == (grid.n_active,)
    assert raw.mean == pytest.approx(counts.ravel()[raw.cell_ids].mean(), rel=1e-12)
    assert (raw.correction, raw.weights, raw.permutations, raw.seed, raw.distance) == ("fdr_bh", "binary", 99, 3, 150.0)
    assert_same(roundtrip(raw), raw)
    no_perm = _native.gi_star(counts, grid._native, 150.0, "binary", None, 0, "none")
    assert no_perm.p_sim is None and no_perm.permutations is None
    assert_same(roundtrip(no_perm), no_perm)
    with pytest.raises(AttributeError):
        raw.__dict__  # noqa: B018 - frozen pyclasses have no instance dict


def test_emerging_result_is_typed_and_pickles(grid, incidents) -> None:
    step = 7 * 86400
    raw = _native.emerging_hotspots(incidents._native, grid._native, step, 150.0, None, None, 1, 0.1, "fdr_bh", 0.9)
    assert isinstance(raw, _native.EmergingResult)
    t = len(raw.starts)
    assert raw.counts.shape == raw.z.shape == raw.p_corrected.shape == (t, grid.n_active)
    assert np.all(np.diff(raw.starts) == step) and raw.step_s == step
    # every incident is in an active cell of this rectangular grid and in the time range
    assert raw.counts.sum() + raw.n_ignored == len(incidents)
    assert raw.category.dtype == np.uint8 and raw.category.max() < len(_native.emerging_categories())
    assert_same(roundtrip(raw), raw)


def test_knox_result_is_typed_and_pickles(incidents) -> None:
    raw = _native.knox(incidents._native, [(0.0, 100.0), (100.0, 200.0)], [(0.0, 7.0), (7.0, 14.0)], 19, 5)
    assert isinstance(raw, _native.KnoxResult)
    n = len(incidents)
    assert raw.n_events == n and raw.n_pairs == n * (n - 1) // 2
    assert int(raw.observed.sum()) == raw.n_pairs  # the table, "beyond" cells included, holds every pair
    assert raw.observed.shape == (3 * 3,) and raw.space_bands == [(0.0, 100.0), (100.0, 200.0)]
    assert (raw.permutations, raw.seed) == (19, 5)
    assert_same(roundtrip(raw), raw)


def test_ensign_urn_result_is_typed_and_pickles() -> None:
    raw = _native.ensign_urn((3.0, 2.0), (10.0, 30.0), draws=50, runs=4, update="mixed", reported_share=0.25, seed=2)
    assert isinstance(raw, _native.EnsignUrnResult)
    assert raw.trajectories.shape == (4, 51)
    assert np.allclose(raw.trajectories[:, 0], 10 / 40, rtol=0, atol=1e-15)
    assert np.array_equal(raw.final_shares, raw.trajectories[:, -1])
    assert raw.truth == pytest.approx(3 / 5, rel=1e-15)
    assert (raw.update, raw.reported_share, raw.seed) == ("mixed", 0.25, 2)
    assert raw.update_matrix.shape == (2, 2)
    assert_same(roundtrip(raw), raw)
    wrapped = pw.audit.ensign_urn(rates=(3.0, 2.0), prior=(10, 30), draws=50, runs=4, update="mixed",
                                  reported_share=0.25, seed=2)
    assert wrapped.update == {"mixed": {"reported_share": 0.25}}
    back = roundtrip(wrapped)
    assert np.array_equal(back.trajectories, wrapped.trajectories) and back.verdict == wrapped.verdict
    assert pw.audit.ensign_urn(runs=2, draws=5).update == "discovered"


def test_policy_checks_the_typed_summary_and_its_json_alike() -> None:
    policy = pw.AuditPolicy(tau=0.8, max_discovered_share=0.2)
    as_dict = {"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.4}}, "data": {"discovered_share": 0.1}}
    typed = _native.AuditSummary.from_json(
        '{"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.4}}, "data": {"discovered_share": 0.1}}'
    )
    assert dict(typed.ratio_to_reference) == {"A": 1.0, "B": 1.4} and typed.discovered_share == 0.1
    expected = ["disparity: group `B` exposure ratio to the reference group 1.400 is outside [0.800, 1.250]"]
    assert policy.check(typed) == policy.check(as_dict) == expected
    assert policy.missing(typed) == []
    assert_same(roundtrip(typed), typed)
    with pytest.raises(pw.InvalidParameterError) as e:
        _native.AuditSummary.from_json("{not json")
    assert e.value.name == "summary"


def test_reprs_are_pythonic() -> None:
    o = _native.Override("approved by the board on 2026-01-05", "A. O'Brien", "2026-01-05T10:00:00+00:00")
    assert repr(o) == f"Override(reason={o.reason!r}, by={o.by!r}, at={o.at!r})"
    city = pw.datasets.load_chicago(cell_size=1000)
    surface = pw.Surface(city.grid.counts(city.incidents).astype(float), city.grid, "counts")
    d = pw.allocate(surface, budget=10)._audited.decision
    assert repr(d) == "Decision(status='no_policy', failed_checks=0, skipped_audits=0, overridden=False)"
    a = pw.allocate(surface, 10, policy=pw.AuditPolicy.default(), skip_audits="disparity")
    s = a._audited.decision.skipped_audits[0]
    assert repr(s) == f"SkippedAudit(audit={s.audit!r}, by_caller={s.by_caller!r}, reason={s.reason!r})"
    assert "true" not in repr(a._audited.decision) and "false" not in repr(s)


def test_ingest_quality_report_is_typed_and_pickles() -> None:
    x = np.array([10.0, 20.0, np.nan, 30.0, 30.0])
    y = np.array([10.0, 20.0, 5.0, 30.0, 30.0])
    t = np.array([0, 3600, 7200, 86400, 86400], dtype=np.int64) + 1_600_000_000
    native, rep = _native.ingest(x, y, t, np.zeros(5, dtype=bool))
    assert isinstance(rep, _native.QualityReport)
    dropped = dict(rep.dropped)
    # one row has no x; the others are kept (duplicates are kept and counted by default)
    assert (rep.rows_read, rep.rows_kept) == (5, 4) and rep.rows_read == rep.rows_kept + sum(dropped.values())
    assert rep.duplicate_policy == "keep" and rep.duplicate_rows == 1
    assert rep.time_span == (1_600_000_000, 1_600_086_400)
    assert isinstance(rep.heaping, _native.Heaping) and rep.heaping.clock == "UTC"
    assert_same(roundtrip(rep), rep)
    assert_same(roundtrip(rep.heaping), rep.heaping)
    inc = pw.Incidents.from_arrays(x, y, t, crs=CRS)
    q = inc.quality
    assert (q.rows_read, q.rows_kept, q.dropped) == (5, 4, dropped)
    assert q.heaping is not None and q.heaping["share_midnight"] == rep.heaping.share_midnight


def test_population_report_is_typed_and_pickles() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    grid = pw.Grid(pw.Region.from_bounds(0, 0, 400, 400, crs=CRS), cell_size=100)
    areas = gpd.GeoDataFrame({"id": ["in", "half", "out"], "A": [100.0, 40.0, 7.0], "B": [50.0, 10.0, 3.0]},
                             geometry=[box(0, 0, 200, 200), box(300, 0, 500, 100), box(900, 900, 1000, 1000)],
                             crs=CRS)
    with pytest.warns(pw.exceptions.PlacewiseWarning, match="do not overlap"):
        pop = pw.Population.from_geodataframe(areas, ["A", "B"], grid, area_id="id")
    assert pop.report["areas_missing_grid"] == ["out"]
    (name, share), = pop.report["areas_partly_outside"]
    assert name == "half" and share == pytest.approx(0.5, abs=1e-9)
    assert pop.report["input_total"] == [147.0, 63.0]
    # half of "half" is placed; "out" is not: 100 + 20 and 50 + 5
    assert pop.report["allocated_total"] == pytest.approx([120.0, 55.0], rel=1e-12)
    rows = [[[np.array([[0.0, 0.0], [200.0, 0.0], [200.0, 200.0], [0.0, 200.0], [0.0, 0.0]])]]]
    counts, rep = _native.distribute_population(grid._native, rows, np.array([[4.0, 2.0]]), ["A", "B"])
    assert isinstance(rep, _native.PopulationReport) and rep.n_areas == 1
    assert np.array_equal(rep.input_total, [4.0, 2.0]) and counts.sum() == pytest.approx(6.0, rel=1e-12)
    assert_same(roundtrip(rep), rep)


def test_mann_kendall_result_is_typed_and_pickles() -> None:
    from statistics import NormalDist

    raw = _native.mann_kendall(np.arange(5.0))
    assert isinstance(raw, _native.MannKendallResult)
    # worked by hand: 10 increasing pairs, Var(S) = n(n-1)(2n+5)/18 = 5*4*15/18, z = (S-1)/sqrt(Var)
    var = 5 * 4 * 15 / 18
    z = (10 - 1) / var**0.5
    assert raw.s == 10 and raw.tau == 1.0
    assert raw.var_s == pytest.approx(var, rel=1e-15)
    assert raw.z == pytest.approx(z, rel=1e-14)
    assert raw.p == pytest.approx(2 * NormalDist().cdf(-z), rel=1e-9)  # statrs vs Python erf
    assert repr(raw).startswith("MannKendallResult(s=10, ") and "tau=1.0)" in repr(raw)
    assert_same(roundtrip(raw), raw)
    assert pw.stats.mann_kendall(np.arange(5.0)) == {"s": 10, "var_s": raw.var_s, "z": raw.z, "p": raw.p, "tau": 1.0}


def test_feedback_verdict_is_typed_and_pickles() -> None:
    n = 10  # one replicate, ten rounds; tv rises linearly from 0.1 to 0.37
    tv = np.linspace(0.1, 0.37, n)
    ones = np.ones(n, dtype=np.uint64)
    run = _native.FeedbackRun(n, 1, 1, np.zeros(n, dtype=np.uint64), np.arange(1, n + 1, dtype=np.uint32), tv,
                              np.zeros(n), np.zeros(n), ones, ones, ones, np.ones(n), np.zeros(n), "{}")
    v = run.verdict(0.1)
    assert isinstance(v, _native.FeedbackVerdict)
    # round 1 against the last tenth of rounds (here the last round)
    assert (v.tv_initial, v.tv_final) == (tv[0], tv[-1])
    assert v.growth == pytest.approx(0.27, abs=1e-15) and v.runaway and v.verdict == "runaway"
    assert run.verdict(0.5).verdict == "biased" and not run.verdict(0.5).runaway
    assert repr(v) == f"FeedbackVerdict(verdict='runaway', tv_initial={float(tv[0])!r}, tv_final={float(tv[-1])!r}, " \
                      f"growth={v.growth!r}, runaway=True)"
    assert_same(roundtrip(v), v)
