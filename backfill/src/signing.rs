//! Keyless signing, one step at a time, so that a crash between the steps loses nothing and
//! logs nothing twice.
//!
//! `sigstore-sign`'s `Signer::sign_raw_statement` does these steps in one call: a fresh key,
//! a Fulcio certificate, the DSSE signature, a Rekor entry, an optional RFC 3161 timestamp.
//! Done in one call, a process killed after Rekor answered but before the bundle was saved
//! leaves a signature in the public log that the journal knows nothing about, and the next run
//! signs the same bottles again. So the steps are split:
//!
//! 1. [`prepare`]: key, certificate and signature. The signed envelope and the certificate
//!    (both public) go into the journal *before* anything is sent to Rekor.
//! 2. [`log`]: submit the envelope to Rekor. Submitting the same envelope again is idempotent:
//!    Rekor v1 answers `409 Conflict` for an entry it already holds, and the existing entry
//!    (with its original integrated time and inclusion proof) is fetched instead. A resumed
//!    batch therefore ends with exactly one log entry, whether or not the first submission
//!    reached the log. Rekor is spoken to through the shared [`HttpClient`] (not
//!    `sigstore-rekor`'s client), so that its `429`s wait as long as its `Retry-After` says.
//! 3. [`timestamp`]: the TSA's timestamp over the signature (no log; asking twice is harmless).
//! 4. [`bundle`]: assemble the v0.3 bundle, which the caller verifies before accepting it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

use crate::cli::SigningArgs;
use crate::exit::UsageError;
use bottle_attest_net::http::retry::{self, Attempt};
use bottle_attest_net::http::{
    HttpClient, NetError, NetErrorKind, NetEvents, PauseReason, Request, Response, RetryEvent,
    RetryPolicy, StderrEvents, Url, body, human,
};
use sigstore_sign::bundle::BundleV03;
use sigstore_sign::crypto::KeyPair;
use sigstore_sign::fulcio::FulcioClient;
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::rekor::{DsseEntry, LogEntry};
use sigstore_sign::tsa::TimestampClient;
use sigstore_types::{
    Bundle, DerCertificate, DsseEnvelope, DsseSignature, EntryUuid, KeyId, KindVersion,
    PayloadBytes, TimestampToken,
};
use tokio::sync::Mutex;

/// The DSSE payload type of an in-toto statement.
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Per-request timeout towards Fulcio, Rekor and the TSA.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// An ambient token is fetched again when it expires within this margin.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// The Sigstore services a batch goes through.
///
/// Rekor's requests are plain JSON over HTTP and go through [`HttpClient::send`] itself: its
/// caps, its one retry policy and its reading of rate limits. That matters because
/// `sigstore-rekor` 0.15.1 turns every non-success answer into `Error::Status { status,
/// message }` and drops the headers (`client.rs`: `let body = response.text().await…;
/// Err(Error::Status { status: status.as_u16(), message: … })`), so a `429` sent through it
/// could only be retried on our backoff, never after the `Retry-After` Rekor asked for
/// (issue 11).
///
/// Fulcio's and the TSA's clients build their own requests (Fulcio's carries the OIDC token,
/// which must not follow a redirect; the TSA speaks DER), so they cannot go through
/// [`HttpClient::send`]; they get its transport ([`HttpClient::service_transport`]: rustls, the
/// layer's timeouts, no redirects, no credential of ours) and every call is retried by the
/// layer's one retry loop ([`retry::run`]) under the same policy. Their response bodies are
/// read by those crates without our caps: these are the operator's configured Sigstore
/// instances, not hosts learned from fetched data (SECURITY.md).
pub(crate) struct Services {
    fulcio: (FulcioClient, Url),
    /// The client Rekor's requests go through.
    http: HttpClient,
    /// Rekor's base URL as given, without a trailing `/`.
    rekor_base: String,
    tsa: Option<(TimestampClient, Url)>,
    retry: RetryPolicy,
    events: Arc<dyn NetEvents>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("fulcio", &self.fulcio.1.as_str())
            .field("rekor", &self.rekor_base)
            .field("tsa", &self.tsa.as_ref().map(|t| t.1.as_str()))
            .finish_non_exhaustive()
    }
}

