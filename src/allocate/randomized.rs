use crate::allocate::budget::{check_risk, Budget};
use crate::allocate::proportional::water_fill;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A random allocation that patrols cells in proportion to risk, with an exploration floor.
///
/// Each piece of the budget (a unit, or an hour when the budget has `shift_hours`) goes to
/// cell `c` with target probability `p_c = (1 − ε) · risk_c / Σ risk + ε / N` (N active
/// cells): a mixture of risk-proportional patrol and uniform exploration, the mitigation of
/// runaway feedback loops that keeps every place observed (Ensign et al. 2018, "Runaway
/// feedback loops in predictive policing", FAT*). The expected number of pieces of cell `c`
/// is `e_c = min(cap, θ · p_c)` with `Σ e_c` equal to the budget (cells over the cap are held
/// at it); since `θ ≥` the number of pieces `Q`, every cell's expected dose is at least
/// `ε · Q / N` pieces — the floor.
///
/// The draw is randomized systematic sampling (Goodman & Kish 1950; Hartley & Rao 1962): the
/// cells are put in a random order, laid end to end as intervals of length `e_c`, and a comb
/// of `Q` teeth one apart with a uniform random start picks the pieces. Each cell then gets
/// `⌊e_c⌋` or `⌈e_c⌉` pieces with mean exactly `e_c` (so its chance of any patrol is exactly
/// `e_c` when `e_c ≤ 1`), the budget is spent exactly and no cap is exceeded. The order and
/// the start come from the crate's [`Rng`] of `seed`: the same seed gives the same
/// allocation. District caps and minimums are not supported here (use `top_k` or `fair`).
///
/// Returns the units per cell and the expected units `e_c` (in units).
///
/// # Examples
/// ```
/// use placewise::allocate::{randomized, Budget};
/// let risk = [5.0, 1.0, 0.0, 2.0];
/// let (dose, expected) = randomized(&risk, &Budget::new(2.0), 0.2, 7).unwrap();
/// assert_eq!(dose.iter().sum::<f64>(), 2.0);
/// assert!(expected.iter().all(|&e| e >= 0.2 * 2.0 / 4.0 - 1e-12)); // the floor
/// assert_eq!(dose, randomized(&risk, &Budget::new(2.0), 0.2, 7).unwrap().0); // seeded
/// ```
pub fn randomized(
    risk: &[f64],
    budget: &Budget,
    epsilon: f64,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    check_risk(risk)?;
    budget.validate(risk.len())?;
    if !(epsilon.is_finite() && (0.0..=1.0).contains(&epsilon)) {
        return Err(Error::param(
            "epsilon",
            format!("the exploration floor must be in [0, 1], got {epsilon}"),
        ));
    }
    if budget.districts.is_some() {
        return Err(Error::param(
            "districts",
            "randomized does not support district caps or minimums; use top_k or fair",
        ));
    }
    let n = risk.len() as f64;
    let total: f64 = risk.iter().sum();
    let p: Vec<f64> = if total > 0.0 {
        risk.iter()
            .map(|&r| (1.0 - epsilon) * r / total + epsilon / n)
            .collect()
    } else if epsilon > 0.0 {
        vec![1.0 / n; risk.len()]
    } else {
        return Err(Error::data(
            None,
            "risk",
            "every cell has zero risk and epsilon is 0: sampling in proportion to risk is undefined",
        ));
    };
    let (pieces, cap) = budget.pieces("randomized")?;
    let e = water_fill(&p, pieces as f64, cap as f64, "randomized")?;
    let counts = systematic(&e, pieces, cap, &mut Rng::new(seed));
    let q = budget.quantum();
    Ok((
        counts.iter().map(|&c| c as f64 * q).collect(),
        e.iter().map(|&v| v * q).collect(),
    ))
}

