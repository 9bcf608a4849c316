//! Bindings for `crate::report`.

use pyo3::prelude::*;

/// Checks a report JSON document against the schema; returns it re-serialised.
#[pyfunction]
fn report_normalise(py: Python<'_>, json: String) -> PyResult<String> {
    crate::python::utils::detached(py, move || crate::report::normalise(&json))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(report_normalise, m)?)?;
    m.add("REPORT_SCHEMA", crate::report::SCHEMA)?;
    Ok(())
}
