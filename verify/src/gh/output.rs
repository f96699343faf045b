//! gh's `--format json` output: a JSON array of `{"attestation", "verificationResult"}`, the
//! shape of cli/cli's `AttestationProcessingResult` with sigstore-go's `VerificationResult`
//! inside (`mediaType`, `statement`, `signature.certificate` = the certificate summary,
//! `verifiedTimestamps[{type, uri, timestamp}]`, `verifiedIdentity`).
//!
//! brew reads `verificationResult.statement.subject[].name` and
//! `verificationResult.verifiedTimestamps[0].timestamp`; the rest is there for policy engines
//! that read gh's output. Everything here is built from a bundle that has already verified.

use bottle_attest::VerifiedBundle;
use bottle_attest::digest::Digest;
use bottle_attest::verify::TimestampKind;
use serde::Serialize;
use serde_json::Value;

/// sigstore-go's `VerificationResultMediaType01`.
pub(crate) const VERIFICATION_RESULT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.verificationresult+json;version=0.1";

/// Fulcio's certificate extensions, sigstore-go's `certificate.Extensions` (JSON names and order
/// as there; empty ones left out).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Extensions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) issuer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) github_workflow_trigger: String,
    #[serde(rename = "githubWorkflowSHA", skip_serializing_if = "String::is_empty")]
    pub(crate) github_workflow_sha: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) github_workflow_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) github_workflow_repository: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) github_workflow_ref: String,
    #[serde(rename = "buildSignerURI", skip_serializing_if = "String::is_empty")]
    pub(crate) build_signer_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) build_signer_digest: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) runner_environment: String,
    #[serde(
        rename = "sourceRepositoryURI",
        skip_serializing_if = "String::is_empty"
    )]
    pub(crate) source_repository_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source_repository_digest: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source_repository_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source_repository_identifier: String,
    #[serde(
        rename = "sourceRepositoryOwnerURI",
        skip_serializing_if = "String::is_empty"
    )]
    pub(crate) source_repository_owner_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source_repository_owner_identifier: String,
    #[serde(rename = "buildConfigURI", skip_serializing_if = "String::is_empty")]
    pub(crate) build_config_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) build_config_digest: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) build_trigger: String,
    #[serde(rename = "runInvocationURI", skip_serializing_if = "String::is_empty")]
    pub(crate) run_invocation_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) source_repository_visibility_at_signing: String,
}

/// sigstore-go's `certificate.Summary`: the issuer's distinguished name, the SAN, and the
/// extensions flattened beside them.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateSummary {
    pub(crate) certificate_issuer: String,
    pub(crate) subject_alternative_name: String,
    #[serde(flatten)]
    pub(crate) extensions: Extensions,
}

impl CertificateSummary {
    /// Summarise the verified signing certificate of `verified`. The DER is the one whose chain
    /// `sigstore-verify` checked; the SAN is the one it extracted.
    pub(crate) fn of(verified: &VerifiedBundle) -> anyhow::Result<Self> {
        use x509_cert::der::Decode as _;
        let claims = verified.claims();
        let cert = x509_cert::Certificate::from_der(&claims.certificate_der)
            .map_err(|e| anyhow::anyhow!("the signing certificate does not parse: {e}"))?;
        let mut ext = Extensions::default();
        for e in cert.tbs_certificate.extensions.iter().flatten() {
            let oid = e.extn_id.to_string();
            let Some(arc) = oid.strip_prefix("1.3.6.1.4.1.57264.1.") else {
                continue;
            };
            let raw = e.extn_value.as_bytes();
            // .1.1–.1.6 are the deprecated raw-string extensions; .1.8 onwards are DER strings.
            let text = || String::from_utf8_lossy(raw).into_owned();
            let der = || der_string(raw);
            match arc {
                "1" => ext.issuer = text(),
                "2" => ext.github_workflow_trigger = text(),
                "3" => ext.github_workflow_sha = text(),
                "4" => ext.github_workflow_name = text(),
                "5" => ext.github_workflow_repository = text(),
                "6" => ext.github_workflow_ref = text(),
                "8" => ext.issuer = der(),
                "9" => ext.build_signer_uri = der(),
                "10" => ext.build_signer_digest = der(),
                "11" => ext.runner_environment = der(),
                "12" => ext.source_repository_uri = der(),
                "13" => ext.source_repository_digest = der(),
                "14" => ext.source_repository_ref = der(),
                "15" => ext.source_repository_identifier = der(),
                "16" => ext.source_repository_owner_uri = der(),
                "17" => ext.source_repository_owner_identifier = der(),
                "18" => ext.build_config_uri = der(),
                "19" => ext.build_config_digest = der(),
                "20" => ext.build_trigger = der(),
                "21" => ext.run_invocation_uri = der(),
                "22" => ext.source_repository_visibility_at_signing = der(),
                _ => {}
            }
        }
        if ext.issuer.is_empty() {
            ext.issuer = claims.issuer.clone().unwrap_or_default();
        }
        Ok(Self {
            certificate_issuer: cert.tbs_certificate.issuer.to_string(),
            subject_alternative_name: claims.identity.clone().unwrap_or_default(),
            extensions: ext,
        })
    }
}

