//! Smoke tests of the test kit itself (owned by the kit): everything it mints must pass
//! sigstore-verify against the kit's trusted root, and nothing else may.

use chrono::{TimeZone as _, Utc};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sigstore_trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_types::{Bundle, Sha256Hash};
use sigstore_verify::{VerificationPolicy, VerificationResult, Verifier};
use testkit::{GITHUB_ISSUER, KitError, SigstoreStack, WorkflowIdentity};

const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";

fn core_identity() -> WorkflowIdentity {
    WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/master",
    )
}

fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn verifier(root_json: &str) -> Verifier {
    let root = TrustedRoot::from_json(root_json).expect("trusted root parses");
    Verifier::new(&root).expect("trusted root is usable")
}

fn verify(
    stack: &SigstoreStack,
    bundle_json: &str,
    artifact: [u8; 32],
    id: &WorkflowIdentity,
) -> Result<VerificationResult, sigstore_verify::Error> {
    let bundle = Bundle::from_json(bundle_json).expect("bundle parses");
    verifier(&stack.trusted_root_json()).verify(
        Sha256Hash::new(artifact),
        &bundle,
        &VerificationPolicy::new(id.san(), GITHUB_ISSUER),
    )
}

#[test]
fn attestation_verifies_and_carries_the_github_claims() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let bottle = digest(b"wget--1.24.5.arm64_sonoma.bottle.tar.gz");
    let bundle = stack.sign_attestation(
        &id,
        SLSA_PROVENANCE,
        json!({"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}}),
        &[("wget--1.24.5.arm64_sonoma.bottle.tar.gz".into(), bottle)],
    );
    assert!(bundle.contains("application/vnd.dev.sigstore.bundle.v0.3+json"));

    let result = verify(&stack, &bundle, bottle, &id).expect("kit bundle verifies");
    assert!(result.certificate_verified() && result.sct_verified() && result.tlog_verified());
    let certificate = result
        .certificate()
        .expect("keyless bundle has a certificate");
    let claims = &certificate.ci_claims;
    let github = "https://github.com";
    assert_eq!(claims.build_signer_uri.as_deref(), Some(id.san().as_str()));
    assert_eq!(
        claims.source_repository_uri.as_deref(),
        Some(format!("{github}/Homebrew/homebrew-core").as_str())
    );
    assert_eq!(
        claims.source_repository_ref.as_deref(),
        Some("refs/heads/master")
    );
    assert_eq!(
        claims.source_repository_digest.as_deref(),
        Some(id.sha.as_str())
    );
    assert_eq!(claims.build_signer_digest.as_deref(), Some(id.sha.as_str()));
    assert_eq!(claims.runner_environment.as_deref(), Some("github-hosted"));
    assert_eq!(claims.build_trigger.as_deref(), Some("push"));
    assert_eq!(
        claims.source_repository_identifier.as_deref(),
        Some(id.repository_id.to_string().as_str())
    );
    assert_eq!(
        claims.source_repository_owner_uri.as_deref(),
        Some(format!("{github}/Homebrew").as_str())
    );
    assert_eq!(
        claims.source_repository_owner_identifier.as_deref(),
        Some(id.repository_owner_id.to_string().as_str())
    );
    assert_eq!(
        claims.build_config_uri.as_deref(),
        Some(format!("{github}/{}", id.workflow_ref()).as_str())
    );
    assert_eq!(claims.build_config_digest.as_deref(), Some(id.sha.as_str()));
    assert_eq!(
        claims.run_invocation_uri.as_deref(),
        Some(
            format!(
                "{github}/Homebrew/homebrew-core/actions/runs/{}/attempts/1",
                id.run_id
            )
            .as_str()
        )
    );
    assert_eq!(
        claims.source_repository_visibility_at_signing.as_deref(),
        Some("public")
    );
    let deprecated = &claims.deprecated_github;
    assert_eq!(deprecated.workflow_trigger.as_deref(), Some("push"));
    assert_eq!(deprecated.workflow_sha.as_deref(), Some(id.sha.as_str()));
    assert_eq!(
        deprecated.workflow_repository.as_deref(),
        Some("Homebrew/homebrew-core")
    );
    assert_eq!(
        deprecated.workflow_ref.as_deref(),
        Some("refs/heads/master")
    );
    assert_eq!(
        deprecated.workflow_name.as_deref(),
        Some("publish-commit-bottles")
    );
    assert_eq!(certificate.issuer.as_deref(), Some(GITHUB_ISSUER));
    assert_eq!(
        certificate.not_after.as_second() - certificate.not_before.as_second(),
        600
    );

    // A digest that is not a subject does not verify.
    assert!(verify(&stack, &bundle, digest(b"other"), &id).is_err());
}

#[test]
fn every_subject_of_a_multi_subject_bundle_verifies() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let subjects: Vec<(String, [u8; 32])> = (0..5)
        .map(|i| {
            let name = format!("wget--1.24.5.platform{i}.bottle.tar.gz");
            let sha = digest(name.as_bytes());
            (name, sha)
        })
        .collect();
    let bundle = stack.sign_attestation(&id, SLSA_PROVENANCE, json!({}), &subjects);
    for (_, sha) in &subjects {
        verify(&stack, &bundle, *sha, &id).expect("each subject verifies");
    }
}

