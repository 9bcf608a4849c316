//! Evaluation metrics (hit rate, PAI, PEI*, RRI, coverage curves) and probabilistic scores; the
//! rolling backtest and model selection that drive them live in the Python layer, which owns
//! the models.

/// Hit rate, PAI, PEI*, RRI at given coverages, and the coverage curve.
pub mod metrics;
/// Poisson log-likelihood, deviance, Brier score and calibration of expected counts.
pub mod scores;

pub use metrics::{coverage_curve, evaluate, CoverageCurve, Metrics};
pub use scores::{calibration, probabilistic_scores, CalibrationBin, ProbabilisticScores};
