//! One Monte Carlo engine for every permutation test, bootstrap and simulation loop.
//!
//! In the spirit of esda's conditional randomisation (`esda/crand.py`): a statistic hands a
//! closure to [`simulate`] (or [`simulate_with`], which reuses per-thread scratch space), and
//! the engine owns seeding, the parallel loop and the p-value rule.
//!
//! **Seeding.** Simulation `i` draws only from [`Rng::stream(seed, i)`](crate::rng::Rng::stream),
//! and results come back in simulation order, so a seeded result is identical whatever the
//! number of rayon threads (or of workers that each run a range of simulations).
//!
//! **p-values** ([`Exceedances::p_value`]) follow the `+1` rule of Davison & Hinkley (1997,
//! *Bootstrap Methods and their Application*, §4.2.1) and North, Curtis & Sham (2002, "A note on
//! the calculation of empirical p values from Monte Carlo procedures", AJHG 71:439): with `n`
//! simulations of which `k` are at least as extreme as the observation, `p = (k + 1) / (n + 1)`,
//! never 0, and exact (valid) under the null. The sidedness is explicit ([`Alternative`]):
//!
//! * `Greater`: `k = #{sim ≥ obs}` — the observation is unusually large;
//! * `Less`: `k = #{sim ≤ obs}` — unusually small;
//! * `Folded`: the smaller of the two one-sided p-values, esda's `p_sim`: one-sided in the
//!   direction the observation is more extreme (not a valid p-value for a fixed direction);
//! * `TwoSided`: `min(1, 2 · Folded)`, the doubled smaller tail.
//!
//! Comparisons take an absolute tolerance (`obs − tol` for ≥, `obs + tol` for ≤) so that a
//! simulated value equal to the observation up to rounding counts as a tie, as it should.
//!
//! # Examples
//! ```
//! use placewise::montecarlo::{simulate, Alternative, Exceedances};
//! // Is 9 heads out of 10 unusual for a fair coin? 999 simulated experiments.
//! let sims: Vec<f64> = simulate(999, 7, |_, rng| (0..10).filter(|_| rng.bernoulli(0.5)).count() as f64);
//! let e = Exceedances::count(9.0, &sims, 1e-9);
//! let p = e.p_value(Alternative::Greater);
//! assert!(p > 0.0 && p < 0.05); // exact: P(X ≥ 9) = 11/1024 ≈ 0.011
//! assert_eq!(sims, simulate(999, 7, |_, rng| (0..10).filter(|_| rng.bernoulli(0.5)).count() as f64));
//! ```

use rayon::prelude::*;

use crate::rng::Rng;

/// Which tail a Monte Carlo p-value counts (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// `(1 + #{sim ≥ obs}) / (1 + n)`.
    Greater,
    /// `(1 + #{sim ≤ obs}) / (1 + n)`.
    Less,
    /// `min(Greater, Less)`: esda's folded `p_sim`.
    Folded,
    /// `min(1, 2 · Folded)`.
    TwoSided,
}

impl Alternative {
    /// The name used in results and reports.
    pub fn label(self) -> &'static str {
        match self {
            Alternative::Greater => "greater",
            Alternative::Less => "less",
            Alternative::Folded => "folded",
            Alternative::TwoSided => "two-sided",
        }
    }
}

/// How many of `n` simulations were at least / at most the observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exceedances {
    /// `#{sim ≥ obs − tol}`.
    pub at_least: u64,
    /// `#{sim ≤ obs + tol}`.
    pub at_most: u64,
    /// Number of simulations.
    pub n: u64,
}

impl Exceedances {
    /// Counts `sims` against `observed` with absolute tolerance `tol` (NaN simulations are
    /// neither at least nor at most the observation but still count in `n`; drop them first
    /// when they mean "undefined").
    pub fn count(observed: f64, sims: &[f64], tol: f64) -> Self {
        let mut e = Exceedances {
            n: sims.len() as u64,
            ..Default::default()
        };
        for &s in sims {
            e.at_least += (s >= observed - tol) as u64;
            e.at_most += (s <= observed + tol) as u64;
        }
        e
    }

    /// Counts integer simulations (exact comparison).
    pub fn count_u64(observed: u64, sims: impl IntoIterator<Item = u64>) -> Self {
        let mut e = Exceedances::default();
        for s in sims {
            e.n += 1;
            e.at_least += (s >= observed) as u64;
            e.at_most += (s <= observed) as u64;
        }
        e
    }

    /// The `+1`-rule p-value for `alternative`; NaN when there are no simulations.
    pub fn p_value(&self, alternative: Alternative) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let p = |k: u64| (k + 1) as f64 / (self.n + 1) as f64;
        match alternative {
            Alternative::Greater => p(self.at_least),
            Alternative::Less => p(self.at_most),
            Alternative::Folded => p(self.at_least.min(self.at_most)),
            Alternative::TwoSided => (2.0 * p(self.at_least.min(self.at_most))).min(1.0),
        }
    }
}

