//! The in-toto statements `brew-backfill` signs: many bottles as subjects, and a SLSA
//! provenance v1 predicate that says what the backfill did. Pure code, no I/O.
//!
//! A backfill attestation does not claim that the tap *built* the bottles. Its predicate
//! describes the backfill run itself (DESIGN.md §1, §4): the tap workflow that signed
//! ([`BackfillRun::builder_id`]), where the digests came from ([`DigestSource`]: the formula
//! JSON, whether each digest was confirmed against GHCR's `sh.brew.bottle.digest`, which
//! upstream repository was found to have no attestation) and the run (its URL and start time);
//! each batch's predicate also lists the bottles it vouches for among its resolved
//! dependencies (URL, file name, sha256: [`predicate_for_bottles`]).
//!
//! Each bottle is a subject with its sha256, named as the consumer that reads the backfill
//! matches it: in tap mode (the default) by its **file name**, as brew's verification of a
//! tap and `gh attestation verify --repo` read it; in core-style mode by its cache name,
//! `<sha256 of the bottle URL>--<file name>` ([`crate::bottle::BottleRef::cache_name`]), as
//! homebrew-core's backfill source reads trailofbits' 2024 attestations. The caller picks the
//! name ([`StatementSubject::name`]); nothing here assumes either.
//!
//! The statement bytes are deterministic for the same inputs (keys in a fixed order, subjects
//! in the caller's order), so a batch can be rebuilt and compared.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use sigstore_types::Sha256Hash;

use crate::statement::{IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1};

/// The `buildType` of a backfill predicate: what this provenance describes.
pub const BACKFILL_BUILD_TYPE: &str = "https://github.com/brew-verify/brew-verify/backfill/v1";

/// Where the attested digests came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSource {
    /// The formula JSON: a URL or a file name.
    pub formulae: String,
    /// SHA-256 of the formula JSON bytes that were read, when known.
    pub formulae_sha256: Option<Sha256Hash>,
    /// The upstream repository that was found to have no attestation for each subject.
    pub core_repository: String,
    /// Whether each digest was confirmed against the registry's `sh.brew.bottle.digest`.
    pub checked_registry: bool,
    /// The bottle root the subject names' URLs are formed on.
    pub bottle_root: String,
}

/// The run that signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRun {
    /// Who signed: the tap workflow (`https://github.com/<tap>/.github/workflows/<file>@<ref>`),
    /// or a description of a local run.
    pub builder_id: String,
    /// The run's URL (`https://github.com/<tap>/actions/runs/<id>/attempts/<n>`), if any.
    pub invocation_id: Option<String>,
    /// When the run started.
    pub started_on: Option<DateTime<Utc>>,
    /// The tool and its version (`brew-backfill 0.1.0`).
    pub tool: String,
    /// The shard of the plan this run covers (`2/8`), if sharded.
    pub shard: Option<String>,
}

/// A SLSA provenance v1 predicate describing one backfill run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillProvenance {
    /// Where the digests came from.
    pub source: DigestSource,
    /// The run.
    pub run: BackfillRun,
}

