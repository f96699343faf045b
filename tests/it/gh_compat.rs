//! gh-compatible mode, driven exactly as brew drives `gh` (Homebrew/brew
//! `Library/Homebrew/attestation.rb`, `check_attestation`): the program is a link named `gh`
//! to brew-verify, found on `PATH`; the arguments are `attestation verify <bottle> --repo
//! <owner/repo> --format json` (plus `--cert-identity` when a workflow is pinned); the
//! environment carries `GH_TOKEN` and `GH_HOST=github.com`; the working directory is brew's
//! temporary directory. Each outcome is then classified with brew's own rules
//! ([`brew_check_attestation`]): exit 0 → parse stdout and pick the attestation whose subject
//! names the bottle; otherwise stderr decides between missing, bad credentials and invalid.
//!
//! The API is the kit's loopback server (`HOMEBREW_BREW_VERIFY_API_URL`), the attestations are
//! minted by the kit's Sigstore stack, whose root is given through
//! `HOMEBREW_BREW_VERIFY_TRUSTED_ROOT` (brew passes no root flag, and passes gh only `HOMEBREW_*`
//! variables besides `GH_TOKEN` and `GH_HOST`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::digest::sha256_bytes;
use bottle_attest::{BottleFilename, BottleRef};
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};
use testkit::github_api::GitHubApiServer;
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{temp_dir, workspace_bin, write};

const SLSA: &str = "https://slsa.dev/provenance/v1";
const CORE: &str = "Homebrew/homebrew-core";
const BACKFILL: &str = "trailofbits/homebrew-brew-verify";
const TOKEN: &str = "ghp_brewverifytesttoken0000000000000000";

fn core_identity() -> WorkflowIdentity {
    WorkflowIdentity::github(CORE, "publish-commit-bottles.yml", "refs/heads/main")
}

fn backfill_identity() -> WorkflowIdentity {
    WorkflowIdentity::github(BACKFILL, "backfill_signatures.yml", "refs/heads/backfill")
}

/// brew's `BACKFILL_CUTOFF`.
fn cutoff() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 14, 0, 0, 0).unwrap()
}

/// The path of the built brew-verify binary.
pub(crate) fn brew_verify_path() -> PathBuf {
    PathBuf::from(workspace_bin("brew-verify").get_program())
}

/// What brew concludes from one `gh attestation verify` run.
#[derive(Debug)]
pub(crate) enum BrewOutcome {
    /// The attestation brew selected (the first whose subjects name the bottle).
    Verified(Value),
    /// `MissingAttestationError`.
    Missing(String),
    /// `GhAuthInvalid`.
    AuthInvalid(String),
    /// `InvalidAttestationError` (including "no attestation matches subject").
    Invalid(String),
    /// `GhIncompatible`.
    Incompatible(String),
}

/// A machine as brew sees it: a `gh` link to brew-verify on PATH, a temp dir to run in, a
/// Homebrew cache, the API fixture and the Sigstore stack.
struct Brew {
    stack: SigstoreStack,
    api: GitHubApiServer,
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Brew {
    fn new() -> Brew {
        let dir = temp_dir();
        gh_link(dir.path());
        std::fs::create_dir_all(dir.path().join("downloads")).unwrap();
        let stack = SigstoreStack::start();
        let root = write(&dir, "trusted_root.json", &stack.trusted_root_json());
        Brew {
            stack,
            api: GitHubApiServer::start(),
            dir,
            root,
        }
    }

    /// Write a bottle into brew's download cache as `<sha256(url)>--<file name>` (what
    /// `bottle.cached_download` is) and return its path and identity.
    fn bottle(&self, file_name: &str, contents: &[u8]) -> (PathBuf, BottleRef) {
        let filename: BottleFilename = file_name.parse().unwrap();
        let bottle = BottleRef {
            digest: sha256_bytes(contents),
            filename,
        };
        let path = self
            .dir
            .path()
            .join("downloads")
            .join(bottle.cache_name(DEFAULT_BOTTLE_ROOT));
        std::fs::write(&path, contents).unwrap();
        (path, bottle)
    }

    /// Sign `subjects` as `id` at `at` (now when `None`) and file the bundle in `repo` under
    /// each digest in `file_under`.
    fn attest(
        &self,
        repo: &str,
        id: &WorkflowIdentity,
        at: Option<DateTime<Utc>>,
        subjects: &[(String, [u8; 32])],
        file_under: &[&BottleRef],
    ) -> String {
        match at {
            Some(t) => self.stack.set_time(t),
            None => self.stack.use_real_time(),
        }
        let bundle = self.stack.sign_attestation(id, SLSA, json!({}), subjects);
        self.stack.use_real_time();
        for b in file_under {
            self.api.add(repo, &b.digest.to_hex(), &bundle);
        }
        bundle
    }

    /// The environment brew gives gh, plus our two test hooks (API and root).
    fn gh_command(&self, token: &str) -> Command {
        brew_gh_command(self.dir.path(), &self.api.url(), &self.root, token)
    }

    /// brew's command line for one bottle.
    fn verify(&self, bottle: &Path, repo: &str, workflow: Option<&str>, token: &str) -> Output {
        let mut cmd = self.gh_command(token);
        cmd.arg("attestation")
            .arg("verify")
            .arg(bottle)
            .args(["--repo", repo, "--format", "json"]);
        if let Some(w) = workflow {
            cmd.args(["--cert-identity", w]);
        }
        cmd.output().expect("run the gh link")
    }
}

/// `home/bin` with a `gh` link to brew-verify in it (made once), and brew's temporary
/// directory `home/tmp`; returns `home/bin`.
fn gh_link(home: &Path) -> PathBuf {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    if std::fs::symlink_metadata(bin.join("gh")).is_err() {
        std::os::unix::fs::symlink(brew_verify_path(), bin.join("gh")).unwrap();
    }
    bin
}

/// `gh` as brew runs it, on a machine rooted at `home`: a `gh` link to brew-verify in
/// `home/bin` first on a bare `PATH`, nothing but brew's variables (`GH_TOKEN`, `GH_HOST`, the
/// `HOMEBREW_*` settings, with the API at `api_url` and the trusted root `root`), run from brew's
/// temporary directory `home/tmp`. For any test that wants brew's view of an attestation.
pub(crate) fn brew_gh_command(home: &Path, api_url: &str, root: &Path, token: &str) -> Command {
    let bin = gh_link(home);
    let mut cmd = Command::new(bin.join("gh"));
    cmd.env_clear();
    crate::util::no_tuf(&mut cmd)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", home)
        .env("HOMEBREW_CACHE", home.join("cache"))
        .env("GH_TOKEN", token)
        .env("GH_HOST", "github.com")
        .env("HOMEBREW_BREW_VERIFY_API_URL", api_url)
        .env("HOMEBREW_BREW_VERIFY_TRUSTED_ROOT", root)
        // The loopback API stands in for api.github.com, but under gh's rules GH_TOKEN is
        // bound to github.com and never goes to another host: the same token is handed
        // over as the enterprise variable, the one gh sends to any other API host.
        .env("GH_ENTERPRISE_TOKEN", token)
        .current_dir(home.join("tmp"));
    cmd
}

/// brew's `check_attestation`, after its gh call: classify a failure by exit status and
/// stderr, or select the attestation naming the bottle (`:all` bottles by `name--version`).
pub(crate) fn brew_check_attestation(
    out: &Output,
    bottle: &BottleRef,
    subject: Option<&str>,
) -> BrewOutcome {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let code = out.status.code();
        if code == Some(1) && stderr.contains("unknown command") {
            return BrewOutcome::Incompatible(stderr);
        }
        if code == Some(4) || stderr.contains("HTTP 401: Bad credentials") {
            return BrewOutcome::AuthInvalid(stderr);
        }
        // `stderr.include?("HTTP 404: Not Found") || stderr.match?(/: no attestations found\R/)`
        if stderr.contains("HTTP 404: Not Found") || ends_a_line(&stderr, ": no attestations found")
        {
            return BrewOutcome::Missing(stderr);
        }
        return BrewOutcome::Invalid(stderr);
    }
    let Ok(Value::Array(attestations)) = serde_json::from_slice::<Value>(&out.stdout) else {
        return BrewOutcome::Invalid("attestation verification returned malformed JSON".into());
    };
    let filename = bottle.filename.to_string();
    let subject = subject.unwrap_or(&filename);
    let names = |a: &Value| -> Vec<String> {
        a.pointer("/verificationResult/statement/subject")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let found = if bottle.filename.is_all() {
        let prefix = format!("{}--{}", bottle.filename.name(), bottle.filename.version());
        attestations
            .iter()
            .find(|a| names(a).iter().any(|n| n.starts_with(&prefix)))
    } else {
        attestations
            .iter()
            .find(|a| names(a).iter().any(|n| n == subject))
    };
    match found {
        Some(a) => BrewOutcome::Verified(a.clone()),
        None => BrewOutcome::Invalid(format!("no attestation matches subject: {subject}")),
    }
}

/// Ruby's `/<marker>\R/`: `marker` followed by a line break (`\R` is `\r\n` or any of
/// `\n \v \f \r`, U+0085, U+2028, U+2029).
fn ends_a_line(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(i, _)| {
        text[i + marker.len()..].chars().next().is_some_and(|c| {
            matches!(
                c,
                '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
            )
        })
    })
}

