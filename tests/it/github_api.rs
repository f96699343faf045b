//! The GitHub attestations API client (`bottle_attest_net::github`) against the kit's loopback API
//! and blob host: pagination, both spellings of "missing", rate limits, transient failures,
//! `bundle_url` on another host (and where the token goes), credentials, the real corpus API
//! bodies, and uploads.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bottle_attest::{BundleCandidate, Digest, Sha256Hash, TrustRoot, verify_bundle_exact};
use bottle_attest_net::env::{Env, TokenOrder};
use bottle_attest_net::github::{
    BULK_DIGESTS_PER_REQUEST, BulkListing, GitHubClient, GitHubError, Listing,
};
use bottle_attest_net::http::{
    Credential, HttpClient, HttpConfig, NetErrorKind, Request, RetryPolicy, Silent,
};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use testkit::github_api::GitHubApiServer;
use testkit::{GITHUB_ISSUER, SigstoreStack, WorkflowIdentity};

const SLSA: &str = "https://slsa.dev/provenance/v1";
const REPO: &str = "Homebrew/homebrew-core";

/// One stack for the module: minting is what costs, not the servers.
fn stack() -> &'static SigstoreStack {
    static STACK: OnceLock<SigstoreStack> = OnceLock::new();
    STACK.get_or_init(SigstoreStack::start)
}

fn core_id() -> WorkflowIdentity {
    WorkflowIdentity::github(REPO, "publish-commit-bottles.yml", "refs/heads/master")
}

/// A bottle digest of made-up bytes.
fn digest_of(name: &str) -> [u8; 32] {
    Sha256::digest(format!("bytes of {name}").as_bytes()).into()
}

/// A bundle for one bottle, minted once per predicate type and shared by the tests: its
/// subject is `digest_of("wget")`.
fn minted(predicate_type: &'static str) -> &'static str {
    static SLSA_BUNDLE: OnceLock<String> = OnceLock::new();
    static OTHER_BUNDLE: OnceLock<String> = OnceLock::new();
    let cell = if predicate_type == SLSA {
        &SLSA_BUNDLE
    } else {
        &OTHER_BUNDLE
    };
    cell.get_or_init(|| {
        stack().sign_attestation(
            &core_id(),
            predicate_type,
            json!({}),
            &[(
                "wget--1.24.5.arm64_sonoma.bottle.tar.gz".to_owned(),
                digest_of("wget"),
            )],
        )
    })
}

fn wget() -> Sha256Hash {
    Sha256Hash::new(digest_of("wget"))
}

fn wget_hex() -> String {
    hex::encode(digest_of("wget"))
}

/// Run an async test body on a fresh runtime (the client must live on the runtime it was
/// made in).
fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(future)
}

/// Retries fast enough for tests; rate limits up to 5 s are waited out.
fn fast_http() -> HttpClient {
    HttpClient::new(HttpConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_rate_limit_wait: Duration::from_secs(5),
            max_rate_limit_waits: 3,
        },
        attempt_timeout: Duration::from_secs(10),
        events: Arc::new(Silent),
    })
    .expect("http client")
}

/// `host:port` of a loopback URL.
fn authority(url: &str) -> String {
    let url = Request::parse_url(url).expect("url");
    format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port_or_known_default().expect("port")
    )
}

fn client(server: &GitHubApiServer, token: Option<&str>) -> GitHubClient {
    let url = server.url();
    let credential =
        token.map(|t| Arc::new(Credential::bearer(t, "TEST_TOKEN", &[&authority(&url)])));
    GitHubClient::new(fast_http(), &url, credential).expect("client")
}

/// The attestations found, failing the test on "none".
fn found(listing: Listing) -> Vec<BundleCandidate> {
    match listing {
        Listing::Found(c) => c,
        Listing::None { not_found } => panic!("expected attestations, got none (404: {not_found})"),
    }
}

/// The kind of network error underneath.
fn net_kind(error: &GitHubError) -> &NetErrorKind {
    error
        .net()
        .unwrap_or_else(|| panic!("expected a network error, got {error:?}"))
        .kind()
}

