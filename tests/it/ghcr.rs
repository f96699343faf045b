//! The GHCR client against a real OCI registry: Debian's `docker-registry` with GHCR-style
//! token auth, started by the test kit on loopback, with bottles pushed the way `brew pr-upload`
//! lays them out. Without `docker-registry` these tests skip, unless `CI` is set.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bottle_attest::Sha256Hash;
use bottle_attest::bottle::{BottleFilename, BottleRef, cache_name};
use bottle_attest::digest::sha256_bytes;
use bottle_attest::formula::{FormulaIndex, ResolvedBottle};
use bottle_attest_net::env::{
    Env, REGISTRY_BASIC_AUTH as BASIC_AUTH_ENV, REGISTRY_TOKEN as TOKEN_ENV,
};
use bottle_attest_net::ghcr::{
    ANNOTATION_BOTTLE_DIGEST, ANNOTATION_BOTTLE_SIZE, GhcrClient, GhcrError,
};
use bottle_attest_net::http::{
    HttpClient, HttpConfig, NetErrorKind, Request, RetryPolicy, SharedCredential, Silent,
};
use bottle_attest_net::store::hashing::sha256_file;
use testkit::registry::{ALWAYS, Fault, PlatformBottle, PushOptions, PushedBottles, Registry};

use crate::util::registry;

const TAGS: [&str; 3] = ["arm64_sonoma", "sonoma", "x86_64_linux"];

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(future)
}

/// Attempts per request in these tests.
const DEFAULT_MAX_ATTEMPTS: u32 = 4;

/// `host:port` of a URL.
fn authority(url: &str) -> String {
    let url = Request::parse_url(url).expect("url");
    format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port_or_known_default().expect("port")
    )
}

/// The registry credential the user's environment `pairs` gives, bound (as with
/// `--registry-host`) to the test registry's loopback host and its token service's host (on
/// ghcr.io both are `ghcr.io`).
fn credential_from(registry: &Registry, pairs: &[(&str, &str)]) -> Option<SharedCredential> {
    Env::from_pairs(pairs.iter().copied())
        .registry_credential(&[
            authority(&registry.root_url()),
            authority(&registry.token_url()),
        ])
        .expect("credential")
}

/// No credential: the anonymous token flow.
fn anonymous() -> Option<SharedCredential> {
    None
}

/// A client on the registry's (proxied) root, retrying quickly.
fn client(registry: &Registry, auth: Option<SharedCredential>) -> GhcrClient {
    let http = HttpClient::new(HttpConfig {
        retry: RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        events: Arc::new(Silent),
        ..HttpConfig::default()
    })
    .expect("http");
    GhcrClient::new(http, &registry.root_url(), auth).expect("client")
}

fn platforms() -> Vec<PlatformBottle> {
    TAGS.iter().map(|tag| PlatformBottle::new(tag)).collect()
}

/// `pushed`'s bottle for `tag` as the formula API resolves it (through `formula_json`).
fn resolved(pushed: &PushedBottles, tag: &str) -> ResolvedBottle {
    let json = pushed.formula_json(&[]).to_string();
    let index = FormulaIndex::from_json(&json).expect("formula JSON parses");
    index
        .get(&pushed.formula)
        .expect("formula present")
        .bottle_for(tag)
        .expect("bottle for tag")
}

