"""The spatial feedback simulator: a runaway where theory says there is one, none where the
training data are unbiased, mitigations compared, determinism across workers, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import placewise as pw
from placewise.feedback import compare_mitigations, feedback

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
