//! `--json` (issue 13, "Output like brew and gh"): one object per input whatever happens, the
//! same timestamp shape in `result/v1` and `bundle/v2`, every field the README lists, and the
//! JSON Schemas in `schemas/` checked against the output of real runs (offline, on the shipped
//! ty attestation and on bundles the kit's Sigstore stack mints).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{temp_dir, workspace_bin, write};

/// GitHub attestation 16346368 (examples/README.md) and one of its six subjects.
pub(crate) fn ty_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ty-0.0.11-homebrew-core.sigstore.json")
}
pub(crate) const TY_DIGEST: &str =
    "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28";
pub(crate) const TY_NAME: &str = "ty--0.0.11.arm64_sonoma.bottle.tar.gz";
const CORE_WORKFLOW: &str = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
const GHA_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn schema(file: &str) -> &'static jsonschema::Validator {
    static RESULT: OnceLock<jsonschema::Validator> = OnceLock::new();
    static BUNDLE: OnceLock<jsonschema::Validator> = OnceLock::new();
    let cell = match file {
        "result-v1.schema.json" => &RESULT,
        "bundle-v2.schema.json" => &BUNDLE,
        other => panic!("no schema {other}"),
    };
    cell.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas")
            .join(file);
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{file}"
        );
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&doc)
            .unwrap_or_else(|e| panic!("{file} is not a valid schema: {e}"))
    })
}

/// Every JSON line of a run's stdout, each checked against the schema it names.
pub(crate) fn checked_lines(out: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{out:?}"));
            let file = match value["schema"].as_str() {
                Some("brew-verify.result/v1") => "result-v1.schema.json",
                Some("brew-verify.bundle/v2") => "bundle-v2.schema.json",
                other => panic!("unknown schema {other:?}: {line}"),
            };
            let errors: Vec<String> = schema(file)
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{file} rejects {value:#}:\n{}",
                errors.join("\n")
            );
            value
        })
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn brew_verify() -> std::process::Command {
    let mut cmd = workspace_bin("brew-verify");
    cmd.env("HOMEBREW_NO_COLOR", "1");
    cmd
}

/// `brew-verify --offline --json --bundle FILE --name NAME DIGEST [extra…]`.
fn check(bundle: &Path, name: &str, digest: &str, extra: &[&str]) -> Output {
    brew_verify()
        .args(["--offline", "--json", "--bundle"])
        .arg(bundle)
        .args(["--name", name, digest])
        .args(extra)
        .output()
        .unwrap()
}

fn bundle_cmd(bundle: &Path, identity: &[&str], artifact: &str, extra: &[&str]) -> Output {
    brew_verify()
        .args(["bundle", "--json", "--bundle"])
        .arg(bundle)
        .args(identity)
        .args(extra)
        .arg(artifact)
        .output()
        .unwrap()
}

#[test]
fn an_unreadable_bundle_file_still_gives_one_object_per_input() {
    let dir = temp_dir();
    let bottle_a = write(&dir, "a--1.0.arm64_sonoma.bottle.tar.gz", "a");
    let bottle_b = write(&dir, "b--1.0.arm64_sonoma.bottle.tar.gz", "b");
    let out = brew_verify()
        .args(["--offline", "--json", "--bundle"])
        .arg(dir.path().join("no-such.jsonl"))
        .arg(&bottle_a)
        .arg(&bottle_b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines.len(), 2, "{out:?}");
    for (line, input) in lines.iter().zip([&bottle_a, &bottle_b]) {
        assert_eq!(line["input"], input.display().to_string());
        assert_eq!(line["status"], "error");
        assert_eq!(line["exit_code"], 4);
        assert_eq!(line["bottle"], Value::Null);
        let error = line["error"].as_str().unwrap();
        assert!(
            error.starts_with("cannot read bundle file `") && error.contains("no-such.jsonl"),
            "{error}"
        );
    }
    // And said once on stderr, as without --json.
    assert_eq!(
        stderr(&out)
            .matches("Error: cannot read bundle file")
            .count(),
        1
    );
}

#[test]
fn a_usage_error_found_after_parsing_gives_objects_with_exit_code_2() {
    let dir = temp_dir();
    let html = write(&dir, "page.json", "<!DOCTYPE html><html></html>");
    let out = check(&html, TY_NAME, TY_DIGEST, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "error");
    assert_eq!(lines[0]["exit_code"], 2);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("is not a Sigstore bundle (it looks like an HTML or XML page)"),
        "{}",
        lines[0]
    );
    assert!(stderr(&out).contains("Error: `"), "{}", stderr(&out));
}

