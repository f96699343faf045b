//! Attestation sidecars on a bottle mirror: `<bottle url>.sigs`, a JSON array of bundles.
//!
//! The design the conda CEP chose for serving attestations: static files beside the packages
//! work with any CDN or mirror. The mirror is untrusted: the bundles are verified against
//! Sigstore's roots, never against the mirror, so a tampered sidecar can only fail. A 404 means
//! "no attestation here", never "no such bottle".

use std::path::{Path, PathBuf};
use std::time::Duration;

use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};

/// Suffix of a sidecar beside its bottle.
pub const SIDECAR_SUFFIX: &str = ".sigs";

/// Largest sidecar read: a few bundles per bottle are a few tens of kilobytes.
const MAX_SIDECAR: usize = 16 << 20;

/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts for a transient failure (5xx, timeouts, resets).
const ATTEMPTS: u32 = 3;

/// A sidecar could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The mirror answered with an unexpected status.
    #[error("mirror answered HTTP {status} for `{url}`")]
    Status {
        /// The sidecar URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The request failed (connection, timeout) after retries.
    #[error("cannot fetch `{url}`")]
    Transport {
        /// The sidecar URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The sidecar is larger than any real one.
    #[error("sidecar `{url}` is larger than {MAX_SIDECAR} bytes")]
    TooLarge {
        /// The sidecar URL.
        url: String,
    },
}

/// Fetches sidecars from a mirror. It never carries a GitHub or registry token: a mirror is
/// another host.
#[derive(Debug, Clone)]
pub struct MirrorClient {
    http: reqwest::Client,
    retry_base: Duration,
}

impl MirrorClient {
    /// A client with its own connection pool and no credentials.
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(TIMEOUT).build()?,
            retry_base: Duration::from_millis(250),
        })
    }

    /// Shorten retry waits (tests).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    /// The bundles in `<bottle_url>.sigs`; `None` when the mirror has no sidecar (404).
    pub async fn sidecar(
        &self,
        bottle_url: &str,
    ) -> Result<Option<Vec<BundleCandidate>>, MirrorError> {
        let url = format!("{bottle_url}{SIDECAR_SUFFIX}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transient = match self.http.get(&url).send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
                Ok(resp) if resp.status().is_success() => {
                    if resp
                        .content_length()
                        .is_some_and(|n| n > MAX_SIDECAR as u64)
                    {
                        return Err(MirrorError::TooLarge { url });
                    }
                    match resp.bytes().await {
                        Ok(body) if body.len() > MAX_SIDECAR => {
                            return Err(MirrorError::TooLarge { url });
                        }
                        Ok(body) => return Ok(Some(parse_attestations(&url, &body))),
                        Err(source) => Err(MirrorError::Transport {
                            url: url.clone(),
                            source,
                        }),
                    }
                }
                Ok(resp) if resp.status().is_server_error() => Err(MirrorError::Status {
                    url: url.clone(),
                    status: resp.status().as_u16(),
                }),
                Ok(resp) => {
                    return Err(MirrorError::Status {
                        url,
                        status: resp.status().as_u16(),
                    });
                }
                Err(source) => Err(MirrorError::Transport {
                    url: url.clone(),
                    source,
                }),
            };
            if attempt >= ATTEMPTS {
                return transient;
            }
            tokio::time::sleep(self.retry_base * 2u32.pow(attempt - 1)).await;
        }
    }
}

/// Where `export-sidecars` writes the sidecar of `bottle` under `out`: beside the bottle as a
/// plain mirror serves it, `<out>/<bottle file name>.sigs` (brew fetches a non-GHCR bottle
/// domain's bottles as `<domain>/<file name>`).
pub fn sidecar_path(out: &Path, bottle: &BottleRef) -> PathBuf {
    out.join(format!("{}{SIDECAR_SUFFIX}", bottle.filename))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bottle_attest::bottle::{DEFAULT_BOTTLE_ROOT, bottle_url, is_github_packages};

    #[test]
    fn urls_on_ghcr_and_on_a_plain_mirror() {
        let b = BottleRef {
            digest: sigstore_types::Sha256Hash::new([1; 32]),
            filename: "openssl@3--3.3.1.sonoma.bottle.tar.gz".parse().unwrap(),
        };
        assert_eq!(
            bottle_url(DEFAULT_BOTTLE_ROOT, &b),
            b.blob_url(DEFAULT_BOTTLE_ROOT)
        );
        assert_eq!(
            bottle_url("https://mirror.example/bottles/", &b),
            "https://mirror.example/bottles/openssl%403--3.3.1.sonoma.bottle.tar.gz"
        );
        assert!(is_github_packages("http://127.0.0.1:5000/v2/homebrew/core"));
        assert!(!is_github_packages("https://mirror.example/bottles"));
        assert_eq!(
            sidecar_path(Path::new("/out"), &b),
            PathBuf::from("/out/openssl@3--3.3.1.sonoma.bottle.tar.gz.sigs")
        );
    }
}
