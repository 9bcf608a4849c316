//! Targeting audit of any system's output: who lives where a system (PredPol/Geolitica, an
//! in-house tool, placewise itself) sends the most predictions or patrols.
//!
//! Follows the method of The Markup's 2021 analysis of PredPol predictions ("Crime Prediction
//! Software Promised to Be Free of Biases. New Data Shows It Perpetuates Them", repository
//! `the-markup/investigation-prediction-bias`, `R/preprocessing/rank-and-label.R`):
//!
//! * areas are ranked by count, descending, ties broken by population, descending (then by
//!   input order); the rank `r` runs from `n` (most targeted) down to 1;
//! * the window size is `w = round(n × share)` with round-half-to-even (R's `round`);
//! * the *most* targeted window holds ranks `n − w ..= n`, the *median* window ranks
//!   `⌊n/2⌋ − ⌊w/2⌋ ..= ⌊n/2⌋ + ⌊w/2⌋` and the *least* targeted window ranks `1 ..= 1 + w`
//!   (these bounds are inclusive, so a window holds `w + 1` areas, as in The Markup's code);
//! * when more than `w` areas share the minimum count, the least targeted window covers all of
//!   them ([`LeastRule::AllMinimum`], the default) or, as in The Markup's published figures, the
//!   `w + 1` most populous of them ([`LeastRule::Markup`]).
//!
//! Each group's share of a window's population is compared with its share of the whole
//! jurisdiction. A permutation test (counts shuffled across areas, populations fixed) gives,
//! for every window and group, a one-sided p-value and the smallest difference the test could
//! have detected at this number of areas (the critical value of the permutation distribution).
//! The one-sided p-values of every window and group, in both directions (`6 × groups` tests),
//! form one family corrected for multiple testing (Holm 1979 by default, controlling the
//! family-wise error rate under any dependence; see [`crate::stats::multiple_testing`]); raw
//! and adjusted p-values are both reported.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::montecarlo::{self, Alternative, Exceedances};
use crate::stats::multiple_testing::{adjust, Correction};

/// The three windows, in result order.
pub const WINDOWS: [&str; 3] = ["most", "median", "least"];

/// How the least targeted window is chosen when many areas share the minimum count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeastRule {
    /// Every area with the minimum count (when they are more than the window).
    AllMinimum,
    /// The `w + 1` most populous areas with the minimum count (The Markup's published rule).
    Markup,
}

impl LeastRule {
    /// Parses `"all_minimum"` or `"markup"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "all_minimum" => Ok(LeastRule::AllMinimum),
            "markup" => Ok(LeastRule::Markup),
            other => Err(Error::param(
                "least",
                format!("must be \"all_minimum\" or \"markup\", got {other:?}"),
            )),
        }
    }
}

/// Parameters of [`targeting`].
#[derive(Debug, Clone)]
pub struct TargetingParams {
    /// Share of areas in a window (The Markup: 0.05).
    pub window_share: f64,
    /// Rule for the least targeted window.
    pub least: LeastRule,
    /// Permutations of the counts across areas (0: no test).
    pub permutations: usize,
    /// Confidence of the critical values (e.g. 0.95: one-sided 5 % tests).
    pub confidence: f64,
    /// Seed of the permutations.
    pub seed: u64,
    /// Correction of the family of window × group × direction p-values (default Holm).
    pub correction: Correction,
}

impl Default for TargetingParams {
    fn default() -> Self {
        TargetingParams {
            window_share: 0.05,
            least: LeastRule::AllMinimum,
            permutations: 999,
            confidence: 0.95,
            seed: 0,
            correction: Correction::Holm,
        }
    }
}

/// Inputs of [`targeting`], one entry per area.
#[derive(Debug, Clone, Copy)]
pub struct TargetingInput<'a> {
    /// Predictions (or patrols, or any count) per area over the stated window; ≥ 0.
    pub counts: &'a [f64],
    /// Population used to break ties in the ranking (normally the total estimate).
    pub rank_population: &'a [f64],
    /// Denominator of each group's share (total population per area).
    pub total: &'a [f64],
    /// People per area (rows) and group (columns).
    pub groups: ArrayView2<'a, f64>,
}