/// brew's `check_core_attestation`: homebrew-core first; only when that is *missing*, the
/// backfill repository with the cache-name subject, whose `verifiedTimestamps[0]` must not be
/// after the cutoff. Any other outcome of the core step is final.
fn brew_check_core_attestation(brew: &Brew, path: &Path, bottle: &BottleRef) -> BrewOutcome {
    let out = brew.verify(path, CORE, None, TOKEN);
    match brew_check_attestation(&out, bottle, None) {
        BrewOutcome::Missing(_) => {}
        other => return other,
    }
    let subject = bottle.cache_name(DEFAULT_BOTTLE_ROOT);
    let out = brew.verify(path, BACKFILL, None, TOKEN);
    match brew_check_attestation(&out, bottle, Some(&subject)) {
        BrewOutcome::Verified(att) => match brew_backfill_timestamp_ok(&att) {
            Ok(_) => BrewOutcome::Verified(att),
            Err(why) => BrewOutcome::Invalid(why),
        },
        other => other,
    }
}

/// brew's backfill step after a verified backfill attestation: the first verified timestamp
/// must exist and not be after the cutoff.
fn brew_backfill_timestamp_ok(attestation: &Value) -> Result<DateTime<Utc>, String> {
    let ts = attestation
        .pointer("/verificationResult/verifiedTimestamps/0/timestamp")
        .and_then(Value::as_str)
        .ok_or("backfill attestation is missing verified timestamp")?;
    let t = DateTime::parse_from_rfc3339(ts)
        .map_err(|e| format!("{ts}: {e}"))?
        .with_timezone(&Utc);
    if t > cutoff() {
        return Err("backfill attestation post-dates cutoff".into());
    }
    Ok(t)
}

fn subject(b: &BottleRef) -> (String, [u8; 32]) {
    (b.filename.to_string(), *b.digest.as_bytes())
}

fn names(attestation: &Value) -> Vec<String> {
    attestation["verificationResult"]["statement"]["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn core_bottle_verifies_and_brew_finds_its_subject() {
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("wget--1.24.5.arm64_sonoma.bottle.tar.gz", b"wget bottle");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&bottle)],
        &[&bottle],
    );

    let out = brew.verify(&path, CORE, None, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let BrewOutcome::Verified(att) = brew_check_attestation(&out, &bottle, None) else {
        panic!("{out:?}")
    };
    assert_eq!(names(&att), vec![bottle.filename.to_string()]);
    let result = &att["verificationResult"];
    assert_eq!(
        result["mediaType"],
        "application/vnd.dev.sigstore.verificationresult+json;version=0.1"
    );
    assert_eq!(result["statement"]["predicateType"], SLSA);
    assert_eq!(
        result["statement"]["subject"][0]["digest"]["sha256"],
        bottle.digest.to_hex()
    );
    let cert = &result["signature"]["certificate"];
    assert_eq!(
        cert["subjectAlternativeName"],
        core_identity().san(),
        "{cert}"
    );
    assert_eq!(
        cert["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        cert["sourceRepositoryURI"],
        "https://github.com/Homebrew/homebrew-core"
    );
    assert_eq!(
        cert["sourceRepositoryOwnerURI"],
        "https://github.com/Homebrew"
    );
    assert!(
        cert["buildSignerURI"]
            .as_str()
            .unwrap()
            .contains(".github/workflows/")
    );
    assert!(cert["certificateIssuer"].as_str().unwrap().contains("CN="));
    let ts = &result["verifiedTimestamps"][0];
    assert_eq!(ts["type"], "Tlog");
    let t = DateTime::parse_from_rfc3339(ts["timestamp"].as_str().unwrap()).unwrap();
    assert!((Utc::now() - t.with_timezone(&Utc)).num_minutes().abs() < 10);
    // The bundle travels along as gh's `attestation.bundle`, and verifies on its own.
    assert!(att["attestation"]["bundle"]["mediaType"].is_string());
    // brew's stdout carries only the JSON; the diagnostics went to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("✓ Verification succeeded!"), "{stderr}");
    // The token went to the API.
    let requests = brew.api.api_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // Pinned workflow (`--cert-identity`): the exact SAN passes, another fails as invalid.
    let out = brew.verify(&path, CORE, Some(&core_identity().san()), TOKEN);
    assert!(matches!(
        brew_check_attestation(&out, &bottle, None),
        BrewOutcome::Verified(_)
    ));
    let other =
        "https://github.com/Homebrew/homebrew-core/.github/workflows/other.yml@refs/heads/main";
    let out = brew.verify(&path, CORE, Some(other), TOKEN);
    assert!(
        matches!(
            brew_check_attestation(&out, &bottle, None),
            BrewOutcome::Invalid(_)
        ),
        "{out:?}"
    );
}

#[test]
fn backfill_bottle_is_missing_in_core_then_found_with_its_cutoff_timestamp() {
    let brew = Brew::new();
    let (old_path, old) = brew.bottle("oldlib--0.9.x86_64_linux.bottle.tar.gz", b"old bottle");
    let (late_path, late) = brew.bottle("latelib--1.0.x86_64_linux.bottle.tar.gz", b"late one");
    let before = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
    let after = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
    for (b, at) in [(&old, before), (&late, after)] {
        let name = b.cache_name(DEFAULT_BOTTLE_ROOT);
        brew.attest(
            BACKFILL,
            &backfill_identity(),
            Some(at),
            &[(name, *b.digest.as_bytes())],
            &[b],
        );
    }

    // Step 1 of brew's waterfall: core has nothing → missing (and only then the backfill).
    let out = brew.verify(&old_path, CORE, None, TOKEN);
    assert!(
        matches!(
            brew_check_attestation(&out, &old, None),
            BrewOutcome::Missing(_)
        ),
        "{out:?}"
    );
    // Step 2: the backfill repository, subject `<sha256(url)>--<file name>`.
    let wanted = old.cache_name(DEFAULT_BOTTLE_ROOT);
    let out = brew.verify(&old_path, BACKFILL, None, TOKEN);
    let BrewOutcome::Verified(att) = brew_check_attestation(&out, &old, Some(&wanted)) else {
        panic!("{out:?}")
    };
    assert_eq!(names(&att), vec![wanted.clone()]);
    assert!(wanted.ends_with("--oldlib--0.9.x86_64_linux.bottle.tar.gz"));
    assert_eq!(
        wanted.split("--").next().unwrap(),
        hex::encode(sha256_bytes(old.blob_url(DEFAULT_BOTTLE_ROOT).as_bytes()).as_bytes())
    );
    let t = brew_backfill_timestamp_ok(&att).expect("before the cutoff");
    assert_eq!(t, before);

    // A backfill attestation logged after the cutoff verifies as gh would, and brew's cutoff
    // check on `verifiedTimestamps[0].timestamp` refuses it.
    let wanted = late.cache_name(DEFAULT_BOTTLE_ROOT);
    let out = brew.verify(&late_path, BACKFILL, None, TOKEN);
    let BrewOutcome::Verified(att) = brew_check_attestation(&out, &late, Some(&wanted)) else {
        panic!("{out:?}")
    };
    assert_eq!(
        brew_backfill_timestamp_ok(&att),
        Err("backfill attestation post-dates cutoff".to_owned())
    );
}

#[test]
fn all_bottle_matches_on_name_and_version() {
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("ca-certificates--2024.11.26.all.bottle.tar.gz", b"all");
    // `brew bottle --merge` deduplicates per-platform bottles into one `:all` bottle: the
    // statement names the platform files, all with the same digest.
    let digest = *bottle.digest.as_bytes();
    let subjects: Vec<(String, [u8; 32])> = ["arm64_sequoia", "sonoma", "x86_64_linux"]
        .iter()
        .map(|tag| {
            (
                format!("ca-certificates--2024.11.26.{tag}.bottle.tar.gz"),
                digest,
            )
        })
        .collect();
    brew.attest(CORE, &core_identity(), None, &subjects, &[&bottle]);

    let out = brew.verify(&path, CORE, None, TOKEN);
    let BrewOutcome::Verified(att) = brew_check_attestation(&out, &bottle, None) else {
        panic!("{out:?}")
    };
    assert_eq!(names(&att).len(), 3);
    assert!(
        names(&att)
            .iter()
            .all(|n| n.starts_with("ca-certificates--2024.11.26."))
    );
    // No subject is the `:all` file name itself: an exact-name check would have failed.
    assert!(!names(&att).contains(&bottle.filename.to_string()));
}

#[test]
fn multi_subject_statement_is_found_by_the_bottles_own_subject() {
    let brew = Brew::new();
    let (_, a) = brew.bottle("liba--1.0.arm64_sonoma.bottle.tar.gz", b"a");
    let (path_b, b) = brew.bottle("libb--2.0.arm64_sonoma.bottle.tar.gz", b"bb");
    let (_, c) = brew.bottle("libc--3.0.arm64_sonoma.bottle.tar.gz", b"ccc");
    // One signature over three bottles (actions/attest v2 batches subjects).
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&a), subject(&b), subject(&c)],
        &[&a, &b, &c],
    );
    // And an unrelated attestation of libb's digest under another name, listed first.
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[(
            "renamed--2.0.arm64_sonoma.bottle.tar.gz".into(),
            *b.digest.as_bytes(),
        )],
        &[&b],
    );

    let out = brew.verify(&path_b, CORE, None, TOKEN);
    let Value::Array(all) = serde_json::from_slice::<Value>(&out.stdout).unwrap() else {
        panic!("{out:?}")
    };
    assert_eq!(all.len(), 2, "every passing attestation is listed");
    let BrewOutcome::Verified(att) = brew_check_attestation(&out, &b, None) else {
        panic!("{out:?}")
    };
    // Only the subject carrying this bottle's digest is printed (the statement names a and c
    // too, with their own digests).
    let _ = (&a, &c);
    assert_eq!(names(&att), vec![b.filename.to_string()]);
}

