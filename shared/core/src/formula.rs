//! The formula JSON API (`formula.json`): which bottle a formula has for a platform. No I/O.
//!
//! Per formula the API gives `versions.stable`, `revision` and
//! `bottle.stable = {rebuild, root_url, files: {<tag>: {cellar, url, sha256}}}`, and the runtime
//! `dependencies`. The bottle's version in its file name is the *package* version: `version`,
//! plus `_<revision>` when the revision is not zero.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Deserialize;
use sigstore_types::Sha256Hash;

use crate::bottle::{BottleFilename, BottleRef};

/// One formula as the API describes it (only the fields this crate needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Formula {
    /// Formula name (`openssl@3`).
    pub name: String,
    /// Versions; only `stable` is used.
    pub versions: Versions,
    /// Homebrew's revision (`_1` suffix of the package version).
    #[serde(default)]
    pub revision: u32,
    /// Bottles; absent for formulae that are never bottled.
    #[serde(default)]
    pub bottle: BTreeMap<String, BottleSpec>,
    /// Runtime dependencies, by formula name.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// `versions` of a formula.
#[derive(Debug, Clone, Deserialize)]
pub struct Versions {
    /// The stable version, if any.
    pub stable: Option<String>,
}

/// `bottle.stable` of a formula.
#[derive(Debug, Clone, Deserialize)]
pub struct BottleSpec {
    /// Rebuild number (0 = none).
    #[serde(default)]
    pub rebuild: u32,
    /// Where bottles live (`https://ghcr.io/v2/homebrew/core`).
    pub root_url: String,
    /// Per tag: the file.
    pub files: BTreeMap<String, BottleFile>,
}

/// One platform's bottle in the API.
#[derive(Debug, Clone, Deserialize)]
pub struct BottleFile {
    /// Download URL (a GHCR blob URL).
    pub url: String,
    /// sha256 of the `.tar.gz`, hex.
    pub sha256: String,
}

/// A bottle resolved from the formula API: what to fetch and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedBottle {
    /// Digest and file name.
    pub bottle: BottleRef,
    /// The API's download URL.
    pub url: String,
    /// The bottle root the API names.
    pub root_url: String,
}

/// Levenshtein distance over characters (names are short: no cleverness needed).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Why a formula has no usable bottle.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormulaError {
    /// No formula of that name in the API data.
    #[error("no formula named `{0}` in the formula API")]
    Unknown(String),
    /// A runtime dependency that is not in the API data, and the formula that needs it.
    #[error("no formula named `{name}` (dependency of {dependent}) in the formula API")]
    UnknownDependency {
        /// The missing dependency.
        name: String,
        /// The formula that depends on it.
        dependent: String,
    },
    /// The formula is never bottled, or has no stable version.
    #[error("`{0}` has no stable bottle")]
    NoBottle(String),
    /// No bottle for this platform (and no `all` bottle).
    #[error("`{name}` has no bottle for {tag} (it has: {available})")]
    NoBottleForTag {
        /// The formula.
        name: String,
        /// The tag asked for.
        tag: String,
        /// The tags it has.
        available: String,
    },
    /// The API's data does not form a valid bottle.
    #[error("`{name}`: the formula API's bottle data is malformed: {why}")]
    Malformed {
        /// The formula.
        name: String,
        /// What is wrong.
        why: String,
    },
}

/// The formula API's data, indexed by name.
#[derive(Debug, Clone, Default)]
pub struct FormulaIndex {
    by_name: BTreeMap<String, Formula>,
}

impl FormulaIndex {
    /// Parse `formula.json` (an array of formulae) or a single formula's JSON object.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let list: Vec<Formula> = match value {
            serde_json::Value::Array(_) => serde_json::from_value(value)?,
            other => vec![serde_json::from_value(other)?],
        };
        Ok(Self {
            by_name: list.into_iter().map(|f| (f.name.clone(), f)).collect(),
        })
    }

    /// Add formulae (from another single-formula response).
    pub fn extend(&mut self, other: Self) {
        self.by_name.extend(other.by_name);
    }

    /// The formula named `name`.
    pub fn get(&self, name: &str) -> Option<&Formula> {
        self.by_name.get(name)
    }

    /// Every formula, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Formula> {
        self.by_name.values()
    }

    /// Up to three formula names close to `name` (edit distance at most 2, or containing it),
    /// nearest first: what brew offers after "No available formula".
    pub fn similar_names(&self, name: &str) -> Vec<&str> {
        let mut scored: Vec<(usize, &str)> = self
            .by_name
            .keys()
            .filter_map(|candidate| {
                let d = edit_distance(name, candidate);
                (d <= 2 || (name.len() >= 3 && candidate.contains(name)))
                    .then_some((d, candidate.as_str()))
            })
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }

    /// `names` and, transitively, their runtime dependencies, each once, dependencies after
    /// the formulae that need them (breadth first). Unknown names are returned as errors: a
    /// name asked for as [`FormulaError::Unknown`], a dependency as
    /// [`FormulaError::UnknownDependency`] naming the first formula found to need it.
    pub fn with_dependencies(&self, names: &[String]) -> Vec<Result<&Formula, FormulaError>> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<(&str, Option<&str>)> =
            names.iter().map(|n| (n.as_str(), None)).collect();
        let mut out = Vec::new();
        while let Some((name, dependent)) = queue.pop_front() {
            if !seen.insert(name.to_owned()) {
                continue;
            }
            match self.get(name) {
                Some(f) => {
                    queue.extend(
                        f.dependencies
                            .iter()
                            .map(|d| (d.as_str(), Some(f.name.as_str()))),
                    );
                    out.push(Ok(f));
                }
                None => out.push(Err(match dependent {
                    None => FormulaError::Unknown(name.to_owned()),
                    Some(dependent) => FormulaError::UnknownDependency {
                        name: name.to_owned(),
                        dependent: dependent.to_owned(),
                    },
                })),
            }
        }
        out
    }
}

