//! Bindings for `crate::models::risk_factors`: features, the Poisson learner and the model.

use std::collections::BTreeMap;
use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::models::risk_factors::{
    build_features as core_build, fit_poisson as core_fit, future_counts as core_future,
    Dispersion, FeatureSpec, PointLayer, PoissonFit, PoissonParams, RelativeRisk, RiskFactorModel,
    RiskFactorParams,
};
use crate::python::data::PyIncidents;
use crate::python::space::PyGrid;
use crate::python::utils::{detached, owned, to_vec_f64};
use crate::Surface;

/// (name, x, y) of each layer.
type LayerArgs<'py> = Vec<(
    String,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, f64>,
)>;

fn layers(ls: LayerArgs<'_>) -> crate::Result<Vec<PointLayer>> {
    ls.into_iter()
        .map(|(n, x, y)| PointLayer::new(n, to_vec_f64(&x), to_vec_f64(&y)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn spec(
    windows_days: Vec<f64>,
    half_lives_days: Vec<f64>,
    neighbour_radii_m: Vec<f64>,
    neighbour_window_days: f64,
    near_repeat_radius_m: f64,
    near_repeat_days: f64,
    distance_cap_m: f64,
    density_bandwidth_m: f64,
) -> FeatureSpec {
    FeatureSpec {
        windows_days,
        half_lives_days,
        neighbour_radii_m,
        neighbour_window_days,
        near_repeat_radius_m,
        near_repeat_days,
        distance_cap_m,
        density_bandwidth_m,
    }
}

/// Features at each origin: (values (rows, features), names, units, active cell ids).
type FeatureOut<'py> = (
    Bound<'py, PyArray2<f64>>,
    Vec<String>,
    Vec<String>,
    Bound<'py, PyArray1<u64>>,
);

/// Features per (origin, active cell); see `crate::models::risk_factors::features`.
#[pyfunction]
#[pyo3(signature = (grid, incidents, origins, layers_=Vec::new(), *, windows_days=vec![7.0, 28.0, 91.0, 365.0],
    half_lives_days=Vec::new(), neighbour_radii_m=vec![300.0, 600.0], neighbour_window_days=365.0,
    near_repeat_radius_m=200.0, near_repeat_days=14.0, distance_cap_m=2000.0,
    density_bandwidth_m=400.0))]
#[allow(clippy::too_many_arguments)]
fn build_features<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    incidents: PyRef<'py, PyIncidents>,
    origins: Vec<i64>,
    layers_: LayerArgs<'py>,
    windows_days: Vec<f64>,
    half_lives_days: Vec<f64>,
    neighbour_radii_m: Vec<f64>,
    neighbour_window_days: f64,
    near_repeat_radius_m: f64,
    near_repeat_days: f64,
    distance_cap_m: f64,
    density_bandwidth_m: f64,
) -> PyResult<FeatureOut<'py>> {
    let ls = layers(layers_)?;
    let sp = spec(
        windows_days,
        half_lives_days,
        neighbour_radii_m,
        neighbour_window_days,
        near_repeat_radius_m,
        near_repeat_days,
        distance_cap_m,
        density_bandwidth_m,
    );
    let (g, inc) = (grid.inner.clone(), incidents.inner.clone());
    let f = detached(py, move || core_build(&g, &inc, &origins, &ls, &sp))?;
    let cells: Vec<u64> = f.cells.iter().map(|&c| c as u64).collect();
    Ok((
        PyArray2::from_owned_array(py, f.values),
        f.names,
        f.units,
        owned(py, cells),
    ))
}

/// Incident counts per active cell in `[o, o + horizon)` for each origin (row order of
/// `build_features`).
#[pyfunction]
fn future_counts<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    incidents: PyRef<'py, PyIncidents>,
    origins: Vec<i64>,
    horizon_days: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (g, inc) = (grid.inner.clone(), incidents.inner.clone());
    let y = detached(py, move || core_future(&g, &inc, &origins, horizon_days))?;
    Ok(owned(py, y))
}

/// A fitted penalised Poisson log-linear model.
#[pyclass(name = "PoissonFit", module = "placewise._native", frozen, get_all)]
struct PyPoissonFit {
    intercept: f64,
    coef: Vec<f64>,
    se_intercept: f64,
    se: Vec<f64>,
    dispersion: f64,
    dispersion_rule: String,
    iterations: usize,
    converged: bool,
    deviance: f64,
    null_deviance: f64,
    n: f64,
    alpha: f64,
}

impl From<&PoissonFit> for PyPoissonFit {
    fn from(f: &PoissonFit) -> Self {
        PyPoissonFit {
            intercept: f.intercept,
            coef: f.coef.clone(),
            se_intercept: f.se_intercept,
            se: f.se.clone(),
            dispersion: f.dispersion,
            dispersion_rule: f.dispersion_rule.name().into(),
            iterations: f.iterations,
            converged: f.converged,
            deviance: f.deviance,
            null_deviance: f.null_deviance,
            n: f.n,
            alpha: f.alpha,
        }
    }
}

fn poisson_params(
    alpha: f64,
    dispersion: &str,
    max_iter: usize,
    tol: f64,
) -> crate::Result<PoissonParams> {
    Ok(PoissonParams {
        alpha,
        max_iter,
        tol,
        dispersion: Dispersion::parse(dispersion)?,
        start: None,
    })
}

