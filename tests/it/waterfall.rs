//! The homebrew-core waterfall (DESIGN.md §1) on bundles minted by the test kit's Sigstore stack:
//! through the library (as the attestations API would file them per repository) and through the
//! `brew-verify` binary (offline, from `--bundle` files, with exit codes).

use std::sync::OnceLock;

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::bundle::parse_attestations;
use bottle_attest::digest::sha256_bytes;
use bottle_attest::policy::{Lookup, Rejection, Verdict};
use bottle_attest::{BottleFilename, BottleRef, Policy, TrustRoot};
use chrono::{TimeZone, Utc};
use serde_json::json;
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{temp_dir, workspace_bin, write};

const SLSA: &str = "https://slsa.dev/provenance/v1";

/// One stack for the whole module: minting is what costs, not the servers.
fn stack() -> &'static SigstoreStack {
    static STACK: OnceLock<SigstoreStack> = OnceLock::new();
    STACK.get_or_init(SigstoreStack::start)
}

fn trust() -> TrustRoot {
    TrustRoot::from_json("kit", &stack().trusted_root_json()).unwrap()
}

fn core_id() -> WorkflowIdentity {
    WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/master",
    )
}

fn backfill_id() -> WorkflowIdentity {
    WorkflowIdentity::github(
        "trailofbits/homebrew-brew-verify",
        "backfill_signatures.yml",
        "refs/heads/main",
    )
}

/// A bottle with made-up bytes (each test its own, so digests never collide).
fn bottle(file_name: &str) -> BottleRef {
    BottleRef {
        digest: sha256_bytes(format!("bytes of {file_name}").as_bytes()),
        filename: file_name.parse::<BottleFilename>().unwrap(),
    }
}

fn digest_bytes(b: &BottleRef) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(b.digest.as_bytes());
    out
}

/// Sign `subjects` as `id` at the kit's clock time `at` (None = now).
fn mint(
    id: &WorkflowIdentity,
    predicate_type: &str,
    subjects: &[(String, [u8; 32])],
    at: Option<chrono::DateTime<Utc>>,
) -> String {
    let s = stack();
    // The kit's clock is global to the stack; tests that set it serialise on this lock.
    static CLOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    match at {
        Some(t) => s.set_time(t),
        None => s.use_real_time(),
    }
    let bundle = s.sign_attestation(id, predicate_type, json!({"buildDefinition": {}}), subjects);
    s.use_real_time();
    bundle
}

fn core_bundle(b: &BottleRef) -> String {
    mint(
        &core_id(),
        SLSA,
        &[(b.filename.to_string(), digest_bytes(b))],
        None,
    )
}

fn backfill_bundle(b: &BottleRef, at: chrono::DateTime<Utc>) -> String {
    mint(
        &backfill_id(),
        SLSA,
        &[(b.cache_name(DEFAULT_BOTTLE_ROOT), digest_bytes(b))],
        Some(at),
    )
}

fn before_cutoff() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap()
}

fn after_cutoff() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn found(bundles: &[&str]) -> Lookup {
    Lookup::Found(
        bundles
            .iter()
            .flat_map(|b| parse_attestations("kit", b.as_bytes()))
            .collect(),
    )
}

/// Evaluate the built-in policy with per-source lookups, as the API would answer: `core` for
/// Homebrew/homebrew-core and `backfill` for the tap.
fn evaluate(b: &BottleRef, core: &[&str], backfill: &[&str]) -> Verdict {
    let policy = Policy::homebrew_core();
    let lookup = |bundles: &[&str]| {
        if bundles.is_empty() {
            Lookup::AUTHORITATIVE_NONE
        } else {
            found(bundles)
        }
    };
    let mut asked = Vec::new();
    let verdict = policy.evaluate(b, &trust(), |i, _| {
        asked.push(i);
        if i == 0 {
            lookup(core)
        } else {
            lookup(backfill)
        }
    });
    // The backfill is consulted only when core had no attestation at all.
    let expected: &[usize] = if core.is_empty() { &[0, 1] } else { &[0] };
    assert_eq!(asked, expected, "sources consulted");
    verdict
}

