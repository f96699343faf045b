//! `brew-verify`: check Homebrew bottles against GitHub artifact attestations.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cli;
mod commands;
mod exit;
mod gh;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, Packaging};
use crate::exit::Status;

fn main() -> ExitCode {
    // The program name picks the personality: `gh` is the drop-in brew runs for attestations.
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_default();
    let cli = match invoked_as(&program).as_str() {
        "gh" => return gh::main(args.collect()),
        // brew's external command `brew provenance`: `brew-verify provenance ARGS`.
        "brew-provenance" => Cli::try_parse_from(
            [std::ffi::OsString::from("brew provenance")]
                .into_iter()
                .chain([std::ffi::OsString::from("provenance")])
                .chain(args),
        ),
        _ => {
            let args: Vec<std::ffi::OsString> =
                std::iter::once(program.clone()).chain(args).collect();
            let packaging = args
                .get(1)
                .and_then(|a| a.to_str())
                .is_some_and(|a| Packaging::NAMES.contains(&a));
            if packaging {
                return run_packaging(args);
            }
            Cli::try_parse_from(args)
        }
    };
    let cli = match cli {
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
        Some(Command::Gh { args }) => return gh::main(args),
        Some(Command::InstallGhShim(args)) => commands::install_shim::run(&args),
        Some(Command::Doctor(args)) => commands::doctor::run(&args),
        Some(Command::Trust { action }) => commands::trust::run(&action),
        Some(Command::Provenance(args)) => {
            let inputs = args.json.then(|| args.formulae.clone());
            json_for_each_input(inputs, commands::installed::run(args))
        }
        None => json_for_each_input(
            cli.check.json.then(|| cli.check.bottles.clone()),
            commands::check::run(&cli.check),
        ),
    };
    finish(result)
}

/// `generate-completions` / `generate-man`, for packaging.
fn run_packaging(args: Vec<std::ffi::OsString>) -> ExitCode {
    let result = match Packaging::try_parse_from(args) {
        Ok(Packaging::GenerateCompletions { shell }) => commands::generate::completions(shell),
        Ok(Packaging::GenerateMan(args)) => commands::generate::man(&args),
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
    finish(result)
}

/// The exit status of a command's result, printing its error once.
fn finish(result: anyhow::Result<Status>) -> ExitCode {
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                // Never success: the verdict so far, or 141 (issue 10, item 8).
                let so_far = err.downcast_ref::<exit::Interrupted>().map(|i| i.so_far);
                return exit::interrupted_code(so_far);
            }
            report::human::print_error(&err);
            err.downcast_ref::<exit::UsageError>()
                .map_or(Status::CouldNotCheck, |_| Status::Usage)
                .into()
        }
    }
}

/// `--json` promises one object per input: when a run stops before checking anything (an
/// unreadable `--bundle` file, a bad policy or trusted root, a usage error found after parsing),
/// each input still gets one, `status: "error"` with the run's exit status; the error itself
/// is printed on stderr as for every run. `inputs` is `Some` only with `--json`.
fn json_for_each_input(
    inputs: Option<Vec<String>>,
    result: anyhow::Result<Status>,
) -> anyhow::Result<Status> {
    use std::io::Write as _;
    let (Some(inputs), Err(err)) = (inputs, &result) else {
        return result;
    };
    // A run interrupted while writing its results has written what it could.
    if is_broken_pipe(err) || err.downcast_ref::<exit::Interrupted>().is_some() {
        return result;
    }
    let code = err
        .downcast_ref::<exit::UsageError>()
        .map_or(Status::CouldNotCheck, |_| Status::Usage) as u8;
    let mut out = std::io::stdout().lock();
    for input in &inputs {
        let line = report::json::stopped(input, err, code);
        // The run has failed already and says so on stderr; a closed stdout adds nothing.
        if serde_json::to_writer(&mut out, &line).is_err() || writeln!(out).is_err() {
            break;
        }
    }
    result
}

/// The file name this process was started as, without a directory or `.exe`.
fn invoked_as(program: &std::ffi::OsStr) -> String {
    let name = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".exe").map(str::to_owned).unwrap_or(name)
}

/// `brew-verify … | head` closes stdout early: not worth a message, but not success either.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
