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
    /// A request would exceed a size limit; raised before anything is allocated. Limits are
    /// set in one place, [`crate::limits`].
    #[error("too large: `{param}` asks for {requested} {what}, the limit is {limit}")]
    TooLarge {
        /// The parameter (or input) that sets the size, as the caller spelled it.
        param: String,
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
    #[error("could not use the file {path}: {}", IoWords(source))]
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

/// An I/O error in words ("it does not exist"), without the OS error number.
struct IoWords<'a>(&'a std::io::Error);

impl fmt::Display for IoWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::io::ErrorKind as K;
        let words = match self.0.kind() {
            K::NotFound => "it does not exist",
            K::PermissionDenied => "permission denied",
            K::AlreadyExists => "it already exists",
            K::IsADirectory => "it is a directory, not a file",
            K::NotADirectory => "a part of its path is not a directory",
            K::StorageFull => "the disk is full",
            K::ReadOnlyFilesystem => "the file system is read-only",
            K::InvalidData => "its content is not valid text",
            _ => {
                let s = self.0.to_string();
                return match s.find(" (os error") {
                    Some(i) => f.write_str(&s[..i]),
                    None => f.write_str(&s),
                };
            }
        };
        f.write_str(words)
    }
}

/// The error message of an OS error in words, for errors built outside [`Error::Io`].
pub fn io_words(e: &std::io::Error) -> String {
    IoWords(e).to_string()
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

    /// Shorthand for [`Error::TooLarge`].
    pub fn too_large(
        param: impl Into<String>,
        what: impl Into<String>,
        requested: u64,
        limit: u64,
    ) -> Self {
        Error::TooLarge {
            param: param.into(),
            what: what.into(),
            requested,
            limit,
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
        let e = Error::too_large("cell_size", "grid cells", 10, 5);
        assert_eq!(
            e.to_string(),
            "too large: `cell_size` asks for 10 grid cells, the limit is 5"
        );
    }

    #[test]
    fn io_errors_read_in_words() {
        let e = Error::Io {
            path: "/tmp/nope.toml".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            e.to_string(),
            "could not use the file /tmp/nope.toml: it does not exist"
        );
        let e = Error::Io {
            path: "x".into(),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert!(!e.to_string().contains("os error"), "{e}");
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
