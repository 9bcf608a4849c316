//! Binned kernel sums: interpolation binning onto the cell centres, then FFT convolution.
//!
//! Follows the binned KDE of Silverman (1982, *Appl. Statist.* 31:93–99) and Wand (1994, *J.
//! Comput. Graph. Statist.* 3:433–445): each point's weight is spread onto the lattice of cell
//! centres and the lattice is convolved with the kernel sampled at lattice offsets, by FFT
//! (`realfft` along rows, `rustfft` along columns) on a zero-padded lattice so nothing wraps
//! around.
//!
//! Binning uses Lagrange interpolation weights of even order `p` per axis (`p = 2` is the
//! classic linear binning; `p = 4, 6, 8` are higher-order interpolation binning). The binned sum
//! equals `Σ_i w_i · I_p[K](x_i)`, the tensor Lagrange interpolant of `q ↦ K(c − q)` at each
//! point, so the standard remainder bounds the error (see [`binned_error_bound`]). Weights sum
//! to one for every `p`, so binning conserves mass exactly.

use ndarray::Array2;
use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use rustfft::FftPlanner;

use crate::error::{Error, Result};
use crate::limits;
use crate::models::kde::Kernel;
use crate::space::Grid;

/// Relative error target used to choose the binning order automatically (per unit of
/// `Σ w · K(0) · A`).
pub(crate) const AUTO_TOL: f64 = 1e-5;

/// Orders tried when choosing automatically.
const ORDERS: [usize; 4] = [2, 4, 6, 8];

/// Interpolation nodes (in units of the lattice spacing) for order `p`: `1 − p/2, …, p/2`.
fn nodes(p: usize) -> impl Iterator<Item = f64> {
    (0..p).map(move |k| k as f64 + 1.0 - (p / 2) as f64)
}

/// Lagrange weights at fractional position `t ∈ [0, 1)` for order `p`.
#[inline]
fn lagrange(p: usize, t: f64, out: &mut [f64; 8]) {
    let inv = &INV_DENOM[p / 2 - 1];
    let base = 1.0 - (p / 2) as f64;
    // ℓ_k(t) = Π_{m≠k} (t − n_m) / Π_{m≠k} (n_k − n_m), by prefix and suffix products.
    let mut pre = [1.0; 8];
    for k in 1..p {
        pre[k] = pre[k - 1] * (t - (base + (k - 1) as f64));
    }
    let mut suf = 1.0;
    for k in (0..p).rev() {
        out[k] = pre[k] * suf * inv[k];
        suf *= t - (base + k as f64);
    }
}

/// `1 / Π_{m≠k} (n_k − n_m)` for orders 2, 4, 6, 8.
const INV_DENOM: [[f64; 8]; 4] = {
    let mut t = [[0.0; 8]; 4];
    let mut o = 0;
    while o < 4 {
        let p = 2 * (o + 1);
        let mut k = 0;
        while k < p {
            let mut d = 1.0;
            let mut m = 0;
            while m < p {
                if m != k {
                    d *= (k as f64) - (m as f64);
                }
                m += 1;
            }
            t[o][k] = 1.0 / d;
            k += 1;
        }
        o += 1;
    }
    t
};

/// Fixed chunks of points of the parallel counting sort (fixed, so the order within each
/// band is the input order whatever the number of threads).
const SORT_CHUNKS: usize = 64;

/// Rows of the lattice per binning band (≥ the largest order, so a point's stencil touches at
/// most two consecutive bands).
const BIN_BAND: usize = 16;

