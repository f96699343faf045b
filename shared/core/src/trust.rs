//! The Sigstore trusted roots, prepared once for many verifications.
//!
//! GitHub signs artifact attestations through one of two Sigstore *instances*: for a public
//! repository Sigstore's public-good instance (Fulcio `fulcio.sigstore.dev`, Rekor, CT logs);
//! for a private one GitHub's own (its Fulcio `fulcio.githubapp.com` and RFC 3161 timestamp
//! authority `timestamp.githubapp.com`, and no transparency log and no CT log at all). A
//! [`TrustRoot`] holds one trusted root per instance, each with its own verifier, and
//! [`TrustRoot::route`] picks the one that issued a bundle's certificate the way gh does (see
//! there). Both roots are compiled in (through `sigstore-trust-root`), so verification works
//! on a machine with no network; other roots (a refreshed one, GitHub Enterprise, staging,
//! tests) are handed in as JSON, never read here.

use std::sync::Arc;

use sigstore_trust_root::{
    SIGSTORE_GITHUB_TRUSTED_ROOT, SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot,
};
use sigstore_types::Bundle;
use sigstore_verify::Verifier;

/// The issuer organisation of public-good Fulcio certificates: gh's `PublicGoodIssuerOrg`
/// (cli/cli `pkg/cmd/attestation/verification/sigstore.go`: `PublicGoodIssuerOrg = "sigstore.dev"`).
pub const PUBLIC_GOOD_ISSUER_ORG: &str = "sigstore.dev";

/// The issuer organisation of certificates from GitHub's own Fulcio: gh's `GitHubIssuerOrg`
/// (same file: `GitHubIssuerOrg = "GitHub, Inc."`).
pub const GITHUB_ISSUER_ORG: &str = "GitHub, Inc.";

/// The embedded GitHub root's JSON (GitHub's Fulcio CAs and timestamp authorities).
pub const GITHUB_JSON: &str = SIGSTORE_GITHUB_TRUSTED_ROOT;

/// Which Sigstore instance a trusted root belongs to, and so which verification policy its
/// bundles get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Instance {
    /// Sigstore's public-good instance (public repositories): every bundle must be logged in
    /// Rekor (inclusion proof, checkpoint, SET) and its certificate must carry a verified SCT.
    /// Any root that is not GitHub's counts as this one (staging, a test stack, a private
    /// Sigstore with its own logs), and is held to the same policy.
    #[serde(rename = "public-good")]
    PublicGood,
    /// GitHub's own instance (private repositories): no transparency log and no SCT exist, so
    /// the signing time must come from at least one verified RFC 3161 timestamp of GitHub's
    /// timestamp authority (gh's `verify.WithSignedTimestamps(1)`).
    #[serde(rename = "github")]
    GitHub,
}

impl Instance {
    /// The name used in policy files, `--json` and messages: `public-good` or `github`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PublicGood => "public-good",
            Self::GitHub => "github",
        }
    }

    /// The instance a name from a policy file stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "public-good" => Some(Self::PublicGood),
            "github" => Some(Self::GitHub),
            _ => None,
        }
    }

    /// A phrase for messages: "the public-good instance", "GitHub's Sigstore instance
    /// (private repository)".
    pub fn describe(self) -> &'static str {
        match self {
            Self::PublicGood => "the public-good Sigstore instance",
            Self::GitHub => "GitHub's Sigstore instance (private repository)",
        }
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A trusted-root document handed in from outside (a TUF refresh, a file): its JSON (a
/// `trusted_root.json`, or a client trust config wrapping one) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootDocument {
    /// Where it came from, for messages (a path, `embedded GitHub root`, a TUF repository).
    pub label: String,
    /// The JSON text.
    pub json: String,
}

impl RootDocument {
    /// A document from its label and JSON.
    pub fn new(label: impl Into<String>, json: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            json: json.into(),
        }
    }
}

/// One instance's trusted root as verification uses it: what it is, where it came from, its
/// JSON (for output that names its logs and timestamp authorities), and the organisations its
/// Fulcio CAs issue certificates under.
#[derive(Debug)]
pub struct InstanceRoot {
    instance: Instance,
    label: String,
    json: String,
    organisations: Vec<String>,
}

