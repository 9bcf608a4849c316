use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::data::{Incidents, Origin};
use crate::error::{Error, Result};
use crate::space::Region;

/// Why a row was dropped. Labels are stable: reports and tests use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// x or y missing (NaN).
    MissingCoordinates,
    /// x or y infinite, or a projection that failed.
    NonFiniteCoordinates,
    /// Longitude/latitude outside [-180, 180] × [-90, 90] (checked by the front end).
    CoordinatesOutOfRange,
    /// Time missing or not parseable.
    UnparseableTime,
    /// Time outside the accepted range.
    TimeOutOfRange,
    /// Point outside the study region.
    OutsideRegion,
    /// An exact duplicate of an earlier row, under the `drop` policy.
    Duplicate,
    /// Weight missing, negative or non-finite.
    InvalidWeight,
}

impl DropReason {
    /// All reasons, in report order.
    pub const ALL: [DropReason; 8] = [
        DropReason::MissingCoordinates,
        DropReason::NonFiniteCoordinates,
        DropReason::CoordinatesOutOfRange,
        DropReason::UnparseableTime,
        DropReason::TimeOutOfRange,
        DropReason::OutsideRegion,
        DropReason::Duplicate,
        DropReason::InvalidWeight,
    ];

    /// Stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::MissingCoordinates => "missing_coordinates",
            DropReason::NonFiniteCoordinates => "non_finite_coordinates",
            DropReason::CoordinatesOutOfRange => "coordinates_out_of_range",
            DropReason::UnparseableTime => "unparseable_time",
            DropReason::TimeOutOfRange => "time_out_of_range",
            DropReason::OutsideRegion => "outside_region",
            DropReason::Duplicate => "duplicate",
            DropReason::InvalidWeight => "invalid_weight",
        }
    }

    /// Parses a label (as written by [`DropReason::label`]).
    pub fn from_label(s: &str) -> Option<DropReason> {
        DropReason::ALL.into_iter().find(|r| r.label() == s)
    }
}

/// What to do with exact duplicate rows (same x, y, t, category, origin and weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    /// Keep every row; count duplicates in the report.
    Keep,
    /// Keep every row, count them, and mark later copies in the `duplicate` column.
    Flag,
    /// Keep the first copy (in input order) and drop the others, counted as `duplicate`.
    Drop,
}

impl DuplicatePolicy {
    /// Parses "keep", "flag" or "drop".
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "keep" => Ok(DuplicatePolicy::Keep),
            "flag" => Ok(DuplicatePolicy::Flag),
            "drop" => Ok(DuplicatePolicy::Drop),
            other => Err(Error::param(
                "duplicates",
                format!("must be 'keep', 'flag' or 'drop', got {other:?}"),
            )),
        }
    }
}

/// Raw columns as the front end parsed them; nothing is validated yet.
#[derive(Debug, Clone, Default)]
pub struct RawIncidents {
    /// Easting (m); NaN where missing.
    pub x: Vec<f64>,
    /// Northing (m); NaN where missing.
    pub y: Vec<f64>,
    /// UTC seconds; `None` where missing or unparseable.
    pub t: Vec<Option<i64>>,
    /// Local wall-clock time as seconds since 1970-01-01 (as if it were UTC), for time-heaping
    /// checks; when absent, heaping is measured on UTC clock times.
    pub t_local: Option<Vec<i64>>,
    /// Category code per row (default: all 0, one category "all").
    pub category: Option<Vec<u32>>,
    /// Category labels.
    pub categories: Vec<String>,
    /// Origin per row (default: unknown).
    pub origin: Option<Vec<Origin>>,
    /// Weight per row.
    pub weight: Option<Vec<f64>>,
    /// Reasons the front end already found (e.g. latitude out of range before projecting);
    /// such rows are dropped and counted under that reason.
    pub preset: Option<Vec<Option<DropReason>>>,
    /// Repairs the front end made, counted by reason (e.g. "ambiguous DST time resolved to the
    /// first occurrence").
    pub repairs: Vec<(String, u64)>,
}

/// Options for [`ingest`], with documented defaults.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Drop points outside this region (counted as `outside_region`). Default: none.
    pub region: Option<Region>,
    /// Accepted time range `[start, end)` in UTC seconds. Default: 1900-01-01 to 2100-01-01.
    pub time_range: (i64, i64),
    /// Exact duplicates. Default: [`DuplicatePolicy::Keep`].
    pub duplicates: DuplicatePolicy,
    /// A location is a geocoding spike when it holds at least `spike_ratio` times the mean
    /// count per occupied location… Default 10.
    pub spike_ratio: f64,
    /// …and at least this many incidents. Default 20.
    pub spike_min_count: u64,
}

