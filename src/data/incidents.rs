use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an incident came to police attention.
///
/// Origin matters for feedback: incidents that police *discovered* themselves (stops, drug and
/// weapon arrests) grow where patrols go; those *reported* by the public much less so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Origin {
    /// Reported by a victim or witness.
    Reported = 0,
    /// Discovered by police activity.
    Discovered = 1,
    /// Not known.
    Unknown = 2,
}

impl Origin {
    /// From the code used in arrays (0 reported, 1 discovered, 2 unknown).
    pub fn from_code(code: u8) -> Option<Origin> {
        match code {
            0 => Some(Origin::Reported),
            1 => Some(Origin::Discovered),
            2 => Some(Origin::Unknown),
            _ => None,
        }
    }

    /// Lower-case label.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Reported => "reported",
            Origin::Discovered => "discovered",
            Origin::Unknown => "unknown",
        }
    }
}

/// A validated, columnar table of incidents, sorted by time (ties keep input order).
///
/// Coordinates are metres in one projected CRS, times UTC seconds since 1970-01-01.
/// Every row is finite and inside whatever region it was ingested against; construct it with
/// [`crate::data::ingest`] (which counts every dropped row) or [`Incidents::new`] (which refuses
/// invalid rows).
///
/// # Examples
/// ```
/// use placewise::data::{Incidents, Origin};
/// let inc = Incidents::new(vec![0.0, 5.0], vec![0.0, 5.0], vec![200, 100]).unwrap();
/// assert_eq!(inc.t(), &[100, 200]); // sorted by time
/// assert_eq!(inc.until(150).len(), 1);
/// assert_eq!(inc.origin()[0], Origin::Unknown);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Incidents {
    pub(crate) x: Vec<f64>,
    pub(crate) y: Vec<f64>,
    pub(crate) t: Vec<i64>,
    pub(crate) category: Vec<u32>,
    pub(crate) categories: Vec<String>,
    pub(crate) origin: Vec<Origin>,
    pub(crate) weight: Option<Vec<f64>>,
    pub(crate) source_row: Vec<u64>,
    pub(crate) duplicate: Vec<bool>,
}

impl Incidents {
    /// Incidents from coordinates and times, one category ("all"), origin unknown.
    /// Refuses non-finite coordinates and mismatched lengths.
    pub fn new(x: Vec<f64>, y: Vec<f64>, t: Vec<i64>) -> Result<Self> {
        let n = x.len();
        let category = vec![0; n];
        let origin = vec![Origin::Unknown; n];
        Self::from_columns(x, y, t, category, vec!["all".into()], origin, None)
    }

    /// Incidents from full columns; every row must be valid (finite coordinates, category
    /// codes in range, finite non-negative weights).
    pub fn from_columns(
        x: Vec<f64>,
        y: Vec<f64>,
        t: Vec<i64>,
        category: Vec<u32>,
        categories: Vec<String>,
        origin: Vec<Origin>,
        weight: Option<Vec<f64>>,
    ) -> Result<Self> {
        let n = x.len();
        let lens = [
            ("y", y.len()),
            ("t", t.len()),
            ("category", category.len()),
            ("origin", origin.len()),
            ("weight", weight.as_ref().map_or(n, |w| w.len())),
        ];
        for (name, len) in lens {
            if len != n {
                return Err(Error::param(name, format!("has {len} rows but x has {n}")));
            }
        }
        for i in 0..n {
            if !(x[i].is_finite() && y[i].is_finite()) {
                return Err(Error::data(Some(i), "x/y", "coordinate is NaN or infinite"));
            }
            if category[i] as usize >= categories.len() {
                return Err(Error::data(
                    Some(i),
                    "category",
                    format!(
                        "code {} but only {} categories",
                        category[i],
                        categories.len()
                    ),
                ));
            }
            if let Some(w) = &weight {
                if !(w[i].is_finite() && w[i] >= 0.0) {
                    return Err(Error::data(Some(i), "weight", "must be finite and >= 0"));
                }
            }
        }
        let inc = Incidents {
            x,
            y,
            t,
            category,
            categories,
            origin,
            weight,
            source_row: (0..n as u64).collect(),
            duplicate: vec![false; n],
        };
        Ok(inc.sorted_by_time())
    }

