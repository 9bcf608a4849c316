//! The two-region Pólya urn of Ensign, Friedler, Neville, Scheidegger & Venkatasubramanian
//! (2018, "Runaway Feedback Loops in Predictive Policing", PMLR 81:160–171).
//!
//! An urn holds balls of two colours, one per region; its share of colour A is the predictor's
//! belief. Each day a ball is drawn and police go to its region; the incidents they record are
//! added back as balls. Updates:
//!
//! * `Discovered`: only incidents police discover where they went, Poisson(λ_i) in the visited
//!   region i. Update matrix rows (a, b) = (λ_A, 0) and (c, d) = (0, λ_B): the urn runs away to
//!   the region with the higher rate.
//! * `Reported`: residents report incidents in both regions whoever is patrolled,
//!   Poisson(λ_A) and Poisson(λ_B) every day: rows (λ_A, λ_B), (λ_A, λ_B); the urn learns the
//!   truth λ_A / (λ_A + λ_B).
//! * `Mixed { reported_share: w }`: a share w of each region's incidents is reported every day,
//!   the rest is discovered only where police go: rows (λ_A, wλ_B), (wλ_A, λ_B). Reports damp the
//!   runaway but do not remove it (the paper's §5).
//!
//! The correction (the paper's §4.3) counts each discovered incident of region i with
//! probability proportional to 1 − p_i, where p_i is the urn's current chance of sending police
//! to i, normalised so that the larger acceptance is 1; reported incidents are always counted.
//! Decay multiplies the balls by (1 − decay) before each update (an urn that forgets).
//!
//! The analytic fixed point of an uncorrected urn with update rows (a, b), (c, d) is the stable
//! root in [0, 1] of (c + d − a − b)x² + (a − 2c − d)x + c = 0, the zero of the expected drift
//! of the share (Renlund 2010, "Generalized Pólya urns via stochastic approximation"). With the
//! correction the drift is state-dependent; its stable zero is found numerically.
//!
//! # Examples
//! ```
//! use placewise::audit::{ensign_urn, EnsignParams, Update};
//! let p = EnsignParams { rates: (3.68511, 2.816466), prior: (609.0, 379.0), draws: 1000,
//!                        runs: 20, ..Default::default() };
//! let r = ensign_urn(&p).unwrap();
//! assert_eq!(r.fixed_point, Some(1.0));      // discovered-only updates run away to region A
//! assert_eq!(r.verdict, "runaway");
//! ```

use rand_distr::{Binomial, Distribution};
use serde::{Deserialize, Serialize};

use crate::montecarlo::simulate;
use crate::rng::PoissonTable;
use crate::{Error, Result};

/// Which incidents feed the urn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// Only incidents discovered in the patrolled region.
    Discovered,
    /// Incidents reported in both regions every day.
    Reported,
    /// A share of incidents reported, the rest discovered.
    Mixed {
        /// Share w ∈ [0, 1] of each region's incidents that residents report.
        reported_share: f64,
    },
}

/// Parameters of [`ensign_urn`], with documented defaults.
#[derive(Debug, Clone)]
pub struct EnsignParams {
    /// True daily incident rates (λ_A, λ_B), both > 0.
    pub rates: (f64, f64),
    /// Initial balls (A, B), both > 0.
    pub prior: (f64, f64),
    /// Days (draws) per run (default 1000).
    pub draws: usize,
    /// Monte Carlo runs (default 200).
    pub runs: usize,
    /// Which incidents update the urn (default discovered-only).
    pub update: Update,
    /// Share of balls forgotten before each update, in [0, 1) (default 0).
    pub decay: f64,
    /// Apply the Ensign correction to discovered incidents (default false).
    pub correction: bool,
    /// |fixed point − truth| at or below which the urn is said to learn the truth (default 0.02).
    pub tolerance: f64,
    /// Seed; run r draws from stream r.
    pub seed: u64,
}

impl Default for EnsignParams {
    fn default() -> Self {
        EnsignParams {
            rates: (3.68511, 2.816466),
            prior: (609.0, 379.0),
            draws: 1000,
            runs: 200,
            update: Update::Discovered,
            decay: 0.0,
            correction: false,
            tolerance: 0.02,
            seed: 0,
        }
    }
}

