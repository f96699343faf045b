//! A GitHub attestations API on loopback, and a second "blob storage" host beside it.
//!
//! [`GitHubApiServer::start`] runs two HTTP servers on two loopback ports (two ports are two
//! hosts as far as a client's credential rules go):
//!
//! - the API: `GET /repos/{owner}/{repo}/attestations/sha256:{hex}` (with `per_page`, an `after`
//!   cursor, `predicate_type` and `Link` headers: `next` when there is more, then `first`) and `POST /repos/{owner}/{repo}/attestations`,
//!   fed from an in-memory store ([`GitHubApiServer::add`], or whole real response bodies with
//!   [`GitHubApiServer::add_api_body`]);
//! - the bulk lookup `POST /orgs/{org}/attestations/bulk-list` and
//!   `POST /users/{username}/attestations/bulk-list` (body `{"subject_digests": [...],
//!   "predicate_type": ...}`, query `per_page` and `after`) from the same store: an owner owns
//!   every repository `owner/*`. The org route answers by default;
//!   [`GitHubApiServer::set_bulk_owner_kind`] makes the owner a user (org route 404) or the
//!   endpoint absent (both 404), [`GitHubApiServer::refuse_bulk`] answers every bulk request
//!   with a chosen status, [`GitHubApiServer::set_raw_bulk_page`] serves a fixed (broken) page;
//! - blob storage: `GET /attestations/{id}.json.sn?…&sig=…`, the raw-snappy protobuf-JSON
//!   bundle an entry's `bundle_url` points at when [`GitHubApiServer::serve_bundles_by_url`]
//!   is on.
//!
//! Faults are injected per request: 403 rate limits with `retry-after` and `x-ratelimit-*`
//! ([`GitHubApiServer::rate_limit_next`], [`GitHubApiServer::exhaust_rate_limit_next`]), 502s
//! ([`GitHubApiServer::bad_gateway_next`], [`GitHubApiServer::blob_bad_gateway_next`]), 404 for
//! a missing digest ([`GitHubApiServer::set_not_found_for_missing`]) and a token check
//! ([`GitHubApiServer::require_token`]). Each server logs every request it answers, with its
//! `Authorization` header, so tests can check where a token went.
//!
//! Where it knowingly differs from api.github.com (documented for test authors):
//!
//! - Pages are cut by the `after` cursor only (opaque `c{index}`); `before`/`page` are ignored
//!   and `Link` carries `next` (when there is more) and `first` only. The default page size is 30, the maximum 100,
//!   and [`GitHubApiServer::set_page_size`] lowers the maximum to force several pages.
//! - `predicate_type` matches the statement's `predicateType` exactly (GitHub also accepts
//!   short names such as `provenance`).
//! - Bulk pages are cut over the *digests* of the body (`per_page` digests a page, capped by
//!   [`GitHubApiServer::set_page_size`]), with cursors `d{index}` in `page_info.next`;
//!   GitHub does not document what a bulk page counts. A digest without attestations maps to
//!   `null` (or is left out, [`GitHubApiServer::set_bulk_omit_missing`]); with
//!   [`GitHubApiServer::set_bulk_link_pagination`] the page has no `page_info` and the next
//!   page is in a `Link` header instead. The body's digests are not limited in number (GitHub
//!   documents no limit) and no authorization per repository is modelled.
//! - Repository names compare case-insensitively; any repository "exists" (an unknown one is
//!   just one without attestations), so 404 appears only in not-found mode.
//! - Uploads need some `Authorization` header (the right token if one is required); the kit
//!   files the bundle under every sha256 subject of its DSSE statement, without verifying it.
//! - Rate-limit headers on ordinary answers are static (a limit of 60 without a token, 5000
//!   with one, counting down per request).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hyper::StatusCode;
use hyper::header::{HeaderName, LINK, RETRY_AFTER};
use serde_json::{Value, json};

use crate::error::{KitError, Result};
use crate::http::{self, Reply, Request, Service};

/// One request as a kit server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/repos/o/r/attestations/sha256:…`.
    pub path: String,
    /// The raw (still percent-encoded) query string, empty when there is none.
    pub query: String,
    /// The `Authorization` header, if the request carried one.
    pub authorization: Option<String>,
    /// The request body as text (lossy UTF-8), if it had one (POSTs).
    pub body: Option<String>,
}

