//! The policy a tap's backfill attestations are held to, in either mode. Built once per
//! command from `--mode`, `--policy`, `--repo`, `--workflow`, `--ci-workflow`, `--cutoff` and
//! `--bottle-root`.
//!
//! - **Tap mode** (the default): the tap signs its own legacy bottles from its own repository,
//!   one subject per bottle named by its file name. brew verifies a supported tap's bottles
//!   like `gh attestation verify BOTTLE --repo OWNER/homebrew-TAP` with the file name as the
//!   subject (Homebrew/brew#23769, below), and brew-verify under the policy [`policy`] prints:
//!   the tap's CI source first, then its backfill source with the cutoff, both in the same
//!   repository and told apart by workflow.
//! - **Core-style mode** (the 2024 design): cache-name subjects (`<sha256(url)>--<file>`) in a
//!   repository of their own, as the backfill source of homebrew-core's policy, for an
//!   organisation that keeps its own policy or mirror. brew itself reads only
//!   `trailofbits/homebrew-brew-verify` this way.
//!
//! # What Homebrew/brew#23769 says, and what it does not
//!
//! The pull request ("Attest supported third-party tap bottles", merged September 2026) was
//! read through the search tool's issue index; the Homebrew/brew snapshot that could be fetched
//! is of 2026-08-22 and predates it. Confirmed from the thread:
//!
//! - The description (heaths, 2026-09-04): "Extend bottle attestation verification beyond
//!   homebrew/core, add attesting publish workflows to brew tap-new by default with a
//!   --no-attestations opt-out".
//! - The documentation it adds (`docs/Homebrew-Security-and-Supply-Chain.md`): "Homebrew can
//!   also verify bottles from supported third-party GitHub taps against that tap's own GitHub
//!   Actions identity."
//! - Its dispatch in `attestation.rb`: `raise UnsupportedTapError … if tap.nil?`, then
//!   `return check_core_attestation(bottle) if tap.core_tap?`; a review (MikeMcQuaid,
//!   2026-09-05) suggests dropping its refusal of official non-core taps, and reducing
//!   `formula_installer.rb`'s `verify_bottle_attestation?` to `formula.tap && formula.name !=
//!   "gh"`.
//!
//! Not confirmed: the line that verifies a third-party tap's bottle, so whether it pins a
//! workflow. What the fetched `attestation.rb` gives it to call is
//! `check_attestation(bottle, signing_repo, signing_workflow = nil, subject = nil)`, which adds
//! `--cert-identity` only `if signing_workflow.present?` and, with no subject, matches
//! `subject = bottle.filename.to_s if subject.blank?`. "The tap's own GitHub Actions identity"
//! and that signature both read as the repository alone with the file name as the subject,
//! which is what tap mode signs and what [`brew_rules`] (and so `audit`) applies. Should brew
//! pin a workflow after all (tap-new's publish workflow, say), a backfill signed by
//! `backfill.yml` would fail brew's check while brew-verify under the printed policy still
//! accepted it; `audit`'s brew column is then the part to revisit.

use anyhow::{Context as _, bail};
use bottle_attest::policy::{
    GITHUB_ACTIONS_ISSUER, RefRule, Source, SubjectRule, When, WorkflowRule, default_instances,
};
use bottle_attest::statement::SLSA_PROVENANCE_V1;
use bottle_attest::trust::Instance;
use bottle_attest::{Policy, TrustRoot};
use chrono::{DateTime, Utc};

use crate::cli::PolicyArgs;

/// How a backfill names and files its subjects.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// The tap's own repository and workflow; subjects named by bottle file name.
    #[default]
    Tap,
    /// A separate repository as homebrew-core's backfill source; cache-name subjects.
    CoreStyle,
}

impl Mode {
    /// The subject name of a bottle in this mode.
    pub(crate) fn subject(self, bottle: &bottle_attest::BottleRef, bottle_root: &str) -> String {
        match self {
            Self::Tap => bottle.filename.to_string(),
            Self::CoreStyle => bottle.cache_name(bottle_root),
        }
    }

    /// The bottle file a subject of this mode names.
    pub(crate) fn file_of(self, subject: &str) -> Result<bottle_attest::BottleFilename, String> {
        let name = match self {
            Self::Tap => subject,
            Self::CoreStyle => {
                let (hash, name) = subject.split_at_checked(64).ok_or_else(|| {
                    format!("subject `{subject}` is not `<sha256 of url>--<file name>`")
                })?;
                name.strip_prefix("--")
                    .filter(|_| hash.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| {
                        format!("subject `{subject}` is not `<sha256 of url>--<file name>`")
                    })?
            }
        };
        name.parse().map_err(|e| format!("{e}"))
    }
}

/// The workflow that signs backfills in tap mode when `--workflow` is not given (the file name
/// `workflows/backfill.yml` is copied to).
pub(crate) const DEFAULT_BACKFILL_WORKFLOW: &str = "backfill.yml";

