"""The feedback simulator moved to :mod:`placewise.audit.feedback`; ``placewise.feedback``
stays importable with the same public names."""

from __future__ import annotations

from .audit.feedback import TRAINING, FeedbackComparison, FeedbackResult, compare_mitigations, feedback

__all__ = ["feedback", "compare_mitigations", "FeedbackResult", "FeedbackComparison", "TRAINING"]
