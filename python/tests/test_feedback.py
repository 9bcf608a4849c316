"""The spatial feedback simulator: a runaway where theory says there is one, none where the
training data are unbiased, mitigations compared, determinism across workers, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import placewise as pw
from placewise.feedback import FeedbackResult, compare_mitigations, feedback

UTM = "EPSG:32616"


@pytest.fixture(scope="module")
def strip() -> pw.Grid:
    # ten equal cells in a row: the truth is uniform, so any concentration is the loop's doing
    return pw.Grid(pw.Region.from_bounds(0, 0, 1000, 100, crs=UTM), cell_size=100)


def run(grid: pw.Grid, **kw):  # type: ignore[no-untyped-def]
    args = dict(grid=grid, truth=np.ones(10), model=pw.Naive(window_days=None), budget=1, rounds=40, replicates=8,
                reporting_rate=0.05, discovery_rate=0.9, incidents_per_round=20.0, seed=1)
    args.update(kw)
    return feedback(**args)


def test_discovered_records_run_away_and_reported_only_does_not(strip) -> None:
    # Mostly-discovered records and top-k patrol of one cell: the patrolled cell keeps
    # generating the records that keep it patrolled (Ensign et al. 2018's mechanism), so the
    # model's map drifts from the uniform truth.
    bad = run(strip, training="all")
    assert bad.runaway, bad.summary()
    assert bad.tv_final > 0.3
    # Trained on reported incidents only, the records are an unbiased sample of the truth: the
    # model converges towards it.
    good = run(strip, training="reported")
    assert not good.runaway, good.summary()
    assert good.verdict == "converges"
    assert good.tv_final < bad.tv_final - 0.2
    # The Ensign correction thins discovered records in patrolled cells.
    ens = run(strip, training="ensign")
    assert ens.tv_final < bad.tv_final


def test_randomized_floor_and_comparison_table(strip) -> None:
    cmp = compare_mitigations(grid=strip, truth=np.ones(10), model=pw.Naive(window_days=None), budget=1, rounds=20,
                              replicates=4, reporting_rate=0.1, discovery_rate=0.9, incidents_per_round=20.0, seed=3,
                              epsilon=0.5)
    t = cmp.table()
    assert list(t["scenario"])[0].endswith("(no mitigation)")
    assert cmp.runaway == cmp.results[0].runaway
    assert len(t) == 4 and set(t["verdict"]) <= {"runaway", "biased", "converges"}
    # an audit policy reads the unmitigated scenario's verdict
    policy = pw.AuditPolicy(required_feedback_verdict="not_runaway")
    failed = policy.check(pw.audit.summarize(feedback=cmp))
    assert bool(failed) == cmp.runaway
    assert "<table" in cmp._repr_html_()


def test_deterministic_and_independent_of_workers(strip) -> None:
    a = run(strip, rounds=5, replicates=4, workers=1)
    b = run(strip, rounds=5, replicates=4, workers=3)
    assert a.rounds.equals(b.rounds)
    c = run(strip, rounds=5, replicates=4, seed=2)
    assert not a.rounds.equals(c.rounds)


def test_groups_and_real_grid(chicago) -> None:
    truth = pw.KDE(bandwidth=600, mode="binned").fit(chicago.incidents, chicago.grid).predict()
    r = feedback(grid=chicago.grid, truth=truth, budget=20, rounds=3, replicates=2, population=chicago.population,
                 incidents_per_round=300.0, seed=0)
    g = r.by_group()
    assert list(g.columns) == chicago.groups
    assert ((g >= 0) & (g <= 1)).all().all()
    assert "discovery_gap_final" in r.summary()


def test_bad_input(strip) -> None:
    with pytest.raises(pw.InvalidParameterError, match="training"):
        run(strip, training="everything")
    with pytest.raises(pw.InvalidParameterError, match="rounds"):
        run(strip, rounds=0)
    with pytest.raises(pw.InvalidParameterError, match="reporting_rate"):
        run(strip, reporting_rate=1.5)
    with pytest.raises(pw.InvalidParameterError, match="truth"):
        run(strip, truth=np.ones(3))
    with pytest.raises(pw.InvalidParameterError, match="truth"):
        run(strip, truth=-np.ones(10))
    with pytest.raises(pw.InvalidParameterError, match="truth"):
        run(strip, scenario=np.ones(10))  # both truth= and scenario=
    assert run(strip, truth=None, scenario=np.ones(10), rounds=2, replicates=1).rounds.shape[0] == 2
    with pytest.raises(pw.InvalidParameterError, match="discovery_rate"):
        run(strip, discovery_rate=-0.1)


def test_split_replicates_combine_to_the_whole_bit_for_bit(strip) -> None:
    # what a distributed run does: groups of replicates on different workers, merged after
    kw = dict(rounds=6, replicates=5, training="ensign", strategy="randomized", strategy_kwargs={"epsilon": 0.3})
    whole = run(strip, **kw)
    parts = [run(strip, replicate_ids=[3, 0], **kw), run(strip, replicate_ids=[4, 1, 2], workers=1, **kw)]
    assert parts[0].replicate_ids == [0, 3]
    merged = FeedbackResult.combine(parts[::-1])
    assert merged.rounds.equals(whole.rounds)
    assert (merged.tv_initial, merged.tv_final, merged.verdict) == (whole.tv_initial, whole.tv_final, whole.verdict)
    assert merged.replicate_ids == list(range(5))
    with pytest.raises(pw.InvalidParameterError, match="more than one run"):
        FeedbackResult.combine([parts[0], parts[0]])
    with pytest.raises(pw.InvalidParameterError, match="results"):
        FeedbackResult.combine([parts[0], run(strip, replicate_ids=[1], seed=2, **kw)])
    with pytest.raises(pw.InvalidParameterError, match="replicate_ids"):
        run(strip, replicate_ids=[5], **kw)


def test_results_pickle(strip) -> None:
    r = run(strip, rounds=4, replicates=3)
    back = pickle.loads(pickle.dumps(r))
    assert back.rounds.equals(r.rounds) and back.verdict == r.verdict and back.params == r.params
    native = pickle.loads(pickle.dumps(r.run))
    assert np.array_equal(native.tv_model, r.run.tv_model) and native.config == r.run.config
    cmp = compare_mitigations(grid=strip, truth=np.ones(10), model=pw.Naive(window_days=None), budget=1, rounds=3,
                              replicates=2, reporting_rate=0.1, incidents_per_round=20.0, seed=3)
    assert pickle.loads(pickle.dumps(cmp)).table().equals(cmp.table())


def test_models_the_core_refits_and_the_old_import_path(strip) -> None:
    import importlib

    # (the package attribute `placewise.audit.feedback` is the function; the module is reached by name)
    new = importlib.import_module("placewise.audit.feedback")
    assert feedback is new.feedback and FeedbackResult is new.FeedbackResult
    for model in (pw.KDE(bandwidth=150), pw.RetrospectiveHotspot(bandwidth=150, window_days=400),
                  pw.ProspectiveHotspot(bandwidth_cells=2, time_bandwidth_weeks=60)):
        assert run(strip, model=model, rounds=2, replicates=1).rounds.shape[0] == 2
    with pytest.raises(pw.InvalidParameterError, match="model"):
        run(strip, model=pw.SEPP())
    with pytest.raises(pw.InvalidParameterError, match="incidents_per_round"):
        run(strip, incidents_per_round=0.0)


def test_feedback_module_does_not_import_allocate() -> None:
    import ast
    import pathlib

    import importlib

    mod = importlib.import_module("placewise.audit.feedback")
    tree = ast.parse(pathlib.Path(mod.__file__).read_text())
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [n for n in names if "allocate" in n], names