#[test]
fn bundles_minted_at_a_past_instant_carry_that_time() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let backfill = Utc
        .with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date");
    let later = Utc
        .with_ymd_and_hms(2024, 5, 1, 8, 30, 0)
        .single()
        .expect("valid date");
    let bottle = digest(b"old bottle");
    for (when, name) in [(backfill, "before the cutoff"), (later, "after the cutoff")] {
        stack.set_time(when);
        assert_eq!(stack.now(), when);
        let bundle =
            stack.sign_attestation(&id, SLSA_PROVENANCE, json!({}), &[(name.into(), bottle)]);
        let result = verify(&stack, &bundle, bottle, &id).expect("past bundle verifies");
        let integrated = result.integrated_time().expect("Rekor v1 integrated time");
        assert_eq!(integrated.as_second(), when.timestamp(), "{name}");
        let certificate = result.certificate().expect("certificate");
        assert_eq!(certificate.not_before.as_second(), when.timestamp());
    }
    stack.use_real_time();
    let now = stack.now();
    assert!(now > later);
    // Three log entries: indices 0 and 1 above, 2 now; the proof for a later index still holds.
    let bundle = stack.sign_blob(&id, b"now");
    verify(&stack, &bundle, digest(b"now"), &id).expect("present-day bundle verifies");
    assert_eq!(stack.rekor_log_size(), 3);
}

#[test]
fn blob_bundles_use_hashedrekord_and_verify() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let blob = b"a plain blob, not an attestation";
    let bundle = stack.sign_blob(&id, blob);
    assert!(bundle.contains("\"hashedrekord\""));
    verify(&stack, &bundle, digest(blob), &id).expect("blob bundle verifies");
    assert!(verify(&stack, &bundle, digest(b"another blob"), &id).is_err());
}

#[test]
fn raw_statements_are_signed_as_given() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let sha = digest(b"bottle");
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"b","digest":{{"sha256":"{}"}}}}],"predicateType":"https://example.com/odd","predicate":{{"extra":[1,2,3]}},"x-unknown":true}}"#,
        hex::encode(sha)
    );
    let bundle_json = stack.sign_statement_bytes(&id, statement.as_bytes());
    verify(&stack, &bundle_json, sha, &id).expect("raw statement verifies");
    let bundle: serde_json::Value = serde_json::from_str(&bundle_json).expect("JSON");
    let payload = bundle["dsseEnvelope"]["payload"]
        .as_str()
        .expect("DSSE payload");
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .expect("base64");
    assert_eq!(payload, statement.as_bytes());
}

#[test]
fn kit_bundles_fail_against_any_other_root_or_policy() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let bottle = digest(b"bottle");
    let bundle_json =
        stack.sign_attestation(&id, SLSA_PROVENANCE, json!({}), &[("b".into(), bottle)]);
    let bundle = Bundle::from_json(&bundle_json).expect("bundle parses");
    let policy = VerificationPolicy::new(id.san(), GITHUB_ISSUER);

    // The production root does not trust the kit's CA, CT log or Rekor.
    assert!(
        verifier(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
            .verify(Sha256Hash::new(bottle), &bundle, &policy)
            .is_err()
    );
    // Nor does another kit stack (fresh keys per start).
    let other = SigstoreStack::start();
    assert!(
        verifier(&other.trusted_root_json())
            .verify(Sha256Hash::new(bottle), &bundle, &policy)
            .is_err()
    );
    // The identity policy is exact.
    let fork = WorkflowIdentity::github(
        "someone/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/master",
    );
    assert!(verify(&stack, &bundle_json, bottle, &fork).is_err());
}

