//! Workspace-level integration tests. One binary; each module is one area.

mod attacks;
mod backfill;
mod explain_failures;
mod gh_compat;
mod ghcr;
mod github_api;
mod github_instance;
mod json_output;
mod kit_smoke;
mod online;
mod readme;
mod sigstore_python;
mod stale_root;
mod trust_roots;
mod tuf_rotation;
mod user;
mod util;
mod verbosity;
mod waterfall;
mod workflows;
