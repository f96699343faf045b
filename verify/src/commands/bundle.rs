//! `brew-verify bundle`: generic Sigstore verification with a required identity and issuer,
//! each exact or a pattern (cosign's and gh's flags).
//!
//! Each bundle is verified cryptographically for the artifact without naming a signer, then the
//! signing certificate's authenticated claims are held against the identity and issuer asked
//! for, as cosign does (`CheckCertificatePolicy` after the signature checks).
//!
//! Every failure here is "not verified" (exit 1) with its reason; only a bad command line,
//! caught by clap, exits 2.

use std::io::Write;
use std::path::Path;

use bottle_attest::digest::Digest;
use bottle_attest::statement::preferred_digest;
use bottle_attest::{
    CertificateClaims, TrustRoot, VerifiedBundle, parse_attestations, verify_bundle,
};
use bottle_attest_net::env::Env;
use bottle_attest_net::store::hashing::sha256_and_sha512_file;
use bottle_attest_net::trust::{LoadedRoots, RootInfo};
use serde_json::json;

use crate::cli::BundleArgs;
use crate::exit::Status;
use crate::report::explain;
use crate::report::human::{Style, shorten_arg};

pub(crate) fn run(args: &BundleArgs) -> anyhow::Result<Status> {
    let v = args.verbosity;
    let signer = Signer::from_args(args);
    let loaded = load_roots(args);
    let outcome = loaded
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|l| check(args, &signer, &l.root));
    let root = loaded.as_ref().ok().map(LoadedRoots::primary);
    match &outcome {
        Err(e) => v.debug(|| format!("nothing verified: {e}")),
        Ok(o) => {
            v.debug(|| {
                let d: Vec<String> = o.digests.iter().map(ToString::to_string).collect();
                format!(
                    "{}: {}; {} bundle(s) in {}",
                    shorten_arg(&args.artifact),
                    d.join(", "),
                    o.results.len(),
                    args.bundle.display()
                )
            });
            for (origin, result) in &o.results {
                v.debug(|| match result {
                    Ok(_) => format!("{origin}: verified"),
                    Err(e) => format!("{origin}: {e}"),
                });
            }
        }
    }
    let verified = outcome.as_ref().is_ok_and(|o| o.passed.is_some());
    // `-v` says what `--explain` says.
    let explanation = (args.explain || v.verbose)
        .then(|| explanation(args, &signer, &outcome, root))
        .transpose()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(
            &mut out,
            &json_report(args, &signer, &outcome, root, explanation),
        )?;
        writeln!(out)?;
    } else {
        // The verdict on stdout; failures (and what was checked) on stderr, as brew's `onoe`.
        let mut err = std::io::stderr().lock();
        // `-q`: nothing on stdout for a pass; failures still on stderr.
        let mut out: Box<dyn std::io::Write> = if v.quiet {
            Box::new(std::io::sink())
        } else {
            Box::new(out)
        };
        let (style, estyle) = (Style::for_stdout(), Style::for_stderr());
        let artifact = shorten_arg(&args.artifact);
        match &outcome {
            Err(error) => writeln!(err, "{}: not verified: {error}", estyle.error())?,
            Ok(o) => match o
                .passed
                .and_then(|i| Some((&o.results[i].0, o.results[i].1.as_ref().ok()?)))
            {
                Some((origin, pass)) => {
                    let c = pass.verified.claims();
                    writeln!(
                        out,
                        "{}",
                        style.heading(&format!(
                            "Verified {artifact} with {origin}: signed by {} ({})",
                            c.identity.as_deref().unwrap_or("(no identity)"),
                            c.issuer.as_deref().unwrap_or("no issuer"),
                        ))
                    )?;
                }
                None => {
                    writeln!(
                        err,
                        "{}: {artifact} not verified by any bundle in {}",
                        estyle.error(),
                        args.bundle.display()
                    )?;
                    for (origin, r) in &o.results {
                        if let Err(e) = r {
                            writeln!(err, "    {origin}: {e}")?;
                        }
                    }
                    if stale_root(o) {
                        writeln!(err, "  hint: {}", crate::report::STALE_ROOT_HINT)?;
                    }
                }
            },
        }
        if let Some(text) = &explanation {
            if verified {
                write!(out, "{text}")?;
            } else {
                write!(err, "{text}")?;
            }
        }
    }
    Ok(if verified {
        Status::Ok
    } else {
        Status::Invalid
    })
}