impl InstanceRoot {
    /// The instance, and so the policy its bundles are verified with.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// Where the root came from.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The trusted root's JSON (the inner `trustedRoot` of a client trust config).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The issuer organisations of its Fulcio CAs, as gh reads them (see [`TrustRoot::route`]).
    pub fn organisations(&self) -> &[String] {
        &self.organisations
    }
}

/// A root with its verifier.
struct Prepared {
    info: Arc<InstanceRoot>,
    verifier: Verifier,
}

/// The trusted roots of the Sigstore instances in use, with their verification keys already
/// parsed.
///
/// Building a [`Verifier`] parses every CA certificate and log key; doing it once per process
/// instead of once per bundle is most of what keeps a verification under a millisecond.
pub struct TrustRoot {
    /// In the order [`TrustRoot::route`] tries them (the public-good root first).
    instances: Vec<Prepared>,
}

/// A trusted root could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootError {
    /// The JSON is not a trusted root (nor a trust config holding one).
    #[error("`{label}` is not a Sigstore trusted root: {reason}")]
    Parse {
        /// Where the root came from.
        label: String,
        /// What the parser said.
        reason: String,
    },
    /// The root parsed but its keys or certificates are unusable.
    #[error("`{label}` cannot be used for verification")]
    Unusable {
        /// Where the root came from.
        label: String,
        /// The verifier's complaint.
        #[source]
        source: sigstore_verify::Error,
    },
    /// A document handed in as one instance's root belongs to the other (swapped arguments, a
    /// refresh that fetched the wrong target): refused rather than verified under the wrong
    /// policy.
    #[error(
        "`{label}` was given as the {expected} root, but its certificate authorities are {found}'s"
    )]
    WrongInstance {
        /// Where the root came from.
        label: String,
        /// The instance it was given as.
        expected: Instance,
        /// The instance its certificate authorities belong to.
        found: Instance,
    },
    /// No document at all (an empty JSON Lines file).
    #[error("`{label}` holds no trusted root")]
    Empty {
        /// Where the roots were to come from.
        label: String,
    },
}

/// The embedded public-good root's JSON (for what needs the document itself, such as gh's
/// `verifiedTimestamps[].uri`, read from the root's log and TSA entries).
pub const PRODUCTION_JSON: &str = SIGSTORE_PRODUCTION_TRUSTED_ROOT;

/// What a trusted root holds, for `--version` and `doctor`: how many of each authority, and
/// the newest start of validity among them (a root older than the newest key in use is stale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSummary {
    /// Fulcio certificate authorities.
    pub certificate_authorities: usize,
    /// Rekor transparency logs.
    pub transparency_logs: usize,
    /// Certificate-transparency logs.
    pub ct_logs: usize,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: usize,
    /// The latest `validFor.start` of any of them (RFC 3339, as written).
    pub newest_key_from: Option<String>,
}

impl RootSummary {
    /// Summarise a root document (a trusted root, or a client trust config holding one).
    pub fn of_json(json: &str) -> Option<Self> {
        let all = authorities(json)?;
        let count = |kind: AuthorityKind| all.iter().filter(|a| a.kind == kind).count();
        Some(Self {
            certificate_authorities: count(AuthorityKind::Fulcio),
            transparency_logs: count(AuthorityKind::Rekor),
            ct_logs: count(AuthorityKind::Ct),
            timestamp_authorities: count(AuthorityKind::Tsa),
            // RFC 3339 in UTC sorts as text.
            newest_key_from: all.into_iter().filter_map(|a| a.valid_from).max(),
        })
    }
}

/// The kinds of authority a trusted root lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityKind {
    /// A Fulcio certificate authority (`certificateAuthorities`).
    Fulcio,
    /// A Rekor transparency log (`tlogs`).
    Rekor,
    /// A certificate-transparency log (`ctlogs`).
    Ct,
    /// An RFC 3161 timestamp authority (`timestampAuthorities`).
    Tsa,
}

impl AuthorityKind {
    /// `fulcio` / `rekor` / `ct` / `tsa`, as `trust show` names them.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fulcio => "fulcio",
            Self::Rekor => "rekor",
            Self::Ct => "ct",
            Self::Tsa => "tsa",
        }
    }
}

