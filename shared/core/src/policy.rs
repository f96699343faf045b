//! The provenance policy: which attestations make a bottle trustworthy. Pure code, no I/O.
//!
//! A [`Policy`] is an ordered list of [`Source`]s. Each source names a GitHub repository whose
//! attestations are looked up, the workflow identities allowed to sign there, the statement it
//! must carry and how its subject names the bottle. Evaluation is a waterfall (the behaviour of
//! brew's `Homebrew::Attestation.check_core_attestation`, DESIGN.md §1):
//!
//! 1. Sources are consulted in order. The first one with a passing attestation decides: verified.
//! 2. A source with attestations that all fail decides too: *invalid*. Later sources are never
//!    asked, so an attacker cannot downgrade a bottle to a weaker source by spoiling the first.
//! 3. A source marked [`When::EarlierMissing`] is consulted only when every earlier source had
//!    *no attestation at all*.
//! 4. Nothing anywhere: *missing*, a hard failure distinct from *invalid*.
//!
//! Lookups are the caller's business (files, the API, a cache): [`Waterfall`] says which source
//! to look up next and takes what was found, so that this module never touches the network.

mod attribution;
mod file;
mod identity;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bottle::{BottleRef, DEFAULT_BOTTLE_ROOT};
use crate::bundle::BundleCandidate;
use crate::digest::Digest;
use crate::statement::{SLSA_PROVENANCE_V1, Subject};
use crate::trust::TrustRoot;
use crate::verify::{CertificateClaims, VerifiedBundle, VerifiedTimestamp, verify_bundle};

pub use attribution::Attributed;
pub use file::PolicyFileError;
pub use identity::{RefRule, WorkflowRule};

/// The GitHub Actions OIDC issuer.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// brew's `BACKFILL_CUTOFF`: backfill attestations logged after this are refused.
pub const BACKFILL_CUTOFF: &str = "2024-03-14T00:00:00Z";

/// An ordered list of attestation sources: the whole trust decision for a bottle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// A short name for messages (`homebrew-core`).
    pub name: String,
    /// Sources, in waterfall order.
    pub sources: Vec<Source>,
}

/// One place attestations come from and what they must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// A short name for messages (`homebrew-core`, `backfill`).
    pub name: String,
    /// `owner/repo` whose attestations are looked up and whose workflows may sign.
    pub repository: String,
    /// Which workflow files under `https://github.com/<repository>/.github/workflows/` may sign.
    pub workflows: WorkflowRule,
    /// Which refs those workflows may run from.
    pub refs: RefRule,
    /// The OIDC issuer, matched exactly.
    pub issuer: String,
    /// The certificate's source repository URI (`.1.12`), matched exactly (ASCII case-insensitive,
    /// as GitHub treats owner and repository names).
    pub source_repository_uri: String,
    /// The statement's `predicateType`, matched exactly.
    pub predicate_type: String,
    /// How the statement names the bottle.
    pub subject: SubjectRule,
    /// Attestations whose verified time is after this are refused.
    pub logged_at_or_before: Option<DateTime<Utc>>,
    /// When this source is consulted.
    pub when: When,
}

/// When a source is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// Whenever no earlier source has decided.
    Always,
    /// Only when every earlier source had no attestation at all (brew's backfill fallback).
    EarlierMissing,
}

/// How an attestation's subject names a bottle. The subject must also carry the bottle's
/// SHA-256: a name on one subject and the digest on another does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectRule {
    /// The bottle file name (`wget--1.24.5.arm64_sonoma.bottle.tar.gz`). For an `:all` bottle,
    /// any subject named `<name>--<version>.…`, since `brew bottle --merge` renames a platform
    /// bottle to `all` after it was attested.
    Filename,
    /// Homebrew's cache name, `<sha256(url)>--<filename>`, with the URL rebuilt on `root`
    /// whatever mirror the bottle came from (the 2024 backfill named subjects this way).
    CacheName {
        /// The bottle root the URL is formed on.
        root: String,
    },
}

impl SubjectRule {
    /// The name a subject must have, or for `:all` bottles the prefix, for messages.
    fn expected_name(&self, bottle: &BottleRef) -> String {
        match self {
            Self::Filename if bottle.filename.is_all() => format!(
                "{}--{}.* (an :all bottle)",
                bottle.filename.name(),
                bottle.filename.version()
            ),
            Self::Filename => bottle.filename.to_string(),
            Self::CacheName { root } => bottle.cache_name(root),
        }
    }

    fn matches(&self, bottle: &BottleRef, subject: &Subject) -> bool {
        match self {
            Self::Filename if bottle.filename.is_all() => {
                let prefix = format!("{}--{}.", bottle.filename.name(), bottle.filename.version());
                subject.name.starts_with(&prefix)
            }
            Self::Filename => subject.name == bottle.filename.to_string(),
            Self::CacheName { root } => subject.name == bottle.cache_name(root),
        }
    }
}

