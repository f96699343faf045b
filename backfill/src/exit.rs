//! Exit statuses (README, "Backfilling a tap"), parallel to brew-verify's.

use std::process::ExitCode;

/// What the process reports to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Everything done; audit: every bottle verified.
    Ok = 0,
    /// Some item failed (a signature, an upload), or audit found an invalid attestation.
    Failed = 1,
    /// Bad command line.
    Usage = 2,
    /// Audit: some bottle still has no attestation (none invalid).
    Missing = 3,
    /// Something could not be checked (a lookup failed, unreadable input).
    CouldNotCheck = 4,
}

impl Status {
    /// The worse of two: failed beats could-not-check beats missing.
    pub(crate) fn worst(self, other: Self) -> Self {
        fn rank(s: Status) -> u8 {
            match s {
                Status::Ok => 0,
                Status::Missing => 1,
                Status::CouldNotCheck => 2,
                Status::Failed => 3,
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
