//! Getis–Ord Gi* local statistic on grid counts, with analytic and permutation inference.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::montecarlo::{simulate_into, Alternative, Exceedances};
use crate::space::Grid;
use crate::stats::multiple_testing::{adjust, Correction};

/// Spatial weights of Gi*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiWeights {
    /// `w_ij = 1` for every active cell whose centre is within the distance band (and for the
    /// cell itself).
    Binary,
    /// `w_ij = cell_size / d_ij` within the distance band (so a rook neighbour weighs 1, a
    /// diagonal one 1/√2), and `w_ii = 1` for the cell itself.
    InverseDistance,
}

impl GiWeights {
    /// Parses `"binary"` or `"inverse_distance"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "binary" => Ok(GiWeights::Binary),
            "inverse_distance" => Ok(GiWeights::InverseDistance),
            other => Err(Error::param(
                "weights",
                format!("must be \"binary\" or \"inverse_distance\", got {other:?}"),
            )),
        }
    }
    /// The name `parse` accepts.
    pub fn label(self) -> &'static str {
        match self {
            GiWeights::Binary => "binary",
            GiWeights::InverseDistance => "inverse_distance",
        }
    }
}

/// Parameters of [`gi_star`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiStarParams {
    /// Distance band (m): cells whose centres are at most this far apart are neighbours.
    pub distance_m: f64,
    /// Weights within the band (default binary).
    pub weights: GiWeights,
    /// Conditional permutations for pseudo p-values (`None`: analytic inference only).
    pub permutations: Option<usize>,
    /// Seed of the permutations.
    pub seed: u64,
    /// Correction applied to the family of two-sided p-values before binning (default
    /// Benjamini–Hochberg).
    pub correction: Correction,
}

impl GiStarParams {
    /// Binary weights, no permutations, seed 0, Benjamini–Hochberg correction.
    pub fn new(distance_m: f64) -> Self {
        GiStarParams {
            distance_m,
            weights: GiWeights::Binary,
            permutations: None,
            seed: 0,
            correction: Correction::FdrBh,
        }
    }
}

/// Most permutations accepted.
pub const MAX_PERMUTATIONS: usize = 1_000_000;

/// Gi* per active cell, in increasing cell-id order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GiStar {
    /// Active cell ids.
    pub cell_ids: Vec<usize>,
    /// Standardised Gi* (z-score).
    pub z: Vec<f64>,
    /// Analytic two-sided p-value, `2 Φ(−|z|)`.
    pub p: Vec<f64>,
    /// Conditional-permutation pseudo p-value, one-sided in the direction the observation is
    /// more extreme (folded, as esda's `p_sim`): `(1 + min(#sim ≥ obs, #sim ≤ obs)) / (1 + R)`.
    pub p_sim: Option<Vec<f64>>,
    /// The two-sided p-values the correction was applied to: `min(1, 2 p_sim)` with
    /// permutations, else the analytic `p`.
    pub p_tested: Vec<f64>,
    /// `p_tested` after the correction.
    pub p_corrected: Vec<f64>,
    /// ArcGIS-style confidence bins from `p_corrected`: ±3 (p ≤ 0.01), ±2 (≤ 0.05), ±1 (≤ 0.10),
    /// 0 otherwise; the sign is the sign of `z`.
    pub bins: Vec<i8>,
    /// Number of neighbours of each cell (the cell itself not included).
    pub n_neighbours: Vec<u32>,
    /// Cells with no neighbour within the band (z from the cell alone, `p_sim` = 1).
    pub n_islands: usize,
    /// Mean and population standard deviation of the active-cell values.
    pub mean: f64,
    /// See `mean`.
    pub std: f64,
    /// Parameters used.
    pub params: GiStarParams,
}

const NONE: u32 = u32::MAX;

