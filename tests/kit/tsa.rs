//! The kit's RFC 3161 timestamp authority: `POST /api/v1/timestamp` as sigstore-tsa 0.15.1
//! sends it (a DER `TimeStampReq`, `application/timestamp-query`), answered with a DER
//! `TimeStampResp` whose token is CMS `SignedData` over a `TSTInfo` at the kit's clock, signed by
//! the TSA leaf (ECDSA P-256, SHA-256, signed attributes with content type, message digest and
//! the ESS signing-certificate-v2 RFC 3161 §2.4.1 asks for). The nonce and message imprint are
//! echoed, as the client checks both. `GET /api/v1/timestamp/certchain` returns the PEM chain.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec, Uint};
use der::{Any, Decode as _, Encode as _, Sequence, Tag};
use hyper::{Method, StatusCode};
use sha2::{Digest as _, Sha256};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::clock::Clock;
use crate::error::{Result, bad_request};
use crate::http::{Reply, Request, Service};
use crate::pki::{TsaCertificates, pem};

const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// The TSA policy sigstore's timestamp authority stamps under.
const TSA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// RFC 3161 `MessageImprint`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// RFC 3161 `TimeStampReq` (extensions are not supported and make the request fail to parse).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(default = "default_false")]
    cert_req: bool,
}

/// RFC 3161 `TSTInfo` (without accuracy, tsa name or extensions).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GeneralizedTime,
    #[asn1(default = "default_false")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
}

/// RFC 3161 `PKIStatusInfo` (status only).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u8,
}

/// RFC 3161 `TimeStampResp`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<Any>,
}

fn default_false() -> bool {
    false
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

/// The kit's TSA service.
pub(crate) struct Tsa {
    certificates: TsaCertificates,
    clock: Arc<Clock>,
    serial: AtomicU64,
}

impl Tsa {
    /// A TSA with fresh certificates under `names`.
    pub(crate) fn new(clock: Arc<Clock>, names: &crate::pki::KitNames) -> Result<Self> {
        Ok(Self {
            certificates: TsaCertificates::new(names)?,
            clock,
            serial: AtomicU64::new(1),
        })
    }

    /// The chain a trusted root lists, leaf first: leaf, root.
    pub(crate) fn chain_der(&self) -> [&[u8]; 2] {
        [&self.certificates.leaf_der, &self.certificates.root_der]
    }

    /// Answer a DER `TimeStampReq` with a DER `TimeStampResp`.
    fn timestamp(&self, request_der: &[u8]) -> Result<Vec<u8>> {
        let request = TimeStampReq::from_der(request_der)
            .map_err(|e| bad_request(format!("invalid TimeStampReq: {e}")))?;
        if request.message_imprint.hash_algorithm.oid != ID_SHA256
            || request.message_imprint.hashed_message.as_bytes().len() != 32
        {
            return Err(bad_request("only SHA-256 message imprints are supported"));
        }
        let now = self.clock.now();
        let seconds = u64::try_from(now.timestamp())
            .map_err(|_| bad_request("the kit's clock is before 1970"))?;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let tst_info = TstInfo {
            version: 1,
            policy: TSA_POLICY,
            message_imprint: request.message_imprint,
            serial_number: Int::from(Uint::new(&serial.to_be_bytes())?),
            gen_time: GeneralizedTime::from_unix_duration(Duration::from_secs(seconds))?,
            ordering: false,
            nonce: request.nonce,
        }
        .to_der()?;

        let leaf = &self.certificates.leaf;
        let signing_certificate_v2 = {
            // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }, with
            // ESSCertIDv2 ::= SEQUENCE { certHash OCTET STRING } (hash algorithm: default SHA-256).
            let cert_hash = OctetString::new(Sha256::digest(&self.certificates.leaf_der).to_vec())?;
            let ess_cert_id = Any::new(Tag::Sequence, cert_hash.to_der()?)?;
            let certs = Any::new(Tag::Sequence, ess_cert_id.to_der()?)?;
            Any::new(Tag::Sequence, certs.to_der()?)?
        };
        let attribute = |oid, value: Any| -> Result<Attribute> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value])?,
            })
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(Sha256::digest(&tst_info).to_vec())?)?,
            )?,
            attribute(ID_SIGNING_CERTIFICATE_V2, signing_certificate_v2)?,
        ])?;
        let signature = self.certificates.key.sign(&signed_attrs.to_der()?)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate.issuer.clone(),
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_bytes())?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_algorithm()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info)?),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(leaf.clone()),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let token = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(TimeStampResp {
            status: PkiStatusInfo { status: 0 },
            time_stamp_token: Some(Any::encode_from(&token)?),
        }
        .to_der()?)
    }
}

impl Service for Tsa {
    fn handle(&self, request: &Request) -> Reply {
        match (&request.method, request.path.as_str()) {
            (&Method::POST, "/api/v1/timestamp") => match self.timestamp(&request.body) {
                Ok(response) => {
                    Reply::bytes(StatusCode::OK, "application/timestamp-reply", response)
                }
                Err(error) => Reply::error(&error),
            },
            (&Method::GET, "/api/v1/timestamp/certchain") => Reply::bytes(
                StatusCode::OK,
                "application/pem-certificate-chain",
                self.chain_der()
                    .iter()
                    .map(|der| pem("CERTIFICATE", der))
                    .collect::<String>()
                    .into_bytes(),
            ),
            _ => Reply::not_found(request),
        }
    }
}
