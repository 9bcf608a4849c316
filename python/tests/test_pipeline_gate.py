"""The chain allocates once through the gate: a blocked plan is written as BLOCKED, the report
leads with it, the run log records the decision, warnings are collected, and running without a
policy is said first."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import placewise as pw
from placewise.pipeline import run_chain

STRICT = "name = \"strict\"\n[disparity]\nratio_min = 0.99\nratio_max = 1.01\n"


@pytest.fixture(scope="module")
def city():
    return pw.datasets.load_chicago(cell_size=1000)


def _run(city, out, policy):
    return run_chain(city, out, at="2019-12-01", backtest_start="2019-11-17", models=("kde",), units=20,
                     strategy="top_k", policy=policy, feedback_rounds=2, feedback_replicates=1, seed=0)


def test_a_blocked_plan_is_written_as_blocked_and_the_report_leads_with_it(city, tmp_path) -> None:
    (tmp_path / "allocation.csv").write_text("stale")  # an earlier run's plan must not survive
    with pytest.raises(pw.PolicyViolation) as ei:
        _run(city, tmp_path, pw.AuditPolicy.from_toml(STRICT, source="strict.toml"))
    assert ei.value.blocked.blocked
    assert not (tmp_path / "allocation.csv").exists() and not (tmp_path / "allocation.geojson").exists()
    assert set(pd.read_csv(tmp_path / "allocation.BLOCKED.csv")["decision"]) == {"BLOCKED"}
    geo = json.loads((tmp_path / "allocation.BLOCKED.geojson").read_text())
    assert geo["placewise"]["decision"]["status"] == "blocked"
    assert {f["properties"]["decision"] for f in geo["features"]} == {"BLOCKED"}
    doc = json.loads((tmp_path / "audit_report.json").read_text())
    assert doc["summary"][0].startswith("BLOCKED")
    assert doc["verdicts"][0]["value"].startswith("BLOCKED") and "strict.toml" in doc["verdicts"][0]["threshold"]
    md = (tmp_path / "audit_report.md").read_text()
    assert "No audit-policy check was overridden" in md  # true: nothing was overridden; the plan is blocked
    assert md.index("BLOCKED") < md.index("## Verdicts at a glance")
    record = json.loads((tmp_path / "runs.jsonl").read_text().splitlines()[-1])["record"]
    assert record["decision"]["status"] == "blocked" and record["policy_violation"]


def test_no_policy_is_said_first_and_warnings_are_collected(city, tmp_path) -> None:
    res = _run(city, tmp_path, None)
    assert res.plan.decision.status == "no_policy"
    doc = res.report.document
    assert doc["verdicts"][0]["value"] == "no policy applied"
    assert any(s["id"] == "warnings" for s in doc["sections"])
    assert (tmp_path / "allocation.csv").exists()
    assert "decision" not in pd.read_csv(tmp_path / "allocation.csv").columns


def test_the_deployment_record_answers_the_crosswalk(city, tmp_path) -> None:
    example = Path(__file__).resolve().parents[2] / "audits" / "templates" / "deployment_record.example.toml"
    rec = pw.report.crosswalk.DeploymentRecord.from_toml(example)
    res = run_chain(city, tmp_path, at="2019-12-01", backtest_start="2019-11-17", models=("kde",), units=20,
                    strategy="top_k", policy=None, feedback_rounds=2, feedback_replicates=1, seed=0,
                    deployment=str(example))
    md = (tmp_path / "audit_report.md").read_text()
    # every answer of the record appears in the crosswalk, read independently of the report
    for key in ("classification", "data_sources", "areas_covered"):
        assert rec.answers[key] in md, key
    assert res.report.deployment == rec
    bad = tmp_path / "bad.toml"
    bad.write_text('[deployment]\nsystem = "x"\nsytem = "typo"\n')
    with pytest.raises(pw.InvalidParameterError) as e:
        run_chain(city, tmp_path / "never", at="2019-12-01", backtest_start="2019-11-17", deployment=bad)
    assert e.value.name == "deployment.sytem"
    assert not (tmp_path / "never").exists()  # failed before any work
