//! Hash-chained, append-only run log and the hashes of inputs and outputs it records.

/// SHA-256 digests of incidents, arrays and parameters, in a documented canonical byte form.
pub mod hash;
/// The append-only JSONL run log: locked appends, verify (anchored, signed), repair.
pub mod runlog;

pub use hash::{hash_f64_array, hash_incidents, hash_json};
pub use runlog::{
    key_pair_pem, signing_key_from_text, verifying_key_from_text, Checkpoint, RunLog, Verification,
};
