//! [`BottleChecker`]: the one pipeline that turns an artifact into a verdict. `brew-verify`'s
//! check, `provenance`, `export-sidecars` and gh mode, and `brew-backfill`'s `plan` and
//! `audit`, are configurations of it, not copies (`plan` and `audit` hand it what their bulk
//! lookup prefetched: [`BottleChecker::check_prefetched`]; `audit` runs two, with its policy
//! and with brew's rules, sharing one trusted root).
//!
//! A checker is configured with a judging step `J` ([`CheckerConfig::judge`]) and the steps
//! that judge runs besides the lookups ([`Judge::Steps`]: the registry, cache marker, mirror
//! and download for bottles; none for gh mode), the only things that differ between the two
//! ways it runs. The lookup stage under both is
//! [`crate::sources`] (cache first, then the attestations API; the API's authoritative "none"
//! told apart from a failed lookup), and the decisions are the pure core's:
//!
//! - **Bottles** (`BottleChecker<Policy>`, [`BottleChecker::check`]), in order:
//!   1. With formula data and a network: the registry must serve the bytes the formula names
//!      ([`crate::ghcr::GhcrClient::bottle_manifest`]); a contradiction is a refusal, before
//!      any attestation is looked at. A check that passed is remembered in the cache.
//!   2. Optionally, the bottle is downloaded into Homebrew's cache (capped at the size the
//!      manifest declares).
//!   3. The policy's waterfall runs over the attestations: `--bundle` files (filed under
//!      sources as the API would file them), or per source from the cache, the API or a
//!      mirror.
//! - **gh mode** (`BottleChecker<GhCriteria>`, [`BottleChecker::check_artifact`]): one
//!   repository's attestations for one file's digest, looked up by the same stage (asked for
//!   gh's predicate type, at most `--limit`; a cached set that passes opens no socket), judged
//!   by [`GhCriteria::judge`], which returns every attestation that passes, as gh prints them
//!   all. There is no registry, mirror or download step: gh is handed a file. gh mode's
//!   `--bundle` files are the checker's pile, judged without a lookup
//!   ([`BottleChecker::check_given`]).
//!
//! Every network step of one check shares one deadline, when the checker has one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bottle_attest::bottle::{BottleRef, cache_name, is_github_packages};
use bottle_attest::bundle::BundleCandidate;
use bottle_attest::digest::Digest;
use bottle_attest::formula::ResolvedBottle;
use bottle_attest::policy::gh::{GhAccepted, GhCriteria, GhRejection};
use bottle_attest::policy::{Policy, Verdict};
use bottle_attest::trust::TrustRoot;

use crate::ghcr::{GhcrClient, GhcrError};
use crate::http::{Deadline, HttpClient, SharedCredential};
use crate::sources::{ArtifactChecked, ArtifactLookupError, ArtifactQuery, AttestationSources};
use crate::store::cache::AttestationCache;

/// One bottle to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// What the user gave (a formula name, a path, a digest), for reports.
    pub input: String,
    /// Digest and file name.
    pub bottle: BottleRef,
    /// Where the bottle is served; its sidecar sits beside it.
    pub url: String,
    /// From formula data: what the registry must agree with.
    pub resolved: Option<ResolvedBottle>,
    /// Which formula data named the bottle (and so its digest), for reports.
    pub formula_data: Option<FormulaData>,
}

/// Which formula data a bottle's digest came from: what a formula-name check trusts besides
/// the attestation (issue 14: `--explain` and `--json` name the signed document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormulaData {
    /// A `--formula-json` file the user gave, trusted as given.
    UserFile,
    /// The formula API's signed index, whose signature was verified.
    SignedApi {
        /// The document's URL.
        url: String,
        /// Its `Last-Modified` date, when the server said.
        date: Option<String>,
        /// The key that signed it (`homebrew-1`).
        key_id: String,
    },
}

/// The result for one bottle.
#[derive(Debug, Clone)]
pub struct Report {
    /// The argument as given.
    pub input: String,
    /// The bottle, when the argument could be resolved.
    pub bottle: Option<BottleRef>,
    /// What happened.
    pub outcome: Outcome,
    /// Bundles about this digest from repositories outside the policy: (origin, repository).
    pub ignored: Vec<(String, String)>,
    /// Which formula data named the bottle, for a formula name.
    pub formula_data: Option<FormulaData>,
}

/// What checking a bottle came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The policy's verdict.
    Verdict(Verdict),
    /// The registry contradicts the formula: the bytes on offer are not the ones it names.
    Refused(Arc<GhcrError>),
    /// The bottle could not be checked at all.
    Error(Arc<dyn std::error::Error + Send + Sync>),
}

impl Outcome {
    /// The policy's verdict, or why the check did not come to one (a refusing or failing
    /// registry step), for callers that report both the same way.
    pub fn into_verdict(self) -> Result<Verdict, Arc<dyn std::error::Error + Send + Sync>> {
        match self {
            Self::Verdict(verdict) => Ok(verdict),
            Self::Refused(e) => Err(e),
            Self::Error(e) => Err(e),
        }
    }
}

