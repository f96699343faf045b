//! The default command: check bottles under the policy, through the one [`BottleChecker`].
//!
//! Bottles come from files, digests or formula names; attestations from `--bundle` files
//! (offline), or per policy source from the cache, the GitHub attestations API or a mirror's
//! sidecars. Bottles are checked concurrently (bounded by `--jobs`) and reported in order.
//!
//! [`BottleChecker`]: bottle_attest_net::checker::BottleChecker

use std::sync::Arc;

use futures_util::StreamExt as _;

use super::context::{Context, read_bundles};
use super::each_in_parallel;
use super::targets;
use crate::cli::CheckArgs;
use crate::exit::{Status, UsageError};
use crate::progress::Progress;
use crate::report::{self, BottleReport, Explain, Outcome, Reporter, human};

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
    if args.download && (args.lookup.offline || !args.bundles.is_empty()) {
        return Err(UsageError(
            "--download fetches bottles from the registry: it cannot be combined with --offline \
             or --bundle"
                .into(),
        )
        .into());
    }
    super::runtime()?.block_on(run_async(args))
}

async fn run_async(args: &CheckArgs) -> anyhow::Result<Status> {
    // `--bundle` files: everything is at hand and no socket is opened, even if they hold
    // nothing.
    let pile = (!args.bundles.is_empty())
        .then(|| read_bundles(&args.bundles))
        .transpose()?;
    let v = args.verbosity;
    let ctx = Arc::new(Context::new(&args.lookup, pile, usize::from(args.jobs), v.quiet).await?);
    let setting = super::context::explain_setting(
        &args.lookup,
        &args.bundles,
        ctx.checker.policy(),
        &ctx.roots,
    );
    v.debug(|| setting.summary());
    let resolved = targets::resolve(&ctx, &args.bottles, args.name.as_deref()).await;
    for target in &resolved {
        v.debug(|| match target {
            Ok(t) => format!(
                "{}: {} (sha256:{}) at {}",
                human::shorten_arg(&t.input),
                t.bottle.filename,
                t.bottle.digest.to_hex(),
                t.url
            ),
            Err(u) => format!("{}: not resolved", human::shorten_arg(&u.input)),
        });
    }
    let progress = Arc::new(Progress::new(resolved.len() as u64, !args.json && !v.quiet));
    let download = args.download;
    let mut reports = each_in_parallel(resolved, usize::from(args.jobs), |target| {
        let (ctx, progress) = (Arc::clone(&ctx), Arc::clone(&progress));
        async move {
            let started = std::time::Instant::now();
            let report = match target {
                Err(unresolved) => BottleReport {
                    input: unresolved.input,
                    bottle: None,
                    outcome: Outcome::Error(Arc::new(unresolved.error)),
                    ignored: Vec::new(),
                    formula_data: None,
                },
                Ok(target) => ctx.checker.check(&target, download).await,
            };
            progress.advance(&report.input);
            (report, started.elapsed())
        }
    });

    // `-v` says for every bottle what `--explain` says, as `provenance --verbose` does.
    let explain = if args.explain || v.verbose {
        Explain::On(Box::new(setting))
    } else {
        Explain::Off
    };
    let mut reporter = Reporter::new(args.json, explain, ctx.roots.clone());
    let mut status = Status::Ok;
    while let Some((report, took)) = reports.next().await {
        let this = report::status(&report);
        status = status.worst(this);
        v.debug(|| {
            format!(
                "{}: checked in {} ms",
                human::shorten_arg(&report.input),
                took.as_millis()
            )
        });
        // `-q`: a verified bottle says nothing (its JSON object is data and still written).
        if v.quiet && !args.json && this == Status::Ok {
            reporter.count(&report);
            continue;
        }
        if let Err(e) = progress.suspend(|| reporter.bottle(&report)) {
            return Err(crate::exit::Interrupted::new(status, e).into());
        }
    }
    progress.finish();
    if v.quiet {
        return Ok(status);
    }
    if let Err(e) = reporter.finish() {
        return Err(crate::exit::Interrupted::new(status, e).into());
    }
    Ok(status)
}
