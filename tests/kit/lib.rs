//! The workspace's test kit: a faithful local Sigstore stack on 127.0.0.1.
//!
//! Real verifiers (sigstore-verify, sigstore-python) only accept bundles whose every piece checks
//! out: a certificate chain to a trusted Fulcio CA, an SCT from a trusted CT log over the
//! precertificate, a Rekor entry whose body matches the bundle, an inclusion proof to a signed
//! checkpoint, a SET, and times that line up. No public Sigstore is reachable from here, so the
//! kit runs its own:
//!
//! - a test root + intermediate CA issuing Fulcio-profile leaves with the GitHub Actions
//!   extensions and an embedded SCT ([`SigstoreStack::fulcio_url`], Fulcio v2 `signingCert`);
//! - a Rekor v1 log (`hashedrekord` and `dsse` 0.0.1 entries, RFC 6962 tree, checkpoints, SETs)
//!   ([`SigstoreStack::rekor_url`]);
//! - an RFC 3161 TSA ([`SigstoreStack::tsa_url`]);
//! - an OIDC provider minting GitHub-shaped tokens ([`SigstoreStack::identity_token`]);
//! - a settable clock ([`SigstoreStack::set_time`]) all of them read;
//! - the matching `trusted_root.json` and sigstore-python trust config, and
//!   [`rotate_trusted_root`] to merge two stacks' roots as an instance that rotated a Fulcio CA,
//!   added a Rekor shard or rotated its TSA;
//! - a TUF repository made with python-tuf that serves a trusted root ([`tuf::TufRepo`]).
//!
//! [`SigstoreStack::start_github_instance`] starts a stand-in for GitHub's own Sigstore
//! instance instead (the one that signs attestations of private repositories): its own Fulcio
//! CA under GitHub's names (`O=GitHub, Inc.`, so verifiers route its bundles by issuer
//! organisation exactly as they route GitHub's), leaves without SCTs, its own RFC 3161 TSA, no
//! Rekor and no CT log; every bundle carries one TSA timestamp and no log entry, and its
//! trusted root lists only the CA and the TSA, like GitHub's.
//!
//! Bundles are made by sigstore-sign itself over real HTTP ([`SigstoreStack::sign_attestation`]
//! and friends), so what tests verify is what a Sigstore client produces. The API is blocking
//! on purpose: callers are plain `#[test]` functions and, through the URLs and tokens, other
//! processes.
//!
//! Where the kit knowingly differs from the public-good services (none of it is visible to a
//! verifier):
//!
//! - Fulcio trusts one OIDC key (the kit's) but any `iss` claim, maps claims only the
//!   `github-workflow` way, checks `exp` (not `nbf`) against the kit's clock, and answers only
//!   the public-key request with an embedded SCT (no CSR form, no detached SCT).
//! - The CT "log" only issues SCTs, with whole-second timestamps.
//! - Rekor takes only `hashedrekord` and `dsse` 0.0.1, has one shard and no search index.
//! - The TSA stamps SHA-256 imprints only, without accuracy or TSA name.
//! - Every key is ECDSA P-256 (public-good's CA uses P-384).

#![warn(missing_docs)]

mod clock;
mod ct;
mod error;
pub mod faults;
mod fulcio;
pub mod github_api;
mod http;
mod identity;
mod merkle;
mod oidc;
mod pki;
pub mod registry;
mod rekor;
mod rt;
mod trust;
mod tsa;
pub mod tuf;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sigstore_sign::oidc::IdentityToken;
use sigstore_sign::{Attestation, Signer, SigningContext, SigningServices};
use sigstore_types::{Bundle, Sha256Hash};

pub use error::{KitError, Result};
pub use identity::{GITHUB_ISSUER, WorkflowIdentity};
pub use trust::{Authority, rotate_trusted_root};

/// A workspace binary built now in release mode (`cargo build --release -p NAME --bin NAME`),
/// for benchmarks: their figures are for optimised code. Returns its path.
pub fn release_binary(name: &str) -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", name, "--bin", name])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building {name} failed");
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target"))
        .join("release")
        .join(name)
}

