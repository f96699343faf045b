//! Packaging commands: shell completions and man pages, generated from the clap definitions so
//! that they never drift from the real flags (`tap/Formula/brew-verify.rb` runs them at install
//! time). The man pages add what clap does not know: EXIT STATUS, ENVIRONMENT, FILES and
//! EXAMPLES (the README's facts, kept beside the flags they describe).
//!
//! The packaging commands themselves are parsed apart ([`crate::cli::Packaging`]), so they
//! appear in neither the completions nor the pages.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;
use roff::{Roff, bold, roman};

use crate::cli::{Cli, GenerateManArgs};
use crate::exit::Status;

/// `brew-verify generate-completions SHELL`: the completion script on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<Status> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "brew-verify", &mut out);
    out.flush()?;
    Ok(Status::Ok)
}

/// `brew-verify generate-man [--out DIR]`: `brew-verify(1)` on stdout, or one page per command
/// (`brew-verify.1`, `brew-verify-bundle.1`, …) in DIR.
pub(crate) fn man(args: &GenerateManArgs) -> anyhow::Result<Status> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            write_pages(&cmd, dir)
                .with_context(|| format!("cannot write man pages to `{}`", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            page(&cmd, &mut out)?;
            out.flush()?;
        }
    }
    Ok(Status::Ok)
}

/// The page of `cmd` and of each visible subcommand, recursively (as `clap_mangen::generate_to`
/// names them: `brew-verify-bundle.1`).
fn write_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut file = std::fs::File::create(dir.join(man.get_filename()))?;
    page(cmd, &mut file)?;
    file.flush()
}

/// One page: clap's sections, then ours, then the version.
fn page(cmd: &clap::Command, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    sections(name).to_writer(w)?;
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// A paragraph of a section.
enum Para {
    /// Plain text.
    Text(&'static str),
    /// A tagged item (`.TP`): a value in bold, then what it means.
    Item(&'static str, &'static str),
    /// What an example does, then the command, verbatim.
    Example(&'static str, &'static str),
}

/// The sections a page of `name` gets beyond clap's.
fn sections(name: &str) -> Roff {
    use Para::{Example, Item, Text};
    let mut roff = Roff::new();
    let mut section = |title: &str, paras: &[Para]| {
        roff.control("SH", [title]);
        for para in paras {
            match para {
                Text(text) => {
                    roff.control("PP", []).text([roman(*text)]);
                }
                Item(tag, text) => {
                    roff.control("TP", [])
                        .text([bold(*tag)])
                        .text([roman(*text)]);
                }
                Example(what, command) => {
                    roff.control("PP", [])
                        .text([roman(*what)])
                        .control("RS", ["4"])
                        .control("nf", [])
                        .text([roman(*command)])
                        .control("fi", [])
                        .control("RE", []);
                }
            }
        }
    };
    match name {
        "brew-verify" => {
            section("EXIT STATUS", CHECK_EXIT);
            section("ENVIRONMENT", ENVIRONMENT);
            section("FILES", FILES);
            section("EXAMPLES", EXAMPLES);
        }
        "brew-verify-bundle" => {
            section("EXIT STATUS", BUNDLE_EXIT);
            section("EXAMPLES", BUNDLE_EXAMPLES);
        }
        "brew-verify-export-sidecars" | "brew-verify-provenance" => {
            section("EXIT STATUS", CHECK_EXIT);
            section("ENVIRONMENT", &[Text("As for brew-verify(1).")]);
        }
        "brew-verify-gh" => section("EXIT STATUS", GH_EXIT),
        "brew-verify-doctor" => section(
            "EXIT STATUS",
            &[
                Item("0", "brew would run brew-verify as gh."),
                Item("1", "It would not (the report says why and how to fix it)."),
            ],
        ),
        "brew-verify-trust" | "brew-verify-trust-show" | "brew-verify-trust-refresh" => {
            section(
                "EXIT STATUS",
                &[
                    Item(
                        "0",
                        "The roots are shown (show), or every TUF repository was refreshed (refresh).",
                    ),
                    Item("2", "A usage error."),
                    Item(
                        "4",
                        "refresh: a TUF repository could not be reached or refused TUF's checks; the last good root stays in use and the error says why. Either: a TUF setting or root file is unusable.",
                    ),
                ],
            );
            section(
                "FILES",
                &[Item(
                    "$HOMEBREW_CACHE/brew-verify/tuf/",
                    "Each TUF repository's verified metadata and trusted_root.json, and when it was last refreshed.",
                )],
            );
        }
        "brew-verify-install-gh-shim" => section(
            "EXIT STATUS",
            &[
                Item(
                    "0",
                    "The link is in place (the PATH line to add is printed).",
                ),
                Item(
                    "2",
                    "DIR/gh exists and is not brew-verify (--force replaces it), or another usage error.",
                ),
                Item("4", "The link could not be made."),
            ],
        ),
        _ => {}
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "brew-verify(1), brew-verify-bundle(1), brew(1), gh-attestation-verify(1), cosign(1)",
    )]);
    roff
}

const CHECK_EXIT: &[Para] = &[
    Para::Item("0", "Every bottle verified."),
    Para::Item(
        "1",
        "Some attestation is invalid (or the registry contradicts the formula).",
    ),
    Para::Item("2", "Usage error."),
    Para::Item("3", "Some attestation is missing, none invalid."),
    Para::Item(
        "4",
        "Something could not be checked: unreadable input, an unknown formula, a failed lookup.",
    ),
    Para::Item(
        "141",
        "The output broke off (a closed pipe) before any bottle failed; otherwise the verdict so far.",
    ),
    Para::Text("With several bottles the worst wins: 1, then 4, then 3."),
];

