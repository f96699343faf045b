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
        let v = args.verbosity;
        let ctx = Context::new(&args.lookup, None, 8, v.quiet).await?;
        let cache = ctx
            .checker
            .cache()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no attestation cache"))?;
        std::fs::create_dir_all(&args.out)
            .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", args.out.display()))?;
        let style = Style::for_stdout();
        // Results on stdout (none with `-q`); every error on stderr, as in every command.
        let mut out: Box<dyn Write> = if v.quiet {
            Box::new(std::io::sink())
        } else {
            Box::new(std::io::stdout().lock())
        };
        let estyle = Style::for_stderr();
        let mut err = std::io::stderr().lock();
        let mut status = Status::Ok;
        let mut written = 0usize;
        for target in targets::resolve(&ctx, &args.formulae, None).await {
            let target = match target {
                Ok(t) => t,
                Err(u) => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        err,
                        "{}: {}: {}",
                        estyle.error(),
                        u.input,
                        with_causes(&u.error)
                    )?;
                    continue;
                }
            };
            v.debug(|| {
                format!(
                    "{}: {} (sha256:{}) at {}",
                    target.input,
                    target.bottle.filename,
                    target.bottle.digest.to_hex(),
                    target.url
                )
            });
            let checked = ctx.checker.check(&target, false).await;
            let label = target.bottle.filename.to_string();
            let verdict = match checked.outcome {
                Outcome::Verdict(v) => v,
                Outcome::Refused(e) => {
                    status = status.worst(Status::Invalid);
                    writeln!(
                        err,
                        "{}: {label}: refused: {}",
                        estyle.error(),
                        with_causes(e.as_ref())
                    )?;
                    continue;
                }
                Outcome::Error(e) => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        err,
                        "{}: {label}: {}",
                        estyle.error(),
                        with_causes(e.as_ref())
                    )?;
                    continue;
                }
            };
            let verified_by = match verdict {
                Verdict::Verified(pass) => pass.source,
                Verdict::Invalid { source, .. } => {
                    status = status.worst(Status::Invalid);
                    writeln!(
                        err,
                        "{}: {label}: invalid attestation from {source}; no sidecar written",
                        estyle.error()
                    )?;
                    continue;
                }
                Verdict::Missing { .. } => {
                    status = status.worst(Status::Missing);
                    writeln!(
                        err,
                        "{}: {label}: missing attestation; no sidecar written",
                        estyle.error()
                    )?;
                    continue;
                }
                Verdict::Unavailable { source, error } => {
                    status = status.worst(Status::CouldNotCheck);
                    writeln!(
                        err,
                        "{}: {label}: could not look up {source}: {}",
                        estyle.error(),
                        with_causes(&error)
                    )?;
                    continue;
                }
            };
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
            if v.verbose {
                writeln!(
                    out,
                    "    verified by the {verified_by} attestation; {} bundle(s)",
                    bundles.len()
                )?;
            }
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
