//! The record format of brew-backfill's journal, and its pure reader. No I/O: brew-backfill
//! owns the file (appending, fsyncing, cutting a torn tail); this module owns what a line says.
//!
//! The journal is JSON Lines, one record per line, each line an object with the format version
//! `"v": 1`, the time `at` and the record's `type` and fields ([`Record`]):
//!
//! - `prepared {batch, subjects, envelope, certificate}`: batch `batch` was signed with a fresh
//!   key; the DSSE envelope (whose statement lists the subjects) and the Fulcio certificate
//!   (base64 DER) are kept whole, *before* the signature is sent to Rekor.
//! - `timestamped {batch, token}`: the timestamp authority's RFC 3161 token over the batch's
//!   signature (base64 DER), asked right after `prepared` — while the certificate is surely
//!   valid — so that a batch resumed late still has a time inside the certificate's validity.
//! - `signed {batch, bundle, bundle_sha256, log_index, recovered}`: the signature is in the
//!   log, the bundle passed the verifier and sits, complete, at `bundle` (relative to the
//!   journal's directory).
//! - `abandoned {batch, reason}`: that batch will never be used; its subjects are free to be
//!   signed again.
//! - `upload-started {batch, repo}`: a POST of the bundle is about to be sent.
//! - `uploaded {batch, repo, id, found_existing}`: the API holds it (`found_existing`: seen by
//!   a lookup after an interrupted upload, so not posted again).
//!
//! A journal can come back from elsewhere (a CI artifact, `resume_run_id`), so it is outside
//! data: every line is parsed strictly and a damaged one is an error, never skipped.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sigstore_types::{DerCertificate, DsseEnvelope};

use crate::provenance::StatementSubject;
use crate::statement::Statement;

/// The journal format version this crate reads and writes.
pub const JOURNAL_VERSION: u32 = 1;

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Record {
    /// Signed, not yet logged.
    Prepared {
        /// The batch number.
        batch: u64,
        /// How many subjects the statement lists.
        subjects: usize,
        /// The DSSE envelope, as JSON.
        envelope: serde_json::Value,
        /// The Fulcio certificate, base64 DER.
        certificate: String,
    },
    /// The TSA's token over the signature, asked before the certificate can expire.
    Timestamped {
        /// The batch number.
        batch: u64,
        /// The RFC 3161 timestamp token, base64 DER.
        token: String,
    },
    /// Logged, verified and saved.
    Signed {
        /// The batch number.
        batch: u64,
        /// Where the bundle is, relative to the journal's directory.
        bundle: String,
        /// The bundle file's sha256, hex.
        bundle_sha256: String,
        /// The Rekor log index.
        log_index: u64,
        /// Whether the entry was found in the log after a crash rather than created.
        recovered: bool,
    },
    /// Given up for good.
    Abandoned {
        /// The batch number.
        batch: u64,
        /// Why.
        reason: String,
    },
    /// About to be POSTed.
    UploadStarted {
        /// The batch number.
        batch: u64,
        /// `owner/repo`.
        repo: String,
    },
    /// In the API.
    Uploaded {
        /// The batch number.
        batch: u64,
        /// `owner/repo`.
        repo: String,
        /// The attestation id (`None` when found by a lookup).
        id: Option<u64>,
        /// Found by a lookup after an interrupted upload, not posted again.
        found_existing: bool,
    },
}

/// One line of the journal: the version, the time and the record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JournalLine {
    /// The format version ([`JOURNAL_VERSION`]).
    pub v: u32,
    /// When the record was written.
    pub at: DateTime<Utc>,
    /// The record.
    #[serde(flatten)]
    pub record: Record,
}

/// Why one line is not a record this crate can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalLineError {
    /// Not JSON, or not a record of a known type with the fields it needs.
    #[error("not a journal record: {0}")]
    NotARecord(String),
    /// A record of another format version.
    #[error("journal format version {found} (this brew-backfill writes {JOURNAL_VERSION})")]
    Version {
        /// The version the line carries.
        found: u32,
    },
}

/// Read one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<JournalLine, JournalLineError> {
    let parsed: JournalLine =
        serde_json::from_slice(line).map_err(|e| JournalLineError::NotARecord(e.to_string()))?;
    if parsed.v != JOURNAL_VERSION {
        return Err(JournalLineError::Version { found: parsed.v });
    }
    Ok(parsed)
}

/// The line recording `record` at `at`, newline included, ready for one `write`.
pub fn encode_line(at: DateTime<Utc>, record: Record) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string(&JournalLine {
        v: JOURNAL_VERSION,
        at,
        record,
    })?;
    text.push('\n');
    Ok(text)
}

/// A journal's text cut into lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLines<'a> {
    /// Each complete line that is not blank, with its 1-based line number, newline removed.
    pub lines: Vec<(usize, &'a [u8])>,
    /// Where the last complete line ends: everything after it is a torn tail.
    pub valid_len: usize,
}

impl JournalLines<'_> {
    /// Whether the text ends in a line without its newline: a write cut short by a kill.
    /// Every step waits for its record to be on disk, so nothing it announced was acted upon.
    pub fn torn_tail(&self, text_len: usize) -> bool {
        self.valid_len < text_len
    }
}

