//! The GitHub Actions workflow identity a kit token asserts, and the claims it becomes.
//!
//! Owns the mapping from a [`WorkflowIdentity`] to the claim names of a GitHub Actions OIDC
//! token. The mapping from those claims to certificate extensions is Fulcio's job
//! (see `fulcio.rs`), so this module never mentions an OID.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The OIDC issuer of GitHub Actions tokens, which Fulcio writes into every certificate it
/// issues to a GitHub workflow.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The audience a Sigstore client asks GitHub for.
const SIGSTORE_AUDIENCE: &str = "sigstore";

/// The GitHub Actions run a kit token speaks for.
///
/// Tests pick the repository, workflow file and ref with [`WorkflowIdentity::github`] and change
/// the other fields (struct update syntax) to exercise policy checks: a foreign `issuer`, a
/// `self-hosted` runner, a `pull_request` trigger, a private repository, a reusable workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowIdentity {
    /// `owner/name`, e.g. `Homebrew/homebrew-core`.
    pub repository: String,
    /// The workflow file name under `.github/workflows/`, e.g. `publish-commit-bottles.yml`.
    pub workflow: String,
    /// The ref the run was for, e.g. `refs/heads/master`.
    pub git_ref: String,
    /// The token's `iss`; Fulcio copies it into the certificate as the OIDC issuer.
    pub issuer: String,
    /// The commit the run built (40 hex digits).
    pub sha: String,
    /// The event that triggered the run, e.g. `push`.
    pub event_name: String,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: String,
    /// The run's number, part of the run invocation URI.
    pub run_id: u64,
    /// The attempt of the run, part of the run invocation URI.
    pub run_attempt: u32,
    /// GitHub's immutable repository id.
    pub repository_id: u64,
    /// GitHub's immutable id of the repository owner.
    pub repository_owner_id: u64,
    /// `public`, `private` or `internal`.
    pub repository_visibility: String,
    /// The reusable workflow that signed, as `owner/repo/.github/workflows/file@ref`, when it is
    /// not the caller's own workflow file. `None` means the workflow file itself signed.
    pub job_workflow_ref: Option<String>,
}

impl WorkflowIdentity {
    /// A `push` run of `workflow` in `repository` on `git_ref`, on a GitHub-hosted runner, in a
    /// public repository, with GitHub's issuer. The commit and ids are derived from the inputs,
    /// so the same identity always yields the same claims.
    pub fn github(repository: &str, workflow: &str, git_ref: &str) -> Self {
        let seed = Sha256::digest(format!("{repository}\n{workflow}\n{git_ref}").as_bytes());
        let number = |range: std::ops::Range<usize>| {
            seed[range]
                .iter()
                .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
        };
        Self {
            repository: repository.to_owned(),
            workflow: workflow.to_owned(),
            git_ref: git_ref.to_owned(),
            issuer: GITHUB_ISSUER.to_owned(),
            sha: hex::encode(&seed[..20]),
            event_name: "push".to_owned(),
            runner_environment: "github-hosted".to_owned(),
            run_id: 1_000_000_000 + number(20..24) % 1_000_000_000,
            run_attempt: 1,
            repository_id: 100_000_000 + number(24..28) % 900_000_000,
            repository_owner_id: 1_000_000 + number(28..32) % 9_000_000,
            repository_visibility: "public".to_owned(),
            job_workflow_ref: None,
        }
    }

    /// The certificate identity (SAN URI) Fulcio issues for this run:
    /// `https://github.com/<repository>/.github/workflows/<workflow>@<git_ref>`, or the reusable
    /// workflow's ref when [`Self::job_workflow_ref`] is set.
    pub fn san(&self) -> String {
        format!("https://github.com/{}", self.job_workflow_ref())
    }

    /// The `workflow_ref` claim: the caller's workflow file at the run's ref.
    pub fn workflow_ref(&self) -> String {
        format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow, self.git_ref
        )
    }

    /// The `job_workflow_ref` claim: the workflow file that holds the signing job.
    pub fn job_workflow_ref(&self) -> String {
        self.job_workflow_ref
            .clone()
            .unwrap_or_else(|| self.workflow_ref())
    }

    /// The repository owner (the part of `repository` before the slash).
    pub fn owner(&self) -> &str {
        self.repository
            .split_once('/')
            .map_or(self.repository.as_str(), |(owner, _)| owner)
    }

    /// The claims of the GitHub Actions token for this run, issued at `now` and valid for an
    /// hour. GitHub sends ids as strings; so does this.
    pub fn claims(&self, now: DateTime<Utc>) -> Value {
        let issued_at = now.timestamp();
        let workflow_name = self
            .workflow
            .rsplit_once('.')
            .map_or(self.workflow.as_str(), |(stem, _)| stem);
        json!({
            "jti": format!("testkit-{}-{}-{}", self.run_id, self.run_attempt, issued_at),
            "sub": format!("repo:{}:ref:{}", self.repository, self.git_ref),
            "aud": SIGSTORE_AUDIENCE,
            "ref": self.git_ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": self.owner(),
            "repository_owner_id": self.repository_owner_id.to_string(),
            "repository_id": self.repository_id.to_string(),
            "repository_visibility": self.repository_visibility,
            "run_id": self.run_id.to_string(),
            "run_number": "1",
            "run_attempt": self.run_attempt.to_string(),
            "actor": "brew-verify-testkit",
            "actor_id": "1",
            "workflow": workflow_name,
            "event_name": self.event_name,
            "ref_type": "branch",
            "workflow_ref": self.workflow_ref(),
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref(),
            "job_workflow_sha": self.sha,
            "runner_environment": self.runner_environment,
            "iss": self.issuer,
            "nbf": issued_at,
            "iat": issued_at,
            "exp": issued_at + 3600,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_follows_the_workflow_file_or_the_reusable_workflow() {
        let id = WorkflowIdentity::github(
            "Homebrew/homebrew-core",
            "publish-commit-bottles.yml",
            "refs/heads/master",
        );
        assert_eq!(
            id.san(),
            "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/master"
        );
        assert_eq!(id.owner(), "Homebrew");
        assert_eq!(id.sha.len(), 40);
        let reusable = WorkflowIdentity {
            job_workflow_ref: Some(
                "Homebrew/actions/.github/workflows/sign.yml@refs/heads/main".into(),
            ),
            ..id.clone()
        };
        assert_eq!(
            reusable.san(),
            "https://github.com/Homebrew/actions/.github/workflows/sign.yml@refs/heads/main"
        );
        assert_eq!(reusable.workflow_ref(), id.workflow_ref());
    }
}
