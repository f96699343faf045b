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
//!
//! [`gh`] is the other judge the checker can be configured with: gh's criteria for
//! gh-compatible mode, which accept every passing attestation of one repository.

mod attribution;
mod file;
pub mod gh;
mod identity;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bottle::{BottleRef, DEFAULT_BOTTLE_ROOT};
use crate::bundle::BundleCandidate;
use crate::digest::Digest;
use crate::statement::{SLSA_PROVENANCE_V1, Subject};
use crate::trust::{Instance, TrustRoot};
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
    /// Which refs those workflows may run from (the ref in the certificate's SAN).
    pub refs: RefRule,
    /// Which refs the run itself may be for: the certificate's source-repository-ref extension
    /// (OID 1.3.6.1.4.1.57264.1.14). A main-branch reusable workflow called from a pull
    /// request's run has `refs/heads/main` in its SAN but `refs/pull/N/merge` here.
    pub source_refs: RefRule,
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
    /// Which Sigstore instances may have signed: by default the public-good one only, so
    /// that homebrew-core and the backfill never accept a bundle of GitHub's instance (private
    /// repositories, no transparency log). A private tap's policy adds
    /// [`Instance::GitHub`].
    pub instances: Vec<Instance>,
}

/// The instances a source accepts unless it says otherwise.
pub fn default_instances() -> Vec<Instance> {
    vec![Instance::PublicGood]
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
                "{}--{}.<any tag>.bottle{}.tar.gz (an :all bottle)",
                bottle.filename.name(),
                bottle.filename.version(),
                match bottle.filename.rebuild() {
                    0 => String::new(),
                    n => format!(".{n}"),
                }
            ),
            Self::Filename => bottle.filename.to_string(),
            Self::CacheName { root } => bottle.cache_name(root),
        }
    }

    fn matches(&self, bottle: &BottleRef, subject: &Subject) -> bool {
        match self {
            // The subject is parsed as a bottle file name and compared part by part: only the
            // tag may differ. A text prefix would let `allbaz--1.0.1.arm64_sonoma…` stand for
            // `allbaz--1.0.all…` (issue 11, part 3).
            Self::Filename if bottle.filename.is_all() => subject
                .name
                .parse::<crate::bottle::BottleFilename>()
                .is_ok_and(|named| {
                    named.name() == bottle.filename.name()
                        && named.version() == bottle.filename.version()
                        && named.rebuild() == bottle.filename.rebuild()
                }),
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
                    // Real core attestations carry the default branch in both places.
                    source_refs: RefRule::OneOf(vec![
                        "refs/heads/master".into(),
                        "refs/heads/main".into(),
                    ]),
                    issuer: GITHUB_ACTIONS_ISSUER.into(),
                    source_repository_uri: format!("https://github.com/{core}"),
                    predicate_type: SLSA_PROVENANCE_V1.into(),
                    subject: SubjectRule::Filename,
                    logged_at_or_before: None,
                    when: When::Always,
                    instances: default_instances(),
                },
                Source {
                    name: "backfill".into(),
                    repository: backfill.into(),
                    workflows: WorkflowRule::OneOf(vec!["backfill_signatures.yml".into()]),
                    // The 2024 runs signed from both `main` and `backfill`; brew does not pin
                    // the ref, and the cutoff is what bounds this source.
                    refs: RefRule::Any,
                    source_refs: RefRule::Any,
                    issuer: GITHUB_ACTIONS_ISSUER.into(),
                    source_repository_uri: format!("https://github.com/{backfill}"),
                    predicate_type: SLSA_PROVENANCE_V1.into(),
                    subject: SubjectRule::CacheName {
                        root: DEFAULT_BOTTLE_ROOT.into(),
                    },
                    logged_at_or_before: Some(backfill_cutoff()),
                    when: When::EarlierMissing,
                    instances: default_instances(),
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
            unconfirmed: None,
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

/// What looking a source up produced. The waterfall's rule — a weaker source opens only after
/// an *authoritative* "none" from every earlier one — depends on telling these apart, so a
/// lookup says which it is instead of returning a bare list (issue 10, item 2).
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Attestations filed under this source for the bottle's digest (possibly unparseable ones).
    Found(Vec<BundleCandidate>),
    /// The source has no attestation for this digest.
    None(Absence),
    /// The lookup itself failed (network, rate limit): nothing can be concluded.
    Failed(LookupError),
}

impl Lookup {
    /// The attestations API (or a sidecar the user chose as the source) answered "none".
    pub const AUTHORITATIVE_NONE: Self = Self::None(Absence::Authoritative);
}

/// How much a "none" is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absence {
    /// The source itself said it has none: the attestations API's empty list or 404 for this
    /// repository and digest, a sidecar or bundle file the user chose as the source. Only this
    /// lets a later `earlier-missing` source decide, or a bottle be called *missing*.
    Authoritative,
    /// Nothing was found, but not from a place that can speak for the source (a mirror
    /// consulted only because the API could not be reached, a cached answer): the bottle
    /// "could not be checked".
    NotAuthoritative {
        /// Where the answer came from and why it does not count.
        why: String,
    },
}