const BUNDLE_EXIT: &[Para] = &[
    Para::Item(
        "0",
        "Some bundle verified the artifact for the signer named.",
    ),
    Para::Item(
        "1",
        "Not verified, including an unreadable bundle file or artifact (the reason is on stderr).",
    ),
    Para::Item("2", "Usage error."),
];

const GH_EXIT: &[Para] = &[
    Para::Item(
        "0",
        "Verified (gh attestation verify), or the real gh's status.",
    ),
    Para::Item(
        "1",
        "Not verified; stderr uses gh's words, so that brew tells missing from invalid.",
    ),
];

const ENVIRONMENT: &[Para] = &[
    Para::Item(
        "HOMEBREW_API_DOMAIN",
        "The formula API base URL (--formula-api).",
    ),
    Para::Item(
        "HOMEBREW_BOTTLE_DOMAIN",
        "A bottle mirror (--bottle-domain).",
    ),
    Para::Item(
        "HOMEBREW_CACHE",
        "The cache root: attestations under brew-verify/, downloads under downloads/.",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_CACHE_DIR",
        "The attestation cache itself (--cache-dir).",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_TIMEOUT",
        "Seconds before one bottle's lookups give up (--timeout, default 20).",
    ),
    Para::Item(
        "HOMEBREW_GITHUB_API_TOKEN, GH_TOKEN, GITHUB_TOKEN",
        "A github.com token (optional; raises the rate limit), sent to api.github.com only.",
    ),
    Para::Item(
        "GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN",
        "A token for any other API host (--api-url).",
    ),
    Para::Item(
        "HOMEBREW_DOCKER_REGISTRY_TOKEN, HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN",
        "Registry credentials, sent to ghcr.io only.",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_REGISTRY_HOSTS",
        "More registry hosts (host[:port], comma-separated) that may receive them (--registry-host).",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_TUF_URL, HOMEBREW_BREW_VERIFY_TUF_ROOT",
        "The TUF repository the Sigstore public-good root is refreshed from, and a TUF root.json to start trusting it from instead of the embedded one.",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL, HOMEBREW_BREW_VERIFY_GITHUB_TUF_ROOT",
        "The same for GitHub's Sigstore instance.",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_FORMULA_API_KEY",
        "The PEM key the signed formula index must verify under (--formula-api-key).",
    ),
    Para::Item(
        "HOMEBREW_NO_COLOR, HOMEBREW_COLOR, NO_COLOR",
        "Colour, as brew decides it: HOMEBREW_NO_COLOR wins, HOMEBREW_COLOR forces colour off a terminal, NO_COLOR turns it off.",
    ),
    Para::Item(
        "GH_HOST, HOMEBREW_BREW_VERIFY_API_URL",
        "gh mode: the API host as in gh, or an API base URL that overrides it.",
    ),
    Para::Item(
        "HOMEBREW_BREW_VERIFY_TRUSTED_ROOT, HOMEBREW_BREW_VERIFY_NO_CACHE",
        "gh mode: a trusted_root.json when --custom-trusted-root is not given; 1 to bypass the cache.",
    ),
    Para::Item(
        "HOMEBREW_PREFIX, HOMEBREW_CELLAR",
        "provenance: where installed kegs and their receipts are.",
    ),
    Para::Item(
        "XDG_DATA_HOME, XDG_CACHE_HOME, HOME",
        "Default locations of the gh shim and of Homebrew's cache.",
    ),
];

const FILES: &[Para] = &[
    Para::Item(
        "$HOMEBREW_CACHE/brew-verify/attestations/OWNER/REPO/sha256-HEX.jsonl",
        "Cached attestations (JSON Lines), verified again on every use.",
    ),
    Para::Item(
        "$HOMEBREW_CACHE/brew-verify/registry/",
        "Registry checks that passed.",
    ),
    Para::Item(
        "$HOMEBREW_CACHE/downloads/SHA256(URL)--FILE",
        "Bottles fetched with --download (brew's cache name).",
    ),
    Para::Item(
        "$XDG_DATA_HOME/brew-verify/bin/gh (else ~/.local/share/brew-verify/bin/gh)",
        "The gh link made by install-gh-shim.",
    ),
    Para::Item(
        "$HOMEBREW_CELLAR/NAME/VERSION/INSTALL_RECEIPT.json",
        "Read by provenance to find how each keg was poured.",
    ),
];

const EXAMPLES: &[Para] = &[
    Para::Example("This machine's bottle of wget:", "brew-verify wget"),
    Para::Example(
        "wget and its runtime dependencies, saying what was proven:",
        "brew-verify --deps --explain wget",
    ),
    Para::Example(
        "Every platform's bottle of jq, one JSON object per bottle:",
        "brew-verify --all-tags --json jq",
    ),
    Para::Example(
        "A bottle by digest against a bundle file, offline:",
        "brew-verify --offline --explain --bundle ty.sigstore.json \\\n  --name ty--0.0.11.arm64_sonoma.bottle.tar.gz sha256:4c5f0467…",
    ),
    Para::Example(
        "Answer brew's own attestation checks (brew verify, HOMEBREW_VERIFY_ATTESTATIONS=1):",
        "brew-verify install-gh-shim",
    ),
];

const BUNDLE_EXAMPLES: &[Para] = &[
    Para::Example(
        "A release artifact signed by any workflow of a repository (an anchored pattern):",
        "brew-verify bundle --bundle artifact.sigstore.json \\\n  --cert-identity-regexp '^https://github\\.com/OWNER/REPO/\\.github/workflows/' \\\n  --cert-oidc-issuer https://token.actions.githubusercontent.com artifact.tar.gz",
    ),
    Para::Example(
        "cosign's flag names work too:",
        "brew-verify bundle --bundle b.json --certificate-identity ID \\\n  --certificate-oidc-issuer URL sha256:HEX",
    ),
];