/// A Sigstore client's failure, sorted for the retry loop.
struct ServiceFailure {
    /// Worth another attempt: a transport failure, a 5xx or a 429.
    transient: bool,
    /// The HTTP status, when the service answered one.
    status: Option<u16>,
    error: anyhow::Error,
}

impl ServiceFailure {
    fn new(status: Option<u16>, error: anyhow::Error) -> Self {
        let transient = match status {
            None => true,
            Some(s) => s >= 500 || s == 429,
        };
        Self {
            transient,
            status,
            error,
        }
    }

    /// Not worth retrying whatever it is (a malformed answer, a local failure).
    fn permanent(error: anyhow::Error) -> Self {
        Self {
            transient: false,
            status: None,
            error,
        }
    }
}

impl Services {
    pub(crate) fn new(
        http: &HttpClient,
        fulcio_url: &str,
        rekor_url: &str,
        tsa_url: Option<&str>,
        events: Arc<dyn NetEvents>,
    ) -> anyhow::Result<Self> {
        let transport = http.service_transport();
        Ok(Self {
            fulcio: (
                FulcioClient::builder(fulcio_url)
                    .with_http_client(transport.clone())
                    .build()
                    .context("Fulcio client")?,
                Request::parse_url(fulcio_url)?,
            ),
            http: http.clone(),
            rekor_base: {
                Request::parse_url(rekor_url)?;
                rekor_url.trim_end_matches('/').to_owned()
            },
            tsa: tsa_url
                .map(|url| {
                    anyhow::Ok((
                        TimestampClient::builder(url)
                            .with_http_client(transport.clone())
                            .build()
                            .context("TSA client")?,
                        Request::parse_url(url)?,
                    ))
                })
                .transpose()?,
            retry: *http.retry_policy(),
            events,
        })
    }

    /// Call a service under the one retry loop; each attempt bounded by [`SERVICE_TIMEOUT`].
    async fn call<T, F, Fut>(&self, url: &Url, mut op: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ServiceFailure>>,
    {
        let result = retry::run(
            &self.retry,
            None,
            Some(SERVICE_TIMEOUT),
            self.events.as_ref(),
            url,
            |_| {
                let attempt = op();
                async move {
                    match attempt.await {
                        Ok(value) => Attempt::Done(Ok(Ok(value))),
                        Err(f) if f.transient => Attempt::Retry(NetError::service(
                            url,
                            f.status,
                            format!("{:#}", f.error),
                        )),
                        Err(f) => Attempt::Done(Ok(Err(f.error))),
                    }
                }
            },
        )
        .await;
        match result {
            Ok(inner) => inner,
            Err(net) => Err(net.into()),
        }
    }
}

impl Services {
    /// `<rekor>/api/v1/log/entries<tail>`, formed as `sigstore-rekor`'s `RekorClient` forms it
    /// (`format!("{}/api/v1/log/entries", self.url)`).
    fn rekor_entries(&self, tail: &str) -> anyhow::Result<Url> {
        Ok(Request::parse_url(&format!(
            "{}/api/v1/log/entries{tail}",
            self.rekor_base
        ))?)
    }

