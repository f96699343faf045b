//! The Sigstore trusted root, prepared once for many verifications.
//!
//! The public-good production root is compiled in (through `sigstore-trust-root`), so
//! verification works on a machine with no network. Another root (GitHub Enterprise, staging,
//! tests) is loaded from a `trusted_root.json`, or from a client trust config that wraps one.

use sigstore_trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_verify::Verifier;

/// A trusted root with its verification keys already parsed.
///
/// Building a [`Verifier`] parses every CA certificate and log key; doing it once per process
/// instead of once per bundle is most of what keeps a verification under a millisecond.
pub struct TrustRoot {
    verifier: Verifier,
    label: String,
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
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let root = value.get("trustedRoot").unwrap_or(&value);
        let list = |key: &str| root.get(key).and_then(serde_json::Value::as_array);
        let starts = |key: &str, path: &str| -> Vec<String> {
            list(key)
                .into_iter()
                .flatten()
                .filter_map(|e| e.pointer(path)?.as_str().map(str::to_owned))
                .collect()
        };
        let mut all = starts("certificateAuthorities", "/validFor/start");
        all.extend(starts("timestampAuthorities", "/validFor/start"));
        all.extend(starts("tlogs", "/publicKey/validFor/start"));
        all.extend(starts("ctlogs", "/publicKey/validFor/start"));
        Some(Self {
            certificate_authorities: list("certificateAuthorities").map_or(0, Vec::len),
            transparency_logs: list("tlogs").map_or(0, Vec::len),
            ct_logs: list("ctlogs").map_or(0, Vec::len),
            timestamp_authorities: list("timestampAuthorities").map_or(0, Vec::len),
            // RFC 3339 in UTC sorts as text.
            newest_key_from: all.into_iter().max(),
        })
    }
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
    /// The Sigstore public-good production root, embedded in the binary.
    pub fn production() -> Result<Self, TrustRootError> {
        Self::from_json(
            "embedded Sigstore public-good root",
            SIGSTORE_PRODUCTION_TRUSTED_ROOT,
        )
    }

    /// A root from JSON: a `trusted_root.json`, or a client trust config
    /// (`application/vnd.dev.sigstore.clienttrustconfig…`) whose `trustedRoot` is used.
    pub fn from_json(label: &str, json: &str) -> Result<Self, TrustRootError> {
        let parse_err = |reason: String| TrustRootError::Parse {
            label: label.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| parse_err(e.to_string()))?;
        let root_json = match value.get("trustedRoot") {
            Some(inner) => inner.to_string(),
            None => json.to_owned(),
        };
        let root = TrustedRoot::from_json(&root_json).map_err(|e| parse_err(e.to_string()))?;
        let verifier = Verifier::new(&root).map_err(|source| TrustRootError::Unusable {
            label: label.to_owned(),
            source,
        })?;
        Ok(Self {
            verifier,
            label: label.to_owned(),
        })
    }

    /// Where this root came from, for messages (`embedded Sigstore public-good root`, a path).
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl std::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("label", &self.label)
            .finish()
    }
}
