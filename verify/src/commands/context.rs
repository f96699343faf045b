//! Turning flags and Homebrew's environment into the values a check runs with (the second
//! stage of argument parsing): the policy, the trusted root, the attestation sources, the
//! registry clients and where formulae come from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bottle_attest::bottle::is_github_packages;
use bottle_attest::formula::{FormulaIndex, ResolvedBottle};
use bottle_attest::{Policy, TrustRoot};
use bottle_attest_net::formula_api::FormulaApi;
use bottle_attest_net::ghcr::{GhcrClient, RegistryAuth};
use bottle_attest_net::github::{ApiToken, GitHubClient};
use bottle_attest_net::mirror::MirrorClient;
use bottle_attest_net::sources::{AttestationSources, Remote};
use bottle_attest_net::store::cache::AttestationCache;

use crate::cli::{AttestationsFrom, LookupArgs};

/// Process environment lookups, in one place so that tests of the binary control them.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Everything a check needs, resolved.
pub(crate) struct Context {
    pub(crate) policy: Policy,
    pub(crate) trust: TrustRoot,
    pub(crate) sources: AttestationSources,
    pub(crate) offline: bool,
    /// Where formulae come from.
    pub(crate) formulae: FormulaSource,
    /// Bottle tags to check for formula names; empty = all tags.
    pub(crate) tags: Vec<String>,
    pub(crate) deps: bool,
    /// A mirror's bottle root, when bottles are not fetched from the formula's own root.
    pub(crate) bottle_domain: Option<String>,
    /// Homebrew's download cache, for `--download`.
    pub(crate) downloads: PathBuf,
    /// The attestation cache, if used.
    pub(crate) cache: Option<AttestationCache>,
    registry_auth: RegistryAuth,
    ghcr: std::sync::Mutex<BTreeMap<String, Arc<GhcrClient>>>,
}

/// Where formula JSON comes from.
pub(crate) enum FormulaSource {
    File(FormulaIndex),
    Api(FormulaApi),
    /// Offline without `--formula-json`: formula names cannot be resolved.
    None,
}

impl Context {
    pub(crate) fn new(args: &LookupArgs) -> anyhow::Result<Self> {
        let trust = super::load_trust_root(args.trusted_root.as_deref())?;
        let policy = match &args.policy {
            None => Policy::homebrew_core(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read policy `{}`", path.display()))?;
                Policy::from_file_text(&path.display().to_string(), &text)
                    .with_context(|| format!("policy `{}`", path.display()))?
            }
        };
        let homebrew_cache = AttestationCache::default_root(&env)
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(".brew-verify-cache"));
        let cache_root = args
            .cache_dir
            .clone()
            .unwrap_or_else(|| homebrew_cache.join("brew-verify"));
        let downloads = match &args.cache_dir {
            Some(dir) => dir.join("downloads"),
            None => homebrew_cache.join("downloads"),
        };
        let cache = (!args.no_cache).then(|| AttestationCache::new(cache_root));
        let bottle_domain = args
            .bottle_domain
            .as_ref()
            .map(|d| d.trim_end_matches('/').to_owned())
            .filter(|d| !d.is_empty());
        let mirror_domain = bottle_domain.as_ref().filter(|d| !is_github_packages(d));
        let remote = if args.offline {
            Remote::None
        } else {
            let mirror = match mirror_domain {
                Some(_) => Some(MirrorClient::new().context("building the mirror HTTP client")?),
                None => None,
            };
            match args.attestations_from {
                AttestationsFrom::Mirror => Remote::Mirror(match mirror {
                    Some(m) => m,
                    None => MirrorClient::new().context("building the mirror HTTP client")?,
                }),
                AttestationsFrom::Api => {
                    let token = ApiToken::from_env(&env)?;
                    Remote::Api {
                        client: Box::new(GitHubClient::new(&args.api_url, token)?),
                        mirror,
                    }
                }
            }
        };
        let sources = AttestationSources::new(remote, cache.clone(), args.sidecar_dir.clone());
        let formulae = match &args.formula_json {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read formula JSON `{}`", path.display()))?;
                FormulaSource::File(
                    FormulaIndex::from_json(&text)
                        .with_context(|| format!("`{}` is not formula JSON", path.display()))?,
                )
            }
            None if args.offline => FormulaSource::None,
            None => FormulaSource::Api(
                FormulaApi::new(&args.formula_api).context("building the formula API client")?,
            ),
        };
        let tags = if args.all_tags {
            Vec::new()
        } else if args.bottle_tags.is_empty() {
            vec![this_machines_tag()?]
        } else {
            args.bottle_tags.clone()
        };
        Ok(Self {
            policy,
            trust,
            sources,
            offline: args.offline,
            formulae,
            tags,
            deps: args.deps,
            bottle_domain,
            downloads,
            cache,
            registry_auth: RegistryAuth::from_env_map(&env)?,
            ghcr: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Where `bottle` is served from: the mirror when one is configured, else the formula's
    /// root.
    pub(crate) fn bottle_root<'a>(&'a self, bottle: &'a ResolvedBottle) -> &'a str {
        self.bottle_domain.as_deref().unwrap_or(&bottle.root_url)
    }

    /// The registry client for GitHub Packages root `root` (one per root, so tokens are reused).
    pub(crate) fn ghcr(&self, root: &str) -> anyhow::Result<Arc<GhcrClient>> {
        let mut clients = self
            .ghcr
            .lock()
            .map_err(|_| anyhow::anyhow!("registry client lock poisoned"))?;
        if let Some(c) = clients.get(root) {
            return Ok(c.clone());
        }
        let client = Arc::new(GhcrClient::new(root, self.registry_auth.clone())?);
        clients.insert(root.to_owned(), Arc::clone(&client));
        Ok(client)
    }
}

/// This machine's bottle tag.
fn this_machines_tag() -> anyhow::Result<String> {
    let macos_version = if cfg!(target_os = "macos") {
        std::process::Command::new("sw_vers")
            .arg("-productVersion")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    } else {
        None
    };
    Ok(bottle_attest::platform::bottle_tag(
        std::env::consts::OS,
        std::env::consts::ARCH,
        macos_version.as_deref(),
    )?)
}