    /// One Rekor request under the client's retry policy (rate limits waited out as long as
    /// `Retry-After` asks), each attempt bounded by [`SERVICE_TIMEOUT`]. A submission may be
    /// retried: sending the same entry again is answered `409` (see the module docs).
    async fn rekor(&self, request: Request) -> Result<Response, NetError> {
        self.http
            .send(
                request
                    .retry(self.retry)
                    .attempt_timeout(SERVICE_TIMEOUT)
                    .purpose("rekor"),
            )
            .await
    }
}

/// The retry loop's pauses towards Fulcio, Rekor and the TSA: each printed on stderr as every
/// other pause is, and counted for `sign`'s summary line. A rate limit is recorded as the wait
/// the service asked for (its `Retry-After`), not the time slept (which adds jitter), so that
/// the summary says what the service said.
#[derive(Debug, Default)]
pub(crate) struct ServicePauses {
    retries: std::sync::atomic::AtomicU64,
    asked: std::sync::Mutex<Vec<Duration>>,
}

impl NetEvents for ServicePauses {
    fn retrying(&self, event: &RetryEvent<'_>) {
        StderrEvents::new(false).retrying(event);
        match event.reason {
            PauseReason::Transient => {
                self.retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            PauseReason::RateLimit => {
                let asked = match event.cause.kind() {
                    NetErrorKind::RateLimited { retry_after, .. } => *retry_after,
                    _ => event.delay,
                };
                if let Ok(mut waits) = self.asked.lock() {
                    waits.push(asked);
                }
            }
        }
    }
}

impl ServicePauses {
    /// `N retries, M rate-limit waits (asked for …)`, or `None` when nothing paused.
    pub(crate) fn summary(&self) -> Option<String> {
        let retries = self.retries.load(std::sync::atomic::Ordering::Relaxed);
        let asked = self.asked.lock().map(|w| w.clone()).unwrap_or_default();
        if retries == 0 && asked.is_empty() {
            return None;
        }
        let mut text = format!(
            "{retries} {}, {} rate-limit {}",
            if retries == 1 { "retry" } else { "retries" },
            asked.len(),
            if asked.len() == 1 { "wait" } else { "waits" }
        );
        if !asked.is_empty() {
            let waits: Vec<String> = asked.iter().map(|d| human(*d)).collect();
            text.push_str(&format!(" (asked for {})", waits.join(", ")));
        }
        Some(text)
    }
}

/// Where OIDC tokens come from.
#[derive(Debug)]
pub(crate) enum TokenSource {
    /// A file holding a JWT, read again for every batch (so that a long run can be fed fresh
    /// tokens).
    File(PathBuf),
    /// The CI's ambient credentials (GitHub Actions `ACTIONS_ID_TOKEN_REQUEST_*`), cached
    /// until close to expiry.
    Ambient(Box<Mutex<Option<IdentityToken>>>),
}

impl TokenSource {
    pub(crate) fn new(file: Option<PathBuf>) -> Self {
        match file {
            Some(path) => Self::File(path),
            None => Self::Ambient(Box::new(Mutex::new(None))),
        }
    }

    /// A token to present to Fulcio now.
    pub(crate) async fn token(&self) -> anyhow::Result<IdentityToken> {
        match self {
            Self::File(path) => {
                let jwt = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the identity token `{}`", path.display())
                })?;
                IdentityToken::from_jwt(jwt.trim()).with_context(|| {
                    format!("`{}` does not hold a JWT identity token", path.display())
                })
            }
            Self::Ambient(cache) => {
                let mut cached = cache.lock().await;
                if let Some(token) = cached.as_ref().filter(|t| !expires_soon(t)) {
                    return Ok(token.clone());
                }
                let token = IdentityToken::detect_ambient()
                    .await
                    .context("cannot get the CI's ambient OIDC token")?
                    .ok_or_else(|| {
                        anyhow!(
                            "no identity token: pass --identity-token FILE, or run in GitHub \
                             Actions with `permissions: id-token: write`"
                        )
                    })?;
                *cached = Some(token.clone());
                Ok(token)
            }
        }
    }
}

