//! Exact kernel sums over a trailing time window, updated incrementally from one origin to the
//! next.
//!
//! A rolling backtest asks for the same kernel density at many origins `t_1 < t_2 < …`, each over
//! the incidents in `[t_k − W, t_k)`. Consecutive windows share almost all their incidents, and a
//! kernel sum is linear in its points, so the sum at `t_{k+1}` is the sum at `t_k` plus the
//! incidents that entered the window minus those that left it: a few thousand points instead of
//! the whole window.
//!
//! Adding and subtracting floating-point sums would make the result depend on the path (which
//! origins were visited before) and leave tiny non-zero residues where the exact sum is 0. So each
//! point–cell contribution `w_i K(d)/K(0)` is rounded once to a fixed-point integer (a multiple
//! of `2^−S`, with `S` chosen so that the sum of every incident's largest contribution fits in
//! an `i64`) and cells accumulate integers. Integer sums are exact and associative: the value at
//! an origin is the same integer whatever origins were visited before, in whatever order, with
//! whatever number of threads, and a cell no point reaches is exactly 0. The rounding adds at
//! most `2^{−S−1} K(0) A` per point to a cell (`S ≥ 40` for a million unit-weight incidents),
//! reported with the Gaussian truncation bound in `surface.params["error_bound"]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};
use crate::models::kde::Kernel;
use crate::models::window::training_range;
use crate::space::Grid;
use crate::surface::Surface;

/// Rows per parallel task (fixed; integer sums make the result independent of the split anyway).
const BAND: usize = 8;

/// Exact fixed-bandwidth kernel sums over a trailing window, kept between calls so that the
/// next origin costs only the incidents that entered or left the window.
///
/// `predict(at)` returns the same surface as [`Kde`](crate::models::Kde) in exact mode with the
/// same kernel, bandwidth, cutoff and `window_days` (up to the stated rounding), bit-for-bit
/// identical whatever origins were asked before.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use placewise::data::Incidents;
/// use placewise::models::{Kernel, WindowKernelSums};
/// use placewise::space::Grid;
/// let g = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 20, 20).unwrap());
/// let day = 86_400;
/// let inc = Arc::new(Incidents::new(vec![500.0, 900.0, 1500.0], vec![500.0, 1000.0, 700.0],
///     vec![0, 10 * day, 20 * day]).unwrap());
/// let mut k = WindowKernelSums::new(inc, g, Kernel::Gaussian, 150.0, 4.0, 15.0).unwrap();
/// let a = k.predict(25 * day).unwrap(); // incidents 2 and 3
/// let b = k.predict(15 * day).unwrap(); // incidents 1 and 2
/// let again = k.predict(25 * day).unwrap();
/// assert_eq!(a.values, again.values);
/// assert!(b.values.iter().sum::<f64>() > 1.9 && b.values.iter().sum::<f64>() <= 2.0);
/// ```
#[derive(Debug, Clone)]
pub struct WindowKernelSums {
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
    kernel: Kernel,
    bandwidth_m: f64,
    cutoff: f64,
    window_days: f64,
    /// `2^S`: one unit of the accumulator is `2^−S` of a unit-weight kernel peak.
    scale: f64,
    acc: Vec<i64>,
    /// The incidents `[a, b)` (time order) the accumulator holds.
    range: (usize, usize),
}

