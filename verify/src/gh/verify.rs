//! `gh attestation verify`, answered by brew-verify.
//!
//! The flow and the texts are gh's (cli/cli `pkg/cmd/attestation/verify/verify.go`), because
//! brew tells outcomes apart by them (DESIGN.md §3): exit 0 and a JSON array on stdout when
//! verified; otherwise exit 1 with stderr naming the cause — `no attestations found` (missing),
//! `HTTP 401: Bad credentials` (auth), anything else (invalid, or the lookup failed). We never
//! exit 4 (gh's "not logged in"): no login is needed for public repositories.
//!
//! This module is gh mode's configuration of the one pipeline, and its texts: it parses the
//! flags into gh's criteria (`super::policy`), hands the lookup to the network crate's shared
//! lookup stage and the judging to the core, and prints what they found.
//!
//! Steps: (1) digest the file; (2) load attestations from `--bundle`, else through
//! [`BottleChecker::check_artifact`] (a checker configured with gh's criteria), whose lookup
//! stage is the one the bottle checker's sources use:
//! brew-verify's attestation cache when it holds bundles for this repository and digest that
//! pass, else the GitHub attestations API (at most `--limit`; the API's answer is cached);
//! (3)–(5) the core's [`GhCriteria::judge`]: keep those whose statement has the wanted
//! predicate type, verify each with Sigstore (for a bundle of GitHub's instance, which gh
//! verifies too, chain, RFC 3161 timestamp, signature and digest), check its SAN (and runner),
//! then the certificate's source repository owner, repository and issuer; (6) print every
//! attestation that passed. A cached set that does not pass is looked up again online.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bottle_attest::digest::Digest;
use bottle_attest::policy::gh::{GhAccepted, GhCriteria, GhRejection};
use bottle_attest::{TrustRoot, parse_attestations};
use bottle_attest_net::checker::{BottleChecker, CheckerConfig};
use bottle_attest_net::env::{self as vars, Env, TokenOrder};
use bottle_attest_net::github::GitHubClient;
use bottle_attest_net::http::{HttpClient, HttpConfig, Request};
use bottle_attest_net::sources::{
    ArtifactChecked, ArtifactLookupError, ArtifactOrigin, ArtifactQuery, AttestationSources, Remote,
};
use bottle_attest_net::store::cache::AttestationCache;
use bottle_attest_net::store::hashing::{sha256_and_sha512_file, sha256_file};
use serde_json::Value;

use super::cli::VerifyArgs;
use super::output::{CertificateSummary, TimeSources, result_json};
use super::policy;
use super::{Failure, Log, host};

