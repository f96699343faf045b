//! The one error type of the network layer: what happened, to which host, and what to do.

use std::fmt;
use std::time::Duration;

use super::credential::CredentialRefusal;

/// A request that did not produce a usable answer. The URL is shown without its query (blob
/// URLs carry access signatures there) and never with a credential.
///
/// Boxed: it travels inside every network error of the crate, and a small `Err` keeps the
/// happy path's `Result`s small.
#[derive(Debug, Clone)]
pub struct NetError(Box<Details>);

#[derive(Debug, Clone)]
struct Details {
    url: String,
    host: String,
    attempts: u32,
    kind: NetErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetErrorKind {
    /// The host name could not be resolved.
    Dns(String),
    /// The host refused the connection (nothing listens there).
    Refused,
    /// No connection within the connect timeout (a blackholed network, a firewall).
    ConnectTimeout(Duration),
    /// Connected, but no complete answer within the attempt timeout.
    Timeout(Duration),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// Any other transport failure: reset, broken connection, body cut short.
    Transport(String),
    /// An HTTP status that is an error (after retries, for 5xx and 429).
    Status {
        /// The status.
        status: u16,
        /// The server's message, shortened.
        message: String,
    },
    /// The rate limit is spent and lifts later than the caller is willing to wait.
    RateLimited {
        /// How long the server asked to wait.
        retry_after: Duration,
        /// Whether the request carried a credential.
        authenticated: bool,
    },
    /// The body is larger than the cap for this kind of document.
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
        /// What the body was supposed to be.
        what: &'static str,
    },
    /// A redirect that is not followed (too many, to a non-http(s) URL, https → http).
    Redirect(String),
    /// A credential was not sent, and the request cannot be made without it.
    Credential(CredentialRefusal),
    /// The overall deadline passed (the last failure before it, if any, is in the message).
    Deadline {
        /// The deadline's length.
        after: Duration,
        /// What the last attempt ran into.
        last: Option<String>,
    },
    /// The URL is not one this client can request.
    InvalidUrl(String),
}

impl NetError {
    pub(crate) fn new(url: &reqwest::Url, kind: NetErrorKind) -> Self {
        Self(Box::new(Details {
            url: redact(url),
            host: host_of(url),
            attempts: 1,
            kind,
        }))
    }