/// The same bottle, but with another sha256 (what a formula API that disagrees with the
/// registry would say).
fn with_digest(bottle: &ResolvedBottle, digest: Sha256Hash) -> ResolvedBottle {
    ResolvedBottle {
        bottle: BottleRef {
            digest,
            filename: bottle.bottle.filename.clone(),
        },
        ..bottle.clone()
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn manifests_resolve_for_every_platform_through_the_anonymous_token_flow() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("wget", "1.24.5_1", 1, &platforms());
    assert_eq!(pushed.index_tag, "1.24.5_1-1");
    let client = client(&registry, anonymous());
    for tag in TAGS {
        let bottle = resolved(&pushed, tag);
        assert_eq!(bottle, pushed.bottle(tag).resolved);
        let manifest = block_on(client.bottle_manifest(&bottle, None)).expect("manifest resolves");
        let expected = pushed.bottle(tag);
        assert_eq!(manifest.image, "homebrew/core/wget");
        assert_eq!(manifest.reference, "1.24.5_1-1");
        assert_eq!(manifest.ref_name, format!("1.24.5_1.{tag}.1"));
        assert_eq!(
            format!("sha256:{}", manifest.manifest_digest),
            expected.manifest_digest
        );
        assert_eq!(manifest.size, expected.bytes.len() as u64);
        assert_eq!(
            manifest.annotations[ANNOTATION_BOTTLE_DIGEST],
            expected.sha256.to_hex()
        );
        assert_eq!(
            manifest.annotations[ANNOTATION_BOTTLE_SIZE],
            expected.bytes.len().to_string()
        );
        let tab = manifest.tab().expect("sh.brew.tab is JSON");
        assert_eq!(
            tab["arch"],
            if tag == "arm64_sonoma" {
                "arm64"
            } else {
                "x86_64"
            }
        );
    }
    // The registry insists on tokens: the client met the challenge, fetched a token
    // anonymously and presented it on every manifest request.
    assert!(registry.token_requests() >= 1);
    let requests = registry.requests();
    assert!(
        requests
            .iter()
            .any(|(_, path, auth)| path == "/v2/" && !auth)
    );
    let manifests: Vec<_> = requests
        .iter()
        .filter(|(_, path, _)| path.contains("/manifests/"))
        .collect();
    assert_eq!(manifests.len(), 2 * TAGS.len(), "{requests:?}");
    assert!(
        manifests
            .iter()
            .all(|(method, _, auth)| method == "GET" && *auth)
    );
    // One token flow per client and repository, not one per request.
    assert_eq!(
        requests
            .iter()
            .filter(|(_, path, _)| path == "/v2/")
            .count(),
        1
    );
}

#[test]
fn formula_names_map_to_image_names() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("openssl@3", "3.3.1", 0, &platforms()[..1]);
    assert_eq!(pushed.repository, "homebrew/core/openssl/3");
    let bottle = resolved(&pushed, TAGS[0]);
    assert!(
        bottle
            .url
            .contains("/v2/homebrew/core/openssl/3/blobs/sha256:")
    );
    let client = client(&registry, anonymous());
    let manifest = block_on(client.bottle_manifest(&bottle, None)).expect("manifest");
    assert_eq!(manifest.image, "homebrew/core/openssl/3");
    assert_eq!(manifest.reference, "3.3.1");
    assert_eq!(manifest.ref_name, "3.3.1.arm64_sonoma");
}

