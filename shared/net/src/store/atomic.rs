//! Files written so that a reader sees the old file or the whole new one, never part of one,
//! and private directories that refuse to be used when someone else could write into them.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file or directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O operation failed.
    #[error("{action} `{}`", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The directory could be changed by someone else, so nothing read from it can be
    /// believed (ssh refuses its files for the same reasons).
    #[error("refusing to use `{}`: {why}{}", path.display(), fix.as_ref().map(|f| format!("; fix: {f}")).unwrap_or_default())]
    Insecure {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        why: String,
        /// A command that fixes it, when there is one.
        fix: Option<String>,
    },
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        path: path.to_owned(),
        action,
        source,
    }
}

/// Write `bytes` to `path` atomically and durably: a temporary file in the same directory
/// (mode 0600), fsynced, renamed into place, and the directory fsynced so that the rename
/// survives a power cut too. The directory must exist. A process killed half-way leaves a
/// `.tmp-*` file ([`remove_stale_temporaries`]), never a half-written `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io(path, "creating a temporary file for"))?;
    tmp.write_all(bytes).map_err(io(path, "writing"))?;
    tmp.as_file().sync_all().map_err(io(path, "syncing"))?;
    tmp.persist(path)
        .map_err(|e| io(path, "renaming into place")(e.error))?;
    sync_dir(dir)
}

/// fsync a directory, so that entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "syncing the directory"))
}

/// Create `dir` (and missing parents) with mode 0700, then check that it is safe to trust:
/// a directory, owned by this user, writable by no one else.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    create_private(dir)?;
    check_private(dir)
}

#[cfg(unix)]
fn create_private(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir, "creating the directory"))
}

#[cfg(not(unix))]
fn create_private(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(io(dir, "creating the directory"))
}

/// Refuse a directory another user owns or that group or others may write (following the
/// path's symlinks: what matters is the directory written into).
#[cfg(unix)]
pub fn check_private(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(dir).map_err(io(dir, "reading the metadata of"))?;
    let insecure = |why: String, fix: Option<String>| StoreError::Insecure {
        path: dir.to_owned(),
        why,
        fix,
    };
    if !meta.is_dir() {
        return Err(insecure("it is not a directory".into(), None));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(insecure(
            format!("it is owned by uid {}, not by you (uid {me})", meta.uid()),
            Some(format!(
                "pass --cache-dir with a directory of your own, or `sudo chown -R {me} {}`",
                dir.display()
            )),
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(insecure(
            format!("group or others may write to it (mode {mode:o})"),
            Some(format!("chmod go-w {}", dir.display())),
        ));
    }
    Ok(())
}

/// Non-Unix systems have no uid and mode bits to check.
#[cfg(not(unix))]
pub fn check_private(dir: &Path) -> Result<(), StoreError> {
    if std::fs::metadata(dir)
        .map_err(io(dir, "reading the metadata of"))?
        .is_dir()
    {
        Ok(())
    } else {
        Err(StoreError::Insecure {
            path: dir.to_owned(),
            why: "it is not a directory".into(),
            fix: None,
        })
    }
}

/// Remove `.tmp-*` files a killed process left in `dir`, if they were last written at least
/// `older_than` ago. A younger one may be another writer's file in flight (another task of
/// this process, or another process sharing the directory): removing it would make that
/// writer's rename fail, so only a caller that knows it is the directory's one writer (a
/// locked run) passes `Duration::ZERO`. Best effort: returns how many were removed.
pub fn remove_stale_temporaries(dir: &Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let stale = |e: &std::fs::DirEntry| {
        older_than.is_zero()
            || e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= older_than)
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(stale)
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Duration;

    #[test]
    fn creates_0700_and_refuses_group_or_world_writable() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = private_dir(&dir).unwrap_err();
        let StoreError::Insecure { why, fix, .. } = &err else {
            panic!("expected Insecure, got {err:?}");
        };
        assert!(why.contains("mode 777"), "{why}");
        assert!(fix.as_deref().unwrap().starts_with("chmod go-w"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o720)).unwrap();
        assert!(matches!(
            check_private(&dir),
            Err(StoreError::Insecure { .. })
        ));
    }

    #[test]
    fn refuses_a_directory_owned_by_another_user() {
        // Only root can give a directory away; elsewhere this case is covered by reasoning.
        if rustix::process::geteuid().as_raw() != 0 {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("theirs");
        private_dir(&dir).unwrap();
        rustix::fs::chown(&dir, Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
        let err = check_private(&dir).unwrap_err();
        assert!(
            matches!(&err, StoreError::Insecure { why, .. } if why.contains("owned by uid 65534")),
            "{err:?}"
        );
    }

    #[test]
    fn atomic_writes_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        std::fs::write(dir.path().join(".tmp-leftover"), b"x").unwrap();
        assert_eq!(remove_stale_temporaries(dir.path(), Duration::ZERO), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_young_temporary_may_be_in_flight_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let young = dir.path().join(".tmp-young");
        let old = dir.path().join(".tmp-old");
        std::fs::write(&young, b"being written").unwrap();
        std::fs::write(&old, b"left by a killed run").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        assert_eq!(
            remove_stale_temporaries(dir.path(), Duration::from_secs(3600)),
            1
        );
        assert!(young.exists() && !old.exists());
    }
}
