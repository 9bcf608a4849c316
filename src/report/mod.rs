//! Schema-versioned audit report: the typed document that the Python layer fills and renders
//! (HTML through jinja2 templates, Markdown). Deserialising with unknown fields refused is how
//! a document is checked against the schema.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The schema this build writes and reads.
pub const SCHEMA: &str = "placewise.audit-report/1";

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within its threshold.
    Pass,
    /// Outside its threshold.
    Fail,
    /// Not assessed (inputs not supplied); never silently a pass.
    NotAssessed,
    /// Assessed, but the check could not have failed at this budget or sample.
    NotInformative,
}

/// One line of the verdicts table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// What was checked, in plain words.
    pub check: String,
    /// Pass, fail or not assessed.
    pub status: Status,
    /// The measured value, as text (with units).
    pub value: String,
    /// The threshold it was judged against, as text.
    pub threshold: String,
    /// One plain sentence on what it means.
    pub explanation: String,
}

/// A simple table: column names and rows of JSON values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A figure embedded in the report (a data URI, so the file is self-contained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Caption.
    pub caption: String,
    /// `data:image/png;base64,...` or `data:image/svg+xml;base64,...`.
    pub data_uri: String,
}

/// One section of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Stable id (used for anchors and by tests).
    pub id: String,
    /// Heading.
    pub title: String,
    /// Whether the section's inputs were supplied; when false the section says "not provided".
    pub provided: bool,
    /// Paragraphs of plain text.
    pub paragraphs: Vec<String>,
    /// Key facts as (label, value) pairs.
    pub facts: Vec<(String, String)>,
    /// Tables, each with a caption.
    pub tables: Vec<(String, Table)>,
    /// Figures.
    pub figures: Vec<Figure>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Title.
    pub title: String,
    /// ISO 8601 time of generation (UTC).
    pub generated_at: String,
    /// placewise version that produced it.
    pub library_version: String,
    /// Plain-language summary, first thing a reader sees.
    pub summary: Vec<String>,
    /// Verdicts at a glance.
    pub verdicts: Vec<Verdict>,
    /// Sections in reading order.
    pub sections: Vec<Section>,
}

/// Checks a JSON document against the schema and returns it re-serialised (pretty).
///
/// Errors name the problem: a wrong schema version, an unknown or missing field, a table row
/// of the wrong length.
pub fn normalise(json: &str) -> Result<String> {
    let report: AuditReport = serde_json::from_str(json)
        .map_err(|e| Error::data(Some(e.line()), "report", e.to_string()))?;
    if report.schema != SCHEMA {
        return Err(Error::param(
            "schema",
            format!("expected {SCHEMA:?}, got {:?}", report.schema),
        ));
    }
    for s in &report.sections {
        for (caption, t) in &s.tables {
            if let Some(i) = t.rows.iter().position(|r| r.len() != t.columns.len()) {
                return Err(Error::data(
                    Some(i),
                    format!("{}: {caption}", s.id),
                    format!(
                        "row has {} cells, table has {} columns",
                        t.rows[i].len(),
                        t.columns.len()
                    ),
                ));
            }
        }
    }
    serde_json::to_string_pretty(&report).map_err(|e| Error::param("report", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "schema": SCHEMA, "title": "t", "generated_at": "2026-01-01T00:00:00Z",
            "library_version": "0", "summary": ["s"],
            "verdicts": [{"check": "c", "status": "not_assessed", "value": "-", "threshold": "-", "explanation": "e"}],
            "sections": [{"id": "data", "title": "Data", "provided": true, "paragraphs": [], "facts": [["a", "b"]],
                          "tables": [["cap", {"columns": ["x", "y"], "rows": [[1, "a"]]}]], "figures": []}]
        })
    }

    #[test]
    fn round_trips_and_refuses_bad_documents() {
        assert!(normalise(&minimal().to_string()).is_ok());
        let mut v = minimal();
        v["schema"] = "other/9".into();
        assert!(normalise(&v.to_string())
            .unwrap_err()
            .to_string()
            .contains("schema"));
        let mut v = minimal();
        v["surprise"] = 1.into();
        assert!(normalise(&v.to_string())
            .unwrap_err()
            .to_string()
            .contains("surprise"));
        let mut v = minimal();
        v["sections"][0]["tables"][0][1]["rows"][0] = serde_json::json!([1]);
        assert!(normalise(&v.to_string())
            .unwrap_err()
            .to_string()
            .contains("columns"));
        let mut v = minimal();
        v["verdicts"][0]["status"] = "maybe".into();
        assert!(normalise(&v.to_string()).is_err());
    }
}