/// Cut journal text into complete lines, leaving out blank ones and a torn last line.
pub fn split_lines(text: &[u8]) -> JournalLines<'_> {
    let mut lines = Vec::new();
    let mut offset = 0;
    let mut line_no = 0;
    while let Some(end) = text
        .get(offset..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
    {
        line_no += 1;
        let line = &text[offset..offset + end];
        offset += end + 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            lines.push((line_no, line));
        }
    }
    JournalLines {
        lines,
        valid_len: offset,
    }
}

/// A `prepared` record's envelope and certificate, decoded, with the subjects its statement
/// lists.
#[derive(Debug, Clone)]
pub struct DecodedPrepared {
    /// The signed DSSE envelope.
    pub envelope: DsseEnvelope,
    /// The Fulcio certificate.
    pub certificate: DerCertificate,
    /// The statement's subjects; each must carry a sha256.
    pub subjects: Vec<StatementSubject>,
}

/// Why a `prepared` record's contents cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PreparedError {
    /// The envelope is not a DSSE envelope.
    #[error("batch {batch}: unreadable envelope")]
    Envelope {
        /// The batch number.
        batch: u64,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The certificate is not base64.
    #[error("batch {batch}: unreadable certificate")]
    Certificate {
        /// The batch number.
        batch: u64,
        /// What the decoder said.
        #[source]
        source: base64::DecodeError,
    },
    /// The envelope's payload is not an in-toto statement.
    #[error("batch {batch}: unreadable statement")]
    Statement {
        /// The batch number.
        batch: u64,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A subject has no sha256, so it cannot name a bottle.
    #[error("batch {batch}: a subject has no sha256")]
    SubjectWithoutSha256 {
        /// The batch number.
        batch: u64,
    },
}

/// Decode the envelope and certificate of batch `batch`'s `prepared` record.
pub fn decode_prepared(
    batch: u64,
    envelope: &serde_json::Value,
    certificate: &str,
) -> Result<DecodedPrepared, PreparedError> {
    let envelope = DsseEnvelope::deserialize(envelope)
        .map_err(|source| PreparedError::Envelope { batch, source })?;
    let certificate = DerCertificate::new(
        base64::engine::general_purpose::STANDARD
            .decode(certificate)
            .map_err(|source| PreparedError::Certificate { batch, source })?,
    );
    let statement = Statement::from_payload(envelope.payload.as_bytes())
        .map_err(|source| PreparedError::Statement { batch, source })?;
    let subjects = statement
        .subjects
        .iter()
        .map(|s| {
            Ok(StatementSubject {
                name: s.name.clone(),
                sha256: s
                    .sha256
                    .ok_or(PreparedError::SubjectWithoutSha256 { batch })?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DecodedPrepared {
        envelope,
        certificate,
        subjects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let at = DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = Record::Uploaded {
            batch: 3,
            repo: "o/r".into(),
            id: None,
            found_existing: true,
        };
        let text = encode_line(at, record.clone()).unwrap();
        assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
        assert!(text.contains(r#""type":"uploaded""#), "{text}");
        let line = parse_line(text.trim_end().as_bytes()).unwrap();
        assert_eq!((line.v, line.at, line.record), (1, at, record));
    }

    #[test]
    fn other_versions_and_unknown_types_are_refused() {
        assert_eq!(
            parse_line(
                br#"{"v":2,"at":"2025-01-01T00:00:00Z","type":"abandoned","batch":1,"reason":"x"}"#
            )
            .unwrap_err(),
            JournalLineError::Version { found: 2 }
        );
        for bad in [
            &br#"{"v":1,"at":"2025-01-01T00:00:00Z","type":"exploded","batch":1}"#[..],
            br#"{"v":1,"at":"2025-01-01T00:00:00Z","type":"abandoned"}"#,
            br#"{"v":1,"type":"abandoned","batch":1,"reason":"x"}"#,
            b"garbage",
        ] {
            assert!(
                matches!(parse_line(bad), Err(JournalLineError::NotARecord(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn splitting_skips_blank_lines_and_leaves_a_torn_tail() {
        let text = b"a\n\n  \nb\n{\"v\":1,";
        let split = split_lines(text);
        assert_eq!(split.lines, [(1, &b"a"[..]), (4, &b"b"[..])]);
        assert_eq!(split.valid_len, 8);
        assert!(split.torn_tail(text.len()));
        let whole = split_lines(b"a\n");
        assert!(!whole.torn_tail(2));
        assert!(split_lines(b"").lines.is_empty());
    }

    #[test]
    fn prepared_contents_are_checked() {
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha512": "ab".repeat(64)}}],
            "predicateType": "p",
            "predicate": {},
        })
        .to_string();
        let envelope = serde_json::json!({
            "payload": base64::engine::general_purpose::STANDARD.encode(statement),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": "AA==", "keyid": ""}],
        });
        let err = decode_prepared(4, &envelope, "AAAA").unwrap_err();
        assert!(
            matches!(err, PreparedError::SubjectWithoutSha256 { batch: 4 }),
            "{err:?}"
        );
        let err = decode_prepared(4, &envelope, "not base64!").unwrap_err();
        assert!(
            matches!(err, PreparedError::Certificate { batch: 4, .. }),
            "{err:?}"
        );
        let err = decode_prepared(4, &serde_json::json!({"payload": 1}), "AAAA").unwrap_err();
        assert!(
            matches!(err, PreparedError::Envelope { batch: 4, .. }),
            "{err:?}"
        );
    }
}
