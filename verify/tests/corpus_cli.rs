//! Every corpus case gives its expected verdict through `brew-verify bundle`, and the exit codes
//! of the `bundle` contract hold (0 verified, 1 not verified, 2 usage only).

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/corpus")
}

fn brew_verify() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brew-verify"))
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    bundle: String,
    input: String,
    identity: String,
    issuer: String,
    root: String,
    expected: String,
}

/// `schemas/bundle-v2.schema.json` (draft 2020-12), which every `--json` output must match.
fn bundle_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/bundle-v2.schema.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&doc)
        .unwrap()
}

#[test]
fn every_corpus_case_through_the_bundle_subcommand() {
    let schema = bundle_schema();
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("cases.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), 67);
    let mut wrong = Vec::new();
    for case in &cases {
        let mut cmd = brew_verify();
        cmd.current_dir(corpus())
            .args(["bundle", "--json", "--bundle", &case.bundle])
            .args(["--cert-identity", &case.identity])
            .args(["--cert-oidc-issuer", &case.issuer]);
        match case.root.as_str() {
            // The public-good root alone (the corpus copy is the embedded one, byte for
            // byte): what `production` meant before GitHub's root was embedded beside it.
            "production" => {
                cmd.args(["--trusted-root", "roots/trusted_root.production.json"]);
            }
            // The embedded roots, public-good and GitHub's: the default.
            "production+github" => {}
            "staging" => {
                cmd.args(["--trusted-root", "roots/trusted_root.staging.json"]);
            }
            other => {
                cmd.args(["--trusted-root", other]);
            }
        }
        let out = cmd.arg(&case.input).output().unwrap();
        let code = out.status.code();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e}): {:?}", case.id, out));
        let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            wrong.push(format!(
                "{}: output does not match bundle-v2.schema.json: {}: {json}",
                case.id,
                errors.join("; ")
            ));
        }
        let expected_code = if case.expected == "PASS" { 0 } else { 1 };
        if code != Some(expected_code) || json["verified"] != (expected_code == 0) {
            wrong.push(format!(
                "{}: expected {}, got exit {code:?} {json}",
                case.id, case.expected
            ));
        }
        if expected_code == 1 {
            // A failure always says why.
            let has_reason = json["error"].is_string()
                || json["bundles"]
                    .as_array()
                    .is_some_and(|b| b.iter().all(|r| r["error"].is_string()));
            assert!(has_reason, "{}: failure without a reason: {json}", case.id);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn bundle_usage_errors_exit_2_and_missing_files_exit_1() {
    let out = brew_verify()
        .args(["bundle", "--bundle", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = brew_verify()
        .args(["bundle", "--bundle", "/nonexistent.json"])
        .args(["--cert-identity", "a", "--cert-oidc-issuer", "b"])
        .arg("sha256:cd53809273ad6011fdd98e0244c5c2276b15f3dd1294e4715627ebd4f9c6e0f1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.json"));
    let out = brew_verify()
        .args([
            "bundle",
            "--bundle",
            "x",
            "--cert-identity",
            "a",
            "--cert-oidc-issuer",
            "b",
        ])
        .arg("sha256:nothex")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn api_body_and_jsonl_inputs_verify() {
    let c = corpus();
    for (bundle, digest, identity) in [
        (
            "bundles/api/konnekt-v0.2.0-alpha.2-linux-amd64.attestations-api.json",
            "sha256:a2350aa265fcd23a12b42a35aed4dc6098f4c7898a1fffdcc04687e6a0d85d90",
            "https://github.com/kollektiv-mc/Konnekt/.github/workflows/release.yml@refs/heads/main",
        ),
        (
            "bundles/gh-actions/cli-sigstore-js-2.1.0_with_2_bundles.jsonl",
            "artifacts/sigstore-js-2.1.0.tgz",
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        ),
    ] {
        let out = brew_verify()
            .current_dir(&c)
            .args(["bundle", "--bundle", bundle, "--cert-identity", identity])
            .args([
                "--cert-oidc-issuer",
                "https://token.actions.githubusercontent.com",
            ])
            .arg(digest)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{bundle}: {out:?}");
    }
}
