//! A test Certificate Transparency log: just enough of one to issue the embedded SCTs Fulcio
//! puts into its leaves (RFC 6962 §3.2, precertificate entries). It keeps no log; verifiers
//! only check the SCT signature against the CT key in the trusted root.

use sha2::{Digest, Sha256};
use sigstore_crypto::KeyPair;

use crate::error::{Result, bad_request};

/// TLS `SignatureAndHashAlgorithm` for ECDSA with SHA-256: hash `sha256(4)`, signature `ecdsa(3)`.
const ECDSA_SHA256: [u8; 2] = [4, 3];
/// `LogEntryType.precert_entry`.
const PRECERT_ENTRY: [u8; 2] = [0, 1];

/// The CT log's signing key and identity.
pub(crate) struct CtLog {
    key: KeyPair,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
}

impl CtLog {
    /// A CT log with a fresh P-256 key.
    pub(crate) fn new() -> Result<Self> {
        let key = KeyPair::generate_ecdsa_p256()?;
        let spki_der = key.public_key_der()?.as_bytes().to_vec();
        let log_id = Sha256::digest(&spki_der).into();
        Ok(Self {
            key,
            spki_der,
            log_id,
        })
    }

    /// The log's public key (SubjectPublicKeyInfo DER), for the trusted root.
    pub(crate) fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The RFC 6962 log ID: SHA-256 of the log's SubjectPublicKeyInfo.
    pub(crate) fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// A TLS-encoded `SignedCertificateTimestampList` holding one SCT for the precertificate
    /// whose TBS (without poison or SCT extensions) is `precert_tbs_der`, issued by the CA whose
    /// SubjectPublicKeyInfo hashes to `issuer_key_hash`, at `timestamp_ms` (Unix milliseconds).
    ///
    /// The timestamp is rounded down to whole seconds: sigstore-python rebuilds the signed data
    /// from a float (`datetime.timestamp() * 1000`), which is exact only for whole seconds.
    pub(crate) fn sign_precertificate(
        &self,
        precert_tbs_der: &[u8],
        issuer_key_hash: &[u8; 32],
        timestamp_ms: i64,
    ) -> Result<Vec<u8>> {
        let timestamp = u64::try_from(timestamp_ms - timestamp_ms.rem_euclid(1000))
            .map_err(|_| bad_request("SCT timestamp before 1970"))?;
        let tbs_len = u24(precert_tbs_der.len())?;

        // RFC 6962 §3.2 `digitally-signed struct`.
        let mut signed = Vec::with_capacity(precert_tbs_der.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&PRECERT_ENTRY);
        signed.extend_from_slice(issuer_key_hash);
        signed.extend_from_slice(&tbs_len);
        signed.extend_from_slice(precert_tbs_der);
        signed.extend_from_slice(&[0, 0]); // no CtExtensions
        let signature = self.key.sign(&signed)?;
        let signature = signature.as_bytes();

        // RFC 6962 §3.2 `SignedCertificateTimestamp`.
        let mut sct = Vec::with_capacity(signature.len() + 47);
        sct.push(0); // v1
        sct.extend_from_slice(&self.log_id);
        sct.extend_from_slice(&timestamp.to_be_bytes());
        sct.extend_from_slice(&[0, 0]); // no CtExtensions
        sct.extend_from_slice(&ECDSA_SHA256);
        sct.extend_from_slice(&u16_len(signature.len())?);
        sct.extend_from_slice(signature);

        // RFC 6962 §3.3 `SignedCertificateTimestampList`: one serialized SCT.
        let mut list = Vec::with_capacity(sct.len() + 4);
        list.extend_from_slice(&u16_len(sct.len() + 2)?);
        list.extend_from_slice(&u16_len(sct.len())?);
        list.extend_from_slice(&sct);
        Ok(list)
    }
}

fn u16_len(len: usize) -> Result<[u8; 2]> {
    u16::try_from(len)
        .map(u16::to_be_bytes)
        .map_err(|_| bad_request("TLS vector longer than 2^16"))
}

fn u24(len: usize) -> Result<[u8; 3]> {
    let len = u32::try_from(len)
        .ok()
        .filter(|len| *len < 1 << 24)
        .ok_or_else(|| bad_request("TBS longer than 2^24"))?;
    let [_, a, b, c] = len.to_be_bytes();
    Ok([a, b, c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::der::asn1::OctetString;
    use x509_cert::ext::pkix::sct::SignedCertificateTimestampList;

    #[test]
    fn sct_list_parses_with_x509_cert() {
        let log = CtLog::new().expect("CT log");
        let list = log
            .sign_precertificate(b"tbs", &[7; 32], 1_709_251_200_123)
            .expect("SCT");
        let list = SignedCertificateTimestampList::from(OctetString::new(list).expect("octets"));
        let scts = list.parse_timestamps().expect("list parses");
        assert_eq!(scts.len(), 1);
        let sct = scts[0].parse_timestamp().expect("SCT parses");
        assert_eq!(sct.log_id.key_id, log.log_id());
        assert_eq!(sct.timestamp, 1_709_251_200_000);
    }
}
