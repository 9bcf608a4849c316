//! The run log: an append-only JSON Lines file in which every record carries the SHA-256 of
//! the record before it, so that changing, removing or reordering any record breaks the chain
//! (the construction of a hash chain, Haber & Stornetta 1991; as in Crosby & Wallach 2009's
//! tamper-evident logging, it detects tampering; it cannot prevent it).
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
//! **What the chain alone cannot show.** Removing records from the end, or rewriting the whole
//! chain consistently (change a record, recompute every later hash), leaves a chain that
//! verifies. Two anchors close these gaps, as trusted logs do (Certificate Transparency's
//! signed tree heads, RFC 6962 §3.5; AWS CloudTrail's signed digest files):
//!
//! * an **external anchor**: keep `(records, head)` from [`RunLog::verify`] somewhere the log's
//!   writer cannot change, and check it with [`RunLog::verify_anchored`];
//! * **signed checkpoints**: [`RunLog::checkpoint`] appends a record holding an Ed25519
//!   signature (RFC 8032) of `(records, head)` by the user's key; [`RunLog::verify_signed`]
//!   checks every checkpoint against the user's public keys. A rewrite of anything a
//!   checkpoint covers needs the private key. Keys are the user's: this module never creates or
//!   stores one.
//!
//! **Concurrency.** Appends, checkpoints and repairs hold a process-wide mutex and an advisory
//! exclusive lock on the log file (`flock`/`LockFileEx`, through `fs4`) while they read the
//! chain and write the new line, so any number of threads and processes may append to one log;
//! readers take a shared lock and never see half a line. Advisory locks bind only programs that
//! take them (every placewise writer does), and may not work on network file systems.
//!
//! Appends are one `write` of the whole line, followed by `fsync`. A crash can still leave a
//! partial last line; [`RunLog::verify`] reports it and [`RunLog::append`] refuses to chain onto
//! it, so no record is ever built on a torn one. [`RunLog::repair`] moves everything after the
//! last good record to `<path>.quarantine` (never deleting it) and records the repair in the
//! log, after which appends resume.
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
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use fs4::fs_std::FileExt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::hash::sha256_hex;
use crate::{Error, Result};

const PREFIX: &[u8] = b"{\"hash\":\"";
const MIDDLE: &[u8] = b"\",\"record\":";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Keys the log writes itself; a caller's record may not set them.
pub const RESERVED: [&str; 5] = [
    "index",
    "prev",
    "library_version",
    "logged_at_unix_s",
    "checkpoint",
];
/// Domain tag of the message a checkpoint signs (followed by `records` and `head`).
const CHECKPOINT_TAG: &str = "placewise run log checkpoint v1";

/// Serialises writers within this process (the file lock serialises processes).
static WRITERS: Mutex<()> = Mutex::new(());

/// A hash-chained JSONL file.
#[derive(Debug, Clone)]
pub struct RunLog {
    path: PathBuf,
    auto_checkpoint: Option<(usize, std::sync::Arc<SigningKey>)>,
}

/// Result of a successful verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Records checked.
    pub records: usize,
    /// `hash` of the last record (64 zeros for an empty log): keep it elsewhere to detect a
    /// rewritten chain.
    pub head: String,
    /// Checkpoint records in the log (their signatures are checked by
    /// [`RunLog::verify_signed`] only).
    pub checkpoints: usize,
    /// Records covered by the last checkpoint whose signature was checked (0 when signatures
    /// were not checked or there is no checkpoint): records at or after this index are covered
    /// by the hash chain alone.
    pub signed_records: usize,
}

/// A checkpoint: an Ed25519 signature of the first `records` records' head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Records the signature covers (the checkpoint's own index).
    pub records: usize,
    /// `hash` of record `records - 1` (64 zeros when 0).
    pub head: String,
    /// The signer's public key (32 bytes, lowercase hex).
    pub public_key: String,
    /// The signature (64 bytes, lowercase hex).
    pub signature: String,
}

/// The verified content of a log: records, their hashes.
struct Scan {
    bodies: Vec<Value>,
    hashes: Vec<String>,
}

impl Scan {
    fn head(&self) -> String {
        self.hashes
            .last()
            .cloned()
            .unwrap_or_else(|| GENESIS.to_string())
    }
    fn checkpoints(&self) -> usize {
        self.bodies
            .iter()
            .filter(|b| b.get("checkpoint").is_some())
            .count()
    }
    fn verification(&self) -> Verification {
        Verification {
            records: self.bodies.len(),
            head: self.head(),
            checkpoints: self.checkpoints(),
            signed_records: 0,
        }
    }
}

