"""The audit policy, re-exported from :mod:`placewise.audit.policy` (its home)."""

from __future__ import annotations

from .audit.policy import DEFAULT_POLICY_RESOURCE, AuditPolicy, PolicyDecision, enforce, summarize

__all__ = ["AuditPolicy", "DEFAULT_POLICY_RESOURCE", "PolicyDecision", "enforce", "summarize"]