/// A DER `UTF8String` (or any string type) as text; undecodable values as lossy UTF-8 of the
/// content, so that an odd extension never hides the others.
fn der_string(raw: &[u8]) -> String {
    use x509_cert::der::Decode as _;
    use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
    if let Ok(s) = Utf8StringRef::from_der(raw) {
        return s.as_str().to_owned();
    }
    if let Ok(s) = Ia5StringRef::from_der(raw) {
        return s.as_str().to_owned();
    }
    if let Ok(s) = PrintableStringRef::from_der(raw) {
        return s.as_str().to_owned();
    }
    String::from_utf8_lossy(raw).into_owned()
}

/// The `verifiedIdentity` gh reports: the SAN matcher, the issuer matcher (gh accepts any and
/// checks the issuer with the other extensions) and the runner environment when enforced.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifiedIdentity {
    pub(crate) subject_alternative_name: Matcher,
    pub(crate) issuer: IssuerMatcher,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) runner_environment: String,
}

/// sigstore-go's `SubjectAlternativeNameMatcher`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Matcher {
    pub(crate) subject_alternative_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) regexp: String,
}

/// sigstore-go's `IssuerMatcher`.
#[derive(Debug, Serialize)]
pub(crate) struct IssuerMatcher {
    pub(crate) issuer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) regexp: String,
}

/// Where the verified times came from, to fill `verifiedTimestamps[].uri` as sigstore-go does
/// (the log's base URL, the TSA's URI), read from the trusted root in use.
pub(crate) struct TimeSources {
    /// (log id as base64, base URL).
    tlogs: Vec<(String, String)>,
    tsas: Vec<String>,
}

