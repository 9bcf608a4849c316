//! Bindings for `crate::audit`: disparity, concentration, the Ensign urn, audit policy.
//!
//! Disparity and concentration return the typed result classes of `results.rs`, the urn that of
//! `stat_results.rs`; policy checks take the typed `AuditSummary`. The Python layer
//! (`placewise.audit`) builds DataFrames from them.

use std::sync::Arc;

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::audit::{
    concentration as core_concentration, disparity as core_disparity, ensign_urn as core_urn,
    AuditPolicy, ConcentrationParams, DisparityInput, DisparityParams, EnsignParams, Reference,
    Update,
};
use crate::python::results::{PyAuditSummary, PyConcentration, PyDisparity};
use crate::python::stat_results::PyEnsign;
use crate::python::utils::detached;
use crate::Error;

fn to_json<T: serde::Serialize>(v: &T) -> crate::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::param("result", e.to_string()))
}

/// Disparity audit.
#[pyfunction]
#[pyo3(signature = (dose, population, groups, reference="majority", tau=0.8, bootstrap=1000,
                    confidence=0.95, seed=0, incidents=None, need=None))]
#[allow(clippy::too_many_arguments)]
fn disparity(
    py: Python<'_>,
    dose: PyReadonlyArray1<'_, f64>,
    population: PyReadonlyArray2<'_, f64>,
    groups: Vec<String>,
    reference: &str,
    tau: f64,
    bootstrap: usize,
    confidence: f64,
    seed: u64,
    incidents: Option<PyReadonlyArray1<'_, f64>>,
    need: Option<PyReadonlyArray1<'_, f64>>,
) -> PyResult<PyDisparity> {
    let dose = dose.as_array().to_vec();
    let pop = population.as_array().to_owned();
    let inc = incidents.map(|a| a.as_array().to_vec());
    let need = need.map(|a| a.as_array().to_vec());
    let params = DisparityParams {
        reference: Reference::parse(reference),
        tau,
        bootstrap,
        confidence,
        seed,
    };
    detached(py, move || {
        let input = DisparityInput {
            dose: &dose,
            population: pop.view(),
            groups: &groups,
            incidents: inc.as_deref(),
            need: need.as_deref(),
        };
        core_disparity(&input, &params)
    })
    .map(PyDisparity::new)
}

/// Concentration audit.
#[pyfunction]
#[pyo3(signature = (dose, active, areas=None, unit=1.0, simulations=999, confidence=0.95, seed=0))]
#[allow(clippy::too_many_arguments)]
fn concentration(
    py: Python<'_>,
    dose: PyReadonlyArray1<'_, f64>,
    active: PyReadonlyArray1<'_, bool>,
    areas: Option<PyReadonlyArray1<'_, i64>>,
    unit: f64,
    simulations: usize,
    confidence: f64,
    seed: u64,
) -> PyResult<PyConcentration> {
    let dose = dose.as_array().to_vec();
    let active = active.as_array().to_vec();
    let areas = areas.map(|a| a.as_array().to_vec());
    let params = ConcentrationParams {
        unit,
        simulations,
        confidence,
        seed,
    };
    detached(py, move || {
        core_concentration(&dose, &active, areas.as_deref(), &params)
    })
    .map(PyConcentration::new)
}

/// The Ensign et al. (2018) urn.
#[pyfunction]
#[pyo3(signature = (rates, prior, draws=1000, runs=200, update="discovered", reported_share=0.5,
                    decay=0.0, correction=false, tolerance=0.02, seed=0))]
#[allow(clippy::too_many_arguments)]
fn ensign_urn(
    py: Python<'_>,
    rates: (f64, f64),
    prior: (f64, f64),
    draws: usize,
    runs: usize,
    update: &str,
    reported_share: f64,
    decay: f64,
    correction: bool,
    tolerance: f64,
    seed: u64,
) -> PyResult<PyEnsign> {
    let update = match update {
        "discovered" => Update::Discovered,
        "reported" => Update::Reported,
        "mixed" => Update::Mixed { reported_share },
        other => {
            return Err(Error::param(
                "update",
                format!("must be \"discovered\", \"reported\" or \"mixed\", got {other:?}"),
            )
            .into())
        }
    };
    let params = EnsignParams {
        rates,
        prior,
        draws,
        runs,
        update,
        decay,
        correction,
        tolerance,
        seed,
    };
    detached(py, move || core_urn(&params)).map(PyEnsign::new)
}

/// Audit policy thresholds (see `audits/policy.toml`).
#[pyclass(name = "AuditPolicy", module = "placewise._native", frozen)]
pub(crate) struct PyAuditPolicy {
    pub(crate) inner: Arc<AuditPolicy>,
}

#[pymethods]
impl PyAuditPolicy {
    /// From TOML text; unknown keys raise, naming the key. `source` says where the text came
    /// from (recorded in decisions).
    #[staticmethod]
    #[pyo3(signature = (text, source=None))]
    fn from_toml(text: &str, source: Option<String>) -> PyResult<Self> {
        let mut p = AuditPolicy::from_toml_str(text)?;
        p.source = source;
        Ok(PyAuditPolicy { inner: Arc::new(p) })
    }
    /// The policy's `name`.
    #[getter]
    fn name(&self) -> Option<String> {
        self.inner.name.clone()
    }
    /// Where the policy was read from.
    #[getter]
    fn source(&self) -> Option<String> {
        self.inner.source.clone()
    }
    /// From JSON text with the same keys.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyAuditPolicy {
            inner: Arc::new(AuditPolicy::from_json_str(text)?),
        })
    }
    /// From a TOML file.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        Ok(PyAuditPolicy {
            inner: Arc::new(AuditPolicy::from_file(path)?),
        })
    }
    /// Failed checks for a summary.
    fn check(&self, summary: PyRef<'_, PyAuditSummary>) -> Vec<String> {
        self.inner.check(&summary.inner)
    }
    /// Sections whose audit the summary lacks.
    fn missing(&self, summary: PyRef<'_, PyAuditSummary>) -> Vec<String> {
        self.inner
            .missing(&summary.inner)
            .into_iter()
            .map(String::from)
            .collect()
    }
    /// The policy as JSON.
    fn to_json(&self) -> PyResult<String> {
        Ok(to_json(&*self.inner)?)
    }
    /// Pickles as its JSON.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<crate::python::utils::Reduced<'py>> {
        Ok((
            slf.get_type().getattr("from_json")?,
            (slf.get().to_json()?,).into_pyobject(slf.py())?,
        ))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(disparity, m)?)?;
    m.add("BAND_EDGE_TOL", crate::audit::BAND_EDGE_TOL)?;
    m.add_function(wrap_pyfunction!(concentration, m)?)?;
    m.add_function(wrap_pyfunction!(ensign_urn, m)?)?;
    m.add_class::<PyAuditPolicy>()?;
    Ok(())
}