/// Requests answered by each of the two servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiRequestCounts {
    /// Requests to the API host.
    pub api: u64,
    /// Requests to the blob-storage host.
    pub blobs: u64,
}

/// A bundle uploaded through `POST /repos/{owner}/{repo}/attestations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The id the server answered with.
    pub id: u64,
    /// `owner/repo` as given in the path.
    pub repo: String,
    /// The uploaded `bundle` value, as JSON text.
    pub bundle_json: String,
}

/// The loopback GitHub API and its blob host. Servers live until drop.
pub struct GitHubApiServer {
    runtime: Option<tokio::runtime::Runtime>,
    api_url: String,
    blob_url: String,
    shared: Arc<Shared>,
    api_counter: Arc<AtomicU64>,
    blob_counter: Arc<AtomicU64>,
}

impl std::fmt::Debug for GitHubApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubApiServer")
            .field("api_url", &self.api_url)
            .field("blob_url", &self.blob_url)
            .finish_non_exhaustive()
    }
}

/// A stored attestation.
struct Entry {
    id: u64,
    /// The statement's `predicateType`, when the bundle is inline and readable.
    predicate_type: Option<String>,
    /// The API entry as served in normal mode (`bundle`, `repository_id`, …).
    api_entry: Value,
    /// The bundle alone, for the blob host.
    bundle: Option<Value>,
}