/// Randomized systematic sampling of `pieces` pieces with expected counts `e` (Σ e = pieces,
/// each ≤ `cap`).
pub(crate) fn systematic(e: &[f64], pieces: u64, cap: u64, rng: &mut Rng) -> Vec<u64> {
    let mut order: Vec<usize> = (0..e.len()).collect();
    rng.shuffle(&mut order);
    let u = rng.next_open01();
    // Number of teeth u + j (j = 0..pieces) strictly below s.
    let teeth = |s: f64| -> u64 { ((s - u).ceil().max(0.0) as u64).min(pieces) };
    let mut out = vec![0u64; e.len()];
    let mut s = 0.0;
    let mut below = 0u64;
    for (k, &i) in order.iter().enumerate() {
        s += e[i];
        // The last interval ends exactly at the budget, whatever the rounding of the sum.
        let t = if k + 1 == order.len() {
            pieces
        } else {
            teeth(s)
        };
        out[i] = (t.saturating_sub(below)).min(cap);
        below = t.max(below);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_epsilon_is_refused() {
        for eps in [-0.1, 1.1, f64::NAN] {
            let e = randomized(&[1.0, 2.0], &Budget::new(1.0), eps, 0).unwrap_err();
            assert!(e.to_string().contains("epsilon"));
        }
        assert!(randomized(&[0.0, 0.0], &Budget::new(1.0), 0.0, 0).is_err());
        assert!(randomized(&[0.0, 0.0], &Budget::new(1.0), 0.5, 0).is_ok());
    }

    #[test]
    fn frequencies_converge_to_targets() {
        let risk = [8.0, 4.0, 2.0, 1.0, 0.0, 0.5, 3.0, 0.0];
        let b = Budget::new(3.0);
        let reps = 20_000;
        let mut freq = vec![0.0; risk.len()];
        let mut target = Vec::new();
        for s in 0..reps {
            let (dose, e) = randomized(&risk, &b, 0.1, s).unwrap();
            target = e;
            for (f, d) in freq.iter_mut().zip(&dose) {
                *f += d / reps as f64;
            }
        }
        // Independent targets: p_c = 0.9 r_c/Σr + 0.1/8, scaled by 3 and water-filled at 1.
        let sum: f64 = risk.iter().sum();
        let p: Vec<f64> = risk.iter().map(|r| 0.9 * r / sum + 0.1 / 8.0).collect();
        for (i, &pi) in p.iter().enumerate() {
            let want = (3.0 * pi).min(1.0);
            // 3·p_0 = 1.04 > 1, so cell 0 is capped and the rest is rescaled: check the
            // returned targets against this by hand below.
            if i == 0 {
                assert_eq!(target[0], 1.0);
            } else {
                let rescaled = pi * 2.0 / (1.0 - p[0]);
                assert!(
                    (target[i] - rescaled).abs() < 1e-12,
                    "{i}: {} vs {rescaled}",
                    target[i]
                );
                assert!(want > 0.0);
            }
            // Bernoulli frequency: sd ≤ 0.5/√20000 ≈ 0.0035; allow 5 sd.
            assert!(
                (freq[i] - target[i]).abs() < 0.018,
                "cell {i}: {} vs {}",
                freq[i],
                target[i]
            );
            assert!(target[i] >= 0.1 * 3.0 / 8.0 - 1e-12);
        }
    }

    proptest! {
        #[test]
        fn budget_caps_and_floor(risk in prop::collection::vec(0.0f64..5.0, 2..40),
                                 units in 1u32..20, cap in 1u32..3, eps in 0.01f64..1.0,
                                 seed in any::<u64>()) {
            prop_assume!(units as usize <= risk.len() * cap as usize);
            let b = Budget::new(units as f64).with_per_cell_cap(cap as f64);
            let (dose, e) = randomized(&risk, &b, eps, seed).unwrap();
            prop_assert!((dose.iter().sum::<f64>() - units as f64).abs() < 1e-9);
            let floor = eps * units as f64 / risk.len() as f64;
            for i in 0..risk.len() {
                prop_assert!(dose[i] <= cap as f64);
                prop_assert!(e[i] >= floor - 1e-9);
                prop_assert!((dose[i] - e[i]).abs() < 1.0);
            }
            prop_assert_eq!(dose, randomized(&risk, &b, eps, seed).unwrap().0);
        }
    }
}
