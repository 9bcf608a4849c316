"""AuditPolicy: the shipped file, unknown keys, checks, enforcement and overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_audit_helpers import grid, population

import placewise as pw

POLICY = Path(__file__).resolve().parents[2] / "audits" / "policy.toml"


def test_shipped_policy_reads():
    p = pw.AuditPolicy.from_file(POLICY)
    d = p.to_dict()
    assert d["disparity"]["ratio_min"] == 0.8 and d["disparity"]["ratio_max"] == 1.25
    assert {"concentration", "data", "feedback"} <= set(d)


def test_unknown_keys_are_errors_naming_the_key(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[data]\nmax_discoverd_share = 0.1\n")
    with pytest.raises(pw.InvalidParameterError, match="max_discoverd_share") as e:
        pw.AuditPolicy.from_file(f)
    assert e.value.name == "max_discoverd_share"
    with pytest.raises(pw.InvalidParameterError, match="bias"):
        pw.AuditPolicy.from_toml("[bias]\nx = 1\n")
    with pytest.raises(pw.InvalidParameterError):
        pw.AuditPolicy(required_feedback_verdict="sometimes")
    with pytest.raises(pw.exceptions.PlacewiseIOError):
        pw.AuditPolicy.from_file(tmp_path / "missing.toml")


def test_enforce_blocks_and_records_overrides():
    g = grid()
    counts = np.zeros((g.n_cells, 2))
    counts[:15, 0] = 100
    counts[15:, 1] = 100
    pop = population(g, counts, ["A", "B"])
    dose = np.zeros(g.n_cells)
    dose[:5] = 1.0  # all patrol where A lives
    audit = pw.audit.disparity(dose, pop, bootstrap=0)
    policy = pw.AuditPolicy(tau=0.8, max_discovered_share=0.2)
    with pytest.raises(pw.PolicyViolation) as e:
        pw.audit.enforce(policy, audit)
    assert any("`B`" in c for c in e.value.checks)
    assert any(c.startswith("data:") for c in e.value.checks)  # missing audits fail by default
    with pytest.raises(pw.InvalidParameterError):
        pw.audit.enforce(policy, audit, override_reason="  ")
    d = pw.audit.enforce(policy, audit, override_reason="pilot approved by the oversight board on 2024-03-01")
    assert d.overridden and not d.passed and d.override_reason.startswith("pilot")
    assert d.to_dict()["failed_checks"] == e.value.checks
    lenient = pw.AuditPolicy(tau=0.8, max_discovered_share=0.2, missing_audit="skip")
    with pytest.warns(pw.exceptions.PlacewiseWarning, match="not audited"):
        d2 = pw.audit.enforce(lenient, {"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.1}}})
    assert d2.passed and d2.skipped_sections == ["data"] and not d2.overridden


def test_summarize_collects_sections(chicago):
    urn = pw.audit.ensign_urn(runs=10, seed=0, correction=True)
    s = pw.audit.summarize(urn, data={"discovered_share": 0.0})
    assert s["feedback"]["verdict"] == "converges"
    p = pw.AuditPolicy(max_discovered_share=0.2, required_feedback_verdict="converges")
    assert p.check(s) == []
    assert p.check(pw.audit.summarize(pw.audit.ensign_urn(runs=10, seed=0), data={"discovered_share": 0.5})) == [
        "data: 50.0% of the training incidents were discovered by police, above the maximum 20.0%",
        'feedback: the feedback audit\'s verdict is "runaway", the policy requires "converges"',
    ]


def test_docstring_examples_of_the_audit_modules_run():
    import doctest

    import placewise.audit._disparity as disp
    import placewise.audit._ensign as ens
    import placewise.audit.policy as pol
    import placewise.runlog as rl

    for mod in (pol, rl, ens, disp):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.attempted > 0 and res.failed == 0, mod.__name__
