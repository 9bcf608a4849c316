"""Section builders for :class:`~placewise.report.AuditReport`. Each takes what the caller
supplied (possibly nothing) and returns a :class:`Section`; checks go into ``verdicts``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import DEFAULT_PROHIBITED, FRIA_ITEMS, LIMITATIONS, METHODS, Section, Verdict, figure, policy_outcome, table
from .wiring import concentration_section, disparity_section, feedback_section, policy_part, run_log_section

NOT_PROVIDED = "not provided"


def _ctx(context: dict[str, Any], key: str) -> str:
    v = context.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return NOT_PROVIDED
    if isinstance(v, (list, tuple)):
        return "; ".join(map(str, v))
    return str(v)


def decision_verdict(plan: Any, policy_applied: bool, verdicts: list[Verdict]) -> None:
    """The first row of the verdict table: the gate's decision on the plan."""
    check = "Audit-policy decision on this plan"
    d = getattr(plan, "decision", None) if plan is not None else None
    if d is None or d.status == "no_policy" or not policy_applied:
        verdicts.append(Verdict(check, "not_assessed", "no policy applied", "—",
                                "The caller chose to apply no audit policy: nothing was checked against thresholds, and "
                                "nothing could block this plan."))
        return
    name = d.policy_name or "unnamed policy"
    where = f" ({d.policy_source})" if d.policy_source else ""
    if d.status == "blocked":
        verdicts.append(Verdict(check, "fail", f"BLOCKED: {len(d.failed_checks)} failed check(s)", f"policy: {name}{where}",
                                "The plan failed the policy and nobody overrode it. It must not be deployed."))
    elif d.status == "overridden":
        o = d.override
        who = f"{o.by} at {o.at}" if o is not None else "unknown"
        verdicts.append(Verdict(check, "fail", f"OVERRIDDEN by {who}: {len(d.failed_checks)} failed check(s)",
                                f"policy: {name}{where}",
                                "The plan failed the policy; a person recorded a reason to proceed (see Human oversight)."))
    else:
        verdicts.append(Verdict(check, "pass", "passed", f"policy: {name}{where}",
                                "Every check of the policy that was run passed."))


def decision(plan: Any, policy_applied: bool) -> Section:
    s = Section("decision", "The policy decision")
    d = getattr(plan, "decision", None) if plan is not None else None
    if d is None:
        s.provided = False
        return s
    if d.status == "no_policy" or not policy_applied:
        s.paragraphs.append("No policy applied: the caller chose to run without an audit policy, so no threshold was "
                            "checked and nothing could block the plan.")
    else:
        label = {"blocked": "BLOCKED — this plan must not be deployed", "overridden": "OVERRIDDEN — deployed on a "
                 "person's recorded responsibility", "passed": "PASSED"}[d.status]
        s.facts.append(("Decision", label))
        s.facts.append(("Policy", (d.policy_name or "unnamed policy") + (f" ({d.policy_source})" if d.policy_source else "")))
        if d.failed_checks:
            s.tables.append(("Failed checks", table(pd.DataFrame({"check": d.failed_checks}))))
    if d.skipped_audits:
        s.tables.append(("Audits not checked, and why", table(pd.DataFrame(
            [{"audit": k.audit, "skipped by": "the caller" if k.by_caller else "the policy", "reason": k.reason}
             for k in d.skipped_audits]))))
    return s


def run_warnings(lines: list[str]) -> Section:
    s = Section("warnings", "What the run warned about")
    if lines:
        s.tables.append(("Warnings raised while the run was made (each once)", table(pd.DataFrame({"warning": lines}))))
    else:
        s.paragraphs.append("The run raised no warning.")
    return s


def intended_use(context: dict[str, Any]) -> Section:
    s = Section("intended-use", "Intended use and classification")
    s.paragraphs.append(
        context.get("purpose")
        or "Place-based patrol planning: estimating where incidents are likely, per grid cell, and spreading a fixed "
        "number of patrol units over those cells. No person-level risk score is computed or accepted by the tool."
    )
    s.facts += [
        ("Classification", context.get("classification") or "place-based predictive policing (areas, not individuals)"),
        ("Operator", _ctx(context, "operator")),
        ("Period of use", _ctx(context, "period_of_use")),
        ("Frequency of use", _ctx(context, "frequency")),
    ]
    prohibited = list(context.get("prohibited_uses") or []) + DEFAULT_PROHIBITED
    s.tables.append(("The tool must not be used for", table(pd.DataFrame({"prohibited use": prohibited}))))
    return s