#[test]
fn download_writes_the_exact_bytes_under_the_cache_name() {
    let Some(registry) = registry() else { return };
    // One bottle large enough to arrive in many chunks (incompressible bytes).
    let mut noise = Vec::with_capacity(3 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    let platforms = vec![
        PlatformBottle::new("arm64_sonoma").with_file("share/noise", noise),
        PlatformBottle::new("x86_64_linux"),
    ];
    let pushed = registry.push_bottles("jq", "1.7.1", 0, &platforms);
    let client = client(&registry, anonymous());
    let cache = tempfile::tempdir().expect("cache dir");
    for platform in &platforms {
        let bottle = resolved(&pushed, &platform.tag);
        let name = cache_name(&bottle.url, &bottle.bottle.filename);
        let dest = cache.path().join(&name);
        block_on(client.download_blob(&bottle, None, &dest)).expect("download");
        let expected = pushed.bottle(&platform.tag);
        assert_eq!(std::fs::read(&dest).expect("read"), expected.bytes);
        assert_eq!(sha256_file(&dest).expect("hash"), expected.sha256);
        assert!(name.ends_with(&format!("--{}", expected.filename)));
    }
    assert!(pushed.bottle("arm64_sonoma").bytes.len() > 3 << 20);
    // Nothing but the two bottles: no temporary file left behind.
    assert_eq!(entries(cache.path()).len(), 2);
}

#[test]
fn a_tampered_manifest_is_refused() {
    let Some(registry) = registry() else { return };
    let options = PushOptions {
        tamper_stored_manifest: vec!["sonoma".into()],
        ..PushOptions::default()
    };
    let pushed = registry.push_bottles_with("curl", "8.7.1", 0, &platforms(), &options);
    let client = client(&registry, anonymous());
    let err = block_on(client.bottle_manifest(&resolved(&pushed, "sonoma"), None)).unwrap_err();
    let GhcrError::ManifestDigestMismatch {
        image,
        reference,
        expected,
        found,
    } = &err
    else {
        panic!("expected ManifestDigestMismatch, got {err:?}");
    };
    assert_eq!(image, "homebrew/core/curl");
    assert_eq!(reference, &pushed.bottle("sonoma").manifest_digest);
    assert_eq!(expected, &pushed.bottle("sonoma").manifest_digest);
    assert_ne!(found, expected);
    let message = err.to_string();
    assert!(
        message.contains(expected) && message.contains(found.as_str()),
        "{message}"
    );
    // Not retried: a mismatch is an answer, not an accident.
    assert_eq!(
        registry.count_requests(&format!("/manifests/{expected}")),
        1
    );
    // The other platforms are intact.
    block_on(client.bottle_manifest(&resolved(&pushed, "arm64_sonoma"), None)).expect("intact");
}

#[test]
fn an_index_pointing_at_another_manifest_is_refused() {
    let Some(registry) = registry() else { return };
    let options = PushOptions {
        decoy_manifest: vec!["x86_64_linux".into()],
        ..PushOptions::default()
    };
    let pushed = registry.push_bottles_with("git", "2.45.0", 2, &platforms(), &options);
    let client = client(&registry, anonymous());
    let bottle = resolved(&pushed, "x86_64_linux");
    let err = block_on(client.bottle_manifest(&bottle, None)).unwrap_err();
    let GhcrError::LayerDigestMismatch {
        expected, found, ..
    } = &err
    else {
        panic!("expected LayerDigestMismatch, got {err:?}");
    };
    assert_eq!(expected, &bottle.bottle.digest);
    assert_eq!(found.len(), 1);
    assert_ne!(found[0], format!("sha256:{expected}"));
    assert!(err.to_string().contains(&expected.to_hex()));
}

#[test]
fn annotation_and_formula_digest_mismatches_are_refused() {
    let Some(registry) = registry() else { return };
    let options = PushOptions {
        wrong_digest_annotation: vec!["arm64_sonoma".into()],
        ..PushOptions::default()
    };
    let pushed = registry.push_bottles_with("zstd", "1.5.6", 0, &platforms(), &options);
    let client = client(&registry, anonymous());

    // The registry's index names another bottle than the (honest) formula.
    let bottle = resolved(&pushed, "arm64_sonoma");
    let err = block_on(client.bottle_manifest(&bottle, None)).unwrap_err();
    let GhcrError::DigestAnnotationMismatch {
        expected,
        found: Some(found),
        ref_name,
        ..
    } = &err
    else {
        panic!("expected DigestAnnotationMismatch, got {err:?}");
    };
    assert_eq!(expected, &bottle.bottle.digest);
    assert_ne!(found, &expected.to_hex());
    assert_eq!(ref_name, "1.5.6.arm64_sonoma");
    let message = err.to_string();
    assert!(message.contains(&expected.to_hex()) && message.contains(found.as_str()));

    // The formula names another bottle than the (honest) registry.
    let other = sha256_bytes(b"a bottle the registry never had");
    let bottle = with_digest(&resolved(&pushed, "sonoma"), other);
    let err = block_on(client.bottle_manifest(&bottle, None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::DigestAnnotationMismatch { expected, found: Some(found), .. }
            if *expected == other && *found == pushed.bottle("sonoma").sha256.to_hex()),
        "{err:?}"
    );
}

#[test]
fn missing_tags_and_platforms_are_reported() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("xz", "5.6.2", 0, &platforms()[..2]);
    let client = client(&registry, anonymous());

    // A version the registry does not have.
    let bottle = resolved(&pushed, "sonoma");
    let missing = ResolvedBottle {
        bottle: BottleRef {
            digest: bottle.bottle.digest,
            filename: BottleFilename::new("xz", "9.9.9", "sonoma", 0).expect("name"),
        },
        ..bottle.clone()
    };
    registry.clear_requests();
    let err = block_on(client.bottle_manifest(&missing, None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::NotFound { image, reference }
            if image == "homebrew/core/xz" && reference == "9.9.9"),
        "{err:?}"
    );
    // 404 is an answer: asked once.
    assert_eq!(registry.count_requests("/manifests/"), 1);

    // A formula the registry has never heard of.
    let unknown = ResolvedBottle {
        bottle: BottleRef {
            digest: bottle.bottle.digest,
            filename: BottleFilename::new("nosuch", "1.0", "sonoma", 0).expect("name"),
        },
        ..bottle.clone()
    };
    let err = block_on(client.bottle_manifest(&unknown, None)).unwrap_err();
    assert!(matches!(err, GhcrError::NotFound { .. }), "{err:?}");

    // A platform the index lacks.
    let linux = ResolvedBottle {
        bottle: BottleRef {
            digest: bottle.bottle.digest,
            filename: BottleFilename::new("xz", "5.6.2", "x86_64_linux", 0).expect("name"),
        },
        ..bottle
    };
    let err = block_on(client.bottle_manifest(&linux, None)).unwrap_err();
    let GhcrError::NoPlatform {
        ref_name,
        available,
        ..
    } = &err
    else {
        panic!("expected NoPlatform, got {err:?}");
    };
    assert_eq!(ref_name, "5.6.2.x86_64_linux");
    assert_eq!(available, &["5.6.2.arm64_sonoma", "5.6.2.sonoma"]);
}

