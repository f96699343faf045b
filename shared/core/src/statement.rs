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
    /// The statement as signed, for gh-compatible output.
    pub raw: serde_json::Value,
}

impl Statement {
    /// Read a statement from the signed DSSE payload bytes.
    pub fn from_payload(payload: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: serde_json::Value = serde_json::from_slice(payload)?;
        // Read the typed fields from the tree by reference: the same validation as
        // `from_value(raw.clone())` without copying the whole statement (only the predicate is).
        let parsed = <sigstore_types::Statement as serde::Deserialize>::deserialize(&raw)?;
        Ok(Self {
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
            raw,
        })
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
