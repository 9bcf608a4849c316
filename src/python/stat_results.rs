//! Typed, frozen, picklable results of the statistics (Gi*, emerging hot spots, Knox), of the
//! Ensign urn, and the ingest and population-distribution reports. Same pattern as `results.rs`: each wraps the core result in an `Arc`, getters
//! return new numpy arrays (2-d where the core stores a row-major table), and pickling goes
//! through `_unpickle(kind, state)` with the core value encoded as CBOR. The pandas frames are
//! built on the Python side (`placewise.stats`, `placewise.audit`).

use std::sync::Arc;

use numpy::ndarray::Array2;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;

use crate::audit::feedback::FeedbackVerdict;
use crate::audit::{EnsignResult, Update};
use crate::data::{DuplicatePolicy, Heaping, QualityReport, Spike};
use crate::python::results::{decode, reduce, Reduced};
use crate::python::utils::owned;
use crate::space::PopulationReport;
use crate::stats::{Emerging, GiStar, Knox, MannKendall};
use crate::Error;

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

wrapper!(PyGiStar, "GiStarResult", GiStar);
wrapper!(PyEmerging, "EmergingResult", Emerging);
wrapper!(PyKnox, "KnoxResult", Knox);
wrapper!(PyEnsign, "EnsignUrnResult", EnsignResult);
wrapper!(PyQuality, "QualityReport", QualityReport);
wrapper!(PyHeaping, "Heaping", Heaping);
wrapper!(PyPopulationReport, "PopulationReport", PopulationReport);
wrapper!(PyMannKendall, "MannKendallResult", MannKendall);
wrapper!(PyFeedbackVerdict, "FeedbackVerdict", FeedbackVerdict);

/// Rebuilds a pickled statistics result; `None` when `kind` is not one of them.
pub(crate) fn unpickle(py: Python<'_>, kind: &str, state: &[u8]) -> PyResult<Option<Py<PyAny>>> {
    Ok(Some(match kind {
        "GiStarResult" => Py::new(py, PyGiStar::new(decode(kind, state)?))?.into_any(),
        "EmergingResult" => Py::new(py, PyEmerging::new(decode(kind, state)?))?.into_any(),
        "KnoxResult" => Py::new(py, PyKnox::new(decode(kind, state)?))?.into_any(),
        "EnsignUrnResult" => Py::new(py, PyEnsign::new(decode(kind, state)?))?.into_any(),
        "QualityReport" => Py::new(py, PyQuality::new(decode(kind, state)?))?.into_any(),
        "Heaping" => Py::new(py, PyHeaping::new(decode(kind, state)?))?.into_any(),
        "PopulationReport" => {
            Py::new(py, PyPopulationReport::new(decode(kind, state)?))?.into_any()
        }
        "MannKendallResult" => Py::new(py, PyMannKendall::new(decode(kind, state)?))?.into_any(),
        "FeedbackVerdict" => Py::new(py, PyFeedbackVerdict::new(decode(kind, state)?))?.into_any(),
        _ => return Ok(None),
    }))
}

fn ids(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&i| i as i64).collect()
}

/// A (rows, cols) array from a row-major vector.
fn table<'py, T: numpy::Element>(
    py: Python<'py>,
    v: Vec<T>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let a = Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| Error::param("shape", e.to_string()))?;
    Ok(PyArray2::from_owned_array(py, a))
}

