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
            let (headline, error) = failure.texts();
            if let Some(headline) = &headline {
                log.line(headline);
            }
            let _ = writeln!(std::io::stderr(), "\nError: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// A failed command: gh prints a `✗ …` headline, then `Error: …`.
///
/// brew reads gh's stderr to tell "missing" (the only outcome that lets it try the backfill)
/// from everything else: `HTTP 404: Not Found` anywhere, or a line ending in
/// `: no attestations found` (Homebrew/brew `Library/Homebrew/attestation.rb`,
/// `check_attestation`: `/: no attestations found\R/`). Only a [`Failure::missing`] may say
/// either; any other failure's text is [`defused`] so that a server's error message or a
/// certificate's claims can never turn "invalid" into "missing".
#[derive(Debug)]
pub(crate) struct Failure {
    headline: Option<String>,
    error: String,
    missing: bool,
}

impl Failure {
    fn plain(error: impl Into<String>) -> Self {
        Self {
            headline: None,
            error: error.into(),
            missing: false,
        }
    }

    fn with_headline(headline: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            headline: Some(headline.into()),
            error: error.into(),
            missing: false,
        }
    }

    /// The authoritative "none": printed in the words brew reads as missing.
    fn missing(headline: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            missing: true,
            ..Self::with_headline(headline, error)
        }
    }

    /// The headline and the error as printed.
    fn texts(&self) -> (Option<String>, String) {
        if self.missing {
            (self.headline.clone(), self.error.clone())
        } else {
            (self.headline.as_deref().map(defused), defused(&self.error))
        }
    }
}

/// `text` with brew's two "missing" markers broken: `HTTP 404: Not Found` becomes
/// `HTTP 404 (Not Found)`, and every `no attestations found` is followed by a full stop, so that
/// no line break (Ruby's `\R` also takes `\r`, `\v`, `\f`, U+0085, U+2028 and U+2029) can
/// come right after it.
fn defused(text: &str) -> String {
    text.replace("HTTP 404: Not Found", "HTTP 404 (Not Found)")
        .replace("no attestations found", "no attestations found.")
}

/// gh's diagnostic lines: stderr, never stdout (stdout carries only the JSON).
pub(crate) struct Log {
    _private: (),
}

impl Log {
    fn stderr() -> Self {
        Self { _private: () }
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// brew's matchers, as in `attestation.rb`: `HTTP 404: Not Found`, or
    /// `/: no attestations found\R/`.
    fn brew_reads_missing(stderr: &str) -> bool {
        const LINE_BREAKS: [char; 8] = [
            '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}', '\n',
        ];
        let marker = ": no attestations found";
        stderr.contains("HTTP 404: Not Found")
            || stderr.match_indices(marker).any(|(i, _)| {
                stderr[i + marker.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| LINE_BREAKS.contains(&c))
            })
    }

    fn printed(f: &Failure) -> String {
        let (h, e) = f.texts();
        format!("{}\n\nError: {e}\n", h.unwrap_or_default())
    }

    #[test]
    fn only_missing_failures_read_as_missing_to_brew() {
        let missing = Failure::missing(
            "✗ No attestations found for subject x",
            "no attestations found",
        );
        assert!(brew_reads_missing(&printed(&missing)));
        let hostile = [
            "bundle_url `https://x/`: HTTP 404: Not Found",
            "certificate says: no attestations found",
            "a: no attestations found\r\nmore",
            "a: no attestations found \u{2028}",
        ];
        for text in hostile {
            let failure = Failure::with_headline("✗ Sigstore verification failed", text);
            assert!(
                !brew_reads_missing(&printed(&failure)),
                "{text:?} leaked as missing"
            );
        }
    }
}
