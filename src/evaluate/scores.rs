//! Probabilistic scores of a forecast of expected counts per cell: Poisson log-likelihood and
//! deviance, the Brier score of "at least one incident", and a calibration table by decile.
//!
//! PAI and PEI* only judge the ranking of cells; these scores judge the counts themselves, so
//! they are defined only for models whose values are expected incidents per cell over the test
//! window (Gneiting & Raftery 2007, *JASA* 102:359–378, on proper scoring rules; the Poisson
//! deviance as in McCullagh & Nelder 1989, *Generalized Linear Models*, § 6.2).
//!
//! # Examples
//! ```
//! use placewise::space::Grid;
//! use placewise::evaluate::probabilistic_scores;
//! let grid = Grid::from_extent(0.0, 0.0, 1.0, 2, 1).unwrap();
//! let s = probabilistic_scores(&grid, &[1.0, 2.0], &[0.0, 2.0], 0.0).unwrap();
//! // log P(0 | 1) + log P(2 | 2) = −1 + (2 ln 2 − 2 − ln 2)
//! assert!((s.log_likelihood - (-3.0 + 2f64.ln())).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use crate::error::{Error, Result};
use crate::evaluate::metrics::rank;
use crate::space::Grid;

/// Scores of one forecast of expected counts against the observed counts of one test window,
/// summed over the grid's active cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbabilisticScores {
    /// Active cells scored.
    pub cells: usize,
    /// Σ expected counts (after the floor).
    pub expected_total: f64,
    /// Σ observed counts.
    pub observed_total: f64,
    /// Σ log P(y | μ) under a Poisson law with mean μ (higher is better; −∞ when a cell with
    /// incidents was given μ = 0 and no floor).
    pub log_likelihood: f64,
    /// Poisson deviance 2 Σ [y ln(y/μ) − (y − μ)] (lower is better; 0 for a perfect forecast).
    pub deviance: f64,
    /// Mean over active cells of (P(N ≥ 1) − 1[y ≥ 1])², P(N ≥ 1) = 1 − e^{−μ} (lower is better).
    pub brier: f64,
    /// The floor applied to expected counts (μ ← max(μ, floor)).
    pub floor: f64,
    /// Active cells whose expected count was raised to the floor.
    pub floored_cells: usize,
}

/// One bin of a calibration table: cells grouped by their expected count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// 0-based bin, from the lowest expected counts to the highest.
    pub bin: usize,
    /// Cells in the bin.
    pub cells: usize,
    /// Smallest and largest expected count in the bin.
    pub predicted_min: f64,
    /// Largest expected count in the bin.
    pub predicted_max: f64,
    /// Σ expected counts in the bin.
    pub predicted_total: f64,
    /// Σ observed counts in the bin.
    pub observed_total: f64,
}

fn check(grid: &Grid, expected: &[f64], observed: &[f64]) -> Result<Vec<usize>> {
    let n = grid.n_cells();
    for (name, len) in [("expected", expected.len()), ("observed", observed.len())] {
        if len != n {
            return Err(Error::param(
                name,
                format!("has {len} entries but the grid has {n} cells"),
            ));
        }
    }
    if let Some(i) = expected.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::data(
            Some(i),
            "expected",
            format!(
                "expected counts must be finite and >= 0, got {} (row is the cell id)",
                expected[i]
            ),
        ));
    }
    if let Some(i) = observed.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::data(
            Some(i),
            "observed",
            format!(
                "observed counts must be finite and >= 0, got {} (row is the cell id)",
                observed[i]
            ),
        ));
    }
    let ids = grid.active_ids();
    if ids.is_empty() {
        return Err(Error::empty("grid has no active cells"));
    }
    Ok(ids)
}

