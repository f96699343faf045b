//! The in-toto statement inside a verified DSSE envelope: what was attested, about which files.

use sigstore_types::{Sha256Hash, Sha512Hash};

/// The SLSA provenance v1 predicate type, which GitHub artifact attestations use.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// The in-toto statement type this verifier reads.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// An attested file: its name in the statement and its digests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subject {
    /// The subject name (for core bottles the bottle file name).
    pub name: String,
    /// SHA-256, if the subject lists one.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_hex256")]
    pub sha256: Option<Sha256Hash>,
    /// SHA-512, if the subject lists one.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_hex512")]
    pub sha512: Option<Sha512Hash>,
}

fn ser_hex256<S: serde::Serializer>(v: &Option<Sha256Hash>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(h) => s.serialize_str(&hex::encode(h.as_bytes())),
        None => s.serialize_none(),
    }
}

fn ser_hex512<S: serde::Serializer>(v: &Option<Sha512Hash>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(h) => s.serialize_str(&hex::encode(h.as_bytes())),
        None => s.serialize_none(),
    }
}

/// The parts of an in-toto statement the policy and the output need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `predicateType`.
    pub predicate_type: String,
    /// Every subject, in order.
    pub subjects: Vec<Subject>,
    /// The predicate, kept whole for `--json` output.
    pub predicate: serde_json::Value,
    /// The statement as signed (the DSSE payload).
    payload: Vec<u8>,
}

impl Statement {
    /// Read a statement from the signed DSSE payload bytes, as `sigstore-verify` reads it to
    /// bind the artifact (a repeated key is refused, not resolved).
    pub fn from_payload(payload: &[u8]) -> Result<Self, serde_json::Error> {
        let parsed: sigstore_types::Statement = serde_json::from_slice(payload)?;
        Ok(Self::from_parsed(parsed, payload))
    }

    /// The statement `sigstore-verify` parsed from `payload` (moved, not copied: the
    /// predicate is most of it).
    pub(crate) fn from_parsed(parsed: sigstore_types::Statement, payload: &[u8]) -> Self {
        Self {
            predicate_type: parsed.predicate_type,
            subjects: parsed
                .subject
                .into_iter()
                .map(|s| Subject {
                    name: s.name,
                    sha256: s.digest.sha256,
                    sha512: s.digest.sha512,
                })
                .collect(),
            predicate: parsed.predicate,
            payload: payload.to_vec(),
        }
    }

    /// The statement as signed, as a JSON tree (for gh-compatible output). Built on demand
    /// from the payload: verification never needs it.
    ///
    /// The payload already parsed into a statement, so it is valid JSON and this does not
    /// fail in practice; an error is returned rather than assumed away.
    pub fn raw(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }

    /// Subjects whose SHA-256 equals `digest`.
    pub fn subjects_with_sha256<'a>(
        &'a self,
        digest: &'a Sha256Hash,
    ) -> impl Iterator<Item = &'a Subject> + 'a {
        self.subjects
            .iter()
            .filter(move |s| s.sha256.as_ref() == Some(digest))
    }
}
