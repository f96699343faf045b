//! Bottles: file names, tags and GHCR coordinates. Pure values, no I/O.
//!
//! A bottle file is named `<name>--<version>.<tag>.bottle[.<rebuild>].tar.gz` (Homebrew's
//! `Bottle::Filename`). The formula name can contain `@` and `+`, the version can contain dots
//! and dashes, and the tag is one of a known shape (`arm64_sonoma`, `sonoma`, `x86_64_linux`,
//! `all`…), so the name is parsed from the right: suffix, rebuild, tag, then the last `--`.

use std::fmt;
use std::str::FromStr;

use sigstore_types::Sha256Hash;

use crate::digest::sha256_bytes;

/// Homebrew's default bottle root (`HOMEBREW_BOTTLE_DEFAULT_DOMAIN`).
pub const DEFAULT_BOTTLE_ROOT: &str = "https://ghcr.io/v2/homebrew/core";

/// A parsed bottle file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BottleFilename {
    name: String,
    version: String,
    tag: String,
    rebuild: u32,
}

/// Why a file name is not a bottle file name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{name}` is not a bottle file name (expected `<formula>--<version>.<tag>.bottle[.<rebuild>].tar.gz`): {why}"
)]
pub struct BottleNameError {
    /// The name that was refused.
    pub name: String,
    /// What was wrong with it.
    pub why: &'static str,
}

impl BottleFilename {
    /// Build a bottle file name from its parts, validating each as the parser would.
    pub fn new(
        name: &str,
        version: &str,
        tag: &str,
        rebuild: u32,
    ) -> Result<Self, BottleNameError> {
        let candidate = Self {
            name: name.to_owned(),
            version: version.to_owned(),
            tag: tag.to_owned(),
            rebuild,
        };
        let shown = candidate.to_string();
        let err = |why| BottleNameError {
            name: shown.clone(),
            why,
        };
        // The parser takes the tag to be the text after the last dot, so a tag with a dot in it
        // (a key of a hostile formula JSON) would read back as another tag and version.
        if !is_tag(tag) {
            return Err(err(BAD_TAG));
        }
        // Round-trip through the parser so both constructors accept exactly the same set, and
        // the parts must come back as given: a `--` in the version, say, would move the split.
        let parsed: Self = shown.parse()?;
        if parsed != candidate {
            return Err(err(PARTS_MOVED));
        }
        Ok(parsed)
    }

    /// The formula name, e.g. `openssl@3`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The formula version, e.g. `3.3.1_1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The bottle tag, e.g. `arm64_sonoma` or `all`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The rebuild number (0 when the file name has none).
    pub fn rebuild(&self) -> u32 {
        self.rebuild
    }

    /// Whether this is an `:all` bottle, which `brew bottle --merge` makes by deduplicating
    /// identical per-platform bottles: its attestation names one of those platform files.
    pub fn is_all(&self) -> bool {
        self.tag == "all"
    }

    /// The GHCR image name: the formula name with `@` → `/` and `+` → `x`.
    pub fn image_name(&self) -> String {
        image_name(&self.name)
    }
}

/// GHCR image name for a formula: `@` → `/` and `+` → `x` (Homebrew's mapping).
pub fn image_name(formula: &str) -> String {
    formula.replace('@', "/").replace('+', "x")
}

/// Why a tag is refused (by the parser and by [`BottleFilename::new`]).
const BAD_TAG: &str = "the bottle tag is not of the form `arm64_sonoma`";
/// Why [`BottleFilename::new`] refuses parts whose file name would parse into other parts.
const PARTS_MOVED: &str =
    "its parts do not read back as given (a `--` in the version or a dot in the tag)";

fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl FromStr for BottleFilename {
    type Err = BottleNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| BottleNameError {
            name: s.to_owned(),
            why,
        };
        let stem = s
            .strip_suffix(".tar.gz")
            .ok_or_else(|| err("it does not end in `.tar.gz`"))?;
        // `<...>.bottle` or `<...>.bottle.<rebuild>`
        let (before_bottle, rebuild) = match stem.rsplit_once(".bottle") {
            Some((before, "")) => (before, 0),
            Some((before, rest)) => {
                let digits = rest
                    .strip_prefix('.')
                    .ok_or_else(|| err("unexpected text after `.bottle`"))?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("the rebuild after `.bottle.` is not a number"));
                }
                let rebuild = digits
                    .parse()
                    .map_err(|_| err("the rebuild number is too large"))?;
                (before, rebuild)
            }
            None => return Err(err("it has no `.bottle` part")),
        };
        let (name_version, tag) = before_bottle
            .rsplit_once('.')
            .ok_or_else(|| err("it has no bottle tag"))?;
        if !is_tag(tag) {
            return Err(err(BAD_TAG));
        }
        let (name, version) = name_version
            .rsplit_once("--")
            .ok_or_else(|| err("it has no `--` between formula name and version"))?;
        if name.is_empty() || version.is_empty() {
            return Err(err("the formula name or version is empty"));
        }
        if name.contains('/') || version.contains('/') {
            return Err(err("it contains a path separator"));
        }
        Ok(Self {
            name: name.to_owned(),
            version: version.to_owned(),
            tag: tag.to_owned(),
            rebuild,
        })
    }
}

impl fmt::Display for BottleFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}--{}.{}.bottle", self.name, self.version, self.tag)?;
        if self.rebuild > 0 {
            write!(f, ".{}", self.rebuild)?;
        }
        f.write_str(".tar.gz")
    }
}

/// One bottle as the policy sees it: its bytes' digest and its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BottleRef {
    /// SHA-256 of the `.tar.gz`.
    pub digest: Sha256Hash,
    /// The bottle's file name.
    pub filename: BottleFilename,
}

impl BottleRef {
    /// The bottle's blob URL under `root` (e.g. [`DEFAULT_BOTTLE_ROOT`]), as brew forms it:
    /// `<root>/<image>/blobs/sha256:<hex>`.
    pub fn blob_url(&self, root: &str) -> String {
        format!(
            "{}/{}/blobs/sha256:{}",
            root.trim_end_matches('/'),
            self.filename.image_name(),
            hex::encode(self.digest.as_bytes())
        )
    }

    /// Homebrew's cache file name for this bottle fetched from `root`:
    /// `<sha256 of the URL>--<filename>`. The backfill attestations name their subjects this
    /// way, always with the URL on the default domain, whatever mirror served the bottle.
    pub fn cache_name(&self, root: &str) -> String {
        cache_name(&self.blob_url(root), &self.filename)
    }
}

/// `<sha256(url)>--<filename>`: Homebrew's download cache name for `url`.
pub fn cache_name(url: &str, filename: &BottleFilename) -> String {
    format!(
        "{}--{}",
        hex::encode(sha256_bytes(url.as_bytes()).as_bytes()),
        filename
    )
}

/// The URL brew downloads `bottle` from when the bottle domain is `domain`: GitHub Packages
/// roots serve `<root>/<image>/blobs/sha256:<hex>`, any other mirror `<domain>/<file name>`
/// (percent-encoded as brew's `ERB::Util.url_encode` does).
pub fn bottle_url(domain: &str, bottle: &BottleRef) -> String {
    let domain = domain.trim_end_matches('/');
    if is_github_packages(domain) {
        bottle.blob_url(domain)
    } else {
        let encoded: String = bottle
            .filename
            .to_string()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("{domain}/{encoded}")
    }
}

