//! Where a policy source's attestations come from: the cache, then the GitHub attestations API
//! or a mirror's sidecar. This is the orchestration between the policy (pure) and the clients
//! (network); it decides nothing about trust, but it does say how much each answer is worth:
//!
//! - **Found** bundles are verified whatever their origin (cache, API, mirror, files).
//! - **None** is authoritative only from the source itself — the attestations API's empty list
//!   or 404 for that repository and digest — or from a place the user chose as the source
//!   (`--attestations-from mirror`, `--sidecar-dir`). A mirror asked only because the API
//!   could not be reached speaks for no one: its "none" is "could not check" (issue 10, item 2).
//! - **Failed** lookups are "could not check" and never open a weaker source.
//! - Online, cached bundles that do not pass are fetched again and the entry replaced before
//!   anything is concluded; a bottle is never called invalid from the cache alone (item 3).
//!
//! `--offline` never opens a socket: a source with nothing cached is "could not check", never
//! "missing", because the absence of a cache entry proves nothing.
//!
//! The cache and API halves of a lookup (`judge_cached`,
//! `api_listing`, `remember`) are one stage with two judges: the policy's waterfall, per
//! source, and gh's criteria for gh mode ([`AttestationSources::check_artifact`], which keeps
//! the API's 404 apart from its empty list because brew reads gh's two texts for them).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bottle_attest::Sha256Hash;
use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};
use bottle_attest::digest::Digest;
use bottle_attest::policy::gh::{GhAccepted, GhCriteria, GhRejection};
use bottle_attest::policy::{
    Absence, Attributed, Judged, Lookup, LookupError, Policy, Source, Verdict, Waterfall,
};
use bottle_attest::trust::TrustRoot;

use crate::github::{GitHubClient, GitHubError, Listing};
use crate::http::{Deadline, NetError};
use crate::mirror::{MirrorClient, SIDECAR_SUFFIX};
use crate::store::atomic::StoreError;
use crate::store::cache::AttestationCache;

/// Where attestations are looked up when they are not cached.
#[derive(Debug, Clone)]
pub enum Remote {
    /// Nowhere: `--offline`.
    None,
    /// The GitHub attestations API; when it cannot be reached and a mirror is configured, the
    /// mirror's sidecars (whose "none" then proves nothing).
    Api {
        /// The API client (boxed: it is much larger than the other variants).
        client: Box<GitHubClient>,
        /// Fallback when the API is unreachable.
        mirror: Option<MirrorClient>,
    },
    /// A mirror's `<bottle url>.sigs` sidecars, chosen by the user as the source.
    Mirror(MirrorClient),
}

/// Counts of what the lookups did, for summaries and benchmarks.
#[derive(Debug, Default)]
pub struct LookupCounts {
    /// Answers served from the cache.
    pub cache_hits: AtomicU64,
    /// Attestations API lookups.
    pub api_lookups: AtomicU64,
    /// Sidecars fetched.
    pub sidecar_fetches: AtomicU64,
    /// Cached entries that did not pass and were fetched again.
    pub cache_refreshes: AtomicU64,
}

/// Attestation lookups for the policy's sources.
#[derive(Debug)]
pub struct AttestationSources {
    remote: Remote,
    cache: Option<AttestationCache>,
    sidecar_dir: Option<PathBuf>,
    counts: LookupCounts,
}

/// The outcome of checking one bottle.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The policy's verdict.
    pub verdict: Verdict,
    /// Bundles about this digest from repositories outside the policy (mirror sidecars),
    /// with the one repository each names.
    pub ignored: Vec<(String, String)>,
}

