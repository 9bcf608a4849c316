"""Audit reports: one schema-versioned JSON document, rendered to self-contained HTML and to
Markdown.

:class:`AuditReport` gathers whatever the caller supplies — incidents, a backtest, an
allocation and its audits, feedback simulations, a run log, the deploying agency's answers on
intended use and fundamental-rights impact — into sections an oversight body can read without
knowing Rust or Python. Anything not supplied is shown as *not provided* and any check that
could not be made is *not assessed*, never a silent pass. The document is checked against the
schema in the Rust core (``src/report``) before it is written.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from typing import Any

import pandas as pd

from .. import _native
from ..exceptions import param_error

from . import sections as S
from .crosswalk import crosswalk_section, need_section
from ._base import DEFAULT_PROHIBITED, FRIA_ITEMS, LIMITATIONS, METHODS, Section, Verdict, _fmt, figure, table

SCHEMA: str = _native.REPORT_SCHEMA

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def md_escape(v: Any) -> str:
    """Text made inert for Markdown tables, headings and paragraphs: line breaks become spaces
    (a title cannot start a new section or table row), ``|`` cannot shift columns, and HTML and
    Markdown syntax (``<script>``, ``**``, ``[link](…)``, ``#``) is shown, not interpreted."""
    text = " ".join(str(v).split()).translate(_MD_SPECIAL)
    # a leading list or block marker ("- x", "+ x", "> x" is already &gt;, "1. x") stays text
    if text[:1] in ("-", "+", "=") or (text[:1].isdigit() and text.split(" ", 1)[0].rstrip("0123456789") in (".", ")")):
        text = "\\" + text if not text[:1].isdigit() else text.replace(".", "\\.", 1).replace(")", "\\)", 1)
    return text


def _env(markdown: bool = False) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("placewise.report", "templates"),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # every value printed into the Markdown template is escaped (the template's own
        # Markdown is not: it is not a value)
        finalize=md_escape if markdown else None,
    )
    env.filters["fmt"] = _fmt
    return env


def _check_inputs(**given: Any) -> None:
    """Each input is of the kind the report reads (checked by the attributes it uses), so that a
    wrong argument is a placewise error naming it, not an AttributeError deep in rendering."""
    needs = {"incidents": ("quality", "time_span"), "backtest": ("params",), "plan": ("summary", "dose"),
             "run_log": ("verify",)}
    if not isinstance(given["title"], str):
        raise param_error("title", f"expected a string, got {type(given['title']).__name__}")
    if given["context"] is not None and not isinstance(given["context"], dict):
        raise param_error("context", f"expected a dict, got {type(given['context']).__name__}")
    for name, attrs in needs.items():
        v = given[name]
        if v is not None and not all(hasattr(v, a) for a in attrs):
            raise param_error(name, f"got {type(v).__name__} {v!r:.40}, which has no {' / '.join(attrs)}")