fn rejection(v: &Verdict) -> &Rejection {
    match v {
        Verdict::Invalid { failures, .. } => &failures[0].reason,
        other => panic!("expected invalid, got {other:?}"),
    }
}

fn passed_source(v: &Verdict) -> &str {
    match v {
        Verdict::Verified(p) => &p.source,
        other => panic!("expected verified, got {other:?}"),
    }
}

#[test]
fn core_attestation_passes() {
    let b = bottle("wget--1.24.5.arm64_sonoma.bottle.tar.gz");
    let v = evaluate(&b, &[&core_bundle(&b)], &[]);
    assert_eq!(passed_source(&v), "homebrew-core");
    let Verdict::Verified(p) = v else {
        unreachable!()
    };
    assert_eq!(
        p.claims.source_repository_uri.as_deref(),
        Some("https://github.com/Homebrew/homebrew-core")
    );
    assert!(!p.timestamps.is_empty());
}

#[test]
fn core_missing_falls_back_to_backfill_before_cutoff() {
    let b = bottle("libfoo--0.9.big_sur.bottle.1.tar.gz");
    let v = evaluate(&b, &[], &[&backfill_bundle(&b, before_cutoff())]);
    assert_eq!(passed_source(&v), "backfill");
    let Verdict::Verified(p) = v else {
        unreachable!()
    };
    assert!(
        p.timestamps
            .iter()
            .all(|t| t.time <= before_cutoff() + chrono::Duration::minutes(1))
    );
}

#[test]
fn backfill_after_cutoff_is_invalid() {
    let b = bottle("libbar--2.0.ventura.bottle.tar.gz");
    let v = evaluate(&b, &[], &[&backfill_bundle(&b, after_cutoff())]);
    assert!(
        matches!(rejection(&v), Rejection::AfterCutoff { .. }),
        "{v:?}"
    );
}

#[test]
fn invalid_core_never_falls_back() {
    let b = bottle("curl--8.7.1.sonoma.bottle.tar.gz");
    // A core attestation from a pull-request ref: present but invalid.
    let pr = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/pull/1234/merge",
    );
    let bad_core = mint(
        &pr,
        SLSA,
        &[(b.filename.to_string(), digest_bytes(&b))],
        None,
    );
    let good_backfill = backfill_bundle(&b, before_cutoff());
    let v = evaluate(&b, &[&bad_core], &[&good_backfill]);
    assert!(matches!(rejection(&v), Rejection::Ref { .. }), "{v:?}");
    let Verdict::Invalid { source, .. } = &v else {
        unreachable!()
    };
    assert_eq!(source, "homebrew-core");
}

#[test]
fn identity_checks() {
    let b = bottle("jq--1.7.1.arm64_sonoma.bottle.tar.gz");
    let subjects = [(b.filename.to_string(), digest_bytes(&b))];
    type Expect = fn(&Rejection) -> bool;
    let cases: Vec<(WorkflowIdentity, Expect)> = vec![
        // Another repository's workflow.
        (
            WorkflowIdentity::github("Homebrew/homebrew-cask", "publish-commit-bottles.yml", "refs/heads/master"),
            |r| matches!(r, Rejection::Identity { .. }),
        ),
        // A fork with the same workflow path.
        (
            WorkflowIdentity::github("evil/homebrew-core", "publish-commit-bottles.yml", "refs/heads/master"),
            |r| matches!(r, Rejection::Identity { .. }),
        ),
        // A look-alike repository name.
        (
            WorkflowIdentity::github("Homebrew/homebrew-core-next", "publish-commit-bottles.yml", "refs/heads/master"),
            |r| matches!(r, Rejection::Identity { .. }),
        ),
        // Core's workflow, wrong ref.
        (
            WorkflowIdentity::github("Homebrew/homebrew-core", "publish-commit-bottles.yml", "refs/heads/feature"),
            |r| matches!(r, Rejection::Ref { .. }),
        ),
        // Core's identity, another issuer.
        (
            WorkflowIdentity {
                issuer: "https://token.actions.example.com".into(),
                ..core_id()
            },
            |r| matches!(r, Rejection::Issuer { .. }),
        ),
        // Core's reusable workflow called from another repository: the SAN is core's, the
        // source repository is not.
        (
            WorkflowIdentity {
                job_workflow_ref: Some(
                    "Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/master".into(),
                ),
                ..WorkflowIdentity::github("evil/tap", "call.yml", "refs/heads/main")
            },
            |r| matches!(r, Rejection::SourceRepository { .. }),
        ),
    ];
    for (id, expect) in cases {
        let bundle = mint(&id, SLSA, &subjects, None);
        let v = evaluate(&b, &[&bundle], &[]);
        assert!(expect(rejection(&v)), "{}: {v:?}", id.san());
    }
}

