use crate::allocate::budget::{check_risk, Budget};
use crate::error::Result;

/// Active-cell indices from highest to lowest risk; ties by the lower index (lower cell id).
pub(crate) fn ranking(risk: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..risk.len()).collect();
    order.sort_by(|&a, &b| risk[b].total_cmp(&risk[a]).then(a.cmp(&b)));
    order
}

/// The first `m` entries of [`ranking`] (the same cells in the same order: the order is total),
/// found by selection in O(n + m log m) instead of a full sort.
fn ranking_head(risk: &[f64], m: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..risk.len()).collect();
    let cmp = |a: &usize, b: &usize| risk[*b].total_cmp(&risk[*a]).then(a.cmp(b));
    if m < order.len() {
        if m > 0 {
            order.select_nth_unstable_by(m - 1, cmp);
        }
        order.truncate(m);
    }
    order.sort_by(cmp);
    order
}

/// Units per cell that put the budget on the highest-risk cells: each cell in decreasing risk
/// (ties: lower cell id) gets as much as its cap, its district's cap and the remaining budget
/// allow; district minimums are met first from each district's own highest-risk cells.
///
/// This maximises the expected risk covered `Σ_c risk_c · dose_c` subject to
/// `Σ dose = units`, `0 ≤ dose_c ≤ per_cell_cap` and the district caps and minimums (the
/// linear programme without fairness constraints). Why greedy is exact: within a district,
/// moving dose from a lower- to a higher-risk cell keeps every constraint and does not lower
/// the objective, so each district fills its cells in risk order and its best value is a
/// concave piecewise-linear function of its total; maximising a sum of concave functions with
/// lower bounds (minimums), upper bounds (caps) and one total is solved by granting the lower
/// bounds and then the largest marginal gains first (the greedy algorithm on a polymatroid,
/// Edmonds 1970), which is exactly the order of the remaining cells by risk. Fractional
/// budgets put the fraction on the last cell reached.
///
/// # Examples
/// ```
/// use placewise::allocate::{top_k, Budget};
/// let dose = top_k(&[0.1, 0.5, 0.5, 0.2], &Budget::new(2.0)).unwrap();
/// assert_eq!(dose, vec![0.0, 1.0, 1.0, 0.0]);
/// let dose = top_k(&[0.1, 0.5, 0.5, 0.2], &Budget::new(2.5)).unwrap();
/// assert_eq!(dose, vec![0.0, 1.0, 1.0, 0.5]);
/// ```
pub fn top_k(risk: &[f64], budget: &Budget) -> Result<Vec<f64>> {
    check_risk(risk)?;
    budget.validate(risk.len())?;
    let cap = budget.per_cell_cap;
    let order = match &budget.districts {
        // without districts only the cells the budget reaches are needed, in order
        None => ranking_head(
            risk,
            ((budget.units / cap).ceil() as usize + 1).min(risk.len()),
        ),
        Some(_) => ranking(risk),
    };
    let mut dose = vec![0.0; risk.len()];
    let mut left = budget.units;
    let eps = budget.units * 1e-12;
    match &budget.districts {
        None => {
            for &c in &order {
                if left <= eps {
                    break;
                }
                let give = cap.min(left);
                dose[c] = give;
                left -= give;
            }
        }
        Some(d) => {
            let room = budget.district_room(d);
            let mut used = vec![0.0; d.names.len()];
            // Minimums first, each from the district's own highest-risk cells.
            for &c in &order {
                if let Some(j) = d.of_cell[c] {
                    let need = d.minimums[j] - used[j];
                    if need > 0.0 {
                        let give = cap.min(need);
                        dose[c] = give;
                        used[j] += give;
                        left -= give;
                    }
                }
            }
            for &c in &order {
                if left <= eps {
                    break;
                }
                let mut give = (cap - dose[c]).min(left);
                if let Some(j) = d.of_cell[c] {
                    give = give.min(room[j] - used[j]);
                    if give <= 0.0 {
                        continue;
                    }
                    used[j] += give;
                }
                if give > 0.0 {
                    dose[c] += give;
                    left -= give;
                }
            }
        }
    }
    Ok(dose)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_head_is_the_head_of_the_ranking() {
        let risk: Vec<f64> = (0..500).map(|i| ((i * 7919) % 97) as f64).collect();
        let full = ranking(&risk);
        for m in [0, 1, 5, 96, 499, 500] {
            assert_eq!(ranking_head(&risk, m), full[..m].to_vec());
        }
    }
    use crate::allocate::Districts;
    use proptest::prelude::*;

    #[test]
    fn ties_go_to_the_lower_cell_id() {
        let dose = top_k(&[1.0, 2.0, 1.0, 1.0], &Budget::new(2.0)).unwrap();
        assert_eq!(dose, vec![1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn caps_spread_units() {
        let dose = top_k(&[3.0, 1.0, 2.0], &Budget::new(5.0).with_per_cell_cap(2.0)).unwrap();
        assert_eq!(dose, vec![2.0, 1.0, 2.0]);
    }

    #[test]
    fn district_minimum_and_cap() {
        // Cells 0,1 in district A (capped at 1), cells 2,3 in B (minimum 1).
        let d = Districts {
            of_cell: vec![Some(0), Some(0), Some(1), Some(1)],
            names: vec!["A".into(), "B".into()],
            caps: vec![Some(1.0), None],
            minimums: vec![0.0, 1.0],
        };
        let dose = top_k(&[9.0, 8.0, 1.0, 2.0], &Budget::new(2.0).with_districts(d)).unwrap();
        assert_eq!(dose, vec![1.0, 0.0, 0.0, 1.0]);
    }

    /// Brute force over every integer allocation of a small budget.
    fn brute(risk: &[f64], units: usize, cap: usize) -> f64 {
        fn rec(risk: &[f64], i: usize, left: usize, cap: usize) -> f64 {
            if i == risk.len() {
                return if left == 0 { 0.0 } else { f64::NEG_INFINITY };
            }
            (0..=cap.min(left))
                .map(|k| k as f64 * risk[i] + rec(risk, i + 1, left - k, cap))
                .fold(f64::NEG_INFINITY, f64::max)
        }
        rec(risk, 0, units, cap)
    }

    proptest! {
        #[test]
        fn optimal_and_within_budget(risk in prop::collection::vec(0.0f64..10.0, 1..7),
                                     units in 1usize..8, cap in 1usize..3) {
            prop_assume!(units <= risk.len() * cap);
            let b = Budget::new(units as f64).with_per_cell_cap(cap as f64);
            let dose = top_k(&risk, &b).unwrap();
            let total: f64 = dose.iter().sum();
            prop_assert!((total - units as f64).abs() < 1e-9);
            prop_assert!(dose.iter().all(|&d| (0.0..=cap as f64).contains(&d)));
            let covered: f64 = dose.iter().zip(&risk).map(|(d, r)| d * r).sum();
            prop_assert!((covered - brute(&risk, units, cap)).abs() < 1e-9);
        }

        #[test]
        fn districts_respected(risk in prop::collection::vec(0.0f64..10.0, 4..9),
                               units in 1u32..6, seed in 0u64..1000) {
            let n = risk.len();
            let of_cell: Vec<Option<usize>> = (0..n).map(|i| {
                let k = (seed as usize + 7 * i) % 3;
                if k == 2 { None } else { Some(k) }
            }).collect();
            let d = Districts { of_cell: of_cell.clone(), names: vec!["A".into(), "B".into()],
                                caps: vec![Some(2.0), None], minimums: vec![0.0, 1.0] };
            let b = Budget::new(units as f64).with_districts(d);
            match top_k(&risk, &b) {
                Ok(dose) => {
                    let in_d = |j| dose.iter().zip(&of_cell).filter(|(_, o)| **o == Some(j)).map(|(d, _)| *d).sum::<f64>();
                    prop_assert!(in_d(0) <= 2.0 + 1e-9);
                    prop_assert!(in_d(1) >= 1.0 - 1e-9);
                    prop_assert!((dose.iter().sum::<f64>() - units as f64).abs() < 1e-9);
                    prop_assert!(dose.iter().all(|&x| (0.0..=1.0).contains(&x)));
                }
                Err(e) => prop_assert!(matches!(e, crate::Error::Infeasible { .. }), "{e}"),
            }
        }
    }
}
