//! The default command: check bottles under the policy, from attestations given as files.

use std::path::Path;

use anyhow::Context;
use bottle_attest::attestations::BundleCandidate;
use bottle_attest::digest::Digest;
use bottle_attest::hashing::sha256_file;
use bottle_attest::{BottleFilename, BottleRef, Policy, parse_attestations};

use crate::cli::CheckArgs;
use crate::exit::{Status, UsageError};
use crate::report::{BottleReport, Outcome, Reporter};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<Status> {
    if args.bottles.is_empty() {
        return Err(UsageError(
            "nothing to verify: give bottle files or `sha256:<hex>` with `--name`".into(),
        )
        .into());
    }
    let digest_args = args.bottles.iter().filter(|b| is_digest_arg(b)).count();
    if args.name.is_some() && args.bottles.len() != 1 {
        return Err(UsageError("`--name` names one BOTTLE; give exactly one".into()).into());
    }
    if digest_args > 0 && args.name.is_none() {
        return Err(UsageError(
            "a `sha256:<hex>` BOTTLE needs `--name <bottle file name>`: the policy checks the \
             attestation's subject name"
                .into(),
        )
        .into());
    }
    let trust = super::load_trust_root(args.trusted_root.as_deref())?;
    let policy = match &args.policy {
        None => Policy::homebrew_core(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy `{}`", path.display()))?;
            Policy::from_file_text(&path.display().to_string(), &text)
                .with_context(|| format!("policy `{}`", path.display()))?
        }
    };
    let pile = read_bundles(&args.bundles)?;

    let mut reporter = Reporter::new(args.json, args.explain);
    let mut status = Status::Ok;
    for arg in &args.bottles {
        let report = match resolve_bottle(arg, args.name.as_deref()) {
            Err(error) => BottleReport {
                input: arg.clone(),
                bottle: None,
                outcome: Outcome::Error(error),
                ignored: Vec::new(),
            },
            Ok(bottle) => check_one(arg, bottle, &policy, &trust, &pile, args.bundles.is_empty()),
        };
        status = status.worst(report.status());
        reporter.bottle(&report)?;
    }
    reporter.finish()?;
    Ok(status)
}

fn check_one(
    arg: &str,
    bottle: BottleRef,
    policy: &Policy,
    trust: &bottle_attest::TrustRoot,
    pile: &[BundleCandidate],
    no_bundles: bool,
) -> BottleReport {
    if no_bundles {
        return BottleReport {
            input: arg.to_owned(),
            bottle: Some(bottle),
            outcome: Outcome::Error(
                "no attestations to check against: pass `--bundle FILE` (looking attestations \
                 up on GitHub needs the network lookup, not built yet)"
                    .into(),
            ),
            ignored: Vec::new(),
        };
    }
    let attributed = policy.attribute(&bottle.digest, pile);
    let mut lookups = attributed.lookups.into_iter().map(Some).collect::<Vec<_>>();
    let verdict = policy.evaluate(&bottle, trust, |index, _| {
        lookups
            .get_mut(index)
            .and_then(Option::take)
            .unwrap_or(bottle_attest::policy::Lookup::NotFound)
    });
    BottleReport {
        input: arg.to_owned(),
        bottle: Some(bottle),
        outcome: Outcome::Verdict(verdict),
        ignored: attributed.ignored,
    }
}

fn is_digest_arg(arg: &str) -> bool {
    arg.starts_with("sha256:") || arg.starts_with("sha512:")
}

/// A BOTTLE argument as a digest and file name; the error says which and why.
fn resolve_bottle(arg: &str, name: Option<&str>) -> Result<BottleRef, String> {
    if is_digest_arg(arg) {
        let digest: Digest = arg.parse().map_err(|e| format!("{e}"))?;
        let Digest::Sha256(digest) = digest else {
            return Err(format!(
                "{arg}: bottles are identified by SHA-256; a {} digest cannot be looked up",
                digest.algorithm()
            ));
        };
        let name = name.unwrap_or_default();
        let filename: BottleFilename = name.parse().map_err(|e| format!("--name: {e}"))?;
        return Ok(BottleRef { digest, filename });
    }
    let path = Path::new(arg);
    if !path.exists() {
        let looks_like_path = arg.contains('/') || arg.ends_with(".tar.gz");
        return Err(if looks_like_path {
            format!("`{arg}`: no such file")
        } else {
            format!(
                "`{arg}` is not a bottle file; verifying a formula by name needs the network \
                 lookup (formula API, GHCR, attestations API), which is not built yet"
            )
        });
    }
    let file_name = match name {
        Some(n) => n.to_owned(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let filename: BottleFilename = file_name.parse().map_err(|e| format!("`{arg}`: {e}"))?;
    let digest = sha256_file(path).map_err(|e| format!("{e}: {}", e.source))?;
    Ok(BottleRef { digest, filename })
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