/// Result of [`ensign_urn`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnsignResult {
    /// Share of balls of colour A after each draw, `runs` rows of `draws + 1` (row-major; the
    /// first value of each row is the prior share).
    pub trajectories: Vec<f64>,
    /// Runs.
    pub runs: usize,
    /// Draws per run.
    pub draws: usize,
    /// Final share of A of each run.
    pub final_shares: Vec<f64>,
    /// Share of days police went to A, per run.
    pub visit_shares: Vec<f64>,
    /// Mean of the final shares.
    pub mean_final_share: f64,
    /// λ_A / (λ_A + λ_B).
    pub truth: f64,
    /// Initial share of A.
    pub prior_share: f64,
    /// Expected update rows (a, b), (c, d) without the correction.
    pub update_matrix: [[f64; 2]; 2],
    /// The stable fixed point of the share, when there is a unique one (None when every share
    /// is a fixed point, i.e. the expected drift is zero everywhere).
    pub fixed_point: Option<f64>,
    /// "runaway" (the stable fixed point is 0 or 1 although both regions have incidents),
    /// "biased" (an interior fixed point away from the truth by more than the tolerance, or
    /// no drift from a prior away from the truth), or "converges".
    pub verdict: String,
    /// Mean |final share − truth| over runs.
    pub mean_abs_error: f64,
    /// |prior share − truth|.
    pub prior_abs_error: f64,
    /// The tolerance used in the verdict.
    pub tolerance: f64,
    /// Whether the correction was applied.
    pub correction: bool,
    /// Decay used.
    pub decay: f64,
    /// Update rule used.
    pub update: Update,
    /// Seed used.
    pub seed: u64,
}

/// Limit on runs × draws.
pub const MAX_STEPS: u64 = 100_000_000;

fn validate(p: &EnsignParams) -> Result<()> {
    for (name, v) in [("rates", p.rates.0), ("rates", p.rates.1)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::param(
                name,
                format!(
                    "both rates must be finite and > 0, got ({}, {})",
                    p.rates.0, p.rates.1
                ),
            ));
        }
    }
    if !(p.prior.0.is_finite() && p.prior.0 > 0.0 && p.prior.1.is_finite() && p.prior.1 > 0.0) {
        return Err(Error::param(
            "prior",
            format!(
                "both prior counts must be finite and > 0, got ({}, {})",
                p.prior.0, p.prior.1
            ),
        ));
    }
    if p.draws == 0 {
        return Err(Error::param("draws", "must be at least 1"));
    }
    if p.runs == 0 {
        return Err(Error::param("runs", "must be at least 1"));
    }
    let steps = p.draws as u64 * p.runs as u64;
    if steps > MAX_STEPS {
        return Err(Error::TooLarge {
            param: "draws".into(),
            what: "urn steps (runs × draws)".into(),
            requested: steps,
            limit: MAX_STEPS,
        });
    }
    if !(p.decay.is_finite() && (0.0..1.0).contains(&p.decay)) {
        return Err(Error::param(
            "decay",
            format!("must lie in [0, 1), got {}", p.decay),
        ));
    }
    if let Update::Mixed { reported_share } = p.update {
        if !(reported_share.is_finite() && (0.0..=1.0).contains(&reported_share)) {
            return Err(Error::param(
                "reported_share",
                format!("must lie in [0, 1], got {reported_share}"),
            ));
        }
    }
    if !(p.tolerance.is_finite() && p.tolerance > 0.0 && p.tolerance < 0.5) {
        return Err(Error::param(
            "tolerance",
            format!("must lie in (0, 0.5), got {}", p.tolerance),
        ));
    }
    Ok(())
}

/// (discovered rate multiplier, reported share) of an update rule.
fn shares(u: Update) -> (f64, f64) {
    match u {
        Update::Discovered => (1.0, 0.0),
        Update::Reported => (0.0, 1.0),
        Update::Mixed { reported_share } => (1.0 - reported_share, reported_share),
    }
}

/// Expected update rows (a, b), (c, d) of an uncorrected urn: row 1 when A is drawn.
pub fn update_matrix(rates: (f64, f64), update: Update) -> [[f64; 2]; 2] {
    let (dsc, rep) = shares(update);
    let (la, lb) = rates;
    [
        [dsc * la + rep * la, rep * lb],
        [rep * la, dsc * lb + rep * lb],
    ]
}

