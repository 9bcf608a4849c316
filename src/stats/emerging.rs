//! Emerging hot spot analysis: Gi* per time step over a space–time neighbourhood, then a
//! Mann–Kendall trend test per cell, classified into ESRI's categories.

use serde::{Deserialize, Serialize};

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};
use crate::space::Grid;
use crate::stats::gi_star::{gi_z, mean_std, two_sided_p, GiWeights, Neighbourhood};
use crate::stats::mann_kendall::{mann_kendall, MannKendall};
use crate::stats::multiple_testing::{adjust, Correction};

/// The pattern categories of ESRI's Emerging Hot Spot Analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EmergingCategory {
    NoPattern,
    NewHot,
    ConsecutiveHot,
    IntensifyingHot,
    PersistentHot,
    DiminishingHot,
    SporadicHot,
    OscillatingHot,
    HistoricalHot,
    NewCold,
    ConsecutiveCold,
    IntensifyingCold,
    PersistentCold,
    DiminishingCold,
    SporadicCold,
    OscillatingCold,
    HistoricalCold,
}

impl EmergingCategory {
    /// All categories, in the order used for codes.
    pub const ALL: [EmergingCategory; 17] = [
        EmergingCategory::NoPattern,
        EmergingCategory::NewHot,
        EmergingCategory::ConsecutiveHot,
        EmergingCategory::IntensifyingHot,
        EmergingCategory::PersistentHot,
        EmergingCategory::DiminishingHot,
        EmergingCategory::SporadicHot,
        EmergingCategory::OscillatingHot,
        EmergingCategory::HistoricalHot,
        EmergingCategory::NewCold,
        EmergingCategory::ConsecutiveCold,
        EmergingCategory::IntensifyingCold,
        EmergingCategory::PersistentCold,
        EmergingCategory::DiminishingCold,
        EmergingCategory::SporadicCold,
        EmergingCategory::OscillatingCold,
        EmergingCategory::HistoricalCold,
    ];

    /// ESRI's label, e.g. "new hot spot".
    pub fn label(self) -> &'static str {
        use EmergingCategory::*;
        match self {
            NoPattern => "no pattern detected",
            NewHot => "new hot spot",
            ConsecutiveHot => "consecutive hot spot",
            IntensifyingHot => "intensifying hot spot",
            PersistentHot => "persistent hot spot",
            DiminishingHot => "diminishing hot spot",
            SporadicHot => "sporadic hot spot",
            OscillatingHot => "oscillating hot spot",
            HistoricalHot => "historical hot spot",
            NewCold => "new cold spot",
            ConsecutiveCold => "consecutive cold spot",
            IntensifyingCold => "intensifying cold spot",
            PersistentCold => "persistent cold spot",
            DiminishingCold => "diminishing cold spot",
            SporadicCold => "sporadic cold spot",
            OscillatingCold => "oscillating cold spot",
            HistoricalCold => "historical cold spot",
        }
    }

    /// Index in [`EmergingCategory::ALL`].
    pub fn code(self) -> u8 {
        Self::ALL.iter().position(|&c| c == self).unwrap_or(0) as u8
    }
}

/// Parameters of [`emerging_hotspots`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingParams {
    /// Length of a time step (s), e.g. 7 days.
    pub step_s: i64,
    /// Start of the first step (UTC s); default: the first incident.
    pub start: Option<i64>,
    /// End of the last step, exclusive (UTC s); default: one second after the last incident.
    pub end: Option<i64>,
    /// Spatial distance band (m) of the space–time neighbourhood.
    pub distance_m: f64,
    /// Neighbourhood time steps: a bin's neighbourhood spans its own step and this many
    /// previous ones (ESRI's default is 1).
    pub time_steps: usize,
    /// Significance level for hot/cold bins (after the correction) and for the trend.
    pub alpha: f64,
    /// Correction over all bins of the cube (default Benjamini–Hochberg).
    pub correction: Correction,
    /// Share of steps a location must be hot (cold) to be persistent, intensifying,
    /// diminishing or historical (ESRI: 0.9).
    pub threshold: f64,
}