impl Formula {
    /// The package version (`1.2.3_1`).
    pub fn pkg_version(&self) -> Option<String> {
        let v = self.versions.stable.as_ref()?;
        Some(if self.revision > 0 {
            format!("{v}_{}", self.revision)
        } else {
            v.clone()
        })
    }

    /// Every tag this formula has a stable bottle for.
    pub fn tags(&self) -> Vec<&str> {
        self.bottle
            .get("stable")
            .map(|s| s.files.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The bottle for `tag`, falling back to the `all` bottle as brew does.
    pub fn bottle_for(&self, tag: &str) -> Result<ResolvedBottle, FormulaError> {
        let spec = self
            .bottle
            .get("stable")
            .ok_or_else(|| FormulaError::NoBottle(self.name.clone()))?;
        let version = self
            .pkg_version()
            .ok_or_else(|| FormulaError::NoBottle(self.name.clone()))?;
        let (tag, file) = match spec.files.get_key_value(tag) {
            Some(found) => found,
            None => {
                spec.files
                    .get_key_value("all")
                    .ok_or_else(|| FormulaError::NoBottleForTag {
                        name: self.name.clone(),
                        tag: tag.to_owned(),
                        available: self.tags().join(", "),
                    })?
            }
        };
        let malformed = |why: String| FormulaError::Malformed {
            name: self.name.clone(),
            why,
        };
        let digest = Sha256Hash::from_hex(&file.sha256)
            .map_err(|_| malformed(format!("sha256 {:?} is not 64 hex digits", file.sha256)))?;
        let filename = BottleFilename::new(&self.name, &version, tag, spec.rebuild)
            .map_err(|e| malformed(e.to_string()))?;
        Ok(ResolvedBottle {
            bottle: BottleRef { digest, filename },
            url: file.url.clone(),
            root_url: spec.root_url.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WGET: &str = r#"{"name":"wget","versions":{"stable":"1.24.5"},"revision":1,
      "dependencies":["libidn2","openssl@3"],
      "bottle":{"stable":{"rebuild":2,"root_url":"https://ghcr.io/v2/homebrew/core","files":{
        "arm64_sonoma":{"cellar":":any","url":"https://ghcr.io/v2/homebrew/core/wget/blobs/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}}}}"#;

    /// Found by the `formula_json` fuzz target: the tag key `arm64_sequo..ia` resolved to a
    /// bottle tagged `ia`, version `1.2_5.arm64_sequo.`; it is now a malformed formula.
    #[test]
    fn a_tag_key_with_a_dot_is_malformed() {
        let json = WGET.replace("\"arm64_sonoma\":", "\"arm64_sequo..ia\":");
        let index = FormulaIndex::from_json(&json).unwrap();
        let err = index
            .get("wget")
            .unwrap()
            .bottle_for("arm64_sequo..ia")
            .unwrap_err();
        match err {
            FormulaError::Malformed { name, why } => {
                assert_eq!(name, "wget");
                assert!(
                    why.ends_with("the bottle tag is not of the form `arm64_sonoma`"),
                    "{why}"
                );
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn resolves_a_bottle() {
        let index = FormulaIndex::from_json(WGET).unwrap();
        let b = index
            .get("wget")
            .unwrap()
            .bottle_for("arm64_sonoma")
            .unwrap();
        assert_eq!(
            b.bottle.filename.to_string(),
            "wget--1.24.5_1.arm64_sonoma.bottle.2.tar.gz"
        );
        let err = index.get("wget").unwrap().bottle_for("sonoma").unwrap_err();
        assert!(matches!(err, FormulaError::NoBottleForTag { .. }));
    }

    #[test]
    fn dependency_closure_reports_unknowns() {
        let index = FormulaIndex::from_json(&format!("[{WGET}]")).unwrap();
        let all = index.with_dependencies(&["wget".into(), "wgte".into()]);
        assert_eq!(all.len(), 4);
        assert!(matches!(&all[1], Err(FormulaError::Unknown(n)) if n == "wgte"));
        // A missing dependency names the formula that needs it, as brew's
        // `FormulaUnavailableError#dependent_s` does.
        assert!(
            matches!(&all[2], Err(FormulaError::UnknownDependency { dependent, .. }) if dependent == "wget"),
            "{all:?}"
        );
    }
}
