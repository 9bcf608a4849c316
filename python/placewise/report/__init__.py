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

import base64
import datetime as dt
import html
import io
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from ..exceptions import InvalidParameterError

SCHEMA: str = _native.REPORT_SCHEMA

DEFAULT_PROHIBITED = [
    "scoring, listing or flagging individual people (placewise computes place-based risk only)",
    "stops, searches or arrests justified by a cell's risk value alone",
    "immigration enforcement or any use outside the agency's stated purpose",
    "deployment without the audit sections of this report having been read and answered",
]

LIMITATIONS = [
    "Recorded crime is not all crime: it reflects what victims report and what police find, and "
    "both vary by place. Models trained on it inherit those biases.",
    "Patrol-discovered incidents grow where patrols go; retraining on them can feed the model its own "
    "outputs (see the feedback-loop section).",
    "Population figures are survey estimates (e.g. ACS 5-year) spread to cells by area share; real "
    "populations are not uniform within areas, and sampling error is not propagated.",
    "Disparity bands such as 0.8–1.25 are conventions, not proofs of fairness or of unfairness.",
    "Accuracy figures come from past data; they do not guarantee future performance, and hotspot "
    "models often fail to beat last period's counts.",
]

METHODS = [
    ("Kernel density estimation", "Silverman (1986), Density Estimation for Statistics and Data Analysis"),
    ("Prospective hotspotting", "Bowers, Johnson & Pease (2004), British Journal of Criminology 44(5)"),
    ("Self-exciting point process", "Mohler et al. (2011, 2015), Journal of the American Statistical Association"),
    ("Hit rate, PAI", "Chainey, Tompson & Uhlig (2008), Security Journal 21"),
    ("PEI*", "Hunt (2016); Drawve (2016), Journal of Quantitative Criminology"),
    ("Recapture rate index", "Levine (2008), Security Journal 21"),
    ("Fairness-constrained allocation", "Wheeler (2019), Allocating police resources while limiting racial inequality"),
    ("Runaway feedback loops", "Ensign et al. (2018), Proceedings of FAT* 2018; Lum & Isaac (2016), Significance 13(5)"),
    ("Discovery-probability gap", "D'Amour et al. (2020), Proceedings of FAT* 2020"),
]

FRIA_ITEMS = [
    ("processes", "Processes in which the system is used"),
    ("period_and_frequency", "Period and frequency of use"),
    ("affected_groups", "Categories of people and groups likely to be affected"),
    ("risks", "Specific risks of harm to those groups"),
    ("oversight_measures", "Human oversight measures"),
    ("response", "Measures to take when risks materialise (complaints, redress, suspension)"),
]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return str(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if v is None or isinstance(v, (int, str)):
        return v
    return str(v)


def table(df: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as a report table."""
    return {"columns": [str(c) for c in df.columns], "rows": [[_json_value(v) for v in row] for row in df.itertuples(index=False)]}


def figure(fig: Any, caption: str) -> dict[str, str]:
    """A matplotlib figure as an embedded PNG (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return {"caption": caption, "data_uri": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}


@dataclass
class Section:
    id: str
    title: str
    provided: bool = True
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    figures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "provided": self.provided, "paragraphs": self.paragraphs,
                "facts": [[k, v] for k, v in self.facts], "tables": [[c, t] for c, t in self.tables], "figures": self.figures}


@dataclass
class Verdict:
    check: str
    status: str  # pass | fail | not_assessed
    value: str
    threshold: str
    explanation: str

    def to_dict(self) -> dict[str, str]:
        return self.__dict__.copy()


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
        raise InvalidParameterError(f"invalid parameter `title`: expected a string, got {type(given['title']).__name__}")
    if given["context"] is not None and not isinstance(given["context"], dict):
        raise InvalidParameterError(f"invalid parameter `context`: expected a dict, got {type(given['context']).__name__}")
    for name, attrs in needs.items():
        v = given[name]
        if v is not None and not all(hasattr(v, a) for a in attrs):
            raise InvalidParameterError(
                f"invalid parameter `{name}`: got {type(v).__name__} {v!r:.40}, which has no {' / '.join(attrs)}"
            )


def _string_list(name: str, value: Any) -> list[str]:
    """A list of strings from a string (one item, never its characters) or an iterable of them."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidParameterError(f"invalid parameter `{name}`: expected a string or a list of strings, got {value!r:.60}")


class AuditReport:
    """An audit report built from what the caller supplies.

    Parameters (all optional except ``title``): ``incidents`` (the data used), ``backtest`` (a
    :class:`~placewise.evaluate.BacktestResult`), ``plan`` (an :class:`~placewise.Allocation`,
    whose attached audits are used), ``feedback`` and ``urn`` (feedback-loop results),
    ``provenance`` (a data-provenance audit), ``run_log`` (a :class:`~placewise.RunLog`),
    ``policy`` (the :class:`~placewise.AuditPolicy` the plan was judged against), and
    ``context``: the deploying agency's own answers — ``purpose``, ``operator``,
    ``period_of_use``, ``frequency``, ``prohibited_uses``, ``reviewer`` and the
    fundamental-rights items ``processes``, ``period_and_frequency``, ``affected_groups``,
    ``risks``, ``oversight_measures``, ``response``. Missing answers are printed as "not
    provided".
    """

    def __init__(self, *, title: str = "placewise audit report", incidents: Any = None, backtest: Any = None,
                 plan: Any = None, feedback: Any = None, urn: Any = None, provenance: Any = None, run_log: Any = None,
                 policy: Any = None, context: dict[str, Any] | None = None, generated_at: str | None = None) -> None:
        self.title = title
        self.incidents = incidents
        self.backtest = backtest
        self.plan = plan
        self.feedback = feedback
        self.urn = urn
        self.provenance = provenance
        self.run_log = run_log
        self.policy = policy
        _check_inputs(title=title, incidents=incidents, backtest=backtest, plan=plan, run_log=run_log, context=context)
        self.context = dict(context or {})
        if "prohibited_uses" in self.context:
            self.context["prohibited_uses"] = _string_list("context['prohibited_uses']", self.context["prohibited_uses"])
        unknown = set(self.context) - {"purpose", "operator", "period_of_use", "frequency", "prohibited_uses", "reviewer",
                                       "classification"} - {k for k, _ in FRIA_ITEMS}
        if unknown:
            raise InvalidParameterError(f"invalid parameter `context`: unknown keys {sorted(unknown)}")
        self.generated_at = generated_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        self._doc: dict[str, Any] | None = None

    # ----------------------------------------------------------------------- assembling
    def _build(self) -> dict[str, Any]:
        from . import sections as S

        verdicts: list[Verdict] = []
        secs: list[Section] = [
            S.intended_use(self.context),
            S.data(self.incidents, self.provenance, verdicts, self.policy),
            S.models(self.backtest, verdicts),
            S.allocation(self.plan),
            S.disparity(self.plan, verdicts, self.policy),
            S.concentration(self.plan, verdicts, self.policy),
            S.feedback(self.feedback, self.urn, verdicts, self.policy),
            S.oversight(self.plan, self.context),
            S.fria(self.context, self.plan),
            S.run_log(self.run_log, verdicts),
            S.limitations(self.incidents),
            S.methods(),
        ]
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
