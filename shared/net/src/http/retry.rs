//! The one retry policy and the one retry loop of the crate.
//!
//! Transient failures only — connection failures, resets, timeouts, HTTP 5xx, 429 — are tried
//! again, with exponential backoff and "equal jitter" (half fixed, half random) so that many
//! clients do not come back in lockstep. A rate limit with a short `Retry-After` is waited out;
//! a long one fails at once with its wait in the error. A 4xx answer is a verdict and is never
//! retried. Everything stops at the caller's [`Deadline`], whatever attempts remain: a
//! blackholed network costs the deadline, not attempts × timeouts (issue 10, item 7).
//!
//! Nothing is printed here: each retry is reported to a [`NetEvents`] the binary provides.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

use super::error::{NetError, NetErrorKind};
use super::ratelimit::rate_limit_jitter;

/// How transient failures and rate limits are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry doubles it.
    pub base_delay: Duration,
    /// Cap on one delay.
    pub max_delay: Duration,
    /// Longest rate-limit wait that is sat out; a longer one is an error at once.
    pub max_rate_limit_wait: Duration,
    /// Rate-limit waits per request before giving up even if each is short: a server that
    /// keeps asking to come back later is as good as down.
    pub max_rate_limit_waits: u32,
}

impl Default for RetryPolicy {
    /// Four attempts, 0.5 s then 1 s then 2 s (each with jitter): long enough to ride out a
    /// deploy blip, short enough that a down service fails within seconds. Rate limits that
    /// lift within a minute are waited out.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_rate_limit_wait: Duration::from_secs(60),
            max_rate_limit_waits: 3,
        }
    }
}

impl RetryPolicy {
    /// Never retry (a POST whose answer was lost must be looked up before it is sent again).
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            max_rate_limit_wait: Duration::ZERO,
            max_rate_limit_waits: 0,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1 = first): `base · 2^(retry-1)`, capped, then
    /// half of it fixed and half random. `unit` is uniform in `[0, 1)`.
    pub(crate) fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(16);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        full / 2 + (full / 2).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// A point in time after which a whole operation (one bottle's lookups, one formula) gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    length: Duration,
}

impl Deadline {
    /// `length` from now.
    pub fn after(length: Duration) -> Self {
        Self {
            at: Instant::now() + length,
            length,
        }
    }

    /// When it passes.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// How long it was set for.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// Whether `delay` from now would reach it.
    pub(crate) fn would_pass(&self, delay: Duration) -> bool {
        Instant::now() + delay >= self.at
    }
}

/// What one attempt came to.
pub enum Attempt<T> {
    /// Final: success, or an error retrying cannot fix.
    Done(Result<T, NetError>),
    /// A transient failure: try again if attempts and the deadline allow.
    Retry(NetError),
    /// Rate limited: come back after `wait`.
    RateLimited {
        /// How long the server asked to wait.
        wait: Duration,
        /// The error to report if the wait is not sat out.
        error: NetError,
    },
}

/// Why the loop is pausing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// A transient failure, retried.
    Transient,
    /// A rate limit, waited out.
    RateLimit,
}

/// One pause of the retry loop, for a progress line such as
/// `retrying (2/4) after 1.2 seconds: …`.
#[derive(Debug)]
pub struct RetryEvent<'a> {
    /// Why.
    pub reason: PauseReason,
    /// The attempt about to be made (2 = first retry).
    pub next_attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The pause.
    pub delay: Duration,
    /// What the last attempt ran into.
    pub cause: &'a NetError,
}

