//! The one trusted-root loader: the Sigstore roots kept current through TUF ([`tuf`]), the
//! embedded ones when TUF has never answered, or a root file the user names
//! (`--trusted-root`, `--custom-trusted-root`, `HOMEBREW_BREW_VERIFY_TRUSTED_ROOT`), which
//! replaces everything. Every command loads its roots here, so that what a root file may be (a
//! `trusted_root.json`, a client trust config, JSON Lines of roots), when TUF is asked, and how
//! a bad root is reported are decided once.

pub mod tuf;

use std::path::{Path, PathBuf};

use bottle_attest::TrustRoot;
use bottle_attest::trust::{
    GITHUB_JSON, Instance, PRODUCTION_JSON, RootDocument, TrustRootError, first_root_document,
};
use chrono::{DateTime, Utc};

use crate::http::HttpClient;
use tuf::{Due, TufError, TufRepo};

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

/// The root compiled into this build for `instance`.
pub fn embedded_json(instance: Instance) -> &'static str {
    match instance {
        Instance::PublicGood => PRODUCTION_JSON,
        Instance::GitHub => GITHUB_JSON,
    }
}

/// Words for messages: `Sigstore public-good` / `GitHub Sigstore` (`the … root`, `the … TUF
/// repository`).
pub fn instance_words(instance: Instance) -> &'static str {
    match instance {
        Instance::PublicGood => "Sigstore public-good",
        Instance::GitHub => "GitHub Sigstore",
    }
}

/// Where a root in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// Refreshed through TUF in this run.
    Tuf,
    /// Verified by an earlier TUF refresh and kept in the cache (fresh, or the repository
    /// could not be reached).
    TufCache,
    /// Compiled in: TUF has never answered on this machine (or the cache is off).
    Embedded,
    /// A file the user named.
    File,
}

impl RootSource {
    /// `tuf` / `tuf-cache` / `embedded` / `file`, as in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tuf => "tuf",
            Self::TufCache => "tuf-cache",
            Self::Embedded => "embedded",
            Self::File => "file",
        }
    }
}

/// One root in use and where it came from (`--json`'s `trust_root`, `--explain`, `doctor`,
/// `trust show`).
#[derive(Debug, Clone)]
pub struct RootInfo {
    /// The instance it is the root of.
    pub instance: Instance,
    /// Where it came from.
    pub source: RootSource,
    /// The TUF repository (for TUF sources) or the file (for a user's file).
    pub location: Option<String>,
    /// The TUF root version it was verified under.
    pub tuf_version: Option<u64>,
    /// When the TUF refresh that fetched it succeeded.
    pub fetched_at: Option<DateTime<Utc>>,
    /// The root document.
    pub json: String,
    /// Why a refresh that was due or asked for did not give this root, if one did not.
    pub refresh_error: Option<String>,
}

impl RootInfo {
    /// One phrase for messages: `the Sigstore public-good root from TUF (https://…, TUF root
    /// v14, fetched 2026-12-06T03:00:00Z)`.
    pub fn describe(&self) -> String {
        let what = instance_words(self.instance);
        let when = |f: &Option<DateTime<Utc>>| {
            f.map(|t| format!(", fetched {}", t.format("%Y-%m-%dT%H:%M:%SZ")))
                .unwrap_or_default()
        };
        let version = self
            .tuf_version
            .map(|v| format!(", TUF root v{v}"))
            .unwrap_or_default();
        let at = self.location.as_deref().unwrap_or("?");
        match self.source {
            RootSource::Tuf => format!(
                "the {what} root refreshed through TUF ({at}{version}{})",
                when(&self.fetched_at)
            ),
            RootSource::TufCache => format!(
                "the {what} root from the TUF cache ({at}{version}{})",
                when(&self.fetched_at)
            ),
            RootSource::Embedded => format!("the embedded {what} root"),
            RootSource::File => format!("the trusted root `{at}`"),
        }
    }
}

/// When TUF is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// When the last refresh is older than a day (and none failed within the hour).
    Auto,
    /// Now (`--refresh-trust`, `trust refresh`).
    Force,
    /// Never (`--offline`): the cached or embedded roots.
    Never,
}

/// What [`load_roots`] needs to know.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    /// A root file replacing everything.
    pub custom: Option<PathBuf>,
    /// When TUF is asked.
    pub refresh: Refresh,
    /// The cache root (`$HOMEBREW_CACHE/brew-verify`); TUF metadata lives in its `tuf/`.
    /// `None` (`--no-cache`): the embedded roots, TUF is not asked.
    pub cache_root: Option<PathBuf>,
    /// The public-good instance's TUF repository.
    pub public_good: TufRepo,
    /// GitHub's instance's TUF repository.
    pub github: TufRepo,
}

/// The roots a run verifies with, and where each came from.
#[derive(Debug)]
pub struct LoadedRoots {
    /// The roots, ready for verification.
    pub root: TrustRoot,
    /// Where each came from: the public-good instance's first, then GitHub's (absent when a
    /// user's file replaced both).
    pub roots: Vec<RootInfo>,
}

impl LoadedRoots {
    /// The public-good root's (or the user's file's) origin.
    pub fn primary(&self) -> &RootInfo {
        // `load_roots` always puts one first.
        &self.roots[0]
    }

    /// The refresh failures of this run, as `instance: reason` lines.
    pub fn refresh_errors(&self) -> Vec<String> {
        self.roots
            .iter()
            .filter_map(|r| {
                r.refresh_error
                    .as_ref()
                    .map(|e| format!("{} TUF repository: {e}", instance_words(r.instance)))
            })
            .collect()
    }
}

