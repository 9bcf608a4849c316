//! Kernel density estimation of incident intensity on a grid.
//!
//! The estimate at cell `c` is `A · Σ_i w_i K_h(centre(c) − x_i)` (Rosenblatt 1956; Parzen 1962;
//! Silverman 1986, *Density Estimation for Statistics and Data Analysis*, ch. 4–5): `A` is the
//! cell area, so a surface holds kernel-weighted incidents per cell and sums to the training
//! weight, less the mass that falls outside the grid.
//!
//! * **Kernels** (2-D, radially symmetric, each integrating to 1): Gaussian
//!   `e^{−r²/2h²}/(2πh²)`; quartic (biweight) `3/(πh²)·(1 − r²/h²)²` for `r < h`; uniform
//!   `1/(πh²)` for `r < h`.
//! * **Bandwidth**: fixed (metres); Scott's rule `h = σ̄ n^{−1/6}` with `σ̄² = (σ_x² + σ_y²)/2`
//!   (the isotropic form of Scott 1992; scipy's `gaussian_kde` factor `n_eff^{−1/6}` times the
//!   same σ̄); Silverman's robust rule `h = min(σ̄, IQR̄/1.349) · n^{−1/6}` (Silverman 1986 eq.
//!   3.31 with the 2-D constant `(4/(d+2))^{1/(d+4)} = 1`); leave-one-out likelihood
//!   cross-validation over a list (Habbema, Hermans & van den Broek 1974; Duin 1976), and the
//!   adaptive k-nearest-neighbour bandwidth `h_i = max(d_k(x_i), h_min)` of the sample-point
//!   estimator (Breiman, Meisel & Purcell 1977).
//! * **Time weighting**: a trailing window (only incidents in `[at − window, at)`), and/or
//!   exponential decay `w_i · 2^{−(at − t_i)/half_life}`.
//! * **Modes and their error** (against the untruncated sum):
//!   - `exact`: every point–cell pair within the truncation radius. Compact kernels: exact up to
//!     round-off. Gaussian with `cutoff` c (in bandwidths, default 6): each point misses at most
//!     `w_i K(0) A e^{−c²/2}` per cell (1.5e-8 of its peak), and `cutoff = ∞` sums every pair.
//!   - `binned`: interpolation binning onto a lattice and FFT convolution; the worst-case
//!     error, per unit of `Σ w · K(0) · A`, is [`binned_error_bound`] (reported on the surface).
//!     Without an explicit order, the Gaussian kernel's lattice may be up to 8 cells apart when
//!     the bandwidth spans many cells, with Lagrange interpolation back to the cell centres
//!     (the bound then adds the interpolation remainder); the plan (order, lattice, interpolation
//!     order) is the cheapest one whose bound is ≤ 1e-5, which holds when the cell is ≤
//!     bandwidth/4. A bandwidth smaller than a cell is refused in this mode, and so is the
//!     uniform kernel.
//! * **Edges**: no edge correction. Kernel mass that falls outside the grid's extent (or on
//!   inactive cells) is lost, not renormalised: a point on the region's boundary contributes
//!   about half its weight inside. The share kept on active cells is reported as
//!   `mass_share_active`. Incidents outside the grid still contribute to cells they reach.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::{Bandwidth, Kde, KdeParams};
//! use placewise::space::Grid;
//! let inc = Incidents::new(vec![500.0, 520.0], vec![500.0, 480.0], vec![0, 86_400]).unwrap();
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 100, 100).unwrap());
//! let params = KdeParams { bandwidth: Bandwidth::Fixed(50.0), ..KdeParams::default() };
//! let kde = Kde::fit(params, Arc::new(inc), grid).unwrap();
//! let s = kde.predict(None).unwrap();
//! // the whole weight, less the truncation at 6 bandwidths (1.5e-8 per incident)
//! assert!((s.values.sum() - 2.0).abs() < 1e-7);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use rstar::RTree;

