//! `brew-backfill`: sign backfill attestations for Homebrew bottles that have no upstream
//! attestation, resumably, and check the result the way `brew-verify` does.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
//!
//! One file per subcommand (`plan`, `sign`, `upload`, `audit`, `run`); the journal, the
//! signing steps and the tap's policy have their own modules. The verification itself is the
//! shared crate's, the same code `brew-verify` runs.

mod audit;
mod bulk;
mod cli;
mod exit;
mod fsutil;
mod generate;
mod journal;
mod net;
mod plan;
mod planfile;
mod progress;
mod run;
mod shard;
mod sign;
mod signing;
mod tap;
mod upload;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command, Packaging};
use crate::exit::{Status, UsageError};
use crate::progress::Ui;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| Packaging::NAMES.contains(&a))
    {
        return generate::main(args);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Status::Usage
            } else {
                Status::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    let ui = Ui {
        quiet: cli.quiet,
        interval: Duration::from_secs(cli.progress_interval),
    };
    let result = match &cli.command {
        Command::Plan(args) => plan::run(args, ui),
        Command::Sign(args) => sign::run(args, ui),
        Command::Upload(args) => upload::run(args, ui),
        Command::Audit(args) => audit::run(args, ui),
        Command::Run(args) => run::run(args, ui),
        Command::Policy(args) => tap::print_policy(args),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            error_line(&format!("error: {err}"));
            for cause in err.chain().skip(1) {
                error_line(&format!("  Caused by: {cause}"));
            }
            err.downcast_ref::<UsageError>()
                .map_or(Status::CouldNotCheck, |_| Status::Usage)
                .into()
        }
    }
}

/// A multi-threaded runtime (the GitHub client must be created inside one).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Data on stdout.
pub(crate) fn stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// An error line on stderr, shown even with `--quiet`.
pub(crate) fn error_line(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// An error line that does not garble a progress bar.
pub(crate) fn error_line_with(progress: &progress::Progress, message: &str) {
    progress.println(message);
}

/// Crash-test hook. With `BREW_BACKFILL_PAUSE_AT=<point>:<n>`, the n-th time the process
/// reaches `<point>` (`prepared`, `logged`, `signed`, `upload-started`, `posted`) it writes the
/// point's name to `BREW_BACKFILL_PAUSE_FILE` and stops there, so that a test can SIGKILL it
/// at that exact step (tests/it/backfill.rs). Unset, it costs one environment lookup per call.
pub(crate) fn checkpoint(point: &str) {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let Ok(spec) = std::env::var("BREW_BACKFILL_PAUSE_AT") else {
        return;
    };
    let Some((want, n)) = spec.split_once(':') else {
        return;
    };
    if want != point {
        return;
    }
    let count = {
        let mut seen = SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.push(point.to_owned());
        seen.iter().filter(|p| *p == point).count()
    };
    if n.parse::<usize>().ok() != Some(count) {
        return;
    }
    if let Ok(file) = std::env::var("BREW_BACKFILL_PAUSE_FILE") {
        let _ = std::fs::write(file, point);
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
