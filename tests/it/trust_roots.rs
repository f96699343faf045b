//! The trusted roots as a user meets them without a reachable TUF repository (issue 14): the
//! embedded roots, said so everywhere a report names its root, and `trust refresh` failing with
//! the reason while the roots in use stay. The rotation and attack cases against a real TUF
//! repository on loopback are in `tuf_rotation.rs`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{temp_dir, workspace_bin};

fn brew_verify(cache: &Path) -> Command {
    let mut cmd = workspace_bin("brew-verify");
    cmd.env("HOMEBREW_CACHE", cache)
        .env_remove("HOMEBREW_BREW_VERIFY_CACHE_DIR")
        .env_remove("HOMEBREW_BREW_VERIFY_TRUSTED_ROOT");
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

const TY_BUNDLE: &str = "examples/ty-0.0.11-homebrew-core.sigstore.json";
const TY_ARM64_SONOMA: &str =
    "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28";

fn workspace_file(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

#[test]
fn trust_refresh_against_an_unreachable_repository_exits_4_and_keeps_the_embedded_roots() {
    let dir = temp_dir();
    let out = brew_verify(dir.path())
        .args(["trust", "refresh", "--json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Sigstore public-good TUF repository:")
            && stderr.contains("GitHub Sigstore TUF repository:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("127.0.0.1:9"),
        "names the repository: {stderr}"
    );
    let shown = json(&out);
    let roots = shown["roots"].as_array().expect("roots");
    assert_eq!(roots.len(), 2);
    assert_eq!(roots[0]["instance"], "public-good");
    assert_eq!(roots[1]["instance"], "github");
    for root in roots {
        assert_eq!(root["source"], "embedded", "{root}");
        assert!(root["refresh_error"].is_string(), "{root}");
        assert!(root["tuf_version"].is_null() && root["fetched_at"].is_null());
        assert_eq!(root["trusted_root_sha256"].as_str().map(str::len), Some(64));
        assert!(
            root["authorities"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["kind"] == "fulcio")),
            "{root}"
        );
    }
    // The public-good root trusts a Rekor log; GitHub's has none (its attestations carry
    // RFC 3161 timestamps only).
    let kinds = |root: &Value| -> Vec<String> {
        root["authorities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(kinds(&roots[0]).contains(&"rekor".to_owned()));
    assert!(!kinds(&roots[1]).contains(&"rekor".to_owned()));
    // Nothing half-written was left behind, and the cache is private.
    let tuf = dir.path().join("brew-verify/tuf");
    for entry in std::fs::read_dir(&tuf).expect("tuf dir") {
        let repo = entry.unwrap().path();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&repo).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", repo.display());
        assert!(
            !repo.join("targets").exists() && !repo.join("timestamp.json").exists(),
            "nothing fetched, nothing kept"
        );
    }
}

#[test]
fn trust_show_offline_asks_nothing_and_names_the_embedded_roots() {
    let dir = temp_dir();
    let out = brew_verify(dir.path())
        .args(["trust", "show", "--offline", "--json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shown = json(&out);
    for root in shown["roots"].as_array().unwrap() {
        assert_eq!(root["source"], "embedded");
        assert!(
            root["refresh_error"].is_null(),
            "offline is not a failure: {root}"
        );
    }
    assert!(
        !dir.path().join("brew-verify/tuf").exists(),
        "offline writes nothing"
    );
    let text = brew_verify(dir.path())
        .args(["trust", "show", "--offline"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("==> The embedded Sigstore public-good root")
            && text.contains("==> The embedded GitHub Sigstore root")
            && text.contains("fulcio"),
        "{text}"
    );
}

#[test]
fn a_report_names_its_root_and_a_failed_refresh_never_changes_the_verdict() {
    let dir = temp_dir();
    let run = |extra: &[&str]| {
        let out = brew_verify(dir.path())
            .current_dir(workspace_file(""))
            .args(["--json", "--bundle", TY_BUNDLE])
            .args(["--name", "ty--0.0.11.arm64_sonoma.bottle.tar.gz"])
            .args(extra)
            .arg(TY_ARM64_SONOMA)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        json(&out)
    };
    // Online with the repository unreachable: verified under the embedded root, with why.
    let first = run(&[]);
    assert_eq!(first["status"], "verified");
    let root = &first["trust_root"];
    assert_eq!(root["instance"], "public-good");
    assert_eq!(root["source"], "embedded");
    assert!(
        root["refresh_error"]
            .as_str()
            .is_some_and(|e| e.contains("127.0.0.1:9")),
        "{root}"
    );
    // Within the hour after a failure no refresh is tried again: no error to report.
    let second = run(&[]);
    assert_eq!(second["trust_root"]["source"], "embedded");
    assert!(second["trust_root"]["refresh_error"].is_null(), "{second}");
    // `--refresh-trust` asks now anyway (and fails the same way, without touching the verdict).
    let forced = run(&["--refresh-trust"]);
    assert!(
        forced["trust_root"]["refresh_error"].is_string(),
        "{forced}"
    );
    // `--explain` names the root.
    let explained = run(&["--explain", "--offline"]);
    let text = explained["explanation"].as_str().unwrap_or_default();
    assert!(
        text.contains("Trusted root: the embedded Sigstore public-good root"),
        "{text}"
    );
    assert!(
        explained["trust_root"]["refresh_error"].is_null(),
        "offline is not a failed refresh: {explained}"
    );
}

#[test]
fn refresh_trust_conflicts_with_offline_and_a_pinned_root() {
    let dir = temp_dir();
    for extra in [
        &["--offline"][..],
        &["--trusted-root", "/nonexistent.json"][..],
    ] {
        let out = brew_verify(dir.path())
            .arg("--refresh-trust")
            .args(extra)
            .arg(TY_ARM64_SONOMA)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
            "{out:?}"
        );
    }
}

#[test]
fn a_bad_tuf_setting_is_a_clear_error() {
    let dir = temp_dir();
    let out = brew_verify(dir.path())
        .env("HOMEBREW_BREW_VERIFY_TUF_URL", "ftp://example.com/")
        .args(["trust", "show"])
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOMEBREW_BREW_VERIFY_TUF_URL") && stderr.contains("not an http(s) URL"),
        "{stderr}"
    );
    let out = brew_verify(dir.path())
        .env(
            "HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL",
            "http://tuf.example.com/",
        )
        .args(["trust", "show"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL")
            && stderr.contains("plain http only on loopback"),
        "{stderr}"
    );
    let out = brew_verify(dir.path())
        .env(
            "HOMEBREW_BREW_VERIFY_TUF_ROOT",
            dir.path().join("absent.json"),
        )
        .args(["trust", "show"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOMEBREW_BREW_VERIFY_TUF_ROOT") && stderr.contains("cannot read"),
        "{stderr}"
    );
}
