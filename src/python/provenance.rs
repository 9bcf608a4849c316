//! Bindings for `crate::provenance`: the run log and input/output digests.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;

use crate::provenance::{hash_f64_array as core_hash_array, hash_incidents as core_hash_inc};
use crate::provenance::{hash_json as core_hash_json, RunLog};
use crate::provenance::{key_pair_pem, signing_key_from_text, verifying_key_from_text};
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

type VerifyTuple = (usize, String, usize, usize);

fn tuple(v: crate::provenance::Verification) -> VerifyTuple {
    (v.records, v.head, v.checkpoints, v.signed_records)
}

#[pymethods]
impl PyRunLog {
    #[new]
    #[pyo3(signature = (path, signing_key=None, checkpoint_every=None))]
    fn new(
        path: std::path::PathBuf,
        signing_key: Option<&str>,
        checkpoint_every: Option<usize>,
    ) -> PyResult<Self> {
        let log = RunLog::new(path);
        let inner = match (signing_key, checkpoint_every) {
            (Some(k), Some(n)) => log.with_checkpoints(n, signing_key_from_text(k)?)?,
            (None, None) => log,
            (None, Some(_)) => {
                return Err(Error::param(
                    "checkpoint_every",
                    "needs a signing_key (the checkpoints are signed with it)",
                )
                .into())
            }
            (Some(_), None) => {
                return Err(Error::param(
                    "signing_key",
                    "give checkpoint_every too, or sign on demand with checkpoint()",
                )
                .into())
            }
        };
        Ok(PyRunLog { inner })
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
    /// (records, head, checkpoints, signed_records); raises LogVerificationError naming the
    /// first bad record, or where the anchor no longer holds.
    #[pyo3(signature = (expected_head=None, expected_records=None))]
    fn verify(
        &self,
        py: Python<'_>,
        expected_head: Option<String>,
        expected_records: Option<usize>,
    ) -> PyResult<VerifyTuple> {
        let log = self.inner.clone();
        detached(py, move || {
            log.verify_anchored(expected_head.as_deref(), expected_records)
                .map(tuple)
        })
    }
    /// Verifies the chain and every checkpoint against the given public keys (PEM or hex).
    fn verify_signed(&self, py: Python<'_>, public_keys: Vec<String>) -> PyResult<VerifyTuple> {
        let keys = public_keys
            .iter()
            .map(|k| verifying_key_from_text(k))
            .collect::<crate::Result<Vec<_>>>()?;
        let log = self.inner.clone();
        detached(py, move || log.verify_signed(&keys).map(tuple))
    }
    /// Appends a signed checkpoint now; returns it as JSON.
    fn checkpoint(&self, py: Python<'_>, signing_key: &str) -> PyResult<String> {
        let key = signing_key_from_text(signing_key)?;
        let log = self.inner.clone();
        detached(py, move || {
            let c = log.checkpoint(&key)?;
            serde_json::to_string(&c).map_err(|e| Error::param("checkpoint", e.to_string()))
        })
    }
    /// The verified records as a JSON array.
    fn records(&self, py: Python<'_>) -> PyResult<String> {
        let log = self.inner.clone();
        detached(py, move || {
            let r = log.records()?;
            serde_json::to_string(&r).map_err(|e| Error::param("records", e.to_string()))
        })
    }
    /// Moves everything from the first bad record to the quarantine file; returns the bytes
    /// moved.
    fn repair(&self, py: Python<'_>) -> PyResult<usize> {
        let log = self.inner.clone();
        detached(py, move || log.repair())
    }
    /// Where repair() moves damaged records.
    #[getter]
    fn quarantine_path(&self) -> String {
        self.inner.quarantine_path().display().to_string()
    }
}

/// PKCS#8 PEM private key and SPKI PEM public key for a 32-byte Ed25519 seed.
#[pyfunction]
fn ed25519_key_pair_pem(seed: &[u8]) -> PyResult<(String, String)> {
    Ok(key_pair_pem(seed)?)
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
    m.add_function(wrap_pyfunction!(ed25519_key_pair_pem, m)?)?;
    Ok(())
}