/// The message a checkpoint signs.
fn checkpoint_message(records: usize, head: &str) -> Vec<u8> {
    format!("{CHECKPOINT_TAG}\nrecords={records}\nhead={head}\n").into_bytes()
}

/// An Ed25519 signing key from text: a PKCS#8 PEM private key (`openssl genpkey -algorithm
/// ed25519` writes one) or 64 hex digits of the 32-byte secret seed.
pub fn signing_key_from_text(text: &str) -> Result<SigningKey> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return SigningKey::from_pkcs8_pem(t).map_err(|e| {
            Error::param(
                "signing_key",
                format!("not an Ed25519 PKCS#8 PEM private key: {e}"),
            )
        });
    }
    let bytes = hex_32(t).ok_or_else(|| {
        Error::param(
            "signing_key",
            "expected a PKCS#8 PEM private key or 64 hex digits (a 32-byte Ed25519 seed)",
        )
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// An Ed25519 public key from text: an SPKI PEM public key (`openssl pkey -pubout`) or 64 hex
/// digits.
pub fn verifying_key_from_text(text: &str) -> Result<VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(t).map_err(|e| {
            Error::param("public_key", format!("not an Ed25519 PEM public key: {e}"))
        });
    }
    let bytes = hex_32(t).ok_or_else(|| {
        Error::param(
            "public_key",
            "expected a PEM public key or 64 hex digits (a 32-byte Ed25519 public key)",
        )
    })?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| Error::param("public_key", format!("not an Ed25519 public key: {e}")))
}

/// PKCS#8 PEM private key and SPKI PEM public key for the 32-byte secret `seed` (the caller
/// supplies the randomness; nothing is written anywhere).
pub fn key_pair_pem(seed: &[u8]) -> Result<(String, String)> {
    use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| Error::param("seed", format!("must be 32 bytes, got {}", seed.len())))?;
    let sk = SigningKey::from_bytes(&seed);
    let private = sk
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::param("seed", e.to_string()))?;
    let public = sk
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::param("seed", e.to_string()))?;
    Ok((private.to_string(), public))
}

fn hex_32(t: &str) -> Option<[u8; 32]> {
    let v = hex::decode(t).ok()?;
    v.try_into().ok()
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

/// The verified prefix of `bytes`: the records that chain, the byte length they occupy, and the
/// error at the first record that does not (a torn last line included).
fn scan_prefix(bytes: &[u8]) -> (Scan, usize, Option<Error>) {
    let mut scan = Scan {
        bodies: Vec::new(),
        hashes: Vec::new(),
    };
    let mut prev = GENESIS.to_string();
    let mut good = 0;
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return (
                scan,
                good,
                Some(bad(
                    i,
                    "the last record is incomplete (no final newline): a write was \
                     interrupted; call repair() to move the torn bytes aside",
                )),
            );
        };
        match check_line(&rest[..nl], i, &prev) {
            Ok((h, v)) => {
                prev = h.clone();
                scan.hashes.push(h);
                scan.bodies.push(v);
            }
            Err(e) => return (scan, good, Some(e)),
        }
        good += nl + 1;
        rest = &rest[nl + 1..];
        i += 1;
    }
    (scan, good, None)
}

fn scan(bytes: &[u8]) -> Result<Scan> {
    match scan_prefix(bytes) {
        (s, _, None) => Ok(s),
        (_, _, Some(e)) => Err(e),
    }
}

/// Records since the last checkpoint record.
fn since_checkpoint(scan: &Scan) -> usize {
    scan.bodies
        .iter()
        .rev()
        .take_while(|b| b.get("checkpoint").is_none())
        .count()
}