impl Policy {
    /// The homebrew-core policy brew enforces: core CI first; only if core has no attestation,
    /// the `trailofbits/homebrew-brew-verify` backfill logged at or before 2024-03-14.
    pub fn homebrew_core() -> Self {
        let core = "Homebrew/homebrew-core";
        let backfill = "trailofbits/homebrew-brew-verify";
        Self {
            name: "homebrew-core".into(),
            sources: vec![
                Source {
                    name: "homebrew-core".into(),
                    repository: core.into(),
                    // Core signs from several workflows (publish-commit-bottles.yml,
                    // dispatch-build-bottle.yml, dispatch-rebottle.yml…).
                    workflows: WorkflowRule::Any,
                    // Only the default branch: a pull request's workflow must not vouch for a
                    // bottle. Core renamed master → main, so both are allowed.
                    refs: RefRule::OneOf(vec![
                        "refs/heads/master".into(),
                        "refs/heads/main".into(),
                    ]),
                    issuer: GITHUB_ACTIONS_ISSUER.into(),
                    source_repository_uri: format!("https://github.com/{core}"),
                    predicate_type: SLSA_PROVENANCE_V1.into(),
                    subject: SubjectRule::Filename,
                    logged_at_or_before: None,
                    when: When::Always,
                },
                Source {
                    name: "backfill".into(),
                    repository: backfill.into(),
                    workflows: WorkflowRule::OneOf(vec!["backfill_signatures.yml".into()]),
                    // The 2024 runs signed from both `main` and `backfill`; brew does not pin
                    // the ref, and the cutoff is what bounds this source.
                    refs: RefRule::Any,
                    issuer: GITHUB_ACTIONS_ISSUER.into(),
                    source_repository_uri: format!("https://github.com/{backfill}"),
                    predicate_type: SLSA_PROVENANCE_V1.into(),
                    subject: SubjectRule::CacheName {
                        root: DEFAULT_BOTTLE_ROOT.into(),
                    },
                    logged_at_or_before: Some(backfill_cutoff()),
                    when: When::EarlierMissing,
                },
            ],
        }
    }

    /// Start evaluating this policy for `bottle`.
    pub fn start<'p>(&'p self, bottle: &BottleRef) -> Waterfall<'p> {
        Waterfall {
            policy: self,
            bottle: bottle.clone(),
            next: 0,
            missing: Vec::new(),
            invalid: None,
            decided: None,
        }
    }

    /// Evaluate with every source's attestations already at hand: `lookup` answers for the
    /// source at an index. Only the sources the waterfall reaches are asked.
    pub fn evaluate(
        &self,
        bottle: &BottleRef,
        trust: &TrustRoot,
        mut lookup: impl FnMut(usize, &Source) -> Lookup,
    ) -> Verdict {
        let mut waterfall = self.start(bottle);
        while let Some((index, source)) = waterfall.next_source_indexed() {
            let found = lookup(index, source);
            waterfall.record(found, trust);
        }
        waterfall.verdict()
    }
}

fn backfill_cutoff() -> DateTime<Utc> {
    // A constant, checked by a unit test; a parse failure here would be a build defect, so
    // fall back to the earliest instant (which refuses every backfill) rather than panic.
    DateTime::parse_from_rfc3339(BACKFILL_CUTOFF)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What looking a source up produced.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Attestations filed under this source for the bottle's digest (possibly unparseable ones).
    Found(Vec<BundleCandidate>),
    /// The source has no attestation for this digest.
    NotFound,
    /// The lookup itself failed (network, rate limit): nothing can be concluded.
    Failed(String),
}

/// The evaluation of a policy for one bottle, driven by the caller one source at a time.
#[derive(Debug)]
pub struct Waterfall<'p> {
    policy: &'p Policy,
    bottle: BottleRef,
    /// Index of the first source not yet looked at.
    next: usize,
    /// Sources that had no attestation.
    missing: Vec<String>,
    /// The first source whose attestations all failed, if any.
    invalid: Option<Verdict>,
    /// A final answer: verified, or a lookup that failed.
    decided: Option<Verdict>,
}

