//! The risk-factor model: at `training_origins` weekly (or `horizon_days`) origins before the
//! end of the training data, features of each active cell are paired with its incident count
//! over the next horizon; a Poisson log-linear model learns the relative risk of each factor,
//! and predicts expected counts over the horizon after `at` from the features at `at`.
//!
//! This is risk terrain modelling's regression step (Caplan, Kennedy & Miller 2011) with the
//! cell's own history and near repeats among the factors.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::risk_factors::{RiskFactorModel, RiskFactorParams, FeatureSpec};
//! use placewise::space::Grid;
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 4, 4).unwrap());
//! // one incident a day for 120 days, alternating between two cells
//! let n = 120;
//! let x: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 50.0 } else { 250.0 }).collect();
//! let t: Vec<i64> = (0..n).map(|i| i as i64 * 86_400).collect();
//! let inc = Arc::new(Incidents::new(x, vec![50.0; n], t).unwrap());
//! let p = RiskFactorParams {
//!     features: FeatureSpec { windows_days: vec![28.0], neighbour_radii_m: vec![], ..FeatureSpec::default() },
//!     training_origins: 4,
//!     ..RiskFactorParams::default()
//! };
//! let m = RiskFactorModel::fit(p, inc, grid, vec![], None).unwrap();
//! let s = m.predict(None, None).unwrap();
//! // the busier cell is predicted busier
//! assert!(s.values[[0, 2]] > s.values[[0, 0]] && s.values[[0, 0]] > s.values[[3, 3]]);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};
use crate::models::risk_factors::features::{
    build_features, future_counts, FeatureSpec, PointLayer,
};
use crate::models::risk_factors::poisson::{fit_poisson, PoissonFit, PoissonParams};
use crate::space::Grid;
use crate::surface::Surface;

const DAY_S: f64 = 86_400.0;

/// Model parameters. Defaults in brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskFactorParams {
    /// Features [`FeatureSpec::default`].
    pub features: FeatureSpec,
    /// Length (days) of the counted future window at each training origin, and the spacing
    /// of the training origins [7].
    pub horizon_days: f64,
    /// Training origins before the end of the data [8].
    pub training_origins: usize,
    /// The learner's options [`PoissonParams::default`].
    pub poisson: PoissonParams,
}

impl Default for RiskFactorParams {
    fn default() -> Self {
        RiskFactorParams {
            features: FeatureSpec::default(),
            horizon_days: 7.0,
            training_origins: 8,
            poisson: PoissonParams::default(),
        }
    }
}

/// One factor's estimated relative risk.
#[derive(Debug, Clone, PartialEq)]
pub struct RelativeRisk {
    /// Feature name.
    pub name: String,
    /// What one unit of the feature is.
    pub unit: String,
    /// β (log relative risk per unit).
    pub coef: f64,
    /// Standard error of β (scaled by the dispersion the fit states).
    pub se: f64,
    /// e^β.
    pub relative_risk: f64,
    /// Lower confidence limit e^{β − z se}.
    pub ci_low: f64,
    /// Upper confidence limit e^{β + z se}.
    pub ci_high: f64,
}

/// A fitted risk-factor model.
#[derive(Debug, Clone)]
pub struct RiskFactorModel {
    params: RiskFactorParams,
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
    layers: Vec<PointLayer>,
    names: Vec<String>,
    units: Vec<String>,
    fit: PoissonFit,
    end: i64,
    origins: Vec<i64>,
}

/// Training origins `end − k·h`, k = K..1 (oldest first).
fn training_origins(end: i64, horizon_days: f64, k: usize) -> Vec<i64> {
    let h = (horizon_days * DAY_S).round() as i64;
    (1..=k as i64).rev().map(|j| end - j * h).collect()
}