/// A bottle could not be checked, before any attestation was looked at.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The registry could not be asked, or contradicts the formula (boxed: it is large).
    #[error(transparent)]
    Registry(Box<GhcrError>),
    /// `--download` from a mirror that is not an OCI registry.
    #[error(
        "--download from a mirror that is not a GitHub Packages registry ({0}) is not supported"
    )]
    DownloadUnsupported(String),
    /// A file of the download cache could not be prepared.
    #[error("cannot prepare `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bottle root is not a registry root.
    #[error(transparent)]
    Root(#[from] crate::ghcr::InvalidRoot),
}

impl From<GhcrError> for CheckError {
    fn from(e: GhcrError) -> Self {
        Self::Registry(Box::new(e))
    }
}

/// What the registry step needs: the shared client and the user's registry credential.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The HTTP client.
    pub http: HttpClient,
    /// The user's registry credential, bound to its hosts.
    pub credential: Option<SharedCredential>,
}

/// What a judging step needs of the checker besides the lookups: for the bottle [`Policy`],
/// the bottle steps ([`BottleSteps`]); for gh's [`GhCriteria`], nothing (gh is handed a file:
/// no registry, cache marker, mirror or download), so a gh checker cannot be given any.
pub trait Judge {
    /// The steps a checker with this judge runs besides the lookups.
    type Steps: std::fmt::Debug;
}

impl Judge for Policy {
    type Steps = BottleSteps;
}

impl Judge for GhCriteria {
    type Steps = ();
}

/// The steps of a bottle check besides the attestation lookups.
#[derive(Debug, Default)]
pub struct BottleSteps {
    /// The registry, when formula data is checked against it (online only).
    pub registry: Option<Registry>,
    /// The cache, for remembering registry checks.
    pub cache: Option<AttestationCache>,
    /// A mirror's bottle root replacing the formula's.
    pub bottle_domain: Option<String>,
    /// Homebrew's download cache, for `--download`.
    pub downloads: Option<PathBuf>,
}

/// Everything a checker is configured with. `J` is how attestations are judged: the bottle
/// [`Policy`]'s waterfall (every command but gh mode), or gh's [`GhCriteria`] (gh mode).
#[derive(Debug)]
pub struct CheckerConfig<J: Judge = Policy> {
    /// The judging step: the policy, or gh's criteria.
    pub judge: J,
    /// The trusted root (shared: checkers with different judges may check the same bottles,
    /// as `brew-backfill audit`'s do).
    pub trust: Arc<TrustRoot>,
    /// Attestation lookups (cache, API, mirror, sidecar directory).
    pub sources: AttestationSources,
    /// `--bundle` files: when given, the only attestations considered, and no socket opens.
    pub pile: Option<Vec<BundleCandidate>>,
    /// Overall deadline per bottle; `None` for none (brew-backfill's bulk runs, whose lookups
    /// wait out the API's rate limits).
    pub timeout: Option<Duration>,
    /// The judge's other steps ([`Judge::Steps`]).
    pub steps: J::Steps,
}

/// The pipeline (see the module docs).
#[derive(Debug)]
pub struct BottleChecker<J: Judge = Policy> {
    config: CheckerConfig<J>,
    clients: Mutex<BTreeMap<String, Arc<GhcrClient>>>,
}

