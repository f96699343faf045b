//! `brew-backfill plan`: every bottle of the formula JSON that needs a backfill attestation.
//!
//! Bottles are enumerated by formula name, then tag (both sorted), so the plan's order is a
//! function of the formula JSON alone. For each bottle of this shard: optionally confirm the
//! digest against the registry (`--check-ghcr`), then ask the attestations API whether the
//! upstream repository has any attestation for it (any at all: under the waterfall a backfill
//! is never consulted then, so it would be useless), and with `--repo`, whether the tap
//! already holds a backfill attestation that passes the policy.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context as _;
use bottle_attest::Policy;
use bottle_attest::bottle::is_github_packages;
use bottle_attest::digest::sha256_bytes;
use bottle_attest::formula::{FormulaIndex, ResolvedBottle};
use bottle_attest::policy::Verdict;
use bottle_attest_net::checker::{BottleChecker, BottleSteps, CheckerConfig, Registry, Target};
use bottle_attest_net::env::Env;
use bottle_attest_net::github::GitHubClient;
use bottle_attest_net::http::{Request, body};
use bottle_attest_net::sources::{AttestationSources, Remote};
use chrono::Utc;
use futures_util::StreamExt as _;

use crate::cli::{PlanArgs, PlanCmdArgs};
use crate::exit::Status;
use crate::planfile::{PlanCounts, PlanEntry, PlanHeader};
use crate::progress::{Progress, Ui};

/// One candidate bottle before lookups.
struct Candidate {
    resolved: ResolvedBottle,
    entry: PlanEntry,
}

/// What the lookups said about one bottle.
#[derive(Debug, Clone)]
enum Class {
    Needed,
    Upstream,
    Backfilled,
    Failed(String),
}

/// A classification that holds for a rerun (a failure is asked again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Settled {
    Needed,
    Upstream,
    Backfilled,
}

impl Class {
    fn settled(&self) -> Option<Settled> {
        match self {
            Self::Needed => Some(Settled::Needed),
            Self::Upstream => Some(Settled::Upstream),
            Self::Backfilled => Some(Settled::Backfilled),
            Self::Failed(_) => None,
        }
    }
}

impl From<Settled> for Class {
    fn from(s: Settled) -> Self {
        match s {
            Settled::Needed => Self::Needed,
            Settled::Upstream => Self::Upstream,
            Settled::Backfilled => Self::Backfilled,
        }
    }
}

/// What a partial plan must share with this run to be reused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PartialKey {
    formulae_sha256: String,
    mode: crate::tap::Mode,
    repository: String,
    shard: Option<String>,
}

/// One settled bottle of a partial plan.
#[derive(serde::Serialize, serde::Deserialize)]
struct PartialLine {
    subject: String,
    class: Settled,
}

/// `<out>.partial.jsonl`: the key, then one line per settled bottle, appended as they come.
struct Partial {
    file: std::sync::Mutex<std::fs::File>,
    settled: std::collections::HashMap<String, Class>,
}

impl Partial {
    fn path(out: &std::path::Path) -> std::path::PathBuf {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(".partial.jsonl");
        out.with_file_name(name)
    }

    /// Open (or start) the partial plan of `out`; one made for other input is started over.
    fn open(out: &std::path::Path, key: PartialKey) -> anyhow::Result<Self> {
        use std::io::Write as _;
        let path = Self::path(out);
        let mut settled = std::collections::HashMap::new();
        let reusable = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut lines = text.lines();
                let same = lines
                    .next()
                    .and_then(|l| serde_json::from_str::<PartialKey>(l).ok())
                    .is_some_and(|k| k == key);
                if same {
                    // A torn last line (a kill mid-write) is simply not reused.
                    for line in lines {
                        if let Ok(l) = serde_json::from_str::<PartialLine>(line) {
                            settled.insert(l.subject, Class::from(l.class));
                        }
                    }
                }
                same
            }
            Err(_) => false,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(reusable)
            .write(true)
            .truncate(!reusable)
            .open(&path)
            .with_context(|| format!("cannot open `{}`", path.display()))?;
        if !reusable {
            writeln!(file, "{}", serde_json::to_string(&key)?)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        Ok(Self {
            file: std::sync::Mutex::new(file),
            settled,
        })
    }

