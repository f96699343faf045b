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

use crate::bottle::BottleRef;

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
            .map_or(Lookup::AUTHORITATIVE_NONE, |l| {
                std::mem::replace(l, Lookup::AUTHORITATIVE_NONE)
            })
    }
}

impl Policy {
    /// Run the waterfall for `bottle` over a pile of bundles (`--bundle` files), filed under
    /// sources as the API would file them. Returns the verdict and the bundles ignored because
    /// they name a repository outside the policy.
    pub fn evaluate_pile(
        &self,
        bottle: &BottleRef,
        trust: &crate::trust::TrustRoot,
        pile: &[BundleCandidate],
    ) -> (super::Verdict, Vec<(String, String)>) {
        let mut attributed = self.attribute(bottle, pile);
        let verdict = self.evaluate(bottle, trust, |index, _| attributed.take(index));
        (verdict, attributed.ignored)
    }

    /// Sort `pile` into per-source lookups for `bottle`: bundles about its digest, and bundles
    /// that name its exact file with another digest (evidence against it, never silence).
    pub fn attribute(&self, bottle: &BottleRef, pile: &[BundleCandidate]) -> Attributed {
        let digest = &bottle.digest;
        let file_name = bottle.filename.to_string();
        let mut per_source: Vec<Vec<BundleCandidate>> = vec![Vec::new(); self.sources.len()];
        let mut ignored = Vec::new();
        for candidate in pile {
            let Ok(bundle) = &candidate.bundle else {
                if let Some(first) = per_source.first_mut() {
                    first.push(candidate.clone());
                }
                continue;
            };
            if !mentions(bundle, digest) && !names(bundle, &file_name) {
                continue;
            }
            let claims = claimed_repositories(bundle);
            match (self.owner(bundle, &claims), claims.is_empty()) {
                (Some(i), _) => per_source[i].push(candidate.clone()),
                // No certificate, or no repository claim: unattributable, so primary.
                (None, true) => {
                    if let Some(first) = per_source.first_mut() {
                        first.push(candidate.clone());
                    }
                }
                (None, false) => {
                    ignored.push((candidate.origin.clone(), claimed_repository(&claims)))
                }
            }
        }
        Attributed {
            lookups: per_source
                .into_iter()
                .map(|c| {
                    if c.is_empty() {
                        Lookup::AUTHORITATIVE_NONE
                    } else {
                        Lookup::Found(c)
                    }
                })
                .collect(),
            ignored,
        }
    }
}

impl Policy {
    /// The source a bundle is filed under: the first whose repository *and* workflow rule match
    /// the certificate's claims, else the first whose repository matches (so that a wrong
    /// workflow is reported as such). Reading the claims unverified is safe: the bundle is then
    /// verified under that source's full rules.
    fn owner(&self, bundle: &sigstore_types::Bundle, claims: &[String]) -> Option<usize> {
        let matches_repo = |s: &super::Source| {
            claims.iter().any(|claim| {
                claim.eq_ignore_ascii_case(&s.repository)
                    || claim.eq_ignore_ascii_case(&s.source_repository_uri)
            })
        };
        let workflow = signing_workflow(bundle);
        self.sources
            .iter()
            .position(|s| {
                matches_repo(s)
                    && workflow.as_deref().is_some_and(|w| match &s.workflows {
                        super::WorkflowRule::Any => true,
                        super::WorkflowRule::OneOf(files) => files.iter().any(|f| f == w),
                    })
            })
            .or_else(|| self.sources.iter().position(matches_repo))
    }

    /// The share of an attestations API answer that belongs to source `index`.
    ///
    /// The API files attestations by repository, so when two sources share one (a tap whose CI
    /// attests new bottles with `publish.yml` and whose legacy bottles are backfilled by
    /// `backfill.yml`), both lookups return every attestation of that repository. Each
    /// source keeps those whose signing workflow it accepts, and those no source sharing the
    /// repository accepts (so that they are reported as failures, not dropped); attestations
    /// another source of the same repository owns are left to it, where its own rules (its
    /// cutoff) apply (issue 11, part 2).
    pub fn share_of(&self, index: usize, candidates: Vec<BundleCandidate>) -> Vec<BundleCandidate> {
        let Some(me) = self.sources.get(index) else {
            return candidates;
        };
        candidates
            .into_iter()
            .filter(|candidate| {
                let Ok(bundle) = &candidate.bundle else {
                    return true;
                };
                let claims = claimed_repositories(bundle);
                match self.owner(bundle, &claims) {
                    Some(owner) if owner != index => !self.sources[owner]
                        .repository
                        .eq_ignore_ascii_case(&me.repository),
                    _ => true,
                }
            })
            .collect()
    }
}

/// The workflow file name in the signing certificate's SAN, unverified.
fn signing_workflow(bundle: &sigstore_types::Bundle) -> Option<String> {
    let cert = bundle.signing_certificate()?;
    let info = sigstore_crypto::parse_certificate_info(cert).ok()?;
    let san = info.identity?;
    parse_workflow_san(san.as_str()).map(|p| p.file.to_owned())
}

/// One repository for a report: the SAN's `owner/name`, else the source repository URI's.
fn claimed_repository(claims: &[String]) -> String {
    claims
        .iter()
        .map(|c| c.strip_prefix("https://github.com/").unwrap_or(c))
        .next()
        .unwrap_or_default()
        .to_owned()
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

/// Whether the bundle's statement (unverified) has a subject named `file_name`.
fn names(bundle: &sigstore_types::Bundle, file_name: &str) -> bool {
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            Statement::from_payload(envelope.payload.as_bytes())
                .is_ok_and(|s| s.subjects.iter().any(|subject| subject.name == file_name))
        }
        _ => false,
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
