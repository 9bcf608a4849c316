//! The gate: allocate → audit → policy → decision, in one function.
//!
//! [`gate`] places a budget over a risk surface with a strategy, audits the plan (disparity of
//! exposure across population groups when the population is given, concentration against a
//! random allocation when a policy is given), checks the audits against the [`AuditPolicy`], and
//! returns an [`AuditedAllocation`] whose [`Decision`] says what happened: passed, overridden
//! (with the typed [`Override`] record: reason, who, when), or no policy applied. A plan that
//! fails the policy without an override is never returned as a result:
//! [`Error::PolicyViolation`] carries the failed checks and the blocked plan
//! ([`Blocked`]), so that it can be reviewed but not mistaken for an accepted one.
//! [`gate_shifts`] does the same for a multi-shift plan, per shift and for the whole plan.
//!
//! Skipping an audit is always explicit and recorded ([`SkippedAudit`]): either the caller
//! names it (`skip_audits`), or the policy's `if_missing = "skip"` lets a missing audit pass
//! unchecked. The default policy fails a missing disparity audit.
//!
//! # Examples
//! ```
//! use placewise::allocate::{Budget, Strategy};
//! use placewise::audit::gate::{gate, DecisionStatus, GateInput, GateOptions};
//! let risk = [0.2, 0.9, 0.4];
//! let active = [true, true, true];
//! let (budget, strategy) = (Budget::new(2.0), Strategy::TopK);
//! let input = GateInput::new(&risk, &active, &budget, &strategy);
//! let a = gate(&input, &GateOptions::default()).unwrap();
//! assert_eq!(a.allocation.dose, vec![0.0, 1.0, 1.0]);
//! assert_eq!(a.decision.status, DecisionStatus::NoPolicy);
//! ```

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use unicode_general_category::{get_general_category, GeneralCategory as G};

use super::concentration::{concentration, ConcentrationParams, ConcentrationResult};
use super::disparity::{disparity, DisparityInput, DisparityParams, DisparityResult};
use super::policy::{
    check_skip_names, AuditPolicy, AuditSummary, ConcentrationSummary, DataSummary,
    DisparitySummary, FeedbackSummary, SkippedAudit,
};
use crate::allocate::{
    allocate, allocate_shifts, Allocation, Budget, GroupCounts, Shift, Strategy,
};
use crate::{Error, Result};

/// Fewest visible characters (Unicode categories L, N, P, S) an override reason must hold.
pub const MIN_OVERRIDE_REASON_CHARS: usize = 10;
/// Fewest visible characters naming who overrides.
pub const MIN_OVERRIDE_BY_CHARS: usize = 2;

/// Characters of `s` in the Unicode general categories Letter, Number, Punctuation or Symbol:
/// what a reader sees. Spaces, controls, format characters (zero-width space U+200B, word
/// joiner U+2060, byte-order mark U+FEFF), marks alone and unassigned code points do not count.
pub fn visible_chars(s: &str) -> usize {
    s.chars()
        .filter(|&c| {
            matches!(
                get_general_category(c),
                G::UppercaseLetter
                    | G::LowercaseLetter
                    | G::TitlecaseLetter
                    | G::ModifierLetter
                    | G::OtherLetter
                    | G::DecimalNumber
                    | G::LetterNumber
                    | G::OtherNumber
                    | G::ConnectorPunctuation
                    | G::DashPunctuation
                    | G::OpenPunctuation
                    | G::ClosePunctuation
                    | G::InitialPunctuation
                    | G::FinalPunctuation
                    | G::OtherPunctuation
                    | G::MathSymbol
                    | G::CurrencySymbol
                    | G::ModifierSymbol
                    | G::OtherSymbol
            )
        })
        .count()
}

/// A person's written decision to proceed despite failed policy checks: why, who, when. It
/// goes into the decision and the run log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The written justification (at least [`MIN_OVERRIDE_REASON_CHARS`] visible characters).
    pub reason: String,
    /// Who decided (at least [`MIN_OVERRIDE_BY_CHARS`] visible characters).
    pub by: String,
    /// When, as the caller states it (an ISO 8601 UTC time from the Python layer).
    pub at: String,
}

impl Override {
    /// A validated override record.
    ///
    /// ```
    /// use placewise::audit::gate::Override;
    /// assert!(Override::new("approved by the oversight board", "J. Doe", "2026-01-01T00:00:00Z").is_ok());
    /// assert!(Override::new("\u{200b}\u{200b}\u{feff}", "J. Doe", "2026-01-01").is_err());
    /// ```
    pub fn new(
        reason: impl Into<String>,
        by: impl Into<String>,
        at: impl Into<String>,
    ) -> Result<Self> {
        let o = Override {
            reason: reason.into(),
            by: by.into(),
            at: at.into(),
        };
        o.validate()?;
        Ok(o)
    }