#[test]
fn missing_invalid_and_bad_credentials_are_told_apart_as_brew_does() {
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("jq--1.7.1.arm64_sonoma.bottle.tar.gz", b"jq bottle");

    // Missing: the API answers an empty list…
    let out = brew.verify(&path, CORE, None, TOKEN);
    assert_eq!(out.status.code(), Some(1));
    let outcome = brew_check_attestation(&out, &bottle, None);
    let BrewOutcome::Missing(stderr) = &outcome else {
        panic!("{outcome:?}")
    };
    // gh's words (cli/cli `pkg/cmd/attestation/verify/verify.go`): the subject line, then
    // `Error: no attestations found`, which brew's `/: no attestations found\R/` matches.
    assert!(
        stderr.contains(&format!(
            "✗ No attestations found for subject sha256:{}",
            bottle.digest.to_hex()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nError: no attestations found\n"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // …or 404, as it used to: gh prints the API's `HTTP 404: Not Found (<url>)`.
    brew.api.set_not_found_for_missing(true);
    let out = brew.verify(&path, CORE, None, TOKEN);
    let outcome = brew_check_attestation(&out, &bottle, None);
    let BrewOutcome::Missing(stderr) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        stderr.contains("Error: HTTP 404: Not Found (http://"),
        "{stderr}"
    );
    brew.api.set_not_found_for_missing(false);

    // Bad credentials: HTTP 401 from the API (exit 1, gh's text).
    brew.api.require_token(Some("the-right-token"));
    let out = brew.verify(&path, CORE, None, "a-wrong-token");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let outcome = brew_check_attestation(&out, &bottle, None);
    let BrewOutcome::AuthInvalid(stderr) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(stderr.contains("HTTP 401: Bad credentials"), "{stderr}");
    assert!(
        !stderr.contains("a-wrong-token"),
        "the token is never printed"
    );
    brew.api.require_token(None);

    // Invalid: an attestation by another repository's workflow filed under core.
    let evil = WorkflowIdentity::github("attacker/homebrew-core", "publish.yml", "refs/heads/main");
    brew.attest(CORE, &evil, None, &[subject(&bottle)], &[&bottle]);
    let out = brew.verify(&path, CORE, None, TOKEN);
    let outcome = brew_check_attestation(&out, &bottle, None);
    let BrewOutcome::Invalid(stderr) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        stderr.contains("✗ Sigstore verification failed"),
        "{stderr}"
    );
    assert!(stderr.contains("attacker/homebrew-core"), "{stderr}");

    // Invalid: an attestation filed under this digest that names other bytes.
    let (path2, other) = brew.bottle("yq--4.0.arm64_sonoma.bottle.tar.gz", b"yq bottle");
    let decoy = ("yq--4.0.arm64_sonoma.bottle.tar.gz".to_owned(), [7u8; 32]);
    brew.attest(CORE, &core_identity(), None, &[decoy], &[&other]);
    let out = brew.verify(&path2, CORE, None, TOKEN);
    assert!(
        matches!(
            brew_check_attestation(&out, &other, None),
            BrewOutcome::Invalid(_)
        ),
        "{out:?}"
    );

    // Invalid for brew, verified for gh: the statement covers the digest under another name.
    let (path3, renamed) = brew.bottle("zstd--1.5.6.arm64_sonoma.bottle.tar.gz", b"zstd");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[(
            "not-zstd--1.0.arm64_sonoma.bottle.tar.gz".into(),
            *renamed.digest.as_bytes(),
        )],
        &[&renamed],
    );
    let out = brew.verify(&path3, CORE, None, TOKEN);
    assert_eq!(out.status.code(), Some(0));
    let outcome = brew_check_attestation(&out, &renamed, None);
    assert!(
        matches!(&outcome, BrewOutcome::Invalid(m) if m.contains("no attestation matches subject")),
        "{outcome:?}"
    );

    // Never "unknown command" (brew's GhIncompatible), never exit 4 (gh's "not logged in").
    let out = brew.verify(&path, CORE, None, "");
    match brew_check_attestation(&out, &bottle, None) {
        BrewOutcome::Incompatible(e) | BrewOutcome::AuthInvalid(e) => panic!("{e}"),
        _ => {}
    }
}

#[test]
fn a_cached_attestation_verifies_without_the_api() {
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("wget--1.24.5.x86_64_linux.bottle.tar.gz", b"wget linux");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&bottle)],
        &[&bottle],
    );
    let out = brew.verify(&path, CORE, None, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(brew.api.request_counts().api, 1);

    // Second run: served from `$HOMEBREW_CACHE/brew-verify`, no request at all; then with the
    // API unreachable (a closed port).
    let out = brew.verify(&path, CORE, None, TOKEN);
    assert!(matches!(
        brew_check_attestation(&out, &bottle, None),
        BrewOutcome::Verified(_)
    ));
    assert_eq!(brew.api.request_counts().api, 1, "the cache answered");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // HOMEBREW_BREW_VERIFY_API_URL is the setting that wins (the legacy
    // BREW_VERIFY_GH_API_URL is read only without it), so that is the one pointed at the
    // closed port.
    let unreachable = |no_cache: bool| {
        let mut cmd = brew.gh_command(TOKEN);
        cmd.env("HOMEBREW_BREW_VERIFY_API_URL", &dead);
        if no_cache {
            cmd.env("HOMEBREW_BREW_VERIFY_NO_CACHE", "1");
        }
        cmd.args(["attestation", "verify"])
            .arg(&path)
            .args(["--repo", CORE, "--format", "json"])
            .output()
            .unwrap()
    };
    let out = unreachable(false);
    assert!(
        matches!(
            brew_check_attestation(&out, &bottle, None),
            BrewOutcome::Verified(_)
        ),
        "{out:?}"
    );
    // The API really is unreachable there: without the cache the same run fails, on the
    // connection.
    let out = unreachable(true);
    let outcome = brew_check_attestation(&out, &bottle, None);
    assert!(
        matches!(&outcome, BrewOutcome::Invalid(why) if why.contains("connection was refused")),
        "{outcome:?}"
    );
    assert_eq!(brew.api.request_counts().api, 1);
}

