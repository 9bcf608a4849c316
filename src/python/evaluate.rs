//! Bindings for `crate::evaluate`.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::evaluate::{coverage_curve as core_curve, evaluate as core_evaluate};
use crate::python::space::PyGrid;
use crate::python::utils::{detached, owned, to_vec_f64};

/// Metrics of `values` against `test_counts` (one entry per grid cell) at each coverage:
/// a list of dicts.
#[pyfunction]
#[pyo3(signature = (grid, values, test_counts, coverages, train_counts=None))]
fn evaluate_metrics<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    values: PyReadonlyArray1<'py, f64>,
    test_counts: PyReadonlyArray1<'py, f64>,
    coverages: Vec<f64>,
    train_counts: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let g = grid.inner.clone();
    let (v, t) = (to_vec_f64(&values), to_vec_f64(&test_counts));
    let tr = train_counts.map(|a| to_vec_f64(&a));
    let ms = detached(py, move || {
        core_evaluate(&g, &v, &t, &coverages, tr.as_deref())
    })?;
    ms.into_iter()
        .map(|m| {
            let d = PyDict::new(py);
            d.set_item("coverage", m.coverage)?;
            d.set_item("cells", m.cells)?;
            d.set_item("area_share", m.area_share)?;
            d.set_item("hits", m.hits)?;
            d.set_item("n_test", m.n_test)?;
            d.set_item("hit_rate", m.hit_rate)?;
            d.set_item("pai", m.pai)?;
            d.set_item("n_star", m.n_star)?;
            d.set_item("pei_star", m.pei_star)?;
            d.set_item("rri", m.rri)?;
            d.set_item("tied_at_threshold", m.tied_at_threshold)?;
            d.set_item("tied_flagged", m.tied_flagged)?;
            Ok(d)
        })
        .collect()
}

/// (area_share, hit_rate, auc).
type Curve<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, f64);

/// The hit-rate curve: (area_share, hit_rate, auc).
#[pyfunction]
fn coverage_curve<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    values: PyReadonlyArray1<'py, f64>,
    test_counts: PyReadonlyArray1<'py, f64>,
) -> PyResult<Curve<'py>> {
    let g = grid.inner.clone();
    let (v, t) = (to_vec_f64(&values), to_vec_f64(&test_counts));
    let c = detached(py, move || core_curve(&g, &v, &t))?;
    Ok((owned(py, c.area_share), owned(py, c.hit_rate), c.auc))
}

/// Percentile bootstrap interval `(low, high)` of the mean of `values` (replicates drawn from
/// the streams of `(seed, task)`; see `crate::stats::bootstrap`).
#[pyfunction]
fn bootstrap_mean_interval(
    py: Python<'_>,
    values: PyReadonlyArray1<'_, f64>,
    replicates: usize,
    confidence: f64,
    seed: u64,
    task: u64,
) -> PyResult<(f64, f64)> {
    let v = to_vec_f64(&values);
    detached(py, move || {
        crate::stats::bootstrap::mean_interval(&v, replicates, confidence, seed, task)
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bootstrap_mean_interval, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(coverage_curve, m)?)?;
    Ok(())
}