/// Every candidate parsed and verifies as homebrew-core's attestation of wget.
fn assert_verify_as_wget(candidates: &[BundleCandidate]) {
    let trust = TrustRoot::from_json("kit", &stack().trusted_root_json()).unwrap();
    for candidate in candidates {
        let bundle = candidate
            .bundle
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", candidate.origin));
        verify_bundle_exact(
            &trust,
            bundle,
            &[Digest::Sha256(wget())],
            &core_id().san(),
            GITHUB_ISSUER,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", candidate.origin));
    }
}

#[test]
fn pagination_follows_link_headers_across_pages() {
    let server = GitHubApiServer::start();
    for _ in 0..3 {
        server.add(REPO, &wget_hex(), minted(SLSA));
    }
    server.set_page_size(Some(2));
    let (candidates, stats) = run(async {
        let client = client(&server, None);
        let found = found(
            client
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        );
        (found, client.stats())
    });
    assert_eq!(candidates.len(), 3);
    let origins: Vec<&str> = candidates.iter().map(|c| c.origin.as_str()).collect();
    assert_eq!(
        origins,
        [
            "api:Homebrew/homebrew-core[0]",
            "api:Homebrew/homebrew-core[1]",
            "api:Homebrew/homebrew-core[2]"
        ]
    );
    assert_verify_as_wget(&candidates);

    let log = server.api_requests();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(
        log[0].path,
        format!(
            "/repos/Homebrew/homebrew-core/attestations/sha256:{}",
            wget_hex()
        )
    );
    assert_eq!(log[0].query, "per_page=100");
    assert!(log[1].query.contains("after=c2"), "{log:#?}");
    assert_eq!(stats.api_requests, 2);
    assert_eq!(stats.retries, 0);
}

#[test]
fn more_than_a_hundred_attestations_take_two_full_pages() {
    let server = GitHubApiServer::start();
    for _ in 0..101 {
        server.add(REPO, &wget_hex(), minted(SLSA));
    }
    let candidates = run(async {
        found(
            client(&server, None)
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        )
    });
    assert_eq!(candidates.len(), 101);
    assert!(candidates.iter().all(|c| c.bundle.is_ok()));
    assert_eq!(server.request_counts().api, 2);
}

#[test]
fn an_empty_list_means_missing() {
    let server = GitHubApiServer::start();
    let listing = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), Some(SLSA), None)
            .await
            .unwrap()
    });
    assert!(
        matches!(listing, Listing::None { not_found: false }),
        "{listing:?}"
    );
    assert_eq!(server.request_counts().api, 1);
}

#[test]
fn a_404_means_missing() {
    let server = GitHubApiServer::start();
    server.set_not_found_for_missing(true);
    let listing = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap()
    });
    assert!(
        matches!(listing, Listing::None { not_found: true }),
        "{listing:?}"
    );
    // Not retried: a 404 is an answer.
    assert_eq!(server.request_counts().api, 1);
}

#[test]
fn predicate_type_filters_on_the_server() {
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.add(REPO, &wget_hex(), minted("https://spdx.dev/Document/v2.3"));
    let (filtered, all) = run(async {
        let client = client(&server, None);
        (
            found(
                client
                    .attestations(REPO, &wget(), Some(SLSA), None)
                    .await
                    .unwrap(),
            ),
            found(
                client
                    .attestations(REPO, &wget(), None, None)
                    .await
                    .unwrap(),
            ),
        )
    });
    assert_eq!(filtered.len(), 1);
    assert_verify_as_wget(&filtered);
    assert_eq!(all.len(), 2);
    let log = server.api_requests();
    assert_eq!(
        log[0].query,
        "per_page=100&predicate_type=https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1"
    );
}

#[test]
fn a_short_rate_limit_is_waited_out() {
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.rate_limit_next(1, Duration::from_secs(1));
    let started = Instant::now();
    let (candidates, stats) = run(async {
        let client = client(&server, None);
        let found = found(
            client
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        );
        (found, client.stats())
    });
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(candidates.len(), 1);
    assert_eq!(stats.rate_limit_waits, 1);
    // Sent twice, but one request: the second sending is the first one after the wait (issue
    // 13: `plan` counts requests, not sendings).
    assert_eq!(server.api_requests().len(), 2);
    assert_eq!(stats.api_requests, 1);
    assert_eq!(stats.retries, 0, "a rate limit is not a failed attempt");
}

