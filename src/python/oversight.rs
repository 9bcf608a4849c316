//! Bindings for the oversight audits of any system's output: the targeting audit
//! (`crate::audit::targeting`) and concentration against need (`crate::audit::need`).
//!
//! Results cross as frozen classes whose getters return new numpy arrays; the Python layer
//! (`placewise.audit`) builds frames and its own picklable result objects from them.

use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::audit::need::{concentration_vs_need, NeedParams, NeedResult};
use crate::audit::targeting::{
    targeting as core_targeting, LeastRule, TargetingInput, TargetingParams, TargetingResult,
};
use crate::python::utils::{detached, owned};
use crate::stats::multiple_testing::Correction;

/// The numbers of a targeting audit (one jurisdiction).
#[pyclass(name = "TargetingCore", module = "placewise._native", frozen)]
pub(crate) struct PyTargeting {
    inner: Arc<TargetingResult>,
}

fn idx(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&i| i as i64).collect()
}

#[pymethods]
impl PyTargeting {
    #[getter]
    fn n_areas(&self) -> usize {
        self.inner.n_areas
    }
    #[getter]
    fn window_size(&self) -> usize {
        self.inner.window_size
    }
    #[getter]
    fn permutations(&self) -> usize {
        self.inner.permutations
    }
    #[getter]
    fn median_count(&self) -> f64 {
        self.inner.median_count
    }
    /// Area indices from most to least targeted.
    #[getter]
    fn order<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, idx(&self.inner.order))
    }
    /// Area indices of the most, median and least targeted windows.
    #[getter]
    fn members<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<i64>>> {
        self.inner
            .members
            .iter()
            .map(|m| owned(py, idx(m)))
            .collect()
    }
    #[getter]
    fn overall<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.overall.clone())
    }
    #[getter]
    fn window_shares<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.window_shares.clone())
    }
    #[getter]
    fn window_population<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.window_population.to_vec())
    }
    #[getter]
    fn window_counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.window_counts.to_vec())
    }
    #[getter]
    fn above_median_share<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.above_median_share.clone())
    }
    #[getter]
    fn decile<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        owned(py, self.inner.decile.clone())
    }
    #[getter]
    fn decile_edges<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.decile_edges.clone())
    }
    #[getter]
    fn decile_shares<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.decile_shares.clone())
    }
    #[getter]
    fn decile_areas<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, idx(&self.inner.decile_areas))
    }
    #[getter]
    fn decile_population<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.decile_population.clone())
    }
    #[getter]
    fn decile_counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.decile_counts.clone())
    }
    #[getter]
    fn p_higher<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.p_higher.clone())
    }
    #[getter]
    fn p_lower<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.p_lower.clone())
    }
    #[getter]
    fn mde_higher<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.mde_higher.clone())
    }
    #[getter]
    fn mde_lower<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.mde_lower.clone())
    }
    /// "holm", "fdr_bh" or "none": the correction of the family of p-values.
    #[getter]
    fn correction(&self) -> &'static str {
        self.inner.correction.label()
    }
    /// Tests in the family (both directions, every window and group with a p-value).
    #[getter]
    fn family_size(&self) -> usize {
        self.inner.family_size
    }
    #[getter]
    fn p_higher_adjusted<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.p_higher_adjusted.clone())
    }
    #[getter]
    fn p_lower_adjusted<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        PyArray2::from_owned_array(py, self.inner.p_lower_adjusted.clone())
    }
}

/// Targeting audit of per-area counts (The Markup's windows, shares, deciles, permutation test).
#[pyfunction]
#[pyo3(signature = (counts, rank_population, total, groups, window_share=0.05,
                    least="all_minimum", permutations=999, confidence=0.95, seed=0,
                    correction="holm"))]
#[allow(clippy::too_many_arguments)]
fn targeting(
    py: Python<'_>,
    counts: PyReadonlyArray1<'_, f64>,
    rank_population: PyReadonlyArray1<'_, f64>,
    total: PyReadonlyArray1<'_, f64>,
    groups: PyReadonlyArray2<'_, f64>,
    window_share: f64,
    least: &str,
    permutations: usize,
    confidence: f64,
    seed: u64,
    correction: &str,
) -> PyResult<PyTargeting> {
    let counts = counts.as_array().to_vec();
    let rank_population = rank_population.as_array().to_vec();
    let total = total.as_array().to_vec();
    let groups = groups.as_array().to_owned();
    let params = TargetingParams {
        window_share,
        least: LeastRule::parse(least)?,
        permutations,
        confidence,
        seed,
        correction: Correction::parse(correction)?,
    };
    let r = detached(py, move || {
        core_targeting(
            &TargetingInput {
                counts: &counts,
                rank_population: &rank_population,
                total: &total,
                groups: groups.view(),
            },
            &params,
        )
    })?;
    Ok(PyTargeting { inner: Arc::new(r) })
}

/// Concentration of patrol against need, per area, with its power.
#[pyclass(name = "NeedCheck", module = "placewise._native", frozen)]
pub(crate) struct PyNeed {
    inner: Arc<NeedResult>,
}

#[pymethods]
impl PyNeed {
    #[getter]
    fn index(&self) -> f64 {
        self.inner.index
    }
    #[getter]
    fn misallocated_share(&self) -> f64 {
        self.inner.misallocated_share
    }
    #[getter]
    fn null_mean(&self) -> f64 {
        self.inner.null_mean
    }
    #[getter]
    fn critical_value(&self) -> f64 {
        self.inner.critical_value
    }
    #[getter]
    fn max_index(&self) -> f64 {
        self.inner.max_index
    }
    #[getter]
    fn mde_normalised(&self) -> f64 {
        self.inner.mde_normalised
    }
    #[getter]
    fn p_value(&self) -> f64 {
        self.inner.p_value
    }
    #[getter]
    fn informative(&self) -> bool {
        self.inner.informative
    }
    #[getter]
    fn verdict(&self) -> &'static str {
        self.inner.verdict.label()
    }
    #[getter]
    fn simulations(&self) -> usize {
        self.inner.simulations
    }
    #[getter]
    fn quanta(&self) -> usize {
        self.inner.quanta
    }
    #[getter]
    fn patrol_share<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.patrol_share.clone())
    }
    #[getter]
    fn need_share<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.need_share.clone())
    }
}

/// Concentration of patrol against need per area (see `crate::audit::need`).
#[pyfunction]
#[pyo3(signature = (dose, need, quanta, simulations=999, confidence=0.95, max_mde=0.5, seed=0))]
#[allow(clippy::too_many_arguments)]
fn need_check(
    py: Python<'_>,
    dose: PyReadonlyArray1<'_, f64>,
    need: PyReadonlyArray1<'_, f64>,
    quanta: usize,
    simulations: usize,
    confidence: f64,
    max_mde: f64,
    seed: u64,
) -> PyResult<PyNeed> {
    let dose = dose.as_array().to_vec();
    let need = need.as_array().to_vec();
    let params = NeedParams {
        quanta,
        simulations,
        confidence,
        max_mde,
        seed,
    };
    let r = detached(py, move || concentration_vs_need(&dose, &need, &params))?;
    Ok(PyNeed { inner: Arc::new(r) })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTargeting>()?;
    m.add_class::<PyNeed>()?;
    m.add_function(wrap_pyfunction!(targeting, m)?)?;
    m.add_function(wrap_pyfunction!(need_check, m)?)?;
    Ok(())
}
