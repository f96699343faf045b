//! Cross-check: sigstore-python (an independent implementation) accepts what the kit mints, and
//! rejects it once tampered with.
//!
//! sigstore-python lives in `<workspace>/.venv` (`tests/scripts/python-venv.sh`) or wherever
//! `BREW_VERIFY_SIGSTORE_PYTHON` points (the `sigstore` executable). Without it the tests skip,
//! except under CI (`CI` set), where a missing verifier is a failure: the cross-check must not
//! silently stop running.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone as _, Utc};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use testkit::{GITHUB_ISSUER, SigstoreStack, WorkflowIdentity};

const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";

/// The `sigstore` executable, or `None` when the test should skip (never under CI).
pub(crate) fn sigstore_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("BREW_VERIFY_SIGSTORE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(".venv/bin/sigstore")
        });
    if candidate.is_file() {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "sigstore-python not found at {}: run tests/scripts/python-venv.sh or set \
         BREW_VERIFY_SIGSTORE_PYTHON (CI must not skip this cross-check)",
        candidate.display()
    );
    eprintln!(
        "skipping sigstore-python cross-check: {} not found (run tests/scripts/python-venv.sh)",
        candidate.display()
    );
    None
}

/// A kit stack plus a temp dir holding its trust config, and the verifier to run.
struct Harness {
    sigstore: PathBuf,
    stack: SigstoreStack,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Option<Self> {
        let sigstore = sigstore_python()?;
        let stack = SigstoreStack::start();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("trust_config.json"),
            stack.trust_config_json(),
        )
        .expect("write trust config");
        Some(Self {
            sigstore,
            stack,
            dir,
        })
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    /// Run `sigstore --trust-config <kit> verify <args>`; Ok(output) on exit 0, Err(output)
    /// otherwise.
    fn verify(&self, args: &[&str]) -> Result<String, String> {
        let output = Command::new(&self.sigstore)
            .arg("--trust-config")
            .arg(self.dir.path().join("trust_config.json"))
            .arg("verify")
            .args(args)
            .env("NO_COLOR", "1")
            // Keep rich's log lines unwrapped, so the reasons below match whole.
            .env("COLUMNS", "1000")
            .output()
            .expect("sigstore-python runs");
        // rich pads its log lines to the (wide) terminal; drop the padding.
        let trimmed = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let text = format!(
            "sigstore verify {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            output.status,
            trimmed(&output.stdout),
            trimmed(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// `sigstore verify github --offline` of `bundle` for `digest`, checking every GitHub
    /// claim sigstore-python can: identity, repository, ref, commit, trigger, workflow name.
    fn verify_github(
        &self,
        bundle: &Path,
        id: &WorkflowIdentity,
        digest: &[u8; 32],
    ) -> Result<String, String> {
        let workflow_name = id
            .workflow
            .rsplit_once('.')
            .map_or(id.workflow.as_str(), |(stem, _)| stem);
        self.verify(&[
            "github",
            "--offline",
            "--bundle",
            &bundle.display().to_string(),
            "--cert-identity",
            &id.san(),
            "--repository",
            &id.repository,
            "--ref",
            &id.git_ref,
            "--sha",
            &id.sha,
            "--trigger",
            &id.event_name,
            "--name",
            workflow_name,
            &format!("sha256:{}", hex::encode(digest)),
        ])
    }
}

/// sigstore-python must have failed, and for `reason` (a phrase of its error message).
fn expect_rejection(result: Result<String, String>, reason: &str) {
    match result {
        Ok(output) => panic!("sigstore-python accepted what it should reject:\n{output}"),
        Err(output) => assert!(
            output.contains(reason),
            "sigstore-python failed, but not with {reason:?}:\n{output}"
        ),
    }
}

fn core_identity() -> WorkflowIdentity {
    WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/master",
    )
}

fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[test]
fn sigstore_python_accepts_a_core_bundle_and_rejects_it_tampered() {
    let Some(harness) = Harness::new() else {
        return;
    };
    let id = core_identity();
    let bottle = digest(b"wget--1.24.5.arm64_sonoma.bottle.tar.gz");
    let bundle_json = harness.stack.sign_attestation(
        &id,
        SLSA_PROVENANCE,
        json!({"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}}),
        &[("wget--1.24.5.arm64_sonoma.bottle.tar.gz".into(), bottle)],
    );
    let bundle = harness.write("core.sigstore.json", bundle_json.as_bytes());
    if let Err(output) = harness.verify_github(&bundle, &id, &bottle) {
        panic!("sigstore-python rejected a kit bundle:\n{output}");
    }

    // A digest the statement does not name.
    let other = digest(b"another bottle");
    expect_rejection(
        harness.verify_github(&bundle, &id, &other),
        "in-toto statement has no subject for digest",
    );

    // Another repository's policy.
    let fork = WorkflowIdentity {
        repository: "someone/homebrew-core".into(),
        ..id.clone()
    };
    expect_rejection(
        harness.verify_github(&bundle, &fork, &bottle),
        "Certificate's SANs do not match",
    );

    // The DSSE payload changed after signing: the subject now names another digest.
    let mut tampered: serde_json::Value = serde_json::from_str(&bundle_json).expect("JSON");
    let payload = STANDARD
        .decode(
            tampered["dsseEnvelope"]["payload"]
                .as_str()
                .expect("payload"),
        )
        .expect("base64");
    let payload = String::from_utf8(payload)
        .expect("UTF-8 statement")
        .replace(&hex::encode(bottle), &hex::encode(other));
    tampered["dsseEnvelope"]["payload"] = json!(STANDARD.encode(payload));
    let tampered_path = harness.write("tampered.sigstore.json", tampered.to_string().as_bytes());
    expect_rejection(
        harness.verify_github(&tampered_path, &id, &other),
        "DSSE: invalid signature",
    );

    // The integrated time moved (still inside the certificate validity): the SET no longer
    // verifies.
    let mut shifted: serde_json::Value = serde_json::from_str(&bundle_json).expect("JSON");
    let time = &mut shifted["verificationMaterial"]["tlogEntries"][0]["integratedTime"];
    let seconds: i64 = time.as_str().expect("string int64").parse().expect("int");
    *time = json!((seconds + 1).to_string());
    let shifted_path = harness.write("shifted.sigstore.json", shifted.to_string().as_bytes());
    expect_rejection(
        harness.verify_github(&shifted_path, &id, &bottle),
        "invalid inclusion promise",
    );
}

#[test]
fn sigstore_python_accepts_every_subject_of_a_multi_subject_bundle() {
    let Some(harness) = Harness::new() else {
        return;
    };
    let id = core_identity();
    let subjects: Vec<(String, [u8; 32])> = ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"]
        .iter()
        .map(|platform| {
            let name = format!("wget--1.24.5.{platform}.bottle.tar.gz");
            let sha = digest(name.as_bytes());
            (name, sha)
        })
        .collect();
    let bundle_json = harness
        .stack
        .sign_attestation(&id, SLSA_PROVENANCE, json!({}), &subjects);
    let bundle = harness.write("multi.sigstore.json", bundle_json.as_bytes());
    for (name, sha) in [&subjects[0], &subjects[2]] {
        if let Err(output) = harness.verify_github(&bundle, &id, sha) {
            panic!("sigstore-python rejected subject {name}:\n{output}");
        }
    }
}

#[test]
fn sigstore_python_accepts_a_backfill_bundle_from_the_past() {
    let Some(harness) = Harness::new() else {
        return;
    };
    let id = WorkflowIdentity {
        event_name: "workflow_dispatch".into(),
        ..WorkflowIdentity::github("Homebrew/homebrew-core", "backfill.yml", "refs/heads/main")
    };
    harness.stack.set_time(
        Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
            .single()
            .expect("valid date"),
    );
    let bottle = digest(b"old bottle");
    let bundle_json = harness.stack.sign_attestation(
        &id,
        SLSA_PROVENANCE,
        json!({}),
        &[("old bottle".into(), bottle)],
    );
    let bundle = harness.write("backfill.sigstore.json", bundle_json.as_bytes());
    if let Err(output) = harness.verify_github(&bundle, &id, &bottle) {
        panic!("sigstore-python rejected a backdated kit bundle:\n{output}");
    }
}

#[test]
fn sigstore_python_accepts_a_blob_bundle() {
    let Some(harness) = Harness::new() else {
        return;
    };
    let id = core_identity();
    let blob = b"a plain blob signed with a hashedrekord entry";
    let bundle_json = harness.stack.sign_blob(&id, blob);
    let bundle = harness.write("blob.sigstore.json", bundle_json.as_bytes());
    let artifact = harness.write("blob.txt", blob);
    let verify = |issuer: &str| {
        harness.verify(&[
            "identity",
            "--offline",
            "--bundle",
            &bundle.display().to_string(),
            "--cert-identity",
            &id.san(),
            "--cert-oidc-issuer",
            issuer,
            &artifact.display().to_string(),
        ])
    };
    if let Err(output) = verify(GITHUB_ISSUER) {
        panic!("sigstore-python rejected a kit blob bundle:\n{output}");
    }
    expect_rejection(
        verify("https://accounts.google.com"),
        "Certificate's OIDCIssuer does not match",
    );
}

#[test]
fn sigstore_python_accepts_a_bundle_with_an_rfc3161_timestamp() {
    let Some(harness) = Harness::new() else {
        return;
    };
    let id = core_identity();
    harness.stack.set_timestamping(true);
    let bottle = digest(b"timestamped bottle");
    let bundle_json = harness.stack.sign_attestation(
        &id,
        SLSA_PROVENANCE,
        json!({}),
        &[("timestamped bottle".into(), bottle)],
    );
    let bundle = harness.write("tsa.sigstore.json", bundle_json.as_bytes());
    if let Err(output) = harness.verify_github(&bundle, &id, &bottle) {
        panic!("sigstore-python rejected a timestamped kit bundle:\n{output}");
    }

    // `verify` passes on Rekor's SET alone and only logs a timestamp it cannot verify, so ask
    // sigstore-python's verifier directly how many RFC 3161 timestamps it accepts.
    let python = harness
        .sigstore
        .parent()
        .expect("the sigstore executable lives in a bin directory")
        .join("python");
    if !python.is_file() {
        eprintln!(
            "not counting RFC 3161 timestamps: no python beside {}",
            harness.sigstore.display()
        );
        return;
    }
    let output = Command::new(&python)
        .arg("-c")
        .arg(COUNT_VERIFIED_TIMESTAMPS)
        .arg(harness.dir.path().join("trust_config.json"))
        .arg(&bundle)
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim() == "1",
        "sigstore-python did not verify the kit's RFC 3161 timestamp:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Prints how many of a bundle's RFC 3161 timestamps sigstore-python verifies against a trust
/// config (argv 1: trust config, argv 2: bundle).
const COUNT_VERIFIED_TIMESTAMPS: &str = r#"
import sys
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier
config = ClientTrustConfig.from_json(open(sys.argv[1]).read())
bundle = Bundle.from_json(open(sys.argv[2]).read())
print(len(Verifier(trusted_root=config.trusted_root)._verify_timestamp_authority(bundle)))
"#;
