//! Turning BOTTLE arguments into bottles to check: a bottle file (hashed streaming), a
//! `sha256:<hex>` with `--name`, or a formula name resolved through the formula JSON.

use std::path::Path;

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::bottle::bottle_url;
use bottle_attest::digest::Digest;
use bottle_attest::formula::{FormulaIndex, ResolvedBottle};
use bottle_attest::{BottleFilename, BottleRef};
use bottle_attest_net::store::hashing::sha256_file;

use super::context::{Context, FormulaSource};

/// One bottle to check.
pub(crate) struct Target {
    /// The argument it came from (a formula name, a path, a digest).
    pub(crate) input: String,
    pub(crate) bottle: BottleRef,
    /// Where the bottle is served; its sidecar sits beside it.
    pub(crate) url: String,
    /// From the formula API: what the registry must agree with.
    pub(crate) resolved: Option<ResolvedBottle>,
}

/// An argument that could not become a bottle.
pub(crate) struct Unresolved {
    pub(crate) input: String,
    pub(crate) error: String,
}

pub(crate) fn is_digest_arg(arg: &str) -> bool {
    arg.starts_with("sha256:") || arg.starts_with("sha512:")
}

/// Whether an argument names a file rather than a formula: it exists, or looks like a path.
fn is_path_arg(arg: &str) -> bool {
    Path::new(arg).exists() || arg.contains('/') || arg.ends_with(".tar.gz")
}

/// Resolve every argument, in order; formula names expand to one target per tag (and, with
/// `--deps`, their dependencies after them).
pub(crate) async fn resolve(
    ctx: &Context,
    args: &[String],
    name: Option<&str>,
) -> Vec<Result<Target, Unresolved>> {
    let local_root = ctx.bottle_domain.as_deref().unwrap_or(DEFAULT_BOTTLE_ROOT);
    let mut out = Vec::new();
    let mut formula_names = Vec::new();
    for arg in args {
        if is_digest_arg(arg) || is_path_arg(arg) {
            out.push(local(arg, name).map(|bottle| Target {
                input: arg.clone(),
                url: bottle_url(local_root, &bottle),
                bottle,
                resolved: None,
            }));
        } else {
            formula_names.push(arg.clone());
        }
    }
    if !formula_names.is_empty() {
        out.extend(formulae(ctx, &formula_names).await);
    }
    out
}

/// A bottle file or digest argument.
fn local(arg: &str, name: Option<&str>) -> Result<BottleRef, Unresolved> {
    let fail = |error: String| Unresolved {
        input: arg.to_owned(),
        error,
    };
    if is_digest_arg(arg) {
        let digest: Digest = arg.parse().map_err(|e| fail(format!("{e}")))?;
        let Digest::Sha256(digest) = digest else {
            return Err(fail(format!(
                "bottles are identified by SHA-256; a {} digest cannot be looked up",
                digest.algorithm()
            )));
        };
        let filename: BottleFilename = name
            .unwrap_or_default()
            .parse()
            .map_err(|e| fail(format!("--name: {e}")))?;
        return Ok(BottleRef { digest, filename });
    }
    let path = Path::new(arg);
    if !path.exists() {
        return Err(fail(format!("`{arg}`: no such file")));
    }
    let file_name = match name {
        Some(n) => n.to_owned(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let filename: BottleFilename = file_name.parse().map_err(|e| fail(format!("{e}")))?;
    let digest = sha256_file(path).map_err(|e| fail(format!("{e}: {}", e.source)))?;
    Ok(BottleRef { digest, filename })
}

/// Formula names → their bottles for the context's tags.
async fn formulae(ctx: &Context, names: &[String]) -> Vec<Result<Target, Unresolved>> {
    let index = match &ctx.formulae {
        FormulaSource::File(index) => index.clone(),
        FormulaSource::None => {
            return names
                .iter()
                .map(|n| {
                    Err(Unresolved {
                        input: n.clone(),
                        error: "a formula name needs formula JSON: pass --formula-json FILE \
                                when --offline"
                            .into(),
                    })
                })
                .collect();
        }
        FormulaSource::Api(api) => {
            let mut index = FormulaIndex::default();
            let mut errors = Vec::new();
            let mut queue: Vec<String> = names.to_vec();
            let mut seen = std::collections::BTreeSet::new();
            while let Some(name) = queue.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                match api.formula(&name).await {
                    Ok(found) => {
                        if ctx.deps {
                            for f in found.iter() {
                                queue.extend(f.dependencies.iter().cloned());
                            }
                        }
                        index.extend(found);
                    }
                    Err(e) => errors.push((name, e.to_string())),
                }
            }
            if !errors.is_empty() {
                return errors
                    .into_iter()
                    .map(|(input, error)| Err(Unresolved { input, error }))
                    .collect();
            }
            index
        }
    };
    let wanted: Vec<Result<&bottle_attest::formula::Formula, _>> = if ctx.deps {
        index.with_dependencies(names)
    } else {
        names
            .iter()
            .map(|n| {
                index
                    .get(n)
                    .ok_or_else(|| bottle_attest::formula::FormulaError::Unknown(n.clone()))
            })
            .collect()
    };
    let mut out = Vec::new();
    for (i, formula) in wanted.into_iter().enumerate() {
        let input = names.get(i).cloned();
        let formula = match formula {
            Ok(f) => f,
            Err(e) => {
                out.push(Err(Unresolved {
                    input: input.unwrap_or_default(),
                    error: e.to_string(),
                }));
                continue;
            }
        };
        let input = formula.name.clone();
        let tags: Vec<String> = if ctx.tags.is_empty() {
            formula.tags().into_iter().map(str::to_owned).collect()
        } else {
            ctx.tags.clone()
        };
        if tags.is_empty() {
            out.push(Err(Unresolved {
                input,
                error: format!("`{}` has no stable bottle", formula.name),
            }));
            continue;
        }
        for tag in tags {
            out.push(match formula.bottle_for(&tag) {
                Ok(resolved) => Ok(Target {
                    input: input.clone(),
                    url: bottle_url(ctx.bottle_root(&resolved), &resolved.bottle),
                    bottle: resolved.bottle.clone(),
                    resolved: Some(resolved),
                }),
                Err(e) => Err(Unresolved {
                    input: input.clone(),
                    error: e.to_string(),
                }),
            });
        }
    }
    out
}
