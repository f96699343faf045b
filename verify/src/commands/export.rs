//! `brew-verify export-sidecars`: write what a bottle mirror would serve beside each bottle,
//! `<bottle file name>.sigs`, a JSON array of the bundles that make it verify.
//!
//! Bottles are checked first, exactly as the default command does; only verified bottles get a
//! sidecar, holding the bundles of every policy source that had some (read back from the
//! attestation cache the check filled). A mirror is untrusted anyway: clients verify what it
//! serves.

use std::io::Write;

use bottle_attest::policy::Verdict;
use bottle_attest_net::mirror::sidecar_path;
use bottle_attest_net::store::cache::{Cached, write_atomic};

use super::context::Context;
use super::targets;
use crate::cli::ExportArgs;
use crate::exit::{Status, UsageError};
use crate::report::human::Style;

pub(crate) fn run(args: &ExportArgs) -> anyhow::Result<Status> {
    if args.lookup.no_cache {
        return Err(UsageError(
            "export-sidecars reads the bundles back from the attestation cache; drop --no-cache"
                .into(),
        )
        .into());
    }
    if let Some(path) = args
        .formulae
        .iter()
        .find(|f| targets::is_digest_arg(f) || f.contains('/'))
    {
        return Err(UsageError(format!("`{path}`: export-sidecars takes formula names")).into());
    }
    super::runtime()?.block_on(async {
        let ctx = Context::new(&args.lookup)?;
        let cache = ctx
            .cache
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no attestation cache"))?;
        let style = Style::for_stdout();
        let mut out = std::io::stdout().lock();
        let mut status = Status::Ok;
        let mut written = 0usize;
        for target in targets::resolve(&ctx, &args.formulae, None).await {
            let target = match target {
                Ok(t) => t,
                Err(u) => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(out, "{}: {}: {}", style.error(), u.input, u.error)?;
                    continue;
                }
            };
            let checked = ctx
                .sources
                .check(&ctx.policy, &ctx.trust, &target.bottle, &target.url)
                .await;
            let label = target.bottle.filename.to_string();
            match checked.verdict {
                Verdict::Verified(_) => {}
                Verdict::Invalid { source, .. } => {
                    status = status.worst(Status::Invalid);
                    writeln!(
                        out,
                        "{}: {label}: invalid attestation from {source}; no sidecar written",
                        style.error()
                    )?;
                    continue;
                }
                Verdict::Missing { .. } => {
                    status = status.worst(Status::Missing);
                    writeln!(
                        out,
                        "{}: {label}: missing attestation; no sidecar written",
                        style.error()
                    )?;
                    continue;
                }
                Verdict::Unavailable { source, error } => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        out,
                        "{}: {label}: could not look up {source}: {error}",
                        style.error()
                    )?;
                    continue;
                }
            }
            let mut bundles = Vec::new();
            for source in &ctx.policy.sources {
                if let Ok(Some(Cached::Found(found))) = cache.get(
                    &source.repository,
                    &target.bottle.digest,
                    chrono::Utc::now(),
                ) {
                    for candidate in found {
                        if let Ok(bundle) = candidate.bundle {
                            bundles.push(serde_json::to_value(&*bundle)?);
                        }
                    }
                }
            }
            let path = sidecar_path(&args.out, &target.bottle);
            write_atomic(&path, serde_json::to_string(&bundles)?.as_bytes())?;
            written += 1;
            writeln!(
                out,
                "{}",
                style.heading(&format!("Wrote {}", path.display()))
            )?;
        }
        writeln!(
            out,
            "{}",
            style.heading(&format!(
                "{written} sidecar(s) written to {}",
                args.out.display()
            ))
        )?;
        Ok(status)
    })
}
