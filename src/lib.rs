//! placewise: place-based crime hotspots, patrol allocation, and built-in audits.
//!
//! The core works in metres of a projected coordinate system and in UTC seconds. It takes and
//! returns plain Rust types and `ndarray` arrays; the Python bindings (feature `python`) live in
//! `src/python/` and nothing else names pyo3.
//!
//! Modules, one line each:
#![deny(unsafe_op_in_unsafe_fn)]

/// Incidents table, origins, validation and the data-quality report.
pub mod data;
/// The crate's one error type, with structured variants naming the parameter, row or column.
pub mod error;
/// Study region, square grid with mask, areal weights and population by cell.
pub mod space;
/// A risk value per grid cell, with the model, parameters and window it came from.
pub mod surface;

/// Python bindings (feature `python`); the only module that names pyo3.
#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use surface::Surface;

/// The library version, from Cargo (the Python package reads it from here too).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
