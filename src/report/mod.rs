//! Schema-versioned report structs (rendering lives in Python).