/// One value to require of a certificate claim: exactly this, or matching this pattern.
enum Match<'a> {
    Exact(&'a str),
    /// Unanchored, like Go's `regexp.MatchString`, which cosign (`CheckCertificatePolicy`,
    /// sigstore/cosign `pkg/cosign/verify.go`: `regex.MatchString(san)`) and gh use.
    Pattern(&'a regex::Regex),
}

impl Match<'_> {
    fn accepts(&self, value: &str) -> bool {
        match self {
            Match::Exact(want) => value == *want,
            Match::Pattern(re) => re.is_match(value),
        }
    }

    /// What is required: "be `X`" / "match `RE`".
    fn requirement(&self) -> String {
        match self {
            Match::Exact(want) => format!("be `{want}`"),
            Match::Pattern(re) => format!("match `{}`", re.as_str()),
        }
    }

    /// What went wrong: "is not `X`" / "does not match `RE`".
    fn mismatch(&self) -> String {
        match self {
            Match::Exact(want) => format!("is not `{want}`"),
            Match::Pattern(re) => format!("does not match `{}`", re.as_str()),
        }
    }
}

/// Who must have signed, from the identity flags (clap's groups guarantee one of each).
struct Signer<'a> {
    identity: Match<'a>,
    issuer: Match<'a>,
}

impl<'a> Signer<'a> {
    fn from_args(args: &'a BundleArgs) -> Self {
        // clap requires exactly one flag of each group; an empty exact value (the only way
        // to reach the fallback) matches no certificate.
        let identity = match (&args.cert_identity, &args.cert_identity_regexp) {
            (_, Some(re)) => Match::Pattern(re),
            (id, None) => Match::Exact(id.as_deref().unwrap_or_default()),
        };
        let issuer = match (&args.cert_oidc_issuer, &args.cert_oidc_issuer_regexp) {
            (_, Some(re)) => Match::Pattern(re),
            (iss, None) => Match::Exact(iss.as_deref().unwrap_or_default()),
        };
        Self { identity, issuer }
    }

    /// The identity and issuer claims held against what was asked for.
    fn check(&self, claims: &CertificateClaims) -> Result<(), String> {
        let identity = claims.identity.as_deref().unwrap_or_default();
        if !self.identity.accepts(identity) {
            return Err(format!(
                "certificate identity `{identity}` {}",
                self.identity.mismatch()
            ));
        }
        let issuer = claims.issuer.as_deref().unwrap_or_default();
        if !self.issuer.accepts(issuer) {
            return Err(format!(
                "certificate OIDC issuer `{issuer}` {}",
                self.issuer.mismatch()
            ));
        }
        Ok(())
    }

    /// The patterns in use, for `--explain` (an exact value needs no warning).
    fn pattern(&self) -> Option<String> {
        let patterns: Vec<String> = [&self.identity, &self.issuer]
            .into_iter()
            .filter_map(|m| match m {
                Match::Pattern(re) => Some(re.as_str().to_owned()),
                Match::Exact(_) => None,
            })
            .collect();
        (!patterns.is_empty()).then(|| patterns.join("` and `"))
    }
}

/// A bundle that verified and whose signer was accepted.
struct Passed {
    verified: VerifiedBundle,
    digest: Digest,
}

/// Why one bundle did not pass.
#[derive(Debug, thiserror::Error)]
enum Failed {
    /// Unreadable, or its cryptography failed for this artifact.
    #[error("{0}")]
    Bundle(String),
    /// It verified, but someone else signed it.
    #[error("{0}")]
    Signer(String),
}

