//! A real OCI registry on loopback, shaped like GHCR: Debian's `docker-registry` (CNCF
//! distribution 2.8) with filesystem storage in a temp dir and token auth (`auth.token`), a tiny
//! token service minting ES256 JWTs, and a fault-injecting reverse proxy in front.
//!
//! ```text
//!   client ──▶ proxy (faults, request log) ──▶ docker-registry ──(401 + realm)──▶ token service
//! ```
//!
//! [`Registry::url`] and [`Registry::root_url`] point at the proxy; the kit's own pushes go to
//! the registry directly so that they neither show in the request log nor meet injected faults.
//!
//! Bottles are pushed the way `brew pr-upload` lays them out (Homebrew/brew
//! `github_packages.rb`): per platform a real `.tar.gz` blob, a config blob and an image manifest
//! carrying Homebrew's annotations, then one OCI image index tagged `<version>[-<rebuild>]`
//! whose per-platform descriptors carry `org.opencontainers.image.ref.name`,
//! `sh.brew.bottle.digest`, `sh.brew.bottle.size` and `sh.brew.tab`. [`PushOptions`] pushes
//! deliberately wrong data.
//!
//! Where this differs from GHCR (none of it is visible to a pull client):
//!
//! - The token service grants anonymous `pull` on every repository (GHCR: public packages only)
//!   and `pull,push` to the kit's own basic credentials; it does not accept GHCR's `QQ==`
//!   placeholder as a bearer token (only its own JWTs), so clients must use the token flow.
//! - Only the token flow is offered: the registry itself never takes basic credentials.
//! - Blobs are served by the registry (GHCR redirects to a CDN).

use std::convert::Infallible;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bottle_attest::bottle::{BottleFilename, BottleRef, image_name};
use bottle_attest::digest::sha256_bytes;
use bottle_attest::formula::ResolvedBottle;
use bottle_attest_net::ghcr::{index_tag, platform_ref_name};
use der::asn1::{BitString, UintRef, UtcTime};
use der::oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use http_body_util::BodyExt as _;
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstore_crypto::KeyPair;
use sigstore_types::Sha256Hash;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

/// Where Debian installs the registry (`apt-get install docker-registry`).
pub const DEFAULT_REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// Environment variable naming another `docker-registry` binary.
pub const REGISTRY_BIN_ENV: &str = "BREW_VERIFY_DOCKER_REGISTRY";
/// The repository prefix bottles are pushed under, as on GHCR.
pub const PREFIX: &str = "homebrew/core";
/// `times` for a fault that never wears off.
pub const ALWAYS: usize = usize::MAX;

/// The `service` (JWT audience) the registry expects.
const SERVICE: &str = "brew-verify-testkit-registry";
/// The `iss` the registry trusts.
const ISSUER: &str = "brew-verify-testkit-token-service";
/// The only user the token service knows; it may push.
const PUSH_USER: &str = "testkit-pusher";
/// Token lifetime, as GHCR's (5 minutes).
const TOKEN_LIFETIME_SECS: u64 = 300;
/// How long `docker-registry` may take to answer `/v2/`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest request body the proxy forwards (the kit's own pushes bypass it).
const MAX_PROXIED_BODY: usize = 64 << 20;
/// `ecdsa-with-SHA256`.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// Fixed mtime of every tar entry, so the same inputs give the same bottle bytes.
const TAR_MTIME: u64 = 1_700_000_000;

/// Why the registry could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// `docker-registry` is not installed.
    #[error(
        "`{0}` not found: install Debian's registry with `apt-get install docker-registry` (or set {REGISTRY_BIN_ENV})"
    )]
    NotInstalled(String),
    /// A socket, file or process operation failed.
    #[error("registry kit I/O failed")]
    Io(#[from] std::io::Error),
    /// The registry process did not come up.
    #[error("docker-registry did not become ready: {why}\n--- registry log (tail) ---\n{log}")]
    NotReady {
        /// What was seen.
        why: String,
        /// The end of the registry's log.
        log: String,
    },
    /// A key, certificate or token could not be made.
    #[error("registry kit crypto failed: {0}")]
    Crypto(String),
    /// Pushing to the registry failed.
    #[error("push to the kit registry failed: {0}")]
    Push(String),
}

/// Results of registry kit operations.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// A failure the proxy injects into matching requests (path contains `path_contains`), for the
/// next `times` of them ([`ALWAYS`] for ever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer HTTP `code` with an OCI error body, without asking the registry.
    Status {
        /// The status to answer.
        code: u16,
        /// How many matching requests get it.
        times: usize,
        /// Substring of the request path to match (`/manifests/`, `/blobs/`, `""` for all).
        path_contains: String,
    },
    /// Forward, then send only the first half of the body (with the full `Content-Length`)
    /// and drop the connection.
    TruncateBody {
        /// How many matching requests get it.
        times: usize,
        /// Substring of the request path to match.
        path_contains: String,
    },
    /// Forward without the client's `Authorization` header (the registry then answers 401).
    DropAuth {
        /// How many matching requests get it.
        times: usize,
        /// Substring of the request path to match.
        path_contains: String,
    },
    /// Answer `429 Too Many Requests` with `Retry-After: retry_after_secs` and the OCI
    /// distribution spec's `TOOMANYREQUESTS` error, as a registry throttling a client does.
    TooManyRequests {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
        /// How many matching requests get it.
        times: usize,
        /// Substring of the request path to match.
        path_contains: String,
    },
}

impl Fault {
    fn path_contains(&self) -> &str {
        match self {
            Fault::Status { path_contains, .. }
            | Fault::TruncateBody { path_contains, .. }
            | Fault::DropAuth { path_contains, .. }
            | Fault::TooManyRequests { path_contains, .. } => path_contains,
        }
    }

    fn times(&self) -> usize {
        match self {
            Fault::Status { times, .. }
            | Fault::TruncateBody { times, .. }
            | Fault::DropAuth { times, .. }
            | Fault::TooManyRequests { times, .. } => *times,
        }
    }

    fn times_mut(&mut self) -> &mut usize {
        match self {
            Fault::Status { times, .. }
            | Fault::TruncateBody { times, .. }
            | Fault::DropAuth { times, .. }
            | Fault::TooManyRequests { times, .. } => times,
        }
    }
}