impl WindowKernelSums {
    /// Checks the parameters: `bandwidth_m` > 0, `cutoff` finite and > 0 (in bandwidths; the
    /// compact kernels ignore it), `window_days` finite and > 0.
    pub fn new(
        incidents: Arc<Incidents>,
        grid: Arc<Grid>,
        kernel: Kernel,
        bandwidth_m: f64,
        cutoff: f64,
        window_days: f64,
    ) -> Result<Self> {
        require_positive("bandwidth_m", bandwidth_m)?;
        require_positive("window_days", window_days)?;
        if !(cutoff.is_finite() && cutoff > 0.0) {
            return Err(Error::param(
                "cutoff",
                format!(
                    "must be finite and > 0 (bandwidths) for incremental window sums, got {cutoff}"
                ),
            ));
        }
        if incidents.is_empty() {
            return Err(Error::empty("no incidents"));
        }
        let mut total = 0.0;
        for i in 0..incidents.len() {
            let w = incidents.weight_of(i);
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::data(Some(i), "weight", "must be finite and >= 0"));
            }
            total += w;
        }
        // every rounded contribution is ≤ w·2^S + 1/2: the sum over all incidents stays < 2^62
        let s = (62.0 - (total + incidents.len() as f64).log2())
            .floor()
            .min(60.0);
        if s < 30.0 {
            return Err(Error::param(
                "incidents",
                format!(
                    "total weight {total:e} is too large for exact fixed-point window sums; use \
                     the KDE model directly"
                ),
            ));
        }
        let n = grid.nx() * grid.ny();
        Ok(WindowKernelSums {
            incidents,
            grid,
            kernel,
            bandwidth_m,
            cutoff,
            window_days,
            scale: 2f64.powi(s as i32),
            acc: vec![0; n],
            range: (0, 0),
        })
    }

    /// The kernel sums at `at` (UTC seconds) over the incidents in `[at − window_days, at)`:
    /// values `A · Σ w_i K_h(centre − x_i)` on every cell, as [`Kde::predict`](crate::models::Kde::predict).
    pub fn predict(&mut self, at: i64) -> Result<Surface> {
        let (a, b, start, end) = training_range(&self.incidents, Some(at), Some(self.window_days))?;
        let (a0, b0) = self.range;
        let overlap = a.max(a0) < b.min(b0);
        if !overlap || a.abs_diff(a0) + b.abs_diff(b0) >= b - a {
            self.acc.iter_mut().for_each(|v| *v = 0);
            self.apply(a, b, 1);
        } else {
            if a0 < a {
                self.apply(a0, a, -1);
            } else if a < a0 {
                self.apply(a, a0, 1);
            }
            if b0 < b {
                self.apply(b0, b, 1);
            } else if b < b0 {
                self.apply(b, b0, -1);
            }
        }
        self.range = (a, b);
        let g = &self.grid;
        let h = self.bandwidth_m;
        let peak = self.kernel.norm() / (h * h) * g.cell_area();
        let unit = peak / self.scale;
        let values = Array2::from_shape_vec(
            (g.ny(), g.nx()),
            self.acc.iter().map(|&v| v as f64 * unit).collect(),
        )
        .expect("one value per cell");
        let total: f64 = (a..b).map(|i| self.incidents.weight_of(i)).sum();
        let active: f64 = g
            .mask()
            .iter()
            .zip(values.iter())
            .filter(|(m, _)| **m)
            .map(|(_, v)| v)
            .sum();
        let truncation = match self.kernel {
            Kernel::Gaussian => (-0.5 * self.cutoff * self.cutoff).exp(),
            _ => 0.0,
        };
        let quantum = 1.0 / self.scale;
        let bound = truncation * total * peak + 0.5 * quantum * (b - a) as f64 * peak;
        let mut s = Surface::new(values, g.clone(), "KDE")?;
        let mut params = BTreeMap::new();
        params.insert("kernel".into(), self.kernel.name().into());
        params.insert("mode".into(), "exact".into());
        params.insert("summation".into(), "incremental fixed-point".into());
        params.insert("quantum".into(), format!("{quantum:e}"));
        params.insert("bandwidth_m".into(), format!("{h}"));
        params.insert("bandwidth_rule".into(), "fixed".into());
        params.insert("cutoff_bandwidths".into(), format!("{}", self.cutoff));
        params.insert("window_days".into(), self.window_days.to_string());
        params.insert("error_bound".into(), format!("{bound:e}"));
        params.insert("n_incidents".into(), (b - a).to_string());
        params.insert("edge_correction".into(), "none".into());
        params.insert(
            "mass_share_active".into(),
            format!("{}", if total > 0.0 { active / total } else { 0.0 }),
        );
        s.params = params;
        s.window = Some((start, end));
        s.units = "kernel-weighted incidents per cell over the training window".into();
        Ok(s)
    }

    /// Forgets the accumulated sums (the next `predict` rebuilds them).
    pub fn reset(&mut self) {
        self.acc.iter_mut().for_each(|v| *v = 0);
        self.range = (0, 0);
    }

    /// Adds (`sign` 1) or removes (−1) the contributions of incidents `lo..hi`.
    fn apply(&mut self, lo: usize, hi: usize, sign: i64) {
        if lo >= hi {
            return;
        }
        let g = &self.grid;
        let (nx, d) = (g.nx(), g.cell_size());
        let (x0, y0, _, _) = g.extent();
        let inc = &self.incidents;
        let (xs, ys) = (&inc.x()[lo..hi], &inc.y()[lo..hi]);
        let ws: Vec<f64> = (lo..hi).map(|i| inc.weight_of(i)).collect();
        let h = self.bandwidth_m;
        let r = self.kernel.support(self.cutoff) * h;
        let r2 = r * r;
        let inv_h2 = 1.0 / (h * h);
        let (kernel, scale, strict) = (self.kernel, self.scale, self.kernel.strict());
        self.acc
            .par_chunks_mut(BAND * nx)
            .enumerate()
            .for_each(|(band, chunk)| {
                let r0 = band * BAND;
                let rows = chunk.len() / nx;
                let yc_lo = y0 + (r0 as f64 + 0.5) * d;
                let yc_hi = y0 + ((r0 + rows - 1) as f64 + 0.5) * d;
                for i in 0..xs.len() {
                    let (px, py, w) = (xs[i], ys[i], ws[i]);
                    if w == 0.0 || py + r < yc_lo || py - r > yc_hi {
                        continue;
                    }
                    let c0 = (((px - r - x0) / d - 0.5).ceil() as i64 - 1).max(0);
                    let c1 = (((px + r - x0) / d - 0.5).floor() as i64 + 1).min(nx as i64 - 1);
                    if c0 > c1 {
                        continue;
                    }
                    for lr in 0..rows {
                        let dy = y0 + ((r0 + lr) as f64 + 0.5) * d - py;
                        let dy2 = dy * dy;
                        if dy2 > r2 {
                            continue;
                        }
                        let row = &mut chunk[lr * nx..(lr + 1) * nx];
                        let (c0, c1) = (c0 as usize, c1 as usize);
                        for (c, cell) in row[c0..=c1].iter_mut().enumerate() {
                            let dx = x0 + ((c0 + c) as f64 + 0.5) * d - px;
                            let q = dx * dx + dy2;
                            if if strict { q >= r2 } else { q > r2 } {
                                continue;
                            }
                            let v = (w * kernel.profile(q * inv_h2) * scale).round() as i64;
                            *cell += sign * v;
                        }
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::kernel_grid;

    const DAY: i64 = 86_400;

    /// A clustered cloud over 200 days, from a small LCG (no randomness needed beyond spread).
    fn cloud(n: usize) -> (Arc<Incidents>, Arc<Grid>) {
        let mut s: u64 = 12345;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut x, mut y, mut t) = (vec![], vec![], vec![]);
        for i in 0..n {
            let c = (i % 3) as f64;
            x.push(400.0 + 600.0 * c + 300.0 * u());
            y.push(300.0 + 500.0 * c + 250.0 * u());
            t.push((u() * 200.0 * DAY as f64) as i64);
        }
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 50.0, 50, 40).unwrap());
        (Arc::new(Incidents::new(x, y, t).unwrap()), g)
    }

    fn direct(inc: &Incidents, g: &Grid, h: f64, kernel: Kernel, at: i64, days: f64) -> Vec<f64> {
        let (a, b, _, _) = training_range(inc, Some(at), Some(days)).unwrap();
        let w: Vec<f64> = (a..b).map(|i| inc.weight_of(i)).collect();
        let v = kernel_grid(g, &inc.x()[a..b], &inc.y()[a..b], &w, None, h, kernel, 4.0).unwrap();
        v.iter().cloned().collect()
    }

    #[test]
    fn window_sums_match_the_exact_kde_within_the_rounding_bound() {
        let (inc, g) = cloud(3000);
        for kernel in [Kernel::Gaussian, Kernel::Quartic, Kernel::Uniform] {
            let h = 80.0;
            let mut k =
                WindowKernelSums::new(inc.clone(), g.clone(), kernel, h, 4.0, 30.0).unwrap();
            for at in [60, 67, 74, 120, 95, 96, 190].map(|d| d * DAY) {
                let s = k.predict(at).unwrap();
                let want = direct(&inc, &g, h, kernel, at, 30.0);
                let n: f64 = s.params["n_incidents"].parse().unwrap();
                // fixed-point rounding: ≤ 2^−S−1 of the peak per point; the direct sum's own
                // round-off: ≤ n·ε of the peak (n terms ≤ peak each, relative error ε per add)
                let peak = kernel.norm() / (h * h) * g.cell_area();
                let quantum: f64 = s.params["quantum"].parse().unwrap();
                let tol = n * peak * (0.5 * quantum + 4.0 * f64::EPSILON);
                for (c, (got, w)) in s.values.iter().zip(&want).enumerate() {
                    assert!(
                        (got - w).abs() <= tol,
                        "{kernel:?} at {at} cell {c}: {got} vs {w}"
                    );
                    assert_eq!(*w == 0.0, *got == 0.0, "zero pattern at cell {c}");
                }
            }
        }
    }

    #[test]
    fn window_sums_do_not_depend_on_the_path_or_thread_count() {
        let (inc, g) = cloud(2000);
        let origins: Vec<i64> = (40..190).step_by(7).map(|d| d * DAY).collect();
        let run = |order: &[i64], threads: usize| -> Vec<Vec<f64>> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut k = WindowKernelSums::new(
                    inc.clone(),
                    g.clone(),
                    Kernel::Gaussian,
                    60.0,
                    4.0,
                    45.0,
                )
                .unwrap();
                let mut out: Vec<(i64, Vec<f64>)> = order
                    .iter()
                    .map(|&at| (at, k.predict(at).unwrap().values.iter().cloned().collect()))
                    .collect();
                out.sort_by_key(|p| p.0);
                out.into_iter().map(|p| p.1).collect()
            })
        };
        let forward = run(&origins, 1);
        let mut shuffled = origins.clone();
        shuffled.reverse();
        shuffled.swap(0, 7);
        assert_eq!(forward, run(&shuffled, 2));
        // each origin alone (a fresh accumulator) gives the same bits
        let alone: Vec<Vec<f64>> = origins.iter().map(|&at| run(&[at], 3).remove(0)).collect();
        assert_eq!(forward, alone);
    }

    #[test]
    fn window_sums_refuse_bad_parameters_by_name() {
        let (inc, g) = cloud(10);
        let name = |r: Result<WindowKernelSums>| match r.unwrap_err() {
            Error::InvalidParameter { name, .. } => name,
            e => panic!("{e:?}"),
        };
        let mk = |h: f64, cut: f64, days: f64| {
            WindowKernelSums::new(inc.clone(), g.clone(), Kernel::Gaussian, h, cut, days)
        };
        assert_eq!(name(mk(0.0, 4.0, 30.0)), "bandwidth_m");
        assert_eq!(name(mk(f64::NAN, 4.0, 30.0)), "bandwidth_m");
        assert_eq!(name(mk(50.0, f64::INFINITY, 30.0)), "cutoff");
        assert_eq!(name(mk(50.0, 0.0, 30.0)), "cutoff");
        assert_eq!(name(mk(50.0, 4.0, -1.0)), "window_days");
        let mut k = mk(50.0, 4.0, 1.0).unwrap();
        // an origin with no incident in its window is an error, as for the KDE model
        assert!(k.predict(500 * DAY).is_err());
    }
}