#[test]
fn a_truncated_blob_leaves_no_file() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("lz4", "1.10.0", 0, &platforms()[..1]);
    let client = client(&registry, anonymous());
    let bottle = resolved(&pushed, TAGS[0]);
    let cache = tempfile::tempdir().expect("cache dir");
    let dest = cache
        .path()
        .join(cache_name(&bottle.url, &bottle.bottle.filename));

    // Cut short on every attempt: give up after the bounded retries, leave nothing behind.
    registry.inject(Fault::TruncateBody {
        times: ALWAYS,
        path_contains: "/blobs/".into(),
    });
    let err = block_on(client.download_blob(&bottle, None, &dest)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::Net { source, .. }
            if source.attempts() == DEFAULT_MAX_ATTEMPTS
                && matches!(source.kind(), NetErrorKind::Transport(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains(&bottle.bottle.digest.to_hex()));
    assert_eq!(
        registry.count_requests("/blobs/"),
        DEFAULT_MAX_ATTEMPTS as usize
    );
    assert!(
        entries(cache.path()).is_empty(),
        "{:?}",
        entries(cache.path())
    );

    // Cut short once: the retry succeeds.
    registry.clear_faults();
    registry.clear_requests();
    registry.inject(Fault::TruncateBody {
        times: 1,
        path_contains: "/blobs/".into(),
    });
    block_on(client.download_blob(&bottle, None, &dest)).expect("retry succeeds");
    assert_eq!(std::fs::read(&dest).expect("read"), pushed.bottles[0].bytes);
    assert_eq!(registry.count_requests("/blobs/"), 2);
    assert_eq!(entries(cache.path()).len(), 1);
}

#[test]
fn a_blob_with_other_bytes_is_discarded_without_retrying() {
    let Some(registry) = registry() else { return };
    let options = PushOptions {
        tamper_stored_blob: vec!["arm64_sonoma".into()],
        ..PushOptions::default()
    };
    let pushed = registry.push_bottles_with("bzip2", "1.0.8", 0, &platforms()[..1], &options);
    let client = client(&registry, anonymous());
    let bottle = resolved(&pushed, TAGS[0]);
    let cache = tempfile::tempdir().expect("cache dir");
    let dest = cache.path().join("bottle.tar.gz");
    // An old file at the destination stays as it was.
    std::fs::write(&dest, b"previous").expect("write");
    let err = block_on(client.download_blob(&bottle, None, &dest)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::BlobDigestMismatch { expected, found, .. }
            if *expected == bottle.bottle.digest && found != expected),
        "{err:?}"
    );
    assert_eq!(registry.count_requests("/blobs/"), 1);
    assert_eq!(entries(cache.path()), ["bottle.tar.gz"]);
    assert_eq!(std::fs::read(&dest).expect("read"), b"previous");
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("pcre2", "10.44", 0, &platforms()[..2]);
    let client = client(&registry, anonymous());
    let bottle = resolved(&pushed, TAGS[0]);

    // 500 twice, then the registry recovers.
    registry.inject(Fault::Status {
        code: 500,
        times: 2,
        path_contains: "/manifests/".into(),
    });
    block_on(client.bottle_manifest(&bottle, None)).expect("recovers");
    // Index: 2 failures + 1 success; platform manifest: 1.
    assert_eq!(registry.count_requests("/manifests/"), 4);

    // 503 for ever: give up after DEFAULT_MAX_ATTEMPTS, saying how often it tried.
    registry.clear_requests();
    registry.inject(Fault::Status {
        code: 503,
        times: ALWAYS,
        path_contains: "/manifests/".into(),
    });
    let err = block_on(client.bottle_manifest(&resolved(&pushed, TAGS[1]), None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::Net { source, .. }
            if source.attempts() == DEFAULT_MAX_ATTEMPTS && source.status() == Some(503)),
        "{err:?}"
    );
    assert!(err.to_string().contains("homebrew/core/pcre2:10.44"));
    assert_eq!(
        registry.count_requests("/manifests/"),
        DEFAULT_MAX_ATTEMPTS as usize
    );

    // A 4xx is never retried.
    registry.clear_faults();
    registry.clear_requests();
    registry.inject(Fault::Status {
        code: 400,
        times: ALWAYS,
        path_contains: "/manifests/".into(),
    });
    let err = block_on(client.bottle_manifest(&bottle, None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::Net { source, .. }
            if source.attempts() == 1 && source.status() == Some(400)),
        "{err:?}"
    );
    assert_eq!(registry.count_requests("/manifests/"), 1);
}

