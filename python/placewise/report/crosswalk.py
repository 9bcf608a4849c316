"""The deployment record (a TOML file the deploying agency fills in) and the crosswalk section:
item by item, what each oversight instrument asks and where the report answers it, or "not
provided". Also the LAPD Inspector General's lessons (dosage, written procedures, training,
evaluation design) as checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..exceptions import param_error
from ._base import Section, Verdict, table
from ._format import relabel

NOT_PROVIDED = "not provided"

# key → what the deploying agency is asked to write
FIELDS: dict[str, str] = {
    "system": "Name and vendor of the system audited",
    "owner": "Organisation and role responsible for the system",
    "contact": "Contact point for questions and complaints",
    "website": "Where the public can read about the system",
    "purpose": "Why the system is used, and the decision it informs",
    "processes": "The processes in which the system is used",
    "period_and_frequency": "Period and frequency of use",
    "areas_covered": "Where it is used (police areas, beats, districts)",
    "affected_groups": "Categories of people and groups likely to be affected",
    "risks": "Specific risks of harm to those groups",
    "oversight_measures": "Human oversight measures",
    "response": "Measures when risks materialise (internal governance, complaints, redress, suspension)",
    "classification": "The classification the deployer claims under the EU AI Act (high-risk or not, and why)",
    "written_procedures": "Written procedures for officers (what to do in a predicted place, for how long)",
    "training": "Training given to officers and analysts",
    "evaluation_design": "How effect is evaluated (comparison areas, randomisation, outcome measures)",
    "data_sources": "Data the system uses and where they come from",
    "data_retention": "How long inputs and outputs are kept",
    "data_sharing": "External entities with access to the data or outputs",
    "security": "Safeguards and security measures",
    "public_access": "How the public can obtain information about the system",
    "complaints": "Complaints received about the system in the period",
    "audits_and_violations": "Internal audits and violations of the use policy found",
    "effectiveness": "Evidence of benefit (and its source)",
    "costs": "Costs (licence, staff, equipment) and funding source",
    "public_records_requests": "Public records requests received about the system",
    "health_and_safety": "Potential health and safety effects",
}


@dataclass(frozen=True)
class DeploymentRecord:
    """The deploying agency's own answers, read from a TOML file with a ``[deployment]`` table
    (keys in :data:`FIELDS`; unknown keys raise, naming them). Every missing answer prints as
    "not provided"."""

    answers: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> DeploymentRecord:
        import tomllib

        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except OSError as e:
            raise param_error("path", f"the deployment record {os.fspath(path)!r} could not be read ({e.strerror})") from None
        except tomllib.TOMLDecodeError as e:
            raise param_error("path", f"the deployment record is not valid TOML ({e})") from None
        return cls.from_dict(doc.get("deployment", doc), source=os.path.basename(os.fspath(path)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str | None = None) -> DeploymentRecord:
        unknown = sorted(set(d) - set(FIELDS))
        if unknown:
            raise param_error(f"deployment.{unknown[0]}", f"unknown keys {unknown} in the deployment record; known keys: "
                                                         f"{', '.join(FIELDS)}")
        out = {}
        for k, v in d.items():
            if isinstance(v, (list, tuple)):
                for i, item in enumerate(v):
                    if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                        raise param_error(f"deployment.{k}", f"item {i} must be text, got {type(item).__name__}")
                v = "; ".join(map(str, v))
            if not isinstance(v, (str, int, float)):
                raise param_error(f"deployment.{k}", f"must be text or a list of texts, got {type(v).__name__}")
            if str(v).strip():
                out[k] = str(v).strip()
        return cls(answers=out, source=source)

    def get(self, key: str) -> str:
        return self.answers.get(key, NOT_PROVIDED)

    @staticmethod
    def template() -> str:
        """A TOML template with every key, to fill in."""
        lines = ["# placewise deployment record: the deploying agency's answers (leave a key out if unknown)", "[deployment]"]
        lines += [f'# {v}\n{k} = ""' for k, v in FIELDS.items()]
        return "\n".join(lines) + "\n"


# (instrument, item, what it asks, where the report answers, deployment-record key or None)
CROSSWALK: list[tuple[str, str, str, str, str | None]] = [
    ("EU AI Act Art. 27(1)", "(a)", "The deployer's processes in which the system is used", "Intended use; deployment record", "processes"),
    ("EU AI Act Art. 27(1)", "(b)", "Period and frequency of use", "Deployment record", "period_and_frequency"),
    ("EU AI Act Art. 27(1)", "(c)", "Categories of people and groups likely to be affected", "Disparity section; deployment record", "affected_groups"),
    ("EU AI Act Art. 27(1)", "(d)", "Specific risks of harm to those categories", "Disparity, concentration and feedback sections; deployment record", "risks"),
    ("EU AI Act Art. 27(1)", "(e)", "Human oversight measures", "Human oversight section; deployment record", "oversight_measures"),
    ("EU AI Act Art. 27(1)", "(f)", "Measures when risks materialise: governance and complaints", "Deployment record", "response"),
    ("EU AI Act Art. 12", "logging", "Automatic recording of events over the system's lifetime", "Run log verification section", None),
    ("UK ATRS tier 1", "summary", "Name, description, how and why it is used, contact, website", "Intended use; deployment record", "contact"),
    ("UK ATRS tier 2", "1 Owner and responsibility", "Who owns the tool and answers for it", "Deployment record", "owner"),
    ("UK ATRS tier 2", "2 Description and rationale", "What the tool does and why it is used", "Intended use", "purpose"),
    ("UK ATRS tier 2", "3 Decision-making process", "How the tool's output enters decisions; human oversight", "Human oversight section", "oversight_measures"),
    ("UK ATRS tier 2", "4 Tool and data specification", "Model, data sources, retention", "Models and data sections; deployment record", "data_sources"),
    ("UK ATRS tier 2", "5 Risks, mitigations and impact assessments", "Risks, mitigations, impact assessments", "Audit sections; fundamental-rights items", "risks"),
    ("NYPD POST Act", "capabilities", "Description of the technology's capabilities", "Intended use; models section", "purpose"),
    ("NYPD POST Act", "rules and guidelines", "Rules, processes and guidelines for use", "Deployment record", "written_procedures"),
    ("NYPD POST Act", "safeguards", "Safeguards and security measures", "Deployment record", "security"),
    ("NYPD POST Act", "data retention", "Policies on retention of data", "Deployment record", "data_retention"),
    ("NYPD POST Act", "access", "Public access to information", "Deployment record", "public_access"),
    ("NYPD POST Act", "external entities", "Sharing with external entities", "Deployment record", "data_sharing"),
    ("NYPD POST Act", "training", "Training required", "Deployment record", "training"),
    ("NYPD POST Act", "internal audit and oversight", "Internal audit and oversight mechanisms", "This report; deployment record", "audits_and_violations"),
    ("NYPD POST Act", "health and safety", "Potential health and safety effects", "Deployment record", "health_and_safety"),
    ("NYPD POST Act", "disparate impacts", "Potential disparate impacts of the impact-and-use policy", "Disparity and targeting sections", None),
    ("Oakland annual surveillance report", "use", "How the technology was used", "Intended use; deployment record", "processes"),
    ("Oakland annual surveillance report", "geographic deployment", "Where it was deployed, by police area", "Allocation map; dosage by area; deployment record", "areas_covered"),
    ("Oakland annual surveillance report", "data sharing", "Whether data were shared with outside entities", "Deployment record", "data_sharing"),
    ("Oakland annual surveillance report", "complaints", "Complaints received", "Deployment record", "complaints"),
    ("Oakland annual surveillance report", "audits and violations", "Internal audits and violations found", "Deployment record", "audits_and_violations"),
    ("Oakland annual surveillance report", "effectiveness", "Whether the technology met its goals", "Models and accuracy section; deployment record", "effectiveness"),
    ("Oakland annual surveillance report", "public records requests", "Public records requests received", "Deployment record", "public_records_requests"),
    ("Oakland annual surveillance report", "costs", "Annual costs and funding source", "Deployment record", "costs"),
    ("NIST AI RMF", "MEASURE 2.11", "Fairness and bias are evaluated and the results documented", "Disparity, concentration and targeting sections", None),
]

EU_CLASSIFICATION_CAVEAT = (
    "EU AI Act Annex III point 6(d) lists systems that assess the risk of a natural person offending; purely "
    "place-based prediction may fall outside Annex III (and Art. 5(1)(d) prohibits only individual predictive "
    "policing based solely on profiling). This report does not decide the classification; it states the one the "
    "deployer claims."
)


CROSSWALK_COLUMNS = ("instrument", "item", "what it asks", "answered in", "deployer's answer", "status")


def crosswalk_rows(record: DeploymentRecord | None, present: Mapping[str, bool]) -> list[tuple[str, ...]]:
    """One row per instrument item (:data:`CROSSWALK_COLUMNS`): the deployer's answer, or
    whether a section of this report (``present``: section id → holds content) answers it."""
    rec = record or DeploymentRecord()
    rows: list[tuple[str, ...]] = []
    for inst, item, asks, where, key in CROSSWALK:
        if key is None:
            sec = {"EU AI Act Art. 12": "run-log", "NYPD POST Act": "disparity", "NIST AI RMF": "disparity"}.get(inst, "")
            status = "answered in this report" if present.get(sec, False) else NOT_PROVIDED
            answer = "—"
        else:
            answer = rec.get(key)
            status = "answered" if answer != NOT_PROVIDED else NOT_PROVIDED
        rows.append((inst, item, asks, where, answer, status))
    return rows


def crosswalk_page_parts(record: DeploymentRecord, present: Mapping[str, bool]) -> tuple[list[str], list[str], list[list[str]]]:
    """(paragraphs, table head, table rows) of the crosswalk for the plain pages (the dosage
    report, the targeting datasheets' crosswalk file)."""
    paras = [f"Deployment record: {record.source or 'given in code'}. Classification claimed by the deployer: "
             f"{record.get('classification')}.", EU_CLASSIFICATION_CAVEAT,
             "Each row is one item an instrument asks for; items the agency has not answered read 'not provided'."]
    return paras, list(CROSSWALK_COLUMNS), [list(r) for r in crosswalk_rows(record, present)]


def crosswalk_section(record: DeploymentRecord | None, present: Mapping[str, bool], verdicts: list[Any]) -> Any:
    """The crosswalk section. ``present`` says which report sections hold content (section
    ids → provided); LAPD OIG lessons are appended to ``verdicts``."""

    rec = record or DeploymentRecord()
    s = Section("crosswalk", "What oversight instruments ask, and where this report answers")
    s.provided = record is not None
    s.paragraphs.append(
        "Each row is one item an instrument asks for. 'Answered in' names the section of this report or the deployment "
        "record (a TOML file the deploying agency fills in; see DeploymentRecord.template()). Items the agency has not "
        "answered read 'not provided'; they must be answered before the report is relied on."
    )
    s.facts.append(("Classification claimed by the deployer", rec.get("classification")))
    s.paragraphs.append(EU_CLASSIFICATION_CAVEAT)
    rows = crosswalk_rows(record, present)
    s.tables.append(("Crosswalk", table(pd.DataFrame(rows, columns=list(CROSSWALK_COLUMNS)))))
    # LAPD Office of the Inspector General (2019) lessons, as checks
    dosage = present.get("dosage", False)
    verdicts.append(Verdict("Dosage recorded: time officers actually spent in the predicted places",
                            "pass" if dosage else "not_assessed", "dosage audit supplied" if dosage else "no dosage data",
                            "minutes per place recorded", "Without dosage an effect cannot be measured (LAPD OIG 2019)."))
    for key, check in (("written_procedures", "Written procedures for what officers do in predicted places"),
                       ("training", "Training of officers and analysts recorded"),
                       ("evaluation_design", "An evaluation design that can measure effect")):
        given = rec.get(key) != NOT_PROVIDED
        status = "pass" if given else ("fail" if record is not None else "not_assessed")
        verdicts.append(Verdict(check, status, "recorded" if given else NOT_PROVIDED,
                                "stated in the deployment record", "A lesson of the LAPD Inspector General's 2019 review."))
    s.tables.append(("Deployment record", table(pd.DataFrame([(v, rec.get(k)) for k, v in FIELDS.items()],
                                                              columns=["item", "answer"]))))
    return s


def need_section(need: Any, verdicts: list[Any]) -> Any:
    """Concentration of patrol against need per area (a check that can fail, with its power)."""
    from ..audit._need import METHOD, VERDICT_WORDS

    s = Section("need", "Concentration of patrol against need, by area")
    if need is None:
        s.provided = False
        verdicts.append(Verdict("Patrol no more concentrated than need (areas)", "not_assessed", "—",
                                "p > 0.05 with a check able to fail", "No area-level check against need was supplied."))
        return s
    s.paragraphs.append(need.statement())
    if "cell_gini" in need.context:
        s.paragraphs.append(f"Context only: the Gini of patrol across grid cells is {need.context['cell_gini']:.3f}; on a "
                            "large grid almost any small budget is near 1, so it is not used as a check.")
    s.paragraphs.append(METHOD)
    t = need.table.copy()
    keep = [c for c in ("area", "patrol", "need", "patrol_share", "need_share", "population",
                        "patrol_per_1000_residents", "patrol_per_1000_residents_smoothed") if c in t.columns]

    t = t[keep].rename(columns={"patrol": need.patrol_label, "need": need.need_label,
                                "patrol_share": "share of patrol", "need_share": f"share of {need.need_label}",
                                "population": "residents", "patrol_per_1000_residents": "patrol per 1,000 residents",
                                "patrol_per_1000_residents_smoothed": "patrol per 1,000 residents (smoothed)"})
    s.tables.append(("Patrol and need by area", table(relabel(t))))
    status = {"pass": "pass", "fail": "fail", "not_informative": "not_informative"}[need.verdict]
    verdicts.append(Verdict("Patrol no more concentrated than need (areas)", status,
                            f"index {need.index:.3f}; detectable ≥ {need.critical_value:.3f}; p = {need.p_value:.3f}",
                            f"p > {1 - need.confidence:.2f}, detectable within {need.max_mde:.0%} of the range",
                            VERDICT_WORDS[need.verdict].capitalize() + "."))
    return s


__all__ = ["DeploymentRecord", "FIELDS", "CROSSWALK", "crosswalk_section", "need_section"]
