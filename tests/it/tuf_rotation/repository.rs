//! The repository side of "Rotation is a test, not a hope", checked without brew-verify's TUF
//! client: the kit's python-tuf repositories are real TUF to python-tuf's own client over the
//! kit's HTTP server, sigstore-tuf (the crate brew-verify refreshes with) agrees with python-tuf
//! on every good and every attack state, and the merged trusted roots the rotation tests publish
//! verify bundles from before and after each rotation (with `--trusted-root`, today's path).

use std::path::Path;

use chrono::{TimeZone as _, Utc};
use sigstore_tuf::transport::FetchFuture;
use sigstore_tuf::{FileStore, MetadataStore as _, Updater};
use testkit::tuf::{TufAttack, TufRepo, TufRole, TufState};
use testkit::{Authority, SigstoreStack, rotate_trusted_root};

use super::{Minted, bundle_cmd, mint, python, sha256_hex, verdict};
use crate::util::{temp_dir, write};

/// A `sigstore_tuf::Repository` over plain HTTP: `BASE/<name>` for metadata,
/// `BASE/targets/<path>` for targets, 404 as "not found", every body capped at `max_length`.
/// brew-verify brings its own transport the same way (sigstore-tuf's is behind a feature that
/// would pull in a second HTTP stack).
struct HttpRepository {
    base: String,
    client: reqwest::Client,
}

impl HttpRepository {
    fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("HTTP client"),
        }
    }

    async fn get(&self, url: String, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| sigstore_tuf::Error::transport_with_source(format!("GET {url}"), e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(sigstore_tuf::Error::transport(format!(
                "GET {url}: {}",
                response.status()
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| sigstore_tuf::Error::transport_with_source(format!("GET {url}"), e))?;
        if body.len() as u64 > max_length {
            return Err(sigstore_tuf::Error::transport(format!(
                "GET {url}: more than {max_length} bytes"
            )));
        }
        Ok(Some(body.to_vec()))
    }
}

impl sigstore_tuf::Repository for HttpRepository {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(self.get(format!("{}/{name}", self.base), max_length))
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(self.get(format!("{}/targets/{path}", self.base), max_length))
    }
}

/// What one sigstore-tuf run (a new `Updater`, as a new brew-verify process makes, over the
/// cache in `store`) ended on.
#[derive(Debug)]
struct RustRun {
    root_version: u64,
    timestamp_version: u64,
    target_sha256: String,
}

/// Refresh and fetch `trusted_root.json` with sigstore-tuf from `repo`, anchored at root v1,
/// caching in `store` (a directory, kept between runs like brew-verify's cache).
fn sigstore_tuf_run(repo: &TufRepo, store: &Path) -> sigstore_tuf::Result<RustRun> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let anchor = std::fs::read(repo.root_v1()).expect("root v1");
    runtime.block_on(async {
        let mut updater = Updater::new(HttpRepository::new(&repo.url()), &anchor)?
            .with_store(FileStore::new(store));
        let now = jiff::Timestamp::now();
        updater.refresh(now).await?;
        let target = updater.get_target("trusted_root.json", now).await?;
        Ok(RustRun {
            root_version: updater.trusted().root().version,
            timestamp_version: updater
                .trusted()
                .timestamp()
                .map(|t| t.version)
                .unwrap_or_default(),
            target_sha256: sha256_hex(&target),
        })
    })
}

/// Both clients accept a good state and end on the same versions and target.
fn both_accept(repo: &TufRepo, state: &TufState, py_cache: &Path, rs_cache: &Path) {
    assert_eq!(
        state.python_tuf, "ok",
        "the generator's self-check: {state:?}"
    );
    let py = repo.python_tuf_check(py_cache, None);
    assert!(
        py.ok,
        "python-tuf over HTTP refused {}: {py:?}",
        state.label
    );
    let rs = sigstore_tuf_run(repo, rs_cache)
        .unwrap_or_else(|e| panic!("sigstore-tuf refused {}: {e:?}", state.label));
    assert_eq!(py.root_version, state.root_version, "{py:?}");
    assert_eq!(Some(rs.root_version), state.root_version, "{rs:?}");
    assert_eq!(py.timestamp_version, state.timestamp_version, "{py:?}");
    assert_eq!(
        Some(rs.timestamp_version),
        state.timestamp_version,
        "{rs:?}"
    );
    assert_eq!(py.target_sha256, state.target_sha256, "{py:?}");
    assert_eq!(
        Some(&rs.target_sha256),
        state.target_sha256.as_ref(),
        "{rs:?}"
    );
}