#[pymethods]
impl PyGiStar {
    /// Active cell ids, ascending.
    #[getter]
    fn cell_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, ids(&self.inner.cell_ids))
    }
    #[getter]
    fn z<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.z.clone())
    }
    /// Analytic two-sided p-values.
    #[getter]
    fn p<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.p.clone())
    }
    /// Folded one-sided permutation p-values; None without permutations.
    #[getter]
    fn p_sim<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner.p_sim.clone().map(|v| owned(py, v))
    }
    #[getter]
    fn p_tested<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.p_tested.clone())
    }
    #[getter]
    fn p_corrected<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.p_corrected.clone())
    }
    /// Confidence bins, −3 … 3.
    #[getter]
    fn bins<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i8>> {
        owned(py, self.inner.bins.clone())
    }
    #[getter]
    fn n_neighbours<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        owned(py, self.inner.n_neighbours.clone())
    }
    #[getter]
    fn n_islands(&self) -> usize {
        self.inner.n_islands
    }
    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean
    }
    #[getter]
    fn std(&self) -> f64 {
        self.inner.std
    }
    /// "fdr_bh", "holm" or "none".
    #[getter]
    fn correction(&self) -> &'static str {
        self.inner.params.correction.label()
    }
    /// "binary" or "inverse_distance".
    #[getter]
    fn weights(&self) -> &'static str {
        self.inner.params.weights.label()
    }
    #[getter]
    fn distance(&self) -> f64 {
        self.inner.params.distance_m
    }
    #[getter]
    fn permutations(&self) -> Option<usize> {
        self.inner.params.permutations
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.params.seed
    }
    fn __repr__(&self) -> String {
        format!(
            "GiStarResult(cells={}, islands={}, correction='{}', weights='{}')",
            self.inner.cell_ids.len(),
            self.inner.n_islands,
            self.inner.params.correction.label(),
            self.inner.params.weights.label()
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "GiStarResult", &*self.inner)
    }
}

impl PyEmerging {
    fn shape(&self) -> (usize, usize) {
        (self.inner.starts.len(), self.inner.cell_ids.len())
    }
    fn bins<'py>(&self, py: Python<'py>, v: &[f64]) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (t, n) = self.shape();
        table(py, v.to_vec(), t, n)
    }
}

#[pymethods]
impl PyEmerging {
    /// Active cell ids, ascending.
    #[getter]
    fn cell_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, ids(&self.inner.cell_ids))
    }
    /// Start of each step (UTC seconds).
    #[getter]
    fn starts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, self.inner.starts.clone())
    }
    /// (steps, cells) incidents per bin.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        self.bins(py, &self.inner.counts)
    }
    /// (steps, cells) space–time Gi* z.
    #[getter]
    fn z<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        self.bins(py, &self.inner.z)
    }
    /// (steps, cells) two-sided analytic p.
    #[getter]
    fn p<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        self.bins(py, &self.inner.p)
    }
    /// (steps, cells) p after the correction over all bins.
    #[getter]
    fn p_corrected<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        self.bins(py, &self.inner.p_corrected)
    }
    /// Category code per cell (index into `emerging_categories()`).
    #[getter]
    fn category<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        owned(py, self.inner.category.iter().map(|c| c.code()).collect())
    }
    /// Mann–Kendall S of each cell's z series.
    #[getter]
    fn trend_s<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, self.inner.trend.iter().map(|m| m.s).collect())
    }
    #[getter]
    fn trend_z<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.trend.iter().map(|m| m.z).collect())
    }
    #[getter]
    fn trend_p<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.trend.iter().map(|m| m.p).collect())
    }
    #[getter]
    fn trend_tau<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.trend.iter().map(|m| m.tau).collect())
    }
    #[getter]
    fn n_hot<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        owned(py, self.inner.n_hot.clone())
    }
    #[getter]
    fn n_cold<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        owned(py, self.inner.n_cold.clone())
    }
    #[getter]
    fn n_ignored(&self) -> usize {
        self.inner.n_ignored
    }
    /// Resolved start of the first step (UTC seconds).
    #[getter]
    fn start(&self) -> Option<i64> {
        self.inner.params.start
    }
    /// Resolved end of the last step, exclusive (UTC seconds).
    #[getter]
    fn end(&self) -> Option<i64> {
        self.inner.params.end
    }
    #[getter]
    fn step_s(&self) -> i64 {
        self.inner.params.step_s
    }
    #[getter]
    fn correction(&self) -> &'static str {
        self.inner.params.correction.label()
    }
    fn __repr__(&self) -> String {
        let (t, n) = self.shape();
        format!(
            "EmergingResult(steps={t}, cells={n}, ignored={}, correction='{}')",
            self.inner.n_ignored,
            self.inner.params.correction.label()
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "EmergingResult", &*self.inner)
    }
}

