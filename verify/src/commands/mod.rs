//! One module per command; shared set-up (trust root, input files) lives here.

pub(crate) mod bundle;
pub(crate) mod check;
pub(crate) mod context;
pub(crate) mod doctor;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod install_shim;
pub(crate) mod installed;
pub(crate) mod targets;

use std::path::Path;

use bottle_attest::TrustRoot;

/// The embedded public-good root, or the one named by `--trusted-root`.
pub(crate) fn load_trust_root(path: Option<&Path>) -> anyhow::Result<TrustRoot> {
    Ok(bottle_attest_net::trust::load(path)?.root)
}

/// The async runtime for network work: two workers are plenty for I/O-bound lookups.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
