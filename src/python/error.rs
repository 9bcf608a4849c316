//! Every core [`Error`] variant mapped to its exception class in `placewise.exceptions`, in one
//! `match`. Structured fields become attributes of the exception (`name`, `row`, `column`, …).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::audit::gate::Blocked;
use crate::error::Error;
use crate::python::results::{PyAuditedAllocation, PyAuditedPlan};

impl From<Error> for PyErr {
    fn from(mut err: Error) -> PyErr {
        // The blocked plan moves into the exception as its typed result class.
        let blocked = match &mut err {
            Error::PolicyViolation { blocked, .. } => blocked.take(),
            _ => None,
        };
        Python::attach(|py| {
            let e = build(py, &err).unwrap_or_else(|e| e);
            if let Some(b) = blocked {
                let obj = match b {
                    Blocked::Allocation(a) => {
                        Py::new(py, PyAuditedAllocation::new(*a)).map(Py::into_any)
                    }
                    Blocked::Plan(p) => Py::new(py, PyAuditedPlan::new(*p)).map(Py::into_any),
                };
                match obj {
                    Ok(o) => {
                        if let Err(x) = e.value(py).setattr("blocked", o) {
                            return x;
                        }
                    }
                    Err(x) => return x,
                }
            }
            e
        })
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let attrs = PyDict::new(py);
    let class = match err {
        Error::InvalidParameter { name, reason } => {
            attrs.set_item("name", name)?;
            attrs.set_item("reason", reason)?;
            "InvalidParameterError"
        }
        Error::DataValidation {
            row,
            column,
            reason,
        } => {
            attrs.set_item("row", *row)?;
            attrs.set_item("column", column)?;
            attrs.set_item("reason", reason)?;
            "DataValidationError"
        }
        Error::EmptyInput { what } => {
            attrs.set_item("what", what)?;
            "EmptyInputError"
        }
        Error::TooLarge {
            param,
            what,
            requested,
            limit,
        } => {
            attrs.set_item("name", param)?;
            attrs.set_item("what", what)?;
            attrs.set_item("requested", *requested)?;
            attrs.set_item("limit", *limit)?;
            "TooLargeError"
        }
        Error::NotFitted { what } => {
            attrs.set_item("what", what)?;
            "NotFittedError"
        }
        Error::NotConverged { iterations, reason } => {
            attrs.set_item("iterations", *iterations)?;
            attrs.set_item("reason", reason)?;
            "NotConvergedError"
        }
        Error::Infeasible { constraint, reason } => {
            attrs.set_item("constraint", constraint)?;
            attrs.set_item("reason", reason)?;
            "InfeasibleError"
        }
        Error::PolicyViolation { failed_checks, .. } => {
            attrs.set_item("failed_checks", failed_checks.clone())?;
            attrs.set_item("checks", failed_checks.clone())?;
            attrs.set_item("blocked", py.None())?;
            "PolicyViolation"
        }
        Error::LogVerification { record, reason } => {
            attrs.set_item("record", *record)?;
            attrs.set_item("reason", reason)?;
            "LogVerificationError"
        }
        Error::Io { path, source } => {
            attrs.set_item("filename", path)?;
            attrs.set_item("errno", source.raw_os_error())?;
            attrs.set_item("strerror", crate::error::io_words(source))?;
            "PlacewiseIOError"
        }
        #[allow(unreachable_patterns)]
        _ => return Ok(PyRuntimeError::new_err(err.to_string())),
    };
    let module = py.import("placewise.exceptions")?;
    let exc = module.getattr(class)?.call1((err.to_string(),))?;
    for (k, v) in attrs.iter() {
        exc.setattr(k.cast::<pyo3::types::PyString>()?, v)?;
    }
    Ok(PyErr::from_value(exc))
}

/// Raises the exception for every core error variant, for the hierarchy test.
#[pyfunction]
#[pyo3(signature = (kind))]
pub(crate) fn _raise_error(kind: &str) -> PyResult<()> {
    let err = match kind {
        "InvalidParameter" => Error::param("bandwidth", "must be > 0"),
        "DataValidation" => Error::data(Some(3), "latitude", "not a number"),
        "EmptyInput" => Error::empty("incidents"),
        "TooLarge" => Error::TooLarge {
            param: "cell_size".into(),
            what: "grid cells".into(),
            requested: 10,
            limit: 5,
        },
        "NotFitted" => Error::NotFitted { what: "KDE".into() },
        "NotConverged" => Error::NotConverged {
            iterations: 5,
            reason: "tolerance".into(),
        },
        "Infeasible" => Error::Infeasible {
            constraint: "group A".into(),
            reason: "r".into(),
        },
        "PolicyViolation" => Error::PolicyViolation {
            failed_checks: vec!["a".into(), "b".into()],
            blocked: None,
        },
        "LogVerification" => Error::LogVerification {
            record: 2,
            reason: "hash".into(),
        },
        "Io" => Error::Io {
            path: "x".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
        },
        other => return Err(Error::param("kind", format!("unknown kind {other:?}")).into()),
    };
    Err(err.into())
}
