//! Bindings for `crate::models::sepp`: fit, predict and simulate self-exciting point processes.

use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::models::sepp::{
    fit as core_fit, simulate as core_simulate, Background, BackgroundModel, SeppFit, SeppKind,
    SeppOptions, SeppParams, SimulationParams,
};
use crate::python::data::PyIncidents;
use crate::python::space::{PyGrid, PyRegion};
use crate::python::utils::{detached, owned};
use crate::Error;

/// A fitted SEPP model (see `placewise.SEPP`).
#[pyclass(name = "SeppFit", module = "placewise._native", frozen)]
pub(crate) struct PySeppFit {
    inner: Arc<SeppFit>,
}

#[pymethods]
impl PySeppFit {
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.label()
    }
    /// Branching ratio θ.
    #[getter]
    fn theta(&self) -> f64 {
        self.inner.params.theta
    }
    /// Decay rate ω, per day.
    #[getter]
    fn omega(&self) -> f64 {
        self.inner.params.omega_per_day
    }
    /// Spatial kernel s.d. σ, metres (NaN for the grid model).
    #[getter]
    fn sigma(&self) -> f64 {
        self.inner.params.sigma_m
    }
    /// Background rate per cell, events per day, shape (ny, nx).
    #[getter]
    fn mu<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let g = self.inner.grid();
        owned(py, self.inner.mu_per_day.clone()).reshape([g.ny(), g.nx()])
    }
    /// Total background rate, events per day.
    #[getter]
    fn background_rate(&self) -> f64 {
        self.inner.background_rate_per_day
    }
    #[getter]
    fn loglik(&self) -> f64 {
        self.inner.loglik
    }
    /// Log-likelihood at the start and after each iteration.
    #[getter]
    fn loglik_path<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        owned(py, self.inner.loglik_path.clone())
    }
    #[getter]
    fn n_iter(&self) -> usize {
        self.inner.n_iter
    }
    #[getter]
    fn converged(&self) -> bool {
        self.inner.converged
    }
    #[getter]
    fn reason(&self) -> String {
        self.inner.reason.clone()
    }
    #[getter]
    fn n_params(&self) -> usize {
        self.inner.n_params
    }
    #[getter]
    fn aic(&self) -> f64 {
        self.inner.aic
    }
    #[getter]
    fn triggered_share(&self) -> f64 {
        self.inner.triggered_share
    }
    #[getter]
    fn n_pairs(&self) -> u64 {
        self.inner.n_pairs
    }
    /// Largest share of an event's triggering kernel the E-step skipped (`trigger_tol`).
    #[getter]
    fn dropped_kernel_share(&self) -> f64 {
        self.inner.dropped_kernel_share
    }
    /// Training window (start, end), UTC seconds.
    #[getter]
    fn window(&self) -> (i64, i64) {
        self.inner.window
    }
    /// Expected events per cell in [at, at + horizon_s), shape (ny, nx).
    fn predict<'py>(
        &self,
        py: Python<'py>,
        at: i64,
        horizon_s: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let inner = self.inner.clone();
        let s = detached(py, move || inner.predict(at, horizon_s))?;
        Ok(PyArray2::from_owned_array(py, s.values))
    }
}

/// Fits a SEPP by EM.
#[pyfunction]
#[pyo3(signature = (incidents, grid, *, kind="space_time", background=None, bandwidth_m=None,
    background_k=15, min_bandwidth_m=10.0, trigger_tol=1e-5, time_cutoff_days=120.0,
    space_cutoff_m=500.0, min_sigma_m=1.0, max_iter=200, tol=1e-6, param_tol=1e-4, init=None,
    window=None, n_threads=None))]