    /// Refuses empty, whitespace-only or invisible reasons (and names of who / when).
    pub fn validate(&self) -> Result<()> {
        let n = visible_chars(&self.reason);
        if n < MIN_OVERRIDE_REASON_CHARS {
            return Err(Error::param(
                "override_reason",
                format!(
                    "an override needs a written reason of at least {MIN_OVERRIDE_REASON_CHARS} \
                     visible characters (letters, digits, punctuation, symbols); got {n}"
                ),
            ));
        }
        let n = visible_chars(&self.by);
        if n < MIN_OVERRIDE_BY_CHARS {
            return Err(Error::param(
                "override_by",
                format!(
                    "an override must say who made it (at least {MIN_OVERRIDE_BY_CHARS} visible \
                     characters); got {n}"
                ),
            ));
        }
        if visible_chars(&self.at) == 0 {
            return Err(Error::param(
                "override_at",
                "an override must say when it was made",
            ));
        }
        Ok(())
    }
}

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionStatus {
    /// Every policy check passed (skipped checks are listed in the decision).
    Passed,
    /// Checks failed and a person overrode them, with a recorded reason.
    Overridden,
    /// Checks failed and nobody overrode them: the plan must not be used.
    Blocked,
    /// No policy was applied (the caller chose none).
    NoPolicy,
}

impl DecisionStatus {
    /// "passed", "overridden", "blocked" or "no_policy".
    pub fn as_str(&self) -> &'static str {
        match self {
            DecisionStatus::Passed => "passed",
            DecisionStatus::Overridden => "overridden",
            DecisionStatus::Blocked => "blocked",
            DecisionStatus::NoPolicy => "no_policy",
        }
    }
}

/// The policy decision on a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What was decided.
    pub status: DecisionStatus,
    /// One plain sentence per failed check (empty when passed or no policy).
    pub failed_checks: Vec<String>,
    /// Checks not applied, and why.
    pub skipped_audits: Vec<SkippedAudit>,
    /// The override, when the failed checks were overridden.
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    /// The policy's `name`, when it has one.
    pub policy_name: Option<String>,
    /// Where the policy was read from, when known.
    pub policy_source: Option<String>,
}

/// A plan with its audits and the policy decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditedAllocation {
    /// Units per active cell and what they cover.
    pub allocation: Allocation,
    /// Exposure by group (when the population was given and the audit not skipped).
    pub disparity: Option<DisparityResult>,
    /// Concentration against random allocation (when a policy was given and the audit not
    /// skipped).
    pub concentration: Option<ConcentrationResult>,
    /// What the policy was checked against, built from the results above (and the data and
    /// feedback audits the caller passed in).
    pub summary: AuditSummary,
    /// The decision.
    pub decision: Decision,
}

/// A multi-shift plan: each shift audited and decided, and the whole plan (the shifts' doses
/// summed) audited and decided once more.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditedPlan {
    /// Shift names, in order.
    pub names: Vec<String>,
    /// Each shift.
    pub shifts: Vec<AuditedAllocation>,
    /// Disparity of the summed dose (plans of two shifts or more).
    pub disparity: Option<DisparityResult>,
    /// Concentration of the summed dose (plans of two shifts or more).
    pub concentration: Option<ConcentrationResult>,
    /// Summary of the whole-plan audits.
    pub summary: AuditSummary,
    /// The decision on the whole plan: its failed checks name the shift (or "whole plan").
    pub decision: Decision,
}

/// The plan a [`Error::PolicyViolation`] blocked.
#[derive(Debug, Clone)]
pub enum Blocked {
    /// One shift.
    Allocation(Box<AuditedAllocation>),
    /// Several shifts.
    Plan(Box<AuditedPlan>),
}

/// Population by group over **all** grid cells (rows: cells, columns: groups).
#[derive(Debug, Clone, Copy)]
pub struct PopulationInput<'a> {
    /// People per cell and group.
    pub counts: ArrayView2<'a, f64>,
    /// Group names, one per column.
    pub groups: &'a [String],
}

/// What the gate allocates and audits.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// Risk per active cell, ascending cell id.
    pub risk: &'a [f64],
    /// Which grid cells are active (one flag per grid cell).
    pub active: &'a [bool],
    /// The budget.
    pub budget: &'a Budget,
    /// The strategy.
    pub strategy: &'a Strategy,
    /// Population by group over all grid cells.
    pub population: Option<PopulationInput<'a>>,
    /// Expected (or observed) incidents per grid cell, for the protection side of the
    /// disparity audit.
    pub incidents: Option<&'a [f64]>,
    /// Area label per grid cell (−1: none), for concentration across areas.
    pub areas: Option<&'a [i64]>,
}

