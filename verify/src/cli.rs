//! Command-line definitions. Only flags live here; `commands/` turns them into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Verify that Homebrew bottles were built by Homebrew's CI, from Sigstore attestations.
///
/// Formula names are resolved through the formula API to this machine's bottle, checked
/// against GHCR, and their attestations looked up on GitHub (no login needed) and cached. With
/// bottle files (or `sha256:<hex>` with `--name`) and `--bundle` files, everything is checked
/// offline. The embedded Sigstore root and the homebrew-core policy apply: the homebrew-core
/// workflow identity first; only if that attestation is missing, a backfill attestation logged
/// before 2024-03-14.
///
/// Exit status: 0 all verified, 1 some attestation invalid, 3 some attestation missing (none
/// invalid), 4 could not check, 2 usage error.
#[derive(Debug, Parser)]
#[command(
    name = "brew-verify",
    version,
    long_version = long_version(),
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) check: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify one artifact against Sigstore bundles for the signer you name: certificate
    /// identity and OIDC issuer, each exact or a pattern (cosign's and gh's flags).
    ///
    /// Exit status: 0 verified, 1 not verified (including unreadable bundles), 2 usage error.
    Bundle(BundleArgs),
    /// Write the attestation sidecars a bottle mirror would serve (`<bottle file name>.sigs`,
    /// a JSON array of bundles) for formulae whose bottles verify.
    ExportSidecars(ExportArgs),
    /// gh-compatible mode: `brew-verify gh attestation verify FILE --repo OWNER/REPO [--format
    /// json] …` answers as `gh` would (what brew runs to verify bottles); any other gh command
    /// runs the real gh found on PATH. The same happens when brew-verify is run through a link
    /// named `gh` (see `install-gh-shim`).
    #[command(disable_help_flag = true)]
    Gh {
        /// The gh command line, e.g. `attestation verify FILE --repo Homebrew/homebrew-core`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
        args: Vec<std::ffi::OsString>,
    },
    /// Link `gh` to brew-verify in DIR and print the `PATH` line that puts DIR first, so that
    /// brew's attestation checks (`HOMEBREW_VERIFY_ATTESTATIONS=1`, `brew verify`) come here.
    /// Undo: delete DIR/gh (or the `PATH` line).
    InstallGhShim(InstallShimArgs),
    /// Show which `gh` brew would run and whether it is brew-verify, the credentials brew
    /// would see, and the trusted root in use; warn about a dangling or shadowed `gh` shim.
    /// Exit status 0 when brew would run brew-verify.
    Doctor(DoctorArgs),
    /// Check the bottles of installed formulae (what `brew provenance` runs, through the
    /// `brew-provenance` link). Without FORMULA: every keg in the Cellar poured from a bottle,
    /// using the bottle file still in Homebrew's download cache when there is one.
    Provenance(ProvenanceArgs),
    /// The Sigstore trusted roots: which are in use and where from (`show`), or fetch them
    /// through TUF now (`refresh`; exit 4 when a repository could not be refreshed, the last
    /// good root staying in use).
    Trust {
        #[command(subcommand)]
        action: TrustAction,
    },
}

/// `brew-verify trust …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TrustAction {
    /// Which roots are in use, where from, and what each trusts for which dates.
    Show(TrustArgs),
    /// Refresh the roots through TUF now.
    Refresh(TrustArgs),
}

/// Flags of `brew-verify trust show|refresh`.
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// A JSON object on stdout instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Show what this root file gives instead (it replaces every other root).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,
    /// Where the TUF metadata is cached (in `tuf/`) [default: `$HOMEBREW_CACHE/brew-verify`].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Never open a socket: the cached or embedded roots.
    #[arg(long)]
    pub(crate) offline: bool,
}

/// The packaging commands, parsed apart from [`Cli`] (`main` sends `brew-verify
/// generate-completions …` / `generate-man …` here) so that no completion script, man page or
/// `help` lists them: `tap/Formula/brew-verify.rb` runs them at install time; users never do.
#[derive(Debug, Parser)]
#[command(name = "brew-verify", disable_help_subcommand = true)]
pub(crate) enum Packaging {
    /// Print a shell completion script.
    GenerateCompletions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one per command to --out DIR.
    GenerateMan(GenerateManArgs),
}

