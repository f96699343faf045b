//! TUF refresh of a Sigstore trusted root (issue 14): the Sigstore crates' own TUF client
//! (`sigstore-tuf`'s `Updater`, which checks signature thresholds, that versions never go back,
//! expiry, and target hashes and lengths) driven over our one HTTP layer, with its metadata kept
//! under the cache root so that a run within a day of the last refresh asks the network nothing.
//!
//! Trust starts at an anchor: the TUF `root.json` compiled in (copied from `sigstore-trust-root`
//! 0.15.1's `repository/`, the roots its own TUF client pins) or a file the user names. Every
//! root since then is walked and checked from the anchor on each run, so a cache directory can at
//! worst replay metadata that was once validly signed, never forge any.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use serde::{Deserialize, Serialize};
use sigstore_tuf::transport::FetchFuture;
use sigstore_tuf::{FileStore, StoreRepository, Updater};

use crate::http::{BodyCap, Deadline, HttpClient, NetError, Request, RetryPolicy, Url};
use crate::store::atomic::{StoreError, private_dir, write_atomic};

/// The TUF target every Sigstore repository publishes the trusted root as.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// A refresh is due when the last good one is older than this (issue 14: "refreshed when older
/// than a day").
pub const REFRESH_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// After a failed refresh, the next run waits this long before asking again, so that a machine
/// without network does not pay a refresh deadline on every run; `--refresh-trust` still asks.
pub const RETRY_FAILED_AFTER: Duration = Duration::from_secs(60 * 60);

/// The whole refresh of one repository: a slow or blackholed TUF host costs at most this,
/// then the last good root is used (a refresh never blocks a verification).
pub const REFRESH_DEADLINE: Duration = Duration::from_secs(8);

/// The file, beside the TUF metadata, that records when the last refresh succeeded.
const STATE_FILE: &str = "brew-verify-refresh.json";

/// The public-good instance's TUF repository.
pub const PUBLIC_GOOD_URL: &str = "https://tuf-repo-cdn.sigstore.dev";
/// GitHub's instance's TUF repository.
pub const GITHUB_URL: &str = "https://tuf-repo.github.com";
/// The public-good TUF root (version 16), from `sigstore-trust-root` 0.15.1.
pub const PUBLIC_GOOD_ANCHOR: &[u8] = include_bytes!("anchors/sigstore-public-good-root.json");
/// GitHub's TUF root (version 9), from `sigstore-trust-root` 0.15.1.
pub const GITHUB_ANCHOR: &[u8] = include_bytes!("anchors/github-root.json");

/// Where a TUF repository is and what root of it is trusted to begin with.
#[derive(Debug, Clone)]
pub struct TufRepo {
    /// Its base URL (metadata at `URL/N.root.json`, targets at `URL/targets/…`).
    pub url: Url,
    /// The TUF root trust starts from.
    pub anchor: Anchor,
}

/// The TUF root trust starts from.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// Compiled in.
    Embedded(&'static [u8]),
    /// A file the user named (a private TUF repository, tests).
    File {
        /// The file.
        path: PathBuf,
        /// Its bytes, read when the settings were.
        bytes: Vec<u8>,
    },
}

impl Anchor {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Embedded(bytes) => bytes,
            Self::File { bytes, .. } => bytes,
        }
    }
}

/// A trusted root that TUF vouched for.
#[derive(Debug, Clone)]
pub struct TufRoot {
    /// The `trusted_root.json` target.
    pub json: String,
    /// The TUF root version it was verified under.
    pub root_version: u64,
    /// When the refresh that fetched it succeeded.
    pub fetched_at: DateTime<Utc>,
}

