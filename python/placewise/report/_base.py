"""Building blocks of the report shared by its modules: the section and verdict records, tables
and figures, and the fixed texts. Kept apart so that ``sections`` and ``wiring`` import them
without importing the package that imports them (no import circle)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

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



def policy_outcome(plan: Any, audit: str) -> tuple[str | None, list[str]]:
    """What the plan's decision says about one audit: ("fail", its failed checks), ("pass", [])
    when the policy checked it, or (None, []) when no policy checked it (none applied, the audit
    skipped, or not in the policy). Read from the decision, never recomputed."""
    d = getattr(plan, "decision", None) if plan is not None else None
    if d is None or d.status == "no_policy":
        return None, []
    failed = [f for f in d.failed_checks if f.startswith(audit + ":")]
    if failed:
        return "fail", failed
    if any(k.audit == audit for k in d.skipped_audits):
        return None, []
    summ = getattr(plan, "audit_summary", None)
    present = {
        "disparity": summ is not None and summ.ratio_to_reference is not None,
        "concentration": summ is not None and summ.cells_gini_over_baseline is not None,
        "data": summ is not None and summ.discovered_share is not None,
        "feedback": summ is not None and summ.feedback_verdict is not None,
    }
    return ("pass", []) if present.get(audit) else (None, [])


__all__ = ["DEFAULT_PROHIBITED", "FRIA_ITEMS", "LIMITATIONS", "METHODS", "Section", "Verdict", "figure", "policy_outcome", "table"]