/// `sign --dry-run`'s first lines: the identity a real run would sign as, from the token at
/// hand (no token is fetched and nothing is sent), and the Fulcio, Rekor and TSA it would use.
///
/// A missing token is a usage error where a real run would certainly stop at it (no
/// `--identity-token` and no CI to ask), and a warning in a GitHub Actions job without
/// `permissions: id-token: write`: the backfill workflow's dry run runs in its plan job, which
/// deliberately cannot sign; the job that signs can.
pub(crate) fn dry_run_identity(signing: &SigningArgs) -> anyhow::Result<String> {
    let identity = match &signing.identity_token {
        Some(path) => {
            let jwt = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!(
                    "cannot read the identity token `{}`: {e}",
                    path.display()
                ))
            })?;
            let token = IdentityToken::from_jwt(jwt.trim()).map_err(|e| {
                UsageError(format!(
                    "`{}` does not hold a JWT identity token: {e}",
                    path.display()
                ))
            })?;
            if token.expiration().as_second() <= chrono::Utc::now().timestamp() {
                crate::error_line(&format!(
                    "warning: the identity token in `{}` has expired; Fulcio will refuse it \
                     (the file is read again for every batch: refresh it before signing)",
                    path.display()
                ));
            }
            let claims = WorkflowClaims::of(&token);
            format!(
                "{} (issuer {}; token from {})",
                san_of(claims.job_workflow_ref.as_deref())
                    .unwrap_or_else(|| token.subject().to_owned()),
                token.issuer(),
                path.display()
            )
        }
        None => match Ambient::from_process() {
            Ambient::GitHub {
                can_request: true,
                workflow_ref,
            } => format!(
                "{} (issuer {GITHUB_ACTIONS_ISSUER}; token requested from GitHub Actions when \
                 signing)",
                san_of(workflow_ref.as_deref()).unwrap_or_else(|| "this job's workflow".to_owned())
            ),
            Ambient::GitHub {
                can_request: false, ..
            } => {
                crate::error_line(
                    "warning: this GitHub Actions job cannot request an OIDC token (it lacks \
                     `permissions: id-token: write`); the job that signs needs it",
                );
                "none in this job (no `permissions: id-token: write`)".to_owned()
            }
            Ambient::Other(ci) => format!("a token from {ci}, requested when signing"),
            Ambient::None => {
                return Err(UsageError(
                    "no identity token: pass --identity-token FILE, or run in GitHub Actions \
                     with `permissions: id-token: write` (a real run would stop here)"
                        .into(),
                )
                .into());
            }
        },
    };
    let tsa = if signing.no_tsa {
        "none (--no-tsa: Rekor's integrated time is the only time)".to_owned()
    } else {
        signing.tsa_url.clone()
    };
    Ok(format!(
        "signing identity\t{identity}\nfulcio\t{}\nrekor\t{}\ntimestamp authority\t{tsa}\n",
        signing.fulcio_url, signing.rekor_url
    ))
}

/// GitHub Actions' OIDC issuer.
const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The SAN Fulcio certifies for a GitHub Actions token: `https://github.com/` followed by its
/// `job_workflow_ref` (`owner/repo/.github/workflows/file.yml@ref`), as the identity policy of
/// `brew-backfill policy` expects it.
fn san_of(job_workflow_ref: Option<&str>) -> Option<String> {
    job_workflow_ref.map(|r| format!("https://github.com/{r}"))
}

/// Which CI could hand out an ambient token, from the variables `ambient-id` (sigstore-oidc's
/// `IdentityToken::detect_ambient`) looks at: `GITHUB_ACTIONS` and then
/// `ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (ambient-id 0.0.11
/// `src/github.rs`), `GITLAB_CI`, `BUILDKITE`, `CIRCLECI`.
enum Ambient {
    GitHub {
        /// Both request variables are set (the job has `id-token: write`).
        can_request: bool,
        /// `GITHUB_WORKFLOW_REF`: the run's workflow (a reusable workflow signs as its own
        /// `job_workflow_ref`, which only the token tells).
        workflow_ref: Option<String>,
    },
    Other(&'static str),
    None,
}

impl Ambient {
    fn from_process() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if set("GITHUB_ACTIONS") {
            return Self::GitHub {
                can_request: set("ACTIONS_ID_TOKEN_REQUEST_URL")
                    && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
                workflow_ref: std::env::var("GITHUB_WORKFLOW_REF")
                    .ok()
                    .filter(|r| !r.is_empty()),
            };
        }
        for (var, ci) in [
            ("GITLAB_CI", "GitLab CI"),
            ("BUILDKITE", "Buildkite"),
            ("CIRCLECI", "CircleCI"),
        ] {
            if set(var) {
                return Self::Other(ci);
            }
        }
        Self::None
    }
}

fn expires_soon(token: &IdentityToken) -> bool {
    let left = token.expiration().as_second() - chrono::Utc::now().timestamp();
    left < i64::try_from(TOKEN_MARGIN.as_secs()).unwrap_or(i64::MAX)
}