def _string_list(name: str, value: Any) -> list[str]:
    """A list of strings from a string (one item, never its characters) or an iterable of them."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise param_error(name, f"expected a string or a list of strings, got {value!r:.60}")


class AuditReport:
    """An audit report built from what the caller supplies.

    Parameters (all optional except ``title``): ``incidents`` (the data used), ``backtest`` (a
    :class:`~placewise.evaluate.BacktestResult`), ``plan`` (an :class:`~placewise.Allocation`,
    whose attached audits are used), ``feedback`` and ``urn`` (feedback-loop results),
    ``provenance`` (a data-provenance audit), ``run_log`` (a :class:`~placewise.RunLog`),
    ``policy`` (the :class:`~placewise.AuditPolicy` the plan was judged against; the verdicts
    read the plan's ``decision``, they are never recomputed here), ``policy_applied`` (False
    when the caller chose to apply no policy: the first verdict row then says "no policy
    applied"), ``run_warnings`` (the warnings the run raised, shown in "What the run warned
    about"),
    ``selection`` (a :class:`~placewise.selection.SelectionResult`) with ``model_used`` (the label
    of the model the plan was built with: "Model choice and its evidence"), and
    ``context``: the deploying agency's own answers — ``purpose``, ``operator``,
    ``period_of_use``, ``frequency``, ``prohibited_uses``, ``reviewer`` and the
    fundamental-rights items ``processes``, ``period_and_frequency``, ``affected_groups``,
    ``risks``, ``oversight_measures``, ``response``. Missing answers are printed as "not
    provided". ``deployment`` (a :class:`~placewise.report.crosswalk.DeploymentRecord` or the
    path of its TOML file) fills the crosswalk to oversight instruments; ``need`` (a
    :class:`~placewise.audit.NeedAudit`) adds the area-level check against need; ``dosage``
    (actual patrol dosage, e.g. a :class:`~placewise.audit.ComplianceAudit`) marks the LAPD OIG
    dosage check as met. ``areas`` (a GeoDataFrame; ``area_names`` its name column) are
    outlined on the maps.
    """

    def __init__(self, *, title: str = "placewise audit report", incidents: Any = None, backtest: Any = None,
                 plan: Any = None, feedback: Any = None, urn: Any = None, provenance: Any = None, run_log: Any = None,
                 policy: Any = None, context: dict[str, Any] | None = None, generated_at: str | None = None,
                 deployment: Any = None, need: Any = None, dosage: Any = None, areas: Any = None,
                 area_names: str | None = None, policy_applied: bool | None = None,
                 run_warnings: list[str] | None = None,
                 selection: Any = None, model_used: str | None = None) -> None:
        self.title = title
        self.selection = selection
        self.model_used = model_used
        self.incidents = incidents
        self.backtest = backtest
        self.plan = plan
        self.feedback = feedback
        self.urn = urn
        self.provenance = provenance
        self.run_log = run_log
        self.policy = policy
        _check_inputs(title=title, incidents=incidents, backtest=backtest, plan=plan, run_log=run_log, context=context)
        self.policy_applied = policy is not None if policy_applied is None else bool(policy_applied)
        self.run_warnings = [str(w) for w in (run_warnings or [])]
        self.context = dict(context or {})
        # oversight: the deployer's record (crosswalk), concentration against need, actual dosage
        if isinstance(deployment, (str, os.PathLike)):
            from .crosswalk import DeploymentRecord

            deployment = DeploymentRecord.from_toml(deployment)
        self.deployment = deployment
        self.need = need
        self.dosage = dosage
        self.areas = areas  # polygons drawn (with names, when few) on the maps
        self.area_names = area_names
        if "prohibited_uses" in self.context:
            self.context["prohibited_uses"] = _string_list("context['prohibited_uses']", self.context["prohibited_uses"])
        unknown = set(self.context) - {"purpose", "operator", "period_of_use", "frequency", "prohibited_uses", "reviewer",
                                       "classification"} - {k for k, _ in FRIA_ITEMS}
        if unknown:
            raise param_error("context", f"unknown keys {sorted(unknown)}")
        self.generated_at = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        self._doc: dict[str, Any] | None = None

    # ----------------------------------------------------------------------- assembling
    def _build(self) -> dict[str, Any]:
        verdicts: list[Verdict] = []
        S.decision_verdict(self.plan, self.policy_applied, verdicts)
        secs: list[Section] = [
            S.decision(self.plan, self.policy_applied),
            S.intended_use(self.context),
            S.data(self.incidents, self.provenance, verdicts, self.policy, self.plan),
            S.models(self.backtest, verdicts, skip_verdict=self.selection is not None),
            S.model_choice(self.selection, self.model_used, verdicts),
            S.allocation(self.plan, self.areas, self.area_names),
            S.disparity(self.plan, verdicts, self.policy),
            S.concentration(self.plan, verdicts, self.policy),
            need_section(self.need, verdicts),
            S.feedback(self.feedback, self.urn, verdicts, self.policy),
            S.oversight(self.plan, self.context),
            S.fria(self.context, self.plan),
            S.run_log(self.run_log, verdicts),
            S.run_warnings(self.run_warnings),
            S.limitations(self.incidents),
            S.methods(),
        ]
        present = {sec.id: sec.provided for sec in secs}
        present["dosage"] = self.dosage is not None
        secs.insert(len(secs) - 2, crosswalk_section(self.deployment, present, verdicts))
        summary = S.summary(verdicts, self.incidents, self.plan)
        doc = {
            "schema": SCHEMA,
            "title": self.title,
            "generated_at": self.generated_at,
            "library_version": _native.__version__,
            "summary": summary,
            "verdicts": [v.to_dict() for v in verdicts],
            "sections": [s.to_dict() for s in secs],
        }
        return json.loads(_native.report_normalise(json.dumps(doc)))

    @property
    def document(self) -> dict[str, Any]:
        """The report as a schema-checked dict (built once)."""
        if self._doc is None:
            self._doc = self._build()
        return self._doc

    @property
    def verdicts(self) -> pd.DataFrame:
        return pd.DataFrame(self.document["verdicts"])

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        text = json.dumps(self.document, indent=2)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML page (styles and figures inline; no network access needed)."""
        text = _env().get_template("report.html.j2").render(r=self.document)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_markdown(self, path: str | os.PathLike[str] | None = None) -> str:
        text = _env(markdown=True).get_template("report.md.j2").render(r=self.document)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def _repr_html_(self) -> str:
        d = self.document
        rows = "".join(
            f"<tr><td>{html.escape(v['check'])}</td><td>{html.escape(v['status'].replace('_', ' '))}</td>"
            f"<td>{html.escape(v['value'])}</td></tr>" for v in d["verdicts"]
        )
        return (f"<div><b>{html.escape(d['title'])}</b><p>{html.escape(' '.join(d['summary']))}</p>"
                f"<table><tr><th>check</th><th>result</th><th>measured</th></tr>{rows}</table>"
                "<p>Use <code>to_html(path)</code> for the full report.</p></div>")

    def __repr__(self) -> str:
        d = self.document
        counts = pd.Series([v["status"] for v in d["verdicts"]]).value_counts().to_dict()
        return f"<AuditReport {d['title']!r}: {len(d['sections'])} sections, verdicts {counts}>"


__all__ = ["AuditReport", "SCHEMA", "table", "figure"]
