//! Variable-bandwidth kernel background of the space–time SEPP, estimated by weighted
//! declustering (Mohler et al. 2011, Section 3; Zhuang, Ogata & Vere-Jones 2002).
//!
//! `μ(x) = (1/T) Σ_j p_jj K_j(x − x_j)`: each event's Gaussian kernel, with the distance to its
//! `k`-th nearest other event as bandwidth `d_j` (at least `min_bandwidth_m`), weighted by the
//! event's current background probability `p_jj` from the E-step. Each kernel is truncated to
//! the square `|Δx|, |Δy| ≤ 3 d_j` and renormalised to its mass inside the grid's active area
//! (cell coverage), so `∫∫ μ = Σ p_jj / T` exactly and edge events are not under-weighted.
//!
//! At an event `i` the density is the same estimator built only from the events outside
//! `[t_i − Δ, t_i + Δ]`, divided by the time that remains: `μ(x_i) = Σ_{|t_j − t_i| > Δ} p_jj
//! K_j^{(i)}(x_i − x_j) / T_i`, with `T_i` the window's length less that interval and `K_j^{(i)}`
//! the kernel whose bandwidth is the distance from `x_j` to its `k`-th nearest other event
//! *outside `i`'s window*. For a background that is constant in time this is still a kernel
//! estimate of it, but it counts neither the event itself nor its own parent, siblings and
//! offspring, which lie close in time and (at the triggering scale σ) close in space: in the
//! sum they would let each triggered event partly explain itself as background (θ and 1/ω
//! about 14 % and 9 % low on 20k simulated events with the plain leave-one-out estimate), and
//! in the neighbour counts they narrow the kernels of the sources near `i`, so the estimate at
//! the events is a few per cent high (θ 3–4 points low on a uniform background). `Δ` is the
//! time cut-off `T_c` (no pair further apart can trigger), at most a quarter of the window.
//!
//! The estimate is noisy (about `1/k` relative variance), and the E-step's split
//! `p = μ/(μ + g)` is concave in `μ`, so a noisy `μ̂` gives a background share too low on
//! average: `E[p(μ̂)] ≈ p(μ) − v p²(1 − p)` with `v` the relative variance of `μ̂` (second-order
//! delta method). Through the weights `p_jj` that deficit lowers the next background, and so
//! on: where background and triggering are of the same size (the cores of a clustered
//! background) the iteration settles with the background level several per cent low and θ,
//! 1/ω and σ too high. [`KnnBackground::density_at_events`] therefore also returns each
//! estimate's relative variance `v_i` — its Poisson variance over the same kernel terms times
//! [`KNN_VARIANCE_RATIO`] for the bandwidths' own randomness — and the E-step adds
//! `v_i p_i² (1 − p_i)` back to `p_i` (scaling that event's triggering shares to match).
//!
//! Events at identical coordinates share one location. Each location keeps its nearest events
//! (distance, time), enough that its `(k + 1)`-th outside any window is among them (the `+ 1`
//! is the source event itself); the entries `(source location, K, its events inside the
//! window)` at each event do not change during the fit, so they are computed once (f32) and
//! each iteration is a sparse product with the new weights, a location's weight inside a
//! window being a difference of prefix sums over its time-ordered events.

use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use statrs::function::erf::erfc;

use super::SECONDS_PER_DAY;
use crate::space::Grid;

/// Kernel support in bandwidths, per axis.
pub(crate) const REACH: f64 = 3.0;
/// Locations per unit of parallel work.
const LOC_CHUNK: usize = 1024;
/// Events per block of kernel entries (and per unit of work building them).
const EV_CHUNK: usize = 256;

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
    // fast path: the support lies in the extent over fully covered cells (the same cell range
    // as `axis_masses`)
    if x - half >= x0 && x + half <= x1 && y - half >= y0 && y + half <= y1 {
        let span = |lo: f64, n: usize, c: f64| {
            let k0 = (((c - half - lo) / cs).floor() as i64).max(0) as usize;
            let k1 = (((c + half - lo) / cs).floor() as i64).clamp(0, n as i64 - 1) as usize;
            (k0, k1.max(k0))
        };
        let (c0, c1) = span(grid.x0(), grid.nx(), x);
        let (r0, r1) = span(grid.y0(), grid.ny(), y);
        if deficit.sum(r0, r1, c0, c1) <= 0.0 {
            return 1.0;
        }
    }
    let Some((c0, fx)) = axis_masses(grid.x0(), cs, grid.nx(), x, h) else {
        return 0.0;
    };
    let Some((r0, fy)) = axis_masses(grid.y0(), cs, grid.ny(), y, h) else {
        return 0.0;
    };
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