/// One platform's bottle to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformBottle {
    /// Bottle tag (`arm64_sonoma`, `x86_64_linux`, `all`…).
    pub tag: String,
    /// The formula API's `cellar` for it.
    pub cellar: String,
    /// Extra files in the tarball, by path under `<formula>/<version>/`.
    pub extra_files: Vec<(String, Vec<u8>)>,
}

impl PlatformBottle {
    /// A bottle for `tag` holding a small `bin/<formula>` script and an `INSTALL_RECEIPT.json`
    /// (both mention the tag, so every platform's blob differs).
    pub fn new(tag: &str) -> Self {
        Self {
            tag: tag.to_owned(),
            cellar: ":any_skip_relocation".to_owned(),
            extra_files: Vec::new(),
        }
    }

    /// Add a file at `path` (relative to `<formula>/<version>/`), e.g. to make a large blob.
    pub fn with_file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.extra_files.push((path.to_owned(), contents.into()));
        self
    }
}

/// Deliberately wrong data for [`Registry::push_bottles_with`]; tags name platforms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Platforms whose index entry claims a `sh.brew.bottle.digest` that is not their blob's.
    pub wrong_digest_annotation: Vec<String>,
    /// Platforms whose index entry (annotations intact) points at a decoy manifest: a valid
    /// manifest, but for other bytes.
    pub decoy_manifest: Vec<String>,
    /// Platforms whose manifest bytes are altered in the registry's storage after the push
    /// (the layer digest swapped for another), so the registry serves a manifest that no
    /// longer hashes to the digest the index names.
    pub tamper_stored_manifest: Vec<String>,
    /// Platforms whose bottle blob is altered in the registry's storage after the push (same
    /// length, last byte flipped), so the registry serves bytes that are not the bottle.
    pub tamper_stored_blob: Vec<String>,
}

/// One pushed platform bottle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedBottle {
    /// Bottle tag.
    pub tag: String,
    /// The formula API's `cellar`.
    pub cellar: String,
    /// The bottle's file name.
    pub filename: BottleFilename,
    /// sha256 of the `.tar.gz`.
    pub sha256: Sha256Hash,
    /// The `.tar.gz` bytes.
    pub bytes: Vec<u8>,
    /// The platform manifest's digest (`sha256:…`) as pushed (not a decoy's).
    pub manifest_digest: String,
    /// What the formula API would resolve this bottle to (URL on [`Registry::root_url`]).
    pub resolved: ResolvedBottle,
}

/// What [`Registry::push_bottles`] pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedBottles {
    /// Formula name.
    pub formula: String,
    /// Package version (`1.2.3_1`).
    pub version: String,
    /// Rebuild number.
    pub rebuild: u32,
    /// The bottle root clients use (the proxy's).
    pub root_url: String,
    /// The repository (`homebrew/core/<image>`).
    pub repository: String,
    /// The index tag.
    pub index_tag: String,
    /// The index's digest (`sha256:…`).
    pub index_digest: String,
    /// Per platform, in push order.
    pub bottles: Vec<PushedBottle>,
}

impl PushedBottles {
    /// The bottle pushed for `tag`. Panics if there is none (a test bug).
    pub fn bottle(&self, tag: &str) -> &PushedBottle {
        self.bottles
            .iter()
            .find(|b| b.tag == tag)
            .unwrap_or_else(|| panic!("no bottle for `{tag}` was pushed"))
    }

    /// The formula JSON object the formula API would serve for these bottles (`name`,
    /// `versions.stable`, `revision`, `bottle.stable {rebuild, root_url, files}`,
    /// `dependencies`). A `_<n>` suffix of the package version becomes the revision.
    pub fn formula_json(&self, dependencies: &[&str]) -> Value {
        let (stable, revision) = split_revision(&self.version);
        let files: serde_json::Map<String, Value> = self
            .bottles
            .iter()
            .map(|b| {
                (
                    b.tag.clone(),
                    json!({
                        "cellar": b.cellar,
                        "url": b.resolved.url,
                        "sha256": b.sha256.to_hex(),
                    }),
                )
            })
            .collect();
        json!({
            "name": self.formula,
            "full_name": self.formula,
            "versions": {"stable": stable, "head": null, "bottle": true},
            "revision": revision,
            "dependencies": dependencies,
            "bottle": {"stable": {
                "rebuild": self.rebuild,
                "root_url": self.root_url,
                "files": files,
            }},
        })
    }
}

/// `formula_json` for several pushes at once: the array `formula.json` is.
pub fn formula_json(pushed: &[(&PushedBottles, &[&str])]) -> Value {
    Value::Array(
        pushed
            .iter()
            .map(|(p, deps)| p.formula_json(deps))
            .collect(),
    )
}

/// `1.2.3_4` → (`1.2.3`, 4); no numeric `_` suffix → revision 0.
fn split_revision(pkg_version: &str) -> (&str, u32) {
    match pkg_version.rsplit_once('_') {
        Some((stable, rev)) if !stable.is_empty() => match rev.parse() {
            Ok(rev) => (stable, rev),
            Err(_) => (pkg_version, 0),
        },
        _ => (pkg_version, 0),
    }
}

