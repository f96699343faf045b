//! Command-line definitions. Only flags live here; `commands/` turns them into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Verify that Homebrew bottles were built by Homebrew's CI, from Sigstore attestations.
///
/// With bottle files (or `sha256:<hex>` with `--name`) and `--bundle` files, everything is
/// checked offline against the embedded Sigstore root under the homebrew-core policy: the
/// homebrew-core workflow identity first; only if that attestation is missing, a backfill
/// attestation logged before 2024-03-14.
///
/// Exit status: 0 all verified, 1 some attestation invalid, 3 some attestation missing (none
/// invalid), 4 could not check, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "brew-verify", version, args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) check: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify one artifact against Sigstore bundles with an exact identity and issuer.
    ///
    /// Exit status: 0 verified, 1 not verified (including unreadable bundles), 2 usage error.
    Bundle(BundleArgs),
}

/// Flags of the bottle check (the default command).
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Bottle files (`name--version.tag.bottle[.N].tar.gz`) or `sha256:<hex>` digests.
    #[arg(value_name = "BOTTLE")]
    pub(crate) bottles: Vec<String>,

    /// Attestations to verify against: a bundle, JSON Lines of bundles, a GitHub attestations
    /// API response body, or a JSON array of bundles (a mirror sidecar). Repeatable.
    #[arg(long = "bundle", value_name = "FILE")]
    pub(crate) bundles: Vec<PathBuf>,

    /// The bottle file name, for a `sha256:<hex>` BOTTLE.
    #[arg(long, value_name = "FILENAME")]
    pub(crate) name: Option<String>,

    /// A policy file (TOML or JSON) instead of the built-in homebrew-core policy.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// A `trusted_root.json` (or client trust config) instead of the embedded Sigstore
    /// public-good root.
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,

    /// Never use the network. Today every check is offline; the flag is accepted so that
    /// scripts can state the requirement.
    #[arg(long)]
    pub(crate) offline: bool,

    /// One JSON object per bottle on stdout (schema `brew-verify.result/v1`, see README).
    #[arg(long)]
    pub(crate) json: bool,

    /// Say what a pass proves and what it does not.
    #[arg(long)]
    pub(crate) explain: bool,
}

/// Flags of `brew-verify bundle`.
#[derive(Debug, Args)]
pub(crate) struct BundleArgs {
    /// A bundle, JSON Lines of bundles, or a GitHub attestations API response body.
    #[arg(long = "bundle", value_name = "FILE", required = true)]
    pub(crate) bundle: PathBuf,

    /// The exact certificate identity (SAN) to require.
    #[arg(long, value_name = "ID", required = true)]
    pub(crate) cert_identity: String,

    /// The exact OIDC issuer to require.
    #[arg(long, value_name = "URL", required = true)]
    pub(crate) cert_oidc_issuer: String,

    /// A `trusted_root.json` (or client trust config) instead of the embedded root.
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,

    /// A JSON object on stdout instead of text.
    #[arg(long)]
    pub(crate) json: bool,

    /// The artifact: a file, `sha256:<hex>` or `sha512:<hex>`.
    #[arg(value_name = "ARTIFACT")]
    pub(crate) artifact: String,
}