pub(crate) fn run(args: &VerifyArgs, log: &mut Log) -> Result<(), Failure> {
    if args.artifact.starts_with("oci://") || args.bundle_from_oci {
        return Err(Failure::plain(
            "brew-verify's gh answers file artifacts only; container images (oci://, \
             --bundle-from-oci) need the real gh",
        ));
    }
    if args.jq.is_some() || args.template.is_some() {
        return Err(Failure::plain(
            "brew-verify's gh does not support --jq or --template; use --format json",
        ));
    }
    if args.limit == 0 || args.limit > 1000 {
        return Err(Failure::plain(
            "limit must be greater than 0 and less than or equal to 1000",
        ));
    }
    let criteria = match policy::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            return Err(Failure::with_headline(
                "✗ Failed to build verification policy",
                e.to_string(),
            ));
        }
    };
    // brew passes only HOMEBREW_* variables (and GH_TOKEN, GH_HOST) to gh, so every setting
    // of ours is read from a HOMEBREW_BREW_VERIFY_* variable (DESIGN.md §3).
    let env = Env::from_process();
    let root_from_env = env.get(vars::TRUSTED_ROOT).map(std::path::PathBuf::from);
    let trust = trust_root(
        &env,
        args.custom_trusted_root
            .as_deref()
            .or(root_from_env.as_deref()),
    )?;

    let path = Path::new(&args.artifact);
    let digest = digest_file(path, &args.digest_alg).map_err(|e| {
        Failure::with_headline(format!("✗ Loading digest for {} failed", args.artifact), e)
    })?;
    let label = format!("{}:{}", digest.algorithm(), digest.hex());
    let shown = std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| args.artifact.clone());
    log.line(&format!("Loaded digest {label} for file://{shown}"));

    let ctx = Ctx {
        criteria: &criteria,
        digest: &digest,
        label: &label,
    };
    let limit = args.limit as usize;

    if let Some(bundle_path) = &args.bundle {
        let bytes = std::fs::read(bundle_path).map_err(|e| {
            Failure::with_headline(
                format!(
                    "✗ Loading attestations from {} failed",
                    bundle_path.display()
                ),
                format!(
                    "bundle could not be loaded from {}: {e}",
                    bundle_path.display()
                ),
            )
        })?;
        let mut candidates = parse_attestations(&bundle_path.display().to_string(), &bytes);
        log.line(&format!(
            "Loaded {} from {}",
            plural(candidates.len(), "attestation"),
            bundle_path.display()
        ));
        candidates.truncate(limit);
        // gh mode's configuration of the one checker with the files as its pile: no lookup,
        // no socket, no deadline to keep.
        let checker = BottleChecker::new(CheckerConfig {
            judge: criteria.clone(),
            trust: Arc::new(trust),
            sources: AttestationSources::new(Remote::None, None, None),
            pile: Some(candidates),
            timeout: None,
            steps: (),
        });
        let results = ctx.report(checker.check_given(&digest), log)?;
        return ctx.finish(args, results, log);
    }

    let Some(repo) = args.scope.repo.as_deref().map(|r| r.trim_matches('/')) else {
        return Err(Failure::plain(
            "brew-verify's gh looks attestations up by repository: use --repo OWNER/REPO \
             (or --owner with --bundle)",
        ));
    };
    let Some(sha) = digest.sha256() else {
        return Err(fetch_failed(
            repo,
            anyhow::anyhow!(
                "the attestations API is searched by SHA-256 here; use --digest-alg sha256 or \
                 --bundle"
            ),
        ));
    };
    let cache = if env.flag(vars::NO_CACHE) {
        None
    } else {
        match env.cache_dir(None).map(AttestationCache::open) {
            Ok(Ok(cache)) => Some(cache),
            // A cache we cannot use (no home, or a directory someone else could write) costs
            // a lookup, never a verdict; say why once.
            Ok(Err(e)) => {
                log.line(&format!(
                    "brew-verify: not using the attestation cache: {e}"
                ));
                None
            }
            Err(_) => None,
        }
    };
    let cache_root = cache.as_ref().map(|c| c.root().display().to_string());
    let query = ArtifactQuery {
        repository: repo,
        digest: sha,
        // gh asks the API only for the predicate type it wants.
        predicate_type: &criteria.predicate_type,
        limit,
    };
    let api_url = host::api_url(args.hostname.as_deref(), &env);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fetch_failed(repo, e.into()))?;
    let (checked, setup_error) = runtime.block_on(async {
        // A client that cannot be set up (a token refused for this host, a bad timeout) is
        // the lookup's failure, reported only when the cache does not answer.
        let (remote, timeout, setup_error) = match api_client(&api_url, &env) {
            Ok((client, timeout)) => (
                Remote::Api {
                    client: Box::new(client),
                    mirror: None,
                },
                timeout,
                None,
            ),
            // No network step runs without a client, so no deadline is needed.
            Err(e) => (Remote::None, Duration::ZERO, Some(e)),
        };
        // gh mode's configuration of the one checker: gh's criteria judge, and no other step
        // (gh is handed a file: no registry, mirror or download).
        let checker = BottleChecker::new(CheckerConfig {
            judge: criteria.clone(),
            trust: Arc::new(trust),
            sources: AttestationSources::new(remote, cache, None),
            pile: None,
            timeout: Some(timeout),
            steps: (),
        });
        (checker.check_artifact(&query).await, setup_error)
    });
    let ArtifactChecked {
        origin,
        loaded,
        judged,
    } = match checked {
        Ok(checked) => checked,
        Err(ArtifactLookupError::NoApi) => {
            return Err(fetch_failed(
                repo,
                setup_error.unwrap_or_else(|| ArtifactLookupError::NoApi.into()),
            ));
        }
        Err(ArtifactLookupError::Api(e)) => return Err(fetch_failed(repo, e.into())),
        // gh's texts for the API's two "none" answers, the only ones brew reads as missing
        // (Homebrew/brew `Library/Homebrew/attestation.rb`, `check_attestation`: stderr
        // contains `HTTP 404: Not Found` or matches `/: no attestations found\R/`).
        Err(ArtifactLookupError::Missing { not_found: true }) => {
            return Err(Failure::missing(
                "✗ Loading attestations from GitHub API failed",
                format!(
                    "HTTP 404: Not Found ({})",
                    listing_url(&api_url, repo, &digest, &criteria.predicate_type)
                ),
            ));
        }
        Err(ArtifactLookupError::Missing { not_found: false }) => {
            return Err(Failure::missing(
                format!("✗ No attestations found for subject {label}"),
                "no attestations found",
            ));
        }
    };
    match origin {
        ArtifactOrigin::Cache => log.line(&format!(
            "Loaded {} from brew-verify's cache ({})",
            plural(loaded, "attestation"),
            cache_root.unwrap_or_default()
        )),
        ArtifactOrigin::Api => log.line(&format!(
            "Loaded {} from GitHub API",
            plural(loaded, "attestation")
        )),
    }
    let results = ctx.report(judged, log)?;
    ctx.finish(args, results, log)
}