/// One authority of a trusted root, with the range it is trusted for (RFC 3339, as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// What it is.
    pub kind: AuthorityKind,
    /// Its URL (`uri` of a CA or TSA, `baseUrl` of a log).
    pub uri: String,
    /// `validFor.start`.
    pub valid_from: Option<String>,
    /// `validFor.end`: absent while it is current.
    pub valid_until: Option<String>,
}

/// Every authority of a root document (a trusted root, or a client trust config holding one),
/// CAs first, then logs, CT logs and TSAs; `None` when it is not JSON.
pub fn authorities(json: &str) -> Option<Vec<Authority>> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let root = value.get("trustedRoot").unwrap_or(&value);
    let lists = [
        (
            "certificateAuthorities",
            AuthorityKind::Fulcio,
            "/uri",
            "/validFor",
        ),
        (
            "tlogs",
            AuthorityKind::Rekor,
            "/baseUrl",
            "/publicKey/validFor",
        ),
        (
            "ctlogs",
            AuthorityKind::Ct,
            "/baseUrl",
            "/publicKey/validFor",
        ),
        (
            "timestampAuthorities",
            AuthorityKind::Tsa,
            "/uri",
            "/validFor",
        ),
    ];
    let mut found = Vec::new();
    for (key, kind, uri, valid) in lists {
        let entries = root.get(key).and_then(serde_json::Value::as_array);
        for entry in entries.into_iter().flatten() {
            let text = |path: &str| {
                entry
                    .pointer(path)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            found.push(Authority {
                kind,
                uri: text(uri).unwrap_or_default(),
                valid_from: text(&format!("{valid}/start")),
                valid_until: text(&format!("{valid}/end")),
            });
        }
    }
    Some(found)
}

impl std::fmt::Display for RootSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CAs, {} transparency logs, {} CT logs, {} timestamp authorities",
            self.certificate_authorities,
            self.transparency_logs,
            self.ct_logs,
            self.timestamp_authorities
        )?;
        if let Some(newest) = &self.newest_key_from {
            let day: String = newest.chars().take(10).collect();
            write!(f, "; newest key valid from {day}")?;
        }
        Ok(())
    }
}

/// The root document in `text`: the whole text when it is one JSON document, else the first
/// non-empty line (gh's `--custom-trusted-root` takes JSON Lines of roots; the first is the
/// current one).
pub fn first_root_document(text: &str) -> &str {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return text;
    }
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text)
}

impl TrustRoot {
    /// The embedded roots: Sigstore's public-good instance and GitHub's instance.
    pub fn production() -> Result<Self, TrustRootError> {
        Self::from_instances(
            RootDocument::new(
                "embedded Sigstore public-good root",
                SIGSTORE_PRODUCTION_TRUSTED_ROOT,
            ),
            Some(RootDocument::new(
                "embedded GitHub root",
                SIGSTORE_GITHUB_TRUSTED_ROOT,
            )),
        )
    }

    /// The public-good root and, optionally, GitHub's: what a TUF refresh of both instances
    /// hands in. Each document must belong to the instance it is given as (its Fulcio CAs
    /// GitHub's for `github`, anyone else's for `public_good`), so that swapped documents fail
    /// here instead of verifying bundles under the other instance's policy.
    pub fn from_instances(
        public_good: RootDocument,
        github: Option<RootDocument>,
    ) -> Result<Self, TrustRootError> {
        let mut instances = vec![prepare(&public_good, Some(Instance::PublicGood))?];
        if let Some(github) = github {
            instances.push(prepare(&github, Some(Instance::GitHub))?);
        }
        Ok(Self { instances })
    }

    /// One root from JSON: a `trusted_root.json`, or a client trust config
    /// (`application/vnd.dev.sigstore.clienttrustconfig…`) whose `trustedRoot` is used. Its
    /// instance is decided by its certificate authorities (see [`TrustRoot::route`]).
    pub fn from_json(label: &str, json: &str) -> Result<Self, TrustRootError> {
        Self::from_documents(vec![RootDocument::new(label, json)])
    }

