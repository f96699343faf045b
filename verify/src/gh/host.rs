//! Which GitHub API gh-compatible mode talks to, and with which token: gh's environment
//! (`GH_HOST`, `GH_TOKEN`, `GITHUB_TOKEN`, `GH_ENTERPRISE_TOKEN`) read the way gh reads it, plus
//! one override of ours for tests and mirrors of the API (`BREW_VERIFY_GH_API_URL`).

use bottle_attest_net::github::{ApiToken, DEFAULT_API_URL};

/// Overrides the API base URL whatever `GH_HOST` says (tests, a proxy of the API).
pub(crate) const API_URL_VARIABLE: &str = "BREW_VERIFY_GH_API_URL";

/// The API base URL for `host` (gh's `--hostname`, else `GH_HOST`, else `github.com`):
///
/// - `github.com` (or `api.github.com`): `https://api.github.com`;
/// - a GitHub Enterprise Cloud tenant `NAME.ghe.com`: `https://api.NAME.ghe.com`;
/// - any other host (GitHub Enterprise Server): `https://HOST/api/v3`;
/// - a value that is already a URL (`http://127.0.0.1:PORT`): used as is.
pub(crate) fn api_url(host: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(url) = env(API_URL_VARIABLE) {
        return url.trim_end_matches('/').to_owned();
    }
    let host = host
        .map(str::to_owned)
        .or_else(|| env("GH_HOST"))
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

/// Whether the API is github.com's (decides which token variables apply, as in gh).
fn is_github_com(api_url: &str) -> bool {
    api_url.trim_end_matches('/') == DEFAULT_API_URL
}

/// The token gh would use from the environment: `GH_TOKEN`, then `GITHUB_TOKEN` for
/// github.com; `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN` for another host; then
/// `HOMEBREW_GITHUB_API_TOKEN` (brew's own variable) for either. A loopback test API counts as
/// github.com. `None` when unset: public repositories need no token (gh would demand a login;
/// we do not).
pub(crate) fn token(
    api_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<(ApiToken, &'static str)>> {
    let loopback = api_url.starts_with("http://127.") || api_url.starts_with("http://localhost");
    let names: &[&'static str] = if is_github_com(api_url) || loopback {
        &["GH_TOKEN", "GITHUB_TOKEN", "HOMEBREW_GITHUB_API_TOKEN"]
    } else {
        &[
            "GH_ENTERPRISE_TOKEN",
            "GITHUB_ENTERPRISE_TOKEN",
            "HOMEBREW_GITHUB_API_TOKEN",
        ]
    };
    for name in names {
        if let Some(value) = env(name).filter(|v| !v.trim().is_empty()) {
            let token = ApiToken::new(&value)
                .map_err(|e| anyhow::anyhow!("{name} holds an unusable token: {e}"))?;
            return Ok(Some((token, name)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
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
                    (API_URL_VARIABLE, "http://127.0.0.1:8")
                ])
            ),
            "http://127.0.0.1:8"
        );
    }

    #[test]
    fn token_order_follows_gh() {
        let env = env_of(&[
            ("GITHUB_TOKEN", "b"),
            ("GH_TOKEN", "a"),
            ("GH_ENTERPRISE_TOKEN", "e"),
        ]);
        let (_, from) = token(DEFAULT_API_URL, &env).unwrap().unwrap();
        assert_eq!(from, "GH_TOKEN");
        let (_, from) = token("https://ghe.example.com/api/v3", &env)
            .unwrap()
            .unwrap();
        assert_eq!(from, "GH_ENTERPRISE_TOKEN");
        assert!(token(DEFAULT_API_URL, &env_of(&[])).unwrap().is_none());
    }
}