use clock::Clock;
use oidc::OidcProvider;
use rekor::Rekor;

/// How many HTTP requests each kit service has answered since the stack started (for
/// benchmarks: a signing call costs one Fulcio and one Rekor request, plus one TSA request when
/// timestamps are on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests to Fulcio.
    pub fulcio: u64,
    /// Requests to Rekor.
    pub rekor: u64,
    /// Requests to the TSA.
    pub tsa: u64,
}

#[derive(Default)]
struct Counters {
    fulcio: Arc<AtomicU64>,
    rekor: Arc<AtomicU64>,
    tsa: Arc<AtomicU64>,
}

/// A running local Sigstore: Fulcio, Rekor (and a TSA) on loopback ports, their keys, and the
/// trust material that makes real verifiers accept what they sign. Servers live until drop.
///
/// Every `start` makes fresh keys, so a bundle from one stack never verifies against another
/// stack's trusted root.
pub struct SigstoreStack {
    runtime: Option<tokio::runtime::Runtime>,
    clock: Arc<Clock>,
    oidc: Arc<OidcProvider>,
    /// `None` for the GitHub-instance stand-in, which has no log.
    rekor: Option<Arc<Rekor>>,
    http: sigstore_sign::reqwest::Client,
    fulcio_url: String,
    rekor_url: Option<String>,
    /// A stand-in for GitHub's instance: no log, no SCT, a TSA timestamp on every bundle.
    github: bool,
    tsa_url: Option<String>,
    timestamping: AtomicBool,
    trusted_root: String,
    trust_config: String,
    counters: Counters,
    faults: faults::StackFaults,
}

impl std::fmt::Debug for SigstoreStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigstoreStack")
            .field("fulcio_url", &self.fulcio_url)
            .field("rekor_url", &self.rekor_url)
            .field("tsa_url", &self.tsa_url)
            .finish_non_exhaustive()
    }
}

impl SigstoreStack {
    /// Start the stack on a background runtime. Panics if it cannot (no loopback, no keys):
    /// a test without its Sigstore cannot go on. See [`SigstoreStack::try_start`].
    pub fn start() -> SigstoreStack {
        Self::try_start().expect("the test kit's Sigstore stack failed to start")
    }

    /// Start the stack, reporting failure instead of panicking.
    pub fn try_start() -> Result<SigstoreStack> {
        Self::try_start_instance(false)
    }

    /// Start a stand-in for GitHub's Sigstore instance (private repositories): a Fulcio CA
    /// named as GitHub's, leaves without SCTs, a TSA, no Rekor and no CT log. Every bundle it
    /// mints carries one RFC 3161 timestamp and no log entry; [`Self::trusted_root_json`] lists
    /// only the CA and the TSA. [`Self::rekor_url`] panics: there is no log. Fresh keys each
    /// time, so a second one is an impostor to the first one's root.
    pub fn start_github_instance() -> SigstoreStack {
        Self::try_start_instance(true)
            .expect("the test kit's GitHub-instance stand-in failed to start")
    }

