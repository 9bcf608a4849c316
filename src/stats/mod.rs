//! Spatial statistics: Getis–Ord Gi*, emerging hot spots, Knox near-repeat test, corrections.

/// Percentile bootstrap interval of a mean, seeded through the crate's one generator.
pub mod bootstrap;
/// Emerging hot spot analysis: Gi* per time slice, Mann–Kendall trend, ESRI categories.
pub mod emerging;
/// Getis–Ord Gi* on grid counts with analytic and conditional-permutation inference.
pub mod gi_star;
/// Knox near-repeat test: space bands × time bands with Monte Carlo p-values.
pub mod knox;
mod knox_sweep;
/// Mann–Kendall trend test.
pub mod mann_kendall;
/// Benjamini–Hochberg and Holm adjustments of p-values.
pub mod multiple_testing;

pub use emerging::{emerging_hotspots, Emerging, EmergingCategory, EmergingParams};
pub use gi_star::{gi_star, GiStar, GiStarParams, GiWeights};
pub use knox::{knox, Band, Knox, KnoxCell, KnoxMethod, KnoxParams};
pub use mann_kendall::{mann_kendall, MannKendall};
pub use multiple_testing::{adjust, Correction};