#[test]
fn statement_checks() {
    let b = bottle("git--2.45.0.sequoia.bottle.tar.gz");
    // Wrong predicate type.
    let wrong_pred = mint(
        &core_id(),
        "https://in-toto.io/attestation/release/v0.1",
        &[(b.filename.to_string(), digest_bytes(&b))],
        None,
    );
    let v = evaluate(&b, &[&wrong_pred], &[]);
    assert!(
        matches!(rejection(&v), Rejection::PredicateType { .. }),
        "{v:?}"
    );

    // The statement does not carry the bottle's digest at all.
    let other = bottle("git--2.45.0.sonoma.bottle.tar.gz");
    let absent = mint(
        &core_id(),
        SLSA,
        &[(b.filename.to_string(), digest_bytes(&other))],
        None,
    );
    let v = evaluate(&b, &[&absent], &[]);
    assert!(
        matches!(rejection(&v), Rejection::AttestsOtherDigest { .. }),
        "{v:?}"
    );

    // The name is on one subject and the digest on another: not a match.
    let crossed = mint(
        &core_id(),
        SLSA,
        &[
            (b.filename.to_string(), digest_bytes(&other)),
            (other.filename.to_string(), digest_bytes(&b)),
        ],
        None,
    );
    let v = evaluate(&b, &[&crossed], &[]);
    assert!(
        matches!(rejection(&v), Rejection::SubjectName { .. }),
        "{v:?}"
    );
}

#[test]
fn multi_subject_statement_covers_each_bottle() {
    let bottles: Vec<BottleRef> = ["arm64_sequoia", "sonoma", "x86_64_linux"]
        .iter()
        .map(|t| bottle(&format!("zrok--0.4.48.{t}.bottle.tar.gz")))
        .collect();
    let subjects: Vec<(String, [u8; 32])> = bottles
        .iter()
        .map(|b| (b.filename.to_string(), digest_bytes(b)))
        .collect();
    let bundle = mint(&core_id(), SLSA, &subjects, None);
    for b in &bottles {
        assert_eq!(
            passed_source(&evaluate(b, &[&bundle], &[])),
            "homebrew-core"
        );
    }
}

#[test]
fn all_bottle_matches_on_name_and_version() {
    // `brew bottle --merge` renames an identical platform bottle to `all` after attesting it.
    let attested = bottle("tzdata--2024a.arm64_sonoma.bottle.tar.gz");
    let all = BottleRef {
        digest: attested.digest,
        filename: "tzdata--2024a.all.bottle.tar.gz".parse().unwrap(),
    };
    let bundle = mint(
        &core_id(),
        SLSA,
        &[(attested.filename.to_string(), digest_bytes(&attested))],
        None,
    );
    assert_eq!(
        passed_source(&evaluate(&all, &[&bundle], &[])),
        "homebrew-core"
    );
    // Another version's subject with the same bytes does not vouch for this one.
    let other_version = BottleRef {
        digest: attested.digest,
        filename: "tzdata--2024b.all.bottle.tar.gz".parse().unwrap(),
    };
    let v = evaluate(&other_version, &[&bundle], &[]);
    assert!(
        matches!(rejection(&v), Rejection::SubjectName { .. }),
        "{v:?}"
    );
}