    /// A failure reported by a service client that does its own HTTP (the Sigstore services):
    /// an HTTP status, or a transport failure described by `message`.
    pub fn service(url: &reqwest::Url, status: Option<u16>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            url,
            match status {
                Some(status) => NetErrorKind::Status { status, message },
                None => NetErrorKind::Transport(message),
            },
        )
    }

    /// An error about a URL that did not even parse.
    pub(crate) fn invalid_url(raw: &str, why: impl Into<String>) -> Self {
        Self(Box::new(Details {
            url: "<invalid URL>".into(),
            host: String::new(),
            attempts: 0,
            kind: NetErrorKind::InvalidUrl(format!("`{}`: {}", shorten(raw, 200), why.into())),
        }))
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.0.attempts = attempts;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &NetErrorKind {
        &self.0.kind
    }

    /// The request's URL (without query string).
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The host (`host[:port]`).
    pub fn host(&self) -> &str {
        &self.0.host
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self.0.kind {
            NetErrorKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Whether trying again (later) may help: transport failures, timeouts, 5xx, 429, rate
    /// limits. Never a 4xx verdict, an oversized body or a refused credential.
    pub fn is_transient(&self) -> bool {
        match &self.0.kind {
            NetErrorKind::Dns(_)
            | NetErrorKind::Refused
            | NetErrorKind::ConnectTimeout(_)
            | NetErrorKind::Timeout(_)
            | NetErrorKind::Transport(_)
            | NetErrorKind::RateLimited { .. }
            | NetErrorKind::Deadline { .. } => true,
            NetErrorKind::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whether the host could not be reached at all (as opposed to answering badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.0.kind,
            NetErrorKind::Dns(_)
                | NetErrorKind::Refused
                | NetErrorKind::ConnectTimeout(_)
                | NetErrorKind::Timeout(_)
                | NetErrorKind::Tls(_)
                | NetErrorKind::Transport(_)
                | NetErrorKind::Deadline { .. }
        )
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match &self.0.kind {
            NetErrorKind::Dns(_)
            | NetErrorKind::Refused
            | NetErrorKind::ConnectTimeout(_)
            | NetErrorKind::Timeout(_)
            | NetErrorKind::Transport(_)
            | NetErrorKind::Deadline { .. } => Some(
                "check the network; `--offline` verifies from the cache and `--bundle` files \
                 without it, and HOMEBREW_BREW_VERIFY_TIMEOUT (or --timeout) allows slower networks",
            ),
            NetErrorKind::Tls(_) => Some(
                "the server's TLS certificate was refused; a proxy that intercepts TLS is not \
                 supported",
            ),
            NetErrorKind::RateLimited {
                authenticated: false,
                ..
            } => Some(
                "requests without a token get a low limit: set HOMEBREW_GITHUB_API_TOKEN to a \
                 GitHub token",
            ),
            NetErrorKind::Status { status: 401, .. } => {
                Some("check the token (HOMEBREW_GITHUB_API_TOKEN, GH_TOKEN or GITHUB_TOKEN)")
            }
            _ => None,
        }
    }

    fn cause(&self) -> String {
        match &self.0.kind {
            NetErrorKind::Dns(why) => format!("could not resolve the host (DNS: {why})"),
            NetErrorKind::Refused => "the connection was refused".into(),
            NetErrorKind::ConnectTimeout(t) => {
                format!("no connection within {} (connect timeout)", human(*t))
            }
            NetErrorKind::Timeout(t) => format!("no answer within {} (timeout)", human(*t)),
            NetErrorKind::Tls(why) => format!("the TLS handshake failed: {why}"),
            NetErrorKind::Transport(why) => format!("the connection failed: {why}"),
            NetErrorKind::Status { status, message } => {
                format!("HTTP {status}: {}", shorten(message, 300))
            }
            NetErrorKind::RateLimited { retry_after, .. } => {
                format!("rate limit exceeded: try again in {}", human(*retry_after))
            }
            NetErrorKind::TooLarge { limit, what } => {
                format!("the {what} is larger than {} (refused)", bytes(*limit))
            }
            NetErrorKind::Redirect(why) => format!("redirect not followed: {why}"),
            NetErrorKind::Credential(refusal) => refusal.to_string(),
            NetErrorKind::Deadline { after, last } => match last {
                Some(last) => format!("gave up after {} (last: {last})", human(*after)),
                None => format!("gave up after {}", human(*after)),
            },
            NetErrorKind::InvalidUrl(why) => format!("invalid URL {why}"),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.0.url, self.cause())?;
        if self.0.attempts > 1 {
            write!(f, " (after {} attempts)", self.0.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for NetError {}

/// A URL for messages: no user info, no query, no fragment.
pub(crate) fn redact(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if had_query && !is_harmless_query(url) {
        text.push_str("?…");
    } else if let Some(q) = url.query() {
        text.push('?');
        text.push_str(q);
    }
    text
}

/// Queries this crate builds itself (pagination, filters) are worth showing; signed blob URLs
/// (`sig=`, `se=`, `X-Amz-…`) are not.
fn is_harmless_query(url: &reqwest::Url) -> bool {
    url.query_pairs().all(|(k, _)| {
        matches!(
            k.as_ref(),
            "per_page" | "predicate_type" | "page" | "after" | "before" | "service" | "scope"
        )
    })
}

fn host_of(url: &reqwest::Url) -> String {
    super::origin::Origin::of(url)
        .map(|o| o.authority())
        .unwrap_or_default()
}

/// Shorten text on a character boundary (server messages can be whole HTML pages).
pub(crate) fn shorten(text: &str, limit: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// "42 seconds", "3 minutes 5 seconds", "2 hours 1 minute", rounded up to whole seconds.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) && !d.is_zero() {
        return format!("{:.1} seconds", d.as_secs_f64());
    }
    let total = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let unit = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (h, m, s) {
        (0, 0, s) => unit(s, "second"),
        (0, m, 0) => unit(m, "minute"),
        (0, m, s) => format!("{} {}", unit(m, "minute"), unit(s, "second")),
        (h, 0, _) => unit(h, "hour"),
        (h, m, _) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_host_and_cause_never_secrets() {
        let url = reqwest::Url::parse("https://blob.example/a/1.json.sn?sig=SECRET&se=1").unwrap();
        let e = NetError::new(&url, NetErrorKind::Refused).with_attempts(4);
        let text = e.to_string();
        assert_eq!(
            text,
            "`https://blob.example/a/1.json.sn?…`: the connection was refused (after 4 attempts)"
        );
        assert_eq!(e.host(), "blob.example");
        assert!(e.hint().unwrap().contains("--offline"));
        let api = reqwest::Url::parse(
            "https://api.github.com/repos/a/b/attestations/sha256:00?per_page=100",
        )
        .unwrap();
        assert!(
            NetError::new(&api, NetErrorKind::Refused)
                .to_string()
                .contains("?per_page=100")
        );
    }

    #[test]
    fn only_transient_failures_are_transient() {
        let url = reqwest::Url::parse("https://x.example/").unwrap();
        let status = |s| {
            NetError::new(
                &url,
                NetErrorKind::Status {
                    status: s,
                    message: String::new(),
                },
            )
        };
        assert!(status(502).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(401).is_transient());
        assert!(
            !NetError::new(
                &url,
                NetErrorKind::TooLarge {
                    limit: 1,
                    what: "x"
                }
            )
            .is_transient()
        );
    }

    #[test]
    fn durations_read_plainly() {
        assert_eq!(human(Duration::from_secs(1830)), "30 minutes 30 seconds");
        assert_eq!(human(Duration::from_millis(1500)), "2 seconds");
        assert_eq!(
            human(Duration::from_secs(3600 * 2 + 61)),
            "2 hours 1 minute"
        );
        assert_eq!(shorten("ééééé", 2), "éé…");
    }
}
