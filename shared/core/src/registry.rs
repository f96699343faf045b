//! What an OCI registry (GHCR, Homebrew's bottle registry) must say about a bottle: the pure
//! half of the network crate's GHCR client. No I/O: callers pass the bytes they pulled.
//!
//! Homebrew publishes each formula version as one OCI image index tagged [`index_tag`]
//! (`<version>[-<rebuild>]`), with one entry per platform whose
//! `org.opencontainers.image.ref.name` is [`platform_ref_name`] (`<version>.<tag>[.<rebuild>]`)
//! and whose `sh.brew.bottle.digest` is the bottle's sha256. The entry points, by digest, at a
//! platform manifest whose layer is the bottle blob.
//!
//! The checks, in the order a client makes them:
//!
//! 1. [`select_platform`] over the index bytes: the entry named [`platform_ref_name`] must
//!    exist ([`RegistryError::NoPlatform`]) and carry the formula's sha256 in
//!    `sh.brew.bottle.digest` ([`RegistryError::DigestAnnotationMismatch`]); the manifest digest
//!    it names must be `sha256:<64 hex>` ([`RegistryError::Malformed`]).
//! 2. [`check_manifest`] over the manifest bytes pulled by that digest: the bytes must hash to it
//!    ([`RegistryError::ManifestDigestMismatch`], even if the client already checked: this
//!    function trusts no caller), a layer must be `sha256:<formula sha256>`
//!    ([`RegistryError::LayerDigestMismatch`]), and the manifest's own `sh.brew.bottle.digest`,
//!    when present, must agree ([`RegistryError::DigestAnnotationMismatch`]).
//!
//! A registry is only a place bytes come from: passing these checks says the registry agrees
//! with the formula, not that the bottle is trustworthy (that is the policy's job).

use std::collections::BTreeMap;

use serde::Deserialize;
use sigstore_types::Sha256Hash;

use crate::bottle::{BottleFilename, BottleRef, image_name};
use crate::digest::sha256_bytes;

/// Annotation naming a platform manifest inside the index: `<version>.<tag>[.<rebuild>]`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation carrying the bottle's sha256 (hex, no prefix).
pub const ANNOTATION_BOTTLE_DIGEST: &str = "sh.brew.bottle.digest";
/// Annotation carrying the bottle's size in bytes.
pub const ANNOTATION_BOTTLE_SIZE: &str = "sh.brew.bottle.size";
/// Annotation carrying the bottle's tab (install receipt) as JSON.
pub const ANNOTATION_TAB: &str = "sh.brew.tab";

/// Why the registry's documents do not describe the formula's bottle. Every variant names the
/// image and the tag or digest involved, so that a user can repeat the request by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
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
    /// The index's platform entry (or the manifest's own annotation) names another bottle than
    /// the formula does.
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
    /// A manifest's bytes do not hash to the digest the index names for it.
    #[error(
        "the registry's bytes for `{image}:{reference}` hash to {found}, not {expected}: the manifest was altered, refusing it"
    )]
    ManifestDigestMismatch {
        /// The repository.
        image: String,
        /// The digest pulled (`sha256:…`).
        reference: String,
        /// The digest the index names.
        expected: String,
        /// The digest of the bytes received.
        found: String,
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

/// The repository of a bottle's image under a root whose path after `/v2/` is `prefix`
/// (`homebrew/core` → `homebrew/core/openssl/3`).
pub fn repository(prefix: &str, bottle: &BottleFilename) -> String {
    let image = image_name(bottle.name());
    if prefix.is_empty() {
        image
    } else {
        format!("{prefix}/{image}")
    }
}

/// `sha256:<64 hex>` → the hash; anything else → `None`.
pub fn parse_sha256_digest(digest: &str) -> Option<Sha256Hash> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    Sha256Hash::from_hex(hex).ok()
}

/// The parts of an OCI descriptor these checks read.
#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    /// `sha256:<hex>` of what it points at.
    pub digest: String,
    /// Size in bytes (0 when absent).
    #[serde(default)]
    pub size: u64,
    /// Annotations (OCI requires string values).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The parts of an OCI image index these checks read.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageIndex {
    /// One descriptor per platform manifest.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// The parts of an OCI image manifest these checks read.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    /// The layers; a bottle's manifest has one, the bottle blob.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest's own annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// One bottle's coordinates in a registry: what the documents must describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BottleTarget {
    /// The repository (`homebrew/core/wget`).
    pub image: String,
    /// The index tag (`1.24.5_1-2`).
    pub reference: String,
    /// The platform manifest's name (`1.24.5_1.arm64_sonoma.2`).
    pub ref_name: String,
    /// The formula's sha256 of the bottle.
    pub expected: Sha256Hash,
}