/// The distance-band neighbourhood of active cells on a grid.
#[derive(Debug, Clone)]
pub(crate) struct Neighbourhood {
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    /// Active cell ids, ascending; position = active index.
    pub(crate) ids: Vec<usize>,
    /// Cell id → active index, or NONE.
    index: Vec<u32>,
    /// (d_row, d_col, class) of every offset in the band, the cell itself excluded.
    offsets: Vec<(isize, isize, usize)>,
    /// Weight of each class of offsets (one class for binary weights).
    pub(crate) class_w: Vec<f64>,
}

/// Neighbour sums of one cell.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NbSums {
    /// Σ_{j≠i} w_ij x_j.
    pub(crate) sum: f64,
    /// Σ_{j≠i} w_ij.
    pub(crate) w: f64,
    /// Σ_{j≠i} w_ij².
    pub(crate) w2: f64,
    /// Number of neighbours.
    pub(crate) k: u32,
}

impl Neighbourhood {
    pub(crate) fn new(grid: &Grid, distance_m: f64, weights: GiWeights) -> Result<Self> {
        crate::error::require_positive("distance", distance_m)?;
        let cs = grid.cell_size();
        let (nx, ny) = (grid.nx(), grid.ny());
        let r = (distance_m / cs * (1.0 + 1e-12)).floor();
        let r_max = (nx.max(ny) as f64).min(r) as isize;
        let lim = (distance_m / cs).powi(2) * (1.0 + 1e-12);
        let mut offsets = Vec::new();
        let mut qs: Vec<i64> = Vec::new();
        for dr in -r_max..=r_max {
            for dc in -r_max..=r_max {
                let q = (dr * dr + dc * dc) as i64;
                if q > 0 && (q as f64) <= lim {
                    offsets.push((dr, dc, q));
                    qs.push(q);
                }
            }
        }
        if offsets.is_empty() {
            return Err(Error::param(
                "distance",
                format!(
                    "no cell has a neighbour within {distance_m} m: the nearest cell centre is \
                     {cs} m away (one cell size); use a distance of at least {cs} m"
                ),
            ));
        }
        if offsets.len() > 100_000 {
            return Err(Error::TooLarge {
                param: "distance".into(),
                what: "Gi* neighbourhood (cells within the distance band)".into(),
                requested: offsets.len() as u64,
                limit: 100_000,
            });
        }
        qs.sort_unstable();
        qs.dedup();
        let (offsets, class_w) = match weights {
            GiWeights::Binary => (
                offsets.into_iter().map(|(a, b, _)| (a, b, 0)).collect(),
                vec![1.0],
            ),
            GiWeights::InverseDistance => {
                let cls: HashMap<i64, usize> =
                    qs.iter().enumerate().map(|(i, &q)| (q, i)).collect();
                (
                    offsets
                        .into_iter()
                        .map(|(a, b, q)| (a, b, cls[&q]))
                        .collect(),
                    qs.iter().map(|&q| 1.0 / (q as f64).sqrt()).collect(),
                )
            }
        };
        let mut index = vec![NONE; grid.n_cells()];
        let ids = grid.active_ids();
        if ids.len() >= NONE as usize {
            return Err(Error::TooLarge {
                param: "grid".into(),
                what: "active cells".into(),
                requested: ids.len() as u64,
                limit: NONE as u64 - 1,
            });
        }
        for (a, &id) in ids.iter().enumerate() {
            index[id] = a as u32;
        }
        Ok(Neighbourhood {
            nx,
            ny,
            ids,
            index,
            offsets,
            class_w,
        })
    }

    pub(crate) fn n(&self) -> usize {
        self.ids.len()
    }

    /// Calls `f(j, class)` for every active neighbour `j` (active index) of active cell `a`.
    #[inline]
    fn for_each_neighbour(&self, a: usize, mut f: impl FnMut(usize, usize)) {
        let id = self.ids[a];
        let (r, c) = ((id / self.nx) as isize, (id % self.nx) as isize);
        let (nx, ny) = (self.nx as isize, self.ny as isize);
        for &(dr, dc, cl) in &self.offsets {
            let (rr, cc) = (r + dr, c + dc);
            if rr < 0 || cc < 0 || rr >= ny || cc >= nx {
                continue;
            }
            let j = self.index[(rr * nx + cc) as usize];
            if j != NONE {
                f(j as usize, cl);
            }
        }
    }

