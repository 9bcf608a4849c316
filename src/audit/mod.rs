//! Audits: disparity, concentration, data provenance, feedback loops, policy.
//!
//! Every function here works on plain arrays (a dose per grid cell, people per cell and group)
//! so that it can audit any allocation, whichever strategy produced it.

/// Gini and Theil of exposure against a random-allocation baseline.
pub mod concentration;
/// Per-group exposure per capita, ratios to a reference with bootstrap CIs, protection side.
pub mod disparity;
/// The two-region Pólya urn of Ensign et al. (2018) and its correction.
pub mod ensign;
/// The deploy → discover → retrain loop on a real grid, with a runaway verdict.
pub mod feedback;
/// The gate: allocate → audit → policy → decision, with typed overrides and blocked plans.
pub mod gate;
/// Concentration of patrol against need per area, with the check's power.
pub mod need;
/// Audit policy thresholds read from TOML, checked against an audit summary.
pub mod policy;
/// The power of a check: minimum detectable effect and "not informative" verdicts.
pub mod power;
/// Targeting audit of any system's output (The Markup's most/median/least targeted windows).
pub mod targeting;

pub use concentration::{concentration, ConcentrationParams, ConcentrationResult, Inequality};
pub use disparity::{disparity, DisparityInput, DisparityParams, DisparityResult, Reference};
pub use ensign::{ensign_urn, EnsignParams, EnsignResult, Update};
pub use gate::{
    gate, gate_shifts, AuditedAllocation, AuditedPlan, Blocked, Decision, DecisionStatus,
    GateInput, GateOptions, Override, PopulationInput, ShiftInput,
};
pub use policy::{AuditPolicy, AuditSummary, Evaluation, SkippedAudit};

/// Relative tolerance at the edges of an exposure-ratio band [lo, hi]: a ratio counts as inside
/// when `lo·(1 − tol) ≤ r ≤ hi·(1 + tol)`. Optimisers (the `fair` LP) place groups exactly on
/// the edge, up to a solver tolerance of 1e-6 relative; every band check (disparity verdicts,
/// policy, report) uses this one rule.
pub const BAND_EDGE_TOL: f64 = 1e-6;

/// Whether `r` lies in `[lo, hi]` under [`BAND_EDGE_TOL`].
pub fn in_band(r: f64, lo: f64, hi: f64) -> bool {
    r >= lo * (1.0 - BAND_EDGE_TOL) && r <= hi * (1.0 + BAND_EDGE_TOL)
}

/// Percentile of sorted finite values by linear interpolation (numpy's default, "linear").
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Checks a dose vector: finite and non-negative, naming the first bad cell.
pub(crate) fn check_dose(dose: &[f64]) -> crate::Result<f64> {
    if dose.is_empty() {
        return Err(crate::Error::empty("dose: no cells"));
    }
    let mut total = 0.0;
    for (i, &d) in dose.iter().enumerate() {
        if !d.is_finite() || d < 0.0 {
            return Err(crate::Error::data(
                Some(i),
                "dose",
                format!("dose must be finite and >= 0, got {d} in cell {i}"),
            ));
        }
        total += d;
    }
    if total <= 0.0 {
        return Err(crate::Error::param(
            "dose",
            "the budget is zero: no cell receives any dose, so there is nothing to audit",
        ));
    }
    Ok(total)
}
