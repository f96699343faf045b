//! Cryptographic verification of one Sigstore bundle. No I/O and no policy.
//!
//! (0) The trusted root is chosen by who issued the certificate, as gh chooses
//! ([`TrustRoot::root_for`]): a public-good root gets every check below, GitHub's instance
//! (private repositories) has no log and no CT log, so (2) and (3)'s log are skipped for it
//! and at least one RFC 3161 timestamp of its TSA is required instead.
//! `sigstore-verify` does the cryptography: (1) the certificate chains to the trusted Fulcio CA
//! and is valid at every verified time, (2) its SCT verifies, (3) the transparency log entry's
//! inclusion proof, checkpoint and SET (or RFC 3161 timestamps) verify, (4) the signature covers
//! the DSSE payload or artifact, (5) the log entry describes this bundle (CVE-2022-36056), and
//! (6) the artifact digest is a subject of the statement. What it leaves to its caller — who
//! signed (beyond an exact SAN), the GitHub certificate extensions, the predicate type, cutoffs —
//! is the [`policy`](crate::policy) module's job, working on the [`VerifiedBundle`] made here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{ArtifactDigest, Bundle, HashAlgorithm, SignatureContent};
use sigstore_verify::VerificationPolicy;

use crate::digest::Digest;
use crate::statement::Statement;
use crate::trust::{Instance, InstanceRoot, RouteError, TrustRoot};

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
    root: Arc<InstanceRoot>,
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

    /// The Sigstore instance whose root verified the bundle, and so the policy it met.
    pub fn instance(&self) -> Instance {
        self.root.instance()
    }

    /// The trusted root that verified the bundle.
    pub fn root(&self) -> &InstanceRoot {
        &self.root
    }
}