#[derive(Clone, Copy)]
enum Fault {
    /// 403 with `retry-after` (a secondary limit) and a spent budget.
    RateLimit { retry_after: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and a reset time, no `retry-after` (the primary
    /// limit).
    Exhausted { reset_in: u64 },
    /// 502 Bad Gateway.
    BadGateway,
}

#[derive(Default)]
struct State {
    /// (lowercase `owner/repo`, lowercase hex) → entries in upload order.
    store: HashMap<(String, String), Vec<Entry>>,
    next_id: u64,
    page_size: Option<usize>,
    not_found_for_missing: bool,
    /// Serve every entry of a digest whatever `predicate_type` asks for (an older API, or a
    /// GitHub Enterprise Server without the filter).
    ignore_predicate_type: bool,
    by_url: bool,
    token: Option<String>,
    /// Faults for the next API requests, consumed one per request, in order.
    api_faults: Vec<Fault>,
    /// 502s owed by the blob host.
    blob_bad_gateways: u32,
    uploads: Vec<Upload>,
    api_log: Vec<LoggedRequest>,
    blob_log: Vec<LoggedRequest>,
    /// A body served, with 200, for every listing instead of the store (a broken or hostile
    /// API).
    raw_listing: Option<String>,
    /// Which bulk-list route answers: `Some("orgs")` (the default), `Some("users")` (a
    /// user-owned owner), `None` (the endpoint is unavailable: both 404).
    bulk_owner_kind: Option<&'static str>,
    /// Every bulk request answered with this status and message.
    bulk_refusal: Option<(StatusCode, String)>,
    /// A body served, with 200, for every bulk request instead of the store.
    raw_bulk_page: Option<String>,
    /// Bulk pages carry no `page_info`; the next page is a `Link` header.
    bulk_link_pagination: bool,
    /// Digests without attestations are left out of bulk pages instead of mapped to `null`.
    bulk_omit_missing: bool,
}

struct Shared {
    state: Mutex<State>,
    api_url: String,
    blob_url: String,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the other tests' server down with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl GitHubApiServer {
    /// Start both servers. Panics if they cannot start: a test without its API cannot go on.
    pub fn start() -> GitHubApiServer {
        Self::try_start().expect("the kit's GitHub API server failed to start")
    }

    /// Start both servers, reporting failure instead of panicking.
    pub fn try_start() -> Result<GitHubApiServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testkit-github")
            .enable_io()
            .enable_time()
            .build()?;
        let api_listener = http::bind()?;
        let api_url = http::url(&api_listener)?;
        let blob_listener = http::bind()?;
        let blob_url = http::url(&blob_listener)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_id: 1,
                bulk_owner_kind: Some("orgs"),
                ..State::default()
            }),
            api_url: api_url.clone(),
            blob_url: blob_url.clone(),
        });
        let api_counter = Arc::new(AtomicU64::new(0));
        let blob_counter = Arc::new(AtomicU64::new(0));
        http::serve(
            &runtime,
            api_listener,
            Arc::new(ApiService(Arc::clone(&shared))),
            Arc::clone(&api_counter),
        )?;
        http::serve(
            &runtime,
            blob_listener,
            Arc::new(BlobService(Arc::clone(&shared))),
            Arc::clone(&blob_counter),
        )?;
        Ok(GitHubApiServer {
            runtime: Some(runtime),
            api_url,
            blob_url,
            shared,
            api_counter,
            blob_counter,
        })
    }

    /// The API base URL (`http://127.0.0.1:PORT`), for `--api-url` / `GitHubClient::new`.
    pub fn url(&self) -> String {
        self.api_url.clone()
    }

    /// The blob host's base URL (another port: another host).
    pub fn blob_url(&self) -> String {
        self.blob_url.clone()
    }

    /// File `bundle_json` in `repo` (`owner/name`) under subject digest `digest_hex` (no
    /// `sha256:` prefix). Returns the attestation's id. Panics if the bundle is not JSON.
    pub fn add(&self, repo: &str, digest_hex: &str, bundle_json: &str) -> u64 {
        let bundle: Value = serde_json::from_str(bundle_json).expect("the bundle is JSON");
        let mut state = self.shared.state();
        let id = state.next_id;
        state.next_id += 1;
        let entry = Entry {
            id,
            predicate_type: predicate_type_of(&bundle),
            api_entry: json!({
                "bundle": bundle,
                "repository_id": repository_id(repo),
                "initiator": "user",
            }),
            bundle: Some(bundle),
        };
        state
            .store
            .entry(key(repo, digest_hex))
            .or_default()
            .push(entry);
        id
    }

    /// File every entry of a real API response body (`{"attestations":[…]}`) in `repo` under
    /// `digest_hex`, served back as it came (other fields such as a real `bundle_url` kept).
    /// Returns how many entries it held. Panics if the body is not that shape.
    pub fn add_api_body(&self, repo: &str, digest_hex: &str, body_json: &str) -> usize {
        let body: Value = serde_json::from_str(body_json).expect("the API body is JSON");
        let entries = body
            .get("attestations")
            .and_then(Value::as_array)
            .expect("the API body has an `attestations` array")
            .clone();
        let mut state = self.shared.state();
        let count = entries.len();
        for api_entry in entries {
            let id = state.next_id;
            state.next_id += 1;
            let bundle = api_entry.get("bundle").filter(|b| !b.is_null()).cloned();
            let entry = Entry {
                id,
                predicate_type: bundle.as_ref().and_then(predicate_type_of),
                api_entry,
                bundle,
            };
            state
                .store
                .entry(key(repo, digest_hex))
                .or_default()
                .push(entry);
        }
        count
    }

    /// Answer every listing with this body and status 200, whatever is stored (a broken or
    /// hostile API); `None` goes back to the store.
    pub fn set_raw_listing(&self, body: Option<&str>) {
        self.shared.state().raw_listing = body.map(str::to_owned);
    }

    /// Which bulk-list route answers: `"orgs"`, `"users"`, or `None` for neither (404 both).
    pub fn set_bulk_owner_kind(&self, kind: Option<&'static str>) {
        self.shared.state().bulk_owner_kind = kind;
    }

    /// Answer every bulk-list request (both routes) with `status` and GitHub's error body
    /// carrying `message`; `None` goes back to normal.
    pub fn refuse_bulk(&self, refusal: Option<(u16, &str)>) {
        self.shared.state().bulk_refusal = refusal.map(|(status, message)| {
            (
                StatusCode::from_u16(status).expect("a valid status code"),
                message.to_owned(),
            )
        });
    }

    /// Answer every bulk-list request with this body and status 200 (a broken or hostile
    /// API); `None` goes back to the store.
    pub fn set_raw_bulk_page(&self, body: Option<&str>) {
        self.shared.state().raw_bulk_page = body.map(str::to_owned);
    }

    /// Page bulk answers with a `Link: <…>; rel="next"` header and no `page_info`.
    pub fn set_bulk_link_pagination(&self, on: bool) {
        self.shared.state().bulk_link_pagination = on;
    }

    /// Leave digests without attestations out of bulk pages instead of mapping them to `null`.
    pub fn set_bulk_omit_missing(&self, on: bool) {
        self.shared.state().bulk_omit_missing = on;
    }

    /// Cap pages at `size` entries whatever `per_page` asks (None: the API's 100). Bulk-list
    /// pages are capped at `size` digests.
    pub fn set_page_size(&self, size: Option<usize>) {
        self.shared.state().page_size = size.map(|s| s.max(1));
    }

    /// Answer a digest with no (matching) attestation with 404 `Not Found`, as the API used
    /// to, instead of 200 with an empty list (the default, as it does now).
    pub fn set_not_found_for_missing(&self, on: bool) {
        self.shared.state().not_found_for_missing = on;
    }

    /// Ignore the listing's `predicate_type` filter, as an API without it would: a client then
    /// has to drop other predicate types itself.
    pub fn ignore_predicate_type(&self, on: bool) {
        self.shared.state().ignore_predicate_type = on;
    }

    /// Serve entries without their inline `bundle`, with a `bundle_url` on the blob host
    /// instead (carrying a fake `sig=` access key in its query, as blob storage URLs do).
    pub fn serve_bundles_by_url(&self, on: bool) {
        self.shared.state().by_url = on;
    }

    /// Accept only this token (`Bearer T` or `token T`); any other `Authorization` gets 401
    /// `Bad credentials`. Requests without one stay allowed (public data). `None`: accept any.
    pub fn require_token(&self, token: Option<&str>) {
        self.shared.state().token = token.map(str::to_owned);
    }

    /// Answer the next `count` API requests with 403, `retry-after: {retry_after}` (whole
    /// seconds) and a spent `x-ratelimit-*` budget, as GitHub's secondary limit does.
    pub fn rate_limit_next(&self, count: usize, retry_after: Duration) {
        let fault = Fault::RateLimit {
            retry_after: retry_after.as_secs(),
        };
        self.shared
            .state()
            .api_faults
            .extend((0..count).map(|_| fault));
    }

    /// Answer the next `count` API requests with 403, `x-ratelimit-remaining: 0` and a reset
    /// `reset_in` from now, without `retry-after`: the primary (hourly) limit.
    pub fn exhaust_rate_limit_next(&self, count: usize, reset_in: Duration) {
        let fault = Fault::Exhausted {
            reset_in: reset_in.as_secs(),
        };
        self.shared
            .state()
            .api_faults
            .extend((0..count).map(|_| fault));
    }

    /// Answer the next `count` API requests with 502 Bad Gateway.
    pub fn bad_gateway_next(&self, count: usize) {
        self.shared
            .state()
            .api_faults
            .extend((0..count).map(|_| Fault::BadGateway));
    }

    /// Answer the next `count` blob-host requests with 502 Bad Gateway.
    pub fn blob_bad_gateway_next(&self, count: u32) {
        self.shared.state().blob_bad_gateways += count;
    }

    /// Drop any faults not yet served.
    pub fn clear_faults(&self) {
        let mut state = self.shared.state();
        state.api_faults.clear();
        state.blob_bad_gateways = 0;
    }

    /// Bundles uploaded so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.shared.state().uploads.clone()
    }

    /// Every request the API host answered, in order.
    pub fn api_requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().api_log.clone()
    }

    /// Every request the blob host answered, in order.
    pub fn blob_requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().blob_log.clone()
    }

    /// Requests answered per host.
    pub fn request_counts(&self) -> ApiRequestCounts {
        ApiRequestCounts {
            api: self.api_counter.load(Ordering::Relaxed),
            blobs: self.blob_counter.load(Ordering::Relaxed),
        }
    }
}

