use rayon::prelude::*;

use crate::allocate::budget::Budget;
use crate::allocate::fair::{fair, FairParams};
use crate::allocate::groups::GroupCounts;
use crate::allocate::{proportional, randomized, top_k};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// How to place the budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// The highest-risk cells ([`top_k`](crate::allocate::top_k())).
    TopK,
    /// In proportion to risk, largest-remainder rounding ([`proportional`](crate::allocate::proportional())).
    Proportional,
    /// Sampled in proportion to risk with an exploration floor ([`randomized`](crate::allocate::randomized())).
    Randomized {
        /// Share of the budget spread uniformly, in [0, 1].
        epsilon: f64,
        /// Seed of the draw.
        seed: u64,
    },
    /// Maximum risk covered within per-group exposure bounds ([`fair`](crate::allocate::fair())).
    Fair(FairParams),
}

impl Strategy {
    /// The strategy's name as the Python API spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::TopK => "top_k",
            Strategy::Proportional => "proportional",
            Strategy::Randomized { .. } => "randomized",
            Strategy::Fair(_) => "fair",
        }
    }
}

/// The price of fairness (Bertsimas, Farias & Trichakis 2011): the expected risk covered by
/// the unconstrained optimum (`top_k` under the same budget, caps and districts) minus that
/// covered by `fair`, and that loss as a share of the unconstrained optimum.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriceOfFairness {
    /// Risk covered by `top_k`.
    pub top_k_risk_covered: f64,
    /// Risk covered by `fair`.
    pub fair_risk_covered: f64,
    /// `top_k_risk_covered − fair_risk_covered` (≥ 0 up to solver tolerance).
    pub absolute: f64,
    /// `absolute / top_k_risk_covered` (0 when `top_k` covers no risk).
    pub share: f64,
}

/// Units per active cell and what they cover.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Allocation {
    /// Units per active cell (ascending cell id).
    pub dose: Vec<f64>,
    /// The dose each cell gets in expectation: the exact proportional share for
    /// `proportional`, the sampling target for `randomized`, the dose itself otherwise.
    pub expected_dose: Vec<f64>,
    /// `Σ_c risk_c · dose_c`.
    pub risk_covered: f64,
    /// `Σ_c risk_c`.
    pub total_risk: f64,
    /// Per-capita exposure by group (units per person), when a population was given.
    pub exposure: Option<Vec<f64>>,
    /// Per-capita exposure of the whole population, when a population was given.
    pub average_exposure: Option<f64>,
    /// For `fair`: the price of fairness.
    pub price_of_fairness: Option<PriceOfFairness>,
}

fn covered(risk: &[f64], dose: &[f64]) -> f64 {
    risk.iter().zip(dose).map(|(r, d)| r * d).sum()
}

/// Places `budget` over the active cells with `strategy`.
///
/// `risk` holds one value per active cell in ascending cell-id order; `population` (optional
/// except for `fair`) one row per active cell. The expected risk covered is
/// `Σ_c risk_c · dose_c`: a unit patrolling a cell for the whole shift covers its risk (with the
/// default per-cell cap of 1 this is the risk of the patrolled cells, Wheeler 2019).
///
/// # Examples
/// ```
/// use placewise::allocate::{allocate, Budget, Strategy};
/// let a = allocate(&[0.2, 0.9, 0.4], &Budget::new(2.0), &Strategy::TopK, None).unwrap();
/// assert_eq!(a.dose, vec![0.0, 1.0, 1.0]);
/// assert!((a.risk_covered - 1.3).abs() < 1e-12);
/// ```
pub fn allocate(
    risk: &[f64],
    budget: &Budget,
    strategy: &Strategy,
    population: Option<&GroupCounts>,
) -> Result<Allocation> {
    if let Some(p) = population {
        if p.n_cells() != risk.len() {
            return Err(Error::param(
                "population",
                format!(
                    "has {} rows but there are {} active cells",
                    p.n_cells(),
                    risk.len()
                ),
            ));
        }
    }
    let mut pof = None;
    let (dose, expected) = match strategy {
        Strategy::TopK => {
            let d = top_k(risk, budget)?;
            (d.clone(), d)
        }
        Strategy::Proportional => proportional(risk, budget)?,
        Strategy::Randomized { epsilon, seed } => randomized(risk, budget, *epsilon, *seed)?,
        Strategy::Fair(params) => {
            let pop = population.ok_or_else(|| {
                Error::param(
                    "population",
                    "the fair strategy needs population counts by group",
                )
            })?;
            let d = fair(risk, budget, pop, params)?;
            let best = covered(risk, &top_k(risk, budget)?);
            let got = covered(risk, &d);
            let absolute = (best - got).max(0.0);
            pof = Some(PriceOfFairness {
                top_k_risk_covered: best,
                fair_risk_covered: got,
                absolute,
                share: if best > 0.0 { absolute / best } else { 0.0 },
            });
            (d.clone(), d)
        }
    };
    Ok(Allocation {
        risk_covered: covered(risk, &dose),
        total_risk: risk.iter().sum(),
        exposure: population.map(|p| p.exposure(&dose)),
        average_exposure: population.map(|p| p.average_exposure(&dose)),
        price_of_fairness: pof,
        dose,
        expected_dose: expected,
    })
}

