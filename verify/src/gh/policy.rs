//! gh's verification policy ("enforcement criteria", cli/cli
//! `pkg/cmd/attestation/verify/policy.go` and `verification/extensions.go`), built from the
//! flags, and gh's texts about it. The matching itself is pure and lives in the core
//! (`bottle_attest::policy::gh`), the judging step of the one pipeline; this module only turns
//! flags into a [`GhCriteria`] and describes it. No I/O.
//!
//! By default (`--repo OWNER/REPO`): (1) the statement's predicate type is
//! `https://slsa.dev/provenance/v1`; (2) the certificate's SAN matches
//! `(?i)^https://github.com/OWNER/REPO/` (any workflow of that repository); (3) its source
//! repository owner URI is `https://github.com/OWNER` and (4) its source repository URI is
//! `https://github.com/OWNER/REPO` (both ASCII case-insensitive); (5) its OIDC issuer is
//! `https://token.actions.githubusercontent.com`. `--owner` drops (4) and widens (2) to the
//! owner. `--cert-identity`, `--cert-identity-regex`, `--signer-repo` and `--signer-workflow`
//! replace (2); `--deny-self-hosted-runners` adds the runner environment `github-hosted`;
//! `--source-digest` and `--source-ref` add the certificate's source repository digest
//! (OID 1.3.6.1.4.1.57264.1.13) and ref (…1.14).

use bottle_attest::policy::gh::{GhCriteria, San};
use regex::Regex;

use super::cli::{GITHUB_OIDC_ISSUER, VerifyArgs};
use super::output::{IssuerMatcher, Matcher, VerifiedIdentity};

/// A flag combination or value gh would refuse.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadFlags(pub(crate) String);

/// gh's criteria from its flags.
pub(crate) fn from_args(args: &VerifyArgs) -> Result<GhCriteria, BadFlags> {
    let host = args
        .hostname
        .clone()
        .or_else(|| std::env::var("GH_HOST").ok())
        .filter(|h| !h.contains("://") && !h.is_empty())
        .unwrap_or_else(|| "github.com".into());
    // GitHub Enterprise Cloud tenants (`NAME.ghe.com`) have their own URLs and issuer.
    let tenant = host
        .strip_suffix(".ghe.com")
        .filter(|t| !t.contains('.'))
        .map(str::to_owned);
    let base = match &tenant {
        Some(t) => format!("https://{t}.ghe.com"),
        None => "https://github.com".to_owned(),
    };
    let (repo, owner) = match (&args.scope.repo, &args.scope.owner) {
        (Some(repo), _) => {
            let repo = repo.trim_matches('/');
            let Some((owner, name)) = repo.split_once('/') else {
                return Err(BadFlags(format!(
                    "invalid value for --repo: `{repo}` is not in the format <owner>/<repo>"
                )));
            };
            if owner.is_empty() || name.is_empty() || name.contains('/') {
                return Err(BadFlags(format!(
                    "invalid value for --repo: `{repo}` is not in the format <owner>/<repo>"
                )));
            }
            (Some(repo.to_owned()), owner.to_owned())
        }
        (None, Some(owner)) => (None, owner.trim_matches('/').to_owned()),
        (None, None) => {
            return Err(BadFlags("one of --repo or --owner must be provided".into()));
        }
    };
    let prefix_regex = |path: &str| {
        Regex::new(&format!(
            "(?i)^{}/",
            regex::escape(&format!("{base}/{path}"))
        ))
        .map_err(|e| BadFlags(e.to_string()))
    };
    let san = if let Some(exact) = &args.cert_identity {
        San::Exact(exact.clone())
    } else if let Some(pattern) = &args.cert_identity_regex {
        San::Regex(
            Regex::new(pattern)
                .map_err(|e| BadFlags(format!("invalid value for --cert-identity-regex: {e}")))?,
        )
    } else if let Some(signer_repo) = &args.signer_repo {
        San::Regex(prefix_regex(signer_repo.trim_matches('/'))?)
    } else if let Some(workflow) = &args.signer_workflow {
        // `[host/]owner/repo/path/to/workflow.yml`: a first segment with a dot is a host.
        let with_host = match workflow.split_once('/') {
            Some((first, _)) if first.contains('.') => workflow.clone(),
            _ => format!("{host}/{workflow}"),
        };
        San::Regex(
            Regex::new(&format!(
                "^{}",
                regex::escape(&format!("https://{with_host}"))
            ))
            .map_err(|e| BadFlags(e.to_string()))?,
        )
    } else {
        San::Regex(prefix_regex(repo.as_deref().unwrap_or(&owner))?)
    };
    let issuer = match &tenant {
        Some(t) if args.cert_oidc_issuer == GITHUB_OIDC_ISSUER => {
            format!("https://token.actions.{t}.ghe.com")
        }
        _ => args.cert_oidc_issuer.clone(),
    };
    Ok(GhCriteria {
        predicate_type: args.predicate_type.clone(),
        san,
        runner_environment: args
            .deny_self_hosted_runners
            .then(|| "github-hosted".to_owned()),
        source_repository_uri: repo.map(|r| format!("{base}/{r}")),
        source_repository_owner_uri: format!("{base}/{owner}"),
        issuer,
        no_public_good: args.no_public_good,
        // An empty value is gh's "not given" (its flags default to "").
        source_repository_digest: args.source_digest.clone().filter(|d| !d.is_empty()),
        source_repository_ref: args.source_ref.clone().filter(|r| !r.is_empty()),
    })
}

/// gh's "The following policy criteria will be enforced" lines.
pub(crate) fn describe(criteria: &GhCriteria) -> String {
    let mut lines = vec![format!(
        "- Predicate type must match:................ {}",
        criteria.predicate_type
    )];
    lines.push(format!(
        "- Source Repository Owner URI must match:... {}",
        criteria.source_repository_owner_uri
    ));
    if let Some(uri) = &criteria.source_repository_uri {
        lines.push(format!(
            "- Source Repository URI must match:......... {uri}"
        ));
    }
    match &criteria.san {
        San::Exact(s) => lines.push(format!("- Subject Alternative Name must match:....... {s}")),
        San::Regex(r) => lines.push(format!(
            "- Subject Alternative Name must match regex: {}",
            r.as_str()
        )),
    }
    lines.push(format!(
        "- OIDC Issuer must match:................... {}",
        criteria.issuer
    ));
    if let Some(env) = &criteria.runner_environment {
        lines.push(format!(
            "- Action workflow Runner Environment must match: {env}"
        ));
    }
    if let Some(digest) = &criteria.source_repository_digest {
        lines.push(format!(
            "- Source Repository Digest must match:...... {digest}"
        ));
    }
    if let Some(git_ref) = &criteria.source_repository_ref {
        lines.push(format!(
            "- Source Repository Ref must match:......... {git_ref}"
        ));
    }
    lines.join("\n")
}

/// The `verifiedIdentity` object of the JSON output.
pub(crate) fn verified_identity(criteria: &GhCriteria) -> VerifiedIdentity {
    let subject_alternative_name = match &criteria.san {
        San::Exact(s) => Matcher {
            subject_alternative_name: s.clone(),
            regexp: String::new(),
        },
        San::Regex(r) => Matcher {
            subject_alternative_name: String::new(),
            regexp: r.as_str().to_owned(),
        },
    };
    VerifiedIdentity {
        subject_alternative_name,
        issuer: IssuerMatcher {
            issuer: String::new(),
            regexp: ".*".into(),
        },
        runner_environment: criteria.runner_environment.clone().unwrap_or_default(),
    }
}
