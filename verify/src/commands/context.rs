//! Turning flags and Homebrew's environment into the values a check runs with (the second
//! stage of argument parsing): the one [`BottleChecker`] and the formula [`Resolver`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bottle_attest::Policy;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};
use bottle_attest::formula::FormulaIndex;
use bottle_attest::signed_api::{ApiKey, HOMEBREW_KEY_ID};
use bottle_attest_net::checker::{BottleChecker, BottleSteps, CheckerConfig, Registry};
use bottle_attest_net::env::{Env, TokenOrder};
use bottle_attest_net::formula_api::FormulaApi;
use bottle_attest_net::github::GitHubClient;
use bottle_attest_net::http::{HttpClient, HttpConfig, StderrEvents};
use bottle_attest_net::mirror::MirrorClient;
use bottle_attest_net::resolve::{FormulaSource, Resolver};
use bottle_attest_net::sources::{AttestationSources, Remote};
use bottle_attest_net::store::cache::AttestationCache;
use bottle_attest_net::trust::RootInfo;

use crate::cli::{AttestationsFrom, LookupArgs};
use crate::exit::UsageError;

/// Everything a check needs, resolved.
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) checker: BottleChecker,
    pub(crate) resolver: Resolver,
    /// Bottle tags to check for formula names; empty = all tags.
    pub(crate) tags: Vec<String>,
    /// A mirror's bottle root, when bottles are not fetched from the formula's own root.
    pub(crate) bottle_domain: Option<String>,
    /// Homebrew's download cache.
    pub(crate) downloads: Option<PathBuf>,
    /// The trusted roots the checker holds, and where each came from.
    pub(crate) roots: Vec<RootInfo>,
}

impl Context {
    /// Build the checker from the flags. `pile`: `--bundle` files, read already.
    pub(crate) async fn new(
        args: &LookupArgs,
        pile: Option<Vec<BundleCandidate>>,
        jobs: usize,
        quiet: bool,
    ) -> anyhow::Result<Self> {
        let env = Env::from_process();
        let policy = load_policy(args.policy.as_deref())?;
        let timeout = match args.timeout {
            Some(secs) => secs,
            None => env.timeout()?,
        };
        if let Some(dir) = &args.sidecar_dir {
            if !dir.is_dir() {
                return Err(UsageError(format!(
                    "--sidecar-dir `{}` is not a directory",
                    dir.display()
                ))
                .into());
            }
        }
        // Homebrew's cache (for downloads) and the attestation cache inside it. Neither is
        // ever guessed from the working directory.
        let homebrew_cache = env.homebrew_cache().ok();
        let cache = if args.no_cache {
            None
        } else {
            let root = env
                .cache_dir(args.cache_dir.clone())
                .context("the attestation cache")?;
            Some(AttestationCache::open(&root).context("the attestation cache")?)
        };
        let downloads = match &args.cache_dir {
            Some(dir) => Some(dir.join("downloads")),
            None => homebrew_cache.map(|c| c.join("downloads")),
        };
        let bottle_domain = args
            .bottle_domain
            .as_ref()
            .map(|d| d.trim_end_matches('/').to_owned())
            .filter(|d| !d.is_empty());
        // `--bundle` files are all the attestations there are, but the trusted roots are still
        // kept current unless `--offline`.
        let client = if args.offline {
            None
        } else {
            Some(HttpClient::new(HttpConfig {
                events: Arc::new(StderrEvents::new(quiet)),
                ..HttpConfig::default()
            })?)
        };
        let refresh = super::trust::refresh_mode(args.refresh_trust, args.offline);
        let loaded = super::trust::roots(
            &env,
            args.trusted_root.as_deref(),
            refresh,
            cache.as_ref().map(|c| c.root().to_owned()),
            client.as_ref(),
        )
        .await?;
        super::trust::warn_if_forced_refresh_failed(&loaded, refresh);
        let trust = loaded.root;
        let roots = loaded.roots;
        let http = if pile.is_some() { None } else { client };
        let remote = match &http {
            None => Remote::None,
            Some(http) => {
                let mirror_domain = bottle_domain
                    .as_ref()
                    .filter(|d| !bottle_attest::bottle::is_github_packages(d));
                match args.attestations_from {
                    AttestationsFrom::Mirror => Remote::Mirror(MirrorClient::new(http.clone())),
                    AttestationsFrom::Api => {
                        let api = bottle_attest_net::http::Request::parse_url(&args.api_url)
                            .map_err(|e| UsageError(format!("--api-url: {e}")))?;
                        let credential = env.github_credential(&api, TokenOrder::Homebrew)?;
                        Remote::Api {
                            client: Box::new(GitHubClient::new(
                                http.clone(),
                                &args.api_url,
                                credential,
                            )?),
                            mirror: mirror_domain.map(|_| MirrorClient::new(http.clone())),
                        }
                    }
                }
            }
        };
        let registry = match &http {
            Some(http) if pile.is_none() => Some(Registry {
                http: http.clone(),
                credential: env.registry_credential(&args.registry_hosts)?,
            }),
            _ => None,
        };
        let formulae = match &args.formula_json {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read formula JSON `{}`", path.display()))?;
                FormulaSource::File(Arc::new(
                    FormulaIndex::from_json(&text)
                        .with_context(|| format!("`{}` is not formula JSON", path.display()))?,
                ))
            }
            None => match &http {
                None => FormulaSource::None,
                Some(http) => {
                    // Only the signed index is read, under Homebrew's key unless another is
                    // named (a private API mirror that re-signs, tests).
                    let key = match &args.formula_api_key {
                        None => ApiKey::homebrew(),
                        Some(path) => {
                            let pem = std::fs::read_to_string(path).with_context(|| {
                                format!("cannot read --formula-api-key `{}`", path.display())
                            })?;
                            ApiKey::from_pem(HOMEBREW_KEY_ID, &pem).map_err(|e| {
                                UsageError(format!("--formula-api-key `{}`: {e}", path.display()))
                            })?
                        }
                    };
                    let index_cache = cache.as_ref().map(|c| c.root().join("formula-api"));
                    FormulaSource::Api(
                        FormulaApi::new(http.clone(), &args.formula_api, key, index_cache)
                            .map_err(|e| UsageError(format!("--formula-api: {e}")))?,
                    )
                }
            },
        };
        let tags = if args.all_tags {
            Vec::new()
        } else if args.bottle_tags.is_empty() {
            vec![this_machines_tag()?]
        } else {
            args.bottle_tags.clone()
        };
        let sources = AttestationSources::new(remote, cache.clone(), args.sidecar_dir.clone());
        let checker = BottleChecker::new(CheckerConfig {
            judge: policy,
            trust: Arc::new(trust),
            sources,
            pile,
            timeout: Some(timeout),
            steps: BottleSteps {
                registry,
                cache,
                bottle_domain: bottle_domain.clone(),
                downloads: downloads.clone(),
            },
        });
        let resolver = Resolver {
            formulae,
            tags: tags.clone(),
            deps: args.deps,
            bottle_domain: bottle_domain.clone(),
            jobs,
            timeout,
        };
        Ok(Self {
            env,
            checker,
            resolver,
            tags,
            bottle_domain,
            downloads,
            roots,
        })
    }
}