/// Why a lookup failed: the network layer's own typed error, carried through the pure core
/// without the core knowing its type (callers `downcast_ref` it back).
#[derive(Debug, Clone)]
pub struct LookupError(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl LookupError {
    /// Wrap an error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(error))
    }

    /// An error that is only a message (a reason from outside the lookup, e.g. a plan entry
    /// that does not name a bottle).
    pub fn message(text: impl Into<String>) -> Self {
        Self::new(MessageError(text.into()))
    }

    /// The error, as its own type.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

/// The error behind [`LookupError::message`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct MessageError(String);

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LookupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An absence that cannot speak for its source, as the error of an "unavailable" verdict.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no attestation found, but {why}; the bottle could not be checked")]
pub struct Unconfirmed {
    /// Why the absence does not count.
    pub why: String,
}

/// The evaluation of a policy for one bottle, driven by the caller one source at a time.
#[derive(Debug)]
pub struct Waterfall<'p> {
    policy: &'p Policy,
    bottle: BottleRef,
    /// Index of the first source not yet looked at.
    next: usize,
    /// Sources that authoritatively had no attestation.
    missing: Vec<String>,
    /// Sources whose "none" came from a place that cannot speak for them.
    unconfirmed: Option<(String, String)>,
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
        // any earlier source had attestations, even failing ones, or answered "none" without
        // authority: that is what stops a downgrade to the weaker source.
        (self.next..self.policy.sources.len()).find(|&i| match self.policy.sources[i].when {
            When::Always => true,
            When::EarlierMissing => self.invalid.is_none() && self.unconfirmed.is_none(),
        })
    }

    /// Record what the lookup of [`Self::next_source`] found, verifying each attestation.
    pub fn record(&mut self, found: Lookup, trust: &TrustRoot) {
        let judged = self.judge(found, trust);
        self.settle(judged);
    }

    /// Verify what the lookup of [`Self::next_source`] found against that source's rules,
    /// without recording it yet: a caller holding cached attestations can look again online
    /// before a failure is settled (a bottle is never called invalid from the cache alone).
    pub fn judge(&self, found: Lookup, trust: &TrustRoot) -> Judged {
        let Some(index) = self.next_index() else {
            return Judged::None(Absence::Authoritative);
        };
        let source = &self.policy.sources[index];
        let candidates = match found {
            Lookup::Failed(error) => return Judged::Failed(error),
            Lookup::None(absence) => return Judged::None(absence),
            Lookup::Found(c) if c.is_empty() => return Judged::None(Absence::Authoritative),
            Lookup::Found(c) => c,
        };
        let mut failures = Vec::new();
        for candidate in &candidates {
            match check_candidate(source, &self.bottle, trust, candidate) {
                Ok(mut pass) => {
                    pass.source_index = index;
                    return Judged::Passed(Box::new(pass));
                }
                Err(reason) => failures.push(CandidateFailure {
                    origin: candidate.origin.clone(),
                    reason,
                }),
            }
        }
        Judged::Rejected(failures)
    }

    /// Record a judgement of the next source (from [`Self::judge`]).
    pub fn settle(&mut self, judged: Judged) {
        let Some(index) = self.next_index() else {
            return;
        };
        let source = &self.policy.sources[index];
        self.next = index + 1;
        match judged {
            Judged::Failed(error) => {
                self.decided = Some(Verdict::Unavailable {
                    source: source.name.clone(),
                    error,
                });
            }
            Judged::None(Absence::Authoritative) => self.missing.push(source.name.clone()),
            Judged::None(Absence::NotAuthoritative { why }) => {
                self.unconfirmed.get_or_insert((source.name.clone(), why));
            }
            Judged::Passed(pass) => self.decided = Some(Verdict::Verified(pass)),
            Judged::Rejected(failures) => {
                // Keep the first failing source: it is the one a user must look at.
                self.invalid.get_or_insert(Verdict::Invalid {
                    source: source.name.clone(),
                    source_index: index,
                    failures,
                });
            }
        }
    }

    /// The verdict: verified if a source passed; otherwise invalid if any source had
    /// attestations; otherwise "could not check" if some "none" was not authoritative;
    /// otherwise missing. Sources never recorded count as missing.
    pub fn verdict(mut self) -> Verdict {
        if let Some(v) = self.decided.take().or(self.invalid.take()) {
            return v;
        }
        if let Some((source, why)) = self.unconfirmed.take() {
            return Verdict::Unavailable {
                source,
                error: LookupError::new(Unconfirmed { why }),
            };
        }
        Verdict::Missing {
            sources: self.missing,
        }
    }
}