/// brew's parsing in Ruby itself, when Ruby is installed (Debian package `ruby`); CI installs
/// it, a developer machine without it skips.
#[test]
fn ruby_parses_our_output_as_brew_does() {
    let Some(ruby) = which("ruby") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ruby is not installed (apt-get install ruby)"
        );
        eprintln!("skipping: ruby not installed");
        return;
    };
    let brew = Brew::new();
    // The body of brew's `check_attestation` after `system_command!`, and its backfill
    // cutoff check, verbatim in what they read.
    let script = write(
        &brew.dir,
        "check.rb",
        r#"
require "json"
require "date"
mode, subject, filename_prefix = ARGV
BACKFILL_CUTOFF = DateTime.new(2024, 3, 14).freeze
begin
  attestations = JSON.parse($stdin.read)
rescue JSON::ParserError
  abort "attestation verification returned malformed JSON"
end
attestation = if mode == "all"
  attestations.find do |a|
    candidate_subjects = a.dig("verificationResult", "statement", "subject")
    candidate_subjects.any? do |candidate|
      candidate["name"].start_with? filename_prefix
    end
  end
else
  attestations.find do |a|
    candidate_subjects = a.dig("verificationResult", "statement", "subject")
    candidate_subjects.any? { |candidate| candidate["name"] == subject }
  end
end
abort "no attestation matches subject: #{subject}" if attestation.nil?
if mode == "backfill"
  timestamp = attestation.dig("verificationResult", "verifiedTimestamps", 0, "timestamp")
  abort "backfill attestation is missing verified timestamp" if timestamp.nil?
  abort "backfill attestation post-dates cutoff" if DateTime.parse(timestamp) > BACKFILL_CUTOFF
end
puts attestation.dig("verificationResult", "signature", "certificate", "subjectAlternativeName")
"#,
    );
    let run_ruby = |stdin: &[u8], args: &[&str]| -> Output {
        use std::io::Write as _;
        let mut child = Command::new(&ruby)
            .arg(&script)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };

    // Core.
    let (path, bottle) = brew.bottle("wget--1.24.5.arm64_sonoma.bottle.tar.gz", b"wget");
    let (_, other) = brew.bottle("curl--8.0.arm64_sonoma.bottle.tar.gz", b"curl");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&other), subject(&bottle)],
        &[&bottle],
    );
    let out = brew.verify(&path, CORE, None, TOKEN);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let filename = bottle.filename.to_string();
    let r = run_ruby(&out.stdout, &["core", &filename, ""]);
    assert!(r.status.success(), "{r:?}");
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        core_identity().san()
    );

    // :all.
    let (path, all) = brew.bottle("tzdata--2025a.all.bottle.tar.gz", b"tz");
    let digest = *all.digest.as_bytes();
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[("tzdata--2025a.x86_64_linux.bottle.tar.gz".into(), digest)],
        &[&all],
    );
    let out = brew.verify(&path, CORE, None, TOKEN);
    let r = run_ruby(&out.stdout, &["all", "", "tzdata--2025a"]);
    assert!(r.status.success(), "{r:?}");

    // Backfill, before and after the cutoff.
    for (name, at, ok) in [
        (
            "oldlib--0.9.x86_64_linux.bottle.tar.gz",
            (2024, 3, 13),
            true,
        ),
        (
            "newlib--0.9.x86_64_linux.bottle.tar.gz",
            (2024, 3, 15),
            false,
        ),
    ] {
        let (path, b) = brew.bottle(name, name.as_bytes());
        let cache_name = b.cache_name(DEFAULT_BOTTLE_ROOT);
        let at = Utc.with_ymd_and_hms(at.0, at.1, at.2, 0, 0, 0).unwrap();
        brew.attest(
            BACKFILL,
            &backfill_identity(),
            Some(at),
            &[(cache_name.clone(), *b.digest.as_bytes())],
            &[&b],
        );
        let out = brew.verify(&path, BACKFILL, None, TOKEN);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let r = run_ruby(&out.stdout, &["backfill", &cache_name, ""]);
        assert_eq!(r.status.success(), ok, "{name}: {r:?}");
        if !ok {
            assert!(String::from_utf8_lossy(&r.stderr).contains("post-dates cutoff"));
        }
    }

    // A subject brew does not find.
    let r = run_ruby(b"[]", &["core", &filename, ""]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("no attestation matches subject"));
}

