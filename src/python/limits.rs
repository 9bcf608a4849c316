//! `limits()` / `set_limits()`: the process-wide size limits of [`crate::limits`].

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use crate::limits::{self as core, Limits};

fn as_dict<'py>(py: Python<'py>, l: &Limits) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in l.fields() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// The limits in force, as `{name: value}`.
#[pyfunction]
fn limits(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    as_dict(py, &core::get())
}

/// Replaces the limits named in `changes` (the others stay); returns the previous limits.
/// Values must be integers ≥ 1 (booleans are refused).
#[pyfunction]
fn set_limits<'py>(py: Python<'py>, changes: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let before = core::get();
    let mut next = before;
    for (k, v) in changes.iter() {
        let name: String = k.extract()?;
        if v.is_instance_of::<PyBool>() {
            return Err(crate::Error::param(name, "must be an integer, got a boolean").into());
        }
        let value: u64 = match v.extract::<i128>() {
            Ok(x) if (1..=u64::MAX as i128).contains(&x) => x as u64,
            Ok(x) => {
                return Err(crate::Error::param(
                    name,
                    format!("must be an integer from 1 to 2**64 - 1, got {x}"),
                )
                .into())
            }
            Err(_) => {
                return Err(crate::Error::param(
                    name,
                    format!("must be an integer from 1 to 2**64 - 1, got {}", v.repr()?),
                )
                .into())
            }
        };
        next = next.with(&name, value)?;
    }
    core::set(next)?;
    as_dict(py, &before)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(limits, m)?)?;
    m.add_function(wrap_pyfunction!(set_limits, m)?)?;
    Ok(())
}
