//! Bindings for `crate::stats`: Gi*, multiple-testing corrections, Mann–Kendall, emerging hot
//! spots, Knox. Gi*, emerging hot spots and Knox return the typed result classes of
//! `stat_results.rs`; `python/placewise/stats.py` builds the user-facing objects from them.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::python::data::PyIncidents;
use crate::python::space::PyGrid;
use crate::python::stat_results::{PyEmerging, PyGiStar, PyKnox, PyMannKendall};
use crate::python::utils::{detached, owned, to_vec_f64};
use crate::stats::{
    adjust, emerging_hotspots as core_emerging, gi_star as core_gi_star, knox as core_knox,
    mann_kendall as core_mann_kendall, Band, Correction, EmergingCategory, EmergingParams,
    GiStarParams, GiWeights, KnoxMethod, KnoxParams,
};
use crate::Error;

fn correction(name: Option<&str>) -> crate::Result<Correction> {
    Correction::parse(name.unwrap_or("none"))
}

fn permutations(p: i64) -> crate::Result<usize> {
    if p < 1 {
        return Err(Error::param(
            "permutations",
            format!("must be at least 1, got {p}"),
        ));
    }
    Ok(p as usize)
}

fn seed(s: i64) -> crate::Result<u64> {
    if s < 0 {
        return Err(Error::param("seed", format!("must be >= 0, got {s}")));
    }
    Ok(s as u64)
}

/// Getis–Ord Gi* on a (ny, nx) array of values over the grid's active cells.
#[pyfunction]
#[pyo3(signature = (values, grid, distance, weights="binary", permutations=None, seed=0, correction=None))]
#[allow(clippy::too_many_arguments)]
fn gi_star<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, f64>,
    grid: PyRef<'py, PyGrid>,
    distance: f64,
    weights: &str,
    permutations: Option<i64>,
    seed: i64,
    correction: Option<&str>,
) -> PyResult<PyGiStar> {
    let g = grid.inner.clone();
    let shape = values.as_array().dim();
    if shape != (g.ny(), g.nx()) {
        return Err(Error::param(
            "counts",
            format!(
                "shape {:?} does not match the grid's (ny, nx) = ({}, {})",
                shape,
                g.ny(),
                g.nx()
            ),
        )
        .into());
    }
    let v: Vec<f64> = values.as_array().iter().copied().collect();
    let params = GiStarParams {
        distance_m: distance,
        weights: GiWeights::parse(weights)?,
        permutations: permutations.map(self::permutations).transpose()?,
        seed: self::seed(seed)?,
        correction: self::correction(correction)?,
    };
    detached(py, move || core_gi_star(&v, &g, &params)).map(PyGiStar::new)
}

/// Adjusted p-values: method "fdr_bh", "holm" or "none".
#[pyfunction]
fn adjust_p<'py>(
    py: Python<'py>,
    p: PyReadonlyArray1<'py, f64>,
    method: &str,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let c = Correction::parse(method)?;
    let v = to_vec_f64(&p);
    let out = detached(py, move || adjust(&v, c))?;
    Ok(owned(py, out))
}

/// Mann–Kendall test.
#[pyfunction]
fn mann_kendall(x: PyReadonlyArray1<'_, f64>) -> PyResult<PyMannKendall> {
    Ok(PyMannKendall::new(core_mann_kendall(&to_vec_f64(&x))?))
}

/// Labels of the emerging hot spot categories, by code.
#[pyfunction]
fn emerging_categories() -> Vec<&'static str> {
    EmergingCategory::ALL.iter().map(|c| c.label()).collect()
}

/// Emerging hot spot analysis on a space–time cube of incidents.
#[pyfunction]
#[pyo3(signature = (incidents, grid, step_s, distance, start=None, end=None, time_steps=1, alpha=0.1, correction=None, threshold=0.9))]
#[allow(clippy::too_many_arguments)]
fn emerging_hotspots<'py>(
    py: Python<'py>,
    incidents: PyRef<'py, PyIncidents>,
    grid: PyRef<'py, PyGrid>,
    step_s: i64,
    distance: f64,
    start: Option<i64>,
    end: Option<i64>,
    time_steps: i64,
    alpha: f64,
    correction: Option<&str>,
    threshold: f64,
) -> PyResult<PyEmerging> {
    if time_steps < 0 {
        return Err(Error::param("time_steps", format!("must be >= 0, got {time_steps}")).into());
    }
    let params = EmergingParams {
        step_s,
        start,
        end,
        distance_m: distance,
        time_steps: time_steps as usize,
        alpha,
        correction: self::correction(correction)?,
        threshold,
    };
    let inc = incidents.inner.clone();
    let g = grid.inner.clone();
    detached(py, move || core_emerging(&inc, &g, &params)).map(PyEmerging::new)
}

/// Knox near-repeat table; bands are (lo, hi) pairs in metres and days.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (incidents, space_bands, time_bands, permutations=999, seed=0, max_pairs=250_000_000, method="auto"))]
fn knox<'py>(
    py: Python<'py>,
    incidents: PyRef<'py, PyIncidents>,
    space_bands: Vec<(f64, f64)>,
    time_bands: Vec<(f64, f64)>,
    permutations: i64,
    seed: i64,
    max_pairs: u64,
    method: &str,
) -> PyResult<PyKnox> {
    let mut params = KnoxParams::new(
        space_bands.iter().map(|&(a, b)| Band::new(a, b)).collect(),
        time_bands.iter().map(|&(a, b)| Band::new(a, b)).collect(),
    );
    params.permutations = self::permutations(permutations)?;
    params.seed = self::seed(seed)?;
    params.max_pairs = max_pairs;
    params.method = match method {
        "auto" => KnoxMethod::Auto,
        "pairs" => KnoxMethod::PairList,
        "sweep" => KnoxMethod::Sweep,
        other => {
            return Err(Error::param(
                "method",
                format!("must be 'auto', 'pairs' or 'sweep', got {other:?}"),
            )
            .into())
        }
    };
    let inc = incidents.inner.clone();
    detached(py, move || core_knox(&inc, &params)).map(PyKnox::new)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gi_star, m)?)?;
    m.add_function(wrap_pyfunction!(adjust_p, m)?)?;
    m.add_function(wrap_pyfunction!(mann_kendall, m)?)?;
    m.add_function(wrap_pyfunction!(emerging_categories, m)?)?;
    m.add_function(wrap_pyfunction!(emerging_hotspots, m)?)?;
    m.add_function(wrap_pyfunction!(knox, m)?)?;
    Ok(())
}