def data(incidents: Any, provenance: Any, verdicts: list[Verdict], policy: Any, plan: Any = None) -> Section:
    s = Section("data", "Data")
    if incidents is None:
        s.provided = False
        verdicts.append(Verdict("Data quality: rows dropped as unusable", "not_assessed", "—", "≤ 5 % of rows",
                                "No incident data were supplied to the report."))
        return s
    q = incidents.quality
    span = incidents.time_span
    s.facts += [
        ("Source", incidents.source or NOT_PROVIDED),
        ("Time span", f"{span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d}" if span else "empty"),
        ("Rows read / kept", f"{q.rows_read:,} / {q.rows_kept:,}"),
        ("Coordinate reference system", f"{incidents.crs.name} (EPSG:{incidents.crs.to_epsg()})"),
        ("Time zone", incidents.tz),
    ]
    reasons = [(k.replace("_", " "), "dropped", v) for k, v in q.dropped.items() if v]
    reasons += [(k.replace("_", " "), "repaired", v) for k, v in q.repaired.items() if v]
    reasons.append(("exact duplicates (policy: " + q.duplicate_policy + ")", "counted", q.duplicate_rows))
    s.tables.append(("Rows dropped or repaired, by reason (every row read is either kept or dropped for one reason)",
                     table(pd.DataFrame(reasons, columns=["reason", "action", "rows"]))))
    from ..data import ORIGINS

    counts = np.bincount(incidents._native.origin, minlength=len(ORIGINS))
    shares = {o: float(c / max(len(incidents), 1)) for o, c in zip(ORIGINS, counts)}
    s.facts.append(("Origin of incidents", ", ".join(f"{k} {v:.1%}" for k, v in shares.items())))
    h = q.heaping
    if h:
        s.paragraphs.append(
            f"Time heaping ({h['clock']} clock): {h['share_midnight']:.2%} of incidents are recorded at exactly 00:00 "
            f"and {h['share_on_the_hour']:.1%} on the hour, against {h['expected_exact_minute']:.2%} and "
            f"{h['expected_on_the_hour']:.1%} if times were spread evenly: recorded times are partly defaults or rounded."
        )
    spikes = q.spikes
    s.paragraphs.append(
        f"Geocoding spikes: {len(spikes)} locations hold unusually many incidents ({q.spike_rule}). "
        "They may be default geocodes (a station, a block centroid) rather than real places of occurrence."
    )
    lost = q.rows_dropped - q.dropped.get("duplicate", 0)
    share_lost = lost / q.rows_read if q.rows_read else 0.0
    verdicts.append(Verdict("Data quality: rows dropped as unusable", "pass" if share_lost <= 0.05 else "fail",
                            f"{share_lost:.2%} ({lost:,} rows)", "≤ 5 % of rows",
                            "A high share of unusable rows means the map may miss places where records are poor."))
    limit = policy_part(policy, "data").get("max_discovered_share")
    disc = shares["discovered"]
    what = "Discovered incidents follow patrols; a model trained on many of them can run away."
    if shares["unknown"] >= 0.999:
        verdicts.append(Verdict("Share of police-discovered incidents in the data", "not_assessed", "origin unknown",
                                _fmt_limit(limit), "The data do not say how incidents came to police attention."))
    else:
        status, _ = policy_outcome(plan, "data")
        verdicts.append(Verdict("Share of police-discovered incidents in the data", status or "not_assessed", f"{disc:.1%}",
                                _fmt_limit(limit) if status else "not checked by a policy", what))
    if provenance is not None and hasattr(provenance, "report_facts"):
        s.facts += provenance.report_facts()
    return s


def _span(td: Any) -> str:
    """A duration in plain words ("7 days", "36 hours")."""
    td = pd.Timedelta(td)
    if td % pd.Timedelta(days=1) == pd.Timedelta(0):
        n = td.days
        return f"{n} day" + ("s" if n != 1 else "")
    return f"{td / pd.Timedelta(hours=1):g} hours"


def _fmt_limit(limit: Any) -> str:
    return "—" if limit is None else f"≤ {float(limit):.0%}"


