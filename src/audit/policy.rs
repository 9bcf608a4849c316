//! Audit policy: thresholds an allocation must meet, read from a TOML file, checked against an
//! audit summary.
//!
//! Unknown keys are an error that names the key (serde `deny_unknown_fields`), so a misspelt
//! threshold can never be silently ignored. A section left out of the file is not checked; a
//! section present in the file but missing from the summary fails ("not audited") unless that
//! section's `if_missing` (or the policy-wide `missing_audit`) says `"skip"`, and every skip is
//! recorded ([`SkippedAudit`]). The default policy ships with the Python package
//! (`placewise/audit/policy.toml`, copied at `audits/policy.toml`): it fails a missing
//! disparity audit, so leaving the population out never passes silently.
//!
//! # Examples
//! ```
//! use placewise::audit::{AuditPolicy, AuditSummary};
//! let policy = AuditPolicy::from_toml_str("[data]\nmax_discovered_share = 0.2\n").unwrap();
//! let summary: AuditSummary =
//!     serde_json::from_str(r#"{"data": {"discovered_share": 0.35}}"#).unwrap();
//! let failed = policy.check(&summary);
//! assert_eq!(failed.len(), 1);
//! assert!(AuditPolicy::from_toml_str("[data]\nmax_discoverd_share = 0.2\n").is_err());
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The thresholds. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPolicy {
    /// Free text naming the policy (shown in reports and logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What a section of the policy does when the summary lacks its audit (default: fail).
    #[serde(default)]
    pub missing_audit: MissingAudit,
    /// Exposure-ratio band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disparity: Option<DisparityPolicy>,
    /// Concentration over the random baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concentration: Option<ConcentrationPolicy>,
    /// Training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataPolicy>,
    /// Feedback audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackPolicy>,
    /// Where the policy was read from (a path, or a package resource), for the decision
    /// record; never read from the file itself.
    #[serde(skip)]
    pub source: Option<String>,
}

/// What happens when the policy has a section but the summary lacks that audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingAudit {
    /// The check fails ("not audited").
    #[default]
    Fail,
    /// The check is skipped; [`AuditPolicy::evaluate`] records it as a [`SkippedAudit`].
    Skip,
}

/// The audit sections a policy can check, by name.
pub const SECTIONS: [&str; 4] = ["disparity", "concentration", "data", "feedback"];

/// A policy check that was not applied, and why: recorded in every decision so that a skip is
/// never silent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAudit {
    /// The section ("disparity", "concentration", "data", "feedback").
    pub audit: String,
    /// Why it was not checked, in words.
    pub reason: String,
    /// True when the caller asked for the skip (`skip_audits`); false when the policy's
    /// `if_missing = "skip"` let a missing audit pass unchecked.
    pub by_caller: bool,
}

/// The outcome of [`AuditPolicy::evaluate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// One plain sentence per failed check; empty when the summary passes.
    pub failed_checks: Vec<String>,
    /// Checks not applied, with the reason.
    pub skipped: Vec<SkippedAudit>,
}

/// Checks `skip` names known sections, naming the bad one.
pub fn check_skip_names(skip: &[String]) -> Result<()> {
    for s in skip {
        if !SECTIONS.contains(&s.as_str()) {
            return Err(Error::param(
                "skip_audits",
                format!(
                    "unknown audit {s:?}; audits that can be skipped are {}",
                    SECTIONS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Which ratio the band applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareTo {
    /// Ratio to the reference group.
    #[default]
    Reference,
    /// Ratio to the overall rate.
    Overall,
}

/// `[disparity]`: every group's exposure ratio must lie in [ratio_min, ratio_max].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisparityPolicy {
    /// Lowest accepted ratio, in (0, 1].
    pub ratio_min: f64,
    /// Highest accepted ratio, ≥ 1.
    pub ratio_max: f64,
    /// Ratio to the reference group or to the overall rate.
    #[serde(default)]
    pub compare_to: CompareTo,
    /// When true, the whole bootstrap interval must lie in the band (stricter); when false,
    /// the point estimate.
    #[serde(default)]
    pub use_interval: bool,
    /// What this check does when its audit is missing; unset: the policy's `missing_audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_missing: Option<MissingAudit>,
}

/// Level at which concentration is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Across grid cells.
    #[default]
    Cells,
    /// Across areas.
    Areas,
}

/// `[concentration]`: Gini minus the mean Gini of random allocations of the same budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcentrationPolicy {
    /// Highest accepted excess Gini, in [-1, 1].
    pub max_gini_over_baseline: f64,
    /// Cells or areas.
    #[serde(default)]
    pub level: Level,
    /// What this check does when its audit is missing; unset: the policy's `missing_audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_missing: Option<MissingAudit>,
}

/// `[data]`: the training data's origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPolicy {
    /// Highest accepted share of police-discovered incidents in the training data, in [0, 1].
    pub max_discovered_share: f64,
    /// What this check does when its audit is missing; unset: the policy's `missing_audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_missing: Option<MissingAudit>,
}

/// Verdicts a feedback audit can be required to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredVerdict {
    /// The loop learns the truth.
    Converges,
    /// Anything but a runaway ("converges" or "biased").
    NotRunaway,
}

/// `[feedback]`: the verdict the feedback audit must reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackPolicy {
    /// Required verdict.
    pub required_verdict: RequiredVerdict,
    /// What this check does when its audit is missing; unset: the policy's `missing_audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_missing: Option<MissingAudit>,
}

