//! Concentration of patrol exposure: Gini and Theil across cells and areas, each next to its
//! distribution under random allocation of the same budget.
//!
//! The raw Gini of a sparse allocation is close to 1 whatever the strategy, because a budget of
//! a few dozen units cannot cover thousands of cells. Following the argument of Bernasco &
//! Steenbeek (2017, "More places than crimes", J. Quant. Criminol. 33:451–467) for crime
//! counts, each index is reported next to its Monte Carlo distribution when the same budget,
//! cut into quanta of `unit`, is placed on uniformly random active cells (a multinomial
//! allocation). The excess over the baseline mean, not the raw index, measures how much the
//! strategy concentrates exposure beyond what the budget's size forces.
//!
//! Gini: G = Σ_i Σ_j |x_i − x_j| / (2 n² μ) (population form, Gini 1912), computed from the
//! sorted values as Σ_i (2i − n − 1) x_(i) / (n Σ x). Theil: T = (1/n) Σ_i (x_i/μ) ln(x_i/μ)
//! with 0 ln 0 = 0 (Theil 1967); 0 for equal shares, ln n when one unit holds everything.
//!
//! # Examples
//! ```
//! use placewise::audit::concentration::{gini, theil};
//! assert_eq!(gini(&[1.0, 1.0, 1.0, 1.0]), 0.0);
//! assert_eq!(gini(&[0.0, 0.0, 0.0, 4.0]), 0.75);
//! assert!((theil(&[0.0, 0.0, 0.0, 4.0]) - 4f64.ln()).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

use super::{check_dose, quantile_sorted};
use crate::montecarlo::{simulate, Alternative, Exceedances};
use crate::{Error, Result};

/// Gini index (population form) of non-negative values; NaN when they sum to 0 or are empty.
pub fn gini(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    gini_sorted_tail(&v, v.len())
}

/// Gini of `n` values of which `tail` (sorted ascending) are the largest and the rest are 0.
pub(crate) fn gini_sorted_tail(tail: &[f64], n: usize) -> f64 {
    let sum: f64 = tail.iter().sum();
    if n == 0 || sum <= 0.0 {
        return f64::NAN;
    }
    let nf = n as f64;
    let offset = n - tail.len();
    let s: f64 = tail
        .iter()
        .enumerate()
        .map(|(k, &x)| (2.0 * (offset + k + 1) as f64 - nf - 1.0) * x)
        .sum();
    s / (nf * sum)
}

/// Theil T index of non-negative values; NaN when they sum to 0 or are empty.
pub fn theil(values: &[f64]) -> f64 {
    theil_nonzero(values.iter().copied().filter(|&x| x > 0.0), values.len())
}

fn theil_nonzero(nonzero: impl Iterator<Item = f64> + Clone, n: usize) -> f64 {
    let sum: f64 = nonzero.clone().sum();
    if n == 0 || sum <= 0.0 {
        return f64::NAN;
    }
    let mu = sum / n as f64;
    nonzero.map(|x| (x / mu) * (x / mu).ln()).sum::<f64>() / n as f64
}

/// Parameters of [`concentration`].
#[derive(Debug, Clone)]
pub struct ConcentrationParams {
    /// Size of one quantum of the budget for the random baseline, in the dose's units
    /// (default 1: one patrol unit or hour). The baseline places round(budget / unit) quanta,
    /// at least one.
    pub unit: f64,
    /// Monte Carlo allocations in the baseline (default 999).
    pub simulations: usize,
    /// Level of the baseline's central interval (default 0.95).
    pub confidence: f64,
    /// Seed; simulation s draws from stream s.
    pub seed: u64,
}

