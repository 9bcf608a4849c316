//! Bindings for `crate::allocate`.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::allocate::{
    allocate as core_allocate, allocate_shifts as core_shifts, Budget, Districts, FairParams,
    GroupCounts, Reference, Shift, Strategy,
};
use crate::python::results::PyAllocation;
use crate::python::utils::{detached, to_vec_f64};
use crate::Error;

/// A budget for one shift, with districts already resolved to active cells.
#[pyclass(name = "Budget", module = "placewise._native", frozen)]
pub(crate) struct PyBudget {
    pub(crate) inner: Budget,
}

#[pymethods]
impl PyBudget {
    #[new]
    #[pyo3(signature = (units, per_cell_cap=1.0, shift_hours=None, district_of_cell=None,
                        district_names=None, district_caps=None, district_minimums=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        units: f64,
        per_cell_cap: f64,
        shift_hours: Option<f64>,
        district_of_cell: Option<PyReadonlyArray1<'_, i64>>,
        district_names: Option<Vec<String>>,
        district_caps: Option<PyReadonlyArray1<'_, f64>>,
        district_minimums: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let districts = match (district_of_cell, district_names) {
            (None, None) => None,
            (Some(of), Some(names)) => {
                let k = names.len();
                let of_cell = of
                    .as_array()
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| match v {
                        -1 => Ok(None),
                        v if v >= 0 && (v as usize) < k => Ok(Some(v as usize)),
                        v => Err(Error::data(
                            Some(i),
                            "district",
                            format!("district index {v} is out of range 0..{k} (-1: none)"),
                        )),
                    })
                    .collect::<crate::Result<Vec<_>>>()?;
                // NaN caps mean "no cap".
                let caps = match district_caps {
                    Some(c) => to_vec_f64(&c)
                        .into_iter()
                        .map(|v| (!v.is_nan()).then_some(v))
                        .collect(),
                    None => vec![None; k],
                };
                let minimums = match district_minimums {
                    Some(m) => to_vec_f64(&m),
                    None => vec![0.0; k],
                };
                Some(Districts {
                    of_cell,
                    names,
                    caps,
                    minimums,
                })
            }
            _ => {
                return Err(Error::param(
                    "districts",
                    "district_of_cell and district_names go together",
                )
                .into())
            }
        };
        Ok(PyBudget {
            inner: Budget {
                units,
                per_cell_cap,
                shift_hours,
                districts,
            },
        })
    }
    #[getter]
    fn units(&self) -> f64 {
        self.inner.units
    }
    #[getter]
    fn per_cell_cap(&self) -> f64 {
        self.inner.per_cell_cap
    }
    /// Checks the budget against `n_cells` active cells.
    fn validate(&self, n_cells: usize) -> PyResult<()> {
        Ok(self.inner.validate(n_cells)?)
    }
}

pub(crate) fn strategy(
    name: &str,
    epsilon: f64,
    seed: Option<u64>,
    tau: f64,
    reference: Option<usize>,
) -> crate::Result<Strategy> {
    Ok(match name {
        "top_k" => Strategy::TopK,
        "proportional" => Strategy::Proportional,
        "randomized" => Strategy::Randomized {
            epsilon,
            seed: seed.ok_or_else(|| {
                Error::param(
                    "seed",
                    "randomized allocation needs an explicit seed (an integer ≥ 0)",
                )
            })?,
        },
        "fair" => Strategy::Fair(FairParams {
            tau,
            reference: reference.map_or(Reference::Average, Reference::Group),
        }),
        other => {
            return Err(Error::param(
                "strategy",
                format!(
                    "unknown strategy {other:?}; use \"top_k\", \"proportional\", \"randomized\" or \"fair\""
                ),
            ))
        }
    })
}

fn population(
    counts: Option<PyReadonlyArray2<'_, f64>>,
    groups: Option<Vec<String>>,
) -> crate::Result<Option<(numpy::ndarray::Array2<f64>, Vec<String>)>> {
    match (counts, groups) {
        (None, None) => Ok(None),
        (Some(c), Some(g)) => Ok(Some((c.as_array().to_owned(), g))),
        _ => Err(Error::param(
            "population",
            "population counts and group names go together",
        )),
    }
}

/// Allocates `budget` over the active cells' `risk` with `strategy` (no audit, no policy: see
/// `gate` for the guarded path).
#[pyfunction]
#[pyo3(signature = (risk, budget, strategy, *, epsilon=0.0, seed=None, tau=0.8, reference=None,
                    population=None, groups=None))]
#[allow(clippy::too_many_arguments)]
fn allocate<'py>(
    py: Python<'py>,
    risk: PyReadonlyArray1<'py, f64>,
    budget: PyRef<'py, PyBudget>,
    strategy: &str,
    epsilon: f64,
    seed: Option<u64>,
    tau: f64,
    reference: Option<usize>,
    population: Option<PyReadonlyArray2<'py, f64>>,
    groups: Option<Vec<String>>,
) -> PyResult<PyAllocation> {
    let strat = self::strategy(strategy, epsilon, seed, tau, reference)?;
    let pop = self::population(population, groups)?;
    let risk = to_vec_f64(&risk);
    let b = budget.inner.clone();
    let out = detached(py, move || {
        let pop = pop.map(|(c, g)| GroupCounts::new(c, g)).transpose()?;
        core_allocate(&risk, &b, &strat, pop.as_ref())
    })?;
    Ok(PyAllocation::new(out))
}

/// Allocates each shift (its own risk and budget) with one strategy, in parallel.
#[pyfunction]
#[pyo3(signature = (risks, budgets, strategy, *, epsilon=0.0, seed=None, tau=0.8, reference=None,
                    population=None, groups=None))]
#[allow(clippy::too_many_arguments)]
fn allocate_shifts<'py>(
    py: Python<'py>,
    risks: Vec<PyReadonlyArray1<'py, f64>>,
    budgets: Vec<PyRef<'py, PyBudget>>,
    strategy: &str,
    epsilon: f64,
    seed: Option<u64>,
    tau: f64,
    reference: Option<usize>,
    population: Option<PyReadonlyArray2<'py, f64>>,
    groups: Option<Vec<String>>,
) -> PyResult<Vec<PyAllocation>> {
    if risks.len() != budgets.len() {
        return Err(Error::param(
            "budgets",
            format!(
                "one budget per shift is needed: {} surfaces, {} budgets",
                risks.len(),
                budgets.len()
            ),
        )
        .into());
    }
    let strat = self::strategy(strategy, epsilon, seed, tau, reference)?;
    let pop = self::population(population, groups)?;
    let shifts: Vec<Shift> = risks
        .iter()
        .zip(&budgets)
        .map(|(r, b)| Shift {
            risk: to_vec_f64(r),
            budget: b.inner.clone(),
        })
        .collect();
    let out = detached(py, move || {
        let pop = pop.map(|(c, g)| GroupCounts::new(c, g)).transpose()?;
        core_shifts(&shifts, &strat, pop.as_ref())
    })?;
    Ok(out.into_iter().map(PyAllocation::new).collect())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBudget>()?;
    m.add_function(wrap_pyfunction!(allocate, m)?)?;
    m.add_function(wrap_pyfunction!(allocate_shifts, m)?)?;
    Ok(())
}