def models(backtest: Any, verdicts: list[Verdict], skip_verdict: bool = False) -> Section:
    s = Section("models", "Models and accuracy")
    if backtest is None:
        s.provided = False
        verdicts.append(Verdict("Model beats last period's counts (PAI at 1 % coverage)", "not_assessed", "—",
                                "95 % interval of the difference above 0", "No backtest was supplied."))
        return s
    p = backtest.params
    s.paragraphs.append(
        f"Rolling-origin backtest: origins every {_span(p['step'])} from {p['start']:%Y-%m-%d} to {p['end']:%Y-%m-%d}, "
        f"training window {_span(p['train_window'])}, test window {_span(p['horizon'])}. Each model is scored against the "
        "incidents that followed each origin and compared, origin by origin, with the naive baseline (last "
        "period's counts). Intervals are percentile bootstrap intervals over origins."
    )
    summ = backtest.summary()
    summ = summ[summ["metric"].isin(["hit_rate", "pai", "pei_star"])].copy()
    summ["coverage"] = summ["coverage"].map(lambda c: f"{c:.0%}")
    s.tables.append(("Mean score over origins with 95 % interval", table(summ[["model", "metric", "coverage", "mean", "ci_low", "ci_high", "origins"]])))
    cmp = backtest.compare()
    cmp = cmp[cmp["metric"].isin(["pai", "pei_star"])].copy()
    cmp["coverage"] = cmp["coverage"].map(lambda c: f"{c:.0%}")
    s.tables.append(("Difference from the naive baseline (paired by origin)",
                     table(cmp[["model", "metric", "coverage", "mean_difference", "ci_low", "ci_high", "share_better"]])))
    import matplotlib.pyplot as plt

    if backtest.curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        backtest.plot("curves", ax=ax)
        s.figures.append(figure(fig, "Mean share of incidents captured against the share of the area flagged (up to 20 %)."))
    c1 = cmp[(cmp["metric"] == "pai") & (cmp["coverage"] == "1%")]
    if len(c1) and not skip_verdict:
        best = c1.sort_values("mean_difference", ascending=False).iloc[0]
        ok = best["ci_low"] > 0
        verdicts.append(Verdict("Model beats last period's counts (PAI at 1 % coverage)", "pass" if ok else "fail",
                                f"{best['model']}: {best['mean_difference']:+.2f} [{best['ci_low']:+.2f}, {best['ci_high']:+.2f}]",
                                "95 % interval of the difference above 0",
                                "If no model beats the naive baseline, the added complexity buys no accuracy."))
        if not ok:
            s.paragraphs.append("No model's PAI at 1 % coverage is reliably above the naive baseline's in this backtest.")
    if backtest.empty_windows:
        s.paragraphs.append(f"{len(backtest.empty_windows)} test windows held no incident and were left out of the means.")
    return s


def model_choice(selection: Any, model_used: str | None, verdicts: list[Verdict]) -> Section:
    """Which model the plan used, why, and the rolling-validation evidence for it."""
    s = Section("model-choice", "Model choice and its evidence")
    if selection is None:
        s.provided = False
        return s
    from ..selection import BASELINE

    s.paragraphs.append(selection.plain_words())
    s.facts += [("Model used for the plan", str(model_used)), ("Search's pick at the allocation time", selection.winner),
                ("Selection metric", selection.metric_name()),
                ("Candidates", f"{len(selection.candidates)} settings of {len({c.family for c in selection.candidates})} "
                               "models, and the naive baseline")]
    t = selection.table()
    s.tables.append(("Selection metric by model over the test origins (tuned = chosen per origin from earlier origins "
                     "only; difference paired by origin against the baseline)", table(t)))
    e = selection.evidence()
    cov = selection.params["coverage"]
    label = f"Model used beats last period's counts, or is them ({selection.metric_name()})"
    val = f"{e['mean_difference']:+.2f} [{e['ci_low']:+.2f}, {e['ci_high']:+.2f}] for the selection rule"
    if model_used == BASELINE:
        verdicts.append(Verdict(label, "pass", "baseline used; " + val, "95 % interval of the difference above 0",
                                "No model beat last period's counts with its whole interval above 0, so the plan uses "
                                "last period's counts themselves."))
    elif model_used == selection.chosen:
        verdicts.append(Verdict(label, "pass", f"{model_used}: " + val, "95 % interval of the difference above 0",
                                "The model used was chosen by rolling validation and beats last period's counts."))
    else:
        verdicts.append(Verdict(label, "fail", f"{model_used} (the evidence supports {selection.chosen})",
                                "95 % interval of the difference above 0",
                                "The plan uses a model the rolling validation does not support."))
    if cov is None:
        s.paragraphs.append("The selection metric is a probabilistic score, so ranking-only models could not be chosen.")
    return s