#[test]
fn a_long_rate_limit_is_reported_plainly() {
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.rate_limit_next(1, Duration::from_secs(3600));
    let error = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    let NetErrorKind::RateLimited {
        retry_after,
        authenticated,
    } = net_kind(&error)
    else {
        panic!("expected RateLimited, got {error:?}");
    };
    assert_eq!(*retry_after, Duration::from_secs(3600));
    assert!(!authenticated);
    let message = error.to_string();
    assert!(message.contains("try again in 1 hour"), "{message}");
    let hint = error.net().and_then(|e| e.hint()).unwrap_or_default();
    assert!(hint.contains("HOMEBREW_GITHUB_API_TOKEN"), "{hint}");
    assert!(message.contains(&server.url()), "{message}");
    assert!(error.is_transient());
    assert_eq!(
        server.request_counts().api,
        1,
        "no request after the refusal"
    );

    // With a token the hint about tokens would be noise.
    server.rate_limit_next(1, Duration::from_secs(3600));
    let error = run(async {
        client(&server, Some("kit-token"))
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    assert!(matches!(
        net_kind(&error),
        NetErrorKind::RateLimited {
            authenticated: true,
            ..
        }
    ));
    assert!(error.net().and_then(|e| e.hint()).is_none());
}

#[test]
fn a_spent_hourly_budget_waits_for_the_reset() {
    let server = GitHubApiServer::start();
    server.exhaust_rate_limit_next(1, Duration::from_secs(600));
    let error = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    let NetErrorKind::RateLimited { retry_after, .. } = *net_kind(&error) else {
        panic!("expected RateLimited, got {error:?}");
    };
    assert!(
        (Duration::from_secs(590)..=Duration::from_secs(601)).contains(&retry_after),
        "{retry_after:?}"
    );
}

#[test]
fn a_502_is_retried_until_it_succeeds() {
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.bad_gateway_next(2);
    let (candidates, stats) = run(async {
        let client = client(&server, None);
        let found = found(
            client
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        );
        (found, client.stats())
    });
    assert_eq!(candidates.len(), 1);
    assert_verify_as_wget(&candidates);
    assert_eq!(stats.api_requests, 1, "first attempts");
    assert_eq!(stats.retries, 2);
    assert_eq!(server.request_counts().api, 3);
}

#[test]
fn a_502_forever_gives_up_after_bounded_attempts() {
    let server = GitHubApiServer::start();
    server.bad_gateway_next(100);
    let error = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    assert!(
        matches!(net_kind(&error), NetErrorKind::Status { status: 502, .. }),
        "{error:?}"
    );
    assert_eq!(error.net().map(|e| e.attempts()), Some(3));
    let message = error.to_string();
    assert!(message.contains("HTTP 502: Bad Gateway"), "{message}");
    assert!(message.contains("after 3 attempts"), "{message}");
    assert!(message.contains(&server.url()), "{message}");
    assert_eq!(server.request_counts().api, 3);
}

#[test]
fn a_refused_connection_is_a_network_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (error, stats) = run(async {
        let client = GitHubClient::new(fast_http(), &url, None).unwrap();
        let error = client
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err();
        (error, client.stats())
    });
    assert!(
        matches!(net_kind(&error), NetErrorKind::Refused),
        "{error:?}"
    );
    assert_eq!(error.net().map(|e| e.attempts()), Some(3));
    assert!(error.to_string().contains(&url));
    assert_eq!(stats.api_requests, 1, "first attempts");
    assert_eq!(stats.retries, 2);
}

#[test]
fn bundle_url_on_another_host_is_fetched_without_the_token() {
    let server = GitHubApiServer::start();
    server.require_token(Some("kit-token"));
    server.serve_bundles_by_url(true);
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.add(REPO, &wget_hex(), minted(SLSA));
    server.blob_bad_gateway_next(1);
    let (candidates, stats) = run(async {
        let client = client(&server, Some("kit-token"));
        let found = found(
            client
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        );
        (found, client.stats())
    });
    assert_eq!(candidates.len(), 2);
    assert_verify_as_wget(&candidates);

    let api = server.api_requests();
    assert!(!api.is_empty());
    assert!(
        api.iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer kit-token")),
        "{api:#?}"
    );
    let blobs = server.blob_requests();
    // Two bundles, one 502 retried.
    assert_eq!(blobs.len(), 3, "{blobs:#?}");
    assert!(
        blobs.iter().all(|r| r.authorization.is_none()),
        "the GitHub token reached the blob host: {blobs:#?}"
    );
    assert!(blobs.iter().all(|r| r.query.contains("sig=")));
    assert_eq!(stats.bundle_url_requests, 2, "first attempts");
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.api_requests, 1);
}

#[test]
fn an_unreachable_bundle_url_is_a_network_error_that_hides_its_signature() {
    // An entry with only a `bundle_url`, pointing where nothing listens: the attestation exists
    // but cannot be read now, so this is a network error (retried, then reported), and the
    // message names the URL without its signed query.
    let server = GitHubApiServer::start();
    let body = json!({"attestations": [{
        "repository_id": 1,
        "bundle_url": "http://127.0.0.1:9/attestations/1.json.sn?sig=SECRET",
    }]});
    server.add_api_body(REPO, &wget_hex(), &body.to_string());
    let error = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    let message = error.to_string();
    assert!(
        matches!(net_kind(&error), NetErrorKind::Refused),
        "{error:?}"
    );
    assert!(!message.contains("SECRET"), "{message}");
    assert!(
        message.contains("http://127.0.0.1:9/attestations/1.json.sn"),
        "{message}"
    );

    // Neither `bundle` nor `bundle_url`: a failed candidate ("invalid"), not "missing".
    let server = GitHubApiServer::start();
    server.add_api_body(
        REPO,
        &wget_hex(),
        &json!({"attestations": [{"repository_id": 1}]}).to_string(),
    );
    let candidates = run(async {
        found(
            client(&server, None)
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        )
    });
    assert_eq!(candidates.len(), 1);
    assert!(candidates[0].bundle.is_err());
}

#[test]
fn works_without_any_token() {
    let server = GitHubApiServer::start();
    server.require_token(Some("kit-token"));
    server.add(REPO, &wget_hex(), minted(SLSA));
    let candidates = run(async {
        let client = client(&server, None);
        assert!(!client.is_authenticated());
        found(
            client
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap(),
        )
    });
    assert_eq!(candidates.len(), 1);
    assert!(
        server
            .api_requests()
            .iter()
            .all(|r| r.authorization.is_none())
    );
}

