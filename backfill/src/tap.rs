//! The policy a tap's backfill attestations are held to: brew-verify's, with the tap as the
//! backfill source. Built once per command from `--policy`, `--repo`, `--workflow`, `--cutoff`
//! and `--bottle-root`.

use anyhow::{Context as _, bail};
use bottle_attest::policy::{
    GITHUB_ACTIONS_ISSUER, RefRule, Source, SubjectRule, When, WorkflowRule,
};
use bottle_attest::statement::SLSA_PROVENANCE_V1;
use bottle_attest::{Policy, TrustRoot};
use chrono::{DateTime, Utc};

use crate::cli::PolicyArgs;

/// The trusted root: `--trusted-root` or the embedded public-good one.
pub(crate) fn trust_root(args: &PolicyArgs) -> anyhow::Result<TrustRoot> {
    match &args.trusted_root {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Ok(TrustRoot::from_json(&path.display().to_string(), &text)?)
        }
        None => Ok(TrustRoot::production()?),
    }
}

/// The full waterfall with the tap as backfill source. `default_cutoff` applies when neither
/// `--cutoff` nor the policy file gives one.
pub(crate) fn policy(
    args: &PolicyArgs,
    repo: &str,
    core_repo: Option<&str>,
    default_cutoff: Option<DateTime<Utc>>,
) -> anyhow::Result<Policy> {
    let mut policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Policy::from_file_text(&path.display().to_string(), &text)
                .with_context(|| format!("`{}`", path.display()))?
        }
        None => Policy::homebrew_core(),
    };
    let from_file = args.policy.is_some();
    let index = backfill_index(&policy)?;
    if let (Some(core), false) = (core_repo, from_file) {
        let first = &mut policy.sources[0];
        first.repository = core.to_owned();
        first.source_repository_uri = format!("https://github.com/{core}");
    }
    let source = &mut policy.sources[index];
    if from_file {
        if !source.repository.eq_ignore_ascii_case(repo) {
            bail!(
                "the policy's backfill source `{}` is {}, not the tap {repo}",
                source.name,
                source.repository
            );
        }
    } else {
        *source = tap_source(args, repo);
    }
    if let Some(cutoff) = args.cutoff {
        source.logged_at_or_before = Some(cutoff);
    } else if source.logged_at_or_before.is_none() || !from_file {
        source.logged_at_or_before = default_cutoff;
    }
    Ok(policy)
}

/// Only the tap's source, consulted unconditionally: what a freshly signed bundle must pass.
pub(crate) fn backfill_only(
    args: &PolicyArgs,
    repo: &str,
    default_cutoff: Option<DateTime<Utc>>,
) -> anyhow::Result<Policy> {
    let full = policy(args, repo, None, default_cutoff)?;
    let index = backfill_index(&full)?;
    let mut source = full.sources[index].clone();
    source.when = When::Always;
    Ok(Policy {
        name: format!("{} (backfill source only)", full.name),
        sources: vec![source],
    })
}

/// The source for the tap's backfill attestations, without a policy file.
fn tap_source(args: &PolicyArgs, repo: &str) -> Source {
    Source {
        name: "backfill".into(),
        repository: repo.to_owned(),
        workflows: match &args.workflow {
            Some(w) => WorkflowRule::OneOf(vec![w.clone()]),
            None => WorkflowRule::Any,
        },
        // Like brew's backfill source: the cutoff, not the ref, bounds it.
        refs: RefRule::Any,
        source_refs: RefRule::Any,
        issuer: GITHUB_ACTIONS_ISSUER.into(),
        source_repository_uri: format!("https://github.com/{repo}"),
        predicate_type: SLSA_PROVENANCE_V1.into(),
        subject: SubjectRule::CacheName {
            root: args.bottle_root.clone(),
        },
        logged_at_or_before: None,
        when: When::EarlierMissing,
    }
}

/// Which source is the backfill: the one named `backfill`, else the last one that names
/// subjects by cache name.
fn backfill_index(policy: &Policy) -> anyhow::Result<usize> {
    policy
        .sources
        .iter()
        .position(|s| s.name == "backfill")
        .or_else(|| {
            policy
                .sources
                .iter()
                .rposition(|s| matches!(s.subject, SubjectRule::CacheName { .. }))
        })
        .with_context(|| {
            format!(
                "the policy `{}` has no backfill source (a source named `backfill`, or one with \
                 `subject = \"cache-name\"`)",
                policy.name
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_with_the_tap_as_backfill() {
        let args = PolicyArgs {
            workflow: Some("backfill.yml".into()),
            bottle_root: bottle_attest::bottle::DEFAULT_BOTTLE_ROOT.into(),
            ..PolicyArgs::default()
        };
        let cutoff = DateTime::from_timestamp(1_800_000_000, 0);
        let p = policy(&args, "acme/homebrew-tap", Some("acme/core"), cutoff).unwrap();
        assert_eq!(p.sources[0].repository, "acme/core");
        assert_eq!(p.sources[1].repository, "acme/homebrew-tap");
        assert_eq!(p.sources[1].when, When::EarlierMissing);
        assert_eq!(p.sources[1].logged_at_or_before, cutoff);
        assert_eq!(
            p.sources[1].workflows,
            WorkflowRule::OneOf(vec!["backfill.yml".into()])
        );
        let only = backfill_only(&args, "acme/homebrew-tap", None).unwrap();
        assert_eq!(only.sources.len(), 1);
        assert_eq!(only.sources[0].when, When::Always);
        assert_eq!(only.sources[0].logged_at_or_before, None);
    }
}