#[allow(clippy::too_many_arguments)]
fn sepp_fit(
    py: Python<'_>,
    incidents: PyRef<'_, PyIncidents>,
    grid: PyRef<'_, PyGrid>,
    kind: &str,
    background: Option<&str>,
    bandwidth_m: Option<f64>,
    background_k: usize,
    min_bandwidth_m: f64,
    trigger_tol: f64,
    time_cutoff_days: f64,
    space_cutoff_m: f64,
    min_sigma_m: f64,
    max_iter: usize,
    tol: f64,
    param_tol: f64,
    init: Option<(f64, f64, f64)>,
    window: Option<(i64, i64)>,
    n_threads: Option<usize>,
) -> PyResult<PySeppFit> {
    let mut opts = SeppOptions::new(SeppKind::parse(kind)?);
    let background = background.unwrap_or(match opts.kind {
        SeppKind::Grid => "grid",
        SeppKind::SpaceTime => "knn",
    });
    opts.background = match (background, bandwidth_m) {
        ("grid", None) => BackgroundModel::Grid,
        ("knn", None) => BackgroundModel::Knn {
            k: background_k,
            min_bandwidth_m,
        },
        ("kde", Some(h)) => BackgroundModel::Kde { bandwidth_m: h },
        ("kde", None) => {
            return Err(
                Error::param("bandwidth_m", "background=\"kde\" needs a bandwidth_m").into(),
            )
        }
        ("grid" | "knn", Some(_)) => {
            return Err(Error::param("bandwidth_m", "applies to background=\"kde\" only").into())
        }
        (other, _) => {
            return Err(Error::param(
                "background",
                format!("must be \"knn\", \"grid\" or \"kde\", got {other:?}"),
            )
            .into())
        }
    };
    opts.time_cutoff_days = time_cutoff_days;
    opts.space_cutoff_m = space_cutoff_m;
    opts.trigger_tol = trigger_tol;
    opts.min_sigma_m = min_sigma_m;
    opts.max_iter = max_iter;
    opts.tol = tol;
    opts.param_tol = param_tol;
    opts.init = init.map(|(theta, omega_per_day, sigma_m)| SeppParams {
        theta,
        omega_per_day,
        sigma_m,
    });
    opts.window = window;
    opts.n_threads = n_threads;
    let inc = incidents.inner.clone();
    let g = grid.inner.clone();
    let f = detached(py, move || core_fit(&inc, g, &opts))?;
    Ok(PySeppFit { inner: Arc::new(f) })
}

/// Simulated events (x, y, t in days since the start, parent index or -1).
type Sim<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
);

/// Simulates a SEPP by its branching construction. Background: `rate_per_day` events per day
/// uniform over `region`, or `cell_rates` (shape (ny, nx), events per day per cell) on `grid`.
#[pyfunction]
#[pyo3(signature = (theta, omega, sigma, t_end_days, seed, *, region=None, rate_per_day=None,
    grid=None, cell_rates=None, time_cutoff_days=None, space_cutoff_m=None,
    max_events=50_000_000))]
#[allow(clippy::too_many_arguments)]
fn sepp_simulate<'py>(
    py: Python<'py>,
    theta: f64,
    omega: f64,
    sigma: f64,
    t_end_days: f64,
    seed: u64,
    region: Option<PyRef<'py, PyRegion>>,
    rate_per_day: Option<f64>,
    grid: Option<PyRef<'py, PyGrid>>,
    cell_rates: Option<PyReadonlyArray2<'py, f64>>,
    time_cutoff_days: Option<f64>,
    space_cutoff_m: Option<f64>,
    max_events: u64,
) -> PyResult<Sim<'py>> {
    let background = match (region, rate_per_day, grid, cell_rates) {
        (Some(r), Some(rate), None, None) => Background::Uniform {
            region: r.inner.clone(),
            rate_per_day: rate,
        },
        (_, None, Some(g), Some(rates)) => {
            let g = g.inner.clone();
            let a = rates.as_array();
            if a.dim() != (g.ny(), g.nx()) {
                return Err(Error::param(
                    "mu",
                    format!(
                        "shape {:?} does not match the grid's (ny, nx) = ({}, {})",
                        a.dim(),
                        g.ny(),
                        g.nx()
                    ),
                )
                .into());
            }
            Background::Cells {
                grid: g,
                rate_per_day: a.iter().copied().collect(),
            }
        }
        _ => {
            return Err(Error::param(
                "mu",
                "give either a total rate with a region, or per-cell rates with a grid",
            )
            .into())
        }
    };
    let p = SimulationParams {
        theta,
        omega_per_day: omega,
        sigma_m: sigma,
        time_cutoff_days,
        space_cutoff_m,
    };
    let s = detached(py, move || {
        core_simulate(&p, &background, t_end_days, seed, max_events)
    })?;
    Ok((
        owned(py, s.x),
        owned(py, s.y),
        owned(py, s.t_days),
        owned(py, s.parent),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySeppFit>()?;
    m.add_function(wrap_pyfunction!(sepp_fit, m)?)?;
    m.add_function(wrap_pyfunction!(sepp_simulate, m)?)?;
    Ok(())
}
