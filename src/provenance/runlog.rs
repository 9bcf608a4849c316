//! The run log: an append-only JSON Lines file in which every record carries the SHA-256 of
//! the record before it, so that changing, removing or reordering any record breaks the chain
//! (the construction of a hash chain, Haber & Stornetta 1991; as in Crosby & Wallach 2009's
//! tamper-evident logging, it detects tampering; it cannot prevent it, and an attacker who can
//! rewrite the whole file can recompute the chain, so keep the head digest elsewhere too).
//!
//! Each line is exactly
//!
//! `{"hash":"<64 lowercase hex>","record":<body>}` followed by `\n`,
//!
//! where `hash` is the SHA-256 of the body's bytes as written, and the body is a compact JSON
//! object holding `index` (0-based), `prev` (the previous record's `hash`; 64 zeros for the
//! first), `library_version`, `logged_at_unix_s`, and the caller's fields (input and output
//! digests, parameters, seed, audit summary, override). Because the digest covers the exact
//! bytes, flipping any byte of any line is detected: in the body by the digest, in the frame by
//! the fixed layout, in a newline by the line structure.
//!
//! Appends are one `write` of the whole line on a file opened for appending, followed by
//! `fsync`. A crash can still leave a partial last line; [`RunLog::verify`] reports it and
//! [`RunLog::append`] refuses to chain onto it, so no record is ever built on a torn one.
//! [`RunLog::repair`] moves such a torn tail to a side file, after which appends resume from
//! the last complete record. There is no locking between processes: one writer at a time.
//!
//! # Examples
//! ```
//! use placewise::provenance::RunLog;
//! let dir = std::env::temp_dir().join(format!("pw-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let log = RunLog::new(dir.join("runs.jsonl"));
//! log.append(serde_json::json!({"seed": 0, "params": {"k": 10}})).unwrap();
//! log.append(serde_json::json!({"seed": 1})).unwrap();
//! assert_eq!(log.verify().unwrap().records, 2);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::hash::sha256_hex;
use crate::{Error, Result};

const PREFIX: &[u8] = b"{\"hash\":\"";
const MIDDLE: &[u8] = b"\",\"record\":";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Keys the log writes itself; a caller's record may not set them.
pub const RESERVED: [&str; 4] = ["index", "prev", "library_version", "logged_at_unix_s"];

/// A hash-chained JSONL file.
#[derive(Debug, Clone)]
pub struct RunLog {
    path: PathBuf,
}

/// Result of a successful verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Records checked.
    pub records: usize,
    /// `hash` of the last record (64 zeros for an empty log): keep it elsewhere to detect a
    /// rewritten chain.
    pub head: String,
}

/// A record as appended.
#[derive(Debug, Clone, Serialize)]
pub struct Appended {
    /// 0-based index.
    pub index: usize,
    /// Its digest.
    pub hash: String,
    /// The body as stored.
    pub record: Value,
}

fn bad(record: usize, reason: impl Into<String>) -> Error {
    Error::LogVerification {
        record,
        reason: reason.into(),
    }
}