impl TimeSources {
    /// From a trusted root (or client trust config) JSON; empty when it does not parse.
    pub(crate) fn from_root_json(text: &str) -> Self {
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let root = value.get("trustedRoot").unwrap_or(&value);
        let str_at = |v: &Value, path: &[&str]| {
            path.iter()
                .try_fold(v, |v, k| v.get(*k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let tlogs = root
            .get("tlogs")
            .and_then(Value::as_array)
            .map(|logs| {
                logs.iter()
                    .filter_map(|l| {
                        Some((
                            str_at(l, &["logId", "keyId"])?,
                            str_at(l, &["baseUrl"]).unwrap_or_default(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tsas = root
            .get("timestampAuthorities")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(|a| str_at(a, &["uri"])).collect())
            .unwrap_or_default();
        Self { tlogs, tsas }
    }

    fn tlog_uri(&self, bundle: &Value) -> String {
        let log_id = bundle
            .pointer("/verificationMaterial/tlogEntries/0/logId/keyId")
            .and_then(Value::as_str);
        match log_id {
            Some(id) => self
                .tlogs
                .iter()
                .find(|(k, _)| k == id)
                .map(|(_, url)| url.clone())
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// The URI of the TSA that vouched for a time, as sigstore-go reports it (the
    /// `timestampAuthorities[].uri` of the one that verified). Which one verified is not
    /// known here, so it is given only when every TSA of the root has the same URI: one TSA,
    /// or GitHub's root, whose six key generations are all `timestamp.githubapp.com`.
    fn tsa_uri(&self) -> String {
        match self.tsas.split_first() {
            Some((first, rest)) if rest.iter().all(|u| u == first) => first.clone(),
            _ => String::new(),
        }
    }
}

/// One element of gh's JSON array.
pub(crate) fn result_json(
    bundle: &Value,
    verified: &VerifiedBundle,
    summary: &CertificateSummary,
    identity: &VerifiedIdentity,
    times: &TimeSources,
    artifact: &Digest,
) -> Value {
    let timestamps: Vec<Value> = verified
        .timestamps()
        .iter()
        .map(|t| {
            let (kind, uri) = match t.kind {
                TimestampKind::Transparency => ("Tlog", times.tlog_uri(bundle)),
                TimestampKind::Timestamp => ("TimestampAuthority", times.tsa_uri()),
            };
            serde_json::json!({
                "type": kind,
                "uri": uri,
                "timestamp": t.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            })
        })
        .collect();
    let mut result = serde_json::Map::new();
    result.insert(
        "mediaType".into(),
        Value::String(VERIFICATION_RESULT_MEDIA_TYPE.into()),
    );
    if let Some(statement) = verified.statement() {
        // The payload parsed into this statement, so it is JSON: `raw` does not fail.
        let raw = statement
            .raw()
            .map_or(Value::Null, |raw| only_subjects_of(raw, artifact));
        result.insert("statement".into(), raw);
    }
    result.insert(
        "signature".into(),
        serde_json::json!({ "certificate": summary }),
    );
    result.insert("verifiedTimestamps".into(), Value::Array(timestamps));
    result.insert(
        "verifiedIdentity".into(),
        serde_json::to_value(identity).unwrap_or(Value::Null),
    );
    serde_json::json!({
        "attestation": { "bundle": bundle, "bundle_url": "" },
        "verificationResult": Value::Object(result),
    })
}

/// `statement` with only the subjects that carry `artifact`'s digest.
///
/// brew picks the attestation whose subjects *name* the bottle, while gh (and we) check that
/// some subject carries the bottle's *digest*; neither checks that it is the same subject. An
/// attestation naming bottle A on one subject and carrying A's digest on another (under B's
/// name) would pass both. Printing only the subjects with the artifact's digest closes that:
/// brew then finds the bottle's name only on a subject that carries its bytes.
fn only_subjects_of(mut statement: Value, artifact: &Digest) -> Value {
    let (algorithm, hex) = (artifact.algorithm(), artifact.hex());
    if let Some(Value::Array(subjects)) = statement.get_mut("subject") {
        subjects.retain(|s| {
            s.pointer(&format!("/digest/{algorithm}"))
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
        });
    }
    statement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_artifacts_subjects_are_printed() {
        let ours = "ab".repeat(32);
        let statement = serde_json::json!({"subject": [
            {"name": "a--1.0.sonoma.bottle.tar.gz", "digest": {"sha256": "cd".repeat(32)}},
            {"name": "b--1.0.sonoma.bottle.tar.gz", "digest": {"sha256": ours.to_uppercase()}},
            {"name": "c--1.0.sonoma.bottle.tar.gz", "digest": {"sha512": ours}},
        ]});
        let digest = Digest::Sha256(bottle_attest::Sha256Hash::from_hex(&"ab".repeat(32)).unwrap());
        let kept = only_subjects_of(statement, &digest);
        let names: Vec<&str> = kept["subject"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b--1.0.sonoma.bottle.tar.gz"]);
    }
}