/// Interpolation binning of the points onto a zero-padded `ly × lx` lattice (the first `nyp`
/// rows and `nxp` columns hold nodes). Points are grouped by band of lattice rows (a stable
/// counting sort) so that each band's scatter stays in cache; even bands are binned in
/// parallel, then odd bands. Each node therefore receives its contributions in one fixed
/// order (band, then input order) whatever the number of threads.
#[allow(clippy::too_many_arguments)]
fn bin_points(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    x0: f64,
    y0: f64,
    d: f64,
    m: usize,
    p: usize,
    nxp: usize,
    nyp: usize,
    lx: usize,
    ly: usize,
) -> Vec<f64> {
    let half = (p / 2) as i64;
    let n = x.len();
    let nbands = nyp.div_ceil(BIN_BAND);
    let inv = 1.0 / d;
    let pos = |v: f64, o: f64| (v - o) * inv - 0.5 + m as f64;
    // first stencil row per point (u32::MAX: skipped)
    let first_row: Vec<u32> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| {
            if w[i] == 0.0 {
                return u32::MAX;
            }
            let (ux, uy) = (pos(x[i], x0), pos(y[i], y0));
            let (jx0, jy0) = (ux.floor() as i64 - half + 1, uy.floor() as i64 - half + 1);
            // A point with a node off the lattice cannot reach any cell (the margin is ≥ kr + p).
            if jx0 < 0 || jy0 < 0 || jx0 + p as i64 > nxp as i64 || jy0 + p as i64 > nyp as i64 {
                u32::MAX
            } else {
                jy0 as u32
            }
        })
        .collect();
    // A stable counting sort by band, in parallel over fixed chunks of points: chunk c's
    // points of band b go to their own segment, after those of chunks < c.
    let per = n.div_ceil(SORT_CHUNKS).max(1);
    let chunk = |c: usize| (c * per).min(n)..((c + 1) * per).min(n);
    let hists: Vec<Vec<usize>> = (0..SORT_CHUNKS)
        .into_par_iter()
        .map(|c| {
            let mut h = vec![0usize; nbands];
            for &r in &first_row[chunk(c)] {
                if r != u32::MAX {
                    h[r as usize / BIN_BAND] += 1;
                }
            }
            h
        })
        .collect();
    let mut starts = vec![0usize; nbands + 1];
    for b in 0..nbands {
        starts[b + 1] = starts[b] + hists.iter().map(|h| h[b]).sum::<usize>();
    }
    // Copy each kept point's lattice position and weight into its band's run, so the binning
    // below reads memory in order (a gather through an index would miss the cache per point).
    let mut sorted = vec![[0.0f64; 3]; starts[nbands]];
    let mut segs: Vec<Vec<&mut [[f64; 3]]>> = (0..SORT_CHUNKS).map(|_| Vec::new()).collect();
    let mut rest: &mut [[f64; 3]] = &mut sorted;
    for b in 0..nbands {
        for (c, h) in hists.iter().enumerate() {
            let (seg, tail) = rest.split_at_mut(h[b]);
            segs[c].push(seg);
            rest = tail;
        }
    }
    segs.into_par_iter().enumerate().for_each(|(c, mut segs)| {
        let mut fill = vec![0usize; nbands];
        let r = chunk(c);
        for (i, &fr) in r.clone().zip(&first_row[r]) {
            if fr != u32::MAX {
                let b = fr as usize / BIN_BAND;
                segs[b][fill[b]] = [pos(x[i], x0), pos(y[i], y0), w[i]];
                fill[b] += 1;
            }
        }
    });
    drop(first_row);
    let mut bins = vec![0.0f64; ly * lx];
    // Band b owns rows [b·B, (b+2)·B) while it runs: bands of one parity never overlap.
    for parity in 0..2 {
        let (_, tail) = bins[..nyp * lx].split_at_mut((parity * BIN_BAND * lx).min(nyp * lx));
        tail.par_chunks_mut(2 * BIN_BAND * lx)
            .enumerate()
            .for_each(|(j, window)| {
                let b = 2 * j + parity;
                if b >= nbands {
                    return;
                }
                let pts = sorted[starts[b]..starts[b + 1]]
                    .iter()
                    .map(|&[ux, uy, wi]| (ux, uy, wi));
                let geom = (nxp, nyp, lx, b * BIN_BAND);
                match p {
                    2 => bin_into::<2>(pts, geom, window),
                    4 => bin_into::<4>(pts, geom, window),
                    6 => bin_into::<6>(pts, geom, window),
                    _ => bin_into::<8>(pts, geom, window),
                }
            });
    }
    bins
}

/// [`interp_constants_sampled`] for the orders 2, 4, 6, 8, computed once.
fn interp_constants(p: usize) -> (f64, f64) {
    static C: std::sync::OnceLock<[(f64, f64); 4]> = std::sync::OnceLock::new();
    C.get_or_init(|| ORDERS.map(interp_constants_sampled))[p / 2 - 1]
}

/// [`gaussian_derivative_max_sampled`] for the orders 2, 4, 6, 8, computed once.
fn gaussian_derivative_max(p: usize) -> f64 {
    static C: std::sync::OnceLock<[f64; 4]> = std::sync::OnceLock::new();
    C.get_or_init(|| ORDERS.map(gaussian_derivative_max_sampled))[p / 2 - 1]
}

/// `(max_t |ω_p(t)|, Lebesgue constant Λ_p)` on `t ∈ [0, 1]`, sampled finely.
fn interp_constants_sampled(p: usize) -> (f64, f64) {
    let (mut om, mut lam) = (0.0f64, 0.0f64);
    let mut wts = [0.0; 8];
    for s in 0..=2000 {
        let t = s as f64 / 2000.0;
        om = om.max(nodes(p).map(|n| t - n).product::<f64>().abs());
        lagrange(p, t, &mut wts);
        lam = lam.max(wts[..p].iter().map(|v| v.abs()).sum());
    }
    (om, lam)
}

/// `max_u |d^p/du^p e^{−u²/2}|` (= max |He_p(u)| e^{−u²/2}), sampled finely.
fn gaussian_derivative_max_sampled(p: usize) -> f64 {
    let mut m = 0.0f64;
    for s in 0..=12_000 {
        let u = s as f64 * 1e-3;
        let (mut a, mut b) = (1.0, u); // He_0, He_1
        for n in 1..p {
            let c = u * b - n as f64 * a;
            a = b;
            b = c;
        }
        let he = if p == 0 { 1.0 } else { b };
        m = m.max(he.abs() * (-0.5 * u * u).exp());
    }
    m
}

fn factorial(p: usize) -> f64 {
    (1..=p).map(|v| v as f64).product()
}