#[test]
fn all_bottles_match_subject_names_exactly_except_the_tag() {
    // Issue 11, part 3: brew's rule is a text prefix `<name>--<version>`, so
    // `allbaz--1.0.all` would accept a subject `allbaz--1.0.1.arm64_sonoma` with the same
    // bytes. Subjects are parsed as bottle file names: name, version and rebuild must be equal.
    let attested = bottle("allbaz--1.0.1.arm64_sonoma.bottle.tar.gz");
    let all = BottleRef {
        digest: attested.digest,
        filename: "allbaz--1.0.all.bottle.tar.gz".parse().unwrap(),
    };
    let bundle = mint(
        &core_id(),
        SLSA,
        &[(attested.filename.to_string(), digest_bytes(&attested))],
        None,
    );
    let v = evaluate(&all, &[&bundle], &[]);
    assert!(
        matches!(rejection(&v), Rejection::SubjectName { .. }),
        "{v:?}"
    );
    // Nor another rebuild.
    let rebuilt = BottleRef {
        digest: attested.digest,
        filename: "allbaz--1.0.1.all.bottle.2.tar.gz".parse().unwrap(),
    };
    let v = evaluate(&rebuilt, &[&bundle], &[]);
    assert!(
        matches!(rejection(&v), Rejection::SubjectName { .. }),
        "{v:?}"
    );
}

#[test]
fn a_main_branch_workflow_run_for_a_pull_request_is_refused() {
    // Issue 11, part 3: a main-branch reusable workflow called from a pull request's run has
    // `refs/heads/master` in its identity but `refs/pull/1/merge` as the run's ref (the
    // source-repository-ref extension, OID 1.3.6.1.4.1.57264.1.14).
    let b = bottle("prtool--1.0.sonoma.bottle.tar.gz");
    let mut id =
        WorkflowIdentity::github("Homebrew/homebrew-core", "tests.yml", "refs/pull/1/merge");
    id.event_name = "pull_request".into();
    id.job_workflow_ref = Some(
        "Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/master"
            .into(),
    );
    let bundle = mint(
        &id,
        SLSA,
        &[(b.filename.to_string(), digest_bytes(&b))],
        None,
    );
    let v = evaluate(&b, &[&bundle], &[]);
    assert!(
        matches!(rejection(&v), Rejection::SourceRef { actual, .. } if actual.as_deref() == Some("refs/pull/1/merge")),
        "{v:?}"
    );
}

#[test]
fn a_core_attestation_of_another_digest_for_this_bottle_is_evidence_not_silence() {
    // Issue 11, part 3: core attests this exact bottle file with other bytes, and a valid
    // backfill attests ours. That is not "core is missing": the bottle is invalid, and the
    // backfill never decides.
    let b = bottle("foo--1.2.3.arm64_sonoma.bottle.tar.gz");
    let other = mint(
        &core_id(),
        SLSA,
        &[(b.filename.to_string(), [5u8; 32])],
        None,
    );
    let backfill = backfill_bundle(&b, before_cutoff());
    let v = evaluate(&b, &[&other], &[&backfill]);
    assert!(
        matches!(rejection(&v), Rejection::AttestsOtherDigest { .. }),
        "{v:?}"
    );
    assert!(matches!(v, Verdict::Invalid { .. }), "{v:?}");
}

