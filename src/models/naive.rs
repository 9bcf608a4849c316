//! The naive hotspot model: incidents per cell in a trailing window.
//!
//! The baseline every hotspot method is measured against ("last year's map"; e.g. Chainey,
//! Tompson & Uhlig 2008, *Security Journal* 21:4–28, use prior counts as the benchmark).
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::{Naive, NaiveParams};
//! use placewise::space::Grid;
//! let inc = Incidents::new(vec![5.0, 5.0, 15.0], vec![5.0, 5.0, 5.0], vec![0, 10, 20]).unwrap();
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap());
//! let m = Naive::fit(NaiveParams { window_days: None }, Arc::new(inc), grid).unwrap();
//! assert_eq!(m.predict(None).unwrap().values.as_slice().unwrap(), &[2.0, 1.0]);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;

use crate::constraints::{check, NAIVE};
use crate::data::Incidents;
use crate::error::{Error, Result};
use crate::models::window::training_range;
use crate::space::Grid;
use crate::surface::Surface;

/// Naive model parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NaiveParams {
    /// Trailing window in days (default 365; `None` = every incident before `at`).
    pub window_days: Option<f64>,
}

impl Default for NaiveParams {
    fn default() -> Self {
        NaiveParams {
            window_days: Some(365.0),
        }
    }
}

/// A fitted naive model.
#[derive(Debug, Clone)]
pub struct Naive {
    params: NaiveParams,
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
}

impl Naive {
    /// Stores the training incidents and grid after checking the parameters.
    pub fn fit(params: NaiveParams, incidents: Arc<Incidents>, grid: Arc<Grid>) -> Result<Self> {
        if incidents.is_empty() {
            return Err(Error::empty("no training incidents"));
        }
        if let Some(d) = params.window_days {
            check(NAIVE, "window_days", d)?;
        }
        Ok(Naive {
            params,
            incidents,
            grid,
        })
    }

    /// (Weighted) counts per cell of the incidents in `[at − window, at)`, on every cell of the
    /// grid's extent; incidents outside the extent are counted in `params["outside_grid"]`.
    pub fn predict(&self, at: Option<i64>) -> Result<Surface> {
        let (a, b, start, end) = training_range(&self.incidents, at, self.params.window_days)?;
        let g = &self.grid;
        let inc = &self.incidents;
        let mut v = vec![0.0; g.n_cells()];
        let mut outside = 0usize;
        for i in a..b {
            match g.cell_of(inc.x()[i], inc.y()[i]) {
                Some(id) => v[id] += inc.weight_of(i),
                None => outside += 1,
            }
        }
        let values = Array2::from_shape_vec((g.ny(), g.nx()), v)
            .map_err(|e| Error::param("grid", e.to_string()))?;
        let mut s = Surface::new(values, g.clone(), "Naive")?;
        let mut p = BTreeMap::new();
        p.insert(
            "window_days".into(),
            self.params
                .window_days
                .map_or("all".to_string(), |d| d.to_string()),
        );
        p.insert("n_incidents".into(), (b - a).to_string());
        p.insert("outside_grid".into(), outside.to_string());
        s.params = p;
        s.window = Some((start, end));
        s.units = "incidents per cell over the training window".into();
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_window() {
        let day = 86_400;
        let inc = Incidents::new(
            vec![5.0, 5.0, 15.0, 25.0, 99.0],
            vec![5.0; 5],
            vec![0, 5 * day, 6 * day, 7 * day, 7 * day],
        )
        .unwrap();
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 3, 1).unwrap());
        let m = Naive::fit(
            NaiveParams {
                window_days: Some(3.0),
            },
            Arc::new(inc),
            g,
        )
        .unwrap();
        let s = m.predict(Some(7 * day + 1)).unwrap();
        assert_eq!(s.values.as_slice().unwrap(), &[1.0, 1.0, 1.0]);
        assert_eq!(s.params["outside_grid"], "1");
        assert!(m.predict(Some(0)).is_err());
        assert!(matches!(
            m.predict(Some(100 * day)),
            Err(Error::EmptyInput { .. })
        ));
    }
}
