//! X.509 for the kit: a test root and intermediate CA, Fulcio-profile leaf certificates, and the
//! small DER/PEM helpers the other services share.
//!
//! Certificates follow the profile real verifiers enforce, which is stricter than "parses":
//! sigstore-python checks chains with `cryptography`'s WebPKI policy (UTCTime before 2050,
//! critical basic constraints and key usage on CAs, an authority key identifier on every issued
//! certificate, a SAN on the leaf) and sigstore-verify with rustls-webpki (code-signing EKU).
//! Every key is ECDSA P-256 and every signature ECDSA with SHA-256.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeZone as _, Utc};
use sha2::{Digest, Sha256};
use sigstore_crypto::KeyPair;
use x509_cert::Certificate;
use x509_cert::TbsCertificate;
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::ct::CtLog;
use crate::error::{Result, bad_request};

/// `ecdsa-with-SHA256`, the signature algorithm of every kit certificate.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `id-kp-codeSigning`, the EKU Fulcio certificates carry and both verifiers require.
pub(crate) const ID_KP_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// RFC 6962 embedded SCT list extension.
pub(crate) const CT_PRECERT_SCTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// `id-kp-timeStamping`, the one (critical) EKU of an RFC 3161 TSA certificate.
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// How long a Fulcio leaf certificate is valid, as on the public-good instance.
pub(crate) const LEAF_VALIDITY: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Start and end of the test CAs' validity (and of the trusted root's `validFor` windows): wide
/// enough for backfill bundles from 2024 and bundles minted at real time for years to come.
pub(crate) fn ca_validity() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH),
        Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH),
    )
}

/// Standard base64 with padding, the encoding of every binary field in Sigstore JSON.
pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decode standard base64, as a client error when it is not.
pub(crate) fn unb64(what: &str, text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text)
        .map_err(|e| bad_request(format!("{what} is not base64: {e}")))
}

/// PEM the way Go's `encoding/pem` (Rekor, Fulcio) and OpenSSL (sigstore-python) write it:
/// 64-column lines ending in `\n`. Rekor stores certificates in this form, and sigstore-python
/// compares log entry bodies against exactly these bytes, so no other line ending will do.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block with this label (any line endings).
pub(crate) fn unpem(label: &str, text: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| bad_request(format!("no PEM {label} block")))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| bad_request(format!("unterminated PEM {label} block")))?
        + start;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    unb64("PEM body", &body)
}

/// The SubjectPublicKeyInfo (DER) of a DER certificate.
pub(crate) fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| bad_request(format!("not an X.509 certificate: {e}")))?;
    Ok(cert.tbs_certificate.subject_public_key_info.to_der()?)
}

/// A UTCTime for `t`; the kit only deals in times before 2050, where RFC 5280 requires UTCTime.
fn utc_time(t: DateTime<Utc>) -> Result<Time> {
    let seconds = u64::try_from(t.timestamp())
        .map_err(|_| bad_request(format!("time {t} is before 1970")))?;
    Ok(Time::UtcTime(UtcTime::from_unix_duration(
        Duration::from_secs(seconds),
    )?))
}

/// Positive, 20-byte, unique-per-process serial numbers (Fulcio's are 20 random bytes).
fn serial_number(spki_der: &[u8]) -> Result<SerialNumber> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = Sha256::new();
    hasher.update(count.to_be_bytes());
    hasher.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_be_bytes(),
    );
    hasher.update(spki_der);
    let mut bytes: [u8; 20] = hasher.finalize()[..20]
        .try_into()
        .map_err(|_| bad_request("serial digest too short"))?;
    // Clear the sign bit and set the next one: positive and exactly 20 bytes long in DER.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

/// RFC 7093 method 1 key identifier: the leftmost 160 bits of SHA-256 of the public key bits.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha256::digest(spki.subject_public_key.raw_bytes())[..20].to_vec()
}

/// A DER-encoded extension.
fn extension(oid: ObjectIdentifier, critical: bool, value_der: Vec<u8>) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value_der)?,
    })
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// Sign a TBS certificate with `issuer_key` and return the certificate's DER.
fn sign_certificate(tbs: TbsCertificate, issuer_key: &KeyPair) -> Result<Vec<u8>> {
    let signature = issuer_key.sign(&tbs.to_der()?)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(signature.as_bytes())?,
    };
    Ok(cert.to_der()?)
}

