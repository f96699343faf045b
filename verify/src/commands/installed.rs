//! `brew provenance` (the external command `brew-provenance`, a link to brew-verify) and
//! `brew-verify provenance`: check the bottles of installed formulae.
//!
//! brew runs an external command `brew-NAME` found on `PATH` with its environment
//! (`HOMEBREW_PREFIX`, `HOMEBREW_CELLAR`, `HOMEBREW_CACHE`, `HOMEBREW_GITHUB_API_TOKEN`,
//! `HOMEBREW_BOTTLE_DOMAIN`, `HOMEBREW_API_DOMAIN`, …) and the remaining arguments. `brew verify`
//! is built into brew now and shadows an external command of that name; `provenance` is free.
//!
//! With formula names it is the ordinary check of those formulae. Without, it finds every keg
//! in the Cellar (`<cellar>/<name>/<version>/INSTALL_RECEIPT.json`), skips those built from
//! source, and for each poured bottle checks: the bottle file still in Homebrew's download
//! cache (`downloads/<sha256(url)>--<name>--<version>.<tag>.bottle[.N].tar.gz`, hashed here —
//! the bytes that were poured), else the bottle the formula API names for this version and
//! this machine's tag (by its digest; the API must still list the installed version).

use std::path::{Path, PathBuf};

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::bottle::bottle_url;
use bottle_attest::formula::FormulaError;
use bottle_attest::{BottleFilename, BottleRef};
use bottle_attest_net::formula_api::FormulaApiError;
use bottle_attest_net::store::hashing::{HashFileError, sha256_file};
use futures_util::StreamExt as _;
use serde::Deserialize;

use super::context::Context;
use super::each_in_parallel;
use crate::cli::{CheckArgs, ProvenanceArgs};
use crate::exit::Status;
use crate::progress::Progress;
use crate::report::{BottleReport, Explain, Outcome, Reporter};
use bottle_attest_net::checker::{FormulaData, Target};
use bottle_attest_net::env::Env;
use bottle_attest_net::http::Deadline;
use bottle_attest_net::resolve::FormulaSource;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parts of an install receipt (`Tab`) read here.
#[derive(Debug, Deserialize)]
struct Receipt {
    #[serde(default)]
    poured_from_bottle: Option<bool>,
    #[serde(default)]
    source: Option<ReceiptSource>,
}

#[derive(Debug, Deserialize)]
struct ReceiptSource {
    #[serde(default)]
    tap: Option<String>,
}

/// One installed keg.
#[derive(Debug, Clone)]
struct Keg {
    name: String,
    /// The keg directory's name: the package version (`1.24.5_1`).
    version: String,
    poured_from_bottle: bool,
    tap: Option<String>,
}

pub(crate) fn run(args: ProvenanceArgs) -> anyhow::Result<Status> {
    if !args.formulae.is_empty() {
        // Named formulae: the ordinary check.
        let check = CheckArgs {
            bottles: args.formulae,
            bundles: Vec::new(),
            name: None,
            download: false,
            jobs: args.jobs,
            json: args.json,
            explain: args.explain || args.verbose,
            verbosity: crate::cli::Verbosity {
                verbose: args.verbose,
                debug: args.debug,
                quiet: args.quiet,
            },
            lookup: args.lookup,
        };
        return super::check::run(&check);
    }
    super::runtime()?.block_on(installed(&args))
}

/// `$HOMEBREW_CELLAR`, else `$HOMEBREW_PREFIX/Cellar`.
fn cellar(env: &Env) -> PathBuf {
    env.get("HOMEBREW_CELLAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::doctor::homebrew_prefix(env).join("Cellar"))
}

/// Why an installed keg's bottle cannot be named, as the error of its report.
#[derive(Debug, thiserror::Error)]
enum PlanError {
    /// The bottle in the download cache could not be read.
    #[error("{error}: {cause}", error = .0, cause = .0.source)]
    Hash(#[from] HashFileError),
    /// The formula API could not be asked.
    #[error(transparent)]
    FormulaApi(#[from] FormulaApiError),
    /// Not cached, and nothing to look the bottle up in.
    #[error(
        "its bottle is no longer in the download cache, and --offline without --formula-json \
         cannot look it up"
    )]
    NothingToAsk,
    /// The formula data does not know the formula.
    #[error("`{0}` is not in the formula JSON")]
    UnknownFormula(String),
    /// The formula moved on since this version was installed.
    #[error(
        "{name} {installed} is installed but the formula API now has {current}, and the \
         installed bottle is no longer in the download cache (`brew upgrade {name}` or \
         `brew fetch` it)"
    )]
    VersionMoved {
        name: String,
        installed: String,
        current: String,
    },
    /// The formula names no bottle for this machine.
    #[error(transparent)]
    NoBottle(#[from] FormulaError),
}

