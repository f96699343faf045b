//! What a user sees for bad input (issue 13): the actual problem named, on stderr, with an exit
//! status that means something.

use std::process::Output;

use serde_json::json;

use crate::util::{temp_dir, workspace_bin, write};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_mistyped_formula_gets_brews_did_you_mean() {
    let dir = temp_dir();
    let formula = |name: &str| {
        json!({"name": name, "versions": {"stable": "1.0"}, "revision": 0,
               "bottle": {"stable": {"rebuild": 0, "root_url": "https://ghcr.io/v2/homebrew/core", "files": {}}}})
    };
    let formulae = write(
        &dir,
        "formula.json",
        &json!([formula("wget"), formula("wget2"), formula("curl")]).to_string(),
    );
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .args(["--offline", "--bottle-tag", "sonoma", "--formula-json"])
        .arg(&formulae)
        .arg("wgte")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(r#"No available formula with the name "wgte". Did you mean wget or wget2?"#),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_html_page_given_as_a_bundle_is_named_as_such() {
    let dir = temp_dir();
    let page = write(
        &dir,
        "bundle.json",
        "\n<!DOCTYPE html><html><body>Sign in</body></html>",
    );
    let bottle = write(&dir, "wget--1.0.sonoma.bottle.tar.gz", "bytes");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .arg("--bundle")
        .arg(&page)
        .arg(&bottle)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not a Sigstore bundle (it looks like an HTML"),
        "{err}"
    );
    assert!(!err.contains("homebrew-core"), "{err}");
}

#[test]
fn offline_download_is_refused_not_ignored() {
    let dir = temp_dir();
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .args(["--offline", "--download", "wget"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--download") && err.contains("--offline"),
        "{err}"
    );
}

#[test]
fn provenance_without_homebrew_says_so_and_exits_4() {
    let dir = temp_dir();
    let mut cmd = workspace_bin("brew-verify");
    cmd.env_clear();
    let out = crate::util::no_tuf(&mut cmd)
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.path())
        .env("HOMEBREW_PREFIX", dir.path().join("no-homebrew"))
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .arg("provenance")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("no Homebrew installation found"), "{err}");
}

#[test]
fn version_says_what_the_embedded_root_holds() {
    let out = workspace_bin("brew-verify")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("brew-verify "), "{text}");
    assert!(
        text.contains("embedded Sigstore public-good root: 2 CAs")
            && text.contains("newest key valid from 20"),
        "{text}"
    );
}

/// GitHub attestation 16346368 (examples/README.md) and one of its six subjects.
fn ty_bundle() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/ty-0.0.11-homebrew-core.sigstore.json")
}
const TY_ARM64_SONOMA: &str =
    "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28";
const CORE_WORKFLOW: &str = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
const GHA_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn bundle_cmd(flags: &[&str]) -> Output {
    workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .arg("bundle")
        .arg("--bundle")
        .arg(ty_bundle())
        .args(flags)
        .arg(TY_ARM64_SONOMA)
        .output()
        .unwrap()
}

#[test]
fn bundle_takes_an_identity_pattern_and_cosigns_flag_names() {
    // Our names, gh's `--cert-identity-regex`, and cosign's four long names.
    for flags in [
        vec![
            "--cert-identity-regexp",
            r"^https://github\.com/Homebrew/homebrew-core/\.github/workflows/",
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ],
        vec![
            "--cert-identity-regex",
            "homebrew-core",
            "--cert-oidc-issuer-regexp",
            r"^https://token\.actions\.githubusercontent\.com$",
        ],
        vec![
            "--certificate-identity",
            CORE_WORKFLOW,
            "--certificate-oidc-issuer",
            GHA_ISSUER,
        ],
        vec![
            "--certificate-identity-regexp",
            "publish-commit-bottles",
            "--certificate-oidc-issuer-regexp",
            "githubusercontent",
        ],
    ] {
        let out = bundle_cmd(&flags);
        let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {err}");
        assert!(
            text.starts_with(&format!(
                "==> Verified {TY_ARM64_SONOMA} with {}: signed by {CORE_WORKFLOW} ({GHA_ISSUER})",
                ty_bundle().display()
            )),
            "{flags:?}: {text}"
        );
        assert!(err.is_empty(), "{flags:?}: {err}");
    }
}

