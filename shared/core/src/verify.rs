//! Cryptographic verification of one Sigstore bundle. No I/O and no policy.
//!
//! `sigstore-verify` does the cryptography: (1) the certificate chains to the trusted Fulcio CA
//! and is valid at every verified time, (2) its SCT verifies, (3) the transparency log entry's
//! inclusion proof, checkpoint and SET (or RFC 3161 timestamps) verify, (4) the signature covers
//! the DSSE payload or artifact, (5) the log entry describes this bundle (CVE-2022-36056), and
//! (6) the artifact digest is a subject of the statement. What it leaves to its caller — who
//! signed (beyond an exact SAN), the GitHub certificate extensions, the predicate type, cutoffs —
//! is the [`policy`](crate::policy) module's job, working on the [`VerifiedBundle`] made here.

use chrono::{DateTime, Utc};
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{ArtifactDigest, Bundle, HashAlgorithm, SignatureContent};
use sigstore_verify::VerificationPolicy;

use crate::digest::Digest;
use crate::statement::Statement;
use crate::trust::TrustRoot;

/// What the signing certificate says about the workload that signed, read from its SAN, its
/// issuer and Fulcio's extensions under `1.3.6.1.4.1.57264.1`.
///
/// Only a [`VerifiedBundle`] carries these, and it exists only once the chain to the trusted CA
/// has been verified, so they are authenticated claims (as far as the CA is trusted).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertificateClaims {
    /// The SAN: for GitHub Actions the workflow, `https://github.com/<repo>/.github/workflows/<file>@<ref>`.
    pub identity: Option<String>,
    /// The OIDC issuer.
    pub issuer: Option<String>,
    /// `.1.12` source repository URI.
    pub source_repository_uri: Option<String>,
    /// `.1.13` source repository commit.
    pub source_repository_digest: Option<String>,
    /// `.1.14` source repository ref.
    pub source_repository_ref: Option<String>,
    /// `.1.16` source repository owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// `.1.9` build signer URI (the workflow that asked for the certificate).
    pub build_signer_uri: Option<String>,
    /// `.1.10` build signer commit.
    pub build_signer_digest: Option<String>,
    /// `.1.18` build config URI (the top-level workflow that ran).
    pub build_config_uri: Option<String>,
    /// `.1.20` the event that triggered the run.
    pub build_trigger: Option<String>,
    /// `.1.11` `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// `.1.21` the run, a URL with its logs.
    pub run_invocation_uri: Option<String>,
    /// The certificate, DER, base64 (for gh-compatible output).
    #[serde(skip)]
    pub certificate_der: Vec<u8>,
}

/// A bundle whose cryptography verified for one artifact digest.
///
/// Only this module can make one, so holding a `VerifiedBundle` is proof that the checks listed
/// in the module docs passed.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    claims: CertificateClaims,
    statement: Option<Statement>,
    timestamps: Vec<VerifiedTimestamp>,
}

/// A time authenticated by the log (SET or checkpointed inclusion) or a TSA, never a bare
/// field of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedTimestamp {
    /// The instant.
    pub time: DateTime<Utc>,
    /// Which authority vouched for it.
    pub kind: TimestampKind,
}

/// The authority behind a [`VerifiedTimestamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TimestampKind {
    /// Rekor's integrated time.
    Transparency,
    /// An RFC 3161 timestamp authority.
    Timestamp,
}

impl VerifiedBundle {
    /// The signing certificate's claims.
    pub fn claims(&self) -> &CertificateClaims {
        &self.claims
    }

    /// The in-toto statement, for DSSE bundles; `None` for a plain message signature.
    pub fn statement(&self) -> Option<&Statement> {
        self.statement.as_ref()
    }

    /// Every authenticated time, in gh's order (transparency-log times in bundle order, then
    /// timestamp-authority times). Never empty: a bundle without one fails.
    pub fn timestamps(&self) -> &[VerifiedTimestamp] {
        &self.timestamps
    }
}

/// The cryptographic check of a bundle failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CryptoError(#[source] pub sigstore_verify::Error);

/// Verify `bundle` for `digest` under `trust`, authorising no particular signer: the caller's
/// policy must look at [`VerifiedBundle::claims`] before trusting the result.
pub fn verify_bundle(
    trust: &TrustRoot,
    bundle: &Bundle,
    digest: &Digest,
) -> Result<VerifiedBundle, CryptoError> {
    verify_with(trust, bundle, digest, &VerificationPolicy::any_identity())
}

