//! `gh attestation download`: write an artifact's attestations, one bundle per line, to
//! `<alg>:<hex>.jsonl` in the working directory (gh's file name and messages), for
//! `--bundle` / `brew-verify --bundle` later. Nothing is verified here, as in gh.

use std::io::Write as _;
use std::path::Path;

use bottle_attest::digest::Digest;
use bottle_attest::digest::Sha256Hash;
use bottle_attest_net::env::Env;
use bottle_attest_net::github::Listing;
use bottle_attest_net::http::Deadline;
use bottle_attest_net::store::hashing::{sha256_and_sha512_file, sha256_file};

use super::cli::DownloadArgs;
use super::{Failure, Log, host};

pub(crate) fn run(args: &DownloadArgs, _log: &mut Log) -> Result<(), Failure> {
    let fail =
        |e: String| Failure::plain(format!("Failed to download the artifact's bundle(s): {e}"));
    if args.limit == 0 || args.limit > 1000 {
        return Err(fail(
            "limit must be greater than 0 and less than or equal to 1000".into(),
        ));
    }
    let Some(repo) = args.scope.repo.as_deref().map(|r| r.trim_matches('/')) else {
        return Err(fail(
            "brew-verify's gh looks attestations up by repository: use --repo OWNER/REPO".into(),
        ));
    };
    let path = Path::new(&args.artifact);
    let digest = if args.digest_alg == "sha512" {
        sha256_and_sha512_file(path).map(|(_, d)| Digest::Sha512(d))
    } else {
        sha256_file(path).map(Digest::Sha256)
    }
    .map_err(|e| fail(format!("failed to digest artifact: {e}: {}", e.source)))?;
    let Some(sha) = digest.sha256().copied() else {
        return Err(fail(
            "the attestations API is searched by SHA-256 here; use --digest-alg sha256".into(),
        ));
    };
    let env = Env::from_process();
    let api_url = host::api_url(args.hostname.as_deref(), &env);
    let listing = fetch(&api_url, repo, &sha, args.predicate_type.as_deref(), &env)
        .map_err(|e| fail(format!("failed to fetch attestations: {e:#}")))?;
    let candidates = listing.into_candidates();
    let label = format!("{}:{}", digest.algorithm(), digest.hex());
    let mut out = std::io::stdout().lock();
    if candidates.is_empty() {
        let _ = writeln!(out, "No attestations found for {}", args.artifact);
        return Ok(());
    }
    let mut lines = String::new();
    for c in candidates.iter().take(args.limit as usize) {
        let Ok(bundle) = &c.bundle else { continue };
        let value = serde_json::to_value(bundle).map_err(|e| fail(e.to_string()))?;
        if let Some(wanted) = &args.predicate_type {
            if bottle_attest::policy::gh::predicate_type_of(&value).as_deref()
                != Some(wanted.as_str())
            {
                continue;
            }
        }
        lines.push_str(&value.to_string());
        lines.push('\n');
    }
    if lines.is_empty() {
        if let Some(wanted) = &args.predicate_type {
            return Err(fail(format!(
                "no attestations found with predicate type: {wanted}"
            )));
        }
    }
    let file = if cfg!(windows) {
        format!("{}.jsonl", label.replace(':', "-"))
    } else {
        format!("{label}.jsonl")
    };
    std::fs::write(&file, lines).map_err(|e| {
        fail(format!(
            "failed to write attestations to file: failed to create file: {e}"
        ))
    })?;
    let _ = write!(
        out,
        "Wrote attestations to file {file}.\nAny previous content has been overwritten\n\n\
         The trusted metadata is now available at {file}\n"
    );
    Ok(())
}

/// The API lookup (the client gh mode's verify uses), on a small runtime, within
/// `HOMEBREW_BREW_VERIFY_TIMEOUT`.
fn fetch(
    api_url: &str,
    repo: &str,
    sha: &Sha256Hash,
    predicate_type: Option<&str>,
    env: &Env,
) -> anyhow::Result<Listing> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (client, timeout) = super::verify::api_client(api_url, env)?;
        Ok(client
            .attestations(repo, sha, predicate_type, Some(Deadline::after(timeout)))
            .await?)
    })
}