/// Everything [`targeting`] measures.
#[derive(Debug, Clone)]
pub struct TargetingResult {
    /// Number of areas.
    pub n_areas: usize,
    /// `w = round(n × window_share)`.
    pub window_size: usize,
    /// Area indices from most to least targeted.
    pub order: Vec<usize>,
    /// Area indices in the most, median and least targeted windows.
    pub members: [Vec<usize>; 3],
    /// Each group's share of the jurisdiction's population.
    pub overall: Vec<f64>,
    /// Each group's share of each window's population (3 × groups).
    pub window_shares: Array2<f64>,
    /// Population of each window.
    pub window_population: [f64; 3],
    /// Count (predictions) in each window.
    pub window_counts: [f64; 3],
    /// Median count (linear interpolation).
    pub median_count: f64,
    /// Share of each group's people living in areas with a count above the median.
    pub above_median_share: Vec<f64>,
    /// Decile (1 = lowest counts, 10 = highest) of each area by value of count.
    pub decile: Vec<u8>,
    /// The 11 decile edges of the counts (0 %, 10 %, …, 100 %).
    pub decile_edges: Vec<f64>,
    /// Each group's share of each decile's population (10 × groups; NaN for empty deciles).
    pub decile_shares: Array2<f64>,
    /// Areas, population and counts per decile.
    pub decile_areas: Vec<usize>,
    /// Population per decile.
    pub decile_population: Vec<f64>,
    /// Counts per decile.
    pub decile_counts: Vec<f64>,
    /// Permutations run.
    pub permutations: usize,
    /// One-sided p-value of "share in window ≥ observed" under random targeting (3 × groups).
    pub p_higher: Array2<f64>,
    /// One-sided p-value of "share in window ≤ observed" under random targeting (3 × groups).
    pub p_lower: Array2<f64>,
    /// Upper critical value of (window share − overall share) under random targeting: the
    /// smallest excess the one-sided test could detect (3 × groups).
    pub mde_higher: Array2<f64>,
    /// Lower critical value of the same difference (negative): the smallest deficit detectable.
    pub mde_lower: Array2<f64>,
    /// The correction applied to the family of p-values.
    pub correction: Correction,
    /// Tests in the family (the finite entries of `p_higher` and `p_lower`).
    pub family_size: usize,
    /// `p_higher` adjusted for multiple testing over the whole family.
    pub p_higher_adjusted: Array2<f64>,
    /// `p_lower` adjusted for multiple testing over the whole family.
    pub p_lower_adjusted: Array2<f64>,
}

/// Round half to even, as R's `round`.
fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        r - x.signum()
    } else {
        r
    };
    r.max(0.0) as usize
}

fn validate(input: &TargetingInput<'_>, params: &TargetingParams) -> Result<()> {
    let n = input.counts.len();
    if n < 3 {
        return Err(Error::param(
            "counts",
            format!("a targeting audit needs at least 3 areas, got {n}"),
        ));
    }
    for (name, len) in [
        ("rank_population", input.rank_population.len()),
        ("total", input.total.len()),
        ("groups", input.groups.nrows()),
    ] {
        if len != n {
            return Err(Error::param(
                name,
                format!("has {len} areas but counts has {n}"),
            ));
        }
    }
    if input.groups.ncols() == 0 {
        return Err(Error::param("groups", "needs at least one group column"));
    }
    for (i, &c) in input.counts.iter().enumerate() {
        if !c.is_finite() || c < 0.0 {
            return Err(Error::data(
                Some(i),
                "count",
                format!("must be a finite number ≥ 0, got {c}"),
            ));
        }
    }
    for (name, v) in [
        ("rank_population", input.rank_population),
        ("total", input.total),
    ] {
        for (i, &p) in v.iter().enumerate() {
            if !p.is_finite() || p < 0.0 {
                return Err(Error::data(
                    Some(i),
                    name,
                    format!("population must be a finite number ≥ 0, got {p}"),
                ));
            }
        }
    }
    for ((i, j), &p) in input.groups.indexed_iter() {
        if !p.is_finite() || p < 0.0 {
            return Err(Error::data(
                Some(i),
                format!("group {j}"),
                format!("population must be a finite number ≥ 0, got {p}"),
            ));
        }
    }
    if input.total.iter().sum::<f64>() <= 0.0 {
        return Err(Error::param("total", "the jurisdiction has no population"));
    }
    if !(params.window_share > 0.0 && params.window_share < 0.5) {
        return Err(Error::param(
            "window_share",
            format!("must be in (0, 0.5), got {}", params.window_share),
        ));
    }
    if !(params.confidence > 0.5 && params.confidence < 1.0) {
        return Err(Error::param(
            "confidence",
            format!("must be in (0.5, 1), got {}", params.confidence),
        ));
    }
    Ok(())
}

