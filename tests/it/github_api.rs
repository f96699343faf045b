//! The GitHub attestations API client (`bottle_attest_net::github`) against the kit's loopback API
//! and blob host: pagination, both spellings of "missing", rate limits, transient failures,
//! `bundle_url` on another host (and where the token goes), credentials, the real corpus API
//! bodies, and uploads.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bottle_attest::{BundleCandidate, Digest, Sha256Hash, TrustRoot, verify_bundle_exact};
use bottle_attest_net::env::{Env, TokenOrder};
use bottle_attest_net::github::{GitHubClient, GitHubError, Listing};
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
    assert_eq!(stats.api_requests, 2);
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

#[test]
fn bulk_lookups_answer_many_digests_in_few_requests() {
    let server = GitHubApiServer::start();
    let digests = bulk_world(&server, 250);
    let (answer, stats) = run(async {
        let client = client(&server, None);
        let answer = client
            .bulk_attestations("Homebrew", &digests, Some(SLSA), None)
            .await
            .unwrap();
        (answer, client.stats())
    });
    assert_eq!(answer.len(), 250, "every digest asked is answered");
    for (i, d) in digests.iter().enumerate() {
        match &answer[d] {
            Listing::Found(c) => assert!(i % 3 == 0 && c.len() == 1, "{i}"),
            Listing::None { not_found } => assert!(i % 3 != 0 && !not_found, "{i}"),
        }
    }
    // 250 digests, 100 per request: 3 requests instead of 250.
    assert_eq!(stats.bulk_requests, 3);
    assert_eq!(stats.api_requests, 0);
    let posts = server.api_requests();
    assert!(
        posts
            .iter()
            .all(|r| r.method == "POST" && r.path == "/orgs/Homebrew/attestations/bulk-list")
    );
}

#[test]
fn a_user_owned_owner_is_asked_on_the_users_route_and_remembered() {
    let server = GitHubApiServer::start();
    server.set_bulk_owner_kind(Some("users"));
    let digests = bulk_world(&server, 150);
    let stats = run(async {
        let client = client(&server, None);
        client
            .bulk_attestations("Homebrew", &digests, None, None)
            .await
            .unwrap();
        client.stats()
    });
    let paths: Vec<String> = server.api_requests().into_iter().map(|r| r.path).collect();
    // The org route once (404), then the users route for both chunks.
    assert_eq!(
        paths,
        [
            "/orgs/Homebrew/attestations/bulk-list",
            "/users/Homebrew/attestations/bulk-list",
            "/users/Homebrew/attestations/bulk-list",
        ]
    );
    assert_eq!(stats.bulk_requests, 3);
}

#[test]
fn an_unavailable_bulk_endpoint_says_so_and_a_broken_page_is_an_error() {
    let server = GitHubApiServer::start();
    server.set_bulk_owner_kind(None);
    let digests = bulk_world(&server, 3);
    let error = run(async {
        client(&server, None)
            .bulk_attestations("Homebrew", &digests, None, None)
            .await
            .unwrap_err()
    });
    assert!(
        matches!(&error, GitHubError::BulkUnavailable { owner } if owner == "Homebrew"),
        "{error:?}"
    );

    // A page that is not the documented shape is an error, never "none".
    let server = GitHubApiServer::start();
    server.set_raw_listing(Some("{}"));
    // (The raw listing hook covers the per-repository route; a hostile bulk page is covered by
    // core's parse_bulk_page tests.) The per-digest route still refuses it.
    let error = run(async {
        client(&server, None)
            .attestations(REPO, &wget(), None, None)
            .await
            .unwrap_err()
    });
    assert!(matches!(error, GitHubError::Response { .. }), "{error:?}");
    let error = run(async {
        client(&server, None)
            .bulk_attestations("not/an/owner", &digests, None, None)
            .await
            .unwrap_err()
    });
    assert!(
        matches!(error, GitHubError::InvalidRepository(_)),
        "{error:?}"
    );
}