    fn record(&self, subject: &str, class: Settled) -> anyhow::Result<()> {
        use std::io::Write as _;
        let line = serde_json::to_string(&PartialLine {
            subject: subject.to_owned(),
            class,
        })?;
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("partial plan lock poisoned"))?;
        writeln!(file, "{line}").context("cannot append to the partial plan")?;
        Ok(())
    }
}

/// A finished plan.
pub(crate) struct Planned {
    pub(crate) header: PlanHeader,
    pub(crate) entries: Vec<PlanEntry>,
    pub(crate) status: Status,
    /// GitHub API requests made (first attempts; bulk-list requests included).
    pub(crate) requests: u64,
}

/// `plan` as a command: plan, then write or print.
pub(crate) fn run(cmd: &PlanCmdArgs, ui: Ui) -> anyhow::Result<Status> {
    let mut args = cmd.plan.clone();
    if let Some(out) = &cmd.legacy_out {
        crate::error_line(
            "warning: `plan --out PLAN` is now `plan --plan PLAN` (`--out` names an output \
             directory in every command; a plan file is `--plan`, as sign and audit read it)",
        );
        args.plan_file = Some(out.clone());
    }
    let args = &args;
    if args.plan_file.is_none() && !args.dry_run {
        return Err(
            crate::exit::UsageError("`plan` needs --plan PLAN (or --dry-run)".into()).into(),
        );
    }
    let runtime = crate::runtime()?;
    let planned = runtime.block_on(make(args, ui))?;
    emit(args, ui, &planned)?;
    Ok(planned.status)
}

/// Write the plan (or, with `--dry-run`, print it) and its counts.
pub(crate) fn emit(args: &PlanArgs, ui: Ui, planned: &Planned) -> anyhow::Result<()> {
    let text = crate::planfile::render(&planned.header, &planned.entries)?;
    if args.dry_run {
        crate::stdout(&text)?;
    } else if let Some(out) = &args.plan_file {
        crate::fsutil::write_atomic(out, text.as_bytes())?;
        // The plan is whole: its partial record is no longer needed.
        let _ = std::fs::remove_file(Partial::path(out));
    }
    let c = &planned.header.counts;
    ui.note(&format!(
        "plan: {} bottles{}, {} in this shard: {} have an upstream attestation, {} are \
         already backfilled, {} need a backfill{}{}; {} API requests",
        c.bottles,
        if planned.header.tags.is_empty() {
            String::new()
        } else {
            format!(" for {}", planned.header.tags.join(", "))
        },
        c.in_shard,
        c.upstream,
        c.backfilled,
        c.needed,
        if c.failed > 0 {
            format!(", {} could not be checked", c.failed)
        } else {
            String::new()
        },
        match (&args.plan_file, args.dry_run) {
            (_, true) => " (dry run: nothing written)".to_owned(),
            (Some(out), false) => format!(" → {}", out.display()),
            (None, false) => String::new(),
        },
        planned.requests
    ));
    Ok(())
}

