//! A risk value per grid cell, with where it came from.

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::space::Grid;

/// A risk value per grid cell: the output of every model and the input of evaluation and
/// allocation.
///
/// `values` has shape `(ny, nx)` (row 0 is the southern row; `values[[r, c]]` is cell
/// `r * nx + c`). Values are defined on every cell of the grid's extent; consumers that rank or
/// allocate use active cells only (see [`Surface::active_values`]).
#[derive(Debug, Clone)]
pub struct Surface {
    /// Values per cell, shape `(ny, nx)`.
    pub values: Array2<f64>,
    /// The grid the values live on.
    pub grid: Arc<Grid>,
    /// Model name (e.g. "KDE").
    pub model: String,
    /// Model parameters as text, for reports and run logs.
    pub params: BTreeMap<String, String>,
    /// Training data window `[start, end)` in UTC seconds, if any.
    pub window: Option<(i64, i64)>,
    /// What the values mean (e.g. "expected incidents per cell over the horizon").
    pub units: String,
}

impl Surface {
    /// A surface from values of shape `(ny, nx)`; errors on a shape mismatch or a NaN value.
    pub fn new(values: Array2<f64>, grid: Arc<Grid>, model: impl Into<String>) -> Result<Self> {
        if values.dim() != (grid.ny(), grid.nx()) {
            return Err(Error::param(
                "values",
                format!(
                    "shape {:?} does not match the grid's (ny, nx) = ({}, {})",
                    values.dim(),
                    grid.ny(),
                    grid.nx()
                ),
            ));
        }
        if let Some(pos) = values.iter().position(|v| v.is_nan()) {
            return Err(Error::data(
                Some(pos),
                "values",
                "NaN risk value (index is the cell id)",
            ));
        }
        Ok(Surface {
            values,
            grid,
            model: model.into(),
            params: BTreeMap::new(),
            window: None,
            units: String::new(),
        })
    }

    /// Values of the active cells, in cell-id order, paired with their ids.
    pub fn active_values(&self) -> Vec<(usize, f64)> {
        let flat = self
            .values
            .as_slice()
            .expect("surfaces are standard layout");
        self.grid
            .mask()
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| (i, flat[i]))
            .collect()
    }

    /// The `k` active cells with the highest values, highest first; ties broken by lower cell
    /// id (a deterministic rule every ranking in placewise shares).
    pub fn top(&self, k: usize) -> Vec<(usize, f64)> {
        let mut v = self.active_values();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn top_breaks_ties_by_cell_id() {
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 1.0, 3, 1).unwrap());
        let s = Surface::new(array![[1.0, 2.0, 2.0]], g.clone(), "t").unwrap();
        assert_eq!(s.top(2), vec![(1, 2.0), (2, 2.0)]);
        assert!(Surface::new(array![[1.0, 2.0]], g.clone(), "t").is_err());
        assert!(Surface::new(array![[1.0, f64::NAN, 0.0]], g, "t").is_err());
    }
}