/// What the audits found, in the shape the policy checks. The gate builds it from the audit
/// results ([`AuditSummary::from_results`]); it can also be read from JSON (unknown fields are
/// ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditSummary {
    /// Disparity results.
    #[serde(default)]
    pub disparity: Option<DisparitySummary>,
    /// Concentration results.
    #[serde(default)]
    pub concentration: Option<ConcentrationSummary>,
    /// Data provenance results.
    #[serde(default)]
    pub data: Option<DataSummary>,
    /// Feedback audit results.
    #[serde(default)]
    pub feedback: Option<FeedbackSummary>,
}

/// Ratios by group (None: undefined).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DisparitySummary {
    /// Ratio to the reference group.
    #[serde(default)]
    pub ratio_to_reference: BTreeMap<String, Option<f64>>,
    /// Ratio to the overall rate.
    #[serde(default)]
    pub ratio_to_overall: BTreeMap<String, Option<f64>>,
    /// Bootstrap interval of the ratio to the reference.
    #[serde(default)]
    pub ratio_to_reference_ci: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// Bootstrap interval of the ratio to the overall rate.
    #[serde(default)]
    pub ratio_to_overall_ci: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// The reference group the ratios are taken to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Excess Gini at each level.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConcentrationSummary {
    /// Across cells.
    #[serde(default)]
    pub cells_gini_over_baseline: Option<f64>,
    /// Across areas.
    #[serde(default)]
    pub areas_gini_over_baseline: Option<f64>,
}

/// Share of discovered incidents in the training data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataSummary {
    /// In [0, 1].
    #[serde(default)]
    pub discovered_share: Option<f64>,
}

/// Verdict of a feedback audit ("converges", "biased", "runaway").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedbackSummary {
    /// The verdict.
    #[serde(default)]
    pub verdict: Option<String>,
}

/// The key named in a serde "unknown field" / "unknown variant" message, if any.
fn key_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_string())
}

