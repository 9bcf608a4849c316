//! Numeric parameter domains of the estimators: one `const` table per estimator, in the spirit of
//! scikit-learn's `_parameter_constraints`. The table is what the estimator's validation checks
//! ([`check`]) and what the documentation lists (`placewise.models.parameter_constraints`), so
//! the two cannot drift apart. Choices among names (kernels, modes, rules) are parsed where they
//! are used; this module holds the numeric domains.
//!
//! ```
//! use placewise::constraints::{check, KDE};
//! assert!(check(KDE, "bandwidth", 150.0).is_ok());
//! let e = check(KDE, "bandwidth", -1.0).unwrap_err();
//! assert!(e.to_string().contains("`bandwidth`"));
//! ```

use crate::error::{Error, Result};

/// The set of values a numeric parameter may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Domain {
    /// A finite number greater than 0.
    Positive,
    /// A number greater than 0, `+∞` included (meaning "no limit").
    PositiveOrInfinite,
    /// A finite number greater than or equal to 0.
    NonNegative,
    /// An integer greater than or equal to the bound.
    IntegerAtLeast(u64),
}

impl Domain {
    /// The domain in words, as error messages and the documentation say it.
    pub fn describe(self) -> String {
        match self {
            Domain::Positive => "a finite number greater than 0".into(),
            Domain::PositiveOrInfinite => "a number greater than 0 (inf for no limit)".into(),
            Domain::NonNegative => "a finite number greater than or equal to 0".into(),
            Domain::IntegerAtLeast(lo) => format!("an integer at least {lo}"),
        }
    }

    /// Whether `v` lies in the domain.
    pub fn contains(self, v: f64) -> bool {
        match self {
            Domain::Positive => v.is_finite() && v > 0.0,
            Domain::PositiveOrInfinite => v > 0.0,
            Domain::NonNegative => v.is_finite() && v >= 0.0,
            Domain::IntegerAtLeast(lo) => v.is_finite() && v.fract() == 0.0 && v >= lo as f64,
        }
    }
}

/// One parameter of an estimator and its domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraint {
    /// The parameter's name, as the Python API spells it.
    pub name: &'static str,
    /// Its domain.
    pub domain: Domain,
    /// What it is, in a few words (with its unit).
    pub doc: &'static str,
}

impl Constraint {
    /// `v` when it lies in the domain, else an [`Error::InvalidParameter`] naming the parameter.
    pub fn check(&self, v: f64) -> Result<f64> {
        if self.domain.contains(v) {
            Ok(v)
        } else {
            Err(Error::param(
                self.name,
                format!("must be {}, got {v}", self.domain.describe()),
            ))
        }
    }
}

const fn c(name: &'static str, domain: Domain, doc: &'static str) -> Constraint {
    Constraint { name, domain, doc }
}

/// Kernel density estimation ([`crate::models::kde`]).
pub const KDE: &[Constraint] = &[
    c("bandwidth", Domain::Positive, "fixed bandwidth (m)"),
    c(
        "cutoff",
        Domain::PositiveOrInfinite,
        "kernel truncation radius (bandwidths)",
    ),
    c(
        "window_days",
        Domain::Positive,
        "trailing training window (days)",
    ),
    c(
        "half_life_days",
        Domain::Positive,
        "exponential-decay half-life (days)",
    ),
    c(
        "k",
        Domain::IntegerAtLeast(1),
        "neighbour rank of the adaptive bandwidth",
    ),
    c(
        "min_bandwidth",
        Domain::Positive,
        "floor of the adaptive bandwidth (m)",
    ),
];

/// The naive model: counts in a trailing window ([`crate::models::naive`]).
pub const NAIVE: &[Constraint] = &[c(
    "window_days",
    Domain::Positive,
    "trailing training window (days)",
)];

/// The retrospective hot spot map ([`crate::models::retrospective`]).
pub const RETROSPECTIVE: &[Constraint] = &[
    c("bandwidth", Domain::Positive, "bandwidth (m)"),
    c(
        "window_days",
        Domain::Positive,
        "trailing training window (days)",
    ),
];

/// Every estimator with a constraint table, by its Python class name.
pub const ESTIMATORS: &[(&str, &[Constraint])] = &[
    ("KDE", KDE),
    ("Naive", NAIVE),
    ("RetrospectiveHotspot", RETROSPECTIVE),
];

/// The table of an estimator by its Python class name.
pub fn table(estimator: &str) -> Result<&'static [Constraint]> {
    ESTIMATORS
        .iter()
        .find(|(n, _)| *n == estimator)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = ESTIMATORS.iter().map(|(n, _)| *n).collect();
            Error::param(
                "estimator",
                format!("no constraint table for {estimator:?}; tables: {names:?}"),
            )
        })
}

/// Checks `value` against the constraint on `name` in `table`.
///
/// # Panics
/// When `table` has no constraint on `name` (a programming error, caught by the tests of each
/// estimator).
pub fn check(table: &[Constraint], name: &str, value: f64) -> Result<f64> {
    table
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no constraint on {name:?} in this table"))
        .check(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_hold_what_they_say() {
        assert!(Domain::Positive.contains(1e-300) && !Domain::Positive.contains(0.0));
        assert!(!Domain::Positive.contains(f64::INFINITY) && !Domain::Positive.contains(f64::NAN));
        assert!(Domain::PositiveOrInfinite.contains(f64::INFINITY));
        assert!(!Domain::PositiveOrInfinite.contains(f64::NAN));
        assert!(Domain::NonNegative.contains(0.0) && !Domain::NonNegative.contains(-1e-300));
        assert!(
            Domain::IntegerAtLeast(1).contains(1.0) && !Domain::IntegerAtLeast(1).contains(0.0)
        );
        assert!(!Domain::IntegerAtLeast(1).contains(1.5));
    }

    #[test]
    fn every_table_names_each_parameter_once_and_errors_name_it() {
        for (est, t) in ESTIMATORS {
            for (i, c) in t.iter().enumerate() {
                assert!(t[..i].iter().all(|d| d.name != c.name), "{est}: {}", c.name);
                let e = c.check(f64::NAN).unwrap_err();
                match e {
                    Error::InvalidParameter { ref name, .. } => assert_eq!(name, c.name),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(table("SEPP").is_err());
    }
}
