"""Audits of patrol allocations and of the data behind them.

* :func:`disparity` — who bears the exposure (per-group exposure per capita, ratios with
  bootstrap intervals, band verdicts) and who gets the protection.
* :func:`concentration` — Gini and Theil of exposure against a random-allocation baseline.
* :func:`data_provenance` — discovered vs reported incidents overall, by area and by group;
  geocoding spikes, time heaping, dominant categories.
* :func:`ensign_urn` — the two-region feedback-loop model of Ensign et al. (2018) and its
  correction.
* :class:`~placewise.AuditPolicy` (:mod:`placewise.audit.policy`; ``AuditPolicy.default()`` is
  the policy shipped with the package), :func:`enforce`, :func:`summarize` — thresholds, and a
  recorded override when they are not met. Plans are judged by the gate of the Rust core when
  a policy is passed to :func:`placewise.allocate`.
"""

from __future__ import annotations

from ._common import CAVEAT
from ._concentration import ConcentrationAudit, area_of_cells, concentration
from ._disparity import DisparityAudit, disparity
from ._ensign import EnsignUrnResult, ensign_urn
from .policy import DEFAULT_POLICY_RESOURCE, AuditPolicy, PolicyDecision, enforce, summarize
from ._provenance import DataProvenanceAudit, data_provenance
from .feedback import FeedbackComparison, FeedbackResult, compare_mitigations, feedback

__all__ = [
    "feedback",
    "compare_mitigations",
    "FeedbackResult",
    "FeedbackComparison",
    "AuditPolicy",
    "CAVEAT",
    "DEFAULT_POLICY_RESOURCE",
    "ConcentrationAudit",
    "DataProvenanceAudit",
    "DisparityAudit",
    "EnsignUrnResult",
    "PolicyDecision",
    "area_of_cells",
    "concentration",
    "data_provenance",
    "disparity",
    "enforce",
    "ensign_urn",
    "summarize",
]

# --- audits of any system's output and of what patrols actually did
from ._targeting import BoxAccounting, TargetingAudit, targeting, targeting_summary  # noqa: E402

__all__ += ["BoxAccounting", "TargetingAudit", "targeting", "targeting_summary"]
from ._compliance import ComplianceAudit, compliance  # noqa: E402
from ._need import NeedAudit, concentration_vs_need, eb_rates  # noqa: E402

__all__ += ["ComplianceAudit", "compliance", "NeedAudit", "concentration_vs_need", "eb_rates"]
