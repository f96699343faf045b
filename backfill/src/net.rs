//! The clients `brew-backfill` talks through, all on the shared HTTP layer (one retry policy,
//! host-bound credentials, capped bodies): the GitHub API for lookups and uploads, the formula
//! JSON, and the registry.

use bottle_attest_net::env::{Env, TokenOrder};
use bottle_attest_net::github::GitHubClient;
use std::sync::Arc;
use std::time::Duration;

use bottle_attest_net::http::{
    HttpClient, HttpConfig, NetEvents, Request, RetryPolicy, SharedCredential, StderrEvents,
};

/// The layer's retry policy, but sitting out rate limits of up to an hour (GitHub's primary
/// limit resets hourly): a backfill is a batch job that must finish, not an interactive
/// check that should fail fast. Each wait is a line on stderr.
pub(crate) fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_rate_limit_wait: Duration::from_secs(3600),
        max_rate_limit_waits: 24,
        ..RetryPolicy::default()
    }
}

/// The HTTP client every request of this run goes through, with [`retry_policy`] and each
/// pause reported on stderr.
pub(crate) fn http() -> anyhow::Result<HttpClient> {
    http_reporting(Arc::new(StderrEvents::new(false)))
}

/// [`http`], its pauses reported to `events` (which prints them too): for a command that also
/// sums them up.
pub(crate) fn http_reporting(events: Arc<dyn NetEvents>) -> anyhow::Result<HttpClient> {
    Ok(HttpClient::new(HttpConfig {
        retry: retry_policy(),
        events,
        ..HttpConfig::default()
    })?)
}

/// The GitHub token for `api_url`, bound to its host under gh's rules (`GH_TOKEN`,
/// `GITHUB_TOKEN` for github.com; `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN` elsewhere).
pub(crate) fn github_credential(
    env: &Env,
    api_url: &str,
) -> anyhow::Result<Option<SharedCredential>> {
    let url = Request::parse_url(api_url)?;
    Ok(env.github_credential(&url, TokenOrder::Gh)?)
}

/// A GitHub API client at `api_url`, with the environment's token for that host.
pub(crate) fn github(http: &HttpClient, env: &Env, api_url: &str) -> anyhow::Result<GitHubClient> {
    let credential = github_credential(env, api_url)?;
    Ok(GitHubClient::new(http.clone(), api_url, credential)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bottle_attest_net::http::retry::{self, Attempt};
    use bottle_attest_net::http::{NetError, PauseReason, RetryEvent, Url};
    use std::sync::Mutex;

    /// The pauses the retry loop announced: (reason, delay, attempt about to be made).
    #[derive(Default)]
    struct Recorded(Mutex<Vec<(PauseReason, Duration, u32)>>);

    impl NetEvents for Recorded {
        fn retrying(&self, event: &RetryEvent<'_>) {
            self.0
                .lock()
                .unwrap()
                .push((event.reason, event.delay, event.next_attempt));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_hourly_budget_is_sat_out_with_a_progress_event() {
        // Issue 11: `plan` exited part-way when the primary limit reset more than 60 s later
        // (the layer's default gives up beyond a minute). 3000 s: GitHub's hourly window with
        // ten minutes gone. Paused time: the sleep costs nothing, and nothing here reads a
        // clock except tokio's.
        let url = Url::parse("https://api.github.com/x").unwrap();
        let limited = NetError::service(&url, Some(403), "API rate limit exceeded");
        let events = Recorded::default();
        let started = tokio::time::Instant::now();
        let mut calls = 0;
        let result: Result<u32, NetError> =
            retry::run(&retry_policy(), None, None, &events, &url, |_| {
                calls += 1;
                let limited = limited.clone();
                let first = calls == 1;
                async move {
                    if first {
                        Attempt::RateLimited {
                            wait: Duration::from_secs(3000),
                            error: limited,
                        }
                    } else {
                        Attempt::Done(Ok(7))
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls, 2);
        let events = events.0.into_inner().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        let (reason, delay, next) = events[0];
        assert_eq!(reason, PauseReason::RateLimit);
        // The wait asked for, plus at most one second of jitter; a rate limit is not a failed
        // attempt, so the request is sent again as attempt 1.
        assert!(
            delay >= Duration::from_secs(3000) && delay <= Duration::from_secs(3001),
            "{delay:?}"
        );
        assert_eq!(next, 1);
        // The loop slept that pause (tokio's paused clock, which rounds to the millisecond).
        assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_longer_than_the_hourly_window_is_not_sat_out() {
        // The other side of the policy: a reset further off than an hour is an error at once,
        // naming the rate limit, with no pause announced.
        let url = Url::parse("https://api.github.com/x").unwrap();
        let events = Recorded::default();
        let result: Result<u32, NetError> =
            retry::run(&retry_policy(), None, None, &events, &url, |_| async {
                Attempt::RateLimited {
                    wait: Duration::from_secs(3601),
                    error: NetError::service(
                        &Url::parse("https://api.github.com/x").unwrap(),
                        Some(403),
                        "API rate limit exceeded",
                    ),
                }
            })
            .await;
        let err = result.unwrap_err();
        assert_eq!(err.status(), Some(403), "{err}");
        assert!(err.to_string().contains("API rate limit exceeded"), "{err}");
        assert!(events.0.into_inner().unwrap().is_empty());
    }
}