/// Stable root in [0, 1] of (c + d − a − b)x² + (a − 2c − d)x + c, the expected drift of the
/// share of A. None when the drift is identically zero.
pub fn fixed_point_quadratic(m: [[f64; 2]; 2]) -> Option<f64> {
    let ([a, b], [c, d]) = (m[0], m[1]);
    let qa = c + d - a - b;
    let qb = a - 2.0 * c - d;
    let qc = c;
    let drift = |x: f64| qa * x * x + qb * x + qc;
    stable_zero(drift)
}

/// Stable zero of a drift on [0, 1]: where it crosses from positive to negative, or an end
/// that the drift pushes towards. Found on a fine grid and refined by bisection.
fn stable_zero(drift: impl Fn(f64) -> f64) -> Option<f64> {
    const N: usize = 4096;
    let xs: Vec<f64> = (0..=N).map(|i| i as f64 / N as f64).collect();
    let fs: Vec<f64> = xs.iter().map(|&x| drift(x)).collect();
    let scale = fs.iter().fold(0.0f64, |m, f| m.max(f.abs()));
    if scale == 0.0 {
        return None;
    }
    let eps = scale * 1e-12;
    let sign = |f: f64| {
        if f > eps {
            1
        } else if f < -eps {
            -1
        } else {
            0
        }
    };
    // Interior crossings from + to −.
    let mut prev_nonzero: Option<(usize, i32)> = None;
    for i in 0..=N {
        let s = sign(fs[i]);
        if s == 0 {
            continue;
        }
        if let Some((j, ps)) = prev_nonzero {
            if ps > 0 && s < 0 {
                let (mut lo, mut hi) = (xs[j], xs[i]);
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi);
                    if drift(mid) > 0.0 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                return Some(0.5 * (lo + hi));
            }
        }
        prev_nonzero = Some((i, s));
    }
    // No interior stable crossing: the end the drift pushes towards.
    let first = fs.iter().map(|&f| sign(f)).find(|&s| s != 0)?;
    Some(if first > 0 { 1.0 } else { 0.0 })
}

/// Expected drift of the share of A under the correction (or without it).
fn drift(x: f64, rates: (f64, f64), update: Update, correction: bool) -> f64 {
    let (dsc, rep) = shares(update);
    let (la, lb) = rates;
    let (acc_a, acc_b) = if correction {
        acceptance(x)
    } else {
        (1.0, 1.0)
    };
    let add_a = x * dsc * la * acc_a + rep * la;
    let add_b = (1.0 - x) * dsc * lb * acc_b + rep * lb;
    add_a - x * (add_a + add_b)
}

/// Acceptance of discovered incidents from A and B when A is visited with probability `x`.
fn acceptance(x: f64) -> (f64, f64) {
    let (ua, ub) = (1.0 - x, x);
    let m = ua.max(ub);
    (ua / m, ub / m)
}

/// Binomial(k, acc) thinning of `k` discovered incidents: one Bernoulli draw per incident for
/// the small counts a day brings (exact, and cheaper than setting up a binomial sampler for
/// each draw), `rand_distr`'s binomial sampler beyond 32.
fn thin(k: u64, acc: f64, rng: &mut crate::rng::Rng) -> u64 {
    if k <= 32 {
        (0..k).filter(|_| rng.bernoulli(acc)).count() as u64
    } else {
        Binomial::new(k, acc).map(|b| b.sample(rng)).unwrap_or(k)
    }
}