impl<'p> Waterfall<'p> {
    /// The next source to look up, or `None` when the verdict is known.
    pub fn next_source(&self) -> Option<&'p Source> {
        self.next_source_indexed().map(|(_, s)| s)
    }

    /// The next source to look up with its position in the policy.
    pub fn next_source_indexed(&self) -> Option<(usize, &'p Source)> {
        self.next_index().map(|i| (i, &self.policy.sources[i]))
    }

    fn next_index(&self) -> Option<usize> {
        if self.decided.is_some() {
            return None;
        }
        // A source that applies only when everything before it was missing is skipped once
        // any earlier source had attestations, even failing ones: that is what stops a
        // downgrade to the weaker source.
        (self.next..self.policy.sources.len()).find(|&i| match self.policy.sources[i].when {
            When::Always => true,
            When::EarlierMissing => self.invalid.is_none(),
        })
    }

    /// Record what the lookup of [`Self::next_source`] found, verifying each attestation.
    pub fn record(&mut self, found: Lookup, trust: &TrustRoot) {
        let Some(index) = self.next_index() else {
            return;
        };
        let source = &self.policy.sources[index];
        self.next = index + 1;
        let candidates = match found {
            Lookup::Failed(error) => {
                self.decided = Some(Verdict::Unavailable {
                    source: source.name.clone(),
                    error,
                });
                return;
            }
            Lookup::NotFound => Vec::new(),
            Lookup::Found(c) => c,
        };
        if candidates.is_empty() {
            self.missing.push(source.name.clone());
            return;
        }
        let mut failures = Vec::new();
        for candidate in &candidates {
            match check_candidate(source, &self.bottle, trust, candidate) {
                Ok(mut pass) => {
                    pass.source_index = index;
                    self.decided = Some(Verdict::Verified(Box::new(pass)));
                    return;
                }
                Err(reason) => failures.push(CandidateFailure {
                    origin: candidate.origin.clone(),
                    reason,
                }),
            }
        }
        // Keep the first failing source: it is the one a user must look at.
        self.invalid.get_or_insert(Verdict::Invalid {
            source: source.name.clone(),
            failures,
        });
    }

    /// The verdict: verified if a source passed; otherwise invalid if any source had
    /// attestations; otherwise missing. Sources never recorded count as missing.
    pub fn verdict(mut self) -> Verdict {
        if let Some(v) = self.decided.take().or(self.invalid.take()) {
            return v;
        }
        Verdict::Missing {
            sources: self.missing,
        }
    }
}

/// The outcome of a policy for one bottle.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// A source's attestation passed every check.
    Verified(Box<Pass>),
    /// Some source had attestations and none passed; later sources were not consulted.
    Invalid {
        /// The source whose attestations failed.
        source: String,
        /// Why each failed.
        failures: Vec<CandidateFailure>,
    },
    /// No source had any attestation for this bottle.
    Missing {
        /// The sources consulted.
        sources: Vec<String>,
    },
    /// A lookup failed, so nothing can be said.
    Unavailable {
        /// The source whose lookup failed.
        source: String,
        /// What went wrong.
        error: String,
    },
}

/// Everything a passing attestation proved.
#[derive(Debug, Clone)]
pub struct Pass {
    /// The source that matched.
    pub source: String,
    /// Its position in the waterfall (0 = primary).
    pub source_index: usize,
    /// Where the bundle came from.
    pub origin: String,
    /// The subject that named the bottle.
    pub subject: Subject,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The signing certificate's claims.
    pub claims: CertificateClaims,
    /// Verified times, earliest first.
    pub timestamps: Vec<VerifiedTimestamp>,
    /// The verified bundle, for output that needs more of it.
    pub bundle: VerifiedBundle,
}

/// One attestation that did not pass, and why.
#[derive(Debug, Clone)]
pub struct CandidateFailure {
    /// Where the bundle came from.
    pub origin: String,
    /// The first check it failed.
    pub reason: Rejection,
}

/// The first check an attestation failed. Each variant is a distinct, reportable reason.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The bundle could not be read.
    #[error("unreadable bundle: {0}")]
    Unreadable(String),
    /// Signature, certificate chain, SCT, log proof, timestamp or subject digest failed.
    #[error("cryptographic verification failed: {0}")]
    Crypto(String),
    /// The certificate was issued by another OIDC issuer.
    #[error("issuer is {actual:?}, expected {expected}")]
    Issuer {
        /// The policy's issuer.
        expected: String,
        /// The certificate's.
        actual: Option<String>,
    },
    /// The signer is not an allowed workflow of the source repository.
    #[error("signed by {actual:?}, which is not {expected}")]
    Identity {
        /// What the policy allows, described.
        expected: String,
        /// The certificate's SAN.
        actual: Option<String>,
    },
    /// The workflow ran from a ref the policy does not allow.
    #[error("workflow ran from ref {actual:?}, expected {expected}")]
    Ref {
        /// What the policy allows.
        expected: String,
        /// The ref in the SAN.
        actual: String,
    },
    /// The certificate's source repository is another repository (a fork, say).
    #[error("built from source repository {actual:?}, expected {expected}")]
    SourceRepository {
        /// The policy's repository URI.
        expected: String,
        /// The certificate's.
        actual: Option<String>,
    },
    /// The bundle is a plain signature, not an attestation.
    #[error("the bundle signs a blob, not an in-toto attestation")]
    NoStatement,
    /// Wrong kind of statement.
    #[error("predicate type is {actual:?}, expected {expected:?}")]
    PredicateType {
        /// The policy's.
        expected: String,
        /// The statement's.
        actual: String,
    },
    /// No subject carries the bottle's SHA-256.
    #[error("no subject has the bottle's digest {digest}")]
    SubjectDigest {
        /// The bottle's digest.
        digest: String,
    },
    /// Subjects carry the digest but none under the expected name.
    #[error("no subject with the bottle's digest is named {expected} (found {found:?})")]
    SubjectName {
        /// The expected name.
        expected: String,
        /// Names of the subjects that carried the digest.
        found: Vec<String>,
    },
    /// A verified time is after the source's cutoff.
    #[error("logged at {time}, after the cutoff {cutoff}")]
    AfterCutoff {
        /// The offending verified time.
        time: DateTime<Utc>,
        /// The cutoff.
        cutoff: DateTime<Utc>,
    },
}