    /// Reorders rows by time, ties by source row.
    pub(crate) fn sorted_by_time(self) -> Self {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by_key(|&i| (self.t[i], self.source_row[i]));
        if idx.iter().enumerate().all(|(k, &i)| k == i) {
            return self;
        }
        self.take(&idx)
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Self {
        fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i].clone()).collect()
        }
        Incidents {
            x: pick(&self.x, idx),
            y: pick(&self.y, idx),
            t: pick(&self.t, idx),
            category: pick(&self.category, idx),
            categories: self.categories.clone(),
            origin: pick(&self.origin, idx),
            weight: self.weight.as_ref().map(|w| pick(w, idx)),
            source_row: pick(&self.source_row, idx),
            duplicate: pick(&self.duplicate, idx),
        }
    }

    fn range(&self, a: usize, b: usize) -> Self {
        let idx: Vec<usize> = (a..b).collect();
        self.take(&idx)
    }

    /// Number of incidents.
    pub fn len(&self) -> usize {
        self.x.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
    /// Easting (m).
    pub fn x(&self) -> &[f64] {
        &self.x
    }
    /// Northing (m).
    pub fn y(&self) -> &[f64] {
        &self.y
    }
    /// UTC seconds since 1970-01-01, ascending.
    pub fn t(&self) -> &[i64] {
        &self.t
    }
    /// Category code per row (index into [`Incidents::categories`]).
    pub fn category(&self) -> &[u32] {
        &self.category
    }
    /// Category labels.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }
    /// Origin per row.
    pub fn origin(&self) -> &[Origin] {
        &self.origin
    }
    /// Weight per row, if given.
    pub fn weight(&self) -> Option<&[f64]> {
        self.weight.as_deref()
    }
    /// Weight of row `i` (1 when no weights were given).
    #[inline]
    pub fn weight_of(&self, i: usize) -> f64 {
        self.weight.as_ref().map_or(1.0, |w| w[i])
    }
    /// Row number in the source table (0-based, before any row was dropped).
    pub fn source_row(&self) -> &[u64] {
        &self.source_row
    }
    /// Whether the row is an exact duplicate of an earlier one (set by ingest's `flag`/`keep`
    /// policies).
    pub fn duplicate(&self) -> &[bool] {
        &self.duplicate
    }

    /// First and last time, or `None` when empty.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        Some((*self.t.first()?, *self.t.last()?))
    }

    /// Incidents strictly before `t_end` (UTC seconds): training data at origin `t_end` never
    /// includes an incident at `t_end` itself.
    pub fn until(&self, t_end: i64) -> Self {
        let b = self.t.partition_point(|&t| t < t_end);
        self.range(0, b)
    }

    /// Incidents with `t_start <= t < t_end`.
    pub fn between(&self, t_start: i64, t_end: i64) -> Self {
        let a = self.t.partition_point(|&t| t < t_start);
        let b = self.t.partition_point(|&t| t < t_end).max(a);
        self.range(a, b)
    }

    /// Incidents whose category code is in `codes`.
    pub fn with_categories(&self, codes: &[u32]) -> Self {
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| codes.contains(&self.category[i]))
            .collect();
        self.take(&idx)
    }

    /// Incidents whose origin is in `origins`.
    pub fn with_origins(&self, origins: &[Origin]) -> Self {
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| origins.contains(&self.origin[i]))
            .collect();
        self.take(&idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Incidents {
        Incidents::from_columns(
            vec![0.0, 1.0, 2.0, 3.0],
            vec![0.0, 1.0, 2.0, 3.0],
            vec![30, 10, 20, 10],
            vec![0, 1, 0, 1],
            vec!["a".into(), "b".into()],
            vec![
                Origin::Reported,
                Origin::Discovered,
                Origin::Unknown,
                Origin::Reported,
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn sorted_with_stable_ties() {
        let inc = sample();
        assert_eq!(inc.t(), &[10, 10, 20, 30]);
        assert_eq!(inc.source_row(), &[1, 3, 2, 0]);
    }

    #[test]
    fn slicing_by_time_is_half_open() {
        let inc = sample();
        assert_eq!(inc.until(20).len(), 2);
        assert_eq!(inc.between(10, 30).t(), &[10, 10, 20]);
        assert_eq!(inc.between(30, 10).len(), 0);
        assert_eq!(inc.with_categories(&[1]).len(), 2);
        assert_eq!(inc.with_origins(&[Origin::Reported]).len(), 2);
    }

    #[test]
    fn invalid_rows_are_named() {
        let e = Incidents::new(vec![0.0, f64::NAN], vec![0.0, 0.0], vec![0, 1]).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = Incidents::new(vec![0.0], vec![0.0, 1.0], vec![0]).unwrap_err();
        assert!(e.to_string().contains("`y`"), "{e}");
    }
}
