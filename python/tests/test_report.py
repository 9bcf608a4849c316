"""The audit report: schema-checked, every section present, 'not provided' where inputs are missing."""

from __future__ import annotations

import json

import pytest

import placewise as pw
from placewise.report import SCHEMA, AuditReport

SECTION_IDS = ["decision", "intended-use", "data", "models", "model-choice", "allocation", "disparity", "concentration", "need",
               "feedback", "oversight", "fundamental-rights", "run-log", "warnings", "crosswalk", "limitations", "methods"]


def test_report_with_data_only_marks_the_rest_not_provided(chicago, tmp_path) -> None:
    r = AuditReport(title="Chicago", incidents=chicago.incidents, context={"operator": "Planning unit"})
    doc = r.document
    assert doc["schema"] == SCHEMA
    assert [s["id"] for s in doc["sections"]] == SECTION_IDS
    provided = {s["id"]: s["provided"] for s in doc["sections"]}
    assert provided["data"] and not provided["allocation"] and not provided["fundamental-rights"]
    statuses = {v["check"]: v["status"] for v in doc["verdicts"]}
    assert statuses["Data quality: rows dropped as unusable"] == "pass"
    assert statuses["Run log intact"] == "not_assessed"
    assert doc["verdicts"][0]["value"] == "no policy applied"  # no plan, no policy: said first
    html = r.to_html(tmp_path / "r.html")
    assert "Not provided" in html and "Planning unit" in html
    assert "http://" not in html and "https://" not in html  # self-contained
    md = r.to_markdown()
    assert "&#39;" not in md and "## Fundamental-rights impact" in md
    assert json.loads(r.to_json())["title"] == "Chicago"
    with pytest.raises(pw.InvalidParameterError, match="unknown keys"):
        AuditReport(context={"purpse": "typo"})


def test_schema_check_refuses_bad_documents() -> None:
    from placewise import _native

    doc = AuditReport().document
    doc["extra"] = 1
    with pytest.raises(pw.DataValidationError, match="extra"):
        _native.report_normalise(json.dumps(doc))