struct Outcome {
    digests: Vec<Digest>,
    /// Per bundle: the pass, or the reason it failed.
    results: Vec<(String, Result<Passed, Failed>)>,
    /// The index of the first bundle that passed.
    passed: Option<usize>,
}

/// The roots: `--trusted-root`, else the TUF-refreshed ones (cached under the cache root;
/// `--offline` asks no TUF repository).
fn load_roots(args: &BundleArgs) -> Result<LoadedRoots, String> {
    let env = Env::from_process();
    let refresh = super::trust::refresh_mode(args.refresh_trust, args.offline);
    let loaded = super::trust::roots_blocking(
        &env,
        args.trusted_root.as_deref(),
        refresh,
        env.cache_dir(None).ok(),
        args.offline,
    )
    .map_err(|e| format!("{e:#}"))?;
    super::trust::warn_if_forced_refresh_failed(&loaded, refresh);
    Ok(loaded)
}

fn check(args: &BundleArgs, signer: &Signer<'_>, trust: &TrustRoot) -> Result<Outcome, String> {
    let digests = artifact_digests(&args.artifact)?;
    let bytes = std::fs::read(&args.bundle)
        .map_err(|e| format!("cannot read `{}`: {e}", args.bundle.display()))?;
    let mut results = Vec::new();
    for candidate in parse_attestations(&args.bundle.display().to_string(), &bytes) {
        let result = candidate
            .bundle
            .map_err(|e| Failed::Bundle(e.to_string()))
            .and_then(|bundle| {
                let digest = *preferred_digest(&bundle, &digests)
                    .ok_or_else(|| Failed::Bundle("no artifact digest".to_owned()))?;
                let verified = verify_bundle(trust, &bundle, &digest)
                    .map_err(|e| Failed::Bundle(e.to_string()))?;
                signer.check(verified.claims()).map_err(Failed::Signer)?;
                Ok(Passed { verified, digest })
            });
        results.push((candidate.origin, result));
    }
    if results.is_empty() {
        return Err(format!("`{}` holds no bundle", args.bundle.display()));
    }
    let passed = results.iter().position(|(_, r)| r.is_ok());
    Ok(Outcome {
        digests,
        results,
        passed,
    })
}

/// Whether some bundle failed for a key the trusted root does not know.
fn stale_root(outcome: &Outcome) -> bool {
    outcome.results.iter().any(|(_, r)| match r {
        Err(Failed::Bundle(reason)) => crate::report::unknown_key(reason),
        _ => false,
    })
}

/// `brew-verify.bundle/v2` (v1 wrote `verified_timestamps` as plain strings; v2 writes them as
/// `result/v1` does, so the shape changed and so did the version). Fields are only added within
/// a version: `identity`/`issuer` when exact,
/// `identity_regexp`/`issuer_regexp` when a pattern, and per verified bundle its subject,
/// predicate type and certificate claims.
fn json_report(
    args: &BundleArgs,
    signer: &Signer<'_>,
    outcome: &Result<Outcome, String>,
    root: Option<&RootInfo>,
    explanation: Option<String>,
) -> serde_json::Value {
    let mut value = match outcome {
        Err(error) => json!({
            "schema": "brew-verify.bundle/v2",
            "verified": false,
            "artifact": args.artifact,
            "error": error,
            "bundles": [],
        }),
        Ok(o) => json!({
            "schema": "brew-verify.bundle/v2",
            "verified": o.passed.is_some(),
            "artifact": args.artifact,
            "digests": o.digests.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "bundles": o.results.iter().map(|(origin, r)| match r {
                Ok(p) => {
                    let statement = p.verified.statement();
                    json!({
                        "origin": origin,
                        "verified": true,
                        "verified_timestamps": crate::report::json::timestamps(p.verified.timestamps()),
                        "subject": statement.and_then(|s| s.subject_for(&p.digest)),
                        "predicate_type": statement.map(|s| s.predicate_type.as_str()),
                        "certificate": p.verified.claims(),
                        "instance": p.verified.instance(),
                    })
                }
                Err(e) => json!({"origin": origin, "verified": false, "error": e.to_string()}),
            }).collect::<Vec<_>>(),
        }),
    };
    if let Some(object) = value.as_object_mut() {
        for (key, m) in [("identity", &signer.identity), ("issuer", &signer.issuer)] {
            match m {
                Match::Exact(v) => object.insert(key.into(), json!(v)),
                Match::Pattern(re) => object.insert(format!("{key}_regexp"), json!(re.as_str())),
            };
        }
        if outcome
            .as_ref()
            .is_ok_and(|o| o.passed.is_none() && stale_root(o))
        {
            object.insert("hint".into(), json!(crate::report::STALE_ROOT_HINT));
        }
        if let Some(root) = root {
            object.insert("trust_root".into(), super::trust::trust_root_json(root));
        }
        if let Some(text) = explanation {
            object.insert("explanation".into(), json!(text));
        }
    }
    value
}

