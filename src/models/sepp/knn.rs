//! Variable-bandwidth kernel background of the space–time SEPP, estimated by weighted
//! declustering (Mohler et al. 2011, Section 3; Zhuang, Ogata & Vere-Jones 2002).
//!
//! `μ(x) = (1/T) Σ_j p_jj K_j(x − x_j)`: each event's Gaussian kernel, with the distance to its
//! `k`-th nearest other event as bandwidth `d_j` (at least `min_bandwidth_m`), weighted by the
//! event's current background probability `p_jj` from the E-step. Each kernel is truncated to
//! the square `|Δx|, |Δy| ≤ 3 d_j` and renormalised to its mass inside the grid's active area
//! (cell coverage), so `∫∫ μ = Σ p_jj / T` exactly and edge events are not under-weighted.
//!
//! At an event `i` the density leaves out the event itself and every event within `Δ` days of
//! it, and divides by the time that remains: `μ(x_i) = Σ_{|t_j − t_i| > Δ} p_jj K_j(x_i − x_j)
//! / T_i` with `T_i` the window's length less `[t_i − Δ, t_i + Δ]`. For a background that is
//! constant in time this is still an unbiased kernel estimate, but it no longer counts the
//! event's own parent, siblings and offspring, which lie close in time and (at the triggering
//! scale σ) close in space: with them each triggered event would partly explain itself as
//! background, which biases θ and 1/ω down (by about 14 % and 9 % on 20k simulated events
//! with the plain leave-one-out estimate). `Δ` is the time cut-off `T_c` (no pair further
//! apart can trigger), at most a quarter of the window; the bandwidths then take the
//! `⌈k T / (T − 2Δ)⌉`-th neighbour, so that about `k` events still fall within each.
//!
//! The estimate is noisy (about `1/k` relative variance where the bandwidth is set by the
//! neighbours), and the E-step's split `p = μ/(μ + g)` is concave in `μ`, so a noisy `μ̂`
//! gives a background share too low on average: `E[p(μ̂)] ≈ p(μ) − v p²(1 − p)` with `v` the
//! relative variance of `μ̂` (second-order delta method). Through the weights `p_jj` that
//! deficit lowers the next background, and so on: where background and triggering are of the
//! same size (the cores of a clustered background) the iteration settles with the background
//! level several per cent low and θ, 1/ω and σ too high. [`KnnBackground::density_at_events`]
//! therefore also returns each estimate's relative variance `v_i`, its Poisson variance over
//! the same kernel terms, and the E-step adds `v_i p_i² (1 − p_i)` back to `p_i` (scaling that
//! event's triggering shares to match).
//!
//! Events at identical coordinates share one location (and one bandwidth). The kernel values
//! between locations do not change during the fit, so they are computed once (f32, a sparse
//! matrix by target location) and each iteration is a sparse product with the new weights.

use rayon::prelude::*;
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use statrs::function::erf::erfc;

use super::SECONDS_PER_DAY;
use crate::space::Grid;

/// Kernel support in bandwidths, per axis.
pub(crate) const REACH: f64 = 3.0;
/// Locations per unit of parallel work.
const LOC_CHUNK: usize = 1024;

fn phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Mass of a Gaussian of s.d. `h` centred at `x`, truncated to `[x − R h, x + R h]` and
/// renormalised to it, in the grid lines `lo + k·cs`, `k ∈ [k0, k1]` (clipped to `[0, n)`).
/// Returns the first index and the masses; `None` if the support misses the grid.
fn axis_masses(lo: f64, cs: f64, n: usize, x: f64, h: f64) -> Option<(usize, Vec<f64>)> {
    let half = REACH * h;
    let k0 = (((x - half - lo) / cs).floor() as i64).max(0);
    let k1 = (((x + half - lo) / cs).floor() as i64).min(n as i64 - 1);
    if k0 > k1 {
        return None;
    }
    let z = phi(REACH) - phi(-REACH);
    let m = (k0..=k1)
        .map(|k| {
            let a = (lo + k as f64 * cs - x).max(-half);
            let b = (lo + (k + 1) as f64 * cs - x).min(half);
            if b <= a {
                0.0
            } else {
                (phi(b / h) - phi(a / h)) / z
            }
        })
        .collect();
    Some((k0 as usize, m))
}

/// Summed-area table of the cells' coverage deficit `1 − coverage` (to skip the exact edge
/// computation for kernels wholly inside fully covered cells).
struct Deficit {
    nx: usize,
    sat: Vec<f64>,
}

