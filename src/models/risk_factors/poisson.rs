//! Penalised Poisson log-linear regression fitted by Newton–Raphson (IRLS), with standard
//! errors from the inverse Fisher information.
//!
//! The model is `y_i ~ Poisson(μ_i)`, `ln μ_i = β₀ + x_iᵀβ` (McCullagh & Nelder 1989,
//! *Generalized Linear Models*, ch. 6). The objective is scikit-learn's `PoissonRegressor`:
//! `1/(2 Σw) Σ w_i d(y_i, μ_i) + α/2 ‖β‖²` (d the unit deviance, the intercept unpenalised),
//! so `alpha` means the same in both. `e^{β_k}` is the relative risk of one unit of feature `k`.
//!
//! Standard errors: the covariance of the estimate is the sandwich `H⁻¹ I H⁻¹`, with
//! `I = Xᵀ diag(w μ) X` the Fisher information of the log-likelihood and `H = I + α Σw P` its
//! penalised version (P zero on the intercept); with `alpha = 0` it is the usual inverse Fisher
//! information. With [`Dispersion::Pearson`] it is multiplied by the Pearson estimate of
//! overdispersion `φ = Σ w (y − μ)²/μ / (Σw − p − 1)` (quasi-Poisson; crime counts are nearly
//! always overdispersed, so this is the default and the fit says so).
//!
//! # Examples
//! ```
//! use ndarray::array;
//! use placewise::models::risk_factors::{fit_poisson, Dispersion, PoissonParams};
//! // two groups: 10 rows with x = 0 and 20 incidents, 10 rows with x = 1 and 60 incidents
//! let x = ndarray::Array2::from_shape_fn((20, 1), |(i, _)| if i < 10 { 0.0 } else { 1.0 });
//! let y: Vec<f64> = (0..20).map(|i| if i < 10 { 2.0 } else { 6.0 }).collect();
//! let p = PoissonParams { alpha: 0.0, dispersion: Dispersion::Fixed, ..PoissonParams::default() };
//! let f = fit_poisson(x.view(), &y, None, &p).unwrap();
//! assert!((f.coef[0].exp() - 3.0).abs() < 1e-9); // relative risk 60/20
//! assert!((f.se[0] - (1.0 / 20.0 + 1.0 / 60.0f64).sqrt()).abs() < 1e-9);
//! ```

use nalgebra::{DMatrix, DVector};
use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// How the covariance of the coefficients is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispersion {
    /// φ = 1: the Poisson variance taken at its word.
    Fixed,
    /// φ estimated by Pearson's χ² / (Σw − p − 1) (quasi-Poisson standard errors).
    Pearson,
}

impl Dispersion {
    /// "fixed" or "pearson".
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "fixed" | "none" => Ok(Dispersion::Fixed),
            "pearson" => Ok(Dispersion::Pearson),
            o => Err(Error::param(
                "dispersion",
                format!("'pearson' or 'fixed', got {o:?}"),
            )),
        }
    }
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Dispersion::Fixed => "fixed (1)",
            Dispersion::Pearson => "pearson",
        }
    }
}

/// Fitting options. Defaults in brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonParams {
    /// L2 penalty on the mean half-deviance scale, as scikit-learn's `alpha` [1e-4].
    pub alpha: f64,
    /// Newton iterations at most [100].
    pub max_iter: usize,
    /// Stop when the Newton decrement `gᵀH⁻¹g` falls below this [1e-16].
    pub tol: f64,
    /// Covariance scaling [Pearson].
    pub dispersion: Dispersion,
    /// Starting point `(β₀, β…)` of the Newton iterations (a warm start, e.g. the fit at a
    /// neighbouring penalty) [none: `β = 0`, `β₀ = ln ȳ`]. The optimum does not depend on it;
    /// the estimate differs only within the convergence tolerance.
    pub start: Option<Vec<f64>>,
}

impl Default for PoissonParams {
    fn default() -> Self {
        PoissonParams {
            alpha: 1e-4,
            max_iter: 100,
            tol: 1e-16,
            dispersion: Dispersion::Pearson,
            start: None,
        }
    }
}

