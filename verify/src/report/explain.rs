//! `--explain`: what a pass proves, and what it does not (DESIGN.md §4, "Honest output").

use std::io::Write;

use bottle_attest::VerifiedBundle;
use bottle_attest::policy::Pass;
use bottle_attest::statement::Subject;
use bottle_attest::trust::Instance;
use bottle_attest::verify::{CertificateClaims, TimestampKind, VerifiedTimestamp};
use bottle_attest_net::checker::FormulaData;

pub(crate) fn write(
    out: &mut impl Write,
    pass: &Pass,
    formula_data: Option<&FormulaData>,
    setting: Option<&Setting>,
) -> std::io::Result<()> {
    write_pass(out, pass, formula_data)?;
    if let Some(setting) = setting {
        writeln!(out, "    Trusted root: {}.", setting.root)?;
    }
    Ok(())
}

fn write_pass(
    out: &mut impl Write,
    pass: &Pass,
    formula_data: Option<&FormulaData>,
) -> std::io::Result<()> {
    writeln!(out, "    What this proves:")?;
    proven(
        out,
        Some((&pass.subject.name, &pass.predicate_type)),
        &pass.claims,
        &pass.timestamps,
        pass.bundle.instance(),
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
    match formula_data {
        Some(FormulaData::SignedApi { url, date, key_id }) => {
            writeln!(
                out,
                "      - The sha256 is the one Homebrew's signed formula API names for this formula and tag:"
            )?;
            writeln!(
                out,
                "        {}.",
                signed_document(url, date.as_deref(), key_id)
            )?;
            not_proven(
                out,
                "That this formula version is free of known holes: the signed API names the version",
                "Homebrew ships now, and a pass says who built its bottle.",
            )
        }
        Some(FormulaData::UserFile) => not_proven(
            out,
            "That the --formula-json file you gave names the bottle brew expects: it was taken as",
            "given, not signature-checked; provenance adds who built it, not which it should be.",
        ),
        None => not_proven(
            out,
            "That this is the bottle brew expects for a formula version: compare the sha256 with the",
            "formula's; provenance adds who built it, not which it should be.",
        ),
    }
}

/// `URL, signed by key K (its signature verified), dated D`.
fn signed_document(url: &str, date: Option<&str>, key_id: &str) -> String {
    format!(
        "{url}, signed by key {key_id} (signature verified){}",
        date.map(|d| format!(", dated {d}")).unwrap_or_default()
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
            verified.instance(),
        )?,
        _ => {
            writeln!(
                out,
                "      - These exact bytes were signed directly (a message signature, no statement)."
            )?;
            proven(
                out,
                None,
                verified.claims(),
                verified.timestamps(),
                verified.instance(),
            )?;
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
    instance: Instance,
) -> std::io::Result<()> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not stated)".into());
    if let Some((name, predicate_type)) = subject {
        writeln!(
            out,
            "      - These exact bytes are subject `{name}` of a `{predicate_type}` statement."
        )?;
    }
    match instance {
        Instance::PublicGood => writeln!(
            out,
            "      - It was signed with a short-lived certificate that the trusted Sigstore CA issued to"
        )?,
        Instance::GitHub => writeln!(
            out,
            "      - It was signed with a short-lived certificate that GitHub's Sigstore CA (its instance for\n        private repositories) issued to"
        )?,
    }
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
    if instance == Instance::GitHub {
        writeln!(
            out,
            "      - It is in no public transparency log: GitHub's instance keeps none, so nobody outside"
        )?;
        writeln!(
            out,
            "        GitHub can audit which certificates it issued; its time is its timestamp authority's."
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

/// What a run looked up and where, for explaining a bottle that did not verify: built from the
/// same flags as the checker ([`crate::commands::context::explain_setting`]) and held by the
/// [`super::Reporter`] that the check and `provenance` report through.
#[derive(Debug)]
pub(crate) struct Setting {
    /// The policy in force.
    pub(crate) policy: bottle_attest::Policy,
    /// `the built-in homebrew-core policy` / `the policy file FILE`.
    pub(crate) policy_origin: String,
    /// Where attestations were looked for, in order (`the --bundle files …`, `the attestation
    /// cache DIR`, `the GitHub attestations API at URL`, …).
    pub(crate) places: Vec<String>,
    /// `the embedded Sigstore public-good root` / `the trusted root FILE`.
    pub(crate) root: String,
}

impl Setting {
    /// One line for `--debug`: the policy, the root and where attestations are looked up.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} ({} source{}), {}; attestations from {}",
            self.policy_origin,
            self.policy.sources.len(),
            if self.policy.sources.len() == 1 {
                ""
            } else {
                "s"
            },
            self.root,
            self.places.join(", then ")
        )
    }
}

/// `--explain` for a bottle that did not verify: what was looked up where, and what failed.
/// Written after the error lines, on the same stream (stderr), or into JSON's `explanation`.
pub(crate) fn write_failure(
    out: &mut impl Write,
    report: &super::BottleReport,
    setting: Option<&Setting>,
) -> std::io::Result<()> {
    use bottle_attest::policy::{RefRule, WorkflowRule};
    use bottle_attest::policy::{SubjectRule, Verdict, When};

    use super::Outcome;

    writeln!(out, "    What was looked up:")?;
    match &report.bottle {
        Some(b) => {
            writeln!(
                out,
                "      - The bottle {} with sha256:{}.",
                b.filename,
                b.digest.to_hex()
            )?;
            match &report.formula_data {
                Some(FormulaData::SignedApi { url, date, key_id }) => writeln!(
                    out,
                    "        Its sha256 came from Homebrew's signed formula API: {}.",
                    signed_document(url, date.as_deref(), key_id)
                )?,
                Some(FormulaData::UserFile) => writeln!(
                    out,
                    "        Its sha256 came from the --formula-json file you gave (taken as given)."
                )?,
                None => {}
            }
        }
        None => writeln!(
            out,
            "      - `{}` could not be resolved to a bottle (a file name and digest), so no \
             attestation was looked up.",
            super::human::shorten_arg(&report.input)
        )?,
    }
    if let (Some(setting), Some(bottle)) = (setting, &report.bottle) {
        if !setting.places.is_empty() {
            writeln!(out, "      - Attestations for that digest, from:")?;
            for place in &setting.places {
                writeln!(out, "          {place}")?;
            }
        }
        writeln!(
            out,
            "      - Under {}, each verified against {}; the sources, in order:",
            setting.policy_origin, setting.root
        )?;
        for (i, source) in setting.policy.sources.iter().enumerate() {
            let workflows = match &source.workflows {
                WorkflowRule::Any => "any workflow".to_owned(),
                WorkflowRule::OneOf(names) => names.join(" or "),
            };
            let refs = match &source.refs {
                RefRule::Any => "any ref".to_owned(),
                RefRule::OneOf(refs) => refs.join(" or "),
            };
            let subject = match &source.subject {
                SubjectRule::Filename => bottle.filename.to_string(),
                SubjectRule::CacheName { root } => bottle.cache_name(root),
            };
            let when = match (i, &source.when) {
                (0, _) => "",
                (_, When::Always) => " (if no earlier source passed)",
                (_, When::EarlierMissing) => " (only if every earlier source had no attestation)",
            };
            writeln!(
                out,
                "          {}. {}{when}: in {},",
                i + 1,
                source.name,
                source.repository
            )?;
            writeln!(
                out,
                "             signed by {workflows} of https://github.com/{}/.github/workflows/ from {refs},",
                source.repository
            )?;
            writeln!(
                out,
                "             issuer {}, predicate {}, a subject `{subject}` with this sha256{}.",
                source.issuer,
                source.predicate_type,
                source
                    .logged_at_or_before
                    .map(|t| format!(
                        ", logged at or before {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ))
                    .unwrap_or_default()
            )?;
        }
    }
    writeln!(out, "    What failed:")?;
    match &report.outcome {
        Outcome::Verdict(Verdict::Verified(_)) => {}
        Outcome::Verdict(Verdict::Missing { sources }) => {
            writeln!(
                out,
                "      - No source had any attestation for this digest (asked: {}).",
                sources.join(", ")
            )?;
            writeln!(
                out,
                "      - Missing is not invalid: nothing was found to fail. brew would refuse the bottle too."
            )?;
        }
        Outcome::Verdict(Verdict::Invalid {
            source,
            source_index,
            failures,
        }) => {
            writeln!(
                out,
                "      - {source} (source {}) had {} attestation{} for this digest and none passed:",
                source_index + 1,
                failures.len(),
                if failures.len() == 1 { "" } else { "s" }
            )?;
            for f in failures {
                writeln!(out, "          {}: {}", f.origin, f.reason)?;
            }
            let later: Vec<&str> = setting
                .map(|s| {
                    s.policy
                        .sources
                        .iter()
                        .skip(source_index + 1)
                        .map(|s| s.name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if !later.is_empty() {
                writeln!(
                    out,
                    "      - {} {} not consulted: a source whose attestation fails is never passed over",
                    later.join(", "),
                    if later.len() == 1 { "was" } else { "were" }
                )?;
                writeln!(
                    out,
                    "        for a later one, so spoiling an attestation cannot downgrade the check."
                )?;
            }
        }
        Outcome::Verdict(Verdict::Unavailable { source, error }) => {
            writeln!(
                out,
                "      - The lookup in {source} failed: {}.",
                super::with_causes(error)
            )?;
            writeln!(
                out,
                "      - Nothing is concluded from a failed lookup (it is not \"missing\"): check again once"
            )?;
            writeln!(
                out,
                "        the lookup can succeed (online, or with the attestation cached)."
            )?;
        }
        Outcome::Error(error) => {
            writeln!(
                out,
                "      - {}: nothing was checked.",
                super::with_causes(error.as_ref())
            )?;
        }
        Outcome::Refused(why) => {
            writeln!(
                out,
                "      - The registry's answer was refused: {}.",
                super::with_causes(why.as_ref())
            )?;
            writeln!(
                out,
                "        The registry must agree with the formula before any attestation counts."
            )?;
        }
    }
    Ok(())
}
