//! `bottle-attest-net`: everything brew-verify and brew-backfill do that touches the outside
//! world, on top of the pure core (`bottle-attest`).
//!
//! - [`http`]: the one HTTP client (host-bound credentials, redirects, streamed caps, one retry
//!   policy, typed errors). Every request of the crate goes through it.
//! - The services, one module each: [`ghcr`] (registry), [`github`] (attestations API),
//!   [`mirror`] (sidecars), [`formula_api`].
//! - [`checker`]: [`checker::BottleChecker`], the one pipeline from a bottle (or, in gh mode,
//!   a file) to a verdict, configured with its judge (the policy's waterfall or gh's
//!   criteria), with the one attestation lookup stage in [`sources`] and argument resolution
//!   in [`resolve`].
//! - [`store`]: the attestation cache, atomic writes into private directories, streaming hashes.
//! - [`env`]: every environment variable read, in one place.
//!
//! The core decides; this crate fetches and stores. It never prints.
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod checker;
pub mod env;
pub mod formula_api;
pub mod ghcr;
pub mod github;
pub mod http;
pub mod mirror;
pub mod resolve;
pub mod sources;
pub mod store;
pub mod trust;

/// An error and its causes on one line (`cannot write x: permission denied`), each cause added
/// only when the text so far does not already say it (errors that print their source's text
/// would otherwise repeat it).
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}
