"""Report sections that read the audit objects (disparity, concentration, feedback, run log).

Kept apart from ``sections.py`` so that the object interfaces they depend on are in one place.
"""

from __future__ import annotations

from typing import Any

from . import Section, Verdict


def disparity_section(s: Section, dis: Any, verdicts: list[Verdict], policy: Any) -> None:  # pragma: no cover - wired when audits land
    raise NotImplementedError


def concentration_section(s: Section, conc: Any, verdicts: list[Verdict], policy: Any) -> None:  # pragma: no cover
    raise NotImplementedError


def feedback_section(s: Section, fb: Any, urn: Any, verdicts: list[Verdict], policy: Any) -> None:  # pragma: no cover
    raise NotImplementedError


def run_log_section(s: Section, log: Any, verdicts: list[Verdict]) -> None:  # pragma: no cover
    raise NotImplementedError
