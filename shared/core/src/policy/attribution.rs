//! Sorting a pile of bundles (from `--bundle` files, a cache, a mirror sidecar) into the
//! per-source lookups the waterfall expects, the way the attestations API would have filed them.
//!
//! The API files an attestation under the repository whose workflow made it, and indexes it by
//! subject digest. Offline, both facts are read from the bundle before verification: the
//! statement's subjects and the certificate's repository claims. Reading them unverified is
//! safe because every attributed bundle is then verified under its source's full rules: a
//! forged claim makes it *invalid*, it never lets it skip a source. For the same reason a
//! bundle that cannot be read at all is filed under the first source, so that garbage makes a
//! bottle fail as invalid rather than fall through to a weaker source.

use sigstore_types::{Sha256Hash, SignatureContent};

use super::identity::parse_workflow_san;
use super::{Lookup, Policy};
use crate::bundle::BundleCandidate;
use crate::statement::Statement;

/// A pile of bundles sorted for one bottle.
#[derive(Debug, Clone)]
pub struct Attributed {
    /// One lookup per policy source, in order.
    pub lookups: Vec<Lookup>,
    /// Bundles that concern this digest but name a repository outside the policy (a fork, an
    /// unrelated project), with that repository: reported, never trusted.
    pub ignored: Vec<(String, String)>,
}

impl Attributed {
    /// The lookup filed under source `index`, taken out (each source is asked at most once).
    pub fn take(&mut self, index: usize) -> Lookup {
        self.lookups
            .get_mut(index)
            .map_or(Lookup::NotFound, |l| std::mem::replace(l, Lookup::NotFound))
    }
}

impl Policy {
    /// Run the waterfall for `bottle` over a pile of bundles (`--bundle` files), filed under
    /// sources as the API would file them. Returns the verdict and the bundles ignored because
    /// they name a repository outside the policy.
    pub fn evaluate_pile(
        &self,
        bottle: &crate::bottle::BottleRef,
        trust: &crate::trust::TrustRoot,
        pile: &[BundleCandidate],
    ) -> (super::Verdict, Vec<(String, String)>) {
        let mut attributed = self.attribute(&bottle.digest, pile);
        let verdict = self.evaluate(bottle, trust, |index, _| attributed.take(index));
        (verdict, attributed.ignored)
    }

    /// Sort `pile` into per-source lookups for the bottle with SHA-256 `digest`.
    pub fn attribute(&self, digest: &Sha256Hash, pile: &[BundleCandidate]) -> Attributed {
        let mut per_source: Vec<Vec<BundleCandidate>> = vec![Vec::new(); self.sources.len()];
        let mut ignored = Vec::new();
        for candidate in pile {
            let Ok(bundle) = &candidate.bundle else {
                if let Some(first) = per_source.first_mut() {
                    first.push(candidate.clone());
                }
                continue;
            };
            if !mentions(bundle, digest) {
                continue;
            }
            let claims = claimed_repositories(bundle);
            let source = self.sources.iter().position(|s| {
                claims.iter().any(|claim| {
                    claim.eq_ignore_ascii_case(&s.repository)
                        || claim.eq_ignore_ascii_case(&s.source_repository_uri)
                })
            });
            match (source, claims.is_empty()) {
                (Some(i), _) => per_source[i].push(candidate.clone()),
                // No certificate, or no repository claim: unattributable, so primary.
                (None, true) => {
                    if let Some(first) = per_source.first_mut() {
                        first.push(candidate.clone());
                    }
                }
                (None, false) => ignored.push((candidate.origin.clone(), claims.join(", "))),
            }
        }
        Attributed {
            lookups: per_source
                .into_iter()
                .map(|c| {
                    if c.is_empty() {
                        Lookup::NotFound
                    } else {
                        Lookup::Found(c)
                    }
                })
                .collect(),
            ignored,
        }
    }
}

/// Whether the bundle (unverified) says it concerns `digest`: a statement subject, or a
/// message signature's digest.
fn mentions(bundle: &sigstore_types::Bundle, digest: &Sha256Hash) -> bool {
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            // A statement that does not parse cannot be judged here; keep it so that the
            // verifier reports it.
            Statement::from_payload(envelope.payload.as_bytes())
                .map(|s| s.subjects_with_sha256(digest).next().is_some())
                .unwrap_or(true)
        }
        SignatureContent::MessageSignature(sig) => sig
            .message_digest
            .as_ref()
            .is_none_or(|d| d.digest.as_bytes() == digest.as_bytes()),
        _ => true,
    }
}

/// The repositories the signing certificate claims: the SAN's (`owner/repo`) and the source
/// repository URI. Empty when there is no parseable certificate.
fn claimed_repositories(bundle: &sigstore_types::Bundle) -> Vec<String> {
    let Some(cert) = bundle.signing_certificate() else {
        return Vec::new();
    };
    let Ok(info) = sigstore_crypto::parse_certificate_info(cert) else {
        return Vec::new();
    };
    let mut claims = Vec::new();
    if let Some(san) = &info.identity {
        if let Some(parsed) = parse_workflow_san(san.as_str()) {
            claims.push(parsed.repository.to_owned());
        } else {
            claims.push(san.as_str().to_owned());
        }
    }
    if let Some(uri) = info.ci_claims.source_repository_uri {
        claims.push(uri);
    }
    claims
}