def allocation(plan: Any, areas: Any = None, area_names: str | None = None) -> Section:
    s = Section("allocation", "The allocation")
    if plan is None:
        s.provided = False
        return s
    summ = plan.summary()
    s.facts += [
        ("Strategy", summ["strategy"]),
        ("Units", _fmt(summ["budget"]["units"])),
        ("Cells patrolled", f"{summ['cells_patrolled']:,}"),
        ("Risk covered (expected incidents)", _of(summ["risk_covered"], summ["total_risk"])),
        ("Risk surface", summ["surface_model"]),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in summ["params"].items() if v is not None)),
    ]
    pof = getattr(plan, "price_of_fairness", None)
    if pof is not None:
        s.facts.append(("Price of fairness", _price_of_fairness(pof)))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    plan.plot(ax=ax)
    _readable_map(ax, plan, areas, area_names)
    s.figures.append(figure(fig, "Patrol units per cell over the risk surface (grey), with "
                                 + ("the areas' outlines." if areas is not None else "the study-region outline.")))
    return s


def _fmt(v: Any) -> str:
    from ._format import number

    return number(v) if isinstance(v, (int, float, np.floating)) else str(v)


def _of(part: Any, whole: Any) -> str:
    from ._format import of

    return of(part, whole)


def _price_of_fairness(pof: Any) -> str:
    """The price of fairness without repeating its own label."""
    if all(hasattr(pof, k) for k in ("absolute", "top_k_risk_covered", "share")):
        from ._format import number

        return (f"{number(round(float(pof.absolute), 2))} of {number(round(float(pof.top_k_risk_covered), 2))} expected "
                f"incidents covered by the unconstrained plan ({float(pof.share):.2%}) are given up for the constraint")
    text = str(pof)
    return text.split(":", 1)[1].strip() if text.lower().startswith("price of fairness:") else text


def _readable_map(ax: Any, plan: Any, areas: Any = None, area_names: str | None = None) -> None:
    """No projected-coordinate ticks; area outlines (with names when there are few) or the
    study-region outline; a scale bar."""
    from ._format import scale_bar

    grid = getattr(plan, "grid", None)
    region = getattr(grid, "region", None)
    if areas is not None and grid is not None and getattr(areas, "crs", None) is not None:
        a = areas.to_crs(grid.crs)
        a.boundary.plot(ax=ax, color="#555555", linewidth=0.4)
        if area_names is not None and area_names in a.columns and len(a) <= 40:
            for name, pt in zip(a[area_names], a.geometry.representative_point()):
                ax.annotate(str(name), (pt.x, pt.y), ha="center", va="center", fontsize=5, color="#333333")
    elif region is not None:
        try:
            region.to_geodataframe().boundary.plot(ax=ax, color="#333333", linewidth=0.8)
        except Exception:  # noqa: BLE001 - the outline is a reading aid; the map stands without it
            pass
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    scale_bar(ax)


def disparity(plan: Any, verdicts: list[Verdict], policy: Any) -> Section:
    s = Section("disparity", "Disparity: who bears the patrol exposure, and who is protected")
    audit = getattr(plan, "audit", None) if plan is not None else None
    dis = getattr(audit, "disparity", audit) if audit is not None else None
    if dis is None or not hasattr(dis, "by_group"):
        s.provided = False
        verdicts.append(Verdict("Exposure ratio between groups within the band", "not_assessed", "—", "0.8–1.25",
                                "No population data were supplied, so exposure by group could not be measured."))
        return s
    disparity_section(s, dis, verdicts, policy, plan)
    return s


def concentration(plan: Any, verdicts: list[Verdict], policy: Any = None) -> Section:
    s = Section("concentration", "Concentration of patrols")
    conc = getattr(plan, "concentration", None) if plan is not None else None
    if conc is None:
        s.provided = False
        verdicts.append(Verdict("Concentration above random allocation", "not_assessed", "—", "—",
                                "No concentration audit was supplied."))
        return s
    concentration_section(s, conc, verdicts, plan, policy)
    return s


