//! GHCR, Homebrew's bottle registry, through `oci-client`: the image index, the platform
//! manifest and the bottle blob of one [`ResolvedBottle`].
//!
//! What this module owns (DESIGN.md §2):
//!
//! - **Credentials** ([`RegistryAuth`]): `HOMEBREW_DOCKER_REGISTRY_TOKEN` (a bearer token sent as
//!   is), `HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN` (base64 `user:password`), otherwise an
//!   anonymous pull through the registry's token flow.
//! - **Coordinates**: image `<prefix>/<formula name with @→/ and +→x>`, index tag
//!   `<version>[-<rebuild>]` ([`index_tag`]), platform manifest named
//!   `<version>.<tag>[.<rebuild>]` ([`platform_ref_name`]).
//! - **Consistency checks** ([`GhcrClient::bottle_manifest`]): the index entry for the platform
//!   must name the formula's sha256, the manifest it points at must hash to the digest the index
//!   names, and that manifest's layer must be the formula's sha256.
//! - **Downloads** ([`GhcrClient::download_blob`]): streamed into a temporary file beside the
//!   destination while hashing, renamed into place only when the digest matches.
//! - **Retries**: bounded, with exponential backoff and jitter, for transient failures only
//!   (5xx, timeouts, connection resets, bodies cut short) — never for 4xx or a digest mismatch.
//!
//! What it must not do: decide whether a bottle is trustworthy (that is the policy's job; a
//! registry is only a place bytes come from), print anything, or ever show a token.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor};
use oci_client::{Reference, RegistryOperation};
use serde::Deserialize;
use sha2::Digest as _;
use sigstore_types::Sha256Hash;
use tokio::io::AsyncWriteExt as _;

use bottle_attest::bottle::{BottleFilename, image_name};
use bottle_attest::formula::ResolvedBottle;

/// Bearer token for the registry (brew sends it as `Authorization: Bearer <token>`).
pub const TOKEN_ENV: &str = "HOMEBREW_DOCKER_REGISTRY_TOKEN";
/// Base64 of `user:password` for the registry (brew sends it as `Authorization: Basic <token>`).
pub const BASIC_AUTH_ENV: &str = "HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN";

/// Annotation naming a platform manifest inside the index: `<version>.<tag>[.<rebuild>]`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation carrying the bottle's sha256 (hex, no prefix).
pub const ANNOTATION_BOTTLE_DIGEST: &str = "sh.brew.bottle.digest";
/// Annotation carrying the bottle's size in bytes.
pub const ANNOTATION_BOTTLE_SIZE: &str = "sh.brew.bottle.size";
/// Annotation carrying the bottle's tab (install receipt) as JSON.
pub const ANNOTATION_TAB: &str = "sh.brew.tab";

/// How long to wait for a TCP (and TLS) connection: long enough for a slow network, short
/// enough that an unreachable registry fails before the user gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one read may stall. A per-read limit rather than a whole-request one, because a
/// bottle can be hundreds of megabytes on a slow link and still be making progress.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per operation (the first try included) when failures are transient.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Backoff before the first retry; it doubles after each further failure, plus up to 50% jitter
/// so that many concurrent downloads do not retry in lockstep.
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(500);
/// The longest single backoff, whatever the base delay and attempt.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// Write buffer for downloads: large enough that the blocking-pool round trips of `tokio::fs`
/// disappear next to hashing.
const WRITE_BUFFER: usize = 256 * 1024;

const USER_AGENT: &str = concat!("brew-verify/", env!("CARGO_PKG_VERSION"));

/// Which credentials to present to the registry. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth(AuthKind);

#[derive(Clone, PartialEq, Eq)]
enum AuthKind {
    /// The registry's token flow without credentials.
    Anonymous,
    /// A token sent as is.
    Bearer(String),
    /// Credentials, exchanged for a token through the registry's token flow when it has one.
    Basic { user: String, password: String },
}

impl RegistryAuth {
    /// Anonymous pulls.
    ///
    /// brew sends `Authorization: Bearer QQ==` straight to GHCR (a placeholder GHCR accepts for
    /// public packages). `oci-client` instead does the standard anonymous token flow (`GET /v2/`,
    /// then the `WWW-Authenticate` realm without credentials, then the pull with that token),
    /// which GHCR also serves for public packages and which works against any registry or
    /// mirror, so that is what this does: two extra requests per repository, once per client.
    pub fn anonymous() -> Self {
        Self(AuthKind::Anonymous)
    }

