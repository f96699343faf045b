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

/// A kind of authority a trusted root lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// A Fulcio CA (`certificateAuthorities`).
    Fulcio,
    /// A Rekor log, a shard (`tlogs`).
    Rekor,
    /// A certificate transparency log (`ctlogs`).
    Ct,
    /// An RFC 3161 timestamp authority (`timestampAuthorities`).
    Tsa,
}

impl Authority {
    const ALL: [Authority; 4] = [
        Authority::Fulcio,
        Authority::Rekor,
        Authority::Ct,
        Authority::Tsa,
    ];

    fn field(self) -> &'static str {
        match self {
            Authority::Fulcio => "certificateAuthorities",
            Authority::Rekor => "tlogs",
            Authority::Ct => "ctlogs",
            Authority::Tsa => "timestampAuthorities",
        }
    }

    /// The entry's `validFor`: a log's is its key's, a CA's or TSA's its own.
    fn window(self, entry: &mut Value) -> &mut Value {
        match self {
            Authority::Rekor | Authority::Ct => &mut entry["publicKey"]["validFor"],
            Authority::Fulcio | Authority::Tsa => &mut entry["validFor"],
        }
    }
}

/// The trusted root of an instance whose authorities rotated at `at`: every authority of `old`
/// and of `new` (two kit stacks' `trusted_root.json`), where for each kind in `rotated` the old
/// ones stop (`validFor.end`) and the new ones start (`validFor.start`) at `at`, as Sigstore's
/// public-good root records a retired Fulcio CA, Rekor shard or TSA. Kinds not in `rotated`
/// keep both stacks' authorities over their whole windows.
///
/// So a bundle `old` minted before `at` and one `new` minted after it both verify under the
/// result, and one `old` minted after `at` from a rotated authority does not.
pub fn rotate_trusted_root(
    old: &str,
    new: &str,
    at: chrono::DateTime<chrono::Utc>,
    rotated: &[Authority],
) -> String {
    let mut merged: Value = serde_json::from_str(old).expect("the old trusted root is JSON");
    let new: Value = serde_json::from_str(new).expect("the new trusted root is JSON");
    let at = rfc3339(at);
    for kind in Authority::ALL {
        let rotates = rotated.contains(&kind);
        let mut entries: Vec<Value> = merged[kind.field()].as_array().cloned().unwrap_or_default();
        if rotates {
            for entry in &mut entries {
                kind.window(entry)["end"] = json!(at);
            }
        }
        for entry in new[kind.field()].as_array().into_iter().flatten() {
            let mut entry = entry.clone();
            if rotates {
                kind.window(&mut entry)["start"] = json!(at);
            }
            entries.push(entry);
        }
        merged[kind.field()] = Value::Array(entries);
    }
    serde_json::to_string_pretty(&merged).expect("a JSON value serializes")
}