#[pymethods]
impl PyKnox {
    /// Space band index of each table cell (row-major; the last index is "beyond").
    #[getter]
    fn space<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(
            py,
            self.inner.cells.iter().map(|c| c.space as i64).collect(),
        )
    }
    /// Time band index of each table cell.
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        owned(py, self.inner.cells.iter().map(|c| c.time as i64).collect())
    }
    #[getter]
    fn observed<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        owned(py, self.inner.cells.iter().map(|c| c.observed).collect())
    }
    #[getter]
    fn expected<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.cells.iter().map(|c| c.expected).collect())
    }
    #[getter]
    fn expected_exact<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(
            py,
            self.inner.cells.iter().map(|c| c.expected_exact).collect(),
        )
    }
    #[getter]
    fn ratio<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.cells.iter().map(|c| c.ratio).collect())
    }
    #[getter]
    fn p<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.cells.iter().map(|c| c.p).collect())
    }
    /// Space bands (lo, hi) in metres.
    #[getter]
    fn space_bands(&self) -> Vec<(f64, f64)> {
        self.inner
            .space_bands_m
            .iter()
            .map(|b| (b.lo, b.hi))
            .collect()
    }
    /// Time bands (lo, hi) in days.
    #[getter]
    fn time_bands(&self) -> Vec<(f64, f64)> {
        self.inner
            .time_bands_days
            .iter()
            .map(|b| (b.lo, b.hi))
            .collect()
    }
    #[getter]
    fn n_events(&self) -> usize {
        self.inner.n_events
    }
    #[getter]
    fn n_pairs(&self) -> u64 {
        self.inner.n_pairs
    }
    #[getter]
    fn close_pairs(&self) -> u64 {
        self.inner.close_pairs
    }
    #[getter]
    fn permutations(&self) -> usize {
        self.inner.permutations
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    fn __repr__(&self) -> String {
        format!(
            "KnoxResult(events={}, pairs={}, space_bands={}, time_bands={}, permutations={}, seed={})",
            self.inner.n_events,
            self.inner.n_pairs,
            self.inner.space_bands_m.len(),
            self.inner.time_bands_days.len(),
            self.inner.permutations,
            self.inner.seed
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "KnoxResult", &*self.inner)
    }
}

#[pymethods]
impl PyMannKendall {
    /// `S = Σ_{i<j} sign(x_j − x_i)`.
    #[getter]
    fn s(&self) -> i64 {
        self.inner.s
    }
    /// Variance of `S` under no trend, corrected for ties.
    #[getter]
    fn var_s(&self) -> f64 {
        self.inner.var_s
    }
    /// Continuity-corrected normal score.
    #[getter]
    fn z(&self) -> f64 {
        self.inner.z
    }
    /// Two-sided p-value.
    #[getter]
    fn p(&self) -> f64 {
        self.inner.p
    }
    /// Kendall's tau-a.
    #[getter]
    fn tau(&self) -> f64 {
        self.inner.tau
    }
    fn __repr__(&self) -> String {
        let m = &*self.inner;
        format!(
            "MannKendallResult(s={}, var_s={:?}, z={:?}, p={:?}, tau={:?})",
            m.s, m.var_s, m.z, m.p, m.tau
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "MannKendallResult", &*self.inner)
    }
}

#[pymethods]
impl PyFeedbackVerdict {
    /// Mean model–truth total variation in round 1.
    #[getter]
    fn tv_initial(&self) -> f64 {
        self.inner.tv_initial
    }
    /// Mean total variation over the last tenth of rounds.
    #[getter]
    fn tv_final(&self) -> f64 {
        self.inner.tv_final
    }
    /// `tv_final − tv_initial`.
    #[getter]
    fn growth(&self) -> f64 {
        self.inner.growth
    }
    /// `growth > runaway_delta`.
    #[getter]
    fn runaway(&self) -> bool {
        self.inner.runaway
    }
    /// `"runaway"`, `"biased"` or `"converges"`.
    #[getter]
    fn verdict(&self) -> &str {
        &self.inner.verdict
    }
    fn __repr__(&self) -> String {
        let v = &*self.inner;
        format!(
            "FeedbackVerdict(verdict='{}', tv_initial={:?}, tv_final={:?}, growth={:?}, runaway={})",
            v.verdict,
            v.tv_initial,
            v.tv_final,
            v.growth,
            if v.runaway { "True" } else { "False" }
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "FeedbackVerdict", &*self.inner)
    }
}

