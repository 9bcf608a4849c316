//! Hash-chained, append-only run log.