impl<'a> GateInput<'a> {
    /// Risk, active cells, budget and strategy; no population, incidents or areas.
    pub fn new(
        risk: &'a [f64],
        active: &'a [bool],
        budget: &'a Budget,
        strategy: &'a Strategy,
    ) -> Self {
        GateInput {
            risk,
            active,
            budget,
            strategy,
            population: None,
            incidents: None,
            areas: None,
        }
    }
}

/// How the gate audits and decides.
#[derive(Debug, Clone, Default)]
pub struct GateOptions<'a> {
    /// The policy; None applies none (the decision says so).
    pub policy: Option<&'a AuditPolicy>,
    /// Proceed despite failed checks, with this record.
    pub override_: Option<Override>,
    /// Sections the caller chose not to check ("disparity", "concentration", "data",
    /// "feedback"); recorded in the decision.
    pub skip_audits: Vec<String>,
    /// Disparity audit parameters (for multi-shift plans, shift `i` uses `seed + i`).
    pub disparity: DisparityParams,
    /// Concentration audit parameters.
    pub concentration: ConcentrationParams,
    /// A data-provenance summary to check, when the caller ran that audit.
    pub data: Option<DataSummary>,
    /// A feedback-audit summary to check, when the caller ran that audit.
    pub feedback: Option<FeedbackSummary>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl AuditSummary {
    /// The summary the policy checks, from the audit results.
    pub fn from_results(
        disparity: Option<&DisparityResult>,
        concentration: Option<&ConcentrationResult>,
        data: Option<DataSummary>,
        feedback: Option<FeedbackSummary>,
    ) -> Self {
        let disparity = disparity.map(|d| {
            let mut s = DisparitySummary {
                reference: Some(d.reference.clone()),
                ..Default::default()
            };
            for g in &d.groups {
                s.ratio_to_reference
                    .insert(g.group.clone(), finite(g.ratio_to_reference));
                s.ratio_to_overall
                    .insert(g.group.clone(), finite(g.ratio_to_overall));
                let (a, b) = g.ratio_to_reference_ci;
                s.ratio_to_reference_ci
                    .insert(g.group.clone(), (finite(a), finite(b)));
                let (a, b) = g.ratio_to_overall_ci;
                s.ratio_to_overall_ci
                    .insert(g.group.clone(), (finite(a), finite(b)));
            }
            s
        });
        let concentration = concentration.map(|c| ConcentrationSummary {
            cells_gini_over_baseline: finite(c.cells.gini_over_baseline),
            areas_gini_over_baseline: c.areas.as_ref().and_then(|a| finite(a.gini_over_baseline)),
        });
        AuditSummary {
            disparity,
            concentration,
            data,
            feedback,
        }
    }
}

/// Checks the shapes shared by the single- and multi-shift gates.
fn check_input(
    active: &[bool],
    n_active_risk: usize,
    what: &str,
    population: Option<&PopulationInput<'_>>,
    areas: Option<&[i64]>,
) -> Result<usize> {
    let n_active = active.iter().filter(|&&a| a).count();
    if n_active != n_active_risk {
        return Err(Error::param(
            what,
            format!("has {n_active_risk} values but the grid has {n_active} active cells"),
        ));
    }
    if let Some(p) = population {
        if p.counts.nrows() != active.len() {
            return Err(Error::param(
                "population",
                format!(
                    "has {} cells but the grid has {}: the population does not join the grid",
                    p.counts.nrows(),
                    active.len()
                ),
            ));
        }
    }
    if let Some(a) = areas {
        if a.len() != active.len() {
            return Err(Error::param(
                "areas",
                format!(
                    "has {} cell labels but the grid has {} cells",
                    a.len(),
                    active.len()
                ),
            ));
        }
    }
    Ok(n_active)
}

fn check_incidents(incidents: Option<&[f64]>, n_cells: usize, name: &str) -> Result<()> {
    match incidents {
        Some(i) if i.len() != n_cells => Err(Error::param(
            name,
            format!("has {} values but the grid has {n_cells} cells", i.len()),
        )),
        _ => Ok(()),
    }
}

/// The rows of the active cells, as the allocation strategies take them.
fn active_counts(p: &PopulationInput<'_>, active: &[bool]) -> Result<GroupCounts> {
    let rows: Vec<usize> = (0..active.len()).filter(|&c| active[c]).collect();
    let counts: Array2<f64> = p.counts.select(Axis(0), &rows);
    GroupCounts::new(counts, p.groups.to_vec())
}