/// Every keg with an install receipt, by name then version.
fn kegs(cellar: &Path) -> anyhow::Result<Vec<Keg>> {
    let mut out = Vec::new();
    let formulae = match std::fs::read_dir(cellar) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => anyhow::bail!("cannot read the Cellar `{}`: {e}", cellar.display()),
    };
    let mut names: Vec<PathBuf> = formulae.flatten().map(|e| e.path()).collect();
    names.sort();
    for dir in names {
        let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let Ok(versions) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut versions: Vec<PathBuf> = versions.flatten().map(|e| e.path()).collect();
        versions.sort();
        for keg in versions {
            let receipt = keg.join("INSTALL_RECEIPT.json");
            let Ok(text) = std::fs::read_to_string(&receipt) else {
                continue;
            };
            let Some(version) = keg.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let receipt: Receipt = match serde_json::from_str(&text) {
                Ok(r) => r,
                Err(e) => anyhow::bail!("cannot read `{}`: {e}", receipt.display()),
            };
            out.push(Keg {
                name: name.clone(),
                version,
                poured_from_bottle: receipt.poured_from_bottle.unwrap_or(false),
                tap: receipt.source.and_then(|s| s.tap),
            });
        }
    }
    Ok(out)
}

/// The bottle files in Homebrew's download cache (`<64 hex>--<bottle file name>`), by
/// formula name and version. The directory is read once per run, not once per keg.
type DownloadIndex = BTreeMap<(String, String), Vec<(PathBuf, BottleFilename)>>;

fn download_index(downloads: Option<&Path>) -> DownloadIndex {
    let mut index = DownloadIndex::new();
    let Some(entries) = downloads.and_then(|d| std::fs::read_dir(d).ok()) else {
        return index;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some((hash, rest)) = file.split_once("--") else {
            continue;
        };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Ok(parsed) = rest.parse::<BottleFilename>() else {
            continue;
        };
        index
            .entry((parsed.name().to_owned(), parsed.version().to_owned()))
            .or_default()
            .push((e.path(), parsed));
    }
    index
}

/// The bottle of `keg` still in the download cache, this machine's tags first.
fn cached_bottle(
    index: &DownloadIndex,
    keg: &Keg,
    tags: &[String],
) -> Option<(PathBuf, BottleFilename)> {
    let found = index.get(&(keg.name.clone(), keg.version.clone()))?;
    found
        .iter()
        .min_by_key(|(_, f)| {
            (
                !tags.iter().any(|t| t == f.tag()),
                f.tag() != "all",
                std::cmp::Reverse(f.rebuild()),
            )
        })
        .cloned()
}

enum Plan {
    Check {
        bottle: BottleRef,
        url: String,
        from: String,
        formula_data: Option<FormulaData>,
    },
    Skip(String),
    Fail(PlanError),
}

async fn plan(ctx: &Context, keg: &Keg, downloads: &DownloadIndex, custom_policy: bool) -> Plan {
    if !keg.poured_from_bottle {
        return Plan::Skip("built from source: no bottle to verify".into());
    }
    let tap = keg.tap.as_deref().unwrap_or("homebrew/core");
    if !tap.eq_ignore_ascii_case("homebrew/core") && !custom_policy {
        return Plan::Skip(format!(
            "from the tap {tap}, which the homebrew-core policy does not cover (give --policy)"
        ));
    }
    let root = ctx.bottle_domain.as_deref().unwrap_or(DEFAULT_BOTTLE_ROOT);
    if let Some((path, filename)) = cached_bottle(downloads, keg, &ctx.tags) {
        // Hashed here, on this keg's worker, like its signature checks: the runtime has one
        // worker per core, so the CPU work of all kegs spreads over every core and no more.
        // On the blocking pool, as before, up to `--jobs` hashing threads competed with the
        // workers for the same cores: 1,000 kegs took 1.13 s against 1.02 s this way (median
        // of 9 interleaved runs, `--jobs 8`, 2 cores). The file is local and usually in the
        // page cache (brew poured it); while a worker hashes (about 1 ms per MiB here), the
        // other kegs' requests in an online run wait for the other worker, far inside their
        // deadlines.
        return match sha256_file(&path) {
            Ok(digest) => {
                let bottle = BottleRef { digest, filename };
                Plan::Check {
                    url: bottle_url(root, &bottle),
                    bottle,
                    from: path.display().to_string(),
                    formula_data: None,
                }
            }
            Err(e) => Plan::Fail(e.into()),
        };
    }
    let (index, formula_data) = match &ctx.resolver.formulae {
        FormulaSource::File(index) => (index.clone(), FormulaData::UserFile),
        FormulaSource::Api(api) => match api
            .formula(&keg.name, Some(Deadline::after(ctx.resolver.timeout)))
            .await
        {
            Ok(signed) => (signed.index.clone(), signed.data()),
            Err(e) => return Plan::Fail(e.into()),
        },
        FormulaSource::None => return Plan::Fail(PlanError::NothingToAsk),
    };
    let Some(formula) = index.get(&keg.name) else {
        return Plan::Fail(PlanError::UnknownFormula(keg.name.clone()));
    };
    let current = formula.pkg_version().unwrap_or_default();
    if current != keg.version {
        return Plan::Fail(PlanError::VersionMoved {
            name: keg.name.clone(),
            installed: keg.version.clone(),
            current,
        });
    }
    let tag = ctx.tags.first().map(String::as_str).unwrap_or_default();
    match formula.bottle_for(tag) {
        Ok(resolved) => Plan::Check {
            url: bottle_url(ctx.checker.bottle_root(&resolved), &resolved.bottle),
            bottle: resolved.bottle,
            from: "the formula API".into(),
            formula_data: Some(formula_data),
        },
        Err(e) => Plan::Fail(e.into()),
    }
}

