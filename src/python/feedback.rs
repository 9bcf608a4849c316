//! Bindings for `crate::audit::feedback`: a model to drive (`ModelSpec`), the simulation, and
//! its result (`FeedbackRun`, frozen, picklable; pandas frames are built in Python).

use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::allocate::{Budget, GroupCounts};
use crate::audit::feedback::{
    scale_rates, simulate, FeedbackParams, FeedbackRun, Scenario, Training,
};
use crate::models::{CellDistance, Model, NaiveParams, ProspectiveParams, RetrospectiveParams};
use crate::python::allocate::strategy;
use crate::python::models::kde_params;
use crate::python::space::PyGrid;
use crate::python::stat_results::PyFeedbackVerdict;
use crate::python::utils::{detached, owned, to_vec_f64};

/// An unfitted model the simulators refit on their own records (Naive, KDE, retrospective
/// or prospective hotspot), with the parameters of the matching Python estimator.
#[pyclass(name = "ModelSpec", module = "placewise._native", frozen)]
pub(crate) struct PyModelSpec {
    pub(crate) inner: Arc<dyn Model>,
    description: String,
}

#[pymethods]
impl PyModelSpec {
    /// The naive model (counts in a trailing window; None: every earlier incident).
    #[staticmethod]
    #[pyo3(signature = (window_days=None))]
    fn naive(window_days: Option<f64>) -> Self {
        let p = NaiveParams { window_days };
        PyModelSpec {
            description: format!("{p:?}"),
            inner: Arc::new(p),
        }
    }
    /// A KDE, with `KDEModel`'s keyword arguments.
    #[staticmethod]
    #[pyo3(signature = (*, kernel="gaussian", rule="fixed", bandwidth=250.0, bandwidths=None,
        k=None, min_bandwidth=1.0, mode="exact", cutoff=6.0, window_days=None,
        half_life_days=None, binning_order=None))]
    #[allow(clippy::too_many_arguments)]
    fn kde(
        kernel: &str,
        rule: &str,
        bandwidth: f64,
        bandwidths: Option<Vec<f64>>,
        k: Option<usize>,
        min_bandwidth: f64,
        mode: &str,
        cutoff: f64,
        window_days: Option<f64>,
        half_life_days: Option<f64>,
        binning_order: Option<usize>,
    ) -> PyResult<Self> {
        let p = kde_params(
            kernel,
            rule,
            bandwidth,
            bandwidths,
            k,
            min_bandwidth,
            mode,
            cutoff,
            window_days,
            half_life_days,
            binning_order,
        )?;
        Ok(PyModelSpec {
            description: format!("{p:?}"),
            inner: Arc::new(p),
        })
    }
    /// The retrospective hotspot map.
    #[staticmethod]
    #[pyo3(signature = (bandwidth=200.0, window_days=60.0))]
    fn retrospective(bandwidth: f64, window_days: f64) -> Self {
        let p = RetrospectiveParams {
            bandwidth_m: bandwidth,
            window_days,
        };
        PyModelSpec {
            description: format!("{p:?}"),
            inner: Arc::new(p),
        }
    }
    /// The prospective hotspot map.
    #[staticmethod]
    #[pyo3(signature = (bandwidth_cells=8.0, time_bandwidth_weeks=8.0, distance="linf"))]
    fn prospective(
        bandwidth_cells: f64,
        time_bandwidth_weeks: f64,
        distance: &str,
    ) -> PyResult<Self> {
        let p = ProspectiveParams {
            bandwidth_cells,
            time_bandwidth_weeks,
            distance: CellDistance::parse(distance)?,
        };
        Ok(PyModelSpec {
            description: format!("{p:?}"),
            inner: Arc::new(p),
        })
    }
    /// The model's name ("Naive", "KDE", ...).
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn __repr__(&self) -> String {
        format!("ModelSpec({})", self.description)
    }
}

/// Per-round trajectories of a feedback simulation (rows ordered by replicate, then round).
#[pyclass(name = "FeedbackRun", module = "placewise._native", frozen)]
pub(crate) struct PyFeedbackRun {
    pub(crate) inner: FeedbackRun,
}

fn u64s<'py>(py: Python<'py>, v: &[u64]) -> Bound<'py, PyArray1<u64>> {
    owned(py, v.to_vec())
}
fn f64s<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyArray1<f64>> {
    owned(py, v.to_vec())
}

