//! Helpers shared by every binding: releasing the GIL for long calls, numpy conversion.

use numpy::ndarray::{Array1, ArrayView1};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

/// What `__reduce__` returns: a constructor and its arguments.
pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>);

/// Runs `f` with the GIL released and converts its error; then checks for Ctrl-C so that a
/// long call can be interrupted between steps. Every call that can take more than a
/// millisecond goes through here.
pub(crate) fn detached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> crate::Result<T> + Send,
{
    let out = py.detach(f)?;
    py.check_signals()?;
    Ok(out)
}

/// A 1-d float array as an owned vector (a copy; zero-copy slices are used where the data need
/// not outlive the call).
pub(crate) fn to_vec_f64(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().to_vec(),
    }
}

/// Length check for paired arrays, naming both.
pub(crate) fn same_len(a: &str, la: usize, b: &str, lb: usize) -> crate::Result<()> {
    if la != lb {
        return Err(crate::Error::param(
            format!("{a}, {b}"),
            format!("must have the same length, got {la} and {lb}"),
        ));
    }
    Ok(())
}

/// A read-only numpy view of `data`, kept alive by `owner` (no copy).
///
/// SAFETY (upheld by callers): `data` is owned, directly or through an `Arc`, by the frozen
/// pyclass `owner`, and is never mutated or reallocated while `owner` lives.
pub(crate) fn readonly_view<'py, T: numpy::Element>(
    data: &[T],
    owner: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<T>>> {
    let view: ArrayView1<'_, T> = ArrayView1::from(data);
    // SAFETY: see the function's contract.
    let arr = unsafe { PyArray1::borrow_from_array(&view, owner) };
    arr.call_method1("setflags", (false,))?;
    Ok(arr)
}

/// A new numpy array that takes ownership of `v` (no copy).
pub(crate) fn owned<T: numpy::Element>(py: Python<'_>, v: Vec<T>) -> Bound<'_, PyArray1<T>> {
    PyArray1::from_owned_array(py, Array1::from(v))
}