impl BackfillProvenance {
    /// The predicate as JSON (SLSA provenance v1: `buildDefinition` and `runDetails`).
    pub fn predicate(&self) -> Value {
        let source = &self.source;
        let mut external = Map::new();
        external.insert("formulae".into(), json!(source.formulae));
        external.insert("coreRepository".into(), json!(source.core_repository));
        external.insert("bottleRoot".into(), json!(source.bottle_root));
        external.insert(
            "registryDigestsChecked".into(),
            json!(source.checked_registry),
        );
        let mut dependency = Map::new();
        dependency.insert("uri".into(), json!(source.formulae));
        if let Some(d) = &source.formulae_sha256 {
            dependency.insert("digest".into(), json!({ "sha256": d.to_hex() }));
        }
        let mut internal = Map::new();
        internal.insert("tool".into(), json!(self.run.tool));
        if let Some(shard) = &self.run.shard {
            internal.insert("shard".into(), json!(shard));
        }
        let mut metadata = Map::new();
        if let Some(id) = &self.run.invocation_id {
            metadata.insert("invocationId".into(), json!(id));
        }
        if let Some(t) = &self.run.started_on {
            metadata.insert(
                "startedOn".into(),
                json!(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        }
        json!({
            "buildDefinition": {
                "buildType": BACKFILL_BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": [dependency],
            },
            "runDetails": {
                "builder": { "id": self.run.builder_id },
                "metadata": metadata,
            },
        })
    }
}

/// The predicate of one signed batch: `predicate` (the run's) with every bottle the batch
/// covers listed among the resolved dependencies (`uri` = the bottle URL from the formula
/// JSON, `digest.sha256`, `name` = the bottle file name), so that each subject's statement says
/// which existing artifact it vouches for.
pub fn predicate_for_bottles(predicate: &Value, bottles: &[(String, String, Sha256Hash)]) -> Value {
    let mut predicate = predicate.clone();
    if let Some(Value::Array(deps)) = predicate.pointer_mut("/buildDefinition/resolvedDependencies")
    {
        for (name, url, sha256) in bottles {
            deps.push(json!({ "name": name, "uri": url, "digest": { "sha256": sha256.to_hex() } }));
        }
    }
    predicate
}

/// One subject of a statement: a name and a SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSubject {
    /// The subject name (the bottle file name, or in core-style backfills its cache name).
    pub name: String,
    /// The bottle's SHA-256.
    pub sha256: Sha256Hash,
}

/// The in-toto v1 statement over `subjects` with an SLSA provenance v1 `predicate`, as the
/// exact bytes to sign (the DSSE payload).
pub fn statement_bytes(subjects: &[StatementSubject], predicate: &Value) -> Vec<u8> {
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|s| json!({ "name": s.name, "digest": { "sha256": s.sha256.to_hex() } }))
        .collect();
    let statement = json!({
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": subjects,
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": predicate,
    });
    // Serializing a `Value` cannot fail (no maps with non-string keys, no custom impls).
    serde_json::to_vec(&statement).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::Statement;

    fn provenance() -> BackfillProvenance {
        BackfillProvenance {
            source: DigestSource {
                formulae: "https://formulae.brew.sh/api/formula.json".into(),
                formulae_sha256: Some(Sha256Hash::new([7; 32])),
                core_repository: "Homebrew/homebrew-core".into(),
                checked_registry: true,
                bottle_root: "https://ghcr.io/v2/homebrew/core".into(),
            },
            run: BackfillRun {
                builder_id: "https://github.com/o/t/.github/workflows/backfill.yml@refs/heads/main"
                    .into(),
                invocation_id: Some("https://github.com/o/t/actions/runs/1/attempts/1".into()),
                started_on: DateTime::from_timestamp(1_700_000_000, 0),
                tool: "brew-backfill 0.1.0".into(),
                shard: Some("1/2".into()),
            },
        }
    }

    #[test]
    fn statement_reads_back_with_every_subject() {
        let subjects = vec![
            StatementSubject {
                name: "aa--x--1.sonoma.bottle.tar.gz".into(),
                sha256: Sha256Hash::new([1; 32]),
            },
            StatementSubject {
                name: "bb--y--2.sonoma.bottle.tar.gz".into(),
                sha256: Sha256Hash::new([2; 32]),
            },
        ];
        let bytes = statement_bytes(&subjects, &provenance().predicate());
        let parsed = Statement::from_payload(&bytes).unwrap();
        assert_eq!(parsed.predicate_type, SLSA_PROVENANCE_V1);
        assert_eq!(parsed.subjects.len(), 2);
        assert_eq!(parsed.subjects[1].name, subjects[1].name);
        assert_eq!(parsed.subjects[1].sha256, Some(subjects[1].sha256));
        assert_eq!(parsed.raw().unwrap()["_type"], IN_TOTO_STATEMENT_V1);
        assert_eq!(
            parsed.predicate["buildDefinition"]["buildType"],
            BACKFILL_BUILD_TYPE
        );
        assert_eq!(
            parsed.predicate["runDetails"]["metadata"]["startedOn"],
            "2023-11-14T22:13:20Z"
        );
        // Deterministic: the same inputs give the same bytes.
        assert_eq!(bytes, statement_bytes(&subjects, &provenance().predicate()));
    }

    #[test]
    fn optional_fields_are_left_out() {
        let mut p = provenance();
        p.source.formulae_sha256 = None;
        p.run.invocation_id = None;
        p.run.started_on = None;
        p.run.shard = None;
        let v = p.predicate();
        assert!(
            v["buildDefinition"]["resolvedDependencies"][0]
                .get("digest")
                .is_none()
        );
        assert_eq!(v["runDetails"]["metadata"], json!({}));
        assert!(
            v["buildDefinition"]["internalParameters"]
                .get("shard")
                .is_none()
        );
    }
}