/// A running registry, token service and proxy. Everything stops on drop.
pub struct Registry {
    runtime: Option<tokio::runtime::Runtime>,
    child: Option<Child>,
    storage: tempfile::TempDir,
    registry_addr: String,
    proxy_addr: String,
    token_url: String,
    tokens: Arc<TokenService>,
    proxy: Arc<Proxy>,
    pusher: oci_client::Client,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("registry", &self.registry_addr)
            .field("proxy", &self.proxy_addr)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// The `docker-registry` binary to run, if installed.
    pub fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(REGISTRY_BIN_ENV) {
            return Some(PathBuf::from(path)).filter(|p| p.is_file());
        }
        let default = PathBuf::from(DEFAULT_REGISTRY_BIN);
        if default.is_file() {
            return Some(default);
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("docker-registry"))
                .find(|p| p.is_file())
        })
    }

    /// Whether `docker-registry` is installed.
    pub fn is_installed() -> bool {
        Self::binary().is_some()
    }

    /// Start everything. Panics if it cannot: a test without its registry cannot go on.
    pub fn start() -> Registry {
        match Self::try_start() {
            Ok(registry) => registry,
            Err(e) => panic!("the test kit's registry failed to start: {e}"),
        }
    }

    /// Start everything, reporting failure instead of panicking.
    pub fn try_start() -> Result<Registry> {
        let binary = Self::binary().ok_or_else(|| {
            RegistryError::NotInstalled(
                std::env::var(REGISTRY_BIN_ENV).unwrap_or_else(|_| DEFAULT_REGISTRY_BIN.into()),
            )
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testkit-registry")
            .enable_io()
            .enable_time()
            .build()?;
        let storage = tempfile::Builder::new()
            .prefix("testkit-registry-")
            .tempdir()?;

        let tokens = Arc::new(TokenService::new()?);
        let token_listener = bind()?;
        let token_url = format!("http://{}/token", token_listener.local_addr()?);
        let certificate = storage.path().join("token-signer.pem");
        std::fs::write(&certificate, &tokens.certificate_pem)?;
        {
            let tokens = Arc::clone(&tokens);
            serve(
                &runtime,
                token_listener,
                Arc::new(move |request| {
                    let tokens = Arc::clone(&tokens);
                    Box::pin(async move { tokens.handle(request).await })
                }),
            )?;
        }

        // The registry binds its own port: find a free one and retry if another process takes
        // it first.
        let mut last_error = None;
        let mut started = None;
        for _ in 0..3 {
            let port = free_port()?;
            match start_registry(&binary, storage.path(), port, &token_url, &certificate) {
                Ok(child) => {
                    started = Some((child, format!("127.0.0.1:{port}")));
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let (child, registry_addr) = match started {
            Some(started) => started,
            None => {
                return Err(last_error.unwrap_or_else(|| RegistryError::NotReady {
                    why: "no attempt was made".into(),
                    log: String::new(),
                }));
            }
        };

        let upstream = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| RegistryError::Io(std::io::Error::other(e)))?;
        let proxy = Arc::new(Proxy {
            upstream,
            registry_base: format!("http://{registry_addr}"),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        });
        let proxy_listener = bind()?;
        let proxy_addr = proxy_listener.local_addr()?.to_string();
        {
            let proxy = Arc::clone(&proxy);
            serve(
                &runtime,
                proxy_listener,
                Arc::new(move |request| {
                    let proxy = Arc::clone(&proxy);
                    Box::pin(async move { proxy.handle(request).await })
                }),
            )?;
        }

        let pusher = oci_client::Client::try_from(oci_client::client::ClientConfig {
            protocol: oci_client::client::ClientProtocol::Http,
            ..Default::default()
        })
        .map_err(|e| RegistryError::Push(e.to_string()))?;

        let mut registry = Registry {
            runtime: Some(runtime),
            child: Some(child),
            storage,
            registry_addr,
            proxy_addr,
            token_url,
            tokens,
            proxy,
            pusher,
        };
        registry.check_alive()?;
        Ok(registry)
    }

    /// Base URL of the proxy in front of the registry (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.proxy_addr)
    }

    /// The bottle root clients use: `http://127.0.0.1:PORT/v2/homebrew/core` (the proxy).
    pub fn root_url(&self) -> String {
        format!("{}/v2/{PREFIX}", self.url())
    }

    /// Base URL of the registry itself, bypassing the proxy.
    pub fn direct_url(&self) -> String {
        format!("http://{}", self.registry_addr)
    }

    /// The token service's URL (the registry's `realm`).
    pub fn token_url(&self) -> String {
        self.token_url.clone()
    }

    /// The registry's storage directory.
    pub fn storage_dir(&self) -> &Path {
        self.storage.path()
    }

    /// Whether the token service hands out anonymous pull tokens (the default, as GHCR does for
    /// public packages). Off, anonymous clients get 401 from the token service.
    pub fn set_anonymous_pull(&self, allowed: bool) {
        self.tokens.anonymous.store(allowed, Ordering::Relaxed);
    }

    /// A token granting pull on `repository` (`homebrew/core/wget`), as a client would send it
    /// with `HOMEBREW_DOCKER_REGISTRY_TOKEN`.
    pub fn pull_token(&self, repository: &str) -> String {
        self.tokens
            .mint("testkit-bearer", &[(repository.to_owned(), vec!["pull"])])
            .unwrap_or_else(|e| panic!("minting a registry token: {e}"))
    }

    /// base64 of `user:password` of the kit's own account (pull and push), as a client would
    /// set `HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN`.
    pub fn basic_auth_token(&self) -> String {
        STANDARD.encode(format!("{PUSH_USER}:{}", self.tokens.password))
    }

    /// Inject a fault into later proxied requests.
    pub fn inject(&self, fault: Fault) {
        lock(&self.proxy.faults).push(fault);
    }

    /// Remove every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.proxy.faults).clear();
    }

    /// Every request the proxy has seen: (method, path, whether it carried `Authorization`).
    pub fn requests(&self) -> Vec<(String, String, bool)> {
        lock(&self.proxy.log).clone()
    }

    /// How many requests the proxy has seen.
    pub fn request_count(&self) -> usize {
        lock(&self.proxy.log).len()
    }

    /// How many proxied requests had a path containing `needle`.
    pub fn count_requests(&self, needle: &str) -> usize {
        lock(&self.proxy.log)
            .iter()
            .filter(|(_, path, _)| path.contains(needle))
            .count()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        lock(&self.proxy.log).clear();
    }

    /// How many token requests the token service has answered.
    pub fn token_requests(&self) -> u64 {
        self.tokens.requests.load(Ordering::Relaxed)
    }

    /// Push `platforms`' bottles of `formula` at package version `version` (with `rebuild`) as
    /// `brew pr-upload` lays them out. Panics on failure.
    pub fn push_bottles(
        &self,
        formula: &str,
        version: &str,
        rebuild: u32,
        platforms: &[PlatformBottle],
    ) -> PushedBottles {
        self.push_bottles_with(
            formula,
            version,
            rebuild,
            platforms,
            &PushOptions::default(),
        )
    }

    /// [`Registry::push_bottles`] with deliberately wrong data. Panics on failure.
    pub fn push_bottles_with(
        &self,
        formula: &str,
        version: &str,
        rebuild: u32,
        platforms: &[PlatformBottle],
        options: &PushOptions,
    ) -> PushedBottles {
        self.try_push_bottles(formula, version, rebuild, platforms, options)
            .unwrap_or_else(|e| panic!("pushing `{formula}` to the kit registry: {e}"))
    }

    /// [`Registry::push_bottles_with`], reporting failure.
    pub fn try_push_bottles(
        &self,
        formula: &str,
        version: &str,
        rebuild: u32,
        platforms: &[PlatformBottle],
        options: &PushOptions,
    ) -> Result<PushedBottles> {
        let plan = PushPlan::new(self, formula, version, rebuild, platforms, options)?;
        let pushed = self.block_on(plan.push(&self.pusher, &self.registry_addr, &self.tokens))?;
        let find = |tag: &String| {
            pushed
                .bottles
                .iter()
                .find(|b| &b.tag == tag)
                .ok_or_else(|| RegistryError::Push(format!("no platform `{tag}` to tamper with")))
        };
        for tag in &options.tamper_stored_manifest {
            let bottle = find(tag)?;
            // Point the layer at other bytes: the attack a digest check must stop.
            let needle = bottle.sha256.to_hex();
            let other = sha256_bytes(b"not the bottle the index names").to_hex();
            self.tamper_stored(&bottle.manifest_digest, |bytes| {
                let text = String::from_utf8_lossy(bytes).replace(&needle, &other);
                *bytes = text.into_bytes();
            })?;
        }
        for tag in &options.tamper_stored_blob {
            let bottle = find(tag)?;
            self.tamper_stored(&format!("sha256:{}", bottle.sha256.to_hex()), |bytes| {
                if let Some(last) = bytes.last_mut() {
                    *last ^= 0xff;
                }
            })?;
        }
        Ok(pushed)
    }

    /// Rewrite the stored content of blob `digest` in place (keeping its length, so sizes the
    /// registry may have cached still hold). Distribution serves stored bytes without checking
    /// them again, like a compromised registry or mirror would.
    pub fn tamper_stored(&self, digest: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|hex| hex.len() == 64)
            .ok_or_else(|| RegistryError::Push(format!("`{digest}` is not a sha256 digest")))?;
        let path = self
            .storage
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        let mut bytes = std::fs::read(&path)?;
        let before = bytes.clone();
        edit(&mut bytes);
        if bytes == before || bytes.len() != before.len() {
            return Err(RegistryError::Push(format!(
                "tampering with {digest} must change its bytes and keep its length"
            )));
        }
        std::fs::write(&path, bytes)?;
        Ok(())
    }

    /// Fail if the registry process has exited.
    fn check_alive(&mut self) -> Result<()> {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait()?,
            None => None,
        };
        match exited {
            Some(status) => Err(RegistryError::NotReady {
                why: format!("docker-registry exited with {status}"),
                log: log_tail(self.storage.path()),
            }),
            None => Ok(()),
        }
    }

    /// Run `future` on the kit's runtime and wait for it, from sync code or (on a scoped
    /// thread) from inside another runtime.
    fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the registry kit's runtime lives until drop");
        crate::rt::block_on(runtime, future)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not take every later assertion down with it.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bind() -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Write the registry's config and start it on `port`, waiting until `/v2/` answers.
