//! The GitHub attestations API: list the attestations filed for a digest in a repository, fetch
//! the bundles that are not inline, and upload new ones (for `brew-backfill`). Every request
//! goes through the one HTTP layer ([`crate::http`]), which owns credentials, caps, retries and
//! rate limits; this module owns the API's shapes:
//!
//! - `GET /repos/{owner}/{repo}/attestations/sha256:{hex}?per_page=100[&predicate_type=…]`,
//!   following `Link: <…>; rel="next"` pages on the API host only. A 200 with an empty list and
//!   a 404 both mean "none" (GitHub answers 404 today; it documents the empty list): both are
//!   the authoritative "this repository has no attestation for this digest".
//! - An entry without an inline `bundle` has a `bundle_url` on another host (blob storage), a
//!   raw-block snappy stream of the protobuf-JSON bundle (what `gh` decodes with
//!   `snappy.Decode`). It is fetched with no credential at all.
//! - A 401 reads like gh ("HTTP 401: Bad credentials"), which brew looks for.
//!
//! What it must not do: verify anything (bundles go to `bottle_attest::verify`), decide what a
//! missing attestation means (that is the policy), print, or read the environment (callers pass
//! the credential [`crate::env::Env::github_credential`] chose).

use std::fmt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bottle_attest::bundle::{
    ApiEntry, BulkPage, BundleCandidate, BundleParseError, parse_api_page, parse_bulk_page,
};
use futures_util::StreamExt as _;
use reqwest::Url;
use reqwest::header::{ACCEPT, HeaderValue, LINK};
use serde::Deserialize;
use serde_json::Value;
use sigstore_types::{Bundle, Sha256Hash};

use crate::http::{
    Deadline, HttpClient, NetError, NetErrorKind, RateLimitStatus, Request, RetryPolicy,
    SharedCredential, body,
};

/// The public GitHub API, used when the caller gives no other base URL.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Page size asked of the API: its maximum, so one request answers almost every digest.
const PER_PAGE: u8 = 100;
/// Pages followed before giving up: a server that keeps linking to more pages is broken, and
/// 10 000 attestations for one bottle digest is not a real answer.
const MAX_PAGES: usize = 100;
/// Digests per bulk-list request. GitHub documents no maximum for `subject_digests`; 100 is its
/// page size, so one request's answer fits one page in the common case.
pub const BULK_DIGESTS_PER_REQUEST: usize = 100;
/// `bundle_url` fetches in flight at once for one listing.
const BUNDLE_FETCH_CONCURRENCY: usize = 4;
/// GitHub's media type for REST requests.
const GITHUB_JSON: &str = "application/vnd.github+json";

/// Why a GitHub API call failed. Each message names the URL (never a token).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitHubError {
    /// The request failed or the server answered with an error (after retries): transport,
    /// timeout, 5xx, rate limit, size cap, refused credential.
    #[error(transparent)]
    Net(#[from] NetError),
    /// HTTP 401: the token is wrong, expired or revoked (or the endpoint needs one). The
    /// message starts like gh's, which brew recognises.
    #[error("HTTP 401: {message} (`{url}`){}", if *.authenticated {
        "; GitHub refused the token"
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
    /// The answer could not be understood (not the JSON the API documents, too many pages, a
    /// pagination link to another host).
    #[error("unexpected response from `{url}`: {reason}")]
    Response {
        /// The request.
        url: String,
        /// What was wrong.
        reason: String,
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
    /// Neither bulk-list route exists for this owner (404 on both): look digests up one by one.
    #[error("the attestations bulk-list endpoint is not available for `{owner}`")]
    BulkUnavailable {
        /// The owner asked.
        owner: String,
    },
    /// The bundle to upload is not a JSON object.
    #[error("the bundle to upload is not a JSON object: {0}")]
    InvalidBundle(String),
}

impl GitHubError {
    /// Whether trying again later may help (network trouble, server errors, rate limits), as
    /// opposed to a bad token, a bad name or a malformed answer.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Net(e) if e.is_transient())
    }

    /// The network error underneath, if that is what this is.
    pub fn net(&self) -> Option<&NetError> {
        match self {
            Self::Net(e) => Some(e),
            _ => None,
        }
    }

    /// How long the rate limit asks to wait, if this is a rate limit.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self.net()?.kind() {
            NetErrorKind::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// What the client has done so far, for progress and benchmark lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests to the API host (first attempts; pages count).
    pub api_requests: u64,
    /// Requests to `bundle_url` hosts (first attempts).
    pub bundle_url_requests: u64,
    /// Attempts that were retries after a transient failure.
    pub retries: u64,
    /// Rate-limit waits sat out.
    pub rate_limit_waits: u64,
    /// Uploads (`POST …/attestations`), first attempts.
    pub uploads: u64,
    /// Bulk-list requests, first attempts.
    pub bulk_requests: u64,
}

