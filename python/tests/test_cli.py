"""The command line: every subcommand's help, exit codes, one-line errors, and real runs."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from placewise.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[2] / "python" / "placewise" / "datasets" / "data"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    import placewise as pw

    d = tmp_path_factory.mktemp("cli")
    inc = pw.datasets.chicago_incidents_frame()
    inc.to_csv(d / "inc.csv", index=False)
    inc.to_parquet(d / "inc.parquet")
    (d / "areas.geojson").write_bytes(gzip.decompress((DATA / "chicago_community_areas.geojson.gz").read_bytes()))
    return {"csv": str(d / "inc.csv"), "parquet": str(d / "inc.parquet"), "areas": str(d / "areas.geojson"), "dir": str(d)}


def common(files: dict[str, str], kind: str = "csv") -> list[str]:
    return ["--incidents", files[kind], "--tz", "America/Chicago", "--region", files["areas"], "--cell-size", "300",
            "--default-origin", "reported"]


@pytest.mark.parametrize("cmd", ["demo", "fit", "predict", "allocate", "backtest", "audit", "verify-log"])
def test_help_has_an_example(cmd: str, capsys) -> None:
    assert main([cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert "example" in out and "placewise" in out


def test_usage_error_is_exit_2(capsys) -> None:
    assert main(["bogus"]) == 2
    assert main(["predict", "--at", "2019-01-01"]) == 2  # required options missing


def test_error_is_one_line_exit_1(files, capsys) -> None:
    rc = main(["predict", *common(files), "--model", "kde", "--at", "2010-01-01", "--out", files["dir"] + "/s.geojson"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("placewise: error: ") and "Traceback" not in "\n".join(err)


def test_predict_fit_backtest_from_csv_and_parquet(files, capsys) -> None:
    out = files["dir"] + "/risk.geojson"
    assert main(["-q", "predict", *common(files, "parquet"), "--model", "kde", "--at", "2019-12-01", "--out", out]) == 0
    doc = json.loads(Path(out).read_text())
    assert doc["placewise"]["model"] == "KDE" and len(doc["features"]) > 1000
    assert main(["-q", "fit", *common(files), "--model", "sepp", "--until", "2019-06-01"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert 0 <= fitted["fitted"]["theta_"] < 1
    csv = files["dir"] + "/bt.csv"
    assert main(["-q", "backtest", *common(files), "--models", "kde", "--start", "2019-10-01", "--end", "2019-11-01",
                 "--out", csv]) == 0
    assert "pai" in Path(csv).read_text()


def test_allocate_policy_violation_is_exit_3_and_override_proceeds(files, capsys) -> None:
    args = ["-q", "allocate", *common(files), "--population", files["areas"], "--groups", "WHITE,BLACK,HISP,ASIAN,OTHER",
            "--at", "2019-12-01", "--units", "30", "--strategy", "top_k", "--policy", str(ROOT / "audits" / "policy.toml"),
            "--out", files["dir"] + "/plan.csv"]
    assert main(args) == 3
    assert "disparity" in capsys.readouterr().err
    blocked = Path(files["dir"] + "/plan.BLOCKED.csv")
    assert blocked.exists() and not Path(files["dir"] + "/plan.csv").exists()
    assert set(pd.read_csv(blocked)["decision"]) == {"BLOCKED"}
    for reason in ["   ", "\u200b\u200b\ufeff"]:
        assert main(args + ["--override-reason", reason]) == 1
        assert "override_reason" in capsys.readouterr().err
    assert main(args + ["--override-reason", "test of the override path", "--override-by", "CLI test"]) == 0
    assert set(pd.read_csv(files["dir"] + "/plan.csv")["decision"]) == {"OVERRIDDEN"}


def test_allocate_without_population_is_blocked_by_the_packaged_policy_unless_skipped(files, capsys) -> None:
    args = ["-q", "allocate", *common(files), "--at", "2019-12-01", "--units", "30", "--out", files["dir"] + "/np.csv"]
    assert main(args) == 3
    assert "disparity: not audited" in capsys.readouterr().err
    assert main(args + ["--skip-audit", "disparity"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"]["skipped_audits"][0]["audit"] == "disparity"
    assert main(args + ["--no-policy"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"]["status"] == "no_policy"
    assert main(args + ["--no-policy", "--policy", str(ROOT / "audits" / "policy.toml")]) == 2


def test_demo_writes_report_and_verify_log(tmp_path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "placewise.cli", "--quiet", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in ("audit_report.html", "audit_report.json", "audit_report.md", "allocation.geojson", "runs.jsonl"):
        assert (out / f).exists(), f
    assert main(["verify-log", str(out / "runs.jsonl")]) == 0
    log = out / "runs.jsonl"
    raw = bytearray(log.read_bytes())
    raw[40] ^= 1  # flip one bit of the first record
    log.write_bytes(bytes(raw))
    assert main(["verify-log", str(log)]) == 1
    assert main(["verify-log", str(tmp_path / "missing.jsonl")]) == 1


def test_a_bad_deployment_record_fails_fast_naming_the_key(files, tmp_path, capsys) -> None:
    bad = tmp_path / "deployment.toml"
    bad.write_text('[deployment]\nsystem = "x"\nowner = ["a", 3, {"b" = 1}]\n')
    code = main(["-q", "audit", *common(files), "--population", files["areas"], "--groups", "WHITE,BLACK",
                 "--at", "2019-12-01", "--backtest-start", "2019-11-01", "--deployment", str(bad),
                 "--out", str(tmp_path / "out")])
    assert code != 0
    err = capsys.readouterr().err
    assert "deployment.owner" in err
    assert not (tmp_path / "out").exists()
    assert main(["-q", "demo", "--deployment", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "d")]) != 0
    assert "could not be read" in capsys.readouterr().err
