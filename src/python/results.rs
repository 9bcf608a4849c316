//! Typed, frozen, picklable result classes of the decision path: the allocation, its audits,
//! the policy decision and the override record. Each wraps the core result (`Arc`, no copy on
//! access of sub-results beyond a clone) and exposes it through getters; numpy arrays are new
//! copies. Pickling goes through `_unpickle(kind, state)` with the core value encoded as CBOR
//! (ciborium), which keeps every float (NaN included) bit for bit.

use std::sync::Arc;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::allocate::Allocation;
use crate::audit::concentration::{ConcentrationResult, Inequality};
use crate::audit::disparity::{DisparityResult, GroupRow, Verdict};
use crate::audit::gate::{AuditedAllocation, AuditedPlan, Decision, Override};
use crate::audit::policy::{AuditSummary, SkippedAudit};
use crate::python::utils::owned;
use crate::Error;

pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, (&'static str, Bound<'py, PyBytes>));

pub(crate) fn reduce<'py, T: Serialize>(
    py: Python<'py>,
    kind: &'static str,
    v: &T,
) -> PyResult<Reduced<'py>> {
    let mut buf = Vec::new();
    ciborium::into_writer(v, &mut buf)
        .map_err(|e| Error::param("state", format!("cannot encode {kind}: {e}")))?;
    let f = py.import("placewise._native")?.getattr("_unpickle")?;
    Ok((f, (kind, PyBytes::new(py, &buf))))
}

pub(crate) fn decode<T: DeserializeOwned>(kind: &str, data: &[u8]) -> crate::Result<T> {
    ciborium::from_reader(data)
        .map_err(|e| Error::param("state", format!("not a pickled {kind}: {e}")))
}

/// Rebuilds a pickled result.
#[pyfunction]
pub(crate) fn _unpickle(py: Python<'_>, kind: &str, state: &[u8]) -> PyResult<Py<PyAny>> {
    Ok(match kind {
        "AllocationResult" => Py::new(py, PyAllocation::new(decode(kind, state)?))?.into_any(),
        "DisparityResult" => Py::new(py, PyDisparity::new(decode(kind, state)?))?.into_any(),
        "DisparityGroup" => Py::new(py, PyGroupRow::new(decode(kind, state)?))?.into_any(),
        "ConcentrationResult" => {
            Py::new(py, PyConcentration::new(decode(kind, state)?))?.into_any()
        }
        "Inequality" => Py::new(py, PyInequality::new(decode(kind, state)?))?.into_any(),
        "Override" => Py::new(py, PyOverride::wrap(decode(kind, state)?))?.into_any(),
        "SkippedAudit" => Py::new(py, PySkippedAudit::new(decode(kind, state)?))?.into_any(),
        "Decision" => Py::new(py, PyDecision::new(decode(kind, state)?))?.into_any(),
        "AuditSummary" => Py::new(py, PyAuditSummary::new(decode(kind, state)?))?.into_any(),
        "AuditedAllocation" => {
            Py::new(py, PyAuditedAllocation::new(decode(kind, state)?))?.into_any()
        }
        "AuditedPlan" => Py::new(py, PyAuditedPlan::new(decode(kind, state)?))?.into_any(),
        other => match crate::python::stat_results::unpickle(py, other, state)? {
            Some(v) => v,
            None => {
                return Err(Error::param("kind", format!("unknown result kind {other:?}")).into())
            }
        },
    })
}

macro_rules! wrapper {
    ($py:ident, $name:literal, $inner:ty) => {
        #[pyclass(name = $name, module = "placewise._native", frozen)]
        pub(crate) struct $py {
            pub(crate) inner: Arc<$inner>,
        }
        impl $py {
            pub(crate) fn new(v: $inner) -> Self {
                $py { inner: Arc::new(v) }
            }
        }
    };
}

wrapper!(PyAllocation, "AllocationResult", Allocation);
wrapper!(PyGroupRow, "DisparityGroup", GroupRow);
wrapper!(PyDisparity, "DisparityResult", DisparityResult);
wrapper!(PyInequality, "Inequality", Inequality);
wrapper!(PyConcentration, "ConcentrationResult", ConcentrationResult);
wrapper!(PySkippedAudit, "SkippedAudit", SkippedAudit);
wrapper!(PyDecision, "Decision", Decision);
wrapper!(PyAuditSummary, "AuditSummary", AuditSummary);
wrapper!(PyAuditedAllocation, "AuditedAllocation", AuditedAllocation);
wrapper!(PyAuditedPlan, "AuditedPlan", AuditedPlan);