/// 1900-01-01T00:00:00Z.
pub const T_1900: i64 = -2_208_988_800;
/// 2100-01-01T00:00:00Z.
pub const T_2100: i64 = 4_102_444_800;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            region: None,
            time_range: (T_1900, T_2100),
            duplicates: DuplicatePolicy::Keep,
            spike_ratio: 10.0,
            spike_min_count: 20,
        }
    }
}

/// A location holding an unusual number of incidents (possible default geocode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// Easting (m).
    pub x: f64,
    /// Northing (m).
    pub y: f64,
    /// Incidents at exactly this point.
    pub count: u64,
    /// Share of kept incidents.
    pub share: f64,
    /// Count divided by the mean count per occupied location.
    pub ratio_to_mean: f64,
}

/// Time heaping: shares of kept incidents at suspicious clock times, with what a uniform
/// distribution of times would give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heaping {
    /// "local" when local clock times were supplied, else "UTC".
    pub clock: String,
    /// Share at exactly 00:00.
    pub share_midnight: f64,
    /// Share at exactly 12:00.
    pub share_noon: f64,
    /// Share at minute 00 of any hour.
    pub share_on_the_hour: f64,
    /// Share in hour 0 (00:00–00:59).
    pub share_hour_0: f64,
    /// Share in hour 12.
    pub share_hour_12: f64,
    /// Uniform expectation for an exact minute (1/1440).
    pub expected_exact_minute: f64,
    /// Uniform expectation for minute 00 (1/60).
    pub expected_on_the_hour: f64,
    /// Uniform expectation for one hour (1/24).
    pub expected_hour: f64,
    /// Every time is on the hour: minutes were not recorded.
    pub minutes_missing: bool,
    /// Every time is 00:00: only dates were recorded.
    pub date_only: bool,
}

/// The data-quality report: every row read is either kept or dropped for exactly one reason
/// (`rows_read == rows_kept + Σ dropped`); repairs and flags are counted alongside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Rows in the input.
    pub rows_read: u64,
    /// Rows in the resulting incidents.
    pub rows_kept: u64,
    /// Dropped rows by reason (every reason listed, zeros included).
    pub dropped: BTreeMap<String, u64>,
    /// Repaired rows by reason (kept, value changed in a documented way).
    pub repaired: BTreeMap<String, u64>,
    /// Duplicate policy applied.
    pub duplicate_policy: DuplicatePolicy,
    /// Kept or dropped rows that are exact copies of an earlier row.
    pub duplicate_rows: u64,
    /// Distinct locations among kept rows.
    pub distinct_locations: u64,
    /// Locations flagged as geocoding spikes, largest first.
    pub spikes: Vec<Spike>,
    /// The ten most frequent locations (spike or not), largest first.
    pub top_locations: Vec<Spike>,
    /// Rule used for spikes.
    pub spike_rule: String,
    /// Time heaping summary (None when no row was kept).
    pub heaping: Option<Heaping>,
    /// First and last kept time (UTC seconds).
    pub time_span: Option<(i64, i64)>,
}