/// gh's failure when the attestations could not be fetched.
fn fetch_failed(repo: &str, e: anyhow::Error) -> Failure {
    Failure::with_headline(
        "✗ Loading attestations from GitHub API failed",
        format!("failed to fetch attestations from {repo}: {e:#}"),
    )
}

/// The URL gh names in its 404 message (`pkg/cmd/attestation/api/client.go`): the listing
/// request, with the query it sent.
fn listing_url(api_url: &str, repo: &str, digest: &Digest, predicate_type: &str) -> String {
    let mut url = format!(
        "{}/repos/{repo}/attestations/{}:{}?per_page=100",
        api_url.trim_end_matches('/'),
        digest.algorithm(),
        digest.hex()
    );
    if let Ok(mut parsed) = Request::parse_url(&url) {
        parsed
            .query_pairs_mut()
            .append_pair("predicate_type", predicate_type);
        url = parsed.to_string();
    }
    url
}

struct Ctx<'a> {
    criteria: &'a GhCriteria,
    digest: &'a Digest,
    label: &'a str,
}

impl Ctx<'_> {
    /// gh's texts for the core's judgement: the JSON result of every attestation that passed,
    /// or gh's failure for the stage at which the last one failed.
    fn report(
        &self,
        judged: Result<Vec<GhAccepted>, GhRejection>,
        log: &mut Log,
    ) -> Result<Vec<Value>, Failure> {
        let accepted = match judged {
            // gh says `no attestations found with predicate type: T`, which brew would read
            // as "invalid"; none of the wanted type is "missing", so end the line the way
            // brew recognises (`/: no attestations found\R/`).
            Err(GhRejection::NoPredicateType(wanted)) => {
                return Err(Failure::missing(
                    format!("✗ No attestations found with predicate type: {wanted}"),
                    format!(
                        "none of the attestations for {} has predicate type {wanted}: no \
                         attestations found",
                        self.label
                    ),
                ));
            }
            judged => {
                log.line(&format!(
                    "\nThe following policy criteria will be enforced:\n{}",
                    policy::describe(self.criteria)
                ));
                match judged {
                    Ok(accepted) => accepted,
                    Err(GhRejection::Signature(failure)) => {
                        return Err(Failure::with_headline(
                            "✗ Sigstore verification failed",
                            failure.to_string(),
                        ));
                    }
                    Err(e) => {
                        return Err(Failure::with_headline(
                            "✗ Policy verification failed",
                            e.to_string(),
                        ));
                    }
                }
            }
        };
        let identity = policy::verified_identity(self.criteria);
        let mut results = Vec::new();
        for GhAccepted { bundle, verified } in &accepted {
            let summary = CertificateSummary::of(verified).map_err(|e| {
                Failure::with_headline("✗ Sigstore verification failed", format!("{e:#}"))
            })?;
            let bundle_json = serde_json::to_value(bundle).unwrap_or(Value::Null);
            // The log and TSA URIs of the root that verified this bundle: GitHub's for a
            // bundle of its instance, whose one verified time gh labels `TimestampAuthority`
            // (sigstore-go `VerifyObserverTimestamps`, under the GitHub verifier's
            // `WithSignedTimestamps(1)` alone).
            let times = TimeSources::from_root_json(verified.root().json());
            results.push(result_json(
                &bundle_json,
                verified,
                &summary,
                &identity,
                &times,
                self.digest,
            ));
        }
        Ok(results)
    }

    /// (6) The success lines, and the JSON array or gh's table.
    fn finish(&self, args: &VerifyArgs, results: Vec<Value>, log: &mut Log) -> Result<(), Failure> {
        log.line("✓ Verification succeeded!\n");
        let mut out = std::io::stdout().lock();
        let written = if args.format.is_some() {
            serde_json::to_writer(&mut out, &results)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        } else {
            log.line(&format!("{} was attested by:", self.label));
            let mut text = format!("{:<32} {:<32} {}\n", "REPO", "PREDICATE_TYPE", "WORKFLOW");
            for r in &results {
                let signer = r
                    .pointer("/verificationResult/signature/certificate/buildSignerURI")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (repo, workflow) = split_signer(signer);
                let predicate = r
                    .pointer("/verificationResult/statement/predicateType")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.push_str(&format!("{repo:<32} {predicate:<32} {workflow}\n"));
            }
            out.write_all(text.as_bytes())
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure::with_headline(
                "✗ Failed to write JSON output",
                e.to_string(),
            )),
        }
    }
}