#[test]
fn a_bad_token_is_bad_credentials_and_not_retried() {
    let server = GitHubApiServer::start();
    server.require_token(Some("kit-token"));
    let error = run(async {
        client(&server, Some("wrong-token"))
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    assert!(
        matches!(
            error,
            GitHubError::BadCredentials {
                authenticated: true,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("HTTP 401: Bad credentials"),
        "{message}"
    );
    assert!(!message.contains("wrong-token"), "{message}");
    assert!(!error.is_transient());
    assert_eq!(server.request_counts().api, 1);
}

/// The listing with the token `env` gives for the kit's (loopback, so "enterprise") API host.
fn listing_with_env(server: &GitHubApiServer, env: &[(&str, &str)]) -> Listing {
    let env = Env::from_pairs(env.iter().copied());
    let url = server.url();
    let credential = env
        .github_credential(&Request::parse_url(&url).unwrap(), TokenOrder::Gh)
        .unwrap();
    run(async {
        GitHubClient::new(fast_http(), &url, credential)
            .unwrap()
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap()
    })
}

#[test]
fn an_enterprise_token_from_the_environment_reaches_an_enterprise_api() {
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    let candidates = found(listing_with_env(
        &server,
        &[("GH_ENTERPRISE_TOKEN", "from-env")],
    ));
    assert_eq!(candidates.len(), 1);
    assert_eq!(
        server.api_requests()[0].authorization.as_deref(),
        Some("Bearer from-env")
    );
}

#[test]
fn github_com_tokens_never_reach_another_api_host() {
    // Attack: a hostile API URL (HOMEBREW_BREW_VERIFY_API_URL, GH_HOST, --hostname) collects the
    // user's github.com token. gh sends GH_TOKEN/GITHUB_TOKEN only to github.com and
    // *.ghe.com; brew-verify does the same (and never HOMEBREW_GITHUB_API_TOKEN elsewhere).
    let server = GitHubApiServer::start();
    server.add(REPO, &wget_hex(), minted(SLSA));
    found(listing_with_env(
        &server,
        &[
            ("GH_TOKEN", "gh-secret"),
            ("GITHUB_TOKEN", "github-secret"),
            ("HOMEBREW_GITHUB_API_TOKEN", "brew-secret"),
        ],
    ));
    let requests = server.api_requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.authorization.is_none()),
        "a github.com token reached {}: {requests:#?}",
        server.url()
    );
}

/// The corpus's two real attestations API bodies (kollektiv-mc/Konnekt), with the digest and
/// identity cases.json gives for them.
const KONNEKT: [(&str, &str, &str); 2] = [
    (
        include_str!(
            "../fixtures/corpus/bundles/api/konnekt-v0.2.0-alpha.2-linux-amd64.attestations-api.json"
        ),
        "a2350aa265fcd23a12b42a35aed4dc6098f4c7898a1fffdcc04687e6a0d85d90",
        "https://github.com/kollektiv-mc/Konnekt/.github/workflows/release.yml@refs/heads/main",
    ),
    (
        include_str!(
            "../fixtures/corpus/bundles/api/konnekt-snapshot-linux-amd64.attestations-api.json"
        ),
        "057f30b4f8e2fe85281c3553c72f6001ecb40e79cbdd3662b8a39d147abde093",
        "https://github.com/kollektiv-mc/Konnekt/.github/workflows/snapshot.yml@refs/heads/main",
    ),
];

#[test]
fn real_api_bodies_parse_and_verify_against_the_production_root() {
    let production = TrustRoot::production().unwrap();
    for by_url in [false, true] {
        let server = GitHubApiServer::start();
        server.serve_bundles_by_url(by_url);
        for (body, hex, _) in KONNEKT {
            assert_eq!(server.add_api_body("kollektiv-mc/Konnekt", hex, body), 1);
        }
        for (_, hex, identity) in KONNEKT {
            let digest = Sha256Hash::from_hex(hex).unwrap();
            let candidates = run(async {
                found(
                    client(&server, None)
                        .attestations("kollektiv-mc/Konnekt", &digest, Some(SLSA), None)
                        .await
                        .unwrap(),
                )
            });
            assert_eq!(candidates.len(), 1, "{hex}");
            let bundle = candidates[0].bundle.as_ref().unwrap();
            verify_bundle_exact(
                &production,
                bundle,
                &[Digest::Sha256(digest)],
                identity,
                GITHUB_ISSUER,
            )
            .unwrap_or_else(|e| panic!("{hex} (by_url: {by_url}): {e}"));
        }
        // Inline bundles are used as they are: the real (Azure) `bundle_url` is never tried,
        // and the blob host is used only when the kit serves entries by URL.
        let blob_requests = server.request_counts().blobs;
        assert_eq!(blob_requests, if by_url { 2 } else { 0 });
    }
}

#[test]
fn upload_then_list_returns_the_uploaded_bundle() {
    let server = GitHubApiServer::start();
    server.require_token(Some("kit-token"));
    let bundle_json = minted(SLSA);
    let (id, listed) = run(async {
        let client = client(&server, Some("kit-token"));
        let id = client.upload_attestation(REPO, bundle_json).await.unwrap();
        let listed = found(
            client
                .attestations(REPO, &wget(), Some(SLSA), None)
                .await
                .unwrap(),
        );
        (id, listed)
    });
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].id, id);
    assert_eq!(uploads[0].repo, REPO);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&uploads[0].bundle_json).unwrap(),
        serde_json::from_str::<serde_json::Value>(bundle_json).unwrap()
    );
    assert_eq!(listed.len(), 1);
    assert_verify_as_wget(&listed);
    let post = &server.api_requests()[0];
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/repos/Homebrew/homebrew-core/attestations");
    assert_eq!(post.authorization.as_deref(), Some("Bearer kit-token"));
}