/// A fitted Poisson log-linear model.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonFit {
    /// β₀.
    pub intercept: f64,
    /// β, one per feature.
    pub coef: Vec<f64>,
    /// Standard error of β₀.
    pub se_intercept: f64,
    /// Standard errors of β.
    pub se: Vec<f64>,
    /// The φ the covariance was multiplied by (1 with [`Dispersion::Fixed`]).
    pub dispersion: f64,
    /// How φ was chosen.
    pub dispersion_rule: Dispersion,
    /// Newton iterations run.
    pub iterations: usize,
    /// Whether the decrement fell below `tol`.
    pub converged: bool,
    /// Residual deviance Σ w d(y, μ).
    pub deviance: f64,
    /// Deviance of the intercept-only model.
    pub null_deviance: f64,
    /// Σ w (rows when unweighted).
    pub n: f64,
    /// The penalty used.
    pub alpha: f64,
}

impl PoissonFit {
    /// Expected counts `exp(β₀ + xβ)` for each row of `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        if x.ncols() != self.coef.len() {
            return Err(Error::param(
                "x",
                format!(
                    "has {} columns but the model has {} features",
                    x.ncols(),
                    self.coef.len()
                ),
            ));
        }
        Ok(x.rows()
            .into_iter()
            .map(|r| eta(self.intercept, &self.coef, r).exp())
            .collect())
    }
}

fn eta(b0: f64, b: &[f64], r: ArrayView1<'_, f64>) -> f64 {
    b0 + r.iter().zip(b).map(|(x, c)| x * c).sum::<f64>()
}

/// [`eta`] on a contiguous row (the same operations in the same order).
#[inline]
fn eta_slice(b0: f64, b: &[f64], r: &[f64]) -> f64 {
    b0 + r.iter().zip(b).map(|(x, c)| x * c).sum::<f64>()
}

/// Rows per block of the parallel sums (fixed, so results do not depend on thread count).
const BLOCK: usize = 4096;

/// Cholesky factor of a symmetric matrix, refused when a pivot is below 1e-10 of the largest
/// diagonal entry (the matrix is singular to working precision).
fn checked_cholesky(m: DMatrix<f64>) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
    let scale = m.diagonal().iter().fold(0.0f64, |a, &b| a.max(b.abs()));
    let c = m.cholesky()?;
    let l = c.l_dirty();
    let ok = (0..l.nrows()).all(|j| l[(j, j)] * l[(j, j)] > 1e-10 * scale);
    ok.then_some(c)
}

fn unit_deviance(y: f64, mu: f64) -> f64 {
    let a = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
    2.0 * (a - (y - mu))
}