/// `brew-backfill policy`: the policy file that verifies the tap's bottles, on stdout. Without
/// `--cutoff` the backfill source's cutoff is now: print it once the backfill is done, so that
/// the backfill workflow can sign nothing that brew-verify would accept afterwards.
pub(crate) fn print_policy(
    args: &crate::cli::PolicyCmdArgs,
) -> anyhow::Result<crate::exit::Status> {
    let policy = policy(&args.policy, args.mode, &args.repo, None, Some(Utc::now()))?;
    let text = format!(
        "# brew-verify policy for {} (brew-backfill {}, {} mode).\n\
         # Use: brew-verify --policy THIS_FILE FORMULA... ; the backfill's cutoff is\n\
         # logged_at_or_before: backfill attestations logged later are refused.\n{}",
        args.repo,
        env!("CARGO_PKG_VERSION"),
        match args.mode {
            Mode::Tap => "tap",
            Mode::CoreStyle => "core-style",
        },
        policy.to_toml()
    );
    crate::stdout(&text)?;
    Ok(crate::exit::Status::Ok)
}

/// The trusted root: `--trusted-root` or the embedded public-good one.
pub(crate) fn trust_root(args: &PolicyArgs) -> anyhow::Result<TrustRoot> {
    Ok(bottle_attest_net::trust::load(args.trusted_root.as_deref())?.root)
}

/// The full waterfall a consumer applies: in tap mode the tap's CI source then its backfill
/// source; in core-style mode homebrew-core's policy with the tap as backfill source.
/// `default_cutoff` applies when neither `--cutoff` nor the policy file gives one.
pub(crate) fn policy(
    args: &PolicyArgs,
    mode: Mode,
    repo: &str,
    core_repo: Option<&str>,
    default_cutoff: Option<DateTime<Utc>>,
) -> anyhow::Result<Policy> {
    if mode == Mode::Tap && args.policy.is_none() {
        let mut backfill = tap_source(args, mode, repo);
        backfill.logged_at_or_before = args.cutoff.or(default_cutoff);
        return Ok(Policy {
            name: format!("{repo} (tap CI, then its backfill)"),
            sources: vec![ci_source(args, repo), backfill],
        });
    }
    let mut policy = consumer_policy(args, core_repo)?;
    let from_file = args.policy.is_some();
    let index = backfill_index(&policy)?;
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
        *source = tap_source(args, mode, repo);
    }
    if let Some(cutoff) = args.cutoff {
        source.logged_at_or_before = Some(cutoff);
    } else if source.logged_at_or_before.is_none() || !from_file {
        source.logged_at_or_before = default_cutoff;
    }
    Ok(policy)
}

/// The consumer's policy before any tap is put in it: `--policy`, else homebrew-core's built-in
/// waterfall with `core_repo` as its first source.
fn consumer_policy(args: &PolicyArgs, core_repo: Option<&str>) -> anyhow::Result<Policy> {
    let mut policy = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            Policy::from_file_text(&path.display().to_string(), &text)
                .with_context(|| format!("`{}`", path.display()))?
        }
        None => Policy::homebrew_core(),
    };
    if let (Some(core), None) = (core_repo, &args.policy) {
        let first = &mut policy.sources[0];
        first.repository = core.to_owned();
        first.source_repository_uri = format!("https://github.com/{core}");
    }
    Ok(policy)
}

/// Only the tap's source, consulted unconditionally: what a freshly signed bundle must pass.
pub(crate) fn backfill_only(
    args: &PolicyArgs,
    mode: Mode,
    repo: &str,
    default_cutoff: Option<DateTime<Utc>>,
) -> anyhow::Result<Policy> {
    let full = policy(args, mode, repo, None, default_cutoff)?;
    let index = backfill_index(&full)?;
    let mut source = full.sources[index].clone();
    source.when = When::Always;
    Ok(Policy {
        name: format!("{} (backfill source only)", full.name),
        sources: vec![source],
    })
}

/// What decides whether a bottle is already covered (`plan` never signs a covered bottle):
/// the consumer's waterfall, plus in core-style mode every backfill source homebrew-core's
/// policy already has (trailofbits' 2024 backfill), consulted whatever came before.
///
/// A core-style plan without a repository of its own (`repo` is `None`: a first look at what
/// upstream and its existing backfill leave uncovered, before anyone signs) is covered by the
/// consumer's policy as it stands: homebrew-core's built-in waterfall, trailofbits included, or
/// `--policy`.
pub(crate) fn coverage(
    args: &PolicyArgs,
    mode: Mode,
    repo: Option<&str>,
    core_repo: Option<&str>,
) -> anyhow::Result<Policy> {
    let Some(repo) = repo else {
        if mode == Mode::Tap {
            bail!("tap mode needs the tap's repository");
        }
        return consumer_policy(args, core_repo);
    };
    let mut policy = policy(args, mode, repo, core_repo, None)?;
    if mode == Mode::CoreStyle && args.policy.is_none() {
        let builtin = Policy::homebrew_core();
        for mut existing in builtin.sources.into_iter().skip(1) {
            if !policy
                .sources
                .iter()
                .any(|s| s.repository.eq_ignore_ascii_case(&existing.repository))
            {
                existing.name = format!("existing {}", existing.name);
                policy.sources.push(existing);
            }
        }
    }
    Ok(policy)
}

