//! Replays every committed corpus file through its fuzz target, on stable: the CI half of the
//! fuzzing. A regression on any input the fuzzer ever kept (or any crash found and fixed, whose
//! input is committed to the corpus) fails `cargo test`.

use std::path::{Path, PathBuf};

use bottle_attest_fuzz::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Feed every file of `corpus/<target>/` to the target; report every file that panics, by name.
fn replay(target: &str) {
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no target named {target}"));
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no input", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {} corpus inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target));
            }
        )*

        /// Every target has a test above and a corpus, and every corpus a target.
        #[test]
        fn every_target_is_replayed() {
            let tested = [$(stringify!($target)),*];
            let targets: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            assert_eq!(tested.as_slice(), targets.as_slice());
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
            let mut dirs: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            dirs.sort();
            let mut expected: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
            expected.sort();
            assert_eq!(dirs, expected);
        }
    };
}

replay_tests!(
    bundle,
    statement,
    sidecar,
    api_page,
    formula_json,
    oci,
    policy_file,
    bottle_name,
    journal_line,
);