/// The built-in homebrew-core policy, or a policy file.
pub(crate) fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::homebrew_core()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy `{}`", path.display()))?;
            Ok(Policy::from_file_text(&path.display().to_string(), &text)
                .with_context(|| format!("policy `{}`", path.display()))?)
        }
    }
}

/// Every `--bundle` file, parsed. A file that cannot be read stops the run: every verdict
/// depends on what it holds.
pub(crate) fn read_bundles(paths: &[PathBuf]) -> anyhow::Result<Vec<BundleCandidate>> {
    let mut pile = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read bundle file `{}`", path.display()))?;
        // A saved web page (a login wall, an error page) is the wrong file, not an invalid
        // attestation: say so instead of blaming homebrew-core.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
            return Err(UsageError(format!(
                "`{}` is not a Sigstore bundle (it looks like an HTML or XML page)",
                path.display()
            ))
            .into());
        }
        pile.extend(parse_attestations(&path.display().to_string(), &bytes));
    }
    Ok(pile)
}

/// Parse `--timeout` (seconds).
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    bottle_attest_net::env::parse_seconds(text)
        .ok_or_else(|| format!("`{text}` is not a number of seconds (0 < N ≤ 86400)"))
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

/// What `--explain` says a run looked up and where (see [`crate::report::explain::Setting`]),
/// from the same flags [`Context::new`] read and the policy its checker holds.
pub(crate) fn explain_setting(
    args: &LookupArgs,
    bundles: &[PathBuf],
    policy: &Policy,
    roots: &[RootInfo],
) -> crate::report::explain::Setting {
    let policy = policy.clone();
    let policy_origin = match &args.policy {
        None => format!("the built-in {} policy", policy.name),
        Some(path) => format!("the policy file {}", path.display()),
    };
    let root = roots
        .iter()
        .map(RootInfo::describe)
        .collect::<Vec<_>>()
        .join(" and ");
    let mut places = Vec::new();
    if !bundles.is_empty() {
        let files: Vec<String> = bundles.iter().map(|p| p.display().to_string()).collect();
        places.push(format!(
            "the --bundle files {} (offline; each bundle filed under the source whose repository its certificate names)",
            files.join(", ")
        ));
    } else {
        if !args.no_cache {
            let env = Env::from_process();
            match env.cache_dir(args.cache_dir.clone()) {
                Ok(dir) => places.push(format!("the attestation cache {}", dir.display())),
                Err(_) => places.push("the attestation cache".to_owned()),
            }
        }
        if let Some(dir) = &args.sidecar_dir {
            places.push(format!(
                "the sidecars `<bottle file name>.sigs` in {}",
                dir.display()
            ));
        }
        if !args.offline {
            let mirror = args
                .bottle_domain
                .as_deref()
                .map(|d| d.trim_end_matches('/'))
                .filter(|d| !d.is_empty());
            match (args.attestations_from, mirror) {
                (AttestationsFrom::Mirror, Some(domain)) => places.push(format!(
                    "the mirror's sidecars `<bottle url>.sigs` under {domain}"
                )),
                (AttestationsFrom::Mirror, None) => places.push(
                    "the mirror's sidecars `<bottle url>.sigs` beside each bottle".to_owned(),
                ),
                (AttestationsFrom::Api, mirror) => {
                    places.push(format!(
                        "the GitHub attestations API at {}, in each source's repository",
                        args.api_url
                    ));
                    if let Some(domain) =
                        mirror.filter(|d| !bottle_attest::bottle::is_github_packages(d))
                    {
                        places.push(format!(
                            "the mirror's sidecars `<bottle url>.sigs` under {domain}, only if the API cannot be reached"
                        ));
                    }
                }
            }
        }
    }
    crate::report::explain::Setting {
        policy,
        policy_origin,
        places,
        root,
    }
}
