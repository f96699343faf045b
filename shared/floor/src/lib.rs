//! The floor of one bundle's verification: only the signature checks and the hashing that any
//! correct verifier of that bundle must do, with the same backend (aws-lc-rs) on exactly the
//! keys, messages and signatures the bundle carries.
//!
//! Everything that is not a signature check or a hash is done once, outside the timed region, by
//! [`Floor::extract`]: finding the keys in the trusted root, decoding the certificate, building
//! each signed message. Each extracted check is verified there once, so a wrong message or key
//! fails the benchmark instead of timing a check that would not pass.
//!
//! Per bundle, [`Floor::run`] times:
//! - the leaf certificate's signature (its TBS) under the issuing Fulcio CA key: P-384 for
//!   today's public-good intermediate;
//! - the SCT, over the RFC 6962 precertificate entry (the leaf's TBS without the SCT extension);
//! - per transparency-log entry: the SET over the canonical JSON
//!   `{body, integratedTime, logID, logIndex}`, and, when there is an inclusion proof, the
//!   checkpoint (signed note) and the Merkle path from the entry's leaf hash to the root;
//! - the DSSE signature over its PAE (or a message signature over the artifact digest);
//! - the SHA-256 of the DSSE payload (the log entry binds it) and of the issuer's key (the SCT
//!   binds it).
//!
//! Keys go through `UnparsedPublicKey` (parsed and validated on every call), as the verifier's
//! own calls do; [`Floor::run_preparsed`] parses the trusted root's keys once, for comparison.
//! RFC 3161 timestamps are not modelled: a bundle carrying one has no floor.

use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA384_ASN1, ECDSA_P384_SHA256_ASN1, ECDSA_P384_SHA384_ASN1,
    ParsedPublicKey, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{Bundle, SignatureContent, TransparencyLogEntry};
use std::hint::black_box;
use x509_cert::Certificate;
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};

/// RFC 6962 embedded SCT list extension.
const CT_PRECERT_SCTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

const ECDSA_ALGORITHMS: [(&str, &dyn VerificationAlgorithm); 4] = [
    ("P-256", &ECDSA_P256_SHA256_ASN1),
    ("P-384", &ECDSA_P384_SHA384_ASN1),
    ("P-256", &ECDSA_P256_SHA384_ASN1),
    ("P-384", &ECDSA_P384_SHA256_ASN1),
];

/// Why a bundle has no floor (or a check failed to extract).
pub type Error = Box<dyn std::error::Error>;

/// What a signature is over.
enum Message {
    /// The signed bytes; the backend hashes them.
    Bytes(Vec<u8>),
    /// A SHA-256 digest (a message signature verified from the artifact's digest).
    Sha256(Vec<u8>),
}

/// One signature check.
struct Check {
    /// `chain`, `sct`, `set`, `checkpoint`, `dsse`, `message`.
    what: &'static str,
    curve: &'static str,
    algorithm: &'static dyn VerificationAlgorithm,
    key: Vec<u8>,
    /// The key comes from the trusted root (and could be parsed once per process).
    trusted_key: bool,
    message: Message,
    signature: Vec<u8>,
}

impl Check {
    fn verify_with(
        &self,
        key: &UnparsedPublicKey<&[u8]>,
    ) -> Result<(), aws_lc_rs::error::Unspecified> {
        match &self.message {
            Message::Bytes(m) => key.verify(black_box(m), black_box(&self.signature)),
            Message::Sha256(d) => {
                let d = digest::Digest::import_less_safe(black_box(d), &SHA256)?;
                key.verify_digest(&d, black_box(&self.signature))
            }
        }
    }

    fn verify(&self) -> Result<(), aws_lc_rs::error::Unspecified> {
        self.verify_with(&UnparsedPublicKey::new(self.algorithm, &self.key))
    }

    fn verify_parsed(&self, key: &ParsedPublicKey) -> Result<(), aws_lc_rs::error::Unspecified> {
        match &self.message {
            Message::Bytes(m) => key.verify_sig(black_box(m), black_box(&self.signature)),
            Message::Sha256(d) => {
                let d = digest::Digest::import_less_safe(black_box(d), &SHA256)?;
                key.verify_digest_sig(&d, black_box(&self.signature))
            }
        }
    }