/// Verify `bundle` for an artifact known by one or more `digests`, requiring exactly this SAN
/// and OIDC issuer (no pattern, no prefix): the generic check behind `brew-verify bundle`.
///
/// When the artifact is a file both SHA-256 and SHA-512 are known; the one the bundle's
/// statement uses is picked (npm provenance names subjects by SHA-512 only).
pub fn verify_bundle_exact(
    trust: &TrustRoot,
    bundle: &Bundle,
    digests: &[Digest],
    identity: &str,
    issuer: &str,
) -> Result<VerifiedBundle, CryptoError> {
    let digest = choose_digest(bundle, digests).ok_or_else(|| {
        CryptoError(sigstore_verify::Error::UnsupportedArtifact(
            "no artifact digest given".into(),
        ))
    })?;
    verify_with(
        trust,
        bundle,
        digest,
        &VerificationPolicy::new(identity, issuer),
    )
}

/// Refuse a v0.1/v0.2 certificate chain that carries a self-signed (root) certificate.
///
/// Trust anchors come from the trusted root only. The Sigstore client specification and the
/// conformance case `bundle-with-root-cert` require rejecting such bundles; `sigstore-verify`
/// 0.15.1 ignores the extra certificate, so this check is ours (corpus case
/// `sgo-examples-sigstore.js-1.3.0` is a real bundle of that shape).
fn refuse_embedded_root(bundle: &Bundle) -> Result<(), CryptoError> {
    use x509_cert::der::Decode;
    let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    else {
        return Ok(());
    };
    for cert in certificates {
        let parsed = x509_cert::Certificate::from_der(cert.raw_bytes.as_bytes()).map_err(|e| {
            CryptoError(sigstore_verify::Error::InvalidBundle(format!(
                "certificate in chain does not parse: {e}"
            )))
        })?;
        if parsed.tbs_certificate.subject == parsed.tbs_certificate.issuer {
            return Err(CryptoError(sigstore_verify::Error::InvalidBundle(
                "the certificate chain contains a self-signed root certificate; trust anchors \
                 must come from the trusted root, not the bundle"
                    .into(),
            )));
        }
    }
    Ok(())
}

/// The digest to verify with: the first whose algorithm the DSSE statement's subjects use, else
/// the first given (message signatures, or a statement the verifier will refuse anyway).
///
/// With one digest there is nothing to choose. With several, only which digest algorithms the
/// subjects carry is read, without building the statement: `sigstore-verify` parses it (and
/// refuses it if malformed), and [`verify_with`] takes that parse.
fn choose_digest<'d>(bundle: &Bundle, digests: &'d [Digest]) -> Option<&'d Digest> {
    #[derive(serde::Deserialize)]
    struct Subjects {
        subject: Vec<SubjectDigests>,
    }
    #[derive(serde::Deserialize)]
    struct SubjectDigests {
        digest: Algorithms,
    }
    #[derive(serde::Deserialize)]
    struct Algorithms {
        sha256: Option<serde::de::IgnoredAny>,
        sha512: Option<serde::de::IgnoredAny>,
    }
    if digests.len() > 1 {
        if let SignatureContent::DsseEnvelope(envelope) = &bundle.content {
            if let Ok(statement) = serde_json::from_slice::<Subjects>(envelope.payload.as_bytes()) {
                let uses = |d: &Digest| {
                    statement.subject.iter().any(|s| match d {
                        Digest::Sha256(_) => s.digest.sha256.is_some(),
                        Digest::Sha512(_) => s.digest.sha512.is_some(),
                    })
                };
                if let Some(d) = digests.iter().find(|d| uses(d)) {
                    return Some(d);
                }
            }
        }
    }
    digests.first()
}