/// Worst-case error of the binned sum against the untruncated kernel sum, per unit of
/// `Σ_i |w_i| · K(0) · A` (the peak of one point's kernel, times the total weight).
///
/// With `ρ = cell / bandwidth` and binning order `p`:
/// `(1 + Λ_p) · M_p ρ^p · max|ω_p| / p!  +  Λ_p² · e^{−cutoff²/2}` (Gaussian), where `M_p` is the
/// largest `p`-th derivative of the kernel profile, `ω_p` the node polynomial and `Λ_p` the
/// Lebesgue constant of the interpolation (all computed, 1 % margin added); the second term is
/// the truncation. For the quartic kernel (order 2 only) `M_2 = 8` and there is no truncation.
/// At order 4 and `ρ = 1/20` the bound is ≈ 1e-6; at order 8 and `ρ = 1/4` ≈ 4e-6.
///
/// # Examples
/// ```
/// use placewise::models::{binned_error_bound, Kernel};
/// let e = binned_error_bound(Kernel::Gaussian, 10.0, 200.0, 4, 6.0).unwrap();
/// assert!(e < 2e-6);
/// ```
pub fn binned_error_bound(
    kernel: Kernel,
    cell_m: f64,
    bandwidth_m: f64,
    order: usize,
    cutoff: f64,
) -> Result<f64> {
    let rho = cell_m / bandwidth_m;
    let (om, lam) = interp_constants(order);
    let (mp, trunc) = match kernel {
        Kernel::Gaussian => (
            gaussian_derivative_max(order),
            lam * lam * (-0.5 * cutoff * cutoff).exp(),
        ),
        Kernel::Quartic if order == 2 => (8.0, 0.0),
        _ => {
            return Err(Error::param(
                "binning_order",
                format!("no error bound for order {order} with the {kernel:?} kernel"),
            ))
        }
    };
    Ok(1.01 * ((1.0 + lam) * mp * rho.powi(order as i32) * om / factorial(order) + trunc))
}

/// Smallest `n ≥ m` whose only prime factors are 2, 3 and 5 (fast FFT sizes).
fn fast_len(m: usize) -> usize {
    let mut n = m.max(1);
    loop {
        let mut r = n;
        for f in [2, 3, 5] {
            while r % f == 0 {
                r /= f;
            }
        }
        if r == 1 {
            return n;
        }
        n += 1;
    }
}

/// Checks the kernel, bandwidth and order for binned mode and picks the order.
pub(crate) fn choose_order(
    kernel: Kernel,
    cell_m: f64,
    bandwidth_m: f64,
    order: Option<usize>,
    cutoff: f64,
) -> Result<usize> {
    if kernel == Kernel::Uniform {
        return Err(Error::param(
            "mode",
            "binned mode is not offered for the uniform kernel: its disc edge is a \
             discontinuity, so binning error is of the order of the kernel's height near \
             the edge; use mode='exact' (the uniform kernel has compact support, so exact is cheap)",
        ));
    }
    if bandwidth_m < cell_m {
        return Err(Error::param(
            "bandwidth",
            format!(
                "{bandwidth_m} m is smaller than the cell size ({cell_m} m): binning onto cell \
                 centres cannot resolve the kernel (error of the order of the kernel peak); \
                 use mode='exact' or a finer grid (cell ≤ bandwidth/4 keeps the binned error \
                 below 5e-5)"
            ),
        ));
    }
    if kernel == Kernel::Gaussian && !cutoff.is_finite() {
        return Err(Error::param(
            "cutoff",
            "binned mode needs a finite truncation radius (it sets the FFT padding)",
        ));
    }
    match (kernel, order) {
        (Kernel::Quartic, None | Some(2)) => Ok(2),
        (Kernel::Quartic, Some(p)) => Err(Error::param(
            "binning_order",
            format!(
                "order {p} needs a smooth kernel; the quartic kernel's second derivative \
                 jumps at its edge, so only linear binning (2) is offered"
            ),
        )),
        (_, Some(p)) if ORDERS.contains(&p) => Ok(p),
        (_, Some(p)) => Err(Error::param(
            "binning_order",
            format!("must be one of 2, 4, 6, 8, got {p}"),
        )),
        (_, None) => {
            for p in ORDERS {
                if binned_error_bound(kernel, cell_m, bandwidth_m, p, cutoff)? <= AUTO_TOL {
                    return Ok(p);
                }
            }
            Ok(8)
        }
    }
}

/// How a binned kernel sum is computed: interpolation binning of order `order` onto a
/// lattice of spacing `coarsen × cell`, FFT convolution there, and (when `coarsen > 1`)
/// Lagrange interpolation of order `interp` from the lattice to the cell centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BinPlan {
    /// Binning order (2, 4, 6, 8).
    pub order: usize,
    /// Lattice spacing in cells (1: the cell centres themselves).
    pub coarsen: usize,
    /// Interpolation order from the lattice to the cells (0 when `coarsen == 1`).
    pub interp: usize,
}

/// Largest lattice coarsening tried automatically.
const MAX_COARSEN: usize = 8;

/// Error bound of a plan, per unit of `Σ_i |w_i| · K(0) · A` (see [`binned_error_bound`]).
///
/// With a coarser lattice (`ρ = coarsen × cell / bandwidth`) the binned field on the lattice
/// is within `ε_bin(ρ, order)` of the kernel sum, and the order-`q` tensor interpolation of
/// the kernel sum to the cell centres is within `ε_int(ρ, q)` (the same remainder as
/// binning, without truncation: every derivative of the sum is bounded by `Σ|w|` times the
/// kernel's); interpolating the binned field instead adds at most `Λ_q²` times its error:
/// `Λ_q² ε_bin + ε_int`.
pub(crate) fn plan_error_bound(
    kernel: Kernel,
    cell_m: f64,
    bandwidth_m: f64,
    plan: BinPlan,
    cutoff: f64,
) -> Result<f64> {
    let lattice = cell_m * plan.coarsen as f64;
    let bin = binned_error_bound(kernel, lattice, bandwidth_m, plan.order, cutoff)?;
    if plan.coarsen == 1 {
        return Ok(bin);
    }
    let q = plan.interp;
    let (om, lam) = interp_constants(q);
    let rho = lattice / bandwidth_m;
    let int =
        1.01 * (1.0 + lam) * gaussian_derivative_max(q) * rho.powi(q as i32) * om / factorial(q);
    Ok(lam * lam * bin + int)
}

