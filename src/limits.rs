//! Size limits, in one place.
//!
//! Every allocation whose size follows from a parameter (a grid's cells, a binned KDE's FFT
//! lattice, population cells × groups, a bootstrap matrix, a Knox pair list, backtest origins)
//! is sized against these limits *before* anything is allocated, and refused with
//! [`Error::TooLarge`] naming the parameter, the size requested and the limit. A refusal is an
//! ordinary error the caller can handle; an allocation that fails aborts the process.
//!
//! The limits are process-wide: [`get`] reads them, [`set`] replaces them (from Python:
//! `placewise.limits()` and `placewise.set_limits(...)`). Raise a limit only on a machine with
//! the memory for it; each field's documentation gives the memory it stands for.
//!
//! # Examples
//! ```
//! use placewise::limits::{self, Limits};
//! let before = limits::get();
//! assert_eq!(before.max_grid_cells, Limits::default().max_grid_cells);
//! limits::set(Limits { max_grid_cells: 1_000, ..before }).unwrap();
//! assert!(limits::check("cell_size", "grid cells", 2_000, limits::get().max_grid_cells).is_err());
//! limits::set(before).unwrap();
//! ```

use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The size limits in force. Every field is a count of elements (cells, nodes, values, pairs,
/// origins), not bytes; the documentation of each says what it costs in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Cells of a grid, active or not (default 25 million: about 230 MB for the grid's
    /// coverage and mask, 200 MB per `f64` surface; such a grid builds in a few seconds).
    pub max_grid_cells: u64,
    /// Nodes of a binned KDE's FFT lattice (default 2²⁶ ≈ 67 million: about 3 GB at the peak
    /// of the convolution, which holds about 5 arrays of 8 bytes per node).
    pub max_fft_nodes: u64,
    /// Values of a dense result matrix: population cells × groups, bootstrap resamples ×
    /// statistics (default 100 million `f64`: 800 MB).
    pub max_matrix_values: u64,
    /// Pairs of incidents held in a Knox pair list (default 250 million: 1 GB of `u32`).
    pub max_pairs: u64,
    /// Rolling-origin backtest origins (default 5,000: about 96 years of weekly origins, 14
    /// years of daily ones); each origin refits every model.
    pub max_backtest_origins: u64,
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        max_grid_cells: 25_000_000,
        max_fft_nodes: 1 << 26,
        max_matrix_values: 100_000_000,
        max_pairs: 250_000_000,
        max_backtest_origins: 5_000,
    };

    /// `(name, value)` of every limit, in declaration order.
    pub fn fields(&self) -> [(&'static str, u64); 5] {
        [
            ("max_grid_cells", self.max_grid_cells),
            ("max_fft_nodes", self.max_fft_nodes),
            ("max_matrix_values", self.max_matrix_values),
            ("max_pairs", self.max_pairs),
            ("max_backtest_origins", self.max_backtest_origins),
        ]
    }

    /// A copy with the limit called `name` set to `value`; an unknown name or a zero value is
    /// refused.
    pub fn with(mut self, name: &str, value: u64) -> Result<Self> {
        if value == 0 {
            return Err(Error::param(name, "a limit must be at least 1"));
        }
        let slot = match name {
            "max_grid_cells" => &mut self.max_grid_cells,
            "max_fft_nodes" => &mut self.max_fft_nodes,
            "max_matrix_values" => &mut self.max_matrix_values,
            "max_pairs" => &mut self.max_pairs,
            "max_backtest_origins" => &mut self.max_backtest_origins,
            other => {
                let known: Vec<&str> = self.fields().iter().map(|f| f.0).collect();
                return Err(Error::param(
                    other,
                    format!("unknown limit; the limits are {}", known.join(", ")),
                ));
            }
        };
        *slot = value;
        Ok(self)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static LIMITS: RwLock<Limits> = RwLock::new(Limits::DEFAULT);

/// The limits in force.
pub fn get() -> Limits {
    // A poisoned lock still holds a valid `Limits` (it is `Copy` and written whole).
    *LIMITS.read().unwrap_or_else(|e| e.into_inner())
}

/// Replaces the limits in force (process-wide); every limit must be at least 1.
pub fn set(limits: Limits) -> Result<()> {
    for (name, v) in limits.fields() {
        if v == 0 {
            return Err(Error::param(name, "a limit must be at least 1"));
        }
    }
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = limits;
    Ok(())
}

/// Refuses `requested > limit` with [`Error::TooLarge`] naming `param` (the parameter that
/// sets the size) and `what` (what would be allocated).
pub fn check(param: &str, what: &str, requested: u64, limit: u64) -> Result<()> {
    if requested > limit {
        return Err(Error::too_large(param, what, requested, limit));
    }
    Ok(())
}

/// [`check`] for a size computed in floating point (products of parameters that may overflow
/// or be infinite): non-finite and huge sizes are refused as `u64::MAX`.
pub fn check_f64(param: &str, what: &str, requested: f64, limit: u64) -> Result<()> {
    if requested.is_nan() || requested > limit as f64 {
        let r = if requested.is_finite() && requested >= 0.0 {
            requested.min(u64::MAX as f64) as u64
        } else {
            u64::MAX
        };
        return Err(Error::too_large(
            param,
            what,
            r.max(limit.saturating_add(1)),
            limit,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_param_size_and_limit() {
        let e = check("bandwidth", "FFT lattice nodes", 10, 5).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("`bandwidth`") && s.contains("10") && s.contains('5'),
            "{s}"
        );
        assert!(check("bandwidth", "x", 5, 5).is_ok());
        for v in [f64::NAN, f64::INFINITY, 1e30, 6.0] {
            assert!(matches!(
                check_f64("cutoff", "x", v, 5),
                Err(Error::TooLarge { .. })
            ));
        }
        assert!(check_f64("cutoff", "x", 5.0, 5).is_ok());
    }

    #[test]
    fn with_refuses_unknown_names_and_zero() {
        let l = Limits::default();
        assert_eq!(l.with("max_pairs", 7).unwrap().max_pairs, 7);
        assert!(l.with("max_pairs", 0).is_err());
        let e = l.with("max_cells", 7).unwrap_err().to_string();
        assert!(e.contains("max_grid_cells"), "{e}");
    }
}
