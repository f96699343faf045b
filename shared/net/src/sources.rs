//! Where a policy source's attestations come from, in order of preference: the cache, then the
//! GitHub attestations API or a mirror's sidecar. This is the orchestration between the policy
//! (pure) and the clients (network); it decides nothing about trust.
//!
//! `--offline` never opens a socket: a source with nothing cached is "could not check", never
//! "missing", because absence of a cache entry proves nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use sigstore_types::Sha256Hash;

use crate::github::GitHubClient;
use crate::mirror::{MirrorClient, SIDECAR_SUFFIX};
use crate::store::cache::{AttestationCache, Cached};
use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};
use bottle_attest::policy::{Attributed, Lookup, Policy, Source, Verdict};
use bottle_attest::trust::TrustRoot;

/// Where attestations are looked up when they are not cached.
#[derive(Debug, Clone)]
pub enum Remote {
    /// Nowhere: `--offline`.
    None,
    /// The GitHub attestations API; when it cannot be reached and a mirror is configured, the
    /// mirror's sidecars.
    Api {
        /// The API client (boxed: it is much larger than the other variants).
        client: Box<GitHubClient>,
        /// Fallback when the API is unreachable.
        mirror: Option<MirrorClient>,
    },
    /// A mirror's `<bottle url>.sigs` sidecars only.
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
    /// Bundles about this digest from repositories outside the policy (mirror sidecars).
    pub ignored: Vec<(String, String)>,
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

    /// Run the policy's waterfall for `bottle`, looking each source up only when the waterfall
    /// reaches it. `bottle_url` is where the bottle is served (its sidecar sits beside it).
    pub async fn check(
        &self,
        policy: &Policy,
        trust: &TrustRoot,
        bottle: &BottleRef,
        bottle_url: &str,
    ) -> Checked {
        // A sidecar (remote or local) holds every source's bundles at once: fetch and file it
        // under sources at most once per bottle.
        let mut sidecar = Sidecar::default();
        let mut waterfall = policy.start(bottle);
        while let Some((index, source)) = waterfall.next_source_indexed() {
            let lookup = self
                .lookup(policy, index, source, bottle, bottle_url, &mut sidecar)
                .await;
            waterfall.record(lookup, trust);
        }
        Checked {
            verdict: waterfall.verdict(),
            ignored: sidecar.ignored,
        }
    }

    async fn lookup(
        &self,
        policy: &Policy,
        index: usize,
        source: &Source,
        bottle: &BottleRef,
        bottle_url: &str,
        sidecar: &mut Sidecar,
    ) -> Lookup {
        let digest = &bottle.digest;
        let mut cache_error = None;
        if let Some(cache) = &self.cache {
            match cache.get(&source.repository, digest, Utc::now()) {
                Ok(Some(Cached::Found(c))) => {
                    self.counts.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Lookup::Found(c);
                }
                Ok(Some(Cached::Missing(_))) => {
                    self.counts.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Lookup::NotFound;
                }
                Ok(None) => {}
                // An unreadable cache is not fatal while the remote can still answer; offline,
                // its reason is the answer.
                Err(e) => cache_error = Some(e.to_string()),
            }
        }
        let lookup = match &self.remote {
            Remote::None => {
                let Some(dir) = &self.sidecar_dir else {
                    return Lookup::Failed(cache_error.unwrap_or_else(|| {
                        format!(
                            "--offline and nothing cached for {} in {}",
                            digest_str(digest),
                            source.repository
                        )
                    }));
                };
                if sidecar.filed.is_none() {
                    sidecar.file(policy, digest, read_local_sidecar(dir, bottle));
                }
                // Local files are not copied into the cache.
                return sidecar.take(index);
            }
            Remote::Mirror(mirror) => {
                self.sidecar_lookup(mirror, policy, index, bottle, bottle_url, sidecar)
                    .await
            }
            Remote::Api { client, mirror } => {
                self.counts.api_lookups.fetch_add(1, Ordering::Relaxed);
                match client
                    .attestations(&source.repository, digest, Some(&source.predicate_type))
                    .await
                {
                    Ok(c) if c.is_empty() => Lookup::NotFound,
                    Ok(c) => Lookup::Found(c),
                    // The API is unreachable and the bottles come from a mirror: its sidecars
                    // are the next best source (they are verified all the same).
                    Err(e) => match mirror {
                        Some(mirror) if e.is_transient() => {
                            self.sidecar_lookup(mirror, policy, index, bottle, bottle_url, sidecar)
                                .await
                        }
                        _ => Lookup::Failed(e.to_string()),
                    },
                }
            }
        };
        self.remember(source, digest, &lookup);
        lookup
    }