/// Picks the plan for binned mode. An explicit `order` (or the quartic kernel) bins onto the
/// cell centres; otherwise the plan with the smallest estimated cost whose error bound is
/// ≤ [`AUTO_TOL`] is chosen among lattices of 1–8 cells and orders 2–8 (cost: binning
/// `n (p² + 4p)`, the FFT `L² log L` on an `L × L` lattice, interpolation `q` per cell and
/// axis).
#[allow(clippy::too_many_arguments)]
pub(crate) fn choose_plan(
    kernel: Kernel,
    cell_m: f64,
    bandwidth_m: f64,
    order: Option<usize>,
    cutoff: f64,
    n_points: usize,
    nx: usize,
    ny: usize,
) -> Result<BinPlan> {
    let p = choose_order(kernel, cell_m, bandwidth_m, order, cutoff)?;
    let fine = BinPlan {
        order: p,
        coarsen: 1,
        interp: 0,
    };
    let reach = kernel.support(cutoff) * bandwidth_m;
    let cost = |plan: BinPlan| -> f64 {
        let (k, p, q) = (plan.coarsen, plan.order, plan.interp);
        let d = cell_m * k as f64;
        let margin = 2.0 * ((reach / d).ceil() + 2.0 * p as f64 + q as f64);
        let side = (nx.max(ny) as f64 / k as f64).ceil() + margin;
        let fft = side * side * side.log2() * 4.0;
        let bin = n_points as f64 * (p * p + 4 * p) as f64;
        let int = (nx * ny) as f64 * 2.0 * q as f64;
        bin + fft + int
    };
    let mut best = (cost(fine), fine);
    if order.is_some() || kernel != Kernel::Gaussian {
        check_lattice(kernel, cell_m, bandwidth_m, cutoff, nx, ny, fine)?;
        return Ok(fine);
    }
    for k in 2..=MAX_COARSEN {
        for p in ORDERS {
            for q in [4, 6, 8] {
                let plan = BinPlan {
                    order: p,
                    coarsen: k,
                    interp: q,
                };
                if plan_error_bound(kernel, cell_m, bandwidth_m, plan, cutoff)? <= AUTO_TOL {
                    let c = cost(plan);
                    if c < best.0 {
                        best = (c, plan);
                    }
                }
            }
        }
    }
    check_lattice(kernel, cell_m, bandwidth_m, cutoff, nx, ny, best.1)?;
    Ok(best.1)
}

/// Geometry of the FFT lattice of `plan`: `(kr, m, nxp, nyp)` (kernel offsets kept, margin,
/// padded lattice size before rounding to fast FFT lengths). Only for sizes already checked by
/// [`check_lattice`].
fn lattice_geometry(
    kernel: Kernel,
    cell_m: f64,
    h: f64,
    cutoff: f64,
    (nx, ny): (usize, usize),
    plan: BinPlan,
) -> (usize, usize, usize, usize) {
    let (k, p, q) = (plan.coarsen.max(1), plan.order, plan.interp);
    let d = cell_m * k as f64; // lattice spacing
    let reach = kernel.support(cutoff) * h;
    let kr = (reach / d).ceil() as usize + p; // kernel offsets kept: |o| ≤ kr
    let m = kr + p + q; // lattice margin around the grid
    (kr, m, nx.div_ceil(k) + 2 * m, ny.div_ceil(k) + 2 * m)
}

/// Sizes the FFT lattice of `plan` against [`crate::limits::Limits::max_fft_nodes`] before
/// anything is allocated. The margin grows with `bandwidth × cutoff`, so a huge bandwidth or
/// truncation radius is refused here (naming whichever of the two is larger than usual).
fn check_lattice(
    kernel: Kernel,
    cell_m: f64,
    h: f64,
    cutoff: f64,
    nx: usize,
    ny: usize,
    plan: BinPlan,
) -> Result<()> {
    let (k, p, q) = (
        plan.coarsen.max(1) as f64,
        plan.order as f64,
        plan.interp as f64,
    );
    let reach = kernel.support(cutoff) * h;
    let m = (reach / (cell_m * k)).ceil() + 2.0 * p + q;
    let nodes = ((nx as f64 / k).ceil() + 2.0 * m) * ((ny as f64 / k).ceil() + 2.0 * m);
    let param = if kernel == Kernel::Gaussian && cutoff > 6.0 {
        "cutoff"
    } else {
        "bandwidth"
    };
    let what = "binned-KDE FFT lattice nodes (the padding is bandwidth × cutoff; \
                mode='exact' needs none)";
    let limit = limits::get().max_fft_nodes;
    limits::check_f64(param, what, nodes, limit)?;
    let (_, _, nxp, nyp) = lattice_geometry(kernel, cell_m, h, cutoff, (nx, ny), plan);
    let exact = (fast_len(nxp) as u64).saturating_mul(fast_len(nyp) as u64);
    limits::check(param, what, exact, limit)
}