/// A sidecar could not be read from `--sidecar-dir`.
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{}`", path.display())]
pub struct SidecarFileError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Offline, with nothing cached for a source.
#[derive(Debug, thiserror::Error)]
#[error("--offline and nothing cached for {digest} in {repository}")]
pub struct NothingCached {
    /// The bottle's digest.
    pub digest: String,
    /// The source's repository.
    pub repository: String,
}

impl AttestationSources {
    /// Lookups through `remote`, remembering answers in `cache`, and, offline, reading
    /// sidecars from `sidecar_dir` (`<dir>/<bottle file name>.sigs`).
    pub fn new(
        remote: Remote,
        cache: Option<AttestationCache>,
        sidecar_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            remote,
            cache,
            sidecar_dir,
            counts: LookupCounts::default(),
        }
    }

    /// What the lookups did so far.
    pub fn counts(&self) -> &LookupCounts {
        &self.counts
    }

    /// Whether lookups may use the network.
    pub fn is_online(&self) -> bool {
        !matches!(self.remote, Remote::None)
    }

    /// The verdict for `bottle` under `policy`: from `pile` when the bundles are already at
    /// hand (`--bundle` files, the bulk API's answers, filed under sources as the API would
    /// file them), else [`Self::check`]'s lookups. The one place where attestations become a
    /// verdict, for `brew-verify` and `brew-backfill`'s plan and audit alike.
    pub async fn decide(
        &self,
        policy: &Policy,
        trust: &TrustRoot,
        bottle: &BottleRef,
        bottle_url: &str,
        pile: Option<&[BundleCandidate]>,
        deadline: Option<Deadline>,
    ) -> Checked {
        match pile {
            Some(pile) => {
                let (verdict, ignored) = policy.evaluate_pile(bottle, trust, pile);
                Checked { verdict, ignored }
            }
            None => {
                self.check(policy, trust, bottle, bottle_url, deadline)
                    .await
            }
        }
    }

    /// Run the policy's waterfall for `bottle`, looking each source up only when the waterfall
    /// reaches it. `bottle_url` is where the bottle is served (its sidecar sits beside it).
    pub async fn check(
        &self,
        policy: &Policy,
        trust: &TrustRoot,
        bottle: &BottleRef,
        bottle_url: &str,
        deadline: Option<Deadline>,
    ) -> Checked {
        // A sidecar (remote or local) holds every source's bundles at once: fetch and file it
        // under sources at most once per bottle.
        let mut sidecar = Sidecar::default();
        let mut waterfall = policy.start(bottle);
        while let Some((index, source)) = waterfall.next_source_indexed() {
            let ctx = Ctx {
                policy,
                index,
                source,
                bottle,
                bottle_url,
                deadline,
            };
            let judged = self.judge(&ctx, &waterfall, trust, &mut sidecar).await;
            waterfall.settle(judged);
        }
        Checked {
            verdict: waterfall.verdict(),
            ignored: sidecar.ignored,
        }
    }

    /// The cache first; online, a cached entry that does not pass is looked up again.
    async fn judge(
        &self,
        ctx: &Ctx<'_>,
        waterfall: &Waterfall<'_>,
        trust: &TrustRoot,
        sidecar: &mut Sidecar,
    ) -> Judged {
        let cached = self.judge_cached(
            &ctx.source.repository,
            &ctx.bottle.digest,
            |found| waterfall.judge(Lookup::Found(found), trust),
            Judged::passed,
        );
        let mut cache_error = None;
        match cached {
            Ok(Some(cached)) if cached.passed || !self.is_online() => return cached.judged,
            Ok(_) => {}
            // An unreadable cache is not fatal while the remote can still answer; offline,
            // its reason is the answer.
            Err(e) => cache_error = Some(LookupError::new(e)),
        }
        let lookup = self.remote_lookup(ctx, sidecar, cache_error).await;
        if let Lookup::Found(found) = &lookup {
            self.remember(&ctx.source.repository, &ctx.bottle.digest, found);
        }
        waterfall.judge(lookup, trust)
    }

    /// gh-compatible mode's check of one artifact: the same lookup stage as the waterfall's
    /// sources (the cache, then the attestations API asked for `predicate_type`, the answer
    /// cached), judged by gh's criteria instead of the waterfall. A cached set that passes
    /// decides and no socket is opened; one that does not is looked up again. "None" is the
    /// API's authoritative answer only (never cached, never concluded offline).
    pub async fn check_artifact(
        &self,
        trust: &TrustRoot,
        criteria: &GhCriteria,
        query: &ArtifactQuery<'_>,
        deadline: Option<Deadline>,
    ) -> Result<ArtifactChecked, ArtifactLookupError> {
        let digest = Digest::Sha256(*query.digest);
        let judge = |mut found: Vec<BundleCandidate>| {
            found.truncate(query.limit);
            criteria.judge(trust, &digest, found)
        };
        // An unreadable cache only costs the lookup.
        if let Ok(Some(cached)) =
            self.judge_cached(query.repository, query.digest, judge, Result::is_ok)
        {
            if cached.passed {
                return Ok(ArtifactChecked {
                    origin: ArtifactOrigin::Cache,
                    loaded: cached.loaded,
                    judged: cached.judged,
                });
            }
        }
        let Remote::Api { client, .. } = &self.remote else {
            return Err(ArtifactLookupError::NoApi);
        };
        let listing = self
            .api_listing(
                client,
                query.repository,
                query.digest,
                Some(query.predicate_type),
                deadline,
            )
            .await?;
        match listing {
            Listing::None { not_found } => Err(ArtifactLookupError::Missing { not_found }),
            Listing::Found(mut found) => {
                found.truncate(query.limit);
                self.remember(query.repository, query.digest, &found);
                Ok(ArtifactChecked {
                    origin: ArtifactOrigin::Api,
                    loaded: found.len(),
                    judged: judge(found),
                })
            }
        }
    }

    /// The lookup stage's first half, for the waterfall's sources and gh mode alike: the
    /// cached set for `repository` and `digest` (`None` when nothing is cached), judged by
    /// `judge`. A set that does not pass is counted as refreshed when a remote can be asked.
    fn judge_cached<J>(
        &self,
        repository: &str,
        digest: &Sha256Hash,
        judge: impl FnOnce(Vec<BundleCandidate>) -> J,
        passed: impl FnOnce(&J) -> bool,
    ) -> Result<Option<CachedJudgement<J>>, StoreError> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let Some(cached) = cache.get(repository, digest)? else {
            return Ok(None);
        };
        self.counts.cache_hits.fetch_add(1, Ordering::Relaxed);
        let loaded = cached.len();
        let judged = judge(cached);
        let passed = passed(&judged);
        if !passed && self.is_online() {
            self.counts.cache_refreshes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Some(CachedJudgement {
            loaded,
            judged,
            passed,
        }))
    }

    /// The lookup stage's API half: `repository`'s attestations for `digest`, optionally only
    /// those of `predicate_type` (as gh asks), counted.
    async fn api_listing(
        &self,
        client: &GitHubClient,
        repository: &str,
        digest: &Sha256Hash,
        predicate_type: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<Listing, GitHubError> {
        self.counts.api_lookups.fetch_add(1, Ordering::Relaxed);
        client
            .attestations(repository, digest, predicate_type, deadline)
            .await
    }

    async fn remote_lookup(
        &self,
        ctx: &Ctx<'_>,
        sidecar: &mut Sidecar,
        cache_error: Option<LookupError>,
    ) -> Lookup {
        match &self.remote {
            Remote::None => {
                let Some(dir) = &self.sidecar_dir else {
                    return Lookup::Failed(cache_error.unwrap_or_else(|| {
                        LookupError::new(NothingCached {
                            digest: format!("sha256:{}", ctx.bottle.digest.to_hex()),
                            repository: ctx.source.repository.clone(),
                        })
                    }));
                };
                if sidecar.filed.is_none() {
                    let read = read_local_sidecar(dir, ctx.bottle);
                    sidecar.file(ctx.policy, ctx.bottle, read);
                }
                // The user chose this directory as the source: its "none" is authoritative.
                sidecar.take(ctx.index, None)
            }
            Remote::Mirror(mirror) => {
                self.sidecar_lookup(mirror, ctx, sidecar).await;
                sidecar.take(ctx.index, None)
            }
            Remote::Api { client, mirror } => {
                let answer = self
                    .api_listing(
                        client,
                        &ctx.source.repository,
                        &ctx.bottle.digest,
                        Some(&ctx.source.predicate_type),
                        ctx.deadline,
                    )
                    .await;
                match answer {
                    Ok(Listing::Found(found)) => {
                        let share = ctx.policy.share_of(ctx.index, found);
                        if share.is_empty() {
                            Lookup::AUTHORITATIVE_NONE
                        } else {
                            Lookup::Found(share)
                        }
                    }
                    Ok(Listing::None { .. }) => Lookup::AUTHORITATIVE_NONE,
                    // The API is unreachable and the bottles come from a mirror: its sidecars
                    // may hold the bundles (verified all the same), but its silence speaks for
                    // no one.
                    Err(e) => match (mirror, e.net()) {
                        (Some(mirror), Some(net)) if net.is_unreachable() || e.is_transient() => {
                            self.sidecar_lookup(mirror, ctx, sidecar).await;
                            let why = format!(
                                "the attestations API could not be reached ({net}) and the \
                                 mirror's sidecar, consulted instead, cannot speak for {}",
                                ctx.source.repository
                            );
                            match sidecar.take(ctx.index, Some(why)) {
                                Lookup::Failed(_) => Lookup::Failed(LookupError::new(e)),
                                other => other,
                            }
                        }
                        _ => Lookup::Failed(LookupError::new(e)),
                    },
                }
            }
        }
    }

    /// Fetch and file the mirror's sidecar for this bottle, once.
    async fn sidecar_lookup(&self, mirror: &MirrorClient, ctx: &Ctx<'_>, sidecar: &mut Sidecar) {
        if sidecar.filed.is_none() {
            self.counts.sidecar_fetches.fetch_add(1, Ordering::Relaxed);
            let fetched = mirror
                .sidecar(ctx.bottle_url, ctx.deadline)
                .await
                .map_err(|e: NetError| LookupError::new(e));
            sidecar.file(ctx.policy, ctx.bottle, fetched);
        }
    }

    /// Store found bundles, replacing the entry. Absences are never stored (see the module
    /// docs), nor are answers with unreadable bundles (so a corrupted response is fetched
    /// again rather than remembered).
    fn remember(&self, repository: &str, digest: &Sha256Hash, found: &[BundleCandidate]) {
        let Some(cache) = &self.cache else {
            return;
        };
        let bundles: Vec<String> = found
            .iter()
            .filter_map(|c| c.bundle.as_ref().ok()?.to_json().ok())
            .collect();
        if bundles.len() == found.len() {
            // A failure to write the cache only costs a later network request.
            let _ = cache.put(repository, digest, &bundles);
        }
    }
}

/// A cached set, judged.
struct CachedJudgement<J> {
    /// How many bundles the cache held.
    loaded: usize,
    judged: J,
    passed: bool,
}

/// gh-compatible mode's question: one repository's attestations for one artifact.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactQuery<'a> {
    /// `owner/name`.
    pub repository: &'a str,
    /// The artifact's SHA-256 (the API is searched by it).
    pub digest: &'a Sha256Hash,
    /// The in-toto predicate type the API is asked for.
    pub predicate_type: &'a str,
    /// At most this many attestations are judged (gh's `--limit`).
    pub limit: usize,
}

/// Where the attestations judged for an artifact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactOrigin {
    /// The attestation cache (only ever a set that passed).
    Cache,
    /// The attestations API.
    Api,
}

/// An artifact's attestations, found and judged.
#[derive(Debug)]
pub struct ArtifactChecked {
    /// Where they came from.
    pub origin: ArtifactOrigin,
    /// How many were loaded.
    pub loaded: usize,
    /// Every one that passed, or why none did.
    pub judged: Result<Vec<GhAccepted>, GhRejection>,
}

/// No attestation could be judged for an artifact.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactLookupError {
    /// The attestations API's authoritative "none": an empty list, or a 404.
    #[error("no attestations found")]
    Missing {
        /// Whether the API said so with a 404.
        not_found: bool,
    },
    /// The API could not be asked or answered with an error.
    #[error(transparent)]
    Api(#[from] GitHubError),
    /// Nothing cached passed, and there is no attestations API to ask.
    #[error("nothing cached passes, and the attestations API is not in use")]
    NoApi,
}

/// One source's lookup in context.
struct Ctx<'a> {
    policy: &'a Policy,
    index: usize,
    source: &'a Source,
    bottle: &'a BottleRef,
    bottle_url: &'a str,
    deadline: Option<Deadline>,
}

/// One bottle's sidecar, once fetched: its bundles filed under the policy's sources.
#[derive(Default)]
struct Sidecar {
    /// `None` until fetched; then the filed bundles, "no sidecar" (`Ok(None)`), or why it
    /// could not be had.
    filed: Option<Result<Option<Attributed>, LookupError>>,
    /// Bundles about this bottle from repositories outside the policy.
    ignored: Vec<(String, String)>,
}

impl Sidecar {
    fn file(
        &mut self,
        policy: &Policy,
        bottle: &BottleRef,
        fetched: Result<Option<Vec<BundleCandidate>>, LookupError>,
    ) {
        self.filed = Some(fetched.map(|pile| {
            pile.map(|pile| {
                let mut attributed = policy.attribute(bottle, &pile);
                self.ignored.append(&mut attributed.ignored);
                attributed
            })
        }));
    }

    /// Source `index`'s share. `unconfirmed`: why a "none" here does not count (a fallback);
    /// `None` when the user chose the sidecar as the source.
    fn take(&mut self, index: usize, unconfirmed: Option<String>) -> Lookup {
        let found = match &mut self.filed {
            Some(Ok(Some(attributed))) => attributed.take(index),
            Some(Err(e)) => return Lookup::Failed(e.clone()),
            Some(Ok(None)) | None => Lookup::AUTHORITATIVE_NONE,
        };
        match (found, unconfirmed) {
            (Lookup::None(_), Some(why)) => Lookup::None(Absence::NotAuthoritative { why }),
            (found, _) => found,
        }
    }
}

/// `<dir>/<bottle file name>.sigs`, as `export-sidecars` writes it. Absent = none.
fn read_local_sidecar(
    dir: &std::path::Path,
    bottle: &BottleRef,
) -> Result<Option<Vec<BundleCandidate>>, LookupError> {
    let path = dir.join(format!("{}{SIDECAR_SUFFIX}", bottle.filename));
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(parse_attestations(
            &path.display().to_string(),
            &bytes,
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LookupError::new(SidecarFileError { path, source })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::http::{HttpClient, HttpConfig};

    /// GitHub attestation 16346368 (`ty` 0.0.11, homebrew-core; examples/README.md).
    const TY: &str = include_str!("../../../examples/ty-0.0.11-homebrew-core.sigstore.json");
    const CORE: &str = "Homebrew/homebrew-core";

    /// `ty--0.0.11.x86_64_linux.bottle.tar.gz`, one of the statement's subjects.
    fn ty_linux() -> Sha256Hash {
        Sha256Hash::from_hex("096bf0aaca2cfca3605bddd5272352615102a61a78c8d2d5636295530dfa007e")
            .unwrap()
    }

    /// gh's defaults for `--repo Homebrew/homebrew-core`, with `--source-ref git_ref`.
    fn core(git_ref: &str) -> GhCriteria {
        GhCriteria {
            source_repository_ref: Some(git_ref.into()),
            ..GhCriteria::github_repository(CORE).unwrap()
        }
    }

    /// A cache holding the ty attestation for `CORE`, in a fresh directory.
    fn cache(name: &str) -> AttestationCache {
        let dir = cache_dir(name);
        let _ = std::fs::remove_dir_all(&dir);
        let cache = AttestationCache::open(&dir).unwrap();
        let bundle: serde_json::Value = serde_json::from_str(TY.trim()).unwrap();
        cache.put(CORE, &ty_linux(), &[bundle.to_string()]).unwrap();
        cache
    }

    fn cache_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "bottle-attest-net-sources-{name}-{}",
            std::process::id()
        ))
    }

    /// The API at a closed loopback port: any lookup fails on the connection.
    fn dead_api() -> Remote {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let http = HttpClient::new(HttpConfig::default()).unwrap();
        Remote::Api {
            client: Box::new(GitHubClient::new(http, &url, None).unwrap()),
            mirror: None,
        }
    }

    async fn check(
        sources: &AttestationSources,
        criteria: &GhCriteria,
    ) -> Result<ArtifactChecked, ArtifactLookupError> {
        let trust = TrustRoot::production().unwrap();
        let digest = ty_linux();
        let query = ArtifactQuery {
            repository: CORE,
            digest: &digest,
            predicate_type: "https://slsa.dev/provenance/v1",
            limit: 30,
        };
        let deadline = Some(Deadline::after(Duration::from_secs(5)));
        sources
            .check_artifact(&trust, criteria, &query, deadline)
            .await
    }

    #[tokio::test]
    async fn a_cached_set_that_passes_opens_no_socket() {
        let sources = AttestationSources::new(dead_api(), Some(cache("passes")), None);
        let checked = check(&sources, &core("refs/heads/main")).await.unwrap();
        assert_eq!(checked.origin, ArtifactOrigin::Cache);
        assert_eq!(checked.loaded, 1);
        assert_eq!(checked.judged.unwrap().len(), 1);
        assert_eq!(sources.counts().api_lookups.load(Ordering::Relaxed), 0);
        assert_eq!(sources.counts().cache_hits.load(Ordering::Relaxed), 1);
        let _ = std::fs::remove_dir_all(cache_dir("passes"));
    }

    #[tokio::test]
    async fn a_cached_set_that_fails_is_looked_up_again() {
        // The cached bundle is from refs/heads/main; `--source-ref refs/heads/master` refuses
        // it, so the API is asked (and here cannot be reached): never "invalid" from the cache.
        let sources = AttestationSources::new(dead_api(), Some(cache("refresh")), None);
        let err = check(&sources, &core("refs/heads/master"))
            .await
            .unwrap_err();
        assert!(matches!(err, ArtifactLookupError::Api(_)), "{err:?}");
        assert_eq!(sources.counts().api_lookups.load(Ordering::Relaxed), 1);
        assert_eq!(sources.counts().cache_refreshes.load(Ordering::Relaxed), 1);

        // Without an API to ask, a failing cached set is not the answer either.
        let offline = AttestationSources::new(Remote::None, Some(cache("no-api")), None);
        let err = check(&offline, &core("refs/heads/master"))
            .await
            .unwrap_err();
        assert!(matches!(err, ArtifactLookupError::NoApi), "{err:?}");
        for name in ["refresh", "no-api"] {
            let _ = std::fs::remove_dir_all(cache_dir(name));
        }
    }
}