#[test]
fn upload_is_never_retried_and_refused_without_a_token() {
    let server = GitHubApiServer::start();
    server.bad_gateway_next(1);
    // A POST whose answer was lost may have been stored: the client reports the 502 after one
    // attempt, and the caller (`brew-backfill upload`) looks before posting again.
    let lost = run(async {
        client(&server, Some("kit-token"))
            .upload_attestation(REPO, minted(SLSA))
            .await
            .unwrap_err()
    });
    assert!(
        matches!(net_kind(&lost), NetErrorKind::Status { status: 502, .. }),
        "{lost:?}"
    );
    assert_eq!(lost.net().map(|e| e.attempts()), Some(1));
    assert_eq!(server.request_counts().api, 1);
    let (id, error) = run(async {
        let id = client(&server, Some("kit-token"))
            .upload_attestation(REPO, minted(SLSA))
            .await
            .unwrap();
        let error = client(&server, None)
            .upload_attestation(REPO, minted(SLSA))
            .await
            .unwrap_err();
        (id, error)
    });
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(server.uploads()[0].id, id);
    assert!(
        matches!(
            error,
            GitHubError::BadCredentials {
                authenticated: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("HOMEBREW_GITHUB_API_TOKEN"));

    let bad = run(async {
        client(&server, Some("kit-token"))
            .upload_attestation(REPO, "[1, 2]")
            .await
            .unwrap_err()
    });
    assert!(matches!(bad, GitHubError::InvalidBundle(_)), "{bad:?}");
}

#[test]
fn rate_limit_budget_is_reported() {
    let server = GitHubApiServer::start();
    let status = run(async {
        let client = client(&server, None);
        client
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap();
        client.rate_limit()
    });
    let status = status.expect("the kit sends x-ratelimit-* on every answer");
    assert_eq!(status.limit, Some(60));
    assert_eq!(status.remaining, Some(59));
    assert!(status.reset.is_some());
}

#[test]
fn bad_inputs_fail_before_any_request() {
    let server = GitHubApiServer::start();
    let error = run(async {
        client(&server, None)
            .attestations("not-a-repo", &wget(), None, None)
            .await
            .unwrap_err()
    });
    assert!(matches!(error, GitHubError::InvalidRepository(_)));
    assert!(matches!(
        GitHubClient::new(fast_http(), "ftp://example.com", None),
        Err(GitHubError::InvalidApiUrl { .. })
    ));
    assert_eq!(server.request_counts().api, 0);
}

#[test]
fn a_page_that_is_not_an_attestations_list_is_an_error_not_none() {
    // Attack: a broken or hostile API answer (`{}`, `{"attestations": null}`, an HTML page)
    // must never pass for the authoritative empty list that opens the backfill.
    for body in [
        "{}",
        r#"{"attestations": null}"#,
        "<html>maintenance</html>",
        "[]",
    ] {
        let server = GitHubApiServer::start();
        server.set_raw_listing(Some(body));
        let error = run(async {
            client(&server, None)
                .attestations(REPO, &wget(), None, None)
                .await
                .unwrap_err()
        });
        assert!(
            matches!(&error, GitHubError::Response { reason, .. }
                if reason.contains("attestations")),
            "{body}: {error:?}"
        );
    }
}

/// `count` made-up digests, every third one attested (filed under `REPO`).
fn bulk_world(server: &GitHubApiServer, count: usize) -> Vec<Sha256Hash> {
    let digests: Vec<Sha256Hash> = (0..count)
        .map(|i| Sha256Hash::new(digest_of(&format!("bottle {i}"))))
        .collect();
    for d in digests.iter().step_by(3) {
        server.add(REPO, &d.to_hex(), minted(SLSA));
    }
    digests
}

/// The bulk answer for `digests` from a fresh client, and that client's request counts.
fn bulk(
    server: &GitHubApiServer,
    owner: &str,
    digests: &[Sha256Hash],
    predicate_type: Option<&str>,
) -> (
    Result<BulkListing, GitHubError>,
    bottle_attest_net::github::RequestStats,
) {
    run(async {
        let client = client(server, None);
        let answer = client
            .bulk_attestations(owner, digests, predicate_type, None)
            .await;
        (answer, client.stats())
    })
}

/// Every third digest of a [`bulk_world`] found once, the others `None` (not a 404).
fn assert_every_third_found(answer: &BulkListing, digests: &[Sha256Hash]) {
    assert_eq!(
        answer.len(),
        digests.len(),
        "every digest asked is answered"
    );
    for (i, d) in digests.iter().enumerate() {
        match &answer[d] {
            Listing::Found(c) => {
                assert!(i % 3 == 0 && c.len() == 1, "{i}: {} found", c.len());
                assert!(c[0].bundle.is_ok(), "{i}: {:?}", c[0].bundle);
            }
            Listing::None { not_found } => assert!(i % 3 != 0 && !not_found, "{i}"),
        }
    }
}

/// The `subject_digests` of each logged bulk request body, and its `predicate_type`.
fn bulk_bodies(server: &GitHubApiServer) -> Vec<(Vec<String>, Option<String>)> {
    server
        .api_requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/attestations/bulk-list"))
        .map(|r| {
            let body: serde_json::Value =
                serde_json::from_str(r.body.as_deref().expect("a bulk request has a body"))
                    .expect("the body is JSON");
            let digests = body["subject_digests"]
                .as_array()
                .expect("subject_digests")
                .iter()
                .map(|d| d.as_str().expect("a string").to_owned())
                .collect();
            let predicate = body.get("predicate_type").map(|p| {
                p.as_str()
                    .expect("predicate_type is a string when sent")
                    .to_owned()
            });
            (digests, predicate)
        })
        .collect()
}

#[test]
fn bulk_lookups_answer_many_digests_in_few_requests() {
    let server = GitHubApiServer::start();
    let digests = bulk_world(&server, 250);
    let (answer, stats) = bulk(&server, "Homebrew", &digests, Some(SLSA));
    assert_every_third_found(&answer.unwrap(), &digests);
    // 250 digests, 100 per request, one page each: 3 requests instead of 250.
    assert_eq!(BULK_DIGESTS_PER_REQUEST, 100);
    assert_eq!(stats.bulk_requests, 3);
    assert_eq!(stats.api_requests, 0, "no per-repository listing");
    assert_eq!(server.request_counts().api, 3);
    let posts = server.api_requests();
    assert!(
        posts
            .iter()
            .all(|r| r.method == "POST" && r.path == "/orgs/Homebrew/attestations/bulk-list"),
        "{posts:?}"
    );
    assert!(posts.iter().all(|r| r.query == "per_page=100"), "{posts:?}");
    // The body: the digests in order, 100, 100, 50, `sha256:`-prefixed, and the filter.
    let bodies = bulk_bodies(&server);
    let sent: Vec<String> = bodies.iter().flat_map(|(d, _)| d.clone()).collect();
    let asked: Vec<String> = digests
        .iter()
        .map(|d| format!("sha256:{}", d.to_hex()))
        .collect();
    assert_eq!(sent, asked);
    assert_eq!(
        bodies.iter().map(|(d, _)| d.len()).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    assert!(bodies.iter().all(|(_, p)| p.as_deref() == Some(SLSA)));
}

#[test]
fn bulk_pages_are_followed_by_cursor_and_grouped_by_digest() {
    let server = GitHubApiServer::start();
    // 40 digests a page: the 100-digest requests take 3 pages (40, 40, 20), the last 50 take 2.
    server.set_page_size(Some(40));
    let digests = bulk_world(&server, 250);
    // The same digest filed in a second repository of the owner, and in another owner's.
    server.add("Homebrew/homebrew-cask", &digests[0].to_hex(), minted(SLSA));
    server.add("Someone/fork", &digests[0].to_hex(), minted(SLSA));
    server.add("Someone/fork", &digests[1].to_hex(), minted(SLSA));
    let (answer, stats) = bulk(&server, "Homebrew", &digests, None);
    let mut answer = answer.unwrap();
    // Digest 0: both Homebrew repositories (per owner), not Someone's.
    match answer.remove(&digests[0]) {
        Some(Listing::Found(c)) => assert_eq!(c.len(), 2, "{c:?}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        answer.get(&digests[1]),
        Some(Listing::None { not_found: false })
    ));
    answer.insert(digests[0], Listing::Found(Vec::new()));
    for (i, d) in digests.iter().enumerate().skip(1) {
        match &answer[d] {
            Listing::Found(c) => assert!(i % 3 == 0 && c.len() == 1, "{i}"),
            Listing::None { .. } => assert!(i % 3 != 0, "{i}"),
        }
    }
    assert_eq!(stats.bulk_requests, 8);
    let queries: Vec<String> = server.api_requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            "per_page=100",
            "per_page=100&after=d40",
            "per_page=100&after=d80",
            "per_page=100",
            "per_page=100&after=d40",
            "per_page=100&after=d80",
            "per_page=100",
            "per_page=100&after=d40",
        ]
    );
    // Every page of a request repeats that request's body; no filter was asked, none sent.
    let bodies = bulk_bodies(&server);
    assert_eq!(
        bodies.iter().map(|(d, _)| d.len()).collect::<Vec<_>>(),
        [100, 100, 100, 100, 100, 100, 50, 50]
    );
    assert!(bodies.iter().all(|(_, p)| p.is_none()), "{bodies:?}");
}

#[test]
fn bulk_pages_without_page_info_follow_the_link_header() {
    let server = GitHubApiServer::start();
    server.set_page_size(Some(30));
    server.set_bulk_link_pagination(true);
    let digests = bulk_world(&server, 70);
    let (answer, stats) = bulk(&server, "Homebrew", &digests, None);
    assert_every_third_found(&answer.unwrap(), &digests);
    assert_eq!(stats.bulk_requests, 3);
    let queries: Vec<String> = server.api_requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            "per_page=100",
            "per_page=30&after=d30",
            "per_page=30&after=d60"
        ]
    );
}