/// Poisson log-likelihood, deviance and Brier score of `expected` (expected incidents per cell
/// over the test window) against `observed` counts, over the active cells.
///
/// `floor` (≥ 0) raises every expected count below it to it, so that a cell forecast at zero
/// that then sees an incident costs a finite amount; the number of floored cells is reported.
/// Observed counts may be fractional (weighted incidents): ln Γ(y + 1) generalises y!.
///
/// Errors: lengths other than the grid's cell count, non-finite or negative values, a
/// negative or non-finite floor, a grid with no active cell.
pub fn probabilistic_scores(
    grid: &Grid,
    expected: &[f64],
    observed: &[f64],
    floor: f64,
) -> Result<ProbabilisticScores> {
    if !(floor.is_finite() && floor >= 0.0) {
        return Err(Error::param(
            "floor",
            format!("must be finite and >= 0, got {floor}"),
        ));
    }
    let ids = check(grid, expected, observed)?;
    let (mut ll, mut dev, mut brier, mut mu_tot, mut y_tot) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut floored = 0usize;
    for &i in &ids {
        let y = observed[i];
        let mut mu = expected[i];
        if mu < floor {
            mu = floor;
            floored += 1;
        }
        mu_tot += mu;
        y_tot += y;
        // log P(y | mu) = y ln mu − mu − ln Γ(y + 1), with 0 · ln 0 = 0
        let ylogmu = if y > 0.0 {
            if mu > 0.0 {
                y * mu.ln()
            } else {
                f64::NEG_INFINITY
            }
        } else {
            0.0
        };
        ll += ylogmu - mu - ln_gamma(y + 1.0);
        let ylogy = if y > 0.0 {
            if mu > 0.0 {
                y * (y / mu).ln()
            } else {
                f64::INFINITY
            }
        } else {
            0.0
        };
        dev += 2.0 * (ylogy - (y - mu));
        let p = -(-mu).exp_m1();
        let o = if y >= 1.0 { 1.0 } else { 0.0 };
        brier += (p - o) * (p - o);
    }
    Ok(ProbabilisticScores {
        cells: ids.len(),
        expected_total: mu_tot,
        observed_total: y_tot,
        log_likelihood: ll,
        deviance: dev,
        brier: brier / ids.len() as f64,
        floor,
        floored_cells: floored,
    })
}

