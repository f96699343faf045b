//! The kit's settable clock. Fulcio (certificate validity, SCT), Rekor (integrated time) and the
//! TSA (genTime) all read it, so a bundle can be minted "as if" at a past instant: a backfill
//! bundle from before a cutoff, or one after it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Real time, or a fixed instant set by a test.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    frozen: Mutex<Option<DateTime<Utc>>>,
}

impl Clock {
    /// The kit's current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.frozen
            .lock()
            .map(|frozen| *frozen)
            .unwrap_or_else(|poisoned| *poisoned.into_inner())
            .unwrap_or_else(Utc::now)
    }

    /// Stop the clock at `t` (`Some`) or let it follow real time again (`None`).
    pub(crate) fn set(&self, t: Option<DateTime<Utc>>) {
        match self.frozen.lock() {
            Ok(mut frozen) => *frozen = t,
            Err(poisoned) => *poisoned.into_inner() = t,
        }
    }
}