impl Drop for GitHubApiServer {
    fn drop(&mut self) {
        // Does not block, so dropping the server inside an async test is fine too.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

struct ApiService(Arc<Shared>);

impl Service for ApiService {
    fn handle(&self, request: &Request) -> Reply {
        let mut state = self.0.state();
        state.api_log.push(log_entry(request));
        let authorization = request.header("authorization").map(str::to_owned);
        let budget = rate_limit_headers(
            if authorization.is_some() { 5000 } else { 60 },
            state.api_log.len(),
        );
        if !state.api_faults.is_empty() {
            let fault = state.api_faults.remove(0);
            return fault_reply(fault);
        }
        if let (Some(given), Some(expected)) = (&authorization, &state.token) {
            let accepted = [format!("Bearer {expected}"), format!("token {expected}")];
            if !accepted.contains(given) {
                return with_headers(
                    github_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
                    budget,
                );
            }
        }
        let segments: Vec<&str> = request.path.split('/').collect();
        let reply = match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["", "repos", owner, repo, "attestations", subject]) => {
                match subject.strip_prefix("sha256:") {
                    Some(hex) => list(&self.0, &state, request, &format!("{owner}/{repo}"), hex),
                    None => github_error(StatusCode::NOT_FOUND, "Not Found"),
                }
            }
            (
                "POST",
                [
                    "",
                    kind @ ("orgs" | "users"),
                    owner,
                    "attestations",
                    "bulk-list",
                ],
            ) => bulk_list(&self.0, &state, request, kind, owner),
            ("POST", ["", "repos", owner, repo, "attestations"]) => {
                if authorization.is_none() {
                    github_error(StatusCode::UNAUTHORIZED, "Requires authentication")
                } else {
                    upload(&mut state, &format!("{owner}/{repo}"), &request.body)
                }
            }
            _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
        };
        with_headers(reply, budget)
    }
}