/// The dose over all grid cells (0 outside the active ones).
fn scatter(dose: &[f64], active: &[bool]) -> Vec<f64> {
    let mut out = vec![0.0; active.len()];
    for (slot, &d) in active
        .iter()
        .enumerate()
        .filter(|(_, &a)| a)
        .map(|(c, _)| c)
        .zip(dose)
    {
        out[slot] = d;
    }
    out
}

fn skipped(opts: &GateOptions<'_>, section: &str) -> bool {
    opts.skip_audits.iter().any(|s| s == section)
}

/// Runs the audits a dose needs (over all grid cells): disparity when the population is given,
/// concentration when a policy is given; each unless skipped.
fn run_audits(
    dose_all: &[f64],
    active: &[bool],
    population: Option<&PopulationInput<'_>>,
    incidents: Option<&[f64]>,
    areas: Option<&[i64]>,
    opts: &GateOptions<'_>,
    seed_offset: u64,
) -> Result<(Option<DisparityResult>, Option<ConcentrationResult>)> {
    let dis = match population {
        Some(p) if !skipped(opts, "disparity") => {
            let mut params = opts.disparity.clone();
            params.seed = params.seed.wrapping_add(seed_offset);
            let input = DisparityInput {
                dose: dose_all,
                population: p.counts,
                groups: p.groups,
                incidents,
                need: None,
            };
            Some(disparity(&input, &params)?)
        }
        _ => None,
    };
    let conc = if opts.policy.is_some() && !skipped(opts, "concentration") {
        Some(concentration(dose_all, active, areas, &opts.concentration)?)
    } else {
        None
    };
    Ok((dis, conc))
}

/// The decision on `summary` under the options' policy, override and skips.
fn decide(summary: &AuditSummary, opts: &GateOptions<'_>) -> Decision {
    let Some(policy) = opts.policy else {
        return Decision {
            status: DecisionStatus::NoPolicy,
            failed_checks: Vec::new(),
            skipped_audits: opts
                .skip_audits
                .iter()
                .map(|s| SkippedAudit {
                    audit: s.clone(),
                    reason: "skipped by an explicit choice of the caller (skip_audits)".into(),
                    by_caller: true,
                })
                .collect(),
            override_: None,
            policy_name: None,
            policy_source: None,
        };
    };
    let ev = policy.evaluate(summary, &opts.skip_audits);
    let (status, override_) = match (ev.failed_checks.is_empty(), &opts.override_) {
        (true, _) => (DecisionStatus::Passed, None),
        (false, Some(o)) => (DecisionStatus::Overridden, Some(o.clone())),
        (false, None) => (DecisionStatus::Blocked, None),
    };
    Decision {
        status,
        failed_checks: ev.failed_checks,
        skipped_audits: ev.skipped,
        override_,
        policy_name: policy.name.clone(),
        policy_source: policy.source.clone(),
    }
}

fn check_options(opts: &GateOptions<'_>) -> Result<()> {
    check_skip_names(&opts.skip_audits)?;
    if let Some(o) = &opts.override_ {
        if opts.policy.is_none() {
            return Err(Error::param(
                "override_reason",
                "given without a policy: there is nothing to override",
            ));
        }
        o.validate()?;
    }
    Ok(())
}

fn audited(
    allocation: Allocation,
    input: &GateInput<'_>,
    opts: &GateOptions<'_>,
    seed_offset: u64,
) -> Result<AuditedAllocation> {
    let needs_audit = input.population.is_some() || opts.policy.is_some();
    let (dis, conc) = if needs_audit {
        let dose_all = scatter(&allocation.dose, input.active);
        run_audits(
            &dose_all,
            input.active,
            input.population.as_ref(),
            input.incidents,
            input.areas,
            opts,
            seed_offset,
        )?
    } else {
        (None, None)
    };
    let summary = AuditSummary::from_results(
        dis.as_ref(),
        conc.as_ref(),
        opts.data.clone(),
        opts.feedback.clone(),
    );
    let decision = decide(&summary, opts);
    Ok(AuditedAllocation {
        allocation,
        disparity: dis,
        concentration: conc,
        summary,
        decision,
    })
}