    /// Several roots, tried in this order, each one's instance decided by its certificate
    /// authorities: what a JSON Lines file of roots gives (gh's `--custom-trusted-root`).
    pub fn from_documents(documents: Vec<RootDocument>) -> Result<Self, TrustRootError> {
        if documents.is_empty() {
            return Err(TrustRootError::Empty {
                label: "the trusted roots".into(),
            });
        }
        let instances = documents
            .iter()
            .map(|d| prepare(d, None))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { instances })
    }

    /// The roots in `text` from `label`: one JSON document (a trusted root or a trust config),
    /// or JSON Lines of them, one per non-empty line, labelled `label, line N`.
    ///
    /// gh's `--custom-trusted-root` reads the file line by line and keeps every root
    /// (cli/cli `pkg/cmd/attestation/verification/sigstore.go`, `chooseVerifier`: "Load each
    /// trusted root", `root.NewTrustedRootFromJSON(line)` for each `reader.ReadBytes('\n')`),
    /// choosing per bundle by issuer organisation; so does this.
    pub fn from_text(label: &str, text: &str) -> Result<Self, TrustRootError> {
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            return Self::from_json(label, text);
        }
        let documents: Vec<RootDocument> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| RootDocument::new(format!("{label}, line {}", i + 1), line))
            .collect();
        if documents.is_empty() {
            return Err(TrustRootError::Empty {
                label: label.to_owned(),
            });
        }
        Self::from_documents(documents)
    }

    /// Where the first (public-good) root came from, for messages.
    pub fn label(&self) -> &str {
        self.instances
            .first()
            .map_or("no trusted root", |p| p.info.label.as_str())
    }

    /// Every root, in the order [`TrustRoot::route`] tries them.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceRoot> {
        self.instances.iter().map(|p| p.info.as_ref())
    }

    /// Whether some root belongs to `instance`.
    pub fn has(&self, instance: Instance) -> bool {
        self.instances().any(|i| i.instance == instance)
    }

    /// The root that must verify `bundle`, chosen as gh chooses its verifier; its
    /// [`Instance`] decides the policy.
    ///
    /// gh reads the *issuer organisation* of the bundle's leaf certificate, requiring exactly
    /// one, and picks by it (cli/cli `pkg/cmd/attestation/verification/sigstore.go`,
    /// `getBundleIssuer`: `if len(leafCert.Issuer.Organization) != 1 { … "expected the leaf
    /// certificate issuer to only have one organization" }`; `chooseVerifier`: `case
    /// PublicGoodIssuerOrg: … newPublicGoodVerifier()` / `case GitHubIssuerOrg: …
    /// newGitHubVerifier(…)`). With custom roots it takes the first root with a Fulcio CA whose
    /// lowest certificate's issuer organisation is the bundle's (`getLowestCertInChain`, then
    /// `lowestCert.Issuer.Organization[0] != issuer` → skip), and still picks the policy by
    /// the organisation: "we are *only* inferring the policy with the issuer. We *must* use the
    /// trusted root provided".
    ///
    /// Here, likewise: the first root one of whose CAs has the bundle's issuer organisation.
    /// The policy is that root's [`Instance`]'s, and a root is GitHub's only when all its CAs
    /// are `GitHub, Inc.`'s, so the relaxed policy (no log, no SCT) is reached only by a
    /// certificate that names GitHub's Fulcio as its issuer *and* must then chain to a CA of a
    /// GitHub root: a public-good certificate never gets it, whatever is stripped from its
    /// bundle. Where gh gives up, two differences, neither of which can accept more:
    ///
    /// - a certificate whose issuer organisation no root has (or that names none, or two) is
    ///   verified by the first public-good root, under the full policy: a Fulcio CA newer
    ///   than the root fails there as a stale root (with that hint) instead of as "issuer not
    ///   recognized", and nothing chains to a CA under a name that is not the CA's;
    /// - but a certificate issued by `GitHub, Inc.` with no GitHub root present is refused
    ///   with that reason ([`RouteError::NoGitHubRoot`]), never sent to a public-good root.
    pub fn root_for(&self, bundle: &Bundle) -> Result<&InstanceRoot, RouteError> {
        self.route(bundle).map(|(info, _)| info.as_ref())
    }

    /// [`TrustRoot::root_for`], with the root's verifier.
    pub(crate) fn route(
        &self,
        bundle: &Bundle,
    ) -> Result<(&Arc<InstanceRoot>, &Verifier), RouteError> {
        let organisation = leaf_issuer_organisation(bundle);
        if let Some(org) = &organisation {
            if let Some(p) = self
                .instances
                .iter()
                .find(|p| p.info.organisations.iter().any(|o| o == org))
            {
                return Ok((&p.info, &p.verifier));
            }
            if org == GITHUB_ISSUER_ORG {
                return Err(RouteError::NoGitHubRoot {
                    roots: self.instances().map(|i| i.label.clone()).collect(),
                });
            }
        }
        self.instances
            .iter()
            .find(|p| p.info.instance == Instance::PublicGood)
            .map(|p| (&p.info, &p.verifier))
            .ok_or_else(|| RouteError::NoRoot {
                organisation,
                roots: self.instances().map(|i| i.label.clone()).collect(),
            })
    }
}