    /// A bearer token sent on every request, as brew does with `HOMEBREW_DOCKER_REGISTRY_TOKEN`.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self(AuthKind::Bearer(token.into()))
    }

    /// A user name and password (or personal access token).
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self(AuthKind::Basic {
            user: user.into(),
            password: password.into(),
        })
    }

    /// Credentials from the process environment; see [`RegistryAuth::from_env_map`].
    pub fn from_env() -> Result<Self, InvalidCredentials> {
        Self::from_env_map(&|name| std::env::var(name).ok())
    }

    /// Credentials as brew picks them (`brew.sh`): [`TOKEN_ENV`] first, then
    /// [`BASIC_AUTH_ENV`], otherwise anonymous. Empty values count as unset, as in brew.
    ///
    /// `get` looks a variable up, so that tests need not touch the process environment.
    pub fn from_env_map(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, InvalidCredentials> {
        let non_empty = |name: &str| get(name).filter(|value| !value.is_empty());
        if let Some(token) = non_empty(TOKEN_ENV) {
            return Ok(Self::bearer(token));
        }
        let Some(encoded) = non_empty(BASIC_AUTH_ENV) else {
            return Ok(Self::anonymous());
        };
        let invalid = |why: &'static str| InvalidCredentials {
            variable: BASIC_AUTH_ENV,
            why,
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid("it is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid("it is not UTF-8"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("it does not decode to `user:password`"))?;
        Ok(Self::basic(user, password))
    }

    /// Whether no credentials are presented.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.0, AuthKind::Anonymous)
    }

    /// What was presented, for error messages: never the secret itself.
    pub fn describe(&self) -> String {
        match &self.0 {
            AuthKind::Anonymous => "no credentials (anonymous token flow)".to_owned(),
            AuthKind::Bearer(_) => format!("the bearer token from {TOKEN_ENV}"),
            AuthKind::Basic { user, .. } => format!("basic credentials for user `{user}`"),
        }
    }

    fn to_oci(&self) -> oci_client::secrets::RegistryAuth {
        use oci_client::secrets::RegistryAuth as Oci;
        match &self.0 {
            AuthKind::Anonymous => Oci::Anonymous,
            AuthKind::Bearer(token) => Oci::Bearer(token.clone()),
            AuthKind::Basic { user, password } => Oci::Basic(user.clone(), password.clone()),
        }
    }

    /// Whether `oci-client` must run the token flow before its first request. A bearer token
    /// is used as is and needs no round trip.
    fn uses_token_flow(&self) -> bool {
        !matches!(self.0, AuthKind::Bearer(_))
    }
}

impl Default for RegistryAuth {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            AuthKind::Anonymous => f.write_str("RegistryAuth::Anonymous"),
            AuthKind::Bearer(_) => f.write_str("RegistryAuth::Bearer(<redacted>)"),
            AuthKind::Basic { user, .. } => f
                .debug_struct("RegistryAuth::Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// A credentials variable is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} is set but unusable: {why}")]
pub struct InvalidCredentials {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it (never its value).
    pub why: &'static str,
}

/// The bottle root URL is not `http[s]://HOST[:PORT]/v2/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{root}` is not a registry bottle root like `https://ghcr.io/v2/homebrew/core`: {why}")]
pub struct InvalidRoot {
    /// The root as given, any `user:password@` masked.
    pub root: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Why talking to the registry failed. Every message names the image and the tag or digest
/// involved, so that a user can retry the same request by hand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GhcrError {
    /// The image, tag or blob does not exist.
    #[error("`{image}:{reference}` was not found on the registry (no such image, tag or blob)")]
    NotFound {
        /// The repository (`homebrew/core/wget`).
        image: String,
        /// The tag or digest asked for.
        reference: String,
    },
    /// The index has no manifest for this platform.
    #[error(
        "the image index `{image}:{reference}` has no manifest named `{ref_name}` (it has: {})",
        available.join(", ")
    )]
    NoPlatform {
        /// The repository.
        image: String,
        /// The index tag.
        reference: String,
        /// The `org.opencontainers.image.ref.name` looked for.
        ref_name: String,
        /// The names the index does have.
        available: Vec<String>,
    },
    /// The index's platform entry names another bottle than the formula does.
    #[error(
        "`{image}:{reference}` names bottle `{ref_name}` with `sh.brew.bottle.digest` {}, but the formula says sha256 {expected}: refusing it",
        found.as_deref().unwrap_or("(none)")
    )]
    DigestAnnotationMismatch {
        /// The repository.
        image: String,
        /// The index tag (or the manifest digest, when the manifest's own annotation differs).
        reference: String,
        /// The platform manifest's name.
        ref_name: String,
        /// The formula's sha256.
        expected: Sha256Hash,
        /// What the registry's annotation says, if anything.
        found: Option<String>,
    },
    /// The platform manifest's layer is not the formula's bottle.
    #[error(
        "the manifest `{image}@{manifest}` has layers [{}], not the formula's bottle sha256:{expected}: refusing it",
        found.join(", ")
    )]
    LayerDigestMismatch {
        /// The repository.
        image: String,
        /// The manifest digest (`sha256:…`).
        manifest: String,
        /// The formula's sha256.
        expected: Sha256Hash,
        /// The layer digests the manifest lists.
        found: Vec<String>,
    },
    /// A manifest's bytes do not hash to the digest they were asked for (or announced with).
    #[error(
        "the registry's bytes for `{image}:{reference}` hash to {found}, not {expected}: the manifest was altered, refusing it"
    )]
    ManifestDigestMismatch {
        /// The repository.
        image: String,
        /// The tag or digest pulled.
        reference: String,
        /// The digest asked for or announced.
        expected: String,
        /// The digest of the bytes received.
        found: String,
    },
    /// The downloaded blob is complete but is not the formula's bottle.
    #[error(
        "the blob `{image}@sha256:{expected}` downloaded completely but hashes to sha256:{found}: discarded"
    )]
    BlobDigestMismatch {
        /// The repository.
        image: String,
        /// The formula's sha256.
        expected: Sha256Hash,
        /// The sha256 of what arrived.
        found: Sha256Hash,
    },
    /// The blob's body ended early (connection dropped or body shorter than announced).
    #[error(
        "the download of `{image}@sha256:{digest}` was cut short after {received} bytes{} ({attempts} attempt(s)): discarded",
        expected.map(|n| format!(" of {n}")).unwrap_or_default()
    )]
    Truncated {
        /// The repository.
        image: String,
        /// The blob's sha256.
        digest: Sha256Hash,
        /// Bytes received.
        received: u64,
        /// Bytes announced (`Content-Length`), if any.
        expected: Option<u64>,
        /// Attempts made.
        attempts: u32,
        /// The transport error, when there was one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The registry or its token service refused the credentials (HTTP 401/403).
    #[error(
        "the registry refused access to `{image}:{reference}` with {auth}: {reason} (set {TOKEN_ENV} or {BASIC_AUTH_ENV} if the package is private)"
    )]
    Unauthorized {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// What was presented ([`RegistryAuth::describe`]).
        auth: String,
        /// What the registry said.
        reason: String,
    },
    /// The registry answered with an unexpected HTTP status.
    #[error(
        "the registry answered HTTP {status} for `{image}:{reference}` ({attempts} attempt(s)): {message}"
    )]
    Http {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// The HTTP status.
        status: u16,
        /// The registry's message, if any.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The registry could not be reached, or the connection failed mid-request.
    #[error("could not reach the registry for `{image}:{reference}` ({attempts} attempt(s))")]
    Transport {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// Attempts made.
        attempts: u32,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The registry answered something that is not a usable index or manifest.
    #[error("the registry's answer for `{image}:{reference}` is not usable: {why}")]
    Malformed {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// What is wrong with it.
        why: String,
    },
    /// A local file could not be written, synced or renamed.
    #[error("cannot write `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
}

impl GhcrError {
    /// Whether trying again may help: server errors, timeouts, connection failures and bodies
    /// cut short. Never a 4xx answer or a digest mismatch: those would fail the same way again,
    /// and retrying a mismatch would only give an attacker more tries.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { status, .. } => (500..600).contains(status),
            Self::Transport { .. } | Self::Truncated { .. } => true,
            _ => false,
        }
    }

    fn with_attempts(mut self, n: u32) -> Self {
        if let Self::Http { attempts, .. }
        | Self::Transport { attempts, .. }
        | Self::Truncated { attempts, .. } = &mut self
        {
            *attempts = n;
        }
        self
    }
}

