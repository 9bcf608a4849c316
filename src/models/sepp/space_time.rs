//! E-step of the space–time SEPP (Mohler et al. 2011) with space and time cut-offs.
//!
//! Events are put in square buckets of side `R/2` (`R` the largest distance visited), each
//! bucket's events in time order. The possible parents of event `i` lie in the 5 × 5 buckets
//! around its own. A bucket whose nearest point is further than `R` from the event is skipped,
//! and in the others the time range `[t_i − L, t_i)` is found by binary search, with `L` the
//! longest lag that any pair with that bucket can have inside the visited part of the kernel
//! (`ωΔt + r²/(2σ²) ≤ level` with `r` at least the distance to the bucket). Against 3 × 3
//! buckets of side `R` searched over the full lag, this scans about a third of the
//! candidate pairs (each candidate is still checked exactly). Work is proportional to the
//! number of pairs visited, memory to the number of events.

use std::collections::HashMap;

use rayon::prelude::*;
use statrs::function::erf::erfc;

use super::{Data, EStats, SeppOptions, SeppParams, State, CHUNK, SECONDS_PER_DAY};
use crate::space::Grid;

/// The part of the triggering kernel the E-step visits at the current parameters: pairs with
/// `ωΔt + r²/(2σ²) ≤ level` (a kernel value at least `trigger_tol` times its peak), inside the
/// cut-offs; `level` is infinite when `trigger_tol` is 0 (every pair within the cut-offs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reach {
    /// `ln(1 / trigger_tol)`, or infinity.
    pub level: f64,
    /// Largest distance visited, metres: `min(D_c, σ √(2 level))`.
    pub r_m: f64,
    /// Largest lag visited, days: `min(T_c, level / ω)`.
    pub t_days: f64,
}

impl Reach {
    pub(crate) fn new(p: &SeppParams, opts: &SeppOptions) -> Self {
        let level = if opts.trigger_tol > 0.0 {
            -opts.trigger_tol.ln()
        } else {
            f64::INFINITY
        };
        Reach {
            level,
            r_m: opts.space_cutoff_m.min(p.sigma_m * (2.0 * level).sqrt()),
            t_days: opts.time_cutoff_days.min(level / p.omega_per_day),
        }
    }

    /// Share of each event's (truncated, normalised) triggering kernel outside the visited
    /// part: with `u = ωΔt ~ Exp(1)` truncated at `a = ωT_c` and `v = r²/(2σ²) ~ Exp(1)`
    /// truncated at `b = D_c²/(2σ²)`, independent, `1 − P(u + v ≤ level)` (exact).
    pub(crate) fn dropped_share(&self, p: &SeppParams, opts: &SeppOptions) -> f64 {
        if !self.level.is_finite() {
            return 0.0;
        }
        let l = self.level;
        let a = p.omega_per_day * opts.time_cutoff_days;
        let b = opts.space_cutoff_m.powi(2) / (2.0 * p.sigma_m * p.sigma_m);
        let c = a.min(l);
        let u1 = (l - b).clamp(0.0, c);
        let fb = -(-b).exp_m1();
        let inside = fb * -(-u1).exp_m1() + ((-u1).exp() - (-c).exp()) - (-l).exp() * (c - u1);
        let norm = -(-a).exp_m1() * fb;
        (1.0 - inside / norm).clamp(0.0, 1.0)
    }
}

/// Bucket index of the events (see the module documentation).
pub(crate) struct SpaceTimeIndex {
    bx: Vec<f64>,
    by: Vec<f64>,
    bt: Vec<i64>,
    bucket_of: Vec<u32>,
    /// The 5 × 5 buckets around each bucket (empty ranges where none), row by row from offset
    /// (−2, −2).
    neighbours: Vec<[(u32, u32); 25]>,
    /// Grid key of each bucket.
    keys: Vec<(i64, i64)>,
    /// Origin of the bucket grid, metres.
    x0: f64,
    y0: f64,
    /// Bucket side, metres (half the reach).
    side: f64,
    /// Reach the index was built for, metres.
    pub reach_m: f64,
}