use crate::constraints::{check, KDE};
use crate::data::Incidents;
use crate::error::{Error, Result};
use crate::models::kde_binned::{binned, choose_plan, plan_error_bound};
use crate::models::kde_exact::{exact, Bw};
use crate::models::window::{training_range, DAY_S};
use crate::space::Grid;
use crate::surface::Surface;

/// A 2-D kernel, radially symmetric, integrating to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `e^{−r²/2h²} / (2πh²)`, truncated at `cutoff · h`.
    Gaussian,
    /// Quartic (biweight) `3/(πh²) (1 − r²/h²)²` for `r < h`.
    Quartic,
    /// `1/(πh²)` for `r < h`.
    Uniform,
}

impl Kernel {
    /// From "gaussian", "quartic" (or "biweight"), "uniform" (or "tophat").
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "gaussian" => Ok(Kernel::Gaussian),
            "quartic" | "biweight" => Ok(Kernel::Quartic),
            "uniform" | "tophat" => Ok(Kernel::Uniform),
            _ => Err(Error::param(
                "kernel",
                format!("must be 'gaussian', 'quartic' or 'uniform', got {name:?}"),
            )),
        }
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Gaussian => "gaussian",
            Kernel::Quartic => "quartic",
            Kernel::Uniform => "uniform",
        }
    }
    /// `K(0) · h²`.
    pub fn norm(self) -> f64 {
        use std::f64::consts::PI;
        match self {
            Kernel::Gaussian => 0.5 / PI,
            Kernel::Quartic => 3.0 / PI,
            Kernel::Uniform => 1.0 / PI,
        }
    }
    /// `K(r)·h²/K(0)·h²`-style profile as a function of `u² = r²/h²` (1 at 0).
    pub fn profile(self, u2: f64) -> f64 {
        match self {
            Kernel::Gaussian => (-0.5 * u2).exp(),
            Kernel::Quartic if u2 < 1.0 => (1.0 - u2) * (1.0 - u2),
            Kernel::Uniform if u2 < 1.0 => 1.0,
            _ => 0.0,
        }
    }
    /// Support radius in bandwidths (`cutoff` for the Gaussian, 1 otherwise).
    pub fn support(self, cutoff: f64) -> f64 {
        match self {
            Kernel::Gaussian => cutoff,
            _ => 1.0,
        }
    }
    /// Whether the support boundary itself is excluded (`r < h`).
    pub(crate) fn strict(self) -> bool {
        self == Kernel::Uniform
    }
}

/// How the bandwidth is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Bandwidth {
    /// A fixed bandwidth in metres.
    Fixed(f64),
    /// Scott's rule (isotropic).
    Scott,
    /// Silverman's robust rule (isotropic).
    Silverman,
    /// Leave-one-out likelihood cross-validation over these bandwidths (metres).
    CrossValidated(Vec<f64>),
    /// Adaptive: each incident's bandwidth is the distance to its `k`-th nearest other incident,
    /// at least `min_m` metres.
    Knn {
        /// Neighbour rank (≥ 1).
        k: usize,
        /// Floor in metres (needed when several incidents share a location).
        min_m: f64,
    },
}

/// Evaluation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdeMode {
    /// Every point–cell pair within the truncation radius.
    Exact,
    /// Interpolation binning + FFT convolution.
    Binned,
}

impl KdeMode {
    /// From "exact" or "binned".
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "exact" => Ok(KdeMode::Exact),
            "binned" => Ok(KdeMode::Binned),
            _ => Err(Error::param(
                "mode",
                format!("must be 'exact' or 'binned', got {name:?}"),
            )),
        }
    }
    fn name(self) -> &'static str {
        match self {
            KdeMode::Exact => "exact",
            KdeMode::Binned => "binned",
        }
    }
}