/// The index tag of a bottle: `<version>[-<rebuild>]` (brew's `GitHubPackages.version_rebuild`
/// without a bottle tag), with characters OCI tags cannot hold replaced by `.`
/// (`image_version_rebuild`).
pub fn index_tag(version: &str, rebuild: u32) -> String {
    let tag = if rebuild > 0 {
        format!("{version}-{rebuild}")
    } else {
        version.to_owned()
    };
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

/// The `org.opencontainers.image.ref.name` of a platform manifest:
/// `<version>.<tag>[.<rebuild>]`. Unlike the index tag it keeps the version unchanged, as brew
/// does.
pub fn platform_ref_name(version: &str, bottle_tag: &str, rebuild: u32) -> String {
    if rebuild > 0 {
        format!("{version}.{bottle_tag}.{rebuild}")
    } else {
        format!("{version}.{bottle_tag}")
    }
}

/// A bottle's platform manifest, checked against the formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BottleManifest {
    /// The repository (`homebrew/core/wget`).
    pub image: String,
    /// The index tag (`1.24.5_1-2`).
    pub reference: String,
    /// The platform manifest's name (`1.24.5_1.arm64_sonoma.2`).
    pub ref_name: String,
    /// The digest of the platform manifest (what the index names and the bytes hash to).
    pub manifest_digest: Sha256Hash,
    /// The bottle's size in bytes, from the manifest's layer descriptor.
    pub size: u64,
    /// The platform entry's annotations in the index (`sh.brew.tab`, `sh.brew.bottle.size`…),
    /// which is what brew reads.
    pub annotations: BTreeMap<String, String>,
}

impl BottleManifest {
    /// The bottle's tab (`sh.brew.tab`), parsed; `None` when absent or not JSON.
    pub fn tab(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.annotations.get(ANNOTATION_TAB)?).ok()
    }
}

/// The parts of an OCI descriptor this module reads.
#[derive(Debug, Deserialize)]
struct Descriptor {
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The parts of an OCI image index this module reads.
#[derive(Debug, Deserialize)]
struct ImageIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The parts of an OCI image manifest this module reads.
#[derive(Debug, Deserialize)]
struct ImageManifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Names an operation for error messages.
struct Target<'a> {
    image: &'a str,
    reference: &'a str,
}

/// A client for one bottle root (`https://ghcr.io/v2/homebrew/core`, a mirror, or a local
/// registry).
pub struct GhcrClient {
    oci: oci_client::Client,
    root: String,
    registry: String,
    prefix: String,
    auth: RegistryAuth,
    max_attempts: u32,
    retry_base_delay: Duration,
    /// Repositories whose token `oci-client` already holds (see [`GhcrClient::authenticate`]).
    authenticated: tokio::sync::Mutex<HashSet<String>>,
}

