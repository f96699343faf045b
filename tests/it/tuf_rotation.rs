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

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{workspace_bin, write};

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
