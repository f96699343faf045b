//! `brew-backfill audit`: look every planned bottle up exactly as `brew-verify` does — the
//! attestations API through [`AttestationSources`], the whole waterfall, under the policy with
//! the tap as backfill source — and report every bottle that is not verified.

use std::collections::BTreeSet;

use bottle_attest::policy::LookupError;
use bottle_attest::policy::Verdict;
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
    let policy = crate::tap::policy(job.policy, job.repo, core_repo, Some(Utc::now()))?;
    let trust = crate::tap::trust_root(job.policy)?;
    let http = crate::net::http()?;
    let client = crate::net::github(&http, &Env::from_process(), &job.api.api_url)?;
    let sources = AttestationSources::new(
        Remote::Api {
            client: Box::new(client.clone()),
            mirror: None,
        },
        None,
        None,
    );
    let mut seen = BTreeSet::new();
    let entries: Vec<&PlanEntry> = job
        .plans
        .iter()
        .flat_map(|p| p.entries.iter())
        .filter(|e| seen.insert(e.subject.clone()))
        .collect();

    let progress = Progress::new(ui, "audit", "bottles", entries.len() as u64);
    let (policy, trust, sources, progress, client) =
        (&policy, &trust, &sources, &progress, &client);
    let mut results = futures_util::stream::iter(entries)
        .map(|entry| async move {
            let verdict = match entry.bottle() {
                Ok(bottle) => {
                    sources
                        .check(policy, trust, &bottle, &entry.url, None)
                        .await
                        .verdict
                }
                Err(e) => Verdict::Unavailable {
                    source: "plan".into(),
                    error: LookupError::message(format!("{e:#}")),
                },
            };
            let stats = client.stats();
            progress.advance(
                1,
                &format!(
                    "{} API requests, {} rate-limit waits",
                    stats.api_requests, stats.rate_limit_waits
                ),
            );
            (entry, verdict)
        })
        .buffered(job.jobs.max(1));

    let (mut backfill, mut upstream, mut missing, mut invalid, mut unavailable) = (0, 0, 0, 0, 0);
    let mut status = Status::Ok;
    let mut out = String::new();
    while let Some((entry, verdict)) = results.next().await {
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
            Verdict::Invalid { source, failures } => {
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
        if job.json {
            out.push_str(&format!(
                "{}\n",
                json!({
                    "status": kind,
                    "file_name": entry.file_name,
                    "sha256": entry.sha256,
                    "subject": entry.subject,
                    "detail": detail,
                })
            ));
        } else {
            out.push_str(&format!(
                "{kind}\t{}\tsha256:{}\t{detail}\n",
                entry.file_name, entry.sha256
            ));
        }
    }
    progress.finish();
    crate::stdout(&out)?;
    let stats = client.stats();
    ui.note(&format!(
        "audit: {} bottles: {} verified by the backfill in {}, {} verified upstream, {missing} \
         missing, {invalid} invalid, {unavailable} could not be checked; {} API requests",
        backfill + upstream + missing + invalid + unavailable,
        backfill,
        job.repo,
        upstream,
        stats.api_requests
    ));
    Ok(status)
}