fn start_registry(
    binary: &Path,
    dir: &Path,
    port: u16,
    realm: &str,
    certificate: &Path,
) -> Result<Child> {
    let config = format!(
        r#"version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: brew-verify-testkit-{port}
health:
  storagedriver:
    enabled: false
auth:
  token:
    realm: {realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {certificate}
"#,
        data = dir.join("data").display(),
        certificate = certificate.display(),
    );
    let config_path = dir.join("config.yml");
    std::fs::write(&config_path, config)?;
    let log = std::fs::File::create(dir.join("registry.log"))?;
    let mut child = Command::new(binary)
        .arg("serve")
        .arg(&config_path)
        // `REGISTRY_*` variables would override the config.
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(RegistryError::NotReady {
                why: format!("docker-registry exited with {status} (port {port} taken?)"),
                log: log_tail(dir),
            });
        }
        match probe(port) {
            Some(401) => return Ok(child),
            Some(status) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RegistryError::NotReady {
                    why: format!("`GET /v2/` answered {status}, expected 401 (token auth)"),
                    log: log_tail(dir),
                });
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RegistryError::NotReady {
                    why: format!("nothing answered on port {port} within {STARTUP_TIMEOUT:?}"),
                    log: log_tail(dir),
                });
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The status of `GET /v2/` on the registry, if it answers.
fn probe(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(
            format!("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing shared by the token service and the proxy. (`crate::http` does not pass request
// headers to its handlers, and both need them.)

type Handler = Arc<
    dyn Fn(
            hyper::Request<Incoming>,
        ) -> Pin<Box<dyn Future<Output = hyper::Response<KitBody>> + Send>>
        + Send
        + Sync,
>;

fn serve(
    runtime: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    handler: Handler,
) -> std::io::Result<()> {
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                // A client hanging up (or a body cut short on purpose) ends the connection.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(())
}

/// A response body: whole, or cut short with an error after its first part (so that hyper
/// drops the connection with the announced `Content-Length` unmet).
enum KitBody {
    Whole(Option<Bytes>),
    /// The part to send, then a pause (so hyper flushes the head and that part to the client
    /// before the connection drops), then the error.
    CutShort(Option<Bytes>, Option<Pin<Box<tokio::time::Sleep>>>),
}

impl KitBody {
    fn cut_short(part: Bytes) -> Self {
        KitBody::CutShort(
            Some(part),
            Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
        )
    }
}

impl hyper::body::Body for KitBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            KitBody::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            KitBody::CutShort(bytes, pause) => {
                if let Some(b) = bytes.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                let Some(sleep) = pause.as_mut() else {
                    return Poll::Ready(None);
                };
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *pause = None;
                Poll::Ready(Some(Err(std::io::Error::other(
                    "body cut short by the test kit",
                ))))
            }
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            KitBody::Whole(bytes) => {
                hyper::body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            KitBody::CutShort(..) => hyper::body::SizeHint::default(),
        }
    }
}

fn response(status: u16, content_type: &'static str, body: Vec<u8>) -> hyper::Response<KitBody> {
    let mut response = hyper::Response::new(KitBody::Whole(Some(Bytes::from(body))));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(status: u16, body: &Value) -> hyper::Response<KitBody> {
    response(
        status,
        "application/json",
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------
// The token service.

/// Mints the JWTs the registry's `auth.token` block trusts: ES256, signed by a key whose
/// self-signed certificate is the registry's `rootcertbundle`, named in the JWT header by its
/// libtrust key ID (`kid`), which is how distribution 2.8 finds a trusted key.
struct TokenService {
    key: KeyPair,
    kid: String,
    certificate_pem: String,
    password: String,
    anonymous: AtomicBool,
    requests: AtomicU64,
    serial: AtomicU64,
}

impl TokenService {
    fn new() -> Result<Self> {
        let crypto = |e: &dyn std::fmt::Display| RegistryError::Crypto(e.to_string());
        let key = KeyPair::generate_ecdsa_p256().map_err(|e| crypto(&e))?;
        let spki_der = key
            .public_key_der()
            .map_err(|e| crypto(&e))?
            .as_bytes()
            .to_vec();
        let certificate_der = self_signed_certificate(&key, &spki_der)?;
        let password = hex::encode(
            &Sha256::digest(format!("{:?}{}", SystemTime::now(), std::process::id()))[..16],
        );
        Ok(Self {
            kid: libtrust_key_id(&spki_der),
            certificate_pem: pem("CERTIFICATE", &certificate_der),
            key,
            password,
            anonymous: AtomicBool::new(true),
            requests: AtomicU64::new(0),
            serial: AtomicU64::new(0),
        })
    }

    /// `GET /token?service=…&scope=repository:NAME:ACTIONS…` with optional basic credentials.
    async fn handle(&self, request: hyper::Request<Incoming>) -> hyper::Response<KitBody> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if request.uri().path() != "/token" {
            return json_response(404, &json!({"details": "not found"}));
        }
        let query = request.uri().query().unwrap_or_default().to_owned();
        let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://kit/?{query}"))
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default();
        let basic = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .map(|b64| {
                STANDARD
                    .decode(b64.trim())
                    .ok()
                    .and_then(|raw| String::from_utf8(raw).ok())
                    .unwrap_or_default()
            });
        let (subject, allowed): (&str, &[&str]) = match basic {
            Some(credentials) => {
                if credentials != format!("{PUSH_USER}:{}", self.password) {
                    return json_response(
                        401,
                        &json!({"details": "incorrect username or password"}),
                    );
                }
                (PUSH_USER, &["pull", "push"])
            }
            None if self.anonymous.load(Ordering::Relaxed) => ("", &["pull"]),
            None => {
                return json_response(
                    401,
                    &json!({"details": "anonymous access is disabled: credentials required"}),
                );
            }
        };
        let access: Vec<(String, Vec<&str>)> = pairs
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split(' '))
            .filter_map(|scope| {
                let rest = scope.strip_prefix("repository:")?;
                let (name, actions) = rest.rsplit_once(':')?;
                let granted: Vec<&str> = actions
                    .split(',')
                    .filter_map(|a| allowed.iter().find(|x| **x == a).copied())
                    .collect();
                Some((name.to_owned(), granted))
            })
            .collect();
        match self.mint(subject, &access) {
            Ok(token) => json_response(
                200,
                &json!({
                    "token": token,
                    "access_token": token,
                    "expires_in": TOKEN_LIFETIME_SECS,
                    "issued_at": chrono::Utc::now().to_rfc3339(),
                }),
            ),
            Err(e) => json_response(500, &json!({"details": e.to_string()})),
        }
    }

    /// A JWT for `subject` granting `access` (repository, actions).
    fn mint(&self, subject: &str, access: &[(String, Vec<&str>)]) -> Result<String> {
        let now = now_secs();
        let header = json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let claims = json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + TOKEN_LIFETIME_SECS,
            "nbf": now.saturating_sub(10),
            "iat": now,
            "jti": format!("testkit-{}", self.serial.fetch_add(1, Ordering::Relaxed)),
            "access": access
                .iter()
                .map(|(name, actions)| json!({"type": "repository", "name": name, "actions": actions}))
                .collect::<Vec<_>>(),
        });
        let to_json = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(to_json(&header)),
            URL_SAFE_NO_PAD.encode(to_json(&claims))
        );
        let der = self
            .key
            .sign(signing_input.as_bytes())
            .map_err(|e| RegistryError::Crypto(e.to_string()))?;
        let fixed = ecdsa_der_to_fixed(der.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(fixed)))
    }
}

