//! Retrospective hotspot map: a quartic-kernel density of the incidents in a moving window.
//!
//! The map crime analysts draw every week (Chainey & Ratcliffe 2005, *GIS and Crime Mapping*,
//! ch. 6; the "retrospective" KDE that Bowers, Johnson & Pease 2004, *Br. J. Criminol.*
//! 44:641–658, compare their prospective map against). Literature defaults: 200 m bandwidth,
//! 60-day window, 150 m cells (the cell size is the grid's). Values are exact kernel sums (the
//! quartic kernel has compact support, so there is no truncation error): kernel-weighted
//! incidents per cell, as in [`crate::models::Kde`].
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::{RetrospectiveHotspot, RetrospectiveParams};
//! use placewise::space::Grid;
//! let inc = Incidents::new(vec![750.0], vec![750.0], vec![0]).unwrap();
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 150.0, 10, 10).unwrap());
//! let m = RetrospectiveHotspot::fit(RetrospectiveParams::default(), Arc::new(inc), grid).unwrap();
//! let s = m.predict(Some(86_400)).unwrap();
//! assert!(s.values.iter().all(|v| *v >= 0.0));
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::constraints::{check, RETROSPECTIVE};
use crate::data::Incidents;
use crate::error::{Error, Result};
use crate::models::kde::Kernel;
use crate::models::kde_exact::{exact, Bw};
use crate::models::window::training_range;
use crate::space::Grid;
use crate::surface::Surface;

/// Retrospective hotspot parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrospectiveParams {
    /// Quartic kernel bandwidth (radius) in metres (default 200).
    pub bandwidth_m: f64,
    /// Moving window in days (default 60).
    pub window_days: f64,
}

impl Default for RetrospectiveParams {
    fn default() -> Self {
        RetrospectiveParams {
            bandwidth_m: 200.0,
            window_days: 60.0,
        }
    }
}

/// A fitted retrospective hotspot model.
#[derive(Debug, Clone)]
pub struct RetrospectiveHotspot {
    params: RetrospectiveParams,
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
}

impl RetrospectiveHotspot {
    /// Stores the training incidents and grid after checking the parameters.
    pub fn fit(
        params: RetrospectiveParams,
        incidents: Arc<Incidents>,
        grid: Arc<Grid>,
    ) -> Result<Self> {
        if incidents.is_empty() {
            return Err(Error::empty("no training incidents"));
        }
        check(RETROSPECTIVE, "bandwidth", params.bandwidth_m)?;
        check(RETROSPECTIVE, "window_days", params.window_days)?;
        Ok(RetrospectiveHotspot {
            params,
            incidents,
            grid,
        })
    }

    /// Quartic KDE of the incidents in `[at − window, at)`.
    pub fn predict(&self, at: Option<i64>) -> Result<Surface> {
        let p = &self.params;
        let inc = &self.incidents;
        let (a, b, start, end) = training_range(inc, at, Some(p.window_days))?;
        let w: Vec<f64> = (a..b).map(|i| inc.weight_of(i)).collect();
        let values = exact(
            &self.grid,
            &inc.x()[a..b],
            &inc.y()[a..b],
            &w,
            Bw::Fixed(p.bandwidth_m),
            Kernel::Quartic,
            1.0,
        );
        let mut s = Surface::new(values, self.grid.clone(), "RetrospectiveHotspot")?;
        let mut m = BTreeMap::new();
        m.insert("kernel".into(), "quartic".into());
        m.insert("bandwidth_m".into(), p.bandwidth_m.to_string());
        m.insert("window_days".into(), p.window_days.to_string());
        m.insert("n_incidents".into(), (b - a).to_string());
        m.insert("edge_correction".into(), "none".into());
        s.params = m;
        s.window = Some((start, end));
        s.units = "kernel-weighted incidents per cell over the window".into();
        Ok(s)
    }
}