/// Whether `root` is a GitHub Packages (GHCR) root, as brew's `GitHubPackages::URL_REGEX`
/// recognises them: `https://ghcr.io/v2/…`. A local OCI registry in tests is recognised by its
/// `/v2/` path too.
pub fn is_github_packages(root: &str) -> bool {
    root.starts_with("https://ghcr.io/v2/")
        || root.split_once("://").is_some_and(|(_, rest)| {
            rest.split_once('/')
                .is_some_and(|(_, path)| path.starts_with("v2/"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `formula_json` fuzz target: a tag with a dot made `new` return a bottle
    /// whose tag was the text after the dot and whose version had swallowed the rest.
    #[test]
    fn new_refuses_a_tag_with_a_dot() {
        let err = BottleFilename::new("libunistring", "1.2_5", "arm64_sequo..ia", 0).unwrap_err();
        assert_eq!(err.why, BAD_TAG);
        assert_eq!(
            err.name,
            "libunistring--1.2_5.arm64_sequo..ia.bottle.tar.gz"
        );
    }

    #[test]
    fn new_refuses_parts_that_read_back_as_others() {
        // `wget--1--2.all.bottle.tar.gz` parses as formula `wget--1`, version `2`.
        let err = BottleFilename::new("wget", "1--2", "all", 0).unwrap_err();
        assert_eq!(err.why, PARTS_MOVED);
        let ok = BottleFilename::new("wget--1", "2", "all", 0).unwrap();
        assert_eq!((ok.name(), ok.version(), ok.tag()), ("wget--1", "2", "all"));
    }

    #[test]
    fn parses_plain_and_rebuild_names() {
        let b: BottleFilename = "wget--1.24.5.arm64_sonoma.bottle.tar.gz".parse().unwrap();
        assert_eq!(
            (b.name(), b.version(), b.tag(), b.rebuild()),
            ("wget", "1.24.5", "arm64_sonoma", 0)
        );
        let b: BottleFilename = "openssl@3--3.3.1_1.x86_64_linux.bottle.2.tar.gz"
            .parse()
            .unwrap();
        assert_eq!(
            (b.name(), b.version(), b.tag(), b.rebuild()),
            ("openssl@3", "3.3.1_1", "x86_64_linux", 2)
        );
        assert_eq!(
            b.to_string(),
            "openssl@3--3.3.1_1.x86_64_linux.bottle.2.tar.gz"
        );
        assert_eq!(b.image_name(), "openssl/3");
        let b: BottleFilename = "a--b--2024-01.all.bottle.tar.gz".parse().unwrap();
        assert_eq!((b.name(), b.version()), ("a--b", "2024-01"));
        assert!(b.is_all());
        let b: BottleFilename = "libsigc++--3.6.0.sonoma.bottle.tar.gz".parse().unwrap();
        assert_eq!(b.image_name(), "libsigcxx");
    }

    #[test]
    fn refuses_non_bottles() {
        for bad in [
            "wget.tar.gz",
            "wget--1.0.arm64_sonoma.tar.gz",
            "wget--1.0.arm64_sonoma.bottle.x.tar.gz",
            "wget--1.0.ARM.bottle.tar.gz",
            "--1.0.sonoma.bottle.tar.gz",
            "wget--1.0.sonoma.bottle.zip",
            "../x--1.0.sonoma.bottle.tar.gz",
        ] {
            assert!(bad.parse::<BottleFilename>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_name_matches_homebrew() {
        let bottle = BottleRef {
            digest: Sha256Hash::from_hex(
                "461c41aa6e6d5a0c3d83bac69ad1f0dd1e4b6c5a61f5d9c0e5a5d7f9b4a2d804",
            )
            .unwrap(),
            filename: "zrok--0.4.48.arm64_sequoia.bottle.tar.gz".parse().unwrap(),
        };
        let url = bottle.blob_url(DEFAULT_BOTTLE_ROOT);
        assert_eq!(
            url,
            "https://ghcr.io/v2/homebrew/core/zrok/blobs/sha256:461c41aa6e6d5a0c3d83bac69ad1f0dd1e4b6c5a61f5d9c0e5a5d7f9b4a2d804"
        );
        let expected = format!(
            "{}--zrok--0.4.48.arm64_sequoia.bottle.tar.gz",
            hex::encode(sha256_bytes(url.as_bytes()).as_bytes())
        );
        assert_eq!(bottle.cache_name(DEFAULT_BOTTLE_ROOT), expected);
        // A trailing slash on the root does not change the name.
        assert_eq!(
            bottle.cache_name("https://ghcr.io/v2/homebrew/core/"),
            expected
        );
    }
}
