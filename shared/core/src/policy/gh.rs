//! gh's acceptance rule ("enforcement criteria", cli/cli `pkg/cmd/attestation/verify/policy.go`
//! and `verification/extensions.go`): the judging step of gh-compatible mode, where the
//! bottle policy's waterfall judges for every other command. Pure: it matches certificate
//! claims and verifies bundles with [`verify_bundle`]; the lookup that finds the bundles is
//! `bottle-attest-net`'s (the same cache-then-API stage the waterfall's sources use), and the
//! flags that build a [`GhCriteria`] and gh's texts around it stay in `brew-verify`'s `gh/`.
//!
//! Unlike the waterfall, which stops at the first passing attestation, [`GhCriteria::judge`]
//! returns *every* attestation that passes, as gh prints them all. It checks, in gh's order:
//!
//! - (3) the statement's predicate type (bundles of other types are dropped, not failed; a
//!   bundle that does not parse is kept, to fail as invalid);
//! - (4) each bundle's cryptography for the artifact digest (any subject may carry it), then
//!   its identity: the public-good refusal (`--no-public-good`), the SAN (exact or regex) and
//!   the runner environment;
//! - (5) the certificate extensions: source repository owner URI (always), source repository
//!   URI (not with `--owner`), issuer, then `--source-digest` and `--source-ref`, ASCII
//!   case-insensitively, with gh's messages.
//!
//! A failure reports the stage at which the last candidate failed, as gh does, because gh mode
//! prints a different headline per stage.

use regex::Regex;
use sigstore_types::Bundle;

use crate::bundle::{BundleCandidate, BundleParseError};
use crate::digest::Digest;
use crate::trust::TrustRoot;
use crate::verify::{CertificateClaims, CryptoError, VerifiedBundle, verify_bundle};

/// How the certificate's SAN is matched.
#[derive(Debug, Clone)]
pub enum San {
    /// `--cert-identity`: exactly this value.
    Exact(String),
    /// gh's default (any workflow of the repository or owner), `--cert-identity-regex`,
    /// `--signer-repo`, `--signer-workflow`: a pattern.
    Regex(Regex),
}

/// Everything an attestation must satisfy beyond its cryptography, as gh builds it from its
/// flags (the flags themselves are `brew-verify`'s to parse).
#[derive(Debug, Clone)]
pub struct GhCriteria {
    /// (3) The in-toto predicate type.
    pub predicate_type: String,
    /// (4) The SAN rule.
    pub san: San,
    /// (4) `github-hosted` with `--deny-self-hosted-runners`.
    pub runner_environment: Option<String>,
    /// (4) `--no-public-good`: refuse certificates issued by the public-good Fulcio.
    pub no_public_good: bool,
    /// (5) The source repository URI; `None` with `--owner`.
    pub source_repository_uri: Option<String>,
    /// (5) The source repository owner URI.
    pub source_repository_owner_uri: String,
    /// (5) The OIDC issuer.
    pub issuer: String,
    /// (5) `--source-digest`: the certificate's source repository digest (`.1.13`).
    pub source_repository_digest: Option<String>,
    /// (5) `--source-ref`: the certificate's source repository ref (`.1.14`).
    pub source_repository_ref: Option<String>,
}

/// An attestation that passed every check: the bundle and what verifying it established.
#[derive(Debug, Clone)]
pub struct GhAccepted {
    /// The bundle as found.
    pub bundle: Box<Bundle>,
    /// Its verification.
    pub verified: VerifiedBundle,
}

