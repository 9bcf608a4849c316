"""Audit policy: thresholds an allocation must meet before anyone acts on it.

:meth:`AuditPolicy.default` reads the default policy shipped with the package
(``placewise/audit/policy.toml``, through :mod:`importlib.resources`; ``audits/policy.toml`` in
the repository is a copy). :meth:`AuditPolicy.from_file` reads another; keywords build one.
The policy is applied by the gate of the Rust core when you pass it to
:func:`placewise.allocate` / :func:`placewise.allocate_shifts`. :func:`enforce` checks an audit
summary alone (e.g. a feedback audit) and raises :class:`~placewise.PolicyViolation` listing
every failed check unless an override is given.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from importlib import resources

from .. import _native
from .._jsonable import dumps, jsonable
from .._override import make_override
from ..exceptions import PlacewiseWarning, PolicyViolation, param_error

#: Where the packaged default policy lives (a resource of the ``placewise.audit`` package).
DEFAULT_POLICY_RESOURCE = "placewise/audit/policy.toml"

_SECTIONS = {
    "DisparityAudit": "disparity",
    "ConcentrationAudit": "concentration",
    "DataProvenanceAudit": "data",
    "EnsignUrnResult": "feedback",
}


def summarize(*audits: Any, **sections: Any) -> dict[str, Any]:
    """An audit summary (the shape :meth:`AuditPolicy.check` reads) from audit results.

    Pass results positionally (a DisparityAudit, ConcentrationAudit, DataProvenanceAudit, an
    Ensign urn or feedback result — anything with ``.summary()`` whose class is known, or whose
    ``summary()`` holds a ``verdict``) or by section name (``disparity=``, ``concentration=``,
    ``data=``, ``feedback=``; each a result or an already-built dict).
    """
    out: dict[str, Any] = {}
    for a in audits:
        name = _SECTIONS.get(type(a).__name__)
        if name is None:
            s = a.summary() if hasattr(a, "summary") else None
            if isinstance(s, Mapping) and "verdict" in s:
                name = "feedback"
            else:
                raise param_error("audits", f"cannot tell which section a {type(a).__name__} belongs to; "
                    "pass it by name (disparity=, concentration=, data=, feedback=)"
                )
        out[name] = a
    for k, v in sections.items():
        if k not in ("disparity", "concentration", "data", "feedback"):
            raise param_error(f"{k}", f"sections are disparity, concentration, data, feedback")
        if v is not None:
            out[k] = v
    return {k: jsonable(v.summary() if hasattr(v, "summary") else v) for k, v in out.items()}


def _typed(summary: Any) -> _native.AuditSummary:
    """The core's typed summary: one already typed passes through; a dict (the run log's JSON
    form, as :func:`summarize` builds it) is read back from its JSON."""
    if isinstance(summary, _native.AuditSummary):
        return summary
    return _native.AuditSummary.from_json(dumps(_as_summary(summary)))


def _as_summary(summary: Any) -> dict[str, Any]:
    if isinstance(summary, _native.AuditSummary):
        d: dict[str, Any] = json.loads(summary.to_json())
        return d
    if isinstance(summary, Mapping):
        return jsonable(summary)
    if isinstance(summary, (list, tuple)):
        return summarize(*summary)
    return summarize(summary)


class AuditPolicy:
    """Thresholds an allocation must meet.

    Keyword construction mirrors the TOML file's sections: ``tau`` (or ``ratio_min`` /
    ``ratio_max``), ``compare_to`` ("reference" or "overall"), ``use_interval``;
    ``max_gini_over_baseline`` and ``concentration_level`` ("cells" or "areas");
    ``max_discovered_share``; ``required_feedback_verdict`` ("converges" or "not_runaway");
    ``missing_audit`` ("fail" or "skip"). A threshold left as None is not checked.

    >>> import placewise as pw
    >>> p = pw.AuditPolicy(tau=0.8, max_discovered_share=0.2)
    >>> p.check({"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.4}}, "data": {"discovered_share": 0.1}})
    ['disparity: group `B` exposure ratio to the reference group 1.400 is outside [0.800, 1.250]']
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        tau: float | None = None,
        ratio_min: float | None = None,
        ratio_max: float | None = None,
        compare_to: str = "reference",
        use_interval: bool = False,
        max_gini_over_baseline: float | None = None,
        concentration_level: str = "cells",
        max_discovered_share: float | None = None,
        required_feedback_verdict: str | None = None,
        missing_audit: str = "fail",
    ) -> None:
        spec: dict[str, Any] = {"missing_audit": missing_audit}
        if name is not None:
            spec["name"] = name
        if tau is not None:
            if ratio_min is not None or ratio_max is not None:
                raise param_error("tau", "give tau or ratio_min/ratio_max, not both")
            if isinstance(tau, bool) or not (isinstance(tau, (int, float)) and 0 < tau <= 1):
                raise param_error("tau", f"must lie in (0, 1], got {tau!r}")
            ratio_min, ratio_max = float(tau), 1.0 / float(tau)
        if ratio_min is not None or ratio_max is not None:
            if ratio_min is None or ratio_max is None:
                raise param_error("ratio_min", "give both ratio_min and ratio_max")
            spec["disparity"] = {"ratio_min": ratio_min, "ratio_max": ratio_max, "compare_to": compare_to,
                                 "use_interval": bool(use_interval)}
        if max_gini_over_baseline is not None:
            spec["concentration"] = {"max_gini_over_baseline": max_gini_over_baseline, "level": concentration_level}
        if max_discovered_share is not None:
            spec["data"] = {"max_discovered_share": max_discovered_share}
        if required_feedback_verdict is not None:
            spec["feedback"] = {"required_verdict": required_feedback_verdict}
        self._native = _native.AuditPolicy.from_json(json.dumps(spec))
        self.source: str | None = None

    @classmethod
    def _wrap(cls, native: _native.AuditPolicy, source: str | None) -> AuditPolicy:
        p = cls.__new__(cls)
        p._native = native
        p.source = source
        return p

    @classmethod
    def default(cls) -> AuditPolicy:
        """The default policy shipped with the package (read with :mod:`importlib.resources`,
        so it is found in an installed wheel as in a checkout). Its ``source`` names it."""
        text = resources.files("placewise.audit").joinpath("policy.toml").read_text(encoding="utf-8")
        source = f"{DEFAULT_POLICY_RESOURCE} (packaged default)"
        return cls._wrap(_native.AuditPolicy.from_toml(text, source), source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> AuditPolicy:
        """Reads a TOML policy file; an unknown key raises ``InvalidParameterError`` naming it."""
        return cls._wrap(_native.AuditPolicy.from_file(os.fspath(path)), os.fspath(path))

    @classmethod
    def from_toml(cls, text: str, source: str | None = None) -> AuditPolicy:
        return cls._wrap(_native.AuditPolicy.from_toml(text, source), source)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = json.loads(self._native.to_json())
        return d

    @property
    def name(self) -> str | None:
        return self._native.name

    @property
    def label(self) -> str:
        """The policy's name and where it came from, for reports and messages."""
        parts = [self.name or "unnamed policy"]
        if self.source:
            parts.append(f"from {self.source}")
        return " ".join(parts)

    def check(self, summary: Any) -> list[str]:
        """The failed checks (plain sentences); empty when ``summary`` passes.

        ``summary`` is the core's typed ``AuditSummary`` (``allocation.audit_summary`` of a
        gated plan), a dict as built by :func:`summarize`, an audit result, or a list of them.
        """
        return list(self._native.check(_typed(summary)))

    def missing(self, summary: Any) -> list[str]:
        """Sections of the policy whose audit ``summary`` lacks."""
        return list(self._native.missing(_typed(summary)))

    def __repr__(self) -> str:
        return f"AuditPolicy({self.to_dict()})"


@dataclass
class PolicyDecision:
    """What :func:`enforce` decided, for the run log: the checks that failed, the sections that
    were not audited, and the override (reason and time) when one was needed."""

    passed: bool
    failed_checks: list[str]
    skipped_sections: list[str]
    overridden: bool
    override_reason: str | None
    override_by: str | None
    policy: dict[str, Any]
    policy_source: str | None
    decided_at_utc: str
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def enforce(policy: AuditPolicy, summary: Any, override_reason: str | None = None,
            override_by: str | None = None) -> PolicyDecision:
    """Checks an audit ``summary`` (not a plan: plans go through the gate of
    :func:`placewise.allocate`) against ``policy``.

    Raises :class:`~placewise.PolicyViolation` (``.failed_checks`` lists each failed check)
    unless ``override_reason`` gives a written justification of at least 10 visible characters
    (the same typed override record as the gate, with ``override_by``, default the system user);
    returns the :class:`PolicyDecision` to record. Sections of the policy that the summary lacks
    are warned about when the policy skips them.
    """
    if not isinstance(policy, AuditPolicy):
        raise param_error("policy", f"expected an AuditPolicy, got {type(policy).__name__}")
    record = make_override(override_reason, override_by)
    s = _as_summary(summary)
    failed = policy.check(s)
    missing = policy.missing(s)
    skipped = [m for m in missing if not any(f.startswith(m + ":") for f in failed)]
    if skipped:
        warnings.warn(f"audit policy: not audited, so not checked: {', '.join(skipped)}", PlacewiseWarning, stacklevel=2)
    if failed and record is None:
        err = PolicyViolation("audit policy violated: " + "; ".join(failed))
        err.checks = err.failed_checks = failed
        err.blocked = None
        raise err
    return PolicyDecision(
        passed=not failed,
        failed_checks=failed,
        skipped_sections=skipped,
        overridden=bool(failed),
        override_reason=record.reason if failed and record is not None else None,
        override_by=record.by if failed and record is not None else None,
        policy=policy.to_dict(),
        policy_source=policy.source,
        decided_at_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        summary=s,
    )



__all__ = ["AuditPolicy", "DEFAULT_POLICY_RESOURCE", "PolicyDecision", "enforce", "summarize"]