/// Make the plan.
pub(crate) async fn make(args: &PlanArgs, ui: Ui) -> anyhow::Result<Planned> {
    let repo = crate::plan::repository(args)?;
    let (bytes, label) = read_formulae(&args.formulae).await?;
    let index = FormulaIndex::from_json(
        std::str::from_utf8(&bytes).with_context(|| format!("`{label}` is not UTF-8"))?,
    )
    .with_context(|| format!("`{label}` is not formula JSON"))?;
    let tags: BTreeSet<&str> = args.tags.iter().map(String::as_str).collect();

    let mut candidates = Vec::new();
    let mut seen = BTreeSet::new();
    let mut malformed = Vec::new();
    for formula in index.iter() {
        for tag in formula.tags() {
            if !tags.is_empty() && !tags.contains(tag) {
                continue;
            }
            match formula.bottle_for(tag) {
                Ok(resolved) => {
                    let subject = args
                        .mode
                        .subject(&resolved.bottle, &args.policy.bottle_root);
                    if !seen.insert(subject.clone()) {
                        continue;
                    }
                    let file = &resolved.bottle.filename;
                    let entry = PlanEntry {
                        kind: "bottle".into(),
                        formula: file.name().to_owned(),
                        version: file.version().to_owned(),
                        rebuild: file.rebuild(),
                        tag: file.tag().to_owned(),
                        file_name: file.to_string(),
                        url: resolved.url.clone(),
                        sha256: resolved.bottle.digest.to_hex(),
                        subject,
                    };
                    candidates.push(Candidate { resolved, entry });
                }
                Err(e) => malformed.push(e.to_string()),
            }
        }
    }
    let total = candidates.len() as u64 + malformed.len() as u64;
    let candidates: Vec<Candidate> = match args.shard {
        Some(shard) => candidates
            .into_iter()
            .filter(|c| shard.contains(&c.entry.subject))
            .collect(),
        None => candidates,
    };
    for m in &malformed {
        crate::error_line(&format!("error: {m}"));
    }

    // Resumable: every settled classification is appended to `<out>.partial.jsonl` as it
    // comes, and a rerun over the same input asks only for the rest.
    let formulae_sha256 = sha256_bytes(&bytes).to_hex();
    let partial = match (&args.plan_file, args.dry_run) {
        (Some(out), false) => Some(Partial::open(
            out,
            PartialKey {
                formulae_sha256: formulae_sha256.clone(),
                mode: args.mode,
                repository: repo.clone().unwrap_or_default(),
                shard: args.shard.map(|s| s.to_string()),
            },
        )?),
        _ => None,
    };
    let mut classes: Vec<Option<Class>> = candidates
        .iter()
        .map(|c| {
            partial
                .as_ref()
                .and_then(|p| p.settled.get(&c.entry.subject).cloned())
        })
        .collect();
    let resumed = classes.iter().filter(|c| c.is_some()).count();
    if resumed > 0 {
        ui.note(&format!(
            "plan: {resumed} bottles classified by an interrupted run are not asked again"
        ));
    }
    let mut checker = Checker::new(args, repo.as_deref())?;
    let unasked: Vec<sigstore_types::Sha256Hash> = candidates
        .iter()
        .zip(&classes)
        .filter(|(_, class)| class.is_none())
        .map(|(c, _)| c.resolved.bottle.digest)
        .collect();
    if !unasked.is_empty() {
        match crate::bulk::prefetch(&checker.github, checker.coverage(), &unasked).await {
            Ok(piles) => checker.piles = Some(piles),
            Err(why) => ui.note(&format!(
                "plan: {why}; looking bottles up one by one (up to {} per request otherwise)",
                crate::bulk::PER_REQUEST
            )),
        }
    }
    let progress = Progress::new(ui, "plan", "bottles", candidates.len() as u64);
    progress.advance(resumed as u64, "resumed");
    let (checker, progress) = (&checker, &progress);
    let todo: Vec<(usize, &Candidate)> = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| classes[*i].is_none())
        .collect();
    // Out of order: one slow lookup does not hold back the others.
    let mut stream = futures_util::stream::iter(todo)
        .map(|(i, c)| async move {
            let class = checker.classify(&c.resolved).await;
            let stats = checker.github.stats();
            progress.advance(
                1,
                &format!(
                    "{} API requests, {} rate-limit waits",
                    stats.api_requests + stats.bulk_requests,
                    stats.rate_limit_waits
                ),
            );
            (i, class)
        })
        .buffer_unordered(args.jobs.max(1));
    while let Some((i, class)) = stream.next().await {
        if let (Some(p), Some(settled)) = (&partial, class.settled()) {
            p.record(&candidates[i].entry.subject, settled)?;
            crate::checkpoint("classified");
        }
        classes[i] = Some(class);
    }
    drop(stream);
    progress.finish();
    let classes: Vec<(Candidate, Class)> = candidates
        .into_iter()
        .zip(classes)
        .map(|(c, class)| (c, class.unwrap_or(Class::Failed("not classified".into()))))
        .collect();

    let mut counts = PlanCounts {
        bottles: total,
        in_shard: classes.len() as u64,
        failed: malformed.len() as u64,
        ..PlanCounts::default()
    };
    let mut entries = Vec::new();
    for (c, class) in classes {
        match class {
            Class::Needed => {
                counts.needed += 1;
                entries.push(c.entry);
            }
            Class::Upstream => counts.upstream += 1,
            Class::Backfilled => counts.backfilled += 1,
            Class::Failed(why) => {
                counts.failed += 1;
                crate::error_line(&format!("error: {}: {why}", c.entry.file_name));
            }
        }
    }
    let header = PlanHeader {
        kind: "plan".into(),
        version: 1,
        formulae: label,
        formulae_sha256,
        mode: args.mode,
        core_repository: args.core_repo.clone(),
        repository: repo.clone(),
        checked_registry: args.check_ghcr,
        bottle_root: args.policy.bottle_root.clone(),
        shard: args.shard.map(|s| s.to_string()),
        tags: args.tags.clone(),
        created_at: Utc::now(),
        counts,
    };
    let status = if counts.failed > 0 {
        Status::CouldNotCheck
    } else {
        Status::Ok
    };
    let stats = checker.github.stats();
    Ok(Planned {
        header,
        entries,
        status,
        requests: stats.api_requests + stats.bulk_requests,
    })
}