/// An ECDSA `Ecdsa-Sig-Value` (DER) as JWS's fixed `r || s`.
fn ecdsa_der_to_fixed(der: &[u8]) -> Result<[u8; 64]> {
    #[derive(der::Sequence)]
    struct EcdsaSig<'a> {
        r: UintRef<'a>,
        s: UintRef<'a>,
    }
    let sig = EcdsaSig::from_der(der).map_err(|e| RegistryError::Crypto(e.to_string()))?;
    let mut fixed = [0u8; 64];
    let (r_slot, s_slot) = fixed.split_at_mut(32);
    for (value, slot) in [(sig.r, r_slot), (sig.s, s_slot)] {
        let bytes = value.as_bytes();
        if bytes.len() > 32 {
            return Err(RegistryError::Crypto(
                "ECDSA scalar longer than 32 bytes".into(),
            ));
        }
        slot[32 - bytes.len()..].copy_from_slice(bytes);
    }
    Ok(fixed)
}

/// docker/libtrust's key ID: SHA-256 of the DER SubjectPublicKeyInfo, truncated to 240 bits,
/// base32 (no padding) in colon-separated groups of four.
fn libtrust_key_id(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(spki_der);
    let mut chars = String::with_capacity(48);
    for chunk in digest[..30].chunks(5) {
        let mut buf = [0u8; 8];
        buf[3..].copy_from_slice(chunk);
        let bits = u64::from_be_bytes(buf);
        for i in (0..8).rev() {
            chars.push(char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]));
        }
    }
    chars
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// A minimal self-signed certificate for `key`: the registry only reads its public key.
fn self_signed_certificate(key: &KeyPair, spki_der: &[u8]) -> Result<Vec<u8>> {
    let der_error = |e: der::Error| RegistryError::Crypto(e.to_string());
    let name: Name = "CN=brew-verify testkit registry token service"
        .parse()
        .map_err(der_error)?;
    let now = now_secs();
    let time = |secs: u64| -> Result<Time> {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(secs)).map_err(der_error)?,
        ))
    };
    let algorithm = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&[0x01]).map_err(der_error)?,
        signature: algorithm.clone(),
        issuer: name.clone(),
        validity: Validity {
            not_before: time(now - 86_400)?,
            not_after: time(now + 10 * 365 * 86_400)?,
        },
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(der_error)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = key
        .sign(&tbs.to_der().map_err(der_error)?)
        .map_err(|e| RegistryError::Crypto(e.to_string()))?;
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(signature.as_bytes()).map_err(der_error)?,
    }
    .to_der()
    .map_err(der_error)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

