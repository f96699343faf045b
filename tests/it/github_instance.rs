//! GitHub's own Sigstore instance (attestations of private repositories), through the kit's
//! stand-in ([`SigstoreStack::start_github_instance`]): a Fulcio CA named as GitHub's, its own
//! TSA, no Rekor and no SCT. Its bundles verify with the matching root (library, `brew-verify
//! bundle`, a bottle check under a policy that accepts GitHub's instance, and the gh shim), and
//! are refused, each for its own reason, under a public-good-only policy, without a TSA
//! timestamp, without a GitHub root, or from an impostor CA; a public-good bundle still needs
//! its Rekor entry whatever roots sit beside it.

use std::path::PathBuf;
use std::process::Output;

use bottle_attest::bottle::BottleRef;
use bottle_attest::bundle::{BundleCandidate, parse_attestations};
use bottle_attest::digest::{Digest, sha256_bytes};
use bottle_attest::policy::{Policy, Rejection, Verdict};
use bottle_attest::trust::{Instance, RouteError, TrustRoot};
use bottle_attest::verify::{CryptoError, TimestampKind};
use bottle_attest::verify_bundle;
use serde_json::{Value, json};
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::json_output::checked_lines;
use crate::util::{temp_dir, workspace_bin, write};

const SLSA: &str = "https://slsa.dev/provenance/v1";
const CORE_WORKFLOW: &str = "https://github.com/Homebrew/homebrew-core/.github/workflows/publish-commit-bottles.yml@refs/heads/main";
const GHA_ISSUER: &str = "https://token.actions.githubusercontent.com";
const NAME: &str = "private--1.0.arm64_sonoma.bottle.tar.gz";
const CONTENTS: &[u8] = b"a bottle built in a private repository";

fn core_identity() -> WorkflowIdentity {
    WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    )
}

fn bottle() -> BottleRef {
    BottleRef {
        digest: sha256_bytes(CONTENTS),
        filename: NAME.parse().unwrap(),
    }
}

fn sign(stack: &SigstoreStack) -> String {
    stack.sign_attestation(
        &core_identity(),
        SLSA,
        json!({"buildDefinition": {}}),
        &[(NAME.to_owned(), *bottle().digest.as_bytes())],
    )
}

/// `json` on one line, for a JSON Lines file of roots.
fn line(json: &str) -> String {
    serde_json::from_str::<Value>(json).unwrap().to_string()
}

/// The public-good stand-in's root, then the GitHub stand-in's, as JSON Lines (what gh's
/// `trusted-root` prints and `--custom-trusted-root` takes).
fn roots_jsonl(public_good: &SigstoreStack, github: &SigstoreStack) -> String {
    format!(
        "{}\n{}\n",
        line(&public_good.trusted_root_json()),
        line(&github.trusted_root_json())
    )
}

fn parse(json: &str) -> sigstore_types::Bundle {
    let candidates = parse_attestations("test", json.as_bytes());
    (**candidates[0].bundle.as_ref().unwrap()).clone()
}

fn edit(json: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(json).unwrap();
    change(&mut value);
    value.to_string()
}

fn digest() -> Digest {
    Digest::Sha256(bottle().digest)
}

