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

use std::collections::{HashMap, HashSet};
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
    Deadline, HttpClient, NetError, NetErrorKind, RateLimitStatus, Request, Response, RetryPolicy,
    SharedCredential, body,
};

/// The public GitHub API, used when the caller gives no other base URL.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Page size asked of the API: its maximum, so one request answers almost every digest.
const PER_PAGE: u8 = 100;
/// Pages followed before giving up: a server that keeps linking to more pages is broken, and
/// 10 000 attestations for one bottle digest is not a real answer.
const MAX_PAGES: usize = 100;
/// Digests per bulk-list request. GitHub documents no maximum for `subject_digests` (neither
/// the REST docs nor the OpenAPI schema copies give one; octocrab 0.54.9 sets none; gh does not
/// use this endpoint), so this stays at the documented `per_page` maximum: a request's answer
/// then fits one page in the common case, and a small request is the least likely to meet an
/// undocumented limit.
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
    /// The bulk-list endpoint is not there for this owner (404 on both the org and the user
    /// route, or 405, 410, or a 422 that is not about the request body): look digests up one
    /// by one instead.
    #[error("the attestations bulk-list endpoint is not available for `{owner}` (HTTP {status})")]
    BulkUnavailable {
        /// The owner asked.
        owner: String,
        /// The status of the last answer.
        status: u16,
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
    /// Per-repository listing requests to the API host (first attempts; pages count). The
    /// API host's total is this plus [`RequestStats::bulk_requests`].
    pub api_requests: u64,
    /// Requests to `bundle_url` hosts (first attempts).
    pub bundle_url_requests: u64,
    /// Attempts that were retries after a transient failure (listings, bulk lists, bundles).
    /// A request sent again after a rate-limit wait is neither a request nor a retry: see
    /// [`RequestStats::rate_limit_waits`].
    pub retries: u64,
    /// Rate-limit waits sat out.
    pub rate_limit_waits: u64,
    /// Uploads (`POST …/attestations`), first attempts.
    pub uploads: u64,
    /// Bulk-list requests to the API host (`POST …/attestations/bulk-list`, purpose `bulk`),
    /// first attempts; pages and the org-route probe of a user count.
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

/// What [`GitHubClient::bulk_attestations`] answers: a [`Listing`] for every digest asked.
pub type BulkListing = HashMap<Sha256Hash, Listing>;

/// Where the next bulk-list page is.
enum BulkNext {
    /// The first page.
    First,
    /// `after=<cursor>` from `page_info.next`.
    After(String),
    /// A `Link: <…>; rel="next"` URL (on the API's origin), for a page without `page_info`.
    Url(Url),
}

impl BulkNext {
    /// What identifies this page, to notice a server that sends us round in circles.
    fn key(&self) -> String {
        match self {
            Self::First => String::new(),
            Self::After(cursor) => format!("after:{cursor}"),
            Self::Url(url) => format!("url:{url}"),
        }
    }
}

/// Whether a 422 body blames a field of the bulk-list body (`subject_digests`,
/// `predicate_type`): then the request itself is wrong, and falling back to per-digest lookups
/// would hide that. Any other 422 means the endpoint refuses the request as such.
fn names_body_field(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let names = |text: &str| text.contains("subject_digests") || text.contains("predicate_type");
    let in_message = value
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(names);
    let in_errors = value
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| {
            errors.iter().any(|e| match e {
                Value::String(text) => names(text),
                _ => ["field", "message"]
                    .iter()
                    .any(|k| e.get(*k).and_then(Value::as_str).is_some_and(names)),
            })
        });
    in_message || in_errors
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
            retries: s.retries("api") + s.retries("bundle_url") + s.retries("bulk"),
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
            refuse_unless_success(&response)?;
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
    /// GitHub's bulk endpoint, [`BULK_DIGESTS_PER_REQUEST`] digests per request and every page
    /// followed. Each digest asked (once, however often it is repeated) is a key of the answer:
    /// [`Listing::Found`] with its candidates, or `Listing::None { not_found: false }` where
    /// the server mapped it to `null` or `[]` or left it out — for a bulk answer those mean
    /// the same thing, "this owner has none (that the token may read)".
    ///
    /// **Per owner, not per repository.** The answer holds attestations from *every*
    /// repository of `owner` the token can read, so a `Found` is not "filed by the right
    /// repository": the caller must still attribute each bundle to a repository, which the
    /// policy does from the signing certificate (never from `repository_id`, which is the
    /// server's word). A `None` is authoritative for the whole owner, hence for each of its
    /// repositories. A caller that wants one repository's own "none" (gh's `HTTP 404`) uses
    /// [`GitHubClient::attestations`].
    ///
    /// The wire format (GitHub REST, `X-GitHub-Api-Version: 2022-11-28`; sources:
    /// docs.github.com/en/rest/orgs/attestations and /en/rest/users/attestations, "List
    /// attestations by bulk subject digests"; the OpenAPI-generated clients' schema; octocrab
    /// 0.54.9 `api/users/attestations.rs`, which sends the same body):
    ///
    /// - `POST /orgs/{org}/attestations/bulk-list` or `POST /users/{username}/attestations/bulk-list`,
    ///   query `per_page` (max 100), `before`, `after` (cursors), JSON body
    ///   `{"subject_digests": ["sha256:<hex>", …], "predicate_type": "<type>"}` (the filter is
    ///   optional and left out when not asked; GitHub also accepts `provenance`, `sbom`, `release`).
    /// - 200 (the only status documented):
    ///   `{"attestations_subject_digests": {"sha256:<hex>": [{"bundle": {…}|null,
    ///   "repository_id": N, "bundle_url": "…"}] | null, …}, "page_info": {"has_next": bool,
    ///   "has_previous": bool, "next": "<cursor>", "previous": "<cursor>"}}`. The rendered
    ///   example wraps the map in an array; both are read ([`parse_bulk_page`]). The next page
    ///   is `after=page_info.next` while `has_next`; the docs call the cursors "as given in the
    ///   Link header", so a page without `page_info` but with `Link: <…>; rel="next"` is
    ///   followed there (on the API's own origin only).
    /// - No maximum number of digests per request is documented (hence the constant).
    ///
    /// Owner kind: the org route is tried first; when it answers 404 the users route is tried
    /// and whichever answered is remembered for this owner on this client (and its clones).
    /// When neither exists (404 on both, or 405/410, or a 422 that does not name the body's
    /// fields: GitHub Enterprise Server, an API without the endpoint, a feature flag off), the
    /// error is [`GitHubError::BulkUnavailable`] and the caller falls back to per-digest
    /// lookups. A page that is not the documented shape, a cursor that repeats, or more than
    /// `MAX_PAGES` pages for one request is [`GitHubError::Response`], never "none".
    /// Requests are counted as purpose `bulk` ([`RequestStats::bulk_requests`]).
    pub async fn bulk_attestations(
        &self,
        owner: &str,
        digests: &[Sha256Hash],
        predicate_type: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<BulkListing, GitHubError> {
        // GitHub logins are ASCII letters, digits and hyphens, so the owner needs no escaping
        // in a path (and `../x` cannot move the request elsewhere).
        if owner.is_empty()
            || !owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(GitHubError::InvalidRepository(owner.to_owned()));
        }
        let mut unique = HashSet::new();
        let digests: Vec<Sha256Hash> = digests
            .iter()
            .filter(|d| unique.insert(**d))
            .copied()
            .collect();
        let mut found: HashMap<Sha256Hash, Vec<ApiEntry>> =
            digests.iter().map(|d| (*d, Vec::new())).collect();
        for chunk in digests.chunks(BULK_DIGESTS_PER_REQUEST) {
            let mut body = serde_json::Map::new();
            body.insert(
                "subject_digests".into(),
                chunk
                    .iter()
                    .map(|d| Value::String(format!("sha256:{}", d.to_hex())))
                    .collect(),
            );
            if let Some(predicate_type) = predicate_type {
                body.insert("predicate_type".into(), predicate_type.into());
            }
            let body = Value::Object(body).to_string().into_bytes();
            let mut next = BulkNext::First;
            let mut cursors = HashSet::new();
            let mut pages = 0usize;
            loop {
                pages += 1;
                if pages > MAX_PAGES {
                    return Err(GitHubError::Response {
                        url: self.bulk_label(owner),
                        reason: format!("more than {MAX_PAGES} pages for one request"),
                    });
                }
                let (page, link) = self.bulk_page(owner, &body, &next, deadline).await?;
                for (digest, entries) in page.digests {
                    // A digest that was not asked is ignored: the server cannot add bottles.
                    let asked = digest
                        .strip_prefix("sha256:")
                        .and_then(|hex| Sha256Hash::from_hex(hex).ok())
                        .and_then(|d| found.get_mut(&d));
                    if let Some(list) = asked {
                        list.extend(entries);
                    }
                }
                next = match (page.next, link) {
                    (Some(cursor), _) => BulkNext::After(cursor),
                    (None, Some(url)) => BulkNext::Url(url),
                    (None, None) => break,
                };
                // A server that hands back a cursor it already gave would be followed for ever.
                if !cursors.insert(next.key()) {
                    return Err(GitHubError::Response {
                        url: self.bulk_label(owner),
                        reason: "a bulk-list page repeats an earlier cursor".into(),
                    });
                }
            }
        }
        // `bundle_url`s are fetched across all digests at once, as `listing` does per digest.
        let mut work = Vec::new();
        for digest in &digests {
            let label = format!("api:{owner}/*:sha256:{}", digest.to_hex());
            for (i, entry) in found
                .remove(digest)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                work.push((*digest, format!("{label}[{i}]"), entry));
            }
        }
        let items = work.into_iter().map(|(digest, origin, entry)| async move {
            let bundle = match entry {
                ApiEntry::Inline(bundle) => bundle,
                ApiEntry::BundleUrl(url) => self.fetch_bundle_url(&url, deadline).await?,
            };
            Ok::<_, GitHubError>((digest, BundleCandidate { origin, bundle }))
        });
        let fetched = futures_util::stream::iter(items)
            .buffered(BUNDLE_FETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut out: BulkListing = digests
            .iter()
            .map(|d| (*d, Listing::None { not_found: false }))
            .collect();
        for item in fetched {
            let (digest, candidate) = item?;
            match out.get_mut(&digest) {
                Some(Listing::Found(candidates)) => candidates.push(candidate),
                Some(listing) => *listing = Listing::Found(vec![candidate]),
                None => {}
            }
        }
        Ok(out)
    }

    /// `…/{owner}/attestations/bulk-list` for messages that concern no single request.
    fn bulk_label(&self, owner: &str) -> String {
        format!(
            "{}{{orgs|users}}/{owner}/attestations/bulk-list",
            self.api_base
        )
    }

    /// One page of the bulk endpoint, on the owner route that answers, and the `Link` next
    /// page if the server sent one.
    async fn bulk_page(
        &self,
        owner: &str,
        body: &[u8],
        next: &BulkNext,
        deadline: Option<Deadline>,
    ) -> Result<(BulkPage, Option<Url>), GitHubError> {
        let known = self
            .owner_kinds
            .lock()
            .ok()
            .and_then(|k| k.get(owner).copied());
        let kinds: &[&'static str] = match known {
            Some("users") => &["users"],
            Some(_) => &["orgs"],
            None => &["orgs", "users"],
        };
        let mut last_status = 404;
        for (i, kind) in kinds.iter().enumerate() {
            let url = match next {
                BulkNext::Url(url) => url.clone(),
                BulkNext::First | BulkNext::After(_) => {
                    let mut url = self
                        .api_base
                        .join(&format!("{kind}/{owner}/attestations/bulk-list"))
                        .map_err(|e| GitHubError::InvalidRepository(format!("{owner}: {e}")))?;
                    url.query_pairs_mut()
                        .append_pair("per_page", &PER_PAGE.to_string());
                    if let BulkNext::After(cursor) = next {
                        url.query_pairs_mut().append_pair("after", cursor);
                    }
                    url
                }
            };
            let request = self.request(
                Request::post(url, "application/json", body.to_vec(), body::API_PAGE)
                    // A read that happens to be a POST: safe to repeat.
                    .retry(self.retry.unwrap_or(*self.http.retry_policy())),
            );
            let response = self
                .http
                .send(request.deadline(deadline).purpose("bulk"))
                .await?;
            last_status = response.status;
            let unavailable = match response.status {
                // A user, not an org (or no such route): try the next kind.
                404 if i + 1 < kinds.len() && !matches!(next, BulkNext::Url(_)) => continue,
                404 | 405 | 410 => true,
                422 => !names_body_field(&response.body),
                _ => false,
            };
            if unavailable {
                return Err(GitHubError::BulkUnavailable {
                    owner: owner.to_owned(),
                    status: response.status,
                });
            }
            refuse_unless_success(&response)?;
            if known.is_none()
                && let Ok(mut k) = self.owner_kinds.lock()
            {
                k.insert(owner.to_owned(), kind);
            }
            let page = parse_bulk_page(&response.body).map_err(|e| GitHubError::Response {
                url: response.error().url().to_owned(),
                reason: e.to_string(),
            })?;
            let link = match response.header(LINK.as_str()).and_then(next_link) {
                Some(link) => Some(self.same_host(&link, &response.url)?),
                None => None,
            };
            return Ok((page, link));
        }
        Err(GitHubError::BulkUnavailable {
            owner: owner.to_owned(),
            status: last_status,
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
        refuse_unless_success(&response)?;
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

/// A 2xx answer passes; 401 is [`GitHubError::BadCredentials`] (its message starts like gh's,
/// which brew reads as a bad token); any other status is the network layer's error.
fn refuse_unless_success(response: &Response) -> Result<(), GitHubError> {
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
    Ok(())
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
    fn unprocessable_bodies_that_blame_the_request() {
        for blames in [
            &br#"{"message": "subject_digests must not be empty"}"#[..],
            br#"{"message": "Validation Failed", "errors": [{"resource": "Attestation", "field": "predicate_type", "code": "invalid"}]}"#,
            br#"{"message": "Validation Failed", "errors": ["subject_digests is too long"]}"#,
        ] {
            assert!(names_body_field(blames), "{}", String::from_utf8_lossy(blames));
        }
        for not in [
            &br#"{"message": "Feature not available for this account"}"#[..],
            br#"{"message": "Validation Failed", "errors": [{"field": "owner"}]}"#,
            b"<html>422</html>",
        ] {
            assert!(!names_body_field(not), "{}", String::from_utf8_lossy(not));
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
        is_send(client.bulk_attestations("a", std::slice::from_ref(digest), None, None));
    }
}
