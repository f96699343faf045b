//! The one HTTP client of brew-verify and brew-backfill. Every request to the outside world —
//! the GitHub API and its `bundle_url` blobs, GHCR and its token service, bottle mirrors, the
//! formula API, Fulcio, Rekor, timestamp authorities, TUF repositories — goes through
//! [`HttpClient`], so the rules below are written once:
//!
//! - **Credentials are bound to hosts** ([`credential`]): a request names the credential it may
//!   carry; it is attached only if the URL's host is one the credential was issued for and the
//!   channel is https (or plain http to loopback). Redirects are followed here, by hand: a hop
//!   to another origin carries no credential at all, and https never downgrades to http.
//! - **Bodies are capped while they stream** ([`body`]): `Content-Length` is checked first,
//!   then every chunk; no automatic decompression, so what is counted is what is kept.
//! - **One retry policy** ([`retry`]): transient failures only, with backoff and jitter,
//!   `Retry-After` and GitHub's rate-limit headers honoured ([`ratelimit`]), all bounded by the
//!   caller's deadline; each pause is reported to the binary's [`NetEvents`].
//! - **One error type** ([`NetError`]): what happened (DNS, refused, timeout, TLS, status…), to
//!   which host, and a hint.

pub mod body;
pub mod credential;
mod error;
mod events;
pub mod origin;
pub mod ratelimit;
pub mod retry;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, LOCATION};

pub use body::BodyCap;
pub use credential::{Credential, CredentialRefusal, SharedCredential};
pub(crate) use error::redact;
pub use error::{NetError, NetErrorKind, human};
pub use events::StderrEvents;
pub use reqwest::Url;

/// Shorten text taken from an answer for a message (on a character boundary).
pub fn human_shorten(text: &str) -> String {
    error::shorten(text, 200)
}
pub use ratelimit::RateLimitStatus;
pub use retry::{Attempt, Deadline, NetEvents, PauseReason, RetryEvent, RetryPolicy, Silent};

use ratelimit::{RateLimitHeaders, rate_limit_wait};

/// How long to wait for a TCP (and TLS) connection: a few seconds, so that a blackholed host
/// fails fast and the retry loop (bounded by the deadline) decides what happens next.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one read may stall. A per-read limit rather than a whole-request one, because a
/// bottle can be hundreds of megabytes on a slow link and still be making progress.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on one whole attempt (send, answer, body) of a buffered request.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

const USER_AGENT: &str = concat!("brew-verify/", env!("CARGO_PKG_VERSION"));

/// Settings of an [`HttpClient`].
#[derive(Clone)]
pub struct HttpConfig {
    /// The retry policy requests get unless they ask for another.
    pub retry: RetryPolicy,
    /// Bound on one attempt of a buffered request.
    pub attempt_timeout: Duration,
    /// Where retries are reported.
    pub events: Arc<dyn NetEvents>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            attempt_timeout: ATTEMPT_TIMEOUT,
            events: Arc::new(Silent),
        }
    }
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

/// The client. Cheap to clone: clones share connections, counters and settings.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: HttpConfig,
    stats: Arc<Mutex<Stats>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Requests made, per purpose (`api`, `bundle_url`, `registry`…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// First attempts per purpose: what a user would call "requests".
    pub requests: BTreeMap<&'static str, u64>,
    /// Retries after a transient failure, per purpose (not counted in `requests`). A request
    /// sent again after a rate-limit wait is neither: `rate_limit_waits` counts the wait.
    pub retries: BTreeMap<&'static str, u64>,
    /// Rate-limit waits sat out.
    pub rate_limit_waits: u64,
    /// The latest rate-limit budget reported, per host.
    pub rate_limit: BTreeMap<String, RateLimitStatus>,
}

impl Stats {
    /// First attempts for `purpose`.
    pub fn requests(&self, purpose: &str) -> u64 {
        self.requests.get(purpose).copied().unwrap_or(0)
    }

    /// Retries for `purpose`.
    pub fn retries(&self, purpose: &str) -> u64 {
        self.retries.get(purpose).copied().unwrap_or(0)
    }
}

/// One request, described before it is sent.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    credential: Option<SharedCredential>,
    cap: BodyCap,
    retry: Option<RetryPolicy>,
    deadline: Option<Deadline>,
    attempt_timeout: Option<Duration>,
    purpose: &'static str,
}

