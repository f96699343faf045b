//! `brew-verify doctor`: is brew going to reach brew-verify, and with what?
//!
//! Shows which `gh` brew would run (brew's own search order: its internal `PATH`, the user's
//! `PATH`, `$HOMEBREW_PREFIX/opt/gh/bin/gh`, `$HOMEBREW_PREFIX/bin/gh`), whether that is
//! brew-verify, which real gh other commands go to, the credentials brew would see (brew asks for
//! one before it runs gh at all), the API and token gh mode uses, the trusted root and the cache.
//! Nothing secret is printed. Exit status 0 when brew would run brew-verify, 1 otherwise.
//!
//! A `gh` shim that no longer leads to brew-verify (a dangling link left by an upgrade or an
//! uninstall) or that another `gh` shadows is reported as `brew doctor` reports a finding: on
//! stderr, after a blank line, `Warning: ` and the text with the command that fixes it
//! (Homebrew/brew `Library/Homebrew/cmd/doctor.rb`: `$stderr.puts` then `opoo
//! method_findings…join("\n")`; its `--quiet` leaves out everything but the findings, its
//! `--debug` adds `Checking …` lines on stderr).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::DoctorArgs;
use crate::exit::Status;
use crate::gh::{host, passthrough};
use bottle_attest_net::env::{self as vars, Env, TokenOrder};

/// brew's own `PATH` while it runs (`bin/brew` resets it before adding its shims).
const BREW_INTERNAL_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

/// `$HOMEBREW_PREFIX`, else the default prefix for this platform.
pub(crate) fn homebrew_prefix(env: &Env) -> PathBuf {
    if let Some(p) = env.get("HOMEBREW_PREFIX") {
        return PathBuf::from(p);
    }
    PathBuf::from(if cfg!(target_os = "macos") {
        if cfg!(target_arch = "aarch64") {
            "/opt/homebrew"
        } else {
            "/usr/local"
        }
    } else {
        "/home/linuxbrew/.linuxbrew"
    })
}

/// The `gh` brew's `ensure_executable!("gh")` would pick, and how it was found.
fn brew_gh(env: &Env) -> Option<(PathBuf, &'static str)> {
    let first_on = |path: &std::ffi::OsStr| {
        passthrough::candidates(Some(path))
            .into_iter()
            .next()
            .map(|c| c.path)
    };
    if let Some(p) = first_on(std::ffi::OsStr::new(BREW_INTERNAL_PATH)) {
        return Some((p, "brew's internal PATH (/usr/bin:/bin:/usr/sbin:/sbin)"));
    }
    let user_path = env.get("HOMEBREW_PATH").or_else(|| env.get("PATH"));
    if let Some(p) = user_path.map(std::ffi::OsStr::new).and_then(first_on) {
        return Some((p, "your PATH"));
    }
    let prefix = homebrew_prefix(env);
    for (p, how) in [
        (prefix.join("opt/gh/bin/gh"), "$HOMEBREW_PREFIX/opt/gh/bin"),
        (prefix.join("bin/gh"), "$HOMEBREW_PREFIX/bin"),
    ] {
        if p.exists() {
            return Some((p, how));
        }
    }
    None
}

fn is_us(path: &Path) -> bool {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let it = std::fs::canonicalize(path).ok();
    me.is_some() && me == it
}

/// What `doctor` found wrong with a `gh` shim, each with its fix.
#[derive(Debug, PartialEq, Eq)]
enum ShimProblem {
    /// `link` points at `target`, which no longer exists.
    Dangling { link: PathBuf, target: PathBuf },
    /// The shim `shim` is on the PATH, but brew runs `first` (found `how`) before it.
    Shadowed {
        shim: PathBuf,
        first: PathBuf,
        how: &'static str,
    },
}