/// No root in use can verify a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The certificate was issued by GitHub's Fulcio, and no root in use is GitHub's.
    #[error(
        "the signing certificate was issued by GitHub's Sigstore instance (`GitHub, Inc.`, used \
         for private repositories), and the trusted roots in use ({}) do not include it",
        roots.join("; ")
    )]
    NoGitHubRoot {
        /// The roots in use.
        roots: Vec<String>,
    },
    /// No root matches the certificate's issuer and none is a public-good root to fall back on.
    #[error(
        "no trusted root in use ({}) covers the signing certificate's issuer organisation {}",
        roots.join("; "),
        organisation.as_deref().map_or("(none, or more than one)".to_owned(), |o| format!("`{o}`"))
    )]
    NoRoot {
        /// The leaf's issuer organisation, when it has exactly one.
        organisation: Option<String>,
        /// The roots in use.
        roots: Vec<String>,
    },
}

/// Parse, classify and prepare one document. `declared` is the instance the caller says it
/// is; `None` lets the certificate authorities decide.
fn prepare(
    document: &RootDocument,
    declared: Option<Instance>,
) -> Result<Prepared, TrustRootError> {
    let label = document.label.as_str();
    let parse_err = |reason: String| TrustRootError::Parse {
        label: label.to_owned(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&document.json).map_err(|e| parse_err(e.to_string()))?;
    let root_json = match value.get("trustedRoot") {
        Some(inner) => inner.to_string(),
        None => document.json.clone(),
    };
    let root = TrustedRoot::from_json(&root_json).map_err(|e| parse_err(e.to_string()))?;
    let organisations = ca_organisations(&root);
    let found = instance_of(&organisations);
    if let Some(expected) = declared {
        if expected != found {
            return Err(TrustRootError::WrongInstance {
                label: label.to_owned(),
                expected,
                found,
            });
        }
    }
    let verifier = Verifier::new(&root).map_err(|source| TrustRootError::Unusable {
        label: label.to_owned(),
        source,
    })?;
    Ok(Prepared {
        info: Arc::new(InstanceRoot {
            instance: found,
            label: label.to_owned(),
            json: root_json,
            organisations,
        }),
        verifier,
    })
}

/// A root is GitHub's when it has Fulcio CAs and every one of them issues under
/// `GitHub, Inc.`; any other root is held to the public-good policy. A root mixing both
/// gets the strict policy: a GitHub bundle routed to it fails for want of a log entry rather
/// than relaxing the policy for the public-good CAs beside it.
fn instance_of(organisations: &[String]) -> Instance {
    if !organisations.is_empty() && organisations.iter().all(|o| o == GITHUB_ISSUER_ORG) {
        Instance::GitHub
    } else {
        Instance::PublicGood
    }
}

/// The issuer organisation of each Fulcio CA's lowest certificate, as gh matches them: the
/// first certificate of the chain (sigstore-go's `ParseCertificateAuthority` puts all but the
/// last into `Intermediates`, and gh's `getLowestCertInChain` takes `Intermediates[0]`, else
/// the root), its issuer's first `O`. CAs without one are left out, as gh skips them.
fn ca_organisations(root: &TrustedRoot) -> Vec<String> {
    use x509_cert::der::Decode;
    let mut out: Vec<String> = Vec::new();
    for ca in &root.certificate_authorities {
        let Some(lowest) = ca.cert_chain.certificates.first() else {
            continue;
        };
        let Ok(cert) = x509_cert::Certificate::from_der(lowest.raw_bytes.as_bytes()) else {
            continue;
        };
        if let Some(org) = organisations(&cert.tbs_certificate.issuer)
            .into_iter()
            .next()
        {
            if !out.contains(&org) {
                out.push(org);
            }
        }
    }
    out
}

/// The organisation of the bundle's leaf certificate's issuer, when it names exactly one (gh's
/// `getBundleIssuer`); `None` for no certificate, one that does not parse, or zero or several
/// organisations.
pub fn leaf_issuer_organisation(bundle: &Bundle) -> Option<String> {
    let der = bundle.signing_certificate()?;
    let issuer = issuer_name(der.as_bytes())?;
    let mut orgs = organisations(&issuer);
    (orgs.len() == 1).then(|| orgs.remove(0))
}

/// The issuer `Name` of a DER certificate, read without decoding the rest: this runs once per
/// bundle on the verification path, and a full decode (extensions, SCT list, key) costs as
/// much as a few percent of a whole verification (issue 12). The certificate is decoded in
/// full, and its chain checked, by the verifier afterwards; here only the routing is decided.
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
/// signature AlgorithmIdentifier, issuer Name, … }, … }` (RFC 5280, 4.1).
fn issuer_name(der: &[u8]) -> Option<x509_cert::name::Name> {
    use x509_cert::der::asn1::AnyRef;
    use x509_cert::der::{Decode, Header, Reader, SliceReader, Tag, TagNumber};
    let mut reader = SliceReader::new(der).ok()?;
    let certificate = Header::decode(&mut reader).ok()?;
    let tbs = Header::decode(&mut reader).ok()?;
    if certificate.tag != Tag::Sequence || tbs.tag != Tag::Sequence {
        return None;
    }
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if reader.peek_tag().ok()? == version {
        AnyRef::decode(&mut reader).ok()?;
    }
    AnyRef::decode(&mut reader).ok()?; // serialNumber
    AnyRef::decode(&mut reader).ok()?; // signature
    x509_cert::name::Name::decode(&mut reader).ok()
}

/// Every `O` (2.5.4.10) value of a name, in order, as Go's `pkix.Name.Organization` collects
/// them (UTF8String or PrintableString, the encodings Fulcio and GitHub use).
fn organisations(name: &x509_cert::name::Name) -> Vec<String> {
    use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
    const ORGANIZATION: x509_cert::der::oid::ObjectIdentifier =
        x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.10");
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == ORGANIZATION)
        .filter_map(|atv| {
            Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_owned())
                .or_else(|_| {
                    PrintableStringRef::try_from(&atv.value).map(|s| s.as_str().to_owned())
                })
                .ok()
        })
        .collect()
}

impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.instances().map(|i| (i.instance, i.label.as_str())))
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_malformed_certificate_has_no_issuer() {
        for junk in [&b""[..], b"\x30", b"\x30\x03\x30\x01\x00", b"\x04\x00"] {
            assert!(issuer_name(junk).is_none());
        }
    }

    /// A real attestation from GitHub's instance (cli/cli's test data; corpus case
    /// `cli-github-instance-bundle`): GitHub's Fulcio, one RFC 3161 timestamp, no log entry.
    pub(crate) const GITHUB_BUNDLE: &str = include_str!(
        "../../../tests/fixtures/corpus/bundles/gh-actions/cli-github_provenance_demo-0.0.12.github-instance.jsonl"
    );
    /// A real public-good attestation (corpus case `gh-cli-2.54.0`).
    pub(crate) const PUBLIC_GOOD_BUNDLE: &str = include_str!(
        "../../../tests/fixtures/corpus/bundles/gh-actions/cli-gh_2.54.0_linux_armv6.tar.gz.sigstore.json"
    );

    pub(crate) fn bundle(text: &str) -> Bundle {
        let candidates = crate::bundle::parse_attestations("test", text.as_bytes());
        (**candidates[0].bundle.as_ref().unwrap()).clone()
    }

    pub(crate) fn public_good_only() -> TrustRoot {
        TrustRoot::from_instances(
            RootDocument::new("public-good", SIGSTORE_PRODUCTION_TRUSTED_ROOT),
            None,
        )
        .unwrap()
    }

    #[test]
    fn production_holds_both_instances_with_gh_s_organisations() {
        let trust = TrustRoot::production().unwrap();
        let seen: Vec<(Instance, Vec<String>)> = trust
            .instances()
            .map(|i| (i.instance(), i.organisations().to_vec()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    Instance::PublicGood,
                    vec![PUBLIC_GOOD_ISSUER_ORG.to_owned()]
                ),
                (Instance::GitHub, vec![GITHUB_ISSUER_ORG.to_owned()]),
            ]
        );
        assert!(trust.label().contains("public-good"));
    }

    #[test]
    fn bundles_are_routed_by_their_issuer_organisation() {
        let trust = TrustRoot::production().unwrap();
        let github = bundle(GITHUB_BUNDLE);
        let public = bundle(PUBLIC_GOOD_BUNDLE);
        assert_eq!(
            leaf_issuer_organisation(&github).as_deref(),
            Some(GITHUB_ISSUER_ORG)
        );
        assert_eq!(
            trust.root_for(&github).unwrap().instance(),
            Instance::GitHub
        );
        assert_eq!(
            trust.root_for(&public).unwrap().instance(),
            Instance::PublicGood
        );
        // Without GitHub's root a GitHub bundle is refused for that reason, never handed to
        // the public-good root.
        let err = public_good_only().root_for(&github).unwrap_err();
        assert!(matches!(err, RouteError::NoGitHubRoot { .. }), "{err:?}");
        assert!(err.to_string().contains("private repositories"), "{err}");
        // With GitHub's root alone, a public-good bundle has nowhere to go: the relaxed
        // policy is never a fallback.
        let github_only = TrustRoot::from_json("github", SIGSTORE_GITHUB_TRUSTED_ROOT).unwrap();
        let err = github_only.root_for(&public).unwrap_err();
        assert!(
            matches!(err, RouteError::NoRoot { organisation: Some(ref o), .. } if o == PUBLIC_GOOD_ISSUER_ORG),
            "{err:?}"
        );
    }

    #[test]
    fn a_document_given_as_the_other_instance_is_refused() {
        let err = TrustRoot::from_instances(
            RootDocument::new("swapped", SIGSTORE_GITHUB_TRUSTED_ROOT),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                TrustRootError::WrongInstance {
                    expected: Instance::PublicGood,
                    found: Instance::GitHub,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = TrustRoot::from_instances(
            RootDocument::new("public-good", SIGSTORE_PRODUCTION_TRUSTED_ROOT),
            Some(RootDocument::new(
                "swapped",
                SIGSTORE_PRODUCTION_TRUSTED_ROOT,
            )),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                TrustRootError::WrongInstance {
                    expected: Instance::GitHub,
                    found: Instance::PublicGood,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn json_lines_give_one_instance_per_line() {
        let compact = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
        let text = format!(
            "{}\n\n{}\n",
            compact(SIGSTORE_PRODUCTION_TRUSTED_ROOT),
            compact(SIGSTORE_GITHUB_TRUSTED_ROOT)
        );
        let trust = TrustRoot::from_text("roots.jsonl", &text).unwrap();
        let seen: Vec<(Instance, &str)> = trust
            .instances()
            .map(|i| (i.instance(), i.label()))
            .collect();
        assert_eq!(
            seen,
            [
                (Instance::PublicGood, "roots.jsonl, line 1"),
                (Instance::GitHub, "roots.jsonl, line 3"),
            ]
        );
        // One pretty-printed document is one root, under the file's own label.
        let one = TrustRoot::from_text("root.json", SIGSTORE_GITHUB_TRUSTED_ROOT).unwrap();
        assert_eq!(one.instances().count(), 1);
        assert_eq!(one.label(), "root.json");
        assert!(matches!(
            TrustRoot::from_text("empty.jsonl", "\n \n"),
            Err(TrustRootError::Empty { .. })
        ));
    }
}
