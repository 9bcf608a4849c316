//! The crate's error type.
//!
//! Every fallible public function returns [`Result`]. Variants carry what a caller needs to fix
//! the input: which parameter, which row and column, which limit. The Python bindings map each
//! variant to one exception class in a single place (`src/python/error.rs`).

use std::fmt;

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in placewise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside its domain (zero bandwidth, coverage above 1, τ outside (0, 1]…).
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Name of the parameter as the caller spelled it.
        name: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A value in the input data is unusable.
    #[error("invalid data{}: column `{column}`: {reason}", RowSuffix(*.row))]
    DataValidation {
        /// 0-based row of the input, when one row is at fault.
        row: Option<usize>,
        /// Column (or field) at fault.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// An input that must hold at least one element holds none.
    #[error("empty input: {what}")]
    EmptyInput {
        /// Which input was empty, and why it matters.
        what: String,
    },
    /// A request would exceed a size limit; raised before anything is allocated.
    #[error("{what} is too large: {requested} requested, limit is {limit}")]
    TooLarge {
        /// What would be too large (e.g. "grid cells").
        what: String,
        /// The size requested.
        requested: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A model was used before `fit`.
    #[error("{what} is not fitted yet: call fit() first")]
    NotFitted {
        /// The model's name.
        what: String,
    },
    /// An iterative fit stopped at its iteration limit. Fitting functions that can return a
    /// partial result report non-convergence in their result instead; this variant is for
    /// callers that require convergence.
    #[error("did not converge after {iterations} iterations: {reason}")]
    NotConverged {
        /// Iterations run.
        iterations: usize,
        /// Which criterion was not met, with its last value.
        reason: String,
    },
    /// An optimisation problem has no feasible solution.
    #[error("infeasible constraint `{constraint}`: {reason}")]
    Infeasible {
        /// The binding constraint, named for the caller.
        constraint: String,
        /// Why it cannot be met.
        reason: String,
    },
    /// An audit policy blocked a result. Like geo's k-means error that carries the partial
    /// clustering, it carries the blocked plan so that it can be reviewed (never used as if
    /// accepted).
    #[error("audit policy violated: {}", .failed_checks.join("; "))]
    PolicyViolation {
        /// One line per failed check.
        failed_checks: Vec<String>,
        /// The plan the gate blocked, with its audits and decision (None when the check ran
        /// without a plan).
        blocked: Option<crate::audit::gate::Blocked>,
    },
    /// A hash-chained run log failed verification.
    #[error("run log verification failed at record {record}: {reason}")]
    LogVerification {
        /// 0-based index of the first bad record.
        record: usize,
        /// What did not match.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

struct RowSuffix(Option<usize>);

impl fmt::Display for RowSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, " at row {r}"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::DataValidation`].
    pub fn data(row: Option<usize>, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::DataValidation {
            row,
            column: column.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::EmptyInput`].
    pub fn empty(what: impl Into<String>) -> Self {
        Error::EmptyInput { what: what.into() }
    }
}

/// Checks that `value` is finite and strictly positive, naming `name` otherwise.
pub fn require_positive(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::param(
            name,
            format!("must be a finite number greater than 0, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_wrong() {
        let e = Error::data(Some(4), "latitude", "not a number");
        assert_eq!(
            e.to_string(),
            "invalid data at row 4: column `latitude`: not a number"
        );
        let e = Error::data(None, "t", "all missing");
        assert_eq!(e.to_string(), "invalid data: column `t`: all missing");
        let e = Error::TooLarge {
            what: "grid cells".into(),
            requested: 10,
            limit: 5,
        };
        assert!(e.to_string().contains("10 requested, limit is 5"));
    }

    #[test]
    fn require_positive_rejects_zero_nan_negative() {
        assert!(require_positive("h", 1.0).is_ok());
        for v in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = require_positive("bandwidth_m", v).unwrap_err();
            assert!(e.to_string().contains("bandwidth_m"));
        }
    }
}
