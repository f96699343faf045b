//! The attestation cache: bundles fetched for a digest, stored so that a second run needs no
//! network and `--offline` works.
//!
//! Layout, under the cache root (`$HOMEBREW_CACHE/brew-verify` by default):
//!
//! ```text
//! attestations/<owner>/<repo>/sha256-<hex>.jsonl     bundles, one per line (as `gh attestation download`)
//! registry/sha256-<hex>                              a registry check that passed
//! ```
//!
//! What the cache is trusted with, and what not (issue 10, item 3):
//!
//! - Every bundle read back is verified again; a tampered entry can only fail.
//! - Only *found* bundles are stored. "None found" is never stored: absence is exactly what a
//!   downgrade to a weaker source needs, so it must come fresh from the source itself.
//! - Online, a cached entry that does not pass is fetched again and replaced before anything
//!   is concluded from it (the caller does that; [`AttestationCache::put`] replaces).
//! - The root is created with mode 0700 and refused when another user owns it or group or
//!   others may write to it, as ssh does with its files; there is no fallback to the working
//!   directory.
//!
//! Files are written atomically ([`super::atomic::write_atomic`]).

use std::path::{Path, PathBuf};

use bottle_attest::bundle::{BundleCandidate, parse_attestations};
use sigstore_types::Sha256Hash;

use super::atomic::{StoreError, private_dir, remove_stale_temporaries, write_atomic};

/// Largest cache entry read back: a few bundles are tens of KiB; a bigger file is not ours.
const MAX_ENTRY: u64 = 64 << 20;

/// A `.tmp-*` file younger than this may be another writer's, in flight (see
/// [`remove_stale_temporaries`]); a killed run's is swept once it is older.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(3600);

/// An attestation cache rooted at a directory that passed the ownership checks.
#[derive(Debug, Clone)]
pub struct AttestationCache {
    root: PathBuf,
    /// Directories already created, checked and swept by this process: once each, not once
    /// per write (a run writes hundreds of entries into the same directory, from many tasks).
    prepared: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<PathBuf>>>,
}

impl AttestationCache {
    /// Open (creating it 0700 if needed) the cache at `root`, refusing a directory someone
    /// else could write into.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        private_dir(&root)?;
        Ok(Self {
            root,
            prepared: std::sync::Arc::default(),
        })
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry(&self, repo: &str, digest: &Sha256Hash) -> PathBuf {
        // Repository names are `owner/name` of [A-Za-z0-9._-]; anything else is mapped to `_`
        // so that a hostile policy file cannot point the cache outside its root.
        let safe: String = repo
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/') {
                    c.to_ascii_lowercase()
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
            .join(format!("sha256-{}.jsonl", hex::encode(digest.as_bytes())))
    }

    /// The bundles stored for `repo` and `digest`, if any.
    pub fn get(
        &self,
        repo: &str,
        digest: &Sha256Hash,
    ) -> Result<Option<Vec<BundleCandidate>>, StoreError> {
        let path = self.entry(repo, digest);
        let bytes = match read_capped(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path,
                    action: "reading",
                    source,
                });
            }
        };
        let origin = path.display().to_string();
        Ok(Some(parse_attestations(&origin, &bytes)).filter(|c| !c.is_empty()))
    }

    /// Store the bundles found for `repo` and `digest` (each a JSON document), replacing what
    /// was there.
    pub fn put(
        &self,
        repo: &str,
        digest: &Sha256Hash,
        bundles: &[String],
    ) -> Result<(), StoreError> {
        let mut text = String::new();
        for b in bundles {
            // One document per line: JSON Lines, as `gh attestation download` writes.
            let line: serde_json::Value =
                serde_json::from_str(b).unwrap_or(serde_json::Value::String(b.clone()));
            text.push_str(&line.to_string());
            text.push('\n');
        }
        let path = self.entry(repo, digest);
        self.write(&path, text.as_bytes())
    }

    /// A small marker file under the root (e.g. a registry check that passed), read back.
    pub fn marker(&self, name: &str) -> Option<String> {
        let path = self.root.join(name);
        read_capped(&path)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    }

    /// Write a marker file under the root.
    pub fn put_marker(&self, name: &str, text: &str) -> Result<(), StoreError> {
        self.write(&self.root.join(name), text.as_bytes())
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        if let Some(dir) = path.parent() {
            let mut prepared = self
                .prepared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !prepared.contains(dir) {
                private_dir(dir)?;
                remove_stale_temporaries(dir, STALE_TEMPORARY);
                prepared.insert(dir.to_owned());
            }
        }
        write_atomic(path, bytes)
    }
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_ENTRY + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_ENTRY {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB; not a cache entry of ours",
            MAX_ENTRY >> 20
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Sha256Hash {
        Sha256Hash::new([7; 32])
    }

    #[test]
    fn round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AttestationCache::open(dir.path().join("c")).unwrap();
        assert!(cache.get("a/b", &digest()).unwrap().is_none());
        cache
            .put("a/b", &digest(), &["{\"mediaType\": \"x\"}".into()])
            .unwrap();
        assert_eq!(cache.get("a/b", &digest()).unwrap().unwrap().len(), 1);
        cache
            .put("A/B", &digest(), &["{\"a\":1}".into(), "{\"b\":2}".into()])
            .unwrap();
        assert_eq!(cache.get("a/b", &digest()).unwrap().unwrap().len(), 2);
    }

    /// Checks run as parallel tasks, each writing its entry into the same directory: no
    /// writer may sweep away another's temporary file in flight (a parallel `provenance` once
    /// lost a third of its entries that way).
    #[test]
    fn concurrent_writers_into_one_directory_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AttestationCache::open(dir.path().join("c")).unwrap();
        std::thread::scope(|scope| {
            for t in 0..8u8 {
                let cache = cache.clone();
                scope.spawn(move || {
                    for i in 0..40u8 {
                        let mut bytes = [0; 32];
                        bytes[0] = t;
                        bytes[1] = i;
                        cache
                            .put("o/r", &Sha256Hash::new(bytes), &["{\"a\":1}".into()])
                            .unwrap();
                    }
                });
            }
        });
        for t in 0..8u8 {
            for i in 0..40u8 {
                let mut bytes = [0; 32];
                bytes[0] = t;
                bytes[1] = i;
                assert!(cache.get("o/r", &Sha256Hash::new(bytes)).unwrap().is_some());
            }
        }
    }

    #[test]
    fn hostile_repository_names_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AttestationCache::open(dir.path()).unwrap();
        let p = cache.entry("../../etc/passwd", &digest());
        assert!(
            p.starts_with(dir.path().join("attestations/etc/passwd")),
            "{}",
            p.display()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_writable_cache_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("c");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = AttestationCache::open(&root).unwrap_err();
        assert!(matches!(err, StoreError::Insecure { .. }), "{err}");
    }
}