#[pymethods]
impl PyEnsign {
    /// (runs, draws + 1): share of region A's balls after each draw (column 0: the prior).
    #[getter]
    fn trajectories<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let r = &self.inner;
        table(py, r.trajectories.clone(), r.runs, r.draws + 1)
    }
    #[getter]
    fn runs(&self) -> usize {
        self.inner.runs
    }
    #[getter]
    fn draws(&self) -> usize {
        self.inner.draws
    }
    #[getter]
    fn final_shares<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.final_shares.clone())
    }
    #[getter]
    fn visit_shares<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.visit_shares.clone())
    }
    #[getter]
    fn mean_final_share(&self) -> f64 {
        self.inner.mean_final_share
    }
    #[getter]
    fn truth(&self) -> f64 {
        self.inner.truth
    }
    #[getter]
    fn prior_share(&self) -> f64 {
        self.inner.prior_share
    }
    /// Expected update rows (a, b), (c, d), as a 2 × 2 array.
    #[getter]
    fn update_matrix<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let m = self.inner.update_matrix;
        table(py, vec![m[0][0], m[0][1], m[1][0], m[1][1]], 2, 2)
    }
    #[getter]
    fn fixed_point(&self) -> Option<f64> {
        self.inner.fixed_point
    }
    /// "runaway", "biased" or "converges".
    #[getter]
    fn verdict(&self) -> String {
        self.inner.verdict.clone()
    }
    #[getter]
    fn mean_abs_error(&self) -> f64 {
        self.inner.mean_abs_error
    }
    #[getter]
    fn prior_abs_error(&self) -> f64 {
        self.inner.prior_abs_error
    }
    #[getter]
    fn tolerance(&self) -> f64 {
        self.inner.tolerance
    }
    #[getter]
    fn correction(&self) -> bool {
        self.inner.correction
    }
    #[getter]
    fn decay(&self) -> f64 {
        self.inner.decay
    }
    /// "discovered", "reported" or "mixed".
    #[getter]
    fn update(&self) -> &'static str {
        match self.inner.update {
            Update::Discovered => "discovered",
            Update::Reported => "reported",
            Update::Mixed { .. } => "mixed",
        }
    }
    /// The reported share of the "mixed" update; None otherwise.
    #[getter]
    fn reported_share(&self) -> Option<f64> {
        match self.inner.update {
            Update::Mixed { reported_share } => Some(reported_share),
            _ => None,
        }
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    fn __repr__(&self) -> String {
        format!(
            "EnsignUrnResult(verdict='{}', runs={}, draws={}, correction={})",
            self.inner.verdict,
            self.inner.runs,
            self.inner.draws,
            if self.inner.correction {
                "True"
            } else {
                "False"
            }
        )
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "EnsignUrnResult", &*self.inner)
    }
}

/// (x, y, count, share, ratio_to_mean) of each location.
type Locations = Vec<(f64, f64, u64, f64, f64)>;

fn locations(v: &[Spike]) -> Locations {
    v.iter()
        .map(|s| (s.x, s.y, s.count, s.share, s.ratio_to_mean))
        .collect()
}

