//! Exit statuses: the contract scripts and brew rely on (README, "Exit codes").

use std::process::ExitCode;

/// What the process reports to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// Everything verified.
    Ok = 0,
    /// Some attestation exists but is invalid (`bundle`: not verified).
    Invalid = 1,
    /// Bad command line.
    Usage = 2,
    /// Some attestation is missing, none invalid.
    Missing = 3,
    /// Something could not be checked (unreadable input, a lookup that failed).
    CouldNotCheck = 4,
}

impl Status {
    /// Combine the statuses of several bottles: invalid beats could-not-check beats missing.
    pub(crate) fn worst(self, other: Self) -> Self {
        fn rank(s: Status) -> u8 {
            match s {
                Status::Ok => 0,
                Status::Missing => 1,
                Status::CouldNotCheck => 2,
                Status::Invalid => 3,
                Status::Usage => 4,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        ExitCode::from(s as u8)
    }
}

/// A command line that parses but makes no sense (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Output could not be written (a closed pipe, a full disk) after some bottles were judged.
///
/// A verifier's exit status is its verdict: `brew-verify … | head` under `pipefail` must not
/// turn an invalid bottle into success (issue 10, item 8). So the binary exits with the verdict
/// so far, or 141 (128 + SIGPIPE, what a shell reports for a process killed by a closed pipe)
/// when nothing failed yet, never 0.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the output: {source}")]
pub(crate) struct Interrupted {
    pub(crate) so_far: Status,
    #[source]
    source: std::io::Error,
}

impl Interrupted {
    pub(crate) fn new(so_far: Status, source: std::io::Error) -> Self {
        Self { so_far, source }
    }
}

/// The exit status for output that broke off: the verdict so far if it already failed, else
/// 141.
pub(crate) fn interrupted_code(so_far: Option<Status>) -> std::process::ExitCode {
    match so_far {
        Some(status) if status != Status::Ok => status.into(),
        _ => std::process::ExitCode::from(141),
    }
}
