//! What a user sees for bad input (issue 13): the actual problem named, on stderr, with an exit
//! status that means something.

use std::process::Output;

use serde_json::json;

use crate::util::{temp_dir, workspace_bin, write};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_mistyped_formula_gets_brews_did_you_mean() {
    let dir = temp_dir();
    let formula = |name: &str| {
        json!({"name": name, "versions": {"stable": "1.0"}, "revision": 0,
               "bottle": {"stable": {"rebuild": 0, "root_url": "https://ghcr.io/v2/homebrew/core", "files": {}}}})
    };
    let formulae = write(
        &dir,
        "formula.json",
        &json!([formula("wget"), formula("wget2"), formula("curl")]).to_string(),
    );
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .args(["--offline", "--bottle-tag", "sonoma", "--formula-json"])
        .arg(&formulae)
        .arg("wgte")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(r#"No available formula with the name "wgte". Did you mean wget or wget2?"#),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_html_page_given_as_a_bundle_is_named_as_such() {
    let dir = temp_dir();
    let page = write(
        &dir,
        "bundle.json",
        "\n<!DOCTYPE html><html><body>Sign in</body></html>",
    );
    let bottle = write(&dir, "wget--1.0.sonoma.bottle.tar.gz", "bytes");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .arg("--bundle")
        .arg(&page)
        .arg(&bottle)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not a Sigstore bundle (it looks like an HTML"),
        "{err}"
    );
    assert!(!err.contains("homebrew-core"), "{err}");
}

#[test]
fn offline_download_is_refused_not_ignored() {
    let dir = temp_dir();
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .args(["--offline", "--download", "wget"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--download") && err.contains("--offline"),
        "{err}"
    );
}

#[test]
fn provenance_without_homebrew_says_so_and_exits_4() {
    let dir = temp_dir();
    let out = workspace_bin("brew-verify")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.path())
        .env("HOMEBREW_PREFIX", dir.path().join("no-homebrew"))
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .arg("provenance")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("no Homebrew installation found"), "{err}");
}

#[test]
fn version_says_what_the_embedded_root_holds() {
    let out = workspace_bin("brew-verify")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("brew-verify "), "{text}");
    assert!(
        text.contains("embedded Sigstore public-good root: 2 CAs")
            && text.contains("newest key valid from 20"),
        "{text}"
    );
}