/// Allocates, audits and decides one shift. See the module documentation.
///
/// Errors: the allocation's and audits' own errors (naming the parameter), an unknown name in
/// `skip_audits`, an override without a policy or with an invisible reason, and
/// [`Error::PolicyViolation`] carrying the blocked plan when checks fail without an override.
pub fn gate(input: &GateInput<'_>, opts: &GateOptions<'_>) -> Result<AuditedAllocation> {
    check_options(opts)?;
    check_input(
        input.active,
        input.risk.len(),
        "risk",
        input.population.as_ref(),
        input.areas,
    )?;
    check_incidents(input.incidents, input.active.len(), "incidents_per_cell")?;
    let counts = input
        .population
        .as_ref()
        .map(|p| active_counts(p, input.active))
        .transpose()?;
    let allocation = allocate(input.risk, input.budget, input.strategy, counts.as_ref())?;
    let a = audited(allocation, input, opts, 0)?;
    if a.decision.status == DecisionStatus::Blocked {
        return Err(Error::PolicyViolation {
            failed_checks: a.decision.failed_checks.clone(),
            blocked: Some(Blocked::Allocation(Box::new(a))),
        });
    }
    Ok(a)
}

/// One shift for [`gate_shifts`].
#[derive(Debug, Clone, Copy)]
pub struct ShiftInput<'a> {
    /// Shift name (e.g. "night").
    pub name: &'a str,
    /// Risk per active cell.
    pub risk: &'a [f64],
    /// The shift's budget.
    pub budget: &'a Budget,
    /// Expected incidents per grid cell in this shift (protection side), when known.
    pub incidents: Option<&'a [f64]>,
}

