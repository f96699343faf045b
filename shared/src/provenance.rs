//! (in progress) SLSA provenance predicates for backfill attestations.