/// Fits `y ~ Poisson(exp(b0 + x b))` with an L2 penalty `alpha` (scikit-learn's scale);
/// `start` (intercept, then coefficients) warm-starts the Newton iterations.
#[pyfunction]
#[pyo3(signature = (x, y, weights=None, *, alpha=1e-4, dispersion="pearson", max_iter=100, tol=1e-16, start=None))]
#[allow(clippy::too_many_arguments)]
fn fit_poisson<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, f64>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    alpha: f64,
    dispersion: &str,
    max_iter: usize,
    tol: f64,
    start: Option<Vec<f64>>,
) -> PyResult<PyPoissonFit> {
    let p = PoissonParams {
        start,
        ..poisson_params(alpha, dispersion, max_iter, tol)?
    };
    let xv = x.as_array().to_owned();
    let yv = to_vec_f64(&y);
    let wv = weights.map(|w| to_vec_f64(&w));
    let f = detached(py, move || core_fit(xv.view(), &yv, wv.as_deref(), &p))?;
    Ok((&f).into())
}

/// One factor's relative risk with its confidence interval.
#[pyclass(name = "RelativeRisk", module = "placewise._native", frozen, get_all)]
struct PyRelativeRisk {
    name: String,
    unit: String,
    coef: f64,
    se: f64,
    relative_risk: f64,
    ci_low: f64,
    ci_high: f64,
}

impl From<RelativeRisk> for PyRelativeRisk {
    fn from(r: RelativeRisk) -> Self {
        PyRelativeRisk {
            name: r.name,
            unit: r.unit,
            coef: r.coef,
            se: r.se,
            relative_risk: r.relative_risk,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
        }
    }
}

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

/// A fitted risk-factor model.
#[pyclass(name = "RiskFactorModel", module = "placewise._native", frozen)]
struct PyRiskFactorModel {
    inner: Arc<RiskFactorModel>,
}

#[pymethods]
impl PyRiskFactorModel {
    #[new]
    #[pyo3(signature = (incidents, grid, layers_=Vec::new(), *, windows_days=vec![7.0, 28.0, 91.0, 365.0],
        half_lives_days=Vec::new(), neighbour_radii_m=vec![300.0, 600.0], neighbour_window_days=365.0,
        near_repeat_radius_m=200.0, near_repeat_days=14.0, distance_cap_m=2000.0,
        density_bandwidth_m=400.0, horizon_days=7.0, training_origins=8, alpha=1e-4,
        dispersion="pearson", max_iter=100, tol=1e-16, until=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        incidents: PyRef<'_, PyIncidents>,
        grid: PyRef<'_, PyGrid>,
        layers_: LayerArgs<'_>,
        windows_days: Vec<f64>,
        half_lives_days: Vec<f64>,
        neighbour_radii_m: Vec<f64>,
        neighbour_window_days: f64,
        near_repeat_radius_m: f64,
        near_repeat_days: f64,
        distance_cap_m: f64,
        density_bandwidth_m: f64,
        horizon_days: f64,
        training_origins: usize,
        alpha: f64,
        dispersion: &str,
        max_iter: usize,
        tol: f64,
        until: Option<i64>,
    ) -> PyResult<Self> {
        let params = RiskFactorParams {
            features: spec(
                windows_days,
                half_lives_days,
                neighbour_radii_m,
                neighbour_window_days,
                near_repeat_radius_m,
                near_repeat_days,
                distance_cap_m,
                density_bandwidth_m,
            ),
            horizon_days,
            training_origins,
            poisson: poisson_params(alpha, dispersion, max_iter, tol)?,
        };
        let ls = layers(layers_)?;
        let (inc, g) = (incidents.inner.clone(), grid.inner.clone());
        let m = detached(py, move || RiskFactorModel::fit(params, inc, g, ls, until))?;
        Ok(PyRiskFactorModel { inner: Arc::new(m) })
    }
    /// The Poisson fit.
    #[getter]
    fn fit(&self) -> PyPoissonFit {
        self.inner.poisson_fit().into()
    }
    /// Feature names in coefficient order.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.feature_names().to_vec()
    }
    /// Training origins (UTC seconds, oldest first).
    #[getter]
    fn origins(&self) -> Vec<i64> {
        self.inner.origins().to_vec()
    }
    /// Relative risk per unit of each factor with a Wald `confidence` interval.
    #[pyo3(signature = (confidence=0.95))]
    fn relative_risks(&self, confidence: f64) -> PyResult<Vec<PyRelativeRisk>> {
        Ok(self
            .inner
            .relative_risks(confidence)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
    /// Expected incidents per cell over `[at, at + horizon_days)`.
    #[pyo3(signature = (at=None, horizon_days=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        at: Option<i64>,
        horizon_days: Option<f64>,
    ) -> PyResult<Prediction<'py>> {
        let m = self.inner.clone();
        let s = detached(py, move || m.predict(at, horizon_days))?;
        Ok(prediction(py, s))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPoissonFit>()?;
    m.add_class::<PyRelativeRisk>()?;
    m.add_class::<PyRiskFactorModel>()?;
    m.add_function(wrap_pyfunction!(build_features, m)?)?;
    m.add_function(wrap_pyfunction!(future_counts, m)?)?;
    m.add_function(wrap_pyfunction!(fit_poisson, m)?)?;
    Ok(())
}