    /// Neighbour sums of `x` (by active index) for every active cell, in parallel.
    pub(crate) fn sums(&self, x: &[f64]) -> Vec<NbSums> {
        (0..self.n())
            .into_par_iter()
            .with_min_len(1024)
            .map(|a| {
                let mut s = NbSums::default();
                self.for_each_neighbour(a, |j, cl| {
                    let w = self.class_w[cl];
                    s.sum += w * x[j];
                    s.w += w;
                    s.w2 += w * w;
                    s.k += 1;
                });
                s
            })
            .collect()
    }

    /// The weight pattern of every cell (count of neighbours per weight class), as ids into
    /// the returned list of patterns (ids in order of first appearance: deterministic).
    fn patterns(&self) -> (Vec<u32>, Vec<Vec<u32>>) {
        let n_cls = self.class_w.len();
        let chunks: Vec<(Vec<Vec<u32>>, Vec<u32>)> = (0..self.n())
            .into_par_iter()
            .chunks(8192)
            .map(|chunk| {
                let mut local: HashMap<Vec<u32>, u32> = HashMap::new();
                let mut list = Vec::new();
                let mut ids = Vec::with_capacity(chunk.len());
                let mut key = vec![0u32; n_cls];
                for a in chunk {
                    key.iter_mut().for_each(|v| *v = 0);
                    self.for_each_neighbour(a, |_, cl| key[cl] += 1);
                    let id = match local.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = list.len() as u32;
                            local.insert(key.clone(), id);
                            list.push(key.clone());
                            id
                        }
                    };
                    ids.push(id);
                }
                (list, ids)
            })
            .collect();
        let mut global: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut patterns = Vec::new();
        let mut out = Vec::with_capacity(self.n());
        for (list, ids) in chunks {
            let map: Vec<u32> = list
                .into_iter()
                .map(|k| match global.get(&k) {
                    Some(&g) => g,
                    None => {
                        let g = patterns.len() as u32;
                        global.insert(k.clone(), g);
                        patterns.push(k);
                        g
                    }
                })
                .collect();
            out.extend(ids.into_iter().map(|l| map[l as usize]));
        }
        (out, patterns)
    }
}

/// Two-sided normal p-value `2 Φ(−|z|)`.
pub(crate) fn two_sided_p(z: f64) -> f64 {
    statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// ArcGIS-style bin of a (corrected) two-sided p-value with the sign of `z`.
pub(crate) fn confidence_bin(z: f64, p: f64) -> i8 {
    let level = if p <= 0.01 {
        3
    } else if p <= 0.05 {
        2
    } else if p <= 0.10 {
        1
    } else {
        0
    };
    if z > 0.0 {
        level
    } else if z < 0.0 {
        -level
    } else {
        0
    }
}

/// Mean and population standard deviation (two-pass).
pub(crate) fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.max(0.0).sqrt())
}

/// Standardised Gi* of one cell (Ord & Getis 1995, eq. 14 with the cell in its own
/// neighbourhood): `(Σ_j w_ij x_j − x̄ W_i) / (S √((n S1_i − W_i²)/(n − 1)))`, where the sums
/// include `j = i` with weight `w_self`. Zero when the variance is zero (a neighbourhood that
/// holds every cell with equal weights).
pub(crate) fn gi_z(g: f64, w: f64, s1: f64, n: f64, mean: f64, std: f64) -> f64 {
    let v = (n * s1 - w * w) / (n - 1.0);
    if v <= 1e-12 * n * s1 {
        return 0.0;
    }
    (g - mean * w) / (std * v.sqrt())
}

