//! Bindings for `crate::surface`: surfaces are passed to Python as (ny, nx) numpy arrays that
//! own their data (moved, not copied, out of the core's `ndarray`).

use pyo3::prelude::*;

pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
