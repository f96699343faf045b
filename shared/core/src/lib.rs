//! `bottle-attest`: the pure verification core of brew-verify and brew-backfill.
//!
//! Everything here is synchronous and free of I/O: no sockets, no files, no environment, no
//! async runtime (a CI step checks the dependency tree, and clippy's `disallowed_methods`
//! forbids `std::fs`, `std::env` and `std::net`). Callers hand it bytes, a trusted root and the
//! time; it hands back verdicts. That is what makes it possible to fuzz, benchmark and audit it
//! alone. The network, the cache and the pipeline that ties them together live in
//! `bottle-attest-net`.
//!
//! - [`digest`], [`bottle`], [`platform`] and [`formula`]: value types (digests, bottle file
//!   names, tags and URLs, the formula JSON model).
//! - [`bundle`]: turning bytes (a bundle, JSON Lines, an attestations API body, a sidecar) into
//!   Sigstore bundles.
//! - [`trust`] and [`verify`]: the trusted root as a value, and the cryptographic verification
//!   of one bundle (no policy).
//! - [`statement`] and [`provenance`]: in-toto statements, read and written.
//! - [`policy`]: the Homebrew waterfall (core, then backfill before the cutoff), as data plus one
//!   evaluation; and [`policy::gh`], gh's criteria, the judge of gh-compatible mode.
//! - [`registry`]: what an OCI image index and manifest must say about a bottle (GHCR).
//! - [`journal`]: the record format of brew-backfill's journal.
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod bottle;
pub mod bundle;
pub mod digest;
pub mod formula;
pub mod journal;
pub mod platform;
pub mod policy;
pub mod provenance;
pub mod registry;
pub mod signed_api;
pub mod statement;
pub mod trust;
pub mod verify;

pub use bottle::{BottleFilename, BottleRef};
pub use bundle::{
    ApiEntry, BulkPage, BundleCandidate, parse_api_page, parse_attestations, parse_bulk_page,
};
pub use digest::Digest;
pub use policy::{Policy, Verdict, Waterfall};
pub use trust::TrustRoot;
pub use verify::{CertificateClaims, VerifiedBundle, verify_bundle, verify_bundle_exact};

/// Re-exported so that callers name the exact digest types the verifier uses.
pub use sigstore_types::{Sha256Hash, Sha512Hash};
