//! Exact kernel sums on a grid: every point–cell pair within the truncation radius.
//!
//! The value of cell `c` is `A · Σ_i w_i K_{h_i}(centre(c) − x_i)`, `A` the cell area, summed over
//! every point whose truncation disc (radius `support · h_i`) holds the cell centre. Work is split
//! over fixed bands of [`BAND`] rows (rayon); each cell accumulates its points in one fixed order
//! (by the point's grid row, then by input order) whatever the band split or the number of
//! threads, so results are bit-for-bit identical across thread counts.

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::models::kde::Kernel;
use crate::space::Grid;

/// Rows per parallel task (fixed, so the work split never depends on the thread count).
const BAND: usize = 8;

/// Bandwidth of each point: one for all, or one per point (adaptive estimators).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bw<'a> {
    Fixed(f64),
    PerPoint(&'a [f64]),
}

impl Bw<'_> {
    #[inline]
    fn get(&self, i: usize) -> f64 {
        match self {
            Bw::Fixed(h) => *h,
            Bw::PerPoint(v) => v[i],
        }
    }
}

/// Exact kernel sum of weighted points on every cell of `grid` (active or not).
///
/// `x`, `y` in metres, `w` weights (≥ 0), `h_m` the bandwidth in metres (one, or one per point).
/// `cutoff` is the truncation radius in bandwidths for the Gaussian kernel (`f64::INFINITY` for
/// none); the quartic and uniform kernels have support `h` and ignore it. Values are
/// `A · Σ w_i K(d)` with `A` the cell area: kernel-weighted incidents per cell.
///
/// Error: none for the compact kernels (up to round-off); for the Gaussian each point misses at
/// most `w_i K(0) A e^{−cutoff²/2}` per cell (1.5e-8 of the kernel peak at the default 6).
///
/// # Examples
/// ```
/// use placewise::models::{kernel_grid, Kernel};
/// use placewise::space::Grid;
/// let g = Grid::from_extent(0.0, 0.0, 10.0, 41, 41).unwrap();
/// let v = kernel_grid(&g, &[205.0], &[205.0], &[1.0], None, 20.0, Kernel::Gaussian, 8.0).unwrap();
/// let total: f64 = v.iter().sum();
/// assert!((total - 1.0).abs() < 1e-9); // the kernel integrates to the point's weight
/// ```
#[allow(clippy::too_many_arguments)]
pub fn kernel_grid(
    grid: &Grid,
    x: &[f64],
    y: &[f64],
    w: &[f64],
    h_per_point: Option<&[f64]>,
    bandwidth_m: f64,
    kernel: Kernel,
    cutoff: f64,
) -> Result<Array2<f64>> {
    let n = x.len();
    for (name, len) in [("y", y.len()), ("w", w.len())] {
        if len != n {
            return Err(Error::param(name, format!("has {len} rows but x has {n}")));
        }
    }
    if let Some(h) = h_per_point {
        if h.len() != n {
            return Err(Error::param(
                "h_per_point",
                format!("has {} rows but x has {n}", h.len()),
            ));
        }
        if let Some(i) = h.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::data(
                Some(i),
                "bandwidth_m",
                "must be finite and > 0",
            ));
        }
    } else {
        crate::error::require_positive("bandwidth_m", bandwidth_m)?;
    }
    if cutoff.is_nan() || cutoff <= 0.0 {
        return Err(Error::param(
            "cutoff",
            format!("must be > 0 (in bandwidths; inf for none), got {cutoff}"),
        ));
    }
    for i in 0..n {
        if !(x[i].is_finite() && y[i].is_finite()) {
            return Err(Error::data(Some(i), "x/y", "coordinate is NaN or infinite"));
        }
        if !(w[i].is_finite() && w[i] >= 0.0) {
            return Err(Error::data(Some(i), "weight", "must be finite and >= 0"));
        }
    }
    let bw = match h_per_point {
        Some(h) => Bw::PerPoint(h),
        None => Bw::Fixed(bandwidth_m),
    };
    Ok(exact(grid, x, y, w, bw, kernel, cutoff))
}

