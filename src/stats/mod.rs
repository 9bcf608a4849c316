//! Spatial statistics: Getis–Ord Gi*, emerging hot spots, Knox near-repeat test, corrections.
