//! Where a request goes, reduced to what the credential rules need: scheme, host and port.
//!
//! Credentials are bound to hosts, never to "whatever looks like a registry": a host is compared
//! exactly (ASCII case-insensitively), with its port. "Loopback" is decided by parsing, never by
//! a string prefix: only an IP literal in 127.0.0.0/8 or `::1`, or the name `localhost` exactly,
//! count. `http://127.0.0.1.example.net` and `http://localhost.example.net` are ordinary remote
//! hosts (issue 10, item 5).

use reqwest::Url;
use url::Host;

/// The scheme, host and port of a URL (RFC 6454 origin), lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `https` or `http`.
    pub scheme: String,
    /// The host as the URL parser normalised it (IPv6 without brackets).
    pub host: String,
    /// The port, the scheme's default filled in.
    pub port: u16,
}

impl Origin {
    /// The origin of `url`; `None` for URLs without a host or a known port (not http(s)).
    pub fn of(url: &Url) -> Option<Self> {
        let host = match url.host()? {
            Host::Domain(d) => d.to_ascii_lowercase(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        Some(Self {
            scheme: url.scheme().to_ascii_lowercase(),
            host,
            port: url.port_or_known_default()?,
        })
    }

    /// `host` or `host:port` when the port is not the scheme's default: how hosts are named in
    /// credential bindings and messages.
    pub fn authority(&self) -> String {
        let default = match self.scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => 0,
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Whether `url` names this machine: an IP literal that is a loopback address, or exactly
/// `localhost`. Plain `http` may carry a credential only to such a host.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether a request to `url` keeps its contents off the wire: `https`, or any scheme to
/// loopback.
pub fn is_private_channel(url: &Url) -> bool {
    url.scheme().eq_ignore_ascii_case("https") || is_loopback(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_is_parsed_not_prefixed() {
        for yes in [
            "http://127.0.0.1:8080/x",
            "http://127.1.2.3/",
            "http://[::1]:9/",
            "http://localhost/",
            "http://LOCALHOST:5000/",
        ] {
            assert!(is_loopback(&url(yes)), "{yes}");
        }
        for no in [
            "http://127.0.0.1.example.net/",
            "http://localhost.example.net/",
            "http://example.net/127.0.0.1",
            "http://10.0.0.1/",
            "http://0.0.0.0/",
            "http://[::ffff:8.8.8.8]/",
            "http://user@evil.example/@127.0.0.1",
        ] {
            assert!(!is_loopback(&url(no)), "{no}");
        }
    }

    #[test]
    fn origins_normalise_case_and_ports() {
        let a = Origin::of(&url("HTTPS://GHCR.io/v2/")).unwrap();
        let b = Origin::of(&url("https://ghcr.io:443/token")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.authority(), "ghcr.io");
        let c = Origin::of(&url("http://127.0.0.1:5000/")).unwrap();
        assert_eq!(c.authority(), "127.0.0.1:5000");
        assert_ne!(Origin::of(&url("http://ghcr.io/")).unwrap(), a);
    }
}