impl QualityReport {
    /// Σ dropped.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// Validates raw columns into [`Incidents`] and a [`QualityReport`].
///
/// Each row is checked in this order and dropped for the first reason that applies: a preset
/// reason from the front end, missing coordinates, non-finite coordinates, missing time, time
/// outside `time_range`, invalid weight, outside the region; then exact duplicates are resolved
/// by policy. Rows are finally sorted by time.
///
/// Errors only for inconsistent input (columns of different lengths, category codes out of
/// range, a bad option); bad *values* are dropped and counted, never an error.
pub fn ingest(raw: RawIncidents, opts: &IngestOptions) -> Result<(Incidents, QualityReport)> {
    let n = raw.x.len();
    let check_len = |name: &str, len: Option<usize>| -> Result<()> {
        match len {
            Some(l) if l != n => Err(Error::param(name, format!("has {l} rows but x has {n}"))),
            _ => Ok(()),
        }
    };
    check_len("y", Some(raw.y.len()))?;
    check_len("t", Some(raw.t.len()))?;
    check_len("t_local", raw.t_local.as_ref().map(Vec::len))?;
    check_len("category", raw.category.as_ref().map(Vec::len))?;
    check_len("origin", raw.origin.as_ref().map(Vec::len))?;
    check_len("weight", raw.weight.as_ref().map(Vec::len))?;
    check_len("preset", raw.preset.as_ref().map(Vec::len))?;
    if !(opts.spike_ratio.is_finite() && opts.spike_ratio > 0.0) {
        return Err(Error::param("spike_ratio", "must be a finite number > 0"));
    }
    if opts.time_range.0 >= opts.time_range.1 {
        return Err(Error::param("time_range", "start must be before end"));
    }
    let categories = if raw.categories.is_empty() {
        vec!["all".to_string()]
    } else {
        raw.categories.clone()
    };
    if let Some(c) = &raw.category {
        if let Some(i) = c.iter().position(|&c| c as usize >= categories.len()) {
            return Err(Error::data(
                Some(i),
                "category",
                format!(
                    "code {} but only {} category labels",
                    c[i],
                    categories.len()
                ),
            ));
        }
    }

    let mut reason: Vec<Option<DropReason>> = raw.preset.clone().unwrap_or_else(|| vec![None; n]);
    for i in 0..n {
        if reason[i].is_some() {
            continue;
        }
        let (x, y) = (raw.x[i], raw.y[i]);
        reason[i] = if x.is_nan() || y.is_nan() {
            Some(DropReason::MissingCoordinates)
        } else if !(x.is_finite() && y.is_finite()) {
            Some(DropReason::NonFiniteCoordinates)
        } else {
            match raw.t[i] {
                None => Some(DropReason::UnparseableTime),
                Some(t) if t < opts.time_range.0 || t >= opts.time_range.1 => {
                    Some(DropReason::TimeOutOfRange)
                }
                _ => match &raw.weight {
                    Some(w) if !(w[i].is_finite() && w[i] >= 0.0) => {
                        Some(DropReason::InvalidWeight)
                    }
                    _ => match &opts.region {
                        Some(r) if !r.contains(x, y) => Some(DropReason::OutsideRegion),
                        _ => None,
                    },
                },
            }
        };
    }

    // Exact duplicates among rows that survived so far, first copy in input order wins.
    let mut duplicate = vec![false; n];
    let mut seen: HashMap<(u64, u64, i64, u32, u8, u64), usize> = HashMap::new();
    let mut duplicate_rows = 0u64;
    for i in 0..n {
        if reason[i].is_some() {
            continue;
        }
        let key = (
            raw.x[i].to_bits(),
            raw.y[i].to_bits(),
            raw.t[i].unwrap_or(0),
            raw.category.as_ref().map_or(0, |c| c[i]),
            raw.origin
                .as_ref()
                .map_or(Origin::Unknown as u8, |o| o[i] as u8),
            raw.weight.as_ref().map_or(0, |w| w[i].to_bits()),
        );
        if seen.insert(key, i).is_some() {
            duplicate_rows += 1;
            match opts.duplicates {
                DuplicatePolicy::Drop => reason[i] = Some(DropReason::Duplicate),
                DuplicatePolicy::Flag => duplicate[i] = true,
                DuplicatePolicy::Keep => {}
            }
        }
    }

    let keep: Vec<usize> = (0..n).filter(|&i| reason[i].is_none()).collect();
    let mut dropped: BTreeMap<String, u64> = DropReason::ALL
        .iter()
        .map(|r| (r.label().to_string(), 0))
        .collect();
    for r in reason.iter().flatten() {
        *dropped.get_mut(r.label()).expect("all reasons listed") += 1;
    }
    let mut repaired = BTreeMap::new();
    for (why, count) in &raw.repairs {
        *repaired.entry(why.clone()).or_insert(0) += count;
    }

    let pick_f = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let incidents = Incidents {
        x: pick_f(&raw.x),
        y: pick_f(&raw.y),
        t: keep
            .iter()
            .map(|&i| raw.t[i].expect("kept rows have a time"))
            .collect(),
        category: keep
            .iter()
            .map(|&i| raw.category.as_ref().map_or(0, |c| c[i]))
            .collect(),
        categories,
        origin: keep
            .iter()
            .map(|&i| raw.origin.as_ref().map_or(Origin::Unknown, |o| o[i]))
            .collect(),
        weight: raw.weight.as_ref().map(|w| pick_f(w)),
        source_row: keep.iter().map(|&i| i as u64).collect(),
        duplicate: keep.iter().map(|&i| duplicate[i]).collect(),
    }
    .sorted_by_time();

    let local: Vec<i64> = match &raw.t_local {
        Some(tl) => keep.iter().map(|&i| tl[i]).collect(),
        None => Vec::new(),
    };
    let heaping = heaping(
        if raw.t_local.is_some() {
            &local
        } else {
            &incidents.t
        },
        if raw.t_local.is_some() {
            "local"
        } else {
            "UTC"
        },
    );
    let (spikes, top_locations, distinct) = spikes(&incidents, opts);
    let report = QualityReport {
        rows_read: n as u64,
        rows_kept: incidents.len() as u64,
        dropped,
        repaired,
        duplicate_policy: opts.duplicates,
        duplicate_rows,
        distinct_locations: distinct,
        spikes,
        top_locations,
        spike_rule: format!(
            "a location is a spike when it holds at least {} incidents and at least {} times \
             the mean count per occupied location",
            opts.spike_min_count, opts.spike_ratio
        ),
        heaping,
        time_span: incidents.time_span(),
    };
    debug_assert_eq!(report.rows_read, report.rows_kept + report.total_dropped());
    Ok((incidents, report))
}

fn heaping(times: &[i64], clock: &str) -> Option<Heaping> {
    if times.is_empty() {
        return None;
    }
    let n = times.len() as f64;
    let (mut midnight, mut noon, mut on_hour, mut h0, mut h12) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for &t in times {
        let sod = t.rem_euclid(86_400);
        let (hour, minute) = (sod / 3600, (sod % 3600) / 60);
        on_hour += (minute == 0) as u64;
        midnight += (hour == 0 && minute == 0) as u64;
        noon += (hour == 12 && minute == 0) as u64;
        h0 += (hour == 0) as u64;
        h12 += (hour == 12) as u64;
    }
    Some(Heaping {
        clock: clock.to_string(),
        share_midnight: midnight as f64 / n,
        share_noon: noon as f64 / n,
        share_on_the_hour: on_hour as f64 / n,
        share_hour_0: h0 as f64 / n,
        share_hour_12: h12 as f64 / n,
        expected_exact_minute: 1.0 / 1440.0,
        expected_on_the_hour: 1.0 / 60.0,
        expected_hour: 1.0 / 24.0,
        minutes_missing: on_hour == times.len() as u64,
        date_only: midnight == times.len() as u64,
    })
}

fn spikes(inc: &Incidents, opts: &IngestOptions) -> (Vec<Spike>, Vec<Spike>, u64) {
    let mut counts: HashMap<(u64, u64), u64> = HashMap::new();
    for i in 0..inc.len() {
        *counts
            .entry((inc.x[i].to_bits(), inc.y[i].to_bits()))
            .or_insert(0) += 1;
    }
    let distinct = counts.len() as u64;
    if distinct == 0 {
        return (Vec::new(), Vec::new(), 0);
    }
    let total = inc.len() as f64;
    let mean = total / distinct as f64;
    let mut all: Vec<Spike> = counts
        .into_iter()
        .map(|((xb, yb), c)| Spike {
            x: f64::from_bits(xb),
            y: f64::from_bits(yb),
            count: c,
            share: c as f64 / total,
            ratio_to_mean: c as f64 / mean,
        })
        .collect();
    // Deterministic order: count descending, then coordinates.
    all.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.x.total_cmp(&b.x))
            .then(a.y.total_cmp(&b.y))
    });
    let top = all.iter().take(10).cloned().collect();
    let spikes = all
        .into_iter()
        .take_while(|s| s.count >= opts.spike_min_count && s.ratio_to_mean >= opts.spike_ratio)
        .collect();
    (spikes, top, distinct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(x: Vec<f64>, y: Vec<f64>, t: Vec<Option<i64>>) -> RawIncidents {
        RawIncidents {
            x,
            y,
            t,
            ..Default::default()
        }
    }

    #[test]
    fn each_bad_row_is_counted_once_under_its_reason() {
        let region = Region::from_bounds(0.0, 0.0, 100.0, 100.0).unwrap();
        let r = RawIncidents {
            weight: Some(vec![1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0]),
            preset: Some(vec![
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                Some(DropReason::CoordinatesOutOfRange),
            ]),
            ..raw(
                vec![1.0, f64::NAN, f64::INFINITY, 5.0, 5.0, 500.0, 1.0, 1.0],
                vec![1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 1.0, 1.0],
                vec![
                    Some(0),
                    Some(0),
                    Some(0),
                    None,
                    Some(0),
                    Some(0),
                    Some(0),
                    Some(0),
                ],
            )
        };
        let opts = IngestOptions {
            region: Some(region),
            duplicates: DuplicatePolicy::Drop,
            ..Default::default()
        };
        let (inc, rep) = ingest(r, &opts).unwrap();
        assert_eq!(inc.len(), 1);
        assert_eq!(inc.source_row(), &[0]);
        let d = &rep.dropped;
        assert_eq!(d["missing_coordinates"], 1);
        assert_eq!(d["non_finite_coordinates"], 1);
        assert_eq!(d["unparseable_time"], 1);
        assert_eq!(d["invalid_weight"], 1);
        assert_eq!(d["outside_region"], 1);
        assert_eq!(d["duplicate"], 1);
        assert_eq!(d["coordinates_out_of_range"], 1);
        assert_eq!(rep.rows_read, rep.rows_kept + rep.total_dropped());
    }

    #[test]
    fn duplicate_policies() {
        let mk = || {
            raw(
                vec![1.0, 1.0, 2.0],
                vec![1.0, 1.0, 2.0],
                vec![Some(5), Some(5), Some(5)],
            )
        };
        for (policy, kept, flagged) in [
            (DuplicatePolicy::Keep, 3, 0),
            (DuplicatePolicy::Flag, 3, 1),
            (DuplicatePolicy::Drop, 2, 0),
        ] {
            let opts = IngestOptions {
                duplicates: policy,
                ..Default::default()
            };
            let (inc, rep) = ingest(mk(), &opts).unwrap();
            assert_eq!(inc.len(), kept);
            assert_eq!(rep.duplicate_rows, 1);
            assert_eq!(inc.duplicate().iter().filter(|&&d| d).count(), flagged);
        }
    }

    #[test]
    fn spikes_and_heaping() {
        let mut x = vec![7.0; 30];
        let mut y = vec![7.0; 30];
        let mut t: Vec<Option<i64>> = (0..30).map(|_| Some(0)).collect();
        for i in 0..30 {
            x.push(i as f64 * 10.0);
            y.push(0.0);
            t.push(Some(86_400 + 600 + 60 * i as i64));
        }
        let (_, rep) = ingest(raw(x, y, t), &IngestOptions::default()).unwrap();
        assert_eq!(rep.spikes.len(), 1);
        assert_eq!(rep.spikes[0].count, 30);
        let h = rep.heaping.unwrap();
        assert_eq!(h.clock, "UTC");
        assert!((h.share_midnight - 0.5).abs() < 1e-12);
        assert!(!h.date_only);
        assert!(rep.time_span.is_some());
    }

    #[test]
    fn inconsistent_columns_are_errors() {
        let r = raw(vec![1.0], vec![1.0, 2.0], vec![Some(0)]);
        assert!(ingest(r, &IngestOptions::default())
            .unwrap_err()
            .to_string()
            .contains("`y`"));
        let r = RawIncidents {
            category: Some(vec![3]),
            ..raw(vec![1.0], vec![1.0], vec![Some(0)])
        };
        assert!(ingest(r, &IngestOptions::default()).is_err());
    }

    proptest! {
        #[test]
        fn every_row_is_accounted_for(
            rows in proptest::collection::vec(
                (prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -50.0f64..150.0],
                 -50.0f64..150.0,
                 proptest::option::of(-10i64..10),
                 0u8..3),
                0..200),
            policy in 0usize..3,
        ) {
            let region = Region::from_bounds(0.0, 0.0, 100.0, 100.0).unwrap();
            let duplicates = [DuplicatePolicy::Keep, DuplicatePolicy::Flag, DuplicatePolicy::Drop][policy];
            let r = RawIncidents {
                x: rows.iter().map(|r| r.0).collect(),
                y: rows.iter().map(|r| r.1.round()).collect(),
                t: rows.iter().map(|r| r.2).collect(),
                origin: Some(rows.iter().map(|r| Origin::from_code(r.3).unwrap()).collect()),
                ..Default::default()
            };
            let opts = IngestOptions { region: Some(region), duplicates, ..Default::default() };
            let (inc, rep) = ingest(r, &opts).unwrap();
            prop_assert_eq!(rep.rows_read as usize, rows.len());
            prop_assert_eq!(rep.rows_read, rep.rows_kept + rep.total_dropped());
            prop_assert_eq!(rep.rows_kept as usize, inc.len());
            prop_assert!(inc.t().windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