/// Runs the urn `runs` times for `draws` days, in parallel over runs (each run draws from its
/// own stream of `seed`, so results do not depend on the number of threads).
pub fn ensign_urn(p: &EnsignParams) -> Result<EnsignResult> {
    validate(p)?;
    let (dsc, rep) = shares(p.update);
    let (la, lb) = p.rates;
    let pois = PoissonTable::new;
    let (disc_a, disc_b) = (pois(dsc * la), pois(dsc * lb));
    let (rep_a, rep_b) = (pois(rep * la), pois(rep * lb));
    let prior_share = p.prior.0 / (p.prior.0 + p.prior.1);
    let runs: Vec<(Vec<f64>, f64)> = simulate(p.runs, p.seed, |_, rng| {
        let (mut na, mut nb) = p.prior;
        let mut traj = Vec::with_capacity(p.draws + 1);
        traj.push(prior_share);
        let mut visits_a = 0usize;
        for _ in 0..p.draws {
            let x = na / (na + nb);
            let visit_a = rng.next_f64() < x;
            na *= 1.0 - p.decay;
            nb *= 1.0 - p.decay;
            let (dist, acc) = if visit_a {
                visits_a += 1;
                (&disc_a, acceptance(x).0)
            } else {
                (&disc_b, acceptance(x).1)
            };
            if let Some(d) = dist {
                let mut k = d.sample(rng);
                if p.correction && acc < 1.0 && k > 0 {
                    k = thin(k, acc, rng);
                }
                if visit_a {
                    na += k as f64;
                } else {
                    nb += k as f64;
                }
            }
            if let Some(d) = &rep_a {
                na += d.sample(rng) as f64;
            }
            if let Some(d) = &rep_b {
                nb += d.sample(rng) as f64;
            }
            traj.push(na / (na + nb));
        }
        (traj, visits_a as f64 / p.draws as f64)
    });
    let truth = la / (la + lb);
    let matrix = update_matrix(p.rates, p.update);
    let fixed = if p.correction && dsc > 0.0 {
        stable_zero(|x| drift(x, p.rates, p.update, true))
    } else {
        fixed_point_quadratic(matrix)
    };
    let final_shares: Vec<f64> = runs.iter().map(|(t, _)| *t.last().unwrap()).collect();
    let visit_shares: Vec<f64> = runs.iter().map(|(_, v)| *v).collect();
    let nr = p.runs as f64;
    let mean_final = final_shares.iter().sum::<f64>() / nr;
    let mae = final_shares.iter().map(|s| (s - truth).abs()).sum::<f64>() / nr;
    let prior_err = (prior_share - truth).abs();
    let verdict = match fixed {
        Some(f) if (f == 0.0 || f == 1.0) && (f - truth).abs() > p.tolerance => "runaway",
        Some(f) if (f - truth).abs() > p.tolerance => "biased",
        Some(_) => "converges",
        None if prior_err > p.tolerance => "biased",
        None => "converges",
    };
    let mut trajectories = Vec::with_capacity(p.runs * (p.draws + 1));
    for (t, _) in runs {
        trajectories.extend(t);
    }
    Ok(EnsignResult {
        trajectories,
        runs: p.runs,
        draws: p.draws,
        final_shares,
        visit_shares,
        mean_final_share: mean_final,
        truth,
        prior_share,
        update_matrix: matrix,
        fixed_point: fixed,
        verdict: verdict.to_string(),
        mean_abs_error: mae,
        prior_abs_error: prior_err,
        tolerance: p.tolerance,
        correction: p.correction,
        decay: p.decay,
        update: p.update,
        seed: p.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OAKLAND: EnsignParams = EnsignParams {
        rates: (3.68511, 2.816466),
        prior: (609.0, 379.0),
        draws: 1000,
        runs: 200,
        update: Update::Discovered,
        decay: 0.0,
        correction: false,
        tolerance: 0.02,
        seed: 7,
    };

    #[test]
    fn oakland_runs_away_without_the_correction() {
        let r = ensign_urn(&OAKLAND).unwrap();
        assert_eq!(r.verdict, "runaway");
        assert_eq!(r.fixed_point, Some(1.0));
        // The share of A moves away from the truth (0.567) beyond the prior (0.616): the ODE
        // of the drift predicts about 0.70 after 1000 days.
        assert!(r.mean_final_share > 0.66, "{}", r.mean_final_share);
        assert!(r.mean_abs_error > r.prior_abs_error + 0.04);
    }

    #[test]
    fn oakland_learns_the_truth_with_the_correction() {
        let r = ensign_urn(&EnsignParams {
            correction: true,
            ..OAKLAND
        })
        .unwrap();
        let truth = 3.68511 / (3.68511 + 2.816466);
        assert!((r.fixed_point.unwrap() - truth).abs() < 1e-9);
        assert_eq!(r.verdict, "converges");
        // Each run's share is a weighted mean of the prior (0.616, 988 balls) and ~2,500 new
        // balls whose expected A share is the truth: about 0.58 after 1000 days, and closer
        // than the prior. The Monte Carlo sd of the mean over 200 runs is below 0.002.
        assert!(r.mean_abs_error < r.prior_abs_error);
        assert!(
            (r.mean_final_share - truth).abs() < 0.03,
            "{}",
            r.mean_final_share
        );
        let long = ensign_urn(&EnsignParams {
            correction: true,
            draws: 20_000,
            runs: 50,
            ..OAKLAND
        })
        .unwrap();
        assert!(
            (long.mean_final_share - truth).abs() < 0.01,
            "{}",
            long.mean_final_share
        );
    }

    #[test]
    fn reported_updates_learn_the_truth_and_mixed_is_in_between() {
        let m = update_matrix((3.0, 1.0), Update::Reported);
        assert!((fixed_point_quadratic(m).unwrap() - 0.75).abs() < 1e-12);
        let mixed = fixed_point_quadratic(update_matrix(
            (3.0, 1.0),
            Update::Mixed {
                reported_share: 0.5,
            },
        ))
        .unwrap();
        // Rows (a, b) = (3, 0.5), (c, d) = (1.5, 1), by hand: (1.5+1−3−0.5)x² + (3−3−1)x + 1.5
        // = −x² − x + 1.5 = 0, whose root in [0, 1] is x = (√7 − 1)/2 ≈ 0.823.
        assert!((mixed - (7f64.sqrt() - 1.0) / 2.0).abs() < 1e-12);
        assert!(mixed > 0.75 && mixed < 1.0);
        let r = ensign_urn(&EnsignParams {
            update: Update::Mixed {
                reported_share: 0.5,
            },
            ..OAKLAND
        })
        .unwrap();
        assert_eq!(r.verdict, "biased");
    }

    #[test]
    fn numeric_and_quadratic_fixed_points_agree() {
        for (la, lb) in [(3.0, 1.0), (1.0, 2.0), (2.5, 2.4)] {
            for w in [0.0, 0.3, 0.7, 1.0] {
                let u = Update::Mixed { reported_share: w };
                let q = fixed_point_quadratic(update_matrix((la, lb), u)).unwrap();
                let n = stable_zero(|x| drift(x, (la, lb), u, false)).unwrap();
                assert!((q - n).abs() < 1e-9, "{la} {lb} {w}: {q} vs {n}");
            }
        }
        assert_eq!(
            fixed_point_quadratic(update_matrix((2.0, 2.0), Update::Discovered)),
            None
        );
    }

    #[test]
    fn identical_across_thread_counts() {
        let p = EnsignParams {
            runs: 16,
            draws: 300,
            correction: true,
            decay: 0.01,
            ..OAKLAND
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let a = one.install(|| ensign_urn(&p).unwrap());
        let b = four.install(|| ensign_urn(&p).unwrap());
        assert_eq!(a.trajectories, b.trajectories);
        let c = ensign_urn(&EnsignParams { seed: 8, ..p }).unwrap();
        assert_ne!(a.trajectories, c.trajectories);
    }

    #[test]
    fn bad_inputs() {
        for rates in [(0.0, 1.0), (1.0, -2.0), (f64::NAN, 1.0)] {
            let e = ensign_urn(&EnsignParams { rates, ..OAKLAND }).unwrap_err();
            assert!(e.to_string().contains("rates"), "{e}");
        }
        let e = ensign_urn(&EnsignParams {
            prior: (0.0, 3.0),
            ..OAKLAND
        })
        .unwrap_err();
        assert!(e.to_string().contains("prior"));
        let e = ensign_urn(&EnsignParams {
            decay: 1.0,
            ..OAKLAND
        })
        .unwrap_err();
        assert!(e.to_string().contains("decay"));
        let e = ensign_urn(&EnsignParams {
            draws: 0,
            ..OAKLAND
        })
        .unwrap_err();
        assert!(e.to_string().contains("draws"));
        let e = ensign_urn(&EnsignParams {
            update: Update::Mixed {
                reported_share: 1.5,
            },
            ..OAKLAND
        })
        .unwrap_err();
        assert!(e.to_string().contains("reported_share"));
        let e = ensign_urn(&EnsignParams {
            runs: 100_000,
            draws: 100_000,
            ..OAKLAND
        })
        .unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }));
    }
}