/// Ratio of the kNN estimate's relative variance to its Poisson plug-in `Σ w K² / (Σ w K)²`.
///
/// The plug-in treats the bandwidths as fixed; with each bandwidth set by the neighbours the
/// estimate varies about twice as much. Measured by Monte Carlo on homogeneous Poisson
/// points (scipy; 20,000 points on a torus, 40 samples × 200 places; the estimate's relative
/// variance at a place against the mean plug-in): 2.13, 2.13, 2.03 and 2.07 at k = 6, 10, 15
/// and 30; the test
/// `knn_variance_ratio_is_about_two` measures it on this module's estimator.
pub(crate) const KNN_VARIANCE_RATIO: f64 = 2.0;

/// One source location's kernel at one event: `K = K_b(x_i − x_b)` with `b`'s bandwidth taken
/// among the events outside `i`'s window, and `lo..hi` the positions (in `loc_ev`) of `b`'s
/// events inside that window, whose weights are left out.
#[derive(Clone, Copy)]
struct Entry {
    b: u32,
    lo: u32,
    hi: u32,
    k: f32,
}

/// The background's fixed part: locations, bandwidths and the kernel entries at each event.
pub(crate) struct KnnBackground {
    /// Location of each event.
    loc_of: Vec<u32>,
    /// Coordinates of each location.
    lx: Vec<f64>,
    ly: Vec<f64>,
    /// Bandwidth of each location's kernel in the map (`cell_rates`), metres: the distance to
    /// the `k`-th nearest other event.
    pub bandwidth: Vec<f64>,
    /// Share of each map kernel inside the active area.
    pub inside: Vec<f64>,
    /// Events by location, in time order (each location's a contiguous run).
    loc_ev: Vec<u32>,
    /// The events in the order their entries are stored (by tile and location).
    order: Vec<u32>,
    /// The entries by event, in blocks of `EV_CHUNK` events of `order` (one allocation each,
    /// as built): the `p`-th event's are `ent[p / EV_CHUNK][ent_start[p]..]` up to the next
    /// one's start (or the block's end).
    ent_start: Vec<u32>,
    ent: Vec<Vec<Entry>>,
    /// `T_i`, days: the window less the left-out time around each event.
    t_eff: Vec<f64>,
}

/// Most events a location's neighbour pool may hold, in units of `k + 1`: beyond it the
/// events near that place are too concentrated in time for the windows (see
/// [`KnnError::TimeConcentrated`]). Bounds the pools' memory at `16 · POOL_CAP · (k + 1)` bytes
/// a location; on data spread in time a pool holds about `2 (k + 1)`.
pub(crate) const POOL_CAP: usize = 32;

/// Why the background could not be built.
pub(crate) enum KnnError {
    /// Fewer than `k + 1` events.
    TooFew,
    /// Every event at one location.
    OnePlace,
    /// Fewer than `k + 1` of the nearest `POOL_CAP (k + 1)` events of some place outside one
    /// event's window `[t − Δ, t + Δ]`.
    TimeConcentrated,
}

