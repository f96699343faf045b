//! Fetching formula JSON from the formula API (`https://formulae.brew.sh/api`), one formula at
//! a time (`formula/<name>.json`) rather than the 30 MB `formula.json`.

use std::time::Duration;

use bottle_attest::formula::FormulaIndex;

/// Homebrew's formula API (`HOMEBREW_API_DOMAIN` overrides it).
pub const DEFAULT_FORMULA_API: &str = "https://formulae.brew.sh/api";

/// Per-request timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts for a transient failure.
const ATTEMPTS: u32 = 3;

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
    /// Another HTTP status.
    #[error("formula API answered HTTP {status} for {url}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// Connection or timeout, after retries.
    #[error("cannot reach the formula API at {url}")]
    Transport {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
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
    http: reqwest::Client,
}

impl FormulaApi {
    /// A client for the API at `base` (e.g. [`DEFAULT_FORMULA_API`]).
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().timeout(TIMEOUT).build()?,
        })
    }

    /// The JSON of formula `name`.
    pub async fn formula(&self, name: &str) -> Result<FormulaIndex, FormulaApiError> {
        let url = format!("{}/formula/{name}.json", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.http.get(&url).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    return Err(FormulaApiError::NotFound {
                        name: name.to_owned(),
                        url,
                    });
                }
                Ok(r) if r.status().is_success() => match r.text().await {
                    Ok(text) => {
                        return FormulaIndex::from_json(&text).map_err(|e| {
                            FormulaApiError::Parse {
                                url,
                                reason: e.to_string(),
                            }
                        });
                    }
                    Err(source) => FormulaApiError::Transport {
                        url: url.clone(),
                        source,
                    },
                },
                Ok(r) if r.status().is_server_error() => FormulaApiError::Status {
                    url: url.clone(),
                    status: r.status().as_u16(),
                },
                Ok(r) => {
                    return Err(FormulaApiError::Status {
                        url,
                        status: r.status().as_u16(),
                    });
                }
                Err(source) => FormulaApiError::Transport {
                    url: url.clone(),
                    source,
                },
            };
            if attempt >= ATTEMPTS {
                return Err(err);
            }
            tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt - 1)).await;
        }
    }
}
