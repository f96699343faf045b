//! The kit's trust material as Sigstore clients read it: a `trusted_root.json`
//! (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`) listing the test Fulcio chain,
//! the Rekor key, the CT log key and the TSA chain, and a `ClientTrustConfig` that adds a signing
//! config pointing at the kit's URLs (what sigstore-python's `--trust-config` takes).

use serde_json::{Value, json};

use crate::pki::{b64, ca_validity};

/// A log the trusted root lists (Rekor or CT): base URL, public key (SPKI DER) and log id.
pub(crate) struct LogMaterial<'a> {
    pub(crate) url: &'a str,
    pub(crate) spki: &'a [u8],
    pub(crate) log_id: [u8; 32],
}

/// What the trusted root lists. DER throughout. GitHub's instance lists no log of either kind.
pub(crate) struct TrustMaterial<'a> {
    pub(crate) organization: &'a str,
    pub(crate) fulcio_url: &'a str,
    pub(crate) fulcio_chain: &'a [&'a [u8]],
    pub(crate) rekor: Option<LogMaterial<'a>>,
    pub(crate) ct: Option<LogMaterial<'a>>,
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

fn log(log: &LogMaterial<'_>) -> Value {
    json!({
        "baseUrl": log.url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(log.spki),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": window(),
        },
        "logId": {"keyId": b64(log.log_id)},
    })
}

/// The trusted root for the kit's services.
pub(crate) fn trusted_root(material: &TrustMaterial<'_>) -> Value {
    let timestamp_authorities: Vec<Value> = material
        .tsa
        .iter()
        .map(|(url, certificates)| {
            json!({
                "subject": {"organization": material.organization, "commonName": "sigstore-tsa-selfsigned"},
                "uri": url,
                "certChain": chain(certificates),
                "validFor": window(),
            })
        })
        .collect();
    let mut root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "certificateAuthorities": [{
            "subject": {"organization": material.organization, "commonName": "sigstore"},
            "uri": material.fulcio_url,
            "certChain": chain(material.fulcio_chain),
            "validFor": window(),
        }],
        "timestampAuthorities": timestamp_authorities,
    });
    // GitHub's root has no `tlogs` or `ctlogs` key at all; neither has the stand-in's.
    if let Some(rekor) = &material.rekor {
        root["tlogs"] = json!([log(rekor)]);
    }
    if let Some(ct) = &material.ct {
        root["ctlogs"] = json!([log(ct)]);
    }
    root
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
            "operator": material.organization,
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
            "rekorTlogUrls": material.rekor.iter().map(|r| service(r.url)).collect::<Vec<_>>(),
            "tsaUrls": tsa_urls,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        },
    })
}