impl Packaging {
    /// The subcommand names that belong here, not to [`Cli`].
    pub(crate) const NAMES: [&'static str; 2] = ["generate-completions", "generate-man"];
}

/// Flags of `brew-verify generate-man`.
#[derive(Debug, Args)]
pub(crate) struct GenerateManArgs {
    /// Write `brew-verify.1` and a page per subcommand here instead of printing one page.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Flags of `brew-verify provenance` / `brew provenance`.
#[derive(Debug, Args)]
pub(crate) struct ProvenanceArgs {
    /// Formulae to check instead of every installed one.
    #[arg(value_name = "FORMULA")]
    pub(crate) formulae: Vec<String>,

    /// Also say what was skipped and why, and what each pass proves.
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// Say which bottle file (or API entry) each check used.
    #[arg(short, long)]
    pub(crate) debug: bool,

    /// Print only bottles that did not verify.
    #[arg(short, long, conflicts_with_all = ["verbose", "json"])]
    pub(crate) quiet: bool,

    /// One JSON object per bottle on stdout (schema `brew-verify.result/v1`).
    #[arg(long)]
    pub(crate) json: bool,

    /// Say what a pass proves and what it does not.
    #[arg(long)]
    pub(crate) explain: bool,

    /// How many bottles to check at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,

    #[command(flatten)]
    pub(crate) lookup: LookupArgs,
}

/// brew's global switches, on every command but gh mode (whose flags are gh's).
///
/// brew defines them once for every command (Homebrew/brew `Library/Homebrew/cli/parser.rb`,
/// `Parser.global_options`): `["-d", "--debug", "Display any debugging information."]`,
/// `["-q", "--quiet", "Make some output more quiet."]`, `["-v", "--verbose", "Make some output
/// more verbose."]`. As there, each command decides what "more" means (its `--help` says);
/// results and errors are never hidden, and the exit status never changes. `-q` and `-v`
/// together are refused, as `provenance` always has.
#[derive(Debug, Clone, Copy, Default, Args)]
pub(crate) struct Verbosity {
    /// Make some output more verbose.
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// Display any debugging information (`debug:` lines on stderr).
    #[arg(short, long)]
    pub(crate) debug: bool,

    /// Make some output more quiet (errors and warnings are always shown).
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

impl Verbosity {
    /// A `debug: …` line on stderr, with `--debug` only.
    pub(crate) fn debug(&self, text: impl FnOnce() -> String) {
        if self.debug {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr().lock(), "debug: {}", text());
        }
    }
}

/// Flags of `brew-verify doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    // `-v`: every `gh` on PATH, in order; `-d`: the directories searched; `-q`: only the
    // warnings.
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
}

/// Flags of `brew-verify install-gh-shim`.
#[derive(Debug, Args)]
pub(crate) struct InstallShimArgs {
    /// Where to put the `gh` link [default: `$XDG_DATA_HOME/brew-verify/bin`, else
    /// `~/.local/share/brew-verify/bin`].
    #[arg(value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,

    /// Replace an existing DIR/gh that is not a link to brew-verify.
    #[arg(long)]
    pub(crate) force: bool,

    // `-v`: also where the link points; `-d`: the paths considered; `-q`: only the `PATH`
    // line (on stdout).
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,
}

/// Flags of the bottle check (the default command).
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Formula names, bottle files (`name--version.tag.bottle[.N].tar.gz`) or `sha256:<hex>`
    /// digests (with `--name`).
    #[arg(value_name = "BOTTLE")]
    pub(crate) bottles: Vec<String>,

    /// Attestations to verify against, instead of looking them up: a bundle, JSON Lines of
    /// bundles, a GitHub attestations API response body, or a JSON array of bundles (a mirror
    /// sidecar). Repeatable. Implies no network.
    #[arg(long = "bundle", value_name = "FILE")]
    pub(crate) bundles: Vec<PathBuf>,

    /// The bottle file name, for a `sha256:<hex>` BOTTLE.
    #[arg(long, value_name = "FILENAME")]
    pub(crate) name: Option<String>,

    /// Download each formula's bottle into the Homebrew cache (streaming, digest-checked,
    /// renamed into place only when it matches).
    #[arg(long)]
    pub(crate) download: bool,

    /// How many bottles to check at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: u16,

    /// One JSON object per bottle on stdout (schema `brew-verify.result/v1`, see README).
    #[arg(long)]
    pub(crate) json: bool,

    /// Say what a pass proves and what it does not.
    #[arg(long)]
    pub(crate) explain: bool,

    // `-v`: as `--explain`, for every bottle; `-d`: what each input resolved to and where it
    // was looked up; `-q`: nothing for verified bottles (no summary, progress or retry
    // notices; with `--json` every object is still written).
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,

    #[command(flatten)]
    pub(crate) lookup: LookupArgs,
}