#[test]
fn the_token_issuer_ends_up_in_the_certificate() {
    let stack = SigstoreStack::start();
    let id = WorkflowIdentity {
        issuer: "https://token.actions.example.com".into(),
        ..core_identity()
    };
    let bottle = digest(b"bottle");
    let bundle_json =
        stack.sign_attestation(&id, SLSA_PROVENANCE, json!({}), &[("b".into(), bottle)]);
    let bundle = Bundle::from_json(&bundle_json).expect("bundle parses");
    let verifier = verifier(&stack.trusted_root_json());
    // GitHub's issuer is required by the usual policy: rejected.
    assert!(verify(&stack, &bundle_json, bottle, &id).is_err());
    // The bundle itself is sound: it verifies for the issuer it was minted with.
    verifier
        .verify(
            Sha256Hash::new(bottle),
            &bundle,
            &VerificationPolicy::new(id.san(), "https://token.actions.example.com"),
        )
        .expect("verifies with its own issuer");
}

#[test]
fn fulcio_refuses_forged_expired_and_incomplete_tokens() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let subjects = [("b".to_string(), digest(b"bottle"))];
    let refused = |token: &str| {
        matches!(
            stack.try_sign_attestation_with_token(token, SLSA_PROVENANCE, json!({}), &subjects),
            Err(KitError::Sign(sigstore_sign::Error::Fulcio(_)))
        )
    };

    // Signed by another stack's OIDC key.
    let other = SigstoreStack::start();
    assert!(refused(&other.identity_token(&id)));

    // Expired in kit time.
    stack.set_time(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
            .single()
            .expect("date"),
    );
    let token = stack.identity_token(&id);
    stack.set_time(
        Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0)
            .single()
            .expect("date"),
    );
    assert!(refused(&token));

    // Missing a claim Fulcio maps into the certificate.
    stack.use_real_time();
    let mut claims = id.claims(stack.now());
    claims
        .as_object_mut()
        .expect("claims object")
        .remove("job_workflow_ref");
    assert!(refused(&stack.identity_token_from_claims(&claims)));

    // A good token still works, and each signing costs one Fulcio and one Rekor request.
    let before = stack.request_counts();
    stack
        .try_sign_attestation_with_token(
            &stack.identity_token(&id),
            SLSA_PROVENANCE,
            json!({}),
            &subjects,
        )
        .expect("a fresh kit token is accepted");
    let after = stack.request_counts();
    assert_eq!(after.fulcio - before.fulcio, 1);
    assert_eq!(after.rekor - before.rekor, 1);
}

#[test]
fn signing_works_from_inside_an_async_runtime() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let bundle = runtime.block_on(async { stack.sign_blob(&id, b"async caller") });
    verify(&stack, &bundle, digest(b"async caller"), &id).expect("verifies");
}

#[test]
fn timestamped_bundles_carry_a_verified_rfc3161_time() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let when = Utc
        .with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date");
    stack.set_time(when);
    stack.set_timestamping(true);
    let bottle = digest(b"timestamped bottle");
    let before = stack.request_counts();
    let bundle_json =
        stack.sign_attestation(&id, SLSA_PROVENANCE, json!({}), &[("b".into(), bottle)]);
    assert_eq!(stack.request_counts().tsa - before.tsa, 1);
    let bundle: serde_json::Value = serde_json::from_str(&bundle_json).expect("JSON");
    assert_eq!(
        bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let result = verify(&stack, &bundle_json, bottle, &id).expect("timestamped bundle verifies");
    // One time from the TSA, one from Rekor's SET: both the kit's clock.
    assert_eq!(result.verified_timestamps().len(), 2);
    assert!(
        result
            .verified_timestamps()
            .iter()
            .all(|t| t.as_second() == when.timestamp())
    );

    // Blobs get timestamps too; and switching it off goes back to SET-only bundles.
    let blob = stack.sign_blob(&id, b"blob");
    verify(&stack, &blob, digest(b"blob"), &id).expect("timestamped blob verifies");
    stack.set_timestamping(false);
    let plain = stack.sign_blob(&id, b"plain");
    let result = verify(&stack, &plain, digest(b"plain"), &id).expect("verifies");
    assert_eq!(result.verified_timestamps().len(), 1);
}

