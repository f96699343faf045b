//! Shared helpers for the integration tests: the built binaries and temp dirs.

use std::path::PathBuf;
use std::process::Command;

/// A command for one of the workspace's binaries, building it first if this test binary was
/// built alone (`cargo test -p workspace-tests`).
pub(crate) fn workspace_bin(name: &str) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .to_path_buf();
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--bin", name])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    Command::new(path)
}

/// A fresh temporary directory that lives as long as the returned guard.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Write `text` to `dir/name` and return the path.
pub(crate) fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}
