//! `brew-backfill run`: plan → sign → upload → audit for one shard, the single-command entry
//! point (a small tap's whole workflow, or one machine).

use std::time::Duration;

use crate::audit::AuditJob;
use crate::cli::RunArgs;
use crate::exit::{Status, UsageError};
use crate::planfile::Plan;
use crate::progress::Ui;
use crate::sign::SignJob;

/// Rate-limit waits sat out by the upload step.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);

pub(crate) fn run(args: &RunArgs, ui: Ui) -> anyhow::Result<Status> {
    let repo = args
        .plan
        .repo
        .clone()
        .or_else(|| {
            std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .ok_or_else(|| UsageError("`run` needs the tap: pass --repo OWNER/REPO".into()))?;
    let mut plan_args = crate::cli::PlanArgs {
        repo: Some(repo.clone()),
        ..args.plan.clone()
    };
    if plan_args.plan_file.is_none() && !plan_args.dry_run {
        plan_args.plan_file = Some(args.out.join("plan.jsonl"));
    }
    crate::runtime()?.block_on(async {
        let planned = crate::plan::make(&plan_args, ui).await?;
        crate::plan::emit(&plan_args, ui, &planned)?;
        let mut status = planned.status;
        let plan = Plan {
            header: planned.header,
            entries: planned.entries,
        };
        let signed = crate::sign::sign(
            SignJob {
                plan: &plan,
                shard: None,
                journal: &args.journal,
                out: &args.out,
                batch: &args.batch,
                signing: &args.signing,
                policy: &plan_args.policy,
                repo: Some(&repo),
                dry_run: plan_args.dry_run,
            },
            ui,
        )
        .await?;
        status = status.worst(signed);
        let uploaded = crate::upload::upload(
            &args.journal,
            &repo,
            &plan_args.api,
            plan_args.dry_run,
            MAX_RATE_LIMIT_WAIT,
            ui,
        )
        .await?;
        status = status.worst(uploaded);
        if !args.no_audit && !plan_args.dry_run {
            let audited = crate::audit::audit(
                AuditJob {
                    plans: std::slice::from_ref(&plan),
                    repo: &repo,
                    core_repo: Some(&plan_args.core_repo),
                    policy: &plan_args.policy,
                    api: &plan_args.api,
                    jobs: plan_args.jobs,
                    json: false,
                },
                ui,
            )
            .await?;
            status = status.worst(audited);
        }
        Ok(status)
    })
}
