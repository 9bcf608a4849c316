//! Disparity of patrol exposure across population groups.
//!
//! For a dose per grid cell (patrol units, hours or visit probability) and people per cell and
//! group, the exposure per capita of group g is
//!
//! E_g = Σ_c dose_c · pop_{c,g} / pop_g,
//!
//! the average dose a member of g receives where they live. The audit reports E_g, the share of
//! all person-dose that falls on g next to g's share of the population, the ratio and difference
//! to a reference group and to the overall rate E = Σ_c dose_c · pop_c / Σ_c pop_c, percentile
//! bootstrap confidence intervals (Efron & Tibshirani 1993, ch. 13) with **cells** as the
//! resampling unit, and a verdict against the band [τ, 1/τ] (τ = 0.8 is the "four-fifths rule"
//! used by the Aequitas toolkit, Saleiro et al. 2018). Such bands are conventions for flagging,
//! not proofs of fairness or unfairness.
//!
//! The protection side follows the same attribution: the incidents of cell c are shared among
//! groups in proportion to the residents of c, and group g's protection is the share of its
//! incidents that lie in covered cells (dose > 0). An optional need benchmark (Lum & Isaac 2016
//! compared police data with survey prevalence) divides g's exposure share by its share of need,
//! need_share_g = need_g · pop_g / Σ_h need_h · pop_h, where need_g is a per-capita prevalence
//! from a non-police source.
//!
//! # Examples
//! ```
//! use ndarray::array;
//! use placewise::audit::{disparity, DisparityInput, DisparityParams, Reference};
//! let dose = [1.0, 0.0];
//! let pop = array![[100.0, 0.0], [100.0, 200.0]];
//! let groups = vec!["A".to_string(), "B".to_string()];
//! let input = DisparityInput { dose: &dose, population: pop.view(), groups: &groups,
//!                              incidents: None, need: None };
//! let params = DisparityParams { reference: Reference::Group("B".into()), bootstrap: 0,
//!                                ..Default::default() };
//! let r = disparity(&input, &params).unwrap();
//! assert_eq!(r.groups[0].rate, 0.5);   // half of A lives in the patrolled cell
//! assert_eq!(r.groups[1].rate, 0.0);
//! ```

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::power::{judge, CheckVerdict, Power};
use super::{check_dose, quantile_sorted};
use crate::montecarlo::simulate;
use crate::{Error, Result};

/// Which group the ratios and differences are taken against.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Reference {
    /// The group with the most people in the grid.
    #[default]
    Majority,
    /// The group with the lowest exposure per capita.
    LeastExposed,
    /// A group named by the caller.
    Group(String),
}

impl Reference {
    /// `"majority"`, `"least_exposed"`, or any other string as a group name.
    pub fn parse(s: &str) -> Reference {
        match s {
            "majority" => Reference::Majority,
            "least_exposed" => Reference::LeastExposed,
            other => Reference::Group(other.to_string()),
        }
    }
}

/// Parameters of [`disparity`], with documented defaults.
#[derive(Debug, Clone)]
pub struct DisparityParams {
    /// Reference group (default: the majority).
    pub reference: Reference,
    /// Band [τ, 1/τ] for verdicts; 0 < τ ≤ 1 (default 0.8).
    pub tau: f64,
    /// Bootstrap resamples of cells; 0 skips the intervals (default 1000).
    pub bootstrap: usize,
    /// Two-sided level of the percentile intervals (default 0.95).
    pub confidence: f64,
    /// Seed of the bootstrap; resample b draws from stream b of this seed.
    pub seed: u64,
}

