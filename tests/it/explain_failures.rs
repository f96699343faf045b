//! `--explain` for bottles that do not verify (issue 13): what was looked up where and what
//! failed, on stderr after the error, and with `--json` as the `explanation` field.

use std::process::Output;

use crate::json_output::{TY_DIGEST, TY_NAME, checked_lines, ty_bundle};
use crate::util::{temp_dir, workspace_bin, write};

const SONOMA: &str = "ty--0.0.11.sonoma.bottle.tar.gz";

fn run(args: &[&std::ffi::OsStr], home: &std::path::Path) -> Output {
    workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .env("HOMEBREW_CACHE", home.join("cache"))
        .env_remove("HOMEBREW_BREW_VERIFY_CACHE_DIR")
        .args(args)
        .output()
        .unwrap()
}

fn os(items: &[&str]) -> Vec<std::ffi::OsString> {
    items.iter().map(std::ffi::OsString::from).collect()
}

fn refs(items: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    items.iter().map(|s| s.as_os_str()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn explain_on_an_invalid_bottle_says_where_it_looked_and_what_failed() {
    let home = temp_dir();
    let mut args = os(&["--offline", "--explain", "--bundle"]);
    args.push(ty_bundle().into_os_string());
    args.extend(os(&["--name", SONOMA, TY_DIGEST]));
    let out = run(&refs(&args), home.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    for needle in [
        "Error: ty--0.0.11.sonoma.bottle.tar.gz (sha256:4c5f0467",
        "    What was looked up:\n      - The bottle ty--0.0.11.sonoma.bottle.tar.gz with sha256:4c5f0467",
        "          the --bundle files ",
        "ty-0.0.11-homebrew-core.sigstore.json (offline; each bundle filed under the source",
        "      - Under the built-in homebrew-core policy, each verified against the embedded Sigstore public-good root",
        "          1. homebrew-core: in Homebrew/homebrew-core,",
        "from refs/heads/master or refs/heads/main,",
        "          2. backfill (only if every earlier source had no attestation): in trailofbits/homebrew-brew-verify,",
        "logged at or before 2024-03-14T00:00:00Z.",
        "    What failed:\n      - homebrew-core (source 1) had 1 attestation for this digest and none passed:",
        "no subject with the bottle's digest is named ty--0.0.11.sonoma.bottle.tar.gz",
        "      - backfill was not consulted: a source whose attestation fails is never passed over",
    ] {
        assert!(err.contains(needle), "no {needle:?} in:\n{err}");
    }
}

#[test]
fn explain_on_a_missing_bottle_names_every_source_asked() {
    let home = temp_dir();
    let empty = write(&home, "empty.json", "[]");
    let mut args = os(&["--offline", "--explain", "--bundle"]);
    args.push(empty.into_os_string());
    args.extend(os(&["--name", TY_NAME, TY_DIGEST]));
    let out = run(&refs(&args), home.path());
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("missing attestation (none in homebrew-core, backfill)")
            && err.contains(
                "    What failed:\n      - No source had any attestation for this digest (asked: homebrew-core, backfill)."
            ),
        "{err}"
    );
}

#[test]
fn explain_on_a_failed_lookup_names_the_cache_it_read() {
    let home = temp_dir();
    let out = run(
        &refs(&os(&[
            "--offline",
            "--explain",
            "--name",
            TY_NAME,
            TY_DIGEST,
        ])),
        home.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = text(&out.stderr);
    let cache = home.path().join("cache").join("brew-verify");
    assert!(
        err.contains(&format!(
            "          the attestation cache {}\n",
            cache.display()
        )) && err
            .contains("      - The lookup in homebrew-core failed: --offline and nothing cached")
            && err.contains("it is not \"missing\""),
        "{err}"
    );
}

#[test]
fn explain_with_json_is_an_explanation_field_for_every_status() {
    let home = temp_dir();
    let empty = write(&home, "empty.json", "[]");
    let ty = ty_bundle().into_os_string();
    let cases: [(Vec<std::ffi::OsString>, &str, &str); 4] = [
        (
            [
                os(&["--bundle"]),
                vec![ty.clone()],
                os(&["--name", TY_NAME, TY_DIGEST]),
            ]
            .concat(),
            "verified",
            "    What this proves:",
        ),
        (
            [
                os(&["--bundle"]),
                vec![ty],
                os(&["--name", SONOMA, TY_DIGEST]),
            ]
            .concat(),
            "invalid",
            "homebrew-core (source 1) had 1 attestation",
        ),
        (
            [
                os(&["--bundle"]),
                vec![empty.into_os_string()],
                os(&["--name", TY_NAME, TY_DIGEST]),
            ]
            .concat(),
            "missing",
            "No source had any attestation for this digest",
        ),
        (
            os(&["wget"]),
            "error",
            "`wget` could not be resolved to a bottle",
        ),
    ];
    for (args, status, needle) in cases {
        let args = [os(&["--offline", "--json", "--explain"]), args].concat();
        let out = run(&refs(&args), home.path());
        let lines = checked_lines(&out);
        assert_eq!(lines.len(), 1, "{out:?}");
        assert_eq!(lines[0]["status"], status);
        let explanation = lines[0]["explanation"].as_str().unwrap_or_default();
        assert!(explanation.contains(needle), "{status}: {explanation}");
        // Only the error lines are on stderr: the explanation is not printed twice.
        assert!(!text(&out.stderr).contains("What was looked up"), "{out:?}");
    }
}