impl SpaceTimeIndex {
    /// Index for pairs up to `reach_m` apart.
    pub(crate) fn new(data: &Data, reach_m: f64) -> Self {
        let side_m = reach_m / 2.0;
        let n = data.x.len();
        let x0 = data.x.iter().cloned().fold(f64::INFINITY, f64::min);
        let y0 = data.y.iter().cloned().fold(f64::INFINITY, f64::min);
        let key = |i: usize| -> (i64, i64) {
            (
                ((data.x[i] - x0) / side_m).floor() as i64,
                ((data.y[i] - y0) / side_m).floor() as i64,
            )
        };
        let keys: Vec<(i64, i64)> = (0..n).map(key).collect();
        let mut order: Vec<usize> = (0..n).collect();
        // Stable: events are in time order, so each bucket stays in time order.
        order.sort_by_key(|&i| keys[i]);
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut lookup: HashMap<(i64, i64), u32> = HashMap::new();
        let mut bucket_of = vec![0u32; n];
        let mut start = 0;
        while start < n {
            let k = keys[order[start]];
            let mut end = start;
            while end < n && keys[order[end]] == k {
                bucket_of[order[end]] = ranges.len() as u32;
                end += 1;
            }
            lookup.insert(k, ranges.len() as u32);
            ranges.push((start as u32, end as u32));
            start = end;
        }
        let mut bucket_keys = vec![(0i64, 0i64); ranges.len()];
        for (k, &b) in &lookup {
            bucket_keys[b as usize] = *k;
        }
        let neighbours = bucket_keys
            .iter()
            .map(|&(kx, ky)| {
                let mut nb = [(0u32, 0u32); 25];
                let mut m = 0;
                for dy in -2..=2 {
                    for dx in -2..=2 {
                        if let Some(&b) = lookup.get(&(kx + dx, ky + dy)) {
                            nb[m] = ranges[b as usize];
                        }
                        m += 1;
                    }
                }
                nb
            })
            .collect();
        SpaceTimeIndex {
            bx: order.iter().map(|&i| data.x[i]).collect(),
            by: order.iter().map(|&i| data.y[i]).collect(),
            bt: order.iter().map(|&i| data.t[i]).collect(),
            bucket_of,
            neighbours,
            keys: bucket_keys,
            x0,
            y0,
            side: side_m,
            reach_m,
        }
    }