impl Default for DisparityParams {
    fn default() -> Self {
        DisparityParams {
            reference: Reference::Majority,
            tau: 0.8,
            bootstrap: 1000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Arrays audited by [`disparity`]; all per-cell arrays cover every grid cell (n_cells).
#[derive(Debug, Clone)]
pub struct DisparityInput<'a> {
    /// Dose per cell (≥ 0).
    pub dose: &'a [f64],
    /// People per cell and group, shape (n_cells, n_groups).
    pub population: ArrayView2<'a, f64>,
    /// Group names, one per column.
    pub groups: &'a [String],
    /// Expected or observed incidents per cell, for the protection side.
    pub incidents: Option<&'a [f64]>,
    /// Per-capita need (prevalence from a non-police source) per group.
    pub need: Option<&'a [f64]>,
}

/// Where a ratio lies relative to the band [τ, 1/τ].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Inside the band (inclusive).
    Within,
    /// Above 1/τ: more exposed than the reference.
    Above,
    /// Below τ: less exposed than the reference.
    Below,
    /// The interval straddles a band edge (only for interval verdicts).
    Inconclusive,
    /// No value (no bootstrap run, or undefined).
    Undefined,
}

fn verdict(r: f64, tau: f64) -> Verdict {
    if !r.is_finite() {
        Verdict::Undefined
    } else if super::in_band(r, tau, 1.0 / tau) {
        Verdict::Within
    } else if r > 1.0 / tau {
        Verdict::Above
    } else {
        Verdict::Below
    }
}

fn verdict_ci(lo: f64, hi: f64, tau: f64) -> Verdict {
    if !(lo.is_finite() && hi.is_finite()) {
        return Verdict::Undefined;
    }
    let (vl, vh) = (verdict(lo, tau), verdict(hi, tau));
    if vl == vh {
        vl
    } else {
        Verdict::Inconclusive
    }
}

/// One group's row of the audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRow {
    /// Group name.
    pub group: String,
    /// People in the grid.
    pub population: f64,
    /// Σ_c dose_c · pop_{c,g} (person-dose).
    pub exposure: f64,
    /// Exposure per capita E_g.
    pub rate: f64,
    /// Share of all person-dose.
    pub exposure_share: f64,
    /// Share of all people.
    pub population_share: f64,
    /// E_g / E_ref.
    pub ratio_to_reference: f64,
    /// E_g − E_ref.
    pub difference_to_reference: f64,
    /// E_g / E.
    pub ratio_to_overall: f64,
    /// E_g − E.
    pub difference_to_overall: f64,
    /// Bootstrap interval of E_g.
    pub rate_ci: (f64, f64),
    /// Bootstrap interval of E_g / E_ref.
    pub ratio_to_reference_ci: (f64, f64),
    /// Bootstrap interval of E_g / E.
    pub ratio_to_overall_ci: (f64, f64),
    /// Point ratio to the reference against the band.
    pub verdict: Verdict,
    /// The interval of the ratio to the reference against the band.
    pub verdict_ci: Verdict,
    /// Share of g's incidents (population-attributed) in covered cells.
    pub protection: Option<f64>,
    /// g's share of need (when need is given).
    pub need_share: Option<f64>,
    /// exposure_share / need_share.
    pub exposure_to_need: Option<f64>,
    /// The ratios to the reference nearest parity that this budget and sample could tell
    /// apart from parity, (below, above): `(R / hi, R / lo)` for the ratio R and its bootstrap
    /// interval [lo, hi]. A true ratio above the second (below the first) gives an interval
    /// that excludes 1, if the bootstrap distribution keeps its relative spread. NaN without
    /// a bootstrap (and for the reference group itself).
    pub detectable_ratio_to_reference: (f64, f64),
    /// As `detectable_ratio_to_reference`, for the ratio to the overall rate.
    pub detectable_ratio_to_overall: (f64, f64),
}

