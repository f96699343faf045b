//! The attestation cache: bundles fetched for a digest, stored so that a second run needs no
//! network and `--offline` works. One of the two modules of this crate that touch files.
//!
//! Layout, under the cache root (`$HOMEBREW_CACHE/brew-verify` by default):
//!
//! ```text
//! attestations/<owner>/<repo>/sha256-<hex>.jsonl     bundles, one per line (as `gh attestation download`)
//! attestations/<owner>/<repo>/sha256-<hex>.missing   the source had none, at the time written inside
//! ```
//!
//! Files are written to a temporary name in the same directory, fsynced and renamed into place,
//! so a reader never sees half a file. The cache is not trusted: every bundle read from it is
//! verified again, and a tampered entry can only make a bottle fail (or, for a forged
//! `.missing`, fall back to a source whose own rules — the backfill cutoff — still apply, exactly
//! as if the API had answered "none").

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use sigstore_types::Sha256Hash;

use bottle_attest::bundle::{BundleCandidate, parse_attestations};

/// How long a "no attestation" answer is believed. Bundles themselves never expire (they are
/// verified on every use); an absence might end when an attestation is uploaded.
pub const MISSING_TTL: Duration = Duration::hours(24);

/// What the cache knows about one (repository, digest).
#[derive(Debug, Clone)]
pub enum Cached {
    /// Bundles stored for it.
    Found(Vec<BundleCandidate>),
    /// The source had none when last asked, at this time (still within [`MISSING_TTL`]).
    Missing(DateTime<Utc>),
}

/// The cache could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("attestation cache `{}`: {action}", path.display())]
pub struct CacheError {
    /// The file or directory.
    pub path: PathBuf,
    /// What was being done.
    pub action: &'static str,
    /// The I/O failure.
    #[source]
    pub source: std::io::Error,
}

/// An attestation cache rooted at a directory.
#[derive(Debug, Clone)]
pub struct AttestationCache {
    root: PathBuf,
}

impl AttestationCache {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The default root: `$HOMEBREW_CACHE/brew-verify`, else Homebrew's own default cache
    /// (`~/Library/Caches/Homebrew` on macOS, `$XDG_CACHE_HOME/Homebrew` or `~/.cache/Homebrew`
    /// elsewhere) plus `brew-verify`.
    pub fn default_root(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let homebrew_cache = env("HOMEBREW_CACHE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let home = PathBuf::from(env("HOME").filter(|h| !h.is_empty())?);
                Some(if cfg!(target_os = "macos") {
                    home.join("Library/Caches/Homebrew")
                } else {
                    env("XDG_CACHE_HOME")
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                        .unwrap_or_else(|| home.join(".cache"))
                        .join("Homebrew")
                })
            })?;
        Some(homebrew_cache.join("brew-verify"))
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry(&self, repo: &str, digest: &Sha256Hash, ext: &str) -> PathBuf {
        // Repository names are `owner/name` of [A-Za-z0-9._-]; anything else is mapped to `_`
        // so that a hostile policy file cannot point the cache outside its root.
        let safe: String = repo
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe
            .split('/')
            .filter(|part| !part.is_empty() && *part != "." && *part != "..")
            .collect::<Vec<_>>()
            .join("/");
        self.root
            .join("attestations")
            .join(safe)
            .join(format!("sha256-{}.{ext}", hex::encode(digest.as_bytes())))
    }

    /// What is cached for `repo` and `digest`, if anything usable.
    pub fn get(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        now: DateTime<Utc>,
    ) -> Result<Option<Cached>, CacheError> {
        let found = self.entry(repo, digest, "jsonl");
        match std::fs::read(&found) {
            Ok(bytes) => {
                let origin = found.display().to_string();
                return Ok(Some(Cached::Found(parse_attestations(&origin, &bytes))));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CacheError {
                    path: found,
                    action: "reading",
                    source,
                });
            }
        }
        let missing = self.entry(repo, digest, "missing");
        match std::fs::read_to_string(&missing) {
            Ok(text) => Ok(DateTime::parse_from_rfc3339(text.trim())
                .ok()
                .map(|t| t.with_timezone(&Utc))
                .filter(|t| *t <= now && now - *t < MISSING_TTL)
                .map(Cached::Missing)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CacheError {
                path: missing,
                action: "reading",
                source,
            }),
        }
    }

    /// Store the bundles found for `repo` and `digest` (each a JSON document), replacing a
    /// stored absence.
    pub fn put_found(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        bundles: &[String],
    ) -> Result<(), CacheError> {
        let mut text = String::new();
        for b in bundles {
            // One document per line: JSON Lines, as `gh attestation download` writes.
            let line: serde_json::Value =
                serde_json::from_str(b).unwrap_or(serde_json::Value::String(b.clone()));
            text.push_str(&line.to_string());
            text.push('\n');
        }
        write_atomic(&self.entry(repo, digest, "jsonl"), text.as_bytes())?;
        remove_if_present(&self.entry(repo, digest, "missing"))
    }

    /// Store that `repo` had no attestation for `digest` at `now`.
    pub fn put_missing(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        now: DateTime<Utc>,
    ) -> Result<(), CacheError> {
        write_atomic(
            &self.entry(repo, digest, "missing"),
            now.to_rfc3339().as_bytes(),
        )
    }
}

fn remove_if_present(path: &Path) -> Result<(), CacheError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CacheError {
            path: path.to_owned(),
            action: "removing",
            source,
        }),
    }
}

/// Write `bytes` to `path` so that readers see the old file or the whole new one, never part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let err = |action, source| CacheError {
        path: path.to_owned(),
        action,
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| err("creating the directory of", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| err("creating a temporary file for", e))?;
    tmp.write_all(bytes).map_err(|e| err("writing", e))?;
    tmp.as_file().sync_all().map_err(|e| err("syncing", e))?;
    tmp.persist(path)
        .map_err(|e| err("renaming into place", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Sha256Hash {
        Sha256Hash::new([7; 32])
    }

    #[test]
    fn round_trips_and_expires_absences() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AttestationCache::new(dir.path());
        let now = Utc::now();
        assert!(cache.get("a/b", &digest(), now).unwrap().is_none());
        cache.put_missing("a/b", &digest(), now).unwrap();
        assert!(matches!(
            cache.get("a/b", &digest(), now).unwrap(),
            Some(Cached::Missing(_))
        ));
        assert!(
            cache
                .get("a/b", &digest(), now + MISSING_TTL)
                .unwrap()
                .is_none()
        );
        cache
            .put_found("a/b", &digest(), &["{\"mediaType\": \"x\"}".into()])
            .unwrap();
        let Some(Cached::Found(c)) = cache.get("a/b", &digest(), now).unwrap() else {
            panic!("expected found")
        };
        assert_eq!(c.len(), 1);
        // The absence was replaced.
        assert!(!cache.entry("a/b", &digest(), "missing").exists());
    }

    #[test]
    fn hostile_repository_names_stay_inside_the_root() {
        let cache = AttestationCache::new("/cache");
        let p = cache.entry("../../etc/passwd", &digest(), "jsonl");
        assert!(
            p.starts_with("/cache/attestations/etc/passwd"),
            "{}",
            p.display()
        );
    }

    #[test]
    fn default_root_follows_homebrew() {
        let env = |k: &str| match k {
            "HOMEBREW_CACHE" => Some("/hb".to_owned()),
            _ => None,
        };
        assert_eq!(
            AttestationCache::default_root(&env),
            Some(PathBuf::from("/hb/brew-verify"))
        );
    }
}
