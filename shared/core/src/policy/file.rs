//! Loading a [`Policy`] from a TOML or JSON file, so that a third-party tap can state its own
//! identities. The format is documented in the README ("Policy files").
//!
//! Unknown keys are errors: in a security policy a misspelt key must not silently mean "no
//! restriction".

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    GITHUB_ACTIONS_ISSUER, Policy, RefRule, Source, SubjectRule, When, WorkflowRule,
    default_instances, identity::parse_workflow_san,
};
use crate::bottle::DEFAULT_BOTTLE_ROOT;
use crate::statement::SLSA_PROVENANCE_V1;
use crate::trust::Instance;

/// A policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    /// TOML syntax or schema error.
    #[error("invalid TOML policy: {0}")]
    Toml(String),
    /// JSON syntax or schema error.
    #[error("invalid JSON policy: {0}")]
    Json(String),
    /// Well-formed, but not a usable policy.
    #[error("invalid policy: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(rename = "source")]
    sources: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    repository: String,
    #[serde(default)]
    workflows: Option<Vec<String>>,
    #[serde(default)]
    refs: Option<Vec<String>>,
    #[serde(default)]
    source_refs: Option<Vec<String>>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    source_repository: Option<String>,
    #[serde(default)]
    predicate_type: Option<String>,
    #[serde(default)]
    subject: Option<RawSubject>,
    #[serde(default)]
    bottle_root: Option<String>,
    #[serde(default)]
    logged_at_or_before: Option<DateTime<Utc>>,
    #[serde(default)]
    when: Option<When>,
    #[serde(default)]
    instances: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum RawSubject {
    Filename,
    CacheName,
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "always" => Ok(Self::Always),
            "earlier-missing" => Ok(Self::EarlierMissing),
            other => Err(serde::de::Error::custom(format!(
                "`when` must be \"always\" or \"earlier-missing\", not {other:?}"
            ))),
        }
    }
}

impl Policy {
    /// Parse a policy file; `.json` files (or text starting with `{`) are JSON, others TOML.
    pub fn from_file_text(file_name: &str, text: &str) -> Result<Self, PolicyFileError> {
        let raw: RawPolicy = if file_name.ends_with(".json") || text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PolicyFileError::Json(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| PolicyFileError::Toml(e.to_string()))?
        };
        raw.into_policy()
    }
}

impl Policy {
    /// The policy as a policy file (TOML) that [`Policy::from_file_text`] reads back to the
    /// same policy: what `brew-backfill policy` prints, so nobody writes one by hand. Every
    /// key is written out, defaults included, so the file says everything it enforces.
    pub fn to_toml(&self) -> String {
        let mut out = format!("name = {}\n", toml_string(&self.name));
        for source in &self.sources {
            out.push_str("\n[[source]]\n");
            let mut line = |key: &str, value: String| {
                out.push_str(&format!("{key} = {value}\n"));
            };
            line("name", toml_string(&source.name));
            line("repository", toml_string(&source.repository));
            line(
                "workflows",
                match &source.workflows {
                    WorkflowRule::Any => toml_list(&["*".to_owned()]),
                    WorkflowRule::OneOf(list) => toml_list(list),
                },
            );
            let refs = |rule: &RefRule| match rule {
                RefRule::Any => toml_list(&["*".to_owned()]),
                RefRule::OneOf(list) => toml_list(list),
            };
            line("refs", refs(&source.refs));
            line("source_refs", refs(&source.source_refs));
            line("issuer", toml_string(&source.issuer));
            line(
                "source_repository",
                toml_string(&source.source_repository_uri),
            );
            line("predicate_type", toml_string(&source.predicate_type));
            match &source.subject {
                SubjectRule::Filename => line("subject", toml_string("filename")),
                SubjectRule::CacheName { root } => {
                    line("subject", toml_string("cache-name"));
                    line("bottle_root", toml_string(root));
                }
            }
            if let Some(cutoff) = source.logged_at_or_before {
                line(
                    "logged_at_or_before",
                    toml_string(&cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                );
            }
            line(
                "when",
                toml_string(match source.when {
                    When::Always => "always",
                    When::EarlierMissing => "earlier-missing",
                }),
            );
            let names: Vec<String> = source
                .instances
                .iter()
                .map(|i| i.name().to_owned())
                .collect();
            line("instances", toml_list(&names));
        }
        out
    }
}

/// A TOML basic string (JSON's escaping is a subset TOML accepts).
fn toml_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

impl RawPolicy {
    fn into_policy(self) -> Result<Policy, PolicyFileError> {
        if self.sources.is_empty() {
            return Err(PolicyFileError::Invalid(
                "a policy needs at least one [[source]]".into(),
            ));
        }
        let sources = self
            .sources
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.into_source(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            name: self.name,
            sources,
        })
    }
}