    fn try_start_instance(github: bool) -> Result<SigstoreStack> {
        let names = if github {
            pki::GITHUB_NAMES
        } else {
            pki::PUBLIC_GOOD_NAMES
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testkit-sigstore")
            .enable_io()
            .enable_time()
            .build()?;
        let clock = Arc::new(Clock::default());
        let oidc = Arc::new(OidcProvider::new()?);
        let counters = Counters::default();
        let faults = faults::StackFaults::default();

        let rekor = if github {
            None
        } else {
            let rekor_listener = http::bind()?;
            let rekor_url = http::url(&rekor_listener)?;
            let rekor_host = rekor_url.trim_start_matches("http://").to_owned();
            let rekor = Arc::new(Rekor::new(&rekor_host, Arc::clone(&clock))?);
            http::serve(
                &runtime,
                rekor_listener,
                faults::Faulty::wrap(&faults.rekor, Arc::clone(&rekor) as Arc<dyn http::Service>),
                Arc::clone(&counters.rekor),
            )?;
            Some((rekor, rekor_url))
        };

        let fulcio_listener = http::bind()?;
        let fulcio_url = http::url(&fulcio_listener)?;
        let fulcio = fulcio::Fulcio {
            ca: pki::FulcioCa::new(&names)?,
            ct: if github {
                None
            } else {
                Some(ct::CtLog::new()?)
            },
            oidc: Arc::clone(&oidc),
            clock: Arc::clone(&clock),
        };
        let tsa_listener = http::bind()?;
        let tsa_url = format!("{}/api/v1/timestamp", http::url(&tsa_listener)?);
        let tsa = tsa::Tsa::new(Arc::clone(&clock), &names)?;
        let tsa_chain = tsa.chain_der();

        let ct_url = format!("{fulcio_url}/ct");
        let chain = fulcio.ca.chain_der();
        let material = trust::TrustMaterial {
            organization: names.organization,
            fulcio_url: &fulcio_url,
            fulcio_chain: &chain,
            rekor: rekor.as_ref().map(|(rekor, url)| trust::LogMaterial {
                url,
                spki: rekor.spki_der(),
                log_id: rekor.log_id(),
            }),
            ct: fulcio.ct.as_ref().map(|ct| trust::LogMaterial {
                url: &ct_url,
                spki: ct.spki_der(),
                log_id: ct.log_id(),
            }),
            tsa: Some((&tsa_url, tsa_chain.to_vec())),
        };
        let trusted_root = serde_json::to_string_pretty(&trust::trusted_root(&material))?;
        let trust_config = serde_json::to_string_pretty(&trust::trust_config(&material))?;
        http::serve(
            &runtime,
            fulcio_listener,
            faults::Faulty::wrap(&faults.fulcio, Arc::new(fulcio)),
            Arc::clone(&counters.fulcio),
        )?;
        http::serve(
            &runtime,
            tsa_listener,
            faults::Faulty::wrap(&faults.tsa, Arc::new(tsa)),
            Arc::clone(&counters.tsa),
        )?;

        // One HTTP client for every signing call, never proxied: the kit only talks to loopback.
        let http = sigstore_sign::reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| KitError::Io(std::io::Error::other(e)))?;

        let (rekor, rekor_url) = match rekor {
            Some((rekor, url)) => (Some(rekor), Some(url)),
            None => (None, None),
        };
        Ok(SigstoreStack {
            runtime: Some(runtime),
            clock,
            oidc,
            rekor,
            http,
            fulcio_url,
            rekor_url,
            github,
            tsa_url: Some(tsa_url),
            timestamping: AtomicBool::new(false),
            trusted_root,
            trust_config,
            counters,
            faults,
        })
    }

    /// Whether this is the GitHub-instance stand-in ([`Self::start_github_instance`]).
    pub fn is_github_instance(&self) -> bool {
        self.github
    }

    /// The `trusted_root.json` that makes verifiers trust this stack (and only this stack).
    pub fn trusted_root_json(&self) -> String {
        self.trusted_root.clone()
    }

    /// A sigstore-python `--trust-config` file: the trusted root plus a signing config naming
    /// this stack's services.
    pub fn trust_config_json(&self) -> String {
        self.trust_config.clone()
    }

    /// Base URL of the kit's Fulcio (`http://127.0.0.1:PORT`), for `SigningServices::new`.
    pub fn fulcio_url(&self) -> String {
        self.fulcio_url.clone()
    }

    /// Base URL of the kit's Rekor v1 log, for `SigningServices::new`. Panics for the
    /// GitHub-instance stand-in, which has no log.
    pub fn rekor_url(&self) -> String {
        self.rekor_url
            .clone()
            .expect("the GitHub-instance stand-in has no Rekor")
    }

    /// URL of the kit's RFC 3161 TSA (`.../api/v1/timestamp`), for
    /// `SigningServices::with_tsa_url`. Always `Some` today; an `Option` because a Sigstore
    /// instance need not run one.
    pub fn tsa_url(&self) -> Option<String> {
        self.tsa_url.clone()
    }

