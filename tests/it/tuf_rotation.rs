//! "Trust that stays current": brew-verify refreshes the Sigstore trusted root through TUF, and
//! rotation is a test, not a hope. The kit serves a real TUF repository on 127.0.0.1, written
//! by python-tuf (`testkit::tuf`), whose `trusted_root.json` names the kit's Sigstore stacks;
//! brew-verify is pointed at it with `HOMEBREW_BREW_VERIFY_TUF_URL` and
//! `HOMEBREW_BREW_VERIFY_TUF_ROOT` (GitHub's instance likewise, at a second kit repository),
//! its cache at `HOMEBREW_CACHE`, and never given `--trusted-root`: the root it verifies with
//! comes from TUF.
//!
//! Run the group with `cargo test -p workspace-tests --test it tuf_rotation`. The tests of
//! the repository side alone (no brew-verify TUF client needed) are in [`repository`]
//! (`tuf_rotation::repository`).
//!
//! The contract tested here (`trust refresh`, `trust show --json`, `trust_root` in `--json`
//! results, `--refresh-trust`) is the client's; python-tuf in the tests' venv is required, and
//! under CI (`CI` set) its absence is a failure, not a skip.

mod repository;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use testkit::tuf::{TufAttack, TufRepo, TufRole, TufStep};
use testkit::{Authority, SigstoreStack, WorkflowIdentity, rotate_trusted_root};

use crate::util::{temp_dir, workspace_bin, write};

const CORE_WORKFLOW: &str = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
const GHA_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The venv's Python with python-tuf, or `None` (after saying so) when the test should skip;
/// never under CI, where the rotation tests must run.
pub(crate) fn python() -> Option<PathBuf> {
    if let Some(python) = testkit::tuf::venv_python() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python-tuf's venv (.venv/bin/python) not found: run tests/scripts/python-venv.sh or \
         set BREW_VERIFY_PYTHON_TUF (CI must not skip the TUF rotation tests)"
    );
    eprintln!("skipping: .venv/bin/python not found (run tests/scripts/python-venv.sh)");
    None
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A bottle and its kit-minted bundle.
pub(crate) struct Minted {
    pub(crate) label: String,
    pub(crate) bottle: PathBuf,
    pub(crate) bundle: PathBuf,
}

/// Mint, as homebrew-core's bottle workflow at kit time `at`, an attestation for a bottle
/// named after `label` (in `dir`).
pub(crate) fn mint(
    dir: &tempfile::TempDir,
    stack: &SigstoreStack,
    at: DateTime<Utc>,
    label: &str,
) -> Minted {
    let name = format!("{label}--1.0.arm64_sonoma.bottle.tar.gz");
    let contents = format!("the {label} bottle");
    let bottle = write(dir, &name, &contents);
    let digest: [u8; 32] = Sha256::digest(contents.as_bytes()).into();
    let id = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    );
    stack.set_time(at);
    let bundle = stack.sign_attestation(
        &id,
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {}}),
        &[(name.clone(), digest)],
    );
    stack.use_real_time();
    Minted {
        label: label.to_owned(),
        bottle,
        bundle: write(dir, &format!("{label}.sigstore.json"), &bundle),
    }
}

/// `brew-verify bundle --json` of a minted bundle, as homebrew-core's workflow, plus `extra`.
pub(crate) fn bundle_cmd(m: &Minted, extra: &[&str]) -> Output {
    bundle_command(m, extra).output().expect("brew-verify runs")
}

fn bundle_command(m: &Minted, extra: &[&str]) -> Command {
    let mut command = workspace_bin("brew-verify");
    command
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["bundle", "--json", "--bundle"])
        .arg(&m.bundle)
        .args([
            "--cert-identity",
            CORE_WORKFLOW,
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ])
        .args(extra)
        .arg(&m.bottle);
    command
}