/// The repository the backfill goes to: `--repo`, else GITHUB_REPOSITORY (the tap's own, in
/// Actions). Core-style plans without one only skip what upstream and the existing backfill
/// sources cover (`None`, see [`crate::tap::coverage`]); tap mode cannot do without the tap.
pub(crate) fn repository(args: &PlanArgs) -> anyhow::Result<Option<String>> {
    let repo = args.repo.clone().or_else(|| {
        std::env::var("GITHUB_REPOSITORY")
            .ok()
            .filter(|r| !r.is_empty())
    });
    match (repo, args.mode) {
        (Some(repo), _) => Ok(Some(repo)),
        (None, crate::tap::Mode::CoreStyle) => Ok(None),
        (None, crate::tap::Mode::Tap) => Err(crate::exit::UsageError(
            "which tap signs the backfill? pass --repo OWNER/REPO (or --mode core-style to see \
             what homebrew-core's own sources leave uncovered)"
                .into(),
        )
        .into()),
    }
}

/// The formula JSON's bytes and how to name it.
async fn read_formulae(source: &str) -> anyhow::Result<(Vec<u8>, String)> {
    if source.starts_with("https://") || source.starts_with("http://") {
        // Through the shared HTTP layer: its retry policy, and a cap (the whole homebrew-core
        // formula.json is ~30 MB; a hostile source cannot make us buffer more than the cap).
        let url = Request::parse_url(source)?;
        let response = crate::net::http()?
            .send(
                Request::get(url, body::FORMULA_INDEX)
                    .attempt_timeout(std::time::Duration::from_secs(300))
                    .purpose("formulae"),
            )
            .await?;
        if !response.is_success() {
            return Err(response.error().into());
        }
        Ok((response.body.to_vec(), source.to_owned()))
    } else {
        let bytes = std::fs::read(source).with_context(|| format!("cannot read `{source}`"))?;
        Ok((bytes, source.to_owned()))
    }
}

/// The lookups behind the classification: the one checker ([`BottleChecker`]), configured with
/// the coverage policy ([`crate::tap::coverage`]) as its judge and, with `--check-ghcr`, the
/// registry step; handed the bulk endpoint's answers when there are any.
struct Checker {
    github: GitHubClient,
    /// Bulk answers for this run's digests, when the bulk endpoint is available.
    piles: Option<crate::bulk::Piles>,
    checker: BottleChecker<Policy>,
    /// `--check-ghcr`: every bottle's digest must be confirmed by its registry.
    check_registry: bool,
}