/// Why TUF gave no root.
#[derive(Debug, thiserror::Error)]
pub enum TufError {
    /// The anchor is not a TUF root (a bad `…_TUF_ROOT` file).
    #[error("the TUF root to start from is unusable: {0}")]
    Anchor(#[source] sigstore_tuf::Error),
    /// The repository refused by TUF's rules (threshold, rollback, expiry, hash…), or it could
    /// not be reached.
    #[error("{}", refusal(.0))]
    Refresh(#[source] sigstore_tuf::Error),
    /// The cache directory could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No refresh has succeeded yet (nothing cached).
    #[error("no TUF refresh has succeeded yet")]
    NeverRefreshed,
    /// The cached metadata no longer verifies (changed on disk, or a root rotation left it
    /// behind): the next refresh replaces it.
    #[error("the cached TUF metadata does not verify: {0}")]
    Cache(#[source] sigstore_tuf::Error),
}

impl TufError {
    /// The chain of reasons as one line (TUF's own errors nest the transport's).
    pub fn one_line(&self) -> String {
        crate::with_causes(self)
    }
}

/// What TUF's refusal means, in words, before its own message: which of TUF's rules the
/// repository broke (or that it could not be reached).
fn refusal(e: &sigstore_tuf::Error) -> String {
    use sigstore_tuf::Error as E;
    let what = match e {
        E::ThresholdNotMet { .. } | E::DuplicateSignature { .. } | E::Crypto(_) => {
            "metadata not signed by enough of its keys"
        }
        E::Rollback { .. } | E::BadRootVersion { .. } => {
            "a rollback: the repository offers an older version than one already trusted"
        }
        E::Expired { .. } => "expired metadata",
        E::IntegrityMismatch(_) => {
            "a file that does not match the hash and length its TUF metadata pins"
        }
        E::Transport { .. } => "the repository could not be read",
        _ => "unusable metadata",
    };
    format!("{what}: {e}")
}

/// When the last refresh succeeded and was last tried.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RefreshState {
    /// The last successful refresh.
    fetched_at: Option<DateTime<Utc>>,
    /// The last attempt, successful or not.
    attempted_at: Option<DateTime<Utc>>,
    /// The repository it was (a changed URL invalidates the cache's freshness).
    url: Option<String>,
    /// The subdirectory holding the metadata of the last successful refresh (`gen-…`).
    generation: Option<String>,
}

/// One TUF repository's directory under the cache root: `ROOT/tuf/<url, percent-encoded>`.
pub fn cache_dir(cache_root: &Path, url: &Url) -> PathBuf {
    let text = url.as_str().trim_end_matches('/');
    let mut name = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => name.push(byte.into()),
            _ => name.push_str(&format!("%{byte:02X}")),
        }
    }
    cache_root.join("tuf").join(name)
}

/// What the cache says about the last refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Refreshed less than [`REFRESH_AFTER`] ago: use the cache, ask nothing.
    Fresh,
    /// A refresh is due.
    Due,
    /// A refresh is due but one failed less than [`RETRY_FAILED_AFTER`] ago.
    RecentlyFailed,
}

