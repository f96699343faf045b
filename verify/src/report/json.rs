//! `--json`: one object per bottle, schema `brew-verify.result/v1` (documented in the README).
//! Fields are only ever added within a schema version, never renamed or removed.

use bottle_attest::policy::Verdict;
use serde_json::{Value, json};

use super::{BottleReport, Outcome};

pub(crate) const SCHEMA: &str = "brew-verify.result/v1";

pub(crate) fn bottle(report: &BottleReport) -> Value {
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
            "verified_timestamps": pass.timestamps.iter().map(|t| json!({
                "kind": match t.kind {
                    bottle_attest::verify::TimestampKind::Transparency => "transparency-log",
                    bottle_attest::verify::TimestampKind::Timestamp => "timestamp-authority",
                },
                "time": t.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })).collect::<Vec<_>>(),
        }),
        Outcome::Verdict(Verdict::Invalid { source, failures }) => json!({
            "source": source,
            "failures": failures.iter().map(|f| json!({
                "origin": f.origin,
                "reason": f.reason.to_string(),
            })).collect::<Vec<_>>(),
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
        o.insert(
            "ignored".into(),
            report
                .ignored
                .iter()
                .map(|(origin, repo)| json!({"origin": origin, "repository": repo}))
                .collect(),
        );
    }
    obj
}

fn status_word(report: &BottleReport) -> &'static str {
    match &report.outcome {
        Outcome::Verdict(Verdict::Verified(_)) => "verified",
        Outcome::Verdict(Verdict::Invalid { .. }) | Outcome::Refused(_) => "invalid",
        Outcome::Verdict(Verdict::Missing { .. }) => "missing",
        Outcome::Verdict(Verdict::Unavailable { .. }) | Outcome::Error(_) => "error",
    }
}