impl Deficit {
    fn new(grid: &Grid) -> Self {
        let (nx, ny) = (grid.nx(), grid.ny());
        let cov = grid.coverage();
        let mut sat = vec![0.0; (nx + 1) * (ny + 1)];
        for r in 0..ny {
            for c in 0..nx {
                let d = (1.0 - cov[r * nx + c]).max(0.0);
                sat[(r + 1) * (nx + 1) + c + 1] =
                    d + sat[r * (nx + 1) + c + 1] + sat[(r + 1) * (nx + 1) + c]
                        - sat[r * (nx + 1) + c];
            }
        }
        Deficit { nx, sat }
    }

    /// Deficit summed over rows `r0..=r1`, columns `c0..=c1`.
    fn sum(&self, r0: usize, r1: usize, c0: usize, c1: usize) -> f64 {
        let w = self.nx + 1;
        self.sat[(r1 + 1) * w + c1 + 1] - self.sat[r0 * w + c1 + 1] - self.sat[(r1 + 1) * w + c0]
            + self.sat[r0 * w + c0]
    }
}

/// Share of the truncated kernel of s.d. `h` at `(x, y)` that lies in the grid's active area
/// (coverage-weighted cells).
fn inside_share(grid: &Grid, deficit: &Deficit, x: f64, y: f64, h: f64) -> f64 {
    let half = REACH * h;
    let (x0, y0, x1, y1) = grid.extent();
    let cs = grid.cell_size();
    let Some((c0, fx)) = axis_masses(grid.x0(), cs, grid.nx(), x, h) else {
        return 0.0;
    };
    let Some((r0, fy)) = axis_masses(grid.y0(), cs, grid.ny(), y, h) else {
        return 0.0;
    };
    let (c1, r1) = (c0 + fx.len() - 1, r0 + fy.len() - 1);
    let within = x - half >= x0 && x + half <= x1 && y - half >= y0 && y + half <= y1;
    if within && deficit.sum(r0, r1, c0, c1) <= 0.0 {
        return 1.0;
    }
    let cov = grid.coverage();
    let nx = grid.nx();
    let mut s = 0.0;
    for (ri, &my) in fy.iter().enumerate() {
        let row = (r0 + ri) * nx;
        let mut acc = 0.0;
        for (ci, &mx) in fx.iter().enumerate() {
            acc += mx * cov[row + c0 + ci];
        }
        s += my * acc;
    }
    s
}

/// The background's fixed part: locations, bandwidths and the kernel matrix.
pub(crate) struct KnnBackground {
    /// Location of each event.
    loc_of: Vec<u32>,
    /// Coordinates of each location.
    lx: Vec<f64>,
    ly: Vec<f64>,
    /// Bandwidth of each location's kernel, metres.
    pub bandwidth: Vec<f64>,
    /// Share of each location's kernel inside the active area.
    pub inside: Vec<f64>,
    /// `K_b(0)` of each location (per m², renormalised by `inside`).
    self_val: Vec<f64>,
    /// Kernel matrix by target location: row `a` lists `(b, K_b(x_a − x_b))` for `b ≠ a`.
    row: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f32>,
    /// By event `i`: the events `j ≠ i` within `Δ` of it in time and within the support of
    /// `K_j` at `x_i`, with `K_j(x_i − x_j)` (the terms left out of the density at `i`).
    near_row: Vec<usize>,
    near: Vec<(u32, f64)>,
    /// `T_i`, days: the window less the left-out time around each event.
    t_eff: Vec<f64>,
}

/// Why the background could not be built.
pub(crate) enum KnnError {
    /// Fewer than `k + 1` events.
    TooFew,
    /// Every event at one location.
    OnePlace,
}

