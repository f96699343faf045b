//! Hidden commands for packaging: shell completions and man pages, generated from the clap
//! definitions so that they never drift from the real flags (`tap/Formula/brew-verify.rb`
//! runs them at install time).

use std::io::Write as _;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::{Cli, GenerateManArgs};
use crate::exit::Status;

/// `brew-verify generate-completions SHELL`: the completion script on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<Status> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "brew-verify", &mut out);
    out.flush()?;
    Ok(Status::Ok)
}

/// `brew-verify generate-man [--out DIR]`: `brew-verify(1)` on stdout, or one page per command
/// (`brew-verify.1`, `brew-verify-gh.1`, …) in DIR.
pub(crate) fn man(args: &GenerateManArgs) -> anyhow::Result<Status> {
    let cmd = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write man pages to `{}`", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Status::Ok)
}