#[test]
fn digests_left_out_or_repeated_are_still_answered_once() {
    let server = GitHubApiServer::start();
    server.set_bulk_omit_missing(true);
    let mut digests = bulk_world(&server, 9);
    let unique = digests.clone();
    digests.extend_from_slice(&unique[..4]);
    let (answer, stats) = bulk(&server, "Homebrew", &digests, None);
    let answer = answer.unwrap();
    assert_every_third_found(&answer, &unique);
    assert_eq!(stats.bulk_requests, 1);
    assert_eq!(bulk_bodies(&server)[0].0.len(), 9, "each digest sent once");
    // Nothing asked: nothing sent.
    let server = GitHubApiServer::start();
    let (answer, stats) = bulk(&server, "Homebrew", &[], None);
    assert!(answer.unwrap().is_empty());
    assert_eq!(stats.bulk_requests, 0);
}

#[test]
fn bulk_predicate_type_filters_on_the_server() {
    const SPDX: &str = "https://spdx.dev/Document/v2.3";
    let server = GitHubApiServer::start();
    let digests: Vec<Sha256Hash> = (0..4)
        .map(|i| Sha256Hash::new(digest_of(&format!("filtered {i}"))))
        .collect();
    server.add(REPO, &digests[0].to_hex(), minted(SLSA));
    server.add(REPO, &digests[1].to_hex(), minted(SPDX));
    server.add(REPO, &digests[2].to_hex(), minted(SLSA));
    server.add(REPO, &digests[2].to_hex(), minted(SPDX));
    let count = |answer: &BulkListing, d: &Sha256Hash| match &answer[d] {
        Listing::Found(c) => c.len(),
        Listing::None { not_found } => {
            assert!(!not_found);
            0
        }
    };
    let (slsa, _) = bulk(&server, "Homebrew", &digests, Some(SLSA));
    let slsa = slsa.unwrap();
    assert_eq!(
        digests.iter().map(|d| count(&slsa, d)).collect::<Vec<_>>(),
        [1, 0, 1, 0]
    );
    let (all, _) = bulk(&server, "Homebrew", &digests, None);
    let all = all.unwrap();
    assert_eq!(
        digests.iter().map(|d| count(&all, d)).collect::<Vec<_>>(),
        [1, 1, 2, 0]
    );
    let bodies = bulk_bodies(&server);
    assert_eq!(bodies[0].1.as_deref(), Some(SLSA));
    assert_eq!(
        bodies[1].1, None,
        "no filter: no `predicate_type` key at all"
    );
}

