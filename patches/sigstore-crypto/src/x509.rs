//! X.509 certificate utilities for Sigstore
//!
//! This module provides utilities for parsing and extracting information
//! from X.509 certificates used in Sigstore bundles.

use crate::error::{Error, Result};
use crate::KeyAlgorithm;
use der::asn1::{AnyRef, BitStringRef, ContextSpecific, IntRef, OctetStringRef};
use der::{
    Decode, DecodeValue, FixedTag, Header, Length, Reader, Sequence, SliceReader, Tag, TagNumber,
};
use sigstore_types::{DerCertificate, DerPublicKey};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use x509_cert::certificate::Version;
use x509_cert::time::Validity;

// OID constants for algorithm identification
use const_oid::ObjectIdentifier;

/// Legacy Fulcio issuer extension (raw UTF-8).
const FULCIO_ISSUER_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Current Fulcio issuer extension (DER UTF8String).
const FULCIO_ISSUER_V2_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// The arc all Fulcio extensions live under.
const FULCIO_ARC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1");

/// The identity a certificate's Subject Alternative Name asserts.
///
/// Fulcio issues certificates with an email address (for human identities)
/// or a URI (for workloads such as CI jobs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// An `rfc822Name` (email address)
    Email(String),
    /// A `uniformResourceIdentifier`
    Uri(String),
}

impl SubjectAltName {
    /// The identity value, regardless of its kind.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(value) | Self::Uri(value) => value,
        }
    }
}

impl std::fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Information extracted from a certificate
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Identity from the SAN extension (the first email or URI)
    pub identity: Option<SubjectAltName>,
    /// Issuer from certificate (OIDC issuer URL from Fulcio extension)
    pub issuer: Option<String>,
    /// Not valid before
    pub not_before: jiff::Timestamp,
    /// Not valid after
    pub not_after: jiff::Timestamp,
    /// Public key in DER-encoded SPKI format
    pub public_key: DerPublicKey,
    /// Key algorithm derived from the public key algorithm
    pub key_algorithm: KeyAlgorithm,
    /// Claims about the CI workload the certificate was issued to
    pub ci_claims: FulcioCiClaims,
}

/// The claims a Fulcio certificate makes about the CI workload it was issued
/// to, from the extensions under the arc `1.3.6.1.4.1.57264.1`.
///
/// Fulcio copies these from the workload identity token, so together they
/// describe where a signed artifact came from: the repository, the commit, the
/// build configuration that ran and the CI run that invoked the signer. They
/// are the values a relying party needs to decide whether a signature it has
/// verified was produced by the build it expects, which the SAN identity and
/// the OIDC issuer alone do not answer.
///
/// Every claim is optional. Fulcio only sets them for a certificate issued to a
/// CI workload, and which ones it sets depends on the identity provider: a
/// certificate issued to a human identity through an interactive OIDC flow
/// carries none of them. The names are provider-neutral by design, so a relying
/// party should render or match whichever claims are present instead of
/// branching on the issuer.
///
/// The extensions Fulcio has deprecated are read too, into
/// [`Self::deprecated_github`]. See
/// <https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md>.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FulcioCiClaims {
    /// `.1.9` — the build configuration that requested the signature,
    /// including its ref. This is the value the SAN identity is derived from.
    pub build_signer_uri: Option<String>,
    /// `.1.10` — the commit the signing configuration was taken from.
    pub build_signer_digest: Option<String>,
    /// `.1.11` — the kind of runner the workload ran on, e.g. `github-hosted`
    /// or `self-hosted`.
    ///
    /// A self-hosted runner is a weaker guarantee than a provider-hosted one,
    /// because its environment is controlled by the repository owner.
    pub runner_environment: Option<String>,
    /// `.1.12` — the repository the artifact was built from.
    pub source_repository_uri: Option<String>,
    /// `.1.13` — the commit the artifact was built from.
    pub source_repository_digest: Option<String>,
    /// `.1.14` — the ref the artifact was built from, e.g. `refs/heads/main`.
    pub source_repository_ref: Option<String>,
    /// `.1.15` — the provider's immutable identifier for the repository.
    ///
    /// Unlike [`Self::source_repository_uri`] this does not change when the
    /// repository is renamed or transferred, which makes it the more robust
    /// value for a policy to pin to.
    pub source_repository_identifier: Option<String>,
    /// `.1.16` — the owner of the source repository.
    pub source_repository_owner_uri: Option<String>,
    /// `.1.17` — the provider's immutable identifier for the owner.
    pub source_repository_owner_identifier: Option<String>,
    /// `.1.18` — the build configuration that ran, e.g. a workflow file.
    pub build_config_uri: Option<String>,
    /// `.1.19` — the commit the build configuration was taken from.
    pub build_config_digest: Option<String>,
    /// `.1.20` — the event that triggered the build, e.g. `push` or `release`.
    pub build_trigger: Option<String>,
    /// `.1.21` — the specific run that produced the signature. For GitHub
    /// Actions this is a URL under which the build logs can be inspected.
    pub run_invocation_uri: Option<String>,
    /// `.1.22` — whether the source repository was `public`, `private` or
    /// `internal` when the certificate was issued.
    ///
    /// A signature from a private repository cannot be audited by a third
    /// party, because neither the source nor the build logs are reachable.
    pub source_repository_visibility_at_signing: Option<String>,
    /// `.1.23` — the deployment environment the build targeted, e.g.
    /// `production`. Absent when the build declared no environment.
    ///
    /// An environment is what a provider attaches deployment protection rules
    /// to — required reviewers, a wait timer, a branch allowlist — so a policy
    /// that pins this claim asks for more than a build from the expected ref:
    /// it asks for one that passed those gates.
    pub deployment_environment: Option<String>,
    /// `.1.24` — the raw `sub` claim of the identity token the certificate was
    /// requested with, e.g. `repo:sigstore/fulcio:ref:refs/heads/main`.
    ///
    /// Providers translate `sub` into the SAN identity and the claims above,
    /// each in their own way; this is what the token itself said, unchanged.
    pub token_subject: Option<String>,
    /// The GitHub Actions specific claims Fulcio deprecated in favour of the
    /// provider-neutral ones above.
    pub deprecated_github: DeprecatedGitHubClaims,
}

impl FulcioCiClaims {
    /// Whether the certificate carried no CI claims at all, deprecated ones
    /// included.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The GitHub Actions specific claims from the extensions
/// `1.3.6.1.4.1.57264.1.2` to `.1.6`, which Fulcio deprecated in favour of the
/// provider-neutral claims in [`FulcioCiClaims`].
///
/// Prefer the successor each field below points at. All but
/// [`Self::workflow_name`] have one, and a certificate Fulcio issues to a GitHub
/// Actions workflow today carries both. These are read for the certificates that
/// predate the provider-neutral arc: such a certificate carries the deprecated
/// extensions alone, so for that signature they are the only claims there are.
///
/// They are kept apart from their successors rather than folded into them
/// because the values are not interchangeable — [`Self::workflow_repository`] is
/// `owner/repository` where [`FulcioCiClaims::source_repository_uri`] is a full
/// URL — and because [`Self::workflow_name`] has no successor at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeprecatedGitHubClaims {
    /// `.1.2` — the event that triggered the workflow run, e.g. `push`.
    /// Superseded by [`FulcioCiClaims::build_trigger`], which holds the same
    /// value.
    pub workflow_trigger: Option<String>,
    /// `.1.3` — the commit the workflow run was based on. Superseded by
    /// [`FulcioCiClaims::source_repository_digest`], which holds the same value.
    pub workflow_sha: Option<String>,
    /// `.1.4` — the name of the workflow that ran, e.g. `Package and sign`.
    ///
    /// This one has no successor in the provider-neutral arc: it is the
    /// workflow's display name, whereas
    /// [`FulcioCiClaims::build_config_uri`] identifies the file the workflow was
    /// defined in.
    pub workflow_name: Option<String>,
    /// `.1.5` — the repository the workflow run was based on, as
    /// `owner/repository`.
    ///
    /// Superseded by [`FulcioCiClaims::source_repository_uri`], which is the
    /// fully qualified URL of the same repository rather than this short form.
    pub workflow_repository: Option<String>,
    /// `.1.6` — the ref the workflow run was based on, e.g. `refs/heads/main`.
    /// Superseded by [`FulcioCiClaims::source_repository_ref`], which holds the
    /// same value.
    pub workflow_ref: Option<String>,
}

