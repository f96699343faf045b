//! Command-line definitions. Only flags live here; the subcommand modules turn them into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shard::Shard;
use crate::tap::Mode;

/// Plan, sign, upload and audit backfill attestations for Homebrew bottles that have no
/// upstream attestation, so that `brew-verify` can fall back to the tap's.
///
/// Exit status: 0 everything done (audit: every bottle verified), 1 some item failed (a
/// signature, an upload, an invalid attestation), 2 usage error, 3 audit: some bottle still
/// missing (none invalid), 4 could not check (a lookup or the input failed).
#[derive(Debug, Parser)]
#[command(name = "brew-backfill", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Make some output more quiet: no progress output (errors, warnings and results are
    /// always shown). `-q` as brew has it (`Library/Homebrew/cli/parser.rb`, global options).
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,

    /// Seconds between plain progress lines when stderr is not a terminal (CI logs).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30)]
    pub(crate) progress_interval: u64,
}

/// The packaging commands, parsed apart from [`Cli`] (`main` sends `brew-backfill
/// generate-completions …` / `generate-man …` here) so that no completion script, man page or
/// `help` lists them.
#[derive(Debug, Parser)]
#[command(name = "brew-backfill", disable_help_subcommand = true)]
pub(crate) enum Packaging {
    /// Print a shell completion script.
    GenerateCompletions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one per command to --out DIR.
    GenerateMan {
        /// Write `brew-backfill.1` and a page per subcommand here instead of printing one page.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

impl Packaging {
    /// The subcommand names that belong here, not to [`Cli`].
    pub(crate) const NAMES: [&'static str; 2] = ["generate-completions", "generate-man"];
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List every bottle that needs a backfill attestation (JSON Lines).
    Plan(PlanCmdArgs),
    /// Sign planned bottles in batches, keylessly, recording each bundle in the journal.
    Sign(SignArgs),
    /// Upload the journal's signed bundles to the tap's attestations API.
    Upload(UploadArgs),
    /// Check every planned bottle the way `brew-verify` would.
    Audit(AuditArgs),
    /// plan → sign → upload → audit for one shard.
    Run(RunArgs),
    /// Print the brew-verify policy file that verifies the tap's bottles (its CI source, then
    /// its backfill source with the cutoff).
    Policy(PolicyCmdArgs),
}

/// Flags of `policy`.
#[derive(Debug, Args)]
pub(crate) struct PolicyCmdArgs {
    /// The tap (`owner/homebrew-name`) whose bottles the policy verifies.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: String,
    /// How the backfill names its subjects.
    #[arg(long, value_enum, default_value_t = Mode::Tap)]
    pub(crate) mode: Mode,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// Flags of `plan`: those `run` shares, and the old spelling of `--plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanCmdArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,

    /// The old name of `--plan` (before `--out` meant an output directory in every command);
    /// still read, with a warning.
    #[arg(
        long = "out",
        value_name = "PLAN",
        hide = true,
        conflicts_with = "plan_file"
    )]
    pub(crate) legacy_out: Option<PathBuf>,
}

/// Where bottles come from and which ones are planned.
#[derive(Debug, Args, Clone)]
pub(crate) struct PlanArgs {
    /// Formula JSON (`formula.json`): a file, or an http(s) URL.
    #[arg(long, value_name = "FILE|URL")]
    pub(crate) formulae: String,

    /// Only bottles for this tag (repeatable; default every tag). `all` selects `:all` bottles.
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// The upstream repository whose attestations make a backfill unnecessary.
    #[arg(
        long,
        value_name = "OWNER/REPO",
        default_value = "Homebrew/homebrew-core"
    )]
    pub(crate) core_repo: String,

    /// The repository the backfill is signed from and uploaded to: the tap itself in tap mode
    /// (default: GITHUB_REPOSITORY); bottles it already covers are skipped.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: Option<String>,
    /// Tap mode: sign from the tap's own repository with file-name subjects (what brew's tap
    /// verification and `gh attestation verify --repo` read). Core-style: cache-name subjects
    /// as homebrew-core's backfill source in a repository of its own.
    #[arg(long, value_enum, default_value_t = Mode::Tap)]
    pub(crate) mode: Mode,

    /// Confirm every digest against the registry's `sh.brew.bottle.digest` first.
    #[arg(long)]
    pub(crate) check_ghcr: bool,

    /// Only shard I of N (1-based); a bottle's shard depends on its subject name alone.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,

    /// The plan file to write (JSON Lines: a header, then one line per bottle), as `sign` and
    /// `audit` read it with `--plan`; required by `plan` unless `--dry-run`; `run` defaults to
    /// `<--out DIR>/plan.jsonl`.
    #[arg(long = "plan", value_name = "PLAN")]
    pub(crate) plan_file: Option<PathBuf>,

    /// Print the plan and its counts; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) api: ApiArgs,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,

    /// Lookups in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(crate) jobs: usize,
}

