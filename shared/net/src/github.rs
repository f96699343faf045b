//! The GitHub attestations API: list the attestations filed for a digest in a repository, fetch
//! the bundles that are not inline, and upload new ones (for `brew-backfill`).
//!
//! This module owns the network rules of DESIGN.md §2 for `api.github.com` (or a GitHub
//! Enterprise / test base URL):
//!
//! - `GET /repos/{owner}/{repo}/attestations/sha256:{hex}?per_page=100[&predicate_type=…]`,
//!   following `Link: <…>; rel="next"` pages. A 200 with an empty list and a 404 both mean
//!   "missing" (GitHub changed from the second to the first), so both return an empty `Vec`.
//! - An entry without an inline `bundle` has a `bundle_url` on another host (blob storage). It is
//!   fetched with a separate plain HTTP client that never holds the GitHub token, and its body
//!   is a raw-block snappy stream of the protobuf-JSON bundle (what `gh` decodes with
//!   `snappy.Decode`).
//! - Rate limits are read from `x-ratelimit-*` and `retry-after`: a short wait is waited out
//!   (with jitter), a long one becomes [`GitHubError::RateLimited`], which says how long and how a
//!   token raises the limit. Transient failures (5xx, timeouts, broken connections) are retried
//!   a bounded number of times with exponential backoff and jitter; other 4xx never are.
//!
//! What it must not do: verify anything (bundles go to [`crate::crypto`]), decide what a
//! missing attestation means (that is [`crate::policy`]), print, or read the environment
//! itself (callers pass a lookup to [`ApiToken::from_env`]).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use octocrab::Octocrab;
use octocrab::models::AttestationsResponse;
use octocrab::secrecy::{ExposeSecret as _, SecretString};
use rand::Rng as _;
use reqwest::Url;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, LINK, RETRY_AFTER};
use serde_json::Value;
use sigstore_types::{Bundle, Sha256Hash};

use bottle_attest::bundle::{BundleCandidate, BundleParseError};

/// The public GitHub API, used when the caller gives no other base URL.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The environment variables a token is read from, in order. brew passes only `HOMEBREW_*`
/// variables to external commands, so its own name comes first; `GH_TOKEN` and `GITHUB_TOKEN`
/// serve runs outside brew (CI, a shell with `gh` set up).
pub const TOKEN_VARIABLES: [&str; 3] = ["HOMEBREW_GITHUB_API_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"];

/// Page size asked of the API: its maximum, so one request answers almost every digest.
const PER_PAGE: u8 = 100;
/// Pages followed before giving up: a server that keeps linking to more pages is broken, and
/// 10 000 attestations for one bottle digest is not a real answer.
const MAX_PAGES: usize = 100;
/// Largest API response body read (a page of 100 inline bundles is a few MiB).
const MAX_API_BODY: usize = 32 << 20;
/// Largest compressed `bundle_url` body read.
const MAX_BUNDLE_COMPRESSED: usize = 16 << 20;
/// Largest decompressed bundle accepted, checked from the snappy header before allocating.
const MAX_BUNDLE_JSON: usize = 64 << 20;
/// `bundle_url` fetches in flight at once for one listing.
const BUNDLE_FETCH_CONCURRENCY: usize = 4;
/// Rate-limit waits per request before giving up even when each wait is short: a server that
/// keeps asking to come back later is as good as down.
const MAX_RATE_LIMIT_WAITS: u32 = 3;
/// Connection set-up timeout for both clients.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on one whole request (send, wait, read the body).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default longest rate-limit wait that is waited out rather than reported.
const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// GitHub's advice when a secondary rate limit names no time: wait at least a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// A GitHub API token. Its `Debug` and `Display` never show the secret, so it can sit in
/// configs and error contexts that get printed.
#[derive(Clone)]
pub struct ApiToken {
    secret: SecretString,
    source: &'static str,
}

impl ApiToken {
    /// A token given directly (a flag, a test). Surrounding whitespace is dropped; it must be
    /// non-empty printable ASCII without spaces, because it travels in an HTTP header (and
    /// octocrab would panic on anything else).
    pub fn new(token: &str) -> Result<Self, GitHubError> {
        Self::with_source(token, "the given token")
    }