/// Python's repr of a string (quotes and escapes as Python writes them).
fn py_str(py: Python<'_>, s: &str) -> PyResult<String> {
    Ok(PyString::new(py, s).repr()?.to_string())
}

/// Python's spelling of a boolean.
fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Within => "within",
        Verdict::Above => "above",
        Verdict::Below => "below",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Undefined => "undefined",
    }
}

#[pymethods]
impl PyAllocation {
    /// Units per active cell (ascending cell id).
    #[getter]
    fn dose<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.dose.clone())
    }
    /// Expected units per active cell.
    #[getter]
    fn expected_dose<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.expected_dose.clone())
    }
    #[getter]
    fn risk_covered(&self) -> f64 {
        self.inner.risk_covered
    }
    #[getter]
    fn total_risk(&self) -> f64 {
        self.inner.total_risk
    }
    /// Per-capita exposure by group, when a population was given.
    #[getter]
    fn exposure<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner.exposure.clone().map(|e| owned(py, e))
    }
    #[getter]
    fn average_exposure(&self) -> Option<f64> {
        self.inner.average_exposure
    }
    /// (top_k risk covered, fair risk covered, absolute, share), for `fair`.
    #[getter]
    fn price_of_fairness(&self) -> Option<(f64, f64, f64, f64)> {
        self.inner.price_of_fairness.map(|p| {
            (
                p.top_k_risk_covered,
                p.fair_risk_covered,
                p.absolute,
                p.share,
            )
        })
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "AllocationResult", &*self.inner)
    }
}

#[pymethods]
impl PyGroupRow {
    #[getter]
    fn group(&self) -> String {
        self.inner.group.clone()
    }
    #[getter]
    fn population(&self) -> f64 {
        self.inner.population
    }
    #[getter]
    fn exposure(&self) -> f64 {
        self.inner.exposure
    }
    #[getter]
    fn rate(&self) -> f64 {
        self.inner.rate
    }
    #[getter]
    fn exposure_share(&self) -> f64 {
        self.inner.exposure_share
    }
    #[getter]
    fn population_share(&self) -> f64 {
        self.inner.population_share
    }
    #[getter]
    fn ratio_to_reference(&self) -> f64 {
        self.inner.ratio_to_reference
    }
    #[getter]
    fn difference_to_reference(&self) -> f64 {
        self.inner.difference_to_reference
    }
    #[getter]
    fn ratio_to_overall(&self) -> f64 {
        self.inner.ratio_to_overall
    }
    #[getter]
    fn difference_to_overall(&self) -> f64 {
        self.inner.difference_to_overall
    }
    #[getter]
    fn rate_ci(&self) -> (f64, f64) {
        self.inner.rate_ci
    }
    #[getter]
    fn ratio_to_reference_ci(&self) -> (f64, f64) {
        self.inner.ratio_to_reference_ci
    }
    #[getter]
    fn ratio_to_overall_ci(&self) -> (f64, f64) {
        self.inner.ratio_to_overall_ci
    }
    /// "within", "above", "below" or "undefined" (point ratio to the reference).
    #[getter]
    fn verdict(&self) -> &'static str {
        verdict(self.inner.verdict)
    }
    /// As `verdict`, for the interval ("inconclusive" when it straddles an edge).
    #[getter]
    fn verdict_ci(&self) -> &'static str {
        verdict(self.inner.verdict_ci)
    }
    #[getter]
    fn protection(&self) -> Option<f64> {
        self.inner.protection
    }
    #[getter]
    fn need_share(&self) -> Option<f64> {
        self.inner.need_share
    }
    #[getter]
    fn exposure_to_need(&self) -> Option<f64> {
        self.inner.exposure_to_need
    }
    // ---- power of the band check (detectable ratios) ----
    /// Ratios to the reference nearest parity this sample could tell apart from it (below, above).
    #[getter]
    fn detectable_ratio_to_reference(&self) -> (f64, f64) {
        self.inner.detectable_ratio_to_reference
    }
    /// As `detectable_ratio_to_reference`, for the ratio to the overall rate.
    #[getter]
    fn detectable_ratio_to_overall(&self) -> (f64, f64) {
        self.inner.detectable_ratio_to_overall
    }
    // ---- end power ----
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "DisparityGroup", &*self.inner)
    }
}

