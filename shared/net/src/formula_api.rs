//! Fetching formula JSON from the formula API (`https://formulae.brew.sh/api`), one formula at
//! a time (`formula/<name>.json`) rather than the 30 MB `formula.json`.
//!
//! A formula name becomes part of a URL, so it is checked first: Homebrew's names are lowercase
//! letters, digits and `@ + . _ -`; anything else (`wget?x=1#y`, `../`, a space) is refused
//! before a request is made.

use bottle_attest::formula::FormulaIndex;

use crate::http::{Deadline, HttpClient, NetError, Request, body};

/// Homebrew's formula API (`HOMEBREW_API_DOMAIN` overrides it).
pub const DEFAULT_FORMULA_API: &str = "https://formulae.brew.sh/api";

/// A formula could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FormulaApiError {
    /// No such formula (404).
    #[error("no formula named `{name}` at {url}")]
    NotFound {
        /// The formula.
        name: String,
        /// The URL asked.
        url: String,
    },
    /// The name cannot be a formula name.
    #[error("`{0}` is not a formula name (lowercase letters, digits and @ + . _ - only)")]
    InvalidName(String),
    /// The request failed, or the API answered with an error.
    #[error(transparent)]
    Net(#[from] NetError),
    /// Not formula JSON.
    #[error("{url} is not formula JSON: {reason}")]
    Parse {
        /// The URL.
        url: String,
        /// The parser's message.
        reason: String,
    },
}

/// A formula API client.
#[derive(Debug, Clone)]
pub struct FormulaApi {
    base: String,
    http: HttpClient,
}

impl FormulaApi {
    /// A client for the API at `base` (e.g. [`DEFAULT_FORMULA_API`]).
    pub fn new(http: HttpClient, base: &str) -> Result<Self, NetError> {
        Request::parse_url(base)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The JSON of formula `name`.
    pub async fn formula(
        &self,
        name: &str,
        deadline: Option<Deadline>,
    ) -> Result<FormulaIndex, FormulaApiError> {
        if !is_formula_name(name) {
            return Err(FormulaApiError::InvalidName(
                name.chars().take(100).collect(),
            ));
        }
        let raw = format!("{}/formula/{name}.json", self.base);
        let url = Request::parse_url(&raw)?;
        let response = self
            .http
            .send(
                Request::get(url, body::FORMULA_JSON)
                    .deadline(deadline)
                    .purpose("formula_api"),
            )
            .await?;
        if response.status == 404 {
            return Err(FormulaApiError::NotFound {
                name: name.to_owned(),
                url: raw,
            });
        }
        if !response.is_success() {
            return Err(response.error().into());
        }
        let text = std::str::from_utf8(&response.body).map_err(|e| FormulaApiError::Parse {
            url: raw.clone(),
            reason: e.to_string(),
        })?;
        FormulaIndex::from_json(text).map_err(|e| FormulaApiError::Parse {
            url: raw,
            reason: e.to_string(),
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