    fn with_source(token: &str, source: &'static str) -> Result<Self, GitHubError> {
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(GitHubError::InvalidToken {
                source_name: source,
            });
        }
        Ok(Self {
            secret: SecretString::from(token.to_owned()),
            source,
        })
    }

    /// The first token set in `HOMEBREW_GITHUB_API_TOKEN`, `GH_TOKEN`, `GITHUB_TOKEN` (empty
    /// values are skipped), read through `get` so that callers and tests choose the
    /// environment. `Ok(None)` when none is set: public repositories need no token.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, GitHubError> {
        for name in TOKEN_VARIABLES {
            match get(name) {
                Some(value) if !value.trim().is_empty() => {
                    return Self::with_source(&value, name).map(Some);
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Where the token came from (an environment variable name, or "the given token"), for
    /// messages such as "GitHub refused the token from GH_TOKEN".
    pub fn source(&self) -> &'static str {
        self.source
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken(<redacted> from {})", self.source)
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How transient failures are retried. Rate limits are not counted here (see
/// [`GitHubClient::with_max_rate_limit_wait`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry doubles it.
    pub base_delay: Duration,
    /// Cap on one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 0.5 s then 1 s then 2 s (each ±50 % jitter): long enough to ride out a
    /// deploy blip, short enough that a down API fails within seconds.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What the client has done so far, for progress and benchmark lines ("N requests").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests sent to the API host (every attempt and page counts).
    pub api_requests: u64,
    /// Requests sent to `bundle_url` hosts.
    pub bundle_url_requests: u64,
    /// Attempts that were retries after a transient failure.
    pub retries: u64,
    /// Rate-limit waits that were waited out.
    pub rate_limit_waits: u64,
}

/// The API's rate-limit budget as of its latest response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per window (`x-ratelimit-limit`).
    pub limit: Option<u64>,
    /// Requests left in the window (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// When the window resets (`x-ratelimit-reset`).
    pub reset: Option<DateTime<Utc>>,
}

/// Why a GitHub API call failed. Each message names the URL (never a token) so that a user can
/// retry it by hand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitHubError {
    /// The rate limit is spent and the wait is longer than the client is willing to sit out.
    #[error(
        "GitHub API rate limit exceeded for `{url}`: try again in {}{}",
        human_duration(*.retry_after),
        if *.authenticated { "" } else {
            "; requests without a token get a low limit (60 an hour): set \
             HOMEBREW_GITHUB_API_TOKEN to a GitHub token to raise it"
        }
    )]
    RateLimited {
        /// The request that was refused.
        url: String,
        /// How long GitHub asked to wait.
        retry_after: Duration,
        /// Whether the request carried a token.
        authenticated: bool,
    },
    /// HTTP 401: the token is wrong, expired or revoked (or the endpoint needs one).
    #[error("HTTP 401: {message} (`{url}`){}", if *.authenticated {
        "; GitHub refused the token (check HOMEBREW_GITHUB_API_TOKEN, GH_TOKEN or GITHUB_TOKEN)"
    } else {
        "; this request needs a token: set HOMEBREW_GITHUB_API_TOKEN"
    })]
    BadCredentials {
        /// The request that was refused.
        url: String,
        /// GitHub's message, usually `Bad credentials`.
        message: String,
        /// Whether the request carried a token.
        authenticated: bool,
    },
    /// Any other unsuccessful HTTP status (after retries, for 5xx).
    #[error("HTTP {status}: {message} (`{url}`){}", attempts_note(*.attempts))]
    Status {
        /// The request.
        url: String,
        /// The final HTTP status.
        status: u16,
        /// GitHub's message, or the status's reason phrase.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The host could not be reached or the connection broke, every time it was tried.
    #[error("could not reach `{url}`{}", attempts_note(*.attempts))]
    Network {
        /// The request.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No response within the request timeout, every time it was tried.
    #[error("`{url}` did not answer within {}{}", human_duration(*.after), attempts_note(*.attempts))]
    Timeout {
        /// The request.
        url: String,
        /// The per-attempt timeout.
        after: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The response could not be understood (not the JSON the API documents, too large, a
    /// pagination link to another host).
    #[error("unexpected response from `{url}`: {reason}")]
    Response {
        /// The request.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The request could not even be built or sent (a bad URL, no async runtime).
    #[error("could not send a request to `{url}`")]
    Request {
        /// The request.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The repository is not `owner/name`.
    #[error("`{0}` is not a GitHub repository name (expected `owner/name`)")]
    InvalidRepository(String),
    /// The API base URL is unusable.
    #[error("`{url}` is not a usable GitHub API URL: {reason}")]
    InvalidApiUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A token that cannot be sent in an HTTP header.
    #[error(
        "{source_name} holds an invalid GitHub token (empty, or with spaces or non-ASCII characters)"
    )]
    InvalidToken {
        /// Where the token came from.
        source_name: &'static str,
    },
    /// The bundle to upload is not a JSON object.
    #[error("the bundle to upload is not a JSON object: {0}")]
    InvalidBundle(String),
}

impl GitHubError {
    /// Whether trying again later may help (network trouble, server errors, rate limits), as
    /// opposed to a bad token, a bad name or a malformed answer.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Network { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// "42 seconds", "3 minutes 5 seconds", "2 hours 1 minute": waits are rounded up to whole
/// seconds so that "0 seconds" never tells someone to retry at once when they should not.
fn human_duration(d: Duration) -> String {
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

/// The client. Cheap to clone (clones share connections and counters), so concurrent lookups
/// can each hold one.
///
/// It must be created inside a Tokio runtime and used on that runtime: octocrab spawns its
/// request queue there.
#[derive(Clone)]
pub struct GitHubClient {
    api: Octocrab,
    /// The base URL, for error messages and to keep pagination on the API host.
    api_base: Url,
    /// Plain client for `bundle_url` hosts. It has no token to leak: the GitHub token lives only
    /// inside `api`, which sends it only to the API host.
    blobs: reqwest::Client,
    authenticated: bool,
    retry: RetryPolicy,
    max_rate_limit_wait: Duration,
    request_timeout: Duration,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    api_requests: AtomicU64,
    bundle_url_requests: AtomicU64,
    retries: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit: Mutex<Option<RateLimitStatus>>,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_base", &self.api_base.as_str())
            .field("authenticated", &self.authenticated)
            .field("retry", &self.retry)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl GitHubClient {
    /// A client for the API at `api_url` ([`DEFAULT_API_URL`] for github.com; a GitHub
    /// Enterprise `https://HOST/api/v3`; a loopback server in tests), sending `token` when given.
    /// Public repositories need no token, at a lower rate limit.
    ///
    /// Must be called inside a Tokio runtime (an error otherwise): octocrab spawns its request
    /// queue on it, and the client then works only while that runtime runs.
    pub fn new(api_url: &str, token: Option<ApiToken>) -> Result<Self, GitHubError> {
        let invalid = |reason: String| GitHubError::InvalidApiUrl {
            url: api_url.to_owned(),
            reason,
        };
        let api_base = Url::parse(api_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(api_base.scheme(), "https" | "http") || api_base.host_str().is_none() {
            return Err(invalid("expected an http(s) URL with a host".into()));
        }
        if !api_base.username().is_empty() || api_base.password().is_some() {
            return Err(invalid(
                "credentials in the URL are not allowed; use a token".into(),
            ));
        }
        // octocrab's request queue is spawned onto the current runtime; without one its
        // constructor panics, so say so as an error instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GitHubError::Request {
                url: api_url.to_owned(),
                source: "the GitHub client must be created inside a Tokio runtime".into(),
            });
        }
        let authenticated = token.is_some();
        let mut builder = Octocrab::builder()
            .base_uri(api_base.as_str().trim_end_matches('/'))
            .map_err(|e| invalid(e.to_string()))?
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(DEFAULT_REQUEST_TIMEOUT));
        if let Some(token) = token {
            // octocrab adds `Authorization` only to requests for the base (and upload) host;
            // nothing else in this module ever sees the token.
            builder = builder.personal_token(token.secret.expose_secret().to_owned());
        }
        let api = builder.build().map_err(|e| GitHubError::Request {
            url: api_url.to_owned(),
            source: Box::new(e),
        })?;
        let blobs = reqwest::Client::builder()
            .user_agent(concat!("bottle-attest/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| GitHubError::Request {
                url: api_url.to_owned(),
                source: Box::new(e),
            })?;
        Ok(Self {
            api,
            api_base,
            blobs,
            authenticated,
            retry: RetryPolicy::default(),
            max_rate_limit_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            counters: Arc::default(),
        })
    }

    /// Retry transient failures with this policy instead of the default.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Wait out rate limits that lift within `max` (default 60 s); longer ones fail at once
    /// with [`GitHubError::RateLimited`] so that the caller can tell the user.
    pub fn with_max_rate_limit_wait(mut self, max: Duration) -> Self {
        self.max_rate_limit_wait = max;
        self
    }

    /// Give up on one attempt (send, answer, body) after `timeout` (default 60 s); a timeout is
    /// transient, so it is retried under the [`RetryPolicy`].
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Whether requests carry a token.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Requests made so far by this client and its clones.
    pub fn stats(&self) -> RequestStats {
        let c = &self.counters;
        RequestStats {
            api_requests: c.api_requests.load(Ordering::Relaxed),
            bundle_url_requests: c.bundle_url_requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limit_waits: c.rate_limit_waits.load(Ordering::Relaxed),
        }
    }

    /// The rate-limit budget the API reported in its latest response, if it sent one.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.counters.rate_limit.lock().ok().and_then(|s| *s)
    }

    /// Every attestation filed in `repo` (`owner/name`) for a subject with SHA-256 `digest`,
    /// optionally only those with this in-toto `predicate_type`.
    ///
    /// An empty `Vec` means "missing" (the API answers 200 with an empty list, or 404 as it
    /// used to). Each entry becomes a candidate labelled `api:{repo}[{i}]`; an entry that
    /// cannot be parsed is kept as a failed candidate rather than dropped, so that the caller
    /// reports "invalid" rather than "missing". Network and API failures are errors.
    pub async fn attestations(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        predicate_type: Option<&str>,
    ) -> Result<Vec<BundleCandidate>, GitHubError> {
        // octocrab's `repos(o, r).attestations().list(d).per_page(100).send()` builds this
        // very request, but on success it returns only the parsed body: no `Link` header, so
        // no second page (its `Page<T>` does not know the `attestations` key), and no
        // `x-ratelimit-*` budget. So the same octocrab client (base URI, token, TLS) is driven
        // through `_get`, which hands back status, headers and body; the body is still parsed
        // into octocrab's `AttestationsResponse` model.
        let (owner, name) = split_repo(repo)?;
        let mut path = format!(
            "/repos/{owner}/{name}/attestations/sha256:{}?per_page={PER_PAGE}",
            digest.to_hex()
        );
        if let Some(predicate_type) = predicate_type {
            path.push_str("&predicate_type=");
            path.push_str(&percent_encode(predicate_type));
        }

        let mut entries = Vec::new();
        let mut next = Some(path);
        let mut pages = 0usize;
        while let Some(target) = next.take() {
            pages += 1;
            let url = self.display_url(&target);
            if pages > MAX_PAGES {
                return Err(GitHubError::Response {
                    url,
                    reason: format!("more than {MAX_PAGES} pages of attestations"),
                });
            }
            let response = self.send_api(ApiMethod::Get, &target, None).await?;
            if response.status == 404 {
                // "Missing": a digest with no attestation used to be a 404. (So is a
                // repository that does not exist or that the token cannot see; the API
                // does not tell them apart.)
                break;
            }
            if !(200..300).contains(&response.status) {
                return Err(response.into_status_error());
            }
            let page: AttestationsResponse =
                serde_json::from_str(&response.body).map_err(|e| GitHubError::Response {
                    url: response.url.clone(),
                    reason: format!("not an attestations list: {e}"),
                })?;
            entries.extend(page.attestations);
            next = match response.link.as_deref().and_then(next_link) {
                Some(link) => Some(self.same_host_target(&link, &response.url)?),
                None => None,
            };
        }

        let items = entries.into_iter().enumerate().map(|(i, item)| {
            let origin = format!("api:{repo}[{i}]");
            async move {
                let bundle = match (item.bundle, item.bundle_url) {
                    (Some(value), _) if !value.is_null() => bundle_from_value(value),
                    (_, Some(url)) => self.fetch_bundle_url(&url).await?,
                    _ => Err(BundleParseError::Bundle(
                        "the API entry has neither `bundle` nor `bundle_url`".into(),
                    )),
                };
                Ok::<_, GitHubError>(BundleCandidate { origin, bundle })
            }
        });
        futures_util::stream::iter(items)
            .buffered(BUNDLE_FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Upload `bundle_json` as an attestation of `repo` (`POST /repos/{owner}/{repo}/attestations`
    /// with `{"bundle": …}`; the token needs `attestations: write`) and return its id.
    ///
    /// Transient failures are retried like reads. A POST whose answer was lost may therefore
    /// have been stored twice; a duplicate attestation is harmless to verifiers.
    pub async fn upload_attestation(
        &self,
        repo: &str,
        bundle_json: &str,
    ) -> Result<u64, GitHubError> {
        // octocrab's `attestations().create(bundle)` posts the same body, but it keeps
        // headers only on errors and folds every status into one error type; `_post` goes
        // through the same status, rate-limit and retry handling as the listing.
        let (owner, name) = split_repo(repo)?;
        let bundle: Value = serde_json::from_str(bundle_json)
            .map_err(|e| GitHubError::InvalidBundle(e.to_string()))?;
        if !bundle.is_object() {
            return Err(GitHubError::InvalidBundle("expected an object".into()));
        }
        let body = serde_json::json!({ "bundle": bundle });
        let target = format!("/repos/{owner}/{name}/attestations");
        let response = self.send_api(ApiMethod::Post, &target, Some(&body)).await?;
        if !(200..300).contains(&response.status) {
            return Err(response.into_status_error());
        }
        #[derive(serde::Deserialize)]
        struct Created {
            id: u64,
        }
        serde_json::from_str::<Created>(&response.body)
            .map(|created| created.id)
            .map_err(|e| GitHubError::Response {
                url: response.url,
                reason: format!("no attestation id in the answer: {e}"),
            })
    }

    /// `target` (a path and query, relative to the base URL's path unless it already starts
    /// with it, as octocrab joins them) as the full URL, for messages.
    fn display_url(&self, target: &str) -> String {
        let mut origin = self.api_base.clone();
        origin.set_path("");
        origin.set_query(None);
        origin.set_fragment(None);
        let origin = origin.as_str().trim_end_matches('/');
        let base_path = self.api_base.path().trim_end_matches('/');
        if target.starts_with(base_path) {
            format!("{origin}{target}")
        } else {
            format!("{origin}{base_path}{target}")
        }
    }

    /// Turn a `Link` URL into a path for the API client, refusing any other host: the next
    /// page must come from where the first came from (and the token goes nowhere else).
    fn same_host_target(&self, link: &str, from: &str) -> Result<String, GitHubError> {
        let bad = |reason: String| GitHubError::Response {
            url: from.to_owned(),
            reason,
        };
        let url = self
            .api_base
            .join(link)
            .map_err(|e| bad(format!("bad `Link` URL `{link}`: {e}")))?;
        if url.scheme() != self.api_base.scheme()
            || url.host_str() != self.api_base.host_str()
            || url.port_or_known_default() != self.api_base.port_or_known_default()
        {
            return Err(bad(format!(
                "the next page is on another host (`{}`)",
                redact_url(url.as_str())
            )));
        }
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        Ok(target)
    }

    /// One API request with the retry and rate-limit rules. Returns any answer that is not a
    /// rate limit, a 401 or (after retries) a 5xx; the caller interprets the rest.
    async fn send_api(
        &self,
        method: ApiMethod,
        target: &str,
        body: Option<&Value>,
    ) -> Result<ApiResponse, GitHubError> {
        let url = self.display_url(target);
        let url = url.as_str();
        self.with_retries(url, &self.counters.api_requests, || async move {
            let sent = match method {
                ApiMethod::Get => self.api._get(target).await,
                ApiMethod::Post => self.api._post(target, body).await,
            };
            let response = match sent {
                Ok(response) => response,
                Err(error) => return classify_octocrab_error(error, url),
            };
            let status = response.status().as_u16();
            let limits = RateLimitHeaders::from_headers(response.headers());
            self.record_rate_limit(&limits);
            let link = header_str(response.headers(), LINK.as_str()).map(str::to_owned);
            if content_length(response.headers()).is_some_and(|n| n > MAX_API_BODY) {
                return Outcome::Done(Err(too_large(url, MAX_API_BODY)));
            }
            let body = match self.api.body_to_string(response).await {
                Ok(body) => body,
                Err(error) => return classify_octocrab_error(error, url),
            };
            if body.len() > MAX_API_BODY {
                return Outcome::Done(Err(too_large(url, MAX_API_BODY)));
            }
            let message = github_message(status, &body);
            if let Some(wait) = rate_limit_wait(status, &limits, &message, Utc::now()) {
                return Outcome::RateLimited(wait);
            }
            if status >= 500 {
                return Outcome::Retry(Transient::Status { status, message });
            }
            if status == 401 {
                return Outcome::Done(Err(GitHubError::BadCredentials {
                    url: url.to_owned(),
                    message,
                    authenticated: self.authenticated,
                }));
            }
            Outcome::Done(Ok(ApiResponse {
                url: url.to_owned(),
                status,
                link,
                body,
            }))
        })
        .await
    }

    /// Fetch, decompress and parse one `bundle_url`. Transport and HTTP failures are errors
    /// (the attestation exists but could not be read now); a body that is not a snappy
    /// protobuf-JSON bundle is a failed candidate (the attestation is unusable).
    async fn fetch_bundle_url(
        &self,
        raw_url: &str,
    ) -> Result<Result<Box<Bundle>, BundleParseError>, GitHubError> {
        let shown = redact_url(raw_url);
        let url = match Url::parse(raw_url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => url,
            _ => {
                return Ok(Err(BundleParseError::Bundle(format!(
                    "`bundle_url` `{shown}` is not an http(s) URL"
                ))));
            }
        };
        let (url, shown) = (&url, shown.as_str());
        let compressed = self
            .with_retries(shown, &self.counters.bundle_url_requests, || async move {
                let response = match self.blobs.get(url.clone()).send().await {
                    Ok(response) => response,
                    Err(error) => return classify_reqwest_error(error),
                };
                let status = response.status().as_u16();
                if status != 200 {
                    let reason = response.status().canonical_reason().unwrap_or("error");
                    let transient = status >= 500 || status == 429;
                    return if transient {
                        Outcome::Retry(Transient::Status {
                            status,
                            message: reason.to_owned(),
                        })
                    } else {
                        Outcome::Done(Err(GitHubError::Status {
                            url: shown.to_owned(),
                            status,
                            message: reason.to_owned(),
                            attempts: 1,
                        }))
                    };
                }
                match read_capped(response, MAX_BUNDLE_COMPRESSED).await {
                    Ok(Some(bytes)) => Outcome::Done(Ok(bytes)),
                    Ok(None) => Outcome::Done(Err(too_large(shown, MAX_BUNDLE_COMPRESSED))),
                    Err(error) => classify_reqwest_error(error),
                }
            })
            .await?;
        Ok(decode_snappy_bundle(&compressed))
    }

    /// Run `attempt` until it is done, retrying transient failures under the retry policy and
    /// waiting out short rate limits. `counter` counts every attempt.
    async fn with_retries<T, F, Fut>(
        &self,
        url: &str,
        counter: &AtomicU64,
        mut attempt: F,
    ) -> Result<T, GitHubError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempts = 0u32;
        let mut rate_limit_waits = 0u32;
        loop {
            attempts += 1;
            counter.fetch_add(1, Ordering::Relaxed);
            let outcome = match tokio::time::timeout(self.request_timeout, attempt()).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => Outcome::Retry(Transient::Timeout),
            };
            let transient = match outcome {
                Outcome::Done(result) => {
                    return result.map_err(|e| with_attempts(e, attempts));
                }
                Outcome::RateLimited(wait) => {
                    if wait > self.max_rate_limit_wait || rate_limit_waits >= MAX_RATE_LIMIT_WAITS {
                        return Err(GitHubError::RateLimited {
                            url: url.to_owned(),
                            retry_after: wait,
                            authenticated: self.authenticated,
                        });
                    }
                    rate_limit_waits += 1;
                    self.counters
                        .rate_limit_waits
                        .fetch_add(1, Ordering::Relaxed);
                    // A rate limit is not a failed attempt: wait it out and try again. (The
                    // random draw happens before the await: `ThreadRng` is not `Send`.)
                    attempts -= 1;
                    let pause = wait + rate_limit_jitter(wait, rand::rng().random());
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Outcome::Retry(transient) => transient,
            };
            if attempts >= max_attempts {
                return Err(transient.into_error(url, attempts, self.request_timeout));
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            let pause = backoff_delay(&self.retry, attempts, rand::rng().random());
            tokio::time::sleep(pause).await;
        }
    }

    fn record_rate_limit(&self, limits: &RateLimitHeaders) {
        let status = RateLimitStatus {
            limit: limits.limit,
            remaining: limits.remaining,
            reset: limits
                .reset
                .and_then(|t| i64::try_from(t).ok())
                .and_then(|t| DateTime::from_timestamp(t, 0)),
        };
        if let Ok(mut slot) = self.counters.rate_limit.lock() {
            *slot = (status.limit.is_some() || status.remaining.is_some()).then_some(status);
        }
    }
}

#[derive(Clone, Copy)]
enum ApiMethod {
    Get,
    Post,
}

/// A finished API exchange the caller interprets.
struct ApiResponse {
    url: String,
    status: u16,
    link: Option<String>,
    body: String,
}

impl ApiResponse {
    fn into_status_error(self) -> GitHubError {
        GitHubError::Status {
            message: github_message(self.status, &self.body),
            url: self.url,
            status: self.status,
            attempts: 1,
        }
    }
}

/// What one attempt came to.
enum Outcome<T> {
    /// Final: success or an error retrying cannot fix.
    Done(Result<T, GitHubError>),
    /// A transient failure: retry if attempts remain.
    Retry(Transient),
    /// Rate limited: come back after this long.
    RateLimited(Duration),
}

enum Transient {
    Status { status: u16, message: String },
    Network(Box<dyn std::error::Error + Send + Sync>),
    Timeout,
}

impl Transient {
    fn into_error(self, url: &str, attempts: u32, timeout: Duration) -> GitHubError {
        let url = url.to_owned();
        match self {
            Self::Status { status, message } => GitHubError::Status {
                url,
                status,
                message,
                attempts,
            },
            Self::Network(source) => GitHubError::Network {
                url,
                attempts,
                source,
            },
            Self::Timeout => GitHubError::Timeout {
                url,
                after: timeout,
                attempts,
            },
        }
    }
}

/// Record the attempt count on a final error that came from a later attempt.
fn with_attempts(error: GitHubError, total: u32) -> GitHubError {
    match error {
        GitHubError::Status {
            url,
            status,
            message,
            ..
        } => GitHubError::Status {
            url,
            status,
            message,
            attempts: total,
        },
        other => other,
    }
}

/// octocrab's transport errors (connect, reset, hyper, timeout layer) are transient; the rest
/// (a URI it cannot build, bad UTF-8 in a body) are not.
fn classify_octocrab_error<T>(error: octocrab::Error, url: &str) -> Outcome<T> {
    match error {
        octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. } => {
            Outcome::Retry(Transient::Network(Box::new(error)))
        }
        other => Outcome::Done(Err(GitHubError::Request {
            url: url.to_owned(),
            source: Box::new(other),
        })),
    }
}

fn classify_reqwest_error<T>(error: reqwest::Error) -> Outcome<T> {
    if error.is_builder() || error.is_redirect() {
        let url = error
            .url()
            .map(|u| redact_url(u.as_str()))
            .unwrap_or_default();
        Outcome::Done(Err(GitHubError::Request {
            url,
            source: Box::new(error.without_url()),
        }))
    } else if error.is_timeout() {
        Outcome::Retry(Transient::Timeout)
    } else {
        // Connect failures, resets, truncated bodies. The URL is dropped from the error
        // because a blob URL's query is a signed access key.
        Outcome::Retry(Transient::Network(Box::new(error.without_url())))
    }
}

fn too_large(url: &str, limit: usize) -> GitHubError {
    GitHubError::Response {
        url: url.to_owned(),
        reason: format!("the body is larger than {} MiB", limit >> 20),
    }
}

/// Read a response body, giving up (`None`) past `limit` bytes.
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// A `bundle_url` body: raw-block snappy (not the framed format) around a protobuf-JSON bundle,
/// as `gh` reads it (`snappy.Decode` then `protojson.Unmarshal`).
fn decode_snappy_bundle(compressed: &[u8]) -> Result<Box<Bundle>, BundleParseError> {
    let not_snappy = |e: snap::Error| {
        BundleParseError::Bundle(format!("the `bundle_url` body is not raw snappy data: {e}"))
    };
    let len = snap::raw::decompress_len(compressed).map_err(not_snappy)?;
    if len > MAX_BUNDLE_JSON {
        return Err(BundleParseError::Bundle(format!(
            "the `bundle_url` body would decompress to {len} bytes (limit {MAX_BUNDLE_JSON})"
        )));
    }
    let json = snap::raw::Decoder::new()
        .decompress_vec(compressed)
        .map_err(not_snappy)?;
    serde_json::from_slice::<Value>(&json)
        .map_err(|e| BundleParseError::Json(e.to_string()))
        .and_then(bundle_from_value)
}

fn bundle_from_value(value: Value) -> Result<Box<Bundle>, BundleParseError> {
    // `Bundle` validates while deserializing, as in `attestations::parse_attestations`.
    serde_json::from_value::<Bundle>(value)
        .map(Box::new)
        .map_err(|e| BundleParseError::Bundle(e.to_string()))
}

/// `owner/name`, each part made of the characters GitHub allows (so it needs no escaping in a
/// path).
fn split_repo(repo: &str) -> Result<(&str, &str), GitHubError> {
    let valid = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Ok((owner, name)),
        _ => Err(GitHubError::InvalidRepository(repo.to_owned())),
    }
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay as they are).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URL without its query and fragment: blob-storage URLs carry their access signature in
/// the query, which does not belong in logs.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            let had_query = url.query().is_some();
            url.set_query(None);
            url.set_fragment(None);
            let mut shown = url.to_string();
            if had_query {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288), if any.
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        // The parameters run up to the comma before the next link-value.
        let params = rest[end + 1..params_end].trim_end().trim_end_matches(',');
        let is_next = params.split(';').any(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &rest[params_end..];
    }
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RateLimitHeaders {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// Epoch seconds.
    reset: Option<u64>,
    retry_after: Option<RetryAfter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryAfter {
    Seconds(u64),
    At(DateTime<Utc>),
}

impl RateLimitHeaders {
    fn from_headers(headers: &HeaderMap) -> Self {
        Self::parse(|name| header_str(headers, name))
    }

    fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
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
}

/// How long to wait if this answer is a rate limit (GitHub's documented rules): 429 always is;
/// 403 is when it has `retry-after`, `x-ratelimit-remaining: 0` or a "rate limit" message.
/// Wait for `retry-after` if given, else until `x-ratelimit-reset` when the budget is spent,
/// else one minute.
fn rate_limit_wait(
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
    let wait = match limits.retry_after {
        Some(RetryAfter::Seconds(s)) => Duration::from_secs(s),
        Some(RetryAfter::At(t)) => until(t),
        None => match (limits.remaining, limits.reset) {
            (Some(0), Some(reset)) => i64::try_from(reset)
                .ok()
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .map_or(DEFAULT_RATE_LIMIT_WAIT, until),
            _ => DEFAULT_RATE_LIMIT_WAIT,
        },
    };
    Some(wait)
}

/// Up to 10 % (at most 1 s) on top of a rate-limit wait, so that many clients released at the
/// same reset do not all come back in the same instant. `unit` is uniform in `[0, 1)`.
fn rate_limit_jitter(wait: Duration, unit: f64) -> Duration {
    (wait / 10)
        .min(Duration::from_secs(1))
        .mul_f64(unit.clamp(0.0, 1.0))
}

/// The delay before retry number `retry` (1 = first): `base · 2^(retry-1)`, capped, then
/// "equal jitter" (half fixed, half random) so that retries spread out but never come back
/// immediately. `unit` is uniform in `[0, 1)`.
fn backoff_delay(policy: &RetryPolicy, retry: u32, unit: f64) -> Duration {
    let exponent = retry.saturating_sub(1).min(16);
    let full = policy
        .base_delay
        .saturating_mul(1u32 << exponent)
        .min(policy.max_delay);
    full / 2 + (full / 2).mul_f64(unit.clamp(0.0, 1.0))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    header_str(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.trim().parse().ok())
}

/// GitHub's `{"message": …}`, else the status's reason phrase.
fn github_message(status: u16, body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unknown error")
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn token_precedence_homebrew_then_gh_then_github() {
        let all = env(&[
            ("GITHUB_TOKEN", "c"),
            ("GH_TOKEN", "b"),
            ("HOMEBREW_GITHUB_API_TOKEN", "a"),
        ]);
        let token = ApiToken::from_env(&all).unwrap().unwrap();
        assert_eq!(token.secret.expose_secret(), "a");
        assert_eq!(token.source(), "HOMEBREW_GITHUB_API_TOKEN");

        let two = env(&[("GITHUB_TOKEN", "c"), ("GH_TOKEN", "b")]);
        assert_eq!(
            ApiToken::from_env(&two).unwrap().unwrap().source(),
            "GH_TOKEN"
        );

        // An empty variable does not hide the next one.
        let empty = env(&[("HOMEBREW_GITHUB_API_TOKEN", "  "), ("GITHUB_TOKEN", "c")]);
        let token = ApiToken::from_env(&empty).unwrap().unwrap();
        assert_eq!(token.secret.expose_secret(), "c");

        assert!(ApiToken::from_env(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn token_with_spaces_or_control_characters_is_refused() {
        let bad = env(&[("GH_TOKEN", "ab cd")]);
        assert!(matches!(
            ApiToken::from_env(&bad),
            Err(GitHubError::InvalidToken {
                source_name: "GH_TOKEN"
            })
        ));
        assert!(
            ApiToken::new("abc\n").is_ok(),
            "surrounding whitespace is trimmed"
        );
        assert!(ApiToken::new("a\u{7f}b").is_err());
        assert!(ApiToken::new("").is_err());
    }

    #[test]
    fn token_is_redacted() {
        let token = ApiToken::new("ghp_supersecret").unwrap();
        assert!(!format!("{token:?}").contains("supersecret"));
        assert!(!format!("{token}").contains("supersecret"));
        assert_eq!(format!("{token}"), "<redacted>");
    }

    #[test]
    fn link_header_next() {
        let header = r#"<https://api.github.com/repositories/1/attestations/sha256:ab?per_page=2&after=Y3Vy>; rel="next", <https://api.github.com/repositories/1/attestations/sha256:ab?per_page=2&before=WA==>; rel="prev""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some(
                "https://api.github.com/repositories/1/attestations/sha256:ab?per_page=2&after=Y3Vy"
            )
        );
        let prev_first = r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=3>; rel="next""#;
        assert_eq!(next_link(prev_first).as_deref(), Some("https://x/p?page=3"));
        // Several relation types in one parameter, unquoted, odd spacing.
        assert_eq!(
            next_link("<https://x/a>;rel=\"last next\"").as_deref(),
            Some("https://x/a")
        );
        assert_eq!(
            next_link("<https://x/a>; rel=next").as_deref(),
            Some("https://x/a")
        );
        assert_eq!(next_link(r#"<https://x/a>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage"), None);
    }

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
    fn rate_limit_headers_parse() {
        let h = headers(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000100"),
            ("retry-after", "30"),
        ]);
        assert_eq!(h.limit, Some(60));
        assert_eq!(h.remaining, Some(0));
        assert_eq!(h.reset, Some(1_700_000_100));
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
    fn rate_limit_wait_rules() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        // Secondary limit: retry-after wins.
        let secondary = headers(&[("retry-after", "7")]);
        assert_eq!(
            rate_limit_wait(
                403,
                &secondary,
                "You have exceeded a secondary rate limit",
                now
            ),
            Some(Duration::from_secs(7))
        );
        // Primary limit: until the reset.
        let primary = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000100"),
        ]);
        assert_eq!(
            rate_limit_wait(403, &primary, "API rate limit exceeded", now),
            Some(Duration::from_secs(100))
        );
        // A reset in the past: go now.
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1600000000"),
        ]);
        assert_eq!(rate_limit_wait(429, &past, "", now), Some(Duration::ZERO));
        // A rate-limit message without headers: one minute.
        assert_eq!(
            rate_limit_wait(403, &headers(&[]), "secondary rate limit", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(429, &headers(&[]), "", now),
            Some(Duration::from_secs(60))
        );
        // A plain 403 (no access) is not a rate limit, nor is a 200 with an empty budget.
        let budget = headers(&[("x-ratelimit-remaining", "5")]);
        assert_eq!(
            rate_limit_wait(403, &budget, "Resource not accessible", now),
            None
        );
        assert_eq!(rate_limit_wait(200, &primary, "", now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(backoff_delay(&policy, 1, 0.0), Duration::from_millis(50));
        assert!(backoff_delay(&policy, 1, 0.999) < Duration::from_millis(100));
        assert_eq!(backoff_delay(&policy, 2, 0.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(&policy, 3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(&policy, 10, 0.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(&policy, 60, 1.0), Duration::from_millis(1000));
        assert!(rate_limit_jitter(Duration::from_secs(60), 1.0) <= Duration::from_secs(1));
        assert_eq!(
            rate_limit_jitter(Duration::from_secs(2), 0.5),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn rate_limited_message_is_plain() {
        let anonymous = GitHubError::RateLimited {
            url: "https://api.github.com/repos/a/b/attestations/sha256:00".into(),
            retry_after: Duration::from_secs(1830),
            authenticated: false,
        };
        let text = anonymous.to_string();
        assert!(
            text.contains("try again in 30 minutes 30 seconds"),
            "{text}"
        );
        assert!(text.contains("HOMEBREW_GITHUB_API_TOKEN"), "{text}");
        assert!(text.contains("https://api.github.com/repos/a/b/attestations/sha256:00"));
        let with_token = GitHubError::RateLimited {
            url: "u".into(),
            retry_after: Duration::from_millis(1500),
            authenticated: true,
        };
        assert_eq!(
            with_token.to_string(),
            "GitHub API rate limit exceeded for `u`: try again in 2 seconds"
        );
        assert_eq!(
            human_duration(Duration::from_secs(3600 * 2 + 61)),
            "2 hours 1 minute"
        );
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
    }

    #[test]
    fn bad_credentials_reads_like_gh() {
        let e = GitHubError::BadCredentials {
            url: "https://api.github.com/x".into(),
            message: "Bad credentials".into(),
            authenticated: true,
        };
        assert!(
            e.to_string()
                .starts_with("HTTP 401: Bad credentials (`https://api.github.com/x`)")
        );
    }

    #[test]
    fn repository_names() {
        assert_eq!(
            split_repo("Homebrew/homebrew-core").unwrap(),
            ("Homebrew", "homebrew-core")
        );
        for bad in [
            "homebrew-core",
            "a/b/c",
            "/b",
            "a/",
            "a/..",
            "a/b?x=1",
            "a/b c",
        ] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            percent_encode("https://slsa.dev/provenance/v1"),
            "https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1"
        );
    }

    #[test]
    fn blob_urls_lose_their_signature_in_messages() {
        assert_eq!(
            redact_url("https://blob.example/a/1.json.sn?sig=SECRET&se=1"),
            "https://blob.example/a/1.json.sn?…"
        );
        assert_eq!(
            redact_url("https://blob.example/a"),
            "https://blob.example/a"
        );
    }

    #[test]
    fn snappy_bodies() {
        let not_snappy = decode_snappy_bundle(b"{\"mediaType\":1}");
        assert!(matches!(not_snappy, Err(BundleParseError::Bundle(_))));
        let compressed = snap::raw::Encoder::new()
            .compress_vec(b"{\"not\": \"a bundle\"}")
            .unwrap();
        assert!(matches!(
            decode_snappy_bundle(&compressed),
            Err(BundleParseError::Bundle(_))
        ));
        let garbage = snap::raw::Encoder::new().compress_vec(b"{{{").unwrap();
        assert!(matches!(
            decode_snappy_bundle(&garbage),
            Err(BundleParseError::Json(_))
        ));
    }

    /// Callers run many lookups at once on a multi-threaded runtime (`tokio::spawn`,
    /// `buffer_unordered`), so the futures and the client must be `Send`. Checked at compile
    /// time; never called.
    #[allow(dead_code)]
    fn futures_are_send(client: &GitHubClient, digest: &Sha256Hash) {
        fn is_send<T: Send>(_: T) {}
        is_send(client.clone());
        is_send(client.attestations("a/b", digest, None));
        is_send(client.upload_attestation("a/b", "{}"));
    }

    #[test]
    fn github_messages() {
        assert_eq!(
            github_message(404, r#"{"message":"Not Found"}"#),
            "Not Found"
        );
        assert_eq!(
            github_message(502, "<html>bad gateway</html>"),
            "Bad Gateway"
        );
    }
}