/// The claims of a JWT that say which workflow it speaks for (unverified: only used to pick
/// the identity our own verifier then *requires*).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct WorkflowClaims {
    /// `owner/repo`.
    pub(crate) repository: Option<String>,
    /// `owner/repo/.github/workflows/<file>@<ref>`: the workflow that holds the signing job.
    pub(crate) job_workflow_ref: Option<String>,
    /// The run's id.
    pub(crate) run_id: Option<String>,
    /// The run's attempt.
    pub(crate) run_attempt: Option<String>,
}

impl WorkflowClaims {
    pub(crate) fn of(token: &IdentityToken) -> Self {
        use base64::Engine as _;
        token
            .expose_secret()
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p.trim_end_matches('='))
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

/// A signed envelope and its certificate, not yet (known to be) in the log.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) envelope: DsseEnvelope,
    pub(crate) certificate: DerCertificate,
}

/// Step 1: a fresh key, a Fulcio certificate for it, and the DSSE signature over `statement`.
pub(crate) async fn prepare(
    services: &Services,
    token: &IdentityToken,
    statement: &[u8],
) -> anyhow::Result<Prepared> {
    // sigstore-sign's own check that the bytes are an in-toto statement.
    serde_json::from_slice::<sigstore_types::Statement>(statement)
        .context("the statement to sign is not an in-toto statement")?;
    let key = KeyPair::generate_ecdsa_p256().context("cannot generate a signing key")?;
    let (fulcio, url) = &services.fulcio;
    let certificate = services
        .call(url, || async {
            fulcio
                .create_signing_certificate(token, &key)
                .await
                .map_err(|e| {
                    let status = match &e {
                        sigstore_sign::fulcio::Error::Status { status, .. } => Some(*status),
                        sigstore_sign::fulcio::Error::Http(_) => None,
                        _ => return ServiceFailure::permanent(e.into()),
                    };
                    ServiceFailure::new(status, e.into())
                })
        })
        .await
        .context("Fulcio refused or failed to issue a signing certificate")?
        .leaf_certificate()
        .clone();
    let signature = key
        .sign(&sigstore_types::pae(IN_TOTO_PAYLOAD_TYPE, statement))
        .context("signing failed")?;
    Ok(Prepared {
        envelope: DsseEnvelope::new(
            IN_TOTO_PAYLOAD_TYPE.to_owned(),
            PayloadBytes::new(statement.to_vec()),
            DsseSignature::new(signature, KeyId::default()),
        ),
        certificate,
    })
}

/// What [`log`] got from Rekor.
#[derive(Debug)]
pub(crate) struct Logged {
    pub(crate) entry: LogEntry,
    /// The entry already existed (an earlier, interrupted run had submitted it).
    pub(crate) recovered: bool,
}

/// Step 2: put the prepared signature in the log, or find it there already.
pub(crate) async fn log(services: &Services, prepared: &Prepared) -> anyhow::Result<Logged> {
    let entry = DsseEntry::new(&prepared.envelope, &prepared.certificate)
        .context("cannot form the Rekor entry")?;
    let body = serde_json::to_vec(&entry).context("cannot serialize the Rekor entry")?;
    // Submitting again is safe: Rekor answers 409 for an entry it holds (see the module docs).
    let response = services
        .rekor(Request::post(
            services.rekor_entries("")?,
            "application/json",
            body,
            body::SERVICE_RESPONSE,
        ))
        .await
        .context("Rekor did not log the signature")?;
    match response.status {
        200 | 201 => Ok(Logged {
            entry: single_entry(&response.body)?,
            recovered: false,
        }),
        409 => {
            let message = String::from_utf8_lossy(&response.body);
            Ok(Logged {
                entry: existing_entry(services, &message).await?,
                recovered: true,
            })
        }
        _ => Err(anyhow::Error::new(response.error()).context("Rekor refused the entry")),
    }
}

