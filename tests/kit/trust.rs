//! The kit's trust material as Sigstore clients read it: a `trusted_root.json`
//! (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`) listing the test Fulcio chain,
//! the Rekor key, the CT log key and the TSA chain, and a `ClientTrustConfig` that adds a signing
//! config pointing at the kit's URLs (what sigstore-python's `--trust-config` takes).

use serde_json::{Value, json};

use crate::pki::{b64, ca_validity};

/// What the trusted root lists. DER throughout.
pub(crate) struct TrustMaterial<'a> {
    pub(crate) fulcio_url: &'a str,
    pub(crate) fulcio_chain: &'a [&'a [u8]],
    pub(crate) rekor_url: &'a str,
    pub(crate) rekor_spki: &'a [u8],
    pub(crate) rekor_log_id: [u8; 32],
    pub(crate) ct_url: &'a str,
    pub(crate) ct_spki: &'a [u8],
    pub(crate) ct_log_id: [u8; 32],
    pub(crate) tsa: Option<(&'a str, Vec<&'a [u8]>)>,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn window() -> Value {
    let (start, end) = ca_validity();
    json!({"start": rfc3339(start), "end": rfc3339(end)})
}

fn chain(certificates: &[&[u8]]) -> Value {
    json!({"certificates": certificates
        .iter()
        .map(|der| json!({"rawBytes": b64(der)}))
        .collect::<Vec<_>>()})
}

fn log(url: &str, spki: &[u8], log_id: [u8; 32]) -> Value {
    json!({
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": window(),
        },
        "logId": {"keyId": b64(log_id)},
    })
}

/// The trusted root for the kit's services.
pub(crate) fn trusted_root(material: &TrustMaterial<'_>) -> Value {
    let timestamp_authorities: Vec<Value> = material
        .tsa
        .iter()
        .map(|(url, certificates)| {
            json!({
                "subject": {"organization": "brew-verify.test", "commonName": "sigstore-tsa-selfsigned"},
                "uri": url,
                "certChain": chain(certificates),
                "validFor": window(),
            })
        })
        .collect();
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [log(material.rekor_url, material.rekor_spki, material.rekor_log_id)],
        "certificateAuthorities": [{
            "subject": {"organization": "brew-verify.test", "commonName": "sigstore"},
            "uri": material.fulcio_url,
            "certChain": chain(material.fulcio_chain),
            "validFor": window(),
        }],
        "ctlogs": [log(material.ct_url, material.ct_spki, material.ct_log_id)],
        "timestampAuthorities": timestamp_authorities,
    })
}

/// A `ClientTrustConfig` (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`): the
/// trusted root plus a v0.2 signing config naming the kit's Fulcio, Rekor v1 and TSA.
pub(crate) fn trust_config(material: &TrustMaterial<'_>) -> Value {
    let (start, _) = ca_validity();
    let service = |url: &str| {
        json!({
            "url": url,
            "majorApiVersion": 1,
            "validFor": {"start": rfc3339(start)},
            "operator": "brew-verify.test",
        })
    };
    let tsa_urls: Vec<Value> = material.tsa.iter().map(|(url, _)| service(url)).collect();
    json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root(material),
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(material.fulcio_url)],
            "oidcUrls": [],
            "rekorTlogUrls": [service(material.rekor_url)],
            "tsaUrls": tsa_urls,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    })
}