impl BottleTarget {
    /// The coordinates of `bottle` under a root whose path after `/v2/` is `prefix`.
    pub fn new(prefix: &str, bottle: &BottleRef) -> Self {
        let file = &bottle.filename;
        Self {
            image: repository(prefix, file),
            reference: index_tag(file.version(), file.rebuild()),
            ref_name: platform_ref_name(file.version(), file.tag(), file.rebuild()),
            expected: bottle.digest,
        }
    }

    fn malformed(&self, reference: &str, why: String) -> RegistryError {
        RegistryError::Malformed {
            image: self.image.clone(),
            reference: reference.to_owned(),
            why,
        }
    }
}

/// The index entry of a bottle's platform, checked by [`select_platform`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEntry {
    /// The digest of the platform manifest the entry points at.
    pub manifest_digest: Sha256Hash,
    /// The entry's annotations (`sh.brew.tab`, `sh.brew.bottle.size`…), which is what brew
    /// reads.
    pub annotations: BTreeMap<String, String>,
}

impl PlatformEntry {
    /// The manifest reference to pull: `sha256:<hex>`.
    pub fn manifest_name(&self) -> String {
        format!("sha256:{}", self.manifest_digest)
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

/// Steps 1–3 of a bottle lookup, over the image index bytes: find `target`'s platform entry
/// and require it to name the formula's sha256.
///
/// brew (`Bottle#manifest_annotations`) looks for an entry matching both name and digest;
/// looking up by name first lets a mismatch be reported as such.
#[expect(
    clippy::result_large_err,
    reason = "the variants carry the same fields as the network crate's GhcrError, so that it wraps them field for field; an error is made at most once per bottle"
)]
pub fn select_platform(
    target: &BottleTarget,
    index_bytes: &[u8],
) -> Result<PlatformEntry, RegistryError> {
    let index: ImageIndex = serde_json::from_slice(index_bytes).map_err(|e| {
        target.malformed(
            &target.reference,
            format!("the image index is not valid JSON: {e}"),
        )
    })?;
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|m| m.annotations.get(ANNOTATION_REF_NAME) == Some(&target.ref_name))
        .collect();
    let Some(first) = candidates.first() else {
        return Err(RegistryError::NoPlatform {
            image: target.image.clone(),
            reference: target.reference.clone(),
            ref_name: target.ref_name.clone(),
            available: index
                .manifests
                .iter()
                .filter_map(|m| m.annotations.get(ANNOTATION_REF_NAME).cloned())
                .collect(),
        });
    };
    let expected_hex = target.expected.to_hex();
    let Some(entry) = candidates.iter().find(|m| {
        m.annotations
            .get(ANNOTATION_BOTTLE_DIGEST)
            .is_some_and(|d| d.eq_ignore_ascii_case(&expected_hex))
    }) else {
        return Err(RegistryError::DigestAnnotationMismatch {
            image: target.image.clone(),
            reference: target.reference.clone(),
            ref_name: target.ref_name.clone(),
            expected: target.expected,
            found: first.annotations.get(ANNOTATION_BOTTLE_DIGEST).cloned(),
        });
    };
    let manifest_digest = parse_sha256_digest(&entry.digest).ok_or_else(|| {
        target.malformed(
            &target.reference,
            format!(
                "the index names manifest `{}`, which is not a sha256 digest",
                entry.digest
            ),
        )
    })?;
    Ok(PlatformEntry {
        manifest_digest,
        annotations: entry.annotations.clone(),
    })
}