    /// Expected sufficient statistics at `st`; writes each event's background probability
    /// `p_ii` into `p_bg`. Chunks of events run in parallel; their sums are added in chunk
    /// order, so the result does not depend on the number of threads.
    pub(crate) fn estep(
        &self,
        data: &Data,
        st: &State<'_>,
        p_bg: &mut [f64],
        opts: &SeppOptions,
    ) -> EStats {
        let p = st.params;
        let reach = Reach::new(&p, opts);
        debug_assert!(reach.r_m <= self.reach_m);
        let level = reach.level;
        let w = p.omega_per_day;
        let s2 = p.sigma_m * p.sigma_m;
        let d = opts.space_cutoff_m;
        let d2 = d * d;
        let tc_days = opts.time_cutoff_days;
        let tc_sec = reach.t_days * SECONDS_PER_DAY;
        let tc_sec_floor = tc_sec.floor().min(i64::MAX as f64) as i64;
        let f_t = -(-w * tc_days).exp_m1();
        let f_s = -(-d2 / (2.0 * s2)).exp_m1();
        let c = p.theta * w / f_t / (2.0 * std::f64::consts::PI * s2 * f_s);
        let inv2s = 1.0 / (2.0 * s2);
        let partials: Vec<EStats> = p_bg
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(ci, out)| {
                let mut acc = EStats::default();
                for (k, pb) in out.iter_mut().enumerate() {
                    let i = ci * CHUNK + k;
                    let (xi, yi, ti) = (data.x[i], data.y[i], data.t[i]);
                    let lo_t = ti.saturating_sub(tc_sec_floor);
                    let (mut sg, mut sgt, mut sgr) = (0.0, 0.0, 0.0);
                    let mut pairs = 0u64;
                    let own = self.bucket_of[i] as usize;
                    let (kx, ky) = self.keys[own];
                    for (q, &(a, b)) in self.neighbours[own].iter().enumerate() {
                        if a == b {
                            continue;
                        }
                        // nearest point of the bucket to the event
                        let (ox, oy) = ((q % 5) as i64 - 2, (q / 5) as i64 - 2);
                        let bx0 = self.x0 + (kx + ox) as f64 * self.side;
                        let by0 = self.y0 + (ky + oy) as f64 * self.side;
                        // (less a micrometre, for rounding in the bucket keys: the pruning
                        // must never skip a pair the exact checks below would visit)
                        let gx = ((bx0 - xi).max(xi - bx0 - self.side) - 1e-6).max(0.0);
                        let gy = ((by0 - yi).max(yi - by0 - self.side) - 1e-6).max(0.0);
                        let g2 = gx * gx + gy * gy;
                        if g2 > d2 {
                            continue;
                        }
                        // longest lag any pair with this bucket can have in the visited part
                        let lo_t = if level.is_finite() {
                            let lag_days = (level - g2 * inv2s) / w;
                            if lag_days < 0.0 {
                                continue;
                            }
                            let lag = (lag_days * SECONDS_PER_DAY).ceil().min(tc_sec_floor as f64);
                            ti.saturating_sub(lag as i64)
                        } else {
                            lo_t
                        };
                        let (a, b) = (a as usize, b as usize);
                        let ts = &self.bt[a..b];
                        let s = a + ts.partition_point(|&t| t < lo_t);
                        // strictly earlier: identical timestamps never trigger each other
                        let e = a + ts.partition_point(|&t| t < ti);
                        for j in s..e {
                            let dx = xi - self.bx[j];
                            let dy = yi - self.by[j];
                            let r2 = dx * dx + dy * dy;
                            if r2 > d2 {
                                continue;
                            }
                            let dt = (ti - self.bt[j]) as f64 / SECONDS_PER_DAY;
                            let e = w * dt + r2 * inv2s;
                            if e > level {
                                continue;
                            }
                            let v = (-e).exp();
                            sg += v;
                            sgt += v * dt;
                            sgr += v * r2;
                            pairs += 1;
                        }
                    }
                    let mu = match st.mu_event {
                        Some(m) => m[i],
                        None => st.mu_density[data.cell[i] as usize],
                    };
                    let trig = c * sg;
                    let lam = (mu + trig).max(f64::MIN_POSITIVE);
                    let p = mu / lam;
                    // a background estimated with relative variance v: E[μ̂/(μ̂ + g)] is
                    // about p − v p² (1 − p) (the split is concave in μ), so the split is moved
                    // back by that much and the triggered pairs' shares scaled to match
                    let (pc, scale) = match st.mu_rel_var {
                        Some(v) if p < 1.0 => {
                            let pc = (p + v[i] * p * p * (1.0 - p)).min(1.0);
                            (pc, (1.0 - pc) / (1.0 - p))
                        }
                        _ => (p, 1.0),
                    };
                    *pb = pc;
                    acc.sum_log_lambda += lam.ln();
                    let f = scale / lam;
                    acc.p_trig += trig * f;
                    acc.s_t += c * sgt * f;
                    acc.s_r += c * sgr * f;
                    acc.n_pairs += pairs;
                }
                acc
            })
            .collect();
        let mut total = EStats::default();
        for part in &partials {
            total.add(part);
        }
        total
    }
}

/// The fixed KDE background shape (see [`super::BackgroundModel::Kde`]).
pub(crate) struct KdeBackground {
    /// Leave-one-out density at each event, per m².
    pub f_event: Vec<f64>,
    /// Share of the density in each cell (sums to 1 less what falls off the grid).
    pub cell_share: Vec<f64>,
}

