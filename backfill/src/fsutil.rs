//! Durable file writes for brew-backfill: the network crate's atomic writes
//! (`bottle_attest_net::store::atomic`), with the directory created first and errors for
//! humans.

use std::path::Path;

use anyhow::Context as _;
use bottle_attest_net::store::atomic;

/// Write `bytes` to `path` atomically and durably, creating its directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    Ok(atomic::write_atomic(path, bytes)?)
}

/// fsync a directory (so that entries created or renamed in it are durable).
pub(crate) fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    Ok(atomic::sync_dir(dir)?)
}

/// Remove the `.tmp-*` files a killed run left in `dir`, saying how many. Called once when a
/// sign run starts, before it writes anything: the directory and its journal belong to that
/// one run (two runs sharing them at once are not supported), so no writer is in flight.
pub(crate) fn clean_temporaries(dir: &Path) -> usize {
    atomic::remove_stale_temporaries(dir, std::time::Duration::ZERO)
}
