//! One regression test per attack of SECURITY.md (issue 10): a hostile mirror, formula source,
//! API host or network, a cache directory, a closed pipe. Each runs the real binaries against
//! loopback servers that play the attacker ([`HostileServer`]) and asserts the specific
//! reason, not only a failure. Attacks that need signed bundles live beside their worlds
//! (`online.rs`, `gh_compat.rs`, `github_api.rs`, `ghcr.rs`) and are listed in SECURITY.md.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Hostile, HostileServer, dead_url, temp_dir, workspace_bin, write};

const TAG: &str = "arm64_sonoma";
const TOKEN: &str = "ghp_usersecrettoken000000000000000000";
const REGISTRY_TOKEN: &str = "registry-secret-bearer";
/// `user:registry-secret-password`, base64.
const REGISTRY_BASIC: &str = "dXNlcjpyZWdpc3RyeS1zZWNyZXQtcGFzc3dvcmQ=";

/// brew-verify with a clean environment rooted in `home`, every credential the user could
/// have set, and no network setting of the developer's machine.
fn brew_verify(home: &std::path::Path) -> Command {
    let mut cmd = workspace_bin("brew-verify");
    cmd.env_clear();
    crate::util::no_tuf(&mut cmd)
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("HOMEBREW_CACHE", home.join("cache"))
        .env("HOMEBREW_GITHUB_API_TOKEN", TOKEN)
        .env("GH_TOKEN", TOKEN)
        .env("GITHUB_TOKEN", TOKEN)
        .env("HOMEBREW_DOCKER_REGISTRY_TOKEN", REGISTRY_TOKEN)
        .env("HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN", REGISTRY_BASIC)
        .current_dir(home);
    cmd
}

/// No request head the server saw carries any of the user's credentials; the only
/// `Authorization` allowed is the token the server minted itself (a registry's token flow).
fn assert_no_secret_reached(server: &HostileServer) {
    for head in server.heads() {
        let foreign_auth = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("authorization:") && l.trim() != "authorization: bearer hostile-minted"
        });
        assert!(
            !foreign_auth
                && !head.contains(TOKEN)
                && !head.contains(REGISTRY_TOKEN)
                && !head.contains(REGISTRY_BASIC),
            "a credential reached {}:\n{head}",
            server.url
        );
    }
}

/// A bottle file with made-up bytes, named as brew names it.
fn bottle_file(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}--1.0.{TAG}.bottle.tar.gz"));
    std::fs::write(&path, format!("the bytes of {name}")).expect("bottle");
    path
}