/// Getis–Ord Gi* on grid values over the active cells.
///
/// Follows Getis & Ord (1992), "The analysis of spatial association by use of distance
/// statistics", and Ord & Getis (1995), "Local spatial autocorrelation statistics:
/// distributional issues and an application" (the standardised form, eq. 14): for each active
/// cell `i`, with `x̄` and `S` the mean and population standard deviation of the `n` active
/// values, `G*_i = Σ_j w_ij x_j` over cells within `distance_m` (centre to centre, including
/// `i` itself with `w_ii = 1`), and `z_i = (G*_i − x̄ W_i) / (S √((n S1_i − W_i²)/(n−1)))`.
/// The z-scores equal esda's `G_Local(star=True, transform="B")` with the same weights.
///
/// *Analytic p*: two-sided normal, `2 Φ(−|z|)` (the ArcGIS convention).
///
/// *Pseudo p (conditional permutation, Anselin 1995)*: the value of cell `i` stays fixed and
/// its `k_i` neighbour slots receive a uniformly random `k_i`-subset of the other `n − 1`
/// values; `p_sim = (1 + min(#sim ≥ obs, #sim ≤ obs)) / (1 + R)`. As in esda, the `R` random
/// draws are shared across cells (draw `p` is the seeded stream `(seed, p)`, so results do not
/// depend on the thread count): for a cell, the first `k_i` drawn indices that are not `i`
/// form its subset, which is exactly uniform over subsets of the others. Each cell's pseudo
/// p-value therefore has the exact conditional-permutation distribution; p-values of
/// different cells are dependent through the shared draws. Cells sharing a weight pattern
/// share their null sums, so the cost is `O(n log R + patterns × R × k)` rather than
/// `O(n R k)`. Ties within `1e-12` relative count on both sides.
///
/// The correction (`params.correction`) is applied to the two-sided family (`min(1, 2 p_sim)`
/// with permutations, else the analytic p) and the ArcGIS-style bins are taken from the
/// corrected values.
///
/// `values` holds one value per grid cell (row-major, length `nx * ny`); inactive cells are
/// ignored. Errors: no active cells, a non-finite active value (names the cell id as the row),
/// constant values, a distance band holding no neighbour, permutations < 1.
///
/// # Examples
/// ```
/// use placewise::space::Grid;
/// use placewise::stats::{gi_star, GiStarParams};
/// // 7 × 7 cells of 100 m, a 3 × 3 block of high counts in the middle
/// let grid = Grid::from_extent(0.0, 0.0, 100.0, 7, 7).unwrap();
/// let mut v = vec![1.0; 49];
/// for r in 2..5 { for c in 2..5 { v[r * 7 + c] = 5.0; } }
/// let mut params = GiStarParams::new(150.0); // queen neighbours (diagonals are 141 m away)
/// params.permutations = Some(99);
/// let g = gi_star(&v, &grid, &params).unwrap();
/// assert!(g.z[24] > 3.0 && g.z[0] < 0.0);
/// assert_eq!(g.p_sim.as_ref().unwrap()[24], 0.01); // no permutation reaches the observed sum
/// // the bins use the two-sided pseudo p after the Benjamini–Hochberg correction
/// assert!(g.p_corrected[24] >= g.p_tested[24] && g.p_tested[24] == 0.02);
/// ```
pub fn gi_star(values: &[f64], grid: &Grid, params: &GiStarParams) -> Result<GiStar> {
    if values.len() != grid.n_cells() {
        return Err(Error::param(
            "counts",
            format!(
                "has {} values but the grid has {} cells (ny = {}, nx = {})",
                values.len(),
                grid.n_cells(),
                grid.ny(),
                grid.nx()
            ),
        ));
    }
    if let Some(r) = params.permutations {
        if r < 1 {
            return Err(Error::param(
                "permutations",
                "must be at least 1 (use None for analytic inference only)",
            ));
        }
        if r > MAX_PERMUTATIONS {
            return Err(Error::TooLarge {
                param: "permutations".into(),
                what: "permutations".into(),
                requested: r as u64,
                limit: MAX_PERMUTATIONS as u64,
            });
        }
    }
    if grid.n_active() == 0 {
        return Err(Error::empty("the grid has no active cells"));
    }
    let nb = Neighbourhood::new(grid, params.distance_m, params.weights)?;
    let x: Vec<f64> = nb.ids.iter().map(|&id| values[id]).collect();
    if let Some(a) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::data(
            Some(nb.ids[a]),
            "counts",
            "value is NaN or infinite (row is the cell id)",
        ));
    }
    let n = x.len();
    let (mean, std) = mean_std(&x);
    let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if n < 2 || std <= 1e-12 * scale.max(f64::MIN_POSITIVE) {
        return Err(Error::data(
            None,
            "counts",
            format!(
                "all {n} active cells hold the same value ({mean}); Gi* is undefined without \
                 variation"
            ),
        ));
    }
    let sums = nb.sums(&x);
    let n_islands = sums.iter().filter(|s| s.k == 0).count();
    if n_islands == n {
        return Err(Error::param(
            "distance",
            format!(
                "no active cell has an active neighbour within {} m",
                params.distance_m
            ),
        ));
    }
    let nf = n as f64;
    let z: Vec<f64> = sums
        .iter()
        .zip(&x)
        .map(|(s, &xi)| gi_z(xi + s.sum, 1.0 + s.w, 1.0 + s.w2, nf, mean, std))
        .collect();
    let p: Vec<f64> = z.iter().map(|&v| two_sided_p(v)).collect();
    let p_sim = params
        .permutations
        .map(|r| permutation_p(&nb, &x, &sums, r, params.seed, scale));
    let p_tested: Vec<f64> = match &p_sim {
        Some(ps) => ps.iter().map(|&v| (2.0 * v).min(1.0)).collect(),
        None => p.clone(),
    };
    let p_corrected = adjust(&p_tested, params.correction)?;
    let bins = z
        .iter()
        .zip(&p_corrected)
        .map(|(&zv, &pv)| confidence_bin(zv, pv))
        .collect();
    Ok(GiStar {
        cell_ids: nb.ids.clone(),
        z,
        p,
        p_sim,
        p_tested,
        p_corrected,
        bins,
        n_neighbours: sums.iter().map(|s| s.k).collect(),
        n_islands,
        mean,
        std,
        params: params.clone(),
    })
}

