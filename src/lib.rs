//! placewise: place-based crime hotspots, patrol allocation, and built-in audits.
//!
//! The core works in metres of a projected coordinate system and in UTC seconds. It takes and
//! returns plain Rust types and `ndarray` arrays; the Python bindings (feature `python`) live in
//! `src/python/` and nothing else names pyo3.
//!
//! Modules, one line each:
#![deny(unsafe_op_in_unsafe_fn)]

/// Patrol allocation strategies and budgets.
pub mod allocate;
/// Audits: disparity, concentration, provenance of data, feedback loops, policy.
pub mod audit;
/// Numeric parameter domains of the estimators, one table each (validation and docs).
pub mod constraints;
/// Incidents table, origins, validation and the data-quality report.
pub mod data;
/// The crate's one error type, with structured variants naming the parameter, row or column.
pub mod error;
/// Evaluation metrics and rolling backtests.
pub mod evaluate;
/// Size limits checked before every parameter-dependent allocation, set in one place.
pub mod limits;
/// Hotspot and point-process models: naive, KDE, retrospective, prospective, SEPP.
pub mod models;
/// One Monte Carlo engine: seeded parallel simulations, the `+1` rule and sidedness.
pub mod montecarlo;
/// Hash-chained run log.
pub mod provenance;
/// Schema-versioned report structs.
pub mod report;
/// The crate's one random number generator (ChaCha8) with per-task streams.
pub mod rng;
/// Study region, square grid with mask, areal weights and population by cell.
pub mod space;
/// Spatial statistics: Gi*, emerging hot spots, Knox, multiple-testing corrections.
pub mod stats;
/// A risk value per grid cell, with the model, parameters and window it came from.
pub mod surface;

/// Python bindings (feature `python`); the only module that names pyo3.
#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use surface::Surface;

/// The library version, from Cargo (the Python package reads it from here too).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