/// Checks one line (without its newline) as record `i` chained to `prev`; returns its hash and
/// body.
fn check_line(line: &[u8], i: usize, prev: &str) -> Result<(String, Value)> {
    let head = PREFIX.len() + 64 + MIDDLE.len();
    if line.len() < head + 2
        || !line.starts_with(PREFIX)
        || &line[PREFIX.len() + 64..head] != MIDDLE
        || line[line.len() - 1] != b'}'
    {
        return Err(bad(
            i,
            "the line is not a run-log record (its frame is damaged)",
        ));
    }
    let stated = &line[PREFIX.len()..PREFIX.len() + 64];
    let body = &line[head..line.len() - 1];
    let actual = sha256_hex(body);
    if stated != actual.as_bytes() {
        return Err(bad(
            i,
            format!(
                "the record's digest does not match its content (stated {}, computed {actual})",
                String::from_utf8_lossy(stated)
            ),
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad(i, format!("the record is not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad(i, "the record is not a JSON object"))?;
    if obj.get("index").and_then(Value::as_u64) != Some(i as u64) {
        return Err(bad(
            i,
            format!("the record's index is {:?}, expected {i}", obj.get("index")),
        ));
    }
    if obj.get("prev").and_then(Value::as_str) != Some(prev) {
        return Err(bad(
            i,
            "the record's `prev` does not match the previous record's digest (a record was \
             removed, inserted, reordered or changed)",
        ));
    }
    Ok((actual, v))
}

impl RunLog {
    /// A log at `path` (created on the first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunLog { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn read(&self) -> Result<Vec<u8>> {
        match File::open(&self.path) {
            Ok(mut f) => {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf).map_err(|e| self.io(e))?;
                Ok(buf)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Verifies `bytes`; returns the verification and the bodies.
    fn scan(bytes: &[u8]) -> Result<(Verification, Vec<Value>)> {
        let mut prev = GENESIS.to_string();
        let mut bodies = Vec::new();
        if bytes.is_empty() {
            return Ok((
                Verification {
                    records: 0,
                    head: prev,
                },
                bodies,
            ));
        }
        let complete = bytes.ends_with(b"\n");
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        lines.pop(); // after the last newline: empty, or the torn tail
        let n = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let (h, v) = check_line(line, i, &prev)?;
            prev = h;
            bodies.push(v);
        }
        if !complete {
            return Err(bad(
                n,
                "the last record is incomplete (no final newline): a write was interrupted; \
                 call repair() to move the torn bytes aside",
            ));
        }
        Ok((
            Verification {
                records: n,
                head: prev,
            },
            bodies,
        ))
    }

    /// Verifies the whole chain. Errors with [`Error::LogVerification`] naming the first bad
    /// record (0-based), including a torn last record.
    pub fn verify(&self) -> Result<Verification> {
        Ok(Self::scan(&self.read()?)?.0)
    }

    /// The records' bodies, after verifying the chain.
    pub fn records(&self) -> Result<Vec<Value>> {
        Ok(Self::scan(&self.read()?)?.1)
    }

    /// Appends `record` (a JSON object; it may not set the reserved keys) after verifying the
    /// existing chain; writes the line in one call and fsyncs.
    pub fn append(&self, record: Value) -> Result<Appended> {
        let Value::Object(fields) = record else {
            return Err(Error::param("record", "must be a JSON object (a dict)"));
        };
        if let Some(k) = RESERVED.iter().find(|k| fields.contains_key(**k)) {
            return Err(Error::param(
                "record",
                format!("key `{k}` is written by the log itself"),
            ));
        }
        let existed = self.path.exists();
        let (ver, _) = Self::scan(&self.read()?)?;
        let mut body = Map::new();
        body.insert("index".into(), Value::from(ver.records as u64));
        body.insert("prev".into(), Value::from(ver.head));
        body.insert("library_version".into(), Value::from(crate::VERSION));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        body.insert("logged_at_unix_s".into(), Value::from(now));
        for (k, v) in fields {
            body.insert(k, v);
        }
        let body = Value::Object(body);
        let text = body.to_string();
        let hash = sha256_hex(text.as_bytes());
        let line = format!("{{\"hash\":\"{hash}\",\"record\":{text}}}\n");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        f.write_all(line.as_bytes()).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        if !existed {
            // Make the new file's directory entry durable too.
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(Appended {
            index: ver.records,
            hash,
            record: body,
        })
    }

    /// Moves a torn last record (bytes after the last newline) to `<path>.torn`, appending to
    /// that file, and truncates the log after its last complete record. Returns the number of
    /// bytes moved (0 when the log was not torn). Damage elsewhere is not repaired: it stays
    /// for [`RunLog::verify`] to report.
    pub fn repair(&self) -> Result<usize> {
        let bytes = self.read()?;
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(0);
        }
        let keep = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let torn = &bytes[keep..];
        let mut side = self.path.clone().into_os_string();
        side.push(".torn");
        let mut s = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&side)
            .map_err(|e| self.io(e))?;
        s.write_all(torn).map_err(|e| self.io(e))?;
        s.write_all(b"\n").map_err(|e| self.io(e))?;
        s.sync_all().map_err(|e| self.io(e))?;
        let f = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        f.set_len(keep as u64).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        Ok(torn.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "pw-runlog-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d.join("runs.jsonl")
    }

    fn log_with(n: usize, name: &str) -> RunLog {
        let log = RunLog::new(tmp(name));
        for i in 0..n {
            log.append(json!({"seed": i, "params": {"k": i * 3, "s": "naïve ✓"}}))
                .unwrap();
        }
        log
    }

    fn record_of(e: Error) -> usize {
        match e {
            Error::LogVerification { record, .. } => record,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn chain_verifies_and_reads_back() {
        let log = log_with(3, "ok");
        let v = log.verify().unwrap();
        assert_eq!(v.records, 3);
        let recs = log.records().unwrap();
        assert_eq!(recs[2]["seed"], 2);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(recs[1]["prev"], first["hash"]);
        assert_eq!(recs[0]["prev"], GENESIS);
        assert_eq!(RunLog::new(tmp("empty")).verify().unwrap().records, 0);
        let e = log.append(json!({"prev": "x"})).unwrap_err();
        assert!(e.to_string().contains("`prev`"));
        assert!(log.append(json!([1, 2])).is_err());
    }

    #[test]
    fn removed_or_reordered_records_are_detected() {
        let log = log_with(4, "reorder");
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let removed = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]);
        std::fs::write(log.path(), removed).unwrap();
        assert_eq!(record_of(log.verify().unwrap_err()), 1);
        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
        std::fs::write(log.path(), swapped).unwrap();
        assert_eq!(record_of(log.verify().unwrap_err()), 1);
    }

    #[test]
    fn torn_write_is_reported_and_never_built_upon() {
        let log = log_with(3, "torn");
        let full = std::fs::read(log.path()).unwrap();
        let second_end = full
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1)
            .unwrap()
            .0;
        // A crash in the middle of writing record 2.
        let cut = second_end + 1 + (full.len() - second_end) / 2;
        std::fs::write(log.path(), &full[..cut]).unwrap();
        assert_eq!(record_of(log.verify().unwrap_err()), 2);
        // Appending refuses to chain onto the torn record.
        assert_eq!(record_of(log.append(json!({"seed": 9})).unwrap_err()), 2);
        assert_eq!(std::fs::read(log.path()).unwrap(), &full[..cut]);
        // Repair moves the torn bytes aside; the next append follows record 1.
        assert_eq!(log.repair().unwrap(), cut - second_end - 1);
        let a = log.append(json!({"seed": 9})).unwrap();
        assert_eq!(a.index, 2);
        assert_eq!(log.verify().unwrap().records, 3);
        assert_eq!(log.records().unwrap()[2]["seed"], 9);
        // A cut right after a newline leaves a valid shorter log (the whole record is lost,
        // not torn): verification passes with the records written so far.
        std::fs::write(log.path(), &full[..second_end + 1]).unwrap();
        assert_eq!(log.verify().unwrap().records, 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Flipping any bits of any byte of any record is detected, and the first bad record
        /// named is the one holding the byte (or, for a newline, the record it ends).
        #[test]
        fn any_flipped_byte_is_detected(pos in 0.0f64..1.0, mask in 1u8..=255) {
            let log = log_with(4, "flip");
            let mut bytes = std::fs::read(log.path()).unwrap();
            let i = ((bytes.len() as f64) * pos) as usize % bytes.len();
            let line_of_i = bytes[..i].iter().filter(|b| **b == b'\n').count();
            bytes[i] ^= mask;
            std::fs::write(log.path(), &bytes).unwrap();
            let e = log.verify().unwrap_err();
            let r = record_of(e);
            // A flipped byte inside line L, its newline turned into another byte (merging it
            // with the next line, or leaving the last record without its newline), or a byte
            // turned into a newline (splitting L): in every case record L is the first bad one.
            prop_assert_eq!(r, line_of_i, "flip at {} (line {}) reported at {}", i, line_of_i, r);
            std::fs::remove_dir_all(log.path().parent().unwrap()).unwrap();
        }
    }
}
