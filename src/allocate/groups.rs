use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};

/// People by group in each active cell: `counts` has shape `(n_cells, n_groups)`, rows in the
/// same order as the risk values.
///
/// The per-capita *exposure* of group `g` to an allocation is
/// `E_g = Σ_c dose_c · pop_{c,g} / pop_g` (units per person, where `pop_g = Σ_c pop_{c,g}`):
/// the patrol dose an average member of the group lives under. The population average is
/// `E = Σ_c dose_c · Σ_g pop_{c,g} / Σ_g pop_g`.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use placewise::allocate::GroupCounts;
/// let pop = GroupCounts::new(array![[10.0, 0.0], [10.0, 20.0]], vec!["A".into(), "B".into()]).unwrap();
/// let e = pop.exposure(&[1.0, 0.0]);
/// assert_eq!(e, vec![0.5, 0.0]); // half of A lives in the patrolled cell, none of B
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCounts {
    counts: Array2<f64>,
    groups: Vec<String>,
    totals: Vec<f64>,
}

impl GroupCounts {
    /// Validates the counts: finite and ≥ 0, one name per column, and every group with people.
    ///
    /// Errors: [`Error::DataValidation`] naming the row and group of a bad count, or the group
    /// with no people (its per-capita exposure, and every ratio to it, would be undefined);
    /// [`Error::InvalidParameter`] when names and columns disagree.
    pub fn new(counts: Array2<f64>, groups: Vec<String>) -> Result<Self> {
        if counts.ncols() != groups.len() {
            return Err(Error::param(
                "population",
                format!(
                    "{} group names for {} columns of counts",
                    groups.len(),
                    counts.ncols()
                ),
            ));
        }
        if groups.is_empty() {
            return Err(Error::param("population", "needs at least one group"));
        }
        for ((i, j), &v) in counts.indexed_iter() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::data(
                    Some(i),
                    groups[j].clone(),
                    format!("population count must be finite and ≥ 0, got {v}"),
                ));
            }
        }
        let totals: Vec<f64> = counts.sum_axis(ndarray::Axis(0)).to_vec();
        for (g, &t) in groups.iter().zip(&totals) {
            if t <= 0.0 {
                return Err(Error::data(
                    None,
                    g.clone(),
                    format!(
                        "group `{g}` has no people in the active cells: its per-capita exposure \
                         (and any ratio to it) is undefined; drop the group or check the population layer"
                    ),
                ));
            }
        }
        Ok(GroupCounts {
            counts,
            groups,
            totals,
        })
    }

    /// Counts, `(n_cells, n_groups)`.
    pub fn counts(&self) -> ArrayView2<'_, f64> {
        self.counts.view()
    }
    /// Group names.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
    /// People per group.
    pub fn totals(&self) -> &[f64] {
        &self.totals
    }
    /// Cells (rows).
    pub fn n_cells(&self) -> usize {
        self.counts.nrows()
    }

    /// Per-capita exposure of each group to `dose` (units per person).
    pub fn exposure(&self, dose: &[f64]) -> Vec<f64> {
        let mut e = vec![0.0; self.groups.len()];
        for (row, &d) in self.counts.rows().into_iter().zip(dose) {
            if d != 0.0 {
                for (acc, &p) in e.iter_mut().zip(row.iter()) {
                    *acc += d * p;
                }
            }
        }
        e.iter_mut().zip(&self.totals).for_each(|(v, &t)| *v /= t);
        e
    }

    /// Per-capita exposure of the whole population to `dose`.
    pub fn average_exposure(&self, dose: &[f64]) -> f64 {
        let total: f64 = self.totals.iter().sum();
        self.counts
            .rows()
            .into_iter()
            .zip(dose)
            .map(|(row, &d)| d * row.sum())
            .sum::<f64>()
            / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn zero_group_is_refused_and_named() {
        let e = GroupCounts::new(array![[1.0, 0.0], [2.0, 0.0]], vec!["A".into(), "B".into()])
            .unwrap_err();
        assert!(e.to_string().contains("`B`"), "{e}");
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn bad_counts_are_named() {
        let e =
            GroupCounts::new(array![[1.0, f64::NAN]], vec!["A".into(), "B".into()]).unwrap_err();
        assert!(
            matches!(e, Error::DataValidation { row: Some(0), ref column, .. } if column == "B")
        );
        let e = GroupCounts::new(array![[1.0, -1.0]], vec!["A".into(), "B".into()]).unwrap_err();
        assert!(e.to_string().contains("≥ 0"));
        assert!(GroupCounts::new(array![[1.0]], vec![]).is_err());
    }

    #[test]
    fn uniform_dose_gives_equal_exposure() {
        let pop = GroupCounts::new(
            array![[1.0, 5.0], [3.0, 0.5], [0.0, 2.0]],
            vec!["A".into(), "B".into()],
        )
        .unwrap();
        let e = pop.exposure(&[0.5, 0.5, 0.5]);
        assert!((e[0] - 0.5).abs() < 1e-12 && (e[1] - 0.5).abs() < 1e-12);
        assert!((pop.average_exposure(&[0.5, 0.5, 0.5]) - 0.5).abs() < 1e-12);
    }
}