#[test]
fn the_stand_in_looks_like_github_s_instance() {
    let github = SigstoreStack::start_github_instance();
    let root: Value = serde_json::from_str(&github.trusted_root_json()).unwrap();
    assert!(root.get("tlogs").is_none() && root.get("ctlogs").is_none());
    assert_eq!(root["certificateAuthorities"].as_array().unwrap().len(), 1);
    assert_eq!(root["timestampAuthorities"].as_array().unwrap().len(), 1);
    let bundle: Value = serde_json::from_str(&sign(&github)).unwrap();
    let material = &bundle["verificationMaterial"];
    assert_eq!(material["tlogEntries"], json!([]));
    assert_eq!(
        material["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(github.request_counts().rekor, 0);
    // Routed by its issuer organisation, as gh routes GitHub's real bundles.
    assert_eq!(
        bottle_attest::trust::leaf_issuer_organisation(&parse(&bundle.to_string())).as_deref(),
        Some(bottle_attest::trust::GITHUB_ISSUER_ORG)
    );
}

#[test]
fn a_github_bundle_verifies_with_its_root_and_needs_a_policy_that_accepts_it() {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let trust = TrustRoot::from_text("roots.jsonl", &roots_jsonl(&public_good, &github)).unwrap();
    let json = sign(&github);
    let verified = verify_bundle(&trust, &parse(&json), &digest()).unwrap();
    assert_eq!(verified.instance(), Instance::GitHub);
    assert_eq!(verified.root().label(), "roots.jsonl, line 2");
    assert_eq!(verified.timestamps().len(), 1);
    assert_eq!(verified.timestamps()[0].kind, TimestampKind::Timestamp);

    // homebrew-core's policy names this signer but accepts only the public-good instance.
    let pile = [BundleCandidate {
        origin: "private.sigstore.json".into(),
        bundle: Ok(Box::new(parse(&json))),
    }];
    let (verdict, _) = Policy::homebrew_core().evaluate_pile(&bottle(), &trust, &pile);
    let Verdict::Invalid {
        source, failures, ..
    } = verdict
    else {
        panic!("expected invalid, got {verdict:?}");
    };
    assert_eq!(source, "homebrew-core");
    assert!(
        matches!(
            &failures[0].reason,
            Rejection::Instance {
                instance: Instance::GitHub,
                accepted,
            } if accepted == &[Instance::PublicGood]
        ),
        "{:?}",
        failures[0].reason
    );
    // Accepting GitHub's instance, the same bundle passes.
    let mut private = Policy::homebrew_core();
    private.sources[0].instances = vec![Instance::PublicGood, Instance::GitHub];
    let (verdict, _) = private.evaluate_pile(&bottle(), &trust, &pile);
    let Verdict::Verified(pass) = verdict else {
        panic!("expected verified, got {verdict:?}");
    };
    assert_eq!(pass.bundle.instance(), Instance::GitHub);
}

#[test]
fn a_github_bundle_without_a_timestamp_is_refused() {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let trust = TrustRoot::from_text("roots.jsonl", &roots_jsonl(&public_good, &github)).unwrap();
    let stripped = edit(&sign(&github), |b| {
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] = json!([]);
    });
    let err = verify_bundle(&trust, &parse(&stripped), &digest()).unwrap_err();
    assert!(matches!(err, CryptoError::NoSignedTimestamp), "{err:?}");
    assert!(
        err.to_string().contains("RFC 3161 timestamp"),
        "the reason says what is missing: {err}"
    );
}

#[test]
fn a_github_bundle_without_a_github_root_is_refused() {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let trust = TrustRoot::from_json("kit", &public_good.trusted_root_json()).unwrap();
    let err = verify_bundle(&trust, &parse(&sign(&github)), &digest()).unwrap_err();
    assert!(
        matches!(err, CryptoError::NoRoot(RouteError::NoGitHubRoot { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("GitHub's Sigstore instance"),
        "{err}"
    );
}

#[test]
fn a_public_good_bundle_still_needs_its_rekor_entry() {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let trust = TrustRoot::from_text("roots.jsonl", &roots_jsonl(&public_good, &github)).unwrap();
    // With a TSA timestamp too, so that only the log entry is missing once stripped: exactly
    // what a GitHub bundle has.
    public_good.set_timestamping(true);
    let json = sign(&public_good);
    let verified = verify_bundle(&trust, &parse(&json), &digest()).unwrap();
    assert_eq!(verified.instance(), Instance::PublicGood);
    let stripped = edit(&json, |b| {
        b["verificationMaterial"]["tlogEntries"] = json!([])
    });
    let err = verify_bundle(&trust, &parse(&stripped), &digest()).unwrap_err();
    let CryptoError::Verifier(sigstore_verify::Error::Bundle(inner)) = &err else {
        panic!("expected the verifier's refusal of the bundle, got {err:?}");
    };
    assert!(
        inner.to_string().contains("inclusion proof"),
        "refused for its missing log entry: {inner}"
    );
}

#[test]
fn crossed_roots_and_impostor_cas_are_not_accepted() {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let json = sign(&github);

    // GitHub's CA listed inside a public-good root (one document holding both): the root is
    // not GitHub's, so its policy is the public-good one, and the GitHub bundle has no log
    // entry to show.
    let mut mixed: Value = serde_json::from_str(&public_good.trusted_root_json()).unwrap();
    let github_root: Value = serde_json::from_str(&github.trusted_root_json()).unwrap();
    for key in ["certificateAuthorities", "timestampAuthorities"] {
        let extra = github_root[key].as_array().unwrap().clone();
        mixed[key].as_array_mut().unwrap().extend(extra);
    }
    let trust = TrustRoot::from_json("mixed", &mixed.to_string()).unwrap();
    assert_eq!(
        trust.instances().next().unwrap().instance(),
        Instance::PublicGood
    );
    let err = verify_bundle(&trust, &parse(&json), &digest()).unwrap_err();
    let CryptoError::Verifier(sigstore_verify::Error::Bundle(inner)) = &err else {
        panic!("expected the public-good policy's refusal, got {err:?}");
    };
    assert!(inner.to_string().contains("inclusion proof"), "{inner}");

    // An impostor instance under GitHub's names (its own CA and TSA, in no root): routed to
    // the GitHub root by its issuer organisation, and refused there.
    let impostor = SigstoreStack::start_github_instance();
    let trust = TrustRoot::from_text("roots.jsonl", &roots_jsonl(&public_good, &github)).unwrap();
    let err = verify_bundle(&trust, &parse(&sign(&impostor)), &digest()).unwrap_err();
    let CryptoError::Verifier(inner) = &err else {
        panic!("expected the verifier's refusal, got {err:?}");
    };
    // Its timestamp is checked first (it gives the time the chain is checked at), by a TSA
    // the GitHub root does not list either.
    assert!(
        inner
            .to_string()
            .contains("does not match any trusted TSA certificate"),
        "refused for its untrusted TSA: {inner}"
    );
}

/// A bottle, its GitHub-instance bundle and the roots file, on disk for the binaries.
struct Files {
    _dir: tempfile::TempDir,
    bottle: PathBuf,
    bundle: PathBuf,
    roots: PathBuf,
    policy: PathBuf,
    tsa_url: String,
}

fn files() -> Files {
    let public_good = SigstoreStack::start();
    let github = SigstoreStack::start_github_instance();
    let dir = temp_dir();
    let bottle = write(&dir, NAME, std::str::from_utf8(CONTENTS).unwrap());
    let bundle = write(&dir, "private.sigstore.json", &sign(&github));
    let roots = write(&dir, "roots.jsonl", &roots_jsonl(&public_good, &github));
    let policy = write(
        &dir,
        "private.toml",
        "name = \"private core\"\n\n[[source]]\nname = \"homebrew-core\"\n\
         repository = \"Homebrew/homebrew-core\"\ninstances = [\"public-good\", \"github\"]\n",
    );
    Files {
        _dir: dir,
        bottle,
        bundle,
        roots,
        policy,
        tsa_url: github.tsa_url().unwrap(),
    }
}

fn check(f: &Files, extra: &[&str]) -> Output {
    workspace_bin("brew-verify")
        .env("HOMEBREW_NO_COLOR", "1")
        .args(["--offline", "--json", "--bundle"])
        .arg(&f.bundle)
        .arg("--trusted-root")
        .arg(&f.roots)
        .args(extra)
        .arg(&f.bottle)
        .output()
        .unwrap()
}

#[test]
fn the_cli_verifies_a_github_bundle_only_under_a_policy_that_accepts_it() {
    let f = files();
    // `bundle`: any signer the user names; the JSON Lines roots give both instances.
    let out = workspace_bin("brew-verify")
        .args(["bundle", "--json", "--bundle"])
        .arg(&f.bundle)
        .arg("--trusted-root")
        .arg(&f.roots)
        .args([
            "--cert-identity",
            CORE_WORKFLOW,
            "--cert-oidc-issuer",
            GHA_ISSUER,
        ])
        .arg(&f.bottle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines[0]["bundles"][0]["instance"], "github", "{}", lines[0]);

    // The built-in policy (public-good only): invalid, for its instance.
    let out = check(&f, &["--explain"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = checked_lines(&out);
    let reason = lines[0]["failures"][0]["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        "signed by GitHub's Sigstore instance (private repository); this source accepts only \
         the public-good instance"
    );
    assert!(
        lines[0]["explanation"].as_str().unwrap().contains(reason),
        "{}",
        lines[0]["explanation"]
    );

    // A policy that accepts GitHub's instance: verified, and said so.
    let out = check(&f, &["--explain", "--policy", f.policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = checked_lines(&out);
    assert_eq!(lines[0]["instance"], "github");
    assert_eq!(
        lines[0]["verified_timestamps"][0]["kind"], "timestamp-authority",
        "{}",
        lines[0]
    );
    let explanation = lines[0]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("GitHub's Sigstore CA")
            && explanation.contains("no public transparency log"),
        "{explanation}"
    );
}

#[cfg(unix)]
#[test]
fn the_gh_shim_verifies_a_github_bundle_and_labels_its_time_as_gh_does() {
    let f = files();
    let dir = temp_dir();
    let gh = dir.path().join("gh");
    std::os::unix::fs::symlink(crate::gh_compat::brew_verify_path(), &gh).unwrap();
    let out = std::process::Command::new(&gh)
        .args(["attestation", "verify"])
        .arg(&f.bottle)
        .args([
            "--repo",
            "Homebrew/homebrew-core",
            "--format",
            "json",
            "--bundle",
        ])
        .arg(&f.bundle)
        .arg("--custom-trusted-root")
        .arg(&f.roots)
        .env("HOMEBREW_BREW_VERIFY_NO_CACHE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    // sigstore-go under gh's GitHub verifier (`WithSignedTimestamps(1)` alone) reports the
    // TSA's time only, typed `TimestampAuthority`, with the URI of the TSA in the root.
    assert_eq!(
        results[0]["verificationResult"]["verifiedTimestamps"],
        json!([{
            "type": "TimestampAuthority",
            "uri": f.tsa_url,
            "timestamp": results[0]["verificationResult"]["verifiedTimestamps"][0]["timestamp"],
        }])
    );
    assert!(
        results[0]["verificationResult"]["signature"]["certificate"]["certificateIssuer"]
            .as_str()
            .unwrap()
            .contains("GitHub")
    );
}

/// A private tap's CI attests its bottles with GitHub's instance; `brew-backfill audit`
/// concludes what brew-verify would under the tap's policy: verified with `--private` (the
/// tap's sources accept GitHub's instance), refused for the instance without it.
#[test]
fn brew_backfill_audit_verifies_a_private_tap_s_bottles_only_when_told_it_is_private() {
    const TAP: &str = "acme/homebrew-private";
    let github = SigstoreStack::start_github_instance();
    let api = testkit::github_api::GitHubApiServer::start();
    let bundle = github.sign_attestation(
        &WorkflowIdentity::github(TAP, "publish.yml", "refs/heads/main"),
        SLSA,
        json!({"buildDefinition": {}}),
        &[(NAME.to_owned(), *bottle().digest.as_bytes())],
    );
    let sha = hex::encode(bottle().digest.as_bytes());
    api.add(TAP, &sha, &bundle);
    let dir = temp_dir();
    let roots = write(&dir, "roots.jsonl", &line(&github.trusted_root_json()));
    let header = json!({
        "kind": "plan", "version": 1, "formulae": "formula.json",
        "formulae_sha256": "0".repeat(64), "mode": "tap",
        "core_repository": "Homebrew/homebrew-core", "repository": TAP,
        "checked_registry": false, "bottle_root": "https://ghcr.io/v2/acme/private",
        "tags": [], "created_at": "2026-12-01T00:00:00Z",
        "counts": {"bottles": 1, "in_shard": 1, "upstream": 0, "backfilled": 0, "needed": 1, "failed": 0},
    });
    let entry = json!({
        "kind": "bottle", "formula": "private", "version": "1.0", "rebuild": 0,
        "tag": "arm64_sonoma", "file_name": NAME,
        "url": format!("https://ghcr.io/v2/acme/private/private/blobs/sha256:{sha}"),
        "sha256": sha, "subject": NAME,
    });
    let plan = write(&dir, "plan.jsonl", &format!("{header}\n{entry}\n"));
    let audit = |extra: &[&str]| {
        let mut cmd = workspace_bin("brew-backfill");
        for var in ["HOMEBREW_GITHUB_API_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"] {
            cmd.env_remove(var);
        }
        cmd.env("GH_ENTERPRISE_TOKEN", "kit-token")
            .arg("audit")
            .arg("--plan")
            .arg(&plan)
            .args([
                "--repo",
                TAP,
                "--api-url",
                &api.url(),
                "--workflow",
                "backfill.yml",
            ])
            .arg("--trusted-root")
            .arg(&roots)
            .args(extra)
            .output()
            .unwrap()
    };
    let private = audit(&["--private"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&private.stdout),
        String::from_utf8_lossy(&private.stderr)
    );
    assert_eq!(private.status.code(), Some(0), "{text}");
    assert!(text.contains("1 verified"), "{text}");

    let public = audit(&[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&public.stdout),
        String::from_utf8_lossy(&public.stderr)
    );
    assert_eq!(public.status.code(), Some(1), "{text}");
    assert!(
        text.contains("GitHub's Sigstore instance") && text.contains("accepts only"),
        "the refusal names the instance: {text}"
    );
}
