//! Every environment variable brew-verify and brew-backfill read, in one place.
//!
//! The process environment is read once into an [`Env`] (tests build one from pairs), and each
//! setting has one accessor here, documented with the variable's name. brew runs its external
//! commands, and `gh`, with a filtered environment: only `HOMEBREW_*` variables (plus `GH_TOKEN`
//! and `GH_HOST` for gh) get through. Homebrew/brew `bin/brew` ("# filter the user
//! environment"): `for VAR in "${ENV_VAR_NAMES[@]}" "${!HOMEBREW_@}"`, where `ENV_VAR_NAMES` is
//! `HOME SHELL PATH TERM … COLUMNS … CI …` and proxies; `Library/Homebrew/attestation.rb` then
//! runs gh with `GH_TOKEN` and `GH_HOST` added. So every setting a user may need when brew runs
//! us has a `HOMEBREW_BREW_VERIFY_*` name; older names are still read after it.
//!
//! Credentials are returned bound to the hosts they were issued for (see
//! [`crate::http::credential`]):
//!
//! | variable | sent to |
//! |---|---|
//! | `HOMEBREW_GITHUB_API_TOKEN` | `api.github.com` only |
//! | `GH_TOKEN`, `GITHUB_TOKEN` | `api.github.com`, and a GitHub Enterprise Cloud tenant's `api.<tenant>.ghe.com` (as gh) |
//! | `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN` | the one other API host configured (GitHub Enterprise Server, a loopback test API) |
//! | `HOMEBREW_DOCKER_REGISTRY_TOKEN`, `HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN` | `ghcr.io`, and hosts named in `HOMEBREW_BREW_VERIFY_REGISTRY_HOSTS` / `--registry-host` |

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::Url;

use crate::http::origin::Origin;
use crate::http::{Credential, SharedCredential};
use crate::trust::tuf::{
    Anchor, GITHUB_ANCHOR, GITHUB_URL, PUBLIC_GOOD_ANCHOR, PUBLIC_GOOD_URL, TufRepo,
};

/// brew's GitHub token (brew passes only `HOMEBREW_*` variables to what it runs).
pub const HOMEBREW_GITHUB_API_TOKEN: &str = "HOMEBREW_GITHUB_API_TOKEN";
/// gh's github.com tokens.
pub const GH_TOKEN: &str = "GH_TOKEN";
/// GitHub Actions' token (github.com).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// gh's GitHub Enterprise tokens.
pub const GH_ENTERPRISE_TOKEN: &str = "GH_ENTERPRISE_TOKEN";
/// The other name gh reads for enterprise tokens.
pub const GITHUB_ENTERPRISE_TOKEN: &str = "GITHUB_ENTERPRISE_TOKEN";
/// gh's host.
pub const GH_HOST: &str = "GH_HOST";
/// Registry bearer token (brew sends it as `Authorization: Bearer <token>`).
pub const REGISTRY_TOKEN: &str = "HOMEBREW_DOCKER_REGISTRY_TOKEN";
/// Registry basic credentials, base64 of `user:password`.
pub const REGISTRY_BASIC_AUTH: &str = "HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN";
/// Hosts besides `ghcr.io` that may receive the registry credentials (a private registry),
/// separated by commas or spaces.
pub const REGISTRY_HOSTS: &str = "HOMEBREW_BREW_VERIFY_REGISTRY_HOSTS";
/// The GitHub API base URL (gh mode; brew-verify also takes `--api-url`).
pub const API_URL: &str = "HOMEBREW_BREW_VERIFY_API_URL";
/// A `trusted_root.json` replacing the embedded root (brew never passes gh's
/// `--custom-trusted-root`).
pub const TRUSTED_ROOT: &str = "HOMEBREW_BREW_VERIFY_TRUSTED_ROOT";
/// `1`: neither read nor write the attestation cache (gh mode).
pub const NO_CACHE: &str = "HOMEBREW_BREW_VERIFY_NO_CACHE";
/// Overall deadline per bottle, in seconds.
pub const TIMEOUT: &str = "HOMEBREW_BREW_VERIFY_TIMEOUT";
/// The attestation cache directory (default `$HOMEBREW_CACHE/brew-verify`).
pub const CACHE_DIR: &str = "HOMEBREW_BREW_VERIFY_CACHE_DIR";
/// Homebrew's cache.
pub const HOMEBREW_CACHE: &str = "HOMEBREW_CACHE";
/// The public-good instance's TUF repository (default [`crate::trust::tuf::PUBLIC_GOOD_URL`]).
pub const TUF_URL: &str = "HOMEBREW_BREW_VERIFY_TUF_URL";
/// A TUF `root.json` to start trusting that repository from, instead of the embedded one.
pub const TUF_ROOT: &str = "HOMEBREW_BREW_VERIFY_TUF_ROOT";
/// GitHub's instance's TUF repository (default [`crate::trust::tuf::GITHUB_URL`]).
pub const GITHUB_TUF_URL: &str = "HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL";
/// A TUF `root.json` to start trusting GitHub's repository from.
pub const GITHUB_TUF_ROOT: &str = "HOMEBREW_BREW_VERIFY_GITHUB_TUF_ROOT";

