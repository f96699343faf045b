//! A bundle signed under keys the trusted root does not know (a Fulcio CA, a Rekor log or a CT
//! log newer than the embedded root) fails, and the message says the root may be stale and how
//! to update it (issue 13). The kit's own Sigstore stack stands in for a newer public-good
//! instance: its keys are in no embedded root.

use std::process::Output;

use serde_json::json;
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::json_output::checked_lines;
use crate::util::{temp_dir, workspace_bin, write};

const CORE_WORKFLOW: &str = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
const GHA_ISSUER: &str = "https://token.actions.githubusercontent.com";
const HINT: &str = "the trusted root may be stale";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Signed {
    _dir: tempfile::TempDir,
    bottle: std::path::PathBuf,
    bundle: std::path::PathBuf,
    root: std::path::PathBuf,
}

fn signed() -> Signed {
    let dir = temp_dir();
    let stack = SigstoreStack::start();
    let contents = b"a bottle from a newer Sigstore instance";
    let name = "newer--1.0.arm64_sonoma.bottle.tar.gz";
    let bottle = write(&dir, name, std::str::from_utf8(contents).unwrap());
    let digest = bottle_attest::digest::sha256_bytes(contents);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_bytes());
    let id = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    );
    let bundle = stack.sign_attestation(
        &id,
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {}}),
        &[(name.to_owned(), bytes)],
    );
    let bundle = write(&dir, "newer.sigstore.json", &bundle);
    let root = write(&dir, "kit_root.json", &stack.trusted_root_json());
    Signed {
        _dir: dir,
        bottle,
        bundle,
        root,
    }
}

fn check(s: &Signed, extra: &[&str]) -> Output {
    workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["--offline", "--bundle"])
        .arg(&s.bundle)
        .args(extra)
        .arg(&s.bottle)
        .output()
        .unwrap()
}

fn bundle(s: &Signed, extra: &[&str]) -> Output {
    workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["bundle", "--bundle"])
        .arg(&s.bundle)
        .args([
            "--cert-identity",
            CORE_WORKFLOW,
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ])
        .args(extra)
        .arg(&s.bottle)
        .output()
        .unwrap()
}

#[test]
fn an_unknown_key_says_the_embedded_root_may_be_stale() {
    let s = signed();

    // The bottle check: invalid (exit 1), the verifier's reason, then the hint, on stderr.
    let out = check(&s, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("invalid attestation from homebrew-core")
            && err.contains("No log key valid at integrated time"),
        "{err}"
    );
    assert!(
        err.contains(&format!("  hint: {HINT}"))
            && err.contains("`brew-verify trust refresh`")
            && err.contains("`brew upgrade brew-verify`")
            && err.contains("`--trusted-root FILE`"),
        "{err}"
    );
    // With --json, the same hint is the object's `hint`.
    let out = check(&s, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let line = checked_lines(&out).remove(0);
    assert_eq!(line["status"], "invalid");
    assert!(
        line["hint"].as_str().unwrap_or_default().starts_with(HINT),
        "{line}"
    );

    // `bundle`: not verified (exit 1), and the same hint.
    let out = bundle(&s, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains(&format!("  hint: {HINT}")), "{err}");
    let out = bundle(&s, &["--json"]);
    let line = checked_lines(&out).remove(0);
    assert_eq!(line["verified"], false);
    assert!(
        line["hint"].as_str().unwrap_or_default().starts_with(HINT),
        "{line}"
    );

    // With the root that knows the keys it verifies, and no hint is given.
    let root = s.root.to_str().unwrap();
    let out = check(&s, &["--trusted-root", root]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!text(&out.stderr).contains("hint:"), "{out:?}");
    let out = bundle(&s, &["--trusted-root", root]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn other_failures_get_no_stale_root_hint() {
    // A bundle the root knows, for another bottle: invalid, but not for an unknown key.
    let s = signed();
    let other = write(
        &s._dir,
        "newer--1.0.arm64_sonoma.bottle.tar.gz",
        "other bytes",
    );
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["--offline", "--bundle"])
        .arg(&s.bundle)
        .args(["--trusted-root", s.root.to_str().unwrap()])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("invalid attestation"), "{err}");
    assert!(!err.contains("may be stale"), "{err}");
}