/// Result of [`disparity`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisparityResult {
    /// One row per group, in input order.
    pub groups: Vec<GroupRow>,
    /// Name of the reference group.
    pub reference: String,
    /// How the reference was chosen: "majority", "least_exposed" or "named".
    pub reference_rule: String,
    /// Overall exposure per capita E.
    pub overall_rate: f64,
    /// Bootstrap interval of E.
    pub overall_rate_ci: (f64, f64),
    /// Share of all incidents in covered cells.
    pub overall_protection: Option<f64>,
    /// τ of the band.
    pub tau: f64,
    /// Number of bootstrap resamples (0: none).
    pub bootstrap: usize,
    /// Level of the intervals.
    pub confidence: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// The resampling unit ("cells").
    pub resampling_unit: String,
    /// Cells resampled (those with people or dose).
    pub n_units: usize,
    /// Resamples in which some group had no people (its statistics skipped in that resample).
    pub undefined_resamples: usize,
    /// Total dose (the budget audited).
    pub total_dose: f64,
    /// Power of the band check on the ratios to the reference: the largest (over groups) log
    /// detectable ratio over the log band edge, informative when at most 1 (a ratio at the
    /// band edge would have been told apart from parity).
    pub power_to_reference: Power,
    /// As `power_to_reference`, for the ratios to the overall rate.
    pub power_to_overall: Power,
    /// Band check on the point ratios to the reference, with its power: `fail` when a group
    /// lies outside [τ, 1/τ], `pass` when none does and the check was informative,
    /// `not_informative` otherwise (including without a bootstrap).
    pub check_to_reference: CheckVerdict,
    /// As `check_to_reference`, for the ratios to the overall rate.
    pub check_to_overall: CheckVerdict,
}