fn read_state(dir: &Path) -> RefreshState {
    std::fs::read(dir.join(STATE_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn write_state(dir: &Path, state: &RefreshState) -> Result<(), StoreError> {
    // Serialising a struct of options and strings cannot fail.
    let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    write_atomic(&dir.join(STATE_FILE), &bytes)
}

/// Whether `repo` needs a refresh, by the state in its cache directory. A time in the future
/// (a clock set back, an edited file) counts as due: it proves nothing.
pub fn due(dir: &Path, repo: &TufRepo, now: DateTime<Utc>) -> Due {
    let state = read_state(dir);
    let within = |at: Option<DateTime<Utc>>, window: Duration| {
        at.is_some_and(|at| at <= now && (now - at).to_std().is_ok_and(|age| age < window))
    };
    if state.url.as_deref() == Some(repo.url.as_str()) && within(state.fetched_at, REFRESH_AFTER) {
        Due::Fresh
    } else if within(state.attempted_at, RETRY_FAILED_AFTER) {
        Due::RecentlyFailed
    } else {
        Due::Due
    }
}

/// Refresh `repo` over the network now, under `dir`, and return the trusted root it vouches
/// for.
///
/// Each refresh works in a new generation directory seeded with a copy of the last good one
/// (its root chain and version floors), and the state file names the new generation only once
/// the whole refresh succeeded. A refresh that fails part-way — a new root adopted, then an
/// expired timestamp — therefore leaves the last good generation exactly as it was, so it still
/// verifies and stays in use; the failure is recorded so that later runs back off.
pub async fn refresh(
    http: &HttpClient,
    repo: &TufRepo,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<TufRoot, TufError> {
    private_dir(dir)?;
    let mut state = read_state(dir);
    state.attempted_at = Some(now);
    let previous = state
        .generation
        .clone()
        .filter(|_| state.url.as_deref() == Some(repo.url.as_str()));
    let generation = format!(
        "gen-{}-{:08x}",
        now.format("%Y%m%dT%H%M%S"),
        rand::random::<u32>()
    );
    let work = dir.join(&generation);
    private_dir(&work)?;
    if let Some(previous) = &previous {
        // A generation that cannot be copied only costs its version floors: the chain is
        // walked again from the anchor.
        let _ = copy_tree(&dir.join(previous), &work);
    }
    let result = refresh_inner(http, repo, &work, now).await;
    match &result {
        Ok(_) => {
            state.fetched_at = Some(now);
            state.url = Some(repo.url.as_str().to_owned());
            state.generation = Some(generation.clone());
            write_state(dir, &state)?;
            if let Some(previous) = previous {
                let _ = std::fs::remove_dir_all(dir.join(previous));
            }
            sweep_generations(dir, &generation);
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(&work);
            write_state(dir, &state)?;
        }
    }
    result
}

/// Copy the files under `from` into `to` (the metadata of one generation: a few small files).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Remove generations other than `keep` left by refreshes that were killed, once they are an
/// hour old (a younger one may be another process's refresh in flight).
fn sweep_generations(dir: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= RETRY_FAILED_AFTER);
        if name.to_string_lossy().starts_with("gen-") && name != keep && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn refresh_inner(
    http: &HttpClient,
    repo: &TufRepo,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<TufRoot, TufError> {
    let transport = HttpRepository {
        http: http.clone(),
        base: repo.url.clone(),
        deadline: Deadline::after(REFRESH_DEADLINE),
    };
    let mut updater = Updater::new(transport, repo.anchor.bytes())
        .map_err(TufError::Anchor)?
        .with_store(FileStore::new(dir));
    let at = jiff_time(now);
    updater.refresh(at).await.map_err(TufError::Refresh)?;
    let bytes = updater
        .get_target(TRUSTED_ROOT_TARGET, at)
        .await
        .map_err(TufError::Refresh)?;
    target_root(bytes, updater.trusted().root().version, now).map_err(TufError::Refresh)
}

/// The root the last successful refresh of `repo` fetched, re-verified from the anchor through
/// the cached metadata, as of the time that refresh happened (so that metadata which has since
/// expired still serves an offline run: the "use the last good cached root"). Reads
/// the disk only.
pub fn cached(repo: &TufRepo, dir: &Path) -> Result<TufRoot, TufError> {
    let state = read_state(dir);
    let (fetched_at, generation) = match (state.fetched_at, state.url.as_deref(), &state.generation)
    {
        (Some(at), Some(url), Some(generation))
            if url == repo.url.as_str() && is_generation_name(generation) =>
        {
            (at, generation)
        }
        _ => return Err(TufError::NeverRefreshed),
    };
    crate::store::atomic::check_private(dir)?;
    let dir = &dir.join(generation);
    if !dir.join("root.json").is_file() {
        return Err(TufError::NeverRefreshed);
    }
    let at = jiff_time(fetched_at);
    let mut updater = Updater::new(
        StoreRepository::new(FileStore::new(dir)),
        repo.anchor.bytes(),
    )
    .map_err(TufError::Anchor)?
    .with_store(ReadOnly(FileStore::new(dir)));
    // Every future here reads from the disk and is ready at once: no executor is needed, and
    // one that is not ready (it never happens) counts as a cache that does not verify.
    let not_ready = || sigstore_tuf::Error::transport("the cache read did not complete");
    updater
        .refresh(at)
        .now_or_never()
        .unwrap_or_else(|| Err(not_ready()))
        .map_err(TufError::Cache)?;
    let bytes = updater
        .get_target(TRUSTED_ROOT_TARGET, at)
        .now_or_never()
        .unwrap_or_else(|| Err(not_ready()))
        .map_err(TufError::Cache)?;
    target_root(bytes, updater.trusted().root().version, fetched_at).map_err(TufError::Cache)
}

/// The cache, read but never written: re-verifying it must not rewrite it (the TUF client
/// writes the root it starts from back through its store), and a read-only run stays one.
struct ReadOnly(FileStore);

impl sigstore_tuf::MetadataStore for ReadOnly {
    fn load(&self, name: &str) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        self.0.load(name)
    }

    fn store(&self, _name: &str, _bytes: &[u8]) -> sigstore_tuf::Result<()> {
        Ok(())
    }
}

/// A generation name as [`refresh`] makes them: one path component, nothing else (the state
/// file is read from the cache, so its value must not lead anywhere else).
fn is_generation_name(name: &str) -> bool {
    name.starts_with("gen-") && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn target_root(
    bytes: Vec<u8>,
    root_version: u64,
    fetched_at: DateTime<Utc>,
) -> Result<TufRoot, sigstore_tuf::Error> {
    let json = String::from_utf8(bytes).map_err(|_| {
        sigstore_tuf::Error::Malformed(format!("{TRUSTED_ROOT_TARGET} is not UTF-8"))
    })?;
    Ok(TufRoot {
        json,
        root_version,
        fetched_at,
    })
}

fn jiff_time(t: DateTime<Utc>) -> jiff::Timestamp {
    // chrono and jiff cover the same range for any clock reading; the fallback never happens.
    jiff::Timestamp::from_second(t.timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// `sigstore-tuf`'s transport over our HTTP layer: the same caps, retries, deadline and
/// plain-http-only-to-loopback rule as every other request.
struct HttpRepository {
    http: HttpClient,
    base: Url,
    deadline: Deadline,
}

impl HttpRepository {
    fn url(&self, path: &str) -> Result<Url, sigstore_tuf::Error> {
        let mut base = self.base.as_str().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Url::parse(&base)
            .and_then(|b| b.join(path))
            .map_err(|e| sigstore_tuf::Error::transport(format!("{path}: {e}")))
    }

    async fn fetch(
        &self,
        path: String,
        max_length: u64,
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, sigstore_tuf::Error> {
        let url = self.url(&path)?;
        // One attempt, no retry messages: a refresh that fails is tried again in an hour and
        // the last good root serves meanwhile, so waiting here would only slow the run.
        let request = Request::get(url, BodyCap::exactly(max_length, what))
            .deadline(Some(self.deadline))
            .retry(RetryPolicy::never())
            .purpose("tuf");
        let response = self.http.send(request).await.map_err(transport)?;
        match response.status {
            // python-tuf's ngclient ends the root chain on either (7.0.1,
            // `tuf/ngclient/updater.py`, `_load_root`: `if exception.status_code not in {403,
            // 404}: raise` / "404/403 means current root is newest available"): object stores
            // answer 403 for a missing key.
            403 | 404 => Ok(None),
            _ if response.is_success() => Ok(Some(response.body)),
            _ => Err(transport(response.error())),
        }
    }
}

fn transport(e: NetError) -> sigstore_tuf::Error {
    sigstore_tuf::Error::transport(e.to_string())
}

impl sigstore_tuf::Repository for HttpRepository {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(self.fetch(name.to_owned(), max_length, "TUF metadata"))
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(self.fetch(format!("targets/{path}"), max_length, "TUF target"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(url: &str) -> TufRepo {
        TufRepo {
            url: Url::parse(url).unwrap(),
            anchor: Anchor::Embedded(PUBLIC_GOOD_ANCHOR),
        }
    }

    #[test]
    fn the_embedded_anchors_are_tuf_roots() {
        for anchor in [PUBLIC_GOOD_ANCHOR, GITHUB_ANCHOR] {
            sigstore_tuf::TrustedMetadataSet::from_root(anchor).unwrap();
        }
    }

    #[test]
    fn cache_directories_are_one_path_component_per_repository() {
        let root = Path::new("/c");
        let a = cache_dir(
            root,
            &Url::parse("https://tuf-repo-cdn.sigstore.dev/").unwrap(),
        );
        assert_eq!(
            a,
            Path::new("/c/tuf/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev")
        );
        let b = cache_dir(root, &Url::parse("http://127.0.0.1:9/../x").unwrap());
        assert_eq!(b.parent(), Some(Path::new("/c/tuf")));
    }

    #[test]
    fn freshness_is_a_day_and_a_failure_backs_off_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let r = repo("https://tuf.example/");
        let now = Utc::now();
        assert_eq!(due(dir.path(), &r, now), Due::Due);
        let hours = |h: i64| now - chrono::Duration::hours(h);
        let write = |state: RefreshState| write_state(dir.path(), &state).unwrap();
        write(RefreshState {
            fetched_at: Some(hours(23)),
            attempted_at: Some(hours(23)),
            url: Some(r.url.to_string()),
            generation: None,
        });
        assert_eq!(due(dir.path(), &r, now), Due::Fresh);
        // Another repository's refresh is not this one's.
        assert_eq!(
            due(dir.path(), &repo("https://other.example/"), now),
            Due::Due
        );
        write(RefreshState {
            fetched_at: Some(hours(25)),
            attempted_at: Some(now - chrono::Duration::minutes(10)),
            url: Some(r.url.to_string()),
            generation: None,
        });
        assert_eq!(due(dir.path(), &r, now), Due::RecentlyFailed);
        // A refresh "in the future" proves nothing.
        write(RefreshState {
            fetched_at: Some(now + chrono::Duration::hours(5)),
            attempted_at: None,
            url: Some(r.url.to_string()),
            generation: None,
        });
        assert_eq!(due(dir.path(), &r, now), Due::Due);
        // Junk in the state file is no refresh at all.
        std::fs::write(dir.path().join(STATE_FILE), b"\xff{").unwrap();
        assert_eq!(due(dir.path(), &r, now), Due::Due);
    }

    #[test]
    fn a_state_file_cannot_point_outside_the_cache() {
        for name in ["gen-1", "gen-20261206T041200-0a1b2c3d"] {
            assert!(is_generation_name(name), "{name}");
        }
        for name in [
            "../x",
            "gen-../../etc",
            "/etc",
            "gen-a/b",
            "",
            "gen-\u{2215}x",
            "other",
        ] {
            assert!(!is_generation_name(name), "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let r = repo("https://tuf.example/");
        write_state(
            dir.path(),
            &RefreshState {
                fetched_at: Some(Utc::now()),
                attempted_at: None,
                url: Some(r.url.to_string()),
                generation: Some("../elsewhere".into()),
            },
        )
        .unwrap();
        let err = cached(&r, dir.path()).unwrap_err();
        assert!(matches!(err, TufError::NeverRefreshed), "{err:?}");
    }

    #[test]
    fn an_empty_cache_has_no_root() {
        let dir = tempfile::tempdir().unwrap();
        let err = cached(&repo("https://tuf.example/"), dir.path()).unwrap_err();
        assert!(matches!(err, TufError::NeverRefreshed), "{err:?}");
    }
}
