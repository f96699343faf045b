//! Attestation sidecars on a bottle mirror: `<bottle url>.sigs`, a JSON array of bundles.
//!
//! The design the conda CEP chose for serving attestations: static files beside the packages
//! work with any CDN or mirror. The mirror is untrusted: the bundles are verified against
//! Sigstore's roots, never against the mirror, so a tampered sidecar can only fail. A 404 means
//! "no attestation here", never "no such bottle".

use std::path::{Path, PathBuf};

use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};

use crate::http::{Deadline, HttpClient, NetError, Request, body};

/// Suffix of a sidecar beside its bottle.
pub const SIDECAR_SUFFIX: &str = ".sigs";

/// Fetches sidecars from a mirror. It never carries a credential: a mirror is another host.
#[derive(Debug, Clone)]
pub struct MirrorClient {
    http: HttpClient,
}

impl MirrorClient {
    /// A client on the shared HTTP layer.
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// The bundles in `<bottle_url>.sigs`; `None` when the mirror has no sidecar (404). Whether
    /// that "none" speaks for a policy source is the caller's call: only when the user chose
    /// the mirror as the place attestations come from.
    pub async fn sidecar(
        &self,
        bottle_url: &str,
        deadline: Option<Deadline>,
    ) -> Result<Option<Vec<BundleCandidate>>, NetError> {
        let raw = format!("{bottle_url}{SIDECAR_SUFFIX}");
        let url = Request::parse_url(&raw)?;
        let response = self
            .http
            .send(
                Request::get(url, body::SIDECAR)
                    .deadline(deadline)
                    .purpose("sidecar"),
            )
            .await?;
        match response.status {
            404 => Ok(None),
            _ if response.is_success() => Ok(Some(parse_attestations(&raw, &response.body))),
            _ => Err(response.error()),
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
