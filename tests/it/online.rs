//! `brew-verify FORMULA…` end to end, online, against the local stand-ins: Debian's
//! docker-registry (GHCR, token auth), the GitHub attestations API fixture server, the kit's
//! Sigstore stack, and a static mirror. Formula JSON comes from a file (`--formula-json`), as
//! the formula API's own shape.

use std::path::Path;
use std::process::Output;

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use chrono::{TimeZone as _, Utc};
use serde_json::{Value, json};
use testkit::github_api::GitHubApiServer;
use testkit::registry::{PlatformBottle, PushOptions, PushedBottles, Registry, formula_json};
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{StaticServer, registry, temp_dir, workspace_bin, write};

const SLSA: &str = "https://slsa.dev/provenance/v1";
const TAG: &str = "x86_64_linux";

struct World {
    stack: SigstoreStack,
    registry: Registry,
    api: GitHubApiServer,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Option<World> {
        Some(World {
            registry: registry()?,
            stack: SigstoreStack::start(),
            api: GitHubApiServer::start(),
            dir: temp_dir(),
        })
    }

    fn push(&self, formula: &str, version: &str) -> PushedBottles {
        self.registry.push_bottles(
            formula,
            version,
            0,
            &[
                PlatformBottle::new("arm64_sonoma"),
                PlatformBottle::new(TAG),
            ],
        )
    }

    /// Core attestation (one statement, every platform as a subject) filed under core.
    fn attest_core(&self, pushed: &PushedBottles) {
        let id = WorkflowIdentity::github(
            "Homebrew/homebrew-core",
            "publish-commit-bottles.yml",
            "refs/heads/main",
        );
        let subjects: Vec<(String, [u8; 32])> = pushed
            .bottles
            .iter()
            .map(|b| (b.filename.to_string(), *b.sha256.as_bytes()))
            .collect();
        self.stack.use_real_time();
        let bundle = self.stack.sign_attestation(&id, SLSA, json!({}), &subjects);
        for b in &pushed.bottles {
            self.api
                .add("Homebrew/homebrew-core", &b.sha256.to_hex(), &bundle);
        }
    }

    /// Backfill attestation at `at`, subject named by the default-domain URL, filed under the tap.
    fn attest_backfill(&self, pushed: &PushedBottles, at: chrono::DateTime<Utc>) {
        let id = WorkflowIdentity::github(
            "trailofbits/homebrew-brew-verify",
            "backfill_signatures.yml",
            "refs/heads/backfill",
        );
        self.stack.set_time(at);
        for b in &pushed.bottles {
            let name = b.resolved.bottle.cache_name(DEFAULT_BOTTLE_ROOT);
            let bundle =
                self.stack
                    .sign_attestation(&id, SLSA, json!({}), &[(name, *b.sha256.as_bytes())]);
            self.api.add(
                "trailofbits/homebrew-brew-verify",
                &b.sha256.to_hex(),
                &bundle,
            );
        }
        self.stack.use_real_time();
    }

    fn formula_file(&self, pushed: &[&PushedBottles]) -> std::path::PathBuf {
        let with_deps: Vec<(&PushedBottles, &[&str])> =
            pushed.iter().map(|p| (*p, &[][..])).collect();
        write(
            &self.dir,
            "formula.json",
            &formula_json(&with_deps).to_string(),
        )
    }

    fn root_file(&self) -> std::path::PathBuf {
        write(
            &self.dir,
            "trusted_root.json",
            &self.stack.trusted_root_json(),
        )
    }

    fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("cache")
    }

    /// brew-verify with no credential or mirror setting of the developer's machine, the
    /// world's cache and trusted root, JSON output.
    fn command(&self) -> std::process::Command {
        let mut cmd = workspace_bin("brew-verify");
        cmd.env_remove("HOMEBREW_GITHUB_API_TOKEN")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env_remove("HOMEBREW_BOTTLE_DOMAIN")
            .env_remove("HOMEBREW_API_DOMAIN")
            .env("HOMEBREW_CACHE", self.cache())
            .arg("--json")
            .arg("--trusted-root")
            .arg(self.root_file());
        cmd
    }

    /// Run brew-verify with the world's endpoints and a clean environment.
    fn run(&self, formula_json: &Path, extra: &[&str]) -> (Output, Vec<Value>) {
        let out = self
            .command()
            .arg("--formula-json")
            .arg(formula_json)
            .args(["--api-url", &self.api.url()])
            .args(["--bottle-tag", TAG])
            .args(extra)
            .output()
            .expect("run brew-verify");
        let results = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out, results)
    }
}