#[pymethods]
impl PyFeedbackRun {
    /// Rebuilds a run from its columns (what pickling stores); checks that they fit together.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        rounds: usize,
        replicates: usize,
        n_groups: usize,
        replicate: PyReadonlyArray1<'_, u64>,
        round: PyReadonlyArray1<'_, u32>,
        tv_model: PyReadonlyArray1<'_, f64>,
        dose_in_true_top: PyReadonlyArray1<'_, f64>,
        gini_dose: PyReadonlyArray1<'_, f64>,
        occurred: PyReadonlyArray1<'_, u64>,
        recorded: PyReadonlyArray1<'_, u64>,
        discovered: PyReadonlyArray1<'_, u64>,
        recorded_rate: PyReadonlyArray1<'_, f64>,
        discovery_gap: PyReadonlyArray1<'_, f64>,
        config: String,
    ) -> PyResult<Self> {
        let inner = FeedbackRun {
            rounds,
            replicates,
            n_groups,
            replicate: replicate.as_array().to_vec(),
            round: round.as_array().to_vec(),
            tv_model: to_vec_f64(&tv_model),
            dose_in_true_top: to_vec_f64(&dose_in_true_top),
            gini_dose: to_vec_f64(&gini_dose),
            occurred: occurred.as_array().to_vec(),
            recorded: recorded.as_array().to_vec(),
            discovered: discovered.as_array().to_vec(),
            recorded_rate: to_vec_f64(&recorded_rate),
            discovery_gap: to_vec_f64(&discovery_gap),
            config,
        };
        inner.validate()?;
        Ok(PyFeedbackRun { inner })
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let r = &slf.get().inner;
        let args: Vec<Bound<'py, PyAny>> = vec![
            r.rounds.into_pyobject(py)?.into_any(),
            r.replicates.into_pyobject(py)?.into_any(),
            r.n_groups.into_pyobject(py)?.into_any(),
            u64s(py, &r.replicate).into_any(),
            owned(py, r.round.clone()).into_any(),
            f64s(py, &r.tv_model).into_any(),
            f64s(py, &r.dose_in_true_top).into_any(),
            f64s(py, &r.gini_dose).into_any(),
            u64s(py, &r.occurred).into_any(),
            u64s(py, &r.recorded).into_any(),
            u64s(py, &r.discovered).into_any(),
            f64s(py, &r.recorded_rate).into_any(),
            f64s(py, &r.discovery_gap).into_any(),
            r.config.as_str().into_pyobject(py)?.into_any(),
        ];
        Ok((
            slf.get_type().into_any(),
            PyTuple::new(py, args)?.into_any(),
        ))
    }
    /// Merges runs of disjoint replicates of one study (the same as running them at once).
    #[classmethod]
    fn combine(_cls: &Bound<'_, PyType>, runs: Vec<PyRef<'_, PyFeedbackRun>>) -> PyResult<Self> {
        let parts: Vec<FeedbackRun> = runs.iter().map(|r| r.inner.clone()).collect();
        Ok(PyFeedbackRun {
            inner: FeedbackRun::combine(&parts)?,
        })
    }
    /// The verdict under `runaway_delta`.
    fn verdict(&self, runaway_delta: f64) -> PyResult<PyFeedbackVerdict> {
        Ok(PyFeedbackVerdict::new(self.inner.verdict(runaway_delta)?))
    }
    #[getter]
    fn rounds(&self) -> usize {
        self.inner.rounds
    }
    #[getter]
    fn replicates(&self) -> usize {
        self.inner.replicates
    }
    #[getter]
    fn n_groups(&self) -> usize {
        self.inner.n_groups
    }
    #[getter]
    fn config(&self) -> &str {
        &self.inner.config
    }
    #[getter]
    fn replicate_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        owned(py, self.inner.replicate_ids())
    }
    #[getter]
    fn replicate<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        u64s(py, &self.inner.replicate)
    }
    #[getter]
    fn round<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        owned(py, self.inner.round.clone())
    }
    #[getter]
    fn tv_model<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        f64s(py, &self.inner.tv_model)
    }
    #[getter]
    fn dose_in_true_top<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        f64s(py, &self.inner.dose_in_true_top)
    }
    #[getter]
    fn gini_dose<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        f64s(py, &self.inner.gini_dose)
    }
    #[getter]
    fn occurred<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        u64s(py, &self.inner.occurred)
    }
    #[getter]
    fn recorded<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        u64s(py, &self.inner.recorded)
    }
    #[getter]
    fn discovered<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        u64s(py, &self.inner.discovered)
    }
    /// Recorded ÷ occurred per group, row-major (rows × n_groups); empty without groups.
    #[getter]
    fn recorded_rate<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        f64s(py, &self.inner.recorded_rate)
    }
    #[getter]
    fn discovery_gap<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        f64s(py, &self.inner.discovery_gap)
    }
    fn __len__(&self) -> usize {
        self.inner.replicate.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "FeedbackRun({} replicates × {} rounds; {})",
            self.inner.replicate_ids().len(),
            self.inner.rounds,
            self.inner.config
        )
    }
}