/// The cryptographic check of a bundle failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// `sigstore-verify` refused the bundle (or a check of ours on its material failed).
    #[error("{0}")]
    Verifier(#[source] sigstore_verify::Error),
    /// No trusted root in use can verify the bundle's certificate (see
    /// [`TrustRoot::root_for`]).
    #[error("{0}")]
    NoRoot(#[source] RouteError),
    /// A bundle of GitHub's instance carries no RFC 3161 timestamp: with no transparency log
    /// in that instance, nothing else can say when it was signed.
    #[error(
        "signed by GitHub's Sigstore instance, which keeps no transparency log: its signing time \
         must come from an RFC 3161 timestamp of GitHub's timestamp authority, and the bundle \
         has none that verifies"
    )]
    NoSignedTimestamp,
}

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
        CryptoError::Verifier(sigstore_verify::Error::UnsupportedArtifact(
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
            CryptoError::Verifier(sigstore_verify::Error::InvalidBundle(format!(
                "certificate in chain does not parse: {e}"
            )))
        })?;
        if parsed.tbs_certificate.subject == parsed.tbs_certificate.issuer {
            return Err(CryptoError::Verifier(
                sigstore_verify::Error::InvalidBundle(
                    "the certificate chain contains a self-signed root certificate; trust anchors \
                 must come from the trusted root, not the bundle"
                        .into(),
                ),
            ));
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
            .map_err(|e| CryptoError::Verifier(e.into()))?,
    };
    // The root is chosen by who issued the certificate, as gh chooses (`TrustRoot::route`),
    // and its instance decides the policy; nothing the bundle leaves out can choose it.
    let (root, verifier) = trust.route(bundle).map_err(CryptoError::NoRoot)?;
    let instance = root.instance();
    let result = match instance {
        // Exactly the policy every bundle had before GitHub's instance was known: Rekor
        // inclusion proof, checkpoint and SET, and the SCT.
        Instance::PublicGood => verifier.verify(artifact, bundle, policy),
        // GitHub's instance has no log and no CT log: gh verifies its bundles with
        // `verify.NewSignedEntityVerifier(trustedRoot, verify.WithSignedTimestamps(1))`
        // alone (cli/cli `pkg/cmd/attestation/verification/sigstore.go`,
        // `newGitHubVerifierWithTrustedRoot`): no `WithTransparencyLog`, no
        // `WithSignedCertificateTimestamps`, and at least one verified RFC 3161 timestamp.
        // sigstore-verify's `skip_tlog_unsafe` still verifies any SET and TSA timestamp
        // before using its time, and still checks that a log entry describes this bundle;
        // its `skip_sct` still verifies the chain. Without any timestamp it would refuse
        // the bundle too ("No verified timestamp found"), but a GitHub bundle without one
        // is refused here first, for the reason that applies.
        Instance::GitHub => {
            if bundle
                .verification_material
                .timestamp_verification_data
                .rfc3161_timestamps
                .is_empty()
            {
                return Err(CryptoError::NoSignedTimestamp);
            }
            let relaxed = policy.clone().skip_tlog_unsafe().skip_sct();
            verifier.verify(artifact, bundle, &relaxed)
        }
    }
    .map_err(CryptoError::Verifier)?;
    // Fail closed if a future version of the library ever returns success without having
    // checked what the instance's policy relies on: the chain always, the log for the
    // public-good instance.
    let checked = match instance {
        Instance::PublicGood => result.certificate_verified() && result.tlog_verified(),
        Instance::GitHub => result.certificate_verified(),
    };
    if !checked {
        return Err(CryptoError::Verifier(
            sigstore_verify::Error::InvalidBundle(
                "verification did not check the certificate chain and transparency log".into(),
            ),
        ));
    }
    let cert = result.certificate().ok_or_else(|| {
        CryptoError::Verifier(sigstore_verify::Error::InvalidBundle(
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
                CryptoError::Verifier(sigstore_verify::Error::InvalidBundle(
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
                CryptoError::Verifier(sigstore_verify::Error::InvalidBundle(format!(
                    "verified timestamp {t} is out of range"
                )))
            })?;
            Ok(VerifiedTimestamp { time, kind })
        })
        .collect::<Result<Vec<_>, CryptoError>>()?;
    if timestamps.is_empty() {
        return Err(CryptoError::Verifier(
            sigstore_verify::Error::InvalidBundle("no verified timestamp".into()),
        ));
    }
    // GitHub's instance vouches for time only through its timestamp authority: at least one
    // verified time must be a TSA's (gh's `WithSignedTimestamps(1)`).
    if instance == Instance::GitHub
        && !timestamps
            .iter()
            .any(|t| t.kind == TimestampKind::Timestamp)
    {
        return Err(CryptoError::NoSignedTimestamp);
    }
    Ok(VerifiedBundle {
        claims,
        statement,
        timestamps,
        root: Arc::clone(root),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::tests::{GITHUB_BUNDLE, PUBLIC_GOOD_BUNDLE, bundle, public_good_only};

    fn sha256(hex: &str) -> Digest {
        Digest::Sha256(sigstore_types::Sha256Hash::from_hex(hex).unwrap())
    }

    /// `github_provenance_demo-0.0.12-py3-none-any.whl`, the GitHub bundle's subject.
    fn github_artifact() -> Digest {
        sha256("ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b")
    }

    fn public_good_artifact() -> Digest {
        sha256("cd53809273ad6011fdd98e0244c5c2276b15f3dd1294e4715627ebd4f9c6e0f1")
    }

    fn edit(text: &str, change: impl FnOnce(&mut serde_json::Value)) -> Bundle {
        let mut json: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        change(&mut json);
        bundle(&json.to_string())
    }

    #[test]
    fn a_github_bundle_verifies_by_its_timestamp_authority() {
        let trust = TrustRoot::production().unwrap();
        let verified = verify_bundle(&trust, &bundle(GITHUB_BUNDLE), &github_artifact()).unwrap();
        assert_eq!(verified.instance(), Instance::GitHub);
        assert_eq!(verified.root().label(), "embedded GitHub root");
        assert!(!verified.timestamps().is_empty());
        assert!(
            verified
                .timestamps()
                .iter()
                .all(|t| t.kind == TimestampKind::Timestamp)
        );
        let public =
            verify_bundle(&trust, &bundle(PUBLIC_GOOD_BUNDLE), &public_good_artifact()).unwrap();
        assert_eq!(public.instance(), Instance::PublicGood);
    }

    #[test]
    fn a_github_bundle_without_a_tsa_timestamp_is_refused() {
        let trust = TrustRoot::production().unwrap();
        let stripped = edit(GITHUB_BUNDLE, |json| {
            json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
                serde_json::json!([]);
        });
        let err = verify_bundle(&trust, &stripped, &github_artifact()).unwrap_err();
        assert!(matches!(err, CryptoError::NoSignedTimestamp), "{err:?}");
    }

    #[test]
    fn a_github_bundle_needs_a_github_root() {
        let err = verify_bundle(
            &public_good_only(),
            &bundle(GITHUB_BUNDLE),
            &github_artifact(),
        )
        .unwrap_err();
        assert!(
            matches!(err, CryptoError::NoRoot(RouteError::NoGitHubRoot { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn a_public_good_bundle_stripped_of_its_log_entry_is_refused() {
        // GitHub's root beside it changes nothing for a public-good certificate: it still
        // needs its Rekor entry.
        let trust = TrustRoot::production().unwrap();
        let stripped = edit(PUBLIC_GOOD_BUNDLE, |json| {
            json["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
        });
        let err = verify_bundle(&trust, &stripped, &public_good_artifact()).unwrap_err();
        let CryptoError::Verifier(inner) = &err else {
            panic!("expected the verifier's refusal, got {err:?}");
        };
        assert!(
            matches!(inner, sigstore_verify::Error::Bundle(_)),
            "{inner:?}"
        );
        assert!(err.to_string().contains("inclusion proof"), "{err}");
    }
}
