//! Certificate Transparency SCT (Signed Certificate Timestamp) verification
//!
//! This module provides types and functions for verifying SCTs embedded in certificates,
//! as defined by RFC 6962. SCTs provide proof that a certificate has been submitted to
//! a Certificate Transparency log.

use crate::error::{Error, Result};
use const_oid::db::rfc6962::CT_PRECERT_SCTS;
use sigstore_crypto::Keyring;
use sigstore_crypto::SigningScheme;
use sigstore_types::{Sha256Hash, SignatureBytes};
use tls_codec::{SerializeBytes, TlsByteVecU16, TlsByteVecU24, TlsSerializeBytes, TlsSize};
use x509_cert::{
    der::{
        asn1::{AnyRef, ObjectIdentifier, OctetStringRef},
        Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber, Tagged,
    },
    ext::pkix::{sct::Version, SignedCertificateTimestamp, SignedCertificateTimestampList},
};

// TLS SignatureAndHashAlgorithm constants (RFC 5246)
const ECDSA_SHA256: u16 = 0x0403;
const ECDSA_SHA384: u16 = 0x0503;
const RSA_PKCS1_SHA256: u16 = 0x0401;
const RSA_PKCS1_SHA384: u16 = 0x0501;
const RSA_PKCS1_SHA512: u16 = 0x0601;

/// SignatureType as defined in RFC 6962
#[derive(PartialEq, Debug, TlsSerializeBytes, TlsSize)]
#[repr(u8)]
enum SignatureType {
    CertificateTimestamp = 0,
    TreeHash = 1,
}

/// LogEntryType as defined in RFC 6962
#[derive(PartialEq, Debug)]
#[repr(u16)]
enum LogEntryType {
    X509Entry = 0,
    PrecertEntry = 1,
}

/// PreCert structure for precertificate entries
#[derive(PartialEq, Debug, TlsSerializeBytes, TlsSize)]
struct PreCert {
    /// SHA-256 hash of the issuer's SubjectPublicKeyInfo
    issuer_key_hash: [u8; 32],
    /// The TBSCertificate with SCT extension removed
    tbs_certificate: TlsByteVecU24,
}

/// SignedEntry enum for different log entry types
#[derive(PartialEq, Debug, TlsSerializeBytes, TlsSize)]
#[repr(u16)]
enum SignedEntry {
    #[allow(unused)]
    #[tls_codec(discriminant = "LogEntryType::X509Entry")]
    X509Entry(TlsByteVecU24),
    #[tls_codec(discriminant = "LogEntryType::PrecertEntry")]
    PrecertEntry(PreCert),
}

/// The digitally-signed structure that is verified against the CT log's signature
#[derive(PartialEq, Debug, TlsSerializeBytes, TlsSize)]
pub struct DigitallySigned {
    version: Version,
    signature_type: SignatureType,
    timestamp: u64,
    signed_entry: SignedEntry,
    extensions: TlsByteVecU16,

    // These fields are not encoded in the TLS blob, but needed for verification
    #[tls_codec(skip)]
    log_id: [u8; 32],
    #[tls_codec(skip)]
    signature: Vec<u8>,
}

impl DigitallySigned {
    /// Create a DigitallySigned from an embedded SCT and the precertificate
    /// TBS it was issued for (see [`split_precert`]).
    fn from_precert_tbs(
        tbs_precert_der: &[u8],
        sct: &SignedCertificateTimestamp,
        issuer_key_hash: [u8; 32],
    ) -> Result<Self> {
        Ok(DigitallySigned {
            version: match sct.version {
                Version::V1 => Version::V1,
            },
            signature_type: SignatureType::CertificateTimestamp,
            timestamp: sct.timestamp,
            signed_entry: SignedEntry::PrecertEntry(PreCert {
                issuer_key_hash,
                tbs_certificate: tbs_precert_der.into(),
            }),
            extensions: sct.extensions.clone(),
            log_id: sct.log_id.key_id,
            signature: sct.signature.signature.clone().into(),
        })
    }

    /// The bytes the CT log signed, serialized according to RFC 6962
    pub fn signed_data(&self) -> Result<Vec<u8>> {
        self.tls_serialize()
            .map_err(|e| Error::sct(format!("failed to serialize SCT data: {}", e)))
    }

    /// The log ID this SCT claims to come from: RFC 6962 §3.2's key ID, i.e.
    /// the SHA-256 hash of the log's public key.
    pub fn log_id(&self) -> Sha256Hash {
        Sha256Hash::new(self.log_id)
    }
}