impl Default for ConcentrationParams {
    fn default() -> Self {
        ConcentrationParams {
            unit: 1.0,
            simulations: 999,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// One level (cells or areas) of the concentration audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inequality {
    /// Number of units (active cells, or areas).
    pub n: usize,
    /// Gini of the allocation.
    pub gini: f64,
    /// Theil T of the allocation.
    pub theil: f64,
    /// Mean Gini under random allocation of the same budget.
    pub baseline_gini_mean: f64,
    /// Central interval of the baseline Gini.
    pub baseline_gini_ci: (f64, f64),
    /// Mean Theil under random allocation.
    pub baseline_theil_mean: f64,
    /// Central interval of the baseline Theil.
    pub baseline_theil_ci: (f64, f64),
    /// gini − baseline_gini_mean.
    pub gini_over_baseline: f64,
    /// theil − baseline_theil_mean.
    pub theil_over_baseline: f64,
    /// One-sided Monte Carlo p-value of "no more concentrated than random placement":
    /// `(1 + #{baseline Gini ≥ Gini}) / (1 + simulations)` (the `+1` rule of
    /// [`crate::montecarlo`], so never 0; NaN without a finite baseline).
    pub share_random_at_least_as_concentrated: f64,
}

/// Result of [`concentration`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConcentrationResult {
    /// Across active cells.
    pub cells: Inequality,
    /// Across areas, when cells were assigned to areas.
    pub areas: Option<Inequality>,
    /// Total dose.
    pub budget: f64,
    /// Quantum of the baseline.
    pub unit: f64,
    /// Quanta placed per random allocation.
    pub quanta: u64,
    /// Monte Carlo allocations.
    pub simulations: usize,
    /// Level of the baseline intervals.
    pub confidence: f64,
    /// Seed.
    pub seed: u64,
    /// How the baseline was drawn, in words.
    pub baseline: String,
}

/// Limit on quanta per random allocation.
pub const MAX_QUANTA: u64 = 10_000_000;
/// Limit on Monte Carlo allocations.
pub const MAX_SIMULATIONS: usize = 100_000;

/// Concentration of `dose` (one value per grid cell) over the `active` cells, and over areas
/// when `area_of_cell` gives each cell's area (−1 for none).
///
/// Errors: a dose in an inactive cell, negative or non-finite doses (naming the cell), a zero
/// budget, `unit` ≤ 0, mismatched lengths, an area label below −1, or no active cell.
pub fn concentration(
    dose: &[f64],
    active: &[bool],
    area_of_cell: Option<&[i64]>,
    params: &ConcentrationParams,
) -> Result<ConcentrationResult> {
    let budget = check_dose(dose)?;
    crate::error::require_positive("unit", params.unit)?;
    if !(params.confidence > 0.0 && params.confidence < 1.0) {
        return Err(Error::param(
            "confidence",
            format!("must lie in (0, 1), got {}", params.confidence),
        ));
    }
    if params.simulations == 0 || params.simulations > MAX_SIMULATIONS {
        return Err(Error::param(
            "simulations",
            format!(
                "must be between 1 and {MAX_SIMULATIONS}, got {}",
                params.simulations
            ),
        ));
    }
    if active.len() != dose.len() {
        return Err(Error::param(
            "dose",
            format!(
                "has {} values but the grid has {} cells",
                dose.len(),
                active.len()
            ),
        ));
    }
    if let Some(c) = (0..dose.len()).find(|&c| !active[c] && dose[c] > 0.0) {
        return Err(Error::data(
            Some(c),
            "dose",
            format!(
                "cell {c} is outside the region (inactive) but has dose {}",
                dose[c]
            ),
        ));
    }
    let cells: Vec<usize> = (0..dose.len()).filter(|&c| active[c]).collect();
    if cells.is_empty() {
        return Err(Error::empty("grid: no active cells"));
    }
    // Areas: relabel to 0..n_areas over active cells.
    let area_index: Option<(Vec<Option<usize>>, usize)> = match area_of_cell {
        None => None,
        Some(a) => {
            if a.len() != dose.len() {
                return Err(Error::param(
                    "areas",
                    format!(
                        "has {} cell labels but the grid has {} cells",
                        a.len(),
                        dose.len()
                    ),
                ));
            }
            if let Some(c) = (0..a.len()).find(|&c| a[c] < -1) {
                return Err(Error::data(
                    Some(c),
                    "areas",
                    format!("area label must be >= -1 (-1: no area), got {}", a[c]),
                ));
            }
            let mut labels: Vec<i64> = cells.iter().map(|&c| a[c]).filter(|&l| l >= 0).collect();
            labels.sort_unstable();
            labels.dedup();
            if labels.is_empty() {
                return Err(Error::empty("areas: no active cell belongs to an area"));
            }
            let idx = (0..a.len())
                .map(|c| {
                    if active[c] && a[c] >= 0 {
                        labels.binary_search(&a[c]).ok()
                    } else {
                        None
                    }
                })
                .collect();
            Some((idx, labels.len()))
        }
    };
    let q = (budget / params.unit).round().max(1.0);
    if q > MAX_QUANTA as f64 {
        return Err(Error::TooLarge {
            param: "unit".into(),
            what: "baseline quanta (budget / unit)".into(),
            requested: q as u64,
            limit: MAX_QUANTA,
        });
    }
    let q = q as usize;
    let cell_dose: Vec<f64> = cells.iter().map(|&c| dose[c]).collect();
    let area_dose = area_index.as_ref().map(|(idx, na)| {
        let mut v = vec![0.0; *na];
        for (c, a) in idx.iter().enumerate() {
            if let Some(a) = a {
                v[*a] += dose[c];
            }
        }
        v
    });

    // Simulations: (cell gini, cell theil, area gini, area theil).
    let sims: Vec<[f64; 4]> = simulate(params.simulations, params.seed, |_, rng| {
        let mut draws: Vec<usize> = (0..q)
            .map(|_| rng.below(cells.len() as u64) as usize)
            .collect();
        draws.sort_unstable();
        let counts = run_lengths(&draws);
        let mut tail: Vec<f64> = counts.iter().map(|&(_, k)| k as f64).collect();
        let t = theil_nonzero(tail.iter().copied(), cells.len());
        tail.sort_by(f64::total_cmp);
        let g = gini_sorted_tail(&tail, cells.len());
        let (ga, ta) = match &area_index {
            None => (f64::NAN, f64::NAN),
            Some((idx, na)) => {
                let mut v = vec![0.0; *na];
                for &(k, cnt) in &counts {
                    if let Some(a) = idx[cells[k]] {
                        v[a] += cnt as f64;
                    }
                }
                (gini(&v), theil(&v))
            }
        };
        [g, t, ga, ta]
    });
    let level = |obs_g: f64, obs_t: f64, n: usize, k: usize| -> Inequality {
        let alpha = (1.0 - params.confidence) / 2.0;
        let summarise = |j: usize| {
            let mut v: Vec<f64> = sims
                .iter()
                .map(|s| s[j])
                .filter(|x| x.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            (
                if v.is_empty() { f64::NAN } else { mean },
                (quantile_sorted(&v, alpha), quantile_sorted(&v, 1.0 - alpha)),
                v,
            )
        };
        let (gm, gci, gv) = summarise(k);
        let (tm, tci, _) = summarise(k + 1);
        // one-sided: is the allocation more concentrated than random placement?
        let exceed = Exceedances::count(obs_g, &gv, 1e-12);
        Inequality {
            n,
            gini: obs_g,
            theil: obs_t,
            baseline_gini_mean: gm,
            baseline_gini_ci: gci,
            baseline_theil_mean: tm,
            baseline_theil_ci: tci,
            gini_over_baseline: obs_g - gm,
            theil_over_baseline: obs_t - tm,
            share_random_at_least_as_concentrated: exceed.p_value(Alternative::Greater),
        }
    };
    let cells_level = level(gini(&cell_dose), theil(&cell_dose), cells.len(), 0);
    let areas_level = area_dose.map(|v| level(gini(&v), theil(&v), v.len(), 2));
    Ok(ConcentrationResult {
        cells: cells_level,
        areas: areas_level,
        budget,
        unit: params.unit,
        quanta: q as u64,
        simulations: params.simulations,
        confidence: params.confidence,
        seed: params.seed,
        baseline: format!(
            "{q} quanta of {} placed on uniformly random active cells (multinomial), {} times",
            params.unit, params.simulations
        ),
    })
}

fn run_lengths(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &x in sorted {
        match out.last_mut() {
            Some((v, k)) if *v == x => *k += 1,
            _ => out.push((x, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_gini(v: &[f64]) -> f64 {
        let n = v.len() as f64;
        let mu = v.iter().sum::<f64>() / n;
        let mut s = 0.0;
        for a in v {
            for b in v {
                s += (a - b).abs();
            }
        }
        s / (2.0 * n * n * mu)
    }

    proptest! {
        #[test]
        fn gini_matches_pairwise_definition(v in proptest::collection::vec(0.0f64..100.0, 1..60)) {
            prop_assume!(v.iter().sum::<f64>() > 0.0);
            prop_assert!((gini(&v) - brute_gini(&v)).abs() < 1e-9);
            let t = theil(&v);
            prop_assert!(t >= -1e-12 && t <= (v.len() as f64).ln() + 1e-9);
        }
    }

    #[test]
    fn baseline_of_a_spread_budget() {
        // 4 units on 4 of 100 cells: raw Gini 0.96. Random placement of 4 quanta gives the
        // same Gini unless two land on one cell (then 0.97): P(all distinct) = 0.9411.
        let mut dose = vec![0.0; 100];
        for d in dose.iter_mut().take(4) {
            *d = 1.0;
        }
        let active = vec![true; 100];
        let r = concentration(
            &dose,
            &active,
            None,
            &ConcentrationParams {
                simulations: 4000,
                seed: 3,
                ..Default::default()
            },
        )
        .unwrap();
        assert!((r.cells.gini - 0.96).abs() < 1e-12);
        // Exact expectation over the multinomial patterns of 4 quanta on 100 cells:
        // all distinct G = 0.96, one pair 0.975, two pairs 0.98, a triple 0.985, all four 0.99.
        let p_distinct = 0.99 * 0.98 * 0.97;
        let p_two_pairs = 3.0 * 100.0 * 99.0 / 1e8;
        let p_triple = 4.0 * 100.0 * 99.0 / 1e8;
        let p_four = 100.0 / 1e8;
        let p_pair = 1.0 - p_distinct - p_two_pairs - p_triple - p_four;
        let expected = 0.96 * p_distinct
            + 0.975 * p_pair
            + 0.98 * p_two_pairs
            + 0.985 * p_triple
            + 0.99 * p_four;
        // Monte Carlo sd of the mean ≈ 0.015·sqrt(0.06·0.94)/sqrt(4000) ≈ 6e-5; allow 5 sd.
        assert!(
            (r.cells.baseline_gini_mean - expected).abs() < 3e-4,
            "{} vs {expected}",
            r.cells.baseline_gini_mean
        );
        assert!(r.cells.gini_over_baseline < 0.0);
    }

    #[test]
    fn areas_and_thread_count() {
        let n = 400;
        let dose: Vec<f64> = (0..n).map(|c| if c < 20 { 2.0 } else { 0.0 }).collect();
        let active: Vec<bool> = (0..n).map(|c| c < 20 || c % 13 != 5).collect();
        let areas: Vec<i64> = (0..n).map(|c| (c / 40) as i64).collect();
        let p = ConcentrationParams {
            simulations: 300,
            seed: 9,
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
        let a = one.install(|| concentration(&dose, &active, Some(&areas), &p).unwrap());
        let b = four.install(|| concentration(&dose, &active, Some(&areas), &p).unwrap());
        assert_eq!(a.cells.baseline_gini_mean, b.cells.baseline_gini_mean);
        let (aa, ba) = (a.areas.unwrap(), b.areas.unwrap());
        assert_eq!(aa.baseline_gini_ci, ba.baseline_gini_ci);
        assert_eq!(aa.n, 10);
        // All dose in area 0: area Gini (10 areas) = 0.9, far above a random spread.
        assert!((aa.gini - 0.9).abs() < 1e-12);
        assert!(aa.gini_over_baseline > 0.5);
        // no random spread is as concentrated: the +1 rule gives 1 / (300 + 1)
        assert_eq!(aa.share_random_at_least_as_concentrated, 1.0 / 301.0);
    }

    #[test]
    fn bad_inputs() {
        let active = vec![true, false, true];
        let p = ConcentrationParams::default();
        let e = concentration(&[0.0, 0.0, 0.0], &active, None, &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("budget is zero"), "{e}");
        let e = concentration(&[1.0, 1.0, 0.0], &active, None, &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1") && e.contains("inactive"), "{e}");
        let e = concentration(&[1.0, 0.0], &active, None, &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dose"), "{e}");
        let bad = ConcentrationParams {
            unit: 0.0,
            ..Default::default()
        };
        let e = concentration(&[1.0, 0.0, 0.0], &active, None, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unit"), "{e}");
        let e = concentration(&[1.0, 0.0, 0.0], &active, Some(&[0, -2, 0]), &p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("areas"), "{e}");
        let tiny = ConcentrationParams {
            unit: 1e-9,
            ..Default::default()
        };
        let e = concentration(&[1.0, 0.0, 0.0], &active, None, &tiny).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }));
    }
}