/// Binned kernel sum on every cell of `grid` (validated inputs; `plan` from
/// [`choose_plan`]). Values are clamped at 0 from below (the exact sum is ≥ 0, so this only
/// removes interpolation ringing and FFT round-off and never increases the error).
#[allow(clippy::too_many_arguments)]
pub(crate) fn binned(
    grid: &Grid,
    x: &[f64],
    y: &[f64],
    w: &[f64],
    h: f64,
    kernel: Kernel,
    cutoff: f64,
    plan: BinPlan,
) -> Array2<f64> {
    let (nx, ny, cell) = (grid.nx(), grid.ny(), grid.cell_size());
    let (x0, y0) = (grid.x0(), grid.y0());
    let (k, p, q) = (plan.coarsen.max(1), plan.order, plan.interp);
    let d = cell * k as f64; // lattice spacing
    let (kr, m, nxp, nyp) = lattice_geometry(kernel, cell, h, cutoff, (nx, ny), plan);
    let (lx, ly) = (fast_len(nxp), fast_len(nyp));

    // 1. Interpolation binning onto nodes j ↔ x = x0 + (j − m + 0.5) d.
    let bins = if k > 1 && nyp * lx * BIN_CHUNKS <= MAX_CHUNKED_NODES {
        bin_points_chunked(x, y, w, (x0, y0, d), m, p, (nxp, nyp, lx, ly))
    } else {
        bin_points(x, y, w, x0, y0, d, m, p, nxp, nyp, lx, ly)
    };
    if k == 1 {
        let mut out = convolve(
            bins,
            kernel,
            h,
            (d, cell * cell),
            kr,
            (lx, ly, nyp),
            m..m + ny,
            m..m + nx,
        );
        out.mapv_inplace(|v| v.max(0.0));
        return out;
    }
    // 2. The lattice nodes the interpolation to the cell centres needs, convolved.
    let (sx, wx) = interp_stencils(nx, k, m, q);
    let (sy, wy) = interp_stencils(ny, k, m, q);
    let cols = sx[0]..sx[nx - 1] + q;
    let rows = sy[0]..sy[ny - 1] + q;
    let field = convolve(
        bins,
        kernel,
        h,
        (d, cell * cell),
        kr,
        (lx, ly, nyp),
        rows.clone(),
        cols.clone(),
    );
    // 3. Separable interpolation: along x for every lattice row, then along y.
    let f = field.as_slice().expect("standard layout");
    let fw = cols.len();
    let mut tmp = vec![0.0; rows.len() * nx];
    tmp.par_chunks_mut(nx)
        .zip(f.par_chunks(fw))
        .for_each(|(t, frow)| {
            for (j, v) in t.iter_mut().enumerate() {
                let s0 = sx[j] - cols.start;
                *v = frow[s0..s0 + q]
                    .iter()
                    .zip(&wx[j][..q])
                    .map(|(a, b)| a * b)
                    .sum();
            }
        });
    let mut out = Array2::<f64>::zeros((ny, nx));
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(nx)
        .enumerate()
        .for_each(|(i, orow)| {
            let s0 = sy[i] - rows.start;
            for (a, &wa) in wy[i][..q].iter().enumerate() {
                let trow = &tmp[(s0 + a) * nx..(s0 + a + 1) * nx];
                for (o, &t) in orow.iter_mut().zip(trow) {
                    *o += wa * t;
                }
            }
            orow.iter_mut().for_each(|v| *v = v.max(0.0));
        });
    out
}

/// Independent binning chunks of the chunked binning (fixed, so results do not depend on
/// the number of threads).
const BIN_CHUNKS: usize = 4;
/// Points per block of the chunked binning's local sort (the block's copy stays in cache).
const SUB_BLOCK: usize = 1 << 15;
/// Largest `chunks × lattice nodes` binned into private lattices (256 MB of f64).
const MAX_CHUNKED_NODES: usize = 1 << 25;

/// Interpolation binning into `BIN_CHUNKS` private lattices, summed in chunk order, for
/// lattices small enough to copy. Each chunk of points is taken in blocks of `SUB_BLOCK`,
/// each block counting-sorted by band of lattice rows (stable) so the band being filled stays
/// in cache. Chunks and blocks are fixed, so the order of every sum is too, whatever the
/// number of threads.
fn bin_points_chunked(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    (x0, y0, d): (f64, f64, f64),
    m: usize,
    p: usize,
    (nxp, nyp, lx, ly): (usize, usize, usize, usize),
) -> Vec<f64> {
    let n = x.len();
    let per = n.div_ceil(BIN_CHUNKS).max(1);
    let inv = 1.0 / d;
    let geom = (nxp, nyp, lx, 0);
    let nbands = nyp.div_ceil(BIN_BAND);
    let parts: Vec<Vec<f64>> = (0..BIN_CHUNKS)
        .into_par_iter()
        .map(|c| {
            let mut lat = vec![0.0f64; nyp * lx];
            // Blocks of points are counting-sorted by band of lattice rows before binning,
            // so that each band's rows stay in cache while its points are added.
            let mut sorted = vec![[0.0f64; 3]; SUB_BLOCK];
            let mut band = vec![0u32; SUB_BLOCK];
            let mut starts = vec![0usize; nbands + 1];
            let r = (c * per).min(n)..((c + 1) * per).min(n);
            let mut i0 = r.start;
            while i0 < r.end {
                let i1 = (i0 + SUB_BLOCK).min(r.end);
                starts.iter_mut().for_each(|v| *v = 0);
                for (b, i) in band.iter_mut().zip(i0..i1) {
                    let uy = (y[i] - y0) * inv - 0.5 + m as f64;
                    *b = if uy >= 0.0 && uy < nyp as f64 && w[i] != 0.0 {
                        (uy as usize / BIN_BAND) as u32
                    } else {
                        u32::MAX
                    };
                    if *b != u32::MAX {
                        starts[*b as usize + 1] += 1;
                    }
                }
                for k in 0..nbands {
                    starts[k + 1] += starts[k];
                }
                let kept = starts[nbands];
                for (&b, i) in band.iter().zip(i0..i1) {
                    if b != u32::MAX {
                        let ux = (x[i] - x0) * inv - 0.5 + m as f64;
                        let uy = (y[i] - y0) * inv - 0.5 + m as f64;
                        sorted[starts[b as usize]] = [ux, uy, w[i]];
                        starts[b as usize] += 1;
                    }
                }
                let pts = sorted[..kept].iter().map(|&[ux, uy, wi]| (ux, uy, wi));
                match p {
                    2 => bin_into::<2>(pts, geom, &mut lat),
                    4 => bin_into::<4>(pts, geom, &mut lat),
                    6 => bin_into::<6>(pts, geom, &mut lat),
                    _ => bin_into::<8>(pts, geom, &mut lat),
                }
                i0 = i1;
            }
            lat
        })
        .collect();
    let mut bins = vec![0.0f64; ly * lx];
    bins[..nyp * lx]
        .par_chunks_mut(lx)
        .enumerate()
        .for_each(|(r, row)| {
            for part in &parts {
                for (o, &v) in row.iter_mut().zip(&part[r * lx..(r + 1) * lx]) {
                    *o += v;
                }
            }
        });
    bins
}