/// The GitHub API.
#[derive(Debug, Args, Clone)]
pub(crate) struct ApiArgs {
    /// The GitHub REST API (token from GITHUB_TOKEN or GH_TOKEN).
    #[arg(long, value_name = "URL", default_value = bottle_attest_net::github::DEFAULT_API_URL)]
    pub(crate) api_url: String,
}

/// What a backfill attestation must satisfy: the tap's identity, the cutoff, the root.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PolicyArgs {
    /// A `trusted_root.json` instead of the embedded Sigstore public-good root.
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,

    /// A brew-verify policy file; its backfill source is the tap's (default: homebrew-core's
    /// policy with the tap as backfill source).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// The workflow file allowed to sign backfills (default: `backfill.yml` in tap mode, any
    /// workflow of the repository in core-style mode).
    #[arg(long, value_name = "FILE")]
    pub(crate) workflow: Option<String>,
    /// Tap mode: the tap's own workflows that attest the bottles they build (repeatable).
    #[arg(
        long = "ci-workflow",
        value_name = "FILE",
        default_values_t = ["tests.yml".to_owned(), "publish.yml".to_owned()]
    )]
    pub(crate) ci_workflows: Vec<String>,

    /// Backfill attestations logged after this time are refused (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) cutoff: Option<chrono::DateTime<chrono::Utc>>,

    /// The tap's repository is private: its attestations are signed by GitHub's Sigstore
    /// instance, which the policy's tap sources then accept (`instances = ["public-good",
    /// "github"]`) beside the public-good one (with `--policy`, the file's `instances` decide).
    #[arg(long)]
    pub(crate) private: bool,

    /// The bottle root subject names are formed on (must match the policy's `bottle_root`).
    #[arg(long, value_name = "URL", default_value = bottle_attest::bottle::DEFAULT_BOTTLE_ROOT)]
    pub(crate) bottle_root: String,
}

/// Keyless signing.
#[derive(Debug, Args, Clone)]
pub(crate) struct SigningArgs {
    /// An OIDC identity token (a JWT) in a file, re-read for every batch; default: the GitHub
    /// Actions ambient token (`permissions: id-token: write`).
    #[arg(long, value_name = "FILE")]
    pub(crate) identity_token: Option<PathBuf>,

    /// Fulcio.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://fulcio.sigstore.dev"
    )]
    pub(crate) fulcio_url: String,

    /// Rekor (v1 API).
    #[arg(long, value_name = "URL", default_value = "https://rekor.sigstore.dev")]
    pub(crate) rekor_url: String,

    /// An RFC 3161 timestamp authority.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://timestamp.sigstore.dev/api/v1/timestamp"
    )]
    pub(crate) tsa_url: String,

    /// Ask no timestamp authority (Rekor's integrated time is the only time).
    #[arg(long)]
    pub(crate) no_tsa: bool,
}

/// Flags of `sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The plan from `plan`.
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: PathBuf,

    /// The resumable journal (JSON Lines, created if absent).
    #[arg(long, value_name = "JOURNAL")]
    pub(crate) journal: PathBuf,

    /// The directory signed bundles are written into (`batch-NNNNN.sigstore.json`). `--out`
    /// names an output directory in every command (`run`, and brew-verify's
    /// `export-sidecars`); a plan file is always `--plan`.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,

    #[command(flatten)]
    pub(crate) batch: BatchArgs,

    /// Only shard I of N of the plan.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,

    /// The tap (`owner/repo`) whose identity the bundles must carry (default:
    /// GITHUB_REPOSITORY, else the identity token's repository).
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: Option<String>,

    /// Print what would be signed, with counts; touch nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) signing: SigningArgs,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// Batching.
