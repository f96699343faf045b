//! `brew-backfill audit`: look every planned bottle up exactly as `brew-verify` does — the one
//! checker ([`BottleChecker`]) over the attestations API, the whole waterfall, under the policy
//! with the tap as backfill source (and, where brew reads the tap, under brew's rules too) —
//! and report every bottle that is not verified.

use std::collections::BTreeSet;
use std::sync::Arc;

use bottle_attest::Policy;
use bottle_attest::policy::LookupError;
use bottle_attest::policy::Verdict;
use bottle_attest_net::checker::{BottleChecker, BottleSteps, CheckerConfig, Report, Target};
use bottle_attest_net::env::Env;
use bottle_attest_net::sources::{AttestationSources, Remote};
use chrono::Utc;
use futures_util::StreamExt as _;
use serde_json::json;

use crate::cli::{ApiArgs, AuditArgs, PolicyArgs};
use crate::exit::Status;
use crate::planfile::{Plan, PlanEntry};
use crate::progress::{Progress, Ui};

/// What `audit` is asked to do.
pub(crate) struct AuditJob<'a> {
    pub(crate) plans: &'a [Plan],
    pub(crate) repo: &'a str,
    pub(crate) core_repo: Option<&'a str>,
    pub(crate) policy: &'a PolicyArgs,
    pub(crate) api: &'a ApiArgs,
    pub(crate) jobs: usize,
    pub(crate) json: bool,
}