/// (verified, everything the run printed) of a `bundle --json` run.
pub(crate) fn verdict(out: &Output) -> (bool, String) {
    let text = format!(
        "status: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verified = out.status.code() == Some(0)
        && serde_json::from_slice::<Value>(&out.stdout)
            .is_ok_and(|v| v["verified"] == Value::Bool(true));
    (verified, text)
}

/// A kit Sigstore stack, the public-good TUF repository serving its root, a second repository
/// standing in for GitHub's instance, and a brew-verify cache directory.
struct Env {
    dir: tempfile::TempDir,
    stack: SigstoreStack,
    repo: TufRepo,
    github: TufRepo,
}

impl Env {
    fn new() -> Option<Env> {
        let python = python()?;
        let stack = SigstoreStack::start();
        let repo = TufRepo::start(&python, &stack.trusted_root_json());
        let github = TufRepo::start(
            &python,
            &SigstoreStack::start_github_instance().trusted_root_json(),
        );
        Some(Env {
            dir: temp_dir(),
            stack,
            repo,
            github,
        })
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// Point a brew-verify command at the kit's repositories and this environment's cache.
    fn configure<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("HOMEBREW_NO_COLOR", "1")
            .env("HOMEBREW_CACHE", self.cache())
            .env("HOMEBREW_BREW_VERIFY_TUF_URL", self.repo.url())
            .env("HOMEBREW_BREW_VERIFY_TUF_ROOT", self.repo.root_v1())
            .env("HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL", self.github.url())
            .env(
                "HOMEBREW_BREW_VERIFY_GITHUB_TUF_ROOT",
                self.github.root_v1(),
            )
            .env_remove("HOMEBREW_BREW_VERIFY_TRUST_REFRESH")
    }

    /// `brew-verify bundle --json` of `m` with the TUF-refreshed root (no `--trusted-root`).
    fn bundle(&self, m: &Minted, extra: &[&str]) -> Output {
        let mut command = bundle_command(m, extra);
        self.configure(&mut command)
            .output()
            .expect("brew-verify runs")
    }

    /// `brew-verify trust ARGS`.
    fn trust(&self, args: &[&str]) -> Output {
        let mut command = workspace_bin("brew-verify");
        command.arg("trust").args(args);
        self.configure(&mut command)
            .output()
            .expect("brew-verify runs")
    }

    /// The public-good entry of `trust show --json`.
    fn shown(&self) -> Value {
        let out = self.trust(&["show", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let shown: Value = serde_json::from_slice(&out.stdout).expect("trust show --json is JSON");
        shown["roots"]
            .as_array()
            .and_then(|roots| roots.iter().find(|r| r["instance"] == "public-good"))
            .cloned()
            .unwrap_or_else(|| panic!("no public-good root in {shown:#}"))
    }

    fn mint(&self, at: DateTime<Utc>, label: &str) -> Minted {
        mint(&self.dir, &self.stack, at, label)
    }
}

/// A verified `bundle --json` run's `trust_root`.
#[track_caller]
fn verified_with(out: &Output) -> Value {
    let (verified, text) = verdict(out);
    assert!(verified, "expected verified: {text}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    result["trust_root"].clone()
}

/// A `bundle --json` run that did not verify, and its `trust_root`.
#[track_caller]
fn refused_with(out: &Output) -> (Value, String) {
    let (verified, text) = verdict(out);
    assert!(!verified, "expected not verified: {text}");
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (result["trust_root"].clone(), text)
}

/// What a `bundle --json` run said about its trusted root beyond the verdict: its stderr and
/// the result's `trust_root.refresh_error`, if any.
fn said(out: &Output) -> String {
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        result["trust_root"]["refresh_error"]
            .as_str()
            .unwrap_or_default()
    )
}

fn before() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap()
}

fn rotation() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
}

fn after() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 1, 12, 0, 0).unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[test]
fn a_fresh_cache_with_the_repository_reachable_uses_a_refreshed_root() {
    let Some(env) = Env::new() else { return };
    let m = env.mint(before(), "fresh");
    let used = verified_with(&env.bundle(&m, &[]));
    assert_eq!(used["instance"], "public-good", "{used}");
    assert_eq!(used["source"], "tuf", "{used}");
    assert_eq!(used["tuf_version"], 1, "{used}");
    assert!(used["fetched_at"].is_string(), "{used}");
    assert!(env.repo.requests().iter().any(|p| p == "/timestamp.json"));

    let shown = env.shown();
    assert_eq!(shown["source"], "tuf-cache", "{shown}");
    assert_eq!(
        shown["url"].as_str().map(|u| u.trim_end_matches('/')),
        Some(env.repo.url().as_str()),
        "{shown}"
    );
    assert_eq!(shown["tuf_version"], 1, "{shown}");
    assert_eq!(
        shown["trusted_root_sha256"].as_str(),
        env.repo.last_good().target_sha256.as_deref(),
        "{shown}"
    );
    let fulcio: Vec<&Value> = shown["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .filter(|a| a["kind"] == "fulcio")
        .collect();
    assert_eq!(fulcio.len(), 1, "{shown}");
    assert_eq!(fulcio[0]["uri"], env.stack.fulcio_url(), "{shown}");
}

#[test]
fn a_second_run_within_a_day_makes_no_tuf_request() {
    let Some(env) = Env::new() else { return };
    let m = env.mint(before(), "again");
    assert_eq!(verified_with(&env.bundle(&m, &[]))["source"], "tuf");
    let (repo, github) = (env.repo.request_count(), env.github.request_count());
    assert!(repo > 0, "the first run refreshed");

    let used = verified_with(&env.bundle(&m, &[]));
    assert_eq!(used["source"], "tuf-cache", "{used}");
    assert_eq!(used["tuf_version"], 1, "{used}");
    assert_eq!(
        (env.repo.request_count(), env.github.request_count()),
        (repo, github),
        "the second run asked the TUF repositories: {:?}",
        &env.repo.requests()[repo..]
    );
    // `trust show` reads the cache only.
    env.shown();
    assert_eq!(env.repo.request_count(), repo);
    // `--offline` never refreshes, `--refresh-trust` always does.
    let out = env.bundle(&m, &["--offline"]);
    assert_eq!(verified_with(&out)["source"], "tuf-cache");
    assert_eq!(env.repo.request_count(), repo);
    assert_eq!(
        verified_with(&env.bundle(&m, &["--refresh-trust"]))["source"],
        "tuf"
    );
    assert!(env.repo.request_count() > repo);
}

#[test]
fn an_unreachable_repository_with_a_fresh_cache_uses_the_embedded_root_and_says_so() {
    let Some(env) = Env::new() else { return };
    env.repo.set_reachable(false);
    let m = env.mint(before(), "unreachable");
    // The embedded root does not know the kit's keys, so the kit's bundle is refused.
    let out = env.bundle(&m, &[]);
    let (used, text) = refused_with(&out);
    assert_eq!(used["source"], "embedded", "{text}");
    assert_eq!(used["tuf_version"], Value::Null, "{text}");
    assert_eq!(used["fetched_at"], Value::Null, "{text}");
    // Why, where the run gives it (stderr, or the result's `refresh_error`), names the
    // repository it could not reach.
    let why = said(&out);
    assert!(why.is_empty() || why.contains(&env.repo.url()), "{why}");
    assert_eq!(env.shown()["source"], "embedded");

    let out = env.trust(&["refresh"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let host = env.repo.url().trim_start_matches("http://").to_owned();
    assert!(
        err.contains("public-good") && err.contains(&host),
        "names the instance and its repository: {err}"
    );
    // The human form says which root is in use.
    let out = env.trust(&["show"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("embedded"), "{shown}");
}

#[test]
fn an_unreachable_repository_with_a_warm_cache_uses_the_last_good_root() {
    let Some(env) = Env::new() else { return };
    let out = env.trust(&["refresh"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    env.repo.set_reachable(false);
    let m = env.mint(before(), "warm");
    let used = verified_with(&env.bundle(&m, &["--refresh-trust"]));
    assert_eq!(used["source"], "tuf-cache", "{used}");
    assert_eq!(used["tuf_version"], 1, "{used}");
    let shown = env.shown();
    assert_eq!(shown["source"], "tuf-cache", "{shown}");
    assert_eq!(
        shown["trusted_root_sha256"].as_str(),
        env.repo.last_good().target_sha256.as_deref()
    );
}

/// A rotation of `rotated` (a second kit stack takes over at [`rotation`]): bundles from the
/// old stack before it and from the new stack after it verify with the refreshed root, one the
/// old stack minted after it does not, and `trust show` lists both authorities with their
/// windows.
fn rotation_test(rotated: &[Authority], kind: &str, timestamps: bool) {
    let Some(mut env) = Env::new() else { return };
    let new = SigstoreStack::start();
    env.stack.set_timestamping(timestamps);
    new.set_timestamping(timestamps);
    let old_bundle = env.mint(before(), "old");
    assert_eq!(
        verified_with(&env.bundle(&old_bundle, &[]))["tuf_version"],
        1
    );

    let merged = rotate_trusted_root(
        &env.stack.trusted_root_json(),
        &new.trusted_root_json(),
        rotation(),
        rotated,
    );
    let state = env.repo.publish(&merged);
    let new_bundle = mint(&env.dir, &new, after(), "new");
    let stale_bundle = env.mint(after(), "stale");

    let used = verified_with(&env.bundle(&old_bundle, &["--refresh-trust"]));
    assert_eq!(used["source"], "tuf", "{used}");
    let used = verified_with(&env.bundle(&new_bundle, &[]));
    assert_eq!(used["source"], "tuf-cache", "{used}");
    refused_with(&env.bundle(&stale_bundle, &[]));

    let shown = env.shown();
    assert_eq!(
        shown["trusted_root_sha256"].as_str(),
        state.target_sha256.as_deref()
    );
    let listed: Vec<&Value> = shown["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .filter(|a| a["kind"] == kind)
        .collect();
    assert_eq!(listed.len(), 2, "{shown:#}");
    let at = rfc3339(rotation());
    assert!(
        listed.iter().any(|a| a["valid_until"] == at.as_str())
            && listed.iter().any(|a| a["valid_from"] == at.as_str()),
        "one {kind} ends and one starts at {at}: {shown:#}"
    );
}

#[test]
fn a_fulcio_ca_rotation_keeps_old_and_new_bundles_verifying() {
    rotation_test(&[Authority::Fulcio, Authority::Ct], "fulcio", false);
}

#[test]
fn a_new_rekor_shard_keeps_old_and_new_bundles_verifying() {
    rotation_test(&[Authority::Rekor], "rekor", false);
}

#[test]
fn a_tsa_rotation_keeps_old_and_new_bundles_verifying() {
    rotation_test(&[Authority::Tsa], "tsa", true);
}

#[test]
fn a_root_key_rotation_is_walked_from_v1_to_v3() {
    let Some(mut env) = Env::new() else { return };
    let m = env.mint(before(), "rotated");
    // A warm client at v1 sees v2 and v3.
    assert_eq!(verified_with(&env.bundle(&m, &[]))["tuf_version"], 1);
    env.repo.apply(&[
        TufStep::Rotate(vec![TufRole::Root, TufRole::Timestamp]),
        TufStep::Rotate(vec![TufRole::Root, TufRole::Snapshot, TufRole::Targets]),
    ]);
    let seen = env.repo.request_count();
    let used = verified_with(&env.bundle(&m, &["--refresh-trust"]));
    assert_eq!(used["source"], "tuf", "{used}");
    assert_eq!(used["tuf_version"], 3, "{used}");
    let walked = &env.repo.requests()[seen..];
    for file in ["/2.root.json", "/3.root.json", "/4.root.json"] {
        assert!(walked.iter().any(|p| p == file), "{file}: {walked:?}");
    }
    // A fresh cache anchored at v1 walks the same chain.
    env.dir = temp_dir();
    let m = env.mint(before(), "fresh");
    let out = env.trust(&["refresh"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(env.shown()["tuf_version"], 3);
    assert_eq!(verified_with(&env.bundle(&m, &[]))["tuf_version"], 3);
}

/// An attack on the metadata after a good refresh: `trust refresh` exits 4 with one line naming
/// the instance and a reason containing one of `reasons`; the last good root stays in use, by
/// `trust show` and by a verification that retries the refresh.
fn attack_test(attack: TufAttack, reasons: &[&str]) {
    let Some(mut env) = Env::new() else { return };
    let m = env.mint(before(), "attacked");
    // Two good versions, so there is an older one to replay (the same root, indented
    // differently: other bytes, same trust).
    let good = env
        .repo
        .publish(&env.stack.trusted_root_json().replace('\n', "\n "));
    assert_eq!(verified_with(&env.bundle(&m, &[]))["source"], "tuf");
    let shown = env.shown();
    assert_eq!(
        shown["trusted_root_sha256"].as_str(),
        good.target_sha256.as_deref()
    );
    let version = shown["tuf_version"].clone();

    let other = SigstoreStack::start().trusted_root_json();
    let attack = match attack {
        TufAttack::TargetHashMismatch(_) => TufAttack::TargetHashMismatch(other),
        attack => attack,
    };
    let state = env.repo.attack(attack);
    let out = env.trust(&["refresh"]);
    assert_eq!(out.status.code(), Some(4), "{state:?}: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("public-good") && reasons.iter().any(|r| err.contains(r)),
        "{}: the error must name the instance and one of {reasons:?}: {err}",
        state.label
    );

    let shown = env.shown();
    assert_eq!(shown["source"], "tuf-cache", "{shown}");
    assert_eq!(shown["tuf_version"], version, "{shown}");
    assert_eq!(
        shown["trusted_root_sha256"].as_str(),
        good.target_sha256.as_deref()
    );
    let used = verified_with(&env.bundle(&m, &[]));
    assert_eq!(used["source"], "tuf-cache", "{used}");
    let out = env.bundle(&m, &["--refresh-trust"]);
    let used = verified_with(&out);
    assert_eq!(used["source"], "tuf-cache", "{used}");
    let why = said(&out).to_lowercase();
    assert!(
        reasons.iter().any(|r| why.contains(r)),
        "the run says why it kept the cached root: {why}"
    );
}

#[test]
fn an_expired_timestamp_is_refused_and_the_last_good_root_stays() {
    attack_test(TufAttack::Expired(TufRole::Timestamp), &["expired"]);
}

#[test]
fn a_replayed_timestamp_is_refused_and_the_last_good_root_stays() {
    attack_test(TufAttack::ReplayTimestamp, &["rollback", "version"]);
}

#[test]
fn a_replayed_snapshot_is_refused_and_the_last_good_root_stays() {
    attack_test(TufAttack::ReplaySnapshot, &["rollback", "version"]);
}

#[test]
fn a_target_whose_hash_does_not_match_is_refused_and_the_last_good_root_stays() {
    attack_test(
        TufAttack::TargetHashMismatch(String::new()),
        &["hash", "length", "sha256"],
    );
}

#[test]
fn a_root_below_threshold_is_refused_and_the_last_good_root_stays() {
    attack_test(TufAttack::RootBelowThreshold, &["threshold", "signature"]);
}

/// The kit's pieces these tests lean on, checked here so a failure of the client tests is not
/// a broken fixture: the repository starts, the anchor is root v1, and `trust` is the contract
/// the client implements (this one fails until the TUF client is merged).
#[test]
fn the_client_contract_is_present() {
    let Some(env) = Env::new() else { return };
    assert!(env.repo.root_v1().ends_with("1.root.json"));
    assert!(Path::new(&env.repo.root_v1()).is_file());
    let out = env.trust(&["show", "--help"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "brew-verify has no `trust show` yet (the TUF client): {out:?}"
    );
}