/// Allocates every shift (in parallel, as [`allocate_shifts`]), audits and decides each shift
/// and the whole plan (the shifts' doses summed). Shift `i` audits with seed `seed + i`; the
/// whole plan with `seed`. A failed check anywhere blocks the whole plan unless overridden:
/// [`Error::PolicyViolation`] then carries the [`AuditedPlan`].
#[allow(clippy::too_many_arguments)]
pub fn gate_shifts<'a>(
    shifts: &[ShiftInput<'a>],
    active: &'a [bool],
    strategy: &'a Strategy,
    population: Option<PopulationInput<'a>>,
    areas: Option<&'a [i64]>,
    opts: &GateOptions<'_>,
) -> Result<AuditedPlan> {
    check_options(opts)?;
    if shifts.is_empty() {
        return Err(Error::param("surfaces", "a plan needs at least one shift"));
    }
    for s in shifts {
        check_input(
            active,
            s.risk.len(),
            &format!("surfaces[{}]", s.name),
            population.as_ref(),
            areas,
        )?;
        check_incidents(s.incidents, active.len(), "incidents_per_cell")?;
    }
    let counts = population
        .as_ref()
        .map(|p| active_counts(p, active))
        .transpose()?;
    let plain: Vec<Shift> = shifts
        .iter()
        .map(|s| Shift {
            risk: s.risk.to_vec(),
            budget: s.budget.clone(),
        })
        .collect();
    let allocations = allocate_shifts(&plain, strategy, counts.as_ref())?;
    // Each shift is judged alone, without the override: the plan's decision carries it.
    let per_shift_opts = GateOptions {
        override_: None,
        ..opts.clone()
    };
    let mut audited_shifts = Vec::with_capacity(shifts.len());
    for (i, (s, a)) in shifts.iter().zip(allocations).enumerate() {
        let input = GateInput {
            risk: s.risk,
            active,
            budget: s.budget,
            strategy,
            population,
            incidents: s.incidents,
            areas,
        };
        audited_shifts.push(audited(a, &input, &per_shift_opts, i as u64)?);
    }
    let mut failed: Vec<String> = Vec::new();
    for (s, a) in shifts.iter().zip(&audited_shifts) {
        failed.extend(
            a.decision
                .failed_checks
                .iter()
                .map(|f| format!("shift `{}`: {f}", s.name)),
        );
    }
    let (dis, conc, summary, whole) = if shifts.len() > 1 {
        let mut total = vec![0.0; active.len()];
        for a in &audited_shifts {
            for (t, d) in total.iter_mut().zip(scatter(&a.allocation.dose, active)) {
                *t += d;
            }
        }
        let incidents: Option<Vec<f64>> = shifts
            .iter()
            .map(|s| s.incidents)
            .collect::<Option<Vec<_>>>()
            .map(|all| {
                let mut sum = vec![0.0; active.len()];
                for inc in all {
                    for (t, v) in sum.iter_mut().zip(inc) {
                        *t += v;
                    }
                }
                sum
            });
        let needs_audit = population.is_some() || opts.policy.is_some();
        let (dis, conc) = if needs_audit {
            run_audits(
                &total,
                active,
                population.as_ref(),
                incidents.as_deref(),
                areas,
                opts,
                0,
            )?
        } else {
            (None, None)
        };
        let summary = AuditSummary::from_results(
            dis.as_ref(),
            conc.as_ref(),
            opts.data.clone(),
            opts.feedback.clone(),
        );
        let whole = decide(&summary, &per_shift_opts);
        failed.extend(
            whole
                .failed_checks
                .iter()
                .map(|f| format!("whole plan: {f}")),
        );
        (dis, conc, summary, whole)
    } else {
        let a = &audited_shifts[0];
        (None, None, a.summary.clone(), a.decision.clone())
    };
    let status = match (opts.policy.is_some(), failed.is_empty(), &opts.override_) {
        (false, _, _) => DecisionStatus::NoPolicy,
        (true, true, _) => DecisionStatus::Passed,
        (true, false, Some(_)) => DecisionStatus::Overridden,
        (true, false, None) => DecisionStatus::Blocked,
    };
    let override_ = (status == DecisionStatus::Overridden)
        .then(|| opts.override_.clone())
        .flatten();
    if let Some(o) = &override_ {
        for a in audited_shifts.iter_mut() {
            if a.decision.status == DecisionStatus::Blocked {
                a.decision.status = DecisionStatus::Overridden;
                a.decision.override_ = Some(o.clone());
            }
        }
    }
    let decision = Decision {
        status,
        failed_checks: failed,
        skipped_audits: whole.skipped_audits,
        override_,
        policy_name: whole.policy_name,
        policy_source: whole.policy_source,
    };
    let plan = AuditedPlan {
        names: shifts.iter().map(|s| s.name.to_string()).collect(),
        shifts: audited_shifts,
        disparity: dis,
        concentration: conc,
        summary,
        decision,
    };
    if plan.decision.status == DecisionStatus::Blocked {
        return Err(Error::PolicyViolation {
            failed_checks: plan.decision.failed_checks.clone(),
            blocked: Some(Blocked::Plan(Box::new(plan))),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::policy::MissingAudit;
    use ndarray::array;

    fn shipped() -> AuditPolicy {
        AuditPolicy::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/audits/policy.toml")).unwrap()
    }

    fn strict() -> AuditPolicy {
        AuditPolicy::from_toml_str(
            "name = \"strict\"\n[disparity]\nratio_min = 0.99\nratio_max = 1.01\n",
        )
        .unwrap()
    }

    // Four active cells; group A lives in cells 0-1, group B in cells 2-3, so a top-k plan on
    // cells 0-1 exposes A only (ratio of B to A is 0: outside any band).
    const RISK: [f64; 4] = [4.0, 3.0, 2.0, 1.0];
    const ACTIVE: [bool; 4] = [true; 4];

    fn groups() -> Vec<String> {
        vec!["A".to_string(), "B".to_string()]
    }

    fn counts() -> Array2<f64> {
        array![[100.0, 0.0], [100.0, 0.0], [0.0, 100.0], [0.0, 100.0]]
    }

    fn opts(policy: Option<&AuditPolicy>) -> GateOptions<'_> {
        GateOptions {
            policy,
            disparity: DisparityParams {
                reference: crate::audit::Reference::Group("A".into()),
                bootstrap: 50,
                ..Default::default()
            },
            concentration: ConcentrationParams {
                simulations: 49,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn ok_override() -> Override {
        Override::new(
            "reviewed by the oversight board on 2026-01-05, minutes item 4",
            "J. Doe",
            "2026-01-05T10:00:00+00:00",
        )
        .unwrap()
    }

    #[test]
    fn invisible_override_reasons_are_refused() {
        for bad in [
            "",
            "   ",
            "\u{200b}",
            "\u{2060}",
            "\x00",
            "\u{200b}\u{200b}\u{feff}",
            "\t\n\r  \u{00a0}\u{3000}",
            "ok",
            "\u{200b}a\u{200b}b\u{200b}c",
        ] {
            let e = Override::new(bad, "J. Doe", "2026-01-01").unwrap_err();
            match e {
                Error::InvalidParameter { name, .. } => assert_eq!(name, "override_reason"),
                e => panic!("{e}"),
            }
        }
        assert_eq!(visible_chars("\u{200b}\u{200b}\u{feff}"), 0);
        assert_eq!(visible_chars("a b-c é 1 €"), 7);
        assert!(Override::new("ten-chars!", "JD", "now").is_ok());
        assert!(Override::new("a good reason, written", "\u{200b}", "now").is_err());
        assert!(Override::new("a good reason, written", "JD", " \u{200b}").is_err());
    }

    #[test]
    fn no_policy_returns_the_plan_unaudited_and_says_so() {
        let b = Budget::new(2.0);
        let input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::TopK);
        let a = gate(&input, &opts(None)).unwrap();
        assert_eq!(a.allocation.dose, vec![1.0, 1.0, 0.0, 0.0]);
        assert_eq!(a.decision.status, DecisionStatus::NoPolicy);
        assert!(a.disparity.is_none() && a.concentration.is_none());
        let mut o = opts(None);
        o.override_ = Some(ok_override());
        let e = gate(&input, &o).unwrap_err();
        assert!(e.to_string().contains("override_reason"), "{e}");
    }

    #[test]
    fn a_failing_plan_is_blocked_and_carried_by_the_error() {
        let b = Budget::new(2.0);
        let c = counts();
        let g = groups();
        let mut input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::TopK);
        input.population = Some(PopulationInput {
            counts: c.view(),
            groups: &g,
        });
        let policy = strict();
        match gate(&input, &opts(Some(&policy))).unwrap_err() {
            Error::PolicyViolation {
                failed_checks,
                blocked: Some(Blocked::Allocation(a)),
            } => {
                assert_eq!(failed_checks.len(), 1, "{failed_checks:?}");
                assert!(failed_checks[0].contains("`B`"), "{failed_checks:?}");
                assert_eq!(a.allocation.dose, vec![1.0, 1.0, 0.0, 0.0]);
                assert_eq!(a.decision.status, DecisionStatus::Blocked);
                assert_eq!(a.decision.policy_name.as_deref(), Some("strict"));
                let d = a.disparity.as_ref().unwrap();
                assert_eq!(d.groups[1].ratio_to_reference, 0.0);
                assert!(a.concentration.is_some());
            }
            e => panic!("{e}"),
        }
        // The same plan with an override passes, and the override is in the decision.
        let mut o = opts(Some(&policy));
        o.override_ = Some(ok_override());
        let a = gate(&input, &o).unwrap();
        assert_eq!(a.decision.status, DecisionStatus::Overridden);
        assert_eq!(a.decision.override_.as_ref().unwrap().by, "J. Doe");
        assert_eq!(a.decision.failed_checks.len(), 1);
        // An invisible reason is refused before anything is allocated.
        o.override_ = Some(Override {
            reason: "\u{200b}\u{200b}\u{feff}".into(),
            by: "J. Doe".into(),
            at: "now".into(),
        });
        assert!(matches!(
            gate(&input, &o).unwrap_err(),
            Error::InvalidParameter { name, .. } if name == "override_reason"
        ));
    }

    #[test]
    fn the_default_policy_fails_a_missing_disparity_audit_unless_skipped_explicitly() {
        let b = Budget::new(2.0);
        let input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::Proportional);
        let policy = shipped();
        assert_eq!(policy.if_missing("disparity"), MissingAudit::Fail);
        assert_eq!(policy.if_missing("data"), MissingAudit::Skip);
        let e = gate(&input, &opts(Some(&policy))).unwrap_err();
        let Error::PolicyViolation { failed_checks, .. } = e else {
            panic!("{e}")
        };
        assert_eq!(failed_checks.len(), 1, "{failed_checks:?}");
        assert!(failed_checks[0].starts_with("disparity: not audited"));
        let mut o = opts(Some(&policy));
        o.skip_audits = vec!["disparity".into()];
        let a = gate(&input, &o).unwrap();
        assert_eq!(a.decision.status, DecisionStatus::Passed);
        let skipped: Vec<(&str, bool)> = a
            .decision
            .skipped_audits
            .iter()
            .map(|s| (s.audit.as_str(), s.by_caller))
            .collect();
        assert_eq!(
            skipped,
            vec![("disparity", true), ("data", false), ("feedback", false)]
        );
        o.skip_audits = vec!["fairness".into()];
        assert!(gate(&input, &o)
            .unwrap_err()
            .to_string()
            .contains("skip_audits"));
    }

    #[test]
    fn data_and_feedback_summaries_passed_in_are_checked() {
        let b = Budget::new(2.0);
        let input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::Proportional);
        let policy = shipped();
        let mut o = opts(Some(&policy));
        o.skip_audits = vec!["disparity".into()];
        o.data = Some(DataSummary {
            discovered_share: Some(0.5),
        });
        o.feedback = Some(FeedbackSummary {
            verdict: Some("runaway".into()),
        });
        let Error::PolicyViolation { failed_checks, .. } = gate(&input, &o).unwrap_err() else {
            panic!()
        };
        assert_eq!(failed_checks.len(), 2, "{failed_checks:?}");
        assert!(failed_checks[0].starts_with("data:") && failed_checks[1].starts_with("feedback:"));
    }

    #[test]
    fn shifts_pass_the_same_gate_per_shift_and_whole() {
        let b = Budget::new(2.0);
        let c = counts();
        let g = groups();
        let low = [1.0, 2.0, 3.0, 4.0];
        let shifts = [
            ShiftInput {
                name: "day",
                risk: &RISK,
                budget: &b,
                incidents: None,
            },
            ShiftInput {
                name: "night",
                risk: &low,
                budget: &b,
                incidents: None,
            },
        ];
        let pop = Some(PopulationInput {
            counts: c.view(),
            groups: &g,
        });
        let policy = AuditPolicy::from_toml_str(
            "[disparity]\nratio_min = 0.99\nratio_max = 1.01\ncompare_to = \"overall\"\n",
        )
        .unwrap();
        // Each shift alone exposes one group only; the whole plan covers everyone equally.
        let e = gate_shifts(
            &shifts,
            &ACTIVE,
            &Strategy::TopK,
            pop,
            None,
            &opts(Some(&policy)),
        )
        .unwrap_err();
        let Error::PolicyViolation {
            failed_checks,
            blocked: Some(Blocked::Plan(plan)),
        } = e
        else {
            panic!("{e}")
        };
        assert_eq!(failed_checks.len(), 4, "{failed_checks:?}");
        assert!(failed_checks[..2]
            .iter()
            .all(|f| f.starts_with("shift `day`: disparity")));
        assert!(failed_checks[2..]
            .iter()
            .all(|f| f.starts_with("shift `night`: disparity")));
        assert_eq!(plan.names, vec!["day", "night"]);
        assert_eq!(plan.shifts[1].allocation.dose, vec![0.0, 0.0, 1.0, 1.0]);
        let whole = plan.disparity.as_ref().unwrap();
        assert_eq!(whole.groups[1].ratio_to_overall, 1.0);
        assert_eq!(plan.decision.status, DecisionStatus::Blocked);
        // Overridden: every blocked shift carries the override too.
        let mut o = opts(Some(&policy));
        o.override_ = Some(ok_override());
        let plan = gate_shifts(&shifts, &ACTIVE, &Strategy::TopK, pop, None, &o).unwrap();
        assert_eq!(plan.decision.failed_checks.len(), 4);
        assert_eq!(plan.decision.status, DecisionStatus::Overridden);
        assert!(plan
            .shifts
            .iter()
            .all(|s| s.decision.status == DecisionStatus::Overridden
                && s.decision.override_.is_some()));
        // The same plan through the plain path gives the same doses.
        let plain =
            gate_shifts(&shifts, &ACTIVE, &Strategy::TopK, None, None, &opts(None)).unwrap();
        assert_eq!(plain.decision.status, DecisionStatus::NoPolicy);
        assert_eq!(plain.shifts[0].allocation.dose, vec![1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn the_gate_audits_match_the_audit_functions_called_directly() {
        let b = Budget::new(2.0);
        let c = counts();
        let g = groups();
        let mut input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::TopK);
        input.population = Some(PopulationInput {
            counts: c.view(),
            groups: &g,
        });
        let policy =
            AuditPolicy::from_toml_str("[concentration]\nmax_gini_over_baseline = 1.0\n").unwrap();
        let o = opts(Some(&policy));
        let a = gate(&input, &o).unwrap();
        let direct = disparity(
            &DisparityInput {
                dose: &[1.0, 1.0, 0.0, 0.0],
                population: c.view(),
                groups: &g,
                incidents: None,
                need: None,
            },
            &o.disparity,
        )
        .unwrap();
        let got = a.disparity.unwrap();
        for (x, y) in got.groups.iter().zip(&direct.groups) {
            assert_eq!(x.rate.to_bits(), y.rate.to_bits());
            assert_eq!(
                x.ratio_to_reference_ci.0.to_bits(),
                y.ratio_to_reference_ci.0.to_bits()
            );
        }
        let conc = concentration(&[1.0, 1.0, 0.0, 0.0], &ACTIVE, None, &o.concentration).unwrap();
        assert_eq!(
            a.concentration.unwrap().cells.gini_over_baseline.to_bits(),
            conc.cells.gini_over_baseline.to_bits()
        );
        assert_eq!(
            a.summary.concentration.unwrap().cells_gini_over_baseline,
            Some(conc.cells.gini_over_baseline)
        );
    }

    #[test]
    fn shapes_are_checked_naming_the_input() {
        let b = Budget::new(2.0);
        let input = GateInput::new(&RISK, &[true, true, false, true], &b, &Strategy::TopK);
        assert!(gate(&input, &opts(None))
            .unwrap_err()
            .to_string()
            .contains("`risk`"));
        let c = array![[1.0, 1.0]];
        let g = groups();
        let mut input = GateInput::new(&RISK, &ACTIVE, &b, &Strategy::TopK);
        input.population = Some(PopulationInput {
            counts: c.view(),
            groups: &g,
        });
        assert!(gate(&input, &opts(None))
            .unwrap_err()
            .to_string()
            .contains("`population`"));
    }
}
