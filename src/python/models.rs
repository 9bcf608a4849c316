//! Bindings for `crate::models`: Naive, KDE, retrospective and prospective hotspot models.
//!
//! Each native model is a frozen class holding the fitted core model; `predict(at)` releases the
//! GIL and returns `(values (ny, nx), params, (start, end), units)`, the values array taking
//! ownership of the core's buffer (no copy).

use std::collections::BTreeMap;
use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::models::{
    kde_grid as core_kde_grid, Bandwidth, CellDistance, Kde, KdeMode, KdeParams, Kernel, Naive,
    NaiveParams, ProspectiveHotspot, ProspectiveParams, RetrospectiveHotspot, RetrospectiveParams,
    WindowKernelSums,
};
use crate::python::data::PyIncidents;
use crate::python::space::PyGrid;
use crate::python::utils::{detached, owned, Reduced};
use crate::{Error, Surface};

/// What `predict` returns: values, parameters, window, units.
type Prediction<'py> = (
    Bound<'py, PyArray2<f64>>,
    BTreeMap<String, String>,
    Option<(i64, i64)>,
    String,
);

fn prediction(py: Python<'_>, s: Surface) -> Prediction<'_> {
    (
        PyArray2::from_owned_array(py, s.values),
        s.params,
        s.window,
        s.units,
    )
}

/// The incidents and grid a native model was fitted on, kept so that the model pickles as its
/// inputs and parameters.
struct FittedOn {
    incidents: Py<PyIncidents>,
    grid: Py<PyGrid>,
}

impl FittedOn {
    fn new(incidents: Bound<'_, PyIncidents>, grid: Bound<'_, PyGrid>) -> Self {
        FittedOn {
            incidents: incidents.unbind(),
            grid: grid.unbind(),
        }
    }
    fn pair<'py>(&self, py: Python<'py>) -> (Bound<'py, PyIncidents>, Bound<'py, PyGrid>) {
        (self.incidents.bind(py).clone(), self.grid.bind(py).clone())
    }
}

/// Naive model: counts per cell in a trailing window.
#[pyclass(name = "NaiveModel", module = "placewise._native", frozen)]
struct PyNaive {
    inner: Arc<Naive>,
    fitted_on: FittedOn,
    window_days: Option<f64>,
}

#[pymethods]
impl PyNaive {
    #[new]
    #[pyo3(signature = (incidents, grid, window_days=None))]
    fn new(
        incidents: Bound<'_, PyIncidents>,
        grid: Bound<'_, PyGrid>,
        window_days: Option<f64>,
    ) -> PyResult<Self> {
        let m = Naive::fit(
            NaiveParams { window_days },
            incidents.get().inner.clone(),
            grid.get().inner.clone(),
        )?;
        Ok(PyNaive {
            inner: Arc::new(m),
            fitted_on: FittedOn::new(incidents, grid),
            window_days,
        })
    }
    /// Pickles as its inputs and parameters (unpickling fits again: fits are deterministic).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let (py, m) = (slf.py(), slf.get());
        let (inc, grid) = m.fitted_on.pair(py);
        Ok((
            slf.get_type().into_any(),
            (inc, grid, m.window_days).into_pyobject(py)?,
        ))
    }
    /// The surface from incidents strictly before `at` (UTC seconds; None: after the last).
    #[pyo3(signature = (at=None))]
    fn predict<'py>(&self, py: Python<'py>, at: Option<i64>) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || m.predict(at))?;
        Ok(prediction(py, s))
    }
}

/// KDE parameters from the keyword arguments `KDEModel` takes (`rule` is "fixed", "scott",
/// "silverman", "cv" or "knn").
#[allow(clippy::too_many_arguments)]
pub(crate) fn kde_params(
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
) -> crate::Result<KdeParams> {
    let bandwidth = match rule {
        "fixed" => Bandwidth::Fixed(bandwidth),
        "scott" => Bandwidth::Scott,
        "silverman" => Bandwidth::Silverman,
        "cv" => Bandwidth::CrossValidated(bandwidths.ok_or_else(|| {
            Error::param("bandwidths", "cross-validation needs a list of bandwidths")
        })?),
        "knn" => Bandwidth::Knn {
            k: k.ok_or_else(|| Error::param("k", "the adaptive rule needs k"))?,
            min_m: min_bandwidth,
        },
        other => {
            return Err(Error::param(
                "bandwidth",
                format!("rule must be 'fixed', 'scott', 'silverman', 'cv' or 'knn', got {other:?}"),
            ))
        }
    };
    Ok(KdeParams {
        kernel: Kernel::parse(kernel)?,
        bandwidth,
        mode: KdeMode::parse(mode)?,
        cutoff,
        window_days,
        half_life_days,
        binning_order,
    })
}

/// A fitted kernel density estimate.
#[pyclass(name = "KDEModel", module = "placewise._native", frozen)]
struct PyKde {
    inner: Arc<Kde>,
    fitted_on: FittedOn,
    kwargs: Py<PyDict>,
}