/// A fake `gh` later on PATH receives every command we do not answer, with its arguments,
/// environment and exit status; a chain of `gh` wrappers and links back to us never loops.
#[test]
fn other_gh_commands_reach_the_real_gh_and_never_recurse() {
    let dir = temp_dir();
    let shim = dir.path().join("shim");
    let real = dir.path().join("real");
    std::fs::create_dir_all(&shim).unwrap();
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(brew_verify_path(), shim.join("gh")).unwrap();
    let fake = real.join("gh");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"real gh: $*\"\necho \"token: $GH_TOKEN\" >&2\nexit 7\n",
    )
    .unwrap();
    make_executable(&fake);
    let path_var = |dirs: &[&Path]| {
        let mut parts: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        parts.push("/usr/bin:/bin".into());
        parts.join(":")
    };
    let run = |path: &str, args: &[&str]| -> Output {
        Command::new(shim.join("gh"))
            .env_clear()
            .env("PATH", path)
            .env("GH_TOKEN", "t0k")
            .args(args)
            .output()
            .unwrap()
    };

    // `gh auth token`, `gh --version`, `gh attestation inspect`: the real gh, as is.
    for args in [
        &["auth", "token", "--hostname", "github.com"][..],
        &["--version"][..],
        &["attestation", "inspect", "x.json"][..],
    ] {
        let out = run(&path_var(&[&shim, &real]), args);
        assert_eq!(out.status.code(), Some(7), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("real gh: {}", args.join(" "))
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "token: t0k");
    }
    // `brew-verify gh …` passes through the same way.
    let out = Command::new(brew_verify_path())
        .env_clear()
        .env("PATH", path_var(&[&shim, &real]))
        .args(["gh", "auth", "token"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "real gh: auth token"
    );

    // No real gh at all: a clear error, not a loop (a second link to us, a hard link too).
    let shim2 = dir.path().join("shim2");
    std::fs::create_dir_all(&shim2).unwrap();
    std::os::unix::fs::symlink(shim.join("gh"), shim2.join("gh")).unwrap();
    let hard = dir.path().join("hard");
    std::fs::create_dir_all(&hard).unwrap();
    if std::fs::hard_link(brew_verify_path(), hard.join("gh")).is_err() {
        std::fs::copy(brew_verify_path(), hard.join("gh")).unwrap();
    }
    let started = std::time::Instant::now();
    let out = run(&path_var(&[&shim, &shim2, &hard]), &["auth", "token"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // (A copy, where a hard link across file systems is impossible, is another program: it is
    // tried once and then says nothing is left.)
    assert!(
        stderr.contains("there is no other `gh` on PATH")
            || stderr.contains("no `gh` on PATH is left to try"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // A wrapper script named gh that runs `gh "$@"` again (finding our link first on PATH):
    // each hop consumes one candidate, so it ends with a clear error instead of looping.
    let wrap = dir.path().join("wrap");
    std::fs::create_dir_all(&wrap).unwrap();
    std::fs::write(wrap.join("gh"), "#!/bin/sh\nexec gh \"$@\"\n").unwrap();
    make_executable(&wrap.join("gh"));
    let started = std::time::Instant::now();
    let out = run(&path_var(&[&shim, &wrap, &shim2]), &["pr", "list"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no `gh` on PATH is left to try"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The same wrapper in front of a real gh: the command arrives there once.
    let out = run(&path_var(&[&shim, &wrap, &real]), &["pr", "list"]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "real gh: pr list"
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// `install-gh-shim` makes the link and prints the PATH line; `doctor` then says brew would run
/// brew-verify (exit 0), and says otherwise without it (exit 1).
#[test]
fn install_gh_shim_then_doctor_sees_it() {
    let dir = temp_dir();
    let bin = dir.path().join("shim-bin");
    let out = Command::new(brew_verify_path())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("install-gh-shim")
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bin = std::fs::canonicalize(&bin).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("export PATH=\"{}:$PATH\"", bin.display())
    );
    assert_eq!(
        std::fs::canonicalize(bin.join("gh")).unwrap(),
        std::fs::canonicalize(brew_verify_path()).unwrap()
    );
    // Again: nothing to do, same line.
    let again = Command::new(brew_verify_path())
        .env("HOME", dir.path())
        .arg("install-gh-shim")
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{again:?}");

    let doctor = |path: String| {
        Command::new(brew_verify_path())
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", path)
            .env("HOMEBREW_PREFIX", dir.path().join("no-prefix"))
            .env("HOMEBREW_GITHUB_API_TOKEN", "x")
            .arg("doctor")
            .output()
            .unwrap()
    };
    if ["/usr/bin/gh", "/bin/gh", "/usr/sbin/gh", "/sbin/gh"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        eprintln!("skipping the doctor half: a system gh comes first on brew's own PATH");
        return;
    }
    let out = doctor(format!("{}:/usr/bin:/bin", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("is brew-verify:    yes"), "{text}");
    assert!(text.contains("HOMEBREW_GITHUB_API_TOKEN is set"), "{text}");
    assert!(!text.contains("\"x\""));
    let out = doctor("/usr/bin:/bin".into());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("install-gh-shim"));
}

/// `brew provenance` (the `brew-provenance` link) with no arguments: every keg in
/// `HOMEBREW_CELLAR` poured from a bottle, using the bottle still in `HOMEBREW_CACHE` when
/// there is one and the formula API otherwise; kegs built from source or from other taps are
/// skipped.
#[test]
fn brew_provenance_checks_every_installed_bottle() {
    let brew = Brew::new();
    let cellar = brew.dir.path().join("Cellar");
    let cache = brew.dir.path().join("cache");
    std::fs::create_dir_all(cache.join("downloads")).unwrap();
    let keg = |name: &str, version: &str, receipt: Value| {
        let dir = cellar.join(name).join(version);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("INSTALL_RECEIPT.json"), receipt.to_string()).unwrap();
    };
    let poured = |tap: &str| {
        json!({"poured_from_bottle": true, "source": {"tap": tap, "versions": {"stable": "x"}},
               "built_on": {"os": "Linux"}, "arch": "x86_64"})
    };
    // In the download cache: wget (core attestation) and oldlib (backfill, before the cutoff).
    let cached = |file_name: &str, contents: &[u8]| {
        let filename: BottleFilename = file_name.parse().unwrap();
        let bottle = BottleRef {
            digest: sha256_bytes(contents),
            filename,
        };
        let path = cache
            .join("downloads")
            .join(bottle.cache_name(DEFAULT_BOTTLE_ROOT));
        std::fs::write(path, contents).unwrap();
        bottle
    };
    keg("wget", "1.24.5_1", poured("homebrew/core"));
    let wget = cached("wget--1.24.5_1.x86_64_linux.bottle.tar.gz", b"wget keg");
    brew.attest(CORE, &core_identity(), None, &[subject(&wget)], &[&wget]);
    keg("oldlib", "0.9", poured("homebrew/core"));
    let oldlib = cached("oldlib--0.9.x86_64_linux.bottle.1.tar.gz", b"oldlib keg");
    brew.attest(
        BACKFILL,
        &backfill_identity(),
        Some(Utc.with_ymd_and_hms(2024, 3, 2, 0, 0, 0).unwrap()),
        &[(
            oldlib.cache_name(DEFAULT_BOTTLE_ROOT),
            *oldlib.digest.as_bytes(),
        )],
        &[&oldlib],
    );
    // Not cached: jq from the formula API (same version), gone (the API moved on).
    keg("jq", "1.7.1", poured("homebrew/core"));
    let jq_digest = sha256_bytes(b"jq from the api");
    let jq = BottleRef {
        digest: jq_digest,
        filename: "jq--1.7.1.x86_64_linux.bottle.tar.gz".parse().unwrap(),
    };
    brew.attest(CORE, &core_identity(), None, &[subject(&jq)], &[&jq]);
    keg("gone", "2.0", poured("homebrew/core"));
    // Skipped: built from source; from another tap.
    keg(
        "srconly",
        "1.0",
        json!({"poured_from_bottle": false, "source": {"tap": "homebrew/core"}}),
    );
    keg("tapped", "1.0", poured("someone/tools"));

    let file = |name: &str, version: &str, digest: &bottle_attest::Sha256Hash| {
        json!({"name": name, "versions": {"stable": version}, "revision": 0,
               "bottle": {"stable": {"rebuild": 0, "root_url": DEFAULT_BOTTLE_ROOT,
                 "files": {"x86_64_linux": {
                   "url": format!("{DEFAULT_BOTTLE_ROOT}/{name}/blobs/sha256:{}", digest.to_hex()),
                   "sha256": digest.to_hex()}}}}})
    };
    let formulae = write(
        &brew.dir,
        "formula.json",
        &json!([
            file("jq", "1.7.1", &jq_digest),
            file("gone", "3.0", &sha256_bytes(b"new gone"))
        ])
        .to_string(),
    );

    let bin = brew.dir.path().join("bin");
    std::os::unix::fs::symlink(brew_verify_path(), bin.join("brew-provenance")).unwrap();
    let run = |extra: &[&str]| {
        Command::new(bin.join("brew-provenance"))
            .env_clear()
            .env("HOMEBREW_BREW_VERIFY_TUF_URL", "http://127.0.0.1:9/")
            .env("HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL", "http://127.0.0.1:9/")
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("HOME", brew.dir.path())
            .env("HOMEBREW_CELLAR", &cellar)
            .env("HOMEBREW_CACHE", &cache)
            .env("HOMEBREW_PREFIX", brew.dir.path())
            .args(["--trusted-root".as_ref(), brew.root.as_os_str()])
            .args(["--api-url", &brew.api.url()])
            .args(["--formula-json".as_ref(), formulae.as_os_str()])
            .args(["--bottle-tag", "x86_64_linux"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--json", "--verbose"]);
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("gone 2.0".into(), "error".into(), String::new()),
            ("jq 1.7.1".into(), "verified".into(), "homebrew-core".into()),
            ("oldlib 0.9".into(), "verified".into(), "backfill".into()),
            (
                "wget 1.24.5_1".into(),
                "verified".into(),
                "homebrew-core".into()
            ),
        ],
        "{out:?}"
    );
    assert_eq!(out.status.code(), Some(4), "one could not be checked");
    assert!(
        results[0]["error"].as_str().unwrap().starts_with(
            "gone 2.0 is installed but the formula API now has 3.0, and the installed bottle \
             is no longer in the download cache (`brew upgrade gone` or `brew fetch` it)"
        ),
        "{}",
        results[0]
    );
    // The cached files were hashed: the rebuild-1 oldlib bottle is the one checked.
    assert_eq!(
        results[2]["bottle"]["file_name"],
        "oldlib--0.9.x86_64_linux.bottle.1.tar.gz"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skipped srconly 1.0: built from source"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped tapped 1.0: from the tap someone/tools"),
        "{stderr}"
    );

    // `--quiet` prints only what failed; named formulae are the ordinary check (here offline,
    // from the attestation cache the first run filled: no registry, no API).
    let out = run(&["--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // What failed is an error, on stderr; nothing that passed is printed.
    assert!(stderr.contains("gone 2.0"), "{stderr}");
    assert!(
        !stdout.contains("wget") && !stderr.contains("wget"),
        "{stdout}{stderr}"
    );
    let requests = brew.api.request_counts().api;
    let out = run(&["--json", "--offline", "jq"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(brew.api.request_counts().api, requests);
}

/// What the formula runs at install time: completions for three shells and the man pages.
#[test]
fn packaging_generates_completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(brew_verify_path())
            .args(["generate-completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("install-gh-shim"), "{shell}: {text}");
    }
    let dir = temp_dir();
    let out = Command::new(brew_verify_path())
        .args(["generate-man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for page in [
        "brew-verify.1",
        "brew-verify-gh.1",
        "brew-verify-provenance.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    // Hidden from users: not in --help.
    let help = Command::new(brew_verify_path())
        .arg("--help")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("generate-man"));
}

/// Timings for the README (not a check; run by hand, in release mode):
/// `cargo test --release -p workspace-tests --test it gh_mode_timings -- --ignored --nocapture`.
/// Process start to exit for one bottle, as brew runs it: offline (`--bundle`), online against
/// the loopback API (cache off), online with the attestation cached, and sigstore-python's CLI
/// verifying the same bundle offline (the nearest "gh-style" verifier installable here).
#[test]
#[ignore = "a measurement, run by hand"]
fn gh_mode_timings() {
    use std::time::{Duration, Instant};
    const RUNS: usize = 15;
    let brew = Brew::new();
    let (path, bottle) = brew.bottle(
        "wget--1.24.5.arm64_sonoma.bottle.tar.gz",
        &vec![7u8; 4 << 20],
    );
    let bundle = brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&bottle)],
        &[&bottle],
    );
    let bundle_file = write(&brew.dir, "wget.sigstore.json", &bundle);
    let trust_config = write(
        &brew.dir,
        "trust_config.json",
        &brew.stack.trust_config_json(),
    );

    let time = |label: &str, make: &dyn Fn() -> Command| {
        let mut samples = Vec::new();
        for _ in 0..RUNS {
            let mut cmd = make();
            let started = Instant::now();
            let out = cmd.output().unwrap();
            samples.push(started.elapsed());
            assert!(out.status.success(), "{label}: {out:?}");
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "{label:<48} median {:>8.1} ms   min {:>8.1} ms   ({RUNS} runs, 4 MiB bottle)",
            ms(samples[RUNS / 2]),
            ms(samples[0])
        );
        samples[RUNS / 2]
    };
    let ours = |extra: &[&str], env: &[(&str, &str)]| {
        let mut cmd = brew.gh_command(TOKEN);
        cmd.args(["attestation", "verify"])
            .arg(&path)
            .args(["--repo", CORE, "--format", "json"])
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    };
    let bundle_arg = bundle_file.display().to_string();
    let offline = time("brew-verify as gh, offline (--bundle)", &|| {
        ours(&["--bundle", &bundle_arg], &[])
    });
    let online = time(
        "brew-verify as gh, online (loopback API, no cache)",
        &|| ours(&[], &[("BREW_VERIFY_GH_NO_CACHE", "1")]),
    );
    let cached = time("brew-verify as gh, attestation cached", &|| ours(&[], &[]));
    let Some(sigstore) = which("sigstore").or_else(|| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/sigstore");
        p.exists().then_some(p)
    }) else {
        eprintln!("sigstore-python not found: no comparison");
        return;
    };
    let python = time("sigstore-python 4.5.1 CLI, offline", &|| {
        let mut cmd = Command::new(&sigstore);
        cmd.arg("--trust-config")
            .arg(&trust_config)
            .args(["verify", "github", "--offline", "--bundle", &bundle_arg])
            .args(["--cert-identity", &core_identity().san()])
            .args(["--repository", CORE])
            .arg(&path)
            .env("NO_COLOR", "1");
        cmd
    });
    let ratio = |a: Duration| python.as_secs_f64() / a.as_secs_f64();
    eprintln!(
        "sigstore-python / brew-verify: offline {:.0}x, online {:.0}x, cached {:.0}x",
        ratio(offline),
        ratio(online),
        ratio(cached)
    );
}

/// Which repository's attestation brew settled on.
fn repository_of(att: &Value) -> String {
    att.pointer("/verificationResult/signature/certificate/sourceRepositoryURI")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches("https://github.com/")
        .to_owned()
}

#[test]
fn brew_rules_decide_every_scenario() {
    // Issue 11, part 1: the shim run exactly as brew runs it, and brew's own decision rules
    // (`check_core_attestation`) applied to what it prints, for every case brew meets.
    let brew = Brew::new();
    let before = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
    let after = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let backfill = |b: &BottleRef, at| {
        brew.attest(
            BACKFILL,
            &backfill_identity(),
            Some(at),
            &[(b.cache_name(DEFAULT_BOTTLE_ROOT), *b.digest.as_bytes())],
            &[b],
        );
    };
    let verified_by = |outcome: BrewOutcome| match outcome {
        BrewOutcome::Verified(att) => repository_of(&att),
        other => panic!("{other:?}"),
    };

    // Core OK.
    let (p, b) = brew.bottle("s1--1.0.arm64_sonoma.bottle.tar.gz", b"s1");
    brew.attest(CORE, &core_identity(), None, &[subject(&b)], &[&b]);
    assert_eq!(
        verified_by(brew_check_core_attestation(&brew, &p, &b)),
        CORE
    );

    // Core: empty list → backfill OK.
    let (p, b) = brew.bottle("s2--1.0.arm64_sonoma.bottle.tar.gz", b"s2");
    backfill(&b, before);
    assert_eq!(
        verified_by(brew_check_core_attestation(&brew, &p, &b)),
        BACKFILL
    );

    // Backfill logged after the cutoff → invalid.
    let (p, b) = brew.bottle("s4--1.0.arm64_sonoma.bottle.tar.gz", b"s4");
    backfill(&b, after);
    assert!(matches!(
        brew_check_core_attestation(&brew, &p, &b),
        BrewOutcome::Invalid(why) if why.contains("post-dates cutoff")
    ));

    // Core invalid (another repository's workflow filed under core) + a valid backfill →
    // invalid: brew never falls back from an invalid core attestation.
    let (p, b) = brew.bottle("s5--1.0.arm64_sonoma.bottle.tar.gz", b"s5");
    let evil = WorkflowIdentity::github("attacker/homebrew-core", "publish.yml", "refs/heads/main");
    brew.attest(CORE, &evil, None, &[subject(&b)], &[&b]);
    backfill(&b, before);
    assert!(matches!(
        brew_check_core_attestation(&brew, &p, &b),
        BrewOutcome::Invalid(_)
    ));

    // Neither → missing.
    let (p, b) = brew.bottle("s6--1.0.arm64_sonoma.bottle.tar.gz", b"s6");
    assert!(matches!(
        brew_check_core_attestation(&brew, &p, &b),
        BrewOutcome::Missing(_)
    ));

    // Only an SBOM under core (another predicate type) → core missing → backfill OK.
    let (p, b) = brew.bottle("s9--1.0.arm64_sonoma.bottle.tar.gz", b"s9");
    let sbom = brew.stack.sign_attestation(
        &core_identity(),
        "https://spdx.dev/Document/v2.3",
        json!({}),
        &[subject(&b)],
    );
    brew.api.add(CORE, &b.digest.to_hex(), &sbom);
    backfill(&b, before);
    assert_eq!(
        verified_by(brew_check_core_attestation(&brew, &p, &b)),
        BACKFILL
    );

    // Multi-subject core statement: found by the bottle's own subject, and only the
    // subjects carrying its digest are printed.
    let (p, b) = brew.bottle("s10--1.0.arm64_sonoma.bottle.tar.gz", b"s10");
    let other = ("s10--1.0.sonoma.bottle.tar.gz".to_owned(), [3u8; 32]);
    brew.attest(CORE, &core_identity(), None, &[other, subject(&b)], &[&b]);
    let BrewOutcome::Verified(att) = brew_check_core_attestation(&brew, &p, &b) else {
        panic!()
    };
    assert_eq!(names(&att), vec![b.filename.to_string()]);

    // `:all` bottle: matched on name and version.
    let (p, b) = brew.bottle("s11--2.0.all.bottle.tar.gz", b"s11");
    let platform = (
        "s11--2.0.arm64_sonoma.bottle.tar.gz".to_owned(),
        *b.digest.as_bytes(),
    );
    brew.attest(CORE, &core_identity(), None, &[platform], &[&b]);
    assert_eq!(
        verified_by(brew_check_core_attestation(&brew, &p, &b)),
        CORE
    );

    // A rebuild: the exact file name, rebuild included.
    let (p, b) = brew.bottle("s12--1.0.arm64_sonoma.bottle.2.tar.gz", b"s12");
    brew.attest(CORE, &core_identity(), None, &[subject(&b)], &[&b]);
    let BrewOutcome::Verified(att) = brew_check_core_attestation(&brew, &p, &b) else {
        panic!()
    };
    assert_eq!(
        names(&att),
        vec!["s12--1.0.arm64_sonoma.bottle.2.tar.gz".to_owned()]
    );

    // Crossed subjects: the bottle's name on a subject with other bytes, its digest under
    // another name. gh checks the digest, brew the name: together they would accept it; with
    // only the digest's subjects printed, brew finds no subject naming the bottle.
    let (p, b) = brew.bottle("s13--1.0.arm64_sonoma.bottle.tar.gz", b"s13");
    let crossed = [
        (b.filename.to_string(), [9u8; 32]),
        (
            "decoy--1.0.arm64_sonoma.bottle.tar.gz".to_owned(),
            *b.digest.as_bytes(),
        ),
    ];
    brew.attest(CORE, &core_identity(), None, &crossed, &[&b]);
    assert!(matches!(
        brew_check_core_attestation(&brew, &p, &b),
        BrewOutcome::Invalid(why) if why.contains("no attestation matches subject")
    ));

    // 401 → auth (brew's GhAuthInvalid), never missing.
    let (p, b) = brew.bottle("s8--1.0.arm64_sonoma.bottle.tar.gz", b"s8");
    brew.api.require_token(Some("the-right-token"));
    let out = brew.verify(&p, CORE, None, "a-wrong-token");
    assert!(matches!(
        brew_check_attestation(&out, &b, None),
        BrewOutcome::AuthInvalid(_)
    ));
    brew.api.require_token(None);

    // API 5xx (after our retries) → neither verified nor missing.
    brew.api.bad_gateway_next(100);
    let outcome = brew_check_core_attestation(&brew, &p, &b);
    brew.api.clear_faults();
    assert!(
        matches!(&outcome, BrewOutcome::Invalid(why) if why.contains("HTTP 502")),
        "{outcome:?}"
    );

    // API unreachable (a closed loopback port, no cache to answer) → neither verified nor
    // missing: brew's `check_core_attestation` stops at core, never reaching the backfill.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = brew
        .gh_command(TOKEN)
        .env("HOMEBREW_BREW_VERIFY_API_URL", &dead)
        .env("HOMEBREW_BREW_VERIFY_NO_CACHE", "1")
        .args(["attestation", "verify"])
        .arg(&p)
        .args(["--repo", CORE, "--format", "json"])
        .output()
        .unwrap();
    let outcome = brew_check_attestation(&out, &b, None);
    assert!(
        matches!(&outcome, BrewOutcome::Invalid(why)
            if why.contains(&format!("failed to fetch attestations from {CORE}"))
                && why.contains("connection was refused")),
        "{outcome:?}"
    );

    // Core answers 404 → backfill OK (a fresh world: the 404 switch is global).
    let brew = Brew::new();
    brew.api.set_not_found_for_missing(true);
    let (p, b) = brew.bottle("s3--1.0.arm64_sonoma.bottle.tar.gz", b"s3");
    brew.attest(
        BACKFILL,
        &backfill_identity(),
        Some(before),
        &[(b.cache_name(DEFAULT_BOTTLE_ROOT), *b.digest.as_bytes())],
        &[&b],
    );
    assert_eq!(
        verified_by(brew_check_core_attestation(&brew, &p, &b)),
        BACKFILL
    );
}

#[test]
fn the_shim_links_through_opt_so_an_upgrade_keeps_it() {
    // Issue 13: installed by brew, brew-verify lives in Cellar/brew-verify/<version>; a link
    // there dangles after `brew upgrade`. The shim links through opt/brew-verify instead.
    let prefix = temp_dir();
    let cellar_bin = prefix.path().join("Cellar/brew-verify/1.0/bin");
    std::fs::create_dir_all(&cellar_bin).unwrap();
    let installed = cellar_bin.join("brew-verify");
    std::fs::copy(brew_verify_path(), &installed).unwrap();
    std::fs::create_dir_all(prefix.path().join("opt")).unwrap();
    std::os::unix::fs::symlink(
        "../Cellar/brew-verify/1.0",
        prefix.path().join("opt/brew-verify"),
    )
    .unwrap();
    let shim_dir = prefix.path().join("shim");
    let out = Command::new(&installed)
        .env_clear()
        .env("HOME", prefix.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("install-gh-shim")
        .arg(&shim_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let target = std::fs::read_link(shim_dir.join("gh")).unwrap();
    assert!(
        target.ends_with("opt/brew-verify/bin/brew-verify"),
        "{}",
        target.display()
    );
    // `brew upgrade`: a new version, opt repointed, the old keg removed. The shim still works.
    let new_bin = prefix.path().join("Cellar/brew-verify/1.1/bin");
    std::fs::create_dir_all(&new_bin).unwrap();
    std::fs::copy(brew_verify_path(), new_bin.join("brew-verify")).unwrap();
    std::fs::remove_file(prefix.path().join("opt/brew-verify")).unwrap();
    std::os::unix::fs::symlink(
        "../Cellar/brew-verify/1.1",
        prefix.path().join("opt/brew-verify"),
    )
    .unwrap();
    std::fs::remove_dir_all(prefix.path().join("Cellar/brew-verify/1.0")).unwrap();
    let out = Command::new(shim_dir.join("gh"))
        .args(["attestation", "verify", "--help"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the shim dangles after an upgrade: {out:?}"
    );
}

/// `--source-ref` and `--source-digest` (gh ≥ 2.68.0): the certificate's source repository ref
/// and digest must be the ones given; otherwise gh's "expected SourceRepository… to be X, got
/// Y", exit 1, which brew reads as invalid (never missing).
#[test]
fn source_ref_and_source_digest_narrow_the_policy_as_in_gh() {
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("jq--1.7.1.arm64_sonoma.bottle.tar.gz", b"jq bottle");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&bottle)],
        &[&bottle],
    );
    let id = core_identity();
    let run = |extra: &[&str]| {
        brew.gh_command(TOKEN)
            .args(["attestation", "verify"])
            .arg(&path)
            .args(["--repo", CORE, "--format", "json"])
            .args(extra)
            .output()
            .unwrap()
    };

    // The certificate's own ref and commit pass (gh compares without regard to case).
    let upper = id.sha.to_ascii_uppercase();
    for extra in [
        vec!["--source-ref", id.git_ref.as_str()],
        vec!["--source-digest", id.sha.as_str()],
        vec![
            "--source-digest",
            upper.as_str(),
            "--source-ref",
            id.git_ref.as_str(),
        ],
    ] {
        let out = run(&extra);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {out:?}");
        assert!(
            matches!(
                brew_check_attestation(&out, &bottle, None),
                BrewOutcome::Verified(_)
            ),
            "{out:?}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if extra.contains(&"--source-ref") {
            assert!(
                stderr.contains(&format!(
                    "- Source Repository Ref must match:......... {}",
                    id.git_ref
                )),
                "{stderr}"
            );
        }
    }

    // Another ref, a short ref, another commit: gh's words, exit 1, invalid for brew.
    let other_sha = "0".repeat(40);
    for (extra, message) in [
        (
            vec!["--source-ref", "refs/heads/other"],
            format!(
                "expected SourceRepositoryRef to be refs/heads/other, got {}",
                id.git_ref
            ),
        ),
        (
            vec!["--source-ref", "master"],
            format!(
                "expected SourceRepositoryRef to be master, got {}",
                id.git_ref
            ),
        ),
        (
            vec!["--source-digest", other_sha.as_str()],
            format!(
                "expected SourceRepositoryDigest to be {other_sha}, got {}",
                id.sha
            ),
        ),
    ] {
        let out = run(&extra);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&message), "{extra:?}: {stderr}");
        assert!(
            matches!(
                brew_check_attestation(&out, &bottle, None),
                BrewOutcome::Invalid(_)
            ),
            "{out:?}"
        );
    }
}

#[test]
fn verified_timestamps_follow_ghs_order_and_labels_and_brew_reads_the_first() {
    // Issue 11: a bundle with both a Rekor entry and an RFC 3161 timestamp. gh (sigstore-go)
    // lists the transparency-log time first, then the TSA's, labelled `Tlog` and
    // `TimestampAuthority`, each with its authority's URI from the trusted root; brew's backfill
    // step compares `verifiedTimestamps[0]` with its cutoff.
    let brew = Brew::new();
    let at = Utc.with_ymd_and_hms(2024, 2, 1, 12, 0, 0).unwrap();
    let mint = |name: &str, at: DateTime<Utc>| {
        let (p, b) = brew.bottle(name, name.as_bytes());
        brew.stack.set_timestamping(true);
        let bundle = brew.attest(
            BACKFILL,
            &backfill_identity(),
            Some(at),
            &[(b.cache_name(DEFAULT_BOTTLE_ROOT), *b.digest.as_bytes())],
            &[&b],
        );
        brew.stack.set_timestamping(false);
        (p, b, serde_json::from_str::<Value>(&bundle).unwrap())
    };
    let (p, b, bundle) = mint("ts1--1.0.arm64_sonoma.bottle.tar.gz", at);
    // The kit really put both in the bundle.
    let material = &bundle["verificationMaterial"];
    assert_eq!(material["tlogEntries"].as_array().unwrap().len(), 1);
    assert_eq!(
        material["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let BrewOutcome::Verified(att) = brew_check_core_attestation(&brew, &p, &b) else {
        panic!("not verified")
    };
    let times = att["verificationResult"]["verifiedTimestamps"]
        .as_array()
        .unwrap();
    let labels: Vec<(&str, &str)> = times
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["uri"].as_str().unwrap()))
        .collect();
    let tsa = brew.stack.tsa_url().unwrap();
    let rekor = brew.stack.rekor_url();
    assert_eq!(
        labels,
        [
            ("Tlog", rekor.as_str()),
            ("TimestampAuthority", tsa.as_str())
        ]
    );
    for t in times {
        assert_eq!(
            DateTime::parse_from_rfc3339(t["timestamp"].as_str().unwrap()).unwrap(),
            at,
            "{t}"
        );
    }
    // [0] is the log entry's integrated time, and that is what brew compares.
    let integrated: i64 = material["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(times[0]["timestamp"].as_str().unwrap())
            .unwrap()
            .timestamp(),
        integrated
    );
    assert_eq!(brew_backfill_timestamp_ok(&att), Ok(at));

    // Both times after the cutoff: brew refuses on [0].
    let late = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let (p, b, _) = mint("ts2--1.0.arm64_sonoma.bottle.tar.gz", late);
    assert!(matches!(
        brew_check_core_attestation(&brew, &p, &b),
        BrewOutcome::Invalid(why) if why == "backfill attestation post-dates cutoff"
    ));
}

#[test]
fn none_of_the_wanted_predicate_type_client_side_reads_as_missing() {
    // Issue 11, part 1: an API that ignores `predicate_type` serves core's SBOM for the bottle;
    // the shim drops it itself (as gh does) and must say so in the form brew reads as
    // "missing", so that brew goes on to the backfill.
    let brew = Brew::new();
    brew.api.ignore_predicate_type(true);
    let (p, b) = brew.bottle("sbom--1.0.arm64_sonoma.bottle.tar.gz", b"sbom only");
    let sbom = brew.stack.sign_attestation(
        &core_identity(),
        "https://spdx.dev/Document/v2.3",
        json!({}),
        &[subject(&b)],
    );
    brew.api.add(CORE, &b.digest.to_hex(), &sbom);
    let out = brew.verify(&p, CORE, None, TOKEN);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The API did serve it: the filtering was the client's.
    assert!(
        stderr.contains(&format!(
            "has predicate type {SLSA}: no attestations found\n"
        )),
        "{stderr}"
    );
    assert!(
        matches!(
            brew_check_attestation(&out, &b, None),
            BrewOutcome::Missing(_)
        ),
        "{stderr}"
    );
    // So brew falls back, and a backfill before the cutoff verifies the bottle.
    brew.attest(
        BACKFILL,
        &backfill_identity(),
        Some(Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()),
        &[(b.cache_name(DEFAULT_BOTTLE_ROOT), *b.digest.as_bytes())],
        &[&b],
    );
    let BrewOutcome::Verified(att) = brew_check_core_attestation(&brew, &p, &b) else {
        panic!("not verified through the backfill")
    };
    assert_eq!(repository_of(&att), BACKFILL);
}

#[test]
fn doctor_names_each_homebrew_brew_verify_setting_it_found() {
    // Issue 11: brew passes only HOMEBREW_* variables to gh, so these settings are what
    // configures the shim; `doctor` shows each and names the variable it came from (or the one
    // that would change it).
    let dir = temp_dir();
    let doctor = |vars: &[(&str, String)]| {
        let out = Command::new(brew_verify_path())
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", "/usr/bin:/bin")
            .env("HOMEBREW_PREFIX", dir.path().join("no-prefix"))
            .env("HOMEBREW_GITHUB_API_TOKEN", "x")
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("doctor")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let line = |text: &str, label: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in\n{text}"))
            .to_owned()
    };
    let root = dir.path().join("custom_root.json");
    let cache = dir.path().join("bv-cache");
    let text = doctor(&[
        (
            "HOMEBREW_BREW_VERIFY_TRUSTED_ROOT",
            root.display().to_string(),
        ),
        ("HOMEBREW_BREW_VERIFY_API_URL", "http://127.0.0.1:9".into()),
        (
            "HOMEBREW_BREW_VERIFY_CACHE_DIR",
            cache.display().to_string(),
        ),
        ("HOMEBREW_BREW_VERIFY_NO_CACHE", "1".into()),
        ("HOMEBREW_BREW_VERIFY_TIMEOUT", "7".into()),
    ]);
    let trusted = line(&text, "trusted root:");
    assert!(
        trusted.starts_with(&format!(
            "trusted root:        the trusted root `{}` (HOMEBREW_BREW_VERIFY_TRUSTED_ROOT): ",
            root.display()
        )),
        "{trusted}"
    );
    let api = line(&text, "gh mode's API:");
    assert!(
        api.starts_with("gh mode's API:       http://127.0.0.1:9 (HOMEBREW_BREW_VERIFY_API_URL), "),
        "{api}"
    );
    assert_eq!(
        line(&text, "attestation cache:"),
        format!(
            "attestation cache:   {} (HOMEBREW_BREW_VERIFY_CACHE_DIR; created on first use, \
             mode 0700)",
            cache.display()
        )
    );
    assert_eq!(
        line(&text, "cache in gh mode:"),
        "cache in gh mode:    off (HOMEBREW_BREW_VERIFY_NO_CACHE is set)"
    );
    assert_eq!(
        line(&text, "lookup deadline:"),
        "lookup deadline:     7 seconds per bottle (HOMEBREW_BREW_VERIFY_TIMEOUT)"
    );

    // Nothing set: the defaults, each naming the variable that would change it.
    let homebrew_cache = dir.path().join("Homebrew");
    let text = doctor(&[("HOMEBREW_CACHE", homebrew_cache.display().to_string())]);
    assert!(
        line(&text, "trusted root:")
            .starts_with("trusted root:        the embedded Sigstore public-good root"),
        "{text}"
    );
    let api = line(&text, "gh mode's API:");
    assert!(
        api.starts_with(
            "gh mode's API:       https://api.github.com (default; \
             HOMEBREW_BREW_VERIFY_API_URL overrides it), "
        ),
        "{api}"
    );
    assert_eq!(
        line(&text, "attestation cache:"),
        format!(
            "attestation cache:   {} (HOMEBREW_CACHE/brew-verify; HOMEBREW_BREW_VERIFY_CACHE_DIR \
             overrides it; created on first use, mode 0700)",
            homebrew_cache.join("brew-verify").display()
        )
    );
    assert!(!text.contains("cache in gh mode:"), "{text}");
    assert_eq!(
        line(&text, "lookup deadline:"),
        "lookup deadline:     20 seconds per bottle (default)"
    );

    // The older name of the API setting is still read, and named as such; the new one wins.
    let legacy = ("BREW_VERIFY_GH_API_URL", "http://127.0.0.1:8".to_owned());
    let api = line(&doctor(std::slice::from_ref(&legacy)), "gh mode's API:");
    assert!(
        api.starts_with(
            "gh mode's API:       http://127.0.0.1:8 (BREW_VERIFY_GH_API_URL, the older name of \
             HOMEBREW_BREW_VERIFY_API_URL), "
        ),
        "{api}"
    );
    let api = line(
        &doctor(&[
            legacy,
            ("HOMEBREW_BREW_VERIFY_API_URL", "http://127.0.0.1:9".into()),
        ]),
        "gh mode's API:",
    );
    assert!(
        api.starts_with("gh mode's API:       http://127.0.0.1:9 (HOMEBREW_BREW_VERIFY_API_URL), "),
        "{api}"
    );
}

#[test]
fn gh_download_then_verify_with_bundle_and_owner_as_in_gh() {
    // `gh attestation download` writes `<alg>:<hex>.jsonl` in the working directory; `gh
    // attestation verify --bundle FILE --owner OWNER` then verifies from it without a lookup
    // (the core's gh criteria judge the file's bundles; no socket is needed).
    let brew = Brew::new();
    let (path, bottle) = brew.bottle("curl--8.11.1.arm64_sonoma.bottle.tar.gz", b"curl keg");
    brew.attest(
        CORE,
        &core_identity(),
        None,
        &[subject(&bottle)],
        &[&bottle],
    );
    let work = brew.dir.path().join("tmp");
    std::fs::create_dir_all(&work).unwrap();
    let out = brew
        .gh_command(TOKEN)
        .args(["attestation", "download"])
        .arg(&path)
        .args(["--repo", CORE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let file = work.join(format!("sha256:{}.jsonl", bottle.digest.to_hex()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "Wrote attestations to file sha256:{}.jsonl.",
            bottle.digest.to_hex()
        )),
        "{stdout}"
    );
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert_eq!(brew.api.request_counts().api, 1);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let verify = |owner: &str| {
        brew.gh_command(TOKEN)
            .env("HOMEBREW_BREW_VERIFY_API_URL", &dead)
            .args(["attestation", "verify"])
            .arg(&path)
            .arg("--bundle")
            .arg(&file)
            .args(["--owner", owner, "--format", "json"])
            .output()
            .unwrap()
    };
    let out = verify("Homebrew");
    assert!(
        matches!(
            brew_check_attestation(&out, &bottle, None),
            BrewOutcome::Verified(_)
        ),
        "{out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Loaded 1 attestation from {}", file.display())),
        "{stderr}"
    );
    // Another owner: the SAN regex (widened to the owner) refuses it at the identity stage.
    let out = verify("someone-else");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("✗ Sigstore verification failed")
            && stderr.contains("expected SAN value to match regex"),
        "{stderr}"
    );

    // Nothing filed for another file: gh's words, exit 0, and no file written.
    let (other, _) = brew.bottle("zlib--1.3.1.arm64_sonoma.bottle.tar.gz", b"zlib keg");
    let out = brew
        .gh_command(TOKEN)
        .args(["attestation", "download"])
        .arg(&other)
        .args(["--repo", CORE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("No attestations found for {}\n", other.display())
    );
}