/// A certificate claim gh's criteria refuse, with gh's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GhMismatch {
    /// The signing certificate could not be read for its issuer's name.
    #[error("the signing certificate does not parse: {0}")]
    Certificate(String),
    /// `--no-public-good`, and the public-good Fulcio issued the certificate.
    #[error(
        "detected public good instance but requested verification without public good instance"
    )]
    PublicGood,
    /// The SAN is not the exact one wanted.
    #[error("failed to verify certificate identity: expected SAN value \"{want}\", got \"{got}\"")]
    SanExact {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
    /// The SAN does not match the pattern.
    #[error(
        "failed to verify certificate identity: expected SAN value to match regex \"{pattern}\", \
         got \"{got}\""
    )]
    SanRegex {
        /// The pattern.
        pattern: String,
        /// Found.
        got: String,
    },
    /// The runner environment is not the one wanted.
    #[error(
        "failed to verify certificate identity: expected RunnerEnvironment to be \"{want}\", got \
         \"{got}\""
    )]
    RunnerEnvironment {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
    /// The source repository owner URI differs.
    #[error("expected SourceRepositoryOwnerURI to be {want}, got {got}")]
    SourceRepositoryOwner {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
    /// The source repository URI differs.
    #[error("expected SourceRepositoryURI to be {want}, got {got}")]
    SourceRepository {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
    /// The issuer differs.
    #[error("expected Issuer to be {want}, got {got}{}", if *.custom {
        " -- if you have a custom OIDC issuer policy for your enterprise, use the \
         --cert-oidc-issuer flag with your expected issuer"
    } else {
        ""
    })]
    Issuer {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
        /// The issuer found is a path below the one wanted (an enterprise's custom issuer).
        custom: bool,
    },
    /// `--source-digest` differs.
    #[error("expected SourceRepositoryDigest to be {want}, got {got}")]
    SourceRepositoryDigest {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
    /// `--source-ref` differs.
    #[error("expected SourceRepositoryRef to be {want}, got {got}")]
    SourceRepositoryRef {
        /// Wanted.
        want: String,
        /// Found.
        got: String,
    },
}