// ---------------------------------------------------------------------------------------------
// The proxy.

struct Proxy {
    upstream: reqwest::Client,
    registry_base: String,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<(String, String, bool)>>,
}

impl Proxy {
    /// The first live fault matching `path`, used up by one.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let fault = faults
            .iter_mut()
            .find(|f| path.contains(f.path_contains()) && f.times() > 0)?;
        let times = fault.times_mut();
        if *times != ALWAYS {
            *times -= 1;
        }
        Some(fault.clone())
    }

    async fn handle(&self, request: hyper::Request<Incoming>) -> hyper::Response<KitBody> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        lock(&self.log).push((
            parts.method.to_string(),
            path.clone(),
            parts.headers.contains_key(AUTHORIZATION),
        ));
        let fault = self.take_fault(&path);
        if let Some(Fault::Status { code, .. }) = fault {
            return json_response(
                code,
                &json!({"errors": [{
                    "code": "UNAVAILABLE",
                    "message": format!("HTTP {code} injected by the test kit"),
                }]}),
            );
        }
        if let Some(Fault::TooManyRequests {
            retry_after_secs, ..
        }) = fault
        {
            let mut answer = json_response(
                429,
                &json!({"errors": [{
                    "code": "TOOMANYREQUESTS",
                    "message": "too many requests (injected by the test kit)",
                }]}),
            );
            if let Ok(value) = hyper::header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                answer
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, value);
            }
            return answer;
        }
        let body = match http_body_util::Limited::new(body, MAX_PROXIED_BODY)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return json_response(400, &json!({"details": e.to_string()})),
        };
        let drop_auth = matches!(fault, Some(Fault::DropAuth { .. }));
        let target = format!(
            "{}{}",
            self.registry_base,
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut forward = self.upstream.request(parts.method.clone(), target);
        for (name, value) in &parts.headers {
            if is_hop_by_hop(name) || (drop_auth && name == AUTHORIZATION) {
                continue;
            }
            forward = forward.header(name, value);
        }
        let upstream = match forward.body(body).send().await {
            Ok(upstream) => upstream,
            Err(e) => return json_response(502, &json!({"details": e.to_string()})),
        };
        let status = upstream.status();
        let headers = upstream.headers().clone();
        let bytes = match upstream.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return json_response(502, &json!({"details": e.to_string()})),
        };
        let full_length = bytes.len();
        let truncate = matches!(fault, Some(Fault::TruncateBody { .. })) && full_length > 1;
        let body = if truncate {
            KitBody::cut_short(bytes.slice(..full_length / 2))
        } else {
            KitBody::Whole(Some(bytes))
        };
        let mut response = hyper::Response::new(body);
        *response.status_mut() = status;
        for (name, value) in &headers {
            if !is_hop_by_hop(name) && name != CONTENT_LENGTH {
                response.headers_mut().append(name, value.clone());
            }
        }
        if truncate {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(full_length));
        } else if parts.method == hyper::Method::HEAD {
            // No body to size: keep the registry's announcement.
            if let Some(length) = headers.get(CONTENT_LENGTH) {
                response
                    .headers_mut()
                    .insert(CONTENT_LENGTH, length.clone());
            }
        }
        response
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

// ---------------------------------------------------------------------------------------------
// Bottles and their OCI layout.

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// OCI platform of a bottle tag: (architecture, os, os.version), as brew's
/// `TAB_ARCH_TO_PLATFORM_ARCHITECTURE` and `BUILT_ON_OS_TO_PLATFORM_OS` would give.
fn platform_of(tag: &str) -> (&'static str, &'static str, String) {
    let (arch, system) = match tag.strip_prefix("arm64_") {
        Some(rest) => ("arm64", rest),
        None => match tag.strip_prefix("x86_64_") {
            Some(rest) => ("amd64", rest),
            None => ("amd64", tag),
        },
    };
    if system == "linux" {
        return (arch, "linux", "Ubuntu 22.04".to_owned());
    }
    let macos = match system {
        "tahoe" => "26",
        "sequoia" => "15",
        "sonoma" | "all" => "14",
        "ventura" => "13",
        "monterey" => "12",
        "big_sur" => "11",
        "catalina" => "10.15",
        _ => "",
    };
    (arch, "darwin", format!("macOS {macos}").trim().to_owned())
}

/// The bottle's tab (`sh.brew.tab`), shaped like brew's.
fn tab_json(tag: &str) -> Value {
    let (arch, os, os_version) = platform_of(tag);
    let arch = if arch == "amd64" { "x86_64" } else { arch };
    let built_on = if os == "linux" {
        json!({"os": "Linux", "os_version": os_version, "cpu_family": "dunno",
               "glibc_version": "2.35", "oldest_cpu_family": "core2"})
    } else {
        json!({"os": "Macintosh", "os_version": os_version, "cpu_family": "dunno",
               "xcode": "16.0", "clt": "16.0.0.0.1.1724870337"})
    };
    json!({
        "homebrew_version": "4.4.0",
        "changed_files": [],
        "source_modified_time": TAR_MTIME,
        "compiler": "clang",
        "runtime_dependencies": [],
        "arch": arch,
        "built_on": built_on,
    })
}