def feedback(fb: Any, urn: Any, verdicts: list[Verdict], policy: Any) -> Section:
    s = Section("feedback", "Feedback-loop risk")
    if fb is None and urn is None:
        s.provided = False
        verdicts.append(Verdict("Feedback loop: no runaway under the planned retraining", "not_assessed", "—",
                                "no runaway", "No feedback simulation was supplied."))
        return s
    feedback_section(s, fb, urn, verdicts, policy)
    return s


def oversight(plan: Any, context: dict[str, Any]) -> Section:
    s = Section("oversight", "Human oversight")
    overrides = []
    audit = getattr(plan, "audit", None) if plan is not None else None
    for o in getattr(plan, "overrides", None) or getattr(audit, "overrides", None) or []:
        overrides.append(o if isinstance(o, dict) else getattr(o, "__dict__", {"override": str(o)}))
    s.facts.append(("Reviewer", _ctx(context, "reviewer")))
    if overrides:
        s.tables.append(("Policy overrides (who, why, when, as given)", table(pd.DataFrame(overrides).astype(str))))
    else:
        s.paragraphs.append("No audit-policy check was overridden for this allocation.")
    s.paragraphs.append(
        "An allocation that fails a policy check is blocked unless a person records a written reason to override it; "
        "every override is written to the run log."
    )
    return s


def fria(context: dict[str, Any], plan: Any) -> Section:
    s = Section("fundamental-rights", "Fundamental-rights impact")
    given = [k for k, _ in FRIA_ITEMS if context.get(k)]
    s.provided = bool(given)
    rows = [(label, _ctx(context, key)) for key, label in FRIA_ITEMS]
    s.tables.append(("Impact assessment items (answered by the deploying agency)", table(pd.DataFrame(rows, columns=["item", "answer"]))))
    if not given:
        s.paragraphs.append("The deploying agency has not answered these items; they must be answered before use.")
    return s


def run_log(log: Any, verdicts: list[Verdict]) -> Section:
    s = Section("run-log", "Run log verification")
    if log is None:
        s.provided = False
        verdicts.append(Verdict("Run log intact", "not_assessed", "—", "every record verifies", "No run log was supplied."))
        return s
    run_log_section(s, log, verdicts)
    return s


def limitations(incidents: Any) -> Section:
    s = Section("limitations", "Limitations")
    s.tables.append(("What these results cannot tell you", table(pd.DataFrame({"limitation": LIMITATIONS}))))
    return s


def methods() -> Section:
    s = Section("methods", "Methods and references")
    s.tables.append(("Methods", table(pd.DataFrame(METHODS, columns=["method", "reference"]))))
    return s


def summary(verdicts: list[Verdict], incidents: Any, plan: Any) -> list[str]:
    fails = [v for v in verdicts if v.status == "fail"]
    missing = [v for v in verdicts if v.status == "not_assessed"]
    out = []
    d = getattr(plan, "decision", None) if plan is not None else None
    if d is not None and d.status == "blocked":
        out.append(f"BLOCKED: this plan failed the audit policy ({'; '.join(d.failed_checks)}) and nobody overrode "
                   "it. It must not be deployed; it is shown here for review only.")
    elif d is not None and d.status == "overridden" and d.override is not None:
        out.append(f"OVERRIDDEN: this plan failed the audit policy and {d.override.by} recorded a reason to proceed "
                   f"({d.override.at}): {d.override.reason}")
    if incidents is not None:
        span = incidents.time_span
        out.append(f"This report covers {len(incidents):,} incidents from {span[0]:%B %Y} to {span[1]:%B %Y}"
                   + (f" and a patrol allocation made with the '{plan.strategy}' strategy." if plan is not None else "."))
    if fails:
        out.append(f"{len(fails)} of {len(verdicts)} checks failed: " + "; ".join(v.check for v in fails) + ".")
    else:
        out.append(f"No check failed among the {len(verdicts) - len(missing)} that could be assessed"
                   + (" (some of them not informative, see below)." if any(v.status == "not_informative" for v in verdicts) else "."))
    weak = [v for v in verdicts if v.status == "not_informative"]
    if weak:
        out.append(f"{len(weak)} checks could not have failed at this budget or sample and are not informative: "
                   + "; ".join(v.check for v in weak) + ".")
    if missing:
        out.append(f"{len(missing)} checks could not be assessed because their inputs were not supplied: "
                   + "; ".join(v.check for v in missing) + ".")
    out.append("Read the limitations before acting on any of these results.")
    return out
