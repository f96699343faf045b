//! The one trusted-root loader: the embedded Sigstore public-good root, or a root file the user
//! names (`--trusted-root`, `--custom-trusted-root`, `HOMEBREW_BREW_VERIFY_TRUSTED_ROOT`). Every
//! command loads its root here, so that what a root file may be (a `trusted_root.json`, a
//! client trust config, JSON Lines of roots) and how a bad one is reported are decided once.

use std::path::{Path, PathBuf};

use bottle_attest::TrustRoot;
use bottle_attest::trust::{PRODUCTION_JSON, TrustRootError, first_root_document};

/// A root and the document it came from.
#[derive(Debug)]
pub struct LoadedRoot {
    /// The root, ready for verification.
    pub root: TrustRoot,
    /// Its JSON document (the first root of a JSON Lines file; every root's is in
    /// [`TrustRoot::instances`]).
    pub json: String,
}

/// Why a root could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustLoadError {
    /// The file could not be read.
    #[error("cannot read the trusted root `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is read but is not a usable root.
    #[error(transparent)]
    Root(#[from] TrustRootError),
}

/// Load `path`, or the embedded public-good root when `None`.
pub fn load(path: Option<&Path>) -> Result<LoadedRoot, TrustLoadError> {
    let Some(path) = path else {
        return Ok(LoadedRoot {
            root: TrustRoot::production()?,
            json: PRODUCTION_JSON.to_owned(),
        });
    };
    let text = std::fs::read_to_string(path).map_err(|source| TrustLoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    // Every root of a JSON Lines file, each one's instance decided by its certificate
    // authorities, as gh's `--custom-trusted-root` reads several lines (`TrustRoot::from_text`).
    let json = first_root_document(&text).to_owned();
    Ok(LoadedRoot {
        root: TrustRoot::from_text(&path.display().to_string(), &text)?,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_and_json_lines_load_and_bad_ones_say_why() {
        let embedded = load(None).unwrap();
        assert!(embedded.root.label().contains("embedded"));
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("roots.jsonl");
        let compact: serde_json::Value = serde_json::from_str(PRODUCTION_JSON).unwrap();
        std::fs::write(&lines, format!("{compact}\n{compact}\n")).unwrap();
        let loaded = load(Some(&lines)).unwrap();
        assert_eq!(loaded.json, compact.to_string());
        assert_eq!(loaded.root.instances().count(), 2, "every line is a root");

        let missing = load(Some(&dir.path().join("absent.json"))).unwrap_err();
        assert!(
            matches!(missing, TrustLoadError::Read { .. }),
            "{missing:?}"
        );
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, "{\"mediaType\": 1}").unwrap();
        let err = load(Some(&junk)).unwrap_err();
        assert!(
            matches!(err, TrustLoadError::Root(TrustRootError::Parse { .. })),
            "{err:?}"
        );
    }
}
