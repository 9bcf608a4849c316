//! Hotspot and point-process models, one file per model.
//!
//! Every model is fitted on an [`Incidents`](crate::data::Incidents) table and a
//! [`Grid`](crate::space::Grid) and predicts a [`Surface`](crate::Surface) at a time `at`: the
//! surface computed from the incidents strictly before `at` (inside the model's trailing window,
//! when it has one). A prediction at or before the first training incident is refused.

/// The `Model` trait: fit on incidents before a time, predict the surface then.
pub mod model;
pub use model::Model;
/// Counts per cell in a trailing window.
pub mod naive;
pub use naive::{Naive, NaiveParams};
/// Kernel density estimation (exact and binned-FFT), bandwidth rules, cross-validation.
pub mod kde;
pub use kde::{kde_grid, Bandwidth, Kde, KdeMode, KdeParams, Kernel};
/// Retrospective hotspot map: quartic kernel over a moving window.
pub mod retrospective;
pub use retrospective::{RetrospectiveHotspot, RetrospectiveParams};
/// Prospective hotspot map (Bowers, Johnson & Pease 2004).
pub mod prospective;
pub use prospective::{CellDistance, ProspectiveHotspot, ProspectiveParams};

mod kde_binned;
mod kde_exact;
/// Exact kernel sums over a trailing window, updated incrementally across origins.
pub mod kde_window;
pub use kde_window::WindowKernelSums;
mod window;

pub use kde_binned::binned_error_bound;
pub use kde_exact::kernel_grid;
/// Self-exciting point processes (Mohler et al. 2011 space–time, 2015 grid ETAS): EM fit, simulation, prediction.
pub mod sepp;
pub use sepp::{SeppFit, SeppKind, SeppOptions, SeppParams};
/// Risk-factor (risk terrain) model: features per cell and time, penalised Poisson IRLS.
pub mod risk_factors;
pub use risk_factors::{RiskFactorModel, RiskFactorParams};