    /// A check whose algorithm is the first of `ECDSA_ALGORITHMS` under which it verifies.
    fn find(
        what: &'static str,
        key: Vec<u8>,
        trusted_key: bool,
        message: Message,
        signature: Vec<u8>,
    ) -> Option<Self> {
        ECDSA_ALGORITHMS.iter().find_map(|(curve, algorithm)| {
            let check = Check {
                what,
                curve,
                algorithm: *algorithm,
                key: key.clone(),
                trusted_key,
                message: match &message {
                    Message::Bytes(m) => Message::Bytes(m.clone()),
                    Message::Sha256(d) => Message::Sha256(d.clone()),
                },
                signature: signature.clone(),
            };
            check.verify().is_ok().then_some(check)
        })
    }
}

/// An RFC 6962 inclusion proof, recomputed from the leaf.
struct MerklePath {
    leaf: Vec<u8>,
    index: u64,
    size: u64,
    path: Vec<[u8; 32]>,
    root: [u8; 32],
}

impl MerklePath {
    /// RFC 9162 §2.1.3.2: the root the path leads to, or `None`.
    fn root(&self) -> Option<[u8; 32]> {
        let node = |left: &[u8], right: &[u8]| {
            let mut ctx = digest::Context::new(&SHA256);
            ctx.update(&[1]);
            ctx.update(left);
            ctx.update(right);
            let mut out = [0; 32];
            out.copy_from_slice(ctx.finish().as_ref());
            out
        };
        if self.index >= self.size {
            return None;
        }
        let mut ctx = digest::Context::new(&SHA256);
        ctx.update(&[0]);
        ctx.update(black_box(&self.leaf));
        let mut r = [0; 32];
        r.copy_from_slice(ctx.finish().as_ref());
        let (mut f, mut s) = (self.index, self.size - 1);
        for p in &self.path {
            if s == 0 {
                return None;
            }
            if f & 1 == 1 || f == s {
                r = node(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        (s == 0).then_some(r)
    }
}

/// The necessary work of one bundle's verification.
pub struct Floor {
    checks: Vec<Check>,
    merkle: Vec<MerklePath>,
    /// Bytes whose SHA-256 a verification needs (DSSE payload, issuer key).
    hashed: Vec<Vec<u8>>,
    /// The trusted-root keys parsed once, index-aligned with `checks` (`None`: per-bundle key).
    preparsed: Vec<Option<ParsedPublicKey>>,
}

impl Floor {
    /// Extract the floor of `bundle` (which must verify) for an artifact of SHA-256
    /// `artifact_sha256`, with keys from `root`.
    pub fn extract(
        root: &TrustedRoot,
        bundle: &Bundle,
        artifact_sha256: Option<&[u8]>,
    ) -> Result<Self, Error> {
        if !bundle
            .verification_material
            .timestamp_verification_data
            .rfc3161_timestamps
            .is_empty()
        {
            return Err("RFC 3161 timestamps are not modelled by the floor".into());
        }
        let mut checks = Vec::new();
        let mut merkle = Vec::new();
        let mut hashed = Vec::new();

        // The leaf, its issuer in the trusted root, and the SCT.
        let leaf_der = bundle
            .signing_certificate()
            .ok_or("no signing certificate")?
            .as_bytes()
            .to_vec();
        let leaf = Certificate::from_der(&leaf_der)?;
        let tbs = leaf.tbs_certificate.to_der()?;
        let leaf_signature = leaf
            .signature
            .as_bytes()
            .ok_or("leaf signature has unused bits")?
            .to_vec();
        let (chain, issuer_spki) = root
            .certificate_authorities
            .iter()
            .flat_map(|ca| &ca.cert_chain.certificates)
            .find_map(|c| {
                let issuer = Certificate::from_der(c.raw_bytes.as_bytes()).ok()?;
                if issuer.tbs_certificate.subject != leaf.tbs_certificate.issuer {
                    return None;
                }
                let spki = issuer
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .ok()?;
                let check = Check::find(
                    "chain",
                    spki.clone(),
                    true,
                    Message::Bytes(tbs.clone()),
                    leaf_signature.clone(),
                )?;
                Some((check, spki))
            })
            .ok_or("no trusted CA certificate verifies the leaf")?;
        checks.push(chain);
        checks.push(sct_check(root, &leaf, &issuer_spki)?);
        hashed.push(issuer_spki);

        // The log entries.
        for entry in &bundle.verification_material.tlog_entries {
            let key_id = entry.log_id.key_id.as_bytes();
            let log_key = |id_matches: &dyn Fn(&[u8]) -> bool| {
                root.tlogs
                    .iter()
                    .filter(|t| id_matches(t.log_id.key_id.as_bytes()))
                    .map(|t| t.public_key.raw_bytes.as_bytes().to_vec())
                    .collect::<Vec<_>>()
            };
            if let Some(promise) = &entry.inclusion_promise {
                let payload = set_payload(entry);
                let signature = promise.signed_entry_timestamp.as_bytes().to_vec();
                let check = log_key(&|id| id == key_id)
                    .into_iter()
                    .find_map(|k| {
                        Check::find(
                            "set",
                            k,
                            true,
                            Message::Bytes(payload.clone()),
                            signature.clone(),
                        )
                    })
                    .ok_or("no Rekor key verifies the SET")?;
                checks.push(check);
            }
            if let Some(proof) = &entry.inclusion_proof {
                let path = MerklePath {
                    leaf: entry.canonicalized_body.as_bytes().to_vec(),
                    index: proof.log_index.get(),
                    size: proof.tree_size,
                    path: proof.hashes.iter().map(|h| *h.as_bytes()).collect(),
                    root: *proof.root_hash.as_bytes(),
                };
                if path.root() != Some(path.root) {
                    return Err("the inclusion proof does not lead to its root".into());
                }
                merkle.push(path);
                let (message, signatures) = signed_note(proof.checkpoint.envelope())?;
                let check = signatures
                    .into_iter()
                    .find_map(|(hint, sig)| {
                        log_key(&|id| id.starts_with(&hint))
                            .into_iter()
                            .find_map(|k| {
                                Check::find(
                                    "checkpoint",
                                    k,
                                    true,
                                    Message::Bytes(message.clone()),
                                    sig.clone(),
                                )
                            })
                    })
                    .ok_or("no Rekor key verifies the checkpoint")?;
                checks.push(check);
            }
        }

        // The signature over the content.
        let leaf_spki = leaf.tbs_certificate.subject_public_key_info.to_der()?;
        match &bundle.content {
            SignatureContent::DsseEnvelope(envelope) => {
                let payload = envelope.payload.as_bytes();
                let mut pae = format!(
                    "DSSEv1 {} {} {} ",
                    envelope.payload_type.len(),
                    envelope.payload_type,
                    payload.len()
                )
                .into_bytes();
                pae.extend_from_slice(payload);
                checks.push(
                    Check::find(
                        "dsse",
                        leaf_spki,
                        false,
                        Message::Bytes(pae),
                        envelope.signature.sig.as_bytes().to_vec(),
                    )
                    .ok_or("the leaf key does not verify the DSSE signature")?,
                );
                hashed.push(payload.to_vec());
            }
            SignatureContent::MessageSignature(sig) => {
                let digest =
                    artifact_sha256.ok_or("a message signature needs the artifact's SHA-256")?;
                checks.push(
                    Check::find(
                        "message",
                        leaf_spki,
                        false,
                        Message::Sha256(digest.to_vec()),
                        sig.signature.as_bytes().to_vec(),
                    )
                    .ok_or("the leaf key does not verify the message signature")?,
                );
            }
            _ => return Err("unknown bundle content".into()),
        }
        let preparsed = checks
            .iter()
            .map(|c| {
                c.trusted_key
                    .then(|| ParsedPublicKey::new(c.algorithm, &c.key))
                    .transpose()
            })
            .collect::<Result<_, _>>()
            .map_err(|e| format!("trusted key does not parse: {e}"))?;
        Ok(Floor {
            checks,
            merkle,
            hashed,
            preparsed,
        })
    }

    /// The timed work: every signature check and hash. Panics never; returns false if any check
    /// failed (which extraction already ruled out).
    pub fn run(&self) -> bool {
        let mut ok = true;
        for c in &self.checks {
            ok &= c.verify().is_ok();
        }
        ok & self.hashes()
    }

    /// [`Self::run`] with the trusted root's keys parsed once (the leaf key still per call).
    pub fn run_preparsed(&self) -> bool {
        let mut ok = true;
        for (c, parsed) in self.checks.iter().zip(&self.preparsed) {
            ok &= match parsed {
                Some(key) => c.verify_parsed(key).is_ok(),
                None => c.verify().is_ok(),
            };
        }
        ok & self.hashes()
    }

    fn hashes(&self) -> bool {
        let mut ok = true;
        for m in &self.merkle {
            ok &= m.root() == Some(m.root);
        }
        for bytes in &self.hashed {
            black_box(digest::digest(&SHA256, black_box(bytes)));
        }
        ok
    }

    /// `1 × P-384 chain, 4 × P-256 (sct, set, checkpoint, dsse), 2 Merkle paths (27 hashes)`.
    pub fn describe(&self) -> String {
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|c| format!("{} {}", c.what, c.curve))
            .collect();
        let hashes: usize =
            self.merkle.iter().map(|m| m.path.len() + 1).sum::<usize>() + self.hashed.len();
        format!("{}; {hashes} SHA-256", checks.join(", "))
    }
}

/// The SCT check: the precertificate entry RFC 6962 §3.2 says the CT log signed.
fn sct_check(root: &TrustedRoot, leaf: &Certificate, issuer_spki: &[u8]) -> Result<Check, Error> {
    let extensions = leaf
        .tbs_certificate
        .extensions
        .as_ref()
        .ok_or("the leaf has no extensions")?;
    let sct_ext = extensions
        .iter()
        .find(|e| e.extn_id == CT_PRECERT_SCTS)
        .ok_or("the leaf has no embedded SCT")?;
    let list = OctetString::from_der(sct_ext.extn_value.as_bytes())?;
    let list = list.as_bytes();
    // SignedCertificateTimestampList: u16 length, then u16-prefixed serialized SCTs.
    let body = list.get(2..).ok_or("short SCT list")?;
    let sct_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let sct = body.get(2..2 + sct_len).ok_or("short SCT")?;
    if body.len() != 2 + sct_len {
        return Err("more than one SCT".into());
    }
    let (version, log_id, timestamp) = (sct[0], &sct[1..33], &sct[33..41]);
    let ext_len = u16::from_be_bytes([sct[41], sct[42]]) as usize;
    let sct_extensions = &sct[41..43 + ext_len];
    let rest = &sct[43 + ext_len..];
    let sig_len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
    let signature = rest
        .get(4..4 + sig_len)
        .ok_or("short SCT signature")?
        .to_vec();

    let mut precert = leaf.tbs_certificate.clone();
    precert.extensions = precert.extensions.map(|exts| {
        exts.into_iter()
            .filter(|e| e.extn_id != CT_PRECERT_SCTS)
            .collect()
    });
    let precert = precert.to_der()?;
    let mut signed = vec![version, 0]; // v1, certificate_timestamp
    signed.extend_from_slice(timestamp);
    signed.extend_from_slice(&[0, 1]); // precert_entry
    signed.extend_from_slice(digest::digest(&SHA256, issuer_spki).as_ref());
    let len = u32::try_from(precert.len())?.to_be_bytes();
    signed.extend_from_slice(&len[1..]);
    signed.extend_from_slice(&precert);
    signed.extend_from_slice(sct_extensions);

    root.ctlogs
        .iter()
        .filter(|l| l.log_id.key_id.as_bytes() == log_id)
        .find_map(|l| {
            Check::find(
                "sct",
                l.public_key.raw_bytes.as_bytes().to_vec(),
                true,
                Message::Bytes(signed.clone()),
                signature.clone(),
            )
        })
        .ok_or_else(|| "no CT log key verifies the SCT".into())
}

/// The SET's signed payload: RFC 8785 canonical JSON of `{body, integratedTime, logID,
/// logIndex}` (keys in that order; the values need no escaping).
fn set_payload(entry: &TransparencyLogEntry) -> Vec<u8> {
    let body =
        base64::engine::general_purpose::STANDARD.encode(entry.canonicalized_body.as_bytes());
    format!(
        r#"{{"body":"{body}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry.integrated_time.map_or(0, |t| t.as_second()),
        hex::encode(entry.log_id.key_id.as_bytes()),
        entry.log_index.as_i64()
    )
    .into_bytes()
}

/// A signed note's signature line: (4-byte key hint, signature).
type NoteSignature = ([u8; 4], Vec<u8>);

/// A signed note: the signed text (up to and including the blank line's first newline) and
/// each signature line's (4-byte key hint, signature).
fn signed_note(note: &str) -> Result<(Vec<u8>, Vec<NoteSignature>), Error> {
    let split = note
        .find("\n\n")
        .ok_or("checkpoint without a signature block")?;
    let message = note.as_bytes()[..=split].to_vec();
    let mut signatures = Vec::new();
    for line in note[split + 2..].lines().filter(|l| !l.is_empty()) {
        let b64 = line
            .strip_prefix('\u{2014}')
            .and_then(|l| l.trim_start().split_once(' '))
            .map(|(_, b64)| b64)
            .ok_or("malformed signature line")?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64)?;
        if raw.len() > 4 {
            let mut hint = [0; 4];
            hint.copy_from_slice(&raw[..4]);
            signatures.push((hint, raw[4..].to_vec()));
        }
    }
    Ok((message, signatures))
}