#[pymethods]
impl PyQuality {
    #[getter]
    fn rows_read(&self) -> u64 {
        self.inner.rows_read
    }
    #[getter]
    fn rows_kept(&self) -> u64 {
        self.inner.rows_kept
    }
    /// (reason, rows) for every drop reason, zeros included, in the core's order.
    #[getter]
    fn dropped(&self) -> Vec<(String, u64)> {
        self.inner
            .dropped
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
    /// (reason, rows) of each repair.
    #[getter]
    fn repaired(&self) -> Vec<(String, u64)> {
        self.inner
            .repaired
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
    /// "keep", "flag" or "drop".
    #[getter]
    fn duplicate_policy(&self) -> &'static str {
        match self.inner.duplicate_policy {
            DuplicatePolicy::Keep => "keep",
            DuplicatePolicy::Flag => "flag",
            DuplicatePolicy::Drop => "drop",
        }
    }
    #[getter]
    fn duplicate_rows(&self) -> u64 {
        self.inner.duplicate_rows
    }
    #[getter]
    fn distinct_locations(&self) -> u64 {
        self.inner.distinct_locations
    }
    /// Geocoding spikes, largest first: (x, y, count, share, ratio_to_mean).
    #[getter]
    fn spikes(&self) -> Locations {
        locations(&self.inner.spikes)
    }
    /// The ten most frequent locations: (x, y, count, share, ratio_to_mean).
    #[getter]
    fn top_locations(&self) -> Locations {
        locations(&self.inner.top_locations)
    }
    #[getter]
    fn spike_rule(&self) -> String {
        self.inner.spike_rule.clone()
    }
    /// Time heaping; None when no row was kept.
    #[getter]
    fn heaping(&self) -> Option<PyHeaping> {
        self.inner.heaping.clone().map(PyHeaping::new)
    }
    /// First and last kept time (UTC seconds).
    #[getter]
    fn time_span(&self) -> Option<(i64, i64)> {
        self.inner.time_span
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "QualityReport", &*self.inner)
    }
}

#[pymethods]
impl PyHeaping {
    /// "local" or "UTC".
    #[getter]
    fn clock(&self) -> String {
        self.inner.clock.clone()
    }
    #[getter]
    fn share_midnight(&self) -> f64 {
        self.inner.share_midnight
    }
    #[getter]
    fn share_noon(&self) -> f64 {
        self.inner.share_noon
    }
    #[getter]
    fn share_on_the_hour(&self) -> f64 {
        self.inner.share_on_the_hour
    }
    #[getter]
    fn share_hour_0(&self) -> f64 {
        self.inner.share_hour_0
    }
    #[getter]
    fn share_hour_12(&self) -> f64 {
        self.inner.share_hour_12
    }
    #[getter]
    fn expected_exact_minute(&self) -> f64 {
        self.inner.expected_exact_minute
    }
    #[getter]
    fn expected_on_the_hour(&self) -> f64 {
        self.inner.expected_on_the_hour
    }
    #[getter]
    fn expected_hour(&self) -> f64 {
        self.inner.expected_hour
    }
    #[getter]
    fn minutes_missing(&self) -> bool {
        self.inner.minutes_missing
    }
    #[getter]
    fn date_only(&self) -> bool {
        self.inner.date_only
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "Heaping", &*self.inner)
    }
}

#[pymethods]
impl PyPopulationReport {
    #[getter]
    fn n_areas(&self) -> usize {
        self.inner.n_areas
    }
    /// Input population per group.
    #[getter]
    fn input_total<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.input_total.clone())
    }
    /// Population placed in active cells per group.
    #[getter]
    fn allocated_total<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.allocated_total.clone())
    }
    /// Rows (0-based) of areas that overlap no active cell.
    #[getter]
    fn areas_missing_grid(&self) -> Vec<usize> {
        self.inner.areas_missing_grid.clone()
    }
    /// (row, share of the area outside the active cells) of areas partly outside.
    #[getter]
    fn areas_partly_outside(&self) -> Vec<(usize, f64)> {
        self.inner.areas_partly_outside.clone()
    }
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "PopulationReport", &*self.inner)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyQuality>()?;
    m.add_class::<PyHeaping>()?;
    m.add_class::<PyPopulationReport>()?;
    m.add_class::<PyGiStar>()?;
    m.add_class::<PyEmerging>()?;
    m.add_class::<PyKnox>()?;
    m.add_class::<PyMannKendall>()?;
    m.add_class::<PyFeedbackVerdict>()?;
    m.add_class::<PyEnsign>()?;
    Ok(())
}