/// Area indices from most to least targeted: count descending, population descending, then
/// input order.
pub fn rank_order(counts: &[f64], population: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        counts[b]
            .total_cmp(&counts[a])
            .then(population[b].total_cmp(&population[a]))
            .then(a.cmp(&b))
    });
    order
}

/// The most, median and least targeted windows (area indices) under The Markup's rules, and
/// the window size `w`. `order` is [`rank_order`]'s.
pub fn windows(
    counts: &[f64],
    order: &[usize],
    window_share: f64,
    least: LeastRule,
) -> ([Vec<usize>; 3], usize) {
    let n = order.len();
    let w = round_half_even(n as f64 * window_share);
    // rank r (1 ..= n) sits at position n − r of `order`
    let by_ranks = |lo: usize, hi: usize| -> Vec<usize> {
        let lo = lo.max(1);
        let hi = hi.min(n);
        (lo..=hi).rev().map(|r| order[n - r]).collect()
    };
    let most = by_ranks(n.saturating_sub(w), n);
    let mid = n / 2;
    let off = w / 2;
    let median = by_ranks(mid.saturating_sub(off), mid + off);
    let min = counts.iter().copied().fold(f64::INFINITY, f64::min);
    let n_min = counts.iter().filter(|&&c| c == min).count();
    let least_w = if n_min > w {
        match least {
            LeastRule::AllMinimum => by_ranks(1, n_min),
            LeastRule::Markup => by_ranks(n_min - w, n_min),
        }
    } else {
        by_ranks(1, 1 + w)
    };
    ([most, median, least_w], w)
}

fn shares(members: &[usize], total: &[f64], groups: &ArrayView2<'_, f64>) -> (Vec<f64>, f64) {
    let pop: f64 = members.iter().map(|&i| total[i]).sum();
    let g = groups.ncols();
    let mut out = vec![0.0; g];
    for &i in members {
        for (j, o) in out.iter_mut().enumerate() {
            *o += groups[(i, j)];
        }
    }
    for o in &mut out {
        *o = if pop > 0.0 { *o / pop } else { f64::NAN };
    }
    (out, pop)
}