#[test]
fn bulk_entries_with_a_bundle_url_are_fetched_from_the_blob_host() {
    let server = GitHubApiServer::start();
    server.serve_bundles_by_url(true);
    let digests = bulk_world(&server, 10);
    let (answer, stats) = bulk(&server, "Homebrew", &digests, None);
    assert_every_third_found(&answer.unwrap(), &digests);
    assert_eq!(stats.bulk_requests, 1);
    assert_eq!(stats.bundle_url_requests, 4);
    assert_eq!(server.request_counts().blobs, 4);
}

#[test]
fn a_user_owned_owner_is_asked_on_the_users_route_and_remembered() {
    let server = GitHubApiServer::start();
    server.set_bulk_owner_kind(Some("users"));
    let digests = bulk_world(&server, 150);
    let stats = run(async {
        let client = client(&server, None);
        let answer = client
            .bulk_attestations("Homebrew", &digests, None, None)
            .await
            .unwrap();
        assert_every_third_found(&answer, &digests);
        // A second call on the same client goes straight to the users route.
        client
            .bulk_attestations("Homebrew", &digests[..1], None, None)
            .await
            .unwrap();
        client.stats()
    });
    let paths: Vec<String> = server.api_requests().into_iter().map(|r| r.path).collect();
    // The org route once (404), then the users route for both chunks and the second call.
    assert_eq!(
        paths,
        [
            "/orgs/Homebrew/attestations/bulk-list",
            "/users/Homebrew/attestations/bulk-list",
            "/users/Homebrew/attestations/bulk-list",
            "/users/Homebrew/attestations/bulk-list",
        ]
    );
    assert_eq!(stats.bulk_requests, 4, "the org probe counts");
}