/// What brew concludes for a tap-mode bottle: `gh attestation verify BOTTLE --repo REPO` (any
/// workflow, any ref, no cutoff) and a subject named by the bottle's file name. Core-style
/// repositories are not read by brew at all (it reads only trailofbits' backfill).
pub(crate) fn brew_rules(mode: Mode, repo: &str) -> Option<Policy> {
    (mode == Mode::Tap).then(|| Policy {
        name: format!("brew's check of {repo}"),
        sources: vec![Source {
            name: "brew".into(),
            repository: repo.to_owned(),
            workflows: WorkflowRule::Any,
            refs: RefRule::Any,
            source_refs: RefRule::Any,
            issuer: GITHUB_ACTIONS_ISSUER.into(),
            source_repository_uri: format!("https://github.com/{repo}"),
            predicate_type: SLSA_PROVENANCE_V1.into(),
            subject: SubjectRule::Filename,
            logged_at_or_before: None,
            when: When::Always,
            // gh verifies bundles of either instance (its `chooseVerifier`).
            instances: vec![Instance::PublicGood, Instance::GitHub],
        }],
    })
}

/// The tap's own CI source (tap mode): its bottle workflows, file-name subjects.
fn ci_source(args: &PolicyArgs, repo: &str) -> Source {
    Source {
        name: "ci".into(),
        repository: repo.to_owned(),
        workflows: WorkflowRule::OneOf(args.ci_workflows.clone()),
        refs: RefRule::Any,
        source_refs: RefRule::Any,
        issuer: GITHUB_ACTIONS_ISSUER.into(),
        source_repository_uri: format!("https://github.com/{repo}"),
        predicate_type: SLSA_PROVENANCE_V1.into(),
        subject: SubjectRule::Filename,
        logged_at_or_before: None,
        when: When::Always,
        instances: instances(args),
    }
}

/// The source for the tap's backfill attestations, without a policy file.
fn tap_source(args: &PolicyArgs, mode: Mode, repo: &str) -> Source {
    Source {
        name: "backfill".into(),
        repository: repo.to_owned(),
        workflows: match (&args.workflow, mode) {
            (Some(w), _) => WorkflowRule::OneOf(vec![w.clone()]),
            // In the tap's own repository the workflow is what tells a backfill from a build.
            (None, Mode::Tap) => WorkflowRule::OneOf(vec![DEFAULT_BACKFILL_WORKFLOW.into()]),
            (None, Mode::CoreStyle) => WorkflowRule::Any,
        },
        // Like brew's backfill source: the cutoff, not the ref, bounds it.
        refs: RefRule::Any,
        source_refs: RefRule::Any,
        issuer: GITHUB_ACTIONS_ISSUER.into(),
        source_repository_uri: format!("https://github.com/{repo}"),
        predicate_type: SLSA_PROVENANCE_V1.into(),
        subject: match mode {
            Mode::Tap => SubjectRule::Filename,
            Mode::CoreStyle => SubjectRule::CacheName {
                root: args.bottle_root.clone(),
            },
        },
        logged_at_or_before: None,
        when: When::EarlierMissing,
        instances: instances(args),
    }
}

/// The instances a tap's sources accept: the public-good one, and with `--private` GitHub's
/// too (a private repository's attestations are signed by GitHub's instance).
fn instances(args: &PolicyArgs) -> Vec<Instance> {
    let mut out = default_instances();
    if args.private {
        out.push(Instance::GitHub);
    }
    out
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
        let p = policy(
            &args,
            Mode::CoreStyle,
            "acme/homebrew-tap",
            Some("acme/core"),
            cutoff,
        )
        .unwrap();
        assert_eq!(p.sources[0].repository, "acme/core");
        assert_eq!(p.sources[1].repository, "acme/homebrew-tap");
        assert_eq!(p.sources[1].when, When::EarlierMissing);
        assert_eq!(p.sources[1].logged_at_or_before, cutoff);
        assert_eq!(
            p.sources[1].workflows,
            WorkflowRule::OneOf(vec!["backfill.yml".into()])
        );
        let only = backfill_only(&args, Mode::CoreStyle, "acme/homebrew-tap", None).unwrap();
        assert_eq!(only.sources.len(), 1);
        assert_eq!(only.sources[0].when, When::Always);
        assert_eq!(only.sources[0].logged_at_or_before, None);
    }
}