/// One ustar entry (file when `data` is `Some`, directory otherwise).
fn tar_entry(out: &mut Vec<u8>, path: &str, data: Option<&[u8]>) -> Result<()> {
    let mut header = [0u8; 512];
    if path.len() > 100 {
        return Err(RegistryError::Push(format!("tar path too long: {path}")));
    }
    let octal = |field: &mut [u8], value: u64| {
        let digits = format!("{value:0width$o}", width = field.len() - 1);
        field[..digits.len()].copy_from_slice(digits.as_bytes());
    };
    header[..path.len()].copy_from_slice(path.as_bytes());
    let (mode, size, kind) = match data {
        Some(d) => (0o644, d.len() as u64, b'0'),
        None => (0o755, 0, b'5'),
    };
    octal(&mut header[100..108], mode);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], size);
    octal(&mut header[136..148], TAR_MTIME);
    header[148..156].copy_from_slice(b"        ");
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    let digits = format!("{checksum:06o}\0 ");
    header[148..156].copy_from_slice(digits.as_bytes());
    out.extend_from_slice(&header);
    if let Some(d) = data {
        out.extend_from_slice(d);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    Ok(())
}

/// A real bottle: a gzipped ustar archive of `<formula>/<version>/…`. Returns (tar, tar.gz).
fn bottle_tarball(
    formula: &str,
    version: &str,
    platform: &PlatformBottle,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let root = format!("{formula}/{version}");
    let script = format!("#!/bin/sh\necho '{formula} {version} ({})'\n", platform.tag);
    let receipt = serde_json::to_vec_pretty(&tab_json(&platform.tag)).unwrap_or_default();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (format!("bin/{formula}"), script.into_bytes()),
        ("INSTALL_RECEIPT.json".to_owned(), receipt),
    ];
    files.extend(platform.extra_files.iter().cloned());
    let mut tar = Vec::new();
    tar_entry(&mut tar, &format!("{formula}/"), None)?;
    tar_entry(&mut tar, &format!("{root}/"), None)?;
    let mut dirs = std::collections::BTreeSet::new();
    for (path, data) in &files {
        let parts: Vec<&str> = path.split('/').collect();
        let directories = parts.split_last().map_or(&[][..], |(_, dirs)| dirs);
        let mut prefix = String::new();
        for part in directories {
            prefix.push_str(part);
            prefix.push('/');
            if dirs.insert(prefix.clone()) {
                tar_entry(&mut tar, &format!("{root}/{prefix}"), None)?;
            }
        }
        tar_entry(&mut tar, &format!("{root}/{path}"), Some(data))?;
    }
    tar.extend_from_slice(&[0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar)?;
    Ok((tar, gz.finish()?))
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_bytes(bytes).to_hex())
}

/// One platform, ready to push.
struct PlatformPlan {
    tag: String,
    cellar: String,
    filename: BottleFilename,
    blob: Vec<u8>,
    config: Vec<u8>,
    manifest: Vec<u8>,
    /// A decoy manifest's blob, config and manifest, when asked for.
    decoy: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// The index entry for this platform.
    index_entry: Value,
}

/// Everything one push sends, built before any request.
struct PushPlan {
    formula: String,
    version: String,
    rebuild: u32,
    root_url: String,
    repository: String,
    index_tag: String,
    platforms: Vec<PlatformPlan>,
    index: Vec<u8>,
}