/// Bins points `(ux, uy, w)` (lattice coordinates: node `j` at `j`), in order, with order-`P`
/// weights into `lat`, which holds lattice rows `row0..` of `lx` nodes (`geom = (nxp, nyp, lx,
/// row0)`; every stencil row of the points given must lie in `lat`). Points with a stencil node
/// off the `nyp × nxp` lattice are skipped: the margin (≥ kernel reach + order) keeps them from
/// reaching any cell.
fn bin_into<const P: usize>(
    pts: impl Iterator<Item = (f64, f64, f64)>,
    (nxp, nyp, lx, row0): (usize, usize, usize, usize),
    lat: &mut [f64],
) {
    let half = P / 2;
    let (mut wx, mut wy) = ([0.0; 8], [0.0; 8]);
    for (ux, uy, wi) in pts {
        // off the lattice, zero weight or NaN: skipped; on it, truncation is the floor (and
        // needs no libm call)
        let inside = ux >= 0.0 && uy >= 0.0 && ux < nxp as f64 && uy < nyp as f64;
        if wi == 0.0 || !inside {
            continue;
        }
        let (ix, iy) = (ux as usize, uy as usize);
        if ix + 1 < half || iy + 1 < half || ix + 1 - half + P > nxp || iy + 1 - half + P > nyp {
            continue;
        }
        let (jx0, jy0) = (ix + 1 - half, iy + 1 - half - row0);
        lagrange_n::<P>(ux - ix as f64, &mut wx);
        lagrange_n::<P>(uy - iy as f64, &mut wy);
        for (a, &vy) in wy[..P].iter().enumerate() {
            let f = wi * vy;
            let at = (jy0 + a) * lx + jx0;
            let row: &mut [f64; P] = (&mut lat[at..at + P]).try_into().expect("P nodes");
            for (o, &vx) in row.iter_mut().zip(&wx[..P]) {
                *o += f * vx;
            }
        }
    }
}

/// [`lagrange`] for a fixed order (unrolled).
#[inline(always)]
fn lagrange_n<const P: usize>(t: f64, out: &mut [f64; 8]) {
    let inv = &INV_DENOM[P / 2 - 1];
    let base = 1.0 - (P / 2) as f64;
    let mut pre = [1.0; 8];
    for k in 1..P {
        pre[k] = pre[k - 1] * (t - (base + (k - 1) as f64));
    }
    let mut suf = 1.0;
    for k in (0..P).rev() {
        out[k] = pre[k] * suf * inv[k];
        suf *= t - (base + k as f64);
    }
}

/// For each of `n` cells along an axis, the first lattice node of its order-`q` interpolation
/// stencil and the weights (cell centre `j + 0.5` cells ↔ lattice coordinate
/// `(j + 0.5)/k − 0.5 + m`).
fn interp_stencils(n: usize, k: usize, m: usize, q: usize) -> (Vec<usize>, Vec<[f64; 8]>) {
    let half = q / 2;
    (0..n)
        .map(|j| {
            let u = (j as f64 + 0.5) / k as f64 - 0.5 + m as f64;
            let iu = u.floor();
            let mut wts = [0.0; 8];
            lagrange(q, u - iu, &mut wts);
            (iu as usize + 1 - half, wts)
        })
        .unzip()
}

