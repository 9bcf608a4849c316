//! Hotspot and point-process models, one file per model.
