//! Every case of the real-bundle corpus (`tests/fixtures/corpus/cases.json`) gives its expected
//! verdict through the library: exact identity + issuer, the case's trusted root.
// The test reads the corpus from disk; the core it tests does not (shared/core/clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use bottle_attest::digest::Digest;
use bottle_attest::trust::RootDocument;
use bottle_attest::{TrustRoot, parse_attestations, verify_bundle_exact};
use bottle_attest_net::store::hashing::sha256_and_sha512_file;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus")
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    bundle: String,
    input: String,
    identity: String,
    issuer: String,
    root: String,
    expected: String,
}

fn root_for(case: &Case) -> TrustRoot {
    match case.root.as_str() {
        // The public-good root alone: what `production` meant before GitHub's instance was
        // embedded beside it, so every older case keeps its meaning.
        "production" => TrustRoot::from_instances(
            RootDocument::new("public-good", bottle_attest::trust::PRODUCTION_JSON),
            None,
        )
        .unwrap(),
        // brew-verify's default: the public-good and GitHub roots.
        "production+github" => TrustRoot::production().unwrap(),
        "staging" => {
            let p = corpus().join("roots/trusted_root.staging.json");
            TrustRoot::from_json("staging", &std::fs::read_to_string(p).unwrap()).unwrap()
        }
        other => {
            // Rekor v2 cases name the trust-config wrapper; the bare root sits beside it
            // (SOURCES.md). Both forms load.
            let p = corpus().join(other);
            TrustRoot::from_json(other, &std::fs::read_to_string(p).unwrap()).unwrap()
        }
    }
}

fn digests_for(case: &Case) -> Vec<Digest> {
    if case.input.starts_with("sha256:") || case.input.starts_with("sha512:") {
        vec![case.input.parse().unwrap()]
    } else {
        let (a, b) = sha256_and_sha512_file(&corpus().join(&case.input)).unwrap();
        vec![Digest::Sha256(a), Digest::Sha512(b)]
    }
}

#[test]
fn every_corpus_case_gives_its_expected_verdict() {
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("cases.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), 67, "the corpus has 67 cases");
    let mut wrong = Vec::new();
    for case in &cases {
        let trust = root_for(case);
        let bytes = std::fs::read(corpus().join(&case.bundle)).unwrap();
        let digests = digests_for(case);
        let candidates = parse_attestations(&case.bundle, &bytes);
        let mut errors = Vec::new();
        let passed = candidates.iter().any(|c| match &c.bundle {
            Ok(bundle) => {
                match verify_bundle_exact(&trust, bundle, &digests, &case.identity, &case.issuer) {
                    Ok(_) => true,
                    Err(e) => {
                        errors.push(e.to_string());
                        false
                    }
                }
            }
            Err(e) => {
                errors.push(e.to_string());
                false
            }
        });
        let got = if passed { "PASS" } else { "FAIL" };
        if got != case.expected {
            wrong.push(format!(
                "{}: expected {}, got {} {:?}",
                case.id, case.expected, got, errors
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The SET is verified once per entry since the `patches/sigstore-verify` fix, not skipped: a
/// real GitHub attestation whose SET has one flipped bit is refused, for that reason.
#[test]
fn a_tampered_set_is_refused() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("cases.json")).unwrap())
            .unwrap();
    let case = cases.iter().find(|c| c.id == "gh-cli-2.54.0").unwrap();
    let trust = root_for(case);
    let digests = digests_for(case);
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus().join(&case.bundle)).unwrap()).unwrap();
    let set = &mut json["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"];
    let mut bytes = b64.decode(set.as_str().unwrap()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *set = serde_json::Value::String(b64.encode(bytes));
    let tampered = serde_json::to_vec(&json).unwrap();

    let verify = |bytes: &[u8]| {
        let candidates = parse_attestations(&case.bundle, bytes);
        let bundle = candidates[0].bundle.as_ref().unwrap();
        verify_bundle_exact(&trust, bundle, &digests, &case.identity, &case.issuer)
    };
    let intact = std::fs::read(corpus().join(&case.bundle)).unwrap();
    assert!(verify(&intact).is_ok(), "the intact bundle verifies");
    let err = verify(&tampered).unwrap_err().to_string();
    assert!(
        err.contains("SET verification failed"),
        "refused for another reason: {err}"
    );
}

/// The routing reads only the leaf's issuer (issue 12: a full decode per bundle is a few
/// percent of a verification); for every certificate of the corpus it must give what the
/// whole decode gives.
#[test]
fn the_leaf_issuer_read_alone_is_the_whole_decode_s() {
    use x509_cert::der::Decode;
    const ORGANIZATION: x509_cert::der::oid::ObjectIdentifier =
        x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.10");
    let mut compared = 0;
    for dir in std::fs::read_dir(corpus().join("bundles")).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            for candidate in bottle_attest::bundle::parse_attestations("corpus", &bytes) {
                let Ok(bundle) = candidate.bundle else {
                    continue;
                };
                let Some(der) = bundle.signing_certificate() else {
                    continue;
                };
                let Ok(full) = x509_cert::Certificate::from_der(der.as_bytes()) else {
                    continue;
                };
                let orgs: Vec<String> = full
                    .tbs_certificate
                    .issuer
                    .0
                    .iter()
                    .flat_map(|rdn| rdn.0.iter())
                    .filter(|atv| atv.oid == ORGANIZATION)
                    .filter_map(|atv| {
                        x509_cert::der::asn1::Utf8StringRef::try_from(&atv.value)
                            .map(|s| s.as_str().to_owned())
                            .or_else(|_| {
                                x509_cert::der::asn1::PrintableStringRef::try_from(&atv.value)
                                    .map(|s| s.as_str().to_owned())
                            })
                            .ok()
                    })
                    .collect();
                let expected = (orgs.len() == 1).then(|| orgs[0].clone());
                assert_eq!(
                    bottle_attest::trust::leaf_issuer_organisation(&bundle),
                    expected,
                    "{}",
                    candidate.origin
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 20, "{compared} certificates compared");
}
