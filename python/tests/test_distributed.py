"""placewise.distributed on a local Dask cluster (2 worker processes): the same answers as one
process, failures named, bad addresses and configs refused clearly.

Equality is exact throughout: every task is the serial function on its own inputs and seed, so
no tolerance is needed (or allowed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from dask.distributed import Client, LocalCluster  # noqa: E402

import placewise as pw  # noqa: E402
from placewise import distributed as D  # noqa: E402
from placewise.exceptions import InvalidParameterError  # noqa: E402


CHAIN = dict(models=("kde",), model="kde", units=10, strategy="fair", feedback_rounds=2, feedback_replicates=1, seed=3)
SHARED_DATA = Path(os.environ.get("PLACEWISE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
PLAINFIELD = SHARED_DATA / "plainfield_predpol_2018_2020"


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c:
        yield c


# ------------------------------------------------------------------------------ synthetic data
def synthetic(folder: Path, name: str, seed: int, n: int = 1500) -> D.Jurisdiction:
    """A 4 km square city in UTM 16N with clustered incidents over 2019 and four areas of two groups."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = 440_000.0, 4_630_000.0
    centres = rng.uniform(500, 3500, size=(5, 2))
    which = rng.integers(0, 5, n)
    xy = centres[which] + rng.normal(0, 250, size=(n, 2))
    xy = np.clip(xy, 1, 3999)
    t = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 364, n)), unit="D")
    pd.DataFrame({"px": x0 + xy[:, 0], "py": y0 + xy[:, 1], "when": t.strftime("%Y-%m-%d %H:%M")}).to_csv(
        folder / "incidents.csv", index=False)
    boxes = [shapely.box(x0 + i * 2000, y0 + j * 2000, x0 + (i + 1) * 2000, y0 + (j + 1) * 2000) for i in range(2) for j in range(2)]
    gpd.GeoDataFrame({"area": ["sw", "nw", "se", "ne"], "A": [900, 100, 500, 300], "B": [100, 900, 500, 700]},
                     geometry=boxes, crs="EPSG:32616").to_file(folder / "areas.geojson", driver="GeoJSON")
    return D.Jurisdiction(name=name, incidents=str(folder / "incidents.csv"), x="px", y="py", t="when", crs="EPSG:32616",
                          tz="America/Chicago", default_origin="reported", region=str(folder / "areas.geojson"),
                          population=str(folder / "areas.geojson"), groups=["A", "B"], area_id="area", cell_size=250,
                          chain={"at": "2019-12-01", "backtest_start": "2019-11-17"})


def plainfield() -> D.Jurisdiction:
    return D.Jurisdiction(
        name="Plainfield, NJ", incidents=str(PLAINFIELD / "plainfield_crime_with_predictions.csv.gz"), x="lon", y="lat",
        t="datetime", tz="America/New_York", category="description", default_origin="reported",
        region=str(PLAINFIELD / "plainfield_block_groups.geojson.gz"),
        population=str(PLAINFIELD / "plainfield_block_groups.geojson.gz"),
        groups=["white_alone", "black_alone", "latino_alone", "asian_alone"], area_id="id", cell_size=150,
        chain={"at": "2019-01-01", "backtest_start": "2018-12-16"})


def chicago() -> D.Jurisdiction:
    return D.Jurisdiction(name="Chicago (bundled sample)", dataset="chicago-sample", cell_size=1000,
                          chain={"at": "2019-12-01", "backtest_start": "2019-11-17"})


def toronto() -> D.Jurisdiction:
    return D.Jurisdiction(name="Toronto", dataset="toronto", data_dir=str(SHARED_DATA), cell_size=1000,
                          chain={"at": "2021-06-01", "backtest_start": "2021-05-18"})


def same(a: D.JurisdictionResult, b: D.JurisdictionResult) -> None:
    assert (a.name, a.status, a.error) == (b.name, b.status, b.error)
    assert a.row == b.row or pd.Series(a.row).equals(pd.Series(b.row))
    assert a.verdicts == b.verdicts
    if a.plan is not None or b.plan is not None:
        assert np.array_equal(a.plan.dose, b.plan.dose)
        pd.testing.assert_frame_equal(a.plan.audit.by_group, b.plan.audit.by_group, check_exact=True)