/// Steps 4–5 of a bottle lookup, over the bytes of the manifest `entry` points at: they must
/// hash to its digest, list the formula's bottle as a layer, and not contradict it in their
/// own `sh.brew.bottle.digest`.
#[expect(
    clippy::result_large_err,
    reason = "the variants carry the same fields as the network crate's GhcrError, so that it wraps them field for field; an error is made at most once per bottle"
)]
pub fn check_manifest(
    target: &BottleTarget,
    entry: &PlatformEntry,
    manifest_bytes: &[u8],
) -> Result<BottleManifest, RegistryError> {
    let manifest_name = entry.manifest_name();
    let actual = sha256_bytes(manifest_bytes);
    if actual != entry.manifest_digest {
        return Err(RegistryError::ManifestDigestMismatch {
            image: target.image.clone(),
            reference: manifest_name.clone(),
            expected: manifest_name,
            found: format!("sha256:{actual}"),
        });
    }
    let manifest: ImageManifest = serde_json::from_slice(manifest_bytes).map_err(|e| {
        target.malformed(
            &manifest_name,
            format!("the image manifest is not valid JSON: {e}"),
        )
    })?;
    let expected_hex = target.expected.to_hex();
    let layer_name = format!("sha256:{expected_hex}");
    let Some(layer) = manifest
        .layers
        .iter()
        .find(|l| l.digest.eq_ignore_ascii_case(&layer_name))
    else {
        return Err(RegistryError::LayerDigestMismatch {
            image: target.image.clone(),
            manifest: manifest_name,
            expected: target.expected,
            found: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
        });
    };
    let own = manifest.annotations.get(ANNOTATION_BOTTLE_DIGEST);
    if own.is_some_and(|own| !own.eq_ignore_ascii_case(&expected_hex)) {
        return Err(RegistryError::DigestAnnotationMismatch {
            image: target.image.clone(),
            reference: manifest_name,
            ref_name: target.ref_name.clone(),
            expected: target.expected,
            found: own.cloned(),
        });
    }
    Ok(BottleManifest {
        image: target.image.clone(),
        reference: target.reference.clone(),
        ref_name: target.ref_name.clone(),
        manifest_digest: entry.manifest_digest,
        size: layer.size,
        annotations: entry.annotations.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bottle() -> BottleRef {
        BottleRef {
            digest: sha256_bytes(b"the bottle"),
            filename: "openssl@3--3.3.1_1.arm64_sonoma.bottle.2.tar.gz"
                .parse()
                .unwrap(),
        }
    }

    fn target() -> BottleTarget {
        BottleTarget::new("homebrew/core", &bottle())
    }

    fn manifest(layer: &Sha256Hash, own: Option<&str>) -> Vec<u8> {
        let mut annotations = json!({"org.opencontainers.image.title": "openssl@3"});
        if let Some(own) = own {
            annotations[ANNOTATION_BOTTLE_DIGEST] = json!(own);
        }
        serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{}", "c".repeat(64)), "size": 10},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": format!("sha256:{layer}"), "size": 1234}],
            "annotations": annotations,
        }))
        .unwrap()
    }

    fn index(ref_name: &str, digest: &str, manifest: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": format!("sha256:{}", "d".repeat(64)), "size": 1,
                 "annotations": {ANNOTATION_REF_NAME: "3.3.1_1.x86_64_linux.2",
                                 ANNOTATION_BOTTLE_DIGEST: "e".repeat(64)}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "digest": format!("sha256:{}", sha256_bytes(manifest)),
                 "size": manifest.len(),
                 "annotations": {ANNOTATION_REF_NAME: ref_name,
                                 ANNOTATION_BOTTLE_DIGEST: digest,
                                 ANNOTATION_TAB: "{\"arch\":\"arm64\"}"}},
            ],
        }))
        .unwrap()
    }

    #[test]
    fn coordinates_follow_brew() {
        let t = target();
        assert_eq!(t.image, "homebrew/core/openssl/3");
        assert_eq!(t.reference, "3.3.1_1-2");
        assert_eq!(t.ref_name, "3.3.1_1.arm64_sonoma.2");
        assert_eq!(index_tag("2.0+git1", 0), "2.0.git1");
        assert_eq!(platform_ref_name("2.0+git1", "all", 1), "2.0+git1.all.1");
        assert_eq!(repository("", &bottle().filename), "openssl/3");
    }

    #[test]
    fn a_consistent_index_and_manifest_pass() {
        let t = target();
        let m = manifest(&t.expected, Some(&t.expected.to_hex().to_uppercase()));
        let entry = select_platform(&t, &index(&t.ref_name, &t.expected.to_hex(), &m)).unwrap();
        assert_eq!(entry.manifest_digest, sha256_bytes(&m));
        let checked = check_manifest(&t, &entry, &m).unwrap();
        assert_eq!(checked.size, 1234);
        assert_eq!(checked.ref_name, "3.3.1_1.arm64_sonoma.2");
        assert_eq!(checked.tab(), Some(json!({"arch": "arm64"})));
    }

    #[test]
    fn an_index_without_the_platform_is_no_platform() {
        let t = target();
        let m = manifest(&t.expected, None);
        let err =
            select_platform(&t, &index("3.3.1_1.sonoma.2", &t.expected.to_hex(), &m)).unwrap_err();
        match err {
            RegistryError::NoPlatform {
                ref_name,
                available,
                ..
            } => {
                assert_eq!(ref_name, "3.3.1_1.arm64_sonoma.2");
                assert_eq!(available, ["3.3.1_1.x86_64_linux.2", "3.3.1_1.sonoma.2"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_index_entry_naming_another_bottle_is_refused() {
        let t = target();
        let m = manifest(&t.expected, None);
        let other = sha256_bytes(b"another bottle").to_hex();
        let err = select_platform(&t, &index(&t.ref_name, &other, &m)).unwrap_err();
        assert!(
            matches!(&err, RegistryError::DigestAnnotationMismatch { reference, found: Some(f), .. }
                if reference == "3.3.1_1-2" && *f == other),
            "{err:?}"
        );
    }

    #[test]
    fn a_manifest_that_does_not_hash_to_the_index_digest_is_refused() {
        let t = target();
        let m = manifest(&t.expected, None);
        let entry = select_platform(&t, &index(&t.ref_name, &t.expected.to_hex(), &m)).unwrap();
        let mut altered = m.clone();
        altered.push(b'\n');
        let err = check_manifest(&t, &entry, &altered).unwrap_err();
        assert!(
            matches!(&err, RegistryError::ManifestDigestMismatch { expected, .. }
                if *expected == entry.manifest_name()),
            "{err:?}"
        );
    }

    #[test]
    fn a_manifest_whose_layer_is_another_bottle_is_refused() {
        let t = target();
        let decoy = sha256_bytes(b"decoy");
        let m = manifest(&decoy, None);
        let entry = select_platform(&t, &index(&t.ref_name, &t.expected.to_hex(), &m)).unwrap();
        let err = check_manifest(&t, &entry, &m).unwrap_err();
        assert!(
            matches!(&err, RegistryError::LayerDigestMismatch { found, .. }
                if *found == [format!("sha256:{decoy}")]),
            "{err:?}"
        );
    }

    #[test]
    fn a_manifest_annotation_naming_another_bottle_is_refused() {
        let t = target();
        let other = sha256_bytes(b"another bottle").to_hex();
        let m = manifest(&t.expected, Some(&other));
        let entry = select_platform(&t, &index(&t.ref_name, &t.expected.to_hex(), &m)).unwrap();
        let err = check_manifest(&t, &entry, &m).unwrap_err();
        assert!(
            matches!(&err, RegistryError::DigestAnnotationMismatch { reference, found: Some(f), .. }
                if *reference == entry.manifest_name() && *f == other),
            "{err:?}"
        );
    }

    #[test]
    fn documents_that_are_not_oci_json_are_malformed() {
        let t = target();
        let err = select_platform(&t, b"<html>").unwrap_err();
        assert!(
            matches!(&err, RegistryError::Malformed { why, .. } if why.contains("index")),
            "{err:?}"
        );
        // Annotations must be strings, as OCI requires.
        let err = select_platform(
            &t,
            br#"{"manifests":[{"digest":"x","annotations":{"a":1}}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, RegistryError::Malformed { .. }), "{err:?}");
        let bad_digest = serde_json::to_vec(&json!({"manifests": [{
            "digest": "sha512:abc",
            "annotations": {ANNOTATION_REF_NAME: t.ref_name, ANNOTATION_BOTTLE_DIGEST: t.expected.to_hex()},
        }]}))
        .unwrap();
        let err = select_platform(&t, &bad_digest).unwrap_err();
        assert!(
            matches!(&err, RegistryError::Malformed { why, .. } if why.contains("sha512:abc")),
            "{err:?}"
        );
        let garbage = b"not json";
        let entry = PlatformEntry {
            manifest_digest: sha256_bytes(garbage),
            annotations: BTreeMap::new(),
        };
        let err = check_manifest(&t, &entry, garbage).unwrap_err();
        assert!(
            matches!(&err, RegistryError::Malformed { why, .. } if why.contains("manifest")),
            "{err:?}"
        );
    }

    #[test]
    fn digests_parse_strictly() {
        let hex = "a".repeat(64);
        assert!(parse_sha256_digest(&format!("sha256:{hex}")).is_some());
        assert!(parse_sha256_digest(&hex).is_none());
        assert!(parse_sha256_digest(&format!("sha512:{hex}")).is_none());
        assert!(parse_sha256_digest("sha256:abc").is_none());
        // 64 bytes, but not 64 hex digits.
        assert!(parse_sha256_digest(&format!("sha256:{}", "é".repeat(32))).is_none());
    }
}