#[test]
fn backfill_subject_is_rebuilt_on_the_default_domain() {
    let b = bottle("openssl@1.1--1.1.1w.monterey.bottle.tar.gz");
    // A subject formed from a mirror's URL is not the backfill's name for this bottle.
    let mirror_url = b.blob_url("https://mirror.example.org/bottles");
    let mirror_name = bottle_attest::bottle::cache_name(&mirror_url, &b.filename);
    assert_ne!(mirror_name, b.cache_name(DEFAULT_BOTTLE_ROOT));
    let on_mirror = mint(
        &backfill_id(),
        SLSA,
        &[(mirror_name, digest_bytes(&b))],
        Some(before_cutoff()),
    );
    let v = evaluate(&b, &[], &[&on_mirror]);
    assert!(
        matches!(rejection(&v), Rejection::SubjectName { .. }),
        "{v:?}"
    );
    // The default-domain name, with `@` mapped into the image path, passes.
    assert!(
        b.blob_url(DEFAULT_BOTTLE_ROOT)
            .contains("/openssl/1.1/blobs/sha256:")
    );
    let v = evaluate(&b, &[], &[&backfill_bundle(&b, before_cutoff())]);
    assert_eq!(passed_source(&v), "backfill");
}

#[test]
fn nothing_anywhere_is_missing() {
    let b = bottle("nothing--1.0.sonoma.bottle.tar.gz");
    assert!(matches!(evaluate(&b, &[], &[]), Verdict::Missing { .. }));
}

// ---- the binary, offline, with exit codes ----

fn run_cli(args: &[&str], bundles: &[String], root: &std::path::Path) -> (i32, serde_json::Value) {
    let dir = temp_dir();
    let mut cmd = workspace_bin("brew-verify");
    cmd.arg("--json").arg("--trusted-root").arg(root);
    for (i, b) in bundles.iter().enumerate() {
        cmd.arg("--bundle")
            .arg(write(&dir, &format!("b{i}.json"), b));
    }
    let out = cmd.args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("null");
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {stdout:?} {out:?}")),
    )
}

