//! Turning BOTTLE arguments into bottles to check: a bottle file (hashed streaming), a
//! `sha256:<hex>` with `--name`, or a formula name resolved through the formula JSON. What an
//! argument *is* is decided here (the command line's business); resolving it is the network
//! crate's ([`bottle_attest_net::resolve`]).

use std::path::Path;

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::digest::{Digest, DigestParseError};
use bottle_attest_net::checker::Target;
use bottle_attest_net::resolve::{ResolveError, Unresolved, bottle_digest, bottle_file};

use super::context::Context;

/// What an argument names.
enum Arg<'a> {
    Digest(&'a str),
    File(&'a str),
    Formula(&'a str),
}

/// Whether an argument is a digest (`sha256:`/`sha512:`, any case).
pub(crate) fn is_digest_arg(arg: &str) -> bool {
    let lower = arg.get(..7).map(str::to_ascii_lowercase);
    matches!(lower.as_deref(), Some("sha256:" | "sha512:"))
}

/// Whether an argument names a file rather than a formula: it exists, or looks like a path.
fn is_path_arg(arg: &str) -> bool {
    Path::new(arg).exists() || arg.contains('/') || arg.ends_with(".tar.gz")
}

fn classify(arg: &str) -> Arg<'_> {
    if is_digest_arg(arg) {
        Arg::Digest(arg)
    } else if is_path_arg(arg) {
        Arg::File(arg)
    } else {
        Arg::Formula(arg)
    }
}

/// A digest argument, accepted in any case (`SHA256:ABC…`) and compared as bytes. The error
/// does not repeat the argument (messages start with it, shortened; issue 13).
pub(crate) fn parse_digest(arg: &str) -> Result<Digest, String> {
    let (algorithm, hex) = arg.split_once(':').unwrap_or((arg, ""));
    format!(
        "{}:{}",
        algorithm.to_ascii_lowercase(),
        hex.to_ascii_lowercase()
    )
    .parse::<Digest>()
    .map_err(|e| match e {
        DigestParseError::BadHex {
            algorithm,
            expected,
            ..
        } => format!(
            "not a valid {algorithm} digest: expected {expected} hex characters after \
             `{algorithm}:`, got {}",
            hex.chars().count()
        ),
        DigestParseError::UnknownAlgorithm(_) => {
            "expected `sha256:<64 hex>` or `sha512:<128 hex>`".to_owned()
        }
    })
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
        let unresolved = |error: ResolveError| Unresolved {
            input: arg.clone(),
            error,
        };
        match classify(arg) {
            Arg::Digest(text) => out.push(match parse_digest(text) {
                Err(e) => Err(unresolved(ResolveError::BadDigest(e))),
                Ok(Digest::Sha512(_)) => Err(unresolved(ResolveError::BadDigest(
                    "bottles are identified by SHA-256; a sha512 digest cannot be looked up".into(),
                ))),
                Ok(Digest::Sha256(digest)) => {
                    bottle_digest(arg, digest, name.unwrap_or_default(), local_root)
                        .map_err(unresolved)
                }
            }),
            Arg::File(path) => {
                out.push(bottle_file(Path::new(path), name, local_root).map_err(unresolved))
            }
            Arg::Formula(name) => formula_names.push(name.to_owned()),
        }
    }
    if !formula_names.is_empty() {
        out.extend(ctx.resolver.formulae(&formula_names).await);
    }
    out
}
