//! `brew-verify trust show|refresh`, and the one call every verifying command gets its roots
//! through ([`roots`]): the TUF-refreshed Sigstore roots, or the user's file.

use std::path::{Path, PathBuf};

use bottle_attest::trust::Authority;
use bottle_attest_net::env::Env;
use bottle_attest_net::http::{HttpClient, HttpConfig};
use bottle_attest_net::trust::{LoadedRoots, Refresh, RootInfo, TrustSettings, load_roots};
use serde_json::{Value, json};

use crate::cli::TrustAction;
use crate::exit::Status;

/// The roots a run verifies with: `custom` (`--trusted-root`) replaces everything; otherwise
/// the TUF repositories named by the environment are asked under `refresh`, their metadata
/// kept under `cache_root` (`None`: no cache, the embedded roots). `http` is `None` offline.
pub(crate) async fn roots(
    env: &Env,
    custom: Option<&Path>,
    refresh: Refresh,
    cache_root: Option<PathBuf>,
    http: Option<&HttpClient>,
) -> anyhow::Result<LoadedRoots> {
    let (public_good, github) = env.tuf_repos()?;
    let settings = TrustSettings {
        custom: custom.map(Path::to_owned),
        refresh,
        cache_root,
        public_good,
        github,
    };
    Ok(load_roots(&settings, http).await?)
}

/// [`roots`] for a command that is not on a runtime yet (`bundle`, gh mode), with its own
/// HTTP client unless `offline`.
pub(crate) fn roots_blocking(
    env: &Env,
    custom: Option<&Path>,
    refresh: Refresh,
    cache_root: Option<PathBuf>,
    offline: bool,
) -> anyhow::Result<LoadedRoots> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = if offline || custom.is_some() {
            None
        } else {
            Some(HttpClient::new(HttpConfig::default())?)
        };
        roots(env, custom, refresh, cache_root, http.as_ref()).await
    })
}

/// After `--refresh-trust`: a refresh that was asked for and failed is said on stderr, with
/// the root used instead (an automatic refresh that fails is only reported in `--json`,
/// `--explain` and `doctor`: it must not add noise to every offline run, nor to gh mode's
/// stderr, which brew reads).
pub(crate) fn warn_if_forced_refresh_failed(loaded: &LoadedRoots, refresh: Refresh) {
    if refresh != Refresh::Force {
        return;
    }
    for info in &loaded.roots {
        if let Some(why) = &info.refresh_error {
            eprintln!(
                "Warning: could not refresh the {} root: {why}; using {}",
                bottle_attest_net::trust::instance_words(info.instance),
                info.describe()
            );
        }
    }
}

/// `refresh` for the verifying commands' `--refresh-trust` and `--offline`.
pub(crate) fn refresh_mode(force: bool, offline: bool) -> Refresh {
    if offline {
        Refresh::Never
    } else if force {
        Refresh::Force
    } else {
        Refresh::Auto
    }
}

/// `--json`'s `trust_root` for a result: the root the verdict was reached under.
pub(crate) fn trust_root_json(info: &RootInfo) -> Value {
    json!({
        "instance": info.instance.name(),
        "source": info.source.as_str(),
        "location": info.location,
        "tuf_version": info.tuf_version,
        "fetched_at": info.fetched_at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        "refresh_error": info.refresh_error,
    })
}

/// `brew-verify trust show|refresh`.
pub(crate) fn run(action: &TrustAction) -> anyhow::Result<Status> {
    let (args, refresh) = match action {
        TrustAction::Show(args) => (args, refresh_mode(false, args.offline)),
        TrustAction::Refresh(args) => (args, Refresh::Force),
    };
    let env = Env::from_process();
    let cache_root = Some(env.cache_dir(args.cache_dir.clone())?);
    let loaded = roots_blocking(
        &env,
        args.trusted_root.as_deref(),
        refresh,
        cache_root,
        args.offline,
    )?;
    if args.json {
        println!("{}", show_json(&loaded));
    } else {
        print!("{}", show_text(&loaded));
    }
    let failures = loaded.refresh_errors();
    for failure in &failures {
        eprintln!("Error: {failure}");
    }
    Ok(match action {
        TrustAction::Refresh(_) if !failures.is_empty() => Status::CouldNotCheck,
        _ => Status::Ok,
    })
}

/// The authorities of a root document; none when it is unreadable.
fn authorities(json: &str) -> Vec<Authority> {
    bottle_attest::trust::authorities(json).unwrap_or_default()
}

fn show_json(loaded: &LoadedRoots) -> Value {
    let roots: Vec<Value> = loaded
        .roots
        .iter()
        .map(|info| {
            let mut value = trust_root_json(info);
            if let Value::Object(o) = &mut value {
                o.insert(
                    "url".into(),
                    json!(
                        info.location
                            .as_ref()
                            .filter(|_| info.source != bottle_attest_net::trust::RootSource::File)
                    ),
                );
                o.insert(
                    "trusted_root_sha256".into(),
                    bottle_attest::digest::sha256_bytes(info.json.as_bytes())
                        .to_hex()
                        .into(),
                );
                o.insert(
                    "authorities".into(),
                    authorities(&info.json)
                        .into_iter()
                        .map(|a| {
                            json!({
                                "kind": a.kind.name(),
                                "uri": a.uri,
                                "valid_from": a.valid_from,
                                "valid_until": a.valid_until,
                            })
                        })
                        .collect(),
                );
            }
            value
        })
        .collect();
    json!({ "roots": roots })
}

fn show_text(loaded: &LoadedRoots) -> String {
    let mut out = String::new();
    for info in &loaded.roots {
        out.push_str(&format!("==> {}\n", capitalise(&info.describe())));
        if let Some(why) = &info.refresh_error {
            out.push_str(&format!("    (refresh failed: {why})\n"));
        }
        for a in authorities(&info.json) {
            let until = a.valid_until.as_deref().unwrap_or("now");
            let from = a.valid_from.as_deref().unwrap_or("?");
            out.push_str(&format!(
                "    {:<6} {}  valid {from} .. {until}\n",
                a.kind.name(),
                a.uri
            ));
        }
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bottle_attest::trust::AuthorityKind;

    #[test]
    fn the_embedded_roots_list_their_authorities() {
        let public_good = authorities(bottle_attest::trust::PRODUCTION_JSON);
        for kind in ["fulcio", "rekor", "ct", "tsa"] {
            assert!(public_good.iter().any(|a| a.kind.name() == kind), "{kind}");
        }
        assert!(public_good.iter().all(|a| a.valid_from.is_some()));
        let github = authorities(sigstore_trust_root_github());
        assert!(github.iter().any(|a| a.kind == AuthorityKind::Fulcio));
        assert!(
            github.iter().all(|a| a.kind != AuthorityKind::Rekor),
            "GitHub's has no Rekor"
        );
        assert!(authorities("not json").is_empty());
    }

    fn sigstore_trust_root_github() -> &'static str {
        bottle_attest_net::trust::embedded_json(bottle_attest::trust::Instance::GitHub)
    }
}