#[test]
fn an_unavailable_bulk_endpoint_is_its_own_error() {
    let server = GitHubApiServer::start();
    server.set_bulk_owner_kind(None);
    let digests = bulk_world(&server, 3);
    let (error, stats) = bulk(&server, "Homebrew", &digests, None);
    let error = error.unwrap_err();
    assert!(
        matches!(&error, GitHubError::BulkUnavailable { owner, status: 404 } if owner == "Homebrew"),
        "{error:?}"
    );
    assert_eq!(
        stats.bulk_requests, 2,
        "the org route, then the users route"
    );
    // Gone or not allowed on the org route: unavailable at once, the users route not tried.
    for status in [405, 410] {
        let server = GitHubApiServer::start();
        server.refuse_bulk(Some((status, "Gone")));
        let (error, stats) = bulk(&server, "Homebrew", &digests, None);
        let error = error.unwrap_err();
        assert!(
            matches!(&error, GitHubError::BulkUnavailable { status: s, .. } if *s == status),
            "{status}: {error:?}"
        );
        assert_eq!(stats.bulk_requests, 1, "{status}");
    }
    // A 422 that does not blame the body is the endpoint refusing: unavailable; one that
    // names a field of the body is an error in the request, reported as such.
    let server = GitHubApiServer::start();
    server.refuse_bulk(Some((422, "Feature not available for this account")));
    let (error, _) = bulk(&server, "Homebrew", &digests, None);
    assert!(
        matches!(
            error.unwrap_err(),
            GitHubError::BulkUnavailable { status: 422, .. }
        ),
        "422 not about the input"
    );
    server.refuse_bulk(Some((422, "predicate_type is not a valid predicate type")));
    let (error, _) = bulk(&server, "Homebrew", &digests, Some("bogus"));
    let error = error.unwrap_err();
    assert!(
        matches!(
            net_kind(&error),
            NetErrorKind::Status { status: 422, message } if message.contains("predicate_type")
        ),
        "{error:?}"
    );
    // A 400 (bad input) and a 401 are not "unavailable" either.
    server.refuse_bulk(Some((400, "Problems parsing JSON")));
    let (error, _) = bulk(&server, "Homebrew", &digests, None);
    let error = error.unwrap_err();
    assert!(
        matches!(net_kind(&error), NetErrorKind::Status { status: 400, .. }),
        "{error:?}"
    );
    server.refuse_bulk(Some((401, "Bad credentials")));
    let (error, _) = bulk(&server, "Homebrew", &digests, None);
    let error = error.unwrap_err();
    assert!(
        matches!(
            &error,
            GitHubError::BadCredentials {
                authenticated: false,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_malformed_bulk_page_is_an_error_never_none() {
    let digests = vec![wget()];
    let hex = wget_hex();
    for body in [
        "{}".to_owned(),
        "<html>502</html>".to_owned(),
        r#"{"attestations_subject_digests": 3}"#.to_owned(),
        format!(r#"{{"attestations_subject_digests": {{"sha256:{hex}": "none"}}}}"#),
        format!(
            r#"{{"attestations_subject_digests": {{"sha256:{hex}": null}}, "page_info": {{"has_next": true}}}}"#
        ),
        format!(
            r#"{{"attestations_subject_digests": {{"sha256:{hex}": null}}, "page_info": "last"}}"#
        ),
    ] {
        let server = GitHubApiServer::start();
        server.set_raw_bulk_page(Some(&body));
        let (error, _) = bulk(&server, "Homebrew", &digests, None);
        let error = error.unwrap_err();
        assert!(
            matches!(&error, GitHubError::Response { url, .. } if url.contains("/orgs/Homebrew/attestations/bulk-list")),
            "{body}: {error:?}"
        );
    }
    // A server that keeps handing back the same cursor is caught on the second page.
    let server = GitHubApiServer::start();
    server.set_raw_bulk_page(Some(&format!(
        r#"{{"attestations_subject_digests": {{"sha256:{hex}": null}}, "page_info": {{"has_next": true, "next": "again"}}}}"#
    )));
    let (error, stats) = bulk(&server, "Homebrew", &digests, None);
    let error = error.unwrap_err();
    assert!(
        matches!(&error, GitHubError::Response { reason, .. } if reason.contains("repeats")),
        "{error:?}"
    );
    assert_eq!(stats.bulk_requests, 2);
    // A well-formed page naming digests nobody asked for adds nothing.
    let server = GitHubApiServer::start();
    let stranger = hex::encode(digest_of("stranger"));
    server.set_raw_bulk_page(Some(&format!(
        r#"{{"attestations_subject_digests": {{"sha256:{stranger}": [{{"bundle": null, "bundle_url": "https://elsewhere.invalid/x"}}], "sha256:{hex}": []}}}}"#
    )));
    let (answer, stats) = bulk(&server, "Homebrew", &digests, None);
    let answer = answer.unwrap();
    assert_eq!(answer.len(), 1);
    assert!(matches!(
        answer[&wget()],
        Listing::None { not_found: false }
    ));
    assert_eq!(stats.bundle_url_requests, 0);
    // Bad owners fail before any request.
    let server = GitHubApiServer::start();
    for owner in ["not/an/owner", "", "../x", "a b"] {
        let (error, _) = bulk(&server, owner, &digests, None);
        assert!(
            matches!(error, Err(GitHubError::InvalidRepository(_))),
            "{owner}: {error:?}"
        );
    }
    assert_eq!(server.request_counts().api, 0);
}