fn statuses(results: &[Value]) -> Vec<(String, String, String)> {
    results
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["source"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn formulae_verify_online_then_from_cache_then_offline() {
    let Some(w) = World::new() else { return };
    let wget = w.push("wget", "1.24.5_1");
    let oldlib = w.push("oldlib", "0.9");
    let newlib = w.push("newlib", "2.0");
    w.attest_core(&wget);
    w.attest_backfill(&oldlib, Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap());
    let formulae = w.formula_file(&[&wget, &oldlib, &newlib]);

    // Cold: every bottle resolved, checked against the registry, looked up on the API.
    let (out, results) = w.run(&formulae, &["wget", "oldlib", "newlib"]);
    assert_eq!(
        statuses(&results),
        vec![
            ("wget".into(), "verified".into(), "homebrew-core".into()),
            ("oldlib".into(), "verified".into(), "backfill".into()),
            ("newlib".into(), "missing".into(), String::new()),
        ],
        "{out:?}"
    );
    assert_eq!(out.status.code(), Some(3), "one missing, none invalid");
    assert_eq!(
        results[0]["bottle"]["file_name"],
        "wget--1.24.5_1.x86_64_linux.bottle.tar.gz"
    );
    let cold_api = w.api.request_counts().api;
    // wget: core; oldlib: core (none) + backfill; newlib: core + backfill.
    assert_eq!(cold_api, 5, "one API request per source consulted");
    // No token was configured, and none was sent.
    assert!(
        w.api
            .api_requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );

    // Warm: the same bottles make no API call and no registry request at all.
    let registry_cold = w.registry.request_count();
    let (out, results) = w.run(&formulae, &["wget", "oldlib", "newlib"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(statuses(&results)[1].2, "backfill");
    // Only found attestations are cached: every "none" is asked afresh, because only a fresh
    // authoritative "none" may open the backfill (issue 10, item 3). oldlib: core again;
    // newlib: core and backfill again.
    assert_eq!(
        w.api.request_counts().api,
        cold_api + 3,
        "the warm run asked more than the three \"none\" answers again"
    );
    assert_eq!(
        w.registry.request_count(),
        registry_cold,
        "warm run hit the registry"
    );

    // Offline: no socket at all, same verdicts from the cache.
    let registry_before = w.registry.request_count();
    let api_before = w.api.request_counts().api;
    let (out, results) = w.run(&formulae, &["--offline", "wget", "oldlib"]);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["status"], "verified", "{out:?}");
    // oldlib's backfill attestation is cached, but offline nothing can say afresh that
    // homebrew-core has none: "could not check" (exit 4), never the backfill's word.
    assert_eq!(results[1]["status"], "error", "{out:?}");
    assert_eq!(results[1]["source"], "homebrew-core", "{out:?}");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(
        w.registry.request_count(),
        registry_before,
        "offline touched the registry"
    );
    assert_eq!(
        w.api.request_counts().api,
        api_before,
        "offline touched the API"
    );

    // Offline with an empty cache: "could not check", never "missing".
    let (out, results) = w.run(
        &formulae,
        &[
            "--offline",
            "--cache-dir",
            w.dir.path().join("empty").to_str().unwrap(),
            "wget",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(results[0]["status"], "error");
}

#[test]
fn download_token_scoping_and_registry_mismatch() {
    let Some(w) = World::new() else { return };
    let wget = w.push("wget", "1.25.0");
    w.attest_core(&wget);
    let bad = w.registry.push_bottles_with(
        "badlib",
        "1.0",
        0,
        &[PlatformBottle::new(TAG)],
        &PushOptions {
            wrong_digest_annotation: vec![TAG.into()],
            ..PushOptions::default()
        },
    );
    w.attest_core(&bad);
    let formulae = w.formula_file(&[&wget, &bad]);
    w.api.serve_bundles_by_url(true);

    // The github.com token must not reach the loopback API (another host); the enterprise
    // token, bound to any non-github.com API host, does.
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_GITHUB_API_TOKEN", "ghp_githubcomsecret")
        .env("GH_ENTERPRISE_TOKEN", "ghp_kittoken")
        .env("HOMEBREW_CACHE", w.cache())
        .arg("--json")
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-json")
        .arg(&formulae)
        .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "--download"])
        .args(["wget", "badlib"])
        .output()
        .unwrap();
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results[0]["status"], "verified", "{out:?}");
    // The registry's digest annotation contradicts the formula: refused, exit 1.
    assert_eq!(results[1]["status"], "invalid", "{out:?}");
    let why = results[1]["error"].as_str().unwrap();
    assert!(why.contains("but the formula says"), "{why}");
    assert_eq!(out.status.code(), Some(1));

    // The download landed under Homebrew's cache name, with the exact bytes, and nothing else.
    let b = wget.bottle(TAG);
    let name = bottle_attest::bottle::cache_name(&b.resolved.url, &b.filename);
    let downloaded = w.cache().join("downloads").join(name);
    assert_eq!(std::fs::read(&downloaded).unwrap(), b.bytes);
    let leftovers: Vec<_> = std::fs::read_dir(w.cache().join("downloads"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path() != downloaded)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The token went to the API host and never to the bundle host.
    assert!(w.api.api_requests().iter().all(|r| {
        r.authorization
            .as_deref()
            .is_some_and(|a| a.contains("ghp_kittoken"))
    }));
    assert!(!w.api.blob_requests().is_empty());
    assert!(
        w.api
            .blob_requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
    // …nor to the registry.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("ghp_kittoken"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ghp_kittoken"));
    let everywhere = format!("{:?}{:?}", w.api.api_requests(), w.api.blob_requests());
    assert!(!everywhere.contains("ghp_githubcomsecret"), "{everywhere}");
}

#[test]
fn mirror_sidecars_export_serve_and_tamper() {
    let Some(w) = World::new() else { return };
    let wget = w.push("wget", "1.26.0");
    let oldlib = w.push("oldlib", "0.8");
    w.attest_core(&wget);
    w.attest_backfill(&oldlib, Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap());
    let formulae = w.formula_file(&[&wget, &oldlib]);

    // export-sidecars writes what a mirror serves.
    let mirror_dir = w.dir.path().join("mirror");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", w.cache())
        .env_remove("HOMEBREW_GITHUB_API_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .arg("export-sidecars")
        .arg("--out")
        .arg(&mirror_dir)
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-json")
        .arg(&formulae)
        .args([
            "--api-url",
            &w.api.url(),
            "--bottle-tag",
            TAG,
            "wget",
            "oldlib",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let sidecar = mirror_dir.join(format!("{}.sigs", wget.bottle(TAG).filename));
    let array: Vec<Value> = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
    assert_eq!(array.len(), 1);

    // A mirror serving bottles and sidecars; attestations from the mirror only.
    let mirror = StaticServer::start(mirror_dir.clone());
    let fresh_cache = w.dir.path().join("cache2");
    let api_before = w.api.request_counts().api;
    let run_mirror = |names: &[&str]| {
        workspace_bin("brew-verify")
            .env("HOMEBREW_BOTTLE_DOMAIN", &mirror.url)
            .env("HOMEBREW_GITHUB_API_TOKEN", "ghp_never_to_the_mirror")
            .arg("--json")
            .arg("--cache-dir")
            .arg(&fresh_cache)
            .arg("--no-cache")
            .arg("--trusted-root")
            .arg(w.root_file())
            .arg("--formula-json")
            .arg(&formulae)
            .args(["--attestations-from", "mirror", "--bottle-tag", TAG])
            .args(names)
            .output()
            .unwrap()
    };
    let out = run_mirror(&["wget", "oldlib"]);
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        results[1]["source"], "backfill",
        "backfill subject rebuilt on the default domain"
    );
    assert_eq!(
        w.api.request_counts().api,
        api_before,
        "mirror mode asked the API"
    );
    assert!(
        mirror
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|(_, auth)| !auth)
    );

    // Default `--attestations-from api`, but the API is unreachable and the bottle domain is a
    // mirror: its sidecars answer instead.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_api = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_BOTTLE_DOMAIN", &mirror.url)
        .arg("--json")
        .arg("--no-cache")
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-json")
        .arg(&formulae)
        .args(["--api-url", &dead_api, "--bottle-tag", TAG, "wget"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A missing sidecar is "missing" (exit 3), not "no such bottle".
    std::fs::remove_file(mirror_dir.join(format!("{}.sigs", oldlib.bottle(TAG).filename))).unwrap();
    let out = run_mirror(&["oldlib"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    // A tampered sidecar fails verification (exit 1).
    let mut tampered = array.clone();
    let payload = tampered[0]["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = base64_decode(&payload);
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    tampered[0]["dsseEnvelope"]["payload"] = Value::String(base64_encode(&bytes));
    std::fs::write(&sidecar, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = run_mirror(&["wget"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// brew-verify with the world's trusted root and formulae and a clean environment.
fn brew_verify(w: &World, formulae: &Path) -> std::process::Command {
    let mut cmd = w.command();
    cmd.arg("--formula-json")
        .arg(formulae)
        .args(["--bottle-tag", TAG]);
    cmd
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn a_fallback_mirror_sidecar_never_lets_the_backfill_decide() {
    // Issue 10, item 2: the API is unreachable and the bottle domain is a mirror whose sidecar
    // holds only a (valid) backfill bundle. The mirror's silence about homebrew-core is not
    // the API's authoritative "none": could not check (exit 4), never "verified by backfill".
    let Some(w) = World::new() else { return };
    let oldlib = w.push("oldlib", "0.7");
    w.attest_backfill(&oldlib, Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap());
    let formulae = w.formula_file(&[&oldlib]);
    let mirror_dir = w.dir.path().join("mirror");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", w.cache())
        .args(["export-sidecars", "--out"])
        .arg(&mirror_dir)
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-json")
        .arg(&formulae)
        .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "oldlib"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mirror = StaticServer::start(mirror_dir);

    let out = brew_verify(&w, &formulae)
        .env("HOMEBREW_BOTTLE_DOMAIN", &mirror.url)
        .arg("--no-cache")
        .args(["--api-url", &crate::util::dead_url(), "oldlib"])
        .output()
        .unwrap();
    let results = json_lines(&out);
    assert!(
        mirror
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|(path, _)| path.ends_with(".sigs")),
        "the fallback sidecar was not read"
    );
    assert_eq!(results[0]["status"], "error", "{out:?}");
    assert_eq!(results[0]["source"], "homebrew-core", "{out:?}");
    assert_eq!(out.status.code(), Some(4), "{out:?}");

    // Chosen explicitly (`--attestations-from mirror`), the same sidecar is authoritative.
    let out = brew_verify(&w, &formulae)
        .env("HOMEBREW_BOTTLE_DOMAIN", &mirror.url)
        .args(["--no-cache", "--attestations-from", "mirror", "oldlib"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out)[0]["source"], "backfill", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_cached_backfill_never_stands_in_for_a_fresh_core_none() {
    // Issue 10, item 3: online, the API says homebrew-core has none and the backfill
    // verifies; its bundle is cached. Later the API cannot be reached: the cached backfill
    // alone must not verify the bottle, because nothing says afresh that core has none.
    let Some(w) = World::new() else { return };
    let oldlib = w.push("oldlib", "0.6");
    w.attest_backfill(&oldlib, Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap());
    let formulae = w.formula_file(&[&oldlib]);
    let out = brew_verify(&w, &formulae)
        .args(["--api-url", &w.api.url(), "oldlib"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out)[0]["source"], "backfill", "{out:?}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let out = brew_verify(&w, &formulae)
        .args(["--api-url", &crate::util::dead_url(), "oldlib"])
        .output()
        .unwrap();
    let results = json_lines(&out);
    assert_eq!(results[0]["status"], "error", "{out:?}");
    assert_eq!(results[0]["source"], "homebrew-core", "{out:?}");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
}

#[test]
fn a_cached_bundle_that_fails_is_fetched_again_online() {
    // Issue 10, item 3, the other direction: a bad bundle in the cache (planted, or one that
    // failed) must not keep a bottle invalid once a good attestation exists: online, a cached
    // set that does not pass is looked up again and the entry replaced.
    let Some(w) = World::new() else { return };
    let wget = w.push("wget", "1.23.0");
    w.attest_core(&wget);
    let formulae = w.formula_file(&[&wget]);
    let b = wget.bottle(TAG);
    let entry = w
        .cache()
        .join("brew-verify/attestations/homebrew/homebrew-core")
        .join(format!("sha256-{}.jsonl", b.sha256.to_hex()));
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    std::fs::write(&entry, "{\"mediaType\": \"not a bundle\"}\n").unwrap();

    let before = w.api.request_counts().api;
    let out = brew_verify(&w, &formulae)
        .args(["--api-url", &w.api.url(), "wget"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out)[0]["status"], "verified", "{out:?}");
    assert!(w.api.request_counts().api > before, "the API was not asked");
    let replaced = std::fs::read_to_string(&entry).unwrap();
    assert!(!replaced.contains("not a bundle"), "{replaced}");
}

#[test]
fn formulae_resolve_only_through_the_signed_api_document() {
    // Issue 14: a formula name is resolved through the formula API's signed index only
    // (`formula.jws.json`, verified as brew verifies it), never through unsigned JSON: a
    // server that rolls a formula back to an older, validly attested bottle is refused.
    let Some(w) = World::new() else { return };
    let old = w.push("wget", "1.21.0");
    let new = w.push("wget", "1.25.0");
    w.attest_core(&old);
    w.attest_core(&new);
    let signer = crate::util::ApiSigner::new();
    let key = write(&w.dir, "api-key.pem", &signer.public_pem());
    let api_dir = w.dir.path().join("api");
    std::fs::create_dir_all(api_dir.join("formula")).unwrap();
    let current = formula_json(&[(&new, &[][..])]).to_string();
    std::fs::write(api_dir.join("formula.jws.json"), signer.sign(&current)).unwrap();
    let api = StaticServer::start(api_dir.clone());
    let run = || {
        w.command()
            .env("HOMEBREW_API_DOMAIN", &api.url)
            .arg("--formula-api-key")
            .arg(&key)
            .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "wget"])
            .output()
            .unwrap()
    };
    let out = run();
    let results = json_lines(&out);
    assert_eq!(results[0]["status"], "verified", "{out:?}");
    assert_eq!(results[0]["bottle"]["version"], "1.25.0", "{out:?}");
    // The report names the signed document the digest came from (issue 14).
    let data = &results[0]["formula_data"];
    assert_eq!(data["source"], "signed-api", "{data}");
    assert_eq!(data["key_id"], "homebrew-1", "{data}");
    assert_eq!(
        data["url"],
        format!("{}/formula.jws.json", api.url),
        "{data}"
    );
    // And --explain says so, in words, as what the pass rests on.
    let out = w
        .command()
        .env("HOMEBREW_API_DOMAIN", &api.url)
        .arg("--formula-api-key")
        .arg(&key)
        .args([
            "--api-url",
            &w.api.url(),
            "--bottle-tag",
            TAG,
            "--explain",
            "wget",
        ])
        .output()
        .unwrap();
    let explained = json_lines(&out)[0]["explanation"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        explained.contains(&format!(
            "The sha256 is the one Homebrew's signed formula API names for this formula and tag:\n        {}/formula.jws.json, signed by key homebrew-1 (signature verified)",
            api.url
        )),
        "{explained}"
    );
    // A --formula-json file is named as what it is: taken as given.
    let file = write(&w.dir, "formula.json", &current);
    let (out, results) = w.run(&file, &["--bottle-tag", TAG, "--explain", "wget"]);
    assert_eq!(
        results[0]["formula_data"]["source"], "formula-json",
        "{out:?}"
    );
    assert!(
        results[0]["explanation"]
            .as_str()
            .unwrap_or_default()
            .contains("the --formula-json file you gave names the bottle brew expects"),
        "{out:?}"
    );

    // The API rolls wget back to 1.21.0 (validly attested!) without the key: refused.
    let rollback = formula_json(&[(&old, &[][..])]).to_string();
    let signed_doc = signer.sign(&current);
    std::fs::write(
        api_dir.join("formula.jws.json"),
        signed_doc.replace(
            &current.replace('"', "\\\""),
            &rollback.replace('"', "\\\""),
        ),
    )
    .unwrap();
    // The per-formula JSON is there too, unsigned: never read.
    std::fs::write(api_dir.join("formula/wget.json"), &rollback).unwrap();
    let fresh_cache = w.dir.path().join("fresh-cache");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_API_DOMAIN", &api.url)
        .env("HOMEBREW_CACHE", &fresh_cache)
        .arg("--json")
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-api-key")
        .arg(&key)
        .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "wget"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("signature does not match"), "{text}");
    assert!(
        !api.requests
            .lock()
            .unwrap()
            .iter()
            .any(|(p, _)| p.contains("/formula/wget.json")),
        "the unsigned per-formula JSON was read"
    );

    // Unsigned (no signed index at all): refused, not resolved from `formula/wget.json`.
    std::fs::remove_file(api_dir.join("formula.jws.json")).unwrap();
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_API_DOMAIN", &api.url)
        .env("HOMEBREW_CACHE", w.dir.path().join("cache-3"))
        .arg("--trusted-root")
        .arg(w.root_file())
        .arg("--formula-api-key")
        .arg(&key)
        .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "wget"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("no signature by key `homebrew-1`"), "{err}");

    // With Homebrew's own key (the default), the test key's signature is refused too.
    std::fs::write(api_dir.join("formula.jws.json"), signer.sign(&current)).unwrap();
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_API_DOMAIN", &api.url)
        .env("HOMEBREW_CACHE", w.dir.path().join("cache-4"))
        .env_remove("HOMEBREW_BREW_VERIFY_FORMULA_API_KEY")
        .arg("--trusted-root")
        .arg(w.root_file())
        .args(["--api-url", &w.api.url(), "--bottle-tag", TAG, "wget"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("signature does not match"), "{err}");
}
