//! Hotspot and point-process models, one file per model.
/// Self-exciting point processes (Mohler et al. 2011 space–time, 2015 grid ETAS): EM fit, simulation, prediction.
pub mod sepp;
pub use sepp::{SeppFit, SeppKind, SeppOptions, SeppParams};