/// Map an RFC 5246 `SignatureAndHashAlgorithm` to a [`SigningScheme`]
fn sct_signing_scheme(sig_alg: u16) -> Result<SigningScheme> {
    match sig_alg {
        ECDSA_SHA256 => Ok(SigningScheme::EcdsaP256Sha256),
        ECDSA_SHA384 => Ok(SigningScheme::EcdsaP384Sha384),
        RSA_PKCS1_SHA256 => Ok(SigningScheme::RsaPkcs1Sha256),
        RSA_PKCS1_SHA384 => Ok(SigningScheme::RsaPkcs1Sha384),
        RSA_PKCS1_SHA512 => Ok(SigningScheme::RsaPkcs1Sha512),
        _ => Err(Error::sct(format!(
            "unsupported SCT signature algorithm: 0x{:04x}",
            sig_alg
        ))),
    }
}

/// The `[3]` EXPLICIT tag of a TBSCertificate's extensions.
const EXTENSIONS_TAG: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber::N3,
};

/// The precertificate of a certificate with an embedded SCT, read from its
/// DER without decoding the whole certificate: RFC 6962 §3.2's
/// TBSCertificate without the SCT list extension (the certificate's own TBS
/// bytes with that extension cut out and the three enclosing lengths
/// re-encoded), and the value of that extension, `None` unless there is
/// exactly one.
///
/// Decoding the certificate and re-encoding its TBS without the extension
/// gives the same bytes for a DER certificate (Fulcio's are: the chain check
/// and `parse_certificate_info` decode it strictly before this runs). Only a
/// non-canonical encoding that the decoder normalises (an unsorted SET OF, an
/// explicit DEFAULT) would differ, and then the bytes used here are the
/// certificate's as received, which is what the log must have signed.
fn split_precert(cert_der: &[u8]) -> Result<(Vec<u8>, Option<&[u8]>)> {
    let malformed = |e: x509_cert::der::Error| {
        Error::cert_malformed(format!("failed to parse certificate: {e}"))
    };
    let offset = |position: Length| usize::try_from(position).map_err(malformed);
    let sequence = |any: &AnyRef<'_>| any.tag().assert_eq(Tag::Sequence).map_err(malformed);

    let cert = AnyRef::from_der(cert_der).map_err(malformed)?;
    sequence(&cert)?;
    let mut outer = SliceReader::new(cert.value()).map_err(malformed)?;
    let tbs = AnyRef::decode(&mut outer).map_err(malformed)?;
    sequence(&tbs)?;
    let tbs = tbs.value();

    let mut fields = SliceReader::new(tbs).map_err(malformed)?;
    let mut split = None;
    let mut kept = Vec::new();
    let mut sct_lists = Vec::new();
    while !fields.is_finished() {
        let start = offset(fields.position())?;
        let field = AnyRef::decode(&mut fields).map_err(malformed)?;
        if field.tag() != EXTENSIONS_TAG {
            continue;
        }
        if split.is_some() {
            return Err(Error::cert_malformed(
                "certificate has more than one extensions field".to_string(),
            ));
        }
        split = Some((start, offset(fields.position())?));
        let list = AnyRef::from_der(field.value()).map_err(malformed)?;
        sequence(&list)?;
        let mut extensions = SliceReader::new(list.value()).map_err(malformed)?;
        while !extensions.is_finished() {
            let from = offset(extensions.position())?;
            let extension = AnyRef::decode(&mut extensions).map_err(malformed)?;
            sequence(&extension)?;
            let mut parts = SliceReader::new(extension.value()).map_err(malformed)?;
            if ObjectIdentifier::decode(&mut parts).map_err(malformed)? != CT_PRECERT_SCTS {
                kept.push(&list.value()[from..offset(extensions.position())?]);
                continue;
            }
            if parts.peek_tag().map_err(malformed)? == Tag::Boolean {
                bool::decode(&mut parts).map_err(malformed)?;
            }
            sct_lists.push(
                OctetStringRef::decode(&mut parts)
                    .map_err(malformed)?
                    .as_bytes(),
            );
            parts.finish(()).map_err(malformed)?;
        }
    }
    let sct_list = match sct_lists.as_slice() {
        [single] => Some(*single),
        _ => None,
    };
    let Some((start, end)) = split else {
        return Ok((Vec::new(), None));
    };

    let header = |tag: Tag, len: usize, out: &mut Vec<u8>| -> Result<()> {
        Length::try_from(len)
            .and_then(|len| Header::new(tag, len))
            .and_then(|header| header.encode_to_vec(out))
            .map(|_| ())
            .map_err(malformed)
    };
    let mut list = Vec::with_capacity(cert_der.len());
    header(Tag::Sequence, kept.iter().map(|e| e.len()).sum(), &mut list)?;
    kept.iter().for_each(|e| list.extend_from_slice(e));
    let mut body = Vec::with_capacity(cert_der.len());
    body.extend_from_slice(&tbs[..start]);
    header(EXTENSIONS_TAG, list.len(), &mut body)?;
    body.extend_from_slice(&list);
    body.extend_from_slice(&tbs[end..]);
    let mut precert = Vec::with_capacity(body.len() + 4);
    header(Tag::Sequence, body.len(), &mut precert)?;
    precert.extend_from_slice(&body);
    Ok((precert, sct_list))
}