#[pymethods]
impl PyDisparity {
    /// One row per group.
    #[getter]
    fn groups(&self) -> Vec<PyGroupRow> {
        self.inner
            .groups
            .iter()
            .map(|g| PyGroupRow::new(g.clone()))
            .collect()
    }
    #[getter]
    fn reference(&self) -> String {
        self.inner.reference.clone()
    }
    #[getter]
    fn reference_rule(&self) -> String {
        self.inner.reference_rule.clone()
    }
    #[getter]
    fn overall_rate(&self) -> f64 {
        self.inner.overall_rate
    }
    #[getter]
    fn overall_rate_ci(&self) -> (f64, f64) {
        self.inner.overall_rate_ci
    }
    #[getter]
    fn overall_protection(&self) -> Option<f64> {
        self.inner.overall_protection
    }
    #[getter]
    fn tau(&self) -> f64 {
        self.inner.tau
    }
    #[getter]
    fn bootstrap(&self) -> usize {
        self.inner.bootstrap
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.inner.confidence
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    #[getter]
    fn resampling_unit(&self) -> String {
        self.inner.resampling_unit.clone()
    }
    #[getter]
    fn n_units(&self) -> usize {
        self.inner.n_units
    }
    #[getter]
    fn undefined_resamples(&self) -> usize {
        self.inner.undefined_resamples
    }
    #[getter]
    fn total_dose(&self) -> f64 {
        self.inner.total_dose
    }
    // ---- power of the band check ----
    /// Largest log detectable ratio to the reference over ln(1/τ) (NaN without a bootstrap).
    #[getter]
    fn mde_normalised_to_reference(&self) -> f64 {
        self.inner.power_to_reference.mde_normalised
    }
    /// Whether a ratio at the band edge would have been told apart from parity.
    #[getter]
    fn informative_to_reference(&self) -> bool {
        self.inner.power_to_reference.informative
    }
    /// "pass", "fail" or "not_informative": the band check on the ratios to the reference.
    #[getter]
    fn check_to_reference(&self) -> &'static str {
        self.inner.check_to_reference.label()
    }
    /// As `mde_normalised_to_reference`, for the ratios to the overall rate.
    #[getter]
    fn mde_normalised_to_overall(&self) -> f64 {
        self.inner.power_to_overall.mde_normalised
    }
    /// As `informative_to_reference`, for the ratios to the overall rate.
    #[getter]
    fn informative_to_overall(&self) -> bool {
        self.inner.power_to_overall.informative
    }
    /// As `check_to_reference`, for the ratios to the overall rate.
    #[getter]
    fn check_to_overall(&self) -> &'static str {
        self.inner.check_to_overall.label()
    }
    // ---- end power ----
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "DisparityResult", &*self.inner)
    }
}

#[pymethods]
impl PyInequality {
    #[getter]
    fn n(&self) -> usize {
        self.inner.n
    }
    #[getter]
    fn gini(&self) -> f64 {
        self.inner.gini
    }
    #[getter]
    fn theil(&self) -> f64 {
        self.inner.theil
    }
    #[getter]
    fn baseline_gini_mean(&self) -> f64 {
        self.inner.baseline_gini_mean
    }
    #[getter]
    fn baseline_gini_ci(&self) -> (f64, f64) {
        self.inner.baseline_gini_ci
    }
    #[getter]
    fn baseline_theil_mean(&self) -> f64 {
        self.inner.baseline_theil_mean
    }
    #[getter]
    fn baseline_theil_ci(&self) -> (f64, f64) {
        self.inner.baseline_theil_ci
    }
    #[getter]
    fn gini_over_baseline(&self) -> f64 {
        self.inner.gini_over_baseline
    }
    #[getter]
    fn theil_over_baseline(&self) -> f64 {
        self.inner.theil_over_baseline
    }
    #[getter]
    fn share_random_at_least_as_concentrated(&self) -> f64 {
        self.inner.share_random_at_least_as_concentrated
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "Inequality", &*self.inner)
    }
}