/// `https://github.com/o/r/.github/workflows/w.yml@ref` → (`o/r`, `.github/workflows/w.yml@ref`).
fn split_signer(uri: &str) -> (String, String) {
    let rest = uri
        .strip_prefix("https://")
        .and_then(|r| r.split_once('/'))
        .map(|(_, path)| path)
        .unwrap_or(uri);
    let mut parts = rest.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(o), Some(r), Some(w)) => (format!("{o}/{r}"), w.to_owned()),
        _ => (String::new(), uri.to_owned()),
    }
}

fn digest_file(path: &Path, alg: &str) -> Result<Digest, String> {
    if alg == "sha512" {
        let (_, sha512) = sha256_and_sha512_file(path).map_err(|e| format!("{e}: {}", e.source))?;
        Ok(Digest::Sha512(sha512))
    } else {
        let sha256 = sha256_file(path).map_err(|e| format!("{e}: {}", e.source))?;
        Ok(Digest::Sha256(sha256))
    }
}

/// The trusted roots (kept current through TUF as gh keeps its own, cached under the cache
/// root; or `--custom-trusted-root`), through the one loader (which takes gh's JSON Lines of
/// roots too, one instance per line). A TUF refresh that fails falls back to the last good
/// root without a word: brew reads our stderr, and only a verification failure may be there.
fn trust_root(env: &Env, custom: Option<&Path>) -> Result<TrustRoot, Failure> {
    let loaded = crate::commands::trust::roots_blocking(
        env,
        custom,
        bottle_attest_net::trust::Refresh::Auto,
        env.cache_dir(None).ok(),
        false,
    )
    .map_err(|e| {
        Failure::plain(match custom {
            None => format!("the trusted root: {e:#}"),
            Some(_) => format!("failed to create custom verifier: {e:#}"),
        })
    })?;
    Ok(loaded.root)
}

/// The attestations API client (`GH_HOST` or our variable; gh's token order), and how long
/// the lookup may take (`HOMEBREW_BREW_VERIFY_TIMEOUT`); `verify` and `download` alike.
pub(super) fn api_client(api_url: &str, env: &Env) -> anyhow::Result<(GitHubClient, Duration)> {
    let url = Request::parse_url(api_url)?;
    let credential = env.github_credential(&url, TokenOrder::Gh)?;
    let timeout = env.timeout()?;
    let http = HttpClient::new(HttpConfig::default())?;
    Ok((GitHubClient::new(http, api_url, credential)?, timeout))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