impl std::fmt::Display for ShimProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dangling { link, target } => {
                let dir = link.parent().unwrap_or(link);
                write!(
                    f,
                    "The gh shim {} is a broken link to {} (brew-verify was upgraded or \
                     removed since it was made), so brew's attestation checks go to the GitHub \
                     CLI. Recreate it with:\n  brew-verify install-gh-shim --force {}",
                    link.display(),
                    target.display(),
                    dir.display()
                )
            }
            Self::Shadowed { shim, first, how } => {
                let dir = shim.parent().unwrap_or(shim);
                write!(
                    f,
                    "The gh shim {} is shadowed by {} (from {how}), which brew runs instead, \
                     so brew's attestation checks go to the GitHub CLI. ",
                    shim.display(),
                    first.display()
                )?;
                if how.starts_with("brew's internal PATH") {
                    // brew searches its own PATH before the user's: no PATH order fixes it.
                    write!(
                        f,
                        "brew searches {BREW_INTERNAL_PATH} before your PATH; remove or rename \
                         that gh:\n  sudo mv {} {}.real",
                        first.display(),
                        first.display()
                    )
                } else {
                    write!(
                        f,
                        "Put the shim's directory first on your PATH (in ~/.zprofile or \
                         ~/.bash_profile):\n  export PATH=\"{}:$PATH\"",
                        dir.display()
                    )
                }
            }
        }
    }
}

