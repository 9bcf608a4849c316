"""Report sections that read the audit objects (disparity, concentration, feedback, run log).

Kept apart from ``sections.py`` so that the object interfaces they depend on are in one place:
:class:`~placewise.audit.DisparityAudit` (``by_group``, ``reference``, ``tau``),
:class:`~placewise.audit.ConcentrationAudit` (``table``, ``baseline``),
:class:`~placewise.feedback.FeedbackComparison` / ``FeedbackResult``,
:class:`~placewise.audit.EnsignUrnResult` and :class:`~placewise.RunLog`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..exceptions import LogVerificationError
from ._base import Section, Verdict, figure, policy_outcome, table


def policy_part(policy: Any, name: str) -> dict[str, Any]:
    """One section of an AuditPolicy as a dict (empty without a policy or section)."""
    if policy is None:
        return {}
    part = policy.to_dict().get(name)
    return dict(part) if isinstance(part, dict) else {}


def _band(dis: Any, policy: Any) -> tuple[float, float, str]:
    """The band shown (the policy's when it sets one, else the audit's τ): for display only,
    verdicts come from the decision and the audit."""
    d = policy_part(policy, "disparity")
    lo = float(d.get("ratio_min", dis.tau))
    hi = float(d.get("ratio_max", 1 / dis.tau))
    return lo, hi, d.get("compare_to", "reference")


def disparity_section(s: Section, dis: Any, verdicts: list[Verdict], policy: Any, plan: Any = None) -> None:
    lo, hi, compare_to = _band(dis, policy)
    col = "ratio_to_overall" if compare_to == "overall" else "ratio_to_reference"
    against = "the whole population's rate" if compare_to == "overall" else f"the reference group ({dis.reference})"
    bg = dis.by_group
    s.paragraphs.append(
        f"Exposure per capita is the patrol dose where a group's members live, averaged over the group "
        f"(Σ_cells dose × people of the group in the cell ÷ people of the group). Each group's rate is compared with "
        f"{against}; the band is {lo:.2f}–{hi:.2f}. Intervals are percentile bootstrap intervals with grid cells as the "
        "resampling unit. Such bands are conventions for flagging, not proofs of fairness or unfairness."
    )
    t = pd.DataFrame({
        "group": bg.index.astype(str),
        "people": bg["population"].round(0),
        "population share": bg["population_share"],
        "exposure share": bg["exposure_share"],
        "ratio": bg[col],
        "ratio 95 % low": bg[f"{col}_low"],
        "ratio 95 % high": bg[f"{col}_high"],
        "verdict (audit band)": bg["verdict"].astype(str),
        "smallest detectable ratio below parity": bg[f"detectable_{col}_below"],
        "smallest detectable ratio above parity": bg[f"detectable_{col}_above"],
        "share of its incidents covered": bg["protection"],
    })
    s.tables.append(("Patrol exposure and protection by group", table(t)))
    s.paragraphs.append(
        "The last column is the protection side: the share of the (expected) incidents in each group's cells that "
        "the allocation covers. Being under-protected is a disparity too."
    )
    which = "overall" if compare_to == "overall" else "reference"
    s.paragraphs.append(
        "Power of this check: the two 'smallest detectable ratio' columns are the ratios nearest parity that this "
        "budget and sample could tell apart from parity (the ratio divided by the ends of its interval). When a ratio "
        "at the band edge could not have been told apart from parity, a result inside the band is 'not informative "
        "at this budget', not a pass. In short: " + dis.power_statement(which)
    )
    status, failed = policy_outcome(plan, "disparity")
    if status is None:
        # No policy checked disparity: report the audit's own verdicts (computed in the core
        # against its band [tau, 1/tau]).
        outside = list(dis.outside_band)
        status = "fail" if outside else "pass"
        value = "; ".join(f"{g} {bg.loc[g, 'ratio_to_reference']:.3f}" for g in outside) or "all groups within the audit band"
        threshold = f"{dis.band[0]:.2f}–{dis.band[1]:.2f} (audit band; no policy checked it)"
    else:
        value = "; ".join(f.removeprefix("disparity: ") for f in failed) or (
            f"all groups within (range {t['ratio'].min():.3f}–{t['ratio'].max():.3f})")
        threshold = f"{lo:.2f}–{hi:.2f}"
    explanation = "Groups outside the band carry much more (or much less) patrol per person than the comparison."
    if status == "pass" and dis.check(which) == "not_informative":
        # computed in the core: no group outside the band, but the check could not have failed
        status = "not_informative"
        explanation = "Not informative at this budget: " + dis.power_statement(which).split(": ", 1)[1]
    verdicts.append(Verdict(f"Exposure ratio between groups within the band ({against})", status, value, threshold,
                            explanation))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.barh(t["group"], t["ratio"], xerr=[t["ratio"] - t["ratio 95 % low"], t["ratio 95 % high"] - t["ratio"]], color="#6b8cc7")
    ax.axvspan(lo, hi, color="#cfe8cf", zorder=0, label="band")
    ax.axvline(1, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(f"exposure per capita ÷ {against} (log scale)")
    ax.legend(loc="lower right")
    s.figures.append(figure(fig, "Exposure ratio by group with 95 % intervals; the shaded band is the policy band."))


def concentration_section(s: Section, conc: Any, verdicts: list[Verdict], plan: Any = None, policy: Any = None) -> None:
    t = conc.table.reset_index().rename(columns={"index": "level"})
    s.paragraphs.append(
        "The Gini index of patrol across cells is near 1 for any small budget on a large grid, so it is shown next to "
        f"its value under random placement of the same budget ({conc.baseline}). Only the excess over that "
        "baseline says the plan concentrates patrol more than chance would."
    )
    from ._format import relabel

    t["level"] = t["level"].map({"cells": "grid cells", "areas": "areas"}).fillna(t["level"])
    s.tables.append(("Concentration of patrol, observed and under random allocation (context; raw names in the audit's JSON)",
                     table(relabel(t.rename(columns={"level": "level of analysis"})))))
    excess = float(conc.cells["gini_over_baseline"])
    status, failed = policy_outcome(plan, "concentration")
    limit_text = "no policy checked it" if status is None else "policy maximum"
    explanation = "A large excess means patrol piles up on few places."
    baseline = float(conc.cells["baseline_gini_mean"])
    # the packaged default policy's limit when no policy sets one (read from it, not repeated here)
    limit = policy_part(policy, "concentration").get("max_gini_over_baseline")
    if limit is None:
        from ..audit.policy import AuditPolicy

        limit = policy_part(AuditPolicy.default(), "concentration")["max_gini_over_baseline"]
    limit = float(limit)
    if status in (None, "pass") and 1 - baseline <= limit:
        # the largest possible Gini (1) is within the limit of the baseline: no plan could fail
        status = "not_informative"
        explanation = ("Not informative at this budget: random placement already gives a Gini of "
                       f"{baseline:.3f}, so no plan could exceed the limit; see the area-level check against need.")
    verdicts.append(Verdict("Concentration above random allocation (Gini over baseline)", status or "not_assessed",
                            f"{excess:+.4f}", limit_text, explanation))


def feedback_section(s: Section, fb: Any, urn: Any, verdicts: list[Verdict], policy: Any) -> None:
    import matplotlib.pyplot as plt

    if fb is not None:
        results = getattr(fb, "results", [fb])
        s.paragraphs.append(
            "Simulation of the deploy → discover → retrain loop on this grid: true rates per cell, victims reporting at "
            "a fixed rate, police discovering unreported incidents where they patrol, and the model retrained each "
            "round on what was recorded. 'Distance from the truth' is the total-variation distance between the "
            "model's map and the true rates. Verdict rule: " + results[0].summary()["rule"] + "."
        )
        from ._format import relabel

        tab = pd.DataFrame([r.summary() for r in results]).drop(columns=["rule"], errors="ignore")
        s.tables.append(("Feedback scenarios: the unmitigated loop and its mitigations", table(relabel(tab))))
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in results:
            r.plot(ax=ax)
        s.figures.append(figure(fig, "Distance of the retrained model from the true rates, round by round (mean over replicates)."))
        first = results[0]
        verdicts.append(Verdict("Feedback loop: no runaway under the planned retraining",
                                "fail" if first.runaway else "pass", f"{first.verdict} (TV {first.tv_initial:.3f} → {first.tv_final:.3f})",
                                "no runaway", "A runaway loop sends patrols where patrols went, not where crime is."))
    if urn is not None:
        su = urn.summary()
        s.paragraphs.append(
            f"Ensign et al. (2018) urn: with true rates giving region A a share of {su['truth']:.3f}, the patrol share "
            f"tends to {su['fixed_point']:.3f} (verdict: {su['verdict']}; mean final share over runs "
            f"{su['mean_final_share']:.3f}; correction {'on' if su['correction'] else 'off'})."
        )
        fig, ax = plt.subplots(figsize=(6, 3.5))
        urn.plot(ax=ax)
        s.figures.append(figure(fig, "Pólya-urn patrol share over draws (Ensign et al. 2018)."))
        if fb is None:
            verdicts.append(Verdict("Feedback loop: no runaway under the planned retraining",
                                    "fail" if su["verdict"] == "runaway" else "pass", su["verdict"], "no runaway",
                                    "A runaway loop sends patrols where patrols went, not where crime is."))


def run_log_section(s: Section, log: Any, verdicts: list[Verdict]) -> None:
    from ._format import display_path

    s.facts.append(("Log file", display_path(log.path)))
    try:
        v = log.verify()
    except LogVerificationError as e:
        s.paragraphs.append(f"Verification FAILED at record {e.record}: {e.reason}. Records from there on cannot be trusted.")
        verdicts.append(Verdict("Run log intact", "fail", f"first bad record: {e.record}", "every record verifies",
                                "A broken chain means a record was altered, removed or reordered."))
        return
    s.facts += [("Records", f"{v.records:,}"), ("Head digest (SHA-256)", v.head)]
    s.paragraphs.append("Every record's SHA-256 chain to the previous record verified. Keep the head digest elsewhere: "
                        "a chain can be verified, not prevented from being rewritten whole.")
    verdicts.append(Verdict("Run log intact", "pass", f"{v.records:,} records verified", "every record verifies",
                            "Each record is chained to the previous one by its hash; any change breaks the chain."))