#[pymethods]
impl PyConcentration {
    #[getter]
    fn cells(&self) -> PyInequality {
        PyInequality::new(self.inner.cells.clone())
    }
    #[getter]
    fn areas(&self) -> Option<PyInequality> {
        self.inner.areas.clone().map(PyInequality::new)
    }
    #[getter]
    fn budget(&self) -> f64 {
        self.inner.budget
    }
    #[getter]
    fn unit(&self) -> f64 {
        self.inner.unit
    }
    #[getter]
    fn quanta(&self) -> u64 {
        self.inner.quanta
    }
    #[getter]
    fn simulations(&self) -> usize {
        self.inner.simulations
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.inner.confidence
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    #[getter]
    fn baseline(&self) -> String {
        self.inner.baseline.clone()
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "ConcentrationResult", &*self.inner)
    }
}

/// A written decision to proceed despite failed policy checks (reason, who, when). The
/// constructor refuses a reason with fewer than 10 visible characters.
#[pyclass(name = "Override", module = "placewise._native", frozen)]
pub(crate) struct PyOverride {
    pub(crate) inner: Override,
}

impl PyOverride {
    pub(crate) fn wrap(inner: Override) -> Self {
        PyOverride { inner }
    }
}

#[pymethods]
impl PyOverride {
    #[new]
    fn py_new(reason: String, by: String, at: String) -> PyResult<Self> {
        Ok(PyOverride {
            inner: Override::new(reason, by, at)?,
        })
    }
    #[getter]
    fn reason(&self) -> String {
        self.inner.reason.clone()
    }
    #[getter]
    fn by(&self) -> String {
        self.inner.by.clone()
    }
    #[getter]
    fn at(&self) -> String {
        self.inner.at.clone()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Override(reason={}, by={}, at={})",
            py_str(py, &self.inner.reason)?,
            py_str(py, &self.inner.by)?,
            py_str(py, &self.inner.at)?
        ))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "Override", &self.inner)
    }
}

#[pymethods]
impl PySkippedAudit {
    #[getter]
    fn audit(&self) -> String {
        self.inner.audit.clone()
    }
    #[getter]
    fn reason(&self) -> String {
        self.inner.reason.clone()
    }
    #[getter]
    fn by_caller(&self) -> bool {
        self.inner.by_caller
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "SkippedAudit(audit={}, by_caller={}, reason={})",
            py_str(py, &self.inner.audit)?,
            py_bool(self.inner.by_caller),
            py_str(py, &self.inner.reason)?
        ))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "SkippedAudit", &*self.inner)
    }
}

#[pymethods]
impl PyDecision {
    /// "passed", "overridden", "blocked" or "no_policy".
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }
    #[getter]
    fn failed_checks(&self) -> Vec<String> {
        self.inner.failed_checks.clone()
    }
    #[getter]
    fn skipped_audits(&self) -> Vec<PySkippedAudit> {
        self.inner
            .skipped_audits
            .iter()
            .map(|s| PySkippedAudit::new(s.clone()))
            .collect()
    }
    #[getter(r#override)]
    fn override_record(&self) -> Option<PyOverride> {
        self.inner.override_.clone().map(PyOverride::wrap)
    }
    #[getter]
    fn policy_name(&self) -> Option<String> {
        self.inner.policy_name.clone()
    }
    #[getter]
    fn policy_source(&self) -> Option<String> {
        self.inner.policy_source.clone()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Decision(status={}, failed_checks={}, skipped_audits={}, overridden={})",
            py_str(py, self.inner.status.as_str())?,
            self.inner.failed_checks.len(),
            self.inner.skipped_audits.len(),
            py_bool(self.inner.override_.is_some())
        ))
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "Decision", &*self.inner)
    }
}

type Ratios = Option<Vec<(String, Option<f64>)>>;
type Intervals = Option<Vec<(String, (Option<f64>, Option<f64>))>>;