/// Load the roots a run verifies with. `http` is `None` offline. A refresh failure is never an
/// error here: the last good cached root, else the embedded one, is used and the failure is
/// recorded in its [`RootInfo`]; only a user's root file that cannot be used is an error.
pub async fn load_roots(
    settings: &TrustSettings,
    http: Option<&HttpClient>,
) -> Result<LoadedRoots, TrustLoadError> {
    if let Some(path) = &settings.custom {
        let loaded = load(Some(path))?;
        return Ok(LoadedRoots {
            root: loaded.root,
            roots: vec![RootInfo {
                instance: Instance::PublicGood,
                source: RootSource::File,
                location: Some(path.display().to_string()),
                tuf_version: None,
                fetched_at: None,
                json: loaded.json,
                refresh_error: None,
            }],
        });
    }
    let now = Utc::now();
    let public_good = instance_root(
        Instance::PublicGood,
        &settings.public_good,
        settings,
        http,
        now,
    )
    .await;
    let github = instance_root(Instance::GitHub, &settings.github, settings, http, now).await;
    let build = |public_good: &RootInfo, github: &RootInfo| {
        TrustRoot::from_instances(
            RootDocument::new(public_good.describe(), public_good.json.clone()),
            Some(RootDocument::new(github.describe(), github.json.clone())),
        )
    };
    let (public_good, github, root) = match build(&public_good, &github) {
        Ok(root) => (public_good, github, root),
        // A document TUF vouched for that this build cannot use as its instance's root: that
        // instance's embedded root instead. Each document is checked on its own only here, so
        // the usual run builds its verifiers once.
        Err(_) => {
            let (public_good, github) = (usable(public_good), usable(github));
            let root = build(&public_good, &github)?;
            (public_good, github, root)
        }
    };
    Ok(LoadedRoots {
        root,
        roots: vec![public_good, github],
    })
}

/// `info`, or the embedded root of its instance when the document it names cannot be used
/// for that instance (a repository publishing a root this build cannot read, or another
/// instance's root).
fn usable(mut info: RootInfo) -> RootInfo {
    let fits = |json: &str| {
        TrustRoot::from_json("check", json)
            .map_err(|e| e.to_string())
            .and_then(|root| {
                if root.instances().all(|i| i.instance() == info.instance) {
                    Ok(())
                } else {
                    Err(format!("it is not a root of {}", info.instance.describe()))
                }
            })
    };
    if info.source != RootSource::Embedded {
        if let Err(e) = fits(&info.json) {
            info.refresh_error
                .get_or_insert(format!("the root it gave is unusable: {e}"));
            info.source = RootSource::Embedded;
            info.json = embedded_json(info.instance).to_owned();
            info.tuf_version = None;
            info.fetched_at = None;
        }
    }
    info
}

async fn instance_root(
    instance: Instance,
    repo: &TufRepo,
    settings: &TrustSettings,
    http: Option<&HttpClient>,
    now: DateTime<Utc>,
) -> RootInfo {
    let location = Some(repo.url.as_str().trim_end_matches('/').to_owned());
    let embedded = |refresh_error: Option<String>| RootInfo {
        instance,
        source: RootSource::Embedded,
        location: location.clone(),
        tuf_version: None,
        fetched_at: None,
        json: embedded_json(instance).to_owned(),
        refresh_error,
    };
    let Some(cache_root) = &settings.cache_root else {
        return embedded(None);
    };
    let dir = tuf::cache_dir(cache_root, &repo.url);
    let ask = match settings.refresh {
        Refresh::Force => true,
        Refresh::Never => false,
        Refresh::Auto => match tuf::due(&dir, repo, now) {
            Due::Due => true,
            Due::RecentlyFailed => false,
            // Fresh: the cache answers, unless it no longer verifies (changed on disk), in
            // which case the repository is asked at once rather than a day later.
            Due::Fresh => match tuf::cached(repo, &dir) {
                Ok(found) => return from_cache(instance, location, found, None),
                Err(_) => true,
            },
        },
    };
    let refresh_error = match (ask, http) {
        (false, _) => None,
        (true, None) if settings.refresh == Refresh::Force => {
            Some("offline: TUF was not asked".to_owned())
        }
        (true, None) => None,
        (true, Some(http)) => match tuf::refresh(http, repo, &dir, now).await {
            Ok(found) => {
                return RootInfo {
                    instance,
                    source: RootSource::Tuf,
                    location,
                    tuf_version: Some(found.root_version),
                    fetched_at: Some(found.fetched_at),
                    json: found.json,
                    refresh_error: None,
                };
            }
            Err(e) => Some(e.one_line()),
        },
    };
    match tuf::cached(repo, &dir) {
        Ok(found) => from_cache(instance, location, found, refresh_error),
        Err(TufError::NeverRefreshed) => embedded(refresh_error),
        Err(e) => embedded(Some(match refresh_error {
            Some(first) => format!("{first}; {}", e.one_line()),
            None => e.one_line(),
        })),
    }
}

fn from_cache(
    instance: Instance,
    location: Option<String>,
    found: tuf::TufRoot,
    refresh_error: Option<String>,
) -> RootInfo {
    RootInfo {
        instance,
        source: RootSource::TufCache,
        location,
        tuf_version: Some(found.root_version),
        fetched_at: Some(found.fetched_at),
        json: found.json,
        refresh_error,
    }
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