/// Leave-one-out Gaussian KDE (s.d. `h` per axis, truncated at `4h`) at every event, by a
/// bucket index of side `4h`, and each cell's share of the density (exact Gaussian cell
/// integrals). Chunks run in parallel with results in event order (deterministic).
pub(crate) fn kde_background(data: &Data, grid: &Grid, h: f64) -> KdeBackground {
    let n = data.x.len();
    let reach = 4.0 * h;
    let idx = SpaceTimeIndex::new(data, reach);
    let r2max = reach * reach;
    let inv2h2 = 1.0 / (2.0 * h * h);
    let k0 = 1.0 / (2.0 * std::f64::consts::PI * h * h);
    let mut f_event = vec![0.0; n];
    f_event
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, out)| {
            for (k, f) in out.iter_mut().enumerate() {
                let i = ci * CHUNK + k;
                let mut s = 0.0;
                for &(a, b) in &idx.neighbours[idx.bucket_of[i] as usize] {
                    for j in a as usize..b as usize {
                        let dx = data.x[i] - idx.bx[j];
                        let dy = data.y[i] - idx.by[j];
                        let r2 = dx * dx + dy * dy;
                        if r2 <= r2max {
                            s += (-r2 * inv2h2).exp();
                        }
                    }
                }
                // remove the event's own kernel (leave-one-out)
                *f = k0 * (s - 1.0).max(0.0) / (n as f64 - 1.0).max(1.0);
            }
        });
    let mut cell_share = vec![0.0; grid.n_cells()];
    for i in 0..n {
        spread_gaussian(
            grid,
            data.x[i],
            data.y[i],
            h,
            reach,
            1.0 / n as f64,
            &mut cell_share,
        );
    }
    KdeBackground {
        f_event,
        cell_share,
    }
}

/// Standard normal CDF.
fn phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Adds `mass` spread over the cells by a Gaussian of s.d. `sigma_m` centred on `(x, y)`,
/// restricted to the square of half-side `cutoff_m` around it and renormalised to that
/// square (the kernel is truncated at the cut-off; the square stands in for the disc). Cell
/// masses are exact Gaussian integrals over each cell (products of normal CDF differences).
/// Mass that falls outside the grid's extent is dropped.
pub(crate) fn spread_gaussian(
    grid: &Grid,
    x: f64,
    y: f64,
    sigma_m: f64,
    cutoff_m: f64,
    mass: f64,
    out: &mut [f64],
) {
    let (gx0, gy0, cs) = (grid.x0(), grid.y0(), grid.cell_size());
    let (nx, ny) = (grid.nx() as i64, grid.ny() as i64);
    let box_mass_1d = phi(cutoff_m / sigma_m) - phi(-cutoff_m / sigma_m);
    let norm = mass / (box_mass_1d * box_mass_1d);
    let c0 = (((x - cutoff_m - gx0) / cs).floor() as i64).max(0);
    let c1 = (((x + cutoff_m - gx0) / cs).floor() as i64).min(nx - 1);
    let r0 = (((y - cutoff_m - gy0) / cs).floor() as i64).max(0);
    let r1 = (((y + cutoff_m - gy0) / cs).floor() as i64).min(ny - 1);
    if c0 > c1 || r0 > r1 {
        return;
    }
    let axis = |lo_edge: f64, centre: f64, k0: i64, k1: i64| -> Vec<f64> {
        (k0..=k1)
            .map(|k| {
                let a = (lo_edge + k as f64 * cs - centre).max(-cutoff_m);
                let b = (lo_edge + (k + 1) as f64 * cs - centre).min(cutoff_m);
                if b <= a {
                    0.0
                } else {
                    phi(b / sigma_m) - phi(a / sigma_m)
                }
            })
            .collect()
    };
    let fx = axis(gx0, x, c0, c1);
    let fy = axis(gy0, y, r0, r1);
    for (ri, r) in (r0..=r1).enumerate() {
        let row = (r * nx) as usize;
        for (ci, c) in (c0..=c1).enumerate() {
            out[row + c as usize] += norm * fy[ri] * fx[ci];
        }
    }
}