/// Where bottles and attestations are looked up; shared by the check and `export-sidecars`.
#[derive(Debug, Args)]
pub(crate) struct LookupArgs {
    /// A policy file (TOML or JSON) instead of the built-in homebrew-core policy.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// A `trusted_root.json` (or client trust config) instead of the embedded Sigstore
    /// public-good root.
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,

    /// Never open a socket: attestations come from the cache, `--bundle` files or
    /// `--sidecar-dir`; formulae from `--formula-json`; the trusted roots from the TUF cache
    /// or the embedded ones.
    #[arg(long)]
    pub(crate) offline: bool,

    /// Refresh the trusted roots through TUF now, not only when the cached ones are a day old.
    #[arg(long, conflicts_with_all = ["offline", "trusted_root"])]
    pub(crate) refresh_trust: bool,

    /// Bottle tags to check for formula names (repeatable; default: this machine's).
    #[arg(long = "bottle-tag", value_name = "TAG")]
    pub(crate) bottle_tags: Vec<String>,

    /// Check every tag a formula has a bottle for.
    #[arg(long, conflicts_with = "bottle_tags")]
    pub(crate) all_tags: bool,

    /// Also check the formulae's runtime dependencies, transitively.
    #[arg(long)]
    pub(crate) deps: bool,

    /// The formula JSON API.
    #[arg(long, value_name = "URL", env = "HOMEBREW_API_DOMAIN", default_value = bottle_attest_net::formula_api::DEFAULT_FORMULA_API)]
    pub(crate) formula_api: String,
    /// The public key (PEM) the formula API's signed index must verify under, instead of
    /// Homebrew's `homebrew-1` (a private API mirror that re-signs, tests).
    #[arg(long, value_name = "PEM", env = "HOMEBREW_BREW_VERIFY_FORMULA_API_KEY")]
    pub(crate) formula_api_key: Option<PathBuf>,

    /// Formula JSON from a file (`formula.json`, or one formula's JSON) instead of the API.
    #[arg(long, value_name = "FILE")]
    pub(crate) formula_json: Option<PathBuf>,

    /// The GitHub REST API.
    #[arg(long, value_name = "URL", default_value = bottle_attest_net::github::DEFAULT_API_URL)]
    pub(crate) api_url: String,

    /// Where attestations (and `--download`ed bottles) are cached [default:
    /// `$HOMEBREW_CACHE/brew-verify`].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Neither read nor write the attestation cache.
    #[arg(long, conflicts_with = "offline")]
    pub(crate) no_cache: bool,

    /// Where bottles are downloaded from, when not the formula's own root (a mirror).
    #[arg(long, value_name = "URL", env = "HOMEBREW_BOTTLE_DOMAIN")]
    pub(crate) bottle_domain: Option<String>,

    /// Where attestations are looked up: the GitHub attestations API, or `<bottle url>.sigs`
    /// sidecars on the bottle mirror.
    #[arg(long, value_enum, default_value_t = AttestationsFrom::Api)]
    pub(crate) attestations_from: AttestationsFrom,

    /// Offline: read sidecars `<bottle file name>.sigs` from this directory (as written by
    /// `export-sidecars`).
    #[arg(long, value_name = "DIR")]
    pub(crate) sidecar_dir: Option<PathBuf>,

    /// Give up on one bottle's lookups after this many seconds [default: 20, or
    /// HOMEBREW_BREW_VERIFY_TIMEOUT].
    #[arg(long, value_name = "SECS", value_parser = crate::commands::context::parse_timeout)]
    pub(crate) timeout: Option<std::time::Duration>,

    /// Also send the registry credentials (HOMEBREW_DOCKER_REGISTRY_TOKEN /
    /// HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN) to this registry host (`host[:port]`,
    /// repeatable); by default they go to ghcr.io only.
    #[arg(long = "registry-host", value_name = "HOST")]
    pub(crate) registry_hosts: Vec<String>,
}

/// Where attestations are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AttestationsFrom {
    /// The GitHub attestations API (falling back to mirror sidecars when it is unreachable and
    /// the bottle domain is a mirror).
    Api,
    /// Sidecars on the bottle mirror only.
    Mirror,
}

/// Flags of `brew-verify export-sidecars`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Write `<bottle file name>.sigs` files here.
    #[arg(long, value_name = "DIR", required = true)]
    pub(crate) out: PathBuf,

    /// Formula names.
    #[arg(value_name = "FORMULA", required = true)]
    pub(crate) formulae: Vec<String>,

    // `-v`: which source verified each bottle and how many bundles its sidecar holds; `-d`:
    // what each formula resolved to; `-q`: only errors.
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,

    #[command(flatten)]
    pub(crate) lookup: LookupArgs,
}