    /// Source `index`'s share of the mirror's sidecar for `bottle`, fetched on first use.
    async fn sidecar_lookup(
        &self,
        mirror: &MirrorClient,
        policy: &Policy,
        index: usize,
        bottle: &BottleRef,
        bottle_url: &str,
        sidecar: &mut Sidecar,
    ) -> Lookup {
        if sidecar.filed.is_none() {
            self.counts.sidecar_fetches.fetch_add(1, Ordering::Relaxed);
            let fetched = mirror.sidecar(bottle_url).await.map_err(|e| e.to_string());
            sidecar.file(policy, &bottle.digest, fetched);
        }
        sidecar.take(index)
    }

    /// Store a remote answer. Unreadable bundles are not cached, so that a corrupted response
    /// is fetched again rather than remembered.
    fn remember(&self, source: &Source, digest: &Sha256Hash, lookup: &Lookup) {
        let Some(cache) = &self.cache else { return };
        // A failure to write the cache only costs a later network request.
        let _ = match lookup {
            Lookup::Found(candidates) => {
                let bundles: Vec<String> = candidates
                    .iter()
                    .filter_map(|c| c.bundle.as_ref().ok()?.to_json().ok())
                    .collect();
                if bundles.len() != candidates.len() {
                    return;
                }
                cache.put_found(&source.repository, digest, &bundles)
            }
            Lookup::NotFound => cache.put_missing(&source.repository, digest, Utc::now()),
            Lookup::Failed(_) => return,
        };
    }
}

/// One bottle's sidecar, once fetched: its bundles filed under the policy's sources.
#[derive(Default)]
struct Sidecar {
    /// `None` until fetched; then the filed bundles, "no sidecar" (`Ok(None)`), or why it
    /// could not be had.
    filed: Option<Result<Option<Attributed>, String>>,
    /// Bundles about this bottle from repositories outside the policy.
    ignored: Vec<(String, String)>,
}

impl Sidecar {
    fn file(
        &mut self,
        policy: &Policy,
        digest: &Sha256Hash,
        fetched: Result<Option<Vec<BundleCandidate>>, String>,
    ) {
        self.filed = Some(fetched.map(|pile| {
            pile.map(|pile| {
                let mut attributed = policy.attribute(digest, &pile);
                self.ignored.append(&mut attributed.ignored);
                attributed
            })
        }));
    }

    fn take(&mut self, index: usize) -> Lookup {
        match &mut self.filed {
            Some(Ok(Some(attributed))) => attributed.take(index),
            Some(Err(e)) => Lookup::Failed(e.clone()),
            Some(Ok(None)) | None => Lookup::NotFound,
        }
    }
}

fn digest_str(d: &Sha256Hash) -> String {
    format!("sha256:{}", hex::encode(d.as_bytes()))
}

/// `<dir>/<bottle file name>.sigs`, as `export-sidecars` writes it. Absent = missing.
fn read_local_sidecar(
    dir: &std::path::Path,
    bottle: &BottleRef,
) -> Result<Option<Vec<BundleCandidate>>, String> {
    let path = dir.join(format!("{}{SIDECAR_SUFFIX}", bottle.filename));
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(parse_attestations(
            &path.display().to_string(),
            &bytes,
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}
