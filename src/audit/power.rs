//! The power of a check: the smallest effect it could have detected, and whether a "pass" means
//! anything.
//!
//! A check compares a statistic with the distribution it would have under "no effect" (a
//! permutation or null simulation) or with the spread of its own bootstrap distribution. The
//! *minimum detectable effect* is the distance from the null value to the critical value at the
//! test's level: an effect smaller than that would not have been flagged. Normalised by the
//! distance from the null to a reference point (the largest possible value of the statistic,
//! or the edge of a band that flags a disparity),
//!
//! `mde_normalised = (critical − null) / (reference − null)`,
//!
//! the check is *informative* when `mde_normalised ≤ max_mde`. A check that found no effect
//! but could not have found one of the size that matters says "not informative at this
//! budget", never "pass" (Cohen 1988, ch. 1: a non-significant result from an underpowered
//! test is not evidence of no effect).
//!
//! # Examples
//! ```
//! use placewise::audit::power::{judge, Power, CheckVerdict};
//! // null 0, critical value 0.2, largest possible value 1: detectable at 20 % of the range
//! let p = Power::new(0.0, 0.2, 1.0, 0.5);
//! assert!(p.informative && (p.mde_normalised - 0.2).abs() < 1e-12);
//! assert_eq!(judge(false, p.informative), CheckVerdict::Pass);
//! assert_eq!(judge(false, Power::new(0.0, 0.8, 1.0, 0.5).informative), CheckVerdict::NotInformative);
//! ```

use serde::{Deserialize, Serialize};

/// The outcome of a check that states its power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    /// No effect beyond chance, and the check could have seen one of the size that matters.
    Pass,
    /// An effect beyond chance (or beyond the band).
    Fail,
    /// The check could not have failed at this budget and sample.
    NotInformative,
}

impl CheckVerdict {
    /// Stable snake_case label: `"pass"`, `"fail"` or `"not_informative"`.
    pub fn label(self) -> &'static str {
        match self {
            CheckVerdict::Pass => "pass",
            CheckVerdict::Fail => "fail",
            CheckVerdict::NotInformative => "not_informative",
        }
    }
}

/// The verdict of a check: a failure stands whatever the power; otherwise "pass" only when
/// the check was informative.
pub fn judge(failed: bool, informative: bool) -> CheckVerdict {
    if failed {
        CheckVerdict::Fail
    } else if informative {
        CheckVerdict::Pass
    } else {
        CheckVerdict::NotInformative
    }
}

/// Minimum detectable effect of a check, normalised, and whether the check is informative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Power {
    /// `(critical − null) / (reference − null)`; infinite when the reference is not beyond
    /// the null, NaN when the critical value is unknown.
    pub mde_normalised: f64,
    /// `mde_normalised ≤ max_mde` (false when it is NaN).
    pub informative: bool,
}

impl Power {
    /// Power of a check whose statistic is `null` without effect, `critical` at the test's
    /// level, and `reference` at the effect that matters (the largest possible value, a band
    /// edge); informative when the detectable effect is at most `max_mde` of the way there.
    pub fn new(null: f64, critical: f64, reference: f64, max_mde: f64) -> Power {
        let headroom = reference - null;
        let mde_normalised = if critical.is_nan() || headroom.is_nan() {
            f64::NAN
        } else if headroom > 0.0 {
            (critical - null) / headroom
        } else {
            f64::INFINITY
        };
        Power {
            mde_normalised,
            informative: mde_normalised <= max_mde,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_by_hand() {
        let p = Power::new(0.5, 0.6, 0.9, 0.5);
        assert!((p.mde_normalised - 0.25).abs() < 1e-12 && p.informative);
        let p = Power::new(0.5, 0.8, 0.9, 0.5);
        assert!((p.mde_normalised - 0.75).abs() < 1e-12 && !p.informative);
        // no headroom: nothing could be detected
        assert!(!Power::new(1.0, 1.0, 1.0, 0.5).informative);
        assert!(!Power::new(0.0, f64::NAN, 1.0, 0.5).informative);
    }

    #[test]
    fn failure_stands_whatever_the_power() {
        assert_eq!(judge(true, false), CheckVerdict::Fail);
        assert_eq!(judge(true, true), CheckVerdict::Fail);
        assert_eq!(judge(false, true), CheckVerdict::Pass);
        assert_eq!(judge(false, false), CheckVerdict::NotInformative);
    }
}