/// Why one candidate failed stage (4).
#[derive(Debug, thiserror::Error)]
pub enum SignatureFailure {
    /// The bundle could not be read.
    #[error("{0}")]
    Unreadable(#[source] BundleParseError),
    /// Its cryptography failed.
    #[error("{0}")]
    Crypto(#[source] CryptoError),
    /// It verified, for a signer the criteria refuse.
    #[error("{0}")]
    Identity(#[source] GhMismatch),
}

/// One candidate's stage (4) failure, named by where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct CandidateFailure {
    /// Where the bundle came from.
    pub origin: String,
    /// Why it failed.
    #[source]
    pub reason: SignatureFailure,
}

/// Why no attestation passed: the stage at which the last one failed.
#[derive(Debug, thiserror::Error)]
pub enum GhRejection {
    /// (3) None has the wanted predicate type.
    #[error("no attestations found with predicate type: {0}")]
    NoPredicateType(String),
    /// (4) None verified for an accepted identity; the last failure.
    #[error(transparent)]
    Signature(CandidateFailure),
    /// (5) Some verified, but none has the wanted certificate extensions; the last failure.
    #[error(transparent)]
    Extensions(GhMismatch),
}

impl GhCriteria {
    /// gh's defaults for `--repo OWNER/NAME` on github.com, what brew runs: SLSA provenance v1,
    /// any workflow of the repository, its source repository and owner, GitHub Actions'
    /// issuer. `None` unless `repository` is `owner/name`.
    pub fn github_repository(repository: &str) -> Option<Self> {
        let (owner, name) = repository.split_once('/')?;
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        let base = format!("https://github.com/{repository}");
        Some(Self {
            predicate_type: crate::statement::SLSA_PROVENANCE_V1.to_owned(),
            san: San::Regex(Regex::new(&format!("(?i)^{}/", regex::escape(&base))).ok()?),
            runner_environment: None,
            no_public_good: false,
            source_repository_uri: Some(base),
            source_repository_owner_uri: format!("https://github.com/{owner}"),
            issuer: super::GITHUB_ACTIONS_ISSUER.to_owned(),
            source_repository_digest: None,
            source_repository_ref: None,
        })
    }

    /// Judge `candidates` for the artifact `digest` under `trust`: every attestation that
    /// passes, in order, or the stage at which the last one failed (see the module docs).
    pub fn judge(
        &self,
        trust: &TrustRoot,
        digest: &Digest,
        candidates: Vec<BundleCandidate>,
    ) -> Result<Vec<GhAccepted>, GhRejection> {
        // (3)
        let wanted: Vec<BundleCandidate> = candidates
            .into_iter()
            .filter(|c| match &c.bundle {
                Err(_) => true,
                Ok(bundle) => predicate_type(bundle).as_deref() == Some(&*self.predicate_type),
            })
            .collect();
        if wanted.is_empty() {
            return Err(GhRejection::NoPredicateType(self.predicate_type.clone()));
        }
        // (4)
        let mut signed = Vec::new();
        let mut last = None;
        for candidate in wanted {
            let checked = candidate
                .bundle
                .map_err(SignatureFailure::Unreadable)
                .and_then(|bundle| {
                    let verified =
                        verify_bundle(trust, &bundle, digest).map_err(SignatureFailure::Crypto)?;
                    self.check_identity(verified.claims())
                        .map_err(SignatureFailure::Identity)?;
                    Ok(GhAccepted { bundle, verified })
                });
            match checked {
                Ok(accepted) => signed.push(accepted),
                Err(reason) => {
                    last = Some(CandidateFailure {
                        origin: candidate.origin,
                        reason,
                    })
                }
            }
        }
        if signed.is_empty() {
            return Err(match last {
                Some(failure) => GhRejection::Signature(failure),
                // Unreachable: `wanted` is not empty and each of its candidates either signed
                // or failed; say "none of the type" rather than crash.
                None => GhRejection::NoPredicateType(self.predicate_type.clone()),
            });
        }
        // (5)
        let mut last = None;
        let accepted: Vec<GhAccepted> = signed
            .into_iter()
            .filter(|a| match self.check_extensions(a.verified.claims()) {
                Ok(()) => true,
                Err(e) => {
                    last = Some(e);
                    false
                }
            })
            .collect();
        match (accepted.is_empty(), last) {
            (true, Some(mismatch)) => Err(GhRejection::Extensions(mismatch)),
            _ => Ok(accepted),
        }
    }

    /// The identity checks gh asks sigstore-go to make with the signature (SAN, runner
    /// environment), and the public-good refusal.
    pub fn check_identity(&self, claims: &CertificateClaims) -> Result<(), GhMismatch> {
        let issuer_name = certificate_issuer_name(claims)?;
        if self.no_public_good && issuer_name.contains("O=sigstore.dev") {
            return Err(GhMismatch::PublicGood);
        }
        let san = claims.identity.as_deref().unwrap_or_default();
        match &self.san {
            San::Exact(want) if want != san => {
                return Err(GhMismatch::SanExact {
                    want: want.clone(),
                    got: san.to_owned(),
                });
            }
            San::Regex(re) if !re.is_match(san) => {
                return Err(GhMismatch::SanRegex {
                    pattern: re.as_str().to_owned(),
                    got: san.to_owned(),
                });
            }
            _ => {}
        }
        if let Some(want) = &self.runner_environment {
            let got = claims.runner_environment.as_deref().unwrap_or_default();
            if got != want {
                return Err(GhMismatch::RunnerEnvironment {
                    want: want.clone(),
                    got: got.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// gh's `verifyCertExtensions`: owner URI, repository URI and issuer, then source digest
    /// and ref, ASCII case-insensitively.
    pub fn check_extensions(&self, claims: &CertificateClaims) -> Result<(), GhMismatch> {
        let owner = claims
            .source_repository_owner_uri
            .as_deref()
            .unwrap_or_default();
        if !owner.eq_ignore_ascii_case(&self.source_repository_owner_uri) {
            return Err(GhMismatch::SourceRepositoryOwner {
                want: self.source_repository_owner_uri.clone(),
                got: owner.to_owned(),
            });
        }
        if let Some(want) = &self.source_repository_uri {
            let got = claims.source_repository_uri.as_deref().unwrap_or_default();
            if !got.eq_ignore_ascii_case(want) {
                return Err(GhMismatch::SourceRepository {
                    want: want.clone(),
                    got: got.to_owned(),
                });
            }
        }
        let issuer = claims.issuer.as_deref().unwrap_or_default();
        if !issuer.eq_ignore_ascii_case(&self.issuer) {
            return Err(GhMismatch::Issuer {
                want: self.issuer.clone(),
                got: issuer.to_owned(),
                custom: issuer.starts_with(&format!("{}/", self.issuer)),
            });
        }
        // `--source-digest`, then `--source-ref`, after the issuer, as gh 2.68+ does in
        // cli/cli `pkg/cmd/attestation/verification/extensions.go`, `verifyCertExtensions`
        // (the change that added the flags):
        //   if expected.SourceRepositoryDigest != "" && !strings.EqualFold(expected.SourceRepositoryDigest, given.SourceRepositoryDigest) {
        //       return fmt.Errorf("expected SourceRepositoryDigest to be %s, got %s", …)
        //   if expected.SourceRepositoryRef != "" && !strings.EqualFold(expected.SourceRepositoryRef, given.SourceRepositoryRef) {
        //       return fmt.Errorf("expected SourceRepositoryRef to be %s, got %s", …)
        // Go's EqualFold also folds non-ASCII letters; ASCII-only folding here is stricter for
        // them (it refuses what gh might accept, never the reverse). A certificate without the
        // extension fails with an empty "got", as in gh (the empty string is compared).
        if let Some(want) = &self.source_repository_digest {
            let got = claims
                .source_repository_digest
                .as_deref()
                .unwrap_or_default();
            if !got.eq_ignore_ascii_case(want) {
                return Err(GhMismatch::SourceRepositoryDigest {
                    want: want.clone(),
                    got: got.to_owned(),
                });
            }
        }
        if let Some(want) = &self.source_repository_ref {
            let got = claims.source_repository_ref.as_deref().unwrap_or_default();
            if !got.eq_ignore_ascii_case(want) {
                return Err(GhMismatch::SourceRepositoryRef {
                    want: want.clone(),
                    got: got.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// The signing certificate's issuer name (`O=sigstore.dev, CN=sigstore-intermediate`), as
/// sigstore-go's certificate summary gives it.
fn certificate_issuer_name(claims: &CertificateClaims) -> Result<String, GhMismatch> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(&claims.certificate_der)
        .map_err(|e| GhMismatch::Certificate(e.to_string()))?;
    Ok(cert.tbs_certificate.issuer.to_string())
}

/// The in-toto `predicateType` of a DSSE bundle (unverified: only to filter, as gh does).
fn predicate_type(bundle: &Bundle) -> Option<String> {
    predicate_type_of(&serde_json::to_value(bundle).ok()?)
}

/// The in-toto `predicateType` of a bundle in JSON form: `None` unless it is a DSSE envelope
/// of an in-toto statement (unverified: only to filter, as gh does).
pub fn predicate_type_of(value: &serde_json::Value) -> Option<String> {
    use base64::Engine as _;
    let envelope = value.get("dsseEnvelope")?;
    if envelope
        .get("payloadType")
        .and_then(serde_json::Value::as_str)
        != Some("application/vnd.in-toto+json")
    {
        return None;
    }
    let payload = envelope
        .get("payload")
        .and_then(serde_json::Value::as_str)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let statement: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    statement
        .get("predicateType")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::parse_attestations;

    /// GitHub attestation 16346368 (`ty` 0.0.11, homebrew-core; examples/README.md).
    const TY: &str = include_str!("../../../../examples/ty-0.0.11-homebrew-core.sigstore.json");

    /// `ty--0.0.11.x86_64_linux.bottle.tar.gz`, one of the statement's six subjects.
    fn ty_linux() -> Digest {
        Digest::Sha256(
            sigstore_types::Sha256Hash::from_hex(
                "096bf0aaca2cfca3605bddd5272352615102a61a78c8d2d5636295530dfa007e",
            )
            .unwrap(),
        )
    }

    /// gh's defaults for `--repo Homebrew/homebrew-core`.
    fn core() -> GhCriteria {
        GhCriteria::github_repository("Homebrew/homebrew-core").unwrap()
    }

    #[test]
    fn github_repository_is_ghs_default_policy() {
        let c = core();
        let San::Regex(re) = &c.san else {
            panic!("a pattern");
        };
        assert_eq!(
            re.as_str(),
            "(?i)^https://github\\.com/Homebrew/homebrew\\-core/"
        );
        assert_eq!(c.predicate_type, "https://slsa.dev/provenance/v1");
        assert_eq!(c.issuer, "https://token.actions.githubusercontent.com");
        assert_eq!(c.source_repository_owner_uri, "https://github.com/Homebrew");
        assert!(GhCriteria::github_repository("Homebrew").is_none());
        assert!(GhCriteria::github_repository("a/b/c").is_none());
    }

    fn judge(criteria: &GhCriteria, inputs: &[&str]) -> Result<Vec<GhAccepted>, GhRejection> {
        let trust = TrustRoot::production().unwrap();
        let candidates = inputs
            .iter()
            .enumerate()
            .flat_map(|(i, text)| parse_attestations(&format!("input {i}"), text.as_bytes()))
            .collect();
        criteria.judge(&trust, &ty_linux(), candidates)
    }

    #[test]
    fn ghs_defaults_accept_a_homebrew_core_attestation() {
        let accepted = judge(&core(), &[TY]).unwrap();
        assert_eq!(accepted.len(), 1);
        let claims = accepted[0].verified.claims();
        assert_eq!(
            claims.source_repository_uri.as_deref(),
            Some("https://github.com/Homebrew/homebrew-core")
        );
    }

    #[test]
    fn every_passing_attestation_is_returned() {
        // gh prints them all; the waterfall would stop at the first.
        let accepted = judge(&core(), &[TY, TY]).unwrap();
        assert_eq!(accepted.len(), 2);
    }

    #[test]
    fn another_predicate_type_is_dropped_not_failed() {
        let criteria = GhCriteria {
            predicate_type: "https://spdx.dev/Document/v2.3".into(),
            ..core()
        };
        let err = judge(&criteria, &[TY]).unwrap_err();
        assert!(
            matches!(&err, GhRejection::NoPredicateType(t) if t == "https://spdx.dev/Document/v2.3"),
            "{err:?}"
        );
    }

    #[test]
    fn an_unreadable_bundle_fails_as_invalid_and_does_not_hide_a_good_one() {
        let err = judge(&core(), &["{\"not\": \"a bundle\"}"]).unwrap_err();
        let GhRejection::Signature(failure) = &err else {
            panic!("expected a stage-4 failure, got {err:?}");
        };
        assert!(
            matches!(failure.reason, SignatureFailure::Unreadable(_)),
            "{err:?}"
        );
        assert!(failure.to_string().starts_with("input 0: "), "{failure}");
        assert_eq!(
            judge(&core(), &["{\"not\": \"a bundle\"}", TY])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn another_artifact_fails_the_cryptography() {
        let trust = TrustRoot::production().unwrap();
        let other = Digest::Sha256(sigstore_types::Sha256Hash::new([9; 32]));
        let err = core()
            .judge(&trust, &other, parse_attestations("ty", TY.as_bytes()))
            .unwrap_err();
        assert!(
            matches!(
                &err,
                GhRejection::Signature(CandidateFailure {
                    reason: SignatureFailure::Crypto(_),
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn another_repositorys_san_is_refused_with_ghs_message() {
        let criteria = GhCriteria {
            san: San::Regex(Regex::new("(?i)^https://github\\.com/evil/tap/").unwrap()),
            ..core()
        };
        let err = judge(&criteria, &[TY]).unwrap_err();
        let GhRejection::Signature(CandidateFailure {
            reason: SignatureFailure::Identity(mismatch),
            ..
        }) = &err
        else {
            panic!("expected an identity failure, got {err:?}");
        };
        assert!(matches!(mismatch, GhMismatch::SanRegex { .. }), "{err:?}");
        assert!(
            err.to_string().contains(
                "failed to verify certificate identity: expected SAN value to match regex"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_exact_san_must_be_exact() {
        let san = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
        let exact = GhCriteria {
            san: San::Exact(san.into()),
            ..core()
        };
        assert_eq!(judge(&exact, &[TY]).unwrap().len(), 1);
        let other = GhCriteria {
            san: San::Exact(format!("{san}x")),
            ..core()
        };
        let err = judge(&other, &[TY]).unwrap_err();
        assert!(err.to_string().contains("expected SAN value \""), "{err}");
    }

    #[test]
    fn no_public_good_refuses_a_public_good_certificate() {
        let criteria = GhCriteria {
            no_public_good: true,
            ..core()
        };
        let err = judge(&criteria, &[TY]).unwrap_err();
        assert!(
            matches!(
                &err,
                GhRejection::Signature(CandidateFailure {
                    reason: SignatureFailure::Identity(GhMismatch::PublicGood),
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_self_hosted_runner_is_refused_only_when_asked() {
        let criteria = GhCriteria {
            runner_environment: Some("self-hosted".into()),
            ..core()
        };
        let err = judge(&criteria, &[TY]).unwrap_err();
        assert!(
            err.to_string().contains(
                "expected RunnerEnvironment to be \"self-hosted\", got \"github-hosted\""
            ),
            "{err}"
        );
    }

    #[test]
    fn extensions_fail_at_stage_five_with_ghs_messages() {
        let cases: [(GhCriteria, &str); 5] = [
            (
                GhCriteria {
                    source_repository_owner_uri: "https://github.com/Other".into(),
                    ..core()
                },
                "expected SourceRepositoryOwnerURI to be https://github.com/Other, got https://github.com/Homebrew",
            ),
            (
                GhCriteria {
                    source_repository_uri: Some("https://github.com/Homebrew/brew".into()),
                    ..core()
                },
                "expected SourceRepositoryURI to be https://github.com/Homebrew/brew, got https://github.com/Homebrew/homebrew-core",
            ),
            (
                GhCriteria {
                    issuer: "https://token.actions".into(),
                    ..core()
                },
                "expected Issuer to be https://token.actions, got https://token.actions.githubusercontent.com",
            ),
            (
                GhCriteria {
                    source_repository_ref: Some("refs/heads/master".into()),
                    ..core()
                },
                "expected SourceRepositoryRef to be refs/heads/master, got refs/heads/main",
            ),
            (
                GhCriteria {
                    source_repository_digest: Some("0".repeat(40)),
                    ..core()
                },
                "expected SourceRepositoryDigest to be 0000000000000000000000000000000000000000, got ",
            ),
        ];
        for (criteria, message) in cases {
            let err = judge(&criteria, &[TY]).unwrap_err();
            assert!(matches!(err, GhRejection::Extensions(_)), "{err:?}");
            assert!(
                err.to_string().starts_with(message),
                "{err}\nwanted: {message}"
            );
        }
        // Owner and repository compare ASCII case-insensitively, as gh's EqualFold.
        let folded = GhCriteria {
            source_repository_uri: Some("https://github.com/homebrew/HOMEBREW-CORE".into()),
            source_repository_owner_uri: "https://github.com/HOMEBREW".into(),
            source_repository_ref: Some("REFS/HEADS/MAIN".into()),
            ..core()
        };
        assert_eq!(judge(&folded, &[TY]).unwrap().len(), 1);
    }

    #[test]
    fn a_custom_issuer_below_the_wanted_one_gets_ghs_hint() {
        let claims = CertificateClaims {
            source_repository_owner_uri: Some("https://github.com/Homebrew".into()),
            source_repository_uri: Some("https://github.com/Homebrew/homebrew-core".into()),
            issuer: Some("https://token.actions.githubusercontent.com/acme".into()),
            ..CertificateClaims::default()
        };
        let err = core().check_extensions(&claims).unwrap_err();
        assert!(
            matches!(&err, GhMismatch::Issuer { custom: true, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with("use the --cert-oidc-issuer flag with your expected issuer"),
            "{err}"
        );
    }
}