# ------------------------------------------------------------------------------ tests
def test_without_dask_the_import_says_how_to_install_and_nothing_else_imports_dask():
    code = (
        "import sys\n"
        "sys.modules['dask'] = None\n"
        "import placewise, placewise.cli, placewise.pipeline, placewise.evaluate, placewise.audit\n"
        "placewise.cli.build_parser()\n"
        "try:\n"
        "    import placewise.distributed\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTERROR" in out.stdout and "pip install 'placewise[dask]'" in out.stdout
    code2 = "import sys, placewise, placewise.cli; placewise.cli.build_parser(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    out2 = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, timeout=120)
    assert out2.returncode == 0, out2.stderr
    assert out2.stdout.strip() == "[]"


def test_audit_many_equals_serial_and_names_the_broken_jurisdiction(client, tmp_path):
    js = [chicago(), synthetic(tmp_path / "s1", "Synthetic 1", seed=1), synthetic(tmp_path / "s2", "Synthetic 2", seed=2)]
    if PLAINFIELD.exists():
        js.append(plainfield())
    broken = synthetic(tmp_path / "bad", "Broken town", seed=4)
    broken.t = "no_such_column"
    js.append(broken)
    serial = [D.audit_one(j, **CHAIN) for j in js]
    dist = D.audit_many(js, client=client, **CHAIN)
    assert [r.name for r in dist.results] == [j.name for j in js]
    for a, b in zip(serial, dist.results):
        same(a, b)
    pd.testing.assert_frame_equal(dist.summary, D.AuditManyResult(serial).summary, check_exact=True)
    assert set(dist.failures) == {"Broken town"}
    assert "no_such_column" in dist.failures["Broken town"] and "Broken town" in dist.failures["Broken town"]
    ok = dist.summary[dist.summary["jurisdiction"] != "Broken town"]
    assert (ok["status"] != "failed").all() and (ok["incidents"] > 0).all()


def test_toronto_in_a_distributed_audit_equals_serial(client, shared_data):
    j = toronto()
    serial = D.audit_one(j, **CHAIN)
    assert serial.status != "failed", serial.error
    same(serial, D.audit_many([j], client=client, **CHAIN).results[0])


def test_in_memory_city_is_scattered_and_gives_the_serial_result(client):
    city = pw.datasets.load_chicago(cell_size=1000)
    j = D.Jurisdiction(name="Chicago in memory", city=city, chain={"at": "2019-12-01", "backtest_start": "2019-11-17"})
    same(D.audit_one(j, **CHAIN), D.audit_many([j], client=client, **CHAIN).results[0])


def test_backtest_sweep_is_bit_identical_with_one_and_two_workers(client):
    city = pw.datasets.load_chicago(cell_size=1000)
    models = {"KDE 4 km": pw.KDE(bandwidth=4000, mode="binned"), "prospective": pw.ProspectiveHotspot(bandwidth_cells=2)}
    kw = dict(start="2019-10-06", end="2019-11-03", step="7D", coverage=[0.05], bootstrap=200, seed=5)
    serial = pw.evaluate.backtest(models, city.incidents, city.grid, progress=False, **kw)
    two = D.backtest(models, city.incidents, city.grid, client=client, **kw)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c1:
        one = D.backtest(models, city.incidents, city.grid, client=c1, **kw)
    for r in (one, two):
        pd.testing.assert_frame_equal(r.frame, serial.frame, check_exact=True)
        assert r.curves.keys() == serial.curves.keys()
        assert all(np.array_equal(r.curves[k][1], serial.curves[k][1]) for k in serial.curves)
        pd.testing.assert_frame_equal(r.compare(), serial.compare(), check_exact=True)
    assert serial.frame["origin"].nunique() == 4


def test_unreachable_scheduler_is_named_within_the_timeout():
    t0 = time.perf_counter()
    with pytest.raises(InvalidParameterError, match="tcp://127.0.0.1:9") as e:
        with D.cluster("tcp://127.0.0.1:9", timeout=2):
            pass
    assert e.value.name == "client"
    assert time.perf_counter() - t0 < 30  # 2 s timeout plus the client's own set-up
    with pytest.raises(InvalidParameterError, match="workers"):
        with D.cluster("tcp://127.0.0.1:9", workers=2):
            pass


def test_a_worker_killed_mid_run_is_retried_and_the_result_is_unchanged(client, tmp_path):
    js = [synthetic(tmp_path / f"k{i}", f"Kill {i}", seed=10 + i, n=800) for i in range(3)]
    serial = [D.audit_one(j, **CHAIN) for j in js]
    killed: list[str] = []

    def kill_one() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            busy = {w: ks for w, ks in client.processing().items() if any("audit-" in str(k) for k in ks)}
            if busy:
                w = sorted(busy)[0]
                pid = client.run(os.getpid, workers=[w])[w]
                os.kill(pid, signal.SIGKILL)
                killed.append(w)
                return
            time.sleep(0.05)

    th = threading.Thread(target=kill_one)
    th.start()
    res = D.audit_many(js, client=client, **CHAIN)
    th.join()
    assert killed, "no worker was seen processing an audit task"
    for a, b in zip(serial, res.results):
        same(a, b)
    client.wait_for_workers(2, timeout=60)


def test_audit_many_cli_names_missing_file_and_column_and_completes_the_others(client, tmp_path):
    from placewise.cli import main

    good = synthetic(tmp_path / "good", "Good town", seed=7)
    synthetic(tmp_path / "nocol", "x", seed=8)
    cfg = tmp_path / "jurisdictions.toml"
    cfg.write_text(
        "[defaults]\n"
        'at = "2019-12-01"\nbacktest_start = "2019-11-17"\nmodels = ["kde"]\nmodel = "kde"\nunits = 10\n'
        'feedback_rounds = 2\nfeedback_replicates = 1\nseed = 3\ncell_size = 250\ncrs = "EPSG:32616"\n'
        'x = "px"\ny = "py"\nt = "when"\ntz = "America/Chicago"\ngroups = ["A", "B"]\narea_id = "area"\n'
        'default_origin = "reported"\n\n'
        '[[jurisdiction]]\nname = "Good town"\nincidents = "good/incidents.csv"\nregion = "good/areas.geojson"\n'
        'population = "good/areas.geojson"\n\n'
        '[[jurisdiction]]\nname = "Missing file"\nincidents = "nowhere/incidents.csv"\nregion = "good/areas.geojson"\n\n'
        '[[jurisdiction]]\nname = "Missing column"\nincidents = "nocol/incidents.csv"\nregion = "nocol/areas.geojson"\n'
        'population = "nocol/areas.geojson"\ngroups = ["A", "C"]\n'
    )
    out = tmp_path / "out"
    rc = main(["--quiet", "audit-many", str(cfg), "--out", str(out), "--scheduler", client.scheduler.address])
    assert rc == 1
    s = pd.read_csv(out / "summary.csv")
    assert list(s["jurisdiction"]) == ["Good town", "Missing file", "Missing column"]
    assert list(s["status"]) == ["ok", "failed", "failed"] or s.loc[0, "status"] == "blocked"
    assert "nowhere/incidents.csv" in s.loc[1, "error"] and "Missing file" in s.loc[1, "error"]
    assert "`C`" in s.loc[2, "error"] and "Missing column" in s.loc[2, "error"]
    report = json.loads((out / "Good_town" / "audit_report.json").read_text())
    assert report["verdicts"] == D.audit_one(good, **CHAIN).verdicts
    assert (out / "summary.html").exists() and "Good town" in (out / "summary.md").read_text()


def test_config_errors_name_the_setting(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[jurisdiction]]\nname = "A"\ndataset = "chicago-sample"\nbudget = 3\n')
    with pytest.raises(InvalidParameterError, match="A.budget"):
        D.read_config(cfg)
    cfg.write_text('[[jurisdiction]]\nname = "A"\ndataset = "atlantis"\n')
    with pytest.raises(InvalidParameterError, match="atlantis"):
        D.read_config(cfg)
    with pytest.raises(InvalidParameterError, match="no such file"):
        D.read_config(tmp_path / "none.toml")
    with pytest.raises(InvalidParameterError, match="unique"):
        D.audit_many([chicago(), chicago()], client="tcp://127.0.0.1:9")


def test_config_deployment_record_paths_are_read_from_the_config_folder(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[defaults]\ndeployment = "records/all.toml"\n'
                   '[[jurisdiction]]\nname = "A"\ndataset = "chicago-sample"\n'
                   '[[jurisdiction]]\nname = "B"\ndataset = "chicago-sample"\ndeployment = "b.toml"\n')
    js, defaults = D.read_config(cfg)
    assert defaults["deployment"] == str((tmp_path / "records" / "all.toml").resolve())
    assert js[1].chain["deployment"] == str((tmp_path / "b.toml").resolve())


class _Offset:
    """A callable object, as sweep functions pass to ``map=`` (holding their shared inputs)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, v: int) -> int:
        return v * 10 + self.k


def test_dask_map_keeps_task_order(client):
    items = list(range(7))
    assert D.dask_map(client)(_Offset(3), items) == list(map(_Offset(3), items))


# ------------------------------------------------------------------------------ sweeps: 1 and 2 workers
@pytest.fixture(scope="module")
def client1():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c:
        yield c


def _same_feedback(a, b) -> None:
    pd.testing.assert_frame_equal(a.rounds, b.rounds, check_exact=True)
    assert (a.label, a.params, a.verdict, a.replicate_ids) == (b.label, b.params, b.verdict, b.replicate_ids)
    assert (a.tv_initial, a.tv_final, a.growth) == (b.tv_initial, b.tv_final, b.growth)


def test_feedback_study_is_bit_identical_with_one_and_two_workers_and_equals_one_process(client, client1):
    city = pw.datasets.load_chicago(cell_size=1000)
    kw = dict(grid=city.grid, truth=city.incidents, rounds=6, replicates=5, budget=5, seed=11,
              model=pw.KDE(bandwidth=4000, mode="binned"))
    serial = pw.audit.feedback(**kw)
    # Replicates 0..4 each draw from stream (11, i): a serial run of one replicate is that row block.
    only3 = pw.audit.feedback(**kw, replicate_ids=[3])
    pd.testing.assert_frame_equal(only3.rounds.reset_index(drop=True),
                                  serial.rounds[serial.rounds["replicate"] == 3].reset_index(drop=True), check_exact=True)
    runs = [D.feedback(client=c, replicates_per_task=k, **kw) for c in (client1, client) for k in (1, 2)]
    for r in runs:
        _same_feedback(r, serial)
    assert sorted(serial.rounds["replicate"].unique()) == [0, 1, 2, 3, 4] and serial.rounds["round"].nunique() == 6
    # Another root seed changes the draws: the tasks really take their seed from it.
    other = D.feedback(client=client, replicates_per_task=2, **{**kw, "seed": 12})
    assert not other.rounds["occurred"].equals(serial.rounds["occurred"])


def test_compare_mitigations_on_dask_equals_one_process(client, client1):
    city = pw.datasets.load_chicago(cell_size=1000)
    kw = dict(grid=city.grid, truth=city.incidents, rounds=4, replicates=3, budget=5, seed=2, population=city.population)
    serial = pw.audit.compare_mitigations(**kw)
    assert "discovery_gap" in serial.results[0].rounds  # the population travelled with the scattered inputs
    for c in (client1, client):
        d = D.compare_mitigations(client=c, replicates_per_task=2, **kw)
        assert [r.label for r in d.results] == [r.label for r in serial.results]
        for a, b in zip(d.results, serial.results):
            _same_feedback(a, b)
        pd.testing.assert_frame_equal(d.table(), serial.table(), check_exact=True)


def test_feedback_on_dask_refuses_settings_it_chooses(client):
    city = pw.datasets.load_chicago(cell_size=1000)
    kw = dict(grid=city.grid, truth=city.incidents, rounds=2, replicates=2)
    for bad, name in ((dict(replicate_ids=[0]), "replicate_ids"), (dict(replicates_per_task=0), "replicates_per_task"),
                      (dict(threads_per_task=0), "threads_per_task"), (dict(replicates=0), "replicates")):
        with pytest.raises(InvalidParameterError) as e:
            D.feedback(client=client, **{**kw, **bad})
        assert e.value.name == name


SELECT_MODELS = {"KDE": (pw.KDE(mode="binned"), {"bandwidth": [4000, 6000]}),
                 "Naive": (pw.Naive(), {"window_days": [91, 365]}),
                 "Blend": (pw.Blend(short_bandwidth_m=1500), {"weight": [0.6, 0.9]})}


def test_selection_sweep_is_bit_identical_with_one_and_two_workers_and_equals_one_process(client, client1):
    from placewise.distributed._sweeps import _cells
    from placewise.selection import SelectionTask, expand

    city = pw.datasets.load_chicago(cell_size=1000)
    kw = dict(start="2019-10-06", end="2019-10-27", lookback=2, bootstrap=200, seed=3, history="365D")
    serial = pw.evaluate.select(SELECT_MODELS, city.incidents, city.grid, **kw)
    for c in (client1, client):
        d = D.select(SELECT_MODELS, city.incidents, city.grid, client=c, **kw)
        pd.testing.assert_frame_equal(d.scores, serial.scores, check_exact=True)
        pd.testing.assert_frame_equal(d.choices, serial.choices, check_exact=True)
        pd.testing.assert_frame_equal(d.backtest.frame, serial.backtest.frame, check_exact=True)
        assert (d.winner, d.chosen) == (serial.winner, serial.chosen)
        pd.testing.assert_frame_equal(d.backtest.compare(), serial.backtest.compare(), check_exact=True)
    # 3 test + 2 warm-up origins, each scoring the baseline and the 6 candidates.
    assert serial.scores["origin"].nunique() == 5 and serial.scores["candidate"].nunique() == 7
    # The Dask tasks are cells: each KDE and Naive setting alone, the Blends (one shared fit) together.
    cands = tuple(expand(SELECT_MODELS))
    task = SelectionTask(pd.Timestamp("2019-10-06", tz="America/Chicago"), pd.Timedelta("7D"), None,
                         pd.Timedelta("365D"), cands, (0.01,))
    assert [[c.label for c in t.candidates] for t in _cells(task)] == [
        ["KDE(bandwidth=4000)"], ["KDE(bandwidth=6000)"], ["Naive(window_days=91)"], ["Naive(window_days=365)"],
        ["Blend(weight=0.6)", "Blend(weight=0.9)"]]


# ------------------------------------------------------------------------------ progress bar, scheduler address
def _one_jurisdiction_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "one.toml"
    cfg.write_text('[defaults]\nat = "2019-12-01"\nbacktest_start = "2019-11-17"\n\n'
                   '[[jurisdiction]]\nname = "Chicago"\ndataset = "chicago-sample"\n')
    return cfg


@pytest.mark.parametrize("tty, flags, expected", [
    (True, [], True), (False, [], False), (False, ["--progress"], True), (True, ["--no-progress"], False),
    (True, ["--quiet"], False), (True, ["--quiet", "--progress"], True),
])
def test_audit_many_cli_shows_the_progress_bar_on_a_terminal_or_on_request(tmp_path, monkeypatch, capsys, tty, flags,
                                                                            expected):
    from placewise import cli

    seen: list[bool] = []

    def fake(jurisdictions, *, progress, **kw):
        seen.append(progress)
        name = jurisdictions[0].name
        return D.AuditManyResult([D.JurisdictionResult(name=name, status="ok", row={"jurisdiction": name, "status": "ok"})])

    monkeypatch.setattr(D, "audit_many", fake)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    quiet = [f for f in flags if f == "--quiet"]
    rest = [f for f in flags if f != "--quiet"]
    assert cli.main([*quiet, "audit-many", str(_one_jurisdiction_config(tmp_path)), "--out", str(tmp_path / "o"),
                     *rest]) == 0
    assert seen == [expected]


def test_audit_many_with_progress_draws_dasks_bar_and_without_it_prints_nothing(client, client1, tmp_path, capsys):
    j = synthetic(tmp_path / "p", "Progress town", seed=5, n=600)
    capsys.readouterr()
    with client1.as_current():  # the bar follows the cluster that runs the tasks, not the default client
        with_bar = D.audit_many([j], client=client, progress=True, **CHAIN)
    out = capsys.readouterr().out
    assert "% Completed" in out and "100% Completed" in out
    without = D.audit_many([j], client=client, progress=False, **CHAIN)
    assert "Completed" not in capsys.readouterr().out
    same(with_bar.results[0], without.results[0])


def test_audit_many_cli_names_an_unreachable_scheduler_within_the_timeout(tmp_path, monkeypatch, capsys):
    from placewise import cli
    from placewise.distributed import _cluster

    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT_S", 2.0)
    t0 = time.perf_counter()
    rc = cli.main(["audit-many", str(_one_jurisdiction_config(tmp_path)), "--out", str(tmp_path / "o"),
                   "--scheduler", "tcp://127.0.0.1:9"])
    assert rc != 0
    err = capsys.readouterr().err
    assert "tcp://127.0.0.1:9" in err and "no Dask scheduler answered" in err
    assert time.perf_counter() - t0 < 30  # 2 s timeout plus the client's own set-up
    assert not (tmp_path / "o" / "summary.csv").exists()


def test_warnings_raised_on_workers_reach_the_caller(client):
    from placewise.exceptions import PlacewiseWarning

    city = pw.datasets.load_chicago(cell_size=1000)
    coarse = {"KDE 2 km": pw.KDE(bandwidth=2000, mode="binned")}  # binned on cells > bandwidth/4: warns when fitted
    with pytest.warns(PlacewiseWarning, match="binning error guarantee"):
        pw.evaluate.backtest(coarse, city.incidents, city.grid, start="2019-10-06", end="2019-10-13", progress=False)
    with pytest.warns(PlacewiseWarning, match="binning error guarantee"):
        D.backtest(coarse, city.incidents, city.grid, start="2019-10-06", end="2019-10-13", client=client)
    with pytest.warns(PlacewiseWarning, match="binning error guarantee"):
        D.select(coarse, city.incidents, city.grid, start="2019-10-06", end="2019-10-13", lookback=1, bootstrap=10,
                 history="365D", client=client)
