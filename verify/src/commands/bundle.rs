//! `brew-verify bundle`: generic Sigstore verification with an exact identity and issuer.
//!
//! Every failure here is "not verified" (exit 1) with its reason; only a bad command line,
//! caught by clap, exits 2.

use std::io::Write;
use std::path::Path;

use bottle_attest::digest::Digest;
use bottle_attest::{parse_attestations, verify_bundle_exact};
use bottle_attest_net::store::hashing::sha256_and_sha512_file;
use serde_json::json;

use crate::cli::BundleArgs;
use crate::exit::Status;
use crate::report::human::Style;

pub(crate) fn run(args: &BundleArgs) -> anyhow::Result<Status> {
    let outcome = check(args);
    let mut out = std::io::stdout().lock();
    let verified = outcome.as_ref().is_ok_and(|o| o.passed.is_some());
    if args.json {
        let value = match &outcome {
            Err(error) => json!({
                "schema": "brew-verify.bundle/v1",
                "verified": false,
                "artifact": args.artifact,
                "error": error,
                "bundles": [],
            }),
            Ok(o) => json!({
                "schema": "brew-verify.bundle/v1",
                "verified": verified,
                "artifact": args.artifact,
                "digests": o.digests.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "identity": args.cert_identity,
                "issuer": args.cert_oidc_issuer,
                "bundles": o.results.iter().map(|(origin, r)| match r {
                    Ok(times) => json!({"origin": origin, "verified": true, "verified_timestamps": times}),
                    Err(e) => json!({"origin": origin, "verified": false, "error": e}),
                }).collect::<Vec<_>>(),
            }),
        };
        serde_json::to_writer(&mut out, &value)?;
        writeln!(out)?;
    } else {
        // The verdict on stdout; failures on stderr, as brew's `onoe`.
        let mut err = std::io::stderr().lock();
        let (style, estyle) = (Style::for_stdout(), Style::for_stderr());
        match &outcome {
            Err(error) => writeln!(err, "{}: not verified: {error}", estyle.error())?,
            Ok(o) => match &o.passed {
                Some(origin) => writeln!(
                    out,
                    "{}",
                    style.heading(&format!(
                        "Verified {} with {origin}: signed by {} ({})",
                        args.artifact, args.cert_identity, args.cert_oidc_issuer
                    ))
                )?,
                None => {
                    writeln!(
                        err,
                        "{}: {} not verified by any bundle in {}",
                        estyle.error(),
                        args.artifact,
                        args.bundle.display()
                    )?;
                    for (origin, r) in &o.results {
                        if let Err(e) = r {
                            writeln!(err, "    {origin}: {e}")?;
                        }
                    }
                }
            },
        }
    }
    Ok(if verified {
        Status::Ok
    } else {
        Status::Invalid
    })
}

struct Outcome {
    digests: Vec<Digest>,
    /// Per bundle: verified timestamps, or the reason it failed.
    results: Vec<(String, Result<Vec<String>, String>)>,
    /// The first bundle that verified.
    passed: Option<String>,
}

fn check(args: &BundleArgs) -> Result<Outcome, String> {
    let trust =
        super::load_trust_root(args.trusted_root.as_deref()).map_err(|e| format!("{e:#}"))?;
    let digests = artifact_digests(&args.artifact)?;
    let bytes = std::fs::read(&args.bundle)
        .map_err(|e| format!("cannot read `{}`: {e}", args.bundle.display()))?;
    let mut results = Vec::new();
    let mut passed = None;
    for candidate in parse_attestations(&args.bundle.display().to_string(), &bytes) {
        let result = match &candidate.bundle {
            Err(e) => Err(e.to_string()),
            Ok(bundle) => verify_bundle_exact(
                &trust,
                bundle,
                &digests,
                &args.cert_identity,
                &args.cert_oidc_issuer,
            )
            .map(|v| {
                v.timestamps()
                    .iter()
                    .map(|t| t.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .collect()
            })
            .map_err(|e| e.to_string()),
        };
        if result.is_ok() && passed.is_none() {
            passed = Some(candidate.origin.clone());
        }
        results.push((candidate.origin, result));
    }
    if results.is_empty() {
        return Err(format!("`{}` holds no bundle", args.bundle.display()));
    }
    Ok(Outcome {
        digests,
        results,
        passed,
    })
}

/// `sha256:`/`sha512:` as given, or both digests of a file (one streaming pass).
fn artifact_digests(artifact: &str) -> Result<Vec<Digest>, String> {
    if artifact.starts_with("sha256:") || artifact.starts_with("sha512:") {
        return artifact
            .parse::<Digest>()
            .map(|d| vec![d])
            .map_err(|e| e.to_string());
    }
    let (sha256, sha512) =
        sha256_and_sha512_file(Path::new(artifact)).map_err(|e| format!("{e}: {}", e.source))?;
    Ok(vec![Digest::Sha256(sha256), Digest::Sha512(sha512)])
}
