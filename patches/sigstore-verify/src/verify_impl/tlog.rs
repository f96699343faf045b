//! Transparency log verification
//!
//! This module handles verification of transparency log entries including
//! checkpoint verification and SET (Signed Entry Timestamp) verification.

use crate::error::{Error, Result};
use crate::verify_impl::helpers::VerifiedSets;
use serde::Serialize;
use sigstore_crypto::Checkpoint;
use sigstore_crypto::Keyring;
use sigstore_types::bundle::InclusionProof;
use sigstore_types::{Bundle, KindVersion, Sha256Hash, SignatureBytes, TransparencyLogEntry};

/// Verify transparency log entries (checkpoints, Merkle inclusion proofs and SETs)
///
/// For every tlog entry this cryptographically verifies (via
/// [`verify_entry_inclusion`]):
/// - the Merkle inclusion proof of the entry's canonicalized body against
///   the proof's root hash (if an inclusion proof is present),
/// - the checkpoint signature with the Rekor keys from the trusted root,
///   and that the checkpoint's root hash matches the proof's root hash,
/// - the inclusion promise (SET), if present.
///
/// It also validates the entry's integrated time against the certificate
/// validity window and the current time.
///
/// # Arguments
/// * `bundle` - The bundle containing transparency log entries
/// * `rekor_keys` - Trusted root for cryptographic verification
/// * `not_before` - Certificate validity start time (Unix timestamp)
/// * `not_after` - Certificate validity end time (Unix timestamp)
/// * `verified_sets` - Entries whose SET was already verified with
///   `rekor_keys` (by [`determine_validation_times`]); their SET is not
///   verified again. Every other entry's SET is verified here.
///
/// [`determine_validation_times`]: crate::verify_impl::helpers::determine_validation_times
pub fn verify_tlog_entries(
    bundle: &Bundle,
    rekor_keys: &Keyring,
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
    verified_sets: &VerifiedSets,
) -> Result<Option<jiff::Timestamp>> {
    let mut integrated_time_result: Option<jiff::Timestamp> = None;

    for (index, entry) in bundle.verification_material.tlog_entries.iter().enumerate() {
        // Verify Merkle inclusion proof, checkpoint signature and SET (unless
        // already verified)
        verify_entry_inclusion_inner(entry, rekor_keys, verified_sets.contains(index))?;

        // Only a Rekor v1 SET authenticates integratedTime. An inclusion proof
        // authenticates the body, not this separate timestamp field.
        let is_rekor_v2 = entry.kind_version == KindVersion::HashedRekordV002;
        if !is_rekor_v2 && entry.inclusion_promise.is_some() {
            if let Some(time) = entry.integrated_time {
                validate_integrated_time(time, jiff::Timestamp::now(), not_before, not_after)?;
                integrated_time_result = Some(earliest(integrated_time_result, time));
            }
        }
    }

    Ok(integrated_time_result)
}

/// The earlier of an optional time and `time`: the earliest log integration
/// is the strongest proof of when the signature existed.
pub(crate) fn earliest(current: Option<jiff::Timestamp>, time: jiff::Timestamp) -> jiff::Timestamp {
    current.map_or(time, |current| current.min(time))
}

/// Validate an entry's integrated time: it must not be in the future and
/// must fall within the certificate validity window.
fn validate_integrated_time(
    time: jiff::Timestamp,
    now: jiff::Timestamp,
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
) -> Result<()> {
    validate_integrated_time_not_in_future(time, now)?;

    // Check that integrated time is within certificate validity period
    if time < not_before {
        return Err(Error::integrated_time(format!(
            "integrated time {} is before certificate validity (not_before: {})",
            time, not_before
        )));
    }

    if time > not_after {
        return Err(Error::integrated_time(format!(
            "integrated time {} is after certificate validity (not_after: {})",
            time, not_after
        )));
    }

    Ok(())
}

