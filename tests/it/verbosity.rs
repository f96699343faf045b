//! brew's global switches on every brew-verify command (issue 13): `-v/--verbose`,
//! `-d/--debug`, `-q/--quiet`, with brew's meanings (Homebrew/brew `cli/parser.rb`,
//! `Parser.global_options`: "Make some output more verbose.", "Display any debugging
//! information.", "Make some output more quiet."). Errors are never hidden and the exit status
//! never changes. gh mode keeps gh's flags (tests/it/gh_compat.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::util::{temp_dir, workspace_bin, write};

const TY_SONOMA: &str = "sha256:4c5f0467690c23ecb1a50177135ad5531f3bc60e202105ce3fbbdfc65b126a28";
const TY_LINUX_HEX: &str = "096bf0aaca2cfca3605bddd5272352615102a61a78c8d2d5636295530dfa007e";

fn ty_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ty-0.0.11-homebrew-core.sigstore.json")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn brew_verify(cache: &Path) -> Command {
    let mut cmd = workspace_bin("brew-verify");
    cmd.env("HOMEBREW_CACHE", cache)
        .env("HOMEBREW_NO_COLOR", "1");
    cmd
}

/// The offline check of ty's arm64_sonoma bottle with `flags` in front; `digest` overrides the
/// bottle's digest (another bottle's: the subject does not match, invalid).
fn check(flags: &[&str], digest: &str) -> Output {
    let dir = temp_dir();
    brew_verify(dir.path())
        .args(flags)
        .arg("--offline")
        .arg("--bundle")
        .arg(ty_bundle())
        .args(["--name", "ty--0.0.11.arm64_sonoma.bottle.tar.gz", digest])
        .output()
        .unwrap()
}

#[test]
fn check_quiet_prints_nothing_for_a_verified_bottle_but_every_error() {
    let out = check(&["-q"], TY_SONOMA);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    let other = format!("sha256:{TY_LINUX_HEX}");
    let out = check(&["--quiet"], &other);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "Error: ty--0.0.11.arm64_sonoma.bottle.tar.gz (sha256:{TY_LINUX_HEX}): invalid \
             attestation from homebrew-core"
        )),
        "{err}"
    );

    // With --json every object is data and is still written.
    let out = check(&["-q", "--json"], TY_SONOMA);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["status"], "verified");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn check_verbose_says_what_each_pass_proves() {
    let out = check(&["-v"], TY_SONOMA);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("==> Verified ty--0.0.11.arm64_sonoma.bottle.tar.gz"),
        "{stdout}"
    );
    assert!(stdout.contains("    What this proves:"), "{stdout}");
    assert_eq!(text(&out.stderr), "");

    // Without it, no explanation.
    let out = check(&[], TY_SONOMA);
    assert!(!text(&out.stdout).contains("What this proves"));
}

#[test]
fn check_debug_says_where_it_looked_and_what_each_input_resolved_to() {
    let out = check(&["--debug"], TY_SONOMA);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out.stdout).starts_with("==> Verified ty--0.0.11."));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with(
            "debug: the built-in homebrew-core policy (2 sources), the embedded Sigstore \
             public-good root and the embedded GitHub Sigstore root; attestations from the \
             --bundle files "
        ),
        "{err}"
    );
    assert_eq!(
        lines[1],
        format!(
            "debug: {TY_SONOMA}: ty--0.0.11.arm64_sonoma.bottle.tar.gz ({TY_SONOMA}) at \
             https://ghcr.io/v2/homebrew/core/ty/blobs/{TY_SONOMA}"
        )
    );
    assert!(
        lines[2].starts_with(&format!("debug: {TY_SONOMA}: checked in "))
            && lines[2].ends_with(" ms"),
        "{err}"
    );
}