/// Upper limit on bootstrap resamples.
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Audits the exposure of population groups to `input.dose`. See the module documentation.
///
/// Errors name the input at fault: a population whose rows do not match the dose's cells (it
/// was built on another grid), negative or missing counts, a group with zero people, an unknown
/// reference group, τ outside (0, 1], a zero budget, incidents or need of the wrong length.
pub fn disparity(input: &DisparityInput<'_>, params: &DisparityParams) -> Result<DisparityResult> {
    let n = input.dose.len();
    let pop = &input.population;
    let ng = input.groups.len();
    if !(params.tau > 0.0 && params.tau <= 1.0) {
        return Err(Error::param(
            "tau",
            format!(
                "must lie in (0, 1] (the band is [tau, 1/tau]), got {}",
                params.tau
            ),
        ));
    }
    if !(params.confidence > 0.0 && params.confidence < 1.0) {
        return Err(Error::param(
            "confidence",
            format!("must lie in (0, 1), got {}", params.confidence),
        ));
    }
    if params.bootstrap > MAX_BOOTSTRAP {
        return Err(Error::TooLarge {
            param: "bootstrap".into(),
            what: "bootstrap resamples".into(),
            requested: params.bootstrap as u64,
            limit: MAX_BOOTSTRAP as u64,
        });
    }
    if ng == 0 {
        return Err(Error::empty("population: no groups"));
    }
    if pop.ncols() != ng {
        return Err(Error::param(
            "population",
            format!("has {} group columns but {} group names", pop.ncols(), ng),
        ));
    }
    if pop.nrows() != n {
        return Err(Error::param(
            "population",
            format!(
                "has {} cells but the dose has {n}: the population does not join the grid \
                 (build it on the same grid as the allocation)",
                pop.nrows()
            ),
        ));
    }
    let total_dose = check_dose(input.dose)?;
    for ((c, g), &v) in pop.indexed_iter() {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::data(
                Some(c),
                input.groups[g].clone(),
                format!("population count must be finite and >= 0, got {v} in cell {c}"),
            ));
        }
    }
    if let Some(inc) = input.incidents {
        if inc.len() != n {
            return Err(Error::param(
                "incidents_per_cell",
                format!("has {} cells but the dose has {n}", inc.len()),
            ));
        }
        if let Some((c, v)) = inc
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(Error::data(
                Some(c),
                "incidents_per_cell",
                format!("must be finite and >= 0, got {v} in cell {c}"),
            ));
        }
    }
    if let Some(need) = input.need {
        if need.len() != ng {
            return Err(Error::param(
                "need",
                format!("has {} values but there are {ng} groups", need.len()),
            ));
        }
        if let Some((g, v)) = need
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v <= 0.0)
        {
            return Err(Error::param(
                "need",
                format!(
                    "need of group `{}` must be finite and > 0, got {v}",
                    input.groups[g]
                ),
            ));
        }
    }

    // Point estimates.
    let mut popg = vec![0.0; ng];
    let mut expg = vec![0.0; ng];
    for (c, row) in pop.outer_iter().enumerate() {
        let d = input.dose[c];
        for g in 0..ng {
            popg[g] += row[g];
            expg[g] += d * row[g];
        }
    }
    if let Some(g) = popg.iter().position(|&p| p <= 0.0) {
        return Err(Error::data(
            None,
            input.groups[g].clone(),
            format!(
                "group `{}` has zero people in the grid's cells; drop the group or check the \
                 population's join to the grid",
                input.groups[g]
            ),
        ));
    }
    let rates: Vec<f64> = (0..ng).map(|g| expg[g] / popg[g]).collect();
    let (ref_idx, rule) = match &params.reference {
        Reference::Majority => (argmax(&popg), "majority"),
        Reference::LeastExposed => (argmin(&rates), "least_exposed"),
        Reference::Group(name) => (
            input.groups.iter().position(|g| g == name).ok_or_else(|| {
                Error::param(
                    "reference",
                    format!(
                        "unknown group `{name}`; the groups are {:?} (or use \"majority\" \
                             or \"least_exposed\")",
                        input.groups
                    ),
                )
            })?,
            "named",
        ),
    };
    let pop_total: f64 = popg.iter().sum();
    let exp_total: f64 = expg.iter().sum();
    let overall = exp_total / pop_total;

    // Bootstrap over cells that hold people or dose.
    let units: Vec<usize> = (0..n)
        .filter(|&c| input.dose[c] > 0.0 || pop.row(c).iter().any(|&v| v > 0.0))
        .collect();
    let b = params.bootstrap;
    crate::limits::check(
        "bootstrap",
        "bootstrap values (resamples × (3 × groups + 1))",
        (b as u64).saturating_mul(3 * ng as u64 + 1),
        crate::limits::get().max_matrix_values,
    )?;
    // Contiguous copies of the units' dose and people, for a tight resampling loop.
    let udose: Vec<f64> = units.iter().map(|&c| input.dose[c]).collect();
    let upop: Vec<f64> = units.iter().flat_map(|&c| pop.row(c).to_vec()).collect();
    // Each replicate: per group rate, ratio to ref, ratio to overall; then overall rate.
    let reps: Vec<Option<Vec<f64>>> = simulate(b, params.seed, |_, rng| {
        let m = units.len();
        // How often each unit is drawn, then one sequential pass over the units.
        let mut times = vec![0u32; m];
        for _ in 0..m {
            times[rng.below(m as u64) as usize] += 1;
        }
        let mut pg = vec![0.0; ng];
        let mut eg = vec![0.0; ng];
        for (k, row) in upop.chunks_exact(ng).enumerate() {
            let t = times[k];
            if t == 0 {
                continue;
            }
            let (w, wd) = (t as f64, t as f64 * udose[k]);
            for g in 0..ng {
                pg[g] += w * row[g];
                eg[g] += wd * row[g];
            }
        }
        if pg.iter().any(|&p| p <= 0.0) {
            return None;
        }
        let r: Vec<f64> = (0..ng).map(|g| eg[g] / pg[g]).collect();
        let o = eg.iter().sum::<f64>() / pg.iter().sum::<f64>();
        let mut out = Vec::with_capacity(3 * ng + 1);
        out.extend_from_slice(&r);
        out.extend(r.iter().map(|x| x / r[ref_idx]));
        out.extend(r.iter().map(|x| x / o));
        out.push(o);
        Some(out)
    });
    let ok: Vec<&Vec<f64>> = reps.iter().flatten().collect();
    let undefined = b - ok.len();
    let alpha = (1.0 - params.confidence) / 2.0;
    let ci = |k: usize| -> (f64, f64) {
        let mut v: Vec<f64> = ok.iter().map(|r| r[k]).filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        v.sort_by(f64::total_cmp);
        (quantile_sorted(&v, alpha), quantile_sorted(&v, 1.0 - alpha))
    };

    // Protection side.
    let protection = input.incidents.map(|inc| {
        let mut num = vec![0.0; ng];
        let mut den = vec![0.0; ng];
        let (mut on, mut od) = (0.0, 0.0);
        for (c, row) in pop.outer_iter().enumerate() {
            let covered = input.dose[c] > 0.0;
            od += inc[c];
            if covered {
                on += inc[c];
            }
            let pc: f64 = row.sum();
            if pc <= 0.0 || inc[c] == 0.0 {
                continue;
            }
            for g in 0..ng {
                let a = inc[c] * row[g] / pc;
                den[g] += a;
                if covered {
                    num[g] += a;
                }
            }
        }
        let by: Vec<Option<f64>> = (0..ng)
            .map(|g| (den[g] > 0.0).then(|| num[g] / den[g]))
            .collect();
        (by, (od > 0.0).then(|| on / od))
    });
    let need_shares = input.need.map(|need| {
        let tot: f64 = (0..ng).map(|g| need[g] * popg[g]).sum();
        (0..ng).map(|g| need[g] * popg[g] / tot).collect::<Vec<_>>()
    });

    let nan2 = (f64::NAN, f64::NAN);
    let groups: Vec<GroupRow> = (0..ng)
        .map(|g| {
            let ratio = rates[g] / rates[ref_idx];
            let rr_ci = if b > 0 { ci(ng + g) } else { nan2 };
            let ro_ci = if b > 0 { ci(2 * ng + g) } else { nan2 };
            let exposure_share = if exp_total > 0.0 {
                expg[g] / exp_total
            } else {
                f64::NAN
            };
            let need_share = need_shares.as_ref().map(|s| s[g]);
            GroupRow {
                group: input.groups[g].clone(),
                population: popg[g],
                exposure: expg[g],
                rate: rates[g],
                exposure_share,
                population_share: popg[g] / pop_total,
                ratio_to_reference: ratio,
                difference_to_reference: rates[g] - rates[ref_idx],
                ratio_to_overall: rates[g] / overall,
                difference_to_overall: rates[g] - overall,
                rate_ci: if b > 0 { ci(g) } else { (f64::NAN, f64::NAN) },
                ratio_to_reference_ci: rr_ci,
                ratio_to_overall_ci: ro_ci,
                verdict: verdict(ratio, params.tau),
                verdict_ci: verdict_ci(rr_ci.0, rr_ci.1, params.tau),
                protection: protection.as_ref().and_then(|p| p.0[g]),
                need_share,
                exposure_to_need: need_share.map(|s| exposure_share / s),
                detectable_ratio_to_reference: if g == ref_idx {
                    nan2
                } else {
                    detectable(ratio, rr_ci)
                },
                detectable_ratio_to_overall: detectable(rates[g] / overall, ro_ci),
            }
        })
        .collect();
    let power_of = |pairs: Vec<(f64, f64)>| -> Power {
        // the worst group decides; NaN (no bootstrap, undefined ratio, nothing to compare)
        // makes the check uninformative
        let crit = if pairs.is_empty() {
            f64::NAN
        } else {
            pairs
                .iter()
                .map(|&(below, above)| (1.0 / below).ln().max(above.ln()))
                .fold(f64::NEG_INFINITY, |a, x| {
                    if x.is_nan() || a.is_nan() {
                        f64::NAN
                    } else {
                        a.max(x)
                    }
                })
        };
        Power::new(0.0, crit, (1.0 / params.tau).ln(), 1.0)
    };
    let power_to_reference = power_of(
        groups
            .iter()
            .enumerate()
            .filter(|&(g, _)| g != ref_idx)
            .map(|(_, r)| r.detectable_ratio_to_reference)
            .collect(),
    );
    let power_to_overall = power_of(
        groups
            .iter()
            .map(|r| r.detectable_ratio_to_overall)
            .collect(),
    );
    let outside = |r: f64| !super::in_band(r, params.tau, 1.0 / params.tau);
    let check_to_reference = judge(
        groups.iter().any(|r| outside(r.ratio_to_reference)),
        power_to_reference.informative,
    );
    let check_to_overall = judge(
        groups.iter().any(|r| outside(r.ratio_to_overall)),
        power_to_overall.informative,
    );
    Ok(DisparityResult {
        groups,
        reference: input.groups[ref_idx].clone(),
        reference_rule: rule.to_string(),
        overall_rate: overall,
        overall_rate_ci: if b > 0 {
            ci(3 * ng)
        } else {
            (f64::NAN, f64::NAN)
        },
        overall_protection: protection.and_then(|p| p.1),
        tau: params.tau,
        bootstrap: b,
        confidence: params.confidence,
        seed: params.seed,
        resampling_unit: "cells".into(),
        n_units: units.len(),
        undefined_resamples: undefined,
        total_dose,
        power_to_reference,
        power_to_overall,
        check_to_reference,
        check_to_overall,
    })
}