impl DeprecatedGitHubClaims {
    /// Whether the certificate carried none of the deprecated claims, which is
    /// the case for any certificate not issued to a GitHub Actions workflow.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Parse certificate information from DER-encoded certificate
///
/// The certificate is decoded borrowed ([`CertificateRef`]): the same
/// structure and the same checks as `x509_cert::Certificate::from_der`, without
/// building the owned certificate (its names, extension list and extension
/// values are copies of the input this function then only reads). The fields
/// below are read from the borrowed extensions by the same rules as before.
pub fn parse_certificate_info(cert_der: &DerCertificate) -> Result<CertificateInfo> {
    let cert = CertificateRef::from_der(cert_der.as_bytes())
        .map_err(|e| Error::InvalidCertificate(format!("failed to parse certificate: {}", e)))?;

    // Extract validity times
    let not_before = jiff::Timestamp::try_from(cert.validity.not_before.to_system_time())
        .map_err(|e| Error::InvalidCertificate(format!("invalid notBefore time: {}", e)))?;
    let not_after = jiff::Timestamp::try_from(cert.validity.not_after.to_system_time())
        .map_err(|e| Error::InvalidCertificate(format!("invalid notAfter time: {}", e)))?;

    // The public key in SPKI (SubjectPublicKeyInfo) DER format, which is what
    // aws-lc-rs `UnparsedPublicKey` expects, not just the raw key bytes. These
    // are the certificate's own bytes: DER has one encoding of a value, so they
    // are what re-encoding the decoded SPKI gives.
    let public_key = DerPublicKey::new(cert.subject_public_key_info.to_vec());

    // Determine key algorithm from algorithm OID and parameters
    let key_algorithm = KeyAlgorithm::from_spki(&public_key)?;

    let extensions = cert
        .extensions
        .iter()
        .flatten()
        .map(|ext| (&ext.extn_id, ext.extn_value.as_bytes()));

    Ok(CertificateInfo {
        identity: san_identity(extensions.clone())?,
        issuer: fulcio_issuer(extensions.clone())?,
        not_before,
        not_after,
        public_key,
        key_algorithm,
        ci_claims: fulcio_ci_claims(extensions),
    })
}

/// The identity the Subject Alternative Name extension asserts: its first
/// `rfc822Name` or URI, given a certificate's extensions as (`extnID`,
/// `extnValue` contents).
///
/// As `TbsCertificate::get` (x509-cert 0.2) reads it: no SAN is `None`, two
/// SAN extensions or one that does not decode as `GeneralNames` is an error.
fn san_identity<'a>(
    extensions: impl IntoIterator<Item = (&'a ObjectIdentifier, &'a [u8])>,
) -> Result<Option<SubjectAltName>> {
    use const_oid::AssociatedOid;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName as SanExtension;

    let mut sans = extensions
        .into_iter()
        .filter(|(oid, _)| **oid == SanExtension::OID)
        .map(|(_, value)| value);
    let value = match (sans.next(), sans.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        // What `get` answers for an extension that occurs more than once.
        (Some(_), Some(_)) => {
            let e = der::Error::from(der::ErrorKind::Failed);
            return Err(Error::InvalidCertificate(format!(
                "failed to get SAN extension: {e}"
            )));
        }
    };
    let san = SanExtension::from_der(value)
        .map_err(|e| Error::InvalidCertificate(format!("failed to get SAN extension: {}", e)))?;

    // Iterate through GeneralNames and extract email or URI
    for name in san.0.iter() {
        match name {
            GeneralName::Rfc822Name(email) => {
                return Ok(Some(SubjectAltName::Email(email.to_string())));
            }
            GeneralName::UniformResourceIdentifier(uri) => {
                return Ok(Some(SubjectAltName::Uri(uri.to_string())));
            }
            _ => continue,
        }
    }

    Ok(None)
}

/// The OIDC issuer from the Fulcio extensions, given a certificate's
/// extensions as (`extnID`, `extnValue` contents).
///
/// Prefer the DER UTF8String in OID 1.3.6.1.4.1.57264.1.8 (the first such
/// extension). Fall back to the legacy OID 1.3.6.1.4.1.57264.1.1 only when the
/// current extension is absent; a malformed current extension is an error,
/// regardless of the legacy value.
fn fulcio_issuer<'a>(
    extensions: impl IntoIterator<Item = (&'a ObjectIdentifier, &'a [u8])> + Clone,
) -> Result<Option<String>> {
    if let Some((_, value)) = extensions
        .clone()
        .into_iter()
        .find(|(oid, _)| **oid == FULCIO_ISSUER_V2_OID)
    {
        return der::asn1::Utf8StringRef::from_der(value)
            .map(|issuer| Some(issuer.to_string()))
            .map_err(|e| {
                Error::InvalidCertificate(format!("malformed Fulcio issuer v2 extension: {e}"))
            });
    }

    if let Some((_, value)) = extensions
        .into_iter()
        .find(|(oid, _)| **oid == FULCIO_ISSUER_OID)
    {
        // The extension value is a UTF8String wrapped in OCTET STRING
        // Try to decode as UTF8String (the value is DER-encoded)
        if let Ok(utf8_str) = der::asn1::Utf8StringRef::from_der(value) {
            return Ok(Some(utf8_str.to_string()));
        }

        // Fallback: try to interpret the raw bytes as UTF-8
        if let Ok(s) = std::str::from_utf8(value) {
            return Ok(Some(s.to_string()));
        }

        return Err(Error::InvalidCertificate(
            "malformed Fulcio issuer extension".to_string(),
        ));
    }

    Ok(None)
}

/// The CI claims from the Fulcio extensions, given a certificate's extensions
/// as (`extnID`, `extnValue` contents).
///
/// A claim that is absent or malformed is left unset instead of reported, so a
/// certificate from a provider that populates only part of the arc still yields
/// the claims it does carry. None of these claims is used to decide whether a
/// signature is valid, so a value that cannot be read costs nothing beyond the
/// claim itself; the OIDC issuer, which policies do match on, is read by
/// [`fulcio_issuer`] and is an error when malformed.
fn fulcio_ci_claims<'a>(
    extensions: impl IntoIterator<Item = (&'a ObjectIdentifier, &'a [u8])>,
) -> FulcioCiClaims {
    let mut claims = FulcioCiClaims::default();

    for (oid, bytes) in extensions {
        // `.1.1` and `.1.8` are the OIDC issuer, which `fulcio_issuer` reads.
        // The deprecated `.1.2` to `.1.6` hold a bare string, everything from
        // `.1.9` onwards a DER UTF8String.
        let (claim, value) = match fulcio_claim_number(oid) {
            Some(2) => (
                &mut claims.deprecated_github.workflow_trigger,
                bare_string(bytes),
            ),
            Some(3) => (
                &mut claims.deprecated_github.workflow_sha,
                bare_string(bytes),
            ),
            Some(4) => (
                &mut claims.deprecated_github.workflow_name,
                bare_string(bytes),
            ),
            Some(5) => (
                &mut claims.deprecated_github.workflow_repository,
                bare_string(bytes),
            ),
            Some(6) => (
                &mut claims.deprecated_github.workflow_ref,
                bare_string(bytes),
            ),
            Some(9) => (&mut claims.build_signer_uri, der_string(bytes)),
            Some(10) => (&mut claims.build_signer_digest, der_string(bytes)),
            Some(11) => (&mut claims.runner_environment, der_string(bytes)),
            Some(12) => (&mut claims.source_repository_uri, der_string(bytes)),
            Some(13) => (&mut claims.source_repository_digest, der_string(bytes)),
            Some(14) => (&mut claims.source_repository_ref, der_string(bytes)),
            Some(15) => (&mut claims.source_repository_identifier, der_string(bytes)),
            Some(16) => (&mut claims.source_repository_owner_uri, der_string(bytes)),
            Some(17) => (
                &mut claims.source_repository_owner_identifier,
                der_string(bytes),
            ),
            Some(18) => (&mut claims.build_config_uri, der_string(bytes)),
            Some(19) => (&mut claims.build_config_digest, der_string(bytes)),
            Some(20) => (&mut claims.build_trigger, der_string(bytes)),
            Some(21) => (&mut claims.run_invocation_uri, der_string(bytes)),
            Some(22) => (
                &mut claims.source_repository_visibility_at_signing,
                der_string(bytes),
            ),
            Some(23) => (&mut claims.deployment_environment, der_string(bytes)),
            Some(24) => (&mut claims.token_subject, der_string(bytes)),
            _ => continue,
        };

        if value.is_some() {
            *claim = value;
        }
    }

    claims
}