/// Calibration table: active cells ranked by expected count (ties by the lower cell id, as in
/// every placewise ranking) and cut into `bins` groups of equal cell count (the first
/// `cells % bins` groups get one cell more), from the lowest forecasts to the highest. A
/// calibrated forecast has `observed_total ≈ predicted_total` in every bin.
///
/// Errors: as [`probabilistic_scores`], and `bins` of 0 or more than the active cells.
pub fn calibration(
    grid: &Grid,
    expected: &[f64],
    observed: &[f64],
    bins: usize,
) -> Result<Vec<CalibrationBin>> {
    let ids = check(grid, expected, observed)?;
    if bins == 0 || bins > ids.len() {
        return Err(Error::param(
            "bins",
            format!(
                "must be between 1 and the {} active cells, got {bins}",
                ids.len()
            ),
        ));
    }
    let mut order = rank(grid, expected);
    order.reverse(); // lowest first
    let n = order.len();
    let (base, extra) = (n / bins, n % bins);
    let mut out = Vec::with_capacity(bins);
    let mut start = 0;
    for b in 0..bins {
        let len = base + usize::from(b < extra);
        let cells = &order[start..start + len];
        start += len;
        let (mut lo, mut hi, mut pt, mut ot) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0);
        for &i in cells {
            lo = lo.min(expected[i]);
            hi = hi.max(expected[i]);
            pt += expected[i];
            ot += observed[i];
        }
        out.push(CalibrationBin {
            bin: b,
            cells: len,
            predicted_min: lo,
            predicted_max: hi,
            predicted_total: pt,
            observed_total: ot,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Grid {
        Grid::from_extent(0.0, 0.0, 1.0, n, 1).unwrap()
    }

    #[test]
    fn hand_computed_scores() {
        // mu = (0.5, 2, 1), y = (0, 3, 1)
        let g = grid(3);
        let s = probabilistic_scores(&g, &[0.5, 2.0, 1.0], &[0.0, 3.0, 1.0], 0.0).unwrap();
        // log-lik: (−0.5) + (3 ln 2 − 2 − ln 6) + (0 − 1 − 0)
        let ll = -0.5 + (3.0 * 2f64.ln() - 2.0 - 6f64.ln()) - 1.0;
        assert!(
            (s.log_likelihood - ll).abs() < 1e-12,
            "{}",
            s.log_likelihood
        );
        // deviance: 2[(0 − (0 − 0.5)) + (3 ln 1.5 − 1) + (0 − 0)]
        let dev = 2.0 * (0.5 + (3.0 * 1.5f64.ln() - 1.0));
        assert!((s.deviance - dev).abs() < 1e-12);
        // Brier: p = 1 − e^{−mu}; outcomes (0, 1, 1)
        let p = |m: f64| 1.0 - (-m).exp();
        let b = (p(0.5).powi(2) + (p(2.0) - 1.0).powi(2) + (p(1.0) - 1.0).powi(2)) / 3.0;
        assert!((s.brier - b).abs() < 1e-15);
        assert_eq!((s.cells, s.floored_cells), (3, 0));
        assert_eq!((s.expected_total, s.observed_total), (3.5, 4.0));
    }

    #[test]
    fn perfect_forecast_has_zero_deviance() {
        let g = grid(4);
        let y = [0.0, 1.0, 4.0, 2.0];
        let s = probabilistic_scores(&g, &y, &y, 0.0).unwrap();
        // only the zero cell is off: mu = 0, y = 0 contributes 0
        assert!(s.deviance.abs() < 1e-12);
    }

    #[test]
    fn zero_forecast_with_an_incident_needs_the_floor() {
        let g = grid(2);
        let s = probabilistic_scores(&g, &[0.0, 1.0], &[1.0, 1.0], 0.0).unwrap();
        assert_eq!(s.log_likelihood, f64::NEG_INFINITY);
        let s = probabilistic_scores(&g, &[0.0, 1.0], &[1.0, 1.0], 0.01).unwrap();
        assert_eq!(s.floored_cells, 1);
        assert!((s.log_likelihood - ((0.01f64).ln() - 0.01 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn calibration_bins_hand_computed() {
        let g = grid(5);
        let mu = [0.1, 0.4, 0.2, 3.0, 1.0];
        let y = [0.0, 1.0, 0.0, 2.0, 2.0];
        let t = calibration(&g, &mu, &y, 2).unwrap();
        // lowest first: cells 0 (0.1), 2 (0.2), 1 (0.4) | 4 (1.0), 3 (3.0)
        assert_eq!((t[0].cells, t[1].cells), (3, 2));
        assert!((t[0].predicted_total - 0.7).abs() < 1e-12);
        assert_eq!(t[0].observed_total, 1.0);
        assert_eq!((t[0].predicted_min, t[0].predicted_max), (0.1, 0.4));
        assert_eq!((t[1].predicted_total, t[1].observed_total), (4.0, 4.0));
    }

    #[test]
    fn bad_input() {
        let g = grid(3);
        let e = probabilistic_scores(&g, &[1.0, -1.0, 1.0], &[0.0; 3], 0.0).unwrap_err();
        assert!(e.to_string().contains("expected"), "{e}");
        let e = probabilistic_scores(&g, &[1.0; 3], &[0.0, f64::NAN, 0.0], 0.0).unwrap_err();
        assert!(e.to_string().contains("observed"), "{e}");
        assert!(probabilistic_scores(&g, &[1.0; 2], &[0.0; 3], 0.0).is_err());
        for f in [-1.0, f64::NAN, f64::INFINITY] {
            let e = probabilistic_scores(&g, &[1.0; 3], &[0.0; 3], f).unwrap_err();
            assert!(e.to_string().contains("floor"), "{e}");
        }
        for b in [0, 4] {
            let e = calibration(&g, &[1.0; 3], &[0.0; 3], b).unwrap_err();
            assert!(e.to_string().contains("bins"), "{e}");
        }
    }
}