/// Dangling and shadowed shims on the user's PATH (`HOMEBREW_PATH`, else `PATH`) and in the
/// default shim directory. A shim is a `gh` that resolves to a file named `brew-verify`.
fn shim_problems(env: &Env, brew_gh: Option<&(PathBuf, &'static str)>) -> Vec<ShimProblem> {
    let user_path = env.get("HOMEBREW_PATH").or_else(|| env.get("PATH"));
    let mut links: Vec<PathBuf> = user_path
        .map(|p| std::env::split_paths(std::ffi::OsStr::new(p)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join("gh"))
        .collect();
    if let Some(dir) = super::install_shim::default_dir(env) {
        links.push(dir.join("gh"));
    }
    let names_us = |p: &Path| p.file_name().is_some_and(|n| n == "brew-verify");
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for link in links {
        if seen.contains(&link) {
            continue;
        }
        seen.push(link.clone());
        let Ok(meta) = std::fs::symlink_metadata(&link) else {
            continue;
        };
        match std::fs::canonicalize(&link) {
            Err(_) if meta.file_type().is_symlink() => {
                let Ok(target) = std::fs::read_link(&link) else {
                    continue;
                };
                if names_us(&target) {
                    problems.push(ShimProblem::Dangling { link, target });
                }
            }
            Err(_) => {}
            Ok(canonical) => {
                let Some((first, how)) = brew_gh else {
                    continue;
                };
                let first_is_shim = std::fs::canonicalize(first)
                    .ok()
                    .is_some_and(|c| names_us(&c));
                if names_us(&canonical) && !first_is_shim {
                    problems.push(ShimProblem::Shadowed {
                        shim: link,
                        first: first.clone(),
                        how,
                    });
                }
            }
        }
    }
    problems
}

pub(crate) fn run(args: &DoctorArgs) -> anyhow::Result<Status> {
    let v = args.verbosity;
    let env = Env::from_process();
    // `-q`: only the findings (on stderr), as `brew doctor --quiet`.
    let mut out: Box<dyn std::io::Write> = if v.quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stdout().lock())
    };
    v.debug(|| format!("checking brew's internal PATH {BREW_INTERNAL_PATH}"));
    v.debug(|| {
        format!(
            "checking your PATH {}",
            env.get("HOMEBREW_PATH")
                .or_else(|| env.get("PATH"))
                .unwrap_or("(unset)")
        )
    });
    v.debug(|| {
        format!(
            "checking $HOMEBREW_PREFIX {}",
            homebrew_prefix(&env).display()
        )
    });
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    writeln!(out, "brew-verify {} ({me})", env!("CARGO_PKG_VERSION"))?;

    let brew_gh = brew_gh(&env);
    let ours = brew_gh.as_ref().is_some_and(|(p, _)| is_us(p));
    match &brew_gh {
        Some((path, how)) => {
            writeln!(out, "gh brew would run:   {} (from {how})", path.display())?;
            writeln!(
                out,
                "  is brew-verify:    {}",
                if ours {
                    "yes: brew's attestation checks come here"
                } else {
                    "no: brew's attestation checks go to the GitHub CLI"
                }
            )?;
        }
        None => writeln!(
            out,
            "gh brew would run:   none found (brew would install the gh formula first)"
        )?,
    }
    if v.verbose {
        // Every gh on the user's PATH, in order: what shadows what.
        let user_path = env.get("HOMEBREW_PATH").or_else(|| env.get("PATH"));
        let all = passthrough::candidates(user_path.map(std::ffi::OsStr::new));
        writeln!(out, "every gh on your PATH:")?;
        if all.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for c in &all {
            writeln!(
                out,
                "  {}{}",
                c.path.display(),
                if c.is_us { " (brew-verify)" } else { "" }
            )?;
        }
    }
    let real = passthrough::next_real_gh(env.get("PATH").map(std::ffi::OsStr::new), &[]);
    writeln!(
        out,
        "other gh commands:   {}",
        match &real {
            Some(c) => format!(
                "{} (the real gh, for everything but attestations)",
                c.path.display()
            ),
            None => "no real gh on PATH (gh commands other than `attestation verify|download` \
                     will fail)"
                .into(),
        }
    )?;
    writeln!(
        out,
        "install hook:        HOMEBREW_VERIFY_ATTESTATIONS {}",
        if env.get("HOMEBREW_VERIFY_ATTESTATIONS").is_some() {
            "is set: `brew install` verifies every bottle it pours"
        } else {
            "is not set: only `brew verify` checks bottles"
        }
    )?;

    // brew refuses to run gh without a credential (`GitHub::API.credentials`).
    let credential = if env.get(vars::HOMEBREW_GITHUB_API_TOKEN).is_some() {
        "HOMEBREW_GITHUB_API_TOKEN is set".to_owned()
    } else {
        let gh_for_token = gh_for_auth_token(&env);
        match gh_for_token.as_deref().map(gh_auth_token_works) {
            Some(true) => format!(
                "`gh auth token` answers (from {})",
                gh_for_token
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
            _ => "none: brew stops with \"missing credentials\" before verifying; set \
                  HOMEBREW_GITHUB_API_TOKEN or run `gh auth login`"
                .to_owned(),
        }
    };
    writeln!(out, "credentials brew sees: {credential}")?;

    let api_url = host::api_url(None, &env);
    let token = match bottle_attest_net::http::Request::parse_url(&api_url) {
        Err(e) => format!("unusable API URL: {e}"),
        Ok(url) => match env.github_credential(&url, TokenOrder::Gh) {
            Ok(Some(c)) => format!(
                "a token from {}, sent to {} only",
                c.source(),
                c.hosts().join(", ")
            ),
            Ok(None) => "no token (public repositories need none)".into(),
            Err(e) => format!("unusable: {e}"),
        },
    };
    // Which variable decided the URL, so that a user can tell a stale setting from the default.
    let api_from = match env.set_by(vars::API_URL) {
        Some(var) if var == vars::API_URL => var.to_owned(),
        Some(legacy) => format!("{legacy}, the older name of {}", vars::API_URL),
        None if env.get(vars::GH_HOST).is_some() => {
            format!("{}; {} overrides it", vars::GH_HOST, vars::API_URL)
        }
        None => format!("default; {} overrides it", vars::API_URL),
    };
    writeln!(out, "gh mode's API:       {api_url} ({api_from}), {token}")?;
    let registry = match env.registry_credential(&[]) {
        Ok(Some(c)) => format!("{}, sent to {} only", c.source(), c.hosts().join(", ")),
        Ok(None) => "none (anonymous pulls)".into(),
        Err(e) => format!("unusable: {e}"),
    };
    writeln!(out, "registry credentials: {registry}")?;

    // What a run would verify with now, without asking TUF (doctor opens no socket): the
    // TUF cache, else the embedded roots; `brew-verify trust refresh` refreshes them.
    let custom = env.get(vars::TRUSTED_ROOT).map(std::path::PathBuf::from);
    match super::trust::roots_blocking(
        &env,
        custom.as_deref(),
        bottle_attest_net::trust::Refresh::Never,
        env.cache_dir(None).ok(),
        true,
    ) {
        Ok(loaded) => {
            for (i, info) in loaded.roots.iter().enumerate() {
                let summary = bottle_attest::trust::RootSummary::of_json(&info.json)
                    .map_or_else(|| "unreadable".to_owned(), |s| s.to_string());
                let from_env = match info.source {
                    bottle_attest_net::trust::RootSource::File => {
                        format!(
                            " ({})",
                            env.set_by(vars::TRUSTED_ROOT).unwrap_or(vars::TRUSTED_ROOT)
                        )
                    }
                    _ => String::new(),
                };
                let label = if i == 0 { "trusted root:" } else { "" };
                writeln!(out, "{label:<21}{}{from_env}: {summary}", info.describe())?;
            }
        }
        Err(e) => match &custom {
            Some(path) => writeln!(
                out,
                "trusted root:        the trusted root `{}` ({}): unusable: {e:#}",
                path.display(),
                env.set_by(vars::TRUSTED_ROOT).unwrap_or(vars::TRUSTED_ROOT)
            )?,
            None => writeln!(out, "trusted root:        unusable: {e:#}")?,
        },
    }
    let cache_from = if env.get(vars::CACHE_DIR).is_some() {
        vars::CACHE_DIR.to_owned()
    } else if env.get(vars::HOMEBREW_CACHE).is_some() {
        format!(
            "{}/brew-verify; {} overrides it",
            vars::HOMEBREW_CACHE,
            vars::CACHE_DIR
        )
    } else {
        format!("default; {} overrides it", vars::CACHE_DIR)
    };
    let cache = match env.cache_dir(None) {
        Ok(p) => match bottle_attest_net::store::atomic::check_private(&p) {
            Ok(()) => format!("{} ({cache_from})", p.display()),
            Err(e) if p.exists() => format!("{} ({cache_from}; unusable: {e})", p.display()),
            Err(_) => format!(
                "{} ({cache_from}; created on first use, mode 0700)",
                p.display()
            ),
        },
        Err(e) => format!("none: {e}"),
    };
    writeln!(out, "attestation cache:   {cache}")?;
    if env.flag(vars::NO_CACHE) {
        writeln!(
            out,
            "cache in gh mode:    off ({} is set)",
            env.set_by(vars::NO_CACHE).unwrap_or(vars::NO_CACHE)
        )?;
    }
    let deadline = match env.timeout() {
        Ok(t) => format!(
            "{} per bottle{}",
            bottle_attest_net::http::human(t),
            if env.get(vars::TIMEOUT).is_some() {
                format!(" ({})", vars::TIMEOUT)
            } else {
                " (default)".to_owned()
            }
        ),
        Err(e) => format!("unusable: {e}"),
    };
    writeln!(out, "lookup deadline:     {deadline}")?;

    let problems = shim_problems(&env, brew_gh.as_ref());
    if !problems.is_empty() {
        let style = crate::report::human::Style::for_stderr();
        let mut err = std::io::stderr().lock();
        for problem in &problems {
            writeln!(err)?;
            writeln!(err, "{}: {problem}", style.warning())?;
        }
    }
    if !ours {
        let dir = super::install_shim::default_dir(&env)
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "DIR".into());
        writeln!(
            out,
            "\nTo send brew's attestation checks to brew-verify: `brew-verify install-gh-shim` \
             (links {dir}/gh) and put that directory first on PATH."
        )?;
        return Ok(Status::Invalid);
    }
    Ok(Status::Ok)
}

/// The gh `GitHub::API.github_cli_token` runs: `$HOMEBREW_PREFIX/opt/gh/bin` first, then brew's
/// internal PATH.
fn gh_for_auth_token(env: &Env) -> Option<PathBuf> {
    let opt = homebrew_prefix(env).join("opt/gh/bin/gh");
    if opt.exists() {
        return Some(opt);
    }
    passthrough::candidates(Some(std::ffi::OsStr::new(BREW_INTERNAL_PATH)))
        .into_iter()
        .next()
        .map(|c| c.path)
}

/// Whether `gh auth token --hostname github.com` succeeds with some output (the token itself is
/// read and dropped). Given up after five seconds.
fn gh_auth_token_works(gh: &Path) -> bool {
    let Ok(mut child) = std::process::Command::new(gh)
        .args(["auth", "token", "--hostname", "github.com"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut text = String::new();
                if let Some(mut stdout) = child.stdout.take() {
                    use std::io::Read as _;
                    let _ = stdout.read_to_string(&mut text);
                }
                return status.success() && !text.trim().is_empty();
            }
            Ok(None) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
