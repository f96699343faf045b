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
use bottle_attest_net::store::atomic::write_atomic;

use super::context::Context;
use super::targets;
use crate::cli::ExportArgs;
use crate::exit::{Status, UsageError};
use crate::report::human::Style;
use crate::report::{Outcome, with_causes};

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
        let ctx = Context::new(&args.lookup, None, 8, false)?;
        let cache = ctx
            .checker
            .cache()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no attestation cache"))?;
        std::fs::create_dir_all(&args.out)
            .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", args.out.display()))?;
        let style = Style::for_stdout();
        let mut out = std::io::stdout().lock();
        let mut status = Status::Ok;
        let mut written = 0usize;
        for target in targets::resolve(&ctx, &args.formulae, None).await {
            let target = match target {
                Ok(t) => t,
                Err(u) => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        out,
                        "{}: {}: {}",
                        style.error(),
                        u.input,
                        with_causes(&u.error)
                    )?;
                    continue;
                }
            };
            let checked = ctx.checker.check(&target, false).await;
            let label = target.bottle.filename.to_string();
            let verdict = match checked.outcome {
                Outcome::Verdict(v) => v,
                Outcome::Refused(e) => {
                    status = status.worst(Status::Invalid);
                    writeln!(
                        out,
                        "{}: {label}: refused: {}",
                        style.error(),
                        with_causes(e.as_ref())
                    )?;
                    continue;
                }
                Outcome::Error(e) => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        out,
                        "{}: {label}: {}",
                        style.error(),
                        with_causes(e.as_ref())
                    )?;
                    continue;
                }
            };
            match verdict {
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
                        "{}: {label}: could not look up {source}: {}",
                        style.error(),
                        with_causes(&error)
                    )?;
                    continue;
                }
            }
            let mut bundles = Vec::new();
            for source in &ctx.checker.policy().sources {
                if let Ok(Some(found)) = cache.get(&source.repository, &target.bottle.digest) {
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