fn verify_with(
    trust: &TrustRoot,
    bundle: &Bundle,
    digest: &Digest,
    policy: &VerificationPolicy,
) -> Result<VerifiedBundle, CryptoError> {
    refuse_embedded_root(bundle)?;
    let artifact = match digest {
        Digest::Sha256(d) => ArtifactDigest::sha256(*d),
        Digest::Sha512(d) => ArtifactDigest::new(HashAlgorithm::Sha2512, d.as_bytes().to_vec())
            .map_err(|e| CryptoError(e.into()))?,
    };
    let result = trust
        .verifier()
        .verify(artifact, bundle, policy)
        .map_err(CryptoError)?;
    // Fail closed if a future version of the library ever returns success without having
    // checked the chain or the log: the policy relies on both.
    if !result.certificate_verified() || !result.tlog_verified() {
        return Err(CryptoError(sigstore_verify::Error::InvalidBundle(
            "verification did not check the certificate chain and transparency log".into(),
        )));
    }
    let cert = result.certificate().ok_or_else(|| {
        CryptoError(sigstore_verify::Error::InvalidBundle(
            "bundle has no signing certificate".into(),
        ))
    })?;
    let ci = &cert.ci_claims;
    let claims = CertificateClaims {
        identity: result.identity().map(|san| san.as_str().to_owned()),
        issuer: result.issuer().map(str::to_owned),
        source_repository_uri: ci.source_repository_uri.clone(),
        source_repository_digest: ci.source_repository_digest.clone(),
        source_repository_ref: ci.source_repository_ref.clone(),
        source_repository_owner_uri: ci.source_repository_owner_uri.clone(),
        build_signer_uri: ci.build_signer_uri.clone(),
        build_signer_digest: ci.build_signer_digest.clone(),
        build_config_uri: ci.build_config_uri.clone(),
        build_trigger: ci.build_trigger.clone(),
        runner_environment: ci.runner_environment.clone(),
        run_invocation_uri: ci.run_invocation_uri.clone(),
        certificate_der: bundle
            .signing_certificate()
            .map(|c| c.as_bytes().to_vec())
            .unwrap_or_default(),
    };
    // Every verified time, labelled by the authority behind it and in the order gh reports
    // them: sigstore-go (pkg/verify/signed_entity.go, `VerifyObserverTimestamps`, as gh runs it
    // for the public-good instance with `WithObserverTimestamps`) appends the transparency-log
    // times first, in bundle order, then the RFC 3161 times. A time that equals a log entry's
    // integrated time is that entry's; the others came from timestamp authorities. brew reads
    // `verifiedTimestamps[0]` against its backfill cutoff; whichever comes first, each entry is
    // an authenticated observation that the signature existed at that time, so any one of
    // them at or before the cutoff proves what the cutoff asks. Our own policy is stricter and
    // checks every one.
    let mut verified = result.verified_timestamps().to_vec();
    // The statement `sigstore-verify` parsed to bind the artifact: the payload is not parsed
    // a second time. A DSSE bundle always has one once verified; fail closed if not.
    let statement = match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            let parsed = result.into_statement().ok_or_else(|| {
                CryptoError(sigstore_verify::Error::InvalidBundle(
                    "verification returned no in-toto statement for a DSSE bundle".into(),
                ))
            })?;
            Some(Statement::from_parsed(parsed, envelope.payload.as_bytes()))
        }
        _ => None,
    };
    let mut ordered = Vec::with_capacity(verified.len());
    for entry in &bundle.verification_material.tlog_entries {
        if let Some(t) = entry.integrated_time {
            if let Some(i) = verified.iter().position(|v| *v == t) {
                ordered.push((verified.remove(i), TimestampKind::Transparency));
            }
        }
    }
    ordered.extend(verified.into_iter().map(|t| (t, TimestampKind::Timestamp)));
    let timestamps = ordered
        .into_iter()
        .map(|(t, kind)| {
            // jiff and chrono cover the same range for any real timestamp; one outside it is
            // refused rather than dropped, so a cutoff can never be checked on a subset.
            let nanos = u32::try_from(t.subsec_nanosecond()).unwrap_or(0);
            let time = DateTime::from_timestamp(t.as_second(), nanos).ok_or_else(|| {
                CryptoError(sigstore_verify::Error::InvalidBundle(format!(
                    "verified timestamp {t} is out of range"
                )))
            })?;
            Ok(VerifiedTimestamp { time, kind })
        })
        .collect::<Result<Vec<_>, CryptoError>>()?;
    if timestamps.is_empty() {
        return Err(CryptoError(sigstore_verify::Error::InvalidBundle(
            "no verified timestamp".into(),
        )));
    }
    Ok(VerifiedBundle {
        claims,
        statement,
        timestamps,
    })
}
