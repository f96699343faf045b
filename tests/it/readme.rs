//! Every README example runs as written (issue 13). Each ```sh block of README.md and
//! examples/README.md is split into commands (backslash continuations joined, comment lines
//! dropped); each command is either run here, through `bash` in the workspace with the built
//! `brew-verify` first on PATH, or named in [`SKIPPED`] with the reason it cannot run offline.
//! A command in neither list fails the test, and so does a [`SKIPPED`] entry that no longer
//! matches any command, so the lists cannot drift from the README. The README's policy file
//! (its ```toml block) is checked by verifying with it.

use std::path::{Path, PathBuf};

use crate::util::{temp_dir, workspace_bin};

/// Commands deliberately not run, by prefix, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "brew tap ",
        "needs Homebrew and the network (adds this repository as a tap)",
    ),
    ("brew install ", "needs Homebrew and the network"),
    ("brew verify ", "brew's own command: needs Homebrew"),
    (
        "brew-verify wget",
        "resolves wget through the formula API and GHCR: network",
    ),
    (
        "brew-verify --deps ",
        "formula API, GHCR and GitHub: network",
    ),
    (
        "brew-verify --all-tags ",
        "formula API, GHCR and GitHub: network",
    ),
    (
        "brew-verify --download ",
        "downloads a bottle from GHCR: network",
    ),
    (
        "brew-verify export-sidecars ",
        "formula API and GitHub: network (tests/it/verbosity.rs runs it offline)",
    ),
    (
        "brew-verify install-gh-shim",
        "changes the user's shim directory; tests/it/gh_compat.rs and verbosity.rs run it in a \
         temporary HOME",
    ),
    (
        "brew-verify doctor",
        "reports on this machine's Homebrew; tests/it/gh_compat.rs and verbosity.rs run it in a \
         temporary HOME",
    ),
    (
        "export PATH=",
        "a line for the user's shell profile, not a command to check",
    ),
    (
        "export HOMEBREW_VERIFY_ATTESTATIONS=1",
        "a setting for brew's install hook",
    ),
    (
        "bash scripts/test.sh",
        "runs the whole test suite (this test is part of it)",
    ),
    (
        "brew-backfill plan --dry-run --mode core-style --formulae https://",
        "reads the formula API and GitHub: network (tests/it/backfill.rs runs this very line \
         against local stand-ins of both)",
    ),
    (
        "brew-backfill plan --formulae formula.json",
        "needs a formula.json of the user's tap and looks up GitHub: network",
    ),
    (
        "brew-backfill sign --dry-run",
        "needs the plan written by the previous command",
    ),
];

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).to_path_buf()
}

/// The commands of every fenced block of `lang` in `markdown`: backslash continuations
/// joined, blank and comment-only lines dropped, trailing `# comments` kept (bash ignores
/// them).
fn commands(markdown: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut current = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            inside = !inside && trimmed == format!("```{lang}");
            continue;
        }
        if !inside || (current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#'))) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(rest) => {
                current.push_str(rest.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The body of the first fenced block of `lang`.
fn block(markdown: &str, lang: &str) -> String {
    let start = markdown
        .find(&format!("```{lang}\n"))
        .expect("a fenced block")
        + lang.len()
        + 4;
    let len = markdown[start..].find("```").expect("its end");
    markdown[start..start + len].to_owned()
}

/// Run one README command through bash in the workspace, `brew-verify` first on PATH.
fn run(command: &str, cache: &Path) -> std::process::Output {
    let bin = PathBuf::from(workspace_bin("brew-verify").get_program());
    let dir = bin.parent().expect("the binary's directory");
    // The README's first command builds with cargo; the binary is built already.
    let command = command.replace("cargo run -p brew-verify -- ", "brew-verify ");
    std::process::Command::new("bash")
        .args(["-c", &command])
        .current_dir(workspace())
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOMEBREW_CACHE", cache)
        .env("HOMEBREW_BREW_VERIFY_TUF_URL", "http://127.0.0.1:9/")
        .env("HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL", "http://127.0.0.1:9/")
        .env("HOMEBREW_NO_COLOR", "1")
        .output()
        .expect("running bash")
}

#[test]
fn every_offline_readme_example_runs_as_written() {
    let cache = temp_dir();
    let mut ran = Vec::new();
    let mut used = vec![false; SKIPPED.len()];
    for file in ["README.md", "examples/README.md"] {
        let markdown = std::fs::read_to_string(workspace().join(file)).unwrap();
        for command in commands(&markdown, "sh") {
            if let Some(i) = SKIPPED.iter().position(|(p, _)| command.starts_with(p)) {
                used[i] = true;
                continue;
            }
            assert!(
                command.starts_with("brew-verify ")
                    || command.starts_with("cargo run -p brew-verify -- "),
                "{file}: `{command}` is neither run nor in SKIPPED"
            );
            let out = run(&command, cache.path());
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: `{command}`\n{stdout}\n{stderr}"
            );
            assert_eq!(stderr, "", "{file}: `{command}`");
            if command.contains("--json") {
                let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
                assert_eq!(line["status"], "verified", "{file}: `{command}`");
            } else {
                assert!(
                    stdout.starts_with("==> Verified "),
                    "{file}: `{command}`\n{stdout}"
                );
            }
            if command.contains("--explain") {
                assert!(stdout.contains("What this proves"), "{stdout}");
            }
            ran.push(command);
        }
    }
    for ((prefix, why), used) in SKIPPED.iter().zip(used) {
        assert!(
            used,
            "SKIPPED `{prefix}` ({why}) matches no README command any more"
        );
    }
    // The first command (the front door), the bottle-file examples, `bundle` and the
    // examples' own command.
    assert_eq!(ran.len(), 5, "{ran:#?}");
    assert!(ran[0].starts_with("cargo run -p brew-verify -- --offline --explain"));
}

#[test]
fn the_readmes_policy_file_is_a_valid_policy_that_verifies_homebrew_core() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let dir = temp_dir();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, block(&readme, "toml")).unwrap();
    let out = run(
        &format!(
            "brew-verify --offline --policy {} --bundle examples/ty-0.0.11-homebrew-core.sigstore.json \
             --name ty--0.0.11.arm64_tahoe.bottle.tar.gz \
             sha256:808c851c8f10d458eaad4199a879d2dcc794780772465ffa7c31d09236f23aef",
            policy.display()
        ),
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{out:?}");
    assert!(
        stdout.starts_with("==> Verified ty--0.0.11.arm64_tahoe.bottle.tar.gz"),
        "{stdout}"
    );
}
