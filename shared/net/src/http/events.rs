//! The network layer's pauses, as lines on stderr: a user waiting on a slow or blackholed
//! network sees what is happening instead of minutes of silence (issue 10, item 7). Both
//! binaries report through this one.

use std::io::Write as _;

use super::error::human;
use super::retry::{NetEvents, PauseReason, RetryEvent};

/// Prints `retrying (2/4) after 1.2 seconds: <cause>` on stderr (nothing when quiet).
#[derive(Debug, Clone, Copy)]
pub struct StderrEvents {
    quiet: bool,
}

impl StderrEvents {
    /// Report on stderr, unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }
}

impl NetEvents for StderrEvents {
    fn retrying(&self, event: &RetryEvent<'_>) {
        if self.quiet {
            return;
        }
        let line = match event.reason {
            PauseReason::Transient => format!(
                "retrying ({}/{}) after {}: {}",
                event.next_attempt,
                event.max_attempts,
                human(event.delay),
                event.cause
            ),
            PauseReason::RateLimit => format!(
                "rate limited: waiting {} before trying again: {}",
                human(event.delay),
                event.cause
            ),
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}