impl RawSource {
    fn into_source(self, index: usize) -> Result<Source, PolicyFileError> {
        let invalid =
            |why: String| PolicyFileError::Invalid(format!("source `{}`: {why}", self.name));
        let probe = format!(
            "https://github.com/{}/.github/workflows/x.yml@refs/heads/main",
            self.repository
        );
        if parse_workflow_san(&probe).is_none() {
            return Err(invalid(format!(
                "repository must be `owner/name`, not {:?}",
                self.repository
            )));
        }
        let workflows = match self.workflows {
            None => WorkflowRule::Any,
            Some(list) if list.iter().any(|w| w == "*") => WorkflowRule::Any,
            Some(list) if list.is_empty() => {
                return Err(invalid(
                    "`workflows` is empty; omit it or use [\"*\"] for any".into(),
                ));
            }
            Some(list) => {
                if let Some(bad) = list.iter().find(|w| w.contains('/') || w.contains('@')) {
                    return Err(invalid(format!(
                        "workflow {bad:?} must be a file name such as `release.yml`"
                    )));
                }
                WorkflowRule::OneOf(list)
            }
        };
        let ref_rule = |key: &str, list: Option<Vec<String>>| match list {
            None => Ok(None),
            Some(list) if list.is_empty() => Err(invalid(format!(
                "`{key}` is empty; omit it (or use [\"*\"]) to allow any ref"
            ))),
            Some(list) if list.iter().any(|r| r == "*") => Ok(Some(RefRule::Any)),
            Some(list) => {
                if let Some(bad) = list.iter().find(|r| !r.starts_with("refs/")) {
                    return Err(invalid(format!(
                        "`{key}` holds {bad:?}: refs are full refs, such as refs/heads/{} or refs/tags/…",
                        bad.trim_start_matches('/')
                    )));
                }
                Ok(Some(RefRule::OneOf(list)))
            }
        };
        let refs = ref_rule("refs", self.refs)?.unwrap_or(RefRule::Any);
        // The run's ref defaults to the workflow's: both must be the default branch for core.
        let source_refs = ref_rule("source_refs", self.source_refs)?.unwrap_or(refs.clone());
        let subject = match self.subject.unwrap_or(RawSubject::Filename) {
            RawSubject::Filename => SubjectRule::Filename,
            RawSubject::CacheName => SubjectRule::CacheName {
                root: self
                    .bottle_root
                    .unwrap_or_else(|| DEFAULT_BOTTLE_ROOT.to_owned()),
            },
        };
        let instances = match self.instances {
            None => default_instances(),
            Some(list) if list.is_empty() => {
                return Err(invalid(
                    "`instances` is empty; omit it for [\"public-good\"]".into(),
                ));
            }
            Some(list) => {
                let mut out = Vec::new();
                for name in &list {
                    let instance = Instance::from_name(name).ok_or_else(|| {
                        invalid(format!(
                            "`instances` holds {name:?}: an instance is \"public-good\" or \"github\""
                        ))
                    })?;
                    if !out.contains(&instance) {
                        out.push(instance);
                    }
                }
                out
            }
        };
        let when = self.when.unwrap_or(if index == 0 {
            When::Always
        } else {
            When::EarlierMissing
        });
        Ok(Source {
            source_repository_uri: self
                .source_repository
                .unwrap_or_else(|| format!("https://github.com/{}", self.repository)),
            name: self.name,
            repository: self.repository,
            workflows,
            refs,
            source_refs,
            issuer: self
                .issuer
                .unwrap_or_else(|| GITHUB_ACTIONS_ISSUER.to_owned()),
            predicate_type: self
                .predicate_type
                .unwrap_or_else(|| SLSA_PROVENANCE_V1.to_owned()),
            subject,
            logged_at_or_before: self.logged_at_or_before,
            when,
            instances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN_AS_TOML: &str = r#"
name = "homebrew-core"

[[source]]
name = "homebrew-core"
repository = "Homebrew/homebrew-core"
workflows = ["*"]
refs = ["refs/heads/master", "refs/heads/main"]

[[source]]
name = "backfill"
repository = "trailofbits/homebrew-brew-verify"
workflows = ["backfill_signatures.yml"]
subject = "cache-name"
logged_at_or_before = "2024-03-14T00:00:00Z"
when = "earlier-missing"
"#;

    #[test]
    fn toml_equals_builtin() {
        let p = Policy::from_file_text("p.toml", BUILTIN_AS_TOML).unwrap();
        assert_eq!(p, Policy::homebrew_core());
    }

    #[test]
    fn json_works_too() {
        let p = Policy::from_file_text(
            "p.json",
            r#"{"name":"tap","source":[{"name":"tap","repository":"acme/homebrew-tap","workflows":["publish.yml"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.sources[0].workflows,
            WorkflowRule::OneOf(vec!["publish.yml".into()])
        );
        assert_eq!(
            p.sources[0].source_repository_uri,
            "https://github.com/acme/homebrew-tap"
        );
    }

    #[test]
    fn refuses_typos_and_nonsense() {
        let typo =
            "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a/b\"\nref = [\"main\"]\n";
        assert!(matches!(
            Policy::from_file_text("p.toml", typo),
            Err(PolicyFileError::Toml(_))
        ));
        let bad_repo = "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a\"\n";
        assert!(matches!(
            Policy::from_file_text("p.toml", bad_repo),
            Err(PolicyFileError::Invalid(_))
        ));
        let none = "name = \"x\"\nsource = []\n";
        assert!(Policy::from_file_text("p.toml", none).is_err());
        let bad_when =
            "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a/b\"\nwhen = \"sometimes\"\n";
        assert!(Policy::from_file_text("p.toml", bad_when).is_err());
    }

    #[test]
    fn instances_default_to_public_good_and_read_by_name() {
        let p = Policy::from_file_text("p.toml", BUILTIN_AS_TOML).unwrap();
        assert!(
            p.sources
                .iter()
                .all(|s| s.instances == [Instance::PublicGood])
        );
        let private = "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a/b\"\ninstances = [\"public-good\", \"github\"]\n";
        let p = Policy::from_file_text("p.toml", private).unwrap();
        assert_eq!(
            p.sources[0].instances,
            [Instance::PublicGood, Instance::GitHub]
        );
        let typo = "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a/b\"\ninstances = [\"private\"]\n";
        let err = Policy::from_file_text("p.toml", typo).unwrap_err();
        assert!(
            matches!(err, PolicyFileError::Invalid(ref m) if m.contains("\"private\"")),
            "{err}"
        );
        let none = "name = \"x\"\n[[source]]\nname = \"a\"\nrepository = \"a/b\"\ninstances = []\n";
        assert!(matches!(
            Policy::from_file_text("p.toml", none),
            Err(PolicyFileError::Invalid(_))
        ));
    }

    #[test]
    fn printed_policies_read_back_the_same() {
        let mut tap = Policy::homebrew_core();
        tap.sources[0].instances = vec![Instance::PublicGood, Instance::GitHub];
        tap.sources[1].refs = RefRule::Any;
        tap.sources[1].source_refs = RefRule::Any;
        tap.sources[0].source_refs = RefRule::OneOf(vec!["refs/heads/main".into()]);
        tap.name = "a \"quoted\" tap".into();
        for policy in [Policy::homebrew_core(), tap] {
            let text = policy.to_toml();
            let back = Policy::from_file_text("policy.toml", &text)
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(back, policy, "{text}");
        }
    }
}
