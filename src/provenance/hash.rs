//! SHA-256 (FIPS 180-4) digests of what a run read and wrote, as lowercase hex.
//!
//! Each digest covers a domain tag, the shape and the values in a fixed little-endian byte
//! form, so equal content gives equal digests on every platform and different kinds of input
//! never collide by construction.
//!
//! # Examples
//! ```
//! use placewise::provenance::hash_f64_array;
//! let a = hash_f64_array("surface", &[2, 2], &[0.0, 1.0, 2.0, 3.0]).unwrap();
//! let b = hash_f64_array("surface", &[4], &[0.0, 1.0, 2.0, 3.0]).unwrap();
//! assert_eq!(a.len(), 64);
//! assert_ne!(a, b); // the shape is part of the digest
//! ```

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::data::Incidents;
use crate::{Error, Result};

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// Digest of an incidents table: x, y (f64), t (i64), category codes and labels, origin codes,
/// and weights (when present), in order. Row provenance (source rows, duplicate flags) is not
/// part of the content.
pub fn hash_incidents(inc: &Incidents) -> String {
    let mut h = Sha256::new();
    put_str(&mut h, "placewise.incidents.v1");
    h.update((inc.len() as u64).to_le_bytes());
    for v in inc.x() {
        h.update(v.to_le_bytes());
    }
    for v in inc.y() {
        h.update(v.to_le_bytes());
    }
    for v in inc.t() {
        h.update(v.to_le_bytes());
    }
    for v in inc.category() {
        h.update(v.to_le_bytes());
    }
    h.update((inc.categories().len() as u64).to_le_bytes());
    for c in inc.categories() {
        put_str(&mut h, c);
    }
    for o in inc.origin() {
        h.update([*o as u8]);
    }
    match inc.weight() {
        None => h.update([0u8]),
        Some(w) => {
            h.update([1u8]);
            for v in w {
                h.update(v.to_le_bytes());
            }
        }
    }
    hex(&h.finalize())
}

/// Digest of a float array with a caller's tag (e.g. "population", "dose") and its shape.
pub fn hash_f64_array(tag: &str, shape: &[usize], data: &[f64]) -> Result<String> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(Error::param(
            "shape",
            format!(
                "shape {shape:?} holds {n} values but the data has {}",
                data.len()
            ),
        ));
    }
    let mut h = Sha256::new();
    put_str(&mut h, "placewise.f64-array.v1");
    put_str(&mut h, tag);
    h.update((shape.len() as u64).to_le_bytes());
    for d in shape {
        h.update((*d as u64).to_le_bytes());
    }
    for v in data {
        // -0.0 and 0.0 are the same value; every NaN hashes alike.
        let v = if *v == 0.0 { 0.0f64 } else { *v };
        let bits = if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        };
        h.update(bits.to_le_bytes());
    }
    Ok(hex(&h.finalize()))
}

/// JSON with every object's keys sorted, compact: the canonical form hashed by [`hash_json`].
pub fn canonical_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// Digest of parameters given as JSON, in canonical form (key order does not matter).
pub fn hash_json(v: &Value) -> String {
    let mut h = Sha256::new();
    put_str(&mut h, "placewise.json.v1");
    h.update(canonical_json(v).as_bytes());
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // FIPS 180-2 appendix B.1 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn json_key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": [1, 2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": [1, 2], "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(hash_json(&a), hash_json(&b));
        let c: Value = serde_json::from_str(r#"{"a": {"x": [2, 1], "y": 2}, "b": 1}"#).unwrap();
        assert_ne!(hash_json(&a), hash_json(&c));
    }

    #[test]
    fn incidents_digest_tracks_content() {
        let a = Incidents::new(vec![0.0, 1.0], vec![0.0, 1.0], vec![0, 10]).unwrap();
        let b = Incidents::new(vec![0.0, 1.0], vec![0.0, 1.5], vec![0, 10]).unwrap();
        assert_eq!(hash_incidents(&a), hash_incidents(&a.clone()));
        assert_ne!(hash_incidents(&a), hash_incidents(&b));
        assert!(hash_f64_array("x", &[3], &[1.0]).is_err());
    }
}