/// A CA certificate's identity: what an issued certificate names as its issuer.
struct CaCert {
    key: KeyPair,
    name: Name,
    key_id: Vec<u8>,
    spki_der: Vec<u8>,
    der: Vec<u8>,
}

impl CaCert {
    /// A CA certificate for a fresh key, issued by `issuer` (self-signed when `None`).
    fn new(subject: &str, issuer: Option<&CaCert>, path_len: Option<u8>) -> Result<Self> {
        let key = KeyPair::generate_ecdsa_p256()?;
        let spki_der = key.public_key_der()?.as_bytes().to_vec();
        let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der)?;
        let key_id = key_identifier(&spki);
        let name: Name = subject.parse()?;
        let (not_before, not_after) = ca_validity();
        let (issuer_name, issuer_key_id) = match issuer {
            Some(issuer) => (issuer.name.clone(), issuer.key_id.clone()),
            None => (name.clone(), key_id.clone()),
        };
        let mut extensions = vec![
            extension(
                ID_CE_KEY_USAGE,
                true,
                KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign).to_der()?,
            )?,
            extension(
                ID_CE_BASIC_CONSTRAINTS,
                true,
                BasicConstraints {
                    ca: true,
                    path_len_constraint: path_len,
                }
                .to_der()?,
            )?,
            extension(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                SubjectKeyIdentifier(OctetString::new(key_id.clone())?).to_der()?,
            )?,
            extension(
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(issuer_key_id)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()?,
            )?,
        ];
        if issuer.is_some() {
            // Fulcio's intermediate is restricted to code signing, like its leaves.
            extensions.insert(
                1,
                extension(
                    ID_CE_EXT_KEY_USAGE,
                    false,
                    ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]).to_der()?,
                )?,
            );
        }
        let tbs = TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: serial_number(&spki_der)?,
            signature: ecdsa_sha256(),
            issuer: issuer_name,
            validity: Validity {
                not_before: utc_time(not_before)?,
                not_after: utc_time(not_after)?,
            },
            subject: name.clone(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let der = sign_certificate(tbs, issuer.map_or(&key, |issuer| &issuer.key))?;
        Ok(Self {
            key,
            name,
            key_id,
            spki_der,
            der,
        })
    }
}

/// The test timestamp authority's certificates: a self-signed root and the signing leaf, shaped
/// like the public-good `sigstore-tsa-selfsigned` / `sigstore-tsa` pair. RFC 3161 §2.3 wants the
/// leaf's only EKU to be `timeStamping`, critical; sigstore-python checks exactly that.
pub(crate) struct TsaCertificates {
    /// The leaf's signing key.
    pub(crate) key: KeyPair,
    /// The leaf, parsed (CMS names it by issuer and serial number).
    pub(crate) leaf: Certificate,
    /// The leaf's DER.
    pub(crate) leaf_der: Vec<u8>,
    /// The root's DER.
    pub(crate) root_der: Vec<u8>,
}

impl TsaCertificates {
    /// A fresh root and leaf, valid over [`ca_validity`], under the given names.
    pub(crate) fn new(names: &KitNames) -> Result<Self> {
        let root = CaCert::new(names.tsa_root, None, Some(0))?;
        let key = KeyPair::generate_ecdsa_p256()?;
        let spki_der = key.public_key_der()?.as_bytes().to_vec();
        let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der)?;
        let (not_before, not_after) = ca_validity();
        let tbs = TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: serial_number(&spki_der)?,
            signature: ecdsa_sha256(),
            issuer: root.name.clone(),
            validity: Validity {
                not_before: utc_time(not_before)?,
                not_after: utc_time(not_after)?,
            },
            subject: names.tsa_leaf.parse()?,
            subject_public_key_info: spki.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(
                    ID_CE_KEY_USAGE,
                    true,
                    KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
                )?,
                extension(
                    ID_CE_SUBJECT_KEY_IDENTIFIER,
                    false,
                    SubjectKeyIdentifier(OctetString::new(key_identifier(&spki))?).to_der()?,
                )?,
                extension(
                    ID_CE_AUTHORITY_KEY_IDENTIFIER,
                    false,
                    AuthorityKeyIdentifier {
                        key_identifier: Some(OctetString::new(root.key_id.clone())?),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    }
                    .to_der()?,
                )?,
                extension(
                    ID_CE_EXT_KEY_USAGE,
                    true,
                    ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]).to_der()?,
                )?,
            ]),
        };
        let leaf_der = sign_certificate(tbs, &root.key)?;
        Ok(Self {
            key,
            leaf: Certificate::from_der(&leaf_der)?,
            leaf_der,
            root_der: root.der,
        })
    }
}

