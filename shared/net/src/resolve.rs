//! Turning what a user names into [`Target`]s: a bottle file (hashed streaming), a digest with
//! a bottle file name, or a formula name resolved through formula JSON (a file, or the formula
//! API one formula at a time, concurrently, each within its own deadline).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bottle_attest::bottle::{BottleFilename, BottleNameError, BottleRef, bottle_url};
use bottle_attest::formula::{Formula, FormulaError, FormulaIndex};
use sigstore_types::Sha256Hash;

use crate::checker::{FormulaData, Target};
use crate::formula_api::{FormulaApi, FormulaApiError, is_formula_name};
use crate::http::Deadline;
use crate::store::hashing::sha256_file;

/// Where formula JSON comes from.
#[derive(Debug)]
pub enum FormulaSource {
    /// A file the user gave (`--formula-json`).
    File(Arc<FormulaIndex>),
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
    /// The file could not be read. Its path is the argument every message starts with, so
    /// it is not repeated (issue 13: a path printed once).
    #[error("cannot read the file")]
    Hash(#[source] std::io::Error),
    /// The formula API failed for it.
    #[error(transparent)]
    Api(#[from] FormulaApiError),
    /// The formula data has no usable bottle for it.
    #[error(transparent)]
    Formula(#[from] FormulaError),
    /// No such formula, in brew's words (Homebrew/brew `Library/Homebrew/exceptions.rb`,
    /// `FormulaUnavailableError#to_s`: `"No available formula with the name \"#{name}\"
    /// #{dependent_s}. #{did_you_mean}"`, where `dependent_s` is `" (dependency of
    /// #{dependent})"`): `No available formula with the name "X" (dependency of Y). Did you
    /// mean a, b or c?`. A name longer than 100 characters is cut (issue 13).
    #[error(
        "No available formula with the name \"{}\"{}.{}",
        excerpt(name),
        dependent.as_deref().map(|d| format!(" (dependency of {d})")).unwrap_or_default(),
        did_you_mean(suggestions)
    )]
    NoSuchFormula {
        /// The name asked.
        name: String,
        /// The formula that needs it, when it is a dependency (`--deps`).
        dependent: Option<String>,
        /// Close names in the formula data.
        suggestions: Vec<String>,
    },
    /// Not looked up, because another name of the same command line is not a formula name.
    #[error("not looked up: another argument is not a formula name")]
    NotChecked,
    /// Offline without formula JSON.
    #[error("a formula name needs formula JSON: pass --formula-json FILE when --offline")]
    NoFormulaData,
}

/// At most 100 characters of a name for a message, then `…`: a huge argument is not echoed
/// back whole.
fn excerpt(name: &str) -> String {
    const MAX: usize = 100;
    match name.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_owned(),
    }
}

/// brew's " Did you mean a, b or c?", or nothing.
fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" Did you mean {one}?"),
        [rest @ .., last] => format!(" Did you mean {} or {last}?", rest.join(", ")),
    }
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
    /// Lookups in flight at once (kept for callers; the signed index is one request).
    pub jobs: usize,
    /// Deadline per formula.
    pub timeout: Duration,
}

impl Resolver {
    /// Every formula name → its bottles for the tags (and, with `deps`, the dependencies'
    /// bottles after them), in order.
    pub async fn formulae(&self, names: &[String]) -> Vec<Result<Target, Unresolved>> {
        let signed: Arc<FormulaIndex>;
        let data: FormulaData;
        let index: &FormulaIndex = match &self.formulae {
            FormulaSource::File(index) => {
                data = FormulaData::UserFile;
                index
            }
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
            FormulaSource::Api(api) => {
                // A name that cannot be a formula is refused whatever the index holds.
                if let Some(bad) = names.iter().find(|n| !is_formula_name(n)) {
                    let error = FormulaApiError::InvalidName(bad.chars().take(100).collect());
                    return names
                        .iter()
                        .map(|n| {
                            Err(Unresolved {
                                input: n.clone(),
                                error: if is_formula_name(n) {
                                    ResolveError::NotChecked
                                } else {
                                    error.clone().into()
                                },
                            })
                        })
                        .collect();
                }
                match api.index(Some(Deadline::after(self.timeout))).await {
                    Ok(verified) => {
                        data = verified.data();
                        signed = verified.index;
                        &signed
                    }
                    Err(e) => {
                        return names
                            .iter()
                            .map(|n| {
                                Err(Unresolved {
                                    input: n.clone(),
                                    error: e.clone().into(),
                                })
                            })
                            .collect();
                    }
                }
            }
        };
        let wanted: Vec<(String, Result<&Formula, FormulaError>)> = if self.deps {
            index
                .with_dependencies(names)
                .into_iter()
                .map(|f| {
                    let input = match &f {
                        Ok(f) => f.name.clone(),
                        Err(
                            FormulaError::Unknown(name)
                            | FormulaError::UnknownDependency { name, .. },
                        ) => name.clone(),
                        // The closure reports only unknown names; never an empty label.
                        Err(_) => "--deps".to_owned(),
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
                Err(FormulaError::Unknown(name)) => {
                    let suggestions = index
                        .similar_names(&name)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    out.push(Err(Unresolved {
                        input,
                        error: ResolveError::NoSuchFormula {
                            name,
                            dependent: None,
                            suggestions,
                        },
                    }));
                    continue;
                }
                // A dependency named in the formula data: no "Did you mean" (the user did
                // not type it), but which formula needs it.
                Err(FormulaError::UnknownDependency { name, dependent }) => {
                    out.push(Err(Unresolved {
                        input,
                        error: ResolveError::NoSuchFormula {
                            name,
                            dependent: Some(dependent),
                            suggestions: Vec::new(),
                        },
                    }));
                    continue;
                }
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
                            formula_data: Some(data.clone()),
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
    let digest = sha256_file(path).map_err(|e| ResolveError::Hash(e.source))?;
    let bottle = BottleRef { digest, filename };
    Ok(Target {
        input: path.display().to_string(),
        url: bottle_url(root, &bottle),
        bottle,
        resolved: None,
        formula_data: None,
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
        formula_data: None,
    })
}
