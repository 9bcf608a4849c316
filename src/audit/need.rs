//! Concentration of patrol against need, at the level of areas, with the check's power.
//!
//! A raw Gini of patrol across thousands of grid cells is near 1 for any small budget, so a
//! check against a uniformly random baseline cannot fail. This check asks instead whether
//! patrol is more concentrated than *need* (incidents, or expected incidents, per area): the
//! concentration index of patrol relative to need is `C = 1 − 2 ∫ L dq`, where `L` is the
//! Lorenz curve of patrol shares against need shares with areas sorted by patrol per unit of
//! need (0: patrol proportional to need; `1 − q_min` when all patrol sits in the area with the
//! least positive need).
//!
//! The null is a patrol of the same number of independent placements (`quanta`: visits, units)
//! spread over areas in proportion to need (a multinomial draw). Its upper critical value is
//! the smallest concentration the check could have detected (the minimum detectable effect);
//! when that value lies more than `max_mde` of the way from the null mean to the largest
//! possible index, the check is *not informative at this budget* rather than a pass.

use serde::Serialize;

use super::power::{judge, CheckVerdict, Power};
use crate::error::{Error, Result};
use crate::montecarlo::{self, Alternative, Exceedances};

/// Parameters of [`concentration_vs_need`].
#[derive(Debug, Clone)]
pub struct NeedParams {
    /// Independent placements the patrol is made of (units, visits); the null draws this many.
    pub quanta: usize,
    /// Null simulations.
    pub simulations: usize,
    /// Confidence of the one-sided test (e.g. 0.95).
    pub confidence: f64,
    /// Largest normalised minimum detectable effect for the check to count as informative.
    pub max_mde: f64,
    /// Seed of the simulations.
    pub seed: u64,
}

/// The outcome of the check (the crate's verdict of a check that states its power).
pub type NeedVerdict = CheckVerdict;

/// What [`concentration_vs_need`] measures.
#[derive(Debug, Clone, Serialize)]
pub struct NeedResult {
    /// Concentration index of patrol relative to need.
    pub index: f64,
    /// Total variation distance between patrol shares and need shares: the share of patrol
    /// that would have to move for patrol to follow need exactly.
    pub misallocated_share: f64,
    /// Mean index under need-proportional patrol of the same number of placements.
    pub null_mean: f64,
    /// Upper critical value of the null: the smallest index the check could detect.
    pub critical_value: f64,
    /// Largest index possible (all patrol in the area with the least positive need).
    pub max_index: f64,
    /// `(critical_value − null_mean) / (max_index − null_mean)`.
    pub mde_normalised: f64,
    /// One-sided p-value of "no more concentrated than need" (+1 rule).
    pub p_value: f64,
    /// Whether the check could have failed.
    pub informative: bool,
    /// The verdict.
    pub verdict: NeedVerdict,
    /// Patrol share per area.
    pub patrol_share: Vec<f64>,
    /// Need share per area.
    pub need_share: Vec<f64>,
    /// Simulations and placements used.
    pub simulations: usize,
    /// Placements per simulation.
    pub quanta: usize,
}

/// Concentration index of `p` (patrol shares) relative to `q` (need shares), both summing to 1.
pub fn relative_concentration(p: &[f64], q: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0 || q[i] > 0.0).collect();
    // ascending patrol per need; need 0 (ratio ∞) last
    idx.sort_by(|&a, &b| (p[a] * q[b]).total_cmp(&(p[b] * q[a])).then(a.cmp(&b)));
    let mut area = 0.0;
    let mut l = 0.0;
    for &i in &idx {
        let next = l + p[i];
        area += q[i] * (l + next) / 2.0;
        l = next;
    }
    1.0 - 2.0 * area
}

fn normalise(v: &[f64], name: &str) -> Result<Vec<f64>> {
    for (i, &x) in v.iter().enumerate() {
        if !x.is_finite() || x < 0.0 {
            return Err(Error::data(
                Some(i),
                name,
                format!("must be a finite number ≥ 0, got {x}"),
            ));
        }
    }
    let s: f64 = v.iter().sum();
    if s <= 0.0 {
        return Err(Error::param(name, "sums to 0: nothing to compare"));
    }
    Ok(v.iter().map(|x| x / s).collect())
}