#[test]
fn quiet_and_verbose_together_are_a_usage_error_on_every_command() {
    for args in [
        vec!["-q", "-v", "wget"],
        vec!["bundle", "-q", "-v"],
        vec!["export-sidecars", "-q", "-v"],
        vec!["doctor", "-q", "-v"],
        vec!["install-gh-shim", "-q", "-v"],
        vec!["provenance", "-q", "-v"],
    ] {
        let dir = temp_dir();
        let out = brew_verify(dir.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert_eq!(text(&out.stdout), "");
        assert!(
            text(&out.stderr)
                .starts_with("error: the argument '--quiet' cannot be used with '--verbose'"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

fn bundle(flags: &[&str], identity: &str) -> Output {
    let dir = temp_dir();
    brew_verify(dir.path())
        .arg("bundle")
        .args(flags)
        .arg("--bundle")
        .arg(ty_bundle())
        .args(["--cert-identity-regexp", identity])
        .args([
            "--cert-oidc-issuer",
            "https://token.actions.githubusercontent.com",
        ])
        .arg(TY_SONOMA)
        .output()
        .unwrap()
}

#[test]
fn bundle_quiet_verbose_and_debug() {
    let core = "^https://github\\.com/Homebrew/homebrew-core/";
    let out = bundle(&["-q"], core);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    // Quiet never hides a failure.
    let out = bundle(&["--quiet"], "^https://example\\.com/");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).starts_with(&format!("Error: {TY_SONOMA} not verified by any bundle")),
        "{}",
        text(&out.stderr)
    );

    let out = bundle(&["--verbose"], core);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("==> Verified {TY_SONOMA} with ")),
        "{stdout}"
    );
    assert!(stdout.contains("What this proves"), "{stdout}");

    let out = bundle(&["-d"], core);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = text(&out.stderr);
    let bundle_path = ty_bundle().display().to_string();
    assert_eq!(
        err,
        format!(
            "debug: {TY_SONOMA}: {TY_SONOMA}; 1 bundle(s) in {bundle_path}\n\
             debug: {bundle_path}: verified\n"
        )
    );
}

/// Formula JSON for ty 0.0.11 with its arm64_sonoma bottle, and an attestation cache holding the
/// shipped homebrew-core bundle for it: export-sidecars runs offline.
fn ty_offline(dir: &tempfile::TempDir) -> (PathBuf, PathBuf) {
    let formulae = write(
        dir,
        "formula.json",
        &json!([{"name": "ty", "versions": {"stable": "0.0.11"}, "revision": 0,
                 "dependencies": [],
                 "bottle": {"stable": {"rebuild": 0, "root_url": "https://ghcr.io/v2/homebrew/core",
                   "files": {"arm64_sonoma": {"cellar": ":any_skip_relocation",
                     "url": format!("https://ghcr.io/v2/homebrew/core/ty/blobs/{TY_SONOMA}"),
                     "sha256": TY_SONOMA.trim_start_matches("sha256:")}}}}}])
        .to_string(),
    );
    let cache = dir.path().join("cache");
    let repo = cache.join("attestations/homebrew/homebrew-core");
    std::fs::create_dir_all(&repo).unwrap();
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ty_bundle()).unwrap()).unwrap();
    std::fs::write(
        repo.join(format!("{}.jsonl", TY_SONOMA.replace(':', "-"))),
        format!("{bundle}\n"),
    )
    .unwrap();
    #[cfg(unix)]
    for d in [
        &cache,
        &cache.join("attestations"),
        &cache.join("attestations/homebrew"),
        &repo,
    ] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    (formulae, cache)
}

fn export(dir: &tempfile::TempDir, flags: &[&str], formulae: &[&str]) -> (Output, PathBuf) {
    let (formula_json, cache) = ty_offline(dir);
    let out_dir = dir.path().join("new/mirror");
    let out = brew_verify(dir.path())
        .arg("export-sidecars")
        .args(flags)
        .arg("--offline")
        .arg("--formula-json")
        .arg(&formula_json)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--bottle-tag", "arm64_sonoma", "--out"])
        .arg(&out_dir)
        .args(formulae)
        .output()
        .unwrap();
    (out, out_dir)
}