impl PushPlan {
    fn new(
        registry: &Registry,
        formula: &str,
        version: &str,
        rebuild: u32,
        platforms: &[PlatformBottle],
        options: &PushOptions,
    ) -> Result<Self> {
        let repository = format!("{PREFIX}/{}", image_name(formula));
        let version_rebuild = if rebuild > 0 {
            format!("{version}-{rebuild}")
        } else {
            version.to_owned()
        };
        let revision = hex::encode(&Sha256::digest(format!("{formula}{version}"))[..20]);
        let formula_annotations = json!({
            "com.github.package.type": "homebrew_bottle",
            "org.opencontainers.image.created": "2024-03-01",
            "org.opencontainers.image.description": format!("{formula}: a test formula"),
            "org.opencontainers.image.documentation": format!("https://formulae.brew.sh/formula/{formula}"),
            "org.opencontainers.image.license": "MIT",
            "org.opencontainers.image.ref.name": version_rebuild,
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.source": format!(
                "https://github.com/Homebrew/homebrew-core/blob/{revision}/Formula/{}/{formula}.rb",
                formula.chars().next().unwrap_or('_')
            ),
            "org.opencontainers.image.title": formula,
            "org.opencontainers.image.url": "https://brew-verify.invalid/",
            "org.opencontainers.image.vendor": "homebrew",
            "org.opencontainers.image.version": version,
        });
        let mut planned = Vec::new();
        for platform in platforms {
            let filename = BottleFilename::new(formula, version, &platform.tag, rebuild)
                .map_err(|e| RegistryError::Push(e.to_string()))?;
            let (tar, blob) = bottle_tarball(formula, version, platform)?;
            let ref_name = platform_ref_name(version, &platform.tag, rebuild);
            let (arch, os, os_version) = platform_of(&platform.tag);
            let platform_json = json!({"architecture": arch, "os": os, "os.version": os_version});
            let mut descriptor_annotations = json!({
                "org.opencontainers.image.ref.name": ref_name,
                "sh.brew.bottle.digest": sha256_bytes(&blob).to_hex(),
                "sh.brew.bottle.size": blob.len().to_string(),
                "sh.brew.tab": tab_json(&platform.tag).to_string(),
            });
            if os == "linux" {
                descriptor_annotations["sh.brew.bottle.glibc.version"] = json!("2.35");
                if arch == "amd64" {
                    descriptor_annotations["sh.brew.bottle.cpu.variant"] = json!("core2");
                }
            }
            let image_parts = |blob: &[u8], tar: &[u8]| -> Result<(Vec<u8>, Vec<u8>)> {
                let mut config = platform_json.clone();
                config["rootfs"] = json!({"type": "layers", "diff_ids": [digest_of(tar)]});
                let config = serde_json::to_vec_pretty(&config)
                    .map_err(|e| RegistryError::Push(e.to_string()))?;
                let mut annotations = formula_annotations.clone();
                for (k, v) in descriptor_annotations.as_object().into_iter().flatten() {
                    annotations[k] = v.clone();
                }
                annotations["org.opencontainers.image.title"] =
                    json!(format!("{formula} {ref_name}"));
                // brew sorts the manifest's annotations (serde_json's map is a BTreeMap).
                let manifest = json!({
                    "schemaVersion": 2,
                    "config": {"mediaType": OCI_CONFIG, "digest": digest_of(&config), "size": config.len()},
                    "layers": [{
                        "mediaType": OCI_LAYER_GZIP,
                        "digest": digest_of(blob),
                        "size": blob.len(),
                        "annotations": {"org.opencontainers.image.title": filename.to_string()},
                    }],
                    "annotations": annotations,
                });
                let manifest = serde_json::to_vec_pretty(&manifest)
                    .map_err(|e| RegistryError::Push(e.to_string()))?;
                Ok((config, manifest))
            };
            let (config, manifest) = image_parts(&blob, &tar)?;
            let decoy = if options.decoy_manifest.contains(&platform.tag) {
                let decoy_platform = platform
                    .clone()
                    .with_file("DECOY", b"these are not the bytes the index names".to_vec());
                let (decoy_tar, decoy_blob) = bottle_tarball(formula, version, &decoy_platform)?;
                let (decoy_config, decoy_manifest) = image_parts(&decoy_blob, &decoy_tar)?;
                Some((decoy_blob, decoy_config, decoy_manifest))
            } else {
                None
            };
            let target_manifest = decoy.as_ref().map_or(&manifest, |(_, _, m)| m);
            if options.wrong_digest_annotation.contains(&platform.tag) {
                descriptor_annotations["sh.brew.bottle.digest"] =
                    json!(sha256_bytes(b"some other bottle").to_hex());
            }
            let index_entry = json!({
                "mediaType": OCI_MANIFEST,
                "digest": digest_of(target_manifest),
                "size": target_manifest.len(),
                "platform": platform_json,
                "annotations": descriptor_annotations,
            });
            planned.push(PlatformPlan {
                tag: platform.tag.clone(),
                cellar: platform.cellar.clone(),
                filename,
                blob,
                config,
                manifest,
                decoy,
                index_entry,
            });
        }
        let index = json!({
            "schemaVersion": 2,
            "manifests": planned.iter().map(|p| p.index_entry.clone()).collect::<Vec<_>>(),
            "annotations": formula_annotations,
        });
        Ok(Self {
            formula: formula.to_owned(),
            version: version.to_owned(),
            rebuild,
            root_url: registry.root_url(),
            repository,
            index_tag: index_tag(version, rebuild),
            platforms: planned,
            index: serde_json::to_vec_pretty(&index)
                .map_err(|e| RegistryError::Push(e.to_string()))?,
        })
    }

    async fn push(
        self,
        client: &oci_client::Client,
        registry: &str,
        tokens: &TokenService,
    ) -> Result<PushedBottles> {
        use oci_client::secrets::RegistryAuth;
        let push_error = |what: &str, e: oci_client::errors::OciDistributionError| {
            RegistryError::Push(format!("{what}: {e}"))
        };
        let tagged = oci_client::Reference::with_tag(
            registry.to_owned(),
            self.repository.clone(),
            self.index_tag.clone(),
        );
        let auth = RegistryAuth::Basic(PUSH_USER.to_owned(), tokens.password.clone());
        client
            .auth(&tagged, &auth, oci_client::RegistryOperation::Push)
            .await
            .map_err(|e| push_error("authenticating", e))?;
        let by_digest = |bytes: &[u8]| {
            oci_client::Reference::with_digest(
                registry.to_owned(),
                self.repository.clone(),
                digest_of(bytes),
            )
        };
        let mut bottles = Vec::new();
        for platform in &self.platforms {
            let mut images = vec![(&platform.blob, &platform.config, &platform.manifest)];
            if let Some((blob, config, manifest)) = &platform.decoy {
                images.push((blob, config, manifest));
            }
            for (blob, config, manifest) in images {
                for bytes in [blob, config] {
                    client
                        .push_blob(&tagged, bytes.clone(), &digest_of(bytes))
                        .await
                        .map_err(|e| push_error("pushing a blob", e))?;
                }
                client
                    .push_manifest_raw(
                        &by_digest(manifest),
                        manifest.clone(),
                        HeaderValue::from_static(OCI_MANIFEST),
                    )
                    .await
                    .map_err(|e| push_error("pushing a platform manifest", e))?;
            }
            let sha256 = sha256_bytes(&platform.blob);
            let bottle = BottleRef {
                digest: sha256,
                filename: platform.filename.clone(),
            };
            bottles.push(PushedBottle {
                tag: platform.tag.clone(),
                cellar: platform.cellar.clone(),
                filename: platform.filename.clone(),
                sha256,
                bytes: platform.blob.clone(),
                manifest_digest: digest_of(&platform.manifest),
                resolved: ResolvedBottle {
                    url: bottle.blob_url(&self.root_url),
                    bottle,
                    root_url: self.root_url.clone(),
                },
            });
        }
        client
            .push_manifest_raw(
                &tagged,
                self.index.clone(),
                HeaderValue::from_static(OCI_INDEX),
            )
            .await
            .map_err(|e| push_error("pushing the image index", e))?;
        Ok(PushedBottles {
            formula: self.formula,
            version: self.version,
            rebuild: self.rebuild,
            root_url: self.root_url,
            repository: self.repository,
            index_digest: digest_of(&self.index),
            index_tag: self.index_tag,
            bottles,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn libtrust_ids_have_twelve_groups() {
        let id = libtrust_key_id(b"any key");
        assert_eq!(id.split(':').count(), 12);
        assert!(id.split(':').all(|g| g.len() == 4));
    }

    #[test]
    fn revisions_split_off() {
        assert_eq!(split_revision("1.2.3_4"), ("1.2.3", 4));
        assert_eq!(split_revision("1.2.3"), ("1.2.3", 0));
        assert_eq!(split_revision("2024_beta"), ("2024_beta", 0));
    }

    #[test]
    fn tarballs_are_valid_gzip_tar() {
        let (tar, gz) =
            bottle_tarball("wget", "1.0", &PlatformBottle::new("arm64_sonoma")).expect("tarball");
        assert_eq!(tar.len() % 512, 0);
        assert_eq!(&tar[257..263], b"ustar\0");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut decoded)
            .expect("gunzip");
        assert_eq!(decoded, tar);
    }
}