/// The check. `dose` and `need` are per area (same order).
pub fn concentration_vs_need(
    dose: &[f64],
    need: &[f64],
    params: &NeedParams,
) -> Result<NeedResult> {
    if dose.len() != need.len() {
        return Err(Error::param(
            "need",
            format!("has {} areas but dose has {}", need.len(), dose.len()),
        ));
    }
    if dose.len() < 2 {
        return Err(Error::param("dose", "needs at least 2 areas"));
    }
    let p = normalise(dose, "dose")?;
    let q = normalise(need, "need")?;
    if params.quanta == 0 {
        return Err(Error::param("quanta", "must be ≥ 1"));
    }
    if params.simulations < 19 {
        return Err(Error::param(
            "simulations",
            format!("must be ≥ 19 for a 5 % test, got {}", params.simulations),
        ));
    }
    if !(params.confidence > 0.5 && params.confidence < 1.0) {
        return Err(Error::param(
            "confidence",
            format!("must be in (0.5, 1), got {}", params.confidence),
        ));
    }
    if !(params.max_mde > 0.0 && params.max_mde <= 1.0) {
        return Err(Error::param(
            "max_mde",
            format!("must be in (0, 1], got {}", params.max_mde),
        ));
    }
    let index = relative_concentration(&p, &q);
    let misallocated_share = 0.5 * p.iter().zip(&q).map(|(a, b)| (a - b).abs()).sum::<f64>();
    let q_min = q
        .iter()
        .copied()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let max_index = 1.0 - q_min;
    // cumulative need for inverse-CDF sampling
    let mut cum = Vec::with_capacity(q.len());
    let mut acc = 0.0;
    for &v in &q {
        acc += v;
        cum.push(acc);
    }
    let k = params.quanta;
    let mut null: Vec<f64> = montecarlo::simulate(params.simulations, params.seed, |_, rng| {
        let mut counts = vec![0.0; q.len()];
        for _ in 0..k {
            let u = rng.next_f64() * acc;
            let i = cum.partition_point(|&c| c <= u).min(q.len() - 1);
            counts[i] += 1.0;
        }
        let ps: Vec<f64> = counts.iter().map(|c| c / k as f64).collect();
        relative_concentration(&ps, &q)
    });
    let tol = 1e-12;
    let p_value = Exceedances::count(index, &null, tol).p_value(Alternative::Greater);
    null.sort_by(f64::total_cmp);
    let null_mean = null.iter().sum::<f64>() / null.len() as f64;
    let pos = params.confidence * (null.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let critical_value = null[lo] + (null[hi] - null[lo]) * (pos - lo as f64);
    let power = Power::new(null_mean, critical_value, max_index, params.max_mde);
    let (mde_normalised, informative) = (power.mde_normalised, power.informative);
    let verdict = judge(p_value <= 1.0 - params.confidence, informative);
    Ok(NeedResult {
        index,
        misallocated_share,
        null_mean,
        critical_value,
        max_index,
        mde_normalised,
        p_value,
        informative,
        verdict,
        patrol_share: p,
        need_share: q,
        simulations: params.simulations,
        quanta: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(quanta: usize) -> NeedParams {
        NeedParams {
            quanta,
            simulations: 499,
            confidence: 0.95,
            max_mde: 0.5,
            seed: 3,
        }
    }

    #[test]
    fn index_by_hand() {
        // proportional: 0
        assert!(relative_concentration(&[0.5, 0.5], &[0.5, 0.5]).abs() < 1e-12);
        // all patrol in the area with need 0.25: L = 0 on [0, 0.75], then rises to 1:
        // area = 0.25 × 0.5 = 0.125, C = 0.75
        assert!((relative_concentration(&[0.0, 1.0], &[0.75, 0.25]) - 0.75).abs() < 1e-12);
        // patrol 0.2/0.8 against need 0.5/0.5: L(0.5) = 0.2; area = 0.5·0.1 + 0.5·0.6 = 0.35
        assert!((relative_concentration(&[0.8, 0.2], &[0.5, 0.5]) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn can_fail_can_pass_and_knows_when_it_cannot_tell() {
        let need: Vec<f64> = (1..=20).map(|i| i as f64).collect();
        // proportional patrol with 400 placements: pass
        let prop: Vec<f64> = need.clone();
        let r = concentration_vs_need(&prop, &need, &params(400)).unwrap();
        assert_eq!(r.verdict, NeedVerdict::Pass, "{r:?}");
        // everything in the two areas of least need: fail
        let mut bad = vec![0.0; 20];
        bad[0] = 200.0;
        bad[1] = 200.0;
        let r = concentration_vs_need(&bad, &need, &params(400)).unwrap();
        assert_eq!(r.verdict, NeedVerdict::Fail);
        assert!(r.p_value < 0.01);
        // two placements over 20 areas: any plan looks like chance
        let r = concentration_vs_need(&prop, &need, &params(2)).unwrap();
        assert_eq!(r.verdict, NeedVerdict::NotInformative, "{r:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let e = concentration_vs_need(&[1.0, -1.0], &[1.0, 1.0], &params(5))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dose") && e.contains("row 1"), "{e}");
        assert!(concentration_vs_need(&[0.0, 0.0], &[1.0, 1.0], &params(5)).is_err());
    }
}