impl Request {
    /// `GET url`, reading at most `cap` of the answer.
    pub fn get(url: Url, cap: BodyCap) -> Self {
        Self::new(Method::GET, url, cap)
    }

    /// `POST url` with `body`. Not retried unless [`Request::retry`] says so: a POST whose
    /// answer was lost may have been stored.
    pub fn post(url: Url, content_type: &'static str, body: Vec<u8>, cap: BodyCap) -> Self {
        let mut request = Self::new(Method::POST, url, cap);
        request.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        request.body = Some(body);
        request.retry = Some(RetryPolicy::never());
        request
    }

    fn new(method: Method, url: Url, cap: BodyCap) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            credential: None,
            cap,
            retry: None,
            deadline: None,
            attempt_timeout: None,
            purpose: "other",
        }
    }

    /// Parse `url` first; a URL that does not parse is an error, not a panic.
    pub fn parse_url(url: &str) -> Result<Url, NetError> {
        let parsed = Url::parse(url).map_err(|e| NetError::invalid_url(url, e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(NetError::invalid_url(url, "not an http(s) URL with a host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(NetError::invalid_url(
                url,
                "credentials in URLs are not sent; use the documented variables",
            ));
        }
        Ok(parsed)
    }

    /// Add a header (never `Authorization`: that is the credential's job).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if name != AUTHORIZATION {
            self.headers.insert(name, value);
        }
        self
    }

    /// The credential this request may carry (attached only where it is allowed).
    pub fn credential(mut self, credential: Option<SharedCredential>) -> Self {
        self.credential = credential;
        self
    }

    /// Retry under this policy instead of the client's.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Give up at this deadline, whatever attempts remain.
    pub fn deadline(mut self, deadline: Option<Deadline>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Bound one attempt by `length` instead of the client's attempt timeout (large documents
    /// such as a whole formula index; the read timeout still ends a stalled transfer).
    pub fn attempt_timeout(mut self, length: Duration) -> Self {
        self.attempt_timeout = Some(length);
        self
    }

    /// What the request is for, in [`Stats`].
    pub fn purpose(mut self, purpose: &'static str) -> Self {
        self.purpose = purpose;
        self
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// A complete answer (any status the caller must interpret: 2xx, and 4xx other than rate
/// limits). The body is capped; for error statuses it is at most [`body::ERROR_BODY`].
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// Where the answer finally came from (after redirects).
    pub url: Url,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the request carried its credential all the way.
    pub authenticated: bool,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The status as an error, with the server's message (GitHub's `{"message"}`, else the
    /// reason phrase).
    pub fn error(&self) -> NetError {
        NetError::new(
            &self.url,
            NetErrorKind::Status {
                status: self.status,
                message: message(self.status, &self.body),
            },
        )
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A streaming answer (2xx only): read it with [`Streaming::chunk`], which enforces the cap.
#[derive(Debug)]
pub struct Streaming {
    body: body::CappedBody,
    /// The announced length, if any.
    pub content_length: Option<u64>,
}

impl Streaming {
    /// The next chunk; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, NetError> {
        self.body.chunk().await
    }

    /// Where the answer came from.
    pub fn url(&self) -> &Url {
        self.body.url()
    }
}

impl HttpClient {
    /// The transport, for the one kind of client that cannot send its requests through
    /// [`HttpClient::send`]: the Sigstore service clients of `sigstore-sign` that build their
    /// own requests (Fulcio, whose request carries the OIDC token; a TSA, which speaks DER;
    /// brew-backfill sends Rekor's JSON through [`HttpClient::send`] itself, for its
    /// `Retry-After`), which take a `reqwest::Client`. They get this one:
    /// same TLS stack, timeouts and no redirects (so the OIDC token in Fulcio's request body
    /// cannot be redirected elsewhere), no credential of ours. The caller retries their calls
    /// through [`retry::run`].
    pub fn service_transport(&self) -> reqwest::Client {
        self.inner.clone()
    }

    /// A client with these settings: rustls, no automatic decompression, redirects followed by
    /// this module (never by reqwest), connect and read timeouts.
    pub fn new(config: HttpConfig) -> Result<Self, NetError> {
        let inner = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .build()
            .map_err(|e| NetError::invalid_url("", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner,
            config,
            stats: Arc::default(),
        })
    }

    /// What was sent so far (by this client and its clones).
    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The retry policy requests get by default.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.config.retry
    }

    /// Where pauses are reported.
    pub fn events(&self) -> &dyn NetEvents {
        self.config.events.as_ref()
    }

    fn count(&self, purpose: &'static str, attempt: u32) {
        if let Ok(mut stats) = self.stats.lock() {
            let map = if attempt <= 1 {
                &mut stats.requests
            } else {
                &mut stats.retries
            };
            *map.entry(purpose).or_default() += 1;
        }
    }

    fn record_rate_limit(&self, url: &Url, headers: &RateLimitHeaders) {
        if let (Some(status), Some(origin), Ok(mut stats)) =
            (headers.status(), origin::Origin::of(url), self.stats.lock())
        {
            stats.rate_limit.insert(origin.authority(), status);
        }
    }

    /// Send `request`, retrying transient failures, and read its body under the cap.
    pub async fn send(&self, request: Request) -> Result<Response, NetError> {
        let policy = request.retry.unwrap_or(self.config.retry);
        let waits = std::sync::atomic::AtomicU64::new(0);
        let counting = CountingEvents {
            inner: self.config.events.as_ref(),
            waits: &waits,
        };
        let result = retry::run(
            &policy,
            request.deadline,
            Some(
                request
                    .attempt_timeout
                    .unwrap_or(self.config.attempt_timeout),
            ),
            &counting,
            &request.url,
            // The retry loop numbers the attempt after a rate-limit wait as it numbered the
            // refused one ("a rate limit is not a failed attempt"): it is the same request sent
            // again, so it is neither another request nor a retry; `rate_limit_waits` counts
            // the wait (issue 13: `plan`'s request count).
            |n| {
                let resent = n <= 1 && waits.load(std::sync::atomic::Ordering::Relaxed) > 0;
                self.attempt(&request, n, !resent)
            },
        )
        .await;
        if let Ok(mut stats) = self.stats.lock() {
            stats.rate_limit_waits += waits.load(std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    async fn attempt(&self, request: &Request, n: u32, counted: bool) -> Attempt<Response> {
        if counted {
            self.count(request.purpose, n);
        }
        let (response, authenticated) = match self.follow(request).await {
            Ok(found) => found,
            Err(e) if e.is_transient() => return Attempt::Retry(e),
            Err(e) => return Attempt::Done(Err(e)),
        };
        let url = response.url().clone();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limits = RateLimitHeaders::from_headers(&headers);
        self.record_rate_limit(&url, &limits);
        let success = (200..300).contains(&status);
        let body = if success {
            match body::read_capped(response, request.cap).await {
                Ok(body) => body,
                Err(e) if e.is_transient() => return Attempt::Retry(e),
                Err(e) => return Attempt::Done(Err(e)),
            }
        } else {
            body::read_prefix(response).await
        };
        let answer = Response {
            status,
            headers,
            url: url.clone(),
            body,
            authenticated,
        };
        if success {
            return Attempt::Done(Ok(answer));
        }
        let text = message(status, &answer.body);
        if let Some(wait) = rate_limit_wait(status, &limits, &text, chrono::Utc::now()) {
            return Attempt::RateLimited {
                wait,
                error: NetError::new(
                    &url,
                    NetErrorKind::RateLimited {
                        retry_after: wait,
                        authenticated,
                    },
                ),
            };
        }
        if status >= 500 || status == 429 {
            return Attempt::Retry(answer.error());
        }
        Attempt::Done(Ok(answer))
    }

    /// Open `request` for streaming (one attempt; the caller retries through [`retry::run`]
    /// because what it does with the chunks must start over too). Only a 2xx answer is
    /// returned; any other status is an error.
    pub async fn open(&self, request: &Request, attempt: u32) -> Result<Streaming, NetError> {
        self.count(request.purpose, attempt);
        let (response, _) = self.follow(request).await?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let url = response.url().clone();
            let body = body::read_prefix(response).await;
            return Err(NetError::new(
                &url,
                NetErrorKind::Status {
                    status,
                    message: message(status, &body),
                },
            ));
        }
        let url = response.url().clone();
        body::check_announced(&url, response.content_length(), request.cap)?;
        let body = body::CappedBody::new(response, request.cap)?;
        Ok(Streaming {
            content_length: body.content_length(),
            body,
        })
    }

    /// Send one attempt, following redirects by hand. Returns the final answer (not a
    /// redirect) and whether it carried the credential. This is the only place in the crate
    /// that attaches an `Authorization` header.
    async fn follow(&self, request: &Request) -> Result<(reqwest::Response, bool), NetError> {
        let first = origin::Origin::of(&request.url);
        let mut url = request.url.clone();
        let mut method = request.method.clone();
        let mut body = request.body.clone();
        for _hop in 0..=MAX_REDIRECTS {
            let mut builder = self
                .inner
                .request(method.clone(), url.clone())
                .headers(request.headers.clone());
            let mut authenticated = false;
            if let Some(credential) = &request.credential {
                // A credential travels only to the origin the request was made for; after a
                // redirect to another origin nothing is attached (issue 10, item 1).
                let same_origin = origin::Origin::of(&url) == first;
                match credential.check(&url) {
                    Ok(()) if same_origin => {
                        if let Some(value) = credential.header_value() {
                            builder = builder.header(AUTHORIZATION, value);
                            authenticated = true;
                        }
                    }
                    Ok(()) => {}
                    Err(refusal) if same_origin && url == request.url => {
                        return Err(NetError::new(&url, NetErrorKind::Credential(refusal)));
                    }
                    Err(_) => {}
                }
            }
            if let Some(body) = &body {
                builder = builder.body(body.clone());
            }
            let response = builder.send().await.map_err(|e| classify(&url, &e))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok((response, authenticated));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    NetError::new(
                        &url,
                        NetErrorKind::Redirect(format!("HTTP {status} without a Location")),
                    )
                })?;
            let next = url.join(location).map_err(|e| {
                NetError::new(&url, NetErrorKind::Redirect(format!("bad Location: {e}")))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(NetError::new(
                    &url,
                    NetErrorKind::Redirect(format!("to a `{}:` URL", next.scheme())),
                ));
            }
            if url.scheme() == "https" && next.scheme() == "http" {
                return Err(NetError::new(
                    &url,
                    NetErrorKind::Redirect("from https to plain http".into()),
                ));
            }
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
        Err(NetError::new(
            &request.url,
            NetErrorKind::Redirect(format!("more than {MAX_REDIRECTS} redirects")),
        ))
    }
}

/// Counts rate-limit waits on their way to the binary's events.
struct CountingEvents<'a> {
    inner: &'a dyn NetEvents,
    waits: &'a std::sync::atomic::AtomicU64,
}

impl NetEvents for CountingEvents<'_> {
    fn retrying(&self, event: &RetryEvent<'_>) {
        if event.reason == PauseReason::RateLimit {
            self.waits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.retrying(event);
    }
}

/// The server's message: GitHub's (and registries') `{"message"}`, a Docker token service's
/// `{"details"}` or an OAuth `{"error_description"}`, else the reason phrase.
pub fn message(status: u16, body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["message", "details", "error_description"]
                .iter()
                .find_map(|key| v.get(*key)?.as_str().map(|m| error::shorten(m, 300)))
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("unknown status")
                .to_owned()
        })
}

