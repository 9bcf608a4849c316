"""Audits of patrol allocations and of the data behind them.

* :func:`disparity` — who bears the exposure (per-group exposure per capita, ratios with
  bootstrap intervals, band verdicts) and who gets the protection.
* :func:`concentration` — Gini and Theil of exposure against a random-allocation baseline.
* :func:`data_provenance` — discovered vs reported incidents overall, by area and by group;
  geocoding spikes, time heaping, dominant categories.
* :func:`ensign_urn` — the two-region feedback-loop model of Ensign et al. (2018) and its
  correction.
* :class:`~placewise.AuditPolicy`, :func:`enforce`, :func:`summarize` — thresholds, and a
  recorded override when they are not met.
"""

from __future__ import annotations

from ..policy import AuditPolicy, PolicyDecision, enforce, summarize
from ._common import CAVEAT
from ._concentration import ConcentrationAudit, area_of_cells, concentration
from ._disparity import DisparityAudit, disparity
from ._ensign import EnsignUrnResult, ensign_urn
from ._provenance import DataProvenanceAudit, data_provenance
from .feedback import FeedbackComparison, FeedbackResult, compare_mitigations, feedback

__all__ = [
    "feedback",
    "compare_mitigations",
    "FeedbackResult",
    "FeedbackComparison",
    "AuditPolicy",
    "CAVEAT",
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
