//! Python bindings (`placewise._native`). The only place that names pyo3.
//!
//! Thin by design: extract inputs into owned Rust values while holding the GIL, release it for
//! the computation ([`utils::detached`]), convert back. Errors are mapped in one place
//! ([`error`]).

use pyo3::prelude::*;

mod allocate;
mod audit;
mod data;
mod error;
mod evaluate;
mod feedback;
mod gate;
mod limits;
mod models;
mod oversight;
mod provenance;
mod report;
mod results;
mod risk_factors;
mod sepp;
mod space;
mod stat_results;
mod stats;
mod surface;
mod utils;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    data::register(m)?;
    space::register(m)?;
    surface::register(m)?;
    models::register(m)?;
    sepp::register(m)?;
    stats::register(m)?;
    evaluate::register(m)?;
    allocate::register(m)?;
    audit::register(m)?;
    oversight::register(m)?;
    results::register(m)?;
    stat_results::register(m)?;
    gate::register(m)?;
    feedback::register(m)?;
    report::register(m)?;
    risk_factors::register(m)?;
    provenance::register(m)?;
    limits::register(m)?;
    // pyo3 keeps an `__all__`; this private module does not need one, and without it the
    // hand-written stub need not repeat every name.
    m.delattr("__all__")?;
    Ok(())
}
