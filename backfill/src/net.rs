//! The clients `brew-backfill` talks through, all on the shared HTTP layer (one retry policy,
//! host-bound credentials, capped bodies): the GitHub API for lookups and uploads, the formula
//! JSON, and the registry.

use bottle_attest_net::env::{Env, TokenOrder};
use bottle_attest_net::github::GitHubClient;
use std::sync::Arc;

use bottle_attest_net::http::{HttpClient, HttpConfig, Request, SharedCredential, StderrEvents};

/// The HTTP client every request of this run goes through: the layer's retry policy, with
/// each pause reported on stderr.
pub(crate) fn http() -> anyhow::Result<HttpClient> {
    Ok(HttpClient::new(HttpConfig {
        events: Arc::new(StderrEvents::new(false)),
        ..HttpConfig::default()
    })?)
}

/// The GitHub token for `api_url`, bound to its host under gh's rules (`GH_TOKEN`,
/// `GITHUB_TOKEN` for github.com; `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN` elsewhere).
pub(crate) fn github_credential(
    env: &Env,
    api_url: &str,
) -> anyhow::Result<Option<SharedCredential>> {
    let url = Request::parse_url(api_url)?;
    Ok(env.github_credential(&url, TokenOrder::Gh)?)
}

/// A GitHub API client at `api_url`, with the environment's token for that host.
pub(crate) fn github(http: &HttpClient, env: &Env, api_url: &str) -> anyhow::Result<GitHubClient> {
    let credential = github_credential(env, api_url)?;
    Ok(GitHubClient::new(http.clone(), api_url, credential)?)
}