/// One Fulcio certificate extension: its arc number under `1.3.6.1.4.1.57264.1` and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FulcioExtension {
    /// `.1` to `.6`: the deprecated extensions, whose value is the raw string bytes.
    Raw(u32, String),
    /// `.8` onwards: a DER UTF8String.
    Utf8(u32, String),
}

impl FulcioExtension {
    fn to_extension(&self) -> Result<Extension> {
        let (arc, value) = match self {
            Self::Raw(arc, value) => (*arc, value.as_bytes().to_vec()),
            Self::Utf8(arc, value) => (
                *arc,
                x509_cert::der::asn1::Utf8StringRef::new(value)?.to_der()?,
            ),
        };
        let oid = ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}"))
            .map_err(|e| bad_request(format!("bad Fulcio extension arc {arc}: {e}")))?;
        extension(oid, false, value)
    }
}

/// What Fulcio puts into one leaf certificate.
pub(crate) struct LeafRequest<'a> {
    /// The requester's public key (SubjectPublicKeyInfo DER), proven by the proof of possession.
    pub(crate) spki_der: &'a [u8],
    /// The SAN URI: the identity a verification policy matches.
    pub(crate) san_uri: &'a str,
    /// The OIDC extensions, in the order Fulcio writes them.
    pub(crate) extensions: &'a [FulcioExtension],
    /// notBefore; notAfter is [`LEAF_VALIDITY`] later, and the SCT carries the same instant.
    pub(crate) not_before: DateTime<Utc>,
}

/// The distinguished names of a kit instance's CAs (RFC 4514 strings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KitNames {
    pub(crate) fulcio_root: &'static str,
    pub(crate) fulcio_intermediate: &'static str,
    pub(crate) tsa_root: &'static str,
    pub(crate) tsa_leaf: &'static str,
    /// The organisation all of them carry, for the trusted root's `subject`.
    pub(crate) organization: &'static str,
}

/// The kit's stand-in for the public-good instance (its own organisation, so that no bundle
/// of it is ever mistaken for a real one).
pub(crate) const PUBLIC_GOOD_NAMES: KitNames = KitNames {
    fulcio_root: "CN=sigstore,O=brew-verify.test",
    fulcio_intermediate: "CN=sigstore-intermediate,O=brew-verify.test",
    tsa_root: "CN=sigstore-tsa-selfsigned,O=brew-verify.test",
    tsa_leaf: "CN=sigstore-tsa,O=brew-verify.test",
    organization: "brew-verify.test",
};

/// The kit's stand-in for GitHub's instance: the names of GitHub's own CAs (its trusted root,
/// `sigstore-trust-root`'s `trusted_root_github.json`: `O=GitHub, Inc.` throughout, Fulcio
/// leaves issued by `Fulcio Intermediate l2`, timestamps by `TSA Timestamping`), so that a
/// verifier routes its bundles by issuer organisation exactly as it routes GitHub's.
pub(crate) const GITHUB_NAMES: KitNames = KitNames {
    fulcio_root: "CN=Internal Services Root,O=GitHub\\, Inc.",
    fulcio_intermediate: "CN=Fulcio Intermediate l2,O=GitHub\\, Inc.",
    tsa_root: "CN=Internal Services Root,O=GitHub\\, Inc.",
    tsa_leaf: "CN=TSA Timestamping,O=GitHub\\, Inc.",
    organization: "GitHub, Inc.",
};

/// The test Fulcio CA: a self-signed root and an intermediate that issues the leaves, shaped
/// like the public-good `sigstore` / `sigstore-intermediate` pair.
pub(crate) struct FulcioCa {
    root: CaCert,
    intermediate: CaCert,
}

impl FulcioCa {
    /// A fresh root and intermediate, valid over [`ca_validity`].
    pub(crate) fn new(names: &KitNames) -> Result<Self> {
        let root = CaCert::new(names.fulcio_root, None, None)?;
        let intermediate = CaCert::new(names.fulcio_intermediate, Some(&root), Some(0))?;
        Ok(Self { root, intermediate })
    }

    /// The chain a trusted root lists, leaf-proximal first: intermediate, root.
    pub(crate) fn chain_der(&self) -> [&[u8]; 2] {
        [&self.intermediate.der, &self.root.der]
    }