#[pymethods]
impl PyKde {
    /// `rule` is "fixed" (uses `bandwidth`), "scott", "silverman", "cv" (uses `bandwidths`) or
    /// "knn" (uses `k` and `min_bandwidth`).
    #[new]
    #[pyo3(signature = (incidents, grid, *, kernel="gaussian", rule="fixed", bandwidth=250.0,
        bandwidths=None, k=None, min_bandwidth=1.0, mode="exact", cutoff=6.0, window_days=None,
        half_life_days=None, binning_order=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        incidents: Bound<'_, PyIncidents>,
        grid: Bound<'_, PyGrid>,
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
        let kwargs = PyDict::new(py);
        kwargs.set_item("kernel", kernel)?;
        kwargs.set_item("rule", rule)?;
        kwargs.set_item("bandwidth", bandwidth)?;
        kwargs.set_item("bandwidths", bandwidths.clone())?;
        kwargs.set_item("k", k)?;
        kwargs.set_item("min_bandwidth", min_bandwidth)?;
        kwargs.set_item("mode", mode)?;
        kwargs.set_item("cutoff", cutoff)?;
        kwargs.set_item("window_days", window_days)?;
        kwargs.set_item("half_life_days", half_life_days)?;
        kwargs.set_item("binning_order", binning_order)?;
        let params = kde_params(
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
        let inc = incidents.get().inner.clone();
        let g = grid.get().inner.clone();
        let m = detached(py, move || Kde::fit(params, inc, g))?;
        Ok(PyKde {
            inner: Arc::new(m),
            fitted_on: FittedOn::new(incidents, grid),
            kwargs: kwargs.unbind(),
        })
    }
    /// Pickles as its inputs and parameters (unpickling fits again: fits are deterministic).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let (py, m) = (slf.py(), slf.get());
        let (inc, grid) = m.fitted_on.pair(py);
        let partial = py
            .import("functools")?
            .getattr("partial")?
            .call((slf.get_type(),), Some(m.kwargs.bind(py)))?;
        Ok((partial, (inc, grid).into_pyobject(py)?))
    }
    /// The bandwidth used (m); the median per-incident bandwidth when adaptive.
    #[getter]
    fn bandwidth_m(&self) -> f64 {
        self.inner.bandwidth_m()
    }
    /// Per-incident bandwidths (m) for the adaptive rule, else None.
    #[getter]
    fn point_bandwidths<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner.point_bandwidths().map(|h| owned(py, h.to_vec()))
    }
    /// (bandwidth, leave-one-out log-likelihood) per candidate for the "cv" rule, else None.
    #[getter]
    fn cv_scores(&self) -> Option<Vec<(f64, f64)>> {
        self.inner.cv_scores().map(|s| s.to_vec())
    }
    /// The surface from incidents strictly before `at` (UTC seconds; None: after the last).
    #[pyo3(signature = (at=None))]
    fn predict<'py>(&self, py: Python<'py>, at: Option<i64>) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || m.predict(at))?;
        Ok(prediction(py, s))
    }
}

/// Retrospective hotspot map (quartic kernel over a moving window).
#[pyclass(name = "RetrospectiveModel", module = "placewise._native", frozen)]
struct PyRetrospective {
    inner: Arc<RetrospectiveHotspot>,
    fitted_on: FittedOn,
    params: (f64, f64),
}

#[pymethods]
impl PyRetrospective {
    #[new]
    #[pyo3(signature = (incidents, grid, bandwidth=200.0, window_days=60.0))]
    fn new(
        incidents: Bound<'_, PyIncidents>,
        grid: Bound<'_, PyGrid>,
        bandwidth: f64,
        window_days: f64,
    ) -> PyResult<Self> {
        let p = RetrospectiveParams {
            bandwidth_m: bandwidth,
            window_days,
        };
        let m =
            RetrospectiveHotspot::fit(p, incidents.get().inner.clone(), grid.get().inner.clone())?;
        Ok(PyRetrospective {
            inner: Arc::new(m),
            fitted_on: FittedOn::new(incidents, grid),
            params: (bandwidth, window_days),
        })
    }
    /// Pickles as its inputs and parameters (unpickling fits again: fits are deterministic).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let (py, m) = (slf.py(), slf.get());
        let (inc, grid) = m.fitted_on.pair(py);
        Ok((
            slf.get_type().into_any(),
            (inc, grid, m.params.0, m.params.1).into_pyobject(py)?,
        ))
    }
    #[pyo3(signature = (at=None))]
    fn predict<'py>(&self, py: Python<'py>, at: Option<i64>) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || m.predict(at))?;
        Ok(prediction(py, s))
    }
}

/// Prospective hotspot map (Bowers, Johnson & Pease 2004).
#[pyclass(name = "ProspectiveModel", module = "placewise._native", frozen)]
struct PyProspective {
    inner: Arc<ProspectiveHotspot>,
    fitted_on: FittedOn,
    params: (f64, f64, String),
}

