//! Evaluation metrics (hit rate, PAI, PEI*, RRI, coverage curves); the rolling backtest that
//! drives them lives in the Python layer, which owns the models.

/// Hit rate, PAI, PEI*, RRI at given coverages, and the coverage curve.
pub mod metrics;

pub use metrics::{coverage_curve, evaluate, CoverageCurve, Metrics};