/// Both clients refuse an attack state from their warm caches, python-tuf with `py_error` and
/// sigstore-tuf with an error `rs_matches` accepts; neither lets unverified bytes replace the
/// cached `trusted_root.json`.
fn both_refuse(
    repo: &TufRepo,
    state: &TufState,
    (py_cache, rs_cache): (&Path, &Path),
    py_error: &str,
    rs_matches: Refusal,
) {
    assert_eq!(
        state.python_tuf, py_error,
        "the generator's self-check: {state:?}"
    );
    let good = repo
        .last_good()
        .target_sha256
        .clone()
        .expect("a good target");
    let py = repo.python_tuf_check(py_cache, None);
    assert!(
        !py.ok,
        "python-tuf over HTTP accepted {}: {py:?}",
        state.label
    );
    assert_eq!(py.error_type.as_deref(), Some(py_error), "{py:?}");
    match sigstore_tuf_run(repo, rs_cache) {
        Ok(run) => panic!("sigstore-tuf accepted {}: {run:?}", state.label),
        Err(e) => assert!(
            rs_matches(&e),
            "sigstore-tuf refused {} with {e:?}",
            state.label
        ),
    }
    let cached = FileStore::new(rs_cache)
        .load("targets/trusted_root.json")
        .expect("reading the store")
        .expect("the last good target stays cached");
    assert_eq!(
        sha256_hex(&cached),
        good,
        "sigstore-tuf's cached target after {}",
        state.label
    );
    let cached = std::fs::read(py_cache.join("targets/trusted_root.json")).expect("python cache");
    assert_eq!(
        sha256_hex(&cached),
        good,
        "python-tuf's cached target after {}",
        state.label
    );
}

/// How sigstore-tuf must refuse an attack.
type Refusal = fn(&sigstore_tuf::Error) -> bool;

/// sigstore-tuf's expiry error for `role`.
fn expired(e: &sigstore_tuf::Error, want: &str) -> bool {
    matches!(e, sigstore_tuf::Error::Expired { role, .. } if role == want)
}

/// sigstore-tuf's rollback error for `role` (or a description starting with it).
fn rollback(e: &sigstore_tuf::Error, want: &str) -> bool {
    matches!(e, sigstore_tuf::Error::Rollback { role, .. } if role.starts_with(want))
}

/// One repository's life, each state checked by python-tuf (over the kit's HTTP server) and by
/// sigstore-tuf, both with caches that persist across states as brew-verify's does: publish,
/// every attack (each followed by a good publish the clients recover with), the root key
/// rotated twice (v1 → v2 → v3, a fresh client walks the chain), new expiry times and last an
/// expired root.
#[test]
fn python_tuf_and_sigstore_tuf_agree_on_every_state() {
    let Some(python) = python() else { return };
    let dir = temp_dir();
    let (py_cache, rs_cache) = (dir.path().join("python"), dir.path().join("rust"));
    let caches = (py_cache.as_path(), rs_cache.as_path());
    let root = |n: u32| format!("{{\"mediaType\": \"test\", \"n\": {n}}}");
    let mut repo = TufRepo::start(&python, &root(1));
    both_accept(&repo, &repo.last_good().clone(), &py_cache, &rs_cache);
    let state = repo.publish(&root(2));
    both_accept(&repo, &state, &py_cache, &rs_cache);

    let attacks: Vec<(TufAttack, &str, Refusal)> = vec![
        (
            TufAttack::Expired(TufRole::Timestamp),
            "ExpiredMetadataError",
            |e| expired(e, "timestamp"),
        ),
        (
            TufAttack::Expired(TufRole::Snapshot),
            "ExpiredMetadataError",
            |e| expired(e, "snapshot"),
        ),
        (
            TufAttack::Expired(TufRole::Targets),
            "ExpiredMetadataError",
            |e| expired(e, "targets"),
        ),
        (TufAttack::ReplayTimestamp, "BadVersionNumberError", |e| {
            rollback(e, "timestamp")
        }),
        (
            // sigstore-tuf names it "snapshot (via timestamp)": the timestamp pins it.
            TufAttack::ReplaySnapshot,
            "BadVersionNumberError",
            |e| rollback(e, "snapshot"),
        ),
        (
            TufAttack::TargetHashMismatch(root(99)),
            "LengthOrHashMismatchError",
            |e| matches!(e, sigstore_tuf::Error::IntegrityMismatch(m) if m.contains("sha256 mismatch")),
        ),
        (
            TufAttack::RootBelowThreshold,
            "UnsignedMetadataError",
            |e| matches!(e, sigstore_tuf::Error::ThresholdNotMet { role, found: 1, threshold: 2 } if role == "root"),
        ),
    ];
    for (n, (attack, py_error, rs_matches)) in (3..).zip(attacks) {
        let state = repo.attack(attack);
        both_refuse(&repo, &state, caches, py_error, rs_matches);
        // The next good state is above every version the attack used: both clients recover.
        let state = repo.publish(&root(n));
        both_accept(&repo, &state, &py_cache, &rs_cache);
    }

    // Root v1 → v2 → v3 (with new timestamp, then snapshot and targets keys), seen by the warm
    // clients and walked from v1 by fresh ones.
    let states = repo.apply(&[
        testkit::tuf::TufStep::Rotate(vec![TufRole::Root, TufRole::Timestamp]),
        testkit::tuf::TufStep::Rotate(vec![TufRole::Root, TufRole::Snapshot, TufRole::Targets]),
    ]);
    assert_eq!(states[1].root_version, Some(3), "{states:?}");
    both_accept(&repo, &states[1], &py_cache, &rs_cache);
    let fresh = temp_dir();
    let before = repo.request_count();
    both_accept(
        &repo,
        &states[1],
        &fresh.path().join("python"),
        &fresh.path().join("rust"),
    );
    let walked = repo.requests()[before..].to_vec();
    for file in ["/2.root.json", "/3.root.json", "/4.root.json"] {
        assert_eq!(
            walked.iter().filter(|p| *p == file).count(),
            2,
            "each client asks for {file} once: {walked:?}"
        );
    }

    // New expiry times (root v4 with a later expiry, a timestamp good for two days): both
    // clients take them.
    let now = Utc::now();
    let state = repo
        .apply(&[testkit::tuf::TufStep::SetExpiry(vec![
            (TufRole::Root, now + chrono::Duration::days(400)),
            (TufRole::Timestamp, now + chrono::Duration::days(2)),
        ])])
        .remove(0);
    assert_eq!(state.root_version, Some(4), "{state:?}");
    both_accept(&repo, &state, &py_cache, &rs_cache);

    // An expired root (last: the clients keep that root version, so nothing good can follow).
    let state = repo.attack(TufAttack::Expired(TufRole::Root));
    both_refuse(
        &repo,
        &state,
        caches,
        "ExpiredMetadataError",
        |e| matches!(e, sigstore_tuf::Error::Expired { role, .. } if role == "root"),
    );
}