/// FFT convolution of the binned lattice (`ly × lx`, rows `≥ nyp` zero) with the kernel
/// sampled at lattice offsets `|o| ≤ kr` (spacing `d`); returns the result on lattice rows
/// `rows` and columns `cols`.
#[allow(clippy::too_many_arguments)]
fn convolve(
    bins: Vec<f64>,
    kernel: Kernel,
    h: f64,
    (d, area): (f64, f64),
    kr: usize,
    (lx, ly, nyp): (usize, usize, usize),
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> Array2<f64> {
    let hx = lx / 2 + 1;
    // 2. Kernel spectrum (real: the sampled kernel is even under circular indexing), with the
    //    amplitude, the cell area and the inverse-FFT scaling folded in.
    let amp = kernel.norm() / (h * h) * area / (lx * ly) as f64;
    let mut rplan = RealFftPlanner::<f64>::new();
    let mut cplan = FftPlanner::<f64>::new();
    let r2c = rplan.plan_fft_forward(lx);
    let c2r = rplan.plan_fft_inverse(lx);
    let fwd = cplan.plan_fft_forward(ly);
    let inv = cplan.plan_fft_inverse(ly);
    let offset = |j: usize, l: usize| -> Option<f64> {
        let o = if j <= l / 2 {
            j as f64
        } else {
            j as f64 - l as f64
        };
        (o.abs() <= kr as f64).then_some(o * d)
    };
    // spec[kx * ly + ky]
    let spec: Vec<f64> = match kernel {
        Kernel::Gaussian => {
            let g = |o: f64| (-0.5 * o * o / (h * h)).exp();
            let mut kx: Vec<f64> = (0..lx).map(|j| offset(j, lx).map_or(0.0, g)).collect();
            let mut kxs = r2c.make_output_vec();
            r2c.process(&mut kx, &mut kxs).expect("lengths match");
            let mut kys: Vec<Complex<f64>> = (0..ly)
                .map(|j| Complex::new(offset(j, ly).map_or(0.0, g), 0.0))
                .collect();
            fwd.process(&mut kys);
            let mut s = vec![0.0; hx * ly];
            for (a, row) in s.chunks_mut(ly).enumerate() {
                for (b, v) in row.iter_mut().enumerate() {
                    *v = amp * kxs[a].re * kys[b].re;
                }
            }
            s
        }
        _ => {
            let mut k2 = vec![0.0; ly * lx];
            for (b, row) in k2.chunks_mut(lx).enumerate() {
                if let Some(oy) = offset(b, ly) {
                    for (a, v) in row.iter_mut().enumerate() {
                        if let Some(ox) = offset(a, lx) {
                            let u2 = (ox * ox + oy * oy) / (h * h);
                            *v = kernel.profile(u2);
                        }
                    }
                }
            }
            let t = fft2_forward(&k2, lx, ly, ly, &*r2c, &*fwd);
            t.iter().map(|c| amp * c.re).collect()
        }
    };

    // 3. Forward 2-D FFT of the bins (rows beyond the data are zero), multiply, inverse along
    //    columns, keep only the grid's rows, inverse along rows, keep only the grid's columns.
    let mut t = fft2_forward(&bins, lx, ly, nyp, &*r2c, &*fwd);
    drop(bins);
    t.par_chunks_mut(ly).zip(spec.par_chunks(ly)).for_each_init(
        || vec![Complex::new(0.0, 0.0); inv.get_inplace_scratch_len()],
        |scratch, (col, s)| {
            for (c, &k) in col.iter_mut().zip(s) {
                *c *= k;
            }
            inv.process_with_scratch(col, scratch);
        },
    );
    // back to row-major (ly × hx) with a cache-oblivious transpose; keep the rows asked for
    let mut u = vec![Complex::new(0.0, 0.0); ly * hx];
    transpose::transpose(&t, &mut u, ly, hx);
    drop(t);
    let u = &mut u[rows.start * hx..rows.end * hx];
    let nc = cols.len();
    let mut out = Array2::<f64>::zeros((rows.len(), nc));
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(nc)
        .zip(u.par_chunks_mut(hx))
        .for_each_init(
            || (c2r.make_output_vec(), c2r.make_scratch_vec()),
            |(buf, scratch), (orow, urow)| {
                // A real signal's spectrum has real DC and Nyquist terms; drop round-off there.
                urow[0].im = 0.0;
                if lx % 2 == 0 {
                    urow[hx - 1].im = 0.0;
                }
                c2r.process_with_scratch(urow, buf, scratch)
                    .expect("lengths match");
                orow.copy_from_slice(&buf[cols.clone()]);
            },
        );
    out
}

/// 2-D forward FFT of a real (ly × lx) array whose rows `≥ rows` are zero; returns the spectrum
/// transposed, `(lx/2 + 1) × ly` (column-major in the spatial sense).
fn fft2_forward(
    a: &[f64],
    lx: usize,
    ly: usize,
    rows: usize,
    r2c: &dyn realfft::RealToComplex<f64>,
    fwd: &dyn rustfft::Fft<f64>,
) -> Vec<Complex<f64>> {
    let hx = lx / 2 + 1;
    let mut c = vec![Complex::new(0.0, 0.0); ly * hx];
    c[..rows * hx]
        .par_chunks_mut(hx)
        .zip(a[..rows * lx].par_chunks(lx))
        .for_each_init(
            || (vec![0.0; lx], r2c.make_scratch_vec()),
            |(buf, scratch), (crow, arow)| {
                buf.copy_from_slice(arow);
                r2c.process_with_scratch(buf, crow, scratch)
                    .expect("lengths match");
            },
        );
    let mut t = vec![Complex::new(0.0, 0.0); hx * ly];
    transpose::transpose(&c, &mut t, hx, ly);
    drop(c);
    t.par_chunks_mut(ly).for_each_init(
        || vec![Complex::new(0.0, 0.0); fwd.get_inplace_scratch_len()],
        |scratch, col| fwd.process_with_scratch(col, scratch),
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::kde_exact::{exact, Bw};

    #[test]
    fn fast_lengths() {
        assert_eq!(fast_len(1021), 1024);
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(11), 12);
    }

    #[test]
    fn lagrange_weights_reproduce_polynomials() {
        for p in ORDERS {
            let mut w = [0.0; 8];
            for t in [0.0, 0.3, 0.77] {
                lagrange(p, t, &mut w);
                let s: f64 = w[..p].iter().sum();
                assert!((s - 1.0).abs() < 1e-12);
                let m1: f64 = w[..p].iter().zip(nodes(p)).map(|(a, n)| a * n).sum();
                assert!((m1 - t).abs() < 1e-12);
            }
        }
        // Known constants: Λ_4 = 1.25 and max|ω_4| = 9/16, both at t = 1/2.
        let (om, lam) = interp_constants(4);
        assert!((om - 0.5625).abs() < 1e-9 && (lam - 1.25).abs() < 1e-9);
        // He_4(0) = 3, He_6(0) = 15.
        assert!((gaussian_derivative_max(4) - 3.0).abs() < 1e-9);
        assert!((gaussian_derivative_max(6) - 15.0).abs() < 1e-9);
    }

    fn cloud(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut s = 12345u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            if i % 2 == 0 {
                // cluster (Box–Muller)
                let (a, b) = (u().max(1e-12), u());
                let r = (-2.0 * a.ln()).sqrt() * 60.0;
                x.push(400.0 + r * (std::f64::consts::TAU * b).cos());
                y.push(300.0 + r * (std::f64::consts::TAU * b).sin());
            } else {
                x.push(-50.0 + 900.0 * u());
                y.push(-50.0 + 700.0 * u());
            }
        }
        let w = vec![1.0; n];
        (x, y, w)
    }

    #[test]
    fn binned_within_its_bound_of_exact() {
        let (x, y, w) = cloud(3000);
        for (cell, h, k) in [
            (10.0, 40.0, Kernel::Gaussian),
            (10.0, 200.0, Kernel::Gaussian),
            (5.0, 40.0, Kernel::Quartic),
        ] {
            let g = Grid::from_extent(
                0.0,
                0.0,
                cell,
                (800.0 / cell) as usize,
                (600.0 / cell) as usize,
            )
            .unwrap();
            let ex = exact(&g, &x, &y, &w, Bw::Fixed(h), k, f64::INFINITY);
            // (plan, chosen automatically)
            let mut plans: Vec<(BinPlan, bool)> = [None, Some(2)]
                .into_iter()
                .map(|p| {
                    let plan = choose_plan(k, cell, h, p, 6.0, x.len(), g.nx(), g.ny()).unwrap();
                    (plan, p.is_none())
                })
                .collect();
            if k == Kernel::Gaussian {
                // coarser lattices with interpolation, including ones auto would not pick
                for (order, coarsen, interp) in [(4, 2, 4), (6, 3, 6), (8, 4, 8), (2, 2, 4)] {
                    if (coarsen as f64) * cell <= h {
                        let plan = BinPlan {
                            order,
                            coarsen,
                            interp,
                        };
                        plans.push((plan, false));
                    }
                }
            }
            for (plan, auto) in plans {
                let b = binned(&g, &x, &y, &w, h, k, 6.0, plan);
                let bound = plan_error_bound(k, cell, h, plan, 6.0).unwrap() * k.norm() / (h * h)
                    * cell
                    * cell
                    * x.len() as f64;
                let max = ex.iter().cloned().fold(0.0, f64::max);
                let err = ex
                    .iter()
                    .zip(b.iter())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    err <= bound + 1e-12 * max,
                    "{k:?} {cell} {h} {plan:?}: {err} > {bound}"
                );

                if auto && k == Kernel::Gaussian {
                    assert!(err <= 5e-5 * max, "{cell} {h}: {err} vs max {max}");
                }
            }
        }
    }

    #[test]
    fn binned_identical_across_thread_counts() {
        let (x, y, w) = cloud(2000);
        let g = Grid::from_extent(0.0, 0.0, 8.0, 97, 75).unwrap();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    // fine lattice (band binning) and a coarse one (chunked binning)
                    [(4, 1, 0), (6, 3, 6)].map(|(order, coarsen, interp)| {
                        let plan = BinPlan {
                            order,
                            coarsen,
                            interp,
                        };
                        binned(&g, &x, &y, &w, 50.0, Kernel::Gaussian, 6.0, plan)
                    })
                })
        };
        let a = run(1);
        let b = run(4);
        for (a, b) in a.iter().zip(&b) {
            assert!(a
                .iter()
                .zip(b.iter())
                .all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }

    #[test]
    fn binned_refusals_have_reasons() {
        let e = choose_order(Kernel::Gaussian, 10.0, 5.0, None, 6.0).unwrap_err();
        assert!(e.to_string().contains("smaller than the cell size"), "{e}");
        let e = choose_order(Kernel::Uniform, 10.0, 50.0, None, 6.0).unwrap_err();
        assert!(e.to_string().contains("uniform"), "{e}");
        let e = choose_order(Kernel::Quartic, 10.0, 50.0, Some(4), 6.0).unwrap_err();
        assert!(e.to_string().contains("binning_order"), "{e}");
        let e = choose_order(Kernel::Gaussian, 10.0, 50.0, Some(3), 6.0).unwrap_err();
        assert!(e.to_string().contains("binning_order"), "{e}");
        assert_eq!(
            choose_order(Kernel::Gaussian, 10.0, 40.0, None, 6.0).unwrap(),
            8
        );
        assert_eq!(
            choose_order(Kernel::Gaussian, 10.0, 200.0, None, 6.0).unwrap(),
            4
        );
    }
}