/// One page of a listing.
fn list(shared: &Shared, state: &State, request: &Request, repo: &str, hex: &str) -> Reply {
    if let Some(body) = &state.raw_listing {
        return Reply::bytes(
            StatusCode::OK,
            "application/json",
            body.clone().into_bytes(),
        );
    }
    let predicate_type = request.query_param("predicate_type");
    let wanted = predicate_type
        .filter(|_| !state.ignore_predicate_type)
        .map(percent_decode);
    let matching: Vec<&Entry> = state
        .store
        .get(&key(repo, hex))
        .map(|entries| {
            entries
                .iter()
                .filter(|e| wanted.is_none() || e.predicate_type == wanted)
                .collect()
        })
        .unwrap_or_default();
    if matching.is_empty() && state.not_found_for_missing {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let (per_page, start, end) = page_window(state, request, 'c', matching.len());
    let attestations: Vec<Value> = matching[start..end]
        .iter()
        .map(|entry| served(shared, state, repo, entry))
        .collect();
    let reply = Reply::json(StatusCode::OK, &json!({ "attestations": attestations }));
    let base = format!("{}{}", shared.api_url, request.path);
    let filter = predicate_type
        .map(|p| format!("&predicate_type={p}"))
        .unwrap_or_default();
    let mut links = Vec::with_capacity(2);
    if end < matching.len() {
        links.push(format!(
            "<{base}?per_page={per_page}&after=c{end}{filter}>; rel=\"next\""
        ));
    }
    // `first` always follows, so that clients must split link-values properly.
    links.push(format!(
        "<{base}?per_page={per_page}{filter}>; rel=\"first\""
    ));
    reply.with_header(LINK, links.join(", "))
}

/// An entry as the API serves it: inline, or (by-URL mode) with a `bundle_url` on the blob host.
fn served(shared: &Shared, state: &State, repo: &str, entry: &Entry) -> Value {
    if state.by_url && entry.bundle.is_some() {
        json!({
            "repository_id": repository_id(repo),
            "bundle_url": format!(
                "{}/attestations/{}.json.sn?se=2099-01-01T00%3A00%3A00Z&sp=r&sig=kit-blob-secret",
                shared.blob_url, entry.id
            ),
            "initiator": "user",
        })
    } else {
        entry.api_entry.clone()
    }
}

/// `POST /{orgs|users}/{owner}/attestations/bulk-list`: for each digest of the body, every
/// attestation filed in any repository of `owner` (GitHub's shape: `attestations_subject_digests`
/// maps `sha256:<hex>` to a list or `null`, `page_info` pages over the digests with `after`).
fn bulk_list(shared: &Shared, state: &State, request: &Request, kind: &str, owner: &str) -> Reply {
    if let Some((status, message)) = &state.bulk_refusal {
        return github_error(*status, message);
    }
    if state.bulk_owner_kind != Some(kind) {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    if let Some(body) = &state.raw_bulk_page {
        return Reply::bytes(
            StatusCode::OK,
            "application/json",
            body.clone().into_bytes(),
        );
    }
    let Some(body) = serde_json::from_slice::<Value>(&request.body).ok() else {
        return github_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let Some(digests) = body
        .get("subject_digests")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
    else {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "subject_digests must be a non-empty array",
        );
    };
    let wanted = match body.get("predicate_type") {
        None => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => {
            return github_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "predicate_type must be a string",
            );
        }
    };
    let (per_page, start, end) = page_window(state, request, 'd', digests.len());
    let prefix = format!("{}/", owner.to_ascii_lowercase());
    let mut map = serde_json::Map::new();
    for digest in &digests[start..end] {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let found: Vec<Value> = state
            .store
            .iter()
            .filter(|((repo, h), _)| repo.starts_with(&prefix) && *h == hex)
            .flat_map(|((repo, _), entries)| entries.iter().map(move |e| (repo, e)))
            .filter(|(_, e)| wanted.is_none() || e.predicate_type == wanted)
            .map(|(repo, e)| served(shared, state, repo, e))
            .collect();
        if found.is_empty() {
            if !state.bulk_omit_missing {
                map.insert(digest.clone(), Value::Null);
            }
        } else {
            map.insert(digest.clone(), Value::Array(found));
        }
    }
    let has_next = end < digests.len();
    if state.bulk_link_pagination {
        let reply = Reply::json(
            StatusCode::OK,
            &json!({ "attestations_subject_digests": map }),
        );
        if !has_next {
            return reply;
        }
        let next = format!(
            "<{}{}?per_page={per_page}&after=d{end}>; rel=\"next\"",
            shared.api_url, request.path
        );
        return reply.with_header(LINK, next);
    }
    Reply::json(
        StatusCode::OK,
        &json!({
            "attestations_subject_digests": map,
            "page_info": {
                "has_next": has_next,
                "has_previous": start > 0,
                "next": format!("d{end}"),
                "previous": format!("d{start}"),
            },
        }),
    )
}

/// The page a request asks for over `len` items: `per_page` (GitHub's default 30, at most 100,
/// at most the test's page size) from the `after` cursor `<cursor><index>`.
fn page_window(
    state: &State,
    request: &Request,
    cursor: char,
    len: usize,
) -> (usize, usize, usize) {
    let per_page = request
        .query_param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(state.page_size.unwrap_or(100));
    let start = request
        .query_param("after")
        .and_then(|c| c.strip_prefix(cursor))
        .and_then(|i| i.parse::<usize>().ok())
        .unwrap_or(0)
        .min(len);
    (per_page, start, (start + per_page).min(len))
}

/// `POST /repos/{owner}/{repo}/attestations`: file the bundle under its subjects' digests.
fn upload(state: &mut State, repo: &str, body: &[u8]) -> Reply {
    let bundle = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("bundle").cloned())
        .filter(Value::is_object);
    let Some(bundle) = bundle else {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request: no bundle",
        );
    };
    let Some(statement) = statement_of(&bundle) else {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid bundle: no in-toto statement",
        );
    };
    let digests: Vec<String> = statement
        .get("subject")
        .and_then(Value::as_array)
        .map(|subjects| {
            subjects
                .iter()
                .filter_map(|s| s.pointer("/digest/sha256")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if digests.is_empty() {
        return github_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid bundle: no sha256 subject",
        );
    }
    let id = state.next_id;
    state.next_id += 1;
    let predicate_type = predicate_type_of(&bundle);
    for digest in &digests {
        let entry = Entry {
            id,
            predicate_type: predicate_type.clone(),
            api_entry: json!({
                "bundle": bundle,
                "repository_id": repository_id(repo),
                "initiator": "user",
            }),
            bundle: Some(bundle.clone()),
        };
        state
            .store
            .entry(key(repo, digest))
            .or_default()
            .push(entry);
    }
    state.uploads.push(Upload {
        id,
        repo: repo.to_owned(),
        bundle_json: bundle.to_string(),
    });
    Reply::json(StatusCode::CREATED, &json!({ "id": id }))
}

struct BlobService(Arc<Shared>);

impl Service for BlobService {
    fn handle(&self, request: &Request) -> Reply {
        let mut state = self.0.state();
        state.blob_log.push(log_entry(request));
        if state.blob_bad_gateways > 0 {
            state.blob_bad_gateways -= 1;
            return Reply::bytes(
                StatusCode::BAD_GATEWAY,
                "text/html",
                b"<html><body>502 Bad Gateway</body></html>".to_vec(),
            );
        }
        let id = request
            .path
            .strip_prefix("/attestations/")
            .and_then(|rest| rest.strip_suffix(".json.sn"))
            .and_then(|id| id.parse::<u64>().ok());
        let bundle = id.and_then(|id| {
            state
                .store
                .values()
                .flatten()
                .find(|e| e.id == id)
                .and_then(|e| e.bundle.as_ref())
        });
        let Some(bundle) = bundle else {
            return Reply::bytes(
                StatusCode::NOT_FOUND,
                "application/xml",
                b"<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code></Error>".to_vec(),
            );
        };
        match snap::raw::Encoder::new().compress_vec(bundle.to_string().as_bytes()) {
            Ok(compressed) => Reply::bytes(StatusCode::OK, "application/octet-stream", compressed),
            Err(e) => Reply::error(&KitError::Io(std::io::Error::other(e))),
        }
    }
}

fn log_entry(request: &Request) -> LoggedRequest {
    LoggedRequest {
        method: request.method.to_string(),
        path: request.path.clone(),
        query: request.query.clone(),
        authorization: request.header("authorization").map(str::to_owned),
        body: (!request.body.is_empty())
            .then(|| String::from_utf8_lossy(&request.body).into_owned()),
    }
}

fn fault_reply(fault: Fault) -> Reply {
    let now = unix_now();
    match fault {
        Fault::RateLimit { retry_after } => with_headers(
            github_error(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            ),
            vec![
                (RETRY_AFTER, retry_after.to_string()),
                (HeaderName::from_static("x-ratelimit-limit"), "60".into()),
                (HeaderName::from_static("x-ratelimit-remaining"), "0".into()),
                (HeaderName::from_static("x-ratelimit-used"), "60".into()),
                (
                    HeaderName::from_static("x-ratelimit-reset"),
                    (now + retry_after).to_string(),
                ),
                (
                    HeaderName::from_static("x-ratelimit-resource"),
                    "core".into(),
                ),
            ],
        ),
        Fault::Exhausted { reset_in } => with_headers(
            github_error(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
            ),
            vec![
                (HeaderName::from_static("x-ratelimit-limit"), "60".into()),
                (HeaderName::from_static("x-ratelimit-remaining"), "0".into()),
                (HeaderName::from_static("x-ratelimit-used"), "60".into()),
                (
                    HeaderName::from_static("x-ratelimit-reset"),
                    (now + reset_in).to_string(),
                ),
                (
                    HeaderName::from_static("x-ratelimit-resource"),
                    "core".into(),
                ),
            ],
        ),
        Fault::BadGateway => Reply::bytes(
            StatusCode::BAD_GATEWAY,
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        ),
    }
}

/// GitHub's error body.
fn github_error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        }),
    )
}