/// Where the retry loop reports its pauses; the binaries print them on stderr.
pub trait NetEvents: Send + Sync {
    /// A pause before another attempt.
    fn retrying(&self, event: &RetryEvent<'_>);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl NetEvents for Silent {
    fn retrying(&self, _event: &RetryEvent<'_>) {}
}

/// Run `attempt` (given the attempt number, 1-based) until it is done, under `policy`, never
/// past `deadline`. Each attempt is bounded by `attempt_timeout` (and the deadline); a timeout
/// counts as a transient failure of that attempt. This is the only retry loop of the crate.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Option<Deadline>,
    attempt_timeout: Option<Duration>,
    events: &dyn NetEvents,
    url: &reqwest::Url,
    mut attempt: F,
) -> Result<T, NetError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut attempts = 0u32;
    let mut rate_limit_waits = 0u32;
    loop {
        attempts += 1;
        let until = match (deadline, attempt_timeout) {
            (Some(d), Some(t)) => Some(d.at().min(Instant::now() + t)),
            (Some(d), None) => Some(d.at()),
            (None, Some(t)) => Some(Instant::now() + t),
            (None, None) => None,
        };
        let outcome = match until {
            None => attempt(attempts).await,
            Some(until) => match tokio::time::timeout_at(until, attempt(attempts)).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => {
                    if let Some(d) = deadline.filter(|d| Instant::now() >= d.at()) {
                        return Err(NetError::new(
                            url,
                            NetErrorKind::Deadline {
                                after: d.length(),
                                last: None,
                            },
                        )
                        .with_attempts(attempts));
                    }
                    let after = attempt_timeout.unwrap_or_default();
                    Attempt::Retry(NetError::new(url, NetErrorKind::Timeout(after)))
                }
            },
        };
        let (cause, delay, reason) = match outcome {
            Attempt::Done(result) => return result.map_err(|e| e.with_attempts(attempts)),
            Attempt::RateLimited { wait, error } => {
                if wait > policy.max_rate_limit_wait
                    || rate_limit_waits >= policy.max_rate_limit_waits
                    || deadline.is_some_and(|d| d.would_pass(wait))
                {
                    return Err(error.with_attempts(attempts));
                }
                rate_limit_waits += 1;
                // A rate limit is not a failed attempt.
                attempts -= 1;
                let delay = wait + rate_limit_jitter(wait, rand::rng().random());
                (error, delay, PauseReason::RateLimit)
            }
            Attempt::Retry(cause) => {
                if attempts >= max_attempts {
                    return Err(cause.with_attempts(attempts));
                }
                let delay = policy.backoff(attempts, rand::rng().random());
                if let Some(d) = deadline.filter(|d| d.would_pass(delay)) {
                    return Err(NetError::new(
                        url,
                        NetErrorKind::Deadline {
                            after: d.length(),
                            last: Some(cause.to_string()),
                        },
                    )
                    .with_attempts(attempts));
                }
                (cause, delay, PauseReason::Transient)
            }
        };
        events.retrying(&RetryEvent {
            reason,
            next_attempt: attempts + 1,
            max_attempts,
            delay,
            cause: &cause,
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn url() -> reqwest::Url {
        reqwest::Url::parse("https://api.example/x").unwrap()
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff(1, 0.0), Duration::from_millis(50));
        assert!(policy.backoff(1, 0.999) < Duration::from_millis(100));
        assert_eq!(policy.backoff(3, 0.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(60, 1.0), Duration::from_millis(1000));
    }

    struct Recorder(Mutex<Vec<(u32, u32)>>);
    impl NetEvents for Recorder {
        fn retrying(&self, e: &RetryEvent<'_>) {
            self.0
                .lock()
                .unwrap()
                .push((e.next_attempt, e.max_attempts));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_and_reported() {
        let calls = AtomicU32::new(0);
        let events = Recorder(Mutex::new(Vec::new()));
        let result: Result<u32, _> =
            run(&RetryPolicy::default(), None, None, &events, &url(), |n| {
                calls.fetch_add(1, Ordering::Relaxed);
                async move {
                    if n < 3 {
                        Attempt::Retry(NetError::new(&url(), NetErrorKind::Refused))
                    } else {
                        Attempt::Done(Ok(n))
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(*events.0.lock().unwrap(), vec![(2, 4), (3, 4)]);
    }

    #[tokio::test(start_paused = true)]
    async fn verdicts_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> =
            run(&RetryPolicy::default(), None, None, &Silent, &url(), |_| {
                calls.fetch_add(1, Ordering::Relaxed);
                async {
                    Attempt::Done(Err(NetError::new(
                        &url(),
                        NetErrorKind::Status {
                            status: 404,
                            message: "Not Found".into(),
                        },
                    )))
                }
            })
            .await;
        assert_eq!(result.unwrap_err().status(), Some(404));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_bounds_a_blackholed_host() {
        let deadline = Deadline::after(Duration::from_secs(20));
        let start = Instant::now();
        let result: Result<(), _> = run(
            &RetryPolicy {
                max_attempts: 100,
                ..RetryPolicy::default()
            },
            Some(deadline),
            Some(Duration::from_secs(60)),
            &Silent,
            &url(),
            |_| std::future::pending(),
        )
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err.kind(), NetErrorKind::Deadline { .. }), "{err}");
        assert!(Instant::now() - start <= Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn long_rate_limits_fail_at_once() {
        let result: Result<(), _> = run(
            &RetryPolicy::default(),
            None,
            None,
            &Silent,
            &url(),
            |_| async {
                Attempt::RateLimited {
                    wait: Duration::from_secs(3600),
                    error: NetError::new(
                        &url(),
                        NetErrorKind::RateLimited {
                            retry_after: Duration::from_secs(3600),
                            authenticated: false,
                        },
                    ),
                }
            },
        )
        .await;
        assert!(matches!(
            result.unwrap_err().kind(),
            NetErrorKind::RateLimited { .. }
        ));
    }
}
