//! The `gh attestation …` command line we answer, with gh's flag names, short forms and
//! defaults (cli/cli `pkg/cmd/attestation/{verify,download}`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The GitHub Actions OIDC issuer, gh's default `--cert-oidc-issuer`.
pub(crate) const GITHUB_OIDC_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// gh's default `--predicate-type`.
pub(crate) const SLSA_PREDICATE_V1: &str = "https://slsa.dev/provenance/v1";

/// `gh`, as far as brew-verify answers it.
#[derive(Debug, Parser)]
#[command(
    name = "gh",
    about = "brew-verify's drop-in for `gh attestation verify` and `gh attestation download`; \
             every other gh command runs the real gh found later on PATH",
    disable_version_flag = true
)]
pub(crate) struct GhCli {
    #[command(subcommand)]
    pub(crate) command: GhCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GhCommand {
    /// Work with artifact attestations.
    Attestation {
        #[command(subcommand)]
        command: AttestationCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttestationCommand {
    /// Verify an artifact's integrity using attestations.
    Verify(Box<VerifyArgs>),
    /// Download an artifact's attestations for offline use.
    Download(DownloadArgs),
}

/// Where attestations are looked up: exactly one of `--repo` and `--owner`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Scope {
    /// Repository name in the format <owner>/<repo>.
    #[arg(short = 'R', long, value_name = "OWNER/REPO")]
    pub(crate) repo: Option<String>,

    /// GitHub organization to scope attestation lookup by.
    #[arg(short = 'o', long, value_name = "OWNER")]
    pub(crate) owner: Option<String>,
}

/// Flags of `gh attestation verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The artifact: a file path (`oci://` images are not supported).
    #[arg(value_name = "FILE")]
    pub(crate) artifact: String,

    #[command(flatten)]
    pub(crate) scope: Scope,

    /// Path to a bundle on disk: a single bundle in a JSON file or a JSON lines file with
    /// several bundles.
    #[arg(short = 'b', long, value_name = "FILE")]
    pub(crate) bundle: Option<PathBuf>,

    /// Not supported: attestations come from the GitHub API or `--bundle`.
    #[arg(long, hide = true)]
    pub(crate) bundle_from_oci: bool,

    /// The algorithm used to compute a digest of the artifact.
    #[arg(short = 'd', long, value_name = "ALG", default_value = "sha256", value_parser = ["sha256", "sha512"])]
    pub(crate) digest_alg: String,

    /// Filter attestations by provided predicate type.
    #[arg(long, value_name = "TYPE", default_value = SLSA_PREDICATE_V1)]
    pub(crate) predicate_type: String,

    /// Refuse attestations signed with the Sigstore public-good instance.
    #[arg(long)]
    pub(crate) no_public_good: bool,

    /// Path to a trusted_root.json file (or a client trust config); likely for offline
    /// verification.
    #[arg(long, value_name = "FILE")]
    pub(crate) custom_trusted_root: Option<PathBuf>,

    /// Maximum number of attestations to fetch.
    #[arg(short = 'L', long, value_name = "N", default_value_t = 30)]
    pub(crate) limit: u32,

    /// Output format: `json` prints the verification results as a JSON array on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub(crate) format: Option<String>,

    /// Not supported (gh filters JSON output with jq).
    #[arg(short = 'q', long, value_name = "EXPRESSION", hide = true)]
    pub(crate) jq: Option<String>,

    /// Not supported (gh formats JSON output with a Go template).
    #[arg(short = 't', long, value_name = "STRING", hide = true)]
    pub(crate) template: Option<String>,

    /// Fail verification for attestations generated on self-hosted runners.
    #[arg(long)]
    pub(crate) deny_self_hosted_runners: bool,

    /// Enforce that the certificate's subject alternative name matches the provided value
    /// exactly.
    #[arg(long, value_name = "URI", group = "signer")]
    pub(crate) cert_identity: Option<String>,

    /// Enforce that the certificate's subject alternative name matches the provided regex.
    #[arg(short = 'i', long, value_name = "REGEX", group = "signer")]
    pub(crate) cert_identity_regex: Option<String>,

    /// Repository of reusable workflow that signed attestation in the format <owner>/<repo>.
    #[arg(long, value_name = "OWNER/REPO", group = "signer")]
    pub(crate) signer_repo: Option<String>,

    /// Workflow that signed attestation in the format [host/]<owner>/<repo>/<path>/<to>/<workflow>.
    #[arg(long, value_name = "WORKFLOW", group = "signer")]
    pub(crate) signer_workflow: Option<String>,

    /// Issuer of the OIDC token.
    #[arg(long, value_name = "URL", default_value = GITHUB_OIDC_ISSUER)]
    pub(crate) cert_oidc_issuer: String,

    /// Enforce that the git ref associated with the source repository matches the provided
    /// value (the certificate's source repository ref, e.g. `refs/heads/main`).
    ///
    /// gh ≥ 2.68.0 (`gh attestation verify --help`: "Enforce that the git ref associated with
    /// the source repository matches the provided value"; the snapshot of cli/cli at hand,
    /// 44ee177 of October 2024, predates the flag, so the text is the one gh's help prints,
    /// as carapace-bin's gh completion copies it). Not in the signer group: it narrows
    /// whichever signer is asked for.
    #[arg(long, value_name = "REF")]
    pub(crate) source_ref: Option<String>,

    /// Enforce that the digest associated with the source repository matches the provided
    /// value (the certificate's source repository digest: the commit).
    ///
    /// gh ≥ 2.68.0, flag text "Enforce that the digest associated with the source repository
    /// matches the provided value".
    #[arg(long, value_name = "DIGEST")]
    pub(crate) source_digest: Option<String>,

    /// Configure host to use (default: GH_HOST, else github.com).
    #[arg(long, value_name = "HOST")]
    pub(crate) hostname: Option<String>,
}

/// Flags of `gh attestation download`.
#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// The artifact: a file path.
    #[arg(value_name = "FILE")]
    pub(crate) artifact: String,

    #[command(flatten)]
    pub(crate) scope: Scope,

    /// The algorithm used to compute a digest of the artifact.
    #[arg(short = 'd', long, value_name = "ALG", default_value = "sha256", value_parser = ["sha256", "sha512"])]
    pub(crate) digest_alg: String,

    /// Filter attestations by provided predicate type.
    #[arg(long, value_name = "TYPE")]
    pub(crate) predicate_type: Option<String>,

    /// Maximum number of attestations to fetch.
    #[arg(short = 'L', long, value_name = "N", default_value_t = 30)]
    pub(crate) limit: u32,

    /// Configure host to use (default: GH_HOST, else github.com).
    #[arg(long, value_name = "HOST")]
    pub(crate) hostname: Option<String>,
}