impl RunLog {
    /// A log at `path` (created on the first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunLog {
            path: path.into(),
            auto_checkpoint: None,
        }
    }

    /// The same log, appending a signed checkpoint (see [`RunLog::checkpoint`]) whenever
    /// `every` records have been appended since the last one. `every` must be at least 1.
    pub fn with_checkpoints(mut self, every: usize, key: SigningKey) -> Result<Self> {
        if every == 0 {
            return Err(Error::param("checkpoint_every", "must be at least 1"));
        }
        self.auto_checkpoint = Some((every, std::sync::Arc::new(key)));
        Ok(self)
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

    /// The file's bytes under a shared lock (no writer is mid-line); empty when it does not
    /// exist.
    fn read(&self) -> Result<Vec<u8>> {
        match File::open(&self.path) {
            Ok(mut f) => {
                FileExt::lock_shared(&f).map_err(|e| self.io(e))?;
                let mut buf = Vec::new();
                f.read_to_end(&mut buf).map_err(|e| self.io(e))?;
                Ok(buf)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Runs `f` on the log's file and bytes, holding the process-wide writers' mutex and an
    /// exclusive advisory lock on the file (released when the file is closed).
    fn locked<T>(&self, f: impl FnOnce(&mut File, Vec<u8>) -> Result<T>) -> Result<T> {
        let _guard = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
        let existed = self.path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        FileExt::lock_exclusive(&file).map_err(|e| self.io(e))?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
        file.read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        let out = f(&mut file, bytes)?;
        if !existed {
            // Make the new file's directory entry durable too.
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(out)
    }

    /// Verifies the whole chain. Errors with [`Error::LogVerification`] naming the first bad
    /// record (0-based), including a torn last record. A chain that verifies may still have
    /// lost records at its end or been rewritten whole: check an anchor
    /// ([`RunLog::verify_anchored`], [`RunLog::verify_signed`]).
    pub fn verify(&self) -> Result<Verification> {
        Ok(scan(&self.read()?)?.verification())
    }

    /// Verifies the chain and that it still holds the anchor `(expected_records,
    /// expected_head)` taken from an earlier [`RunLog::verify`]: at least `expected_records`
    /// records, record `expected_records - 1` having hash `expected_head`. With only
    /// `expected_head`, some record must have that hash; with only `expected_records`, the log
    /// must hold at least that many. Catches records removed from the end and consistent
    /// rewrites of anything the anchor covers.
    pub fn verify_anchored(
        &self,
        expected_head: Option<&str>,
        expected_records: Option<usize>,
    ) -> Result<Verification> {
        let sc = scan(&self.read()?)?;
        let n = sc.bodies.len();
        if let Some(m) = expected_records {
            if n < m {
                return Err(bad(
                    n,
                    format!(
                        "the log holds {n} records but the anchor says {m}: records were \
                         removed from its end"
                    ),
                ));
            }
        }
        if let Some(h) = expected_head {
            let at = match expected_records {
                Some(0) => (h == GENESIS).then_some(0),
                Some(m) => (sc.hashes[m - 1] == h).then_some(m),
                None => sc.hashes.iter().position(|x| x == h).map(|i| i + 1),
            };
            if at.is_none() {
                let record = expected_records.map_or(0, |m| m.saturating_sub(1));
                return Err(bad(
                    record,
                    match expected_records {
                        Some(m) => format!(
                            "record {} has hash {} but the anchor says {h}: the log was \
                             rewritten",
                            m.saturating_sub(1),
                            if m == 0 { GENESIS } else { &sc.hashes[m - 1] }
                        ),
                        None => format!(
                            "no record has the anchored hash {h}: the log was rewritten or \
                             truncated"
                        ),
                    },
                ));
            }
        }
        Ok(sc.verification())
    }

    /// Verifies the chain and every checkpoint's signature, each against one of `keys` (the
    /// user's public keys). Fails when there is no checkpoint, when a checkpoint is signed by
    /// another key, or when a signature or the `(records, head)` it signs does not match.
    /// `signed_records` in the result says how much of the log the last checkpoint covers.
    pub fn verify_signed(&self, keys: &[VerifyingKey]) -> Result<Verification> {
        if keys.is_empty() {
            return Err(Error::param("public_key", "give at least one public key"));
        }
        let sc = scan(&self.read()?)?;
        let mut last = None;
        for (i, b) in sc.bodies.iter().enumerate() {
            let Some(cp) = b.get("checkpoint") else {
                continue;
            };
            let field = |k: &str| cp.get(k).and_then(Value::as_str).unwrap_or("");
            let records = cp.get("records").and_then(Value::as_u64);
            let head = if i == 0 { GENESIS } else { &sc.hashes[i - 1] };
            if records != Some(i as u64) || field("head") != head {
                return Err(bad(
                    i,
                    "the checkpoint's `records`/`head` do not match its place in the chain",
                ));
            }
            let pk = hex_32(field("public_key"))
                .and_then(|k| VerifyingKey::from_bytes(&k).ok())
                .ok_or_else(|| bad(i, "the checkpoint's public key is malformed"))?;
            if !keys.contains(&pk) {
                return Err(bad(
                    i,
                    format!(
                        "the checkpoint is signed by key {} which is not among the keys given",
                        field("public_key")
                    ),
                ));
            }
            let sig = hex::decode(field("signature"))
                .ok()
                .and_then(|v| <[u8; 64]>::try_from(v).ok())
                .map(|b| Signature::from_bytes(&b))
                .ok_or_else(|| bad(i, "the checkpoint's signature is malformed"))?;
            pk.verify(&checkpoint_message(i, head), &sig).map_err(|_| {
                bad(
                    i,
                    "the checkpoint's signature does not verify: the records before it were \
                     changed, or it was forged",
                )
            })?;
            last = Some(i);
        }
        let Some(last) = last else {
            return Err(bad(
                sc.bodies.len(),
                "the log holds no signed checkpoint to check",
            ));
        };
        let mut v = sc.verification();
        v.signed_records = last;
        Ok(v)
    }

    /// The records' bodies, after verifying the chain.
    pub fn records(&self) -> Result<Vec<Value>> {
        Ok(scan(&self.read()?)?.bodies)
    }

    /// Writes `fields` as the next record after the verified `sc`, on the locked `file`.
    fn write_record(
        &self,
        file: &mut File,
        sc: &mut Scan,
        fields: Map<String, Value>,
    ) -> Result<Appended> {
        let index = sc.bodies.len();
        let mut body = Map::new();
        body.insert("index".into(), Value::from(index as u64));
        body.insert("prev".into(), Value::from(sc.head()));
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
        file.write_all(line.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        sc.hashes.push(hash.clone());
        sc.bodies.push(body.clone());
        Ok(Appended {
            index,
            hash,
            record: body,
        })
    }

    fn write_checkpoint(
        &self,
        file: &mut File,
        sc: &mut Scan,
        key: &SigningKey,
    ) -> Result<Checkpoint> {
        let records = sc.bodies.len();
        let head = sc.head();
        let sig = key.sign(&checkpoint_message(records, &head));
        let cp = Checkpoint {
            records,
            head,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(sig.to_bytes()),
        };
        let mut fields = Map::new();
        fields.insert(
            "checkpoint".into(),
            serde_json::to_value(&cp).map_err(|e| Error::param("checkpoint", e.to_string()))?,
        );
        self.write_record(file, sc, fields)?;
        Ok(cp)
    }

    /// Appends `record` (a JSON object; it may not set the reserved keys) after verifying the
    /// existing chain, under the writers' locks; writes the line in one call and fsyncs. Then,
    /// when automatic checkpoints are set ([`RunLog::with_checkpoints`]) and due, appends one.
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
        self.locked(|file, bytes| {
            let mut sc = scan(&bytes)?;
            let a = self.write_record(file, &mut sc, fields)?;
            if let Some((every, key)) = &self.auto_checkpoint {
                if since_checkpoint(&sc) >= *every {
                    self.write_checkpoint(file, &mut sc, key)?;
                }
            }
            Ok(a)
        })
    }

    /// Appends a checkpoint now: a record holding `key`'s Ed25519 signature of the number of
    /// records before it and the hash of the last of them. Anyone with the public key can then
    /// check ([`RunLog::verify_signed`]) that those records were not changed since.
    pub fn checkpoint(&self, key: &SigningKey) -> Result<Checkpoint> {
        self.locked(|file, bytes| {
            let mut sc = scan(&bytes)?;
            self.write_checkpoint(file, &mut sc, key)
        })
    }

    /// Makes a damaged log usable again without losing anything: everything from the first
    /// record that does not verify (a torn last line, a changed or misplaced record, and all
    /// records after it) is appended to `<path>.quarantine` and cut from the log, and a record
    /// of the repair (first bad record, reason, bytes moved and their SHA-256) is appended so
    /// the log itself shows it was repaired. Returns the number of bytes moved (0, and nothing
    /// written, when the log verifies).
    pub fn repair(&self) -> Result<usize> {
        self.locked(|file, bytes| {
            let (mut sc, good, err) = scan_prefix(&bytes);
            let Some(err) = err else {
                return Ok(0);
            };
            let moved = &bytes[good..];
            let side = self.quarantine_path();
            let mut q = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&side)
                .map_err(|e| Error::Io {
                    path: side.display().to_string(),
                    source: e,
                })?;
            q.write_all(moved)
                .and_then(|_| {
                    if moved.ends_with(b"\n") {
                        Ok(())
                    } else {
                        q.write_all(b"\n")
                    }
                })
                .and_then(|_| q.sync_all())
                .map_err(|e| Error::Io {
                    path: side.display().to_string(),
                    source: e,
                })?;
            file.set_len(good as u64).map_err(|e| self.io(e))?;
            file.sync_all().map_err(|e| self.io(e))?;
            let (first_bad, reason) = match &err {
                Error::LogVerification { record, reason } => (*record, reason.clone()),
                other => (sc.bodies.len(), other.to_string()),
            };
            let mut fields = Map::new();
            fields.insert(
                "repair".into(),
                serde_json::json!({
                    "first_bad_record": first_bad,
                    "reason": reason,
                    "quarantined_bytes": moved.len(),
                    "quarantined_sha256": sha256_hex(moved),
                    "quarantine_file": side.file_name().map(|n| n.to_string_lossy().into_owned()),
                }),
            );
            self.write_record(file, &mut sc, fields)?;
            Ok(moved.len())
        })
    }

    /// Where [`RunLog::repair`] moves damaged records: `<path>.quarantine`.
    pub fn quarantine_path(&self) -> PathBuf {
        let mut side = self.path.clone().into_os_string();
        side.push(".quarantine");
        PathBuf::from(side)
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
        // Repair moves the torn bytes to the quarantine file and records the repair as
        // record 2; the next append follows it.
        assert_eq!(log.repair().unwrap(), cut - second_end - 1);
        let q = std::fs::read(log.quarantine_path()).unwrap();
        assert_eq!(&q[..q.len() - 1], &full[second_end + 1..cut]);
        let a = log.append(json!({"seed": 9})).unwrap();
        assert_eq!(a.index, 3);
        assert_eq!(log.verify().unwrap().records, 4);
        let recs = log.records().unwrap();
        assert_eq!(recs[2]["repair"]["first_bad_record"], 2);
        assert_eq!(recs[3]["seed"], 9);
        assert_eq!(log.repair().unwrap(), 0);
        // A cut right after a newline leaves a valid shorter log (the whole record is lost,
        // not torn): verification passes with the records written so far.
        std::fs::write(log.path(), &full[..second_end + 1]).unwrap();
        assert_eq!(log.verify().unwrap().records, 2);
    }

    /// Rewrites the log consistently: `edit` changes some bodies, then every hash and `prev`
    /// is recomputed, as an attacker with write access would.
    fn rewrite(log: &RunLog, edit: impl Fn(usize, &mut Map<String, Value>)) {
        let text = std::fs::read_to_string(log.path()).unwrap();
        let mut prev = GENESIS.to_string();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut body = v["record"].as_object().unwrap().clone();
            body.insert("prev".into(), Value::from(prev.clone()));
            edit(i, &mut body);
            let t = Value::Object(body).to_string();
            prev = sha256_hex(t.as_bytes());
            out.push_str(&format!("{{\"hash\":\"{prev}\",\"record\":{t}}}\n"));
        }
        std::fs::write(log.path(), out).unwrap();
    }

    #[test]
    fn threads_appending_concurrently_keep_the_chain() {
        let log = RunLog::new(tmp("threads"));
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = log.clone();
                s.spawn(move || {
                    for k in 0..25 {
                        log.append(json!({"thread": t, "k": k})).unwrap();
                    }
                });
            }
        });
        let recs = log.records().unwrap();
        assert_eq!(recs.len(), 100);
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r["index"], i);
        }
    }

    #[test]
    fn anchors_catch_truncation_and_consistent_rewrites() {
        let log = log_with(5, "anchor");
        let anchor = log.verify().unwrap();
        assert!(log
            .verify_anchored(Some(&anchor.head), Some(anchor.records))
            .is_ok());
        log.append(json!({"seed": 99})).unwrap();
        // the log grew: the anchored prefix is still there
        assert!(log.verify_anchored(Some(&anchor.head), Some(5)).is_ok());
        assert!(log.verify_anchored(Some(&anchor.head), None).is_ok());
        // a consistent rewrite of record 1 verifies alone, not against the anchor
        rewrite(&log, |i, b| {
            if i == 1 {
                b.insert("seed".into(), Value::from(1234));
            }
        });
        assert_eq!(log.verify().unwrap().records, 6);
        assert_eq!(
            record_of(
                log.verify_anchored(Some(&anchor.head), Some(5))
                    .unwrap_err()
            ),
            4
        );
        assert!(log.verify_anchored(Some(&anchor.head), None).is_err());
        // removing trailing records verifies alone, not against the anchor
        let log = log_with(5, "trunc");
        let anchor = log.verify().unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let kept: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        std::fs::write(log.path(), kept).unwrap();
        assert_eq!(log.verify().unwrap().records, 3);
        let e = log.verify_anchored(None, Some(anchor.records)).unwrap_err();
        assert_eq!(record_of(e), 3);
        assert!(log.verify_anchored(Some(&anchor.head), None).is_err());
    }

    #[test]
    fn signed_checkpoints_catch_rewrites_without_the_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let log = RunLog::new(tmp("signed"))
            .with_checkpoints(3, key.clone())
            .unwrap();
        for i in 0..7 {
            log.append(json!({"seed": i})).unwrap();
        }
        // checkpoints after records 0-2 and 4-6 (indices 3 and 7); record 8 after them
        let recs = log.records().unwrap();
        assert!(recs[3].get("checkpoint").is_some() && recs[7].get("checkpoint").is_some());
        let v = log.verify_signed(&[key.verifying_key()]).unwrap();
        assert_eq!((v.records, v.checkpoints, v.signed_records), (9, 2, 7));
        // another key's public half does not verify them
        assert!(log.verify_signed(&[other.verifying_key()]).is_err());
        // an on-demand checkpoint
        log.append(json!({"seed": 100})).unwrap();
        let cp = log.checkpoint(&key).unwrap();
        assert_eq!(cp.records, 10);
        // a consistent rewrite of record 1 breaks the first checkpoint's signature
        rewrite(&log, |i, b| {
            if i == 1 {
                b.insert("seed".into(), Value::from(1234));
            }
            let prev = b["prev"].clone();
            if let Some(cp) = b.get_mut("checkpoint") {
                // the attacker updates the signed head but cannot sign it
                cp["head"] = prev;
            }
        });
        assert!(log.verify().is_ok());
        let e = log.verify_signed(&[key.verifying_key()]).unwrap_err();
        assert_eq!(record_of(e), 3);
        // a log without checkpoints fails the signed verification
        let plain = log_with(2, "unsigned");
        assert!(plain.verify_signed(&[key.verifying_key()]).is_err());
    }

    #[test]
    fn repair_quarantines_everything_after_the_first_bad_record() {
        let log = log_with(5, "repair-mid");
        let full = std::fs::read(log.path()).unwrap();
        let text = String::from_utf8(full.clone()).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[2] = lines[2].replace("\"seed\":2", "\"seed\":3");
        let damaged = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        std::fs::write(log.path(), &damaged).unwrap();
        assert_eq!(record_of(log.verify().unwrap_err()), 2);
        assert!(log.append(json!({"seed": 9})).is_err());
        let moved = log.repair().unwrap();
        let tail: String = lines[2..].iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(moved, tail.len());
        assert_eq!(
            std::fs::read_to_string(log.quarantine_path()).unwrap(),
            tail
        );
        let recs = log.records().unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2]["repair"]["quarantined_bytes"], tail.len());
        assert_eq!(log.append(json!({"seed": 9})).unwrap().index, 3);
    }

    #[test]
    fn keys_from_text() {
        let (private, public) = key_pair_pem(&[5u8; 32]).unwrap();
        let sk = signing_key_from_text(&private).unwrap();
        let vk = verifying_key_from_text(&public).unwrap();
        assert_eq!(sk.verifying_key(), vk);
        let hex_seed = hex::encode([5u8; 32]);
        assert_eq!(
            signing_key_from_text(&hex_seed).unwrap().verifying_key(),
            vk
        );
        assert_eq!(
            verifying_key_from_text(&hex::encode(vk.to_bytes())).unwrap(),
            vk
        );
        for bad in [
            "",
            "xyz",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert!(signing_key_from_text(bad).is_err());
            assert!(verifying_key_from_text(bad).is_err());
        }
        assert!(key_pair_pem(&[1u8; 5]).is_err());
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