/// The server: 404 for what it lacks (the end of the root chain), unreachable means refused,
/// and it comes back on the same port serving the same state.
#[test]
fn the_repository_server_counts_requests_and_goes_unreachable() {
    let Some(python) = python() else { return };
    let repo = TufRepo::start(&python, "{}");
    let get = |path: &str| raw_get(&repo.url(), path).0;
    assert_eq!(get("/1.root.json"), 200);
    assert_eq!(get("/2.root.json"), 404);
    assert_eq!(get("/../state/state.json"), 404);
    assert_eq!(
        repo.requests(),
        ["/1.root.json", "/2.root.json", "/../state/state.json"]
    );
    repo.set_reachable(false);
    assert!(std::net::TcpStream::connect(repo.url().trim_start_matches("http://")).is_err());
    assert_eq!(repo.request_count(), 3);
    repo.set_reachable(true);
    assert_eq!(get("/timestamp.json"), 200);
}

/// `GET path` over a plain TCP stream: (status, body).
fn raw_get(url: &str, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read as _, Write as _};
    let mut stream =
        std::net::TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read");
    let text = String::from_utf8_lossy(&reply);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec());
    (status, body.unwrap_or_default())
}

/// The trusted roots the rotation tests publish are right on their own: under the merged root
/// (with `--trusted-root`, no TUF), bundles minted by the old stack before the rotation and by
/// the new stack after it verify, and one the old stack minted after it, from the rotated
/// authority, does not.
#[test]
fn merged_roots_verify_bundles_from_before_and_after_each_rotation() {
    let t0 = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
    let at = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let t2 = Utc.with_ymd_and_hms(2024, 9, 1, 12, 0, 0).unwrap();
    let cases: [(&[Authority], bool, &str); 3] = [
        // The old CA no longer counts after `at`, so the chain finds no issuer.
        (
            &[Authority::Fulcio, Authority::Ct],
            false,
            "certificate chain is invalid",
        ),
        (
            &[Authority::Rekor],
            false,
            "No log key valid at integrated time",
        ),
        (
            &[Authority::Tsa],
            true,
            "outside the validity period of the authority",
        ),
    ];
    for (rotated, timestamps, reason) in cases {
        let dir = temp_dir();
        let (old, new) = (SigstoreStack::start(), SigstoreStack::start());
        old.set_timestamping(timestamps);
        new.set_timestamping(timestamps);
        let before = mint(&dir, &old, t0, "before");
        let after = mint(&dir, &new, t2, "after");
        let stale = mint(&dir, &old, t2, "stale");
        let merged = rotate_trusted_root(
            &old.trusted_root_json(),
            &new.trusted_root_json(),
            at,
            rotated,
        );
        let root = write(&dir, "merged.json", &merged);
        let run = |m: &Minted| verdict(&bundle_cmd(m, &["--trusted-root", root.to_str().unwrap()]));
        for m in [&before, &after] {
            let (verified, out) = run(m);
            assert!(verified, "{rotated:?}: {} should verify: {out}", m.label);
        }
        let out = bundle_cmd(&stale, &["--trusted-root", root.to_str().unwrap()]);
        let (verified, text) = verdict(&out);
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let error = result["bundles"][0]["error"].as_str().unwrap_or_default();
        assert!(
            !verified && error.contains(reason),
            "{rotated:?}: the old stack's bundle after the rotation must fail with {reason:?}: {text}"
        );
    }
}