impl fmt::Debug for GhcrClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GhcrClient")
            .field("root", &self.root)
            .field("auth", &self.auth)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base_delay", &self.retry_base_delay)
            .finish_non_exhaustive()
    }
}

impl GhcrClient {
    /// A client for the bottle root `root` (`https://HOST[:PORT]/v2/PREFIX`). An `http://` root
    /// talks plain HTTP (local registries, tests); the registry host is the root's host and the
    /// repository prefix is the path after `/v2/`.
    pub fn new(root: &str, auth: RegistryAuth) -> Result<Self, InvalidRoot> {
        let (protocol, registry, prefix) = parse_root(root)?;
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            // Platform choice is ours (by annotation), never oci-client's.
            platform_resolver: None,
            ..ClientConfig::default()
        };
        let oci = oci_client::Client::try_from(config).map_err(|_| InvalidRoot {
            root: redact_userinfo(root),
            why: "no HTTP client could be built for it",
        })?;
        Ok(Self {
            oci,
            root: root.trim_end_matches('/').to_owned(),
            registry,
            prefix,
            auth,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            authenticated: tokio::sync::Mutex::new(HashSet::new()),
        })
    }

    /// Set the delay before the first retry (it doubles after each further failure).
    pub fn with_retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = delay;
        self
    }

    /// Set how many attempts (first try included) a transient failure gets; at least one.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The bottle root this client talks to, without a trailing slash.
    pub fn root_url(&self) -> &str {
        &self.root
    }

    /// The repository of a bottle's image under this root (`homebrew/core/openssl/3`).
    pub fn repository(&self, bottle: &BottleFilename) -> String {
        let image = image_name(bottle.name());
        if self.prefix.is_empty() {
            image
        } else {
            format!("{}/{image}", self.prefix)
        }
    }

    /// Find and check `bottle`'s platform manifest:
    ///
    /// 1. pull the image index tagged [`index_tag`] (`oci-client` checks the bytes against the
    ///    `Docker-Content-Digest` the registry announces);
    /// 2. take the entry whose `org.opencontainers.image.ref.name` is [`platform_ref_name`];
    /// 3. require its `sh.brew.bottle.digest` to be the formula's sha256;
    /// 4. pull the manifest by the digest the entry names (`oci-client` refuses bytes that do
    ///    not hash to it, so a tampered manifest stops here);
    /// 5. require a layer whose digest is `sha256:<formula sha256>` (and the manifest's own
    ///    `sh.brew.bottle.digest`, when present, to agree).
    ///
    /// The client's root is used, not `bottle.root_url`, so that a mirror can serve bottles the
    /// formula API places on GHCR.
    pub async fn bottle_manifest(
        &self,
        bottle: &ResolvedBottle,
    ) -> Result<BottleManifest, GhcrError> {
        let file = &bottle.bottle.filename;
        let expected = &bottle.bottle.digest;
        let image = self.repository(file);
        let reference = index_tag(file.version(), file.rebuild());
        let ref_name = platform_ref_name(file.version(), file.tag(), file.rebuild());

        // (1)
        let index_ref =
            Reference::with_tag(self.registry.clone(), image.clone(), reference.clone());
        let index_target = Target {
            image: &image,
            reference: &reference,
        };
        let index_bytes = self
            .retrying(|| self.pull_manifest(&index_ref, OCI_IMAGE_INDEX_MEDIA_TYPE, &index_target))
            .await?;
        let index: ImageIndex =
            serde_json::from_slice(&index_bytes).map_err(|e| GhcrError::Malformed {
                image: image.clone(),
                reference: reference.clone(),
                why: format!("the image index is not valid JSON: {e}"),
            })?;

        // (2) brew (`Bottle#manifest_annotations`) looks for an entry matching both name and
        // digest; looking up by name first lets a mismatch be reported as such.
        let candidates: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|m| m.annotations.get(ANNOTATION_REF_NAME) == Some(&ref_name))
            .collect();
        if candidates.is_empty() {
            return Err(GhcrError::NoPlatform {
                image,
                reference,
                ref_name,
                available: index
                    .manifests
                    .iter()
                    .filter_map(|m| m.annotations.get(ANNOTATION_REF_NAME).cloned())
                    .collect(),
            });
        }
        // (3)
        let expected_hex = expected.to_hex();
        let Some(entry) = candidates.iter().find(|m| {
            m.annotations
                .get(ANNOTATION_BOTTLE_DIGEST)
                .is_some_and(|d| d.eq_ignore_ascii_case(&expected_hex))
        }) else {
            return Err(GhcrError::DigestAnnotationMismatch {
                image,
                reference,
                ref_name,
                expected: *expected,
                found: candidates[0]
                    .annotations
                    .get(ANNOTATION_BOTTLE_DIGEST)
                    .cloned(),
            });
        };

        // (4)
        let manifest_digest =
            parse_sha256_digest(&entry.digest).ok_or_else(|| GhcrError::Malformed {
                image: image.clone(),
                reference: reference.clone(),
                why: format!(
                    "the index names manifest `{}`, which is not a sha256 digest",
                    entry.digest
                ),
            })?;
        let manifest_name = format!("sha256:{manifest_digest}");
        let manifest_ref =
            Reference::with_digest(self.registry.clone(), image.clone(), manifest_name.clone());
        let manifest_target = Target {
            image: &image,
            reference: &manifest_name,
        };
        let manifest_bytes = self
            .retrying(|| self.pull_manifest(&manifest_ref, OCI_IMAGE_MEDIA_TYPE, &manifest_target))
            .await?;
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| GhcrError::Malformed {
                image: image.clone(),
                reference: manifest_name.clone(),
                why: format!("the image manifest is not valid JSON: {e}"),
            })?;

        // (5)
        let layer_name = format!("sha256:{expected_hex}");
        let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| l.digest.eq_ignore_ascii_case(&layer_name))
        else {
            return Err(GhcrError::LayerDigestMismatch {
                image,
                manifest: manifest_name,
                expected: *expected,
                found: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
            });
        };
        let own = manifest.annotations.get(ANNOTATION_BOTTLE_DIGEST);
        if own.is_some_and(|own| !own.eq_ignore_ascii_case(&expected_hex)) {
            return Err(GhcrError::DigestAnnotationMismatch {
                image,
                reference: manifest_name,
                ref_name,
                expected: *expected,
                found: own.cloned(),
            });
        }

        Ok(BottleManifest {
            size: layer.size,
            image,
            reference,
            ref_name,
            manifest_digest,
            annotations: entry.annotations.clone(),
        })
    }

    /// Download `bottle`'s blob (`<prefix>/<image>/blobs/sha256:<hex>`) to `dest`.
    ///
    /// The body streams into a temporary file in `dest`'s directory while being hashed; only a
    /// complete body with the formula's sha256 is synced and renamed onto `dest`. On a mismatch
    /// or a cut-off body the temporary file is removed, so `dest` is either the exact bottle or
    /// untouched. Homebrew's own cache name for `dest` is [`bottle_attest::bottle::cache_name`].
    pub async fn download_blob(
        &self,
        bottle: &ResolvedBottle,
        dest: &Path,
    ) -> Result<(), GhcrError> {
        let image = self.repository(&bottle.bottle.filename);
        let digest = &bottle.bottle.digest;
        let blob_name = format!("sha256:{digest}");
        let reference = Reference::with_digest(self.registry.clone(), image.clone(), blob_name);
        self.retrying(|| self.download_once(&reference, &image, digest, dest))
            .await
    }

    async fn download_once(
        &self,
        reference: &Reference,
        image: &str,
        expected: &Sha256Hash,
        dest: &Path,
    ) -> Result<(), GhcrError> {
        let blob_name = format!("sha256:{expected}");
        let target = Target {
            image,
            reference: &blob_name,
        };
        self.authenticate(reference, &target).await?;
        let descriptor = OciDescriptor {
            digest: blob_name.clone(),
            ..OciDescriptor::default()
        };
        let response = self
            .oci
            .pull_blob_stream(reference, &descriptor)
            .await
            .map_err(|e| self.map_error(e, &target))?;
        let announced = response.content_length;
        let mut stream = response.stream;

        let mut part = PartFile::create(dest).await?;
        let mut hasher = sha2::Sha256::new();
        let mut received: u64 = 0;
        let mut cut_short = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    hasher.update(&bytes);
                    received += bytes.len() as u64;
                    part.write(&bytes).await?;
                }
                // oci-client's own end-of-stream digest check: the comparison below decides,
                // with our own error.
                Err(e) if is_digest_error(&e) => break,
                Err(e) => {
                    cut_short = Some(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                    break;
                }
            }
        }
        let truncated = |source| GhcrError::Truncated {
            image: image.to_owned(),
            digest: *expected,
            received,
            expected: announced,
            attempts: 1,
            source,
        };
        if cut_short.is_some() {
            return Err(truncated(cut_short));
        }
        if announced.is_some_and(|n| received < n) {
            return Err(truncated(None));
        }
        let found = Sha256Hash::new(hasher.finalize().into());
        if &found != expected {
            return Err(GhcrError::BlobDigestMismatch {
                image: image.to_owned(),
                expected: *expected,
                found,
            });
        }
        part.persist(dest).await
    }

    /// Pull one manifest's bytes, refusing bytes that do not match the digest asked for (or,
    /// by tag, the `Docker-Content-Digest` the registry announces).
    async fn pull_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
        target: &Target<'_>,
    ) -> Result<Vec<u8>, GhcrError> {
        self.authenticate(reference, target).await?;
        self.oci
            .pull_manifest_raw(reference, &self.auth.to_oci(), &[media_type])
            .await
            .map(|(body, _digest)| body.to_vec())
            .map_err(|e| self.map_error(e, target))
    }

    /// Run the token flow for `reference`'s repository once per client, explicitly.
    ///
    /// `oci-client` would do it by itself on the first request, but it swallows a refusal from
    /// the token service and sends the request without a token, so the user would see a bare
    /// 401 from the registry instead of the token service's reason.
    async fn authenticate(
        &self,
        reference: &Reference,
        target: &Target<'_>,
    ) -> Result<(), GhcrError> {
        if !self.auth.uses_token_flow() {
            return Ok(());
        }
        // The lock is never held across the token round trip, so first contacts with many
        // repositories run concurrently; two racing for one repository both fetch a token,
        // which is harmless.
        if self
            .authenticated
            .lock()
            .await
            .contains(reference.repository())
        {
            return Ok(());
        }
        let token = self
            .oci
            .auth(reference, &self.auth.to_oci(), RegistryOperation::Pull)
            .await
            .map_err(|e| self.map_error(e, target))?;
        // No token: the registry asked for none (or `/v2/` failed and the next request will
        // show how). Try again next time rather than remember a non-answer.
        if token.is_some() {
            self.authenticated
                .lock()
                .await
                .insert(reference.repository().to_owned());
        }
        Ok(())
    }

    /// Run `attempt` until it succeeds, fails for good, or has had `max_attempts` tries.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, GhcrError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, GhcrError>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_transient() && tries < self.max_attempts => {
                    tokio::time::sleep(backoff(self.retry_base_delay, tries)).await;
                    tries += 1;
                }
                Err(e) => return Err(e.with_attempts(tries)),
            }
        }
    }

    fn map_error(&self, error: OciDistributionError, target: &Target<'_>) -> GhcrError {
        let image = target.image.to_owned();
        let reference = target.reference.to_owned();
        let unauthorized = |reason: String| GhcrError::Unauthorized {
            image: image.clone(),
            reference: reference.clone(),
            auth: self.auth.describe(),
            reason,
        };
        let http = |status: u16, message: String| GhcrError::Http {
            image: image.clone(),
            reference: reference.clone(),
            status,
            message,
            attempts: 1,
        };
        match error {
            OciDistributionError::UnauthorizedError { .. } => {
                unauthorized("HTTP 401 (no valid token)".to_owned())
            }
            OciDistributionError::AuthenticationFailure(reason) => unauthorized(format!(
                "its token service refused: {}",
                truncate_message(&reason)
            )),
            OciDistributionError::RegistryError { envelope, .. } => {
                let message = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                match envelope.errors.first().map(|e| &e.code) {
                    Some(
                        OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => GhcrError::NotFound { image, reference },
                    Some(OciErrorCode::Unauthorized | OciErrorCode::Denied) => {
                        unauthorized(truncate_message(&message))
                    }
                    Some(OciErrorCode::Toomanyrequests) => http(429, truncate_message(&message)),
                    _ => http(400, truncate_message(&message)),
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => GhcrError::NotFound { image, reference },
                401 | 403 => unauthorized(format!("HTTP {code}")),
                _ => http(code, truncate_message(&message)),
            },
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => GhcrError::ManifestDigestMismatch {
                image,
                reference,
                expected,
                found: actual,
            },
            OciDistributionError::RequestError(e) => GhcrError::Transport {
                image,
                reference,
                attempts: 1,
                source: Box::new(e),
            },
            other => GhcrError::Malformed {
                image,
                reference,
                why: other.to_string(),
            },
        }
    }
}

/// `http[s]://HOST[:PORT]/v2/PREFIX` → protocol, `HOST[:PORT]`, `PREFIX`.
fn parse_root(root: &str) -> Result<(ClientProtocol, String, String), InvalidRoot> {
    let invalid = |why| InvalidRoot {
        root: redact_userinfo(root),
        why,
    };
    let url = reqwest::Url::parse(root).map_err(|_| invalid("it is not a URL"))?;
    let protocol = match url.scheme() {
        "https" => ClientProtocol::Https,
        "http" => ClientProtocol::Http,
        _ => return Err(invalid("its scheme is neither https nor http")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials belong in the environment, not in the URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment"));
    }
    let host = url.host_str().ok_or_else(|| invalid("it has no host"))?;
    let registry = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path = url.path().trim_end_matches('/');
    let prefix = if path == "/v2" {
        ""
    } else {
        path.strip_prefix("/v2/")
            .ok_or_else(|| invalid("its path does not start with `/v2/`"))?
    };
    Ok((protocol, registry, prefix.to_owned()))
}

/// `root` with any `user:password@` replaced by `***@`, so that error messages never carry a
/// credential someone pasted into a URL.
fn redact_userinfo(root: &str) -> String {
    let after_scheme = root.find("://").map_or(0, |i| i + 3);
    let authority_end = root[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(root.len(), |i| after_scheme + i);
    match root[after_scheme..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &root[..after_scheme], &root[after_scheme + at..]),
        None => root.to_owned(),
    }
}

/// `sha256:<64 hex>` → the hash; anything else → `None`.
fn parse_sha256_digest(digest: &str) -> Option<Sha256Hash> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    Sha256Hash::from_hex(hex).ok()
}

/// The backoff before retry number `tries` (1-based): `base · 2^(tries-1)` plus up to half of
/// that again as jitter, capped at [`MAX_RETRY_DELAY`].
fn backoff(base: Duration, tries: u32) -> Duration {
    use rand::Rng as _;
    let exponential = base.saturating_mul(1 << tries.saturating_sub(1).min(16));
    let half_ms = u64::try_from(exponential.as_millis() / 2).unwrap_or(u64::MAX);
    let jitter = Duration::from_millis(rand::rng().random_range(0..=half_ms));
    exponential.saturating_add(jitter).min(MAX_RETRY_DELAY)
}

/// Registry error bodies can be whole HTML pages; keep messages readable.
fn truncate_message(message: &str) -> String {
    const LIMIT: usize = 300;
    let message = message.trim();
    match message.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

/// Whether a stream error is oci-client's digest verdict (as opposed to a transport failure).
fn is_digest_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<DigestError>().is_some())
}