/// One source's lookup, verified (see [`Waterfall::judge`]).
#[derive(Debug, Clone)]
pub enum Judged {
    /// An attestation passed every check.
    Passed(Box<Pass>),
    /// There were attestations and every one failed.
    Rejected(Vec<CandidateFailure>),
    /// There were none.
    None(Absence),
    /// The lookup failed.
    Failed(LookupError),
}

impl Judged {
    /// Whether an attestation passed.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Passed(_))
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
        /// Its position in the waterfall (0 = primary).
        source_index: usize,
        /// Why each failed.
        failures: Vec<CandidateFailure>,
    },
    /// No source had any attestation for this bottle.
    Missing {
        /// The sources consulted.
        sources: Vec<String>,
    },
    /// A lookup failed (or found nothing where that proves nothing), so nothing can be said.
    Unavailable {
        /// The source whose lookup failed.
        source: String,
        /// What went wrong.
        error: LookupError,
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
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The bundle could not be read.
    #[error("unreadable bundle: {0}")]
    Unreadable(String),
    /// Signature, certificate chain, SCT, log proof, timestamp or subject digest failed: the
    /// verifier's own error, kept whole (shared: a verdict is cloned into reports).
    #[error("cryptographic verification failed: {0}")]
    Crypto(std::sync::Arc<crate::verify::CryptoError>),
    /// The bundle was verified, but by an instance the source does not accept (a bundle of
    /// GitHub's instance, i.e. from a private repository, under a public-good-only source).
    #[error("signed by {}; this source accepts only {}", instance.describe(), describe_instances(accepted))]
    Instance {
        /// The instance whose root verified the bundle.
        instance: Instance,
        /// The instances the source accepts.
        accepted: Vec<Instance>,
    },
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
    /// The run was for a ref the policy does not allow (the source-repository-ref extension).
    #[error("the run was for ref {actual:?}, expected {expected}")]
    SourceRef {
        /// What the policy allows.
        expected: String,
        /// The certificate's source repository ref.
        actual: Option<String>,
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
    /// The source attests this very bottle file under another digest: these are not the
    /// bytes it built. Evidence against the bottle, never a reason to ask a weaker source.
    #[error(
        "{source_name} attests `{name}` with another digest ({digest}); these are not the bytes it built"
    )]
    AttestsOtherDigest {
        /// The source.
        source_name: String,
        /// The bottle file name the attestation names.
        name: String,
        /// The digest it gives that file.
        digest: String,
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

/// "the public-good instance", "the public-good instance or GitHub's instance".
fn describe_instances(instances: &[Instance]) -> String {
    let names: Vec<&str> = instances
        .iter()
        .map(|i| match i {
            Instance::PublicGood => "the public-good instance",
            Instance::GitHub => "GitHub's instance",
        })
        .collect();
    if names.is_empty() {
        "no instance".to_owned()
    } else {
        names.join(" or ")
    }
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
    // (0) an attestation that names this exact file with another digest: if it is genuine
    //     (it verifies for that digest under this source's rules), the source built other bytes.
    if let Some(other) = other_digest_for_name(bundle, bottle) {
        let impostor = BottleRef {
            digest: other,
            filename: bottle.filename.clone(),
        };
        let probe = BundleCandidate {
            origin: candidate.origin.clone(),
            bundle: Ok(bundle.clone()),
        };
        return Err(match check_candidate(source, &impostor, trust, &probe) {
            Ok(_) => Rejection::AttestsOtherDigest {
                source_name: source.name.clone(),
                name: bottle.filename.to_string(),
                digest: Digest::Sha256(other).to_string(),
            },
            Err(reason) => reason,
        });
    }
    // (1) cryptography: chain, SCT, log, signature, and the digest is a subject.
    let verified = verify_bundle(trust, bundle, &Digest::Sha256(bottle.digest))
        .map_err(|e| Rejection::Crypto(std::sync::Arc::new(e)))?;
    // (1b) an instance the source accepts: the relaxed policy of GitHub's instance (no log)
    //      counts only where the policy says so.
    if !source.instances.contains(&verified.instance()) {
        return Err(Rejection::Instance {
            instance: verified.instance(),
            accepted: source.instances.clone(),
        });
    }
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
    // (3b) the run's own ref obeys the source-ref rule, not only the workflow's.
    if let RefRule::OneOf(refs) = &source.source_refs {
        if !claims
            .source_repository_ref
            .as_deref()
            .is_some_and(|r| refs.iter().any(|allowed| allowed == r))
        {
            return Err(Rejection::SourceRef {
                expected: refs.join(" or "),
                actual: claims.source_repository_ref.clone(),
            });
        }
    }
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

/// The digest of a subject named exactly like `bottle` when no subject carries `bottle`'s own
/// digest (read unverified: the caller verifies before concluding anything).
fn other_digest_for_name(
    bundle: &sigstore_types::Bundle,
    bottle: &BottleRef,
) -> Option<sigstore_types::Sha256Hash> {
    let sigstore_types::SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return None;
    };
    let statement = crate::statement::Statement::from_payload(envelope.payload.as_bytes()).ok()?;
    if statement
        .subjects_with_sha256(&bottle.digest)
        .next()
        .is_some()
    {
        return None;
    }
    let name = bottle.filename.to_string();
    statement
        .subjects
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_constant_parses() {
        assert_eq!(backfill_cutoff().to_rfc3339(), "2024-03-14T00:00:00+00:00");
    }

    fn wget() -> BottleRef {
        BottleRef {
            digest: sigstore_types::Sha256Hash::new([7; 32]),
            filename: "wget--1.24.5.arm64_sonoma.bottle.tar.gz".parse().unwrap(),
        }
    }

    /// Runs the built-in waterfall with `core`'s answer, recording which sources were asked.
    fn run(core: Lookup) -> (Verdict, Vec<String>) {
        let trust = TrustRoot::production().unwrap();
        let policy = Policy::homebrew_core();
        let mut asked = Vec::new();
        let mut core = Some(core);
        let verdict = policy.evaluate(&wget(), &trust, |index, source| {
            asked.push(source.name.clone());
            match index {
                0 => core.take().unwrap(),
                _ => Lookup::AUTHORITATIVE_NONE,
            }
        });
        (verdict, asked)
    }

    #[test]
    fn only_an_authoritative_none_opens_the_backfill() {
        let (verdict, asked) = run(Lookup::AUTHORITATIVE_NONE);
        assert_eq!(asked, ["homebrew-core", "backfill"]);
        assert!(matches!(verdict, Verdict::Missing { ref sources } if sources.len() == 2));

        let (verdict, asked) = run(Lookup::None(Absence::NotAuthoritative {
            why: "the mirror was only a fallback".into(),
        }));
        assert_eq!(
            asked,
            ["homebrew-core"],
            "the backfill must not be consulted"
        );
        let Verdict::Unavailable { source, error } = verdict else {
            panic!("expected unavailable, got {verdict:?}");
        };
        assert_eq!(source, "homebrew-core");
        let unconfirmed = error.downcast_ref::<Unconfirmed>().expect("typed error");
        assert_eq!(unconfirmed.why, "the mirror was only a fallback");
    }

    #[test]
    fn a_failed_lookup_never_opens_the_backfill() {
        #[derive(Debug, thiserror::Error)]
        #[error("connection refused")]
        struct Refused;
        let (verdict, asked) = run(Lookup::Failed(LookupError::new(Refused)));
        assert_eq!(asked, ["homebrew-core"]);
        let Verdict::Unavailable { error, .. } = verdict else {
            panic!("expected unavailable");
        };
        assert!(error.downcast_ref::<Refused>().is_some());
    }

    /// The real GitHub-instance attestation (actions/attest-demo, a private-repository
    /// style bundle) under a source naming its signer: refused for its instance unless the
    /// source accepts GitHub's.
    #[test]
    fn a_github_instance_bundle_needs_a_source_that_accepts_it() {
        use crate::trust::tests::{GITHUB_BUNDLE, bundle};
        let trust = TrustRoot::production().unwrap();
        let bottle = BottleRef {
            digest: sigstore_types::Sha256Hash::from_hex(
                "ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b",
            )
            .unwrap(),
            filename: "demo--0.0.12.arm64_sonoma.bottle.tar.gz".parse().unwrap(),
        };
        let mut source = Policy::homebrew_core().sources.remove(0);
        source.repository = "actions/attest-demo".into();
        source.source_repository_uri = "https://github.com/actions/attest-demo".into();
        source.refs = RefRule::Any;
        source.source_refs = RefRule::Any;
        let candidate = BundleCandidate {
            origin: "demo.jsonl".into(),
            bundle: Ok(Box::new(bundle(GITHUB_BUNDLE))),
        };
        let err = check_candidate(&source, &bottle, &trust, &candidate).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Instance {
                    instance: Instance::GitHub,
                    ref accepted,
                } if accepted == &[Instance::PublicGood]
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "signed by GitHub's Sigstore instance (private repository); this source accepts \
             only the public-good instance"
        );
        // Accepting GitHub's instance, the same bundle goes on to the later checks (its
        // subject is a wheel, not this bottle).
        source.instances = vec![Instance::PublicGood, Instance::GitHub];
        let err = check_candidate(&source, &bottle, &trust, &candidate).unwrap_err();
        assert!(matches!(err, Rejection::SubjectName { .. }), "{err:?}");
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
