//! Fuzz harness (proptest, fixed budget so CI time is bounded): the parsers of untrusted input
//! — incident ingest, policy TOML, run-log files and report JSON — return a result or an error
//! for any input, never panic.
//!
//! The budget is `PROPTEST_CASES` (default 256 per target, a quarter of it for run-log files);
//! CI runs it as part of `cargo test`.

use placewise::audit::AuditPolicy;
use placewise::data::{ingest, IngestOptions, Origin, RawIncidents};
use placewise::provenance::RunLog;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Floats that break code: NaN, infinities, huge, tiny, negative zero, ordinary values.
fn nasty_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(-0.0),
        -1e12f64..1e12,
        any::<f64>(),
    ]
}

fn nasty_i64() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        Just(None),
        Just(Some(i64::MIN)),
        Just(Some(i64::MAX)),
        (-4_000_000_000i64..8_000_000_000).prop_map(Some),
        any::<i64>().prop_map(Some),
    ]
}

/// Mutations of a valid text: bytes replaced, inserted or cut.
fn mutate(base: &'static str) -> impl Strategy<Value = String> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(edits, cut)| {
            let mut b = base.as_bytes().to_vec();
            for (at, byte, kind) in edits {
                if b.is_empty() {
                    break;
                }
                let i = at.index(b.len());
                match kind {
                    0 => b[i] = byte,
                    1 => b.insert(i, byte),
                    _ => {
                        b.remove(i);
                    }
                }
            }
            let keep = cut.index(b.len() + 1).max(b.len() * 3 / 4);
            b.truncate(keep);
            String::from_utf8_lossy(&b).into_owned()
        })
}

const POLICY: &str = include_str!("../audits/policy.toml");

const REPORT: &str = r#"{"schema": "placewise.audit_report/1", "title": "t", "generated_at": "2020",
"library_version": "0", "summary": ["a"], "verdicts": [], "sections": []}"#;

proptest! {
    #![proptest_config(config())]

    /// Ingest of arbitrary columns: a table and a report, or an error; never a panic.
    #[test]
    fn ingest_never_panics(
        rows in prop::collection::vec((nasty_f64(), nasty_f64(), nasty_i64(), 0u8..4, nasty_f64()), 0..40),
        weighted in any::<bool>(),
        range in (nasty_i64(), nasty_i64()),
    ) {
        let n = rows.len();
        let raw = RawIncidents {
            x: rows.iter().map(|r| r.0).collect(),
            y: rows.iter().map(|r| r.1).collect(),
            t: rows.iter().map(|r| r.2).collect(),
            category: Some(rows.iter().map(|r| r.3 as u32).collect()),
            categories: vec!["a".into(), "b".into(), "c".into()],
            origin: Some((0..n).map(|i| [Origin::Reported, Origin::Discovered, Origin::Unknown][i % 3]).collect()),
            weight: weighted.then(|| rows.iter().map(|r| r.4).collect()),
            ..Default::default()
        };
        let mut opts = IngestOptions::default();
        if let (Some(a), Some(b)) = range {
            opts.time_range = (a, b);
        }
        if let Ok((inc, q)) = ingest(raw, &opts) {
            prop_assert_eq!(q.rows_read, n as u64);
            prop_assert_eq!(q.rows_kept as usize, inc.len());
        }
    }

    /// Policy TOML: arbitrary text and mutations of the shipped policy parse or error.
    #[test]
    fn policy_toml_never_panics(text in prop_oneof![mutate(POLICY), ".{0,300}"]) {
        let _ = AuditPolicy::from_toml_str(&text);
    }

    /// Report JSON: arbitrary text and mutations of a valid document normalise or error.
    #[test]
    fn report_json_never_panics(text in prop_oneof![mutate(REPORT), ".{0,300}"]) {
        let _ = placewise::report::normalise(&text);
    }

}

proptest! {
    // a quarter of the budget: every case writes and fsyncs a small log
    #![proptest_config(ProptestConfig { cases: config().cases.div_ceil(4), ..config() })]

    /// Run-log files: arbitrary bytes and mutations of a valid log verify or error; repair
    /// always leaves a log that verifies, and keeps every byte it removed.
    #[test]
    fn runlog_parsing_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        junk in prop::collection::vec(any::<u8>(), 0..64),
        case in 0u64..u64::MAX,
    ) {
        let dir = std::env::temp_dir().join(format!("pw-fuzz-{}-{case}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = RunLog::new(dir.join("runs.jsonl"));
        for i in 0..3 {
            log.append(serde_json::json!({"seed": i})).unwrap();
        }
        let mut bytes = std::fs::read(log.path()).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.extend_from_slice(&junk);
        std::fs::write(log.path(), &bytes).unwrap();
        let _ = log.verify();
        let _ = log.records();
        let _ = log.verify_anchored(Some("00"), Some(2));
        let moved = log.repair();
        prop_assert!(moved.is_ok(), "{:?}", moved);
        prop_assert!(log.verify().is_ok());
        let kept = std::fs::read(log.quarantine_path()).unwrap_or_default();
        prop_assert!(kept.len() >= moved.unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
