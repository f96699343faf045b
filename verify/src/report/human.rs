//! Text output in Homebrew's style: `==>` headings, `Error:` / `Warning:` prefixes, colour only
//! on a terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use bottle_attest::policy::{Pass, Verdict};

use super::{BottleReport, Outcome, explain, label, with_causes};

/// ANSI styling, decided once per stream.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    on: bool,
}

impl Style {
    pub(crate) fn for_stdout() -> Self {
        Self::detect(std::io::stdout().is_terminal())
    }

    pub(crate) fn for_stderr() -> Self {
        Self::detect(std::io::stderr().is_terminal())
    }

    /// brew's rules (Library/Homebrew/env_config.rb, utils/formatter.rb): `HOMEBREW_NO_COLOR`
    /// wins, then `HOMEBREW_COLOR` forces colour even off a terminal, then `NO_COLOR` (unless
    /// empty or `0`) turns it off; otherwise colour on a terminal only.
    fn detect(is_tty: bool) -> Self {
        let set = |name: &str| {
            std::env::var(name)
                .ok()
                .is_some_and(|v| !v.is_empty() && v != "0")
        };
        let on = if set("HOMEBREW_NO_COLOR") {
            false
        } else if set("HOMEBREW_COLOR") {
            true
        } else {
            is_tty && !set("NO_COLOR")
        };
        Self { on }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `==> title` as brew's `ohai` prints it.
    pub(crate) fn heading(self, title: &str) -> String {
        format!("{} {}", self.paint("1;34", "==>"), self.paint("1", title))
    }

    pub(crate) fn error(self) -> String {
        self.paint("4;31", "Error")
    }

    pub(crate) fn warning(self) -> String {
        self.paint("4;33", "Warning")
    }
}

/// One bottle's result: a verified bottle on `out` (stdout), every error and warning on `err`
/// (stderr), as brew's `ohai` and `onoe`/`opoo` print them.
pub(crate) fn bottle(
    out: &mut impl Write,
    err: &mut impl Write,
    report: &BottleReport,
    explain_it: &super::Explain,
) -> std::io::Result<()> {
    let style = Style::for_stdout();
    let label = label(report);
    let estyle = Style::for_stderr();
    match &report.outcome {
        Outcome::Verdict(Verdict::Verified(pass)) => {
            writeln!(out, "{}", style.heading(&format!("Verified {label}")))?;
            writeln!(out, "    {}", summary_line(pass))?;
            if explain_it.is_on() {
                explain::write(
                    out,
                    pass,
                    report.formula_data.as_ref(),
                    explain_it.setting(),
                )?;
            }
        }
        Outcome::Verdict(Verdict::Invalid {
            source, failures, ..
        }) => {
            writeln!(
                err,
                "{}: {label}: invalid attestation from {source}",
                estyle.error()
            )?;
            for f in failures {
                writeln!(err, "    {}: {}", f.origin, f.reason)?;
            }
            if let Some(hint) = super::stale_root_hint(report) {
                writeln!(err, "  hint: {hint}")?;
            }
        }
        Outcome::Verdict(Verdict::Missing { sources }) => {
            writeln!(
                err,
                "{}: {label}: missing attestation (none in {})",
                estyle.error(),
                sources.join(", ")
            )?;
        }
        Outcome::Verdict(Verdict::Unavailable { source, error }) => {
            writeln!(
                err,
                "{}: {label}: could not look up {source}: {}",
                estyle.error(),
                with_causes(error)
            )?;
            if let Some(hint) = super::hint(error) {
                writeln!(err, "  hint: {hint}")?;
            }
        }
        Outcome::Error(error) => {
            writeln!(
                err,
                "{}: {label}: {}",
                estyle.error(),
                with_causes(error.as_ref())
            )?;
            if let Some(hint) = super::hint(error.as_ref()) {
                writeln!(err, "  hint: {hint}")?;
            }
        }
        Outcome::Refused(why) => {
            writeln!(
                err,
                "{}: {label}: refused: {}",
                estyle.error(),
                with_causes(why.as_ref())
            )?;
        }
    }
    if explain_it.is_on() && !matches!(report.outcome, Outcome::Verdict(Verdict::Verified(_))) {
        explain::write_failure(err, report, explain_it.setting())?;
    }
    for (origin, repo) in &report.ignored {
        writeln!(
            err,
            "{}: {origin} concerns this bottle but was made by {repo}, which this policy does not trust",
            estyle.warning()
        )?;
    }
    Ok(())
}

/// `built by Homebrew/homebrew-core (publish-commit-bottles.yml@refs/heads/main, commit 1a2b3c4), logged 2024-05-01 12:00:00 UTC`
fn summary_line(pass: &Pass) -> String {
    let c = &pass.claims;
    let workflow = c
        .identity
        .as_deref()
        .and_then(|san| san.split_once("/.github/workflows/"))
        .map(|(repo, wf)| (repo.trim_start_matches("https://github.com/"), wf));
    let commit = c
        .source_repository_digest
        .as_deref()
        .map(|d| format!(", commit {}", prefix_chars(d, 12)))
        .unwrap_or_default();
    let logged = pass
        .timestamps
        .iter()
        .min_by_key(|t| t.time)
        .map(|t| format!(", logged {}", t.time.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    let who = match workflow {
        Some((repo, wf)) => format!("{repo} ({wf}{commit})"),
        None => c.identity.clone().unwrap_or_default(),
    };
    format!("{} attestation, signed by {who}{logged}", pass.source)
}

/// The first `n` characters of `text` (never a byte slice: certificate claims are attacker
/// text and may hold any Unicode; issue 10, item 6).
pub(crate) fn prefix_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// An argument for a message: at most 200 characters, control characters escaped.
pub(crate) fn shorten_arg(arg: &str) -> String {
    let clean: String = arg.chars().flat_map(char::escape_default).collect();
    let cut = prefix_chars(&clean, 200);
    if cut.len() < clean.len() {
        format!("{cut}… ({} more characters)", clean.chars().count() - 200)
    } else {
        clean
    }
}

/// `N verified, N invalid, N missing, N could not be checked` after several bottles.
pub(crate) fn summary(
    out: &mut impl Write,
    ok: usize,
    invalid: usize,
    missing: usize,
    error: usize,
) -> std::io::Result<()> {
    let style = Style::for_stdout();
    writeln!(
        out,
        "{}",
        style.heading(&format!(
            "{ok} verified, {invalid} invalid, {missing} missing, {error} could not be checked"
        ))
    )
}

/// A failure that stopped the whole run, with its causes.
pub(crate) fn print_error(err: &anyhow::Error) {
    let style = Style::for_stderr();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}: {err}", style.error());
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  Caused by: {cause}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_with_any_unicode_never_panic() {
        assert_eq!(prefix_chars("ééééééééééééééé", 12), "éééééééééééé");
        assert_eq!(prefix_chars("\u{10FFFF}a", 12), "\u{10FFFF}a");
        assert_eq!(prefix_chars("abc", 12), "abc");
        assert_eq!(prefix_chars("", 12), "");
        let long = "x".repeat(10_000);
        assert!(shorten_arg(&long).starts_with(&"x".repeat(200)));
        assert!(shorten_arg(&long).len() < 300);
        assert_eq!(shorten_arg("a\nb"), "a\\nb");
    }
}