/// `--explain`: after a pass, what it proves and what it does not; otherwise what was required
/// and checked, so that a failure can be understood without reading the source.
fn explanation(
    args: &BundleArgs,
    signer: &Signer<'_>,
    outcome: &Result<Outcome, String>,
    root: Option<&RootInfo>,
) -> std::io::Result<String> {
    let mut text = Vec::new();
    let pass = outcome.as_ref().ok().and_then(|o| {
        let (origin, result) = &o.results[o.passed?];
        Some((origin, result.as_ref().ok()?))
    });
    if let Some((_, pass)) = pass {
        let subject = pass
            .verified
            .statement()
            .and_then(|s| s.subject_for(&pass.digest));
        explain::write_bundle(
            &mut text,
            &pass.verified,
            subject,
            signer.pattern().as_deref(),
        )?;
        if let Some(root) = root {
            writeln!(text, "    Trusted root: {}.", root.describe())?;
        }
    } else {
        writeln!(text, "    What was checked:")?;
        match outcome {
            Ok(o) => {
                let digests: Vec<String> = o.digests.iter().map(ToString::to_string).collect();
                writeln!(
                    text,
                    "      - The artifact's digests: {}.",
                    digests.join(", ")
                )?;
            }
            Err(_) => writeln!(
                text,
                "      - Nothing could be verified: the artifact, the bundle file or the trusted \
                 root could not be read (the error above)."
            )?,
        }
        writeln!(
            text,
            "      - Each bundle in {} must verify against {}: certificate chain,",
            args.bundle.display(),
            match (root, &args.trusted_root) {
                (Some(root), _) => root.describe(),
                (None, Some(path)) => format!("the trusted root {}", path.display()),
                (None, None) => "the Sigstore public-good root".to_owned(),
            }
        )?;
        writeln!(
            text,
            "        transparency log entry and signature, with the artifact's digest a subject."
        )?;
        writeln!(
            text,
            "      - Its certificate identity must {} and its OIDC issuer {}.",
            signer.identity.requirement(),
            signer.issuer.requirement()
        )?;
        if let Ok(o) = outcome {
            writeln!(
                text,
                "      - Every bundle failed one of these (the reasons above)."
            )?;
            if o.results
                .iter()
                .any(|(_, r)| matches!(r, Err(Failed::Signer(_))))
            {
                writeln!(
                    text,
                    "      - A bundle's cryptography held but its signer was not the one required."
                )?;
            }
        }
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// `sha256:`/`sha512:` (any case, as for bottles), or both digests of a file (one streaming
/// pass).
fn artifact_digests(artifact: &str) -> Result<Vec<Digest>, String> {
    if super::targets::is_digest_arg(artifact) {
        return super::targets::parse_digest(artifact)
            .map(|d| vec![d])
            .map_err(|e| format!("`{}`: {e}", shorten_arg(artifact)));
    }
    let (sha256, sha512) =
        sha256_and_sha512_file(Path::new(artifact)).map_err(|e| format!("{e}: {}", e.source))?;
    Ok(vec![Digest::Sha256(sha256), Digest::Sha512(sha512)])
}