#[test]
fn provenance_of_named_formulae_gives_one_object_each_when_the_run_stops() {
    let dir = temp_dir();
    let out = brew_verify()
        .env("HOMEBREW_CACHE", dir.path())
        .args(["provenance", "--json", "--offline", "--formula-json"])
        .arg(dir.path().join("no-such-formula.json"))
        .args(["wget", "jq"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let lines = checked_lines(&out);
    let inputs: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["wget", "jq"]);
    assert!(
        lines.iter().all(|l| l["error"]
            .as_str()
            .unwrap()
            .contains("cannot read formula JSON")),
        "{lines:?}"
    );
    assert!(
        stderr(&out).contains("Error: cannot read formula JSON"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bundle_json_with_an_unreadable_bundle_file_is_one_object() {
    let dir = temp_dir();
    let out = bundle_cmd(
        &dir.path().join("gone.json"),
        &[
            "--cert-identity",
            CORE_WORKFLOW,
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ],
        TY_DIGEST,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines.len(), 1, "{out:?}");
    assert_eq!(lines[0]["verified"], false);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot read `"),
        "{}",
        lines[0]
    );
}

#[test]
fn invalid_results_carry_source_and_source_index() {
    // The ty attestation names the arm64_sonoma bottle; asked for the sonoma one with the same
    // digest, homebrew-core's attestation is there but does not name it: invalid, source 0.
    let out = check(
        &ty_bundle(),
        "ty--0.0.11.sonoma.bottle.tar.gz",
        TY_DIGEST,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines[0]["status"], "invalid");
    assert_eq!(lines[0]["source"], "homebrew-core");
    assert_eq!(lines[0]["source_index"], 0);
    assert!(
        lines[0]["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("is named ty--0.0.11.sonoma.bottle.tar.gz"),
        "{}",
        lines[0]
    );
}

#[test]
fn result_and_bundle_write_verified_timestamps_the_same_way() {
    let result = check(&ty_bundle(), TY_NAME, TY_DIGEST, &[]);
    assert_eq!(result.status.code(), Some(0), "{result:?}");
    let bundle = bundle_cmd(
        &ty_bundle(),
        &[
            "--cert-identity",
            CORE_WORKFLOW,
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ],
        TY_DIGEST,
        &[],
    );
    assert_eq!(bundle.status.code(), Some(0), "{bundle:?}");
    let result = &checked_lines(&result)[0];
    let bundle = &checked_lines(&bundle)[0];
    let expected =
        serde_json::json!([{"kind": "transparency-log", "time": "2026-01-10T00:04:46Z"}]);
    assert_eq!(result["verified_timestamps"], expected);
    assert_eq!(bundle["bundles"][0]["verified_timestamps"], expected);
}

/// One stack for the module's kit-minted bundles.
fn stack() -> &'static SigstoreStack {
    static STACK: OnceLock<SigstoreStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let stack = SigstoreStack::start();
        // Bundles with both a Rekor time and an RFC 3161 time.
        stack.set_timestamping(true);
        stack
    })
}

#[test]
fn every_json_output_of_the_fixture_runs_matches_its_schema() {
    let dir = temp_dir();
    // The kit's Sigstore stack: a homebrew-core bundle with a TSA timestamp, a message
    // signature, and the root that trusts them.
    let s = stack();
    let root = write(&dir, "kit_root.json", &s.trusted_root_json());
    let bottle = write(
        &dir,
        "kit--1.0.arm64_sonoma.bottle.tar.gz",
        "kit bottle bytes",
    );
    let digest = bottle_attest::digest::sha256_bytes(b"kit bottle bytes");
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_bytes());
    let core = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    );
    let signed = s.sign_attestation(
        &core,
        "https://slsa.dev/provenance/v1",
        serde_json::json!({"buildDefinition": {}}),
        &[("kit--1.0.arm64_sonoma.bottle.tar.gz".to_owned(), bytes)],
    );
    let kit_bundle = write(&dir, "kit.sigstore.json", &signed);
    let blob_bundle = write(
        &dir,
        "blob.sigstore.json",
        &s.sign_blob(&core, b"kit bottle bytes"),
    );
    let empty = write(&dir, "empty.json", "[]");
    let garbage = write(&dir, "garbage.json", "{\"mediaType\": 7}");
    let root_flag = ["--trusted-root", root.to_str().unwrap()];
    let core_identity = [
        "--cert-identity",
        CORE_WORKFLOW,
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ];
    let kit_identity = [
        "--cert-identity-regexp",
        "^https://github\\.com/Homebrew/homebrew-core/",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ];
    let sonoma = "ty--0.0.11.sonoma.bottle.tar.gz";
    let other_digest = format!("sha256:{}", "a".repeat(64));
    let mut runs: Vec<(&str, Output)> = Vec::new();
    for explain in [&[][..], &["--explain"][..]] {
        runs.extend([
            ("verified", check(&ty_bundle(), TY_NAME, TY_DIGEST, explain)),
            ("invalid", check(&ty_bundle(), sonoma, TY_DIGEST, explain)),
            (
                "invalid",
                check(&ty_bundle(), sonoma, &other_digest, explain),
            ),
            ("invalid", check(&garbage, TY_NAME, TY_DIGEST, explain)),
            ("missing", check(&empty, TY_NAME, TY_DIGEST, explain)),
            (
                "error",
                check(&dir.path().join("gone"), TY_NAME, TY_DIGEST, explain),
            ),
            (
                "error",
                brew_verify()
                    .args(["--offline", "--json", "wget"])
                    .args(explain)
                    .output()
                    .unwrap(),
            ),
            (
                "verified",
                brew_verify()
                    .args(["--offline", "--json", "--bundle"])
                    .arg(&kit_bundle)
                    .args(root_flag)
                    .arg(&bottle)
                    .args(explain)
                    .output()
                    .unwrap(),
            ),
            (
                "bundle",
                bundle_cmd(&ty_bundle(), &core_identity, TY_DIGEST, explain),
            ),
            (
                "bundle",
                bundle_cmd(&ty_bundle(), &kit_identity, &other_digest, explain),
            ),
            (
                "bundle",
                bundle_cmd(&dir.path().join("gone"), &core_identity, TY_DIGEST, explain),
            ),
            (
                "bundle",
                bundle_cmd(
                    &kit_bundle,
                    &kit_identity,
                    bottle.to_str().unwrap(),
                    &[&root_flag[..], explain].concat(),
                ),
            ),
            (
                "bundle",
                bundle_cmd(
                    &blob_bundle,
                    &kit_identity,
                    bottle.to_str().unwrap(),
                    &[&root_flag[..], explain].concat(),
                ),
            ),
        ]);
    }
    let mut kinds = std::collections::BTreeSet::new();
    for (expected, out) in &runs {
        let lines = checked_lines(out);
        assert_eq!(lines.len(), 1, "{expected}: {out:?}");
        let line = &lines[0];
        if *expected == "bundle" {
            for b in line["bundles"].as_array().unwrap() {
                for t in b["verified_timestamps"].as_array().into_iter().flatten() {
                    kinds.insert(t["kind"].as_str().unwrap().to_owned());
                }
            }
        } else {
            assert_eq!(line["status"], *expected, "{out:?}");
        }
    }
    // The runs cover both kinds of verified time, and the bundles that verified did.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["timestamp-authority", "transparency-log"]
    );
    let verified_bundles = runs
        .iter()
        .filter(|(kind, out)| *kind == "bundle" && out.status.code() == Some(0))
        .count();
    assert_eq!(verified_bundles, 6, "{runs:?}");
}

#[test]
fn the_schemas_refuse_what_the_readme_rules_out() {
    // A schema that accepted anything would pass the test above: it must catch a missing
    // field, a wrong status and timestamps in the old plain-string shape.
    let out = check(&ty_bundle(), TY_NAME, TY_DIGEST, &[]);
    let good = checked_lines(&out).remove(0);
    let result = schema("result-v1.schema.json");
    assert!(result.is_valid(&good));
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("source_index");
    assert!(!result.is_valid(&v), "verified without source_index");
    let mut v = good.clone();
    v["status"] = "fine".into();
    assert!(!result.is_valid(&v));
    let mut v = good.clone();
    v["verified_timestamps"] = serde_json::json!(["2026-01-10T00:04:46Z"]);
    assert!(!result.is_valid(&v), "plain-string timestamps");
    let mut v = good;
    v["status"] = "invalid".into();
    v["exit_code"] = 1.into();
    v.as_object_mut().unwrap().remove("source_index");
    assert!(!result.is_valid(&v), "invalid without source_index");
}