impl RiskFactorModel {
    /// Builds features at the training origins before `until` (default: one second after the
    /// last incident) and fits the Poisson model to the counts that followed each.
    ///
    /// Errors: no incidents, a bad spec or horizon, `training_origins` of 0, no incident in
    /// any training target window, and the learner's errors.
    pub fn fit(
        params: RiskFactorParams,
        incidents: Arc<Incidents>,
        grid: Arc<Grid>,
        layers: Vec<PointLayer>,
        until: Option<i64>,
    ) -> Result<Self> {
        let (_, last) = incidents
            .time_span()
            .ok_or_else(|| Error::empty("no training incidents"))?;
        require_positive("horizon_days", params.horizon_days)?;
        params.features.validate()?;
        if params.training_origins == 0 {
            return Err(Error::param("training_origins", "must be at least 1"));
        }
        let end = until.unwrap_or(last.saturating_add(1));
        let origins = training_origins(end, params.horizon_days, params.training_origins);
        let f = build_features(&grid, &incidents, &origins, &layers, &params.features)?;
        let y = future_counts(&grid, &incidents, &origins, params.horizon_days)?;
        let fit = fit_poisson(f.values.view(), &y, None, &params.poisson)?;
        Ok(RiskFactorModel {
            params,
            incidents,
            grid,
            layers,
            names: f.names,
            units: f.units,
            fit,
            end,
            origins,
        })
    }

    /// The Poisson fit.
    pub fn poisson_fit(&self) -> &PoissonFit {
        &self.fit
    }

    /// Feature names, in coefficient order.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// The training origins (UTC seconds, oldest first).
    pub fn origins(&self) -> &[i64] {
        &self.origins
    }

    /// Each factor's relative risk per unit with a two-sided `confidence` interval (Wald, on
    /// the log scale).
    pub fn relative_risks(&self, confidence: f64) -> Result<Vec<RelativeRisk>> {
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(Error::param(
                "confidence",
                format!("must be in (0, 1), got {confidence}"),
            ));
        }
        let z = Normal::new(0.0, 1.0)
            .map_err(|e| Error::param("confidence", e.to_string()))?
            .inverse_cdf(0.5 + confidence / 2.0);
        Ok(self
            .names
            .iter()
            .zip(&self.units)
            .zip(self.fit.coef.iter().zip(&self.fit.se))
            .map(|((n, u), (&b, &se))| RelativeRisk {
                name: n.clone(),
                unit: u.clone(),
                coef: b,
                se,
                relative_risk: b.exp(),
                ci_low: (b - z * se).exp(),
                ci_high: (b + z * se).exp(),
            })
            .collect())
    }

    /// Expected incidents per cell over `[at, at + horizon)` (default `at`: the end of the
    /// training data; default horizon: the training horizon; another horizon rescales the
    /// rate linearly). Inactive cells are 0.
    pub fn predict(&self, at: Option<i64>, horizon_days: Option<f64>) -> Result<Surface> {
        let at = at.unwrap_or(self.end);
        let (first, _) = self
            .incidents
            .time_span()
            .ok_or_else(|| Error::empty("no training incidents"))?;
        if at <= first {
            return Err(Error::param(
                "at",
                format!("{at} (UTC seconds) is at or before the first training incident ({first})"),
            ));
        }
        let h = horizon_days.unwrap_or(self.params.horizon_days);
        require_positive("horizon", h)?;
        let f = build_features(
            &self.grid,
            &self.incidents,
            &[at],
            &self.layers,
            &self.params.features,
        )?;
        let mu = self.fit.predict(f.values.view())?;
        let scale = h / self.params.horizon_days;
        let g = &self.grid;
        let mut v = vec![0.0; g.n_cells()];
        for (&id, m) in f.cells.iter().zip(mu) {
            v[id] = m * scale;
        }
        let values = Array2::from_shape_vec((g.ny(), g.nx()), v)
            .map_err(|e| Error::param("grid", e.to_string()))?;
        let mut s = Surface::new(values, g.clone(), "RiskFactors")?;
        let mut p = BTreeMap::new();
        p.insert("horizon_days".into(), h.to_string());
        p.insert("features".into(), self.names.join(","));
        p.insert("alpha".into(), self.fit.alpha.to_string());
        p.insert("dispersion".into(), self.fit.dispersion.to_string());
        p.insert("training_origins".into(), self.origins.len().to_string());
        s.params = p;
        let lookback = self.params.features.lookback_s() as i64;
        s.window = Some((at.saturating_sub(lookback), at));
        s.units = "expected incidents per cell over the horizon".into();
        Ok(s)
    }
}