impl Checker {
    fn new(args: &PlanArgs, repo: Option<&str>) -> anyhow::Result<Self> {
        let env = Env::from_process();
        let http = crate::net::http()?;
        let github = crate::net::github(&http, &env, &args.api.api_url)?;
        let coverage =
            crate::tap::coverage(&args.policy, args.mode, repo, Some(args.core_repo.as_str()))?;
        let registry = if args.check_ghcr {
            Some(Registry {
                http,
                // Bound to ghcr.io and the hosts named in HOMEBREW_BREW_VERIFY_REGISTRY_HOSTS:
                // never to a root_url a formula names.
                credential: env.registry_credential(&[])?,
            })
        } else {
            None
        };
        let checker = BottleChecker::new(CheckerConfig {
            judge: coverage,
            trust: Arc::new(crate::tap::trust_root(&args.policy)?),
            sources: AttestationSources::new(
                Remote::Api {
                    client: Box::new(github.clone()),
                    mirror: None,
                },
                None,
                None,
            ),
            pile: None,
            // A bulk run waits out the API's rate limits: no overall deadline per bottle.
            timeout: None,
            steps: BottleSteps {
                registry,
                ..BottleSteps::default()
            },
        });
        Ok(Self {
            github,
            piles: None,
            checker,
            check_registry: args.check_ghcr,
        })
    }

    /// The coverage policy.
    fn coverage(&self) -> &Policy {
        self.checker.policy()
    }

    async fn classify(&self, resolved: &ResolvedBottle) -> Class {
        match self.try_classify(resolved).await {
            Ok(class) => class,
            Err(e) => Class::Failed(format!("{e:#}")),
        }
    }

    async fn try_classify(&self, resolved: &ResolvedBottle) -> anyhow::Result<Class> {
        // The checker confirms digests with GitHub Packages registries only; with
        // `--check-ghcr`, a bottle served from anywhere else cannot be confirmed, and is not
        // planned on the formula's word alone.
        if self.check_registry && !is_github_packages(&resolved.root_url) {
            anyhow::bail!(
                "the registry does not confirm the formula's digest: {} is not a GitHub \
                 Packages registry",
                resolved.root_url
            );
        }
        let target = Target {
            input: resolved.bottle.filename.to_string(),
            bottle: resolved.bottle.clone(),
            url: resolved.url.clone(),
            resolved: Some(resolved.clone()),
            formula_data: None,
        };
        // brew-verify's own waterfall over every source that could cover the bottle: from the
        // bulk answers (filed under sources by certificate), else looked up per source.
        let pile = self
            .piles
            .as_ref()
            .and_then(|p| p.get(&resolved.bottle.digest));
        let report = self
            .checker
            .check_prefetched(&target, false, pile.map(Vec::as_slice))
            .await;
        let verdict = report.outcome.into_verdict().map_err(|e| {
            anyhow::anyhow!(
                "the registry does not confirm the formula's digest: {}",
                bottle_attest_net::with_causes(&*e)
            )
        })?;
        let first = self.coverage().sources.first().map(|s| s.name.as_str());
        Ok(match verdict {
            Verdict::Verified(pass) if pass.source_index == 0 => Class::Upstream,
            Verdict::Verified(_) => Class::Backfilled,
            // An invalid attestation in the first source stops the waterfall: a backfill would
            // never be consulted, so signing one is useless (and the bottle needs a look).
            Verdict::Invalid { source, .. } if Some(source.as_str()) == first => Class::Upstream,
            Verdict::Invalid { .. } | Verdict::Missing { .. } => Class::Needed,
            Verdict::Unavailable { source, error } => {
                Class::Failed(format!("could not look up {source}: {error}"))
            }
        })
    }
}