/// Name the cause of a transport failure: DNS, refused, timeout, TLS or other.
pub(crate) fn classify(url: &Url, error: &reqwest::Error) -> NetError {
    let chain = chain_text(error);
    let lower = chain.to_ascii_lowercase();
    let io_kind = io_kind(error);
    let kind = if error.is_timeout() {
        if error.is_connect() {
            NetErrorKind::ConnectTimeout(CONNECT_TIMEOUT)
        } else {
            NetErrorKind::Timeout(READ_TIMEOUT)
        }
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("nodename nor servname")
    {
        NetErrorKind::Dns(error::shorten(&chain, 200))
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        NetErrorKind::Refused
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        NetErrorKind::Tls(error::shorten(&chain, 200))
    } else if error.is_builder() {
        NetErrorKind::InvalidUrl(error::shorten(&chain, 200))
    } else {
        NetErrorKind::Transport(error::shorten(&chain, 200))
    };
    NetError::new(url, kind)
}

fn chain_text(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(c) = cause {
        parts.push(c.to_string());
        cause = c.source();
    }
    if parts.is_empty() {
        // The top-level message names the URL; the URL is in NetError already.
        return error.without_url_ref_text();
    }
    parts.join(": ")
}

fn io_kind(error: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

trait WithoutUrlText {
    fn without_url_ref_text(&self) -> String;
}

impl WithoutUrlText for reqwest::Error {
    fn without_url_ref_text(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(url.as_str(), "").replace(" for url ()", ""),
            None => text,
        }
    }
}
