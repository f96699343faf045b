//! The formula API, read the way brew reads it: the signed index `formula.jws.json`, whose
//! JWS is checked against Homebrew's key (or one the user names) before any formula in it is
//! used ([`bottle_attest::signed_api`]). The unsigned per-formula JSON (`formula/<name>.json`)
//! is never used: whoever serves `HOMEBREW_API_DOMAIN` could point a formula at an older,
//! validly attested bottle (a rollback) or at another formula's bottle through it.
//!
//! The document (~30 MB) is fetched once per process and kept in the cache with its ETag, so a
//! warm run asks with `If-None-Match` and downloads nothing when it has not changed; what comes
//! from the cache is verified again, like everything else read from there.
//!
//! Formula names are still checked (lowercase letters, digits and `@ + . _ -`) before they are
//! looked up, so that a hostile argument is refused with the same message everywhere.

use std::path::PathBuf;
use std::sync::Arc;

use bottle_attest::formula::FormulaIndex;
use bottle_attest::signed_api::{ApiKey, JwsError, verify_jws};
use reqwest::header::{HeaderName, HeaderValue};

use crate::http::{Deadline, HttpClient, NetError, Request, body};
use crate::store::atomic;

/// Homebrew's formula API (`HOMEBREW_API_DOMAIN` overrides it).
pub const DEFAULT_FORMULA_API: &str = "https://formulae.brew.sh/api";

/// The signed index, relative to the API base (brew's `formula.jws.json`).
pub const SIGNED_INDEX: &str = "formula.jws.json";

/// Formula data could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FormulaApiError {
    /// No such formula in the signed index.
    #[error("no formula named `{name}` in {url}")]
    NotFound {
        /// The formula.
        name: String,
        /// The signed index asked.
        url: String,
    },
    /// The name cannot be a formula name.
    #[error("`{0}` is not a formula name (lowercase letters, digits and @ + . _ - only)")]
    InvalidName(String),
    /// The request failed, or the API answered with an error.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The signed index is unsigned, tampered or signed by another key: refused.
    #[error("{url}: {source}")]
    Signature {
        /// The document.
        url: String,
        /// Why it was refused.
        #[source]
        source: JwsError,
    },
    /// The verified payload is not formula JSON.
    #[error("{url} is not formula JSON: {reason}")]
    Parse {
        /// The URL.
        url: String,
        /// The parser's message.
        reason: String,
    },
}

/// Where the verified index came from, for `--explain` and `--json`.
#[derive(Debug, Clone)]
pub struct SignedIndex {
    /// The formulae of the verified payload.
    pub index: Arc<FormulaIndex>,
    /// The document's URL.
    pub url: String,
    /// The server's `Last-Modified` (or when it was cached), if it said.
    pub date: Option<String>,
    /// The key that signed it.
    pub key_id: String,
}

impl SignedIndex {
    /// What a report says of this document.
    pub fn data(&self) -> crate::checker::FormulaData {
        crate::checker::FormulaData::SignedApi {
            url: self.url.clone(),
            date: self.date.clone(),
            key_id: self.key_id.clone(),
        }
    }
}

/// A formula API client.
#[derive(Debug, Clone)]
pub struct FormulaApi {
    base: String,
    http: HttpClient,
    key: ApiKey,
    cache: Option<PathBuf>,
    loaded: Arc<tokio::sync::OnceCell<SignedIndex>>,
}