impl EmergingParams {
    /// Defaults: one neighbourhood time step, α = 0.10, Benjamini–Hochberg, threshold 0.9.
    pub fn new(step_s: i64, distance_m: f64) -> Self {
        EmergingParams {
            step_s,
            start: None,
            end: None,
            distance_m,
            time_steps: 1,
            alpha: 0.10,
            correction: Correction::FdrBh,
            threshold: 0.9,
        }
    }
}

/// Result of [`emerging_hotspots`]. Per-bin arrays are step-major: bin `(t, a)` is at
/// `t * n_cells + a` where `a` indexes `cell_ids`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Emerging {
    /// Active cell ids.
    pub cell_ids: Vec<usize>,
    /// Start (UTC s) of each step; step `t` covers `[starts[t], starts[t] + step_s)`.
    pub starts: Vec<i64>,
    /// Incidents (or summed weights) per bin.
    pub counts: Vec<f64>,
    /// Space–time Gi* z-score per bin.
    pub z: Vec<f64>,
    /// Two-sided analytic p per bin.
    pub p: Vec<f64>,
    /// `p` after the correction over all bins.
    pub p_corrected: Vec<f64>,
    /// Category per cell.
    pub category: Vec<EmergingCategory>,
    /// Mann–Kendall test of each cell's z series.
    pub trend: Vec<MannKendall>,
    /// Significant hot steps per cell.
    pub n_hot: Vec<u32>,
    /// Significant cold steps per cell.
    pub n_cold: Vec<u32>,
    /// Incidents outside active cells or outside the time range, not counted.
    pub n_ignored: usize,
    /// Parameters used (with `start` and `end` resolved).
    pub params: EmergingParams,
}

/// Classifies one location from its significant hot/cold steps and its trend.
///
/// The rules (ESRI, "How Emerging Hot Spot Analysis works", ArcGIS Pro documentation), with `T`
/// steps, `H`/`C` the steps that are significant hot/cold spots and `θ` the threshold (0.9):
///
/// 1. Final step hot:
///    * `|H| ≥ θT`: **intensifying** if the Mann–Kendall trend of z is significantly
///      increasing, **diminishing** if significantly decreasing, else **persistent**;
///    * else, if any step is a significant cold spot: **oscillating**;
///    * else, if the final step is the only hot step: **new**;
///    * else, if the hot steps form one uninterrupted run ending at the final step: **consecutive**;
///    * else: **sporadic** (on-and-off hot, never cold).
/// 2. Final step cold: the same rules with hot and cold swapped (intensifying cold = z
///    significantly decreasing).
/// 3. Final step neither: **historical hot** if `|H| ≥ θT`, **historical cold** if `|C| ≥ θT`,
///    else **no pattern detected**.
///
/// ESRI leaves the order of the tests open where two definitions overlap; placewise tests
/// oscillating before new/consecutive/sporadic (a location with a cold past is oscillating even
/// if its current hot run is its first).
pub fn classify(
    hot: &[bool],
    cold: &[bool],
    trend: &MannKendall,
    alpha: f64,
    threshold: f64,
) -> EmergingCategory {
    use EmergingCategory::*;
    let t = hot.len();
    if t == 0 {
        return NoPattern;
    }
    let need = threshold * t as f64 - 1e-9;
    let up = trend.p <= alpha && trend.s > 0;
    let down = trend.p <= alpha && trend.s < 0;
    let side = |a: &[bool], b: &[bool], rising: bool, falling: bool, hot_side: bool| {
        let n_a = a.iter().filter(|&&v| v).count();
        let n_b = b.iter().filter(|&&v| v).count();
        let pick = |h: EmergingCategory, c: EmergingCategory| if hot_side { h } else { c };
        if n_a as f64 >= need {
            if rising {
                pick(IntensifyingHot, IntensifyingCold)
            } else if falling {
                pick(DiminishingHot, DiminishingCold)
            } else {
                pick(PersistentHot, PersistentCold)
            }
        } else if n_b > 0 {
            pick(OscillatingHot, OscillatingCold)
        } else if n_a == 1 {
            pick(NewHot, NewCold)
        } else {
            let run = a.iter().rev().take_while(|&&v| v).count();
            if run == n_a {
                pick(ConsecutiveHot, ConsecutiveCold)
            } else {
                pick(SporadicHot, SporadicCold)
            }
        }
    };
    if hot[t - 1] {
        side(hot, cold, up, down, true)
    } else if cold[t - 1] {
        // for cold spots "intensifying" means z is falling (colder)
        side(cold, hot, down, up, false)
    } else if hot.iter().filter(|&&v| v).count() as f64 >= need {
        HistoricalHot
    } else if cold.iter().filter(|&&v| v).count() as f64 >= need {
        HistoricalCold
    } else {
        NoPattern
    }
}

