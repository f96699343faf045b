//! `gh attestation verify`, answered by brew-verify.
//!
//! The flow and the texts are gh's (cli/cli `pkg/cmd/attestation/verify/verify.go`), because
//! brew tells outcomes apart by them (DESIGN.md §3): exit 0 and a JSON array on stdout when
//! verified; otherwise exit 1 with stderr naming the cause — `no attestations found` (missing),
//! `HTTP 401: Bad credentials` (auth), anything else (invalid, or the lookup failed). We never
//! exit 4 (gh's "not logged in"): no login is needed for public repositories.
//!
//! Steps: (1) digest the file; (2) load attestations from `--bundle`, else from
//! brew-verify's attestation cache when it holds bundles for this repository and digest, else
//! from the GitHub attestations API (at most `--limit`; the API's answer is cached); (3) keep
//! those whose statement has the wanted predicate type; (4) verify each with Sigstore (chain,
//! SCT, log, signature, artifact digest as a subject; for a bundle of GitHub's instance, which
//! gh verifies too, chain, RFC 3161 timestamp, signature and digest) and check its SAN (and
//! runner); (5) check
//! the certificate's source repository owner, repository and issuer; (6) print every
//! attestation that passed. A cached set that does not pass is looked up again online.

use std::io::Write as _;
use std::path::Path;

use bottle_attest::digest::Digest;
use bottle_attest::{BundleCandidate, TrustRoot, parse_attestations, verify_bundle};
use bottle_attest_net::env::{self as vars, Env, TokenOrder};
use bottle_attest_net::github::{GitHubClient, Listing};
use bottle_attest_net::http::{Deadline, HttpClient, HttpConfig, Request};
use bottle_attest_net::store::cache::AttestationCache;
use bottle_attest_net::store::hashing::{sha256_and_sha512_file, sha256_file};
use serde_json::Value;

use super::cli::VerifyArgs;
use super::output::{CertificateSummary, TimeSources, result_json};
use super::policy::Criteria;
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
    let criteria = match Criteria::from_args(args) {
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
        trust: &trust,
        digest: &digest,
        label: &label,
        limit: args.limit as usize,
    };

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
        let candidates = parse_attestations(&bundle_path.display().to_string(), &bytes);
        log.line(&format!(
            "Loaded {} from {}",
            plural(candidates.len(), "attestation"),
            bundle_path.display()
        ));
        let results = ctx.evaluate(candidates, log, true)?;
        return ctx.finish(args, results, log);
    }

    let Some(repo) = args.scope.repo.as_deref().map(|r| r.trim_matches('/')) else {
        return Err(Failure::plain(
            "brew-verify's gh looks attestations up by repository: use --repo OWNER/REPO \
             (or --owner with --bundle)",
        ));
    };
    let cache = match (env.flag(vars::NO_CACHE), digest.sha256()) {
        (false, Some(sha)) => match env.cache_dir(None).map(AttestationCache::open) {
            Ok(Ok(cache)) => Some((cache, *sha)),
            // A cache we cannot use (no home, or a directory someone else could write) costs
            // a lookup, never a verdict; say why once.
            Ok(Err(e)) => {
                log.line(&format!(
                    "brew-verify: not using the attestation cache: {e}"
                ));
                None
            }
            Err(_) => None,
        },
        _ => None,
    };

    // Cached bundles first: if one passes, no socket is opened. Only attestations that were
    // found are ever cached; "none" is always asked afresh.
    if let Some((cache, sha)) = &cache {
        if let Ok(Some(cached)) = cache.get(repo, sha) {
            let mut quiet = Log::sink();
            if let Ok(results) = ctx.evaluate(cached.clone(), &mut quiet, false) {
                log.line(&format!(
                    "Loaded {} from brew-verify's cache ({})",
                    plural(cached.len(), "attestation"),
                    cache.root().display()
                ));
                log.line(&format!(
                    "\nThe following policy criteria will be enforced:\n{}",
                    criteria.describe()
                ));
                return ctx.finish(args, results, log);
            }
        }
    }

    let api_url = host::api_url(args.hostname.as_deref(), &env);
    let listing = match fetch(&api_url, repo, &digest, &criteria.predicate_type, &env) {
        Ok(listing) => listing,
        Err(e) => {
            return Err(Failure::with_headline(
                "✗ Loading attestations from GitHub API failed",
                format!("failed to fetch attestations from {repo}: {e:#}"),
            ));
        }
    };
    let mut candidates = match listing {
        Listing::Found(candidates) => candidates,
        // gh's texts for the API's two "none" answers, the only ones brew reads as missing
        // (Homebrew/brew `Library/Homebrew/attestation.rb`, `check_attestation`: stderr
        // contains `HTTP 404: Not Found` or matches `/: no attestations found\R/`).
        Listing::None { not_found: true } => {
            return Err(Failure::missing(
                "✗ Loading attestations from GitHub API failed",
                format!(
                    "HTTP 404: Not Found ({})",
                    listing_url(&api_url, repo, &digest, &criteria.predicate_type)
                ),
            ));
        }
        Listing::None { not_found: false } => {
            return Err(Failure::missing(
                format!("✗ No attestations found for subject {label}"),
                "no attestations found",
            ));
        }
    };
    candidates.truncate(ctx.limit);
    if let Some((cache, sha)) = &cache {
        let docs: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.bundle.as_ref().ok())
            .filter_map(|b| serde_json::to_string(b).ok())
            .collect();
        if !docs.is_empty() {
            // A cache that cannot be written only costs a lookup next time.
            let _ = cache.put(repo, sha, &docs);
        }
    }
    log.line(&format!(
        "Loaded {} from GitHub API",
        plural(candidates.len(), "attestation")
    ));
    let results = ctx.evaluate(candidates, log, true)?;
    ctx.finish(args, results, log)
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
    criteria: &'a Criteria,
    trust: &'a TrustRoot,
    digest: &'a Digest,
    label: &'a str,
    limit: usize,
}