/// A download in progress: a uniquely named file beside the destination, removed on drop
/// unless it was renamed into place, so no error path (or cancelled future) leaves a partial
/// bottle behind.
struct PartFile {
    path: PathBuf,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

impl PartFile {
    async fn create(dest: &Path) -> Result<Self, GhcrError> {
        use rand::Rng as _;
        let io = |source| GhcrError::Io {
            path: dest.to_owned(),
            source,
        };
        let name = dest
            .file_name()
            .ok_or_else(|| io(std::io::Error::other("the destination has no file name")))?;
        let mut part_name = name.to_os_string();
        part_name.push(format!(".{:016x}.incomplete", rand::rng().random::<u64>()));
        let path = dest.with_file_name(part_name);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|source| GhcrError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            path,
            file: Some(tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file)),
        })
    }

    fn io_error(&self, source: std::io::Error) -> GhcrError {
        GhcrError::Io {
            path: self.path.clone(),
            source,
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), GhcrError> {
        let Some(file) = self.file.as_mut() else {
            return Err(self.io_error(std::io::Error::other("already closed")));
        };
        match file.write_all(bytes).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// Flush, fsync, rename onto `dest`, and fsync the directory so the rename survives a
    /// crash.
    async fn persist(mut self, dest: &Path) -> Result<(), GhcrError> {
        let Some(mut file) = self.file.take() else {
            return Err(self.io_error(std::io::Error::other("already closed")));
        };
        if let Err(e) = file.flush().await {
            return Err(self.io_error(e));
        }
        let file = file.into_inner();
        if let Err(e) = file.sync_all().await {
            return Err(self.io_error(e));
        }
        drop(file);
        if let Err(source) = tokio::fs::rename(&self.path, dest).await {
            return Err(GhcrError::Io {
                path: dest.to_owned(),
                source,
            });
        }
        // Renamed: nothing left for `Drop` to clean up.
        self.path = PathBuf::new();
        #[cfg(unix)]
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort: the bottle is complete and in place either way.
            if let Ok(dir) = tokio::fs::File::open(dir).await {
                let _ = dir.sync_all().await;
            }
        }
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            // Nothing useful to do if this fails: the name is unique and marked incomplete.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_brew() {
        assert_eq!(index_tag("1.24.5", 0), "1.24.5");
        assert_eq!(index_tag("1.24.5_1", 2), "1.24.5_1-2");
        // `+` is not allowed in OCI tags; brew's `image_version_rebuild` turns it into `.`.
        assert_eq!(index_tag("2.0+git1", 0), "2.0.git1");
        assert_eq!(
            platform_ref_name("1.24.5_1", "arm64_sonoma", 0),
            "1.24.5_1.arm64_sonoma"
        );
        assert_eq!(
            platform_ref_name("1.24.5_1", "x86_64_linux", 2),
            "1.24.5_1.x86_64_linux.2"
        );
        // The ref name keeps the version as is.
        assert_eq!(platform_ref_name("2.0+git1", "all", 1), "2.0+git1.all.1");
    }

    #[test]
    fn roots_split_into_registry_and_prefix() {
        let (protocol, registry, prefix) = parse_root("https://ghcr.io/v2/homebrew/core").unwrap();
        assert_eq!(protocol, ClientProtocol::Https);
        assert_eq!(
            (registry.as_str(), prefix.as_str()),
            ("ghcr.io", "homebrew/core")
        );
        let (protocol, registry, prefix) =
            parse_root("http://127.0.0.1:5000/v2/homebrew/core/").unwrap();
        assert_eq!(protocol, ClientProtocol::Http);
        assert_eq!(
            (registry.as_str(), prefix.as_str()),
            ("127.0.0.1:5000", "homebrew/core")
        );
        assert_eq!(parse_root("http://localhost:5000/v2").unwrap().2, "");
        assert_eq!(
            redact_userinfo("https://u:secret@ghcr.io/v2/x@y"),
            "https://***@ghcr.io/v2/x@y"
        );
        for bad in [
            "ghcr.io/v2/homebrew/core",
            "ftp://ghcr.io/v2/homebrew/core",
            "https://ghcr.io/homebrew/core",
            "https://user:secret@ghcr.io/v2/homebrew/core",
        ] {
            let err = parse_root(bad).unwrap_err();
            assert!(!err.to_string().contains("secret"));
        }
    }

    #[test]
    fn repository_maps_formula_names() {
        let client = GhcrClient::new(
            "https://ghcr.io/v2/homebrew/core",
            RegistryAuth::anonymous(),
        )
        .unwrap();
        let name: BottleFilename = "openssl@3--3.3.1.arm64_sonoma.bottle.tar.gz"
            .parse()
            .unwrap();
        assert_eq!(client.repository(&name), "homebrew/core/openssl/3");
        let name: BottleFilename = "libsigc++--3.6.0.sonoma.bottle.tar.gz".parse().unwrap();
        assert_eq!(client.repository(&name), "homebrew/core/libsigcxx");
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn auth_from_env_follows_brew_precedence() {
        assert!(
            RegistryAuth::from_env_map(&env(&[]))
                .unwrap()
                .is_anonymous()
        );
        assert!(
            RegistryAuth::from_env_map(&env(&[(TOKEN_ENV, "")]))
                .unwrap()
                .is_anonymous()
        );
        // The token wins over basic credentials, as in brew.sh.
        let auth = RegistryAuth::from_env_map(&env(&[
            (TOKEN_ENV, "tok"),
            (BASIC_AUTH_ENV, "dXNlcjpwYXNz"),
        ]))
        .unwrap();
        assert_eq!(auth, RegistryAuth::bearer("tok"));
        // base64("user:pa:ss")
        let auth =
            RegistryAuth::from_env_map(&env(&[(BASIC_AUTH_ENV, "dXNlcjpwYTpzcw==")])).unwrap();
        assert_eq!(auth, RegistryAuth::basic("user", "pa:ss"));
        for bad in ["not base64!", "bm9jb2xvbg=="] {
            let err = RegistryAuth::from_env_map(&env(&[(BASIC_AUTH_ENV, bad)])).unwrap_err();
            assert_eq!(err.variable, BASIC_AUTH_ENV);
            assert!(!err.to_string().contains(bad));
        }
    }

    #[test]
    fn secrets_never_show() {
        let bearer = RegistryAuth::bearer("s3cr3t-token");
        let basic = RegistryAuth::basic("brew", "s3cr3t-pass");
        for auth in [&bearer, &basic] {
            for text in [format!("{auth:?}"), auth.describe()] {
                assert!(!text.contains("s3cr3t"), "{text}");
            }
        }
        assert!(format!("{basic:?}").contains("brew"));
        let client = GhcrClient::new("https://ghcr.io/v2/homebrew/core", bearer).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let http = |status| GhcrError::Http {
            image: "i".into(),
            reference: "r".into(),
            status,
            message: String::new(),
            attempts: 1,
        };
        assert!(http(500).is_transient());
        assert!(http(503).is_transient());
        assert!(!http(404).is_transient());
        assert!(!http(429).is_transient());
        let mismatch = GhcrError::BlobDigestMismatch {
            image: "i".into(),
            expected: Sha256Hash::new([0; 32]),
            found: Sha256Hash::new([1; 32]),
        };
        assert!(!mismatch.is_transient());
        assert!(matches!(
            http(502).with_attempts(3),
            GhcrError::Http { attempts: 3, .. }
        ));
    }

    #[test]
    fn registry_answers_map_to_error_kinds() {
        use oci_client::errors::{OciEnvelope, OciError};
        let client = GhcrClient::new(
            "https://ghcr.io/v2/homebrew/core",
            RegistryAuth::anonymous(),
        )
        .unwrap();
        let target = Target {
            image: "homebrew/core/wget",
            reference: "1.0",
        };
        let map = |e| client.map_error(e, &target);
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: "m".into(),
        };
        assert!(matches!(map(server(404)), GhcrError::NotFound { .. }));
        assert!(matches!(map(server(403)), GhcrError::Unauthorized { .. }));
        let err = map(server(502));
        assert!(matches!(err, GhcrError::Http { status: 502, .. }) && err.is_transient());
        let envelope = |code| OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "nope".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "u".into(),
        };
        assert!(matches!(
            map(envelope(OciErrorCode::ManifestUnknown)),
            GhcrError::NotFound { .. }
        ));
        assert!(matches!(
            map(envelope(OciErrorCode::Denied)),
            GhcrError::Unauthorized { .. }
        ));
        assert!(matches!(
            map(OciDistributionError::UnauthorizedError { url: "u".into() }),
            GhcrError::Unauthorized { .. }
        ));
        let err = map(OciDistributionError::DigestError(
            DigestError::VerificationError {
                expected: "sha256:aa".into(),
                actual: "sha256:bb".into(),
            },
        ));
        assert!(matches!(err, GhcrError::ManifestDigestMismatch { .. }) && !err.is_transient());
        let text = err.to_string();
        assert!(text.contains("homebrew/core/wget:1.0") && text.contains("sha256:bb"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for tries in 1..=3 {
            let d = backoff(base, tries);
            let floor = base * (1 << (tries - 1));
            assert!(d >= floor && d <= floor + floor / 2, "{tries}: {d:?}");
        }
        assert_eq!(backoff(Duration::from_secs(60), 5), MAX_RETRY_DELAY);
    }

    #[test]
    fn digests_parse_strictly() {
        let hex = "a".repeat(64);
        assert!(parse_sha256_digest(&format!("sha256:{hex}")).is_some());
        assert!(parse_sha256_digest(&hex).is_none());
        assert!(parse_sha256_digest(&format!("sha512:{hex}")).is_none());
        assert!(parse_sha256_digest("sha256:abc").is_none());
    }

    #[tokio::test]
    async fn part_files_vanish_unless_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("bottle.tar.gz");
        let mut part = PartFile::create(&dest).await.unwrap();
        part.write(b"partial").await.unwrap();
        drop(part);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut part = PartFile::create(&dest).await.unwrap();
        part.write(b"whole").await.unwrap();
        part.persist(&dest).await.unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
