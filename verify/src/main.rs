//! `brew-verify`: check Homebrew bottles against GitHub artifact attestations.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cli;
mod commands;
mod exit;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Status;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                Status::Usage
            } else {
                Status::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    let result = match cli.command {
        Some(Command::Bundle(args)) => commands::bundle::run(&args),
        Some(Command::ExportSidecars(args)) => commands::export::run(&args),
        None => commands::check::run(&cli.check),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            report::human::print_error(&err);
            err.downcast_ref::<exit::UsageError>()
                .map_or(Status::CouldNotCheck, |_| Status::Usage)
                .into()
        }
    }
}

/// `brew-verify … | head` closes stdout early; that is not an error worth a message.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
