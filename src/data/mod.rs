//! Incidents, their origin, ingest validation and the data-quality report.

/// The incidents table (columnar) and its origin codes.
pub mod incidents;
/// Ingest: validating raw columns row by row into [`Incidents`] and a [`QualityReport`].
pub mod ingest;

pub use incidents::{Incidents, Origin};
pub use ingest::{
    ingest, DropReason, DuplicatePolicy, Heaping, IngestOptions, QualityReport, RawIncidents, Spike,
};