/// A claim held as a DER `UTF8String` inside the extension's OCTET STRING, which
/// is how Fulcio encodes everything from `1.3.6.1.4.1.57264.1.8` onwards.
fn der_string(bytes: &[u8]) -> Option<String> {
    der::asn1::Utf8StringRef::from_der(bytes)
        .ok()
        .map(|value| value.as_str().to_owned())
}

/// A claim held as a bare string, which is how Fulcio encodes the deprecated
/// extensions `1.3.6.1.4.1.57264.1.2` to `.1.6`.
///
/// A DER `UTF8String` is accepted too, as it is for the legacy issuer in
/// [`fulcio_issuer`]: none of these values can begin with the tag byte
/// that would make the bare form decode as one, so trying it first cannot
/// misread a claim.
fn bare_string(bytes: &[u8]) -> Option<String> {
    der_string(bytes).or_else(|| std::str::from_utf8(bytes).ok().map(str::to_owned))
}

/// What `parse_certificate_info` reads of a certificate, decoded without
/// copying by [`CertificateRef::from_der`].
struct CertificateRef<'a> {
    validity: Validity,
    /// The DER of the SubjectPublicKeyInfo.
    subject_public_key_info: &'a [u8],
    extensions: Option<Vec<ExtensionRef<'a>>>,
}

/// `reader.read_nested(length, f)`, with a reader of its own over the contents:
/// the same bytes read and the same trailing data refused, without every read
/// passing through one more nested reader per level.
fn flat<'a, R: Reader<'a>, T>(
    reader: &mut R,
    length: Length,
    f: impl FnOnce(&mut SliceReader<'a>) -> der::Result<T>,
) -> der::Result<T> {
    let mut contents = SliceReader::new(reader.read_slice(length)?)?;
    let value = f(&mut contents)?;
    contents.finish(value)
}

impl<'a> CertificateRef<'a> {
    /// Decodes `der` as `x509_cert::Certificate::from_der` does, and accepts
    /// exactly what it accepts.
    ///
    /// The two SEQUENCEs below are what der_derive generates for x509-cert
    /// 0.2's `CertificateInner` and `TbsCertificateInner` (field order, the
    /// DEFAULT version, the OPTIONAL `[1]`/`[2]`/`[3]` fields found by
    /// `ContextSpecific::decode_explicit`/`decode_implicit`, trailing data
    /// refused), written out; each field is read with a borrowed type that
    /// accepts what the owned field type accepts:
    ///
    /// - `AlgorithmIdentifierOwned` is `AlgorithmIdentifier<Any>`, and `AnyRef`
    ///   decodes as `Any` does (which copies it); `BitString` decodes through
    ///   `BitStringRef::new`; `Version` and `Validity` are x509-cert's own.
    /// - [`SerialNumberRef`], [`NameRef`], [`SpkiDer`] and [`ExtensionsRef`]
    ///   stand for `SerialNumber`, `Name`, `SubjectPublicKeyInfoOwned` and
    ///   `Extensions` and say why they accept the same.
    fn from_der(der: &'a [u8]) -> der::Result<Self> {
        let mut reader = SliceReader::new(der)?;
        let header = Header::decode(&mut reader)?;
        header.tag.assert_eq(Tag::Sequence)?;
        let certificate = flat(&mut reader, header.length, |reader| {
            let header = Header::decode(reader)?;
            header.tag.assert_eq(Tag::Sequence)?;
            let certificate = flat(reader, header.length, Self::decode_tbs_certificate)?;
            AlgorithmIdentifierRef::decode(reader)?;
            BitStringRef::decode(reader)?;
            Ok(certificate)
        })?;
        reader.finish(certificate)
    }

    fn decode_tbs_certificate(reader: &mut SliceReader<'a>) -> der::Result<Self> {
        // version [0] EXPLICIT Version DEFAULT v1
        ContextSpecific::<Version>::decode_explicit(reader, TagNumber::N0)?;
        SerialNumberRef::decode(reader)?;
        AlgorithmIdentifierRef::decode(reader)?;
        NameRef::decode(reader)?;
        let validity = Validity::decode(reader)?;
        NameRef::decode(reader)?;
        let subject_public_key_info = SpkiDer::decode(reader)?.0;
        // issuerUniqueID [1] IMPLICIT, subjectUniqueID [2] IMPLICIT OPTIONAL
        ContextSpecific::<BitStringRef<'a>>::decode_implicit(reader, TagNumber::N1)?;
        ContextSpecific::<BitStringRef<'a>>::decode_implicit(reader, TagNumber::N2)?;
        // extensions [3] EXPLICIT OPTIONAL
        let extensions =
            ContextSpecific::<ExtensionsRef<'a>>::decode_explicit(reader, TagNumber::N3)?
                .map(|extensions| extensions.value.0);
        Ok(Self {
            validity,
            subject_public_key_info,
            extensions,
        })
    }
}

/// `x509_cert::ext::Extensions`, a `Vec<Extension>` (SEQUENCE OF), borrowed.
struct ExtensionsRef<'a>(Vec<ExtensionRef<'a>>);

impl<'a> DecodeValue<'a> for ExtensionsRef<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        flat(reader, header.length, |reader| {
            // Fulcio's certificates carry up to about two dozen.
            let mut extensions = Vec::with_capacity(24);
            while !reader.is_finished() {
                extensions.push(ExtensionRef::decode(reader)?);
            }
            Ok(Self(extensions))
        })
    }
}

impl FixedTag for ExtensionsRef<'_> {
    const TAG: Tag = Tag::Sequence;
}

/// `x509_cert::ext::Extension`, borrowed: `OctetString` decodes as
/// `OctetStringRef` does, into a copy.
#[derive(Sequence)]
struct ExtensionRef<'a> {
    extn_id: ObjectIdentifier,
    #[asn1(default = "Default::default")]
    critical: bool,
    extn_value: OctetStringRef<'a>,
}

/// `x509_cert::serial_number::SerialNumber<Rfc5280>`, borrowed: the INTEGER as
/// `Int` decodes it (`IntRef` runs the same checks), at most 21 bytes long
/// (`Rfc5280::check_serial_number`).
struct SerialNumberRef;

impl<'a> DecodeValue<'a> for SerialNumberRef {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let inner = IntRef::decode_value(reader, header)?;
        if inner.len() > Length::new(21) {
            return Err(Tag::Integer.value_error());
        }
        Ok(Self)
    }
}

impl FixedTag for SerialNumberRef {
    const TAG: Tag = Tag::Integer;
}

/// `x509_cert::name::Name`, borrowed: the contents of the SEQUENCE, checked as
/// the owned decoder checks them.
///
/// `Name` is a SEQUENCE OF `RelativeDistinguishedName`, each a
/// `SetOfVec<AttributeTypeAndValue>`: a SET whose elements are
/// `{ OBJECT IDENTIFIER, ANY }`. der 0.7's `SetOfVec` sorts the elements it
/// decodes and refuses two that compare equal; elements compare by their
/// encodings, so that is two identical encodings, which is what is refused here
/// (a SET out of order is accepted, as `SetOfVec` accepts it).
struct NameRef;

/// `x509_cert::attr::AttributeTypeAndValue`, borrowed.
#[derive(Sequence)]
struct AttributeTypeAndValueRef<'a> {
    oid: ObjectIdentifier,
    value: AnyRef<'a>,
}

impl<'a> DecodeValue<'a> for NameRef {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let contents = reader.read_slice(header.length)?;
        let mut rdns = SliceReader::new(contents)?;
        while !rdns.is_finished() {
            let set = Header::decode(&mut rdns)?;
            set.tag.assert_eq(Tag::Set)?;
            let elements = rdns.read_slice(set.length)?;
            let mut reader = SliceReader::new(elements)?;
            while !reader.is_finished() {
                let start = usize::try_from(reader.position())?;
                let element = reader.tlv_bytes()?;
                AttributeTypeAndValueRef::from_der(element)?;
                let mut earlier = SliceReader::new(elements.get(..start).unwrap_or_default())?;
                while !earlier.is_finished() {
                    if earlier.tlv_bytes()? == element {
                        return Err(der::ErrorKind::SetDuplicate.into());
                    }
                }
            }
        }
        Ok(Self)
    }
}

impl FixedTag for NameRef {
    const TAG: Tag = Tag::Sequence;
}

/// `SubjectPublicKeyInfoOwned`, kept as its DER: the encoding is decoded as a
/// `SubjectPublicKeyInfoRef`, which accepts what the owned type accepts
/// (`AnyRef` parameters for `Any`, `BitStringRef` for `BitString`).
struct SpkiDer<'a>(&'a [u8]);