/// Linear-interpolation quantile of sorted values (numpy's and R's default).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The targeting audit: windows, shares, deciles, above-median shares and the permutation
/// test. Runs the permutations in parallel; each permutation draws from its own random
/// stream, so results do not depend on the thread count.
pub fn targeting(input: &TargetingInput<'_>, params: &TargetingParams) -> Result<TargetingResult> {
    validate(input, params)?;
    let n = input.counts.len();
    let g = input.groups.ncols();
    let order = rank_order(input.counts, input.rank_population);
    let (members, w) = windows(input.counts, &order, params.window_share, params.least);
    let (overall, _) = shares(&(0..n).collect::<Vec<_>>(), input.total, &input.groups);
    let mut window_shares = Array2::from_elem((3, g), f64::NAN);
    let mut window_population = [0.0; 3];
    let mut window_counts = [0.0; 3];
    for (k, m) in members.iter().enumerate() {
        let (s, p) = shares(m, input.total, &input.groups);
        for j in 0..g {
            window_shares[(k, j)] = s[j];
        }
        window_population[k] = p;
        window_counts[k] = m.iter().map(|&i| input.counts[i]).sum();
    }

    let mut sorted = input.counts.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median_count = quantile_sorted(&sorted, 0.5);
    let group_totals: Vec<f64> = (0..g).map(|j| input.groups.column(j).sum()).collect();
    let above_median_share: Vec<f64> = (0..g)
        .map(|j| {
            let above: f64 = (0..n)
                .filter(|&i| input.counts[i] > median_count)
                .map(|i| input.groups[(i, j)])
                .sum();
            if group_totals[j] > 0.0 {
                above / group_totals[j]
            } else {
                f64::NAN
            }
        })
        .collect();

    let decile_edges: Vec<f64> = (0..=10)
        .map(|k| quantile_sorted(&sorted, k as f64 / 10.0))
        .collect();
    let decile: Vec<u8> = input
        .counts
        .iter()
        .map(|&c| {
            // the first decile whose upper edge reaches c
            (1..=10).find(|&k| c <= decile_edges[k]).unwrap_or(10) as u8
        })
        .collect();
    let mut decile_shares = Array2::from_elem((10, g), f64::NAN);
    let mut decile_areas = vec![0usize; 10];
    let mut decile_population = vec![0.0; 10];
    let mut decile_counts = vec![0.0; 10];
    for k in 0..10 {
        let m: Vec<usize> = (0..n).filter(|&i| decile[i] as usize == k + 1).collect();
        decile_areas[k] = m.len();
        decile_counts[k] = m.iter().map(|&i| input.counts[i]).sum();
        if !m.is_empty() {
            let (s, p) = shares(&m, input.total, &input.groups);
            decile_population[k] = p;
            for j in 0..g {
                decile_shares[(k, j)] = s[j];
            }
        }
    }

    // permutation test: the same counts placed on areas at random
    let observed: Vec<f64> = (0..3)
        .flat_map(|k| {
            let ws = &window_shares;
            let ov = &overall;
            (0..g).map(move |j| ws[(k, j)] - ov[j])
        })
        .collect();
    let p = params.permutations;
    let null: Vec<Vec<f64>> = montecarlo::simulate(p, params.seed, |_, rng| {
        let mut c = input.counts.to_vec();
        rng.shuffle(&mut c);
        let ord = rank_order(&c, input.rank_population);
        let (m, _) = windows(&c, &ord, params.window_share, params.least);
        let mut d = Vec::with_capacity(3 * g);
        for mk in &m {
            let (s, _) = shares(mk, input.total, &input.groups);
            for j in 0..g {
                d.push(s[j] - overall[j]);
            }
        }
        d
    });
    let mut p_higher = Array2::from_elem((3, g), f64::NAN);
    let mut p_lower = Array2::from_elem((3, g), f64::NAN);
    let mut mde_higher = Array2::from_elem((3, g), f64::NAN);
    let mut mde_lower = Array2::from_elem((3, g), f64::NAN);
    if p > 0 {
        // a relative tolerance so that ties with the observed value count as "at least as
        // extreme" despite rounding in the sums
        for idx in 0..3 * g {
            let (k, j) = (idx / g, idx % g);
            let obs = observed[idx];
            if obs.is_nan() {
                continue;
            }
            let tol = 1e-12 * obs.abs().max(1e-12);
            let mut vals: Vec<f64> = null
                .iter()
                .map(|d| d[idx])
                .filter(|v| !v.is_nan())
                .collect();
            if vals.is_empty() {
                continue;
            }
            let e = Exceedances::count(obs, &vals, tol);
            p_higher[(k, j)] = e.p_value(Alternative::Greater);
            p_lower[(k, j)] = e.p_value(Alternative::Less);
            vals.sort_by(f64::total_cmp);
            mde_higher[(k, j)] = quantile_sorted(&vals, params.confidence);
            mde_lower[(k, j)] = quantile_sorted(&vals, 1.0 - params.confidence);
        }
    }
    // one family: every finite one-sided p-value, both directions
    let raw: Vec<f64> = p_higher
        .iter()
        .chain(p_lower.iter())
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let adjusted = adjust(&raw, params.correction)?;
    let mut p_higher_adjusted = Array2::from_elem((3, g), f64::NAN);
    let mut p_lower_adjusted = Array2::from_elem((3, g), f64::NAN);
    let mut next = adjusted.iter();
    for (src, dst) in [
        (&p_higher, &mut p_higher_adjusted),
        (&p_lower, &mut p_lower_adjusted),
    ] {
        for (v, a) in src.iter().zip(dst.iter_mut()) {
            if v.is_finite() {
                *a = *next.next().expect("one adjusted value per finite p-value");
            }
        }
    }
    Ok(TargetingResult {
        n_areas: n,
        window_size: w,
        order,
        members,
        overall,
        window_shares,
        window_population,
        window_counts,
        median_count,
        above_median_share,
        decile,
        decile_edges,
        decile_shares,
        decile_areas,
        decile_population,
        decile_counts,
        permutations: p,
        p_higher,
        p_lower,
        mde_higher,
        mde_lower,
        correction: params.correction,
        family_size: raw.len(),
        p_higher_adjusted,
        p_lower_adjusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn r_rounding() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(1.75), 2);
        assert_eq!(round_half_even(1.0), 1);
    }

    #[test]
    fn windows_by_hand() {
        // 20 areas, w = round(1.0) = 1: windows of 2 areas (inclusive bounds)
        let counts: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let pop = vec![1.0; 20];
        let order = rank_order(&counts, &pop);
        assert_eq!(order[0], 19);
        let (m, w) = windows(&counts, &order, 0.05, LeastRule::AllMinimum);
        assert_eq!(w, 1);
        assert_eq!(m[0], vec![19, 18]);
        // ranks 10 ..= 10 (off = 0): rank 10 is the area with count 9
        assert_eq!(m[1], vec![9]);
        assert_eq!(m[2], vec![1, 0]);
    }

    #[test]
    fn ties_broken_by_population_and_least_covers_zeros() {
        // 20 areas: four with zero count (more than w = 1)
        let mut counts: Vec<f64> = (0..20).map(|i| i as f64).collect();
        for c in counts.iter_mut().take(4) {
            *c = 0.0;
        }
        let pop: Vec<f64> = (0..20).map(|i| 100.0 + i as f64).collect();
        let order = rank_order(&counts, &pop);
        // among the zeros, the most populous (index 3) ranks highest
        assert_eq!(&order[16..], &[3, 2, 1, 0]);
        let (all, _) = windows(&counts, &order, 0.05, LeastRule::AllMinimum);
        assert_eq!(all[2], vec![3, 2, 1, 0]);
        let (mk, _) = windows(&counts, &order, 0.05, LeastRule::Markup);
        // ranks n_min − w ..= n_min = 3 ..= 4: the two most populous zeros
        assert_eq!(mk[2], vec![3, 2]);
    }

    #[test]
    fn shares_and_permutation_by_hand() {
        let counts = vec![10.0, 0.0, 5.0, 1.0];
        let total = vec![100.0, 100.0, 100.0, 100.0];
        // group A: 90 in the most targeted area, 10 elsewhere
        let groups = array![[90.0], [10.0], [10.0], [10.0]];
        let input = TargetingInput {
            counts: &counts,
            rank_population: &total,
            total: &total,
            groups: groups.view(),
        };
        let params = TargetingParams {
            window_share: 0.05,
            permutations: 200,
            ..Default::default()
        };
        let r = targeting(&input, &params).unwrap();
        // n = 4, w = round(0.2) = 0: one area per window
        assert_eq!(r.window_size, 0);
        assert_eq!(r.members[0], vec![0]);
        assert_eq!(r.members[2], vec![1]);
        // overall 120 / 400
        assert!((r.overall[0] - 0.3).abs() < 1e-12);
        assert!((r.window_shares[(0, 0)] - 0.9).abs() < 1e-12);
        // median of 0, 1, 5, 10 is 3: areas 0 and 2 above it hold 100 of A's 120 people
        assert!((r.median_count - 3.0).abs() < 1e-12);
        assert!((r.above_median_share[0] - 100.0 / 120.0).abs() < 1e-12);
        // a random permutation puts area 0 on top with probability 1/4: p ≈ 0.25
        assert!((r.p_higher[(0, 0)] - 0.25).abs() < 0.1);
    }

    #[test]
    fn deterministic_and_validated() {
        let counts = vec![3.0, 1.0, 2.0, 0.0, 5.0];
        let pop = vec![10.0; 5];
        let groups = array![[1.0], [2.0], [3.0], [4.0], [5.0]];
        let input = TargetingInput {
            counts: &counts,
            rank_population: &pop,
            total: &pop,
            groups: groups.view(),
        };
        let p = TargetingParams::default();
        let a = targeting(&input, &p).unwrap();
        let b = targeting(&input, &p).unwrap();
        assert_eq!(a.p_higher, b.p_higher);
        let bad = vec![3.0, -1.0, 2.0, 0.0, 5.0];
        let input = TargetingInput {
            counts: &bad,
            ..input
        };
        let e = targeting(&input, &p).unwrap_err().to_string();
        assert!(e.contains("row 1"), "{e}");
    }

    #[test]
    fn holm_over_windows_groups_and_directions() {
        // 40 areas, two groups; group 0 concentrated where counts are high
        let n = 40;
        let counts: Vec<f64> = (0..n).map(|i| (i % 13) as f64).collect();
        let total = vec![100.0; n];
        let groups = Array2::from_shape_fn((n, 2), |(i, g)| {
            let a = 10.0 + 6.0 * (i % 13) as f64;
            if g == 0 {
                a
            } else {
                100.0 - a
            }
        });
        let input = TargetingInput {
            counts: &counts,
            rank_population: &total,
            total: &total,
            groups: groups.view(),
        };
        let r = targeting(
            &input,
            &TargetingParams {
                permutations: 499,
                seed: 9,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.correction, Correction::Holm);
        // Holm from its definition: sort the m p-values ascending, multiply the k-th smallest
        // (k from 0) by m − k, take the running maximum, cap at 1
        let raw: Vec<f64> = r.p_higher.iter().chain(r.p_lower.iter()).copied().collect();
        let m = raw.len();
        assert_eq!(m, 12);
        assert_eq!(r.family_size, m);
        let mut idx: Vec<usize> = (0..m).collect();
        idx.sort_by(|&a, &b| raw[a].partial_cmp(&raw[b]).unwrap());
        let mut want = vec![0.0; m];
        let mut running: f64 = 0.0;
        for (k, &i) in idx.iter().enumerate() {
            running = running.max(((m - k) as f64 * raw[i]).min(1.0));
            want[i] = running;
        }
        let got: Vec<f64> = r
            .p_higher_adjusted
            .iter()
            .chain(r.p_lower_adjusted.iter())
            .copied()
            .collect();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{got:?} vs {want:?}");
        }
        // the most targeted window over-represents group 0 beyond chance even after correction
        assert!(
            r.p_higher_adjusted[(0, 0)] <= 0.05,
            "{:?}",
            r.p_higher_adjusted
        );
        assert!(r.p_higher_adjusted[(0, 0)] >= r.p_higher[(0, 0)]);
        // no permutations: nothing to correct
        let r = targeting(
            &input,
            &TargetingParams {
                permutations: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.family_size, 0);
        assert!(r.p_higher_adjusted.iter().all(|v| v.is_nan()));
    }
}
