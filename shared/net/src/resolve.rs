//! Turning what a user names into [`Target`]s: a bottle file (hashed streaming), a digest with
//! a bottle file name, or a formula name resolved through formula JSON (a file, or the formula
//! API one formula at a time, concurrently, each within its own deadline).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use bottle_attest::bottle::{BottleFilename, BottleNameError, BottleRef, bottle_url};
use bottle_attest::formula::{Formula, FormulaError, FormulaIndex};
use futures_util::StreamExt as _;
use sigstore_types::Sha256Hash;

use crate::checker::Target;
use crate::formula_api::{FormulaApi, FormulaApiError};
use crate::http::Deadline;
use crate::store::hashing::{HashFileError, sha256_file};

/// Where formula JSON comes from.
#[derive(Debug)]
pub enum FormulaSource {
    /// A file the user gave (`--formula-json`).
    File(FormulaIndex),
    /// The formula API.
    Api(FormulaApi),
    /// Offline without a file: names cannot be resolved.
    None,
}

/// An argument that could not become a bottle.
#[derive(Debug)]
pub struct Unresolved {
    /// The argument.
    pub input: String,
    /// Why.
    pub error: ResolveError,
}

/// Why an argument could not become a bottle.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The file does not exist.
    #[error("no such file")]
    NoSuchFile,
    /// A digest argument that does not parse.
    #[error("{0}")]
    BadDigest(String),
    /// The file is empty: no bottle is.
    #[error("the file is empty; a bottle is a non-empty .tar.gz")]
    EmptyFile,
    /// Not a bottle file name.
    #[error(transparent)]
    Name(#[from] BottleNameError),
    /// The file could not be read.
    #[error("{0}: {source}", source = .0.source)]
    Hash(#[from] HashFileError),
    /// The formula API failed for it.
    #[error(transparent)]
    Api(#[from] FormulaApiError),
    /// The formula data has no usable bottle for it.
    #[error(transparent)]
    Formula(#[from] FormulaError),
    /// Offline without formula JSON.
    #[error("a formula name needs formula JSON: pass --formula-json FILE when --offline")]
    NoFormulaData,
}

/// Resolves formula names.
#[derive(Debug)]
pub struct Resolver {
    /// Where formula JSON comes from.
    pub formulae: FormulaSource,
    /// Bottle tags to check; empty = every tag a formula has.
    pub tags: Vec<String>,
    /// Add runtime dependencies, transitively.
    pub deps: bool,
    /// A mirror's bottle root replacing the formula's (for the bottle URL).
    pub bottle_domain: Option<String>,
    /// Formula API requests in flight at once.
    pub jobs: usize,
    /// Deadline per formula.
    pub timeout: Duration,
}

impl Resolver {
    /// Every formula name → its bottles for the tags (and, with `deps`, the dependencies'
    /// bottles after them), in order.
    pub async fn formulae(&self, names: &[String]) -> Vec<Result<Target, Unresolved>> {
        let index = match &self.formulae {
            FormulaSource::File(index) => index.clone(),
            FormulaSource::None => {
                return names
                    .iter()
                    .map(|n| {
                        Err(Unresolved {
                            input: n.clone(),
                            error: ResolveError::NoFormulaData,
                        })
                    })
                    .collect();
            }
            FormulaSource::Api(api) => match self.fetch(api, names).await {
                Ok(index) => index,
                Err(errors) => return errors.into_iter().map(Err).collect(),
            },
        };
        let wanted: Vec<(String, Result<&Formula, FormulaError>)> = if self.deps {
            index
                .with_dependencies(names)
                .into_iter()
                .map(|f| {
                    let input = match &f {
                        Ok(f) => f.name.clone(),
                        Err(FormulaError::Unknown(n)) => n.clone(),
                        Err(e) => e.to_string(),
                    };
                    (input, f)
                })
                .collect()
        } else {
            names
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        index.get(n).ok_or_else(|| FormulaError::Unknown(n.clone())),
                    )
                })
                .collect()
        };
        let mut out = Vec::new();
        for (input, formula) in wanted {
            let formula = match formula {
                Ok(f) => f,
                Err(e) => {
                    out.push(Err(Unresolved {
                        input,
                        error: e.into(),
                    }));
                    continue;
                }
            };
            let tags: Vec<String> = if self.tags.is_empty() {
                formula.tags().into_iter().map(str::to_owned).collect()
            } else {
                self.tags.clone()
            };
            if tags.is_empty() {
                out.push(Err(Unresolved {
                    input,
                    error: FormulaError::NoBottle(formula.name.clone()).into(),
                }));
                continue;
            }
            for tag in tags {
                out.push(match formula.bottle_for(&tag) {
                    Ok(resolved) => {
                        let root = self
                            .bottle_domain
                            .as_deref()
                            .unwrap_or(&resolved.root_url)
                            .to_owned();
                        Ok(Target {
                            input: input.clone(),
                            url: bottle_url(&root, &resolved.bottle),
                            bottle: resolved.bottle.clone(),
                            resolved: Some(resolved),
                        })
                    }
                    Err(e) => Err(Unresolved {
                        input: input.clone(),
                        error: e.into(),
                    }),
                });
            }
        }
        out
    }

    /// Fetch every formula (and, with `deps`, every dependency), `jobs` at a time, each within
    /// its own deadline: a blackholed API costs one deadline per wave, not per formula.
    async fn fetch(
        &self,
        api: &FormulaApi,
        names: &[String],
    ) -> Result<FormulaIndex, Vec<Unresolved>> {
        let mut index = FormulaIndex::default();
        let mut errors = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut wave: Vec<String> = names
            .iter()
            .filter(|n| seen.insert((*n).clone()))
            .cloned()
            .collect();
        while !wave.is_empty() {
            let results: Vec<(String, Result<FormulaIndex, FormulaApiError>)> =
                futures_util::stream::iter(wave.drain(..))
                    .map(|name| async move {
                        let found = api
                            .formula(&name, Some(Deadline::after(self.timeout)))
                            .await;
                        (name, found)
                    })
                    .buffer_unordered(self.jobs.max(1))
                    .collect()
                    .await;
            for (name, found) in results {
                match found {
                    Ok(found) => {
                        if self.deps {
                            for f in found.iter() {
                                for dep in &f.dependencies {
                                    if seen.insert(dep.clone()) {
                                        wave.push(dep.clone());
                                    }
                                }
                            }
                        }
                        index.extend(found);
                    }
                    Err(e) => errors.push(Unresolved {
                        input: name,
                        error: e.into(),
                    }),
                }
            }
        }
        if errors.is_empty() {
            Ok(index)
        } else {
            // Keep the order the user gave.
            errors.sort_by_key(|u| names.iter().position(|n| *n == u.input));
            Err(errors)
        }
    }
}

/// A bottle file (hashed streaming; its name, or `name`, must be a bottle file name), served
/// under `root` for sidecars.
pub fn bottle_file(path: &Path, name: Option<&str>, root: &str) -> Result<Target, ResolveError> {
    let meta = std::fs::metadata(path).map_err(|_| ResolveError::NoSuchFile)?;
    let file_name = match name {
        Some(n) => n.to_owned(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let filename: BottleFilename = file_name.parse()?;
    if meta.is_file() && meta.len() == 0 {
        return Err(ResolveError::EmptyFile);
    }
    let digest = sha256_file(path)?;
    let bottle = BottleRef { digest, filename };
    Ok(Target {
        input: path.display().to_string(),
        url: bottle_url(root, &bottle),
        bottle,
        resolved: None,
    })
}

/// A digest and a bottle file name, served under `root`.
pub fn bottle_digest(
    input: &str,
    digest: Sha256Hash,
    name: &str,
    root: &str,
) -> Result<Target, ResolveError> {
    let bottle = BottleRef {
        digest,
        filename: name.parse()?,
    };
    Ok(Target {
        input: input.to_owned(),
        url: bottle_url(root, &bottle),
        bottle,
        resolved: None,
    })
}