/// KDE parameters, with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct KdeParams {
    /// Kernel (default Gaussian).
    pub kernel: Kernel,
    /// Bandwidth rule (default fixed 250 m).
    pub bandwidth: Bandwidth,
    /// Evaluation mode (default exact).
    pub mode: KdeMode,
    /// Gaussian truncation radius in bandwidths (default 6; `f64::INFINITY` in exact mode for
    /// none).
    pub cutoff: f64,
    /// Trailing window in days (default none: all incidents before `at`).
    pub window_days: Option<f64>,
    /// Exponential-decay half-life in days (default none).
    pub half_life_days: Option<f64>,
    /// Binning order 2/4/6/8 in binned mode (default: chosen for error ≤ 1e-5).
    pub binning_order: Option<usize>,
}

impl Default for KdeParams {
    fn default() -> Self {
        KdeParams {
            kernel: Kernel::Gaussian,
            bandwidth: Bandwidth::Fixed(250.0),
            mode: KdeMode::Exact,
            cutoff: 6.0,
            window_days: None,
            half_life_days: None,
            binning_order: None,
        }
    }
}

/// A fitted KDE: the training incidents, the grid and the chosen bandwidth.
#[derive(Debug, Clone)]
pub struct Kde {
    params: KdeParams,
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
    bandwidth_m: f64,
    point_bandwidths: Option<Vec<f64>>,
    cv_scores: Option<Vec<(f64, f64)>>,
}