/// A registry that throttles answers 429 with `Retry-After` (the distribution spec's
/// `TOOMANYREQUESTS`): a short wait is waited out under the one retry policy, and the wait is
/// not a failed attempt; a wait longer than the policy allows is reported at once, as a rate
/// limit naming the wait, never slept through and never retried as if the registry were down.
#[test]
fn a_throttling_registry_is_waited_out_or_reported() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("zstd", "1.5.6", 0, &platforms()[..2]);
    let client = client(&registry, anonymous());

    registry.inject(Fault::TooManyRequests {
        retry_after_secs: 1,
        times: 1,
        path_contains: "/manifests/".into(),
    });
    block_on(client.bottle_manifest(&resolved(&pushed, TAGS[0]), None)).expect("recovers");
    // Index: 1 refusal + 1 success; platform manifest: 1.
    assert_eq!(registry.count_requests("/manifests/"), 3);

    registry.clear_requests();
    registry.inject(Fault::TooManyRequests {
        retry_after_secs: 3600,
        times: ALWAYS,
        path_contains: "/manifests/".into(),
    });
    let err = block_on(client.bottle_manifest(&resolved(&pushed, TAGS[1]), None)).unwrap_err();
    let GhcrError::Net { source, .. } = &err else {
        panic!("expected a network error, got {err:?}");
    };
    assert!(
        matches!(source.kind(), NetErrorKind::RateLimited { retry_after, .. }
            if *retry_after == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert_eq!(source.attempts(), 1, "{err:?}");
    assert_eq!(registry.count_requests("/manifests/"), 1);
}

#[test]
fn credentials_are_required_when_the_token_service_refuses_anonymous_pulls() {
    let Some(registry) = registry() else { return };
    let pushed = registry.push_bottles("gh", "2.50.0", 0, &platforms()[..1]);
    let bottle = resolved(&pushed, TAGS[0]);
    registry.set_anonymous_pull(false);

    // No token: the token service says no, and the error says what was presented.
    let err = block_on(client(&registry, anonymous()).bottle_manifest(&bottle, None)).unwrap_err();
    let GhcrError::Unauthorized { auth, reason, .. } = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert!(auth.contains("anonymous"), "{auth}");
    assert!(reason.contains("anonymous access is disabled"), "{reason}");
    assert!(err.to_string().contains(TOKEN_ENV));

    // A bogus bearer token: the registry answers 401.
    let bogus = credential_from(&registry, &[(TOKEN_ENV, "not-a-registry-token")]);
    let err = block_on(client(&registry, bogus).bottle_manifest(&bottle, None)).unwrap_err();
    assert!(matches!(&err, GhcrError::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-a-registry-token"));

    // Valid basic credentials bound to the registry only: the token service on another host
    // (the realm the registry's challenge names) never sees them, so the pull stays anonymous.
    let registry_only = Env::from_pairs([(BASIC_AUTH_ENV, registry.basic_auth_token())])
        .registry_credential(&[authority(&registry.root_url())])
        .expect("credential");
    let before = registry.token_requests();
    let err =
        block_on(client(&registry, registry_only).bottle_manifest(&bottle, None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::Unauthorized { reason, .. } if reason.contains("anonymous access is disabled")),
        "{err:?}"
    );
    assert!(registry.token_requests() > before);

    // Wrong basic credentials: the token service refuses them.
    let wrong = credential_from(
        &registry,
        &[(BASIC_AUTH_ENV, "dGVzdGtpdC1wdXNoZXI6d3Jvbmc=")],
    );
    let err = block_on(client(&registry, wrong).bottle_manifest(&bottle, None)).unwrap_err();
    assert!(
        matches!(&err, GhcrError::Unauthorized { reason, .. } if reason.contains("incorrect username or password")),
        "{err:?}"
    );

    // A valid bearer token from HOMEBREW_DOCKER_REGISTRY_TOKEN is used as is.
    let token = registry.pull_token("homebrew/core/gh");
    let bearer = credential_from(&registry, &[(TOKEN_ENV, &token)]);
    let before = registry.token_requests();
    block_on(client(&registry, bearer).bottle_manifest(&bottle, None)).expect("bearer works");
    assert_eq!(
        registry.token_requests(),
        before,
        "a bearer token needs no token flow"
    );

    // Valid basic credentials from HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN go through the
    // token flow.
    let basic = registry.basic_auth_token();
    let basic = credential_from(&registry, &[(BASIC_AUTH_ENV, &basic)]);
    let client = client(&registry, basic);
    block_on(client.bottle_manifest(&bottle, None)).expect("basic works");
    let cache = tempfile::tempdir().expect("cache dir");
    let dest = cache.path().join("bottle.tar.gz");
    block_on(client.download_blob(&bottle, None, &dest)).expect("download with basic");

    // A token that never reaches the registry (a proxy dropping it) shows as 401, not retried.
    registry.clear_requests();
    registry.inject(Fault::DropAuth {
        times: ALWAYS,
        path_contains: "/blobs/".into(),
    });
    let err =
        block_on(client.download_blob(&bottle, None, &cache.path().join("again"))).unwrap_err();
    assert!(matches!(err, GhcrError::Unauthorized { .. }), "{err:?}");
    assert_eq!(registry.count_requests("/blobs/"), 1);
}
