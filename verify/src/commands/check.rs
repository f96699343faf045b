//! The default command: check bottles under the policy.
//!
//! Bottles come from files, digests or formula names; attestations from `--bundle` files
//! (offline), or per policy source from the cache, the GitHub attestations API or a mirror's
//! sidecars. Bottles are checked concurrently (bounded by `--jobs`) and reported in order.

use anyhow::Context as _;
use bottle_attest::bottle::cache_name;
use bottle_attest::bottle::is_github_packages;
use bottle_attest::bundle::BundleCandidate;
use bottle_attest::parse_attestations;
use bottle_attest_net::ghcr::GhcrError;
use futures_util::StreamExt as _;

use super::context::Context;
use super::targets::{self, Target, Unresolved};
use crate::cli::CheckArgs;
use crate::exit::{Status, UsageError};
use crate::progress::Progress;
use crate::report::{BottleReport, Outcome, Reporter};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<Status> {
    if args.bottles.is_empty() {
        return Err(UsageError(
            "nothing to verify: give formula names, bottle files, or `sha256:<hex>` with `--name`"
                .into(),
        )
        .into());
    }
    if args.name.is_some() && args.bottles.len() != 1 {
        return Err(UsageError("`--name` names one BOTTLE; give exactly one".into()).into());
    }
    if args.bottles.iter().any(|b| targets::is_digest_arg(b)) && args.name.is_none() {
        return Err(UsageError(
            "a `sha256:<hex>` BOTTLE needs `--name <bottle file name>`: the policy checks the \
             attestation's subject name"
                .into(),
        )
        .into());
    }
    super::runtime()?.block_on(run_async(args))
}

async fn run_async(args: &CheckArgs) -> anyhow::Result<Status> {
    let ctx = Context::new(&args.lookup)?;
    // `--bundle` files: everything is at hand and no socket is opened, even if they hold
    // nothing.
    let pile = (!args.bundles.is_empty())
        .then(|| read_bundles(&args.bundles))
        .transpose()?;
    let resolved = targets::resolve(&ctx, &args.bottles, args.name.as_deref()).await;
    let progress = Progress::new(resolved.len() as u64, !args.json);
    let ctx = &ctx;
    let pile = pile.as_deref();
    let progress_ref = &progress;
    let mut reports = futures_util::stream::iter(resolved)
        .map(|target| async move {
            let report = match target {
                Err(Unresolved { input, error }) => BottleReport {
                    input,
                    bottle: None,
                    outcome: Outcome::Error(error),
                    ignored: Vec::new(),
                },
                Ok(target) => check_target(ctx, pile, target, args.download).await,
            };
            progress_ref.advance(&report.input);
            report
        })
        .buffered(usize::from(args.jobs));

    let mut reporter = Reporter::new(args.json, args.explain);
    let mut status = Status::Ok;
    while let Some(report) = reports.next().await {
        status = status.worst(report.status());
        progress.suspend(|| reporter.bottle(&report))?;
    }
    progress.finish();
    reporter.finish()?;
    Ok(status)
}

async fn check_target(
    ctx: &Context,
    pile: Option<&[BundleCandidate]>,
    target: Target,
    download: bool,
) -> BottleReport {
    let report = |outcome| BottleReport {
        input: target.input.clone(),
        bottle: Some(target.bottle.clone()),
        outcome,
        ignored: Vec::new(),
    };
    if let Some(pile) = pile {
        // File each bundle under the source that the API would have filed it under.
        let (verdict, ignored) = ctx.policy.evaluate_pile(&target.bottle, &ctx.trust, pile);
        return BottleReport {
            ignored,
            ..report(Outcome::Verdict(verdict))
        };
    }
    if let (Some(resolved), false) = (&target.resolved, ctx.offline) {
        // The registry must serve the bytes the formula names: a mismatch is refused before
        // any attestation is looked at.
        let root = ctx.bottle_root(resolved);
        if is_github_packages(root) {
            let client = match ctx.ghcr(root) {
                Ok(c) => c,
                Err(e) => return report(Outcome::Error(format!("{e:#}"))),
            };
            // A registry check that passed for these exact coordinates is remembered in the
            // cache, so that a warm run makes no registry request at all.
            let marker = ctx
                .cache
                .as_ref()
                .map(|c| registry_marker(c.root(), root, resolved));
            let remembered = marker.as_ref().is_some_and(|(path, text)| {
                std::fs::read_to_string(path).is_ok_and(|t| t == *text)
            });
            if !remembered {
                if let Err(e) = client.bottle_manifest(resolved).await {
                    return report(registry_failure(e));
                }
                if let Some((path, text)) = &marker {
                    // Only a cost saving: failing to remember is harmless.
                    let _ = bottle_attest_net::store::cache::write_atomic(path, text.as_bytes());
                }
            }
            if download {
                let dest = ctx
                    .downloads
                    .join(cache_name(&target.url, &target.bottle.filename));
                if !dest.exists() {
                    if let Some(dir) = dest.parent() {
                        if let Err(e) = std::fs::create_dir_all(dir) {
                            return report(Outcome::Error(format!(
                                "cannot create `{}`: {e}",
                                dir.display()
                            )));
                        }
                    }
                    if let Err(e) = client.download_blob(resolved, &dest).await {
                        return report(registry_failure(e));
                    }
                }
            }
        } else if download {
            return report(Outcome::Error(format!(
                "--download from a mirror that is not a GitHub Packages registry ({root}) is \
                 not supported yet"
            )));
        }
    }
    let checked = ctx
        .sources
        .check(&ctx.policy, &ctx.trust, &target.bottle, &target.url)
        .await;
    BottleReport {
        ignored: checked.ignored,
        ..report(Outcome::Verdict(checked.verdict))
    }
}

/// Where a passed registry check of `resolved` is remembered, and what the file must say.
fn registry_marker(
    cache_root: &std::path::Path,
    registry_root: &str,
    resolved: &bottle_attest::formula::ResolvedBottle,
) -> (std::path::PathBuf, String) {
    let digest = hex::encode(resolved.bottle.digest.as_bytes());
    let text = format!("{registry_root} {} {digest}\n", resolved.bottle.filename);
    (
        cache_root.join("registry").join(format!("sha256-{digest}")),
        text,
    )
}

/// A registry answer that contradicts the formula is a refusal (exit 1); one that could not be
/// had is "could not check" (exit 4).
fn registry_failure(e: GhcrError) -> Outcome {
    match e {
        GhcrError::DigestAnnotationMismatch { .. }
        | GhcrError::LayerDigestMismatch { .. }
        | GhcrError::ManifestDigestMismatch { .. }
        | GhcrError::BlobDigestMismatch { .. }
        | GhcrError::NoPlatform { .. } => Outcome::Refused(with_causes(&e)),
        other => Outcome::Error(with_causes(&other)),
    }
}

/// An error and its causes on one line: `cannot write x: permission denied`.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Every `--bundle` file, parsed. A file that cannot be read stops the run: every verdict
/// depends on what it holds.
fn read_bundles(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<BundleCandidate>> {
    let mut pile = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read bundle file `{}`", path.display()))?;
        pile.extend(parse_attestations(&path.display().to_string(), &bytes));
    }
    Ok(pile)
}