#[pymethods]
impl PyAuditSummary {
    /// Ratio to the reference group by group (None: undefined); None without a disparity audit.
    #[getter]
    fn ratio_to_reference(&self) -> Ratios {
        self.inner.disparity.as_ref().map(|d| {
            d.ratio_to_reference
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        })
    }
    #[getter]
    fn ratio_to_overall(&self) -> Ratios {
        self.inner.disparity.as_ref().map(|d| {
            d.ratio_to_overall
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        })
    }
    #[getter]
    fn ratio_to_reference_ci(&self) -> Intervals {
        self.inner.disparity.as_ref().map(|d| {
            d.ratio_to_reference_ci
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        })
    }
    #[getter]
    fn reference(&self) -> Option<String> {
        self.inner
            .disparity
            .as_ref()
            .and_then(|d| d.reference.clone())
    }
    #[getter]
    fn cells_gini_over_baseline(&self) -> Option<f64> {
        self.inner
            .concentration
            .as_ref()
            .and_then(|c| c.cells_gini_over_baseline)
    }
    #[getter]
    fn areas_gini_over_baseline(&self) -> Option<f64> {
        self.inner
            .concentration
            .as_ref()
            .and_then(|c| c.areas_gini_over_baseline)
    }
    #[getter]
    fn discovered_share(&self) -> Option<f64> {
        self.inner.data.as_ref().and_then(|d| d.discovered_share)
    }
    #[getter]
    fn feedback_verdict(&self) -> Option<String> {
        self.inner.feedback.as_ref().and_then(|f| f.verdict.clone())
    }
    /// A summary read back from its JSON (the run log's format); unknown fields are ignored.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        let s: AuditSummary =
            serde_json::from_str(text).map_err(|e| Error::param("summary", e.to_string()))?;
        Ok(PyAuditSummary::new(s))
    }
    /// The summary as JSON (for the run log, a JSON document by nature).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&*self.inner)
            .map_err(|e| Error::param("summary", e.to_string()).into())
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "AuditSummary", &*self.inner)
    }
}

#[pymethods]
impl PyAuditedAllocation {
    #[getter]
    fn allocation(&self) -> PyAllocation {
        PyAllocation::new(self.inner.allocation.clone())
    }
    #[getter]
    fn disparity(&self) -> Option<PyDisparity> {
        self.inner.disparity.clone().map(PyDisparity::new)
    }
    #[getter]
    fn concentration(&self) -> Option<PyConcentration> {
        self.inner.concentration.clone().map(PyConcentration::new)
    }
    #[getter]
    fn summary(&self) -> PyAuditSummary {
        PyAuditSummary::new(self.inner.summary.clone())
    }
    #[getter]
    fn decision(&self) -> PyDecision {
        PyDecision::new(self.inner.decision.clone())
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "AuditedAllocation", &*self.inner)
    }
}

#[pymethods]
impl PyAuditedPlan {
    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.names.clone()
    }
    #[getter]
    fn shifts(&self) -> Vec<PyAuditedAllocation> {
        self.inner
            .shifts
            .iter()
            .map(|s| PyAuditedAllocation::new(s.clone()))
            .collect()
    }
    #[getter]
    fn disparity(&self) -> Option<PyDisparity> {
        self.inner.disparity.clone().map(PyDisparity::new)
    }
    #[getter]
    fn concentration(&self) -> Option<PyConcentration> {
        self.inner.concentration.clone().map(PyConcentration::new)
    }
    #[getter]
    fn summary(&self) -> PyAuditSummary {
        PyAuditSummary::new(self.inner.summary.clone())
    }
    #[getter]
    fn decision(&self) -> PyDecision {
        PyDecision::new(self.inner.decision.clone())
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "AuditedPlan", &*self.inner)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_unpickle, m)?)?;
    m.add_class::<PyAllocation>()?;
    m.add_class::<PyGroupRow>()?;
    m.add_class::<PyDisparity>()?;
    m.add_class::<PyInequality>()?;
    m.add_class::<PyConcentration>()?;
    m.add_class::<PyOverride>()?;
    m.add_class::<PySkippedAudit>()?;
    m.add_class::<PyDecision>()?;
    m.add_class::<PyAuditSummary>()?;
    m.add_class::<PyAuditedAllocation>()?;
    m.add_class::<PyAuditedPlan>()?;
    Ok(())
}