/// Runs `n` simulations in parallel; simulation `i` gets `Rng::stream(seed, i)`. Results are in
/// simulation order and do not depend on the thread count.
pub fn simulate<T, F>(n: usize, seed: u64, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, &mut Rng) -> T + Sync,
{
    (0..n)
        .into_par_iter()
        .map(|i| f(i, &mut Rng::stream(seed, i as u64)))
        .collect()
}

/// [`simulate`] with scratch space: `init` builds one per rayon task split, and `f` may reuse it
/// across the simulations that task runs (it must not carry information from one simulation to
/// the next, or results would depend on the scheduling).
pub fn simulate_with<S, T, I, F>(n: usize, seed: u64, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &mut Rng) -> T + Sync,
{
    (0..n)
        .into_par_iter()
        .map_init(init, |s, i| f(s, i, &mut Rng::stream(seed, i as u64)))
        .collect()
}

/// [`simulate`] into a flat buffer: simulation `i` fills `out[i·chunk .. (i+1)·chunk]` (for
/// many small fixed-size draws, without one allocation per simulation). `out.len()` must be a
/// multiple of `chunk` (`chunk > 0`).
pub fn simulate_into<T, F>(out: &mut [T], chunk: usize, seed: u64, f: F)
where
    T: Send,
    F: Fn(usize, &mut Rng, &mut [T]) + Sync,
{
    debug_assert!(chunk > 0 && out.len() % chunk == 0);
    out.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, c)| f(i, &mut Rng::stream(seed, i as u64), c));
}

/// Runs only the simulations `ids` (each with `Rng::stream(seed, id)`), in the order given: a
/// range of a larger study, for splitting it across workers; the union of the pieces equals
/// [`simulate`] over all ids.
pub fn simulate_ids<T, F>(ids: &[u64], seed: u64, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(u64, &mut Rng) -> T + Sync,
{
    ids.par_iter()
        .map(|&i| f(i, &mut Rng::stream(seed, i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_one_rule_and_sidedness() {
        let sims = [1.0, 2.0, 3.0, 4.0];
        let e = Exceedances::count(3.0, &sims, 0.0);
        assert_eq!((e.at_least, e.at_most, e.n), (2, 3, 4));
        assert_eq!(e.p_value(Alternative::Greater), 3.0 / 5.0);
        assert_eq!(e.p_value(Alternative::Less), 4.0 / 5.0);
        assert_eq!(e.p_value(Alternative::Folded), 3.0 / 5.0);
        assert_eq!(e.p_value(Alternative::TwoSided), 1.0);
        // An observation beyond every simulation: 1 / (n + 1), never 0.
        let e = Exceedances::count(10.0, &sims, 0.0);
        assert_eq!(e.p_value(Alternative::Greater), 0.2);
        assert_eq!(e.p_value(Alternative::TwoSided), 0.4);
        // Ties within the tolerance count.
        let e = Exceedances::count(3.0 + 1e-13, &sims, 1e-12);
        assert_eq!(e.at_least, 2);
        assert!(Exceedances::default()
            .p_value(Alternative::Greater)
            .is_nan());
        let e = Exceedances::count_u64(3, [1, 3, 5]);
        assert_eq!((e.at_least, e.at_most, e.n), (2, 2, 3));
    }

    /// Under the null the `+1` rule is exact: P(p ≤ α) ≤ α. With the observation itself drawn
    /// from the null and 19 simulations, P(p ≤ 0.05) = P(obs is the largest of 20) = 1/20.
    #[test]
    fn valid_under_the_null() {
        let reps = 4000;
        let rejected = simulate(reps, 11, |_, rng| {
            let obs = rng.next_f64();
            let sims: Vec<f64> = (0..19).map(|_| rng.next_f64()).collect();
            (Exceedances::count(obs, &sims, 0.0).p_value(Alternative::Greater) <= 0.05) as u32
        })
        .iter()
        .sum::<u32>();
        // Binomial(4000, 0.05): mean 200, sd 13.8; allow 5 sd.
        assert!((rejected as f64 - 200.0).abs() < 69.0, "{rejected}");
    }

    #[test]
    fn identical_with_one_and_four_threads() {
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| {
                let a = simulate(257, 5, |i, rng| (i, rng.next_u64()));
                let b = simulate_with(257, 5, Vec::new, |buf: &mut Vec<u64>, _, rng| {
                    buf.clear();
                    buf.extend((0..8).map(|_| rng.below(100)));
                    buf.iter().sum::<u64>()
                });
                (a, b)
            })
        };
        let (one, four) = (run(1), run(4));
        assert_eq!(one, four);
        assert!(one.0.iter().enumerate().all(|(i, &(j, _))| i == j));
        // Simulation i draws from stream (seed, i).
        assert_eq!(one.0[3].1, Rng::stream(5, 3).next_u64());
        // A subset of ids reproduces the same simulations.
        let part = simulate_ids(&[3, 200], 5, |_, rng| rng.next_u64());
        assert_eq!(part, vec![one.0[3].1, one.0[200].1]);
        let mut flat = vec![0u64; 2 * 257];
        simulate_into(&mut flat, 2, 5, |_, rng, c| {
            c[0] = rng.next_u64();
            c[1] = rng.next_u64();
        });
        assert_eq!(flat[6], one.0[3].1);
    }
}
