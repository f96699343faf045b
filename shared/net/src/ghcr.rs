//! GHCR, Homebrew's bottle registry (and any OCI registry serving bottles): the image index,
//! the platform manifest and the bottle blob of one [`ResolvedBottle`], spoken directly over
//! the one HTTP layer ([`crate::http`]) so that credentials, caps and retries follow the same
//! rules as every other request.
//!
//! What this module owns (DESIGN.md §2):
//!
//! - **Credentials**: the user's registry credential (see [`crate::env::Env::registry_credential`])
//!   is bound to `ghcr.io` and hosts the user named, never to a host taken from a formula's
//!   `root_url` or a mirror setting. A bearer token is sent as is; basic credentials go only to a
//!   token service on an allowed host. Without either, the registry's anonymous token flow is
//!   used. A token a token service mints is bound to the registry it was asked for.
//! - **Coordinates**: image `<prefix>/<formula name with @→/ and +→x>`, index tag
//!   `<version>[-<rebuild>]` ([`index_tag`]), platform manifest named
//!   `<version>.<tag>[.<rebuild>]` ([`platform_ref_name`]).
//! - **Consistency checks** ([`GhcrClient::bottle_manifest`]): the index entry for the platform
//!   must name the formula's sha256, the manifest it points at must hash to the digest the index
//!   names, and that manifest's layer must be the formula's sha256.
//! - **Downloads** ([`GhcrClient::download_blob`]): streamed into a temporary file beside the
//!   destination while hashing, capped at the size the manifest declares, renamed into place
//!   only when the digest matches.
//!
//! What it must not do: decide whether a bottle is trustworthy (a registry is only a place
//! bytes come from), print anything, or ever show a token.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bottle_attest::bottle::{BottleFilename, image_name};
use bottle_attest::digest::sha256_bytes;
use bottle_attest::formula::ResolvedBottle;
use reqwest::Url;
use reqwest::header::{ACCEPT, HeaderValue, WWW_AUTHENTICATE};
use serde::Deserialize;
use sha2::Digest as _;
use sigstore_types::Sha256Hash;
use tokio::io::AsyncWriteExt as _;

use crate::http::{
    Attempt, BodyCap, Credential, Deadline, HttpClient, NetError, NetErrorKind, Request,
    SharedCredential, body, retry,
};

/// Annotation naming a platform manifest inside the index: `<version>.<tag>[.<rebuild>]`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation carrying the bottle's sha256 (hex, no prefix).
pub const ANNOTATION_BOTTLE_DIGEST: &str = "sh.brew.bottle.digest";
/// Annotation carrying the bottle's size in bytes.
pub const ANNOTATION_BOTTLE_SIZE: &str = "sh.brew.bottle.size";
/// Annotation carrying the bottle's tab (install receipt) as JSON.
pub const ANNOTATION_TAB: &str = "sh.brew.tab";

const OCI_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The largest bottle downloaded when no manifest says how large it is: the largest bottles
/// are a few GiB.
pub const MAX_BOTTLE: u64 = 8 << 30;

/// Write buffer for downloads: large enough that the blocking-pool round trips of `tokio::fs`
/// disappear next to hashing.
const WRITE_BUFFER: usize = 256 * 1024;

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
    /// The registry or its token service refused access (HTTP 401/403).
    #[error(
        "the registry refused access to `{image}:{reference}` with {auth}: {reason} (set HOMEBREW_DOCKER_REGISTRY_TOKEN or HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN if the package is private)"
    )]
    Unauthorized {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// What was presented (never the secret).
        auth: String,
        /// What the registry said.
        reason: String,
    },
    /// The request failed or the registry answered with an unexpected status, for this image.
    #[error("the registry, for `{image}:{reference}`: {source}")]
    Net {
        /// The repository.
        image: String,
        /// The tag or digest.
        reference: String,
        /// What happened.
        #[source]
        source: NetError,
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
    /// Whether the registry's answer contradicts the formula (a refusal, exit 1), as opposed to
    /// not being had at all (could not check).
    pub fn is_contradiction(&self) -> bool {
        matches!(
            self,
            Self::DigestAnnotationMismatch { .. }
                | Self::LayerDigestMismatch { .. }
                | Self::ManifestDigestMismatch { .. }
                | Self::BlobDigestMismatch { .. }
                | Self::NoPlatform { .. }
        )
    }

    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Net { source, .. } if source.is_transient())
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

