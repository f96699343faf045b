//! `--json`: one object per bottle, schema `brew-verify.result/v1` (documented in the README).
//! Fields are only ever added within a schema version, never renamed or removed.

use bottle_attest::policy::Verdict;
use bottle_attest::verify::{TimestampKind, VerifiedTimestamp};
use bottle_attest_net::checker::FormulaData;
use serde_json::{Value, json};

use super::{BottleReport, Outcome};

pub(crate) const SCHEMA: &str = "brew-verify.result/v1";

/// One bottle's object; with `explain`, an `explanation` field holding the text `--explain`
/// prints (what a pass proves, or what was looked up where and what failed).
pub(crate) fn bottle(
    report: &BottleReport,
    explain: &super::Explain,
    root: Option<&bottle_attest_net::trust::RootInfo>,
) -> Value {
    let bottle = report.bottle.as_ref().map(|b| {
        json!({
            "file_name": b.filename.to_string(),
            "name": b.filename.name(),
            "version": b.filename.version(),
            "tag": b.filename.tag(),
            "rebuild": b.filename.rebuild(),
            "sha256": hex::encode(b.digest.as_bytes()),
        })
    });
    let mut obj = json!({
        "schema": SCHEMA,
        "input": report.input,
        "bottle": bottle,
        "status": status_word(report),
        "exit_code": super::status(report) as u8,
    });
    let extra = match &report.outcome {
        Outcome::Verdict(Verdict::Verified(pass)) => json!({
            "source": pass.source,
            "source_index": pass.source_index,
            "origin": pass.origin,
            "subject": pass.subject,
            "predicate_type": pass.predicate_type,
            "certificate": pass.claims,
            "instance": pass.bundle.instance(),
            "verified_timestamps": timestamps(&pass.timestamps),
        }),
        Outcome::Verdict(Verdict::Invalid {
            source,
            source_index,
            failures,
        }) => json!({
            "source": source,
            "source_index": source_index,
            "failures": failures.iter().map(|f| json!({
                "origin": f.origin,
                "reason": f.reason.to_string(),
            })).collect::<Vec<_>>(),
            "hint": super::stale_root_hint(report),
        }),
        Outcome::Verdict(Verdict::Missing { sources }) => json!({ "sources_checked": sources }),
        Outcome::Verdict(Verdict::Unavailable { source, error }) => {
            json!({
                "source": source,
                "error": super::with_causes(error),
                "hint": super::hint(error),
            })
        }
        Outcome::Error(error) => json!({
            "error": super::with_causes(error.as_ref()),
            "hint": super::hint(error.as_ref()),
        }),
        Outcome::Refused(why) => json!({ "error": super::with_causes(why.as_ref()) }),
    };
    if let (Value::Object(o), Value::Object(e)) = (&mut obj, extra) {
        o.extend(e);
        if let Some(data) = &report.formula_data {
            o.insert("formula_data".into(), formula_data(data));
        }
        if let Some(root) = root {
            o.insert(
                "trust_root".into(),
                crate::commands::trust::trust_root_json(root),
            );
        }
        o.insert(
            "ignored".into(),
            report
                .ignored
                .iter()
                .map(|(origin, repo)| json!({"origin": origin, "repository": repo}))
                .collect(),
        );
        if explain.is_on() {
            let mut text = Vec::new();
            let written = match &report.outcome {
                Outcome::Verdict(Verdict::Verified(pass)) => super::explain::write(
                    &mut text,
                    pass,
                    report.formula_data.as_ref(),
                    explain.setting(),
                ),
                _ => super::explain::write_failure(&mut text, report, explain.setting()),
            };
            // Writing into a Vec cannot fail; an explanation is never worth losing the result.
            if written.is_ok() {
                o.insert(
                    "explanation".into(),
                    String::from_utf8_lossy(&text).into_owned().into(),
                );
            }
        }
    }
    obj
}

/// `[{kind, time}]`, as `result/v1` and `bundle/v2` both write verified timestamps: `kind`
/// is `transparency-log` or `timestamp-authority`, `time` RFC 3339 in UTC to the second.
/// Earliest first, in both.
/// Which formula data named the bottle: `{"source": "signed-api", url, date, key_id}` or
/// `{"source": "formula-json"}`.
fn formula_data(data: &FormulaData) -> Value {
    match data {
        FormulaData::SignedApi { url, date, key_id } => json!({
            "source": "signed-api",
            "url": url,
            "date": date,
            "key_id": key_id,
        }),
        FormulaData::UserFile => json!({ "source": "formula-json" }),
    }
}

pub(crate) fn timestamps(timestamps: &[VerifiedTimestamp]) -> Value {
    let mut sorted: Vec<&VerifiedTimestamp> = timestamps.iter().collect();
    sorted.sort_by_key(|t| t.time);
    sorted
        .into_iter()
        .map(|t| {
            json!({
                "kind": match t.kind {
                    TimestampKind::Transparency => "transparency-log",
                    TimestampKind::Timestamp => "timestamp-authority",
                },
                "time": t.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect()
}

/// The object for an input when the run stopped before checking anything (an unreadable
/// `--bundle` file, a bad policy, a usage error): every input still gets its line on stdout,
/// `status` `error` with the exit status of the run, and the error is on stderr as well.
pub(crate) fn stopped(input: &str, error: &anyhow::Error, exit_code: u8) -> Value {
    let causes: &(dyn std::error::Error + 'static) = error.as_ref();
    json!({
        "schema": SCHEMA,
        "input": input,
        "bottle": null,
        "status": "error",
        "exit_code": exit_code,
        "error": format!("{error:#}"),
        "hint": super::hint(causes),
        "ignored": [],
    })
}

fn status_word(report: &BottleReport) -> &'static str {
    match &report.outcome {
        Outcome::Verdict(Verdict::Verified(_)) => "verified",
        Outcome::Verdict(Verdict::Invalid { .. }) | Outcome::Refused(_) => "invalid",
        Outcome::Verdict(Verdict::Missing { .. }) => "missing",
        Outcome::Verdict(Verdict::Unavailable { .. }) | Outcome::Error(_) => "error",
    }
}