/// The JSON lines of a `--json` run.
fn results(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Everything the run printed (the report on stdout, diagnostics on stderr).
fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A formula whose bottle root is `root`.
fn formula_json(root: &str) -> String {
    let sha = "ab".repeat(32);
    json!([{
        "name": "evil",
        "full_name": "evil",
        "versions": {"stable": "1.0", "head": null, "bottle": true},
        "revision": 0,
        "dependencies": [],
        "bottle": {"stable": {
            "rebuild": 0,
            "root_url": root,
            "files": {TAG: {
                "cellar": ":any",
                "url": format!("{root}/evil/blobs/sha256:{sha}"),
                "sha256": sha,
            }},
        }},
    }])
    .to_string()
}

/// A registry that wants a token and hands out its own: what a hostile formula source points
/// bottles at to collect the user's registry credentials.
fn hostile_registry() -> HostileServer {
    HostileServer::start(vec![
        (
            "/v2/",
            Hostile::Reply(
                401,
                vec![(
                    "WWW-Authenticate",
                    r#"Bearer realm="{self}/token",service="evil",scope="repository:evil/evil:pull""#
                        .into(),
                )],
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                    .to_vec(),
            ),
        ),
        (
            "/token",
            Hostile::Reply(200, Vec::new(), br#"{"token":"hostile-minted"}"#.to_vec()),
        ),
    ])
}

#[test]
fn registry_credentials_never_follow_a_formula_root_url() {
    // Item 1: formula JSON (from a mirror API domain or a tap) names a bottle root on the
    // attacker's registry. Neither the bearer token nor the basic credential may go there,
    // nor to the token endpoint its challenge names.
    let dir = temp_dir();
    let evil = hostile_registry();
    let formulae = write(
        &dir,
        "formula.json",
        &formula_json(&format!("{}/v2/evil", evil.url)),
    );
    let out = brew_verify(dir.path())
        .args(["--json", "--bottle-tag", TAG, "--api-url", &dead_url()])
        .arg("--formula-json")
        .arg(&formulae)
        .arg("evil")
        .output()
        .expect("run");
    assert!(
        evil.heads().iter().any(|h| h.starts_with("GET /v2/")),
        "the registry step never ran: {}",
        stderr(&out)
    );
    assert_no_secret_reached(&evil);
    // Anonymous, refused: could not check (exit 4), naming what was presented.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = &results(&out)[0];
    assert_eq!(r["status"], "error", "{r}");
}

#[test]
fn registry_credentials_never_go_to_a_bottle_domain_mirror() {
    // Item 1: HOMEBREW_BOTTLE_DOMAIN names an OCI-looking mirror (`/v2/` path). The formula's
    // bottles are on ghcr.io; the mirror gets no credential unless named with --registry-host.
    let dir = temp_dir();
    let evil = hostile_registry();
    let formulae = write(
        &dir,
        "formula.json",
        &formula_json("https://ghcr.io/v2/homebrew/core"),
    );
    let out = brew_verify(dir.path())
        .env("HOMEBREW_BOTTLE_DOMAIN", format!("{}/v2/mirror", evil.url))
        .args(["--json", "--bottle-tag", TAG, "--api-url", &dead_url()])
        .arg("--formula-json")
        .arg(&formulae)
        .arg("evil")
        .output()
        .expect("run");
    assert!(
        evil.heads().iter().any(|h| h.starts_with("GET /v2/")),
        "{}",
        stderr(&out)
    );
    assert_no_secret_reached(&evil);

    // Named explicitly, the user's token does go there (and only the token flow's own token
    // comes back): the option is the way to use a private registry.
    let named = hostile_registry();
    let _ = brew_verify(dir.path())
        .env("HOMEBREW_BOTTLE_DOMAIN", format!("{}/v2/mirror", named.url))
        .env_remove("HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN")
        .args(["--json", "--bottle-tag", TAG, "--api-url", &dead_url()])
        .args(["--registry-host", named.authority()])
        .arg("--formula-json")
        .arg(&formulae)
        .arg("evil")
        .output()
        .expect("run");
    assert!(
        named
            .heads()
            .iter()
            .any(|h| h.contains(&format!("Bearer {REGISTRY_TOKEN}"))),
        "{:?}",
        named.heads()
    );
}

#[test]
fn a_redirect_to_another_host_drops_the_token() {
    // Item 1 (and 5): the API host answers with a redirect to another origin; the token bound
    // to the API host must not follow it.
    let dir = temp_dir();
    let elsewhere = HostileServer::start(vec![(
        "/",
        Hostile::Reply(200, Vec::new(), br#"{"attestations":[]}"#.to_vec()),
    )]);
    let api = HostileServer::start(vec![(
        "/repos/",
        Hostile::Reply(
            302,
            vec![("Location", format!("{}/stolen", elsewhere.url))],
            Vec::new(),
        ),
    )]);
    let bottle = bottle_file(dir.path(), "wget");
    let out = brew_verify(dir.path())
        .env("GH_ENTERPRISE_TOKEN", TOKEN)
        .args(["--json", "--no-cache", "--api-url", &api.url])
        .arg(&bottle)
        .output()
        .expect("run");
    assert!(
        api.heads()
            .iter()
            .any(|h| h.contains(&format!("Bearer {TOKEN}"))),
        "the enterprise token should reach its own API host: {:?}",
        api.heads()
    );
    assert!(!elsewhere.heads().is_empty(), "{}", stderr(&out));
    assert_no_secret_reached(&elsewhere);
}

#[test]
fn an_unreachable_api_with_a_fallback_mirror_is_could_not_check_never_missing() {
    // Item 2: the API cannot be reached and a bottle mirror is set; the mirror answers 404
    // (no sidecar). That is not an authoritative "none" for homebrew-core, so the bottle is
    // "could not check" (exit 4) and the backfill is never consulted as if core were missing.
    let dir = temp_dir();
    let mirror = HostileServer::start(Vec::new());
    let bottle = bottle_file(dir.path(), "oldlib");
    let out = brew_verify(dir.path())
        .env("HOMEBREW_BOTTLE_DOMAIN", &mirror.url)
        .args(["--json", "--no-cache", "--api-url", &dead_url()])
        .arg(&bottle)
        .output()
        .expect("run");
    assert!(
        mirror.heads().iter().any(|h| h.contains(".sigs")),
        "the fallback mirror was not asked: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = &results(&out)[0];
    assert_eq!(r["status"], "error", "{r}");
    assert_eq!(r["source"], "homebrew-core", "{r}");
}

#[test]
fn no_cache_is_made_in_the_working_directory() {
    // Item 3: without HOME and HOMEBREW_CACHE there is no cache directory to use; brew-verify
    // says so instead of writing `./.brew-verify-cache` where it happens to run.
    let dir = temp_dir();
    let bottle = bottle_file(dir.path(), "wget");
    let mut cmd = workspace_bin("brew-verify");
    cmd.env_clear();
    let out = crate::util::no_tuf(&mut cmd)
        .env("PATH", "/usr/bin:/bin")
        .current_dir(dir.path())
        .args(["--api-url", &dead_url()])
        .arg(&bottle)
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("HOMEBREW_CACHE"), "{err}");
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "something was written to the cwd: {entries:?}"
    );
}

#[test]
fn a_cache_directory_others_can_write_is_refused() {
    // Item 3: a group- or world-writable cache lets another local user plant attestations;
    // it is refused, as ssh refuses such files, with the fix in the message.
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir();
    let cache = dir.path().join("shared-cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bottle = bottle_file(dir.path(), "wget");
    let out = brew_verify(dir.path())
        .args(["--api-url", &dead_url(), "--cache-dir"])
        .arg(&cache)
        .arg(&bottle)
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("group or others may write to it"), "{err}");
    assert!(err.contains("chmod go-w"), "{err}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
}

#[test]
fn a_huge_api_answer_is_cut_off_at_its_cap() {
    // Item 4: an API host that streams without end, or announces gigabytes, cannot make the
    // process buffer more than the page cap (32 MiB).
    let dir = temp_dir();
    let bottle = bottle_file(dir.path(), "wget");
    let endless = HostileServer::start(vec![("/repos/", Hostile::Endless)]);
    let out = brew_verify(dir.path())
        .args(["--json", "--no-cache", "--api-url", &endless.url])
        .arg(&bottle)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let why = results(&out)[0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(why.contains("larger than 32 MiB"), "{why}");
    // What the server managed to push: the cap plus what sockets buffer, not gigabytes.
    let pushed = endless
        .bytes_written
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(pushed < 96 << 20, "{pushed} bytes were accepted");

    let announced = HostileServer::start(vec![("/repos/", Hostile::Announce(10 << 30))]);
    let out = brew_verify(dir.path())
        .args(["--json", "--no-cache", "--api-url", &announced.url])
        .arg(&bottle)
        .output()
        .expect("run");
    let why = results(&out)[0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(why.contains("larger than 32 MiB"), "{why}");
}

#[test]
fn a_huge_formula_answer_is_cut_off_at_its_cap() {
    // Item 4: a hostile formula API domain (HOMEBREW_API_DOMAIN) streaming without end.
    let dir = temp_dir();
    let endless = HostileServer::start(vec![("/", Hostile::Endless)]);
    let out = brew_verify(dir.path())
        .env("HOMEBREW_API_DOMAIN", &endless.url)
        .args(["--json", "--bottle-tag", TAG, "--api-url", &dead_url()])
        .arg("wget")
        .output()
        .expect("run");
    let err = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(4), "{err}");
    // The signed index's cap (96 MiB): the only formula document read from the API.
    assert!(err.contains("larger than 96 MiB"), "{err}");
}

#[test]
fn gh_mode_never_sends_github_tokens_to_another_api_host() {
    // Item 5: HOMEBREW_BREW_VERIFY_API_URL (or GH_HOST) names a host that is not github.com:
    // GH_TOKEN, GITHUB_TOKEN and HOMEBREW_GITHUB_API_TOKEN are github.com credentials and stay
    // home, as gh does.
    let dir = temp_dir();
    let api = HostileServer::start(vec![(
        "/repos/",
        Hostile::Reply(200, Vec::new(), br#"{"attestations":[]}"#.to_vec()),
    )]);
    let bottle = bottle_file(dir.path(), "wget");
    let out = brew_verify(dir.path())
        .env("GH_HOST", "github.com")
        .env("HOMEBREW_BREW_VERIFY_API_URL", &api.url)
        .args(["gh", "attestation", "verify"])
        .arg(&bottle)
        .args(["--repo", "Homebrew/homebrew-core", "--format", "json"])
        .output()
        .expect("run");
    assert!(!api.heads().is_empty(), "{}", stderr(&out));
    assert_no_secret_reached(&api);
    // And the empty list is the "missing" brew recognises.
    assert!(
        stderr(&out).contains("\nError: no attestations found\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_blackholed_api_costs_one_deadline_not_minutes() {
    // Item 7: a host that accepts and never answers. One bottle gives up at its deadline
    // (--timeout), naming the cause and what to do; the bound below is generous (a deadline
    // of 3 s against the 242 s this took before), not a speed measurement.
    let dir = temp_dir();
    let blackhole = HostileServer::start(vec![("/", Hostile::Blackhole)]);
    let bottle = bottle_file(dir.path(), "wget");
    // The command is made before the clock starts: the first `workspace_bin` of a test run
    // may build the binary, which is not part of the deadline (CI once counted 35 s of it).
    let mut cmd = brew_verify(dir.path());
    cmd.args(["--no-cache", "--timeout", "3", "--api-url", &blackhole.url])
        .arg(&bottle);
    let started = Instant::now();
    let out = cmd.output().expect("run");
    let took = started.elapsed();
    let err = printed(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(err.contains("gave up after 3 seconds"), "{err}");
    assert!(err.contains("--offline"), "{err}");

    // gh mode under brew: the same deadline from HOMEBREW_BREW_VERIFY_TIMEOUT, and the answer
    // is not "missing" (brew must not fall back to the backfill on a network failure).
    let mut cmd = brew_verify(dir.path());
    cmd.env("HOMEBREW_BREW_VERIFY_API_URL", &blackhole.url)
        .env("HOMEBREW_BREW_VERIFY_TIMEOUT", "3")
        .env("HOMEBREW_BREW_VERIFY_NO_CACHE", "1")
        .args(["gh", "attestation", "verify"])
        .arg(&bottle)
        .args(["--repo", "Homebrew/homebrew-core", "--format", "json"]);
    let started = Instant::now();
    let out = cmd.output().expect("run");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!err.contains("HTTP 404: Not Found"), "{err}");
    assert!(!err.contains(": no attestations found\n"), "{err}");
}

#[test]
fn a_failing_api_is_retried_with_a_line_per_retry() {
    // Item 7: connections that are cut: each retry is announced on stderr, and the final
    // error names the cause.
    let dir = temp_dir();
    let hangup = HostileServer::start(vec![("/", Hostile::Hangup)]);
    let bottle = bottle_file(dir.path(), "wget");
    let out = brew_verify(dir.path())
        .args(["--no-cache", "--api-url", &hangup.url])
        .arg(&bottle)
        .output()
        .expect("run");
    let err = printed(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    for n in 2..=4 {
        assert!(err.contains(&format!("retrying ({n}/4) after")), "{err}");
    }
    assert!(err.contains("after 4 attempts"), "{err}");
    assert_eq!(hangup.heads().len(), 4);
}

#[test]
fn a_closed_stdout_never_turns_a_failure_into_success() {
    // Item 8: `brew-verify … | true` under pipefail: the reader is gone, the verdict stands.
    let dir = temp_dir();
    let bottle = bottle_file(dir.path(), "wget");
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/corpus/bundles/other/sjs-bundleV03-dsse.sigstore.json"
    );
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = brew_verify(dir.path())
        .arg("--json")
        .args(["--bundle", bundle])
        .arg(&bottle)
        .stdout(writer)
        .output()
        .expect("run");
    // The bundle is not homebrew-core's: "missing" (3), or 141 if nothing was decided yet.
    assert!(
        matches!(out.status.code(), Some(3 | 141)),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
}

#[test]
fn security_md_names_only_tests_that_exist() {
    // The threat model cites a test for every row; a renamed or deleted test must not leave a
    // row without its proof.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("SECURITY.md")).expect("SECURITY.md");
    let mut sources = String::new();
    let mut stack = vec![
        root.join("shared"),
        root.join("verify"),
        root.join("backfill"),
        root.join("tests"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") && !path.ends_with("corpus") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let cited: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.contains("::")
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == ':')
        })
        .collect();
    assert!(cited.len() >= 20, "{cited:?}");
    for test in cited {
        let name = test.rsplit("::").next().unwrap_or_default();
        assert!(
            sources.contains(&format!("fn {name}(")),
            "SECURITY.md cites `{test}`, which is not a test in the tree"
        );
    }
}
