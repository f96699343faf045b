//! `--explain`: what a pass proves, and what it does not (DESIGN.md §4, "Honest output").

use std::io::Write;

use bottle_attest::VerifiedBundle;
use bottle_attest::policy::Pass;
use bottle_attest::statement::Subject;
use bottle_attest::verify::{CertificateClaims, TimestampKind, VerifiedTimestamp};

pub(crate) fn write(out: &mut impl Write, pass: &Pass) -> std::io::Result<()> {
    writeln!(out, "    What this proves:")?;
    proven(
        out,
        Some((&pass.subject.name, &pass.predicate_type)),
        &pass.claims,
        &pass.timestamps,
    )?;
    if let Some(statement) = pass.bundle.statement() {
        let build_type = statement
            .predicate
            .pointer("/buildDefinition/buildType")
            .and_then(serde_json::Value::as_str);
        if build_type == Some(bottle_attest::provenance::BACKFILL_BUILD_TYPE) {
            writeln!(
                out,
                "      - The statement says it is a backfill ({}): an attestation made for a bottle that",
                bottle_attest::provenance::BACKFILL_BUILD_TYPE
            )?;
            writeln!(
                out,
                "        already existed, not a record of how it was built."
            )?;
            let signed = statement
                .predicate
                .pointer("/runDetails/metadata/startedOn")
                .and_then(serde_json::Value::as_str);
            if let Some(signed) = signed {
                writeln!(out, "        The backfill run started at {signed}.")?;
            }
            let inputs = statement
                .predicate
                .pointer("/buildDefinition/resolvedDependencies")
                .and_then(serde_json::Value::as_array);
            let ours = pass.subject.sha256.map(|d| d.to_hex());
            let this = inputs.and_then(|deps| {
                deps.iter().find(|d| {
                    d.pointer("/digest/sha256")
                        .and_then(serde_json::Value::as_str)
                        == ours.as_deref()
                })
            });
            if let Some(uri) = this.and_then(|d| d["uri"].as_str()) {
                writeln!(out, "        Its input: {uri} (this digest).")?;
            }
        }
    }
    if pass.source_index > 0 {
        writeln!(
            out,
            "      - This is a fallback ({}) attestation, consulted only because no earlier source had one.",
            pass.source
        )?;
        writeln!(
            out,
            "        It records that this digest was vouched for before the source's cutoff, not how the"
        )?;
        writeln!(out, "        bottle was built.")?;
    }
    not_proven(
        out,
        "That this is the bottle brew expects for a formula version: compare the sha256 with the",
        "formula's; provenance adds who built it, not which it should be.",
    )
}

/// `brew-verify bundle --explain` after a pass: what the verified bundle proves about the
/// artifact, under an identity the user chose (exact, or a pattern).
pub(crate) fn write_bundle(
    out: &mut impl Write,
    verified: &VerifiedBundle,
    subject: Option<&Subject>,
    pattern: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out, "    What this proves:")?;
    match (subject, verified.statement()) {
        (Some(subject), Some(statement)) => proven(
            out,
            Some((&subject.name, &statement.predicate_type)),
            verified.claims(),
            verified.timestamps(),
        )?,
        _ => {
            writeln!(
                out,
                "      - These exact bytes were signed directly (a message signature, no statement)."
            )?;
            proven(out, None, verified.claims(), verified.timestamps())?;
        }
    }
    if let Some(pattern) = pattern {
        writeln!(
            out,
            "      - The signer was accepted by a pattern, `{pattern}`: any identity it matches"
        )?;
        writeln!(out, "        could have signed.")?;
    }
    not_proven(
        out,
        "That this is the artifact you meant to get: the signer vouches for these bytes, not for",
        "which version you should have; compare the digest with one from a source you trust.",
    )
}

/// The signer, the workflow claims and the verified times (the first part of "What this
/// proves"); `subject` is the statement subject and predicate type, when there is a statement.
fn proven(
    out: &mut impl Write,
    subject: Option<(&str, &str)>,
    c: &CertificateClaims,
    timestamps: &[VerifiedTimestamp],
) -> std::io::Result<()> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not stated)".into());
    if let Some((name, predicate_type)) = subject {
        writeln!(
            out,
            "      - These exact bytes are subject `{name}` of a `{predicate_type}` statement."
        )?;
    }
    writeln!(
        out,
        "      - It was signed with a short-lived certificate that the trusted Sigstore CA issued to"
    )?;
    writeln!(out, "        {}", dash(&c.identity))?;
    writeln!(out, "        (issuer {}).", dash(&c.issuer))?;
    writeln!(out, "      - The certificate says the workflow ran for:")?;
    writeln!(
        out,
        "          repository  {}",
        dash(&c.source_repository_uri)
    )?;
    writeln!(
        out,
        "          commit      {}",
        dash(&c.source_repository_digest)
    )?;
    writeln!(
        out,
        "          ref         {}",
        dash(&c.source_repository_ref)
    )?;
    writeln!(out, "          trigger     {}", dash(&c.build_trigger))?;
    writeln!(out, "          runner      {}", dash(&c.runner_environment))?;
    writeln!(out, "          run         {}", dash(&c.run_invocation_uri))?;
    for t in timestamps {
        writeln!(
            out,
            "      - The signature was {} at {} (verified).",
            match t.kind {
                TimestampKind::Transparency => "recorded in the Rekor transparency log",
                TimestampKind::Timestamp => "timestamped by a trusted timestamp authority",
            },
            t.time.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
    Ok(())
}

/// "What this does not prove", with the one line that depends on what was verified (two text
/// lines: `which` and its continuation).
fn not_proven(out: &mut impl Write, which: &str, which_cont: &str) -> std::io::Result<()> {
    writeln!(out, "    What this does not prove:")?;
    writeln!(
        out,
        "      - That the source is free of malicious changes: anyone who can push to the repository or"
    )?;
    writeln!(out, "        run its workflows can get it attested.")?;
    writeln!(out, "      - {which}")?;
    writeln!(out, "        {which_cont}")?;
    writeln!(
        out,
        "      - That the build was reproducible, hermetic, or ran on a runner you would trust: the"
    )?;
    writeln!(out, "        runner kind above is the certificate's claim.")?;
    Ok(())
}