#[test]
fn rekor_serves_entries_back_by_index_and_uuid() {
    use sigstore_sign::rekor::RekorClient;
    use sigstore_types::{EntryUuid, LogIndex};

    let stack = SigstoreStack::start();
    let id = core_identity();
    let bundles: Vec<Bundle> = (0..3u8)
        .map(|i| Bundle::from_json(&stack.sign_blob(&id, &[i])).expect("bundle parses"))
        .collect();
    let client = RekorClient::new(stack.rekor_url()).expect("client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for (index, bundle) in bundles.iter().enumerate() {
            let logged = &bundle.verification_material.tlog_entries[0];
            assert_eq!(logged.log_index.get(), index as u64);
            let by_index = client
                .get_entry_by_index(LogIndex::new(index as u64).expect("index"))
                .await
                .expect("entry by index");
            assert_eq!(by_index.body, logged.canonicalized_body);
            let by_uuid = client
                .get_entry_by_uuid(&by_index.uuid)
                .await
                .expect("entry by UUID");
            assert_eq!(by_uuid.body, logged.canonicalized_body);
            assert_eq!(by_uuid.uuid, by_index.uuid);
        }
        assert!(
            client
                .get_entry_by_uuid(&EntryUuid::new("00".repeat(40)))
                .await
                .is_err()
        );
    });
}

#[test]
fn any_dsse_payload_can_be_signed_even_when_it_is_no_statement() {
    let stack = SigstoreStack::start();
    let id = core_identity();
    let sha = digest(b"bottle");
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"b","digest":{{"sha256":"{}"}}}}],"predicateType":"{SLSA_PROVENANCE}","predicate":{{}}}}"#,
        hex::encode(sha)
    );
    // The hand-rolled path makes the same bundles sigstore-sign does...
    stack.set_timestamping(true);
    let bundle = stack.sign_dsse_payload(&id, "application/vnd.in-toto+json", statement.as_bytes());
    let result = verify(&stack, &bundle, sha, &id).expect("DSSE payload bundle verifies");
    assert_eq!(result.verified_timestamps().len(), 2);
    stack.set_timestamping(false);

    // ...and also signs what sigstore-sign refuses to: the verifier then rejects the statement.
    for payload in [
        &b"not json"[..],
        br#"{"_type":"https://in-toto.io/Statement/v1"}"#,
    ] {
        assert!(
            stack
                .try_sign_statement_bytes(&id, payload)
                .is_err_and(|e| matches!(
                    e,
                    KitError::Sign(sigstore_sign::Error::InvalidStatement(_))
                ))
        );
        let bundle = stack.sign_dsse_payload(&id, "application/vnd.in-toto+json", payload);
        assert!(verify(&stack, &bundle, sha, &id).is_err());
    }
    assert_eq!(stack.rekor_log_size(), 3);
}

#[test]
fn an_outside_signer_needs_only_the_urls_and_a_token() {
    use sigstore_sign::oidc::IdentityToken;
    use sigstore_sign::{Attestation, SigningContext, SigningServices};

    // What another process (brew-backfill) does: its own context and HTTP client.
    let stack = SigstoreStack::start();
    let id = core_identity();
    let sha = digest(b"bottle from another process");
    let token = IdentityToken::from_jwt(&stack.identity_token(&id)).expect("kit token parses");
    let signer = SigningContext::new(SigningServices::new(stack.fulcio_url(), stack.rekor_url()))
        .signer(token);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bundle = runtime
        .block_on(signer.sign_attestation(
            Attestation::new(SLSA_PROVENANCE, json!({})).add_subject("b", Sha256Hash::new(sha)),
        ))
        .expect("signing with the kit's URLs and token");
    let bundle_json = bundle.to_json().expect("bundle serializes");
    verify(&stack, &bundle_json, sha, &id).expect("verifies");
}