/// Extract the SCT from a certificate's SCT list extension value (see
/// [`split_precert`]) and prepare it for verification
pub fn extract_sct(
    sct_list: Option<&[u8]>,
    issuer_spki_der: &[u8],
) -> Result<(SignedCertificateTimestamp, [u8; 32])> {
    // Extract the SCT list extension from the certificate
    let scts = match sct_list.map(SignedCertificateTimestampList::from_der) {
        Some(Ok(ext)) => ext,
        _ => {
            return Err(Error::sct(
                "certificate is missing SCT extension (Signed Certificate Timestamp)".to_string(),
            ))
        }
    };

    // Parse the SCT structures
    let timestamps = scts
        .parse_timestamps()
        .map_err(|e| Error::sct(format!("failed to parse SCT list: {:?}", e)))?;

    // We expect exactly one SCT
    let sct = match timestamps.as_slice() {
        [single] => single
            .parse_timestamp()
            .map_err(|e| Error::sct(format!("failed to parse SCT: {:?}", e)))?,
        [] => return Err(Error::sct("no SCTs found in certificate".to_string())),
        _ => {
            return Err(Error::sct(
                "certificate contains multiple SCTs, expected exactly one".to_string(),
            ))
        }
    };

    // Calculate the issuer key hash (SHA-256 of issuer's SPKI)
    let issuer_key_hash = *sigstore_crypto::sha256(issuer_spki_der).as_bytes();

    Ok((sct, issuer_key_hash))
}