fn with_headers(reply: Reply, headers: Vec<(HeaderName, String)>) -> Reply {
    headers
        .into_iter()
        .fold(reply, |reply, (name, value)| reply.with_header(name, value))
}

/// The budget headers of an ordinary answer: `limit`, counting down with each request seen.
fn rate_limit_headers(limit: usize, seen: usize) -> Vec<(HeaderName, String)> {
    let used = seen.min(limit);
    vec![
        (
            HeaderName::from_static("x-ratelimit-limit"),
            limit.to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-remaining"),
            (limit - used).to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-used"),
            used.to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-reset"),
            (unix_now() + 3600).to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-resource"),
            "core".into(),
        ),
    ]
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn key(repo: &str, digest_hex: &str) -> (String, String) {
    (repo.to_ascii_lowercase(), digest_hex.to_ascii_lowercase())
}

/// A stable made-up repository id.
fn repository_id(repo: &str) -> u64 {
    repo.to_ascii_lowercase()
        .bytes()
        .fold(1_000_000_007u64, |h, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        })
        % 2_000_000_000
}

/// The in-toto statement inside a bundle's DSSE envelope.
fn statement_of(bundle: &Value) -> Option<Value> {
    let payload = bundle.pointer("/dsseEnvelope/payload")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn predicate_type_of(bundle: &Value) -> Option<String> {
    statement_of(bundle)?
        .get("predicateType")?
        .as_str()
        .map(str::to_owned)
}

/// Decode `%XX` escapes and `+` (a query value as a form would send it).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
