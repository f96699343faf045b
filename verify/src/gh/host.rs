//! Which GitHub API gh-compatible mode talks to: gh's environment (`--hostname`, `GH_HOST`,
//! default github.com) read the way gh reads it, plus one setting of ours for tests and mirrors
//! of the API (`HOMEBREW_BREW_VERIFY_API_URL`). Which token goes there is decided by
//! [`Env::github_credential`] under gh's host rules: github.com tokens only to `api.github.com`,
//! enterprise tokens to an enterprise host, nothing over plain http off loopback.

use bottle_attest_net::env::{self as vars, Env};
use bottle_attest_net::github::DEFAULT_API_URL;

/// The API base URL for `host` (gh's `--hostname`, else `GH_HOST`, else `github.com`):
///
/// - `github.com` (or `api.github.com`): `https://api.github.com`;
/// - a GitHub Enterprise Cloud tenant `NAME.ghe.com`: `https://api.NAME.ghe.com`;
/// - any other host (GitHub Enterprise Server): `https://HOST/api/v3`;
/// - a value that is already a URL (`http://127.0.0.1:PORT`): used as is.
pub(crate) fn api_url(host: Option<&str>, env: &Env) -> String {
    if let Some(url) = env.get(vars::API_URL) {
        return url.trim().trim_end_matches('/').to_owned();
    }
    let host = host
        .map(str::to_owned)
        .or_else(|| env.get(vars::GH_HOST).map(str::to_owned))
        .unwrap_or_else(|| "github.com".to_owned());
    let host = host.trim().trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        return host.to_owned();
    }
    let lower = host.to_ascii_lowercase();
    if lower == "github.com" || lower == "api.github.com" || lower.is_empty() {
        DEFAULT_API_URL.to_owned()
    } else if lower.ends_with(".ghe.com") {
        format!("https://api.{host}")
    } else {
        format!("https://{host}/api/v3")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn hosts_map_to_api_urls() {
        let none = env_of(&[]);
        assert_eq!(api_url(None, &none), "https://api.github.com");
        assert_eq!(
            api_url(None, &env_of(&[("GH_HOST", "github.com")])),
            "https://api.github.com"
        );
        assert_eq!(
            api_url(Some("ghe.example.com"), &none),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            api_url(Some("acme.ghe.com"), &none),
            "https://api.acme.ghe.com"
        );
        assert_eq!(
            api_url(None, &env_of(&[("GH_HOST", "http://127.0.0.1:9/")])),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            api_url(
                None,
                &env_of(&[
                    ("GH_HOST", "github.com"),
                    (vars::API_URL, "http://127.0.0.1:8")
                ])
            ),
            "http://127.0.0.1:8"
        );
    }
}
