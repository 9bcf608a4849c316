"""Allocations made with a population carry their audits; a policy blocks them unless overridden."""

from __future__ import annotations

import numpy as np
import pytest

import placewise as pw


@pytest.fixture(scope="module")
def surface(chicago):  # type: ignore[no-untyped-def]
    return pw.KDE(bandwidth=600, mode="binned").fit(chicago.incidents, chicago.grid).predict()


def test_allocation_with_population_carries_disparity_and_concentration(chicago, surface) -> None:
    a = pw.allocate(surface, budget=pw.Budget(units=60), strategy="top_k", population=chicago.population)
    assert isinstance(a.audit, pw.audit.DisparityAudit)
    assert list(a.audit.by_group.index) == chicago.groups
    # exposure per capita recomputed here from the plan's units and the population
    counts = chicago.population.counts
    expected = (a.dose @ counts) / counts.sum(axis=0)
    np.testing.assert_allclose(a.audit.by_group["rate"].to_numpy(), expected, rtol=1e-9)
    assert a.concentration.summary()
    assert pw.allocate(surface, budget=pw.Budget(units=60), strategy="top_k").audit is None


def test_policy_blocks_and_override_is_recorded(chicago, surface) -> None:
    policy = pw.AuditPolicy.from_file("audits/policy.toml")
    with pytest.raises(pw.PolicyViolation) as e:
        pw.allocate(surface, budget=pw.Budget(units=60), strategy="top_k", population=chicago.population, policy=policy)
    assert any(c.startswith("disparity:") for c in e.value.checks)
    assert e.value.blocked.blocked and e.value.blocked.decision.failed_checks == e.value.failed_checks
    a = pw.allocate(surface, budget=pw.Budget(units=60), strategy="top_k", population=chicago.population,
                    policy=policy, override_reason="pilot approved by the board on 2026-11-01", override_by="Board chair")
    assert a.decision.status == "overridden"
    assert a.overrides[0]["reason"].startswith("pilot approved") and a.overrides[0]["by"] == "Board chair"
    assert a.decision.policy_source.endswith("audits/policy.toml")
    with pytest.raises(pw.InvalidParameterError, match="override_reason"):
        pw.allocate(surface, budget=pw.Budget(units=60), strategy="top_k", override_reason="no policy was given")


def test_fair_plan_passes_the_band_it_was_built_for(chicago, surface) -> None:
    policy = pw.AuditPolicy(ratio_min=0.8, ratio_max=1.25)
    a = pw.allocate(surface, budget=pw.Budget(units=60), strategy="fair", population=chicago.population,
                    reference="WHITE", tau=0.8, policy=policy)
    r = a.audit.by_group["ratio_to_reference"]
    assert ((r >= 0.8 - 1e-6) & (r <= 1.25 + 1e-6)).all()
    assert a.price_of_fairness is not None
    assert a.decision.status == "passed"
