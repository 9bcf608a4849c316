//! Python bindings (`placewise._native`). The only place that names pyo3.
//!
//! Thin by design: extract inputs into owned Rust values while holding the GIL, release it for
//! the computation ([`utils::detached`]), convert back. Errors are mapped in one place
//! ([`error`]).

use pyo3::prelude::*;

mod data;
mod error;
mod space;
mod surface;
mod utils;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    data::register(m)?;
    space::register(m)?;
    surface::register(m)?;
    Ok(())
}