/// Older names, still read after the `HOMEBREW_BREW_VERIFY_*` ones.
const LEGACY: &[(&str, &str)] = &[
    (API_URL, "BREW_VERIFY_GH_API_URL"),
    (TRUSTED_ROOT, "BREW_VERIFY_TRUSTED_ROOT"),
    (NO_CACHE, "BREW_VERIFY_GH_NO_CACHE"),
];

/// The default per-bottle deadline: long enough for a slow but working network, short enough
/// that brew's install does not stall for minutes on a blackholed host.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// An environment setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A credential variable holds something that cannot be sent in a header.
    #[error("{variable} is set but unusable: {why}")]
    BadCredential {
        /// The variable (never its value).
        variable: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A setting does not parse.
    #[error("{variable}: {why}")]
    BadValue {
        /// The variable.
        variable: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// No cache directory can be named without guessing.
    #[error(
        "no cache directory: neither HOMEBREW_CACHE nor HOME is set; pass --cache-dir DIR (or \
         --no-cache)"
    )]
    NoCacheDir,
}

/// A snapshot of the environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

/// Which github.com token comes first when several are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrder {
    /// brew-verify and brew-backfill: brew's own variable first.
    Homebrew,
    /// gh mode: gh's order (`GH_TOKEN`, `GITHUB_TOKEN`), then brew's.
    Gh,
}

impl Env {
    /// The process environment, read now. Values that are not UTF-8 are dropped (no setting
    /// here can use them).
    pub fn from_process() -> Self {
        Self::from_os_pairs(std::env::vars_os())
    }

    fn from_os_pairs(pairs: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of these pairs (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable, if set and not empty (an empty value counts as unset, as in brew).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.vars.get(name).filter(|v| !v.trim().is_empty()) {
            return Some(v);
        }
        LEGACY
            .iter()
            .find(|(new, _)| *new == name)
            .and_then(|(_, old)| self.vars.get(*old))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The variable [`Env::get`] reads `name` from: `name` itself, else the older name still
    /// read after it; `None` when neither is set. For reports that name what they found.
    pub fn set_by<'n>(&self, name: &'n str) -> Option<&'n str> {
        if self.vars.get(name).is_some_and(|v| !v.trim().is_empty()) {
            return Some(name);
        }
        LEGACY
            .iter()
            .find(|(new, _)| *new == name)
            .map(|(_, old)| *old)
            .filter(|old| self.vars.get(*old).is_some_and(|v| !v.trim().is_empty()))
    }