    /// Whether later mints also get an RFC 3161 timestamp from the kit's TSA. Off by default,
    /// because GitHub's attestations on the public-good instance carry none (their time comes
    /// from Rekor's SET); turn it on to test bundles that carry both.
    pub fn set_timestamping(&self, on: bool) {
        self.timestamping.store(on, Ordering::Relaxed);
    }

    /// Stop the kit's clock at `t`: certificates, SCTs, Rekor integrated times and TSA times of
    /// every later mint read `t` exactly, so a test can mint "as if" on a given day.
    ///
    /// The clock belongs to the stack: a test that sets it should own its stack (or hold a lock)
    /// rather than share one with tests running in parallel. Tokens are checked against it too,
    /// so a token minted at one kit time expires an hour of kit time later.
    pub fn set_time(&self, t: DateTime<Utc>) {
        self.clock.set(Some(t));
    }

    /// Let the kit's clock follow real time again (the default).
    pub fn use_real_time(&self) {
        self.clock.set(None);
    }

    /// The kit's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// An OIDC token for `id` that the kit's Fulcio accepts, issued at the kit's current time
    /// and valid for an hour of kit time. Hand it to `IdentityToken::from_jwt` (or to another
    /// process that signs against [`Self::fulcio_url`] and [`Self::rekor_url`]).
    pub fn identity_token(&self, id: &WorkflowIdentity) -> String {
        self.identity_token_from_claims(&id.claims(self.clock.now()))
    }

    /// A token with exactly these claims, signed by the kit's OIDC key: for tokens no
    /// [`WorkflowIdentity`] describes (a missing claim, an odd value). Start from
    /// [`WorkflowIdentity::claims`].
    pub fn identity_token_from_claims(&self, claims: &serde_json::Value) -> String {
        self.oidc
            .mint(claims)
            .expect("signing a JWT with the kit's OIDC key")
    }

    /// A sigstore-sign context for this stack's services (the TSA only with
    /// [`Self::set_timestamping`]), sharing the kit's HTTP client.
    pub fn signing_context(&self) -> SigningContext {
        // The GitHub-instance stand-in has no log; a sigstore-sign signer made from this
        // context fails at its Rekor step (the kit's own minting skips it).
        let rekor_url = self.rekor_url.clone().unwrap_or_default();
        let mut services = SigningServices::new(&self.fulcio_url, &rekor_url);
        if let (true, Some(tsa)) = (self.timestamping.load(Ordering::Relaxed), &self.tsa_url) {
            services = services.with_tsa_url(tsa);
        }
        SigningContext::new(services).with_http_client(self.http.clone())
    }

    /// A sigstore-sign signer for `id`, for async callers that drive signing themselves.
    pub fn signer(&self, id: &WorkflowIdentity) -> Signer {
        let token = IdentityToken::from_jwt(&self.identity_token(id))
            .expect("the kit's own token parses as a JWT");
        self.signing_context().signer(token)
    }

    /// Sign an in-toto statement with `subjects` (name, SHA-256) and this predicate, as `id`;
    /// returns the v0.3 bundle JSON (DSSE envelope, Rekor `dsse` 0.0.1 entry).
    pub fn sign_attestation(
        &self,
        id: &WorkflowIdentity,
        predicate_type: &str,
        predicate: serde_json::Value,
        subjects: &[(String, [u8; 32])],
    ) -> String {
        self.try_sign_attestation(id, predicate_type, predicate, subjects)
            .expect("signing an attestation through the kit")
    }

    /// [`Self::sign_attestation`], reporting failure (e.g. a token Fulcio refuses).
    pub fn try_sign_attestation(
        &self,
        id: &WorkflowIdentity,
        predicate_type: &str,
        predicate: serde_json::Value,
        subjects: &[(String, [u8; 32])],
    ) -> Result<String> {
        self.try_sign_attestation_with_token(
            &self.identity_token(id),
            predicate_type,
            predicate,
            subjects,
        )
    }

