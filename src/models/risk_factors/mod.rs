//! Risk-factor (risk terrain) model: features per cell and time, a penalised Poisson
//! log-linear learner, and the model that ties them to a forecast of expected counts.

/// Features per cell and origin: lagged counts, neighbours, near repeats, point layers.
pub mod features;
/// The fitted model: features at past origins → Poisson fit → expected counts at `at`.
pub mod model;
/// Penalised Poisson regression by IRLS with standard errors.
pub mod poisson;

pub use features::{
    build_features, future_counts, layer_features, FeatureSpec, Features, PointLayer,
};
pub use model::{RelativeRisk, RiskFactorModel, RiskFactorParams};
pub use poisson::{fit_poisson, Dispersion, PoissonFit, PoissonParams};
