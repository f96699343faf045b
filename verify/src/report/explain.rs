//! `--explain`: what a pass proves, and what it does not (DESIGN.md §4, "Honest output").

use std::io::Write;

use bottle_attest::policy::Pass;

pub(crate) fn write(out: &mut impl Write, pass: &Pass) -> std::io::Result<()> {
    let c = &pass.claims;
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not stated)".into());
    writeln!(out, "    What this proves:")?;
    writeln!(
        out,
        "      - These exact bytes are subject `{}` of a `{}` statement.",
        pass.subject.name, pass.predicate_type
    )?;
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
    for t in &pass.timestamps {
        writeln!(
            out,
            "      - The signature was {} at {} (verified).",
            match t.kind {
                bottle_attest::verify::TimestampKind::Transparency =>
                    "recorded in the Rekor transparency log",
                bottle_attest::verify::TimestampKind::Timestamp =>
                    "timestamped by a trusted timestamp authority",
            },
            t.time.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
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
    writeln!(out, "    What this does not prove:")?;
    writeln!(
        out,
        "      - That the source is free of malicious changes: anyone who can push to the repository or"
    )?;
    writeln!(out, "        run its workflows can get a bottle attested.")?;
    writeln!(
        out,
        "      - That this is the bottle brew expects for a formula version: compare the sha256 with the"
    )?;
    writeln!(
        out,
        "        formula's; provenance adds who built it, not which it should be."
    )?;
    writeln!(
        out,
        "      - That the build was reproducible, hermetic, or ran on a runner you would trust: the"
    )?;
    writeln!(out, "        runner kind above is the certificate's claim.")?;
    Ok(())
}
