//! Study region, square grid with a mask, areal weights and population by cell.
//!
//! Everything here is in metres of one projected coordinate system; the Python layer projects
//! inputs before they reach this module.

/// Areal weights: the share of each polygon's area that falls in each grid cell.
pub mod areal;
/// Square grid over a region: cell ids, `cell_of`, centres, the mask of cells inside the region.
pub mod grid;
/// Population counts by group, distributed from areas to cells by area share.
pub mod population;
/// The study region: a union of polygons with a fast point-in-region index.
pub mod region;

pub use areal::{areal_weights, dominant_polygon, ArealWeights, DOMINANT_TIE_RTOL};
pub use grid::{Grid, DEFAULT_MAX_CELLS};

pub use population::{Population, PopulationReport};
pub use region::Region;