/// What a listing found: the attestations, or the API's authoritative "none".
#[derive(Debug, Clone)]
pub enum Listing {
    /// Attestations filed for the digest (possibly unparseable ones, kept as failed
    /// candidates so that the caller reports "invalid" rather than "missing").
    Found(Vec<BundleCandidate>),
    /// The API says the repository has none: an empty list, or a 404.
    None {
        /// Whether the API said so with a 404 (gh prints `HTTP 404: Not Found` then).
        not_found: bool,
    },
}

impl Listing {
    /// The candidates (empty for `None`).
    pub fn into_candidates(self) -> Vec<BundleCandidate> {
        match self {
            Self::Found(c) => c,
            Self::None { .. } => Vec::new(),
        }
    }
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct GitHubClient {
    http: HttpClient,
    /// The base URL, for building requests and to keep pagination on the API host.
    api_base: Url,
    credential: Option<SharedCredential>,
    retry: Option<RetryPolicy>,
    /// Which bulk-list route (`orgs`/`users`) answered for each owner.
    owner_kinds: Arc<Mutex<HashMap<String, &'static str>>>,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_base", &self.api_base.as_str())
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl GitHubClient {
    /// A client for the API at `api_url` ([`DEFAULT_API_URL`] for github.com; a GitHub
    /// Enterprise `https://HOST/api/v3`; a loopback server in tests), sending `credential` where
    /// the HTTP layer allows it.
    pub fn new(
        http: HttpClient,
        api_url: &str,
        credential: Option<SharedCredential>,
    ) -> Result<Self, GitHubError> {
        let invalid = |reason: String| GitHubError::InvalidApiUrl {
            url: api_url.to_owned(),
            reason,
        };
        let mut api_base = Request::parse_url(api_url).map_err(|e| invalid(e.to_string()))?;
        if api_base.query().is_some() || api_base.fragment().is_some() {
            return Err(invalid("it has a query or fragment".into()));
        }
        if !api_base.path().ends_with('/') {
            let path = format!("{}/", api_base.path());
            api_base.set_path(&path);
        }
        Ok(Self {
            http,
            api_base,
            credential,
            retry: None,
            owner_kinds: Arc::default(),
        })
    }

    /// Retry under this policy instead of the HTTP client's (uploads: never).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Whether requests carry a token.
    pub fn is_authenticated(&self) -> bool {
        self.credential.is_some()
    }

    /// The API base URL.
    pub fn api_url(&self) -> &Url {
        &self.api_base
    }

    /// Requests made so far (by every client sharing the HTTP client).
    pub fn stats(&self) -> RequestStats {
        let s = self.http.stats();
        RequestStats {
            api_requests: s.requests("api"),
            bundle_url_requests: s.requests("bundle_url"),
            retries: s.retries("api") + s.retries("bundle_url"),
            rate_limit_waits: s.rate_limit_waits,
            uploads: s.requests("upload"),
            bulk_requests: s.requests("bulk"),
        }
    }

    /// The rate-limit budget the API reported in its latest response, if it sent one.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        let origin = crate::http::origin::Origin::of(&self.api_base)?;
        self.http
            .stats()
            .rate_limit
            .get(&origin.authority())
            .copied()
    }

    fn request(&self, request: Request) -> Request {
        let request = request
            .header(ACCEPT, HeaderValue::from_static(GITHUB_JSON))
            .header(
                reqwest::header::HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static("2022-11-28"),
            )
            .credential(self.credential.clone());
        match self.retry {
            Some(policy) => request.retry(policy),
            None => request,
        }
    }

    /// Every attestation filed in `repo` (`owner/name`) for a subject with SHA-256 `digest`,
    /// optionally only those with this in-toto `predicate_type` (as gh asks), within `deadline`.
    pub async fn attestations(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        predicate_type: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<Listing, GitHubError> {
        let (owner, name) = split_repo(repo)?;
        let mut first = self
            .api_base
            .join(&format!(
                "repos/{owner}/{name}/attestations/sha256:{}",
                digest.to_hex()
            ))
            .map_err(|e| GitHubError::InvalidRepository(format!("{repo}: {e}")))?;
        first
            .query_pairs_mut()
            .append_pair("per_page", &PER_PAGE.to_string());
        if let Some(predicate_type) = predicate_type {
            first
                .query_pairs_mut()
                .append_pair("predicate_type", predicate_type);
        }

        let mut entries = Vec::new();
        let mut next = Some(first);
        let mut pages = 0usize;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(GitHubError::Response {
                    url: crate::http::redact(&url),
                    reason: format!("more than {MAX_PAGES} pages of attestations"),
                });
            }
            let response = self
                .http
                .send(
                    self.request(Request::get(url, body::API_PAGE))
                        .deadline(deadline)
                        .purpose("api"),
                )
                .await?;
            if response.status == 404 && pages == 1 {
                // "None": the API answers 404 for a digest with no attestation in this
                // repository (and for a repository the token cannot see; it does not tell
                // them apart, and neither can we).
                return Ok(Listing::None { not_found: true });
            }
            if response.status == 401 {
                return Err(GitHubError::BadCredentials {
                    url: response.error().url().to_owned(),
                    message: crate::http::message(401, &response.body),
                    authenticated: response.authenticated,
                });
            }
            if !response.is_success() {
                return Err(response.error().into());
            }
            // The core's one reader of API pages: a body that is not
            // `{"attestations": [...]}` is an error, never an empty ("none") answer.
            let page = parse_api_page(&response.body).map_err(|e| GitHubError::Response {
                url: response.error().url().to_owned(),
                reason: e.to_string(),
            })?;
            entries.extend(page);
            next = match response.header(LINK.as_str()).and_then(next_link) {
                Some(link) => Some(self.same_host(&link, &response.url)?),
                None => None,
            };
        }
        self.listing(repo, entries, deadline).await
    }