impl KnnBackground {
    /// Builds the background for events at `(x, y)` (see the module documentation).
    /// `t` are UTC seconds in ascending order, `window` the training window (seconds) and
    /// `delta_s` the left-out half-width `Δ` in seconds.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        x: &[f64],
        y: &[f64],
        t: &[i64],
        window: (i64, i64),
        delta_s: i64,
        grid: &Grid,
        k: usize,
        min_bandwidth_m: f64,
    ) -> Result<Self, KnnError> {
        let n = x.len();
        if n <= k {
            return Err(KnnError::TooFew);
        }
        // The estimate at an event uses only the events outside [t − Δ, t + Δ]: the bandwidth
        // takes the k'-th neighbour, k' = ⌈k T / (T − 2Δ)⌉ (at most 2k, as Δ ≤ T/4), so that
        // about k events still fall within it.
        let span = (window.1 - window.0) as f64;
        let kept = (span - 2.0 * delta_s as f64).max(0.5 * span);
        let k = ((k as f64 * span / kept).ceil() as usize).clamp(k, n - 1);
        // unique locations, in (x, y) order
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
        let mut loc_of = vec![0u32; n];
        let (mut lx, mut ly, mut count) = (Vec::new(), Vec::new(), Vec::<u32>::new());
        for (r, &i) in order.iter().enumerate() {
            if r == 0 || x[i] != lx[lx.len() - 1] || y[i] != ly[ly.len() - 1] {
                lx.push(x[i]);
                ly.push(y[i]);
                count.push(0);
            }
            let l = lx.len() - 1;
            loc_of[i] = l as u32;
            count[l] += 1;
        }
        let m = lx.len();
        if m == 1 {
            return Err(KnnError::OnePlace);
        }
        let tree = RTree::bulk_load(
            (0..m)
                .map(|l| GeomWithData::new([lx[l], ly[l]], l as u32))
                .collect::<Vec<_>>(),
        );
        // distance to the k-th nearest other event (events at the same place count, at 0 m)
        let bandwidth: Vec<f64> = (0..m)
            .into_par_iter()
            .with_min_len(LOC_CHUNK)
            .map(|a| {
                let mut have = count[a] as usize - 1;
                let mut d2 = 0.0;
                if have < k {
                    for (nb, dist2) in tree.nearest_neighbor_iter_with_distance_2(&[lx[a], ly[a]]) {
                        if nb.data as usize == a {
                            continue;
                        }
                        have += count[nb.data as usize] as usize;
                        if have >= k {
                            d2 = dist2;
                            break;
                        }
                    }
                }
                d2.sqrt().max(min_bandwidth_m)
            })
            .collect();
        let deficit = Deficit::new(grid);
        let inside: Vec<f64> = (0..m)
            .into_par_iter()
            .with_min_len(LOC_CHUNK)
            .map(|b| inside_share(grid, &deficit, lx[b], ly[b], bandwidth[b]))
            .collect();
        let z = phi(REACH) - phi(-REACH);
        let self_val: Vec<f64> = (0..m)
            .map(|b| {
                let h = bandwidth[b];
                1.0 / (2.0 * std::f64::consts::PI * h * h * z * z * inside[b])
            })
            .collect();
        // entries (target, source, value) by source chunk, in source order
        let chunks: Vec<Vec<(u32, u32, f32)>> = (0..m)
            .collect::<Vec<_>>()
            .par_chunks(LOC_CHUNK)
            .map(|srcs| {
                let mut out = Vec::new();
                for &b in srcs {
                    let h = bandwidth[b];
                    let half = REACH * h;
                    let inv = 1.0 / (2.0 * h * h);
                    let env = AABB::from_corners(
                        [lx[b] - half, ly[b] - half],
                        [lx[b] + half, ly[b] + half],
                    );
                    for t in tree.locate_in_envelope(&env) {
                        let a = t.data as usize;
                        if a == b {
                            continue;
                        }
                        let (dx, dy) = (lx[a] - lx[b], ly[a] - ly[b]);
                        let v = self_val[b] * (-(dx * dx + dy * dy) * inv).exp();
                        out.push((a as u32, b as u32, v as f32));
                    }
                }
                out
            })
            .collect();
        // counting sort by target: each row lists its sources in increasing order
        let mut row = vec![0usize; m + 1];
        for c in &chunks {
            for &(a, _, _) in c {
                row[a as usize + 1] += 1;
            }
        }
        for a in 0..m {
            row[a + 1] += row[a];
        }
        let nnz = row[m];
        let mut next = row.clone();
        let mut col = vec![0u32; nnz];
        let mut val = vec![0f32; nnz];
        for c in chunks {
            for (a, b, v) in c {
                let p = &mut next[a as usize];
                col[*p] = b;
                val[*p] = v;
                *p += 1;
            }
        }
        // events of each location, in time order (events are time-sorted)
        let mut loc_row = vec![0usize; m + 1];
        for &l in &loc_of {
            loc_row[l as usize + 1] += 1;
        }
        for a in 0..m {
            loc_row[a + 1] += loc_row[a];
        }
        let mut fill = loc_row.clone();
        let mut loc_ev = vec![0u32; n];
        for (i, &l) in loc_of.iter().enumerate() {
            loc_ev[fill[l as usize]] = i as u32;
            fill[l as usize] += 1;
        }
        let in_window = |b: usize, lo: i64, hi: i64| -> &[u32] {
            let evs = &loc_ev[loc_row[b]..loc_row[b + 1]];
            let s = evs.partition_point(|&j| t[j as usize] < lo);
            let e = evs.partition_point(|&j| t[j as usize] <= hi);
            &evs[s..e]
        };
        let near_lists: Vec<Vec<(u32, f64)>> = (0..n)
            .collect::<Vec<_>>()
            .par_chunks(LOC_CHUNK)
            .map(|evs| {
                let mut out = Vec::new();
                for &i in evs {
                    let a = loc_of[i] as usize;
                    let (lo, hi) = (t[i].saturating_sub(delta_s), t[i].saturating_add(delta_s));
                    for &j in in_window(a, lo, hi) {
                        if j as usize != i {
                            out.push((j, self_val[a]));
                        }
                    }
                    for e in row[a]..row[a + 1] {
                        for &j in in_window(col[e] as usize, lo, hi) {
                            out.push((j, val[e] as f64));
                        }
                    }
                    out.push((u32::MAX, 0.0)); // end of event i's list
                }
                out
            })
            .collect();
        let mut near_row = Vec::with_capacity(n + 1);
        let mut near = Vec::new();
        near_row.push(0);
        for list in near_lists {
            for e in list {
                if e.0 == u32::MAX {
                    near_row.push(near.len());
                } else {
                    near.push(e);
                }
            }
        }
        let t_eff = t
            .iter()
            .map(|&ti| {
                let lo = ti.saturating_sub(delta_s).max(window.0);
                let hi = ti.saturating_add(delta_s).min(window.1);
                (span - (hi - lo).max(0) as f64) / SECONDS_PER_DAY
            })
            .collect();
        Ok(KnnBackground {
            near_row,
            near,
            t_eff,
            loc_of,
            lx,
            ly,
            bandwidth,
            inside,
            self_val,
            row,
            col,
            val,
        })
    }

    fn location_weights(&self, w: &[f64]) -> Vec<f64> {
        let mut wl = vec![0.0; self.lx.len()];
        for (i, &v) in w.iter().enumerate() {
            wl[self.loc_of[i] as usize] += v;
        }
        wl
    }

    /// Background density at each event (leaving out the events within `Δ` of it in time,
    /// see the module documentation), per m² per day, for event weights `w` (the background
    /// probabilities), floored at `floor` (per m² per day); and the estimate's relative
    /// sampling variance at each event, `v_i = Σ_j w_j K_j(x_i − x_j)² / (Σ_j w_j K_j(x_i − x_j))²`
    /// over the same terms (the Poisson variance of a kernel sum over the background events,
    /// with `w_j` their expected number at `x_j`; `1 / v_i` is the effective number of events
    /// behind the estimate), at most 1, and 0 where the density is floored.
    pub(crate) fn density_at_events(&self, w: &[f64], floor: f64) -> (Vec<f64>, Vec<f64>) {
        let wl = self.location_weights(w);
        let at_loc: Vec<(f64, f64)> = (0..self.lx.len())
            .into_par_iter()
            .with_min_len(LOC_CHUNK)
            .map(|a| {
                let (mut s, mut q) = (0.0, 0.0);
                for e in self.row[a]..self.row[a + 1] {
                    let (v, wb) = (self.val[e] as f64, wl[self.col[e] as usize]);
                    s += v * wb;
                    q += v * v * wb;
                }
                (s, q)
            })
            .collect();
        w.par_iter()
            .with_min_len(LOC_CHUNK)
            .enumerate()
            .map(|(i, &wi)| {
                let a = self.loc_of[i] as usize;
                let sv = self.self_val[a];
                let rest = (wl[a] - wi).max(0.0);
                let (mut s, mut q) = (at_loc[a].0 + rest * sv, at_loc[a].1 + rest * sv * sv);
                for &(j, v) in &self.near[self.near_row[i]..self.near_row[i + 1]] {
                    s -= w[j as usize] * v;
                    q -= w[j as usize] * v * v;
                }
                let d = s.max(0.0) / self.t_eff[i];
                if d > floor {
                    (d, (q.max(0.0) / (s * s)).min(1.0))
                } else {
                    (floor, 0.0)
                }
            })
            .unzip()
    }

    /// Background events per day in each cell: each location's weight over `span_days`,
    /// spread by its kernel over the cells in proportion to mass × coverage (sums to
    /// `Σ w / span_days`).
    pub(crate) fn cell_rates(&self, w: &[f64], span_days: f64, grid: &Grid) -> Vec<f64> {
        let wl = self.location_weights(w);
        let mut out = vec![0.0; grid.n_cells()];
        let cov = grid.coverage();
        let nx = grid.nx();
        let cs = grid.cell_size();
        for (b, &wb) in wl.iter().enumerate() {
            if wb <= 0.0 || self.inside[b] <= 0.0 {
                continue;
            }
            let h = self.bandwidth[b];
            let (Some((c0, fx)), Some((r0, fy))) = (
                axis_masses(grid.x0(), cs, nx, self.lx[b], h),
                axis_masses(grid.y0(), cs, grid.ny(), self.ly[b], h),
            ) else {
                continue;
            };
            let amount = wb / span_days / self.inside[b];
            for (ri, &my) in fy.iter().enumerate() {
                let row = (r0 + ri) * nx;
                for (ci, &mx) in fx.iter().enumerate() {
                    let id = row + c0 + ci;
                    out[id] += amount * my * mx * cov[id];
                }
            }
        }
        out
    }
}