/// Fits the model to rows `x` (n × p), counts `y` and optional frequency weights.
///
/// Errors: shapes that disagree; non-finite features; negative or non-finite counts or
/// weights; an `alpha` < 0 or non-finite; no positive count (the intercept would be −∞);
/// fewer weighted rows than parameters + 1; a singular information matrix (a feature that is
/// constant or a copy of others, with `alpha = 0`).
pub fn fit_poisson(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    weights: Option<&[f64]>,
    params: &PoissonParams,
) -> Result<PoissonFit> {
    let (n, p) = x.dim();
    if y.len() != n {
        return Err(Error::param(
            "y",
            format!("has {} entries but x has {n} rows", y.len()),
        ));
    }
    if !(params.alpha.is_finite() && params.alpha >= 0.0) {
        return Err(Error::param(
            "alpha",
            format!("must be finite and >= 0, got {}", params.alpha),
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::data(Some(i), "y", "counts must be finite and >= 0"));
    }
    if let Some((i, _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::data(
            Some(i.0),
            format!("x[:, {}]", i.1),
            "feature is NaN or infinite",
        ));
    }
    let ones;
    let w = match weights {
        Some(w) => {
            if w.len() != n {
                return Err(Error::param(
                    "weights",
                    format!("has {} entries but x has {n} rows", w.len()),
                ));
            }
            if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::data(
                    Some(i),
                    "weights",
                    "weights must be finite and >= 0",
                ));
            }
            w
        }
        None => {
            ones = vec![1.0; n];
            &ones[..]
        }
    };
    let s: f64 = w.iter().sum();
    let ybar = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / s;
    if s.partial_cmp(&((p + 1) as f64)) != Some(std::cmp::Ordering::Greater) {
        return Err(Error::param(
            "x",
            format!(
                "{s} weighted rows cannot fit {} parameters (need more rows than parameters + 1)",
                p + 1
            ),
        ));
    }
    if ybar.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Err(Error::empty(
            "no incidents in the training targets: the model has nothing to fit",
        ));
    }
    let q = p + 1;
    let alpha = params.alpha;
    // rows as contiguous slices (a copy only when `x` is not in row-major order)
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let x_row = |i: usize| &xs[i * p..(i + 1) * p];
    // objective, gradient, information (unnormalised: ×S) at β = (b0, b)
    let objective = |beta: &[f64]| -> f64 {
        let sum: f64 = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|k| {
                let (a, b) = (k * BLOCK, ((k + 1) * BLOCK).min(n));
                (a..b)
                    .map(|i| {
                        let e = eta_slice(beta[0], &beta[1..], x_row(i));
                        w[i] * (e.exp() - y[i] * e)
                    })
                    .sum::<f64>()
            })
            .collect::<Vec<_>>()
            .iter()
            .sum();
        sum / s + 0.5 * alpha * beta[1..].iter().map(|v| v * v).sum::<f64>()
    };
    let moments = |beta: &[f64]| -> (Vec<f64>, Vec<f64>) {
        // gradient of the log-likelihood part (×S) and the upper triangle of XᵀWX
        let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|k| {
                let (a, b) = (k * BLOCK, ((k + 1) * BLOCK).min(n));
                let mut g = vec![0.0; q];
                let mut h = vec![0.0; q * q];
                let mut row = vec![0.0; q];
                row[0] = 1.0;
                for i in a..b {
                    let r = x_row(i);
                    row[1..].copy_from_slice(r);
                    let mu = eta_slice(beta[0], &beta[1..], r).exp();
                    let (gi, hi) = (w[i] * (mu - y[i]), w[i] * mu);
                    for j in 0..q {
                        let rj = row[j];
                        g[j] += gi * rj;
                        let hj = hi * rj;
                        for (hv, rl) in h[j * q + j..(j + 1) * q].iter_mut().zip(&row[j..]) {
                            *hv += hj * rl;
                        }
                    }
                }
                (g, h)
            })
            .collect();
        let mut g = vec![0.0; q];
        let mut h = vec![0.0; q * q];
        for (pg, ph) in parts {
            g.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
            h.iter_mut().zip(ph).for_each(|(a, b)| *a += b);
        }
        for j in 0..q {
            for l in 0..j {
                h[j * q + l] = h[l * q + j];
            }
        }
        (g, h)
    };
    let singular = || {
        Error::param(
            "x",
            "the information matrix is singular: a feature is constant or a combination of \
             others; drop it or use alpha > 0",
        )
    };
    let mut beta = vec![0.0; q];
    beta[0] = ybar.ln();
    if let Some(b) = &params.start {
        if b.len() != q {
            return Err(Error::param(
                "start",
                format!(
                    "has {} entries; give the intercept then one coefficient per feature ({q})",
                    b.len()
                ),
            ));
        }
        if let Some(j) = b.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "start",
                format!("entry {j} is NaN or infinite"),
            ));
        }
        beta.copy_from_slice(b);
    }
    let mut f = objective(&beta);
    let (mut iterations, mut converged) = (0, false);
    // the information at the estimate, when the last iteration computed it there
    let mut info_at_estimate = None;
    while iterations < params.max_iter {
        iterations += 1;
        let (g, h) = moments(&beta);
        let mut grad = DVector::from_iterator(q, g.iter().map(|v| v / s));
        let mut hess = DMatrix::from_row_slice(q, q, &h) / s;
        for j in 1..q {
            grad[j] += alpha * beta[j];
            hess[(j, j)] += alpha;
        }
        let chol = checked_cholesky(hess).ok_or_else(singular)?;
        let step = chol.solve(&grad);
        let decrement = grad.dot(&step);
        if !decrement.is_finite() {
            return Err(singular());
        }
        if decrement < params.tol {
            converged = true;
            info_at_estimate = Some(h);
            break;
        }
        if decrement < 1e-8 {
            // inside the region of quadratic convergence: full Newton steps (a line search
            // would compare objective values that differ below rounding)
            for (b, d) in beta.iter_mut().zip(step.iter()) {
                *b -= d;
            }
            f = objective(&beta);
            continue;
        }
        // backtracking line search (Armijo)
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..50 {
            let cand: Vec<f64> = beta
                .iter()
                .zip(step.iter())
                .map(|(b, d)| b - t * d)
                .collect();
            let fc = objective(&cand);
            if fc.is_finite() && fc <= f - 1e-4 * t * decrement {
                beta = cand;
                f = fc;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    // covariance at the estimate
    let h = match info_at_estimate {
        Some(h) => h,
        None => moments(&beta).1,
    };
    let info = DMatrix::from_row_slice(q, q, &h);
    let mut pen = info.clone();
    for j in 1..q {
        pen[(j, j)] += alpha * s;
    }
    let pinv = checked_cholesky(pen).ok_or_else(singular)?.inverse();
    let cov = &pinv * &info * &pinv;
    let (mut dev, mut pearson, mut null_dev) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let mu = eta_slice(beta[0], &beta[1..], x_row(i)).exp();
        dev += w[i] * unit_deviance(y[i], mu);
        pearson += w[i] * (y[i] - mu).powi(2) / mu;
        null_dev += w[i] * unit_deviance(y[i], ybar);
    }
    let phi = match params.dispersion {
        Dispersion::Fixed => 1.0,
        Dispersion::Pearson => pearson / (s - q as f64),
    };
    let se: Vec<f64> = (0..q)
        .map(|j| (phi * cov[(j, j)]).max(0.0).sqrt())
        .collect();
    Ok(PoissonFit {
        intercept: beta[0],
        coef: beta[1..].to_vec(),
        se_intercept: se[0],
        se: se[1..].to_vec(),
        dispersion: phi,
        dispersion_rule: params.dispersion,
        iterations,
        converged,
        deviance: dev,
        null_deviance: null_dev,
        n: s,
        alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn fixed(alpha: f64) -> PoissonParams {
        PoissonParams {
            alpha,
            dispersion: Dispersion::Fixed,
            ..PoissonParams::default()
        }
    }

    #[test]
    fn two_groups_closed_form() {
        // group 0: 8 rows, 12 incidents; group 1: 4 rows, 18 incidents
        let x = Array2::from_shape_fn((12, 1), |(i, _)| if i < 8 { 0.0 } else { 1.0 });
        let y = [1.0, 2.0, 1.0, 3.0, 0.0, 2.0, 1.0, 2.0, 5.0, 4.0, 6.0, 3.0];
        let f = fit_poisson(x.view(), &y, None, &fixed(0.0)).unwrap();
        assert!(f.converged);
        assert!((f.intercept - 1.5f64.ln()).abs() < 1e-10);
        assert!((f.coef[0] - (4.5f64 / 1.5).ln()).abs() < 1e-10);
        // Var β₁ = 1/Y₀ + 1/Y₁, Var β₀ = 1/Y₀
        assert!((f.se[0] - (1.0 / 12.0 + 1.0 / 18.0f64).sqrt()).abs() < 1e-9);
        assert!((f.se_intercept - (1.0 / 12.0f64).sqrt()).abs() < 1e-9);
        // Pearson φ: Σ (y − μ)²/μ / (n − 2)
        let p = fit_poisson(
            x.view(),
            &y,
            None,
            &PoissonParams {
                alpha: 0.0,
                ..PoissonParams::default()
            },
        )
        .unwrap();
        let chi2: f64 = y[..8]
            .iter()
            .map(|v| (v - 1.5f64).powi(2) / 1.5)
            .sum::<f64>()
            + y[8..]
                .iter()
                .map(|v| (v - 4.5f64).powi(2) / 4.5)
                .sum::<f64>();
        assert!((p.dispersion - chi2 / 10.0).abs() < 1e-9);
        assert!((p.se[0] - f.se[0] * p.dispersion.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn warm_start_reaches_the_same_optimum_in_fewer_iterations() {
        // three correlated features, counts from a known log-linear rate (a small LCG for the
        // Poisson draws by inversion)
        let n = 3000;
        let mut s: u64 = 7;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let x = Array2::from_shape_fn((n, 3), |(i, j)| ((i * (j + 3)) % 11) as f64 / 5.0);
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let mu = (-1.0 + 0.3 * x[(i, 0)] - 0.2 * x[(i, 1)] + 0.1 * x[(i, 2)]).exp();
                let (mut k, mut p, mut c, v) = (0.0, (-mu).exp(), (-mu).exp(), u());
                while v > c && k < 50.0 {
                    k += 1.0;
                    p *= mu / k;
                    c += p;
                }
                k
            })
            .collect();
        let cold = fit_poisson(x.view(), &y, None, &fixed(1e-2)).unwrap();
        let near = fit_poisson(x.view(), &y, None, &fixed(1e-3)).unwrap();
        let mut start = vec![near.intercept];
        start.extend(&near.coef);
        let warm = fit_poisson(
            x.view(),
            &y,
            None,
            &PoissonParams {
                start: Some(start),
                ..fixed(1e-2)
            },
        )
        .unwrap();
        assert!(cold.converged && warm.converged);
        assert!(
            warm.iterations < cold.iterations,
            "{} vs {}",
            warm.iterations,
            cold.iterations
        );
        // both stop when the Newton decrement gᵀH⁻¹g < 1e-16, so each is within ~1e-8 (in the
        // Hessian's norm) of the optimum: coefficients of order 0.1–1 agree to 1e-7
        assert!((warm.intercept - cold.intercept).abs() < 1e-7);
        for (a, b) in warm.coef.iter().zip(&cold.coef) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        for bad in [vec![0.0; 3], vec![0.0, f64::NAN, 0.0, 0.0]] {
            let e = fit_poisson(
                x.view(),
                &y,
                None,
                &PoissonParams {
                    start: Some(bad),
                    ..fixed(1e-2)
                },
            )
            .unwrap_err();
            assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "start"));
        }
    }

    #[test]
    fn weights_equal_repeated_rows() {
        let x = Array2::from_shape_vec((3, 1), vec![0.0, 1.0, 2.0]).unwrap();
        let y = [1.0, 3.0, 4.0];
        let w = [2.0, 1.0, 3.0];
        let f = fit_poisson(x.view(), &y, Some(&w), &fixed(0.01)).unwrap();
        let xr = Array2::from_shape_vec((6, 1), vec![0.0, 0.0, 1.0, 2.0, 2.0, 2.0]).unwrap();
        let yr = [1.0, 1.0, 3.0, 4.0, 4.0, 4.0];
        let g = fit_poisson(xr.view(), &yr, None, &fixed(0.01)).unwrap();
        assert!((f.coef[0] - g.coef[0]).abs() < 1e-10);
        assert!((f.se[0] - g.se[0]).abs() < 1e-10);
    }

    #[test]
    fn penalty_shrinks_towards_zero() {
        let x = Array2::from_shape_fn((40, 1), |(i, _)| (i % 4) as f64);
        let y: Vec<f64> = (0..40).map(|i| (1 + i % 4) as f64).collect();
        let a = fit_poisson(x.view(), &y, None, &fixed(0.0)).unwrap();
        let b = fit_poisson(x.view(), &y, None, &fixed(1.0)).unwrap();
        assert!(b.coef[0].abs() < a.coef[0].abs());
        assert!(b.deviance >= a.deviance);
    }

    #[test]
    fn bad_inputs() {
        let x = Array2::from_shape_fn((5, 1), |(i, _)| i as f64);
        let e = fit_poisson(x.view(), &[0.0; 5], None, &fixed(0.0)).unwrap_err();
        assert!(e.to_string().contains("no incidents"), "{e}");
        let e = fit_poisson(x.view(), &[1.0; 4], None, &fixed(0.0)).unwrap_err();
        assert!(e.to_string().contains("`y`"), "{e}");
        let e = fit_poisson(x.view(), &[1.0, -1.0, 1.0, 1.0, 1.0], None, &fixed(0.0)).unwrap_err();
        assert!(e.to_string().contains("column `y`"), "{e}");
        let e = fit_poisson(x.view(), &[1.0; 5], None, &fixed(f64::NAN)).unwrap_err();
        assert!(e.to_string().contains("alpha"), "{e}");
        let c = Array2::from_elem((5, 1), 1.0); // a constant column duplicates the intercept
        let e = fit_poisson(c.view(), &[1.0, 2.0, 1.0, 2.0, 1.0], None, &fixed(0.0)).unwrap_err();
        assert!(e.to_string().contains("singular"), "{e}");
        let mut nan = x.clone();
        nan[[2, 0]] = f64::NAN;
        let e = fit_poisson(nan.view(), &[1.0; 5], None, &fixed(0.0)).unwrap_err();
        assert!(e.to_string().contains("row 2"), "{e}");
    }
}