impl AuditPolicy {
    /// Parses and validates a policy written in TOML. An unknown key is an error naming it.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let p: AuditPolicy = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let name = key_in(&msg).unwrap_or_else(|| "policy".to_string());
            Error::param(
                name,
                format!("in the policy file: {}", e.to_string().trim()),
            )
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Parses and validates a policy given as JSON (the same keys as the TOML file).
    pub fn from_json_str(text: &str) -> Result<Self> {
        let p: AuditPolicy = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let name = key_in(&msg).unwrap_or_else(|| "policy".to_string());
            Error::param(name, format!("in the policy: {msg}"))
        })?;
        p.validate()?;
        Ok(p)
    }

    /// Reads a TOML policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut p = Self::from_toml_str(&text)?;
        p.source = Some(path.display().to_string());
        Ok(p)
    }

    /// Checks every threshold's domain, naming the key at fault.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.disparity {
            if !(d.ratio_min.is_finite() && d.ratio_min > 0.0 && d.ratio_min <= 1.0) {
                return Err(Error::param(
                    "disparity.ratio_min",
                    format!("must lie in (0, 1], got {}", d.ratio_min),
                ));
            }
            if !(d.ratio_max.is_finite() && d.ratio_max >= 1.0) {
                return Err(Error::param(
                    "disparity.ratio_max",
                    format!("must be finite and >= 1, got {}", d.ratio_max),
                ));
            }
        }
        if let Some(c) = &self.concentration {
            if !(c.max_gini_over_baseline.is_finite() && c.max_gini_over_baseline.abs() <= 1.0) {
                return Err(Error::param(
                    "concentration.max_gini_over_baseline",
                    format!("must lie in [-1, 1], got {}", c.max_gini_over_baseline),
                ));
            }
        }
        if let Some(d) = &self.data {
            if !(0.0..=1.0).contains(&d.max_discovered_share) {
                return Err(Error::param(
                    "data.max_discovered_share",
                    format!("must lie in [0, 1], got {}", d.max_discovered_share),
                ));
            }
        }
        Ok(())
    }

    /// Sections of the policy whose audit the summary lacks.
    pub fn missing(&self, s: &AuditSummary) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.disparity.is_some() && s.disparity.is_none() {
            out.push("disparity");
        }
        if let Some(p) = &self.concentration {
            let v = s.concentration.as_ref().and_then(|c| match p.level {
                Level::Cells => c.cells_gini_over_baseline,
                Level::Areas => c.areas_gini_over_baseline,
            });
            if v.is_none() {
                out.push("concentration");
            }
        }
        if self.data.is_some() && s.data.as_ref().and_then(|d| d.discovered_share).is_none() {
            out.push("data");
        }
        if self.feedback.is_some()
            && s.feedback
                .as_ref()
                .and_then(|f| f.verdict.as_ref())
                .is_none()
        {
            out.push("feedback");
        }
        out
    }

    /// The failed checks, one plain sentence each; empty when the summary passes (see
    /// [`AuditPolicy::evaluate`]).
    pub fn check(&self, s: &AuditSummary) -> Vec<String> {
        self.evaluate(s, &[]).failed_checks
    }

    /// Whether a missing audit of `section` fails or is skipped: the section's `if_missing`,
    /// else the policy's `missing_audit`.
    pub fn if_missing(&self, section: &str) -> MissingAudit {
        let own = match section {
            "disparity" => self.disparity.as_ref().and_then(|p| p.if_missing),
            "concentration" => self.concentration.as_ref().and_then(|p| p.if_missing),
            "data" => self.data.as_ref().and_then(|p| p.if_missing),
            "feedback" => self.feedback.as_ref().and_then(|p| p.if_missing),
            _ => None,
        };
        own.unwrap_or(self.missing_audit)
    }

    /// Checks `s` against every section of the policy. A section named in `skip` (an explicit
    /// choice of the caller) is not checked and is recorded as skipped. A section whose audit
    /// the summary lacks fails ("not audited") unless its `if_missing` (or the policy's
    /// `missing_audit`) is `"skip"`, in which case it too is recorded as skipped.
    pub fn evaluate(&self, s: &AuditSummary, skip: &[String]) -> Evaluation {
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        let missing = self.missing(s);
        for sec in SECTIONS {
            let in_policy = match sec {
                "disparity" => self.disparity.is_some(),
                "concentration" => self.concentration.is_some(),
                "data" => self.data.is_some(),
                _ => self.feedback.is_some(),
            };
            if !in_policy {
                continue;
            }
            if skip.iter().any(|k| k == sec) {
                skipped.push(SkippedAudit {
                    audit: sec.to_string(),
                    reason: "skipped by an explicit choice of the caller (skip_audits)".to_string(),
                    by_caller: true,
                });
            } else if missing.contains(&sec) && self.if_missing(sec) == MissingAudit::Skip {
                skipped.push(SkippedAudit {
                    audit: sec.to_string(),
                    reason: format!(
                        "not audited; the policy lets a missing {sec} audit pass unchecked \
                         (if_missing = \"skip\")"
                    ),
                    by_caller: false,
                });
            }
        }
        let skips = |sec: &str| skipped.iter().any(|k: &SkippedAudit| k.audit == sec);
        if let Some(p) = self.disparity.as_ref().filter(|_| !skips("disparity")) {
            match &s.disparity {
                None => failed.push(
                    "disparity: not audited — the policy requires a disparity audit (give the \
                     population by group), or skip it explicitly with skip_audits=[\"disparity\"]"
                        .to_string(),
                ),
                Some(d) => {
                    let (what, points, cis) = match p.compare_to {
                        CompareTo::Reference => (
                            "ratio to the reference group",
                            &d.ratio_to_reference,
                            &d.ratio_to_reference_ci,
                        ),
                        CompareTo::Overall => (
                            "ratio to the overall rate",
                            &d.ratio_to_overall,
                            &d.ratio_to_overall_ci,
                        ),
                    };
                    if points.is_empty() {
                        failed.push(format!("disparity: the summary has no exposure {what}"));
                    }
                    let band = format!("[{:.3}, {:.3}]", p.ratio_min, p.ratio_max);
                    for (g, r) in points {
                        if p.use_interval {
                            match cis.get(g) {
                                Some((Some(lo), Some(hi))) => {
                                    if !(super::in_band(*lo, p.ratio_min, p.ratio_max)
                                        && super::in_band(*hi, p.ratio_min, p.ratio_max))
                                    {
                                        failed.push(format!(
                                            "disparity: group `{g}` exposure {what} interval \
                                             [{lo:.3}, {hi:.3}] is not inside {band}"
                                        ));
                                    }
                                }
                                _ => failed.push(format!(
                                    "disparity: group `{g}` has no bootstrap interval for its \
                                     exposure {what} (the policy uses intervals)"
                                )),
                            }
                        } else {
                            match r {
                                Some(r) if super::in_band(*r, p.ratio_min, p.ratio_max) => {}
                                Some(r) => failed.push(format!(
                                    "disparity: group `{g}` exposure {what} {r:.3} is outside \
                                     {band}"
                                )),
                                None => failed.push(format!(
                                    "disparity: group `{g}` exposure {what} is undefined"
                                )),
                            }
                        }
                    }
                }
            }
        }
        if let Some(p) = self
            .concentration
            .as_ref()
            .filter(|_| !skips("concentration"))
        {
            let v = s.concentration.as_ref().and_then(|c| match p.level {
                Level::Cells => c.cells_gini_over_baseline,
                Level::Areas => c.areas_gini_over_baseline,
            });
            let level = match p.level {
                Level::Cells => "cells",
                Level::Areas => "areas",
            };
            match v {
                None => failed.push(format!(
                    "concentration: not audited — the policy requires the Gini over baseline across {level} \
                     and the summary has none"
                )),
                Some(v) if v > p.max_gini_over_baseline => failed.push(format!(
                    "concentration: Gini across {level} exceeds the random-allocation baseline \
                     by {v:.3}, above the maximum {:.3}",
                    p.max_gini_over_baseline
                )),
                Some(_) => {}
            }
        }
        if let Some(p) = self.data.as_ref().filter(|_| !skips("data")) {
            match s.data.as_ref().and_then(|d| d.discovered_share) {
                None => failed.push(
                    "data: not audited — the policy limits discovered incidents in training data and the \
                     summary has no data provenance audit"
                        .to_string(),
                ),
                Some(v) if v > p.max_discovered_share => failed.push(format!(
                    "data: {:.1}% of the training incidents were discovered by police, above \
                     the maximum {:.1}%",
                    100.0 * v,
                    100.0 * p.max_discovered_share
                )),
                Some(_) => {}
            }
        }
        if let Some(p) = self.feedback.as_ref().filter(|_| !skips("feedback")) {
            match s.feedback.as_ref().and_then(|f| f.verdict.as_deref()) {
                None => failed.push(
                    "feedback: not audited — the policy requires a feedback audit and the summary has none"
                        .to_string(),
                ),
                Some(v) => {
                    let ok = match p.required_verdict {
                        RequiredVerdict::Converges => v == "converges",
                        RequiredVerdict::NotRunaway => v == "converges" || v == "biased",
                    };
                    if !ok {
                        let want = match p.required_verdict {
                            RequiredVerdict::Converges => "\"converges\"",
                            RequiredVerdict::NotRunaway => "not \"runaway\"",
                        };
                        failed.push(format!(
                            "feedback: the feedback audit's verdict is {v:?}, the policy \
                             requires {want}"
                        ));
                    }
                }
            }
        }
        Evaluation {
            failed_checks: failed,
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
name = "test"
[disparity]
ratio_min = 0.8
ratio_max = 1.25
[concentration]
max_gini_over_baseline = 0.1
[data]
max_discovered_share = 0.2
[feedback]
required_verdict = "not_runaway"
"#;

    fn summary(json: &str) -> AuditSummary {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_shipped_policy_parses() {
        let p = AuditPolicy::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/audits/policy.toml"))
            .unwrap();
        assert!(p.disparity.is_some() && p.data.is_some());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        for (text, key) in [
            ("[data]\nmax_discoverd_share = 0.2\n", "max_discoverd_share"),
            ("tau = 0.8\n", "tau"),
            ("[fairness]\nx = 1\n", "fairness"),
            ("[feedback]\nrequired_verdict = \"maybe\"\n", "maybe"),
        ] {
            match AuditPolicy::from_toml_str(text).unwrap_err() {
                Error::InvalidParameter { name, reason } => {
                    assert_eq!(name, key, "{reason}");
                    assert!(reason.contains(key));
                }
                e => panic!("{e}"),
            }
        }
        let e = AuditPolicy::from_json_str(r#"{"data": {"max_share": 1}}"#).unwrap_err();
        assert!(e.to_string().contains("max_share"));
        let e = AuditPolicy::from_toml_str("[disparity]\nratio_min = 1.2\nratio_max = 1.5\n")
            .unwrap_err();
        assert!(e.to_string().contains("disparity.ratio_min"));
        let e = AuditPolicy::from_file("/nonexistent/policy.toml").unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
    }

    #[test]
    fn checks_pass_and_fail() {
        let p = AuditPolicy::from_toml_str(FULL).unwrap();
        let ok = summary(
            r#"{"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.2}},
                "concentration": {"cells_gini_over_baseline": 0.05},
                "data": {"discovered_share": 0.1},
                "feedback": {"verdict": "biased"}}"#,
        );
        assert_eq!(p.check(&ok), Vec::<String>::new());
        let bad = summary(
            r#"{"disparity": {"ratio_to_reference": {"A": 1.0, "B": 1.3, "C": null}},
                "concentration": {"cells_gini_over_baseline": 0.15},
                "data": {"discovered_share": 0.5},
                "feedback": {"verdict": "runaway"}}"#,
        );
        let f = p.check(&bad);
        assert_eq!(f.len(), 5, "{f:?}");
        assert!(f[0].contains("`B`") && f[0].contains("1.300"));
        assert!(f[1].contains("`C`") && f[1].contains("undefined"));
        let empty = p.check(&AuditSummary::default());
        assert_eq!(empty.len(), 4, "{empty:?}");
        assert!(AuditPolicy::default().check(&bad).is_empty());
        let skip =
            AuditPolicy::from_toml_str(&format!("missing_audit = \"skip\"\n{FULL}")).unwrap();
        assert!(skip.check(&AuditSummary::default()).is_empty());
        assert_eq!(skip.missing(&AuditSummary::default()).len(), 4);
        assert_eq!(skip.check(&bad).len(), 5);
    }

    #[test]
    fn per_section_if_missing_overrides_the_policy_default_and_skips_are_recorded() {
        let p = AuditPolicy::from_toml_str(
            "[disparity]\nratio_min = 0.8\nratio_max = 1.25\n[data]\nmax_discovered_share = 0.2\nif_missing = \"skip\"\n",
        )
        .unwrap();
        let ev = p.evaluate(&AuditSummary::default(), &[]);
        assert_eq!(ev.failed_checks.len(), 1, "{ev:?}");
        assert!(ev.failed_checks[0].starts_with("disparity: not audited"));
        assert_eq!(ev.skipped.len(), 1);
        assert_eq!(ev.skipped[0].audit, "data");
        assert!(!ev.skipped[0].by_caller);
        let ev = p.evaluate(&AuditSummary::default(), &["disparity".to_string()]);
        assert!(ev.failed_checks.is_empty());
        assert_eq!(ev.skipped.len(), 2);
        assert!(ev.skipped[0].by_caller && ev.skipped[0].audit == "disparity");
        // The shipped policy: a missing disparity audit fails, data and feedback skip.
        let shipped =
            AuditPolicy::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/audits/policy.toml"))
                .unwrap();
        assert_eq!(shipped.if_missing("disparity"), MissingAudit::Fail);
        assert_eq!(shipped.if_missing("concentration"), MissingAudit::Fail);
        assert_eq!(shipped.if_missing("feedback"), MissingAudit::Skip);
        assert!(shipped
            .source
            .as_deref()
            .unwrap()
            .ends_with("audits/policy.toml"));
        assert!(check_skip_names(&["fairness".to_string()]).is_err());
    }

    #[test]
    fn interval_mode_uses_the_interval() {
        let p = AuditPolicy::from_toml_str(
            "[disparity]\nratio_min = 0.8\nratio_max = 1.25\ncompare_to = \"overall\"\nuse_interval = true\n",
        )
        .unwrap();
        let s = summary(
            r#"{"disparity": {"ratio_to_overall": {"A": 1.0, "B": 1.1},
                              "ratio_to_overall_ci": {"A": [0.9, 1.1], "B": [0.95, 1.4]}}}"#,
        );
        let f = p.check(&s);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("`B`") && f[0].contains("interval"));
    }
}
