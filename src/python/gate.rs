//! Bindings for `crate::audit::gate`: one call allocates, audits and decides.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::audit::gate::{
    gate as core_gate, gate_shifts as core_gate_shifts, GateOptions, PopulationInput, ShiftInput,
};
use crate::audit::policy::{DataSummary, FeedbackSummary};
use crate::audit::{ConcentrationParams, DisparityParams, Reference};
use crate::python::allocate::{strategy, PyBudget};
use crate::python::audit::PyAuditPolicy;
use crate::python::results::{PyAuditedAllocation, PyAuditedPlan, PyOverride};
use crate::python::utils::{detached, to_vec_f64};
use crate::Error;

/// Audit parameters shared by `gate` and `gate_shifts`.
struct Audit {
    policy: Option<std::sync::Arc<crate::audit::AuditPolicy>>,
    override_: Option<crate::audit::gate::Override>,
    skip: Vec<String>,
    disparity: DisparityParams,
    concentration: ConcentrationParams,
    data: Option<DataSummary>,
    feedback: Option<FeedbackSummary>,
}

impl Audit {
    #[allow(clippy::too_many_arguments)]
    fn new(
        policy: Option<PyRef<'_, PyAuditPolicy>>,
        override_record: Option<PyRef<'_, PyOverride>>,
        skip_audits: Vec<String>,
        audit_reference: &str,
        bootstrap: usize,
        audit_seed: u64,
        concentration_seed: u64,
        simulations: usize,
        discovered_share: Option<f64>,
        feedback_verdict: Option<String>,
    ) -> Self {
        Audit {
            policy: policy.map(|p| p.inner.clone()),
            override_: override_record.map(|o| o.inner.clone()),
            skip: skip_audits,
            disparity: DisparityParams {
                reference: Reference::parse(audit_reference),
                bootstrap,
                seed: audit_seed,
                ..Default::default()
            },
            concentration: ConcentrationParams {
                simulations,
                seed: concentration_seed,
                ..Default::default()
            },
            data: discovered_share.map(|v| DataSummary {
                discovered_share: Some(v),
            }),
            feedback: feedback_verdict.map(|v| FeedbackSummary { verdict: Some(v) }),
        }
    }

    fn options(&self) -> GateOptions<'_> {
        GateOptions {
            policy: self.policy.as_deref(),
            override_: self.override_.clone(),
            skip_audits: self.skip.clone(),
            disparity: self.disparity.clone(),
            concentration: self.concentration.clone(),
            data: self.data.clone(),
            feedback: self.feedback.clone(),
        }
    }
}

type Pop = Option<(numpy::ndarray::Array2<f64>, Vec<String>)>;

fn population(
    counts: Option<PyReadonlyArray2<'_, f64>>,
    groups: Option<Vec<String>>,
) -> crate::Result<Pop> {
    match (counts, groups) {
        (None, None) => Ok(None),
        (Some(c), Some(g)) => Ok(Some((c.as_array().to_owned(), g))),
        _ => Err(Error::param(
            "population",
            "population counts and group names go together",
        )),
    }
}

/// Allocates, audits (disparity with a population, concentration with a policy) and decides;
/// raises PolicyViolation (with `.blocked`) when checks fail without an override.
#[pyfunction]
#[pyo3(signature = (risk, active, budget, strategy, *, epsilon=0.0, seed=None, tau=0.8,
                    reference=None, population=None, groups=None, incidents=None, areas=None,
                    policy=None, override_record=None, skip_audits=Vec::new(),
                    audit_reference="majority", bootstrap=1000, audit_seed=0,
                    concentration_seed=0, simulations=999, discovered_share=None,
                    feedback_verdict=None))]
