//! Credentials bound to the hosts they were issued for.
//!
//! Every secret this crate sends lives in a [`Credential`], which names the hosts it may go to.
//! The HTTP layer ([`super::HttpClient`]) is the only code that turns one into an
//! `Authorization` header, and it does so only when [`Credential::check`] allows the exact URL:
//!
//! - the URL's host (and port) is one the credential was bound to, compared exactly — never a
//!   host learned from fetched data (a formula's `root_url`, a `Link` header, a token realm);
//! - the channel is private: `https`, or plain `http` to a loopback address (issue 10, item 5);
//! - after a redirect to another origin no credential is sent at all.
//!
//! `Debug` and `Display` never show a secret.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use reqwest::Url;
use reqwest::header::HeaderValue;

use super::origin::{Origin, is_private_channel};

/// A secret string: redacted in `Debug`, never `Display`ed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the secret is presented.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(<user>:<password>)`.
    Basic { user: String, password: Secret },
}

/// A secret and the hosts it may be sent to.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    scheme: Scheme,
    /// Where it came from (an environment variable, "the registry's token service"), for
    /// messages: never the value.
    source: String,
    /// `host` or `host:port` (see [`Origin::authority`]), lowercase.
    hosts: Vec<String>,
}

/// Why a credential was not attached to a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialRefusal {
    /// The URL's host is not one the credential is bound to.
    #[error("{from} is only sent to {allowed}, not to `{host}`")]
    WrongHost {
        /// Where the credential came from.
        from: String,
        /// The hosts it is bound to.
        allowed: String,
        /// The host asked for.
        host: String,
    },
    /// Plain `http` to a host that is not this machine.
    #[error("{from} is never sent over plain http to `{host}` (only https, or http to loopback)")]
    PlainHttp {
        /// Where the credential came from.
        from: String,
        /// The host asked for.
        host: String,
    },
    /// The URL has no host.
    #[error("{from} cannot be sent to a URL without a host")]
    NoHost {
        /// Where the credential came from.
        from: String,
    },
}

impl Credential {
    /// A bearer token from `source`, bound to `hosts` (`host` or `host:port`).
    pub fn bearer(token: impl Into<String>, source: impl Into<String>, hosts: &[&str]) -> Self {
        Self {
            scheme: Scheme::Bearer(Secret::new(token)),
            source: source.into(),
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// A user name and password from `source`, bound to `hosts`.
    pub fn basic(
        user: impl Into<String>,
        password: impl Into<String>,
        source: impl Into<String>,
        hosts: &[&str],
    ) -> Self {
        Self {
            scheme: Scheme::Basic {
                user: user.into(),
                password: Secret::new(password),
            },
            source: source.into(),
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// The same secret bound to other hosts (e.g. a registry token issued for the host whose
    /// token service minted it).
    pub fn rebound(&self, source: impl Into<String>, hosts: &[&str]) -> Self {
        Self {
            scheme: self.scheme.clone(),
            source: source.into(),
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Where it came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The hosts it is bound to.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether this is a user name and password (as opposed to a token).
    pub fn is_basic(&self) -> bool {
        matches!(self.scheme, Scheme::Basic { .. })
    }

    /// Whether the credential may be sent to `url`.
    pub fn check(&self, url: &Url) -> Result<(), CredentialRefusal> {
        let Some(origin) = Origin::of(url) else {
            return Err(CredentialRefusal::NoHost {
                from: self.source.clone(),
            });
        };
        let authority = origin.authority();
        if !self.hosts.contains(&authority) {
            return Err(CredentialRefusal::WrongHost {
                from: self.source.clone(),
                allowed: self.hosts.join(", "),
                host: authority,
            });
        }
        if !is_private_channel(url) {
            return Err(CredentialRefusal::PlainHttp {
                from: self.source.clone(),
                host: authority,
            });
        }
        Ok(())
    }

    /// The `Authorization` header value, for the HTTP layer only (after [`Self::check`]).
    pub(super) fn header_value(&self) -> Option<HeaderValue> {
        let text = match &self.scheme {
            Scheme::Bearer(token) => format!("Bearer {}", token.expose()),
            Scheme::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()))
            ),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.scheme {
            Scheme::Bearer(_) => "bearer",
            Scheme::Basic { .. } => "basic",
        };
        f.debug_struct("Credential")
            .field("kind", &kind)
            .field("secret", &"<redacted>")
            .field("source", &self.source)
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// A shared credential (clients clone these freely).
pub type SharedCredential = Arc<Credential>;

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn bound_to_exact_hosts_and_private_channels() {
        let c = Credential::bearer("s3cret", "GH_TOKEN", &["api.github.com"]);
        assert!(c.check(&url("https://api.github.com/repos/a/b")).is_ok());
        assert!(c.check(&url("https://API.GitHub.com/x")).is_ok());
        assert!(matches!(
            c.check(&url("https://api.github.com.evil.example/x")),
            Err(CredentialRefusal::WrongHost { .. })
        ));
        assert!(matches!(
            c.check(&url("https://api.github.com:8443/x")),
            Err(CredentialRefusal::WrongHost { .. })
        ));
        assert!(matches!(
            c.check(&url("http://api.github.com/x")),
            Err(CredentialRefusal::PlainHttp { .. })
        ));
        let local = Credential::bearer("t", "GH_ENTERPRISE_TOKEN", &["127.0.0.1:9000"]);
        assert!(local.check(&url("http://127.0.0.1:9000/x")).is_ok());
        let lookalike = Credential::bearer("t", "x", &["127.0.0.1.example.net"]);
        assert!(matches!(
            lookalike.check(&url("http://127.0.0.1.example.net/x")),
            Err(CredentialRefusal::PlainHttp { .. })
        ));
    }

    #[test]
    fn secrets_never_show() {
        let c = Credential::basic(
            "me",
            "hunter2",
            "HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN",
            &["ghcr.io"],
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let refusal = c
            .check(&url("https://evil.example/"))
            .unwrap_err()
            .to_string();
        assert!(!refusal.contains("hunter2"));
        assert!(
            refusal.contains("HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN"),
            "{refusal}"
        );
        assert!(c.header_value().unwrap().is_sensitive());
    }
}
