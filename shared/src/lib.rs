//! `bottle-attest`: everything `brew-verify` and `brew-backfill` share.
//!
//! The crate is layered so that a reader can tell from file names where each kind of work happens:
//!
//! - [`digest`], [`bottle`], [`platform`] and [`formula`]: pure value types (digests, bottle file
//!   names and tags, GHCR coordinates, the formula JSON model).
//! - [`attestations`]: turning bytes (a bundle, a JSONL file, an attestations API body, a sidecar)
//!   into Sigstore bundles. No I/O: callers hand it bytes.
//! - [`trust`] and [`crypto`]: the Sigstore trusted root and the cryptographic verification of one
//!   bundle. No I/O, no policy.
//! - [`statement`] and [`provenance`]: in-toto statements, read and written.
//! - [`policy`]: the Homebrew waterfall (core, then backfill before the cutoff), as data plus one
//!   evaluation. No I/O.
//! - The network, one client per service: [`ghcr`] (registry), [`github`] (attestations API),
//!   [`mirror`] (sidecars), [`formula_api`]; orchestrated per policy source by [`sources`].
//! - Files: [`hashing`] (streaming a bottle) and [`cache`] (the attestation cache).
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod attestations;
pub mod bottle;
pub mod cache;
pub mod crypto;
pub mod digest;
pub mod formula;
pub mod formula_api;
pub mod ghcr;
pub mod github;
pub mod hashing;
pub mod mirror;
pub mod platform;
pub mod policy;
pub mod provenance;
pub mod sources;
pub mod statement;
pub mod trust;

pub use attestations::{BundleCandidate, parse_attestations};
pub use bottle::{BottleFilename, BottleRef};
pub use crypto::{CertificateClaims, VerifiedBundle, verify_bundle, verify_bundle_exact};
pub use digest::Digest;
pub use policy::{Policy, Verdict, Waterfall};
pub use trust::TrustRoot;

/// Re-exported so that callers name the exact digest types the verifier uses.
pub use sigstore_types::{Sha256Hash, Sha512Hash};
