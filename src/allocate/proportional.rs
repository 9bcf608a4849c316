use crate::allocate::budget::{check_risk, Budget};
use crate::error::{Error, Result};

/// `e_c = min(cap, θ · w_c)` with `θ` chosen so that `Σ e_c = total` ("water filling": the
/// exact proportional share, with cells over the cap held at the cap and the excess shared
/// out in proportion among the others).
///
/// Fails with [`Error::Infeasible`] (constraint `per_cell_cap`) when `total` exceeds
/// `cap × (cells with positive weight)`; cells of zero weight get nothing.
pub(crate) fn water_fill(w: &[f64], total: f64, cap: f64, strategy: &str) -> Result<Vec<f64>> {
    let mut order: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 0.0).collect();
    let m = order.len();
    if (m as f64) * cap < total * (1.0 - 1e-12) {
        return Err(Error::Infeasible {
            constraint: "per_cell_cap".into(),
            reason: format!(
                "{strategy}: only {m} cells have positive risk and together hold {} of the {total} \
                 pieces to place; raise the cap, lower the budget or use top_k",
                m as f64 * cap
            ),
        });
    }
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]).then(a.cmp(&b)));
    let mut rest: f64 = order.iter().map(|&i| w[i]).sum();
    let mut k = 0;
    let mut theta = total / rest;
    while k < m && theta * w[order[k]] > cap {
        rest -= w[order[k]];
        k += 1;
        theta = if rest > 0.0 {
            (total - k as f64 * cap) / rest
        } else {
            0.0
        };
    }
    let mut e = vec![0.0; w.len()];
    for (pos, &i) in order.iter().enumerate() {
        e[i] = if pos < k {
            cap
        } else {
            (theta * w[i]).min(cap)
        };
    }
    Ok(e)
}

/// Units in proportion to risk, in whole units (or whole hours when the budget has
/// `shift_hours`), with largest-remainder rounding.
///
/// The exact proportional share of cell `c` is `e_c = min(cap, θ · risk_c)` with `Σ e_c` equal
/// to the budget (cells whose share would exceed the per-cell cap are held at the cap and the
/// excess is shared in proportion among the rest). Rounding follows Hamilton's
/// largest-remainder method (Balinski & Young 1982, *Fair Representation*): every cell gets
/// `⌊e_c⌋`, and the pieces left over go one each to the cells with the largest remainders
/// `e_c − ⌊e_c⌋` (ties: lower cell id). Every cell therefore ends within one piece of its
/// exact share, and the budget is spent exactly. Cells of zero risk get nothing, so the budget
/// must fit in the positive-risk cells. District caps and minimums are not supported here (use
/// `top_k` or `fair`).
///
/// Returns the units per cell and the exact shares `e_c` (in units).
///
/// # Examples
/// ```
/// use placewise::allocate::{proportional, Budget};
/// let (dose, exact) = proportional(&[1.0, 1.0, 1.0], &Budget::new(2.0)).unwrap();
/// assert_eq!(dose, vec![1.0, 1.0, 0.0]); // equal remainders: lower cell ids first
/// assert!((exact[2] - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn proportional(risk: &[f64], budget: &Budget) -> Result<(Vec<f64>, Vec<f64>)> {
    check_risk(risk)?;
    budget.validate(risk.len())?;
    if budget.districts.is_some() {
        return Err(Error::param(
            "districts",
            "proportional does not support district caps or minimums; use top_k or fair",
        ));
    }
    if risk.iter().all(|&r| r == 0.0) {
        return Err(Error::data(
            None,
            "risk",
            "every cell has zero risk: proportional allocation is undefined",
        ));
    }
    let (pieces, cap) = budget.pieces("proportional")?;
    let e = water_fill(risk, pieces as f64, cap as f64, "proportional")?;
    let q = budget.quantum();
    let dose = largest_remainder(&e, pieces, cap);
    Ok((
        dose.iter().map(|&d| d as f64 * q).collect(),
        e.iter().map(|&v| v * q).collect(),
    ))
}

/// Hamilton rounding of shares `e` (summing to `pieces`) to integers ≤ `cap`.
pub(crate) fn largest_remainder(e: &[f64], pieces: u64, cap: u64) -> Vec<u64> {
    let mut out: Vec<u64> = e
        .iter()
        .map(|&v| ((v + 1e-9).floor().max(0.0) as u64).min(cap))
        .collect();
    let given: u64 = out.iter().sum();
    let mut left = pieces.saturating_sub(given);
    if left > 0 {
        let mut order: Vec<usize> = (0..e.len()).filter(|&i| out[i] < cap).collect();
        let frac = |i: usize| e[i] - out[i] as f64;
        order.sort_by(|&a, &b| frac(b).total_cmp(&frac(a)).then(a.cmp(&b)));
        for i in order {
            if left == 0 {
                break;
            }
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_over_the_cap_are_redistributed() {
        let e = water_fill(&[10.0, 1.0, 1.0], 2.0, 1.0, "p").unwrap();
        assert_eq!(e, vec![1.0, 0.5, 0.5]);
    }

    #[test]
    fn too_few_positive_cells_is_infeasible() {
        let e = proportional(&[1.0, 0.0, 0.0], &Budget::new(2.0)).unwrap_err();
        assert!(
            matches!(e, Error::Infeasible { ref constraint, .. } if constraint == "per_cell_cap")
        );
        assert!(proportional(&[0.0, 0.0], &Budget::new(1.0)).is_err());
        assert!(proportional(&[1.0, 1.0], &Budget::new(1.5)).is_err());
    }

    #[test]
    fn hours_are_whole() {
        let b = Budget::new(1.0).with_shift_hours(8.0);
        let (dose, _) = proportional(&[3.0, 1.0], &b).unwrap();
        assert_eq!(dose, vec![6.0 / 8.0, 2.0 / 8.0]);
    }

    proptest! {
        #[test]
        fn within_one_unit_of_exact_share(risk in prop::collection::vec(0.0f64..5.0, 1..30),
                                          units in 1u32..40, cap in 1u32..4) {
            let positive = risk.iter().filter(|&&r| r > 0.0).count() as u32;
            prop_assume!(units <= positive * cap);
            let b = Budget::new(units as f64).with_per_cell_cap(cap as f64);
            let (dose, exact) = proportional(&risk, &b).unwrap();
            prop_assert!((dose.iter().sum::<f64>() - units as f64).abs() < 1e-9);
            // The exact share, computed independently by bisection on θ.
            let f = |t: f64| risk.iter().map(|&r| (t * r).min(cap as f64)).sum::<f64>();
            let (mut lo, mut hi) = (0.0f64, 1.0f64);
            while f(hi) < units as f64 { hi *= 2.0; }
            for _ in 0..200 { let mid = 0.5 * (lo + hi); if f(mid) < units as f64 { lo = mid } else { hi = mid } }
            for i in 0..risk.len() {
                let share = (hi * risk[i]).min(cap as f64);
                prop_assert!((exact[i] - share).abs() < 1e-6, "share {} vs {}", exact[i], share);
                prop_assert!((dose[i] - share).abs() < 1.0 + 1e-9);
                prop_assert!(dose[i] <= cap as f64 && dose[i] >= 0.0);
                prop_assert_eq!(dose[i].fract(), 0.0);
            }
        }
    }
}