    /// [`Self::try_sign_attestation`] with a caller-made token (from
    /// [`Self::identity_token_from_claims`], or a forged one), to see what the kit's Fulcio
    /// makes of it.
    pub fn try_sign_attestation_with_token(
        &self,
        token: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
        subjects: &[(String, [u8; 32])],
    ) -> Result<String> {
        if self.github {
            // sigstore-sign's `Attestation` logs every signature; GitHub's instance does not,
            // so the statement is built here (as `Attestation::build_statement` writes it)
            // and signed without a log entry.
            let statement = serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": subjects
                    .iter()
                    .map(|(name, digest)| serde_json::json!({
                        "name": name,
                        "digest": {"sha256": hex::encode(digest)},
                    }))
                    .collect::<Vec<_>>(),
                "predicateType": predicate_type,
                "predicate": predicate,
            });
            return self.sign_dsse_with_token(
                token,
                "application/vnd.in-toto+json",
                &serde_json::to_vec(&statement)?,
            );
        }
        let attestation = subjects.iter().fold(
            Attestation::new(predicate_type, predicate),
            |attestation, (name, digest)| {
                attestation.add_subject(name.clone(), Sha256Hash::new(*digest))
            },
        );
        let token = IdentityToken::from_jwt(token).map_err(sigstore_sign::Error::from)?;
        let signer = self.signing_context().signer(token);
        bundle_json(self.block_on(async move { signer.sign_attestation(attestation).await }))
    }

    /// Sign these exact statement bytes as the DSSE payload (for odd statements: extra fields,
    /// unusual predicates, many subjects). sigstore-sign insists they parse as an in-toto
    /// statement. Returns the bundle JSON.
    pub fn sign_statement_bytes(&self, id: &WorkflowIdentity, statement: &[u8]) -> String {
        self.try_sign_statement_bytes(id, statement)
            .expect("signing a raw statement through the kit")
    }

    /// [`Self::sign_statement_bytes`], reporting failure.
    pub fn try_sign_statement_bytes(
        &self,
        id: &WorkflowIdentity,
        statement: &[u8],
    ) -> Result<String> {
        if self.github {
            serde_json::from_slice::<sigstore_types::Statement>(statement)?;
            return self.sign_dsse_with_token(
                &self.identity_token(id),
                "application/vnd.in-toto+json",
                statement,
            );
        }
        let signer = self.signer(id);
        let statement = statement.to_vec();
        bundle_json(self.block_on(async move { signer.sign_raw_statement(&statement).await }))
    }

    /// Sign any DSSE payload (any payload type, bytes that are not a statement at all) through
    /// the kit's Fulcio, Rekor and TSA, the way sigstore-sign would but without its check that
    /// the payload is an in-toto statement: for bundles whose statement is malformed, which
    /// [`Self::sign_statement_bytes`] cannot make. Returns the bundle JSON.
    pub fn sign_dsse_payload(
        &self,
        id: &WorkflowIdentity,
        payload_type: &str,
        payload: &[u8],
    ) -> String {
        self.try_sign_dsse_payload(id, payload_type, payload)
            .expect("signing a DSSE payload through the kit")
    }

    /// [`Self::sign_dsse_payload`], reporting failure.
    pub fn try_sign_dsse_payload(
        &self,
        id: &WorkflowIdentity,
        payload_type: &str,
        payload: &[u8],
    ) -> Result<String> {
        self.sign_dsse_with_token(&self.identity_token(id), payload_type, payload)
    }

    /// The steps of `Signer::sign_raw_statement` without its statement check, and, for the
    /// GitHub-instance stand-in, without the log entry and always with a TSA timestamp.
    fn sign_dsse_with_token(
        &self,
        token: &str,
        payload_type: &str,
        payload: &[u8],
    ) -> Result<String> {
        use sigstore_sign::bundle::BundleV03;
        use sigstore_sign::fulcio::FulcioClient;
        use sigstore_sign::rekor::{DsseEntry, RekorClient};
        use sigstore_sign::tsa::TimestampClient;
        use sigstore_types::{DsseEnvelope, DsseSignature, KeyId, KindVersion, PayloadBytes};

        let token = IdentityToken::from_jwt(token).map_err(sigstore_sign::Error::from)?;
        let tsa_url = (self.github || self.timestamping.load(Ordering::Relaxed))
            .then(|| self.tsa_url.clone())
            .flatten();
        let (fulcio_url, rekor_url, http) = (
            self.fulcio_url.clone(),
            self.rekor_url.clone(),
            self.http.clone(),
        );
        let (payload_type, payload) = (payload_type.to_owned(), payload.to_vec());
        let bundle = self.block_on(async move {
            // The steps of `Signer::sign_raw_statement`, minus the statement check.
            let key = sigstore_crypto::KeyPair::generate_ecdsa_p256()?;
            let certificate = FulcioClient::builder(fulcio_url)
                .with_http_client(http.clone())
                .build()?
                .create_signing_certificate(&token, &key)
                .await?
                .leaf_certificate()
                .clone();
            let signature = key.sign(&sigstore_types::pae(&payload_type, &payload))?;
            let envelope = DsseEnvelope::new(
                payload_type,
                PayloadBytes::new(payload),
                DsseSignature::new(signature.clone(), KeyId::default()),
            );
            let mut bundle =
                BundleV03::with_certificate_and_dsse(certificate.clone(), envelope.clone());
            if let Some(rekor_url) = rekor_url {
                let entry = RekorClient::builder(rekor_url)
                    .with_http_client(http.clone())
                    .build()?
                    .create_dsse_entry(DsseEntry::new(&envelope, &certificate)?)
                    .await?
                    .to_bundle_entry(KindVersion::DsseV001)?;
                bundle = bundle.with_tlog_entry(entry);
            }
            if let Some(tsa_url) = tsa_url {
                let timestamp = TimestampClient::builder(tsa_url)
                    .with_http_client(http)
                    .build()?
                    .timestamp_signature(&signature)
                    .await?;
                bundle = bundle.with_rfc3161_timestamp(timestamp);
            }
            Ok::<_, sigstore_sign::Error>(bundle.into_bundle())
        });
        bundle_json(bundle)
    }

    /// Sign a blob (message signature, Rekor `hashedrekord` 0.0.1 entry); returns the bundle
    /// JSON.
    pub fn sign_blob(&self, id: &WorkflowIdentity, blob: &[u8]) -> String {
        self.try_sign_blob(id, blob)
            .expect("signing a blob through the kit")
    }

    /// [`Self::sign_blob`], reporting failure. The GitHub-instance stand-in signs only DSSE
    /// attestations, as GitHub's instance does.
    pub fn try_sign_blob(&self, id: &WorkflowIdentity, blob: &[u8]) -> Result<String> {
        if self.github {
            return Err(KitError::BadRequest(
                "the GitHub-instance stand-in signs attestations (DSSE), not blobs".into(),
            ));
        }
        let signer = self.signer(id);
        let blob = blob.to_vec();
        bundle_json(self.block_on(async move { signer.sign(blob.as_slice()).await }))
    }

    /// Requests each service has answered so far.
    pub fn request_counts(&self) -> RequestCounts {
        RequestCounts {
            fulcio: self.counters.fulcio.load(Ordering::Relaxed),
            rekor: self.counters.rekor.load(Ordering::Relaxed),
            tsa: self.counters.tsa.load(Ordering::Relaxed),
        }
    }

    /// The planned failures of Fulcio, Rekor and the TSA ([`faults::Faults::fail_next`]).
    /// Requests answered by a fault are counted in [`Self::request_counts`] too.
    pub fn faults(&self) -> &faults::StackFaults {
        &self.faults
    }

    /// How many entries the kit's Rekor log holds.
    pub fn rekor_log_size(&self) -> usize {
        self.rekor.as_ref().map_or(0, |r| r.size())
    }

    /// Run `future` on the kit's runtime and wait for it. From inside another runtime (an async
    /// test) blocking that runtime's thread is not allowed, so the wait moves to a scoped thread.
    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the kit's runtime lives until drop");
        crate::rt::block_on(runtime, future)
    }
}

impl Drop for SigstoreStack {
    fn drop(&mut self) {
        // Does not block, so dropping a stack inside an async test is fine too.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn bundle_json(bundle: std::result::Result<Bundle, sigstore_sign::Error>) -> Result<String> {
    Ok(bundle?.to_json()?)
}
