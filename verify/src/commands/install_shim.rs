//! `brew-verify install-gh-shim [DIR]`: make a `gh` link to brew-verify in DIR, so that brew's
//! `gh attestation verify` (the `HOMEBREW_VERIFY_ATTESTATIONS=1` install hook and `brew verify`)
//! reaches brew-verify, and print the one line that puts DIR first on `PATH`.
//!
//! The link is the whole change: removing it (or the `PATH` line) undoes it. Every gh command
//! other than `attestation verify|download` still runs the real gh found after DIR.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::InstallShimArgs;
use crate::exit::{Status, UsageError};
use bottle_attest_net::env::Env;

/// Where the link goes without DIR: `$XDG_DATA_HOME/brew-verify/bin`, else
/// `~/.local/share/brew-verify/bin`.
pub(crate) fn default_dir(env: &Env) -> Option<PathBuf> {
    if let Some(data) = env.get("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("brew-verify").join("bin"));
    }
    env.get("HOME").map(|home| {
        PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("brew-verify")
            .join("bin")
    })
}

pub(crate) fn run(args: &InstallShimArgs) -> anyhow::Result<Status> {
    let env = Env::from_process();
    let dir = match args.dir.clone().or_else(|| default_dir(&env)) {
        Some(d) => d,
        None => {
            return Err(UsageError(
                "no DIR given and neither XDG_DATA_HOME nor HOME is set".into(),
            )
            .into());
        }
    };
    let canonical = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find brew-verify's own executable")?;
    // Installed by brew, the canonical path is `…/Cellar/brew-verify/<version>/bin/…`, which the
    // next `brew upgrade` removes (leaving a dangling `gh`, and brew silently back on the real
    // gh). Link through the stable `…/opt/brew-verify` instead when it leads to this binary.
    let v = args.verbosity;
    v.debug(|| format!("this binary: {}", canonical.display()));
    let exe = through_opt(&canonical).unwrap_or(canonical);
    v.debug(|| format!("link target: {}", exe.display()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let link = dir.join("gh");
    match std::fs::symlink_metadata(&link) {
        Ok(_) if points_to(&link, &exe) => {}
        Ok(_) if !args.force => {
            return Err(UsageError(format!(
                "`{}` already exists and is not a link to brew-verify; pass --force to replace it",
                link.display()
            ))
            .into());
        }
        Ok(_) => {
            std::fs::remove_file(&link)
                .with_context(|| format!("cannot replace `{}`", link.display()))?;
            make_link(&exe, &link)?;
        }
        Err(_) => make_link(&exe, &link)?,
    }
    // `-q`: only the `PATH` line, on stdout.
    let mut err: Box<dyn std::io::Write> = if v.quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stderr().lock())
    };
    if v.verbose {
        writeln!(err, "`{}` → `{}`", link.display(), exe.display())?;
    }
    writeln!(
        err,
        "`{}` now runs brew-verify for `gh attestation verify`; other gh commands go to the next \
         gh on PATH.",
        link.display()
    )?;
    if on_path_first(&dir) {
        writeln!(err, "`{}` is already first on PATH.", dir.display())?;
    } else {
        writeln!(
            err,
            "Add this line to your shell profile (~/.zprofile, ~/.bash_profile, …), then open a \
             new shell; `brew-verify doctor` checks the result:"
        )?;
    }
    drop(err);
    // The line itself on stdout, so that `brew-verify install-gh-shim >> ~/.zprofile` works.
    writeln!(
        std::io::stdout().lock(),
        "export PATH=\"{}:$PATH\"",
        dir.display()
    )?;
    Ok(Status::Ok)
}

fn points_to(link: &Path, exe: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    canonical(link).is_some_and(|target| Some(target) == canonical(exe))
}

/// `<prefix>/opt/brew-verify/bin/brew-verify` for a binary at
/// `<prefix>/Cellar/brew-verify/<version>/bin/brew-verify`, when that opt path resolves to it.
fn through_opt(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    let version_dir = bin.parent()?;
    let formula_dir = version_dir.parent()?;
    let cellar = formula_dir.parent()?;
    if cellar.file_name()? != "Cellar" || bin.file_name()? != "bin" {
        return None;
    }
    let opt = cellar
        .parent()?
        .join("opt")
        .join(formula_dir.file_name()?)
        .join("bin")
        .join(exe.file_name()?);
    (std::fs::canonicalize(&opt).ok()? == exe).then_some(opt)
}

#[cfg(unix)]
fn make_link(exe: &Path, link: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(exe, link)
        .with_context(|| format!("cannot create the link `{}`", link.display()))
}

#[cfg(not(unix))]
fn make_link(exe: &Path, link: &Path) -> anyhow::Result<()> {
    std::fs::copy(exe, link)
        .map(|_| ())
        .with_context(|| format!("cannot copy brew-verify to `{}`", link.display()))
}

/// Whether `dir` is the first `PATH` entry that has a `gh`.
fn on_path_first(dir: &Path) -> bool {
    let Some(path) = Env::from_process()
        .get("PATH")
        .map(std::ffi::OsString::from)
    else {
        return false;
    };
    std::env::split_paths(&path)
        .find(|d| d.join("gh").exists())
        .and_then(|d| std::fs::canonicalize(d).ok())
        .is_some_and(|d| d == dir)
}
