//! `brew-backfill`: sign attestations for legacy bottles that have none (maintainers' tool).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
//!
//! Only the command line exists so far. Each subcommand says plainly that it is not built yet
//! and exits non-zero: there is no fake output to mistake for work done.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Plan, sign, upload and audit backfill attestations for bottles without an upstream one.
#[derive(Debug, Parser)]
#[command(name = "brew-backfill", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every bottle that needs a backfill attestation.
    Plan {
        /// Formula JSON (file or URL).
        #[arg(long)]
        formulae: String,
        /// Where to write the plan (JSON Lines).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign planned bottles in batches, keylessly, recording each bundle in the journal.
    Sign {
        /// The plan from `plan`.
        #[arg(long)]
        plan: PathBuf,
        /// The resumable journal.
        #[arg(long)]
        journal: PathBuf,
    },
    /// Upload signed bundles to the tap's attestations API.
    Upload {
        /// The resumable journal.
        #[arg(long)]
        journal: PathBuf,
        /// `owner/repo` of the tap.
        #[arg(long)]
        repo: String,
    },
    /// Check every planned bottle the way `brew-verify` would.
    Audit {
        /// The plan from `plan`.
        #[arg(long)]
        plan: PathBuf,
        /// `owner/repo` of the tap.
        #[arg(long)]
        repo: String,
    },
    /// plan → sign → upload → audit for one shard.
    Run,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match cli.command {
        Command::Plan { .. } => "plan",
        Command::Sign { .. } => "sign",
        Command::Upload { .. } => "upload",
        Command::Audit { .. } => "audit",
        Command::Run => "run",
    };
    eprintln!(
        "Error: `brew-backfill {name}` is not built yet (issue #4); nothing was read, signed or uploaded."
    );
    ExitCode::from(4)
}