impl FormulaApi {
    /// A client for the API at `base` (e.g. [`DEFAULT_FORMULA_API`]) whose index must be
    /// signed by `key`, cached (with its ETag) under `cache` when given.
    pub fn new(
        http: HttpClient,
        base: &str,
        key: ApiKey,
        cache: Option<PathBuf>,
    ) -> Result<Self, NetError> {
        Request::parse_url(base)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            key,
            cache,
            loaded: Arc::default(),
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The verified index (fetched, or revalidated from the cache, once per client).
    pub async fn index(&self, deadline: Option<Deadline>) -> Result<SignedIndex, FormulaApiError> {
        self.loaded
            .get_or_try_init(|| self.load(deadline))
            .await
            .cloned()
    }

    /// The verified index, which must hold the formula `name`.
    pub async fn formula(
        &self,
        name: &str,
        deadline: Option<Deadline>,
    ) -> Result<SignedIndex, FormulaApiError> {
        if !is_formula_name(name) {
            return Err(FormulaApiError::InvalidName(
                name.chars().take(100).collect(),
            ));
        }
        let signed = self.index(deadline).await?;
        if signed.index.get(name).is_none() {
            return Err(FormulaApiError::NotFound {
                name: name.to_owned(),
                url: signed.url,
            });
        }
        Ok(signed)
    }

    async fn load(&self, deadline: Option<Deadline>) -> Result<SignedIndex, FormulaApiError> {
        let raw = format!("{}/{SIGNED_INDEX}", self.base);
        let url = Request::parse_url(&raw)?;
        let cached = self.cache.as_ref().and_then(|dir| {
            let bytes = std::fs::read(dir.join(SIGNED_INDEX)).ok()?;
            let etag = std::fs::read_to_string(dir.join(format!("{SIGNED_INDEX}.etag"))).ok();
            Some((bytes, etag))
        });
        let mut request = Request::get(url, body::FORMULA_INDEX)
            .deadline(deadline)
            .attempt_timeout(std::time::Duration::from_secs(300))
            .purpose("formula_api");
        if let Some(etag) = cached
            .as_ref()
            .and_then(|(_, e)| e.as_deref())
            .and_then(|e| HeaderValue::from_str(e.trim()).ok())
        {
            request = request.header(HeaderName::from_static("if-none-match"), etag);
        }
        let response = self.http.send(request).await?;
        let (bytes, date) = match (response.status, cached) {
            (304, Some((bytes, _))) => (bytes, response.header("last-modified").map(str::to_owned)),
            (404, _) => {
                return Err(FormulaApiError::Signature {
                    url: raw,
                    source: JwsError::NoSignature(self.key.id().to_owned()),
                });
            }
            _ if response.is_success() => {
                let date = response.header("last-modified").map(str::to_owned);
                let etag = response.header("etag").map(str::to_owned);
                // Only what verifies is kept; a cache that cannot be written costs a download.
                if verify_jws(&response.body, &self.key).is_ok() {
                    if let Some(dir) = &self.cache {
                        if atomic::private_dir(dir).is_ok()
                            && atomic::write_atomic(&dir.join(SIGNED_INDEX), &response.body).is_ok()
                        {
                            let etag_path = dir.join(format!("{SIGNED_INDEX}.etag"));
                            match &etag {
                                Some(e) => {
                                    let _ = atomic::write_atomic(&etag_path, e.as_bytes());
                                }
                                None => {
                                    let _ = std::fs::remove_file(&etag_path);
                                }
                            }
                        }
                    }
                }
                (response.body, date)
            }
            _ => return Err(response.error().into()),
        };
        let payload =
            verify_jws(&bytes, &self.key).map_err(|source| FormulaApiError::Signature {
                url: raw.clone(),
                source,
            })?;
        let index =
            FormulaIndex::from_json(payload.text()).map_err(|e| FormulaApiError::Parse {
                url: raw.clone(),
                reason: e.to_string(),
            })?;
        Ok(SignedIndex {
            index: Arc::new(index),
            url: raw,
            date,
            key_id: self.key.id().to_owned(),
        })
    }
}

/// Whether `name` can be a Homebrew formula name (and so a URL path segment as is).
pub fn is_formula_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'@' | b'+' | b'.' | b'_' | b'-')
        })
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_they_become_urls() {
        for ok in [
            "wget",
            "openssl@3",
            "libsigc++",
            "python@3.12",
            "r",
            "7zip",
            "a_b-c",
        ] {
            assert!(is_formula_name(ok), "{ok}");
        }
        for bad in [
            "",
            "wget?x=1#y",
            "../etc",
            "Wget",
            "a b",
            "a/b",
            "-x",
            "é",
            "a..b",
            &"x".repeat(200),
        ] {
            assert!(!is_formula_name(bad), "{bad}");
        }
    }
}