#[pymethods]
impl PyProspective {
    #[new]
    #[pyo3(signature = (incidents, grid, bandwidth_cells=8.0, time_bandwidth_weeks=8.0,
        distance="linf"))]
    fn new(
        incidents: Bound<'_, PyIncidents>,
        grid: Bound<'_, PyGrid>,
        bandwidth_cells: f64,
        time_bandwidth_weeks: f64,
        distance: &str,
    ) -> PyResult<Self> {
        let p = ProspectiveParams {
            bandwidth_cells,
            time_bandwidth_weeks,
            distance: CellDistance::parse(distance)?,
        };
        let m =
            ProspectiveHotspot::fit(p, incidents.get().inner.clone(), grid.get().inner.clone())?;
        Ok(PyProspective {
            inner: Arc::new(m),
            fitted_on: FittedOn::new(incidents, grid),
            params: (bandwidth_cells, time_bandwidth_weeks, distance.to_string()),
        })
    }
    /// Pickles as its inputs and parameters (unpickling fits again: fits are deterministic).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let (py, m) = (slf.py(), slf.get());
        let (inc, grid) = m.fitted_on.pair(py);
        let (bc, tw, d) = &m.params;
        Ok((
            slf.get_type().into_any(),
            (inc, grid, *bc, *tw, d.as_str()).into_pyobject(py)?,
        ))
    }
    #[pyo3(signature = (at=None))]
    fn predict<'py>(&self, py: Python<'py>, at: Option<i64>) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || m.predict(at))?;
        Ok(prediction(py, s))
    }
}

/// One kernel sum of weighted points on `grid` (values per cell, shape (ny, nx)), and the
/// binning order used (None in exact mode).
#[pyfunction]
#[pyo3(signature = (grid, x, y, w, bandwidth, *, kernel="gaussian", mode="exact", cutoff=6.0,
    binning_order=None))]
#[allow(clippy::too_many_arguments)]
fn kde_grid<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    x: PyReadonlyArray1<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    w: PyReadonlyArray1<'py, f64>,
    bandwidth: f64,
    kernel: &str,
    mode: &str,
    cutoff: f64,
    binning_order: Option<usize>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Option<usize>)> {
    let kernel = Kernel::parse(kernel)?;
    let mode = KdeMode::parse(mode)?;
    let (xs, ys, ws) = (x.as_slice()?, y.as_slice()?, w.as_slice()?);
    let g = grid.inner.clone();
    let (v, order) = detached(py, move || {
        core_kde_grid(
            &g,
            xs,
            ys,
            ws,
            bandwidth,
            kernel,
            mode,
            cutoff,
            binning_order,
        )
    })?;
    Ok((PyArray2::from_owned_array(py, v), order))
}

/// The numeric parameter domains of an estimator (its constraint table): (name, domain in
/// words, what it is) per parameter.
#[pyfunction]
fn parameter_constraints(estimator: &str) -> PyResult<Vec<(&'static str, String, &'static str)>> {
    Ok(crate::constraints::table(estimator)?
        .iter()
        .map(|c| (c.name, c.domain.describe(), c.doc))
        .collect())
}

/// Exact fixed-bandwidth kernel sums over a trailing window, kept between calls so that
/// rolling origins cost only the incidents entering or leaving the window (results do not
/// depend on the origins asked before). Not picklable: a cache, rebuilt where it is used.
#[pyclass(name = "WindowKernelSums", module = "placewise._native", frozen)]
struct PyWindowKernelSums {
    inner: Arc<std::sync::Mutex<WindowKernelSums>>,
}

#[pymethods]
impl PyWindowKernelSums {
    #[new]
    #[pyo3(signature = (incidents, grid, *, bandwidth, window_days, kernel="gaussian", cutoff=6.0))]
    fn new(
        incidents: Bound<'_, PyIncidents>,
        grid: Bound<'_, PyGrid>,
        bandwidth: f64,
        window_days: f64,
        kernel: &str,
        cutoff: f64,
    ) -> PyResult<Self> {
        let m = WindowKernelSums::new(
            incidents.get().inner.clone(),
            grid.get().inner.clone(),
            Kernel::parse(kernel)?,
            bandwidth,
            cutoff,
            window_days,
        )
        .map_err(|e| match e {
            Error::InvalidParameter { name, reason } if name == "bandwidth_m" => {
                Error::param("bandwidth", reason)
            }
            e => e,
        })?;
        Ok(PyWindowKernelSums {
            inner: Arc::new(std::sync::Mutex::new(m)),
        })
    }
    /// The KDE surface at `at` (UTC seconds) from the incidents in `[at - window_days, at)`.
    fn predict<'py>(&self, py: Python<'py>, at: i64) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || {
            // a panic while holding the lock cannot leave a half-updated state that is reused:
            // the accumulator is rebuilt from scratch whenever the lock was poisoned
            let mut g = match m.lock() {
                Ok(g) => g,
                Err(p) => {
                    let mut g = p.into_inner();
                    g.reset();
                    g
                }
            };
            g.predict(at)
        })?;
        Ok(prediction(py, s))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parameter_constraints, m)?)?;
    m.add_class::<PyWindowKernelSums>()?;
    m.add_class::<PyNaive>()?;
    m.add_class::<PyKde>()?;
    m.add_class::<PyRetrospective>()?;
    m.add_class::<PyProspective>()?;
    m.add_function(wrap_pyfunction!(kde_grid, m)?)?;
    Ok(())
}