/// `(R / hi, R / lo)`: the ratios nearest parity whose bootstrap interval, shifted with the
/// same relative spread, would exclude 1 (NaN when the interval or the ratio is undefined).
fn detectable(ratio: f64, (lo, hi): (f64, f64)) -> (f64, f64) {
    if !(ratio.is_finite() && ratio > 0.0 && lo.is_finite() && hi.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    (
        ratio / hi,
        if lo > 0.0 { ratio / lo } else { f64::INFINITY },
    )
}

fn argmax(v: &[f64]) -> usize {
    // Ties go to the first (lowest index) group.
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn argmin(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("g{i}")).collect()
    }

    fn run(dose: &[f64], pop: &Array2<f64>, p: &DisparityParams) -> Result<DisparityResult> {
        let g = names(pop.ncols());
        disparity(
            &DisparityInput {
                dose,
                population: pop.view(),
                groups: &g,
                incidents: None,
                need: None,
            },
            p,
        )
    }

    #[test]
    fn hand_computed_rates_and_ratios() {
        // Cell 0: 10 of g0, 30 of g1; cell 1: 30 of g0, 10 of g1; dose 2 and 0.
        let pop = array![[10.0, 30.0], [30.0, 10.0]];
        let p = DisparityParams {
            bootstrap: 0,
            reference: Reference::Group("g0".into()),
            ..Default::default()
        };
        let r = run(&[2.0, 0.0], &pop, &p).unwrap();
        assert_eq!(r.groups[0].rate, 20.0 / 40.0);
        assert_eq!(r.groups[1].rate, 60.0 / 40.0);
        assert_eq!(r.groups[1].ratio_to_reference, 3.0);
        assert_eq!(r.overall_rate, 80.0 / 80.0);
        assert_eq!(r.groups[1].verdict, Verdict::Above);
        assert_eq!(r.groups[0].verdict, Verdict::Within);
        assert_eq!(r.groups[0].exposure_share, 0.25);
        assert_eq!(r.groups[0].population_share, 0.5);
        let ll = run(
            &[2.0, 0.0],
            &pop,
            &DisparityParams {
                reference: Reference::LeastExposed,
                bootstrap: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(ll.reference, "g0");
    }

    #[test]
    fn protection_and_need() {
        let pop = array![[10.0, 30.0], [30.0, 10.0], [0.0, 0.0]];
        let g = names(2);
        let inc = [4.0, 8.0, 5.0];
        let need = [1.0, 3.0];
        let r = disparity(
            &DisparityInput {
                dose: &[1.0, 0.0, 0.0],
                population: pop.view(),
                groups: &g,
                incidents: Some(&inc),
                need: Some(&need),
            },
            &DisparityParams {
                bootstrap: 0,
                ..Default::default()
            },
        )
        .unwrap();
        // g0's incidents: 4·¼ = 1 in the covered cell, 8·¾ = 6 elsewhere.
        assert!((r.groups[0].protection.unwrap() - 1.0 / 7.0).abs() < 1e-12);
        assert!((r.groups[1].protection.unwrap() - 3.0 / 5.0).abs() < 1e-12);
        assert!((r.overall_protection.unwrap() - 4.0 / 17.0).abs() < 1e-12);
        assert!((r.groups[1].need_share.unwrap() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_name_what_is_wrong() {
        let pop = array![[10.0, 30.0], [30.0, 10.0]];
        let p = DisparityParams::default();
        let e = run(&[1.0, 0.0, 0.0], &pop, &p).unwrap_err().to_string();
        assert!(e.contains("does not join the grid"), "{e}");
        let e = run(&[0.0, 0.0], &pop, &p).unwrap_err().to_string();
        assert!(e.contains("budget is zero"), "{e}");
        let e = run(&[1.0, -1.0], &pop, &p).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("dose"), "{e}");
        let zero = array![[10.0, 0.0], [30.0, 0.0]];
        let e = run(&[1.0, 0.0], &zero, &p).unwrap_err().to_string();
        assert!(e.contains("`g1` has zero people"), "{e}");
        let e = run(
            &[1.0, 0.0],
            &pop,
            &DisparityParams {
                reference: Reference::Group("nope".into()),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("reference") && e.contains("nope"), "{e}");
        for tau in [0.0, 1.5, f64::NAN] {
            let e = run(
                &[1.0, 0.0],
                &pop,
                &DisparityParams {
                    tau,
                    ..Default::default()
                },
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("tau"), "{e}");
        }
        let nan = array![[f64::NAN, 1.0], [1.0, 1.0]];
        let e = run(&[1.0, 0.0], &nan, &p).unwrap_err().to_string();
        assert!(e.contains("row 0") && e.contains("g0"), "{e}");
    }

    #[test]
    fn bootstrap_is_seeded_and_thread_count_free() {
        let n = 300;
        let pop = Array2::from_shape_fn((n, 3), |(c, g)| ((c * 7 + g * 13) % 50) as f64 + 1.0);
        let dose: Vec<f64> = (0..n).map(|c| ((c * 31) % 17) as f64).collect();
        let p = DisparityParams {
            bootstrap: 200,
            seed: 42,
            ..Default::default()
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let a = one.install(|| run(&dose, &pop, &p).unwrap());
        let b = four.install(|| run(&dose, &pop, &p).unwrap());
        for (x, y) in a.groups.iter().zip(&b.groups) {
            assert_eq!(x.ratio_to_reference_ci, y.ratio_to_reference_ci);
            assert_eq!(x.rate_ci, y.rate_ci);
            assert!(x.rate_ci.0 <= x.rate && x.rate <= x.rate_ci.1);
        }
        let c = run(&dose, &pop, &DisparityParams { seed: 43, ..p }).unwrap();
        assert_ne!(a.groups[0].rate_ci, c.groups[0].rate_ci);
    }

    #[test]
    fn power_is_stated_and_a_weak_check_does_not_pass() {
        // Two groups living apart in 2 × m cells; dose spread so that the ratio is near 1.
        let build = |m: usize| {
            let pop = Array2::from_shape_fn((2 * m, 2), |(c, g)| {
                let home = usize::from(c >= m);
                if g == home {
                    90.0 + (c % 7) as f64
                } else {
                    10.0 + (c % 3) as f64
                }
            });
            let dose: Vec<f64> = (0..2 * m).map(|c| 1.0 + ((c * 37) % 11) as f64).collect();
            (pop, dose)
        };
        let p = DisparityParams {
            bootstrap: 999,
            seed: 5,
            ..Default::default()
        };
        // many cells: narrow intervals, the check could have failed and passes
        let (pop, dose) = build(400);
        let r = run(&dose, &pop, &p).unwrap();
        let g = &r.groups[1 - names(2).iter().position(|n| *n == r.reference).unwrap()];
        assert_eq!(g.verdict, Verdict::Within, "{g:?}");
        assert!(
            r.power_to_reference.informative,
            "{:?}",
            r.power_to_reference
        );
        assert_eq!(r.check_to_reference, CheckVerdict::Pass);
        // the detectable ratios bracket parity and are those of the interval: R/hi ≤ 1 ≤ R/lo
        let (below, above) = g.detectable_ratio_to_reference;
        let (lo, hi) = g.ratio_to_reference_ci;
        assert!(below < 1.0 && above > 1.0, "{below} {above}");
        assert!((above - g.ratio_to_reference / lo).abs() < 1e-12);
        assert!((below - g.ratio_to_reference / hi).abs() < 1e-12);
        // normalised as stated: the larger log distance over ln(1/τ)
        let crit = (1.0 / below).ln().max(above.ln());
        assert!((r.power_to_reference.mde_normalised - crit / 1.25f64.ln()).abs() < 1e-12);
        // the reference has no detectable ratio to itself
        let rr = &r.groups[names(2).iter().position(|n| *n == r.reference).unwrap()];
        assert!(rr.detectable_ratio_to_reference.0.is_nan());
        // three cells per group: the same kind of plan cannot be told apart from the band edge
        let (pop, dose) = build(3);
        let r = run(&dose, &pop, &p).unwrap();
        if r.groups.iter().all(|g| g.verdict == Verdict::Within) {
            assert!(
                !r.power_to_reference.informative,
                "{:?}",
                r.power_to_reference
            );
            assert_eq!(r.check_to_reference, CheckVerdict::NotInformative);
        }
        // without a bootstrap the power is unknown: never a pass
        let r = run(
            &dose,
            &pop,
            &DisparityParams {
                bootstrap: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.power_to_reference.mde_normalised.is_nan());
        assert_ne!(r.check_to_reference, CheckVerdict::Pass);
        // a plan outside the band fails whatever the power
        let pop = array![[10.0, 30.0], [30.0, 10.0]];
        let r = run(&[2.0, 0.0], &pop, &DisparityParams { bootstrap: 0, ..p }).unwrap();
        assert_eq!(r.check_to_reference, CheckVerdict::Fail);
    }

    proptest! {
        /// Exposure proportional to population in every cell's mix: when every cell has the
        /// same group mix, every ratio is 1 whatever the dose.
        #[test]
        fn ratio_is_one_when_groups_share_every_cell(
            dose in proptest::collection::vec(0.0f64..10.0, 2..40),
            mix in proptest::collection::vec(0.1f64..5.0, 2..5),
            size in proptest::collection::vec(1.0f64..100.0, 40),
        ) {
            prop_assume!(dose.iter().sum::<f64>() > 0.0);
            let n = dose.len();
            let pop = Array2::from_shape_fn((n, mix.len()), |(c, g)| size[c] * mix[g]);
            let r = run(&dose, &pop, &DisparityParams { bootstrap: 0, ..Default::default() }).unwrap();
            for row in &r.groups {
                prop_assert!((row.ratio_to_reference - 1.0).abs() < 1e-9);
                prop_assert!((row.ratio_to_overall - 1.0).abs() < 1e-9);
                prop_assert!((row.exposure_share - row.population_share).abs() < 1e-9);
            }
        }
    }
}