/// Every check of one attestation against one source, in the order of the doc of [`Rejection`].
fn check_candidate(
    source: &Source,
    bottle: &BottleRef,
    trust: &TrustRoot,
    candidate: &BundleCandidate,
) -> Result<Pass, Rejection> {
    let bundle = candidate
        .bundle
        .as_ref()
        .map_err(|e| Rejection::Unreadable(e.to_string()))?;
    // (1) cryptography: chain, SCT, log, signature, and the digest is a subject.
    let verified = verify_bundle(trust, bundle, &Digest::Sha256(bottle.digest))
        .map_err(|e| Rejection::Crypto(e.to_string()))?;
    let claims = verified.claims();
    // (2) issuer, exactly.
    if claims.issuer.as_deref() != Some(source.issuer.as_str()) {
        return Err(Rejection::Issuer {
            expected: source.issuer.clone(),
            actual: claims.issuer.clone(),
        });
    }
    // (3) the SAN is an allowed workflow of the source repository, from an allowed ref.
    identity::check(source, claims.identity.as_deref())?;
    // (4) the source repository extension names the repository (a fork has its own URI).
    if !claims
        .source_repository_uri
        .as_deref()
        .is_some_and(|uri| uri.eq_ignore_ascii_case(&source.source_repository_uri))
    {
        return Err(Rejection::SourceRepository {
            expected: source.source_repository_uri.clone(),
            actual: claims.source_repository_uri.clone(),
        });
    }
    // (5) it is an attestation of the right kind.
    let statement = verified.statement().ok_or(Rejection::NoStatement)?;
    if statement.predicate_type != source.predicate_type {
        return Err(Rejection::PredicateType {
            expected: source.predicate_type.clone(),
            actual: statement.predicate_type.clone(),
        });
    }
    // (6) one subject carries both the digest and the expected name.
    let with_digest: Vec<&Subject> = statement.subjects_with_sha256(&bottle.digest).collect();
    if with_digest.is_empty() {
        return Err(Rejection::SubjectDigest {
            digest: Digest::Sha256(bottle.digest).to_string(),
        });
    }
    let subject = with_digest
        .iter()
        .find(|s| source.subject.matches(bottle, s))
        .ok_or_else(|| Rejection::SubjectName {
            expected: source.subject.expected_name(bottle),
            found: with_digest.iter().map(|s| s.name.clone()).collect(),
        })?;
    // (7) every verified time is at or before the cutoff. All of them, not the first: a
    //     timestamp the attacker can pick must not be the one that decides.
    if let Some(cutoff) = source.logged_at_or_before {
        if let Some(late) = verified.timestamps().iter().find(|t| t.time > cutoff) {
            return Err(Rejection::AfterCutoff {
                time: late.time,
                cutoff,
            });
        }
    }
    Ok(Pass {
        source: source.name.clone(),
        source_index: 0,
        origin: candidate.origin.clone(),
        subject: (*subject).clone(),
        predicate_type: statement.predicate_type.clone(),
        claims: claims.clone(),
        timestamps: verified.timestamps().to_vec(),
        bundle: verified.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_constant_parses() {
        assert_eq!(backfill_cutoff().to_rfc3339(), "2024-03-14T00:00:00+00:00");
    }

    #[test]
    fn builtin_policy_shape() {
        let p = Policy::homebrew_core();
        assert_eq!(p.sources.len(), 2);
        assert_eq!(p.sources[0].when, When::Always);
        assert_eq!(p.sources[1].when, When::EarlierMissing);
        assert!(p.sources[1].logged_at_or_before.is_some());
    }
}