    /// The entries of one digest as a listing: `None` when there are none, else every entry
    /// read (`bundle_url`s fetched, unparseable ones kept as failed candidates).
    async fn listing(
        &self,
        label: &str,
        entries: Vec<ApiEntry>,
        deadline: Option<Deadline>,
    ) -> Result<Listing, GitHubError> {
        if entries.is_empty() {
            return Ok(Listing::None { not_found: false });
        }
        let items = entries.into_iter().enumerate().map(|(i, entry)| {
            let origin = format!("api:{label}[{i}]");
            async move {
                let bundle = match entry {
                    ApiEntry::Inline(bundle) => bundle,
                    ApiEntry::BundleUrl(url) => self.fetch_bundle_url(&url, deadline).await?,
                };
                Ok::<_, GitHubError>(BundleCandidate { origin, bundle })
            }
        });
        let candidates = futures_util::stream::iter(items)
            .buffered(BUNDLE_FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Listing::Found(candidates))
    }

    /// Every attestation filed for each of `digests` in any repository of `owner`, with
    /// GitHub's bulk endpoint (`POST /orgs/{owner}/attestations/bulk-list`, or
    /// `/users/{owner}/…` for a user: tried when the org route answers 404, and remembered),
    /// [`BULK_DIGESTS_PER_REQUEST`] digests per request, pages followed. Every digest asked is in
    /// the answer: `None` where the owner has none.
    ///
    /// The answer is per *owner*, not per repository: a caller that needs one repository's
    /// attestations filters by the certificate (as the policy does), and a caller that needs an
    /// authoritative per-repository "none" uses [`GitHubClient::attestations`]. When neither
    /// route exists (GitHub Enterprise Server, an older API), the error is
    /// [`GitHubError::BulkUnavailable`] and the caller falls back to per-digest lookups.
    pub async fn bulk_attestations(
        &self,
        owner: &str,
        digests: &[Sha256Hash],
        predicate_type: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<HashMap<Sha256Hash, Listing>, GitHubError> {
        if owner.is_empty()
            || !owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(GitHubError::InvalidRepository(owner.to_owned()));
        }
        let mut found: HashMap<Sha256Hash, Vec<ApiEntry>> =
            digests.iter().map(|d| (*d, Vec::new())).collect();
        for chunk in digests.chunks(BULK_DIGESTS_PER_REQUEST) {
            let body = serde_json::to_vec(&serde_json::json!({
                "subject_digests": chunk.iter().map(|d| format!("sha256:{}", d.to_hex())).collect::<Vec<_>>(),
                "predicate_type": predicate_type,
            }))
            .map_err(|e| GitHubError::InvalidBundle(e.to_string()))?;
            let mut after: Option<String> = None;
            let mut pages = 0usize;
            loop {
                pages += 1;
                if pages > MAX_PAGES {
                    return Err(GitHubError::Response {
                        url: format!("{}…/attestations/bulk-list", self.api_base),
                        reason: format!("more than {MAX_PAGES} pages"),
                    });
                }
                let page = self
                    .bulk_page(owner, &body, after.as_deref(), deadline)
                    .await?;
                for (digest, entries) in page.digests {
                    let Some(hex) = digest.strip_prefix("sha256:") else {
                        continue;
                    };
                    // A digest that was not asked is ignored: the server cannot add bottles.
                    if let Some(list) = Sha256Hash::from_hex(hex)
                        .ok()
                        .and_then(|d| found.get_mut(&d))
                    {
                        list.extend(entries);
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        let mut out = HashMap::new();
        for (digest, entries) in found {
            let label = format!("{owner}/*:sha256:{}", digest.to_hex());
            out.insert(digest, self.listing(&label, entries, deadline).await?);
        }
        Ok(out)
    }

    /// One page of the bulk endpoint, on the owner route that answers.
    async fn bulk_page(
        &self,
        owner: &str,
        body: &[u8],
        after: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<BulkPage, GitHubError> {
        let known = self
            .owner_kinds
            .lock()
            .ok()
            .and_then(|k| k.get(owner).copied());
        let kinds: Vec<&'static str> = match known {
            Some(kind) => vec![kind],
            None => vec!["orgs", "users"],
        };
        for kind in kinds {
            let mut url = self
                .api_base
                .join(&format!("{kind}/{owner}/attestations/bulk-list"))
                .map_err(|e| GitHubError::InvalidRepository(format!("{owner}: {e}")))?;
            url.query_pairs_mut()
                .append_pair("per_page", &PER_PAGE.to_string());
            if let Some(after) = after {
                url.query_pairs_mut().append_pair("after", after);
            }
            let request = self.request(
                Request::post(url, "application/json", body.to_vec(), body::API_PAGE)
                    // A read, safe to repeat.
                    .retry(self.retry.unwrap_or(*self.http.retry_policy())),
            );
            let response = self
                .http
                .send(request.deadline(deadline).purpose("bulk"))
                .await?;
            if response.status == 404 && known.is_none() {
                continue;
            }
            if response.status == 401 {
                return Err(GitHubError::BadCredentials {
                    url: response.error().url().to_owned(),
                    message: crate::http::message(401, &response.body),
                    authenticated: response.authenticated,
                });
            }
            if !response.is_success() {
                return Err(response.error().into());
            }
            if let Ok(mut k) = self.owner_kinds.lock() {
                k.insert(owner.to_owned(), kind);
            }
            return parse_bulk_page(&response.body).map_err(|e| GitHubError::Response {
                url: response.error().url().to_owned(),
                reason: e.to_string(),
            });
        }
        Err(GitHubError::BulkUnavailable {
            owner: owner.to_owned(),
        })
    }

    /// Upload `bundle_json` as an attestation of `repo` (`POST /repos/{owner}/{repo}/attestations`
    /// with `{"bundle": …}`; the token needs `attestations: write`) and return its id. Never
    /// retried here: a POST whose answer was lost may have been stored.
    pub async fn upload_attestation(
        &self,
        repo: &str,
        bundle_json: &str,
    ) -> Result<u64, GitHubError> {
        let (owner, name) = split_repo(repo)?;
        let bundle: Value = serde_json::from_str(bundle_json)
            .map_err(|e| GitHubError::InvalidBundle(e.to_string()))?;
        if !bundle.is_object() {
            return Err(GitHubError::InvalidBundle("expected an object".into()));
        }
        let body = serde_json::to_vec(&serde_json::json!({ "bundle": bundle }))
            .map_err(|e| GitHubError::InvalidBundle(e.to_string()))?;
        let url = self
            .api_base
            .join(&format!("repos/{owner}/{name}/attestations"))
            .map_err(|e| GitHubError::InvalidRepository(format!("{repo}: {e}")))?;
        let request = self.request(Request::post(
            url,
            "application/json",
            body,
            body::SERVICE_RESPONSE,
        ));
        let response = self
            .http
            .send(request.retry(RetryPolicy::never()).purpose("upload"))
            .await?;
        if response.status == 401 {
            return Err(GitHubError::BadCredentials {
                url: response.error().url().to_owned(),
                message: crate::http::message(401, &response.body),
                authenticated: response.authenticated,
            });
        }
        if !response.is_success() {
            return Err(response.error().into());
        }
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        serde_json::from_slice::<Created>(&response.body)
            .map(|created| created.id)
            .map_err(|e| GitHubError::Response {
                url: response.error().url().to_owned(),
                reason: format!("no attestation id in the answer: {e}"),
            })
    }

    /// A `Link` URL, refused unless it is on the API's own origin: the next page must come
    /// from where the first came from (and the token goes nowhere else).
    fn same_host(&self, link: &str, from: &Url) -> Result<Url, GitHubError> {
        let bad = |reason: String| GitHubError::Response {
            url: crate::http::redact(from),
            reason,
        };
        let url = from
            .join(link)
            .map_err(|e| bad(format!("bad `Link` URL: {e}")))?;
        let origin = crate::http::origin::Origin::of;
        if origin(&url) != origin(&self.api_base) {
            return Err(bad(format!(
                "the next page is on another host (`{}`)",
                url.host_str().unwrap_or_default()
            )));
        }
        Ok(url)
    }

    /// Fetch, decompress and parse one `bundle_url`, with no credential. Transport and HTTP
    /// failures are errors (the attestation exists but could not be read now); a body that is
    /// not a snappy protobuf-JSON bundle is a failed candidate (the attestation is unusable).
    async fn fetch_bundle_url(
        &self,
        raw_url: &str,
        deadline: Option<Deadline>,
    ) -> Result<Result<Box<Bundle>, BundleParseError>, GitHubError> {
        let url = match Request::parse_url(raw_url) {
            Ok(url) => url,
            Err(_) => {
                return Ok(Err(BundleParseError::Bundle(
                    "`bundle_url` is not an http(s) URL".into(),
                )));
            }
        };
        let mut request = Request::get(url, body::BUNDLE_COMPRESSED)
            .deadline(deadline)
            .purpose("bundle_url");
        if let Some(policy) = self.retry {
            request = request.retry(policy);
        }
        let response = self.http.send(request).await?;
        if !response.is_success() {
            return Err(response.error().into());
        }
        Ok(decode_snappy_bundle(&response.body))
    }
}

/// A `bundle_url` body: raw-block snappy (not the framed format) around a protobuf-JSON bundle,
/// as `gh` reads it (`snappy.Decode` then `protojson.Unmarshal`). The decompressed size is read
/// from snappy's header and checked before anything is allocated.
fn decode_snappy_bundle(compressed: &[u8]) -> Result<Box<Bundle>, BundleParseError> {
    let not_snappy = |e: snap::Error| {
        BundleParseError::Bundle(format!("the `bundle_url` body is not raw snappy data: {e}"))
    };
    let len = snap::raw::decompress_len(compressed).map_err(not_snappy)?;
    if len as u64 > body::BUNDLE_JSON {
        return Err(BundleParseError::Bundle(format!(
            "the `bundle_url` body would decompress to {len} bytes (limit {})",
            body::BUNDLE_JSON
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
    // `Bundle` validates while deserializing, as in `bottle_attest::bundle`.
    serde_json::from_value::<Bundle>(value)
        .map(Box::new)
        .map_err(|e| BundleParseError::Bundle(e.to_string()))
}

/// `owner/name`, each part made of the characters GitHub allows (so it needs no escaping in a
/// path).
pub fn split_repo(repo: &str) -> Result<(&str, &str), GitHubError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(next_link("<<<>"), None);
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
            "a/b%2F..",
        ] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
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
        // A header announcing more than the cap is refused before decompressing.
        let mut bomb = Vec::new();
        let mut n = body::BUNDLE_JSON + 1;
        while n >= 0x80 {
            bomb.push((n as u8) | 0x80);
            n >>= 7;
        }
        bomb.push(n as u8);
        let err = decode_snappy_bundle(&bomb).unwrap_err();
        assert!(err.to_string().contains("would decompress"), "{err}");
    }

    /// Callers run many lookups at once on a multi-threaded runtime, so the futures and the
    /// client must be `Send`. Checked at compile time; never called.
    #[allow(dead_code)]
    fn futures_are_send(client: &GitHubClient, digest: &Sha256Hash) {
        fn is_send<T: Send>(_: T) {}
        is_send(client.clone());
        is_send(client.attestations("a/b", digest, None, None));
        is_send(client.upload_attestation("a/b", "{}"));
    }
}