#[allow(clippy::too_many_arguments)]
fn gate(
    py: Python<'_>,
    risk: PyReadonlyArray1<'_, f64>,
    active: PyReadonlyArray1<'_, bool>,
    budget: PyRef<'_, PyBudget>,
    strategy: &str,
    epsilon: f64,
    seed: Option<u64>,
    tau: f64,
    reference: Option<usize>,
    population: Option<PyReadonlyArray2<'_, f64>>,
    groups: Option<Vec<String>>,
    incidents: Option<PyReadonlyArray1<'_, f64>>,
    areas: Option<PyReadonlyArray1<'_, i64>>,
    policy: Option<PyRef<'_, PyAuditPolicy>>,
    override_record: Option<PyRef<'_, PyOverride>>,
    skip_audits: Vec<String>,
    audit_reference: &str,
    bootstrap: usize,
    audit_seed: u64,
    concentration_seed: u64,
    simulations: usize,
    discovered_share: Option<f64>,
    feedback_verdict: Option<String>,
) -> PyResult<PyAuditedAllocation> {
    let strat = self::strategy(strategy, epsilon, seed, tau, reference)?;
    let pop = self::population(population, groups)?;
    let risk = to_vec_f64(&risk);
    let active = active.as_array().to_vec();
    let incidents = incidents.map(|a| to_vec_f64(&a));
    let areas = areas.map(|a| a.as_array().to_vec());
    let b = budget.inner.clone();
    let audit = Audit::new(
        policy,
        override_record,
        skip_audits,
        audit_reference,
        bootstrap,
        audit_seed,
        concentration_seed,
        simulations,
        discovered_share,
        feedback_verdict,
    );
    let out = detached(py, move || {
        let mut input = crate::audit::gate::GateInput::new(&risk, &active, &b, &strat);
        input.population = pop.as_ref().map(|(c, g)| PopulationInput {
            counts: c.view(),
            groups: g,
        });
        input.incidents = incidents.as_deref();
        input.areas = areas.as_deref();
        core_gate(&input, &audit.options())
    })?;
    Ok(PyAuditedAllocation::new(out))
}

/// `gate` for several shifts at once (same grid, population and strategy): each shift and the
/// whole plan are audited and decided.
#[pyfunction]
#[pyo3(signature = (names, risks, budgets, active, strategy, *, incidents=None, epsilon=0.0,
                    seed=None, tau=0.8, reference=None, population=None, groups=None, areas=None,
                    policy=None, override_record=None, skip_audits=Vec::new(),
                    audit_reference="majority", bootstrap=1000, audit_seed=0,
                    concentration_seed=0, simulations=999, discovered_share=None,
                    feedback_verdict=None))]
#[allow(clippy::too_many_arguments)]
fn gate_shifts(
    py: Python<'_>,
    names: Vec<String>,
    risks: Vec<PyReadonlyArray1<'_, f64>>,
    budgets: Vec<PyRef<'_, PyBudget>>,
    active: PyReadonlyArray1<'_, bool>,
    strategy: &str,
    incidents: Option<Vec<PyReadonlyArray1<'_, f64>>>,
    epsilon: f64,
    seed: Option<u64>,
    tau: f64,
    reference: Option<usize>,
    population: Option<PyReadonlyArray2<'_, f64>>,
    groups: Option<Vec<String>>,
    areas: Option<PyReadonlyArray1<'_, i64>>,
    policy: Option<PyRef<'_, PyAuditPolicy>>,
    override_record: Option<PyRef<'_, PyOverride>>,
    skip_audits: Vec<String>,
    audit_reference: &str,
    bootstrap: usize,
    audit_seed: u64,
    concentration_seed: u64,
    simulations: usize,
    discovered_share: Option<f64>,
    feedback_verdict: Option<String>,
) -> PyResult<PyAuditedPlan> {
    let n = names.len();
    if risks.len() != n || budgets.len() != n || incidents.as_ref().is_some_and(|i| i.len() != n) {
        return Err(Error::param(
            "budgets",
            format!(
                "one name, surface and budget per shift is needed: {n} names, {} surfaces, {} budgets",
                risks.len(),
                budgets.len()
            ),
        )
        .into());
    }
    let strat = self::strategy(strategy, epsilon, seed, tau, reference)?;
    let pop = self::population(population, groups)?;
    let risks: Vec<Vec<f64>> = risks.iter().map(to_vec_f64).collect();
    let budgets: Vec<_> = budgets.iter().map(|b| b.inner.clone()).collect();
    let incidents: Option<Vec<Vec<f64>>> = incidents.map(|v| v.iter().map(to_vec_f64).collect());
    let active = active.as_array().to_vec();
    let areas = areas.map(|a| a.as_array().to_vec());
    let audit = Audit::new(
        policy,
        override_record,
        skip_audits,
        audit_reference,
        bootstrap,
        audit_seed,
        concentration_seed,
        simulations,
        discovered_share,
        feedback_verdict,
    );
    let out = detached(py, move || {
        let shifts: Vec<ShiftInput<'_>> = (0..n)
            .map(|i| ShiftInput {
                name: &names[i],
                risk: &risks[i],
                budget: &budgets[i],
                incidents: incidents.as_ref().map(|v| v[i].as_slice()),
            })
            .collect();
        let p = pop.as_ref().map(|(c, g)| PopulationInput {
            counts: c.view(),
            groups: g,
        });
        core_gate_shifts(
            &shifts,
            &active,
            &strat,
            p,
            areas.as_deref(),
            &audit.options(),
        )
    })?;
    Ok(PyAuditedPlan::new(out))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gate, m)?)?;
    m.add_function(wrap_pyfunction!(gate_shifts, m)?)?;
    Ok(())
}
