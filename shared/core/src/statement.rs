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

impl Statement {
    /// The statement a bundle's DSSE envelope carries, read *before* any verification (only to
    /// decide which of an artifact's digests to verify with); `None` for a message signature.
    /// Nothing read here may be trusted until the bundle has verified.
    pub fn of_unverified_bundle(
        bundle: &sigstore_types::Bundle,
    ) -> Option<Result<Self, serde_json::Error>> {
        match &bundle.content {
            sigstore_types::SignatureContent::DsseEnvelope(envelope) => {
                Some(Self::from_payload(envelope.payload.as_bytes()))
            }
            _ => None,
        }
    }

    /// Whether some subject is named by a digest of `digest`'s algorithm (npm provenance names
    /// its subjects by SHA-512 only, GitHub's by SHA-256).
    pub fn uses_algorithm_of(&self, digest: &crate::Digest) -> bool {
        self.subjects.iter().any(|s| match digest {
            crate::Digest::Sha256(_) => s.sha256.is_some(),
            crate::Digest::Sha512(_) => s.sha512.is_some(),
        })
    }

    /// The subject this artifact digest names, if any.
    pub fn subject_for(&self, digest: &crate::Digest) -> Option<&Subject> {
        self.subjects.iter().find(|s| match digest {
            crate::Digest::Sha256(d) => s.sha256.as_ref() == Some(d),
            crate::Digest::Sha512(d) => s.sha512.as_ref() == Some(d),
        })
    }
}

/// Of the digests known for one artifact (a file's SHA-256 and SHA-512), the one `bundle`'s
/// statement names subjects by; the first one for a message signature or an unreadable
/// statement (whose verification then fails on its own).
pub fn preferred_digest<'d>(
    bundle: &sigstore_types::Bundle,
    digests: &'d [crate::Digest],
) -> Option<&'d crate::Digest> {
    if let Some(Ok(statement)) = Statement::of_unverified_bundle(bundle) {
        if let Some(d) = digests.iter().find(|d| statement.uses_algorithm_of(d)) {
            return Some(d);
        }
    }
    digests.first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;

    /// GitHub attestation 16346368 (examples/README.md): six subjects named by SHA-256.
    const TY: &[u8] = include_bytes!("../../../examples/ty-0.0.11-homebrew-core.sigstore.json");
    const TY_ARM64_SONOMA: &str =
        "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28";

    fn ty_bundle() -> sigstore_types::Bundle {
        let candidates = crate::parse_attestations("ty", TY);
        (*candidates[0].bundle.clone().unwrap()).clone()
    }

    #[test]
    fn the_digest_a_statement_names_its_subjects_by_is_preferred() {
        let bundle = ty_bundle();
        let sha256: Digest = TY_ARM64_SONOMA.parse().unwrap();
        let sha512: Digest = format!("sha512:{}", "ab".repeat(64)).parse().unwrap();
        let both = [sha512, sha256];
        assert_eq!(preferred_digest(&bundle, &both), Some(&sha256));
        // Nothing named by SHA-512 alone: the first digest, whose verification then fails.
        assert_eq!(preferred_digest(&bundle, &both[..1]), Some(&sha512));
        assert_eq!(preferred_digest(&bundle, &[]), None);
    }

    #[test]
    fn the_subject_for_a_digest_is_found_by_value() {
        let statement = Statement::of_unverified_bundle(&ty_bundle())
            .unwrap()
            .unwrap();
        let sha256: Digest = TY_ARM64_SONOMA.parse().unwrap();
        assert_eq!(
            statement.subject_for(&sha256).map(|s| s.name.as_str()),
            Some("ty--0.0.11.arm64_sonoma.bottle.tar.gz")
        );
        let other: Digest = format!("sha256:{}", "00".repeat(32)).parse().unwrap();
        assert!(statement.subject_for(&other).is_none());
    }
}
