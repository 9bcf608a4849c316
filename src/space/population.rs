use geo::MultiPolygon;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::space::{areal_weights, Grid};

/// Population counts by group per grid cell, distributed from areas by area share.
///
/// Each area's count for each group is spread over the cells it overlaps in proportion to the
/// share of the area's surface in each cell (areal weighting: the population is assumed uniform
/// within an area). Population falling in cells outside the grid's extent or outside the mask
/// is not lost silently: the report lists it per area.
#[derive(Debug, Clone)]
pub struct Population {
    /// Group names, in column order.
    pub groups: Vec<String>,
    /// People per cell and group, shape `(n_cells, n_groups)`; zero in inactive cells.
    pub counts: Array2<f64>,
    /// What was allocated and what was not.
    pub report: PopulationReport,
}

/// Accounting of a population distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationReport {
    /// Areas read.
    pub n_areas: usize,
    /// Total input population per group.
    pub input_total: Vec<f64>,
    /// Population placed in active cells per group.
    pub allocated_total: Vec<f64>,
    /// Rows (0-based) of areas that do not overlap any active cell: none of their people are
    /// in the grid.
    pub areas_missing_grid: Vec<usize>,
    /// Rows of areas partly outside the active cells, with the share of their area that is
    /// outside (above 0.1 %).
    pub areas_partly_outside: Vec<(usize, f64)>,
}

impl Population {
    /// Distributes `counts` (shape `(n_areas, n_groups)`) over the cells of `grid`.
    ///
    /// Errors: counts that are negative or not finite ([`Error::DataValidation`] naming the area
    /// row and the group); shape mismatches, no groups or duplicate group names
    /// ([`Error::InvalidParameter`]); an empty layer ([`Error::EmptyInput`]).
    pub fn from_areas(
        grid: &Grid,
        areas: &[MultiPolygon<f64>],
        counts: &Array2<f64>,
        groups: Vec<String>,
    ) -> Result<Self> {
        if areas.is_empty() {
            return Err(Error::empty("population: no areas given"));
        }
        if groups.is_empty() {
            return Err(Error::param("groups", "at least one group is needed"));
        }
        for (i, g) in groups.iter().enumerate() {
            if groups[..i].contains(g) {
                return Err(Error::param(
                    "groups",
                    format!("group {g:?} is listed twice"),
                ));
            }
        }
        if counts.nrows() != areas.len() || counts.ncols() != groups.len() {
            return Err(Error::param(
                "counts",
                format!(
                    "shape is {:?} but there are {} areas and {} groups",
                    counts.shape(),
                    areas.len(),
                    groups.len()
                ),
            ));
        }
        for ((i, j), &v) in counts.indexed_iter() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::data(
                    Some(i),
                    groups[j].clone(),
                    format!("population count must be finite and >= 0, got {v}"),
                ));
            }
        }
        let ng = groups.len();
        crate::limits::check(
            "groups",
            "population values (grid cells × groups)",
            (grid.n_cells() as u64).saturating_mul(ng as u64),
            crate::limits::get().max_matrix_values,
        )?;
        let w = areal_weights(areas, grid)?;
        let mut out = Array2::<f64>::zeros((grid.n_cells(), ng));
        let mut missing = Vec::new();
        let mut partly = Vec::new();
        for a in 0..areas.len() {
            let mut inside = 0.0;
            for (cell, wt) in w.row(a) {
                if !grid.is_active(cell) {
                    continue;
                }
                inside += wt;
                for g in 0..ng {
                    out[[cell, g]] += wt * counts[[a, g]];
                }
            }
            if inside <= 0.0 {
                missing.push(a);
            } else if inside < 0.999 {
                partly.push((a, 1.0 - inside));
            }
        }
        let input_total = (0..ng).map(|g| counts.column(g).sum()).collect();
        let allocated_total = (0..ng).map(|g| out.column(g).sum()).collect();
        Ok(Population {
            groups,
            counts: out,
            report: PopulationReport {
                n_areas: areas.len(),
                input_total,
                allocated_total,
                areas_missing_grid: missing,
                areas_partly_outside: partly,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;
    use ndarray::array;

    #[test]
    fn counts_follow_area_shares_and_misses_are_reported() {
        let grid = Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap();
        let spanning = MultiPolygon(vec![
            polygon![(x: 5.0, y: 0.0), (x: 15.0, y: 0.0), (x: 15.0, y: 10.0), (x: 5.0, y: 10.0)],
        ]);
        let away = MultiPolygon(vec![
            polygon![(x: 100.0, y: 0.0), (x: 110.0, y: 0.0), (x: 110.0, y: 10.0)],
        ]);
        let counts = array![[100.0, 10.0], [50.0, 5.0]];
        let p = Population::from_areas(
            &grid,
            &[spanning, away],
            &counts,
            vec!["A".into(), "B".into()],
        )
        .unwrap();
        assert!((p.counts[[0, 0]] - 50.0).abs() < 1e-9);
        assert!((p.counts[[1, 1]] - 5.0).abs() < 1e-9);
        assert_eq!(p.report.areas_missing_grid, vec![1]);
        assert!((p.report.allocated_total[0] - 100.0).abs() < 1e-9);
        assert!((p.report.input_total[0] - 150.0).abs() < 1e-9);
    }

    #[test]
    fn negative_counts_name_area_and_group() {
        let grid = Grid::from_extent(0.0, 0.0, 10.0, 1, 1).unwrap();
        let a = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 5.0, y: 0.0), (x: 5.0, y: 5.0)],
        ]);
        let e = Population::from_areas(
            &grid,
            &[a],
            &array![[1.0, -2.0]],
            vec!["A".into(), "B".into()],
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("row 0") && s.contains("`B`"), "{s}");
    }
}
