//! The front door works as written: the README's first set-up command and the examples'
//! command verify the shipped homebrew-core attestation offline, with `--explain`.

use std::path::Path;

use crate::util::workspace_bin;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The first shell command in `markdown` that starts with `prefix`, backslash continuations
/// joined, split into words (the commands used here need no shell quoting).
fn command(markdown: &str, prefix: &str) -> Vec<String> {
    let mut joined = String::new();
    let mut taking = false;
    for line in markdown.lines() {
        let line = line.trim();
        if !taking && !line.starts_with(prefix) {
            continue;
        }
        taking = true;
        match line.strip_suffix('\\') {
            Some(rest) => {
                joined.push_str(rest);
                joined.push(' ');
            }
            None => {
                joined.push_str(line);
                break;
            }
        }
    }
    assert!(taking, "no command starting with {prefix:?}");
    joined.split_whitespace().map(str::to_owned).collect()
}

fn run_and_check(words: &[String]) {
    let out = workspace_bin("brew-verify")
        .args(words)
        .current_dir(workspace())
        .env(
            "HOMEBREW_CACHE",
            std::env::temp_dir().join("brew-verify-readme-test"),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{words:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("==> Verified ty--0.0.11."), "{stdout}");
    assert!(stdout.contains("homebrew-core attestation"), "{stdout}");
    assert!(stdout.contains("What this proves"), "{stdout}");
}

#[test]
fn the_readmes_first_command_verifies_a_homebrew_core_bottle_offline() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let words = command(&readme, "cargo run -p brew-verify --");
    assert_eq!(&words[..4], ["cargo", "run", "-p", "brew-verify"]);
    assert!(words.contains(&"--offline".to_owned()));
    run_and_check(&words[5..]);
}

#[test]
fn the_examples_command_verifies_too() {
    let readme = std::fs::read_to_string(workspace().join("examples/README.md")).unwrap();
    let words = command(&readme, "brew-verify --offline");
    run_and_check(&words[1..]);
}