#[test]
fn cli_exit_codes_follow_the_waterfall() {
    let dir = temp_dir();
    let root = write(&dir, "trusted_root.json", &stack().trusted_root_json());

    // A bottle file, hashed from disk: core attestation → 0.
    let bytes = b"real gzip bytes would be here";
    let file = dir.path().join("hello--2.12.arm64_sonoma.bottle.tar.gz");
    std::fs::write(&file, bytes).unwrap();
    let b = BottleRef {
        digest: sha256_bytes(bytes),
        filename: "hello--2.12.arm64_sonoma.bottle.tar.gz".parse().unwrap(),
    };
    let (code, json) = run_cli(&[file.to_str().unwrap()], &[core_bundle(&b)], &root);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["status"], "verified");
    assert_eq!(json["source"], "homebrew-core");
    assert_eq!(json["bottle"]["sha256"], hex::encode(b.digest.as_bytes()));
    assert!(
        json["certificate"]["identity"]
            .as_str()
            .unwrap()
            .contains("publish-commit-bottles.yml")
    );

    // Digest + name, backfill before the cutoff → 0 via the fallback.
    let b2 = bottle("old--1.0.high_sierra.bottle.tar.gz");
    let digest_arg = format!("sha256:{}", hex::encode(b2.digest.as_bytes()));
    let name = b2.filename.to_string();
    let (code, json) = run_cli(
        &[&digest_arg, "--name", &name],
        &[backfill_bundle(&b2, before_cutoff())],
        &root,
    );
    assert_eq!(
        (code, json["source"].as_str()),
        (0, Some("backfill")),
        "{json}"
    );

    // Backfill after the cutoff → 1 invalid.
    let (code, json) = run_cli(
        &[&digest_arg, "--name", &name],
        &[backfill_bundle(&b2, after_cutoff())],
        &root,
    );
    assert_eq!(
        (code, json["status"].as_str()),
        (1, Some("invalid")),
        "{json}"
    );
    assert!(
        json["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("cutoff")
    );

    // A fork's attestation offline: not filed under any source → 3 missing, and reported.
    let fork = WorkflowIdentity::github(
        "evil/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/master",
    );
    let forked = mint(&fork, SLSA, &[(name.clone(), digest_bytes(&b2))], None);
    let (code, json) = run_cli(&[&digest_arg, "--name", &name], &[forked], &root);
    assert_eq!(
        (code, json["status"].as_str()),
        (3, Some("missing")),
        "{json}"
    );
    // One repository, `owner/name`, as the README says (issue 11, part 3).
    assert_eq!(
        json["ignored"][0]["repository"].as_str(),
        Some("evil/homebrew-core"),
        "{json}"
    );

    // Garbage in a bundle file → 1 invalid (never a silent fallback).
    let (code, json) = run_cli(
        &[&digest_arg, "--name", &name],
        &["{not json".into(), backfill_bundle(&b2, before_cutoff())],
        &root,
    );
    assert_eq!(
        (code, json["status"].as_str()),
        (1, Some("invalid")),
        "{json}"
    );

    // Under the production root, the kit's bundles do not chain: invalid, not verified.
    let out = workspace_bin("brew-verify")
        .args([&digest_arg, "--name", &name, "--bundle"])
        .arg(write(&dir, "c.json", &core_bundle(&b2)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn cli_policy_file_for_a_third_party_tap() {
    let dir = temp_dir();
    let root = write(&dir, "trusted_root.json", &stack().trusted_root_json());
    let policy = write(
        &dir,
        "tap.toml",
        r#"
name = "acme"
[[source]]
name = "acme-tap"
repository = "acme/homebrew-tools"
workflows = ["publish.yml"]
refs = ["refs/heads/main"]
"#,
    );
    let b = bottle("widget--3.1.arm64_sequoia.bottle.tar.gz");
    let id = WorkflowIdentity::github("acme/homebrew-tools", "publish.yml", "refs/heads/main");
    let bundle = mint(
        &id,
        SLSA,
        &[(b.filename.to_string(), digest_bytes(&b))],
        None,
    );
    let digest_arg = format!("sha256:{}", hex::encode(b.digest.as_bytes()));
    let name = b.filename.to_string();
    let args = [
        &digest_arg as &str,
        "--name",
        &name,
        "--policy",
        policy.to_str().unwrap(),
    ];
    let (code, json) = run_cli(&args, std::slice::from_ref(&bundle), &root);
    assert_eq!(
        (code, json["source"].as_str()),
        (0, Some("acme-tap")),
        "{json}"
    );
    // The same bundle under the built-in policy is not core's.
    let (code, _) = run_cli(&[&digest_arg, "--name", &name], &[bundle], &root);
    assert_eq!(code, 3);
}

#[test]
fn cli_bad_inputs_name_the_problem() {
    let dir = temp_dir();
    let out = workspace_bin("brew-verify")
        .args([
            "sha256:00",
            "--name",
            "x--1.sonoma.bottle.tar.gz",
            "--bundle",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    // A digest without a name is a usage error.
    let out = workspace_bin("brew-verify")
        .arg(format!("sha256:{}", "ab".repeat(32)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A file that is not a bottle.
    let not_bottle = write(&dir, "notes.txt", "hi");
    let out = workspace_bin("brew-verify")
        .arg(&not_bottle)
        .args(["--bundle", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    // Errors go to stderr, as brew's `onoe`; stdout carries results only.
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Error"));
    // A formula name offline without formula JSON: says what is needed, opens no socket.
    let out = workspace_bin("brew-verify")
        .args(["--offline", "--bottle-tag", "sonoma", "wget"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--formula-json"),
        "{out:?}"
    );
}

#[test]
fn cli_same_repository_ci_then_backfill_by_workflow_with_the_cutoff_on_the_backfill_alone() {
    // Issue 11, part 2: a tap whose CI attests new bottles with publish.yml and whose legacy
    // bottles are backfilled by backfill.yml in the SAME repository. Attestations are filed
    // under the first source whose repository and workflow match, and the backfill's cutoff
    // applies to the backfill alone: a CI attestation logged after the cutoff is fine, a
    // backfill logged after it is not, and with both at hand CI decides.
    let dir = temp_dir();
    let root = write(&dir, "trusted_root.json", &stack().trusted_root_json());
    let repo = "acme/homebrew-same";
    let policy = write(
        &dir,
        "same.toml",
        &format!(
            r#"
name = "acme-same"
[[source]]
name = "ci"
repository = "{repo}"
workflows = ["publish.yml"]

[[source]]
name = "backfill"
repository = "{repo}"
workflows = ["backfill.yml"]
logged_at_or_before = "2025-01-01T00:00:00Z"
"#
        ),
    );
    let b = bottle("samerepo--2.0.arm64_sequoia.bottle.tar.gz");
    let subjects = [(b.filename.to_string(), digest_bytes(&b))];
    // Both logged now, long after the cutoff.
    let ci = mint(
        &WorkflowIdentity::github(repo, "publish.yml", "refs/heads/main"),
        SLSA,
        &subjects,
        None,
    );
    let backfill = mint(
        &WorkflowIdentity::github(repo, "backfill.yml", "refs/heads/main"),
        SLSA,
        &subjects,
        None,
    );
    let digest_arg = format!("sha256:{}", hex::encode(b.digest.as_bytes()));
    let name = b.filename.to_string();
    let args = [
        &digest_arg as &str,
        "--name",
        &name,
        "--policy",
        policy.to_str().unwrap(),
    ];

    // CI after the cutoff: verified by ci (the cutoff is not the CI source's).
    let (code, json) = run_cli(&args, std::slice::from_ref(&ci), &root);
    assert_eq!(
        (code, json["status"].as_str(), json["source"].as_str()),
        (0, Some("verified"), Some("ci")),
        "{json}"
    );

    // The backfill after the cutoff: filed under the backfill (not the first source of the
    // same repository), consulted because ci has nothing, and refused for its time.
    let (code, json) = run_cli(&args, std::slice::from_ref(&backfill), &root);
    assert_eq!(
        (code, json["status"].as_str()),
        (1, Some("invalid")),
        "{json}"
    );
    assert_eq!(json["source"], "backfill", "{json}");
    assert!(
        json["failures"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("cutoff"),
        "{json}"
    );

    // Both: ci decides, and the late backfill is never held against the bottle.
    let (code, json) = run_cli(&args, &[backfill, ci], &root);
    assert_eq!(
        (code, json["status"].as_str(), json["source"].as_str()),
        (0, Some("verified"), Some("ci")),
        "{json}"
    );
}

#[test]
fn cli_a_core_attestation_of_another_digest_fails_the_bottle_with_exit_1() {
    // Issue 11, part 3, through the binary: core attests this exact bottle file with other
    // bytes, and a valid backfill attests ours. Exit 1, invalid, with the reason; the
    // backfill never decides.
    let dir = temp_dir();
    let root = write(&dir, "trusted_root.json", &stack().trusted_root_json());
    let b = bottle("otherdigest--1.2.3.arm64_sonoma.bottle.tar.gz");
    let other = mint(
        &core_id(),
        SLSA,
        &[(b.filename.to_string(), [6u8; 32])],
        None,
    );
    let backfill = backfill_bundle(&b, before_cutoff());
    let digest_arg = format!("sha256:{}", hex::encode(b.digest.as_bytes()));
    let name = b.filename.to_string();
    let (code, json) = run_cli(&[&digest_arg, "--name", &name], &[other, backfill], &root);
    assert_eq!(
        (code, json["status"].as_str(), json["source"].as_str()),
        (1, Some("invalid"), Some("homebrew-core")),
        "{json}"
    );
    let reason = json["failures"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "homebrew-core attests `{name}` with another digest ("
        )) && reason.contains(&hex::encode([6u8; 32]))
            && reason.ends_with("these are not the bytes it built"),
        "{json}"
    );
}