/// Runs the feedback simulation (see `crate::audit::feedback`) with the GIL released;
/// `true_rates` are relative and scaled to `incidents_per_round`; `threads`: a rayon pool of
/// that size (None: the global pool).
#[pyfunction]
#[pyo3(signature = (grid, true_rates, reporting_rate, model, *, incidents_per_round, strategy="top_k", units,
    per_cell_cap=1.0, shift_hours=None, epsilon=0.1, tau=0.8, reference=None, population=None,
    groups=None, rounds=100, replicates=50, warmup_rounds=4, history_rounds=None,
    training="all", discovery_rate=0.3, seed=0, replicate_ids=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn feedback_simulate(
    py: Python<'_>,
    grid: PyRef<'_, PyGrid>,
    true_rates: PyReadonlyArray1<'_, f64>,
    reporting_rate: PyReadonlyArray1<'_, f64>,
    model: PyRef<'_, PyModelSpec>,
    incidents_per_round: f64,
    strategy: &str,
    units: f64,
    per_cell_cap: f64,
    shift_hours: Option<f64>,
    epsilon: f64,
    tau: f64,
    reference: Option<usize>,
    population: Option<PyReadonlyArray2<'_, f64>>,
    groups: Option<Vec<String>>,
    rounds: usize,
    replicates: usize,
    warmup_rounds: usize,
    history_rounds: Option<usize>,
    training: &str,
    discovery_rate: f64,
    seed: u64,
    replicate_ids: Option<Vec<u64>>,
    threads: Option<usize>,
) -> PyResult<PyFeedbackRun> {
    // the randomized strategy's per-round seeds come from each replicate's stream
    let strat = self::strategy(strategy, epsilon, Some(0), tau, reference)?;
    let mut budget = Budget::new(units).with_per_cell_cap(per_cell_cap);
    if let Some(h) = shift_hours {
        budget = budget.with_shift_hours(h);
    }
    let params = FeedbackParams {
        rounds,
        replicates,
        warmup_rounds,
        history_rounds,
        training: Training::parse(training)?,
        discovery_rate,
        seed,
    };
    let pop = match (population, groups) {
        (None, None) => None,
        (Some(c), Some(g)) => Some((c.as_array().to_owned(), g)),
        _ => {
            return Err(crate::Error::param(
                "population",
                "population counts and group names go together",
            )
            .into())
        }
    };
    let g = grid.inner.clone();
    let rates = to_vec_f64(&true_rates);
    let report = to_vec_f64(&reporting_rate);
    let m = model.inner.clone();
    let run = detached(py, move || {
        let pop = pop.map(|(c, n)| GroupCounts::new(c, n)).transpose()?;
        let sc = Scenario::new(g, scale_rates(&rates, incidents_per_round)?, report, pop)?;
        let go = || {
            simulate(
                &sc,
                m.as_ref(),
                &strat,
                &budget,
                &params,
                replicate_ids.as_deref(),
            )
        };
        match threads {
            // a pool of its own: the result is the same whatever the thread count
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t.max(1))
                .build()
                .map_err(|e| crate::Error::param("workers", e.to_string()))?
                .install(go),
            None => go(),
        }
    })?;
    Ok(PyFeedbackRun { inner: run })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModelSpec>()?;
    m.add_class::<PyFeedbackRun>()?;
    m.add_function(wrap_pyfunction!(feedback_simulate, m)?)?;
    Ok(())
}