/// Verify the Signed Certificate Timestamp (SCT) embedded in the certificate
///
/// This is the main entry point for SCT verification. It extracts the SCT from the
/// certificate, reconstructs the signed data, and verifies it against the trusted
/// CT log keys.
pub fn verify_sct(
    cert_der: &[u8],
    issuer_spki_der: &[u8],
    ct_keys: &[(SigningScheme, Keyring)],
) -> Result<()> {
    // Find the precertificate TBS and the SCT without decoding the certificate
    let (tbs_precert_der, sct_list) = split_precert(cert_der)?;

    // Extract the SCT and calculate issuer key hash
    let (sct, issuer_key_hash) = extract_sct(sct_list, issuer_spki_der)?;

    // Extract signature algorithm and signature bytes for verification
    // Convert the SignatureAndHashAlgorithm to u16
    let sig_alg_bytes = sct
        .signature
        .algorithm
        .tls_serialize()
        .map_err(|e| Error::sct(format!("failed to serialize signature algorithm: {}", e)))?;
    let sig_alg = u16::from_be_bytes([sig_alg_bytes[0], sig_alg_bytes[1]]);
    let scheme = sct_signing_scheme(sig_alg)?;
    let signature = SignatureBytes::new(sct.signature.signature.clone().into_vec());

    // TrustedRoot constructs the keyring and preserves each CT log's declared
    // key ID and validity window. RFC 6962 timestamps are milliseconds since
    // the Unix epoch, so select the key that was valid when the SCT was issued.
    let keyring = &ct_keys
        .iter()
        .find(|(candidate, _)| *candidate == scheme)
        .ok_or_else(|| Error::sct("unsupported SCT signing scheme".into()))?
        .1;
    if keyring.is_empty() {
        return Err(Error::InvalidTrustRoot(
            "no CT log keys in trusted root".to_string(),
        ));
    }

    let digitally_signed =
        DigitallySigned::from_precert_tbs(&tbs_precert_der, &sct, issuer_key_hash)?;
    let log_id = digitally_signed.log_id();
    let issued_at = jiff::Timestamp::from_millisecond(
        i64::try_from(sct.timestamp)
            .map_err(|_| Error::sct("SCT timestamp is out of range".to_string()))?,
    )
    .map_err(|e| Error::sct(format!("invalid SCT timestamp: {e}")))?;

    keyring
        .verify_with_key_id_at(
            &log_id,
            issued_at,
            &digitally_signed.signed_data()?,
            &signature,
        )
        .map_err(|e| Error::sct(format!("SCT signature verification failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_types::Bundle;
    use x509_cert::Certificate;

    /// What `split_precert` replaces: decode the certificate, drop the SCT
    /// list extension from its TBS, re-encode; and the extension's value.
    fn decoded(cert_der: &[u8]) -> (Vec<u8>, Option<SignedCertificateTimestampList>) {
        let cert = Certificate::from_der(cert_der).unwrap();
        let list = cert
            .tbs_certificate
            .get::<SignedCertificateTimestampList>()
            .ok()
            .flatten()
            .map(|(_, list)| list);
        let mut tbs = cert.tbs_certificate.clone();
        tbs.extensions = tbs.extensions.map(|exts| {
            exts.into_iter()
                .filter(|e| e.extn_id != CT_PRECERT_SCTS)
                .collect()
        });
        (tbs.to_der().unwrap(), list)
    }

    fn leaf(bundle: &str) -> Vec<u8> {
        Bundle::from_json(bundle)
            .unwrap()
            .signing_certificate()
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    /// On real Fulcio leaves (production and staging, GitHub Actions and
    /// others), cutting the SCT extension out of the DER gives exactly the
    /// decoded-and-re-encoded precertificate, and the same SCT list.
    #[test]
    fn split_precert_matches_decoding_the_certificate() {
        for bundle in [
            include_str!("../../test_data/bundles/conda-attestation.sigstore.json"),
            include_str!("../../test_data/bundles/cosign-v3-blob.sigstore.json"),
            include_str!("../../test_data/bundles/sigstore.js@2.0.0-provenance.sigstore.json"),
            include_str!("../../test_data/bundles/othername.sigstore.json"),
            include_str!("../../test_data/sct-multi-intermediate/staging_bundle.sigstore.json"),
        ] {
            let der = leaf(bundle);
            let (precert, list) = split_precert(&der).unwrap();
            let (expected, expected_list) = decoded(&der);
            assert_eq!(precert, expected);
            let list = SignedCertificateTimestampList::from_der(list.unwrap()).unwrap();
            assert_eq!(Some(list), expected_list);
        }
    }

    /// The SCT verifies over the precertificate cut from the DER, and binds
    /// it: a flipped bit in another extension (the SAN) or in the SCT's
    /// signature fails verification.
    #[test]
    fn the_sct_binds_the_precertificate() {
        use crate::verify_impl::helpers::{verify_certificate_chain, SigningCertificateChain};
        let root = sigstore_trust_root::TrustedRoot::from_json(
            sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT,
        )
        .unwrap();
        let verifier = crate::Verifier::new(&root).unwrap();
        let bundle = Bundle::from_json(include_str!(
            "../../test_data/bundles/conda-attestation.sigstore.json"
        ))
        .unwrap();
        let time = bundle.verification_material.tlog_entries[0]
            .integrated_time
            .unwrap();
        let chain =
            SigningCertificateChain::from_material(&bundle.verification_material.content).unwrap();
        let issuer = verify_certificate_chain(
            chain,
            time,
            &verifier.fulcio_anchors,
            &verifier.webpki_algorithms.algorithms(),
        )
        .unwrap();
        let der = leaf(include_str!(
            "../../test_data/bundles/conda-attestation.sigstore.json"
        ));
        verify_sct(&der, issuer.as_bytes(), &verifier.ct_keys).unwrap();

        let list_end = {
            let (_, list) = split_precert(&der).unwrap();
            let list = list.unwrap();
            list.as_ptr() as usize - der.as_ptr() as usize + list.len()
        };
        let san = der
            .windows(b"https://github.com/".len())
            .position(|w| w == b"https://github.com/")
            .unwrap();
        for at in [list_end - 1, san + 8] {
            let mut tampered = der.clone();
            tampered[at] ^= 1;
            let err = verify_sct(&tampered, issuer.as_bytes(), &verifier.ct_keys).unwrap_err();
            assert!(err.to_string().contains("SCT"), "{at}: {err}");
        }
    }

    /// A certificate whose SCT extension is missing or repeated has no SCT
    /// list, and one that is not DER does not split.
    #[test]
    fn split_precert_refuses_missing_repeated_and_malformed() {
        let der = leaf(include_str!(
            "../../test_data/bundles/conda-attestation.sigstore.json"
        ));
        let cert = Certificate::from_der(&der).unwrap();
        let sct = cert
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == CT_PRECERT_SCTS)
            .unwrap()
            .clone();
        for count in [0, 2] {
            let mut cert = cert.clone();
            let exts = cert.tbs_certificate.extensions.as_mut().unwrap();
            exts.retain(|e| e.extn_id != CT_PRECERT_SCTS);
            for _ in 0..count {
                exts.push(sct.clone());
            }
            let der = cert.to_der().unwrap();
            let (precert, list) = split_precert(&der).unwrap();
            assert!(list.is_none(), "{count} SCT extensions");
            assert_eq!(precert, decoded(&der).0);
            assert!(extract_sct(list, b"issuer").is_err());
        }
        assert!(split_precert(&der[..der.len() - 1]).is_err());
        assert!(split_precert(&[der.as_slice(), &[0]].concat()).is_err());
    }
}
