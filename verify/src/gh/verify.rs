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
//! SCT, log, signature, artifact digest as a subject) and check its SAN (and runner); (5) check
//! the certificate's source repository owner, repository and issuer; (6) print every
//! attestation that passed. A cached set that does not pass is looked up again online.

use std::io::Write as _;
use std::path::Path;

use bottle_attest::digest::Digest;
use bottle_attest::{BundleCandidate, TrustRoot, parse_attestations, verify_bundle};
use bottle_attest_net::github::GitHubClient;
use bottle_attest_net::store::cache::{AttestationCache, Cached};
use bottle_attest_net::store::hashing::{sha256_and_sha512_file, sha256_file};
use serde_json::Value;

use super::cli::VerifyArgs;
use super::output::{CertificateSummary, TimeSources, result_json};
use super::policy::Criteria;
use super::{Failure, Log, host};

/// Set to `1` to neither read nor write brew-verify's attestation cache in gh mode.
pub(crate) const NO_CACHE_VARIABLE: &str = "BREW_VERIFY_GH_NO_CACHE";

/// A `trusted_root.json` to use when `--custom-trusted-root` is not given: brew never passes
/// that flag, so a GitHub Enterprise root (or a test root) is set here.
pub(crate) const TRUSTED_ROOT_VARIABLE: &str = "BREW_VERIFY_TRUSTED_ROOT";

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
    let root_from_env = std::env::var_os(TRUSTED_ROOT_VARIABLE)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    let (trust, times) = trust_root(
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
        times: &times,
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
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let cache = match (env(NO_CACHE_VARIABLE), digest.sha256()) {
        (None, Some(sha)) => AttestationCache::default_root(&env)
            .map(AttestationCache::new)
            .map(|c| (c, *sha)),
        _ => None,
    };

    // Cached bundles first: if one passes, no socket is opened.
    if let Some((cache, sha)) = &cache {
        if let Ok(Some(Cached::Found(cached))) = cache.get(repo, sha, chrono::Utc::now()) {
            if !cached.is_empty() {
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
    }

    let api_url = host::api_url(args.hostname.as_deref(), &env);
    let fetched = fetch(&api_url, repo, &digest, &env);
    let candidates = match fetched {
        Ok(c) => c,
        Err(e) => {
            return Err(Failure::with_headline(
                "✗ Loading attestations from GitHub API failed",
                format!("failed to fetch attestations from {repo}: {e:#}"),
            ));
        }
    };
    if candidates.is_empty() {
        return Err(Failure::with_headline(
            format!("✗ No attestations found for subject {label}"),
            format!(
                "failed to fetch attestations from {repo}: no attestations found for digest \
                 {label} in {repo}"
            ),
        ));
    }
    let mut candidates = candidates;
    candidates.truncate(ctx.limit);
    if let Some((cache, sha)) = &cache {
        let docs: Vec<String> = candidates
            .iter()
            .filter_map(|c| c.bundle.as_ref().ok())
            .filter_map(|b| serde_json::to_string(b).ok())
            .collect();
        if !docs.is_empty() {
            // A cache that cannot be written only costs a lookup next time.
            let _ = cache.put_found(repo, sha, &docs);
        }
    }
    log.line(&format!(
        "Loaded {} from GitHub API",
        plural(candidates.len(), "attestation")
    ));
    let results = ctx.evaluate(candidates, log, true)?;
    ctx.finish(args, results, log)
}

struct Ctx<'a> {
    criteria: &'a Criteria,
    trust: &'a TrustRoot,
    times: &'a TimeSources,
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
            return Err(Failure::with_headline(
                format!("✗ No attestations found with predicate type: {wanted}"),
                format!(
                    "no attestations found with predicate type {wanted} for digest {}",
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
                    results.push(result_json(
                        &bundle_json,
                        verified,
                        summary,
                        &identity,
                        self.times,
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

/// The trusted root (embedded public-good, or `--custom-trusted-root`) and where its logs live.
fn trust_root(custom: Option<&Path>) -> Result<(TrustRoot, TimeSources), Failure> {
    match custom {
        None => {
            let trust = TrustRoot::production()
                .map_err(|e| Failure::plain(format!("the embedded trusted root: {e}")))?;
            Ok((
                trust,
                TimeSources::from_root_json(sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT),
            ))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::plain(format!("unable to read file {}: {e}", path.display()))
            })?;
            // gh accepts JSON Lines of roots; the first line is the root for us.
            let first = if serde_json::from_str::<Value>(&text).is_ok() {
                text.clone()
            } else {
                text.lines().next().unwrap_or_default().to_owned()
            };
            let trust = TrustRoot::from_json(&path.display().to_string(), &first)
                .map_err(|e| Failure::plain(format!("failed to create custom verifier: {e}")))?;
            Ok((trust, TimeSources::from_root_json(&first)))
        }
    }
}

/// The API lookup, on a small runtime.
fn fetch(
    api_url: &str,
    repo: &str,
    digest: &Digest,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<BundleCandidate>> {
    let Some(sha) = digest.sha256() else {
        anyhow::bail!(
            "the attestations API is searched by SHA-256 here; use --digest-alg sha256 or --bundle"
        );
    };
    let token = host::token(api_url, env)?.map(|(t, _)| t);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = GitHubClient::new(api_url, token)?;
        Ok(client.attestations(repo, sha, None).await?)
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
