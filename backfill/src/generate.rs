//! Packaging commands: shell completions and man pages from the clap definitions, with the
//! sections clap does not know (EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES). The same shape as
//! brew-verify's `commands/generate.rs`; the packaging commands themselves
//! ([`crate::cli::Packaging`]) appear in neither.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser as _};
use roff::{Roff, bold, roman};

use crate::cli::{Cli, Packaging};
use crate::exit::Status;

/// `brew-backfill generate-completions SHELL` / `generate-man [--out DIR]`.
pub(crate) fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let result = match Packaging::try_parse_from(args) {
        Ok(Packaging::GenerateCompletions { shell }) => completions(shell),
        Ok(Packaging::GenerateMan { out }) => man(out.as_deref()),
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Status::Usage
            } else {
                Status::Ok
            }
            .into();
        }
    };
    match result {
        Ok(()) => Status::Ok.into(),
        Err(err) => {
            crate::error_line(&format!("error: {err:#}"));
            Status::CouldNotCheck.into()
        }
    }
}

fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "brew-backfill", &mut out);
    out.flush()?;
    Ok(())
}

fn man(out: Option<&Path>) -> anyhow::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            write_pages(&cmd, dir)
                .with_context(|| format!("cannot write man pages to `{}`", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            page(&cmd, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// The page of `cmd` and of each visible subcommand (`brew-backfill-plan.1`, …).
fn write_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut file = std::fs::File::create(dir.join(man.get_filename()))?;
    page(cmd, &mut file)?;
    file.flush()
}

/// One page: clap's sections, then ours, then the version.
fn page(cmd: &clap::Command, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    sections(cmd.get_display_name().unwrap_or(cmd.get_name())).to_writer(w)?;
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// `(tag, text)` items of a section.
type Items = &'static [(&'static str, &'static str)];

fn sections(name: &str) -> Roff {
    let mut roff = Roff::new();
    let mut section = |title: &str, items: Items| {
        roff.control("SH", [title]);
        for (tag, text) in items {
            roff.control("TP", [])
                .text([bold(*tag)])
                .text([roman(*text)]);
        }
    };
    let examples = |roff: &mut Roff, examples: Items| {
        roff.control("SH", ["EXAMPLES"]);
        for (what, command) in examples {
            roff.control("PP", [])
                .text([roman(*what)])
                .control("RS", ["4"])
                .control("nf", [])
                .text([roman(*command)])
                .control("fi", [])
                .control("RE", []);
        }
    };
    section("EXIT STATUS", EXIT);
    if name == "brew-backfill" {
        section("ENVIRONMENT", ENVIRONMENT);
        section("FILES", FILES);
        examples(&mut roff, EXAMPLES);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "brew-backfill(1), brew-verify(1), gh-attestation-verify(1)",
    )]);
    roff
}

const EXIT: Items = &[
    ("0", "Everything done (audit: every bottle verified)."),
    (
        "1",
        "Some item failed: a signature, an upload, an invalid attestation. The others were done; run again to retry.",
    ),
    ("2", "Usage error."),
    ("3", "audit: some bottle is still missing, none invalid."),
    ("4", "Could not check: a lookup or the input failed."),
];

const ENVIRONMENT: Items = &[
    (
        "GH_TOKEN, GITHUB_TOKEN",
        "The GitHub API token (upload needs attestations: write); GH_ENTERPRISE_TOKEN for another --api-url.",
    ),
    (
        "GITHUB_REPOSITORY",
        "The tap, when --repo is not given (set in GitHub Actions).",
    ),
    (
        "ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GitHub Actions' OIDC token request (permissions: id-token: write), used when --identity-token is not given.",
    ),
    (
        "GITHUB_WORKFLOW_REF, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL",
        "Recorded in each statement's provenance (the run that signed it).",
    ),
];

const FILES: Items = &[
    (
        "PLAN.jsonl",
        "The plan (plan --plan, read by sign and audit --plan): a header line, then one line per bottle to sign.",
    ),
    (
        "PLAN.jsonl.partial.jsonl",
        "A plan being written; an interrupted plan resumes from it.",
    ),
    (
        "JOURNAL",
        "The append-only journal of sign and upload (--journal); never edit it.",
    ),
    (
        "DIR/batch-NNNNN.sigstore.json",
        "Signed bundles (sign --out DIR, run --out DIR), kept beside their journal.",
    ),
];

const EXAMPLES: Items = &[
    (
        "What a tap's backfill would sign, without writing anything:",
        "brew-backfill plan --dry-run --formulae formula.json --repo you/homebrew-tap",
    ),
    (
        "Plan, then sign in GitHub Actions (or with --identity-token FILE) and upload:",
        "brew-backfill plan --formulae formula.json --repo you/homebrew-tap --plan plan.jsonl\nbrew-backfill sign --plan plan.jsonl --journal state/journal.jsonl --out state/bundles\nbrew-backfill upload --journal state/journal.jsonl --repo you/homebrew-tap",
    ),
    (
        "Check every planned bottle as brew-verify would:",
        "brew-backfill audit --plan plan.jsonl --repo you/homebrew-tap",
    ),
    (
        "The brew-verify policy for the tap's bottles:",
        "brew-backfill policy --repo you/homebrew-tap > tap-policy.toml",
    ),
];
