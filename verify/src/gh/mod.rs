//! gh-compatible mode: brew-verify invoked as `gh` (a link named `gh`, see
//! `brew-verify install-gh-shim`) or as `brew-verify gh …`.
//!
//! brew verifies bottles by running `gh attestation verify <bottle> --repo <owner/repo>
//! --format json` (DESIGN.md §3). We answer `gh attestation verify` and `gh attestation
//! download` ourselves — offline when the attestation is cached, without a login for public
//! repositories — with gh's output and exit statuses, and hand every other gh command
//! (including `gh auth token`) to the next real `gh` on `PATH` ([`passthrough`]).
//!
//! The GitHub API is found as gh finds it (`--hostname`, `GH_HOST`, default github.com), or at
//! `BREW_VERIFY_GH_API_URL` when set ([`host`]); the token comes from `GH_TOKEN` /
//! `GITHUB_TOKEN` (then `HOMEBREW_GITHUB_API_TOKEN`) and is optional.

pub(crate) mod cli;
mod download;
pub(crate) mod host;
mod output;
pub(crate) mod passthrough;
mod policy;
mod verify;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use self::cli::{AttestationCommand, GhCli, GhCommand};

/// gh's exit status for any failure (gh's 4 means "not logged in", which we never say).
const EXIT_ERROR: u8 = 1;

/// Whether `args` (without the program name) is a command we answer; everything else goes to
/// the real gh. Help for our commands is ours too.
fn is_ours(args: &[OsString]) -> bool {
    let words: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().unwrap_or_default())
        .take(2)
        .collect();
    matches!(
        words.as_slice(),
        ["attestation", "verify" | "download"] | ["attestation", "help" | "--help" | "-h"]
    )
}

/// Run gh-compatible mode with `args` (what follows `gh`).
pub(crate) fn main(args: Vec<OsString>) -> ExitCode {
    if !is_ours(&args) {
        let err = passthrough::exec_real_gh(&args);
        let _ = writeln!(std::io::stderr(), "error: {err:#}");
        return ExitCode::from(EXIT_ERROR);
    }
    let cli = match GhCli::try_parse_from(std::iter::once(OsString::from("gh")).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let mut log = Log::stderr();
    let result = match &cli.command {
        GhCommand::Attestation {
            command: AttestationCommand::Verify(args),
        } => verify::run(args, &mut log),
        GhCommand::Attestation {
            command: AttestationCommand::Download(args),
        } => download::run(args, &mut log),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(headline) = &failure.headline {
                log.line(headline);
            }
            let _ = writeln!(std::io::stderr(), "\nError: {}", failure.error);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// A failed command: gh prints a `✗ …` headline, then `Error: …`.
#[derive(Debug)]
pub(crate) struct Failure {
    headline: Option<String>,
    error: String,
}

impl Failure {
    fn plain(error: impl Into<String>) -> Self {
        Self {
            headline: None,
            error: error.into(),
        }
    }

    fn with_headline(headline: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            headline: Some(headline.into()),
            error: error.into(),
        }
    }
}

/// gh's diagnostic lines: stderr, never stdout (stdout carries only the JSON).
pub(crate) struct Log {
    to_stderr: bool,
}

impl Log {
    fn stderr() -> Self {
        Self { to_stderr: true }
    }

    /// A log that drops everything (trial runs over cached bundles).
    fn sink() -> Self {
        Self { to_stderr: false }
    }

    fn line(&mut self, text: &str) {
        if self.to_stderr {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }
}