/// Folded conditional-permutation pseudo p-values (see [`gi_star`]).
fn permutation_p(
    nb: &Neighbourhood,
    x: &[f64],
    sums: &[NbSums],
    r: usize,
    seed: u64,
    scale: f64,
) -> Vec<f64> {
    let n = x.len();
    let (pat_of, patterns) = nb.patterns();
    // slot weights of each pattern: class weights repeated by their counts, in class order
    let slots: Vec<Vec<f64>> = patterns
        .iter()
        .map(|counts| {
            counts
                .iter()
                .enumerate()
                .flat_map(|(cl, &c)| std::iter::repeat_n(nb.class_w[cl], c as usize))
                .collect()
        })
        .collect();
    let k_max = slots.iter().map(|s| s.len()).max().unwrap_or(0);
    let len = (k_max + 1).min(n);
    // R ordered draws of `len` distinct active indices, one seeded stream per permutation
    // (n ≥ 2, so len ≥ 1)
    let mut draws = vec![0u32; r * len];
    simulate_into(&mut draws, len, seed, |_, rng, out| {
        let mut v = Vec::with_capacity(len);
        rng.distinct(n, len, &mut v);
        out.copy_from_slice(&v);
    });
    let draw = |p: usize| &draws[p * len..(p + 1) * len];
    // null sums per pattern and permutation (unsorted, and sorted for counting)
    let null: Vec<Vec<f64>> = slots
        .par_iter()
        .map(|w| {
            (0..r)
                .map(|p| {
                    let d = draw(p);
                    w.iter()
                        .enumerate()
                        .map(|(m, &wm)| wm * x[d[m] as usize])
                        .sum()
                })
                .collect()
        })
        .collect();
    let sorted: Vec<Vec<f64>> = null
        .par_iter()
        .map(|v| {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            s
        })
        .collect();
    let tol = |a: usize| 1e-12 * (sums[a].sum.abs() + scale * sums[a].w) + 1e-300;
    // counts of sims >= obs and <= obs from the shared null, per cell
    let mut ge_le: Vec<(i64, i64)> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .map(|a| {
            let s = &sorted[pat_of[a] as usize];
            let (obs, t) = (sums[a].sum, tol(a));
            let ge = s.len() - s.partition_point(|&v| v < obs - t);
            let le = s.partition_point(|&v| v <= obs + t);
            (ge as i64, le as i64)
        })
        .collect();
    // exceptions: a cell drawn among its own first k slots takes the next draw instead
    let fixes: Vec<Vec<(u32, i64, i64)>> = (0..r)
        .into_par_iter()
        .map(|p| {
            let d = draw(p);
            let mut out = Vec::new();
            for (m, &a) in d.iter().enumerate() {
                let a = a as usize;
                let pat = pat_of[a] as usize;
                let w = &slots[pat];
                if m >= w.len() {
                    continue;
                }
                let mut t_alt = 0.0;
                for (mm, &wm) in w.iter().enumerate() {
                    let src = if mm < m { d[mm] } else { d[mm + 1] };
                    t_alt += wm * x[src as usize];
                }
                let old = null[pat][p];
                let (obs, t) = (sums[a].sum, tol(a));
                let dge = (t_alt >= obs - t) as i64 - (old >= obs - t) as i64;
                let dle = (t_alt <= obs + t) as i64 - (old <= obs + t) as i64;
                if dge != 0 || dle != 0 {
                    out.push((a as u32, dge, dle));
                }
            }
            out
        })
        .collect();
    for list in fixes {
        for (a, dge, dle) in list {
            ge_le[a as usize].0 += dge;
            ge_le[a as usize].1 += dle;
        }
    }
    ge_le
        .into_iter()
        .map(|(ge, le)| {
            Exceedances {
                at_least: ge as u64,
                at_most: le as u64,
                n: r as u64,
            }
            .p_value(Alternative::Folded)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn grid(nx: usize, ny: usize) -> Grid {
        Grid::from_extent(0.0, 0.0, 1.0, nx, ny).unwrap()
    }

    fn lcg_values(n: usize, seed: u64) -> Vec<f64> {
        let mut r = Rng::stream(seed, 99);
        (0..n)
            .map(|_| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
            .collect()
    }

    /// Brute force: z from explicit weights over all pairs.
    fn brute_z(v: &[f64], g: &Grid, d: f64, inv: bool) -> Vec<f64> {
        let ids = g.active_ids();
        let x: Vec<f64> = ids.iter().map(|&i| v[i]).collect();
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let s = (x.iter().map(|a| a * a).sum::<f64>() / n - mean * mean).sqrt();
        ids.iter()
            .map(|&i| {
                let (xi, yi) = g.centre(i);
                let (mut gs, mut w, mut s1) = (0.0, 0.0, 0.0);
                for (b, &j) in ids.iter().enumerate() {
                    let (xj, yj) = g.centre(j);
                    let dist = ((xi - xj).powi(2) + (yi - yj).powi(2)).sqrt();
                    let wij = if i == j {
                        1.0
                    } else if dist <= d + 1e-9 {
                        if inv {
                            g.cell_size() / dist
                        } else {
                            1.0
                        }
                    } else {
                        0.0
                    };
                    gs += wij * x[b];
                    w += wij;
                    s1 += wij * wij;
                }
                (gs - mean * w) / (s * ((n * s1 - w * w) / (n - 1.0)).sqrt())
            })
            .collect()
    }

    #[test]
    fn z_matches_brute_force() {
        let g = grid(9, 7);
        let v = lcg_values(63, 1);
        for (d, inv) in [(1.0, false), (1.5, false), (2.9, true), (3.0, false)] {
            let mut p = GiStarParams::new(d);
            if inv {
                p.weights = GiWeights::InverseDistance;
            }
            let out = gi_star(&v, &g, &p).unwrap();
            let want = brute_z(&v, &g, d, inv);
            for (a, b) in out.z.iter().zip(&want) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
        }
    }

    /// Pseudo p against an independent, per-cell permutation written out plainly.
    #[test]
    fn permutation_p_is_close_to_plain_permutation() {
        let g = grid(8, 8);
        let v = lcg_values(64, 2);
        let mut params = GiStarParams::new(1.5);
        params.permutations = Some(1999);
        let out = gi_star(&v, &g, &params).unwrap();
        let ps = out.p_sim.unwrap();
        let mut rng = Rng::stream(77, 0);
        let nbh = Neighbourhood::new(&g, 1.5, GiWeights::Binary).unwrap();
        let sums = nbh.sums(&v);
        for a in [0usize, 9, 27, 36, 63] {
            let k = sums[a].k as usize;
            let others: Vec<f64> = (0..64).filter(|&j| j != a).map(|j| v[j]).collect();
            let (mut ge, mut le) = (0, 0);
            let rr = 4000;
            for _ in 0..rr {
                let mut idx = Vec::new();
                rng.distinct(63, k, &mut idx);
                let s: f64 = idx.iter().map(|&j| others[j as usize]).sum();
                ge += (s >= sums[a].sum) as usize;
                le += (s <= sums[a].sum) as usize;
            }
            let want = (1 + ge.min(le)) as f64 / (1 + rr) as f64;
            // binomial sd of the difference of two estimates: sqrt(p(1-p)(1/1999 + 1/4000))
            let sd = (want * (1.0 - want) * (1.0 / 1999.0 + 1.0 / 4000.0)).sqrt();
            assert!(
                (ps[a] - want).abs() < 5.0 * sd + 2e-3,
                "cell {a}: {} vs {want}",
                ps[a]
            );
        }
    }

    #[test]
    fn same_result_on_one_and_many_threads() {
        let g = grid(40, 30);
        let v = lcg_values(1200, 3);
        let mut params = GiStarParams::new(2.5);
        params.weights = GiWeights::InverseDistance;
        params.permutations = Some(199);
        params.seed = 11;
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| gi_star(&v, &g, &params).unwrap())
        };
        let (a, b) = (run(1), run(4));
        assert_eq!(a.p_sim, b.p_sim);
        assert_eq!(a.z, b.z);
        assert_eq!(a.bins, b.bins);
    }

    #[test]
    fn bad_inputs_are_refused() {
        let g = grid(4, 4);
        let v = lcg_values(16, 4);
        let e = gi_star(&v, &g, &GiStarParams::new(0.5)).unwrap_err();
        assert!(e.to_string().contains("distance"), "{e}");
        for d in [0.0, -1.0, f64::NAN] {
            let e = gi_star(&v, &g, &GiStarParams::new(d)).unwrap_err();
            assert!(e.to_string().contains("distance"), "{e}");
        }
        let mut p = GiStarParams::new(1.0);
        p.permutations = Some(0);
        let e = gi_star(&v, &g, &p).unwrap_err();
        assert!(e.to_string().contains("permutations"), "{e}");
        let e = gi_star(&[1.0; 16], &g, &GiStarParams::new(1.0)).unwrap_err();
        assert!(e.to_string().contains("same value"), "{e}");
        let e = gi_star(&v[..5], &g, &GiStarParams::new(1.0)).unwrap_err();
        assert!(e.to_string().contains("counts"), "{e}");
        let mut w = v.clone();
        w[6] = f64::NAN;
        let e = gi_star(&w, &g, &GiStarParams::new(1.0)).unwrap_err();
        assert!(e.to_string().contains("row 6"), "{e}");
    }

    #[test]
    fn bins_follow_corrected_p() {
        assert_eq!(confidence_bin(3.0, 0.001), 3);
        assert_eq!(confidence_bin(-2.0, 0.04), -2);
        assert_eq!(confidence_bin(1.7, 0.09), 1);
        assert_eq!(confidence_bin(1.0, 0.3), 0);
    }
}