/// Most bins (steps × active cells) accepted.
pub const MAX_BINS: u64 = 200_000_000;

/// Emerging hot spot analysis on incidents over a grid.
///
/// Follows ESRI's Emerging Hot Spot Analysis ("How Emerging Hot Spot Analysis works", ArcGIS
/// Pro documentation): incidents are counted in a space–time cube (active cells × steps of
/// `step_s`, aligned so that the last step ends at `end`; the first step may start before
/// `start` and then holds fewer days of data). Each bin gets a Gi* z-score (Getis & Ord 1992;
/// Ord & Getis 1995) whose neighbourhood is every active cell within `distance_m` (centre to
/// centre, the cell itself included) in the bin's own step and the `time_steps` previous ones,
/// with binary weights, against the mean and variance of the whole cube. Two-sided normal
/// p-values are corrected over all bins; a bin is a significant hot (cold) spot when its
/// corrected p ≤ α and z > 0 (z < 0). A Mann–Kendall test of each cell's z series gives the
/// trend (significant at α). Cells are classified by [`classify`].
///
/// Errors: a non-positive step or distance, fewer than 3 steps, α outside (0, 1), a threshold
/// outside (0, 1], no incidents in the cube, a cube without variation.
pub fn emerging_hotspots(
    inc: &Incidents,
    grid: &Grid,
    params: &EmergingParams,
) -> Result<Emerging> {
    if params.step_s <= 0 {
        return Err(Error::param(
            "step",
            format!("must be a positive duration, got {} s", params.step_s),
        ));
    }
    require_positive("distance", params.distance_m)?;
    if !(params.alpha > 0.0 && params.alpha < 1.0) {
        return Err(Error::param(
            "alpha",
            format!("must lie in (0, 1), got {}", params.alpha),
        ));
    }
    if !(params.threshold > 0.0 && params.threshold <= 1.0) {
        return Err(Error::param(
            "threshold",
            format!("must lie in (0, 1], got {}", params.threshold),
        ));
    }
    if inc.is_empty() {
        return Err(Error::empty("no incidents"));
    }
    let (t_min, t_max) = inc.time_span().expect("non-empty");
    let start = params.start.unwrap_or(t_min);
    let end = params.end.unwrap_or(t_max.saturating_add(1));
    if end <= start {
        return Err(Error::param(
            "end",
            format!("must be after start ({start} s), got {end} s"),
        ));
    }
    let span = (end - start) as i128;
    let n_steps = (span + params.step_s as i128 - 1) / params.step_s as i128;
    if n_steps < 3 {
        return Err(Error::param(
            "step",
            format!(
                "the window holds {n_steps} step(s) of {} s; the trend test needs at least 3 \
                 (ESRI recommends at least 10)",
                params.step_s
            ),
        ));
    }
    let nb = Neighbourhood::new(grid, params.distance_m, GiWeights::Binary)?;
    let n = nb.n();
    if n == 0 {
        return Err(Error::empty("the grid has no active cells"));
    }
    let n_steps = n_steps as usize;
    if (n_steps as u64).saturating_mul(n as u64) > MAX_BINS {
        return Err(Error::TooLarge {
            param: "step".into(),
            what: "space-time bins (steps × active cells)".into(),
            requested: (n_steps as u64).saturating_mul(n as u64),
            limit: MAX_BINS,
        });
    }
    let first = end - (n_steps as i64) * params.step_s;
    let starts: Vec<i64> = (0..n_steps as i64)
        .map(|k| first + k * params.step_s)
        .collect();
    let mut active_of = vec![u32::MAX; grid.n_cells()];
    for (a, &id) in nb.ids.iter().enumerate() {
        active_of[id] = a as u32;
    }
    let mut counts = vec![0.0; n_steps * n];
    let mut n_ignored = 0usize;
    let mut n_used = 0usize;
    for i in 0..inc.len() {
        let t = inc.t()[i];
        if t < start || t >= end {
            n_ignored += 1;
            continue;
        }
        match grid.active_cell_of(inc.x()[i], inc.y()[i]) {
            Some(id) => {
                let k = ((t - first) / params.step_s) as usize;
                counts[k * n + active_of[id] as usize] += inc.weight_of(i);
                n_used += 1;
            }
            None => n_ignored += 1,
        }
    }
    if n_used == 0 {
        return Err(Error::empty(
            "no incident falls in an active cell within the time window",
        ));
    }
    let (mean, std) = mean_std(&counts);
    if std <= 0.0 {
        return Err(Error::data(
            None,
            "incidents",
            "every space-time bin holds the same count; Gi* is undefined without variation",
        ));
    }
    // spatial totals per step (the cell itself included), then a trailing window in time
    let spatial: Vec<Vec<f64>> = (0..n_steps)
        .map(|k| {
            let x = &counts[k * n..(k + 1) * n];
            nb.sums(x)
                .iter()
                .zip(x)
                .map(|(s, &xi)| xi + s.sum)
                .collect()
        })
        .collect();
    let k_sp: Vec<f64> = nb.sums(&vec![0.0; n]).iter().map(|s| 1.0 + s.w).collect();
    let big_n = (n_steps * n) as f64;
    let mut z = vec![0.0; n_steps * n];
    let mut window = vec![0.0; n];
    for k in 0..n_steps {
        for a in 0..n {
            window[a] += spatial[k][a];
        }
        if k > params.time_steps {
            let old = k - params.time_steps - 1;
            for a in 0..n {
                window[a] -= spatial[old][a];
            }
        }
        let depth = (k.min(params.time_steps) + 1) as f64;
        for a in 0..n {
            let w = k_sp[a] * depth;
            z[k * n + a] = gi_z(window[a], w, w, big_n, mean, std);
        }
    }
    let p: Vec<f64> = z.iter().map(|&v| two_sided_p(v)).collect();
    let p_corrected = adjust(&p, params.correction)?;
    let mut category = Vec::with_capacity(n);
    let mut trend = Vec::with_capacity(n);
    let (mut n_hot, mut n_cold) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut series = vec![0.0; n_steps];
    let (mut hot, mut cold) = (vec![false; n_steps], vec![false; n_steps]);
    for a in 0..n {
        for k in 0..n_steps {
            let b = k * n + a;
            series[k] = z[b];
            let sig = p_corrected[b] <= params.alpha;
            hot[k] = sig && z[b] > 0.0;
            cold[k] = sig && z[b] < 0.0;
        }
        let mk = mann_kendall(&series)?;
        category.push(classify(&hot, &cold, &mk, params.alpha, params.threshold));
        trend.push(mk);
        n_hot.push(hot.iter().filter(|&&v| v).count() as u32);
        n_cold.push(cold.iter().filter(|&&v| v).count() as u32);
    }
    let mut params = params.clone();
    params.start = Some(start);
    params.end = Some(end);
    Ok(Emerging {
        cell_ids: nb.ids.clone(),
        starts,
        counts,
        z,
        p,
        p_corrected,
        category,
        trend,
        n_hot,
        n_cold,
        n_ignored,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmergingCategory::*;

    fn mk(s: i64, p: f64) -> MannKendall {
        MannKendall {
            s,
            var_s: 1.0,
            z: 0.0,
            p,
            tau: 0.0,
        }
    }

    fn bools(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn every_category_from_a_constructed_history() {
        let none = mk(0, 1.0);
        let cases: Vec<(&str, &str, MannKendall, EmergingCategory)> = vec![
            ("0000000000", "0000000000", none, NoPattern),
            ("0000000001", "0000000000", none, NewHot),
            ("0000000111", "0000000000", none, ConsecutiveHot),
            ("1111111111", "0000000000", mk(30, 0.001), IntensifyingHot),
            ("1111111111", "0000000000", none, PersistentHot),
            ("0111111111", "0000000000", mk(-30, 0.001), DiminishingHot),
            ("0101100101", "0000000000", none, SporadicHot),
            ("0000000011", "0110000000", none, OscillatingHot),
            ("1111111110", "0000000000", none, HistoricalHot),
            ("0000000000", "0000000001", none, NewCold),
            ("0000000000", "0000001111", none, ConsecutiveCold),
            ("0000000000", "1111111111", mk(-30, 0.001), IntensifyingCold),
            ("0000000000", "1111111111", none, PersistentCold),
            ("0000000000", "1111111111", mk(30, 0.001), DiminishingCold),
            ("0000000000", "1010100101", none, SporadicCold),
            ("0010000000", "0000000001", none, OscillatingCold),
            ("0000000000", "1111111110", none, HistoricalCold),
        ];
        let mut seen = std::collections::HashSet::new();
        for (h, c, t, want) in cases {
            assert_eq!(
                classify(&bools(h), &bools(c), &t, 0.1, 0.9),
                want,
                "{h} {c}"
            );
            seen.insert(want);
        }
        assert_eq!(seen.len(), EmergingCategory::ALL.len());
    }

    #[test]
    fn a_growing_cluster_is_hot_at_the_end() {
        let grid = Grid::from_extent(0.0, 0.0, 100.0, 10, 10).unwrap();
        let (mut x, mut y, mut t) = (vec![], vec![], vec![]);
        let day = 86_400i64;
        // background: one incident per cell every other week; a cluster growing in cell 55
        for w in 0..12i64 {
            for c in 0..100i64 {
                if (c + w) % 2 == 0 {
                    x.push((c % 10) as f64 * 100.0 + 50.0);
                    y.push((c / 10) as f64 * 100.0 + 50.0);
                    t.push(w * 7 * day + c * 60);
                }
            }
            for k in 0..(w * w) {
                x.push(550.0);
                y.push(550.0);
                t.push(w * 7 * day + 3 * day + k);
            }
        }
        let inc = Incidents::new(x, y, t).unwrap();
        let mut p = EmergingParams::new(7 * day, 150.0);
        p.start = Some(0);
        p.end = Some(12 * 7 * day);
        let e = emerging_hotspots(&inc, &grid, &p).unwrap();
        assert_eq!(e.starts.len(), 12);
        let a = e.cell_ids.iter().position(|&id| id == 55).unwrap();
        assert!(
            matches!(e.category[a], NewHot | ConsecutiveHot | IntensifyingHot),
            "{:?}",
            e.category[a]
        );
        assert!(e.trend[a].s > 0);
        // far corner: no pattern or cold
        let far = e.cell_ids.iter().position(|&id| id == 0).unwrap();
        assert!(!matches!(
            e.category[far],
            NewHot | ConsecutiveHot | IntensifyingHot | PersistentHot
        ));
    }

    #[test]
    fn bad_inputs() {
        let grid = Grid::from_extent(0.0, 0.0, 100.0, 3, 3).unwrap();
        let inc =
            Incidents::new(vec![50.0, 150.0], vec![50.0, 50.0], vec![0, 86_400 * 20]).unwrap();
        let ok = EmergingParams::new(86_400 * 7, 150.0);
        assert!(emerging_hotspots(&inc, &grid, &ok).is_ok());
        let mut p = ok.clone();
        p.step_s = 0;
        assert!(emerging_hotspots(&inc, &grid, &p)
            .unwrap_err()
            .to_string()
            .contains("step"));
        let mut p = ok.clone();
        p.step_s = 86_400 * 30;
        assert!(emerging_hotspots(&inc, &grid, &p)
            .unwrap_err()
            .to_string()
            .contains("at least 3"));
        let mut p = ok.clone();
        p.distance_m = -1.0;
        assert!(emerging_hotspots(&inc, &grid, &p)
            .unwrap_err()
            .to_string()
            .contains("distance"));
        let mut p = ok.clone();
        p.distance_m = 50.0;
        assert!(emerging_hotspots(&inc, &grid, &p)
            .unwrap_err()
            .to_string()
            .contains("distance"));
        let empty = Incidents::new(vec![], vec![], vec![]).unwrap();
        assert!(matches!(
            emerging_hotspots(&empty, &grid, &ok),
            Err(Error::EmptyInput { .. })
        ));
    }
}