/// The computation behind [`kernel_grid`], on validated inputs.
pub(crate) fn exact(
    grid: &Grid,
    x: &[f64],
    y: &[f64],
    w: &[f64],
    bw: Bw<'_>,
    kernel: Kernel,
    cutoff: f64,
) -> Array2<f64> {
    let (nx, ny, d) = (grid.nx(), grid.ny(), grid.cell_size());
    let (x0, y0, x1, y1) = grid.extent();
    let area = d * d;
    let support = kernel.support(cutoff);

    // Per point: truncation radius (capped at what covers the whole grid), amplitude.
    let mut keep: Vec<(i64, usize)> = Vec::with_capacity(x.len());
    let mut radius = vec![0.0; x.len()];
    let mut kr: i64 = 0;
    for i in 0..x.len() {
        if w[i] == 0.0 {
            continue;
        }
        let h = bw.get(i);
        let far = ((x[i] - x0).abs().max((x[i] - x1).abs()).powi(2)
            + (y[i] - y0).abs().max((y[i] - y1).abs()).powi(2))
        .sqrt()
            + d;
        let r = (support * h).min(far);
        if x[i] + r < x0 || x[i] - r > x1 || y[i] + r < y0 || y[i] - r > y1 {
            continue; // cannot reach any cell centre
        }
        radius[i] = r;
        kr = kr.max((r / d).ceil() as i64 + 1);
        let row = ((y[i] - y0) / d).floor() as i64;
        keep.push((row, i));
    }
    // Bucket points by their grid row (stable: input order within a row).
    let off = kr + 1;
    let nb = ny as i64 + 2 * off;
    let mut starts = vec![0usize; nb as usize + 1];
    for &(row, _) in &keep {
        starts[(row + off).clamp(0, nb - 1) as usize + 1] += 1;
    }
    for b in 0..nb as usize {
        starts[b + 1] += starts[b];
    }
    let mut order = vec![0usize; keep.len()];
    let mut fill = starts.clone();
    for &(row, i) in &keep {
        let b = (row + off).clamp(0, nb - 1) as usize;
        order[fill[b]] = i;
        fill[b] += 1;
    }

    let mut out = Array2::<f64>::zeros((ny, nx));
    let flat = out.as_slice_mut().expect("standard layout");
    let strict = kernel.strict();
    flat.par_chunks_mut(BAND * nx).enumerate().for_each_init(
        || vec![0.0f64; nx],
        |xpart, (band, chunk)| {
            let r0 = band * BAND;
            let rows = chunk.len() / nx;
            let b_lo = (r0 as i64 - kr + off).clamp(0, nb - 1) as usize;
            let b_hi = (r0 as i64 + rows as i64 - 1 + kr + off).clamp(0, nb - 1) as usize;
            let yc_lo = y0 + (r0 as f64 + 0.5) * d;
            let yc_hi = y0 + ((r0 + rows - 1) as f64 + 0.5) * d;
            for &i in &order[starts[b_lo]..starts[b_hi + 1]] {
                let (px, py, r) = (x[i], y[i], radius[i]);
                if py + r < yc_lo || py - r > yc_hi {
                    continue;
                }
                let h = bw.get(i);
                let r2 = r * r;
                // Column window of the whole disc.
                let wc0 = (((px - r - x0) / d - 0.5).ceil() as i64 - 1).max(0);
                let wc1 = (((px + r - x0) / d - 0.5).floor() as i64 + 1).min(nx as i64 - 1);
                if wc0 > wc1 {
                    continue;
                }
                let (wc0, wc1) = (wc0 as usize, wc1 as usize);
                let inv2h2 = 0.5 / (h * h);
                let invh2 = 1.0 / (h * h);
                for (c, xp) in xpart.iter_mut().enumerate().take(wc1 + 1).skip(wc0) {
                    let dx = x0 + (c as f64 + 0.5) * d - px;
                    *xp = match kernel {
                        Kernel::Gaussian => (-dx * dx * inv2h2).exp(),
                        Kernel::Quartic => dx * dx * invh2,
                        Kernel::Uniform => dx * dx,
                    };
                }
                let amp = w[i] * kernel.norm() * invh2 * area;
                for lr in 0..rows {
                    let dy = y0 + ((r0 + lr) as f64 + 0.5) * d - py;
                    let dy2 = dy * dy;
                    if dy2 > r2 {
                        continue;
                    }
                    let inside = |c: usize| {
                        let dx = x0 + (c as f64 + 0.5) * d - px;
                        let q = dx * dx + dy2;
                        if strict {
                            q < r2
                        } else {
                            q <= r2
                        }
                    };
                    let s = (r2 - dy2).sqrt();
                    let mut c0 = ((((px - s - x0) / d - 0.5).ceil() as i64) - 1)
                        .clamp(wc0 as i64, wc1 as i64) as usize;
                    let mut c1 = ((((px + s - x0) / d - 0.5).floor() as i64) + 1)
                        .clamp(wc0 as i64, wc1 as i64) as usize;
                    while c0 <= c1 && !inside(c0) {
                        c0 += 1;
                    }
                    while c1 > c0 && !inside(c1) {
                        c1 -= 1;
                    }
                    if c0 > c1 || !inside(c0) {
                        continue;
                    }
                    let row = &mut chunk[lr * nx..(lr + 1) * nx];
                    match kernel {
                        Kernel::Gaussian => {
                            let a = amp * (-dy2 * inv2h2).exp();
                            for (o, &g) in row[c0..=c1].iter_mut().zip(&xpart[c0..=c1]) {
                                *o += a * g;
                            }
                        }
                        Kernel::Quartic => {
                            let q = 1.0 - dy2 * invh2;
                            for (o, &u) in row[c0..=c1].iter_mut().zip(&xpart[c0..=c1]) {
                                let v = q - u;
                                *o += amp * v * v;
                            }
                        }
                        Kernel::Uniform => {
                            for o in row[c0..=c1].iter_mut() {
                                *o += amp;
                            }
                        }
                    }
                }
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straightforward O(N·cells) reference.
    fn brute(
        g: &Grid,
        x: &[f64],
        y: &[f64],
        w: &[f64],
        h: &[f64],
        k: Kernel,
        cut: f64,
    ) -> Vec<f64> {
        let a = g.cell_area();
        (0..g.n_cells())
            .map(|id| {
                let (cx, cy) = g.centre(id);
                let mut s = 0.0;
                for i in 0..x.len() {
                    let d2 = (cx - x[i]).powi(2) + (cy - y[i]).powi(2);
                    let u2 = d2 / (h[i] * h[i]);
                    let v = match k {
                        Kernel::Gaussian if u2 <= cut * cut => {
                            (-0.5 * u2).exp() / (2.0 * std::f64::consts::PI)
                        }
                        Kernel::Quartic if u2 < 1.0 => {
                            3.0 / std::f64::consts::PI * (1.0 - u2).powi(2)
                        }
                        Kernel::Uniform if u2 < 1.0 => 1.0 / std::f64::consts::PI,
                        _ => 0.0,
                    };
                    s += w[i] * v / (h[i] * h[i]) * a;
                }
                s
            })
            .collect()
    }

    fn points(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut r = crate::rng::Rng::new(seed);
        let mut next = || r.next_f64();
        let x = (0..n).map(|_| -100.0 + 700.0 * next()).collect();
        let y = (0..n).map(|_| -100.0 + 500.0 * next()).collect();
        let w = (0..n).map(|_| 0.5 + next()).collect();
        (x, y, w)
    }

    #[test]
    fn equals_brute_force_for_every_kernel() {
        let g = Grid::from_extent(0.0, 0.0, 20.0, 25, 15).unwrap();
        let (x, y, w) = points(300, 7);
        for k in [Kernel::Gaussian, Kernel::Quartic, Kernel::Uniform] {
            for cut in [3.0, f64::INFINITY] {
                let h = vec![55.0; x.len()];
                let v = kernel_grid(&g, &x, &y, &w, None, 55.0, k, cut).unwrap();
                let b = brute(&g, &x, &y, &w, &h, k, cut);
                let m = b.iter().cloned().fold(0.0, f64::max);
                for (a, e) in v.iter().zip(&b) {
                    assert!((a - e).abs() <= 1e-12 * m, "{k:?} {cut}: {a} vs {e}");
                }
            }
            // per-point bandwidths
            let h: Vec<f64> = (0..x.len()).map(|i| 20.0 + (i % 7) as f64 * 15.0).collect();
            let v = kernel_grid(&g, &x, &y, &w, Some(&h), 1.0, k, 4.0).unwrap();
            let b = brute(&g, &x, &y, &w, &h, k, 4.0);
            let m = b.iter().cloned().fold(0.0, f64::max);
            for (a, e) in v.iter().zip(&b) {
                assert!((a - e).abs() <= 1e-12 * m, "{k:?} adaptive: {a} vs {e}");
            }
        }
    }

    #[test]
    fn identical_across_thread_counts() {
        let g = Grid::from_extent(0.0, 0.0, 7.0, 90, 61).unwrap();
        let (x, y, w) = points(2000, 3);
        for k in [Kernel::Gaussian, Kernel::Quartic] {
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| kernel_grid(&g, &x, &y, &w, None, 40.0, k, 6.0).unwrap())
            };
            let a = run(1);
            for t in [2, 3, 8] {
                let b = run(t);
                assert!(a
                    .iter()
                    .zip(b.iter())
                    .all(|(p, q)| p.to_bits() == q.to_bits()));
            }
        }
    }

    #[test]
    fn bad_inputs_are_named() {
        let g = Grid::from_extent(0.0, 0.0, 10.0, 5, 5).unwrap();
        for h in [0.0, -3.0, f64::NAN] {
            let e = kernel_grid(&g, &[1.0], &[1.0], &[1.0], None, h, Kernel::Gaussian, 6.0)
                .unwrap_err();
            assert!(e.to_string().contains("bandwidth_m"), "{e}");
        }
        let e = kernel_grid(
            &g,
            &[1.0],
            &[1.0],
            &[-1.0],
            None,
            5.0,
            Kernel::Gaussian,
            6.0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("row 0"), "{e}");
        let e =
            kernel_grid(&g, &[1.0], &[1.0], &[1.0], None, 5.0, Kernel::Gaussian, 0.0).unwrap_err();
        assert!(e.to_string().contains("cutoff"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// A density integrates to its mass: points ≥ 7h inside the grid, bandwidth ≥ 6 cells,
        /// so for the Gaussian the midpoint rule is exact to ~e^{-2π²(h/δ)²} and the edge and the
        /// truncation at 8h lose < e^{-24}.
        #[test]
        fn total_mass_equals_total_weight(n in 1usize..40, h in 60.0f64..100.0, seed in 0u64..1000,
                                          k in 0usize..3) {
            let g = Grid::from_extent(-700.0, -700.0, 10.0, 200, 190).unwrap();
            let (x, y, w) = points(n, seed);
            let kern = [Kernel::Gaussian, Kernel::Quartic, Kernel::Uniform][k];
            let v = kernel_grid(&g, &x, &y, &w, None, h, kern, 8.0).unwrap();
            let total: f64 = v.iter().sum();
            let mass: f64 = w.iter().sum();
            // Gaussian: exact to round-off. Quartic/uniform: the midpoint rule on a compact
            // kernel has O((δ/h)^2) / O(δ/h) quadrature error (lattice points in a disc): bounded by
            // 2 % and 15 % at h ≥ 6 cells.
            let tol = match kern { Kernel::Gaussian => 1e-9, Kernel::Quartic => 0.02, Kernel::Uniform => 0.15 };
            prop_assert!((total - mass).abs() <= tol * mass, "{total} vs {mass}");
        }
    }
}