impl Kde {
    /// Validates the parameters and chooses the bandwidth on `incidents` (all of them: rules
    /// and cross-validation look at the whole training table, not at one prediction window).
    pub fn fit(params: KdeParams, incidents: Arc<Incidents>, grid: Arc<Grid>) -> Result<Self> {
        if incidents.is_empty() {
            return Err(Error::empty("no training incidents"));
        }
        check(KDE, "cutoff", params.cutoff)?;
        if let Some(d) = params.window_days {
            check(KDE, "window_days", d)?;
        }
        if let Some(d) = params.half_life_days {
            check(KDE, "half_life_days", d)?;
        }
        let w: Vec<f64> = (0..incidents.len())
            .map(|i| incidents.weight_of(i))
            .collect();
        let (x, y) = (incidents.x(), incidents.y());
        let mut point_bandwidths = None;
        let mut cv_scores = None;
        let bandwidth_m = match &params.bandwidth {
            Bandwidth::Fixed(h) => check(KDE, "bandwidth", *h)?,
            Bandwidth::Scott => rule_of_thumb(x, y, &w, false)?,
            Bandwidth::Silverman => rule_of_thumb(x, y, &w, true)?,
            Bandwidth::CrossValidated(list) => {
                let scores = loo_likelihood(x, y, &w, list, params.kernel, params.cutoff)?;
                let best = scores
                    .iter()
                    .fold(None::<(f64, f64)>, |b, &(h, s)| match b {
                        Some((_, bs)) if bs >= s => b,
                        _ => Some((h, s)),
                    })
                    .expect("non-empty list");
                if !best.1.is_finite() {
                    return Err(Error::param(
                        "bandwidth",
                        "every bandwidth in the list leaves some incident with zero \
                         leave-one-out density (log-likelihood −∞); try larger bandwidths or \
                         the Gaussian kernel",
                    ));
                }
                cv_scores = Some(scores);
                best.0
            }
            Bandwidth::Knn { k, min_m } => {
                if params.mode == KdeMode::Binned {
                    return Err(Error::param(
                        "mode",
                        "adaptive (k-nearest-neighbour) bandwidths need mode='exact': FFT \
                         convolution needs one bandwidth for all incidents",
                    ));
                }
                let h = knn_bandwidths(x, y, *k, *min_m)?;
                let mut s = h.clone();
                s.sort_by(f64::total_cmp);
                let med = s[s.len() / 2];
                point_bandwidths = Some(h);
                med
            }
        };
        if params.mode == KdeMode::Binned {
            // the order and the FFT lattice's size, refused now rather than at predict()
            choose_plan(
                params.kernel,
                grid.cell_size(),
                bandwidth_m,
                params.binning_order,
                params.cutoff,
                incidents.len(),
                grid.nx(),
                grid.ny(),
            )?;
        } else if params.binning_order.is_some() {
            return Err(Error::param(
                "binning_order",
                "only applies to mode='binned'",
            ));
        }
        Ok(Kde {
            params,
            incidents,
            grid,
            bandwidth_m,
            point_bandwidths,
            cv_scores,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &KdeParams {
        &self.params
    }
    /// The bandwidth used (metres; the median of the per-incident bandwidths when adaptive).
    pub fn bandwidth_m(&self) -> f64 {
        self.bandwidth_m
    }
    /// Per-incident bandwidths (adaptive only), in the incidents' order.
    pub fn point_bandwidths(&self) -> Option<&[f64]> {
        self.point_bandwidths.as_deref()
    }
    /// `(bandwidth, leave-one-out log-likelihood)` per candidate (cross-validation only).
    pub fn cv_scores(&self) -> Option<&[(f64, f64)]> {
        self.cv_scores.as_deref()
    }

    /// The surface at `at` (UTC seconds; `None` = just after the last incident) from the
    /// incidents strictly before `at`, inside the trailing window if one is set, weighted by the
    /// decay if one is set.
    pub fn predict(&self, at: Option<i64>) -> Result<Surface> {
        let p = &self.params;
        let (a, b, start, end) = training_range(&self.incidents, at, p.window_days)?;
        let inc = &self.incidents;
        let x = &inc.x()[a..b];
        let y = &inc.y()[a..b];
        let t = &inc.t()[a..b];
        let w: Vec<f64> = (a..b)
            .zip(t)
            .map(|(i, &ti)| {
                let wi = inc.weight_of(i);
                match p.half_life_days {
                    Some(hl) => {
                        wi * (-((end - ti) as f64) / (hl * DAY_S) * std::f64::consts::LN_2).exp()
                    }
                    None => wi,
                }
            })
            .collect();
        let total: f64 = w.iter().sum();
        let grid = &self.grid;
        let mut params = BTreeMap::new();
        let (values, bound) = match p.mode {
            KdeMode::Exact => {
                let bw = match &self.point_bandwidths {
                    Some(h) => Bw::PerPoint(&h[a..b]),
                    None => Bw::Fixed(self.bandwidth_m),
                };
                let v = exact(grid, x, y, &w, bw, p.kernel, p.cutoff);
                let rel = match p.kernel {
                    Kernel::Gaussian => (-0.5 * p.cutoff * p.cutoff).exp(),
                    _ => 0.0,
                };
                (v, rel)
            }
            KdeMode::Binned => {
                let h = self.bandwidth_m;
                let plan = choose_plan(
                    p.kernel,
                    grid.cell_size(),
                    h,
                    p.binning_order,
                    p.cutoff,
                    x.len(),
                    grid.nx(),
                    grid.ny(),
                )?;
                params.insert("binning_order".into(), plan.order.to_string());
                if plan.coarsen > 1 {
                    params.insert("binning_lattice_cells".into(), plan.coarsen.to_string());
                    params.insert("interpolation_order".into(), plan.interp.to_string());
                }
                let v = binned(grid, x, y, &w, h, p.kernel, p.cutoff, plan);
                (
                    v,
                    plan_error_bound(p.kernel, grid.cell_size(), h, plan, p.cutoff)?,
                )
            }
        };
        // Absolute bound in the surface's units: rel × Σw × K(0) × A (for adaptive bandwidths,
        // K(0) at the smallest bandwidth used).
        let hmin = match &self.point_bandwidths {
            Some(h) => h[a..b].iter().cloned().fold(f64::INFINITY, f64::min),
            None => self.bandwidth_m,
        };
        let abs_bound = bound * total * p.kernel.norm() / (hmin * hmin) * grid.cell_area();
        let flat = values.as_slice().expect("standard layout");
        let active: f64 = grid
            .mask()
            .iter()
            .zip(flat)
            .filter(|(m, _)| **m)
            .map(|(_, v)| v)
            .sum();
        let mut s = Surface::new(values, grid.clone(), "KDE")?;
        params.insert("kernel".into(), p.kernel.name().into());
        params.insert("mode".into(), p.mode.name().into());
        params.insert("bandwidth_m".into(), format!("{}", self.bandwidth_m));
        params.insert(
            "bandwidth_rule".into(),
            match &p.bandwidth {
                Bandwidth::Fixed(_) => "fixed",
                Bandwidth::Scott => "scott",
                Bandwidth::Silverman => "silverman",
                Bandwidth::CrossValidated(_) => "loo-likelihood-cv",
                Bandwidth::Knn { .. } => "adaptive-knn",
            }
            .into(),
        );
        if let Bandwidth::Knn { k, min_m } = &p.bandwidth {
            params.insert("knn_k".into(), k.to_string());
            params.insert("min_bandwidth_m".into(), min_m.to_string());
        }
        params.insert("cutoff_bandwidths".into(), format!("{}", p.cutoff));
        if let Some(d) = p.window_days {
            params.insert("window_days".into(), d.to_string());
        }
        if let Some(d) = p.half_life_days {
            params.insert("half_life_days".into(), d.to_string());
        }
        params.insert("error_bound".into(), format!("{abs_bound:e}"));
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
}

/// One kernel sum on `grid` without a model: `exact` ([`crate::models::kernel_grid`]) or
/// `binned` (the binning order is returned; `None` chooses it as [`KdeParams::binning_order`]).
#[allow(clippy::too_many_arguments)]
pub fn kde_grid(
    grid: &Grid,
    x: &[f64],
    y: &[f64],
    w: &[f64],
    bandwidth_m: f64,
    kernel: Kernel,
    mode: KdeMode,
    cutoff: f64,
    binning_order: Option<usize>,
) -> Result<(ndarray::Array2<f64>, Option<usize>)> {
    match mode {
        KdeMode::Exact => Ok((
            crate::models::kernel_grid(grid, x, y, w, None, bandwidth_m, kernel, cutoff)?,
            None,
        )),
        KdeMode::Binned => {
            // validate through the exact entry point's checks on a zero-work call
            crate::models::kernel_grid(grid, &[], &[], &[], None, bandwidth_m, kernel, cutoff)?;
            let n = x.len();
            if y.len() != n || w.len() != n {
                return Err(Error::param("x, y, w", "must have the same length"));
            }
            for i in 0..n {
                if !(x[i].is_finite() && y[i].is_finite()) {
                    return Err(Error::data(Some(i), "x/y", "coordinate is NaN or infinite"));
                }
                if !(w[i].is_finite() && w[i] >= 0.0) {
                    return Err(Error::data(Some(i), "weight", "must be finite and >= 0"));
                }
            }
            let plan = choose_plan(
                kernel,
                grid.cell_size(),
                bandwidth_m,
                binning_order,
                cutoff,
                n,
                grid.nx(),
                grid.ny(),
            )?;
            Ok((
                binned(grid, x, y, w, bandwidth_m, kernel, cutoff, plan),
                Some(plan.order),
            ))
        }
    }
}

/// Weighted mean and variance (unbiased with Kish's effective n, as scipy) of `v`.
fn weighted_var(v: &[f64], w: &[f64]) -> f64 {
    let sw: f64 = w.iter().sum();
    let mean: f64 = v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let sw2: f64 = w.iter().map(|b| b * b).sum();
    let ss: f64 = v.iter().zip(w).map(|(a, b)| b * (a - mean).powi(2)).sum();
    ss / (sw - sw2 / sw)
}

/// Weighted quantile (lower interpolation-free: the smallest value with cumulative weight ≥ q).
fn weighted_quantile(v: &[f64], w: &[f64], q: f64) -> f64 {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for &i in &idx {
        acc += w[i];
        if acc >= q * total {
            return v[i];
        }
    }
    v[idx[idx.len() - 1]]
}

/// Scott's (`robust = false`) or Silverman's robust (`robust = true`) isotropic bandwidth.
pub(crate) fn rule_of_thumb(x: &[f64], y: &[f64], w: &[f64], robust: bool) -> Result<f64> {
    let sw: f64 = w.iter().sum();
    let sw2: f64 = w.iter().map(|b| b * b).sum();
    if x.len() < 2 || sw <= 0.0 {
        return Err(Error::param(
            "bandwidth",
            "a bandwidth rule needs at least two incidents with positive weight",
        ));
    }
    let neff = sw * sw / sw2;
    let sigma = (0.5 * (weighted_var(x, w) + weighted_var(y, w))).sqrt();
    let spread = if robust {
        let iqr = |v: &[f64]| weighted_quantile(v, w, 0.75) - weighted_quantile(v, w, 0.25);
        let iqr_bar = (0.5 * (iqr(x).powi(2) + iqr(y).powi(2))).sqrt() / 1.349;
        if iqr_bar > 0.0 {
            sigma.min(iqr_bar)
        } else {
            sigma
        }
    } else {
        sigma
    };
    let h = spread * neff.powf(-1.0 / 6.0);
    if !(h.is_finite() && h > 0.0) {
        return Err(Error::param(
            "bandwidth",
            "all incidents are at one location, so a rule of thumb gives a zero bandwidth; \
             give a bandwidth in metres",
        ));
    }
    Ok(h)
}

/// Leave-one-out log-likelihood `Σ_i w_i ln f_{−i}(x_i)` for each bandwidth in `list`, with
/// `f_{−i}(x_i) = Σ_{j≠i} w_j K_h(x_i − x_j) / Σ_{j≠i} w_j` (truncated like the estimate).
/// Pairs are found with a bucket grid; each incident's sum runs in a fixed order, so the score
/// does not depend on the thread count.
pub(crate) fn loo_likelihood(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    list: &[f64],
    kernel: Kernel,
    cutoff: f64,
) -> Result<Vec<(f64, f64)>> {
    if list.is_empty() {
        return Err(Error::param("bandwidth", "the bandwidth list is empty"));
    }
    for &h in list {
        check(KDE, "bandwidth", h)?;
    }
    let n = x.len();
    if n < 2 {
        return Err(Error::param(
            "bandwidth",
            "cross-validation needs at least two incidents",
        ));
    }
    if x.iter().zip(y).all(|(a, b)| *a == x[0] && *b == y[0]) {
        return Err(Error::param(
            "bandwidth",
            "all incidents are at one location: the leave-one-out likelihood grows without \
             bound as the bandwidth shrinks; give a bandwidth in metres",
        ));
    }
    let hmax = list.iter().cloned().fold(0.0, f64::max);
    let (xmin, xmax) = x
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (ymin, ymax) = y
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    // Bucket side: the largest reach, capped so there are at most ~4M buckets.
    let reach = kernel.support(cutoff) * hmax;
    let span = (xmax - xmin).max(ymax - ymin).max(1e-9);
    let side = if reach.is_finite() {
        reach.max(span / 2000.0)
    } else {
        span * 2.0
    };
    let nbx = ((xmax - xmin) / side).floor() as usize + 1;
    let nby = ((ymax - ymin) / side).floor() as usize + 1;
    let bucket = |i: usize| {
        (
            ((x[i] - xmin) / side).floor() as usize,
            ((y[i] - ymin) / side).floor() as usize,
        )
    };
    let mut starts = vec![0usize; nbx * nby + 1];
    for i in 0..n {
        let (bx, by) = bucket(i);
        starts[by * nbx + bx + 1] += 1;
    }
    for b in 0..nbx * nby {
        starts[b + 1] += starts[b];
    }
    let mut order = vec![0usize; n];
    let mut fill = starts.clone();
    for i in 0..n {
        let (bx, by) = bucket(i);
        order[fill[by * nbx + bx]] = i;
        fill[by * nbx + bx] += 1;
    }
    let sw: f64 = w.iter().sum();
    let norms: Vec<f64> = list.iter().map(|h| kernel.norm() / (h * h)).collect();
    let strict = kernel.strict();
    let per_point: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut s = vec![0.0; list.len()];
            let (bx, by) = bucket(i);
            for yy in by.saturating_sub(1)..(by + 2).min(nby) {
                for xx in bx.saturating_sub(1)..(bx + 2).min(nbx) {
                    let b = yy * nbx + xx;
                    for &j in &order[starts[b]..starts[b + 1]] {
                        if j == i {
                            continue;
                        }
                        let d2 = (x[i] - x[j]).powi(2) + (y[i] - y[j]).powi(2);
                        for (k, &h) in list.iter().enumerate() {
                            let r = kernel.support(cutoff) * h;
                            let inside = if strict { d2 < r * r } else { d2 <= r * r };
                            if inside {
                                s[k] += w[j] * norms[k] * kernel.profile(d2 / (h * h));
                            }
                        }
                    }
                }
            }
            s
        })
        .collect();
    Ok(list
        .iter()
        .enumerate()
        .map(|(k, &h)| {
            let mut score = 0.0;
            for i in 0..n {
                if w[i] == 0.0 {
                    continue;
                }
                let rest = sw - w[i];
                let f = if rest > 0.0 {
                    per_point[i][k] / rest
                } else {
                    0.0
                };
                score += w[i] * f.ln();
            }
            (h, score)
        })
        .collect())
}

/// Distance from each incident to its `k`-th nearest other incident, floored at `min_m`.
pub(crate) fn knn_bandwidths(x: &[f64], y: &[f64], k: usize, min_m: f64) -> Result<Vec<f64>> {
    check(KDE, "k", k as f64)?;
    check(KDE, "min_bandwidth", min_m)?;
    if x.len() <= k {
        return Err(Error::param(
            "k",
            format!("needs more than k = {k} incidents, got {}", x.len()),
        ));
    }
    let pts: Vec<[f64; 2]> = x.iter().zip(y).map(|(&a, &b)| [a, b]).collect();
    let tree = RTree::bulk_load(pts.clone());
    Ok(pts
        .par_iter()
        .map(|p| {
            // The iterator yields the incident itself (distance 0) among the first; the
            // (k+1)-th distance is the k-th nearest *other* incident's.
            let d2 = tree
                .nearest_neighbor_iter_with_distance_2(p)
                .nth(k)
                .map_or(0.0, |(_, d2)| d2);
            d2.sqrt().max(min_m)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(x: Vec<f64>, y: Vec<f64>) -> Arc<Incidents> {
        let t = (0..x.len() as i64).map(|i| i * 86_400).collect();
        Arc::new(Incidents::new(x, y, t).unwrap())
    }

    #[test]
    fn zero_and_negative_bandwidths_are_refused() {
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 10, 10).unwrap());
        for h in [0.0, -10.0, f64::NAN] {
            let p = KdeParams {
                bandwidth: Bandwidth::Fixed(h),
                ..Default::default()
            };
            let e = Kde::fit(p, inc(vec![1.0, 2.0], vec![1.0, 2.0]), g.clone()).unwrap_err();
            assert!(e.to_string().contains("`bandwidth`"), "{e}");
        }
        let p = KdeParams {
            bandwidth: Bandwidth::CrossValidated(vec![50.0, 0.0]),
            ..Default::default()
        };
        assert!(Kde::fit(p, inc(vec![1.0, 20.0], vec![1.0, 2.0]), g).is_err());
    }

    #[test]
    fn all_incidents_in_one_cell() {
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 20, 20).unwrap());
        let one = inc(vec![55.0; 5], vec![55.0; 5]);
        for rule in [
            Bandwidth::Scott,
            Bandwidth::Silverman,
            Bandwidth::CrossValidated(vec![10.0, 20.0]),
        ] {
            let p = KdeParams {
                bandwidth: rule,
                ..Default::default()
            };
            let e = Kde::fit(p, one.clone(), g.clone()).unwrap_err();
            assert!(e.to_string().contains("one location"), "{e}");
        }
        // A fixed bandwidth works: five times one kernel, centred on the cell.
        let p = KdeParams {
            bandwidth: Bandwidth::Fixed(20.0),
            ..Default::default()
        };
        let s = Kde::fit(p, one, g).unwrap().predict(None).unwrap();
        let top = s.top(1)[0];
        assert_eq!(top.0, 5 * 20 + 5);
        let expect = 5.0 * Kernel::Gaussian.norm() / 400.0 * 100.0;
        assert!((top.1 - expect).abs() < 1e-12 * expect);
    }

    #[test]
    fn predict_before_data_and_empty_window() {
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 10, 10).unwrap());
        let p = KdeParams {
            window_days: Some(1.0),
            bandwidth: Bandwidth::Fixed(20.0),
            ..Default::default()
        };
        let k = Kde::fit(p, inc(vec![1.0, 2.0], vec![1.0, 2.0]), g).unwrap();
        assert!(k.predict(Some(0)).unwrap_err().to_string().contains("`at`"));
        let e = k.predict(Some(100 * 86_400)).unwrap_err();
        assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
        assert!(k.predict(Some(86_400 + 5)).is_ok());
    }

    #[test]
    fn scott_matches_its_formula() {
        let x = vec![0.0, 10.0, 20.0, 30.0];
        let y = vec![0.0, 0.0, 40.0, 40.0];
        let w = vec![1.0; 4];
        let h = rule_of_thumb(&x, &y, &w, false).unwrap();
        // var_x = 166.67, var_y = 533.33 (ddof 1); σ̄ = sqrt(350); n^{-1/6}
        let expect = 350f64.sqrt() * 4f64.powf(-1.0 / 6.0);
        assert!((h - expect).abs() < 1e-12);
    }

    #[test]
    fn knn_bandwidths_by_brute_force() {
        let x: Vec<f64> = (0..50).map(|i| ((i * 37) % 50) as f64 * 3.0).collect();
        let y: Vec<f64> = (0..50).map(|i| ((i * 11) % 50) as f64 * 2.0).collect();
        let h = knn_bandwidths(&x, &y, 3, 0.5).unwrap();
        for i in 0..50 {
            let mut d: Vec<f64> = (0..50)
                .filter(|&j| j != i)
                .map(|j| ((x[i] - x[j]).powi(2) + (y[i] - y[j]).powi(2)).sqrt())
                .collect();
            d.sort_by(f64::total_cmp);
            assert!((h[i] - d[2].max(0.5)).abs() < 1e-9);
        }
        assert!(knn_bandwidths(&x, &y, 0, 1.0).is_err());
    }

    #[test]
    fn cv_prefers_a_sensible_bandwidth_and_is_thread_independent() {
        // two tight clusters 1 km apart: a tiny bandwidth overfits, a huge one oversmooths
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let a = i as f64 * 2.399963; // golden-angle spiral
            let r = 30.0 * ((i as f64 + 0.5) / 200.0).sqrt();
            x.push(if i % 2 == 0 { 0.0 } else { 1000.0 } + r * a.cos());
            y.push(r * a.sin());
        }
        let w = vec![1.0; x.len()];
        let list = vec![1.0, 5.0, 10.0, 20.0, 500.0];
        let run = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| loo_likelihood(&x, &y, &w, &list, Kernel::Gaussian, 6.0).unwrap())
        };
        let s1 = run(1);
        let s3 = run(3);
        for (a, b) in s1.iter().zip(&s3) {
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
        let best = s1.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
        assert!(best == 5.0 || best == 10.0, "{s1:?}");
    }
}