    /// Whether a flag variable is set to something other than `0`/`false`.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !matches!(v.trim(), "0" | "false" | "no"))
    }

    /// The GitHub token for the API at `api`, bound to that API's host, under gh's rules:
    /// github.com tokens go to `api.github.com` (and a `*.ghe.com` tenant's API for `GH_TOKEN` /
    /// `GITHUB_TOKEN`, as gh), enterprise tokens to any other host, and no token at all is
    /// returned for plain http off loopback (the HTTP layer would refuse it anyway). The
    /// variable's name comes back for messages.
    pub fn github_credential(
        &self,
        api: &Url,
        order: TokenOrder,
    ) -> Result<Option<SharedCredential>, EnvError> {
        let Some(origin) = Origin::of(api) else {
            return Ok(None);
        };
        let host = origin.authority();
        let names: &[&'static str] = if host == "api.github.com" {
            match order {
                TokenOrder::Homebrew => &[HOMEBREW_GITHUB_API_TOKEN, GH_TOKEN, GITHUB_TOKEN],
                TokenOrder::Gh => &[GH_TOKEN, GITHUB_TOKEN, HOMEBREW_GITHUB_API_TOKEN],
            }
        } else if is_ghe_tenant_api(&host) {
            &[GH_TOKEN, GITHUB_TOKEN]
        } else {
            &[GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN]
        };
        for name in names {
            if let Some(value) = self.get(name) {
                let token = header_safe(name, value)?;
                return Ok(Some(Arc::new(Credential::bearer(token, *name, &[&host]))));
            }
        }
        Ok(None)
    }

    /// The registry credentials (brew's precedence: the bearer token, then basic; the value
    /// `none` means none), bound to `ghcr.io` and the hosts named in
    /// [`REGISTRY_HOSTS`] plus `extra_hosts` (from `--registry-host`). Never to a host taken
    /// from a formula or a mirror setting.
    pub fn registry_credential(
        &self,
        extra_hosts: &[String],
    ) -> Result<Option<SharedCredential>, EnvError> {
        let mut hosts: Vec<String> = vec!["ghcr.io".into()];
        hosts.extend(
            self.get(REGISTRY_HOSTS)
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase),
        );
        hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        if let Some(token) = self.get(REGISTRY_TOKEN) {
            if token.trim() == "none" {
                return Ok(None);
            }
            let token = header_safe(REGISTRY_TOKEN, token)?;
            return Ok(Some(Arc::new(Credential::bearer(
                token,
                REGISTRY_TOKEN,
                &hosts,
            ))));
        }
        let Some(encoded) = self.get(REGISTRY_BASIC_AUTH) else {
            return Ok(None);
        };
        if encoded.trim() == "none" {
            return Ok(None);
        }
        let invalid = |why| EnvError::BadCredential {
            variable: REGISTRY_BASIC_AUTH,
            why,
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid("it is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid("it is not UTF-8"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("it does not decode to `user:password`"))?;
        Ok(Some(Arc::new(Credential::basic(
            user,
            password,
            REGISTRY_BASIC_AUTH,
            &hosts,
        ))))
    }

    /// The attestation cache directory: `explicit` (`--cache-dir`), else
    /// [`CACHE_DIR`], else `$HOMEBREW_CACHE/brew-verify`, else Homebrew's default cache
    /// (`~/Library/Caches/Homebrew` on macOS, `$XDG_CACHE_HOME/Homebrew` or `~/.cache/Homebrew`
    /// elsewhere) plus `brew-verify`. Never a directory relative to where the command runs.
    pub fn cache_dir(&self, explicit: Option<PathBuf>) -> Result<PathBuf, EnvError> {
        if let Some(dir) = explicit.or_else(|| self.get(CACHE_DIR).map(PathBuf::from)) {
            return absolute(dir, "the cache directory");
        }
        Ok(self.homebrew_cache()?.join("brew-verify"))
    }

    /// Homebrew's cache (`HOMEBREW_CACHE`, else its default under `HOME`).
    pub fn homebrew_cache(&self) -> Result<PathBuf, EnvError> {
        if let Some(dir) = self.get(HOMEBREW_CACHE) {
            return absolute(PathBuf::from(dir), HOMEBREW_CACHE);
        }
        let home = self
            .get("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .ok_or(EnvError::NoCacheDir)?;
        Ok(if cfg!(target_os = "macos") {
            home.join("Library/Caches/Homebrew")
        } else {
            self.get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(".cache"))
                .join("Homebrew")
        })
    }

    /// The two TUF repositories the trusted roots are refreshed from (public-good, GitHub):
    /// [`TUF_URL`] / [`TUF_ROOT`] and [`GITHUB_TUF_URL`] / [`GITHUB_TUF_ROOT`], else Sigstore's
    /// and GitHub's own with the embedded TUF roots. Plain http is refused off loopback by the
    /// HTTP layer when the repository is asked, like every other URL.
    pub fn tuf_repos(&self) -> Result<(TufRepo, TufRepo), EnvError> {
        let public_good = self.tuf_repo(TUF_URL, PUBLIC_GOOD_URL, TUF_ROOT, PUBLIC_GOOD_ANCHOR)?;
        let github = self.tuf_repo(GITHUB_TUF_URL, GITHUB_URL, GITHUB_TUF_ROOT, GITHUB_ANCHOR)?;
        Ok((public_good, github))
    }

    fn tuf_repo(
        &self,
        url_variable: &'static str,
        default_url: &str,
        root_variable: &'static str,
        embedded: &'static [u8],
    ) -> Result<TufRepo, EnvError> {
        let text = self.get(url_variable).unwrap_or(default_url).trim();
        let url = Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| EnvError::BadValue {
                variable: url_variable,
                why: format!("`{text}` is not an http(s) URL"),
            })?;
        // TUF's signatures make a plain-http mirror unable to forge a root, but not unable to
        // freeze one (hold back every update until the metadata expires): https, or loopback.
        if !crate::http::origin::is_private_channel(&url) {
            return Err(EnvError::BadValue {
                variable: url_variable,
                why: format!(
                    "`{text}`: a TUF repository is reached over https (plain http only on loopback)"
                ),
            });
        }
        let anchor = match self.get(root_variable) {
            None => Anchor::Embedded(embedded),
            Some(path) => {
                let path = PathBuf::from(path);
                let bytes = std::fs::read(&path).map_err(|e| EnvError::BadValue {
                    variable: root_variable,
                    why: format!("cannot read `{}`: {e}", path.display()),
                })?;
                Anchor::File { path, bytes }
            }
        };
        Ok(TufRepo { url, anchor })
    }

    /// The per-bottle deadline: [`TIMEOUT`] seconds, else [`DEFAULT_TIMEOUT`].
    pub fn timeout(&self) -> Result<Duration, EnvError> {
        match self.get(TIMEOUT) {
            None => Ok(DEFAULT_TIMEOUT),
            Some(v) => parse_seconds(v).ok_or_else(|| EnvError::BadValue {
                variable: TIMEOUT,
                why: format!("`{}` is not a number of seconds", v.trim()),
            }),
        }
    }
}