/// Flags of `brew-verify bundle`.
///
/// The identity flags are cosign's and gh's: one of `--cert-identity` /
/// `--cert-identity-regexp` and one of `--cert-oidc-issuer` / `--cert-oidc-issuer-regexp` is
/// required (cosign: "Either --certificate-identity or --certificate-identity-regexp must be set
/// for keyless flows", sigstore/cosign `cmd/cosign/cli/options/certificate.go`,
/// `CertVerifyOptions.AddFlags` and `Identities`), and cosign's long names are aliases. Exact and
/// pattern are mutually exclusive, as gh makes them (`MarkFlagsMutuallyExclusive("cert-identity",
/// "cert-identity-regex", …)`, cli/cli `pkg/cmd/attestation/verify/verify.go`); cosign would
/// silently prefer the pattern (`CheckCertificatePolicy`, `pkg/cosign/verify.go`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("identity").required(true).multiple(false)))]
#[command(group(clap::ArgGroup::new("issuer").required(true).multiple(false)))]
pub(crate) struct BundleArgs {
    /// A bundle, JSON Lines of bundles, or a GitHub attestations API response body.
    #[arg(long = "bundle", value_name = "FILE", required = true)]
    pub(crate) bundle: PathBuf,

    /// The exact certificate identity (SAN) to require.
    #[arg(
        long,
        value_name = "ID",
        group = "identity",
        visible_alias = "certificate-identity"
    )]
    pub(crate) cert_identity: Option<String>,

    /// A regular expression the certificate identity (SAN) must match, instead of
    /// `--cert-identity`. Unanchored, as in cosign and gh: anchor it with `^…$` or it
    /// matches anywhere in the SAN.
    #[arg(
        long,
        value_name = "REGEX",
        group = "identity",
        value_parser = parse_regex,
        visible_aliases = ["certificate-identity-regexp", "cert-identity-regex"]
    )]
    pub(crate) cert_identity_regexp: Option<regex::Regex>,

    /// The exact OIDC issuer to require.
    #[arg(
        long,
        value_name = "URL",
        group = "issuer",
        visible_alias = "certificate-oidc-issuer"
    )]
    pub(crate) cert_oidc_issuer: Option<String>,

    /// A regular expression the OIDC issuer must match, instead of `--cert-oidc-issuer`
    /// (unanchored).
    #[arg(
        long,
        value_name = "REGEX",
        group = "issuer",
        value_parser = parse_regex,
        visible_alias = "certificate-oidc-issuer-regexp"
    )]
    pub(crate) cert_oidc_issuer_regexp: Option<regex::Regex>,

    /// A `trusted_root.json` (or client trust config) instead of the TUF-refreshed roots.
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,

    /// Refresh the trusted roots through TUF now, not only when the cached ones are a day old.
    #[arg(long, conflicts_with_all = ["offline", "trusted_root"])]
    pub(crate) refresh_trust: bool,

    /// Never open a socket: the trusted roots come from the TUF cache or are the embedded ones.
    #[arg(long)]
    pub(crate) offline: bool,

    /// A JSON object on stdout instead of text (schema `brew-verify.bundle/v2`).
    #[arg(long)]
    pub(crate) json: bool,

    /// Say what a pass proves and what it does not, or what was checked when nothing verified
    /// (with `--json`: an `explanation` field).
    #[arg(long)]
    pub(crate) explain: bool,

    // `-v`: as `--explain`; `-d`: the artifact's digests and each bundle's result; `-q`:
    // nothing on stdout when verified.
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,

    /// The artifact: a file, `sha256:<hex>` or `sha512:<hex>`.
    #[arg(value_name = "ARTIFACT")]
    pub(crate) artifact: String,
}

/// A regular expression flag (Rust's `regex` crate: RE2 syntax as in Go, which cosign and gh
/// use; no look-around or back-references in either).
fn parse_regex(text: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(text)
}

/// `--version`: the version, and what the embedded Sigstore root holds (a stale root is the
/// usual reason a new bottle's attestation fails with an unknown key).
fn long_version() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let root =
            bottle_attest::trust::RootSummary::of_json(bottle_attest::trust::PRODUCTION_JSON)
                .map_or_else(|| "unreadable".to_owned(), |s| s.to_string());
        format!(
            "{}\nembedded Sigstore public-good root: {root}",
            env!("CARGO_PKG_VERSION")
        )
    })
}
