//! Audits: disparity, concentration, data provenance, feedback loops, policy.
