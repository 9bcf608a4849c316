//! Hash-chained, append-only run log and the hashes of inputs and outputs it records.

/// SHA-256 digests of incidents, arrays and parameters, in a documented canonical byte form.
pub mod hash;
/// The append-only JSONL run log: append, verify, repair a torn tail.
pub mod runlog;

pub use hash::{hash_f64_array, hash_incidents, hash_json};
pub use runlog::{RunLog, Verification};