/// The one entry of a Rekor v1 `{uuid: entry}` answer, its UUID filled in (as
/// `sigstore-rekor`'s `single_entry` does).
fn single_entry(body: &[u8]) -> anyhow::Result<LogEntry> {
    let entries: std::collections::HashMap<String, LogEntry> =
        serde_json::from_slice(body).context("Rekor's answer is not a log entry")?;
    let mut entries = entries.into_iter();
    let (uuid, mut entry) = entries
        .next()
        .ok_or_else(|| anyhow!("Rekor answered with no log entry"))?;
    if entries.next().is_some() {
        bail!("Rekor answered with more than one log entry");
    }
    entry.uuid = EntryUuid::new(uuid);
    Ok(entry)
}

/// The entry a `409 Conflict` refers to. Rekor's message names it ("… already exists in the
/// transparency log with UUID <uuid>"); the test kit's names its index ("… at index N").
async fn existing_entry(services: &Services, message: &str) -> anyhow::Result<LogEntry> {
    let tail = if let Some(uuid) = word_after(message, "UUID ") {
        format!("/{uuid}")
    } else if let Some(index) = word_after(message, "at index ").and_then(|i| i.parse::<u64>().ok())
    {
        format!("?logIndex={index}")
    } else {
        bail!("Rekor says the entry exists but does not say where: {message}");
    };
    let response = services
        .rekor(Request::get(
            services.rekor_entries(&tail)?,
            body::SERVICE_RESPONSE,
        ))
        .await
        .context("Rekor says the entry exists, but fetching it failed")?;
    if !response.is_success() {
        return Err(anyhow::Error::new(response.error())
            .context("Rekor says the entry exists, but does not return it"));
    }
    single_entry(&response.body)
}

fn word_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let word = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .filter(|w| !w.is_empty())?;
    Some(word)
}

/// Step 3: an RFC 3161 timestamp over the signature, when a TSA is configured.
pub(crate) async fn timestamp(
    services: &Services,
    prepared: &Prepared,
) -> anyhow::Result<Option<TimestampToken>> {
    match &services.tsa {
        None => Ok(None),
        Some((tsa, url)) => services
            .call(url, || async {
                tsa.timestamp_signature(&prepared.envelope.signature.sig)
                    .await
                    .map_err(|e| match e {
                        // The TSA client reports statuses and transport failures alike as
                        // `Http`: worth another attempt either way.
                        sigstore_sign::tsa::Error::Http(_) => ServiceFailure::new(None, e.into()),
                        _ => ServiceFailure::permanent(e.into()),
                    })
            })
            .await
            .map(Some)
            .context("the timestamp authority failed"),
    }
}

/// Step 4: the bundle.
pub(crate) fn bundle(
    prepared: &Prepared,
    logged: &Logged,
    timestamp: Option<TimestampToken>,
) -> anyhow::Result<Bundle> {
    let entry = logged
        .entry
        .to_bundle_entry(KindVersion::DsseV001)
        .context("Rekor's answer is not a usable log entry")?;
    let mut bundle = BundleV03::with_certificate_and_dsse(
        prepared.certificate.clone(),
        prepared.envelope.clone(),
    )
    .with_tlog_entry(entry);
    if let Some(ts) = timestamp {
        bundle = bundle.with_rfc3161_timestamp(ts);
    }
    Ok(bundle.into_bundle())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_existing_entry_in_conflict_messages() {
        let rekor = "Rekor returned HTTP 409: failed to create DSSE entry: {\"code\":409,\"message\":\"an equivalent entry already exists in the transparency log with UUID 24296fb24b8ad77a1ad7edcd612f1e4a2c12b8c9b0b2c8d9f1e2a3b4c5d6e7f8091a2b3c4d5e6f70\"}";
        assert_eq!(
            word_after(rekor, "UUID "),
            Some(
                "24296fb24b8ad77a1ad7edcd612f1e4a2c12b8c9b0b2c8d9f1e2a3b4c5d6e7f8091a2b3c4d5e6f70"
            )
        );
        let kit = "{\"code\":409,\"message\":\"conflict: an equivalent entry already exists in the transparency log at index 17\"}";
        assert_eq!(word_after(kit, "at index "), Some("17"));
        assert_eq!(word_after("nothing here", "UUID "), None);
    }
}
