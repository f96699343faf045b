//! Reading rate limits from an answer: `Retry-After` (RFC 9110) and GitHub's `x-ratelimit-*`.
//!
//! GitHub's documented rules: a 429 is always a rate limit; a 403 is one when it carries
//! `retry-after`, `x-ratelimit-remaining: 0` or a "rate limit" message. Wait for `retry-after`
//! if given, else until `x-ratelimit-reset` when the budget is spent, else one minute.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// GitHub's advice when a secondary rate limit names no time: wait at least a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// The budget the server reported in its latest answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per window (`x-ratelimit-limit`).
    pub limit: Option<u64>,
    /// Requests left in the window (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// When the window resets (`x-ratelimit-reset`).
    pub reset: Option<DateTime<Utc>>,
}

/// The rate-limit headers of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RateLimitHeaders {
    pub(crate) limit: Option<u64>,
    pub(crate) remaining: Option<u64>,
    /// Epoch seconds.
    pub(crate) reset: Option<u64>,
    pub(crate) retry_after: Option<RetryAfter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryAfter {
    Seconds(u64),
    At(DateTime<Utc>),
}

impl RateLimitHeaders {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self::parse(|name| headers.get(name).and_then(|v| v.to_str().ok()))
    }

    pub(crate) fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let number = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        let retry_after = get(RETRY_AFTER.as_str()).and_then(|v| {
            let v = v.trim();
            v.parse::<u64>().ok().map(RetryAfter::Seconds).or_else(|| {
                DateTime::parse_from_rfc2822(v)
                    .ok()
                    .map(|t| RetryAfter::At(t.with_timezone(&Utc)))
            })
        });
        Self {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset"),
            retry_after,
        }
    }

    pub(crate) fn status(&self) -> Option<RateLimitStatus> {
        (self.limit.is_some() || self.remaining.is_some()).then(|| RateLimitStatus {
            limit: self.limit,
            remaining: self.remaining,
            reset: self
                .reset
                .and_then(|t| i64::try_from(t).ok())
                .and_then(|t| DateTime::from_timestamp(t, 0)),
        })
    }

    /// How long `Retry-After` asks to wait, if it says.
    pub(crate) fn retry_after(&self, now: DateTime<Utc>) -> Option<Duration> {
        match self.retry_after? {
            RetryAfter::Seconds(s) => Some(Duration::from_secs(s)),
            RetryAfter::At(t) => Some((t - now).to_std().unwrap_or(Duration::ZERO)),
        }
    }
}

/// How long to wait if this answer is a rate limit; `None` if it is not one.
pub(crate) fn rate_limit_wait(
    status: u16,
    limits: &RateLimitHeaders,
    message: &str,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let limited = status == 429
        || (status == 403
            && (limits.retry_after.is_some()
                || limits.remaining == Some(0)
                || message.to_ascii_lowercase().contains("rate limit")));
    if !limited {
        return None;
    }
    let until = |t: DateTime<Utc>| (t - now).to_std().unwrap_or(Duration::ZERO);
    Some(match limits.retry_after(now) {
        Some(wait) => wait,
        None => match (limits.remaining, limits.reset) {
            (Some(0), Some(reset)) => i64::try_from(reset)
                .ok()
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .map_or(DEFAULT_RATE_LIMIT_WAIT, until),
            _ => DEFAULT_RATE_LIMIT_WAIT,
        },
    })
}

/// Up to 10 % (at most 1 s) on top of a rate-limit wait, so that many clients released at the
/// same reset do not all come back in the same instant. `unit` is uniform in `[0, 1)`.
pub(crate) fn rate_limit_jitter(wait: Duration, unit: f64) -> Duration {
    (wait / 10)
        .min(Duration::from_secs(1))
        .mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn headers(pairs: &[(&str, &str)]) -> RateLimitHeaders {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RateLimitHeaders::parse(|name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        })
    }

    #[test]
    fn headers_parse() {
        let h = headers(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000100"),
            ("retry-after", "30"),
        ]);
        assert_eq!(
            (h.limit, h.remaining, h.reset),
            (Some(60), Some(0), Some(1_700_000_100))
        );
        assert_eq!(h.retry_after, Some(RetryAfter::Seconds(30)));
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(
            date.retry_after,
            Some(RetryAfter::At(
                Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap()
            ))
        );
        assert_eq!(headers(&[("retry-after", "soon")]).retry_after, None);
    }

    #[test]
    fn wait_rules() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let secondary = headers(&[("retry-after", "7")]);
        assert_eq!(
            rate_limit_wait(403, &secondary, "secondary rate limit", now),
            Some(Duration::from_secs(7))
        );
        let primary = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000100"),
        ]);
        assert_eq!(
            rate_limit_wait(403, &primary, "API rate limit exceeded", now),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            rate_limit_wait(429, &headers(&[]), "", now),
            Some(Duration::from_secs(60))
        );
        let budget = headers(&[("x-ratelimit-remaining", "5")]);
        assert_eq!(
            rate_limit_wait(403, &budget, "Resource not accessible", now),
            None
        );
        assert_eq!(rate_limit_wait(200, &primary, "", now), None);
        assert!(rate_limit_jitter(Duration::from_secs(60), 1.0) <= Duration::from_secs(1));
    }
}