/// One shift of a multi-shift plan: its own risk surface (active cells) and budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Risk per active cell for this shift.
    pub risk: Vec<f64>,
    /// This shift's budget.
    pub budget: Budget,
}

/// Allocates every shift with the same strategy and population, in parallel.
///
/// For `randomized`, shift `i` draws from its own stream derived from `(seed, i)`
/// (its seed is the first output of [`Rng::stream`]`(seed, i)`), so the plan is identical whatever the number of threads.
/// Errors name the failing shift (`shifts[i]: ...` in the parameter or constraint name).
pub fn allocate_shifts(
    shifts: &[Shift],
    strategy: &Strategy,
    population: Option<&GroupCounts>,
) -> Result<Vec<Allocation>> {
    if shifts.is_empty() {
        return Err(Error::empty("shifts: a plan needs at least one shift"));
    }
    shifts
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let strat = match strategy {
                Strategy::Randomized { epsilon, seed } => Strategy::Randomized {
                    epsilon: *epsilon,
                    seed: Rng::stream(*seed, i as u64).next_u64(),
                },
                other => other.clone(),
            };
            allocate(&s.risk, &s.budget, &strat, population).map_err(|e| in_shift(e, i))
        })
        .collect()
}

fn in_shift(e: Error, i: usize) -> Error {
    match e {
        Error::InvalidParameter { name, reason } => Error::InvalidParameter {
            name: format!("shifts[{i}].{name}"),
            reason,
        },
        Error::Infeasible { constraint, reason } => Error::Infeasible {
            constraint: format!("shifts[{i}].{constraint}"),
            reason,
        },
        Error::DataValidation {
            row,
            column,
            reason,
        } => Error::DataValidation {
            row,
            column,
            reason: format!("shift {i}: {reason}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn shifts(n: usize, k: usize) -> Vec<Shift> {
        (0..k)
            .map(|s| Shift {
                risk: (0..n).map(|c| ((c * 37 + s * 11) % 17) as f64).collect(),
                budget: Budget::new(5.0 + s as f64),
            })
            .collect()
    }

    #[test]
    fn plans_are_identical_across_thread_counts() {
        let sh = shifts(200, 6);
        let strat = Strategy::Randomized {
            epsilon: 0.2,
            seed: 99,
        };
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| allocate_shifts(&sh, &strat, None).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(4));
        // Different shifts draw from different streams.
        assert_ne!(one[0].dose[..], one[1].dose[..]);
    }

    #[test]
    fn fair_needs_population_and_reports_price() {
        let risk = vec![5.0, 1.0, 0.8, 0.5];
        let b = Budget::new(2.0);
        let e = allocate(&risk, &b, &Strategy::Fair(FairParams::default()), None).unwrap_err();
        assert!(e.to_string().contains("population"));
        let counts =
            Array2::from_shape_vec((4, 2), vec![50.0, 0.0, 50.0, 0.0, 0.0, 50.0, 0.0, 50.0])
                .unwrap();
        let pop = GroupCounts::new(counts, vec!["A".into(), "B".into()]).unwrap();
        let a = allocate(
            &risk,
            &b,
            &Strategy::Fair(FairParams::default()),
            Some(&pop),
        )
        .unwrap();
        let p = a.price_of_fairness.unwrap();
        // top_k: cells 0 and 1 (both in A) cover 6. By hand: with a units in A's cells and b in
        // B's (a + b = 2, equal group sizes), E_B ≥ 0.8 · (E_A + E_B) / 2 gives a ≤ 1.5 b, so
        // a = 1.2 (cell 0 full, 0.2 on cell 1) and b = 0.8 on cell 2: 5 + 0.2 + 0.64 = 5.84.
        assert_eq!(p.top_k_risk_covered, 6.0);
        assert!((p.absolute - 0.16).abs() < 1e-9, "{p:?}");
        assert!((p.share - 0.16 / 6.0).abs() < 1e-9);
        assert!((p.fair_risk_covered - a.risk_covered).abs() < 1e-12);
        let e = a.exposure.unwrap();
        assert!(e[0] / e[1] <= 1.0 / 0.8 / 0.8 + 1e-9);
    }

    #[test]
    fn shift_errors_name_the_shift() {
        let mut sh = shifts(10, 3);
        sh[2].budget = Budget::new(11.0);
        let e = allocate_shifts(&sh, &Strategy::TopK, None).unwrap_err();
        assert!(e.to_string().contains("shifts[2].budget"), "{e}");
    }
}