/// Most of the times `ts` (any order) in one span of length `width`.
fn most_in_span(ts: &mut [i64], width: i64) -> usize {
    ts.sort_unstable();
    let (mut lo, mut best) = (0, 0);
    for hi in 0..ts.len() {
        while ts[hi] - ts[lo] > width {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
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
        let need = k + 1;
        let span = (window.1 - window.0) as f64;
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
        // the map's bandwidths: distance to the k-th nearest other event (events at the same
        // place count, at 0 m)
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
        // Each location's nearest events (its own first, at 0 m) as (distance, time), enough
        // that the (k + 1)-th of them outside any window [t − Δ, t + Δ] is among them: the
        // first k + 1 + s, with s the most of them in any span of 2Δ. The `k + 1`-th counts
        // the source event itself, so its bandwidth is the distance to its k-th nearest other
        // event outside the window. Also the largest such bandwidth, which bounds the support.
        // With fewer than k + 1 events outside a window in all the data (small samples), the
        // bandwidth is the distance to the farthest one; a pool that reaches `cap` events
        // without them is refused (the data are too concentrated in time there).
        let cap = POOL_CAP * need;
        let pools: Vec<(Vec<(f64, i64)>, f64)> = (0..m)
            .into_par_iter()
            .with_min_len(LOC_CHUNK / 4)
            .map(|b| {
                let mut pool: Vec<(f64, i64)> = Vec::new();
                let mut it = tree.nearest_neighbor_iter_with_distance_2(&[lx[b], ly[b]]);
                let mut target = 2 * need;
                let mut ts = Vec::new();
                let most = loop {
                    let mut exhausted = false;
                    while pool.len() < target {
                        let Some((nb, d2)) = it.next() else {
                            exhausted = true;
                            break;
                        };
                        let l = nb.data as usize;
                        let d = d2.sqrt();
                        pool.extend(
                            loc_ev[loc_row[l]..loc_row[l + 1]]
                                .iter()
                                .map(|&j| (d, t[j as usize])),
                        );
                    }
                    ts.clear();
                    ts.extend(pool.iter().map(|p| p.1));
                    let most = most_in_span(&mut ts, delta_s.saturating_mul(2));
                    if exhausted || pool.len() - most >= need {
                        break most;
                    }
                    if pool.len() >= cap {
                        return Err(KnnError::TimeConcentrated);
                    }
                    target = (target * 2).min(cap);
                };
                pool.truncate(need + most);
                let hmax = pool[pool.len() - 1].0.max(min_bandwidth_m);
                Ok((pool, hmax))
            })
            .collect::<Result<_, _>>()?;
        // every source's widest support, to find the sources that can reach an event
        let supports = RTree::bulk_load(
            (0..m)
                .map(|b| {
                    let half = REACH * pools[b].1;
                    GeomWithData::new(
                        Rectangle::from_corners(
                            [lx[b] - half, ly[b] - half],
                            [lx[b] + half, ly[b] + half],
                        ),
                        b as u32,
                    )
                })
                .collect::<Vec<_>>(),
        );
        // the events in tiles of about two bandwidths (row by row, each tile's by location),
        // so that consecutive events share most of their sources (their pools stay in cache)
        let tile = {
            let mut b = bandwidth.clone();
            let mid = b.len() / 2;
            2.0 * *b.select_nth_unstable_by(mid, f64::total_cmp).1
        };
        let (ox, oy) = (grid.x0(), grid.y0());
        let tile_of = |l: usize| {
            (
                ((ly[l] - oy) / tile).floor() as i64,
                ((lx[l] - ox) / tile).floor() as i64,
            )
        };
        let mut order: Vec<u32> = loc_ev.clone();
        order.sort_by_key(|&i| {
            let l = loc_of[i as usize] as usize;
            (tile_of(l), l)
        });
        let z = phi(REACH) - phi(-REACH);
        let lists: Vec<(Vec<u32>, Vec<Entry>)> = order
            .par_chunks(EV_CHUNK)
            .map(|evs| {
                let mut lens = Vec::with_capacity(evs.len());
                let mut out: Vec<Entry> = Vec::new();
                let mut cand: Vec<u32> = Vec::new();
                for &i in evs {
                    let i = i as usize;
                    lens.push(out.len() as u32);
                    let (lo_t, hi_t) = (t[i].saturating_sub(delta_s), t[i].saturating_add(delta_s));
                    cand.clear();
                    cand.extend(supports.locate_all_at_point(&[x[i], y[i]]).map(|r| r.data));
                    // a fixed order, whatever the tree's
                    cand.sort_unstable();
                    for &b in &cand {
                        let b = b as usize;
                        let evs_b = &loc_ev[loc_row[b]..loc_row[b + 1]];
                        let s = evs_b.partition_point(|&j| t[j as usize] < lo_t);
                        let e = evs_b.partition_point(|&j| t[j as usize] <= hi_t);
                        if e - s == evs_b.len() {
                            continue; // none of b's events is outside i's window
                        }
                        let mut have = 0;
                        let mut h = 0.0;
                        for &(d, tj) in &pools[b].0 {
                            if tj < lo_t || tj > hi_t {
                                have += 1;
                                h = d;
                                if have == need {
                                    break;
                                }
                            }
                        }
                        let h = f64::max(h, min_bandwidth_m);
                        let (dx, dy) = (x[i] - lx[b], y[i] - ly[b]);
                        if dx.abs() > REACH * h || dy.abs() > REACH * h {
                            continue;
                        }
                        let ins = inside_share(grid, &deficit, lx[b], ly[b], h);
                        if ins <= 0.0 {
                            continue;
                        }
                        let v = (-(dx * dx + dy * dy) / (2.0 * h * h)).exp()
                            / (2.0 * std::f64::consts::PI * h * h * z * z * ins);
                        out.push(Entry {
                            b: b as u32,
                            lo: (loc_row[b] + s) as u32,
                            hi: (loc_row[b] + e) as u32,
                            k: v as f32,
                        });
                    }
                }
                out.shrink_to_fit();
                (lens, out)
            })
            .collect();
        let (starts, ent): (Vec<Vec<u32>>, Vec<Vec<Entry>>) = lists.into_iter().unzip();
        let ent_start = starts.concat();
        let t_eff = t
            .iter()
            .map(|&ti| {
                let lo = ti.saturating_sub(delta_s).max(window.0);
                let hi = ti.saturating_add(delta_s).min(window.1);
                (span - (hi - lo).max(0) as f64) / SECONDS_PER_DAY
            })
            .collect();
        Ok(KnnBackground {
            loc_of,
            lx,
            ly,
            bandwidth,
            inside,
            loc_ev,
            order,
            ent_start,
            ent,
            t_eff,
        })
    }

    fn location_weights(&self, w: &[f64]) -> Vec<f64> {
        let mut wl = vec![0.0; self.lx.len()];
        for (i, &v) in w.iter().enumerate() {
            wl[self.loc_of[i] as usize] += v;
        }
        wl
    }

    /// The kernel sums at each event: `(Σ w K, Σ w K²)` over the sources outside its window.
    pub(crate) fn sums(&self, w: &[f64]) -> Vec<(f64, f64)> {
        // prefix sums of the weights in `loc_ev` order: a location's weight inside a window
        // is a difference of two
        let mut pre = Vec::with_capacity(self.loc_ev.len() + 1);
        pre.push(0.0);
        let mut acc = 0.0;
        for &j in &self.loc_ev {
            acc += w[j as usize];
            pre.push(acc);
        }
        let wl = self.location_weights(w);
        let by_pos: Vec<(f64, f64)> = (0..w.len())
            .into_par_iter()
            .with_min_len(LOC_CHUNK)
            .map(|p| {
                let (mut s, mut q) = (0.0, 0.0);
                let block = &self.ent[p / EV_CHUNK];
                let end = if (p + 1) % EV_CHUNK == 0 || p + 1 == w.len() {
                    block.len()
                } else {
                    self.ent_start[p + 1] as usize
                };
                for e in &block[self.ent_start[p] as usize..end] {
                    let mut wb = wl[e.b as usize];
                    if e.hi > e.lo {
                        wb = (wb - (pre[e.hi as usize] - pre[e.lo as usize])).max(0.0);
                    }
                    let v = e.k as f64;
                    s += v * wb;
                    q += v * v * wb;
                }
                (s, q)
            })
            .collect();
        let mut out = vec![(0.0, 0.0); w.len()];
        for (p, &i) in self.order.iter().enumerate() {
            out[i as usize] = by_pos[p];
        }
        out
    }

    /// Background density at each event (from the events outside its window, see the module
    /// documentation), per m² per day, for event weights `w` (the background probabilities),
    /// floored at `floor` (per m² per day); and the estimate's relative sampling variance at
    /// each event, `v_i = r Σ_j w_j K_j² / (Σ_j w_j K_j)²` over the same terms, with `r` =
    /// [`KNN_VARIANCE_RATIO`] (the Poisson variance of a kernel sum over the background
    /// events, `w_j` their expected number at `x_j`, times the bandwidths' share), at most 1,
    /// and 0 where the density is floored.
    pub(crate) fn density_at_events(&self, w: &[f64], floor: f64) -> (Vec<f64>, Vec<f64>) {
        self.sums(w)
            .into_par_iter()
            .with_min_len(LOC_CHUNK)
            .enumerate()
            .map(|(i, (s, q))| {
                let d = s.max(0.0) / self.t_eff[i];
                if d > floor {
                    (d, (KNN_VARIANCE_RATIO * q / (s * s)).min(1.0))
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
