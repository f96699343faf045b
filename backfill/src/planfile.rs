//! The plan file: JSON Lines, a header line (`"kind": "plan"`) then one line per bottle that
//! needs a backfill (`"kind": "bottle"`), in a deterministic order (formula name, then tag).

use std::path::Path;

use anyhow::{Context as _, bail};
use bottle_attest::bottle::{BottleFilename, BottleRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sigstore_types::Sha256Hash;

use crate::tap::Mode;

/// The plan's first line: where the digests came from, and the counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PlanHeader {
    /// Always `plan`.
    pub(crate) kind: String,
    /// Format version (1).
    pub(crate) version: u32,
    /// The formula JSON (file name or URL).
    pub(crate) formulae: String,
    /// SHA-256 of the formula JSON read.
    pub(crate) formulae_sha256: String,
    /// How subjects are named and filed. Plans written before modes existed are core-style.
    #[serde(default = "legacy_mode")]
    pub(crate) mode: Mode,
    /// The upstream repository consulted.
    pub(crate) core_repository: String,
    /// The tap consulted for existing backfill attestations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) repository: Option<String>,
    /// Whether digests were confirmed against the registry.
    pub(crate) checked_registry: bool,
    /// The bottle root subject names are formed on.
    pub(crate) bottle_root: String,
    /// `I/N`, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<String>,
    /// The tags selected (empty: all).
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    /// When the plan was made.
    pub(crate) created_at: DateTime<Utc>,
    /// What was found.
    pub(crate) counts: PlanCounts,
}

/// How the bottles of the formula JSON were classified.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PlanCounts {
    /// Bottle/tag pairs in the formula JSON (after `--tag`).
    pub(crate) bottles: u64,
    /// Of those, in this shard.
    pub(crate) in_shard: u64,
    /// With an upstream attestation: no backfill needed.
    pub(crate) upstream: u64,
    /// With a valid backfill attestation in the tap already.
    pub(crate) backfilled: u64,
    /// Needing a backfill: the plan's lines.
    pub(crate) needed: u64,
    /// Not classified: the lookup or the registry check failed.
    pub(crate) failed: u64,
}

/// One bottle that needs a backfill.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PlanEntry {
    /// Always `bottle`.
    pub(crate) kind: String,
    /// Formula name.
    pub(crate) formula: String,
    /// Package version.
    pub(crate) version: String,
    /// Rebuild number.
    pub(crate) rebuild: u32,
    /// Bottle tag.
    pub(crate) tag: String,
    /// Bottle file name.
    pub(crate) file_name: String,
    /// The formula JSON's URL for it.
    pub(crate) url: String,
    /// SHA-256 of the bottle, hex.
    pub(crate) sha256: String,
    /// The subject name: the file name (tap mode) or `<sha256 of the URL on the bottle
    /// root>--<file name>` (core-style).
    pub(crate) subject: String,
}

impl PlanEntry {
    /// The bottle as the policy sees it.
    pub(crate) fn bottle(&self) -> anyhow::Result<BottleRef> {
        Ok(BottleRef {
            digest: Sha256Hash::from_hex(&self.sha256)
                .map_err(|_| anyhow::anyhow!("`{}` is not a SHA-256", self.sha256))?,
            filename: self.file_name.parse::<BottleFilename>()?,
        })
    }
}

fn legacy_mode() -> Mode {
    Mode::CoreStyle
}

/// A plan read back.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) header: PlanHeader,
    pub(crate) entries: Vec<PlanEntry>,
}

/// Read a plan file, refusing anything malformed (a plan is never half-trusted).
pub(crate) fn read(path: &Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        bail!("the plan `{}` is empty", path.display());
    };
    let header: PlanHeader = serde_json::from_str(first)
        .ok()
        .filter(|h: &PlanHeader| h.kind == "plan")
        .with_context(|| {
            format!(
                "`{}` is not a plan: its first line is not a `\"kind\": \"plan\"` header",
                path.display()
            )
        })?;
    if header.version != 1 {
        bail!(
            "the plan `{}` has format version {}; this brew-backfill reads version 1",
            path.display(),
            header.version
        );
    }
    let mut entries = Vec::new();
    for (n, line) in lines {
        let entry: PlanEntry = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a plan line", path.display(), n + 1))?;
        if entry.kind != "bottle" {
            bail!(
                "{}:{}: unexpected kind `{}`",
                path.display(),
                n + 1,
                entry.kind
            );
        }
        entry
            .bottle()
            .with_context(|| format!("{}:{}", path.display(), n + 1))?;
        entries.push(entry);
    }
    Ok(Plan { header, entries })
}

/// The plan as JSON Lines text.
pub(crate) fn render(header: &PlanHeader, entries: &[PlanEntry]) -> anyhow::Result<String> {
    let mut out = serde_json::to_string(header)?;
    out.push('\n');
    for e in entries {
        out.push_str(&serde_json::to_string(e)?);
        out.push('\n');
    }
    Ok(out)
}