#[derive(Debug, Args, Clone)]
pub(crate) struct BatchArgs {
    /// Subjects per signed statement (one Fulcio certificate and one Rekor entry each), at most
    /// 1024: the limit of `actions/attest` (`MAX_SUBJECT_COUNT`), which sigstore-go and gh
    /// enforce when they verify.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) batch_size: u32,

    /// Batches signed at once.
    #[arg(long = "sign-jobs", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) sign_jobs: u32,
}

/// Flags of `upload`.
#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    /// The journal `sign` wrote.
    #[arg(long, value_name = "JOURNAL")]
    pub(crate) journal: PathBuf,

    /// The tap (`owner/repo`) to upload to.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: String,

    /// Print what would be uploaded; touch nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Longest rate-limit wait sat out before giving up, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub(crate) max_rate_limit_wait: u64,

    #[command(flatten)]
    pub(crate) api: ApiArgs,
}

/// Flags of `audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Plans from `plan` (repeatable).
    #[arg(long = "plan", value_name = "PLAN", required = true)]
    pub(crate) plans: Vec<PathBuf>,

    /// The tap (`owner/repo`): the policy's backfill source.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) repo: String,

    /// The upstream repository (the policy's first source).
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) core_repo: Option<String>,

    /// One JSON object per bottle that is not verified, on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    /// Lookups in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(crate) jobs: usize,

    #[command(flatten)]
    pub(crate) api: ApiArgs,

    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) plan: PlanArgs,

    /// The resumable journal.
    #[arg(long, value_name = "JOURNAL")]
    pub(crate) journal: PathBuf,

    /// The directory signed bundles (and, without `--plan`, `plan.jsonl`) are written into,
    /// as `sign --out`. `--bundles` is its old name.
    #[arg(long = "out", value_name = "DIR", alias = "bundles")]
    pub(crate) out: PathBuf,

    #[command(flatten)]
    pub(crate) batch: BatchArgs,

    #[command(flatten)]
    pub(crate) signing: SigningArgs,

    /// Skip the final audit.
    #[arg(long)]
    pub(crate) no_audit: bool,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::Cli;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own consistency checks (no two flags share a short name, …).
        Cli::command().debug_assert();
    }

    #[test]
    fn quiet_has_brews_short_flag_before_or_after_the_command() {
        for args in [
            ["brew-backfill", "-q", "policy", "--help"],
            ["brew-backfill", "policy", "-q", "--help"],
        ] {
            let parsed = Cli::try_parse_from(args);
            // --help ends parsing with its own "error"; anything else means -q was refused.
            let err = parsed.expect_err("--help stops the parse");
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{err}");
        }
        // A flag it does not know is refused before help, so the check above can fail.
        let err = Cli::try_parse_from(["brew-backfill", "-Z", "policy", "--help"])
            .expect_err("unknown flag");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
    }

    #[test]
    fn batch_size_is_at_most_the_subject_limit_of_actions_attest() {
        // Issue 11: a statement carries at most 1,024 subjects; 1024 parses, 1025 and 0 are
        // refused by the parser, naming the range, for both commands that batch.
        let parse = |command: &str, size: &str| {
            let mut args = vec!["brew-backfill", command, "--journal", "j", "--out", "o"];
            if command == "sign" {
                args.extend(["--plan", "p"]);
            } else {
                args.extend(["--formulae", "f.json"]);
            }
            args.extend(["--batch-size", size]);
            Cli::try_parse_from(args)
        };
        for command in ["sign", "run"] {
            let cli = parse(command, "1024").unwrap_or_else(|e| panic!("{command}: {e}"));
            let batch = match cli.command {
                super::Command::Sign(a) => a.batch,
                super::Command::Run(a) => a.batch,
                _ => unreachable!(),
            };
            assert_eq!(batch.batch_size, 1024);
            for size in ["1025", "0"] {
                let err = parse(command, size).expect_err(size);
                assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{err}");
                let text = err.to_string();
                assert!(text.contains("--batch-size"), "{text}");
                assert!(text.contains("1..=1024"), "{text}");
            }
        }
    }
}
