//! Artifact digests as typed values.
//!
//! A digest is never a `String`: it is parsed once from `sha256:<hex>` / `sha512:<hex>` (or
//! computed from bytes) and compared as bytes. Hex exists only at the edges.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;
pub use sigstore_types::{Sha256Hash, Sha512Hash};

/// The digest of an artifact, tagged with its algorithm so that a SHA-512 value can never be
/// mistaken for a SHA-256 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    /// SHA-256, the digest Homebrew, GHCR and GitHub attestations use for bottles.
    Sha256(Sha256Hash),
    /// SHA-512, used by npm provenance subjects; accepted by the generic `bundle` check.
    Sha512(Sha512Hash),
}

/// Why a `sha256:<hex>` / `sha512:<hex>` string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    /// The string does not start with a known algorithm prefix.
    #[error("expected `sha256:<64 hex>` or `sha512:<128 hex>`, got `{0}`")]
    UnknownAlgorithm(String),
    /// The hex part has the wrong length or non-hex characters.
    #[error(
        "`{input}` is not a valid {algorithm} digest: expected {expected} lowercase hex characters"
    )]
    BadHex {
        /// The whole input.
        input: String,
        /// `sha256` or `sha512`.
        algorithm: &'static str,
        /// Hex characters expected.
        expected: usize,
    },
}

impl Digest {
    /// The SHA-256 value, if this is one.
    pub fn sha256(&self) -> Option<&Sha256Hash> {
        match self {
            Self::Sha256(d) => Some(d),
            Self::Sha512(_) => None,
        }
    }

    /// The algorithm name as used in `algo:hex` strings and in-toto digest maps.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Sha256(_) => "sha256",
            Self::Sha512(_) => "sha512",
        }
    }

    /// Lowercase hex of the digest bytes.
    pub fn hex(&self) -> String {
        match self {
            Self::Sha256(d) => hex::encode(d.as_bytes()),
            Self::Sha512(d) => hex::encode(d.as_bytes()),
        }
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (algorithm, hex_part) = s
            .split_once(':')
            .ok_or_else(|| DigestParseError::UnknownAlgorithm(s.to_owned()))?;
        let bad = |algorithm, expected| DigestParseError::BadHex {
            input: s.to_owned(),
            algorithm,
            expected,
        };
        // Upper-case hex is refused on purpose: digests are compared as bytes, but a
        // canonical spelling keeps cache file names and log lines unambiguous.
        let is_lower_hex = |h: &str| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match algorithm {
            "sha256" => {
                if hex_part.len() != 64 || !is_lower_hex(hex_part) {
                    return Err(bad("sha256", 64));
                }
                Sha256Hash::from_hex(hex_part)
                    .map(Self::Sha256)
                    .map_err(|_| bad("sha256", 64))
            }
            "sha512" => {
                if hex_part.len() != 128 || !is_lower_hex(hex_part) {
                    return Err(bad("sha512", 128));
                }
                Sha512Hash::from_hex(hex_part)
                    .map(Self::Sha512)
                    .map_err(|_| bad("sha512", 128))
            }
            _ => Err(DigestParseError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm(), self.hex())
    }
}

impl From<Sha256Hash> for Digest {
    fn from(d: Sha256Hash) -> Self {
        Self::Sha256(d)
    }
}

/// SHA-256 of bytes already in memory (a URL, a statement, a downloaded document).
pub fn sha256_bytes(bytes: &[u8]) -> Sha256Hash {
    Sha256Hash::new(sha2::Sha256::digest(bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sha256() {
        let s = "sha256:cd53809273ad6011fdd98e0244c5c2276b15f3dd1294e4715627ebd4f9c6e0f1";
        let d: Digest = s.parse().unwrap();
        assert_eq!(d.to_string(), s);
        assert_eq!(d.algorithm(), "sha256");
    }

    #[test]
    fn refuses_bad_input() {
        assert!(matches!(
            "md5:00".parse::<Digest>(),
            Err(DigestParseError::UnknownAlgorithm(_))
        ));
        assert!(matches!(
            "sha256:abc".parse::<Digest>(),
            Err(DigestParseError::BadHex { .. })
        ));
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(upper.parse::<Digest>().is_err());
        assert!("cd53".parse::<Digest>().is_err());
    }
}
