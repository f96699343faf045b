//! Matching a certificate's SAN against a source's allowed workflows and refs.
//!
//! A GitHub Actions SAN reads `https://github.com/<owner>/<repo>/.github/workflows/<file>@<ref>`.
//! It is parsed into parts and each part compared, rather than matched with a regex or a prefix,
//! so that `Homebrew/homebrew-core-evil` can never pass for `Homebrew/homebrew-core`.

use super::{Rejection, Source};

/// Which workflow files may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowRule {
    /// Any workflow file of the repository.
    Any,
    /// Only these file names (`publish-commit-bottles.yml`), exactly.
    OneOf(Vec<String>),
}

/// Which refs the signing workflow may have run from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefRule {
    /// Any ref.
    Any,
    /// Only these refs (`refs/heads/main`), exactly.
    OneOf(Vec<String>),
}

/// The parts of a GitHub Actions workflow SAN.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WorkflowSan<'a> {
    pub(crate) repository: &'a str,
    pub(crate) file: &'a str,
    pub(crate) git_ref: &'a str,
}

/// Split a SAN into repository, workflow file and ref; `None` if it is not a workflow SAN.
pub(crate) fn parse_workflow_san(san: &str) -> Option<WorkflowSan<'_>> {
    let rest = san.strip_prefix("https://github.com/")?;
    let (repository, rest) = rest.split_once("/.github/workflows/")?;
    let (file, git_ref) = rest.split_once('@')?;
    let valid_repo =
        repository.split('/').count() == 2 && repository.split('/').all(|part| !part.is_empty());
    if !valid_repo || file.is_empty() || file.contains('/') || git_ref.is_empty() {
        return None;
    }
    Some(WorkflowSan {
        repository,
        file,
        git_ref,
    })
}

fn describe(source: &Source) -> String {
    let files = match &source.workflows {
        WorkflowRule::Any => "any workflow".to_owned(),
        WorkflowRule::OneOf(names) => names.join(" or "),
    };
    format!(
        "{files} under https://github.com/{}/.github/workflows/",
        source.repository
    )
}

/// Check the SAN against the source's repository, workflow and ref rules.
pub(super) fn check(source: &Source, san: Option<&str>) -> Result<(), Rejection> {
    let mismatch = || Rejection::Identity {
        expected: describe(source),
        actual: san.map(str::to_owned),
    };
    let parsed = san.and_then(parse_workflow_san).ok_or_else(mismatch)?;
    // GitHub owner and repository names are case-insensitive.
    if !parsed.repository.eq_ignore_ascii_case(&source.repository) {
        return Err(mismatch());
    }
    if let WorkflowRule::OneOf(files) = &source.workflows {
        if !files.iter().any(|f| f == parsed.file) {
            return Err(mismatch());
        }
    }
    if let RefRule::OneOf(refs) = &source.refs {
        if !refs.iter().any(|r| r == parsed.git_ref) {
            return Err(Rejection::Ref {
                expected: refs.join(" or "),
                actual: parsed.git_ref.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn parses_workflow_sans() {
        let san = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/master";
        assert_eq!(
            parse_workflow_san(san),
            Some(WorkflowSan {
                repository: "Homebrew/homebrew-core",
                file: "publish-commit-bottles.yml",
                git_ref: "refs/heads/master"
            })
        );
        for bad in [
            "https://github.com/Homebrew/.github/workflows/x.yml@refs/heads/main",
            "https://github.com/a/b/c/.github/workflows/x.yml@refs/heads/main",
            "https://github.com/a/b/.github/workflows/x.yml",
            "https://github.com/a/b/.github/workflows/sub/x.yml@r",
            "https://gitlab.com/a/b/.github/workflows/x.yml@r",
            "someone@example.com",
        ] {
            assert_eq!(parse_workflow_san(bad), None, "{bad}");
        }
    }

    #[test]
    fn core_rules() {
        let policy = Policy::homebrew_core();
        let core = &policy.sources[0];
        let ok = "https://github.com/Homebrew/homebrew-core/.github/workflows/dispatch-rebottle.yml@refs/heads/main";
        assert!(check(core, Some(ok)).is_ok());
        let lookalike = "https://github.com/Homebrew/homebrew-core-evil/.github/workflows/x.yml@refs/heads/main";
        assert!(matches!(
            check(core, Some(lookalike)),
            Err(Rejection::Identity { .. })
        ));
        let pr =
            "https://github.com/Homebrew/homebrew-core/.github/workflows/x.yml@refs/pull/1/merge";
        assert!(matches!(check(core, Some(pr)), Err(Rejection::Ref { .. })));
        assert!(check(core, None).is_err());
        let backfill = &policy.sources[1];
        let other_file = "https://github.com/trailofbits/homebrew-brew-verify/.github/workflows/other.yml@refs/heads/main";
        assert!(check(backfill, Some(other_file)).is_err());
        let branch = "https://github.com/trailofbits/homebrew-brew-verify/.github/workflows/backfill_signatures.yml@refs/heads/backfill";
        assert!(check(backfill, Some(branch)).is_ok());
    }
}