impl Ctx<'_> {
    /// Steps (3) to (5) over `candidates`: the JSON result of every attestation that passed,
    /// or gh's failure for the stage at which the last one failed.
    fn evaluate(
        &self,
        mut candidates: Vec<BundleCandidate>,
        log: &mut Log,
        describe: bool,
    ) -> Result<Vec<Value>, Failure> {
        candidates.truncate(self.limit);
        // (3) gh drops bundles that are not in-toto DSSE envelopes of the wanted predicate
        // type (a bundle that does not even parse is kept, to fail as invalid below).
        let wanted = &self.criteria.predicate_type;
        let filtered: Vec<BundleCandidate> = candidates
            .into_iter()
            .filter(|c| match &c.bundle {
                Err(_) => true,
                Ok(bundle) => predicate_type(bundle).as_deref() == Some(wanted.as_str()),
            })
            .collect();
        if filtered.is_empty() {
            // gh says `no attestations found with predicate type: T`, which brew would read
            // as "invalid"; none of the wanted type is "missing", so end the line the way
            // brew recognises (`/: no attestations found\R/`).
            return Err(Failure::missing(
                format!("✗ No attestations found with predicate type: {wanted}"),
                format!(
                    "none of the attestations for {} has predicate type {wanted}: no \
                     attestations found",
                    self.label
                ),
            ));
        }
        if describe {
            log.line(&format!(
                "\nThe following policy criteria will be enforced:\n{}",
                self.criteria.describe()
            ));
        }
        // (4)
        let mut signed = Vec::new();
        let mut last_error = String::new();
        for candidate in &filtered {
            let bundle = match &candidate.bundle {
                Ok(b) => b,
                Err(e) => {
                    last_error = format!("{}: {e}", candidate.origin);
                    continue;
                }
            };
            let verified = match verify_bundle(self.trust, bundle, self.digest) {
                Ok(v) => v,
                Err(e) => {
                    last_error = format!("{}: {e}", candidate.origin);
                    continue;
                }
            };
            let summary = match CertificateSummary::of(&verified) {
                Ok(s) => s,
                Err(e) => {
                    last_error = format!("{}: {e:#}", candidate.origin);
                    continue;
                }
            };
            if let Err(e) = self.criteria.check_identity(&summary, verified.claims()) {
                last_error = format!("{}: {e}", candidate.origin);
                continue;
            }
            signed.push((bundle, verified, summary));
        }
        if signed.is_empty() {
            return Err(Failure::with_headline(
                "✗ Sigstore verification failed",
                last_error,
            ));
        }
        // (5)
        let identity = self.criteria.verified_identity();
        let mut results = Vec::new();
        for (bundle, verified, summary) in &signed {
            match self.criteria.check_extensions(verified.claims()) {
                Ok(()) => {
                    let bundle_json = serde_json::to_value(bundle).unwrap_or(Value::Null);
                    // The log and TSA URIs of the root that verified this bundle: GitHub's
                    // for a bundle of its instance, whose one verified time gh labels
                    // `TimestampAuthority` (sigstore-go `VerifyObserverTimestamps`, under the
                    // GitHub verifier's `WithSignedTimestamps(1)` alone).
                    let times = TimeSources::from_root_json(verified.root().json());
                    results.push(result_json(
                        &bundle_json,
                        verified,
                        summary,
                        &identity,
                        &times,
                        self.digest,
                    ));
                }
                Err(e) => last_error = e,
            }
        }
        if results.is_empty() {
            return Err(Failure::with_headline(
                "✗ Policy verification failed",
                last_error,
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

/// The in-toto `predicateType` of a DSSE bundle (unverified: only to filter, as gh does).
fn predicate_type<B: serde::Serialize>(bundle: &B) -> Option<String> {
    predicate_type_of(&serde_json::to_value(bundle).ok()?)
}

/// [`predicate_type`] of a bundle already in JSON form.
pub(super) fn predicate_type_of(value: &Value) -> Option<String> {
    use base64::Engine as _;
    let envelope = value.get("dsseEnvelope")?;
    if envelope.get("payloadType").and_then(Value::as_str) != Some("application/vnd.in-toto+json") {
        return None;
    }
    let payload = envelope.get("payload").and_then(Value::as_str)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let statement: Value = serde_json::from_slice(&bytes).ok()?;
    statement
        .get("predicateType")
        .and_then(Value::as_str)
        .map(str::to_owned)
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

/// The API lookup (asking only for `predicate_type`, as gh does), on a small runtime, within
/// `HOMEBREW_BREW_VERIFY_TIMEOUT`.
fn fetch(
    api_url: &str,
    repo: &str,
    digest: &Digest,
    predicate_type: &str,
    env: &Env,
) -> anyhow::Result<Listing> {
    let Some(sha) = digest.sha256() else {
        anyhow::bail!(
            "the attestations API is searched by SHA-256 here; use --digest-alg sha256 or --bundle"
        );
    };
    let url = Request::parse_url(api_url)?;
    let credential = env.github_credential(&url, TokenOrder::Gh)?;
    let deadline = Deadline::after(env.timeout()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = HttpClient::new(HttpConfig::default())?;
        let client = GitHubClient::new(http, api_url, credential)?;
        Ok(client
            .attestations(repo, sha, Some(predicate_type), Some(deadline))
            .await?)
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