/// `audit` as a command.
pub(crate) fn run(args: &AuditArgs, ui: Ui) -> anyhow::Result<Status> {
    let plans = args
        .plans
        .iter()
        .map(|p| crate::planfile::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    crate::runtime()?.block_on(audit(
        AuditJob {
            plans: &plans,
            repo: &args.repo,
            core_repo: args.core_repo.as_deref(),
            policy: &args.policy,
            api: &args.api,
            jobs: args.jobs,
            json: args.json,
        },
        ui,
    ))
}

/// Audit the plans' bottles.
pub(crate) async fn audit(job: AuditJob<'_>, ui: Ui) -> anyhow::Result<Status> {
    let core_repo = job
        .core_repo
        .or_else(|| job.plans.first().map(|p| p.header.core_repository.as_str()));
    // Without a cutoff of its own, the audit accepts what was logged before it started.
    let mode = job.plans.first().map(|p| p.header.mode).unwrap_or_default();
    if job.plans.iter().any(|p| p.header.mode != mode) {
        return Err(crate::exit::UsageError(
            "the plans mix tap-mode and core-style subjects; audit them separately".into(),
        )
        .into());
    }
    let policy = crate::tap::policy(job.policy, mode, job.repo, core_repo, Some(Utc::now()))?;
    let trust = Arc::new(crate::tap::trust_root(job.policy)?);
    let http = crate::net::http()?;
    let client = crate::net::github(&http, &Env::from_process(), &job.api.api_url)?;
    // The one checker, configured with a judge: the audit's policy, and brew's rules where brew
    // reads this repository. No registry step (a plan's digests were confirmed when planned)
    // and no overall deadline (a bulk run waits out the API's rate limits).
    let checker = |judge: Policy| {
        BottleChecker::new(CheckerConfig {
            judge,
            trust: Arc::clone(&trust),
            sources: AttestationSources::new(
                Remote::Api {
                    client: Box::new(client.clone()),
                    mirror: None,
                },
                None,
                None,
            ),
            pile: None,
            timeout: None,
            steps: BottleSteps::default(),
        })
    };
    let mut seen = BTreeSet::new();
    let entries: Vec<&PlanEntry> = job
        .plans
        .iter()
        .flat_map(|p| p.entries.iter())
        .filter(|e| seen.insert(e.subject.clone()))
        .collect();

    // What brew itself concludes, where brew reads this repository at all (tap mode).
    let brew = crate::tap::brew_rules(mode, job.repo).map(checker);
    let ours = checker(policy);
    // Many digests per request where the bulk endpoint exists; else one lookup per source.
    let digests: Vec<sigstore_types::Sha256Hash> = entries
        .iter()
        .filter_map(|e| e.bottle().ok().map(|b| b.digest))
        .collect();
    let piles = match crate::bulk::prefetch(&client, ours.policy(), &digests).await {
        Ok(piles) => Some(piles),
        Err(why) => {
            ui.note(&format!("audit: {why}; looking bottles up one by one"));
            None
        }
    };
    let progress = Progress::new(ui, "audit", "bottles", entries.len() as u64);
    let (ours, progress, client, brew, piles) = (&ours, &progress, &client, &brew, &piles);
    let mut results = futures_util::stream::iter(entries)
        .map(|entry| async move {
            let (verdict, brew_verdict) = match entry.bottle() {
                Ok(bottle) => {
                    let pile = piles
                        .as_ref()
                        .and_then(|p| p.get(&bottle.digest))
                        .map(Vec::as_slice);
                    let target = Target {
                        input: entry.subject.clone(),
                        bottle,
                        url: entry.url.clone(),
                        resolved: None,
                        formula_data: None,
                    };
                    let ours = verdict_of(ours.check_prefetched(&target, false, pile).await);
                    let brews = match brew {
                        Some(brew) => Some(verdict_of(
                            brew.check_prefetched(&target, false, pile).await,
                        )),
                        None => None,
                    };
                    (ours, brews)
                }
                Err(e) => {
                    let unavailable = Verdict::Unavailable {
                        source: "plan".into(),
                        error: LookupError::message(format!("{e:#}")),
                    };
                    (unavailable.clone(), brew.as_ref().map(|_| unavailable))
                }
            };
            let stats = client.stats();
            progress.advance(
                1,
                &format!(
                    "{} API requests, {} rate-limit waits",
                    stats.api_requests + stats.bulk_requests,
                    stats.rate_limit_waits
                ),
            );
            (entry, verdict, brew_verdict)
        })
        .buffered(job.jobs.max(1));

    let (mut backfill, mut upstream, mut missing, mut invalid, mut unavailable) = (0, 0, 0, 0, 0);
    let mut status = Status::Ok;
    let mut out = String::new();
    let (mut brew_ok, mut brew_not) = (0u64, 0u64);
    while let Some((entry, verdict, brew_verdict)) = results.next().await {
        match &brew_verdict {
            Some(Verdict::Verified(_)) => brew_ok += 1,
            Some(other) => {
                brew_not += 1;
                status = status.worst(Status::Failed);
                let detail = format!("brew would refuse it: {}", describe(other));
                out.push_str(&line(job.json, "brew-refuses", entry, &detail));
            }
            None => {}
        }
        let (kind, detail) = match &verdict {
            Verdict::Verified(pass) => {
                if pass.source_index == 0 {
                    upstream += 1;
                } else {
                    backfill += 1;
                }
                continue;
            }
            Verdict::Missing { sources } => {
                missing += 1;
                status = status.worst(Status::Missing);
                (
                    "missing",
                    format!("no attestation in {}", sources.join(" or ")),
                )
            }
            Verdict::Invalid {
                source, failures, ..
            } => {
                invalid += 1;
                status = status.worst(Status::Failed);
                let reasons: Vec<String> = failures.iter().map(|f| f.reason.to_string()).collect();
                ("invalid", format!("{source}: {}", reasons.join("; ")))
            }
            Verdict::Unavailable { source, error } => {
                unavailable += 1;
                status = status.worst(Status::CouldNotCheck);
                ("unavailable", format!("{source}: {error}"))
            }
        };
        out.push_str(&line(job.json, kind, entry, &detail));
    }
    progress.finish();
    crate::stdout(&out)?;
    let stats = client.stats();
    ui.note(&format!(
        "audit: {} bottles: {} verified by the backfill in {}, {} verified upstream, {missing} \
         missing, {invalid} invalid, {unavailable} could not be checked; {}; {} API requests",
        backfill + upstream + missing + invalid + unavailable,
        backfill,
        job.repo,
        upstream,
        match brew {
            Some(_) => format!(
                "brew (gh attestation verify --repo {}, file-name subject): {brew_ok} verified, \
                 {brew_not} not",
                job.repo
            ),
            None => format!("brew does not read {} (core-style)", job.repo),
        },
        stats.api_requests + stats.bulk_requests
    ));
    Ok(status)
}

/// One verdict in a line.
fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Verified(_) => "verified".into(),
        Verdict::Missing { sources } => format!("no attestation in {}", sources.join(" or ")),
        Verdict::Invalid {
            source, failures, ..
        } => {
            let reasons: Vec<String> = failures.iter().map(|f| f.reason.to_string()).collect();
            format!("{source}: {}", reasons.join("; "))
        }
        Verdict::Unavailable { source, error } => format!("{source}: {error}"),
    }
}

/// One reported bottle, as JSON or a tab-separated line.
fn line(json: bool, kind: &str, entry: &PlanEntry, detail: &str) -> String {
    if json {
        format!(
            "{}\n",
            json!({
                "status": kind,
                "file_name": entry.file_name,
                "sha256": entry.sha256,
                "subject": entry.subject,
                "detail": detail,
            })
        )
    } else {
        format!(
            "{kind}\t{}\tsha256:{}\t{detail}\n",
            entry.file_name, entry.sha256
        )
    }
}

/// The verdict of a checker's report. Without a registry step a check always comes to one;
/// anything else is reported as the lookup it stood for being unavailable.
fn verdict_of(report: Report) -> Verdict {
    report
        .outcome
        .into_verdict()
        .unwrap_or_else(|e| Verdict::Unavailable {
            source: "registry".into(),
            error: LookupError::message(bottle_attest_net::with_causes(&*e)),
        })
}