#[test]
fn bundle_identity_pattern_that_does_not_match_is_not_verified() {
    let out = bundle_cmd(&[
        "--cert-identity-regexp",
        r"^https://github\.com/evil/",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!(
            "certificate identity `{CORE_WORKFLOW}` does not match `^https://github\\.com/evil/`"
        )),
        "{err}"
    );
    // The issuer pattern is held against the certificate too.
    let out = bundle_cmd(&[
        "--cert-identity",
        CORE_WORKFLOW,
        "--certificate-oidc-issuer-regexp",
        "^https://accounts\\.google\\.com$",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "certificate OIDC issuer `{GHA_ISSUER}` does not match `^https://accounts\\.google\\.com$`"
        )),
        "{err}"
    );
}

#[test]
fn bundle_identity_flags_are_one_of_each_and_patterns_must_parse() {
    // Exact and pattern together are refused (gh makes them mutually exclusive).
    let out = bundle_cmd(&[
        "--cert-identity",
        CORE_WORKFLOW,
        "--certificate-identity-regexp",
        "x",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'--cert-identity <ID>' cannot be used with '--cert-identity-regexp <REGEX>'"),
        "{err}"
    );
    // Neither: the requirement names both ways.
    let out = bundle_cmd(&["--cert-oidc-issuer", GHA_ISSUER]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("<--cert-identity <ID>|--cert-identity-regexp <REGEX>>"),
        "{err}"
    );
    let out = bundle_cmd(&["--cert-identity", CORE_WORKFLOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("<--cert-oidc-issuer <URL>|--cert-oidc-issuer-regexp <REGEX>>"),
        "{}",
        stderr(&out)
    );
    // A pattern that does not compile is a usage error that says why.
    let out = bundle_cmd(&[
        "--cert-identity-regexp",
        "(",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid value '(' for '--cert-identity-regexp <REGEX>'")
            && err.contains("unclosed group"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bundle_explain_says_what_a_pass_proves_and_what_a_failure_checked() {
    let out = bundle_cmd(&[
        "--explain",
        "--cert-identity-regexp",
        "^https://github\\.com/Homebrew/homebrew-core/",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for line in [
        "    What this proves:",
        "      - These exact bytes are subject `ty--0.0.11.arm64_sonoma.bottle.tar.gz` of a `https://slsa.dev/provenance/v1` statement.",
        "          commit      c5a275bba8c83b85c5c015dd5e2fa295c9ef5cc5",
        "      - The signature was recorded in the Rekor transparency log at 2026-01-10 00:04:46 UTC (verified).",
        "      - The signer was accepted by a pattern, `^https://github\\.com/Homebrew/homebrew-core/`: any identity it matches",
        "    What this does not prove:",
        "      - That this is the artifact you meant to get: the signer vouches for these bytes, not for",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(stderr(&out).is_empty());

    // A failure explains, on stderr beside the error, what was required.
    let out = bundle_cmd(&[
        "--explain",
        "--cert-identity",
        "https://github.com/evil/evil/.github/workflows/x.yml@refs/heads/main",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    for line in [
        "    What was checked:",
        &format!("      - The artifact's digests: {TY_ARM64_SONOMA}."),
        "against the embedded Sigstore public-good root",
        &format!(
            "      - Its certificate identity must be `https://github.com/evil/evil/.github/workflows/x.yml@refs/heads/main` and its OIDC issuer be `{GHA_ISSUER}`."
        ),
        "      - A bundle's cryptography held but its signer was not the one required.",
    ] {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
}

#[test]
fn bundle_json_explain_is_a_field_with_the_subject_and_certificate() {
    let out = bundle_cmd(&[
        "--json",
        "--explain",
        "--cert-identity-regexp",
        "homebrew-core",
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "brew-verify.bundle/v2");
    assert_eq!(v["verified"], true);
    assert_eq!(v["identity_regexp"], "homebrew-core");
    assert_eq!(v["issuer"], GHA_ISSUER);
    assert!(v.get("identity").is_none(), "{v}");
    let b = &v["bundles"][0];
    assert_eq!(
        b["subject"]["name"],
        "ty--0.0.11.arm64_sonoma.bottle.tar.gz"
    );
    assert_eq!(b["predicate_type"], "https://slsa.dev/provenance/v1");
    assert_eq!(b["certificate"]["identity"], CORE_WORKFLOW);
    assert_eq!(
        b["certificate"]["source_repository_uri"],
        "https://github.com/Homebrew/homebrew-core"
    );
    let explanation = v["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with("    What this proves:\n")
            && explanation.contains("    What this does not prove:\n"),
        "{explanation}"
    );
    // Without --explain there is no such field.
    let out = bundle_cmd(&[
        "--json",
        "--cert-identity",
        CORE_WORKFLOW,
        "--cert-oidc-issuer",
        GHA_ISSUER,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(v.get("explanation").is_none(), "{v}");
    assert_eq!(v["identity"], CORE_WORKFLOW);
}

/// A formula JSON file: `wget` (no bottle for sonoma) needs `libidn2`, which is not in it.
fn formulae_with_a_missing_dependency(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let formula = |name: &str, deps: &[&str]| {
        json!({"name": name, "versions": {"stable": "1.0"}, "revision": 0, "dependencies": deps,
               "bottle": {"stable": {"rebuild": 0, "root_url": "https://ghcr.io/v2/homebrew/core", "files": {}}}})
    };
    write(
        dir,
        "formula.json",
        &json!([formula("wget", &["libidn2"]), formula("libidn", &[])]).to_string(),
    )
}

#[test]
fn deps_error_lines_name_the_formula_and_what_needs_it() {
    let dir = temp_dir();
    let formulae = formulae_with_a_missing_dependency(&dir);
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .env("HOMEBREW_NO_COLOR", "1")
        .args([
            "--offline",
            "--deps",
            "--bottle-tag",
            "sonoma",
            "--formula-json",
        ])
        .arg(&formulae)
        .arg("wget")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    // brew's words (FormulaUnavailableError#dependent_s), and no "Did you mean" for a name the
    // user did not type.
    assert!(
        err.contains(
            "Error: libidn2: No available formula with the name \"libidn2\" (dependency of wget).\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("Error: wget: `wget` has no bottle for sonoma"),
        "{err}"
    );
    assert!(!err.contains("Error: :"), "{err}");
    // The summary is a result, on stdout.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "==> 0 verified, 0 invalid, 0 missing, 2 could not be checked\n"
    );
}

#[test]
fn a_huge_argument_is_not_echoed_back_whole() {
    let dir = temp_dir();
    let formulae = formulae_with_a_missing_dependency(&dir);
    let huge = "x".repeat(5000);
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["--offline", "--bottle-tag", "sonoma", "--formula-json"])
        .arg(&formulae)
        .arg(&huge)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.len() < 800, "{} bytes: {err}", err.len());
    assert!(
        err.contains("… (4800 more characters): No available formula with the name \"")
            && err.contains("xxx…\"."),
        "{err}"
    );

    // A digest argument: the message says what is wrong without repeating it.
    let digest = format!("SHA256:{huge}");
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .env("HOMEBREW_NO_COLOR", "1")
        .args([
            "--offline",
            "--name",
            "wget--1.0.sonoma.bottle.tar.gz",
            &digest,
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
    assert!(
        err.ends_with(
            "(4807 more characters): not a valid sha256 digest: expected 64 hex characters \
             after `sha256:`, got 5000\n"
        ),
        "{err}"
    );

    // The same for `bundle`, whose message has no label of its own.
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["bundle", "--bundle", "x", "--cert-identity", "a"])
        .args(["--cert-oidc-issuer", "b", &digest])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
    assert!(err.starts_with("Error: not verified: `SHA256:xxx"), "{err}");
}

#[test]
fn an_unreadable_bottle_path_is_printed_once() {
    let dir = temp_dir();
    // A directory with a bottle's name: it exists, and cannot be read as a file.
    let path = dir.path().join("wget--1.0.sonoma.bottle.tar.gz");
    std::fs::create_dir(&path).unwrap();
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", dir.path().join("cache"))
        .env("HOMEBREW_NO_COLOR", "1")
        .arg("--offline")
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(
        err.matches("wget--1.0.sonoma.bottle.tar.gz").count(),
        1,
        "{err}"
    );
    assert!(
        err.starts_with(&format!(
            "Error: {}: cannot read the file: ",
            path.display()
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn man_pages_have_exit_status_environment_files_and_examples() {
    for bin in ["brew-verify", "brew-backfill"] {
        let out = workspace_bin(bin).arg("generate-man").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{bin}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{bin}: {}", stderr(&out));
        let page = String::from_utf8_lossy(&out.stdout);
        for section in [
            ".SH NAME\n",
            ".SH SYNOPSIS\n",
            ".SH OPTIONS\n",
            ".SH \"EXIT STATUS\"\n",
            ".SH ENVIRONMENT\n",
            ".SH FILES\n",
            ".SH EXAMPLES\n",
        ] {
            assert!(page.contains(section), "{bin}: no {section:?} in:\n{page}");
        }
        assert!(
            !page.contains("generate-"),
            "{bin}: a hidden command:\n{page}"
        );
    }
    let page = String::from_utf8_lossy(
        &workspace_bin("brew-verify")
            .arg("generate-man")
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    // What a user of each section looks for.
    for text in [
        "\\fB3\\fR\nSome attestation is missing, none invalid.",
        "\\fBHOMEBREW_GITHUB_API_TOKEN, GH_TOKEN, GITHUB_TOKEN\\fR",
        "$HOMEBREW_CACHE/brew\\-verify/attestations/OWNER/REPO/sha256\\-HEX.jsonl",
        "brew\\-verify \\-\\-deps \\-\\-explain wget",
    ] {
        assert!(page.contains(text), "no {text:?} in:\n{page}");
    }
}

#[test]
fn man_pages_per_command_leave_out_the_packaging_commands() {
    let dir = temp_dir();
    for (bin, expected) in [
        (
            "brew-verify",
            &[
                "brew-verify-bundle.1",
                "brew-verify-doctor.1",
                "brew-verify-export-sidecars.1",
                "brew-verify-gh.1",
                "brew-verify-install-gh-shim.1",
                "brew-verify-provenance.1",
                "brew-verify-trust-refresh.1",
                "brew-verify-trust-show.1",
                "brew-verify-trust.1",
                "brew-verify.1",
            ][..],
        ),
        (
            "brew-backfill",
            &[
                "brew-backfill-audit.1",
                "brew-backfill-plan.1",
                "brew-backfill-policy.1",
                "brew-backfill-run.1",
                "brew-backfill-sign.1",
                "brew-backfill-upload.1",
                "brew-backfill.1",
            ][..],
        ),
    ] {
        let out_dir = dir.path().join(bin);
        let out = workspace_bin(bin)
            .args(["generate-man", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{bin}: {}", stderr(&out));
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
        let mut pages: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        pages.sort();
        assert_eq!(pages, expected, "{bin}");
        for page in &pages {
            let text = std::fs::read_to_string(out_dir.join(page)).unwrap();
            assert!(text.contains(".SH \"EXIT STATUS\"\n"), "{page}:\n{text}");
        }
    }
    let bundle =
        std::fs::read_to_string(dir.path().join("brew-verify/brew-verify-bundle.1")).unwrap();
    assert!(
        bundle.contains(".SH EXAMPLES\n") && bundle.contains("\\-\\-cert\\-identity\\-regexp"),
        "{bundle}"
    );
}

#[test]
fn completions_leave_out_the_packaging_commands() {
    for (bin, subcommand) in [
        ("brew-verify", "export-sidecars"),
        ("brew-backfill", "upload"),
    ] {
        for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let out = workspace_bin(bin)
                .args(["generate-completions", shell])
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{bin} {shell}: {}",
                stderr(&out)
            );
            let script = String::from_utf8_lossy(&out.stdout);
            assert!(script.contains(subcommand), "{bin} {shell}:\n{script}");
            assert!(!script.contains("generate-"), "{bin} {shell}:\n{script}");
        }
        // Nor does the help, and `help` knows no such command.
        let out = workspace_bin(bin).arg("--help").output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("generate-"));
        let out = workspace_bin(bin)
            .args(["help", "generate-man"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bin}");
        assert!(
            stderr(&out).contains("unrecognized subcommand 'generate-man'"),
            "{bin}: {}",
            stderr(&out)
        );
    }
    // A mistyped shell is a usage error that lists the shells.
    let out = workspace_bin("brew-verify")
        .args(["generate-completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'tcsh'"),
        "{}",
        stderr(&out)
    );
}

/// Issue 13, "Bad input names the actual problem": each case's stream, exit status and text.
#[test]
fn bad_input_names_the_actual_problem() {
    let dir = temp_dir();
    let run = |args: &[&str]| {
        let out = workspace_bin("brew-verify")
            .env("HOMEBREW_CACHE", dir.path().join("cache"))
            .env("HOMEBREW_NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr(&out),
        )
    };
    let ty = ty_bundle();
    let ty = ty.to_str().unwrap();

    // A sidecar directory that does not exist is a usage error, not "missing".
    let (code, out, err) = run(&["--offline", "--sidecar-dir", "/no/such/dir", "wget"]);
    assert_eq!((code, out.as_str()), (Some(2), ""), "{err}");
    assert_eq!(
        err,
        "Error: --sidecar-dir `/no/such/dir` is not a directory\n"
    );

    // An empty bottle file says it is empty.
    let empty = write(&dir, "ty--0.0.11.sonoma.bottle.tar.gz", "");
    let (code, out, err) = run(&["--bundle", ty, empty.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(4), ""), "{err}");
    assert_eq!(
        err,
        format!(
            "Error: {}: the file is empty; a bottle is a non-empty .tar.gz\n",
            empty.display()
        )
    );

    // `SHA256:` and upper-case hex are a digest, not a formula name.
    let (code, out, err) = run(&[
        "--offline",
        "--bundle",
        ty,
        "--name",
        "ty--0.0.11.arm64_sonoma.bottle.tar.gz",
        "SHA256:4C5F0467690C23ECB1A50177135AD5531F3BC60E202105CE3FBBDFC65B126A28",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
    assert!(
        out.starts_with(
            "==> Verified ty--0.0.11.arm64_sonoma.bottle.tar.gz \
             (sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28)\n"
        ),
        "{out}"
    );

    // A policy with a short ref is refused, naming the full ref.
    let policy = write(
        &dir,
        "policy.toml",
        "name = \"p\"\n[[source]]\nname = \"core\"\nrepository = \"Homebrew/homebrew-core\"\n\
         refs = [\"main\"]\n",
    );
    let (code, out, err) = run(&[
        "--offline",
        "--policy",
        policy.to_str().unwrap(),
        "--bundle",
        ty,
        "--name",
        "ty--0.0.11.arm64_sonoma.bottle.tar.gz",
        "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28",
    ]);
    assert_eq!((code, out.as_str()), (Some(4), ""), "{err}");
    assert!(
        err.ends_with(
            "Caused by: invalid policy: source `core`: `refs` holds \"main\": refs are full \
             refs, such as refs/heads/main or refs/tags/…\n"
        ),
        "{err}"
    );

    // A formula name is checked before it becomes part of a URL: no request is made (the
    // API address is a closed port; a request would fail differently).
    let (code, out, err) = run(&["--formula-api", &crate::util::dead_url(), "wget?x=1#y"]);
    assert_eq!((code, out.as_str()), (Some(4), ""), "{err}");
    assert_eq!(
        err,
        "Error: wget?x=1#y: `wget?x=1#y` is not a formula name (lowercase letters, digits and \
         @ + . _ - only)\n"
    );
}

/// brew's colour rules (`Library/Homebrew/env_config.rb`, `utils/formatter.rb`):
/// `HOMEBREW_NO_COLOR` wins, `HOMEBREW_COLOR` forces colour even into a pipe (and beats
/// `NO_COLOR`), otherwise none off a terminal.
#[test]
fn colour_follows_brews_variables() {
    let run = |env: &[(&str, &str)]| {
        let mut cmd = workspace_bin("brew-verify");
        cmd.env_remove("HOMEBREW_NO_COLOR")
            .env_remove("HOMEBREW_COLOR")
            .env_remove("NO_COLOR")
            .args(["--offline", "--bundle"])
            .arg(ty_bundle())
            .args([
                "--name",
                "ty--0.0.11.arm64_sonoma.bottle.tar.gz",
                TY_ARM64_SONOMA,
            ]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let painted = "\x1b[1;34m==>\x1b[0m";
    assert!(!run(&[]).contains('\x1b'), "no colour into a pipe");
    assert!(run(&[("HOMEBREW_COLOR", "1")]).contains(painted));
    assert!(run(&[("HOMEBREW_COLOR", "1"), ("NO_COLOR", "1")]).contains(painted));
    assert!(!run(&[("HOMEBREW_COLOR", "1"), ("HOMEBREW_NO_COLOR", "1")]).contains('\x1b'));
}
