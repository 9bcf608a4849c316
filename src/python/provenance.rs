//! Bindings for `crate::provenance`: the run log and input/output digests.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

use crate::provenance::{hash_f64_array as core_hash_array, hash_incidents as core_hash_inc};
use crate::provenance::{hash_json as core_hash_json, RunLog};
use crate::python::data::PyIncidents;
use crate::python::utils::detached;
use crate::Error;

fn json_value(text: &str, what: &str) -> crate::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::param(what, format!("not valid JSON: {e}")))
}

/// A hash-chained JSONL run log.
#[pyclass(name = "RunLog", module = "placewise._native", frozen)]
pub(crate) struct PyRunLog {
    inner: RunLog,
}

#[pymethods]
impl PyRunLog {
    #[new]
    fn new(path: std::path::PathBuf) -> Self {
        PyRunLog {
            inner: RunLog::new(path),
        }
    }
    /// Appends a record given as a JSON object; returns the stored record as JSON
    /// (`{"index", "hash", "record"}`).
    fn append(&self, py: Python<'_>, record_json: &str) -> PyResult<String> {
        let v = json_value(record_json, "record")?;
        let log = self.inner.clone();
        detached(py, move || {
            let a = log.append(v)?;
            serde_json::to_string(&a).map_err(|e| Error::param("record", e.to_string()))
        })
    }
    /// (records, head digest); raises LogVerificationError naming the first bad record.
    fn verify(&self, py: Python<'_>) -> PyResult<(usize, String)> {
        let log = self.inner.clone();
        let v = detached(py, move || log.verify())?;
        Ok((v.records, v.head))
    }
    /// The verified records as a JSON array.
    fn records(&self, py: Python<'_>) -> PyResult<String> {
        let log = self.inner.clone();
        detached(py, move || {
            let r = log.records()?;
            serde_json::to_string(&r).map_err(|e| Error::param("records", e.to_string()))
        })
    }
    /// Moves a torn last record aside; returns the bytes moved.
    fn repair(&self, py: Python<'_>) -> PyResult<usize> {
        let log = self.inner.clone();
        detached(py, move || log.repair())
    }
}

/// SHA-256 of an incidents table's content.
#[pyfunction]
fn hash_incidents(py: Python<'_>, incidents: PyRef<'_, PyIncidents>) -> PyResult<String> {
    let inc = incidents.inner.clone();
    detached(py, move || Ok(core_hash_inc(&inc)))
}

/// SHA-256 of a float array (flattened in C order) with its tag and shape.
#[pyfunction]
fn hash_f64_array(
    py: Python<'_>,
    tag: &str,
    shape: Vec<usize>,
    data: PyReadonlyArray1<'_, f64>,
) -> PyResult<String> {
    let data = data.as_array().to_vec();
    let tag = tag.to_string();
    detached(py, move || core_hash_array(&tag, &shape, &data))
}

/// SHA-256 of JSON in canonical form (sorted keys).
#[pyfunction]
fn hash_json(text: &str) -> PyResult<String> {
    Ok(core_hash_json(&json_value(text, "params")?))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRunLog>()?;
    m.add_function(wrap_pyfunction!(hash_incidents, m)?)?;
    m.add_function(wrap_pyfunction!(hash_f64_array, m)?)?;
    m.add_function(wrap_pyfunction!(hash_json, m)?)?;
    Ok(())
}