impl<J: Judge> BottleChecker<J> {
    /// A checker with this configuration.
    pub fn new(config: CheckerConfig<J>) -> Self {
        Self {
            config,
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    /// The trusted root in force.
    pub fn trust(&self) -> &TrustRoot {
        &self.config.trust
    }

    /// The attestation lookups (for their counts).
    pub fn sources(&self) -> &AttestationSources {
        &self.config.sources
    }
}

/// gh mode: one artifact, one repository, gh's criteria.
impl BottleChecker<GhCriteria> {
    /// Look `query` up (the cache first, then the attestations API, the same lookup stage the
    /// policy's sources use) and judge what is found by gh's criteria in the core: every
    /// attestation that passes. Within the checker's deadline.
    pub async fn check_artifact(
        &self,
        query: &ArtifactQuery<'_>,
    ) -> Result<ArtifactChecked, ArtifactLookupError> {
        let deadline = self.config.timeout.map(Deadline::after);
        self.config
            .sources
            .check_artifact(&self.config.trust, &self.config.judge, query, deadline)
            .await
    }
}

/// gh mode's `--bundle`: the files given are all there is.
impl BottleChecker<GhCriteria> {
    /// Judge the configured `--bundle` files ([`CheckerConfig::pile`]; none configured is no
    /// files) for `digest` (either algorithm gh accepts) by gh's criteria: every attestation
    /// that passes. No lookup runs and no socket opens.
    pub fn check_given(self, digest: &Digest) -> Result<Vec<GhAccepted>, GhRejection> {
        let CheckerConfig {
            judge, trust, pile, ..
        } = self.config;
        judge.judge(&trust, digest, pile.unwrap_or_default())
    }
}

/// Bottles: the registry step, then the policy's waterfall.
impl BottleChecker<Policy> {
    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.config.judge
    }

    /// The cache, if one is used.
    pub fn cache(&self) -> Option<&AttestationCache> {
        self.config.steps.cache.as_ref()
    }

    /// Where `resolved` is served from: the mirror when one is configured, else the formula's
    /// root.
    pub fn bottle_root<'a>(&'a self, resolved: &'a ResolvedBottle) -> &'a str {
        self.config
            .steps
            .bottle_domain
            .as_deref()
            .unwrap_or(&resolved.root_url)
    }

    /// Check one bottle; with `download`, also fetch it into Homebrew's cache.
    pub async fn check(&self, target: &Target, download: bool) -> Report {
        self.check_prefetched(target, download, None).await
    }

    /// [`Self::check`], with the attestations a bulk lookup already fetched for this bottle
    /// (brew-backfill's `plan` and `audit`): judged as the per-source lookups' answers would be, without
    /// those lookups. Unlike `--bundle` files they came from the network, so the registry step
    /// still runs.
    pub async fn check_prefetched(
        &self,
        target: &Target,
        download: bool,
        prefetched: Option<&[BundleCandidate]>,
    ) -> Report {
        let deadline = self.config.timeout.map(Deadline::after);
        let report = |outcome| Report {
            input: target.input.clone(),
            bottle: Some(target.bottle.clone()),
            outcome,
            ignored: Vec::new(),
            formula_data: target.formula_data.clone(),
        };
        // `--bundle` files: everything is at hand, and no socket opens (no registry step).
        let given = self.config.pile.as_deref();
        if let (None, Some(resolved), Some(registry)) =
            (given, &target.resolved, &self.config.steps.registry)
        {
            match self
                .registry_step(registry, target, resolved, download, deadline)
                .await
            {
                Ok(()) => {}
                Err(CheckError::Registry(e)) if e.is_contradiction() => {
                    return report(Outcome::Refused(Arc::from(e)));
                }
                Err(e) => return report(Outcome::Error(Arc::new(e))),
            }
        }
        let checked = self
            .config
            .sources
            .decide(
                &self.config.judge,
                &self.config.trust,
                &target.bottle,
                &target.url,
                given.or(prefetched),
                deadline,
            )
            .await;
        Report {
            ignored: checked.ignored,
            ..report(Outcome::Verdict(checked.verdict))
        }
    }

    async fn registry_step(
        &self,
        registry: &Registry,
        target: &Target,
        resolved: &ResolvedBottle,
        download: bool,
        deadline: Option<Deadline>,
    ) -> Result<(), CheckError> {
        let root = self.bottle_root(resolved).to_owned();
        if !is_github_packages(&root) {
            return if download {
                Err(CheckError::DownloadUnsupported(root))
            } else {
                Ok(())
            };
        }
        let client = self.client(registry, &root)?;
        // A registry check that passed for these exact coordinates is remembered in the cache,
        // so that a warm run makes no registry request at all.
        let marker = registry_marker(&root, resolved);
        let remembered = self.config.steps.cache.as_ref().and_then(|c| {
            let text = c.marker(&marker.0)?;
            text.strip_prefix(&marker.1)?.trim().parse::<u64>().ok()
        });
        let size = match remembered {
            Some(size) => size,
            None => {
                let manifest = client.bottle_manifest(resolved, deadline).await?;
                if let Some(cache) = &self.config.steps.cache {
                    // Only a cost saving: failing to remember is harmless.
                    let _ =
                        cache.put_marker(&marker.0, &format!("{}{}\n", marker.1, manifest.size));
                }
                manifest.size
            }
        };
        if download {
            if let Some(downloads) = &self.config.steps.downloads {
                let dest = downloads.join(cache_name(&target.url, &target.bottle.filename));
                if !dest.exists() {
                    create_dir(downloads)?;
                    client.download_blob(resolved, Some(size), &dest).await?;
                }
            }
        }
        Ok(())
    }

    /// The registry client for root `root` (one per root, so tokens are reused).
    fn client(&self, registry: &Registry, root: &str) -> Result<Arc<GhcrClient>, CheckError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = clients.get(root) {
            return Ok(Arc::clone(c));
        }
        let client = Arc::new(GhcrClient::new(
            registry.http.clone(),
            root,
            registry.credential.clone(),
        )?);
        clients.insert(root.to_owned(), Arc::clone(&client));
        Ok(client)
    }
}

fn create_dir(dir: &Path) -> Result<(), CheckError> {
    std::fs::create_dir_all(dir).map_err(|source| CheckError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// Where a passed registry check of `resolved` is remembered, and the text it must start with
/// (the size follows).
fn registry_marker(registry_root: &str, resolved: &ResolvedBottle) -> (String, String) {
    let digest = resolved.bottle.digest.to_hex();
    (
        format!("registry/sha256-{digest}"),
        format!("{registry_root} {} {digest} ", resolved.bottle.filename),
    )
}
