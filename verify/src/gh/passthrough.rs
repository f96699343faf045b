//! Handing every `gh` command we do not answer to the next real `gh` on `PATH`.
//!
//! "Real" means: not this executable (compared by canonical path and by device and inode, so
//! symlinks and hard links to us are skipped), and not a `gh` an earlier hop of this same
//! command already chose. Each hop records its choice in [`TRIED_VARIABLE`], so a wrapper
//! script named `gh` that runs `gh "$@"` again reaches us again, and we then pick the *next*
//! candidate or give up with a clear error: the chain can never loop.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Canonical paths of the `gh` executables already chosen for this command (PATH-separated).
pub(crate) const TRIED_VARIABLE: &str = "BREW_VERIFY_GH_TRIED";

/// Hops after which we stop even if candidates remain (a safety net; each hop consumes one).
const MAX_HOPS: usize = 16;

/// What one `gh` candidate on `PATH` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// As found on `PATH` (`DIR/gh`).
    pub(crate) path: PathBuf,
    /// Symlinks resolved.
    pub(crate) canonical: PathBuf,
    /// Whether it is this very executable (by path or inode).
    pub(crate) is_us: bool,
}

/// Every executable named `gh` on `path_var`, in order, each once.
pub(crate) fn candidates(path_var: Option<&OsStr>) -> Vec<Candidate> {
    let me = std::env::current_exe().ok();
    let me_canonical = me.as_ref().and_then(|p| std::fs::canonicalize(p).ok());
    let me_id = me_canonical.as_deref().and_then(file_id);
    let mut out: Vec<Candidate> = Vec::new();
    let Some(path_var) = path_var else {
        return out;
    };
    for dir in std::env::split_paths(path_var) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let path = dir.join("gh");
        if !is_executable_file(&path) {
            continue;
        }
        let Ok(canonical) = std::fs::canonicalize(&path) else {
            continue;
        };
        if out.iter().any(|c| c.canonical == canonical) {
            continue;
        }
        let is_us = me_canonical.as_deref() == Some(canonical.as_path())
            || (me_id.is_some() && file_id(&canonical) == me_id);
        out.push(Candidate {
            path,
            canonical,
            is_us,
        });
    }
    out
}

/// The `gh` a pass-through would run now: the first candidate that is neither us nor already
/// tried by an earlier hop.
pub(crate) fn next_real_gh(path_var: Option<&OsStr>, tried: &[PathBuf]) -> Option<Candidate> {
    candidates(path_var)
        .into_iter()
        .find(|c| !c.is_us && !tried.contains(&c.canonical))
}

/// The candidates earlier hops chose, from [`TRIED_VARIABLE`].
pub(crate) fn tried_from_env() -> Vec<PathBuf> {
    std::env::var_os(TRIED_VARIABLE)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default()
}

/// Run the next real `gh` with `args` in place of this process (on Unix, `exec`: its exit
/// status, signals and terminal are the caller's). Returns only on failure.
pub(crate) fn exec_real_gh(args: &[OsString]) -> anyhow::Error {
    let tried = tried_from_env();
    if tried.len() >= MAX_HOPS {
        return anyhow::anyhow!(
            "`gh {}`: gave up after {MAX_HOPS} hops between `gh` executables on PATH",
            display_args(args)
        );
    }
    let path_var = std::env::var_os("PATH");
    let Some(real) = next_real_gh(path_var.as_deref(), &tried) else {
        let what = if tried.is_empty() {
            "there is no other `gh` on PATH".to_owned()
        } else {
            format!(
                "no `gh` on PATH is left to try after {}",
                tried
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return anyhow::anyhow!(
            "`gh {}` is not something brew-verify answers (it answers `gh attestation verify` \
             and `gh attestation download`), and {what}.\nhint: install the GitHub CLI (`brew \
             install gh`) so that it is found on PATH after brew-verify's `gh` link",
            display_args(args)
        );
    };
    let mut chain = tried;
    chain.push(real.canonical.clone());
    let chain = match std::env::join_paths(&chain) {
        Ok(v) => v,
        Err(e) => return anyhow::anyhow!("cannot record the `gh` chain: {e}"),
    };
    let mut command = std::process::Command::new(&real.path);
    command.args(args).env(TRIED_VARIABLE, chain);
    exec(command, &real.path)
}

#[cfg(unix)]
fn exec(mut command: std::process::Command, path: &Path) -> anyhow::Error {
    use std::os::unix::process::CommandExt as _;
    command.arg0("gh");
    let err = command.exec();
    anyhow::anyhow!("cannot run `{}`: {err}", path.display())
}

#[cfg(not(unix))]
fn exec(mut command: std::process::Command, path: &Path) -> anyhow::Error {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => anyhow::anyhow!("cannot run `{}`: {err}", path.display()),
    }
}

fn display_args(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

#[cfg(unix)]
fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable_file(path: &Path) -> bool {
    path.is_file()
}