async fn installed(args: &ProvenanceArgs) -> anyhow::Result<Status> {
    let ctx = Arc::new(Context::new(&args.lookup, None, usize::from(args.jobs), args.quiet).await?);
    let cellar = cellar(&ctx.env);
    if !cellar.is_dir() {
        // Nothing checked is not "all verified": say there is no Homebrew here, exit 4.
        eprintln_safe(&format!(
            "Error: no Homebrew installation found (no Cellar at {}); set HOMEBREW_PREFIX or \
             HOMEBREW_CELLAR if Homebrew lives elsewhere",
            cellar.display()
        ));
        return Ok(Status::CouldNotCheck);
    }
    let kegs = kegs(&cellar)?;
    let downloads = Arc::new(download_index(ctx.downloads.as_deref()));
    let say = |text: &str| {
        if !args.quiet {
            eprintln_safe(text);
        }
    };
    if kegs.is_empty() {
        say(&format!("No installed formulae in {}.", cellar.display()));
        return Ok(Status::Ok);
    }
    let custom_policy = args.lookup.policy.is_some();
    let progress = Arc::new(Progress::new(kegs.len() as u64, !args.json && !args.quiet));
    let mut results = each_in_parallel(kegs, usize::from(args.jobs), |keg| {
        let (ctx, downloads, progress) = (
            Arc::clone(&ctx),
            Arc::clone(&downloads),
            Arc::clone(&progress),
        );
        async move {
            let label = format!("{} {}", keg.name, keg.version);
            let planned = plan(&ctx, &keg, &downloads, custom_policy).await;
            let result = match planned {
                Plan::Skip(why) => (label.clone(), Err(why), None),
                Plan::Fail(error) => (
                    label.clone(),
                    Ok(BottleReport {
                        input: label.clone(),
                        bottle: None,
                        outcome: Outcome::Error(Arc::new(error)),
                        ignored: Vec::new(),
                        formula_data: None,
                    }),
                    None,
                ),
                Plan::Check {
                    bottle,
                    url,
                    from,
                    formula_data,
                } => {
                    let debug = format!(
                        "{label}: {} (sha256:{}) from {from}",
                        bottle.filename,
                        bottle.digest.to_hex()
                    );
                    let target = Target {
                        input: label.clone(),
                        bottle,
                        url,
                        resolved: None,
                        formula_data,
                    };
                    let report = ctx.checker.check(&target, false).await;
                    (label.clone(), Ok(report), Some(debug))
                }
            };
            progress.advance(&label);
            result
        }
    });

    let explain = if args.explain || args.verbose {
        Explain::On(Box::new(super::context::explain_setting(
            &args.lookup,
            &[],
            ctx.checker.policy(),
            &ctx.roots,
        )))
    } else {
        Explain::Off
    };
    let mut reporter = Reporter::new(args.json, explain, ctx.roots.clone());
    let mut status = Status::Ok;
    let mut skipped = 0usize;
    while let Some((label, report, debug)) = results.next().await {
        if args.debug {
            if let Some(d) = &debug {
                progress.suspend(|| eprintln_safe(&format!("debug: {d}")));
            }
        }
        match report {
            Err(why) => {
                skipped += 1;
                if args.verbose || args.debug {
                    progress.suspend(|| eprintln_safe(&format!("skipped {label}: {why}")));
                }
            }
            Ok(report) => {
                status = status.worst(crate::report::status(&report));
                if args.quiet && crate::report::status(&report) == Status::Ok {
                    continue;
                }
                progress.suspend(|| reporter.bottle(&report))?;
            }
        }
    }
    progress.finish();
    if !args.quiet {
        reporter.finish()?;
        if skipped > 0 && !args.json {
            say(&format!(
                "{skipped} keg{} skipped (built from source or from another tap{})",
                if skipped == 1 { "" } else { "s" },
                if args.verbose {
                    ""
                } else {
                    "; --verbose says which"
                }
            ));
        }
    }
    Ok(status)
}

fn eprintln_safe(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}
