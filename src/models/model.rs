//! The [`Model`] trait: what a simulator or a backtest needs from a hotspot model.
//!
//! A model's parameter struct is its unfitted estimator (as a scikit-learn estimator before
//! `fit`): [`Model::fit_predict`] fits it on the incidents strictly before `at` and returns the
//! surface it predicts at `at`. The feedback simulator ([`crate::audit::feedback`]) retrains a
//! model this way every round without knowing which model it is.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::{Model, NaiveParams};
//! use placewise::space::Grid;
//! let inc = Arc::new(Incidents::new(vec![5.0, 5.0, 15.0], vec![5.0; 3], vec![0, 10, 20]).unwrap());
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap());
//! let naive = NaiveParams { window_days: None };
//! let s = naive.fit_predict(inc, grid, 15).unwrap(); // the incidents at t = 0 and 10
//! assert_eq!(naive.name(), "Naive");
//! assert_eq!(s.values.as_slice().unwrap(), &[2.0, 0.0]);
//! ```

use std::sync::Arc;

use crate::data::Incidents;
use crate::error::Result;
use crate::models::{
    Kde, KdeParams, Naive, NaiveParams, ProspectiveHotspot, ProspectiveParams,
    RetrospectiveHotspot, RetrospectiveParams,
};
use crate::space::Grid;
use crate::surface::Surface;

/// A hotspot model that can be fitted on incidents before a time and predict the surface then.
pub trait Model: Send + Sync {
    /// The model's name, as surfaces carry it (`"Naive"`, `"KDE"`, …).
    fn name(&self) -> &'static str;

    /// Fits on the incidents strictly before `at` (UTC seconds) — inside the model's own
    /// trailing window, when it has one — and predicts the surface at `at`.
    fn fit_predict(&self, incidents: Arc<Incidents>, grid: Arc<Grid>, at: i64) -> Result<Surface>;
}

/// The incidents strictly before `at` (the same table when all of them are).
fn before(incidents: Arc<Incidents>, at: i64) -> Arc<Incidents> {
    match incidents.time_span() {
        Some((_, last)) if last >= at => Arc::new(incidents.until(at)),
        _ => incidents,
    }
}

impl Model for NaiveParams {
    fn name(&self) -> &'static str {
        "Naive"
    }
    fn fit_predict(&self, incidents: Arc<Incidents>, grid: Arc<Grid>, at: i64) -> Result<Surface> {
        Naive::fit(self.clone(), before(incidents, at), grid)?.predict(Some(at))
    }
}

impl Model for KdeParams {
    fn name(&self) -> &'static str {
        "KDE"
    }
    fn fit_predict(&self, incidents: Arc<Incidents>, grid: Arc<Grid>, at: i64) -> Result<Surface> {
        Kde::fit(self.clone(), before(incidents, at), grid)?.predict(Some(at))
    }
}

impl Model for RetrospectiveParams {
    fn name(&self) -> &'static str {
        "RetrospectiveHotspot"
    }
    fn fit_predict(&self, incidents: Arc<Incidents>, grid: Arc<Grid>, at: i64) -> Result<Surface> {
        RetrospectiveHotspot::fit(self.clone(), before(incidents, at), grid)?.predict(Some(at))
    }
}

impl Model for ProspectiveParams {
    fn name(&self) -> &'static str {
        "ProspectiveHotspot"
    }
    fn fit_predict(&self, incidents: Arc<Incidents>, grid: Arc<Grid>, at: i64) -> Result<Surface> {
        ProspectiveHotspot::fit(self.clone(), before(incidents, at), grid)?.predict(Some(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_only_on_incidents_before_at() {
        let day = 86_400;
        let inc = Arc::new(
            Incidents::new(
                vec![5.0, 5.0, 15.0],
                vec![5.0; 3],
                vec![0, 2 * day, 4 * day],
            )
            .unwrap(),
        );
        let grid = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap());
        let kde = KdeParams {
            bandwidth: crate::models::Bandwidth::Fixed(3.0),
            ..Default::default()
        };
        // At 3 days the incident in cell 1 (t = 4 days) is in the future: the KDE sees two
        // incidents, both in cell 0, and predicts more there.
        let s = kde.fit_predict(inc.clone(), grid.clone(), 3 * day).unwrap();
        assert_eq!(s.params["n_incidents"], "2");
        assert!(s.values[[0, 0]] > s.values[[0, 1]]);
        // The same as fitting the model directly on the earlier incidents.
        let direct = Kde::fit(kde.clone(), Arc::new(inc.until(3 * day)), grid.clone())
            .unwrap()
            .predict(Some(3 * day))
            .unwrap();
        assert_eq!(s.values, direct.values);
        let models: Vec<Box<dyn Model>> = vec![
            Box::new(NaiveParams { window_days: None }),
            Box::new(kde),
            Box::new(RetrospectiveParams::default()),
            Box::new(ProspectiveParams::default()),
        ];
        for m in &models {
            let s = m.fit_predict(inc.clone(), grid.clone(), 5 * day).unwrap();
            assert_eq!(s.model, m.name());
            // predicting at or before the first incident is refused, whatever the model
            assert!(m.fit_predict(inc.clone(), grid.clone(), 0).is_err());
        }
    }
}