pub(crate) fn validate_integrated_time_not_in_future(
    time: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<()> {
    if time > now {
        return Err(Error::integrated_time(format!(
            "integrated time {} is in the future (current time: {})",
            time, now
        )));
    }
    Ok(())
}

/// Cryptographically verify the log-inclusion material of a single tlog entry.
///
/// This performs all per-entry transparency log crypto checks:
/// - If an inclusion proof is present:
///   - verifies the Merkle inclusion proof, i.e. that the leaf hash of the
///     entry's canonicalized body hashes up to the authenticated root, and
///   - verifies the checkpoint signature against a Rekor key from the trusted
///     root (see [`verify_checkpoint`]). Rekor v1 additionally requires its
///     duplicated proof root to match the checkpoint root.
/// - If an inclusion promise (SET) is present, verifies it against the
///   Rekor key for the entry's log ID (see [`verify_set`]).
///
/// Time-related checks (integrated time vs. certificate validity) are not
/// performed here; see [`verify_tlog_entries`].
pub fn verify_entry_inclusion(entry: &TransparencyLogEntry, rekor_keys: &Keyring) -> Result<()> {
    verify_entry_inclusion_inner(entry, rekor_keys, false)
}

/// [`verify_entry_inclusion`], skipping the SET when `set_verified` says the
/// caller already verified it with the same `rekor_keys`.
fn verify_entry_inclusion_inner(
    entry: &TransparencyLogEntry,
    rekor_keys: &Keyring,
    set_verified: bool,
) -> Result<()> {
    if let Some(ref inclusion_proof) = entry.inclusion_proof {
        verify_merkle_inclusion(entry, inclusion_proof)?;
        verify_checkpoint(
            inclusion_proof.checkpoint.envelope(),
            inclusion_proof,
            is_rekor_v2(entry),
            rekor_keys,
        )?;
    }

    if entry.inclusion_promise.is_some() && !set_verified {
        verify_set(entry, rekor_keys)?;
    }

    Ok(())
}

/// Verify the Merkle inclusion proof of a tlog entry.
///
/// Computes the leaf hash of the entry's canonicalized body and verifies
/// that, combined with the proof hashes, it reproduces the expected root
/// hash. Rekor v2 takes the index, tree size, and root from the top-level entry
/// and signed checkpoint rather than unauthenticated duplicate proof fields.
/// The checkpoint signature check authenticates the selected root.
fn verify_merkle_inclusion(entry: &TransparencyLogEntry, proof: &InclusionProof) -> Result<()> {
    let (leaf_index, tree_size, root_hash) = if is_rekor_v2(entry) {
        let checkpoint = proof.checkpoint.checkpoint().ok_or_else(|| {
            Error::checkpoint("Rekor v2 inclusion proof has no checkpoint".to_string())
        })?;
        let leaf_index = entry.log_index.get();
        (leaf_index, checkpoint.tree_size(), *checkpoint.root_hash())
    } else {
        let leaf_index = proof.log_index.get();
        let tree_size = proof.tree_size;
        (leaf_index, tree_size, proof.root_hash)
    };

    let leaf_hash = sigstore_merkle::hash_leaf(entry.canonicalized_body.as_bytes());

    sigstore_merkle::verify_inclusion_proof(
        &leaf_hash,
        leaf_index,
        tree_size,
        &proof.hashes,
        &root_hash,
    )
    .map_err(|e| Error::inclusion_proof(format!("inclusion proof verification failed: {}", e)))
}

/// Verify a checkpoint signature using the trusted root
pub fn verify_checkpoint(
    checkpoint_envelope: &str,
    inclusion_proof: &InclusionProof,
    is_v2: bool,
    rekor_keys: &Keyring,
) -> Result<()> {
    // Parse the checkpoint (signed note), unless the bundle already did: a
    // bundle's checkpoint is parsed with the same `Checkpoint::from_text` when
    // it is deserialized.
    let parsed;
    let checkpoint = match inclusion_proof.checkpoint.checkpoint() {
        Some(checkpoint) if inclusion_proof.checkpoint.envelope() == checkpoint_envelope => {
            checkpoint
        }
        _ => {
            parsed = Checkpoint::from_text(checkpoint_envelope)
                .map_err(|e| Error::checkpoint(format!("Failed to parse checkpoint: {}", e)))?;
            &parsed
        }
    };

    // Rekor v1 requires internal consistency with its duplicate proof root.
    // Rekor v2 explicitly treats that field as unauthenticated and ignores it.
    let checkpoint_root_hash = checkpoint.root_hash();
    let proof_root_hash = &inclusion_proof.root_hash;

    if !is_v2 && checkpoint_root_hash.as_bytes() != proof_root_hash.as_bytes() {
        return Err(Error::checkpoint(format!(
            "Checkpoint root hash mismatch: expected {}, got {}",
            checkpoint_root_hash.to_hex(),
            proof_root_hash.to_hex()
        )));
    }

    // A checkpoint can contain log and witness signatures. TrustedRoot keeps
    // validity metadata alongside each parsed verification key. Four-byte
    // checkpoint hints may collide, so try every matching key and do not let
    // an invalid matching signature suppress a later valid log signature.

    let message = checkpoint.signed_data();
    let now = jiff::Timestamp::now();
    let mut found_matching_key = false;
    for sig in checkpoint.signatures() {
        for key in rekor_keys.keys_by_hint(&sig.key_id, now) {
            found_matching_key = true;
            if key.verify(message, &sig.signature).is_ok() {
                return Ok(());
            }
        }
    }

    let message = if found_matching_key {
        "No valid Rekor signature found on checkpoint"
    } else {
        "No matching Rekor key found for checkpoint signature"
    };
    Err(Error::checkpoint(message.to_string()))
}

fn is_rekor_v2(entry: &TransparencyLogEntry) -> bool {
    entry.kind_version == KindVersion::HashedRekordV002
}

#[derive(Serialize)]
struct RekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The largest integer magnitude an RFC 8785 number (an IEEE 754 double)
/// represents exactly: 2^53.
const JCS_EXACT_INTEGER: i64 = 1 << 53;

/// The RFC 8785 (JCS) canonical JSON of a SET payload: what Rekor signed.
///
/// Written directly: the keys are fixed and already in JCS order (`body`,
/// `integratedTime`, `logID`, `logIndex`), `body` is standard base64 (the
/// bundle's own text when it was that, `CanonicalizedBody::standard_base64`)
/// and `logID` lowercase hex (made here), so neither string needs escaping,
/// and an integer of magnitude at most 2^53 is written by JCS as its plain
/// decimal digits. This gives the bytes `serde_json_canonicalizer::to_vec`
/// gives for the same [`RekorPayload`], without a serializer, its
/// per-property buffers and the intermediate strings; a payload with a larger
/// integer (never seen in practice) still goes through the canonicalizer.
fn set_payload_json(
    body_base64: &str,
    integrated_time: i64,
    log_index: i64,
    log_id: &[u8],
) -> Result<Vec<u8>> {
    let plain = |v: i64| (-JCS_EXACT_INTEGER..=JCS_EXACT_INTEGER).contains(&v);
    if !(plain(integrated_time) && plain(log_index)) {
        let payload = RekorPayload {
            body: body_base64.to_owned(),
            integrated_time,
            log_index,
            log_id: hex::encode(log_id),
        };
        return serde_json_canonicalizer::to_vec(&payload)
            .map_err(|e| Error::inclusion_promise(format!("Canonicalization failed: {}", e)));
    }
    let mut out = String::with_capacity(body_base64.len() + 2 * log_id.len() + 80);
    out.push_str("{\"body\":\"");
    out.push_str(body_base64);
    out.push_str("\",\"integratedTime\":");
    out.push_str(&integrated_time.to_string());
    out.push_str(",\"logID\":\"");
    out.push_str(&hex::encode(log_id));
    out.push_str("\",\"logIndex\":");
    out.push_str(&log_index.to_string());
    out.push('}');
    Ok(out.into_bytes())
}

/// Verify SET (Signed Entry Timestamp)
pub fn verify_set(entry: &TransparencyLogEntry, rekor_keys: &Keyring) -> Result<()> {
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or(Error::inclusion_promise("Missing inclusion promise".into()))?;

    // Find the key for the log ID. When the entry carries an integrated
    // time, require the log key's validity window to cover it: an entry must
    // have been integrated while the log key was valid.
    let decoded_key_id = entry.log_id.key_id.as_bytes();
    let key_id = Sha256Hash::try_from(decoded_key_id)
        .map_err(|e| Error::malformed_entry(format!("invalid Rekor log ID: {e}")))?;
    let keyring = rekor_keys;
    let log_key = if let Some(integrated_ts) = entry.integrated_time {
        keyring.key_at(&key_id, integrated_ts).ok_or_else(|| {
            Error::inclusion_promise(format!(
                "No log key valid at integrated time {} for log ID {}",
                integrated_ts, entry.log_id.key_id
            ))
        })?
    } else {
        keyring
            .key_started_by(&key_id, jiff::Timestamp::now())
            .ok_or_else(|| Error::unknown_log(entry.log_id.key_id.to_string()))?
    };

    // Construct the payload (base64-encoded body, hex log ID). The SET
    // payload is wire-format Rekor V1 JSON, where an absent integrated time
    // is the proto3 default of 0.
    let canonical_json = set_payload_json(
        &entry.canonicalized_body.standard_base64(),
        entry.integrated_time.map_or(0, |ts| ts.as_second()),
        entry.log_index.as_i64(),
        decoded_key_id,
    )?;

    // Get signature bytes from signed timestamp
    let signature = SignatureBytes::new(promise.signed_entry_timestamp.as_bytes().to_vec());

    log_key
        .verify(&canonical_json, &signature)
        .map_err(|e| Error::inclusion_promise(format!("SET verification failed: {e}")))?;

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(seconds).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn test_integrated_time_in_future_rejected() {
        // Even one second in the future must be rejected.
        let err = validate_integrated_time(ts(NOW + 1), ts(NOW), ts(NOW - 600), ts(NOW + 600))
            .unwrap_err();
        assert!(err.to_string().contains("is in the future"));
    }

    /// A SET is verified once: `verify_tlog_entries` skips exactly the entries
    /// `determine_validation_times` verified, and verifies every other one.
    #[test]
    fn each_set_is_verified_by_one_of_the_two_steps() {
        use crate::verify_impl::helpers::{
            determine_validation_times, extract_signature, VerifiedSets,
        };
        use sigstore_trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};
        use sigstore_types::SignedTimestamp;

        let root = TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT).unwrap();
        let keys = root.rekor_keys().unwrap();
        let mut bundle =
            Bundle::from_json(include_str!("../../test_data/bundles/dsse.sigstore.json")).unwrap();
        let signature = extract_signature(&bundle.content).unwrap();
        let (lo, hi) = (jiff::Timestamp::MIN, jiff::Timestamp::MAX);

        // Intact: step (0) verifies the SET and records it; step (4) then passes.
        let (_, verified) = determine_validation_times(&bundle, &signature, &root, &keys).unwrap();
        assert!(verified.contains(0));
        verify_tlog_entries(&bundle, &keys, lo, hi, &verified).unwrap();

        // Tampered SET: both steps refuse it on their own.
        let promise = bundle.verification_material.tlog_entries[0]
            .inclusion_promise
            .as_mut()
            .unwrap();
        let mut set = promise.signed_entry_timestamp.as_bytes().to_vec();
        let last = set.len() - 1;
        set[last] ^= 1;
        promise.signed_entry_timestamp = SignedTimestamp::new(set);
        let err = determine_validation_times(&bundle, &signature, &root, &keys).unwrap_err();
        assert!(err.to_string().contains("SET verification failed"), "{err}");
        let err =
            verify_tlog_entries(&bundle, &keys, lo, hi, &VerifiedSets::default()).unwrap_err();
        assert!(err.to_string().contains("SET verification failed"), "{err}");
    }

    /// The directly written SET payload is byte for byte what the RFC 8785
    /// canonicalizer makes of the same payload, at the edges of the
    /// plain-integer range too.
    #[test]
    fn set_payload_is_the_canonical_json() {
        use base64::Engine;
        let big = JCS_EXACT_INTEGER;
        let log_id = [0xc0, 0xd2, 0x3d, 0x6a, 0xd4, 0x06, 0x97, 0x3f];
        for (integrated_time, log_index) in [
            (0, 0),
            (1_700_000_000, 25_579_803),
            (-1, -big),
            (big, big),
            (big + 1, 7),
            (3, i64::MAX),
            (i64::MIN, 3),
        ] {
            for body in [&b"{\"a\":1}"[..], b"", b"\xff\xfe\xfd\x00?>"] {
                let payload = RekorPayload {
                    body: base64::engine::general_purpose::STANDARD.encode(body),
                    integrated_time,
                    log_index,
                    log_id: hex::encode(log_id),
                };
                assert_eq!(
                    set_payload_json(&payload.body, integrated_time, log_index, &log_id).unwrap(),
                    serde_json_canonicalizer::to_vec(&payload).unwrap(),
                    "{integrated_time} {log_index} {body:?}"
                );
            }
        }
    }

    #[test]
    fn test_integrated_time_at_now_accepted() {
        assert!(validate_integrated_time(ts(NOW), ts(NOW), ts(NOW - 600), ts(NOW + 600)).is_ok());
    }
}
