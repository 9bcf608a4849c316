//! Bindings for `crate::evaluate`.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::evaluate::{
    calibration as core_calibration, coverage_curve as core_curve, evaluate as core_evaluate,
    probabilistic_scores as core_scores, CalibrationBin, ProbabilisticScores,
};
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

/// Poisson log-likelihood, deviance and Brier score of a forecast of expected counts.
#[pyclass(
    name = "ProbabilisticScores",
    module = "placewise._native",
    frozen,
    get_all
)]
#[derive(Clone)]
struct PyScores {
    cells: usize,
    expected_total: f64,
    observed_total: f64,
    log_likelihood: f64,
    deviance: f64,
    brier: f64,
    floor: f64,
    floored_cells: usize,
}

impl From<ProbabilisticScores> for PyScores {
    fn from(s: ProbabilisticScores) -> Self {
        PyScores {
            cells: s.cells,
            expected_total: s.expected_total,
            observed_total: s.observed_total,
            log_likelihood: s.log_likelihood,
            deviance: s.deviance,
            brier: s.brier,
            floor: s.floor,
            floored_cells: s.floored_cells,
        }
    }
}

/// The fields, in order, for pickling.
type ScoreFields = (usize, f64, f64, f64, f64, f64, f64, usize);

#[pymethods]
impl PyScores {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        cells: usize,
        expected_total: f64,
        observed_total: f64,
        log_likelihood: f64,
        deviance: f64,
        brier: f64,
        floor: f64,
        floored_cells: usize,
    ) -> Self {
        PyScores {
            cells,
            expected_total,
            observed_total,
            log_likelihood,
            deviance,
            brier,
            floor,
            floored_cells,
        }
    }
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, pyo3::types::PyType>, ScoreFields)> {
        let s = slf.get();
        Ok((
            slf.get_type(),
            (
                s.cells,
                s.expected_total,
                s.observed_total,
                s.log_likelihood,
                s.deviance,
                s.brier,
                s.floor,
                s.floored_cells,
            ),
        ))
    }
    fn __repr__(&self) -> String {
        format!(
            "ProbabilisticScores(log_likelihood={:.4}, deviance={:.4}, brier={:.6}, cells={})",
            self.log_likelihood, self.deviance, self.brier, self.cells
        )
    }
}

/// One bin of a calibration table (cells grouped by expected count, lowest first).
#[pyclass(name = "CalibrationBin", module = "placewise._native", frozen, get_all)]
#[derive(Clone)]
struct PyCalibrationBin {
    bin: usize,
    cells: usize,
    predicted_min: f64,
    predicted_max: f64,
    predicted_total: f64,
    observed_total: f64,
}

impl From<CalibrationBin> for PyCalibrationBin {
    fn from(b: CalibrationBin) -> Self {
        PyCalibrationBin {
            bin: b.bin,
            cells: b.cells,
            predicted_min: b.predicted_min,
            predicted_max: b.predicted_max,
            predicted_total: b.predicted_total,
            observed_total: b.observed_total,
        }
    }
}

#[pymethods]
impl PyCalibrationBin {
    #[new]
    fn new(
        bin: usize,
        cells: usize,
        predicted_min: f64,
        predicted_max: f64,
        predicted_total: f64,
        observed_total: f64,
    ) -> Self {
        PyCalibrationBin {
            bin,
            cells,
            predicted_min,
            predicted_max,
            predicted_total,
            observed_total,
        }
    }
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(
        Bound<'py, pyo3::types::PyType>,
        (usize, usize, f64, f64, f64, f64),
    )> {
        let b = slf.get();
        Ok((
            slf.get_type(),
            (
                b.bin,
                b.cells,
                b.predicted_min,
                b.predicted_max,
                b.predicted_total,
                b.observed_total,
            ),
        ))
    }
}

/// Probabilistic scores of `expected` counts against `observed` counts (one per grid cell).
#[pyfunction]
#[pyo3(signature = (grid, expected, observed, floor=0.0))]
fn probabilistic_scores<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    expected: PyReadonlyArray1<'py, f64>,
    observed: PyReadonlyArray1<'py, f64>,
    floor: f64,
) -> PyResult<PyScores> {
    let g = grid.inner.clone();
    let (e, o) = (to_vec_f64(&expected), to_vec_f64(&observed));
    let s = detached(py, move || core_scores(&g, &e, &o, floor))?;
    Ok(s.into())
}

/// Calibration table of `expected` against `observed` counts in `bins` groups of cells.
#[pyfunction]
#[pyo3(signature = (grid, expected, observed, bins=10))]
fn calibration<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    expected: PyReadonlyArray1<'py, f64>,
    observed: PyReadonlyArray1<'py, f64>,
    bins: usize,
) -> PyResult<Vec<PyCalibrationBin>> {
    let g = grid.inner.clone();
    let (e, o) = (to_vec_f64(&expected), to_vec_f64(&observed));
    let t = detached(py, move || core_calibration(&g, &e, &o, bins))?;
    Ok(t.into_iter().map(Into::into).collect())
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
    m.add_class::<PyScores>()?;
    m.add_class::<PyCalibrationBin>()?;
    m.add_function(wrap_pyfunction!(probabilistic_scores, m)?)?;
    m.add_function(wrap_pyfunction!(calibration, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_mean_interval, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(coverage_curve, m)?)?;
    Ok(())
}