impl<'a> Decode<'a> for SpkiDer<'a> {
    fn decode<R: Reader<'a>>(reader: &mut R) -> der::Result<Self> {
        let der = reader.tlv_bytes()?;
        SubjectPublicKeyInfoRef::from_der(der)?;
        Ok(Self(der))
    }
}

/// The number identifying a Fulcio extension, if `oid` is a direct child of the
/// Fulcio arc.
///
/// Read from the encoding, without decoding arcs (`ObjectIdentifier::parent`
/// builds a new identifier arc by arc, for every extension of every
/// certificate): an identifier's encoding is its arcs' base-128 encodings one
/// after the other, each ending with the only byte of it whose high bit is
/// clear, so `oid` is a child of the arc exactly when its encoding is the
/// arc's followed by one arc, and that arc is the claim number.
fn fulcio_claim_number(oid: &ObjectIdentifier) -> Option<u32> {
    let child = oid.as_bytes().strip_prefix(FULCIO_ARC.as_bytes())?;
    let (last, leading) = child.split_last()?;
    if last & 0x80 != 0 || leading.iter().any(|b| b & 0x80 == 0) {
        return None;
    }
    child.iter().try_fold(0u32, |number, b| {
        number.checked_mul(128)?.checked_add(u32::from(b & 0x7f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_types::DerCertificate;
    use x509_cert::Certificate;

    /// A Fulcio certificate issued to a GitHub Actions workflow, which populates
    /// the claim arc up to `.1.22`. It is the signing certificate of the bundle
    /// in `sigstore-verify/test_data/bundles/conda-attestation.sigstore.json`.
    const GITHUB_ACTIONS_CERT: &str = include_str!("../test_data/fulcio_github_actions_cert.pem");

    /// A Fulcio certificate issued to a GitHub Actions job that ran in a
    /// deployment environment, so it carries `.1.23` and `.1.24` as well.
    const ENVIRONMENT_CERT: &str =
        include_str!("../test_data/fulcio_github_actions_environment_cert.pem");

    /// One of the certificates of the public good instance's chain, which is not
    /// issued to a workload and therefore carries no claims.
    const INTERMEDIATE_CERT: &str = include_str!("../test_data/sigstore_intermediate_cert.pem");

    /// 0.15.1's `parse_certificate_info` (as this crate had it before the
    /// borrowed decode), verbatim but for the names: the reference the
    /// differential test holds the borrowed decode to.
    mod reference {
        use super::super::{
            bare_string, der_string, fulcio_claim_number, CertificateInfo, FulcioCiClaims,
            SubjectAltName, FULCIO_ISSUER_OID, FULCIO_ISSUER_V2_OID,
        };
        use crate::error::{Error, Result};
        use crate::KeyAlgorithm;
        use sigstore_types::{DerCertificate, DerPublicKey};
        use x509_cert::der::{Decode, Encode};
        use x509_cert::Certificate;

        /// Parse certificate information from DER-encoded certificate
        pub(super) fn parse_certificate_info_reference(
            cert_der: &DerCertificate,
        ) -> Result<CertificateInfo> {
            let cert = Certificate::from_der(cert_der.as_bytes()).map_err(|e| {
                Error::InvalidCertificate(format!("failed to parse certificate: {}", e))
            })?;

            // Extract validity times
            let not_before = jiff::Timestamp::try_from(
                cert.tbs_certificate.validity.not_before.to_system_time(),
            )
            .map_err(|e| Error::InvalidCertificate(format!("invalid notBefore time: {}", e)))?;
            let not_after =
                jiff::Timestamp::try_from(cert.tbs_certificate.validity.not_after.to_system_time())
                    .map_err(|e| {
                        Error::InvalidCertificate(format!("invalid notAfter time: {}", e))
                    })?;

            // Extract public key in SPKI (SubjectPublicKeyInfo) DER format
            // This is required by aws-lc-rs UnparsedPublicKey, which expects the full SPKI,
            // not just the raw key bytes
            let public_key_info = &cert.tbs_certificate.subject_public_key_info;
            let public_key_der = public_key_info
                .to_der()
                .map_err(|e| Error::InvalidCertificate(format!("failed to encode SPKI: {}", e)))?;
            let public_key = DerPublicKey::new(public_key_der);

            // Determine key algorithm from algorithm OID and parameters
            let key_algorithm = KeyAlgorithm::from_spki(&public_key)?;

            // Extract identity from SAN extension
            let identity = extract_san_identity(&cert)?;

            // Extract issuer from Fulcio extension
            let issuer = extract_fulcio_issuer(&cert)?;

            Ok(CertificateInfo {
                identity,
                issuer,
                not_before,
                not_after,
                public_key,
                key_algorithm,
                ci_claims: extract_fulcio_ci_claims(&cert),
            })
        }

        /// Extract identity from Subject Alternative Name (SAN) extension
        ///
        /// This extracts the email address or URI from the SAN extension using
        /// x509-cert's proper ASN.1 parsing (handles all length encodings correctly).
        fn extract_san_identity(cert: &Certificate) -> Result<Option<SubjectAltName>> {
            use x509_cert::ext::pkix::name::GeneralName;
            use x509_cert::ext::pkix::SubjectAltName as SanExtension;

            // Try to get the SAN extension using the typed getter
            // Returns Option<(critical: bool, extension: T)>
            let san_opt: Option<(bool, SanExtension)> =
                cert.tbs_certificate.get().map_err(|e| {
                    Error::InvalidCertificate(format!("failed to get SAN extension: {}", e))
                })?;

            let Some((_critical, san)) = san_opt else {
                return Ok(None);
            };

            // Iterate through GeneralNames and extract email or URI
            for name in san.0.iter() {
                match name {
                    GeneralName::Rfc822Name(email) => {
                        return Ok(Some(SubjectAltName::Email(email.to_string())));
                    }
                    GeneralName::UniformResourceIdentifier(uri) => {
                        return Ok(Some(SubjectAltName::Uri(uri.to_string())));
                    }
                    _ => continue,
                }
            }

            Ok(None)
        }

        /// Extract the OIDC issuer from Fulcio certificate extension
        ///
        /// Prefer the DER UTF8String in OID 1.3.6.1.4.1.57264.1.8. Fall back to the
        /// legacy OID 1.3.6.1.4.1.57264.1.1 only when the current extension is absent;
        /// a malformed current extension is an error, regardless of the legacy value.
        fn extract_fulcio_issuer(cert: &Certificate) -> Result<Option<String>> {
            let extensions = match &cert.tbs_certificate.extensions {
                Some(exts) => exts,
                None => return Ok(None),
            };

            if let Some(ext) = extensions
                .iter()
                .find(|ext| ext.extn_id == FULCIO_ISSUER_V2_OID)
            {
                return der::asn1::Utf8StringRef::from_der(ext.extn_value.as_bytes())
                    .map(|issuer| Some(issuer.to_string()))
                    .map_err(|e| {
                        Error::InvalidCertificate(format!(
                            "malformed Fulcio issuer v2 extension: {e}"
                        ))
                    });
            }

            for ext in extensions.iter() {
                if ext.extn_id == FULCIO_ISSUER_OID {
                    // The extension value is a UTF8String wrapped in OCTET STRING
                    let value_bytes = ext.extn_value.as_bytes();

                    // Try to decode as UTF8String (the value is DER-encoded)
                    if let Ok(utf8_str) = der::asn1::Utf8StringRef::from_der(value_bytes) {
                        return Ok(Some(utf8_str.to_string()));
                    }

                    // Fallback: try to interpret the raw bytes as UTF-8
                    if let Ok(s) = std::str::from_utf8(value_bytes) {
                        return Ok(Some(s.to_string()));
                    }

                    return Err(Error::InvalidCertificate(
                        "malformed Fulcio issuer extension".to_string(),
                    ));
                }
            }

            Ok(None)
        }

        /// Extract the CI claims from the Fulcio extensions of a certificate.
        ///
        /// A claim that is absent or malformed is left unset instead of reported, so a
        /// certificate from a provider that populates only part of the arc still yields
        /// the claims it does carry. None of these claims is used to decide whether a
        /// signature is valid, so a value that cannot be read costs nothing beyond the
        /// claim itself; the OIDC issuer, which policies do match on, is read by
        /// [`extract_fulcio_issuer`] and is an error when malformed.
        fn extract_fulcio_ci_claims(cert: &Certificate) -> FulcioCiClaims {
            let mut claims = FulcioCiClaims::default();
            let Some(extensions) = cert.tbs_certificate.extensions.as_ref() else {
                return claims;
            };

            for ext in extensions.iter() {
                let bytes = ext.extn_value.as_bytes();

                // `.1.1` and `.1.8` are the OIDC issuer, which `extract_fulcio_issuer`
                // reads. The deprecated `.1.2` to `.1.6` hold a bare string, everything
                // from `.1.9` onwards a DER UTF8String.
                let (claim, value) = match fulcio_claim_number(&ext.extn_id) {
                    Some(2) => (
                        &mut claims.deprecated_github.workflow_trigger,
                        bare_string(bytes),
                    ),
                    Some(3) => (
                        &mut claims.deprecated_github.workflow_sha,
                        bare_string(bytes),
                    ),
                    Some(4) => (
                        &mut claims.deprecated_github.workflow_name,
                        bare_string(bytes),
                    ),
                    Some(5) => (
                        &mut claims.deprecated_github.workflow_repository,
                        bare_string(bytes),
                    ),
                    Some(6) => (
                        &mut claims.deprecated_github.workflow_ref,
                        bare_string(bytes),
                    ),
                    Some(9) => (&mut claims.build_signer_uri, der_string(bytes)),
                    Some(10) => (&mut claims.build_signer_digest, der_string(bytes)),
                    Some(11) => (&mut claims.runner_environment, der_string(bytes)),
                    Some(12) => (&mut claims.source_repository_uri, der_string(bytes)),
                    Some(13) => (&mut claims.source_repository_digest, der_string(bytes)),
                    Some(14) => (&mut claims.source_repository_ref, der_string(bytes)),
                    Some(15) => (&mut claims.source_repository_identifier, der_string(bytes)),
                    Some(16) => (&mut claims.source_repository_owner_uri, der_string(bytes)),
                    Some(17) => (
                        &mut claims.source_repository_owner_identifier,
                        der_string(bytes),
                    ),
                    Some(18) => (&mut claims.build_config_uri, der_string(bytes)),
                    Some(19) => (&mut claims.build_config_digest, der_string(bytes)),
                    Some(20) => (&mut claims.build_trigger, der_string(bytes)),
                    Some(21) => (&mut claims.run_invocation_uri, der_string(bytes)),
                    Some(22) => (
                        &mut claims.source_repository_visibility_at_signing,
                        der_string(bytes),
                    ),
                    Some(23) => (&mut claims.deployment_environment, der_string(bytes)),
                    Some(24) => (&mut claims.token_subject, der_string(bytes)),
                    _ => continue,
                };

                if value.is_some() {
                    *claim = value;
                }
            }

            claims
        }
    }

    fn parse(pem: &str) -> CertificateInfo {
        let der = DerCertificate::from_pem(pem).expect("the fixture is a PEM certificate");
        parse_certificate_info(&der).expect("the fixture is a valid certificate")
    }

    /// Every claim the GitHub Actions fixture carries, as a snapshot so that a
    /// claim added to [`FulcioCiClaims`] later shows up here instead of going
    /// untested until someone remembers to assert it. The individual claims a
    /// reader has to reason about are asserted by name in the tests below; the
    /// identity and the issuer are, because a policy matches on them.
    #[test]
    fn test_parse_github_actions_claims() {
        let info = parse(GITHUB_ACTIONS_CERT);

        assert_eq!(
            info.identity,
            Some(SubjectAltName::Uri(
                "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main"
                    .to_string()
            ))
        );
        assert_eq!(
            info.issuer.as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );

        assert!(!info.ci_claims.is_empty());
        // The job declared no environment and the certificate predates `.1.24`,
        // so `deployment_environment` and `token_subject` are absent below.
        insta::assert_debug_snapshot!(info.ci_claims);
    }

    /// A job that runs in a deployment environment adds `.1.23`, and `.1.24`
    /// records the `sub` the certificate was requested with. This fixture is the
    /// one that covers the arc in full, `.1.2` to `.1.24`, so it is snapshotted
    /// as well.
    ///
    /// The assertion below is the point of the fixture: the SAN identity is the
    /// workflow ref and says nothing about the environment the job ran in, which
    /// for GitHub Actions makes the two claims in the snapshot the only place
    /// `upload` appears at all.
    #[test]
    fn test_parse_deployment_environment_claims() {
        let info = parse(ENVIRONMENT_CERT);

        assert_eq!(
            info.identity.as_ref().map(SubjectAltName::as_str),
            Some("https://github.com/pavelzw/skill-forge/.github/workflows/package.yml@refs/heads/main")
        );
        insta::assert_debug_snapshot!(info.ci_claims);
    }

    /// The deprecated `.1.2` to `.1.6`, which the fixture carries alongside the
    /// extensions that superseded them, are read from their own extensions and
    /// not confused with those: `.1.5` holds `owner/repository` where `.1.12`
    /// holds the full URL, and the deprecated extensions are bare strings where
    /// the arc from `.1.8` is DER. Reading both back verbatim shows neither the
    /// values nor the encodings are mixed up.
    #[test]
    fn test_parse_deprecated_github_claims() {
        let claims = parse(GITHUB_ACTIONS_CERT).ci_claims;

        assert!(!claims.deprecated_github.is_empty());
        assert_eq!(
            claims.deprecated_github.workflow_repository.as_deref(),
            Some("prefix-dev/sigstore-example")
        );
        assert_eq!(
            claims.source_repository_uri.as_deref(),
            Some("https://github.com/prefix-dev/sigstore-example")
        );
    }

    /// A certificate issued before Fulcio grew the provider-neutral arc carries
    /// only the deprecated extensions, and is the case they are read for: its
    /// claims are still reachable, under [`DeprecatedGitHubClaims`].
    ///
    /// Stands in for such a certificate by dropping everything from `.1.8`
    /// onwards from the fixture, since the fixtures here are all recent enough
    /// to carry both.
    #[test]
    fn test_parse_certificate_with_only_deprecated_claims() {
        let der = DerCertificate::from_pem(GITHUB_ACTIONS_CERT).expect("the fixture is a PEM");
        let mut cert = Certificate::from_der(der.as_bytes()).expect("the fixture is a certificate");
        let extensions = cert
            .tbs_certificate
            .extensions
            .take()
            .expect("the fixture has extensions");
        cert.tbs_certificate.extensions = Some(
            extensions
                .into_iter()
                .filter(|ext| fulcio_claim_number(&ext.extn_id).is_none_or(|number| number <= 6))
                .collect(),
        );

        let claims = fulcio_ci_claims(
            cert.tbs_certificate
                .extensions
                .iter()
                .flatten()
                .map(|ext| (&ext.extn_id, ext.extn_value.as_bytes())),
        );
        assert!(!claims.is_empty());
        assert_eq!(
            claims.deprecated_github.workflow_trigger.as_deref(),
            Some("push")
        );
        assert_eq!(
            claims.deprecated_github.workflow_repository.as_deref(),
            Some("prefix-dev/sigstore-example")
        );
        // Nothing was read from the arc that is no longer there.
        assert_eq!(claims.build_signer_uri, None);
        assert_eq!(claims.source_repository_uri, None);
    }

    /// A certificate that was not issued to a CI workload yields no claims rather
    /// than an error, so a caller can render whatever a certificate carries
    /// without knowing how it was issued.
    #[test]
    fn test_certificate_without_claims() {
        let info = parse(INTERMEDIATE_CERT);
        assert!(info.ci_claims.is_empty());
        assert_eq!(info.ci_claims, FulcioCiClaims::default());
    }

    #[test]
    fn test_fulcio_claim_number() {
        let claim = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.9");
        assert_eq!(fulcio_claim_number(&claim), Some(9));

        // Not a child of the arc, and a grandchild of it.
        let other = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2.9");
        assert_eq!(fulcio_claim_number(&other), None);
        let nested = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.9.1");
        assert_eq!(fulcio_claim_number(&nested), None);
    }

    /// Reading the encoding gives what `parent` and `arc` give (0.15.1), for
    /// the arc itself, its children (one- to five-byte arcs, the largest u32),
    /// grandchildren, siblings and unrelated identifiers.
    #[test]
    fn fulcio_claim_number_agrees_with_parent_and_arc() {
        fn before(oid: &ObjectIdentifier) -> Option<u32> {
            if oid.parent()? != FULCIO_ARC {
                return None;
            }
            oid.arc(FULCIO_ARC.len())
        }
        for oid in [
            "1.3.6.1.4.1.57264.1",
            "1.3.6.1.4.1.57264",
            "1.3.6.1.4.1.57264.1.0",
            "1.3.6.1.4.1.57264.1.1",
            "1.3.6.1.4.1.57264.1.24",
            "1.3.6.1.4.1.57264.1.127",
            "1.3.6.1.4.1.57264.1.128",
            "1.3.6.1.4.1.57264.1.16384",
            "1.3.6.1.4.1.57264.1.268435455",
            "1.3.6.1.4.1.57264.1.9.1",
            "1.3.6.1.4.1.57264.1.128.1",
            "1.3.6.1.4.1.57264.10.9",
            "1.3.6.1.4.1.57264.2.9",
            "1.3.6.1.4.1.11129.2.4.2",
            "2.5.29.17",
        ] {
            let oid = ObjectIdentifier::new_unwrap(oid);
            assert_eq!(fulcio_claim_number(&oid), before(&oid), "{oid}");
        }
        // An identifier with a five-byte arc can be built, though not decoded
        // from a certificate (the DER decoder refuses it); const-oid 0.9's
        // `parent` panics on it (`ArcTooBig`), reading the encoding does not.
        let big = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4294967295");
        assert!(std::panic::catch_unwind(|| before(&big)).is_err());
        assert_eq!(fulcio_claim_number(&big), Some(u32::MAX));
        let other = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.4294967295.1.9");
        assert_eq!(fulcio_claim_number(&other), None);
        for pem in [GITHUB_ACTIONS_CERT, ENVIRONMENT_CERT, INTERMEDIATE_CERT] {
            let der = DerCertificate::from_pem(pem).unwrap();
            let cert = Certificate::from_der(der.as_bytes()).unwrap();
            for ext in cert.tbs_certificate.extensions.iter().flatten() {
                assert_eq!(
                    fulcio_claim_number(&ext.extn_id),
                    before(&ext.extn_id),
                    "{}",
                    ext.extn_id
                );
            }
        }
    }
    /// A DER TLV: `tag`, the length of `contents` (definite, minimal), `contents`.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = contents.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(contents);
        out
    }

    /// The TLVs `der` is made of, each with its offset in `der`.
    fn tlvs(der: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut reader = SliceReader::new(der).unwrap();
        let mut out = vec![];
        while !reader.is_finished() {
            let at = usize::try_from(reader.position()).unwrap();
            out.push((at, reader.tlv_bytes().unwrap().to_vec()));
        }
        out
    }

    /// The contents of a TLV, with their offset in it.
    fn contents(tlv: &[u8]) -> (usize, &[u8]) {
        let mut reader = SliceReader::new(tlv).unwrap();
        Header::decode(&mut reader).unwrap();
        let at = usize::try_from(reader.position()).unwrap();
        (at, &tlv[at..])
    }

    /// A certificate taken apart into the TBS fields and the two fields after
    /// the TBS, to be put back together with some of them changed.
    #[derive(Clone)]
    struct Parts {
        tbs: Vec<Vec<u8>>,
        rest: Vec<Vec<u8>>,
    }

    impl Parts {
        fn split(der: &[u8]) -> Self {
            let (_, cert) = contents(der);
            let mut fields = tlvs(cert).into_iter().map(|(_, field)| field);
            let tbs = fields.next().unwrap();
            Self {
                tbs: tlvs(contents(&tbs).1).into_iter().map(|(_, f)| f).collect(),
                rest: fields.collect(),
            }
        }

        fn join(&self) -> Vec<u8> {
            tlv(
                0x30,
                &[tlv(0x30, &self.tbs.concat()), self.rest.concat()].concat(),
            )
        }

        /// Where the fields after the optional version are.
        fn at(&self, field: usize) -> usize {
            usize::from(self.tbs[0][0] == 0xa0) + field
        }

        fn extensions(&self) -> Option<Vec<Vec<u8>>> {
            let field = self.tbs.iter().find(|field| field[0] == 0xa3)?;
            let (_, list) = contents(contents(field).1);
            Some(tlvs(list).into_iter().map(|(_, ext)| ext).collect())
        }

        fn with_extensions(&self, extensions: Option<&[Vec<u8>]>) -> Vec<u8> {
            let mut parts = self.clone();
            parts.tbs.retain(|field| field[0] != 0xa3);
            if let Some(extensions) = extensions {
                parts.tbs.push(tlv(0xa3, &tlv(0x30, &extensions.concat())));
            }
            parts.join()
        }

        fn with_field(&self, index: usize, field: Vec<u8>) -> Vec<u8> {
            let mut parts = self.clone();
            parts.tbs[index] = field;
            parts.join()
        }

        fn with_inserted(&self, index: usize, field: Vec<u8>) -> Vec<u8> {
            let mut parts = self.clone();
            parts.tbs.insert(index, field);
            parts.join()
        }
    }

    fn oid_tlv(oid: &str) -> Vec<u8> {
        tlv(0x06, ObjectIdentifier::new_unwrap(oid).as_bytes())
    }

    /// An extension; `critical` is written out even when FALSE (which DER
    /// forbids and der 0.7 accepts).
    fn extension(oid: &str, critical: Option<bool>, value: &[u8]) -> Vec<u8> {
        let critical = match critical {
            None => vec![],
            Some(critical) => tlv(0x01, &[if critical { 0xff } else { 0x00 }]),
        };
        tlv(0x30, &[oid_tlv(oid), critical, tlv(0x04, value)].concat())
    }

    fn extension_oid(extension: &[u8]) -> ObjectIdentifier {
        ExtensionRef::from_der(extension).unwrap().extn_id
    }

    fn extension_value(extension: &[u8]) -> Vec<u8> {
        ExtensionRef::from_der(extension)
            .unwrap()
            .extn_value
            .as_bytes()
            .to_vec()
    }

    const SAN: &str = "2.5.29.17";
    const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
    const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";

    /// An attribute of a name: `oid` and a UTF8String.
    fn attribute(oid: &str, value: &str) -> Vec<u8> {
        tlv(0x30, &[oid_tlv(oid), tlv(0x0c, value.as_bytes())].concat())
    }

    /// How the two decoders compared on a set of inputs.
    #[derive(Default, Debug)]
    struct Tally {
        inputs: usize,
        both_ok: usize,
        both_err: usize,
        same_message: usize,
    }

    /// Both decoders on `der`: the reference's `Ok` is the new decoder's `Ok`
    /// with the same fields, the reference's `Err` is an `Err`.
    fn check(tally: &mut Tally, der: &[u8], what: impl Fn() -> String) {
        let cert = DerCertificate::new(der.to_vec());
        let reference = reference::parse_certificate_info_reference(&cert);
        let borrowed = parse_certificate_info(&cert);
        tally.inputs += 1;
        match (&reference, &borrowed) {
            (Ok(reference), Ok(borrowed)) => {
                assert_eq!(reference, borrowed, "{}", what());
                tally.both_ok += 1;
            }
            (Err(reference), Err(borrowed)) => {
                tally.both_err += 1;
                if reference.to_string() == borrowed.to_string() {
                    tally.same_message += 1;
                }
            }
            _ => panic!(
                "{}: the reference gives {reference:?}, the borrowed decode {borrowed:?}",
                what()
            ),
        }
    }

    /// Every certificate of `test_data`, and of the directory
    /// `SIGSTORE_CRYPTO_DIFFERENTIAL_CERTS` names if it is set (PEM or DER).
    fn differential_seeds() -> Vec<(String, Vec<u8>)> {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")];
        if let Some(extra) = std::env::var_os("SIGSTORE_CRYPTO_DIFFERENTIAL_CERTS") {
            dirs.push(extra.into());
        }
        let mut seeds = vec![];
        for dir in dirs {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
            entries.sort();
            for path in entries {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let der = match path.extension().and_then(|e| e.to_str()) {
                    Some("pem") => {
                        let pem = std::fs::read_to_string(&path).unwrap();
                        DerCertificate::from_pem(&pem).unwrap().as_bytes().to_vec()
                    }
                    Some("der") => std::fs::read(&path).unwrap(),
                    _ => continue,
                };
                seeds.push((name, der));
            }
        }
        seeds
    }

    /// Byte-level mutations of `der`: every truncation, every bit of the first
    /// 200 bytes and of the extensions flipped, every byte set to 0x00, 0xff
    /// and 0x80, and one byte appended.
    fn check_byte_mutations(tally: &mut Tally, name: &str, der: &[u8]) {
        for len in 0..der.len() {
            check(tally, &der[..len], || format!("{name} truncated to {len}"));
        }
        check(tally, &[der, &[0][..]].concat(), || {
            format!("{name} with a byte appended")
        });

        let (cert_at, cert) = contents(der);
        let (_, tbs) = &tlvs(cert)[0];
        let (fields_at, fields) = contents(tbs);
        let extensions = tlvs(fields)
            .into_iter()
            .find(|(_, field)| field[0] == 0xa3)
            .map(|(at, field)| {
                let start = cert_at + fields_at + at;
                start..start + field.len()
            })
            .unwrap_or(0..0);
        let mut mutant = der.to_vec();
        for index in (0..der.len().min(200)).chain(extensions) {
            for bit in 0..8 {
                mutant[index] ^= 1 << bit;
                check(tally, &mutant, || {
                    format!("{name} byte {index} bit {bit} flipped")
                });
                mutant[index] ^= 1 << bit;
            }
        }
        for index in 0..der.len() {
            for value in [0x00, 0xff, 0x80] {
                if der[index] != value {
                    mutant[index] = value;
                    check(tally, &mutant, || {
                        format!("{name} byte {index} set to {value:#x}")
                    });
                    mutant[index] = der[index];
                }
            }
        }
    }

    /// Structural mutations of `der`, each built from its fields with correct
    /// lengths, aimed at the rules the borrowed decode has to get the same.
    fn structural_mutations(der: &[u8]) -> Vec<(String, Vec<u8>)> {
        let parts = Parts::split(der);
        assert_eq!(parts.join(), der);
        let mut out: Vec<(String, Vec<u8>)> = vec![];
        let mut push = |what: &str, der: Vec<u8>| out.push((what.to_owned(), der));

        let extensions = parts.extensions().unwrap_or_default();
        let find = |oid: &str| {
            let oid = ObjectIdentifier::new_unwrap(oid);
            extensions.iter().position(|ext| extension_oid(ext) == oid)
        };
        let replaced = |index: Option<usize>, ext: Vec<u8>| {
            let mut list = extensions.clone();
            match index {
                Some(index) => list[index] = ext,
                None => list.push(ext),
            }
            parts.with_extensions(Some(&list))
        };
        let without = |oids: &[&str]| {
            let oids: Vec<_> = oids
                .iter()
                .map(|o| ObjectIdentifier::new_unwrap(o))
                .collect();
            let list: Vec<_> = extensions
                .iter()
                .filter(|ext| !oids.contains(&extension_oid(ext)))
                .cloned()
                .collect();
            parts.with_extensions(Some(&list))
        };

        // Extensions: each one twice, each one dropped, none, an empty list,
        // each one marked critical and explicitly not critical.
        for (index, ext) in extensions.iter().enumerate() {
            let oid = extension_oid(ext);
            let mut list = extensions.clone();
            list.insert(index + 1, ext.clone());
            push(
                &format!("extension {index} ({oid}) twice"),
                parts.with_extensions(Some(&list)),
            );
            let mut list = extensions.clone();
            list.remove(index);
            push(
                &format!("extension {index} ({oid}) dropped"),
                parts.with_extensions(Some(&list)),
            );
            let value = extension_value(ext);
            for critical in [true, false] {
                let mut list = extensions.clone();
                list[index] = extension(&oid.to_string(), Some(critical), &value);
                push(
                    &format!("extension {index} ({oid}) critical {critical} written out"),
                    parts.with_extensions(Some(&list)),
                );
            }
        }
        push("no extensions", parts.with_extensions(None));
        push("empty extension list", parts.with_extensions(Some(&[])));
        let mut list = extensions.clone();
        list.reverse();
        push("extensions reversed", parts.with_extensions(Some(&list)));

        // The SAN.
        let uri = tlv(0x86, b"https://example.com/workflow");
        let email = tlv(0x81, b"someone@example.com");
        let dns = tlv(0x82, b"example.com");
        let san = find(SAN);
        for (what, names) in [
            ("a DNS name only", dns.clone()),
            (
                "a DNS name, then a URI",
                [dns.clone(), uri.clone()].concat(),
            ),
            (
                "an email, then a URI",
                [email.clone(), uri.clone()].concat(),
            ),
            (
                "a URI, then an email",
                [uri.clone(), email.clone()].concat(),
            ),
            (
                "an IP address, then an email",
                [tlv(0x87, &[127, 0, 0, 1]), email.clone()].concat(),
            ),
            ("no names", vec![]),
        ] {
            push(
                &format!("SAN with {what}"),
                replaced(san, extension(SAN, None, &tlv(0x30, &names))),
            );
        }
        push(
            "SAN not DER",
            replaced(san, extension(SAN, None, b"\x30\x01")),
        );
        push(
            "SAN with trailing data",
            replaced(
                san,
                extension(SAN, None, &[tlv(0x30, &uri), vec![0]].concat()),
            ),
        );
        push(
            "SAN email not ASCII",
            replaced(
                san,
                extension(
                    SAN,
                    None,
                    &tlv(0x30, &tlv(0x81, "é@example.com".as_bytes())),
                ),
            ),
        );
        push("no SAN", without(&[SAN]));

        // The issuer.
        let url = b"https://issuer.example".as_slice();
        let (v1, v2) = (find(ISSUER_V1), find(ISSUER_V2));
        push("legacy issuer only", without(&[ISSUER_V2]));
        push("v2 issuer only", without(&[ISSUER_V1]));
        push("no issuer", without(&[ISSUER_V1, ISSUER_V2]));
        push(
            "v2 issuer malformed (raw UTF-8)",
            replaced(v2, extension(ISSUER_V2, None, url)),
        );
        push(
            "v2 issuer malformed (PrintableString)",
            replaced(v2, extension(ISSUER_V2, None, &tlv(0x13, url))),
        );
        push(
            "legacy issuer raw UTF-8",
            replaced(v1, extension(ISSUER_V1, None, url)),
        );
        push(
            "legacy issuer DER",
            replaced(v1, extension(ISSUER_V1, None, &tlv(0x0c, url))),
        );
        push(
            "legacy issuer not UTF-8",
            replaced(v1, extension(ISSUER_V1, None, b"\xff\xfe")),
        );
        let mut list = extensions.clone();
        list.push(extension(ISSUER_V2, None, &tlv(0x0c, url)));
        push("a second v2 issuer", parts.with_extensions(Some(&list)));
        let mut list = extensions.clone();
        list.insert(0, extension(ISSUER_V2, None, &tlv(0x0c, url)));
        push("a first v2 issuer", parts.with_extensions(Some(&list)));
        let mut list = extensions.clone();
        list.push(extension(ISSUER_V2, None, url));
        push(
            "a second, malformed v2 issuer",
            parts.with_extensions(Some(&list)),
        );
        let mut list = extensions.clone();
        list.push(extension("1.3.6.1.4.1.57264.1.12", None, b"\xff"));
        push(
            "a second, malformed claim",
            parts.with_extensions(Some(&list)),
        );
        let mut list = extensions.clone();
        list.push(tlv(0x30, &[oid_tlv(SAN), tlv(0x04, &[])].concat()));
        push("a second SAN, empty", parts.with_extensions(Some(&list)));

        // The extension list's own encoding.
        let list = tlv(0x30, &extensions.concat());
        let mut tbs = parts.clone();
        tbs.tbs.retain(|f| f[0] != 0xa3);
        for (what, field) in [
            ("extensions [3] primitive", tlv(0x83, &list)),
            (
                "extensions [3] holding a SET",
                tlv(0xa3, &tlv(0x31, &extensions.concat())),
            ),
            (
                "extensions [3] with trailing data",
                tlv(0xa3, &[list.clone(), vec![5, 0]].concat()),
            ),
            ("extensions [3] empty", tlv(0xa3, &[])),
            (
                "an extension holding trailing data",
                tlv(
                    0xa3,
                    &tlv(
                        0x30,
                        &[
                            extensions.concat(),
                            tlv(0x30, &[oid_tlv(SAN), tlv(0x04, &[]), vec![5, 0]].concat()),
                        ]
                        .concat(),
                    ),
                ),
            ),
            (
                "an extension without a value",
                tlv(
                    0xa3,
                    &tlv(
                        0x30,
                        &[extensions.concat(), tlv(0x30, &oid_tlv(SAN))].concat(),
                    ),
                ),
            ),
            (
                "an extension with critical not a BOOLEAN",
                tlv(
                    0xa3,
                    &tlv(
                        0x30,
                        &[
                            extensions.concat(),
                            tlv(
                                0x30,
                                &[oid_tlv(SAN), tlv(0x01, &[1]), tlv(0x04, &[])].concat(),
                            ),
                        ]
                        .concat(),
                    ),
                ),
            ),
        ] {
            let mut t = tbs.clone();
            t.tbs.push(field);
            push(what, t.join());
        }

        // The version, the unique identifiers and unknown fields.
        let version = |v: u8| tlv(0xa0, &tlv(0x02, &[v]));
        let has_version = parts.tbs[0][0] == 0xa0;
        let mut v1 = parts.clone();
        if has_version {
            v1.tbs.remove(0);
        }
        push("no version", v1.join());
        for v in [0, 1, 2, 3, 0x80] {
            let mut p = v1.clone();
            p.tbs.insert(0, version(v));
            push(&format!("version {v}"), p.join());
        }
        let mut p = v1.clone();
        p.tbs.insert(0, tlv(0x80, &tlv(0x02, &[2])));
        push("version [0] primitive", p.join());
        let spki = parts.at(5);
        let unique = |tag: u8| tlv(tag, &[0, 0xaa]);
        for (what, fields) in [
            ("issuerUniqueID", vec![unique(0x81)]),
            ("subjectUniqueID", vec![unique(0x82)]),
            ("both unique IDs", vec![unique(0x81), unique(0x82)]),
            (
                "both unique IDs, out of order",
                vec![unique(0x82), unique(0x81)],
            ),
            ("issuerUniqueID constructed", vec![tlv(0xa1, &unique(0x03))]),
            (
                "issuerUniqueID with bad unused bits",
                vec![tlv(0x81, &[8, 0xaa])],
            ),
            ("a second [0]", vec![version(2)]),
            (
                "a [0] between the unique IDs",
                vec![unique(0x81), version(2), unique(0x82)],
            ),
            ("a [4]", vec![tlv(0xa4, &[])]),
            ("a universal field", vec![tlv(0x05, &[])]),
        ] {
            let mut p = parts.clone();
            for (offset, field) in fields.into_iter().enumerate() {
                p.tbs.insert(spki + 1 + offset, field);
            }
            push(&format!("{what} after the SPKI"), p.join());
        }
        push("a [4] after the extensions", {
            let mut p = parts.clone();
            p.tbs.push(tlv(0xa4, &[]));
            p.join()
        });

        // The serial number.
        let serial = parts.at(0);
        for (what, bytes) in [
            ("20 bytes", [&[0x7f][..], &[1; 19]].concat()),
            ("21 bytes", [&[0x00, 0x80][..], &[1; 19]].concat()),
            ("22 bytes", [&[0x7f][..], &[1; 21]].concat()),
            ("not minimal", vec![0x00, 0x01]),
            ("negative", vec![0x80]),
            ("empty", vec![]),
        ] {
            push(
                &format!("serial {what}"),
                parts.with_field(serial, tlv(0x02, &bytes)),
            );
        }

        // The names.
        let (cn, o) = ("2.5.4.3", "2.5.4.10");
        for index in [parts.at(2), parts.at(4)] {
            let which = if index == parts.at(2) {
                "issuer"
            } else {
                "subject"
            };
            for (what, name) in [
                ("empty", vec![]),
                ("an empty RDN", tlv(0x31, &[])),
                (
                    "two attributes in one RDN",
                    tlv(0x31, &[attribute(cn, "a"), attribute(o, "b")].concat()),
                ),
                (
                    "two attributes out of order",
                    tlv(0x31, &[attribute(o, "b"), attribute(cn, "a")].concat()),
                ),
                (
                    "the same attribute twice",
                    tlv(0x31, &[attribute(cn, "a"), attribute(cn, "a")].concat()),
                ),
                (
                    "the same attribute twice, apart",
                    tlv(
                        0x31,
                        &[attribute(cn, "a"), attribute(o, "b"), attribute(cn, "a")].concat(),
                    ),
                ),
                (
                    "one type, two values",
                    tlv(0x31, &[attribute(cn, "a"), attribute(cn, "b")].concat()),
                ),
                ("an RDN as a SEQUENCE", tlv(0x30, &attribute(cn, "a"))),
                (
                    "an attribute with trailing data",
                    tlv(
                        0x31,
                        &tlv(
                            0x30,
                            &[oid_tlv(cn), tlv(0x0c, b"a"), tlv(0x05, &[])].concat(),
                        ),
                    ),
                ),
                (
                    "an attribute without a value",
                    tlv(0x31, &tlv(0x30, &oid_tlv(cn))),
                ),
                (
                    "an attribute with a bad OID",
                    tlv(
                        0x31,
                        &tlv(0x30, &[tlv(0x06, &[0x80]), tlv(0x0c, b"a")].concat()),
                    ),
                ),
                (
                    "two RDNs",
                    [
                        tlv(0x31, &attribute(o, "b")),
                        tlv(0x31, &attribute(cn, "a")),
                    ]
                    .concat(),
                ),
            ] {
                push(
                    &format!("{which} {what}"),
                    parts.with_field(index, tlv(0x30, &name)),
                );
            }
            push(
                &format!("{which} as a SET"),
                parts.with_field(index, tlv(0x31, &[])),
            );
        }

        // The validity.
        let validity = parts.at(3);
        let utc = |s: &str| tlv(0x17, s.as_bytes());
        let generalized = |s: &str| tlv(0x18, s.as_bytes());
        for (what, times) in [
            ("UTCTime", [utc("230101000000Z"), utc("240101000000Z")]),
            (
                "GeneralizedTime",
                [
                    generalized("20230101000000Z"),
                    generalized("20500101000000Z"),
                ],
            ),
            (
                "the last UTCTime year",
                [utc("490101000000Z"), utc("491231235959Z")],
            ),
            (
                "UTCTime before 1970",
                [utc("690101000000Z"), utc("240101000000Z")],
            ),
            (
                "GeneralizedTime 9999",
                [
                    generalized("20230101000000Z"),
                    generalized("99991231235959Z"),
                ],
            ),
            ("a bad month", [utc("231301000000Z"), utc("240101000000Z")]),
            ("no Z", [utc("230101000000+0100"), utc("240101000000Z")]),
            (
                "fractional seconds",
                [generalized("20230101000000.5Z"), utc("240101000000Z")],
            ),
            (
                "GeneralizedTime 1969",
                [generalized("19691231235959Z"), utc("240101000000Z")],
            ),
        ] {
            push(
                &format!("validity {what}"),
                parts.with_field(validity, tlv(0x30, &times.concat())),
            );
        }

        // The SPKI, the signature and what follows the certificate.
        let ed25519 = tlv(
            0x30,
            &[
                tlv(0x30, &oid_tlv("1.3.101.112")),
                tlv(0x03, &[[0].as_slice(), &[7; 32]].concat()),
            ]
            .concat(),
        );
        push("an Ed25519 key", parts.with_field(spki, ed25519));
        push(
            "an SPKI with trailing data",
            parts.with_field(
                spki,
                tlv(0x30, &[contents(&parts.tbs[spki]).1, &[5, 0]].concat()),
            ),
        );
        push("an SPKI with unused bits", {
            let mut field = parts.tbs[spki].clone();
            let last = tlvs(contents(&field).1).last().unwrap().0 + contents(&field).0;
            field[last + 2] = 1;
            parts.with_field(spki, field)
        });
        let mut p = parts.clone();
        p.rest[1] = tlv(0x03, &[9, 0]);
        push("a signature with 9 unused bits", p.join());
        let mut p = parts.clone();
        p.rest.push(tlv(0x05, &[]));
        push("a fourth field in the certificate", p.join());
        let mut p = parts.clone();
        p.rest.pop();
        push("no signature", p.join());
        let mut p = parts.clone();
        p.rest[0] = tlv(
            0x30,
            &[oid_tlv("1.2.840.10045.4.3.3"), tlv(0x05, &[])].concat(),
        );
        push("signature algorithm with NULL parameters", p.join());
        push(
            "the version field twice",
            parts.with_inserted(0, version(2)),
        );
        out
    }

    /// The borrowed decode answers as 0.15.1's owned decode does, on every
    /// certificate of `test_data` and on mutations of each (see
    /// `check_byte_mutations` and `structural_mutations`): the same fields
    /// when the reference accepts the input, an error when it refuses it.
    #[test]
    fn parse_certificate_info_agrees_with_owned_decode() {
        let mut tally = Tally::default();
        let seeds = differential_seeds();
        assert!(seeds.len() >= 9, "{} certificates", seeds.len());
        for (name, der) in &seeds {
            check(&mut tally, der, || name.clone());
            check_byte_mutations(&mut tally, name, der);
            for (what, mutant) in structural_mutations(der) {
                check(&mut tally, &mutant, || format!("{name}: {what}"));
                // The mutations' own truncations, which end inside the part
                // changed as often as anywhere.
                for len in (0..mutant.len()).step_by(7) {
                    check(&mut tally, &mutant[..len], || {
                        format!("{name}: {what}, truncated to {len}")
                    });
                }
            }
        }
        eprintln!("{} certificates: {tally:?}", seeds.len());
        assert!(tally.both_ok > 0 && tally.both_err > 0);
    }
}