/// `api.<tenant>.ghe.com`: a GitHub Enterprise Cloud tenant's API, where gh sends `GH_TOKEN`.
fn is_ghe_tenant_api(host: &str) -> bool {
    host.strip_prefix("api.")
        .and_then(|rest| rest.strip_suffix(".ghe.com"))
        .is_some_and(|tenant| {
            !tenant.is_empty()
                && tenant
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A positive number of seconds (`20`, `2.5`).
pub fn parse_seconds(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= 86_400.0).then(|| Duration::from_secs_f64(secs))
}

/// A token must be printable ASCII without spaces: it travels in an HTTP header.
fn header_safe<'a>(variable: &'static str, value: &'a str) -> Result<&'a str, EnvError> {
    let token = value.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EnvError::BadCredential {
            variable,
            why: "it is empty or holds spaces or non-ASCII characters",
        });
    }
    Ok(token)
}

fn absolute(dir: PathBuf, what: &'static str) -> Result<PathBuf, EnvError> {
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Err(EnvError::BadValue {
            variable: what,
            why: format!(
                "`{}` is a relative path; give an absolute one",
                dir.display()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn github_tokens_follow_gh_host_rules() {
        let env = Env::from_pairs([
            (GITHUB_TOKEN, "c"),
            (GH_TOKEN, "b"),
            (HOMEBREW_GITHUB_API_TOKEN, "a"),
            (GH_ENTERPRISE_TOKEN, "e"),
        ]);
        let dotcom = url("https://api.github.com");
        let c = env
            .github_credential(&dotcom, TokenOrder::Homebrew)
            .unwrap()
            .unwrap();
        assert_eq!(c.source(), HOMEBREW_GITHUB_API_TOKEN);
        assert_eq!(c.hosts(), ["api.github.com"]);
        let c = env
            .github_credential(&dotcom, TokenOrder::Gh)
            .unwrap()
            .unwrap();
        assert_eq!(c.source(), GH_TOKEN);
        // Another host gets the enterprise token, never a github.com one.
        let ghes = url("https://ghe.example.com/api/v3");
        let c = env
            .github_credential(&ghes, TokenOrder::Gh)
            .unwrap()
            .unwrap();
        assert_eq!(c.source(), GH_ENTERPRISE_TOKEN);
        assert_eq!(c.hosts(), ["ghe.example.com"]);
        let only_dotcom = Env::from_pairs([(GH_TOKEN, "b"), (HOMEBREW_GITHUB_API_TOKEN, "a")]);
        assert!(
            only_dotcom
                .github_credential(&ghes, TokenOrder::Gh)
                .unwrap()
                .is_none()
        );
        assert!(
            only_dotcom
                .github_credential(&url("http://127.0.0.1.example.net"), TokenOrder::Gh)
                .unwrap()
                .is_none()
        );
        let tenant = url("https://api.acme.ghe.com");
        let c = only_dotcom
            .github_credential(&tenant, TokenOrder::Gh)
            .unwrap()
            .unwrap();
        assert_eq!(c.source(), GH_TOKEN);
        assert_eq!(c.hosts(), ["api.acme.ghe.com"]);
    }

    #[test]
    fn registry_credentials_are_bound_to_ghcr_and_named_hosts() {
        let env = Env::from_pairs([(REGISTRY_TOKEN, "t")]);
        let c = env.registry_credential(&[]).unwrap().unwrap();
        assert_eq!(c.hosts(), ["ghcr.io"]);
        let env = Env::from_pairs([
            (REGISTRY_BASIC_AUTH, "dXNlcjpwYXNz"),
            (REGISTRY_HOSTS, "registry.example:5000, 127.0.0.1:9"),
        ]);
        let c = env
            .registry_credential(&["Other.Example".into()])
            .unwrap()
            .unwrap();
        assert!(c.is_basic());
        assert_eq!(
            c.hosts(),
            [
                "ghcr.io",
                "registry.example:5000",
                "127.0.0.1:9",
                "other.example"
            ]
        );
        let bad = Env::from_pairs([(REGISTRY_BASIC_AUTH, "%%%")]);
        assert!(matches!(
            bad.registry_credential(&[]),
            Err(EnvError::BadCredential { .. })
        ));
        let none = Env::from_pairs([(REGISTRY_TOKEN, "none")]);
        assert!(none.registry_credential(&[]).unwrap().is_none());
    }

    #[test]
    fn no_cache_directory_is_guessed_from_the_working_directory() {
        let env = Env::from_pairs::<&str, &str>([]);
        assert_eq!(env.cache_dir(None), Err(EnvError::NoCacheDir));
        let relative = Env::from_pairs([(HOMEBREW_CACHE, "cache")]);
        assert!(matches!(
            relative.cache_dir(None),
            Err(EnvError::BadValue { .. })
        ));
        let ok = Env::from_pairs([(HOMEBREW_CACHE, "/hb")]);
        assert_eq!(
            ok.cache_dir(None).unwrap(),
            PathBuf::from("/hb/brew-verify")
        );
    }

    #[test]
    fn tokens_must_fit_in_a_header_and_legacy_names_still_work() {
        let env = Env::from_pairs([(GH_TOKEN, "ab cd")]);
        assert!(matches!(
            env.github_credential(&url("https://api.github.com"), TokenOrder::Gh),
            Err(EnvError::BadCredential {
                variable: GH_TOKEN,
                ..
            })
        ));
        let legacy = Env::from_pairs([("BREW_VERIFY_GH_API_URL", "http://127.0.0.1:1")]);
        assert_eq!(legacy.get(API_URL), Some("http://127.0.0.1:1"));
        assert_eq!(parse_seconds("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("nan"), None);
    }

    #[test]
    fn set_by_names_the_variable_get_reads() {
        let legacy = Env::from_pairs([("BREW_VERIFY_GH_API_URL", "http://127.0.0.1:1")]);
        assert_eq!(legacy.set_by(API_URL), Some("BREW_VERIFY_GH_API_URL"));
        let both = Env::from_pairs([
            ("BREW_VERIFY_GH_API_URL", "http://127.0.0.1:1"),
            (API_URL, "http://127.0.0.1:2"),
        ]);
        assert_eq!(both.set_by(API_URL), Some(API_URL));
        assert_eq!(both.get(API_URL), Some("http://127.0.0.1:2"));
        // Blank counts as unset, for both names, as in `get`.
        let blank = Env::from_pairs([(API_URL, " "), ("BREW_VERIFY_GH_API_URL", "")]);
        assert_eq!(blank.set_by(API_URL), None);
        assert_eq!(
            Env::from_pairs([(TIMEOUT, "5")]).set_by(TIMEOUT),
            Some(TIMEOUT)
        );
        assert_eq!(Env::from_pairs([("HOME", "/h")]).set_by(CACHE_DIR), None);
    }
}