/// A client for one bottle root (`https://ghcr.io/v2/homebrew/core`, a mirror, or a local
/// registry).
pub struct GhcrClient {
    http: HttpClient,
    root: String,
    /// `scheme://host[:port]/`, where `/v2/…` and token flows start.
    registry: Url,
    prefix: String,
    /// The user's credential (already bound to its hosts; attached only where allowed).
    credential: Option<SharedCredential>,
    /// Tokens minted by the registry's token service, per repository.
    tokens: tokio::sync::Mutex<HashMap<String, Option<SharedCredential>>>,
}

impl fmt::Debug for GhcrClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GhcrClient")
            .field("root", &self.root)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// A `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    pub(crate) service: Option<String>,
    pub(crate) scope: Option<String>,
}

/// Parse a bearer challenge (RFC 6750 §3); `None` for other schemes or no realm.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut scope = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match key.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value.to_owned()),
            "service" => service = Some(value.to_owned()),
            "scope" => scope = Some(value.to_owned()),
            _ => {}
        }
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge {
        realm: realm?,
        service,
        scope,
    })
}

impl GhcrClient {
    /// A client for the bottle root `root` (`https://HOST[:PORT]/v2/PREFIX`). An `http://` root
    /// talks plain HTTP (local registries, tests) and gets no credential unless it is loopback.
    /// `credential` is the user's, bound to the hosts it may go to.
    pub fn new(
        http: HttpClient,
        root: &str,
        credential: Option<SharedCredential>,
    ) -> Result<Self, InvalidRoot> {
        let (registry, prefix) = parse_root(root)?;
        Ok(Self {
            http,
            root: root.trim_end_matches('/').to_owned(),
            registry,
            prefix,
            credential,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
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

    fn describe_auth(&self) -> String {
        match &self.credential {
            Some(c) if c.check(&self.registry).is_ok() => c.source().to_owned(),
            Some(c) => format!(
                "no credentials ({} is bound to {}, not this registry)",
                c.source(),
                c.hosts().join(", ")
            ),
            None => "no credentials (anonymous token flow)".to_owned(),
        }
    }

    /// Find and check `bottle`'s platform manifest:
    ///
    /// 1. pull the image index tagged [`index_tag`] (bytes checked against the
    ///    `Docker-Content-Digest` the registry announces);
    /// 2. take the entry whose `org.opencontainers.image.ref.name` is [`platform_ref_name`];
    /// 3. require its `sh.brew.bottle.digest` to be the formula's sha256;
    /// 4. pull the manifest by the digest the entry names, refusing bytes that do not hash to it;
    /// 5. require a layer whose digest is `sha256:<formula sha256>` (and the manifest's own
    ///    `sh.brew.bottle.digest`, when present, to agree).
    ///
    /// The client's root is used, not `bottle.root_url`, so that a mirror can serve bottles the
    /// formula API places on GHCR.
    pub async fn bottle_manifest(
        &self,
        bottle: &ResolvedBottle,
        deadline: Option<Deadline>,
    ) -> Result<BottleManifest, GhcrError> {
        let file = &bottle.bottle.filename;
        let expected = &bottle.bottle.digest;
        let image = self.repository(file);
        let reference = index_tag(file.version(), file.rebuild());
        let ref_name = platform_ref_name(file.version(), file.tag(), file.rebuild());
        let malformed = |reference: &str, why: String| GhcrError::Malformed {
            image: image.clone(),
            reference: reference.to_owned(),
            why,
        };

        // (1)
        let index_bytes = self
            .manifest(&image, &reference, OCI_IMAGE_INDEX, None, deadline)
            .await?;
        let index: ImageIndex = serde_json::from_slice(&index_bytes).map_err(|e| {
            malformed(
                &reference,
                format!("the image index is not valid JSON: {e}"),
            )
        })?;

        // (2) brew (`Bottle#manifest_annotations`) looks for an entry matching both name and
        // digest; looking up by name first lets a mismatch be reported as such.
        let candidates: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|m| m.annotations.get(ANNOTATION_REF_NAME) == Some(&ref_name))
            .collect();
        let Some(first) = candidates.first() else {
            return Err(GhcrError::NoPlatform {
                image: image.clone(),
                reference,
                ref_name,
                available: index
                    .manifests
                    .iter()
                    .filter_map(|m| m.annotations.get(ANNOTATION_REF_NAME).cloned())
                    .take(64)
                    .collect(),
            });
        };
        // (3)
        let expected_hex = expected.to_hex();
        let Some(entry) = candidates.iter().find(|m| {
            m.annotations
                .get(ANNOTATION_BOTTLE_DIGEST)
                .is_some_and(|d| d.eq_ignore_ascii_case(&expected_hex))
        }) else {
            return Err(GhcrError::DigestAnnotationMismatch {
                image: image.clone(),
                reference,
                ref_name,
                expected: *expected,
                found: first.annotations.get(ANNOTATION_BOTTLE_DIGEST).cloned(),
            });
        };

        // (4)
        let manifest_digest = parse_sha256_digest(&entry.digest).ok_or_else(|| {
            malformed(
                &reference,
                format!(
                    "the index names manifest `{}`, which is not a sha256 digest",
                    crate::http::human_shorten(&entry.digest)
                ),
            )
        })?;
        let manifest_name = format!("sha256:{manifest_digest}");
        let manifest_bytes = self
            .manifest(
                &image,
                &manifest_name,
                OCI_IMAGE_MANIFEST,
                Some(&manifest_digest),
                deadline,
            )
            .await?;
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
            malformed(
                &manifest_name,
                format!("the image manifest is not valid JSON: {e}"),
            )
        })?;

        // (5)
        let layer_name = format!("sha256:{expected_hex}");
        let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| l.digest.eq_ignore_ascii_case(&layer_name))
        else {
            return Err(GhcrError::LayerDigestMismatch {
                image: image.clone(),
                manifest: manifest_name,
                expected: *expected,
                found: manifest
                    .layers
                    .iter()
                    .take(16)
                    .map(|l| crate::http::human_shorten(&l.digest))
                    .collect(),
            });
        };
        let own = manifest.annotations.get(ANNOTATION_BOTTLE_DIGEST);
        if own.is_some_and(|own| !own.eq_ignore_ascii_case(&expected_hex)) {
            return Err(GhcrError::DigestAnnotationMismatch {
                image: image.clone(),
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

    /// Download `bottle`'s blob (`<prefix>/<image>/blobs/sha256:<hex>`) to `dest`, reading at
    /// most `size` bytes (what its manifest declares; [`MAX_BOTTLE`] when unknown).
    ///
    /// The body streams into a temporary file in `dest`'s directory while being hashed; only a
    /// complete body with the formula's sha256 is synced and renamed onto `dest`. On a mismatch
    /// or a cut-off body the temporary file is removed, so `dest` is either the exact bottle or
    /// untouched. A body cut short is fetched again under the retry policy; a mismatch never is.
    pub async fn download_blob(
        &self,
        bottle: &ResolvedBottle,
        size: Option<u64>,
        dest: &Path,
    ) -> Result<(), GhcrError> {
        let image = self.repository(&bottle.bottle.filename);
        let expected = bottle.bottle.digest;
        let blob_name = format!("sha256:{expected}");
        let net = |source: NetError| GhcrError::Net {
            image: image.clone(),
            reference: blob_name.clone(),
            source,
        };
        let url = self
            .registry
            .join(&format!("v2/{image}/blobs/{blob_name}"))
            .map_err(|e| net(NetError::invalid_url(&image, e.to_string())))?;
        let token = self.token_for(&image, &blob_name, None).await?;
        let cap = BodyCap::exactly(size.unwrap_or(MAX_BOTTLE), "bottle");
        let request = Request::get(url.clone(), cap)
            .credential(token)
            .purpose("registry_blob");
        let outcome = retry::run(
            self.http.retry_policy(),
            None,
            None,
            self.http.events(),
            &url,
            |attempt| self.download_once(&request, attempt, &image, expected, size, dest),
        )
        .await;
        match outcome {
            Ok(result) => result,
            Err(source) if matches!(source.status(), Some(404)) => Err(GhcrError::NotFound {
                image,
                reference: blob_name,
            }),
            Err(source) if matches!(source.status(), Some(401 | 403)) => {
                Err(GhcrError::Unauthorized {
                    image,
                    reference: blob_name,
                    auth: self.describe_auth(),
                    reason: source.to_string(),
                })
            }
            Err(source) => Err(net(source)),
        }
    }

    async fn download_once(
        &self,
        request: &Request,
        attempt: u32,
        image: &str,
        expected: Sha256Hash,
        size: Option<u64>,
        dest: &Path,
    ) -> Attempt<Result<(), GhcrError>> {
        let mut stream = match self.http.open(request, attempt).await {
            Ok(stream) => stream,
            Err(e) if e.is_transient() => return Attempt::Retry(e),
            Err(e) => return Attempt::Done(Err(e)),
        };
        let announced = stream.content_length.or(size);
        let mut part = match PartFile::create(dest).await {
            Ok(part) => part,
            Err(e) => return Attempt::Done(Ok(Err(e))),
        };
        let mut hasher = sha2::Sha256::new();
        let mut received: u64 = 0;
        loop {
            match stream.chunk().await {
                Ok(Some(bytes)) => {
                    hasher.update(&bytes);
                    received += bytes.len() as u64;
                    if let Err(e) = part.write(&bytes).await {
                        return Attempt::Done(Ok(Err(e)));
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_transient() => return Attempt::Retry(e),
                Err(e) => return Attempt::Done(Err(e)),
            }
        }
        if let Some(n) = announced.filter(|n| received < *n) {
            return Attempt::Retry(NetError::new(
                request.url(),
                NetErrorKind::Transport(format!(
                    "the body was cut short after {received} of {n} bytes"
                )),
            ));
        }
        let found = Sha256Hash::new(hasher.finalize().into());
        if found != expected {
            return Attempt::Done(Ok(Err(GhcrError::BlobDigestMismatch {
                image: image.to_owned(),
                expected,
                found,
            })));
        }
        Attempt::Done(Ok(part.persist(dest).await))
    }

    /// Pull one manifest's bytes: by digest, refusing bytes that do not hash to it; by tag,
    /// refusing bytes that do not hash to the `Docker-Content-Digest` the registry announces.
    async fn manifest(
        &self,
        image: &str,
        reference: &str,
        accept: &'static str,
        digest: Option<&Sha256Hash>,
        deadline: Option<Deadline>,
    ) -> Result<Vec<u8>, GhcrError> {
        let net = |source: NetError| GhcrError::Net {
            image: image.to_owned(),
            reference: reference.to_owned(),
            source,
        };
        let url = self
            .registry
            .join(&format!("v2/{image}/manifests/{reference}"))
            .map_err(|e| net(NetError::invalid_url(reference, e.to_string())))?;
        let token = self.token_for(image, reference, deadline).await?;
        let response = self
            .http
            .send(
                Request::get(url, body::OCI_MANIFEST)
                    .header(ACCEPT, HeaderValue::from_static(accept))
                    .credential(token)
                    .deadline(deadline)
                    .purpose("registry"),
            )
            .await
            .map_err(net)?;
        match response.status {
            200..=299 => {}
            404 => {
                return Err(GhcrError::NotFound {
                    image: image.to_owned(),
                    reference: reference.to_owned(),
                });
            }
            401 | 403 => {
                return Err(GhcrError::Unauthorized {
                    image: image.to_owned(),
                    reference: reference.to_owned(),
                    auth: self.describe_auth(),
                    reason: registry_message(response.status, &response.body),
                });
            }
            _ => return Err(net(response.error())),
        }
        let found = sha256_bytes(&response.body);
        let announced = response.header("docker-content-digest").map(str::to_owned);
        let expected = match (digest, announced) {
            (Some(d), _) => Some(format!("sha256:{d}")),
            (None, Some(header)) if header.starts_with("sha256:") => Some(header),
            _ => None,
        };
        if let Some(expected) = expected {
            if !expected.eq_ignore_ascii_case(&format!("sha256:{found}")) {
                return Err(GhcrError::ManifestDigestMismatch {
                    image: image.to_owned(),
                    reference: reference.to_owned(),
                    expected: crate::http::human_shorten(&expected),
                    found: format!("sha256:{found}"),
                });
            }
        }
        Ok(response.body)
    }

    /// The credential for `image`'s requests: the user's bearer token as is (where it is
    /// allowed), else a token from the registry's token service, asked with the user's basic
    /// credential only if the token service is on a host it is bound to, else none.
    async fn token_for(
        &self,
        image: &str,
        reference: &str,
        deadline: Option<Deadline>,
    ) -> Result<Option<SharedCredential>, GhcrError> {
        if let Some(c) = &self.credential {
            if !c.is_basic() && c.check(&self.registry).is_ok() {
                return Ok(Some(Arc::clone(c)));
            }
        }
        if let Some(known) = self.tokens.lock().await.get(image) {
            return Ok(known.clone());
        }
        let net = |source: NetError| GhcrError::Net {
            image: image.to_owned(),
            reference: reference.to_owned(),
            source,
        };
        let unauthorized = |reason: String| GhcrError::Unauthorized {
            image: image.to_owned(),
            reference: reference.to_owned(),
            auth: self.describe_auth(),
            reason,
        };
        let v2 = self
            .registry
            .join("v2/")
            .map_err(|e| net(NetError::invalid_url(image, e.to_string())))?;
        let probe = self
            .http
            .send(
                Request::get(v2, body::ERROR_BODY)
                    .deadline(deadline)
                    .purpose("registry_auth"),
            )
            .await
            .map_err(net)?;
        let basic = self.credential.as_ref().filter(|c| c.is_basic()).cloned();
        let token = if probe.is_success() {
            None
        } else if probe.status == 401 {
            let header = probe.header(WWW_AUTHENTICATE.as_str()).unwrap_or_default();
            match parse_challenge(header) {
                Some(challenge) => self
                    .token_from_service(&challenge, image, basic, deadline)
                    .await
                    .map_err(|e| match e {
                        TokenError::Net(e) => net(e),
                        TokenError::Refused(why) => unauthorized(why),
                    })?,
                // A Basic challenge: the user's basic credential, if it may go here.
                None => basic.filter(|c| c.check(&self.registry).is_ok()),
            }
        } else {
            return Err(net(probe.error()));
        };
        self.tokens
            .lock()
            .await
            .insert(image.to_owned(), token.clone());
        Ok(token)
    }

    async fn token_from_service(
        &self,
        challenge: &Challenge,
        image: &str,
        basic: Option<SharedCredential>,
        deadline: Option<Deadline>,
    ) -> Result<Option<SharedCredential>, TokenError> {
        let mut realm = Request::parse_url(&challenge.realm).map_err(TokenError::Net)?;
        {
            let mut query = realm.query_pairs_mut();
            if let Some(service) = &challenge.service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", &format!("repository:{image}:pull"));
        }
        // The realm comes from the registry's answer: the user's credential goes there only if
        // it was bound to that host (issue 10, item 1).
        let credential = basic.filter(|c| c.check(&realm).is_ok());
        let response = self
            .http
            .send(
                Request::get(realm, body::REGISTRY_TOKEN)
                    .credential(credential)
                    .deadline(deadline)
                    .purpose("registry_auth"),
            )
            .await
            .map_err(TokenError::Net)?;
        if matches!(response.status, 401 | 403) {
            return Err(TokenError::Refused(format!(
                "its token service refused: {}",
                registry_message(response.status, &response.body)
            )));
        }
        if !response.is_success() {
            return Err(TokenError::Net(response.error()));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&response.body).map_err(|e| {
            TokenError::Refused(format!("its token service answered something else: {e}"))
        })?;
        let Some(token) = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        else {
            return Err(TokenError::Refused(
                "its token service gave no usable token".into(),
            ));
        };
        let host = crate::http::origin::Origin::of(&self.registry)
            .map(|o| o.authority())
            .unwrap_or_default();
        Ok(Some(Arc::new(Credential::bearer(
            token,
            "the registry's token",
            &[&host],
        ))))
    }
}

enum TokenError {
    Net(NetError),
    Refused(String),
}

/// A registry's error message: the OCI `{"errors":[{"message"}]}`, else the generic one.
fn registry_message(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) if !envelope.errors.is_empty() => crate::http::human_shorten(
            &envelope
                .errors
                .iter()
                .take(4)
                .map(|e| format!("{} {}", e.code, e.message).trim().to_owned())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => format!("HTTP {status}: {}", crate::http::message(status, body)),
    }
}

/// `http[s]://HOST[:PORT]/v2/PREFIX` → `http[s]://HOST[:PORT]/`, `PREFIX`.
fn parse_root(root: &str) -> Result<(Url, String), InvalidRoot> {
    let invalid = |why| InvalidRoot {
        root: redact_userinfo(root),
        why,
    };
    let url = Url::parse(root).map_err(|_| invalid("it is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("its scheme is neither https nor http"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials belong in the environment, not in the URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or fragment"));
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    let path = url.path().trim_end_matches('/');
    let prefix = if path == "/v2" {
        ""
    } else {
        path.strip_prefix("/v2/")
            .ok_or_else(|| invalid("its path does not start with `/v2/`"))?
    };
    let mut registry = url.clone();
    registry.set_path("/");
    Ok((registry, prefix.to_owned()))
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
        assert_eq!(platform_ref_name("2.0+git1", "all", 1), "2.0+git1.all.1");
    }

    #[test]
    fn roots_split_into_registry_and_prefix() {
        let (registry, prefix) = parse_root("https://ghcr.io/v2/homebrew/core").unwrap();
        assert_eq!(
            (registry.as_str(), prefix.as_str()),
            ("https://ghcr.io/", "homebrew/core")
        );
        let (registry, prefix) = parse_root("http://127.0.0.1:5000/v2/homebrew/core/").unwrap();
        assert_eq!(
            (registry.as_str(), prefix.as_str()),
            ("http://127.0.0.1:5000/", "homebrew/core")
        );
        assert_eq!(parse_root("http://localhost:5000/v2").unwrap().1, "");
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
        let http = HttpClient::new(Default::default()).unwrap();
        let client = GhcrClient::new(http, "https://ghcr.io/v2/homebrew/core", None).unwrap();
        let name: BottleFilename = "openssl@3--3.3.1.arm64_sonoma.bottle.tar.gz"
            .parse()
            .unwrap();
        assert_eq!(client.repository(&name), "homebrew/core/openssl/3");
    }

    #[test]
    fn challenges_parse() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:homebrew/core/wget:pull""#
            ),
            Some(Challenge {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:homebrew/core/wget:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=https://r.example/t, service=x")
                .map(|c| (c.realm, c.service)),
            Some(("https://r.example/t".into(), Some("x".into())))
        );
        assert_eq!(parse_challenge(r#"Basic realm="x""#), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Bearer realm=\"unterminated"), None);
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn digests_parse_strictly() {
        let hex = "a".repeat(64);
        assert!(parse_sha256_digest(&format!("sha256:{hex}")).is_some());
        assert!(parse_sha256_digest(&hex).is_none());
        assert!(parse_sha256_digest("sha256:abc").is_none());
        assert!(parse_sha256_digest(&format!("sha512:{hex}")).is_none());
    }

    #[test]
    fn registry_messages_are_short() {
        let body = br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#;
        assert_eq!(
            registry_message(403, body),
            "DENIED requested access to the resource is denied"
        );
        assert_eq!(registry_message(502, b"<html>"), "HTTP 502: Bad Gateway");
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