#[test]
fn export_sidecars_creates_its_output_directory_and_writes_a_verified_bottles_sidecar() {
    let dir = temp_dir();
    let (out, out_dir) = export(&dir, &[], &["ty"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let sidecar = out_dir.join("ty--0.0.11.arm64_sonoma.bottle.tar.gz.sigs");
    assert_eq!(
        text(&out.stdout),
        format!(
            "==> Wrote {}\n==> 1 sidecar(s) written to {}\n",
            sidecar.display(),
            out_dir.display()
        )
    );
    assert_eq!(text(&out.stderr), "");
    let sigs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&sidecar).unwrap()).unwrap();
    assert_eq!(sigs.len(), 1);

    let dir = temp_dir();
    let (out, _) = export(&dir, &["-v"], &["ty"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout)
            .contains("\n    verified by the homebrew-core attestation; 1 bundle(s)\n"),
        "{}",
        text(&out.stdout)
    );

    let dir = temp_dir();
    let (out, _) = export(&dir, &["-q"], &["ty"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");

    let dir = temp_dir();
    let (out, _) = export(&dir, &["-d"], &["ty"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        format!(
            "debug: ty: ty--0.0.11.arm64_sonoma.bottle.tar.gz ({TY_SONOMA}) at \
             https://ghcr.io/v2/homebrew/core/ty/blobs/{TY_SONOMA}\n"
        )
    );
}

#[test]
fn export_sidecars_errors_go_to_stderr_also_when_quiet() {
    let dir = temp_dir();
    let (out, _) = export(&dir, &["-q"], &["ty", "tyy"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("Error: tyy: No available formula with the name \"tyy\"."),
        "{err}"
    );

    let dir = temp_dir();
    let (out, _) = export(&dir, &[], &["tyy"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(
        !text(&out.stdout).contains("Error"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).starts_with("Error: tyy: "),
        "{}",
        text(&out.stderr)
    );
}

fn doctor(dir: &Path, path: &str, flags: &[&str]) -> Output {
    Command::new(crate::gh_compat::brew_verify_path())
        .env_clear()
        .env("HOME", dir)
        .env("PATH", path)
        .env("HOMEBREW_PREFIX", dir.join("no-prefix"))
        .env("HOMEBREW_GITHUB_API_TOKEN", "x")
        .env("HOMEBREW_NO_COLOR", "1")
        .arg("doctor")
        .args(flags)
        .output()
        .unwrap()
}

fn system_gh() -> bool {
    ["/usr/bin/gh", "/bin/gh", "/usr/sbin/gh", "/sbin/gh"]
        .iter()
        .any(|p| Path::new(p).exists())
}

/// An upgrade removed the Cellar path the shim pointed at: doctor says so, in brew doctor's
/// `Warning:` style on stderr, with the command that fixes it.
#[cfg(unix)]
#[test]
fn doctor_reports_a_dangling_shim_with_its_fix() {
    if system_gh() {
        eprintln!("skipping: a system gh comes first on brew's own PATH");
        return;
    }
    let dir = temp_dir();
    let shim = dir.path().join("shim");
    std::fs::create_dir_all(&shim).unwrap();
    let gone = dir.path().join("Cellar/brew-verify/0.1.0/bin/brew-verify");
    std::os::unix::fs::symlink(&gone, shim.join("gh")).unwrap();
    let out = doctor(
        dir.path(),
        &format!("{}:/usr/bin:/bin", shim.display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        format!(
            "\nWarning: The gh shim {}/gh is a broken link to {} (brew-verify was upgraded or \
             removed since it was made), so brew's attestation checks go to the GitHub CLI. \
             Recreate it with:\n  brew-verify install-gh-shim --force {}\n",
            shim.display(),
            gone.display(),
            shim.display()
        )
    );
    // -q: only the finding.
    let quiet = doctor(
        dir.path(),
        &format!("{}:/usr/bin:/bin", shim.display()),
        &["-q"],
    );
    assert_eq!(quiet.status.code(), Some(1), "{quiet:?}");
    assert_eq!(text(&quiet.stdout), "");
    assert_eq!(text(&quiet.stderr), text(&out.stderr));
}

/// A real gh earlier on PATH than the shim: brew runs it, doctor says which and how to fix the
/// order; `-v` lists every gh on PATH, `-d` where it looked.
#[cfg(unix)]
#[test]
fn doctor_reports_a_shadowed_shim_with_its_fix() {
    if system_gh() {
        eprintln!("skipping: a system gh comes first on brew's own PATH");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir();
    let (real, shim) = (dir.path().join("real"), dir.path().join("shim"));
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&shim).unwrap();
    std::fs::write(real.join("gh"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(real.join("gh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(crate::gh_compat::brew_verify_path(), shim.join("gh")).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", real.display(), shim.display());
    let out = doctor(dir.path(), &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        format!(
            "\nWarning: The gh shim {shim}/gh is shadowed by {real}/gh (from your PATH), which \
             brew runs instead, so brew's attestation checks go to the GitHub CLI. Put the \
             shim's directory first on your PATH (in ~/.zprofile or ~/.bash_profile):\n  \
             export PATH=\"{shim}:$PATH\"\n",
            shim = shim.display(),
            real = real.display()
        )
    );
    assert!(text(&out.stdout).contains("is brew-verify:    no"));
    assert!(!text(&out.stdout).contains("every gh on your PATH"));

    let out = doctor(dir.path(), &path, &["--verbose"]);
    assert!(
        text(&out.stdout).contains(&format!(
            "every gh on your PATH:\n  {}/gh\n  {}/gh (brew-verify)\n",
            real.display(),
            shim.display()
        )),
        "{}",
        text(&out.stdout)
    );
    let out = doctor(dir.path(), &path, &["--debug"]);
    assert!(
        text(&out.stderr).starts_with(
            "debug: checking brew's internal PATH /usr/bin:/bin:/usr/sbin:/sbin\n\
             debug: checking your PATH "
        ),
        "{}",
        text(&out.stderr)
    );

    // The shim first: no warning, exit 0.
    let out = doctor(
        dir.path(),
        &format!("{}:{}:/usr/bin:/bin", shim.display(), real.display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stderr), "");
}

#[cfg(unix)]
#[test]
fn install_gh_shim_quiet_prints_only_the_path_line_and_verbose_the_target() {
    let dir = temp_dir();
    let bin = dir.path().join("shim-bin");
    let run = |flags: &[&str]| {
        Command::new(crate::gh_compat::brew_verify_path())
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", "/usr/bin:/bin")
            .arg("install-gh-shim")
            .args(flags)
            .arg(&bin)
            .output()
            .unwrap()
    };
    let out = run(&["-q"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let canonical = std::fs::canonicalize(&bin).unwrap();
    assert_eq!(
        text(&out.stdout),
        format!("export PATH=\"{}:$PATH\"\n", canonical.display())
    );
    assert_eq!(text(&out.stderr), "");
    let out = run(&["-v"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let exe = std::fs::canonicalize(crate::gh_compat::brew_verify_path()).unwrap();
    assert!(
        text(&out.stderr).starts_with(&format!(
            "`{}/gh` → `{}`\n",
            canonical.display(),
            exe.display()
        )),
        "{}",
        text(&out.stderr)
    );
}