    /// Issue a leaf for `request`, with an SCT from `ct_log` embedded (none without one, as
    /// GitHub's Fulcio issues them: its instance has no CT log).
    ///
    /// The SCT is computed over the precertificate TBS (RFC 6962 §3.2): the final TBS without
    /// the SCT list extension, which is exactly what verifiers rebuild by deleting that
    /// extension, so the SCT list goes last and nothing else changes between the two encodings.
    pub(crate) fn issue_leaf(
        &self,
        request: &LeafRequest<'_>,
        ct_log: Option<&CtLog>,
    ) -> Result<Vec<u8>> {
        let spki = SubjectPublicKeyInfoOwned::from_der(request.spki_der)
            .map_err(|e| bad_request(format!("public key is not a SubjectPublicKeyInfo: {e}")))?;
        let san_uri = Ia5String::new(request.san_uri)
            .map_err(|e| bad_request(format!("SAN URI is not IA5: {e}")))?;
        let mut extensions = vec![
            extension(
                ID_CE_KEY_USAGE,
                true,
                KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
            )?,
            extension(
                ID_CE_EXT_KEY_USAGE,
                false,
                ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]).to_der()?,
            )?,
            extension(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                SubjectKeyIdentifier(OctetString::new(key_identifier(&spki))?).to_der()?,
            )?,
            extension(
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(self.intermediate.key_id.clone())?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()?,
            )?,
            // Critical because the subject is empty (RFC 5280 §4.2.1.6), as Fulcio does.
            extension(
                ID_CE_SUBJECT_ALT_NAME,
                true,
                SubjectAltName(vec![GeneralName::UniformResourceIdentifier(san_uri)]).to_der()?,
            )?,
        ];
        for fulcio_extension in request.extensions {
            extensions.push(fulcio_extension.to_extension()?);
        }
        let mut tbs = TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: serial_number(request.spki_der)?,
            signature: ecdsa_sha256(),
            issuer: self.intermediate.name.clone(),
            validity: Validity {
                not_before: utc_time(request.not_before)?,
                not_after: utc_time(request.not_before + LEAF_VALIDITY)?,
            },
            subject: Name::default(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let Some(ct_log) = ct_log else {
            return sign_certificate(tbs, &self.intermediate.key);
        };
        let precert_tbs = tbs.to_der()?;
        let issuer_key_hash: [u8; 32] = Sha256::digest(&self.intermediate.spki_der).into();
        let sct_list = ct_log.sign_precertificate(
            &precert_tbs,
            &issuer_key_hash,
            request.not_before.timestamp_millis(),
        )?;
        tbs.extensions.get_or_insert_with(Vec::new).push(extension(
            CT_PRECERT_SCTS,
            false,
            OctetString::new(sct_list)?.to_der()?,
        )?);
        sign_certificate(tbs, &self.intermediate.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_with_64_column_lf_lines() {
        let der: Vec<u8> = (0..=255).collect();
        let text = pem("CERTIFICATE", &der);
        assert!(text.lines().all(|line| line.len() <= 64));
        assert!(!text.contains('\r'));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        assert_eq!(unpem("CERTIFICATE", &text).expect("round trip"), der);
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(unpem("CERTIFICATE", &crlf).expect("CRLF input"), der);
    }

    #[test]
    fn ca_chain_has_the_webpki_profile() {
        let ca = FulcioCa::new(&PUBLIC_GOOD_NAMES).expect("CA");
        let [intermediate, root] = ca.chain_der();
        for der in [intermediate, root] {
            let cert = Certificate::from_der(der).expect("parses");
            let tbs = &cert.tbs_certificate;
            assert!(matches!(tbs.validity.not_before, Time::UtcTime(_)));
            let extensions = tbs.extensions.as_ref().expect("extensions");
            let basic = extensions
                .iter()
                .find(|e| e.extn_id == ID_CE_BASIC_CONSTRAINTS)
                .expect("basic constraints");
            assert!(basic.critical);
            assert!(
                extensions
                    .iter()
                    .any(|e| e.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER)
            );
        }
        let intermediate = Certificate::from_der(intermediate).expect("parses");
        let root = Certificate::from_der(root).expect("parses");
        assert_eq!(
            intermediate.tbs_certificate.issuer,
            root.tbs_certificate.subject
        );
    }
}
