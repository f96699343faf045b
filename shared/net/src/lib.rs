//! `bottle-attest-net`: everything brew-verify and brew-backfill do that touches the outside
//! world, on top of the pure core (`bottle-attest`).
//!
//! - The network, one client per service: [`ghcr`] (registry), [`github`] (attestations API),
//!   [`mirror`] (sidecars), [`formula_api`]; orchestrated per policy source by [`sources`].
//! - Files: [`store`] (the attestation cache, atomic writes, streaming hashes of bottle files).
//!
//! The core decides; this crate fetches and stores. It never prints.
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod formula_api;
pub mod ghcr;
pub mod github;
pub mod http;
pub mod mirror;
pub mod sources;
pub mod store;
