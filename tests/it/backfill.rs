//! `brew-backfill` end to end on loopback: the kit's Fulcio, Rekor and TSA, the GitHub API
//! fixture (which stores uploads and serves them back), a formula JSON of a few hundred
//! bottles of which some already have homebrew-core attestations; then the real `brew-verify`
//! and sigstore-python over what was uploaded. Also: SIGKILL at every step of `sign` and
//! `upload` and a re-run, the cutoff, `--dry-run`, and the tap workflow file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bottle_attest::bottle::{BottleFilename, BottleRef, DEFAULT_BOTTLE_ROOT};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstore_types::Sha256Hash;
use testkit::github_api::GitHubApiServer;
use testkit::{SigstoreStack, WorkflowIdentity};

use crate::util::{temp_dir, workspace_bin, write};

const SLSA: &str = "https://slsa.dev/provenance/v1";
const TAP: &str = "acme/homebrew-backfill";
const WORKFLOW: &str = "backfill.yml";
const CORE: &str = "Homebrew/homebrew-core";
const TAGS: [&str; 3] = ["arm64_sonoma", "sonoma", "x86_64_linux"];
/// Not a GitHub Packages root (no `/v2/`), so brew-verify checks no registry for these.
const ROOT: &str = "https://bottles.example.invalid/core";

/// One synthetic bottle of the formula JSON.
#[derive(Debug, Clone)]
struct Bottle {
    formula: String,
    file_name: String,
    sha256: [u8; 32],
}

impl Bottle {
    fn hex(&self) -> String {
        hex::encode(self.sha256)
    }

    fn subject(&self) -> String {
        self.subject_on(DEFAULT_BOTTLE_ROOT)
    }

    /// Its cache name with the bottle URL on `root`.
    fn subject_on(&self, root: &str) -> String {
        BottleRef {
            digest: Sha256Hash::new(self.sha256),
            filename: self.file_name.parse::<BottleFilename>().unwrap(),
        }
        .cache_name(root)
    }
}

/// `count` formulae with a bottle for each of [`TAGS`].
fn formulae(count: usize) -> (Value, Vec<Bottle>) {
    let mut list = Vec::new();
    let mut bottles = Vec::new();
    for i in 0..count {
        let name = format!("legacy{i:03}");
        let version = format!("1.{i}");
        let mut files = serde_json::Map::new();
        for tag in TAGS {
            let sha256: [u8; 32] = Sha256::digest(format!("{name}-{tag}")).into();
            files.insert(
                tag.to_owned(),
                json!({
                    "cellar": ":any",
                    "url": format!("{ROOT}/{name}/blobs/sha256:{}", hex::encode(sha256)),
                    "sha256": hex::encode(sha256),
                }),
            );
            bottles.push(Bottle {
                formula: name.clone(),
                file_name: format!("{name}--{version}.{tag}.bottle.tar.gz"),
                sha256,
            });
        }
        list.push(json!({
            "name": name,
            "versions": {"stable": version},
            "revision": 0,
            "bottle": {"stable": {"rebuild": 0, "root_url": ROOT, "files": files}},
        }));
    }
    (Value::Array(list), bottles)
}

struct World {
    stack: SigstoreStack,
    api: GitHubApiServer,
    dir: tempfile::TempDir,
    bottles: Vec<Bottle>,
    formula_file: PathBuf,
    root_file: PathBuf,
    token_file: PathBuf,
}

impl World {
    /// `count` formulae (3 bottles each); every `core_every`-th formula's bottles get a
    /// homebrew-core attestation (one statement, all three as subjects).
    fn new(count: usize, core_every: usize) -> World {
        let stack = SigstoreStack::start();
        let api = GitHubApiServer::start();
        let dir = temp_dir();
        let (json, bottles) = formulae(count);
        let formula_file = write(&dir, "formula.json", &json.to_string());
        let root_file = write(&dir, "trusted_root.json", &stack.trusted_root_json());
        let token_file = write(
            &dir,
            "token.jwt",
            &stack.identity_token(&WorkflowIdentity::github(TAP, WORKFLOW, "refs/heads/main")),
        );
        let core_id =
            WorkflowIdentity::github(CORE, "publish-commit-bottles.yml", "refs/heads/main");
        // `core_every == 0`: no core attestations at all.
        for chunk in bottles
            .chunks(3)
            .step_by(core_every.max(1))
            .take(if core_every == 0 { 0 } else { usize::MAX })
        {
            let subjects: Vec<(String, [u8; 32])> = chunk
                .iter()
                .map(|b| (b.file_name.clone(), b.sha256))
                .collect();
            let bundle = stack.sign_attestation(&core_id, SLSA, json!({}), &subjects);
            for b in chunk {
                api.add(CORE, &b.hex(), &bundle);
            }
        }
        World {
            stack,
            api,
            dir,
            bottles,
            formula_file,
            root_file,
            token_file,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// brew-backfill with this world's services and a clean environment.
    fn backfill(&self) -> Command {
        let mut cmd = workspace_bin("brew-backfill");
        for var in [
            "HOMEBREW_GITHUB_API_TOKEN",
            "GH_TOKEN",
            "GITHUB_REPOSITORY",
            "GITHUB_WORKFLOW_REF",
            "GITHUB_RUN_ID",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "BREW_BACKFILL_PAUSE_AT",
        ] {
            cmd.env_remove(var);
        }
        // The kit's loopback API is "another host" under gh's token rules: GITHUB_TOKEN is
        // bound to api.github.com, the enterprise variable to any other API host.
        cmd.env_remove("GITHUB_TOKEN");
        cmd.env("GH_ENTERPRISE_TOKEN", "kit-token");
        cmd
    }

    fn api_args(&self) -> Vec<String> {
        vec!["--api-url".into(), self.api.url()]
    }

    /// These worlds exercise the core-style machinery (homebrew-core upstream, cache-name
    /// subjects); tap mode has its own test.
    fn mode_args(&self) -> Vec<String> {
        vec!["--mode".into(), "core-style".into()]
    }

    /// `plan`'s repository and mode.
    fn plan_args(&self) -> Vec<String> {
        let mut args = self.mode_args();
        args.extend(["--repo".into(), TAP.into()]);
        args
    }

    fn policy_args(&self) -> Vec<String> {
        vec![
            "--trusted-root".into(),
            self.root_file.display().to_string(),
            "--workflow".into(),
            WORKFLOW.into(),
        ]
    }

    fn signing_args(&self) -> Vec<String> {
        vec![
            "--identity-token".into(),
            self.token_file.display().to_string(),
            "--fulcio-url".into(),
            self.stack.fulcio_url(),
            "--rekor-url".into(),
            self.stack.rekor_url(),
            "--tsa-url".into(),
            self.stack.tsa_url().unwrap(),
            "--repo".into(),
            TAP.into(),
        ]
    }

    fn plan(&self, out: &Path, extra: &[&str]) -> Output {
        let out = self
            .backfill()
            .arg("plan")
            .arg("--formulae")
            .arg(&self.formula_file)
            .arg("--plan")
            .arg(out)
            .args(self.api_args())
            .args(self.plan_args())
            .args(self.policy_args())
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "plan: {}", describe(&out));
        out
    }

    fn sign_cmd(&self, plan: &Path, extra: &[&str]) -> Command {
        let mut cmd = self.backfill();
        cmd.arg("sign")
            .arg("--plan")
            .arg(plan)
            .arg("--journal")
            .arg(self.path("state/journal.jsonl"))
            .arg("--out")
            .arg(self.path("state/bundles"))
            .args(self.signing_args())
            .args(self.policy_args())
            .args(["--progress-interval", "0"])
            .args(extra);
        cmd
    }

    fn upload_cmd(&self, extra: &[&str]) -> Command {
        let mut cmd = self.backfill();
        cmd.arg("upload")
            .arg("--journal")
            .arg(self.path("state/journal.jsonl"))
            .args(["--repo", TAP])
            .args(self.api_args())
            .args(extra);
        cmd
    }

    fn audit(&self, plan: &Path, extra: &[&str]) -> Output {
        self.backfill()
            .arg("audit")
            .arg("--plan")
            .arg(plan)
            .args(["--repo", TAP])
            .args(self.api_args())
            .args(self.policy_args())
            .args(extra)
            .output()
            .unwrap()
    }

    /// A brew-verify policy: homebrew-core first, then this tap's backfill before `cutoff`.
    fn policy_file(&self, name: &str, cutoff: &str) -> PathBuf {
        write(
            &self.dir,
            name,
            &format!(
                r#"
name = "test-tap"

[[source]]
name = "homebrew-core"
repository = "{CORE}"
refs = ["refs/heads/master", "refs/heads/main"]

[[source]]
name = "backfill"
repository = "{TAP}"
workflows = ["{WORKFLOW}"]
subject = "cache-name"
logged_at_or_before = "{cutoff}"
"#
            ),
        )
    }

    /// The real brew-verify over every bottle of the formula JSON, under `policy`.
    fn brew_verify(&self, policy: &Path) -> (Output, Vec<Value>) {
        let names: Vec<&str> = self
            .bottles
            .iter()
            .step_by(TAGS.len())
            .map(|b| b.formula.as_str())
            .collect();
        let out = workspace_bin("brew-verify")
            .env_remove("HOMEBREW_GITHUB_API_TOKEN")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env_remove("HOMEBREW_BOTTLE_DOMAIN")
            .env("HOMEBREW_CACHE", self.path("brew-cache"))
            .arg("--json")
            .arg("--no-cache")
            .arg("--all-tags")
            .arg("--policy")
            .arg(policy)
            .arg("--trusted-root")
            .arg(&self.root_file)
            .arg("--formula-json")
            .arg(&self.formula_file)
            .args(["--api-url", &self.api.url()])
            .args(names)
            .output()
            .unwrap();
        let results = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out, results)
    }

    /// Every upload's statement subjects, by subject name → how many uploads carry it.
    fn uploaded_subjects(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for upload in self.api.uploads() {
            assert_eq!(upload.repo.to_ascii_lowercase(), TAP.to_ascii_lowercase());
            let bundle: Value = serde_json::from_str(&upload.bundle_json).unwrap();
            for s in statement(&bundle)["subject"].as_array().unwrap() {
                *seen
                    .entry(s["name"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        seen
    }
}

fn statement(bundle: &Value) -> Value {
    use base64::Engine as _;
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn plan_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Journal records by type.
fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Subject name → number of non-abandoned signed batches holding it, from the journal.
fn signed_subjects(path: &Path) -> BTreeMap<String, usize> {
    let records = journal(path);
    let abandoned: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "abandoned")
        .map(|r| r["batch"].as_u64().unwrap())
        .collect();
    let signed: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "signed")
        .map(|r| r["batch"].as_u64().unwrap())
        .collect();
    let mut out = BTreeMap::new();
    for r in records.iter().filter(|r| r["type"] == "prepared") {
        let batch = r["batch"].as_u64().unwrap();
        if abandoned.contains(&batch) || !signed.contains(&batch) {
            continue;
        }
        for s in statement(&json!({"dsseEnvelope": r["envelope"]}))["subject"]
            .as_array()
            .unwrap()
        {
            *out.entry(s["name"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn plan_is_deterministic_shardable_and_skips_upstream_attestations() {
    let w = World::new(40, 4);
    let whole = w.path("plan.jsonl");
    w.plan(&whole, &[]);
    let lines = plan_lines(&whole);
    let header = &lines[0];
    assert_eq!(header["kind"], "plan");
    assert_eq!(header["counts"]["bottles"], 120);
    // Formulae 0, 4, 8… have core attestations: 10 formulae × 3 bottles.
    assert_eq!(header["counts"]["upstream"], 30);
    assert_eq!(header["counts"]["needed"], 90);
    let entries: Vec<&Value> = lines[1..].iter().collect();
    assert_eq!(entries.len(), 90);
    // Sorted by formula, then tag, and named as the backfill policy expects.
    let keys: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["formula"].as_str().unwrap().into(),
                e["tag"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let by_file: BTreeMap<&str, &Bottle> = w
        .bottles
        .iter()
        .map(|b| (b.file_name.as_str(), b))
        .collect();
    for e in &entries {
        let b = by_file[e["file_name"].as_str().unwrap()];
        assert_eq!(e["subject"], b.subject());
        assert_eq!(e["sha256"], b.hex());
        let index: usize = b.formula["legacy".len()..].parse().unwrap();
        assert_ne!(index % 4, 0, "{} has a core attestation", b.formula);
    }

    // The same input gives the same lines.
    let again = w.path("again.jsonl");
    w.plan(&again, &[]);
    assert_eq!(plan_lines(&again)[1..], lines[1..]);

    // Shards partition the plan, stably.
    let mut union = Vec::new();
    for i in 1..=3 {
        let shard = w.path(&format!("shard-{i}.jsonl"));
        w.plan(&shard, &["--shard", &format!("{i}/3")]);
        let shard_lines = plan_lines(&shard);
        assert_eq!(shard_lines[0]["shard"], format!("{i}/3"));
        assert!(!shard_lines[1..].is_empty());
        union.extend(shard_lines[1..].iter().cloned());
    }
    union.sort_by_key(|v| (v["formula"].to_string(), v["tag"].to_string()));
    assert_eq!(union, lines[1..]);

    // --tag filters; --dry-run prints and writes nothing.
    let out = w
        .backfill()
        .args(["plan", "--dry-run", "--tag", "sonoma", "--formulae"])
        .arg(&w.formula_file)
        .args(w.api_args())
        .args(w.plan_args())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let printed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.len(), 1 + 30);
    assert!(printed[1..].iter().all(|e| e["tag"] == "sonoma"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("30 need a backfill"));

    // A lookup that fails is reported, never silently planned or dropped: exit 4.
    w.api.bad_gateway_next(1000);
    let out = w
        .backfill()
        .args(["plan", "--dry-run", "--formulae"])
        .arg(&w.formula_file)
        .args(w.api_args())
        .args(w.plan_args())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    w.api.clear_faults();
}

#[test]
fn plan_sign_upload_audit_leaves_every_bottle_verifiable_by_brew_verify() {
    // 100 formulae, 300 bottles; every 5th formula (60 bottles) is attested by core.
    let w = World::new(100, 5);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let planned = plan_lines(&plan).len() - 1;
    assert_eq!(planned, 240);

    // Before anything is signed, audit finds every planned bottle missing (exit 3).
    let out = w.audit(&plan, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));

    // --dry-run: counts, and nothing touched.
    let fulcio_start = w.stack.request_counts().fulcio;
    let out = w
        .sign_cmd(&plan, &["--dry-run", "--batch-size", "64"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("240 subjects to sign in 4 new batches of up to 64"),
        "{stdout}"
    );
    assert!(!w.path("state").exists(), "a dry run created files");
    assert_eq!(w.stack.request_counts().fulcio, fulcio_start);

    let out = w.sign_cmd(&plan, &["--batch-size", "64"]).output().unwrap();
    assert!(out.status.success(), "sign: {}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sign: 240/240 subjects (100%)"), "{stderr}");
    // One certificate and one log entry per batch of 64.
    assert_eq!(
        w.stack.rekor_log_size(),
        4 + 20,
        "4 backfill + 20 core entries"
    );
    let signed = signed_subjects(&w.path("state/journal.jsonl"));
    assert_eq!(signed.len(), 240);
    assert!(signed.values().all(|&n| n == 1));

    // Signing again signs nothing.
    let fulcio_before = w.stack.request_counts().fulcio;
    let out = w.sign_cmd(&plan, &["--batch-size", "64"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(w.stack.request_counts().fulcio, fulcio_before);

    let out = w.upload_cmd(&["--dry-run"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 bundles (240 subjects) to upload"));
    assert!(w.api.uploads().is_empty());
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "upload: {}", describe(&out));
    assert_eq!(w.api.uploads().len(), 4);
    let uploaded = w.uploaded_subjects();
    assert_eq!(uploaded.len(), 240);
    // Uploading again uploads nothing.
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(w.api.uploads().len(), 4);

    let out = w.audit(&plan, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "audit: {}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("240 verified by the backfill"),
        "{}",
        describe(&out)
    );

    // A re-plan against the tap finds nothing left to do.
    let replan = w.path("replan.jsonl");
    w.plan(&replan, &[]);
    assert_eq!(plan_lines(&replan)[0]["counts"]["backfilled"], 240);
    assert_eq!(plan_lines(&replan).len(), 1);

    // The real brew-verify, online against the API fixture, under the tap's policy: all 300.
    let policy = w.policy_file("policy.toml", "2099-01-01T00:00:00Z");
    let (out, results) = w.brew_verify(&policy);
    assert_eq!(
        out.status.code(),
        Some(0),
        "brew-verify: {}",
        describe(&out)
    );
    assert_eq!(results.len(), 300);
    let by_source = |s: &str| results.iter().filter(|r| r["source"] == s).count();
    assert_eq!(by_source("homebrew-core"), 60);
    assert_eq!(by_source("backfill"), 240);

    // sigstore-python accepts a sample bundle for one of its subjects.
    if let Some(sigstore) = crate::sigstore_python::sigstore_python() {
        let trust_config = write(&w.dir, "trust_config.json", &w.stack.trust_config_json());
        let upload = &w.api.uploads()[1];
        let bundle_file = write(&w.dir, "sample.sigstore.json", &upload.bundle_json);
        let bundle: Value = serde_json::from_str(&upload.bundle_json).unwrap();
        let subject = &statement(&bundle)["subject"][7];
        let id = WorkflowIdentity::github(TAP, WORKFLOW, "refs/heads/main");
        let out = Command::new(sigstore)
            .arg("--trust-config")
            .arg(&trust_config)
            .args(["verify", "github", "--offline", "--bundle"])
            .arg(&bundle_file)
            .args(["--cert-identity", &id.san(), "--repository", TAP])
            .args(["--ref", "refs/heads/main"])
            .arg(format!(
                "sha256:{}",
                subject["digest"]["sha256"].as_str().unwrap()
            ))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "sigstore-python: {}", describe(&out));
    }
}

/// Run `cmd` until it pauses at `point` (its n-th time), then SIGKILL it.
fn kill_at(mut cmd: Command, dir: &Path, point: &str, n: usize) {
    let marker = dir.join(format!("paused-{point}-{n}"));
    let mut child = cmd
        .env("BREW_BACKFILL_PAUSE_AT", format!("{point}:{n}"))
        .env("BREW_BACKFILL_PAUSE_FILE", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before reaching {point} #{n}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never reached {point}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no last record.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn killed_at_every_step_and_rerun_signs_and_uploads_each_subject_once() {
    // 30 formulae, 90 bottles, none attested upstream; batches of 8 → 12 batches.
    let w = World::new(30, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let sign = |extra: &[&str]| {
        let mut args = vec!["--batch-size", "8", "--sign-jobs", "1"];
        args.extend_from_slice(extra);
        w.sign_cmd(&plan, &args)
    };
    let state = w.path("state");
    // Killed after the envelope is recorded, before Rekor sees it.
    kill_at(sign(&[]), &state, "prepared", 2);
    // Killed after Rekor logged it, before the bundle is saved and recorded.
    kill_at(sign(&[]), &state, "logged", 2);
    // Killed right after a batch is recorded as signed.
    kill_at(sign(&[]), &state, "signed", 3);
    // And once more mid-way after a resumed batch.
    kill_at(sign(&[]), &state, "prepared", 3);
    let out = sign(&[]).output().unwrap();
    assert!(out.status.success(), "final sign: {}", describe(&out));

    let journal_path = w.path("state/journal.jsonl");
    let signed = signed_subjects(&journal_path);
    assert_eq!(signed.len(), 90, "every planned subject is signed");
    assert!(
        signed.values().all(|&n| n == 1),
        "no subject is signed twice: {signed:?}"
    );
    let records = journal(&journal_path);
    let count = |t: &str| records.iter().filter(|r| r["type"] == t).count();
    assert_eq!(count("abandoned"), 0);
    assert_eq!(count("prepared"), count("signed"));
    // Not even the log holds a duplicate: one Rekor entry per batch.
    assert_eq!(w.stack.rekor_log_size(), count("signed"));
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "signed" && r["recovered"] == true),
        "the batch killed after Rekor was recovered from the log, not signed again"
    );

    // Uploads: killed before a POST, and after a POST that the journal never recorded.
    kill_at(w.upload_cmd(&[]), &state, "upload-started", 2);
    kill_at(w.upload_cmd(&[]), &state, "posted", 4);
    kill_at(w.upload_cmd(&[]), &state, "posted", 2);
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "final upload: {}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("found already uploaded"));
    let uploaded = w.uploaded_subjects();
    assert_eq!(uploaded.len(), 90);
    assert!(
        uploaded.values().all(|&n| n == 1),
        "an upload was duplicated: {uploaded:?}"
    );
    assert_eq!(w.api.uploads().len(), count("signed"));
    let records = journal(&journal_path);
    let uploaded_records = records.iter().filter(|r| r["type"] == "uploaded").count();
    assert_eq!(uploaded_records, count("signed"));

    // The API says the same as the journal: every bottle is verified by the backfill.
    let out = w.audit(&plan, &[]);
    assert_eq!(out.status.code(), Some(0), "audit: {}", describe(&out));
}

#[test]
fn upload_survives_transient_failures_and_rate_limits_without_duplicates() {
    let w = World::new(8, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let out = w.sign_cmd(&plan, &["--batch-size", "6"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    // A 502 on the first POST (which the fixture did not store), then a secondary rate limit.
    w.api.bad_gateway_next(1);
    w.api.rate_limit_next(1, Duration::from_secs(1));
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rate-limit waits"), "{stderr}");
    assert_eq!(w.api.uploads().len(), 4);
    assert!(w.uploaded_subjects().values().all(|&n| n == 1));
}

#[test]
fn bundles_logged_after_the_cutoff_are_refused() {
    let w = World::new(4, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    // Our own verifier refuses to accept what it signs after --cutoff: nothing is recorded.
    let out = w
        .sign_cmd(&plan, &["--cutoff", "2024-03-14T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("after the cutoff"),
        "{}",
        describe(&out)
    );
    assert!(signed_subjects(&w.path("state/journal.jsonl")).is_empty());

    // Signed and uploaded today, then checked under two policies.
    let out = w.sign_cmd(&plan, &[]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let later = w.policy_file("later.toml", "2099-01-01T00:00:00Z");
    let (out, results) = w.brew_verify(&later);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(results.iter().all(|r| r["source"] == "backfill"));
    // A cutoff in the past: every bundle was logged after it, so every bottle is invalid.
    let past = w.policy_file("past.toml", "2024-03-14T00:00:00Z");
    let (out, results) = w.brew_verify(&past);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(results.len(), 12);
    assert!(
        results.iter().all(|r| r["status"] == "invalid"),
        "{results:#?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cutoff"),
        "{}",
        describe(&out)
    );
    // And so does audit with that cutoff.
    let out = w.audit(&plan, &["--cutoff", "2024-03-14T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

/// workflows/backfill.yml, parsed (actionlint is not packaged here) and checked: inputs,
/// permissions, the job graph, the journal artifact, and every brew-backfill flag it uses.
#[test]
fn workflow_has_inputs_least_privilege_job_graph_and_valid_invocations() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/backfill.yml"),
    )
    .unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("backfill.yml is YAML");
    let wf = &docs[0];
    let keys = |y: &Yaml| -> Vec<String> {
        y.as_hash()
            .map(|h| {
                h.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let perms = |y: &Yaml| -> BTreeMap<String, String> {
        y.as_hash()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap().to_owned(),
                    v.as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    // Manual dispatch with typed inputs.
    let inputs = &wf["on"]["workflow_dispatch"]["inputs"];
    for (name, ty) in [
        ("shards", "number"),
        ("batch_size", "number"),
        ("dry_run", "boolean"),
        ("mode", "choice"),
        ("formulae", "string"),
        ("resume_run_id", "string"),
        ("brew_backfill_version", "string"),
    ] {
        assert_eq!(inputs[name]["type"].as_str(), Some(ty), "input {name}");
    }
    assert_eq!(inputs["dry_run"]["default"].as_bool(), Some(true));
    assert_eq!(inputs["mode"]["default"].as_str(), Some("tap"));
    let input_names = keys(inputs);
    for (i, _) in text.match_indices("inputs.") {
        let name: String = text[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(input_names.contains(&name), "unknown input `{name}`");
    }

    // Least privilege: read-only by default, OIDC and attestation upload for signing only;
    // `actions: read` where a resumed run's artifacts are fetched.
    assert_eq!(
        perms(&wf["permissions"]),
        BTreeMap::from([("contents".into(), "read".into())])
    );
    let jobs = &wf["jobs"];
    assert_eq!(keys(jobs), ["plan", "sign-upload", "audit"]);
    assert_eq!(
        perms(&jobs["sign-upload"]["permissions"]),
        BTreeMap::from([
            ("id-token".into(), "write".into()),
            ("attestations".into(), "write".into()),
            ("contents".into(), "read".into()),
            ("actions".into(), "read".into()),
        ])
    );
    assert_eq!(
        perms(&jobs["plan"]["permissions"]),
        BTreeMap::from([
            ("contents".into(), "read".into()),
            ("actions".into(), "read".into()),
        ])
    );
    assert_eq!(
        perms(&jobs["audit"]["permissions"]),
        BTreeMap::from([("contents".into(), "read".into())])
    );
    for job in keys(jobs) {
        assert!(
            jobs[job.as_str()]["timeout-minutes"].as_i64().is_some(),
            "{job} has no timeout"
        );
    }

    // plan → matrix of sign-upload shards → audit.
    assert_eq!(jobs["sign-upload"]["needs"].as_str(), Some("plan"));
    let audit_needs: Vec<&str> = jobs["audit"]["needs"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(audit_needs, ["plan", "sign-upload"]);
    assert!(keys(&jobs["plan"]["outputs"]).contains(&"shards".to_owned()));
    assert_eq!(
        jobs["sign-upload"]["strategy"]["matrix"]["shard"].as_str(),
        Some("${{ fromJSON(needs.plan.outputs.shards) }}")
    );
    assert_eq!(
        jobs["sign-upload"]["strategy"]["fail-fast"].as_bool(),
        Some(false)
    );
    assert!(
        jobs["sign-upload"]["if"]
            .as_str()
            .unwrap()
            .contains("!inputs.dry_run")
    );
    let audit_if = jobs["audit"]["if"].as_str().unwrap();
    assert!(audit_if.contains("!cancelled()"), "{audit_if}");
    assert!(
        audit_if.contains("needs.plan.result == 'success'"),
        "{audit_if}"
    );
    // The signing identity is the workflow this run is, derived once from `workflow_ref`.
    assert_eq!(
        jobs["plan"]["outputs"]["workflow"].as_str(),
        Some("${{ steps.setup.outputs.workflow }}")
    );
    assert!(text.contains("${{ github.workflow_ref }}"));
    assert!(!text.contains("--workflow backfill.yml"));
    assert!(wf["concurrency"]["group"].as_str().is_some());

    // The journal: fetched before signing, kept as an artifact whatever happens.
    let steps = jobs["sign-upload"]["steps"].as_vec().unwrap();
    let position = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred).unwrap();
    let journal_name = "journal-${{ matrix.shard }}";
    let uses = |s: &Yaml, action: &str| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{action}@")))
    };
    // Fetched by pattern: none yet downloads nothing, a failed download fails the job (it
    // never silently signs everything again).
    let fetch = position(&|s| {
        uses(s, "actions/download-artifact") && s["with"]["pattern"].as_str() == Some(journal_name)
    });
    let sign = position(&|s| s["name"].as_str() == Some("Sign"));
    let keep = position(&|s| {
        uses(s, "actions/upload-artifact") && s["with"]["name"].as_str() == Some(journal_name)
    });
    assert!(fetch < sign && sign < keep);
    assert_eq!(steps[keep]["if"].as_str(), Some("${{ always() }}"));
    assert_eq!(steps[keep]["with"]["overwrite"].as_bool(), Some(true));
    assert!(steps[fetch]["continue-on-error"].is_badvalue());
    assert_eq!(steps[fetch]["with"]["merge-multiple"].as_bool(), Some(true));
    let cross_run = position(&|s| {
        uses(s, "actions/download-artifact")
            && s["with"]["pattern"].as_str() == Some(journal_name)
            && s["with"]["run-id"].as_str() == Some("${{ inputs.resume_run_id }}")
    });
    assert!(fetch < cross_run && cross_run < sign);

    // Every brew-backfill command line names flags the binary has.
    let mut commands = 0;
    for job in keys(jobs) {
        for step in jobs[job.as_str()]["steps"].as_vec().unwrap() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            // `$PROGRESS` is the workflow's own flags: checked like the others.
            let progress = wf["env"]["PROGRESS"].as_str().unwrap();
            let joined = script.replace("\\\n", " ").replace("$PROGRESS", progress);
            for line in joined.lines() {
                let Some(at) = line.find("brew-backfill ") else {
                    continue;
                };
                if line.contains("cargo install") {
                    continue;
                }
                let words: Vec<&str> = line[at + "brew-backfill ".len()..]
                    .split_whitespace()
                    .collect();
                let sub = words[0];
                let help = workspace_bin("brew-backfill")
                    .args([sub, "--help"])
                    .output()
                    .unwrap();
                assert!(help.status.success(), "brew-backfill {sub} --help");
                let help = String::from_utf8_lossy(&help.stdout);
                for flag in words.iter().filter(|w| w.starts_with("--")) {
                    assert!(
                        help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                        "`brew-backfill {sub}` has no flag {flag}"
                    );
                }
                commands += 1;
            }
        }
    }
    // plan, sign --dry-run, sign, upload, audit, policy.
    assert!(commands >= 6, "{commands} brew-backfill command lines");
}

#[test]
fn run_chains_plan_sign_upload_audit_and_a_second_run_does_nothing() {
    let w = World::new(6, 2);
    let run = |extra: &[&str]| {
        w.backfill()
            .arg("run")
            .arg("--formulae")
            .arg(&w.formula_file)
            .arg("--journal")
            .arg(w.path("run/journal.jsonl"))
            .arg("--out")
            .arg(w.path("run/bundles"))
            .args(w.api_args())
            .args(w.mode_args())
            .args(w.signing_args())
            .args(w.policy_args())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 subjects to sign in 1 new batches"),
        "{stdout}"
    );
    assert!(stdout.contains("upload (dry run): 0 bundles"), "{stdout}");
    assert!(!w.path("run").exists());

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("9 need a backfill"), "{stderr}");
    assert!(stderr.contains("9 verified by the backfill"), "{stderr}");
    assert_eq!(w.api.uploads().len(), 1);

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("9 are already backfilled"));
    assert_eq!(w.api.uploads().len(), 1);
}

#[test]
fn check_ghcr_confirms_each_digest_against_the_registry() {
    use testkit::registry::{PlatformBottle, formula_json};
    let Some(registry) = crate::util::registry() else {
        return;
    };
    let w = World::new(0, 0);
    let pushed = registry.push_bottles(
        "alpha",
        "1.0",
        0,
        &[
            PlatformBottle::new("arm64_sonoma"),
            PlatformBottle::new("x86_64_linux"),
        ],
    );
    let mut json = formula_json(&[(&pushed, &[])]);
    let good = write(&w.dir, "good.json", &json.to_string());
    let plan = |formulae: &Path| {
        w.backfill()
            .env_remove("HOMEBREW_DOCKER_REGISTRY_TOKEN")
            .env_remove("HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN")
            .args(["plan", "--dry-run", "--check-ghcr", "--formulae"])
            .arg(formulae)
            .args(w.api_args())
            .args(w.plan_args())
            .output()
            .unwrap()
    };
    let out = plan(&good);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 need a backfill"));

    // The formula JSON names a digest the registry does not confirm: not planned, exit 4.
    json[0]["bottle"]["stable"]["files"]["x86_64_linux"]["sha256"] = json!("ab".repeat(32));
    let bad = write(&w.dir, "bad.json", &json.to_string());
    let out = plan(&bad);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        2,
        "header and the arm64_sonoma bottle: {stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("registry does not confirm"));
}

/// A batch prepared (certificate issued, envelope signed) but killed before Rekor, and
/// resumed only after its ten-minute certificate expired: the late log entry verifies for no
/// one, so the batch is abandoned and its subjects are signed afresh, once.
#[test]
fn a_batch_resumed_after_its_certificate_expired_is_signed_afresh() {
    let w = World::new(4, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let sign = || w.sign_cmd(&plan, &["--batch-size", "6", "--sign-jobs", "1"]);
    // Prepared half an hour ago (kit time), resumed now.
    w.stack
        .set_time(chrono::Utc::now() - chrono::Duration::minutes(30));
    kill_at(sign(), &w.path("state"), "prepared", 1);
    w.stack.use_real_time();
    let out = sign().output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signing its 6 subjects again"));
    let journal_path = w.path("state/journal.jsonl");
    let records = journal(&journal_path);
    assert_eq!(
        records.iter().filter(|r| r["type"] == "abandoned").count(),
        1
    );
    let signed = signed_subjects(&journal_path);
    assert_eq!(signed.len(), 12);
    assert!(signed.values().all(|&n| n == 1));
    // The log holds the late, unusable entry besides the two good ones.
    assert_eq!(w.stack.rekor_log_size(), 3);
}

#[test]
fn a_killed_plan_resumes_without_asking_again() {
    // Issue 11, part 2: a plan killed part-way keeps what it classified; the rerun asks the
    // API only for the rest and writes the same plan.
    let w = World::new(10, 3);
    // One lookup per bottle and source (no bulk endpoint, as on GitHub Enterprise Server), so
    // that what a rerun saves shows in the request count.
    w.api.set_bulk_owner_kind(None);
    let plan = w.path("plan.jsonl");
    let cmd = || {
        let mut cmd = w.backfill();
        cmd.arg("plan")
            .arg("--formulae")
            .arg(&w.formula_file)
            .arg("--plan")
            .arg(&plan)
            .args(["--jobs", "1"])
            .args(w.api_args())
            .args(w.plan_args())
            .args(w.policy_args());
        cmd
    };
    std::fs::create_dir_all(w.path("state")).unwrap();
    kill_at(cmd(), &w.path("state"), "classified", 12);
    assert!(!plan.exists(), "a killed plan wrote its plan");
    let before = w.api.request_counts().api;
    let out = cmd().output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        describe(&out).contains("12 bottles classified by an interrupted run"),
        "{}",
        describe(&out)
    );
    let resumed_requests = w.api.request_counts().api - before;
    let resumed = std::fs::read_to_string(&plan).unwrap();
    assert!(!w.path("plan.jsonl.partial.jsonl").exists());

    // The same plan as a run from scratch, which asks for all 30 bottles.
    std::fs::remove_file(&plan).unwrap();
    let before = w.api.request_counts().api;
    let out = cmd().output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let fresh_requests = w.api.request_counts().api - before;
    let fresh = std::fs::read_to_string(&plan).unwrap();
    let entries = |text: &str| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(entries(&resumed), entries(&fresh));
    assert!(
        resumed_requests < fresh_requests,
        "{resumed_requests} requests after resuming, {fresh_requests} from scratch"
    );
}

#[test]
fn a_batch_logged_before_a_late_resume_is_finished_not_signed_again() {
    // Issue 11, part 2: prepared, timestamped and logged half an hour ago (kit time), killed
    // before it was saved, resumed now when its certificate has long expired. The timestamp
    // recorded at preparation keeps the bundle verifiable: the batch is finished from the
    // existing log entry, never abandoned, and nothing is signed or logged twice.
    let w = World::new(4, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let sign = || w.sign_cmd(&plan, &["--batch-size", "6", "--sign-jobs", "1"]);
    w.stack
        .set_time(chrono::Utc::now() - chrono::Duration::minutes(30));
    kill_at(sign(), &w.path("state"), "logged", 1);
    w.stack.use_real_time();
    // What a kill inside an atomic write leaves behind is cleaned by the next run.
    let stale = w.path("state/bundles/.tmp-interrupted");
    std::fs::write(&stale, b"half a bundle").unwrap();
    let out = sign().output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!stale.exists(), "the .tmp-* file was left behind");
    assert!(
        describe(&out).contains("removed 1 half-written file"),
        "{}",
        describe(&out)
    );
    let journal_path = w.path("state/journal.jsonl");
    let records = journal(&journal_path);
    assert_eq!(
        records.iter().filter(|r| r["type"] == "abandoned").count(),
        0,
        "{records:#?}"
    );
    assert!(records.iter().any(|r| r["type"] == "timestamped"));
    let signed = signed_subjects(&journal_path);
    assert_eq!(signed.len(), 12);
    assert!(signed.values().all(|&n| n == 1));
    // Two batches, two log entries: the resumed one was found, not logged again.
    assert_eq!(w.stack.rekor_log_size(), 2);
}

/// SIGKILL at arbitrary moments (not only at the named steps), several times over, with
/// batches signed concurrently: the invariants hold all the same.
#[test]
fn killed_at_arbitrary_moments_loses_and_duplicates_nothing() {
    let w = World::new(20, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let kill_after = |mut cmd: Command, delay: Duration| {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
    };
    for (i, ms) in [40u64, 90, 150, 220, 300, 70].into_iter().enumerate() {
        let jobs = if i % 2 == 0 { "2" } else { "3" };
        kill_after(
            w.sign_cmd(&plan, &["--batch-size", "4", "--sign-jobs", jobs]),
            Duration::from_millis(ms),
        );
    }
    let out = w.sign_cmd(&plan, &["--batch-size", "4"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    for ms in [30u64, 60, 120, 45] {
        kill_after(w.upload_cmd(&[]), Duration::from_millis(ms));
    }
    let out = w.upload_cmd(&[]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    let journal_path = w.path("state/journal.jsonl");
    let signed = signed_subjects(&journal_path);
    assert_eq!(signed.len(), 60);
    assert!(signed.values().all(|&n| n == 1), "{signed:?}");
    let records = journal(&journal_path);
    let signed_batches = records.iter().filter(|r| r["type"] == "signed").count();
    assert_eq!(
        records.iter().filter(|r| r["type"] == "abandoned").count(),
        0
    );
    assert_eq!(w.stack.rekor_log_size(), signed_batches);
    let uploaded = w.uploaded_subjects();
    assert_eq!(uploaded.len(), 60);
    assert!(uploaded.values().all(|&n| n == 1), "{uploaded:?}");
    assert_eq!(w.api.uploads().len(), signed_batches);
}

#[test]
fn tap_mode_backfill_is_accepted_by_brew_brew_verify_and_sigstore_python() {
    // Issue 11, part 2: the default mode signs from the tap's own repository and workflow,
    // one subject per bottle named by its file name, and three consumers accept the result:
    // brew's rules (gh attestation verify --repo TAP, file-name subject), brew-verify under
    // the policy `brew-backfill policy` prints, and sigstore-python with the tap identity.
    let w = World::new(4, 0);
    // Two bottles the tap's own CI already attested (tests.yml): covered, never re-signed.
    let ci = WorkflowIdentity::github(TAP, "tests.yml", "refs/heads/main");
    let covered: Vec<(String, [u8; 32])> = w.bottles[..2]
        .iter()
        .map(|b| (b.file_name.clone(), b.sha256))
        .collect();
    let ci_bundle = w.stack.sign_attestation(&ci, SLSA, json!({}), &covered);
    for b in &w.bottles[..2] {
        w.api.add(TAP, &b.hex(), &ci_bundle);
    }

    let out = w
        .backfill()
        .arg("run")
        .arg("--formulae")
        .arg(&w.formula_file)
        .arg("--journal")
        .arg(w.path("tap/journal.jsonl"))
        .arg("--out")
        .arg(w.path("tap/bundles"))
        .args(w.api_args())
        .args(w.signing_args())
        .args(w.policy_args())
        .output()
        .unwrap();
    let err = describe(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 have an upstream attestation"), "{err}");
    assert!(err.contains("10 need a backfill"), "{err}");
    assert!(
        err.contains("10 verified, 0 not"),
        "brew's conclusion: {err}"
    );

    // The plan's subjects are file names.
    let plan = std::fs::read_to_string(w.path("tap/bundles/plan.jsonl")).unwrap();
    let header: Value = serde_json::from_str(plan.lines().next().unwrap()).unwrap();
    assert_eq!(header["mode"], "tap");
    for line in plan.lines().skip(1) {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["subject"], entry["file_name"]);
    }

    // The printed policy verifies every bottle: CI first, then the backfill.
    let printed = w
        .backfill()
        .args(["policy", "--repo", TAP, "--workflow", WORKFLOW])
        .output()
        .unwrap();
    assert!(printed.status.success(), "{}", describe(&printed));
    let policy_file = write(
        &w.dir,
        "tap-policy.toml",
        &String::from_utf8_lossy(&printed.stdout),
    );
    for (i, b) in w.bottles.iter().enumerate() {
        let out = workspace_bin("brew-verify")
            .env("HOMEBREW_CACHE", w.path("brew-cache"))
            .arg("--json")
            .arg("--no-cache")
            .arg("--policy")
            .arg(&policy_file)
            .arg("--trusted-root")
            .arg(&w.root_file)
            .args(["--api-url", &w.api.url()])
            .arg(format!("sha256:{}", b.hex()))
            .args(["--name", &b.file_name])
            .output()
            .unwrap();
        let result: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
        assert_eq!(result["status"], "verified", "{result}");
        assert_eq!(
            result["source"],
            if i < 2 { "ci" } else { "backfill" },
            "{result}"
        );
    }

    // `--explain` says what a backfill is: not a build record, and which bottle it vouches for.
    let b = &w.bottles[4];
    let out = workspace_bin("brew-verify")
        .env("HOMEBREW_CACHE", w.path("brew-cache"))
        .args(["--explain", "--no-cache", "--policy"])
        .arg(&policy_file)
        .arg("--trusted-root")
        .arg(&w.root_file)
        .args(["--api-url", &w.api.url()])
        .arg(format!("sha256:{}", b.hex()))
        .args(["--name", &b.file_name])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("it is a backfill"), "{}", describe(&out));
    assert!(text.contains("not a record of how it was built"), "{text}");
    assert!(
        text.contains(&format!("/blobs/sha256:{} (this digest)", b.hex())),
        "{text}"
    );

    // brew's rules, through the gh shim run as brew runs it (a `gh` link on a bare PATH,
    // brew's environment and working directory: gh_compat's harness) and judged by brew's own
    // `check_attestation`: the bottle file, `--repo TAP`, the file name found among the
    // printed subjects.
    #[cfg(unix)]
    {
        let b = &w.bottles[5];
        let bottle = BottleRef {
            digest: Sha256Hash::new(b.sha256),
            filename: b.file_name.parse::<BottleFilename>().unwrap(),
        };
        let tag = bottle.filename.tag().to_owned();
        let downloads = w.path("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        // brew's `cached_download`: `<sha256 of the URL>--<file name>` in its download cache.
        let file = downloads.join(b.subject_on(ROOT));
        std::fs::write(&file, format!("{}-{tag}", b.formula)).unwrap();
        let out = crate::gh_compat::brew_gh_command(
            &w.path("brew-home"),
            &w.api.url(),
            &w.root_file,
            "kit-token",
        )
        .args(["attestation", "verify"])
        .arg(&file)
        .args(["--repo", TAP, "--format", "json"])
        .output()
        .unwrap();
        let crate::gh_compat::BrewOutcome::Verified(att) =
            crate::gh_compat::brew_check_attestation(&out, &bottle, None)
        else {
            panic!("brew does not accept it: {}", describe(&out))
        };
        let names: Vec<&str> = att["verificationResult"]["statement"]["subject"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert_eq!(names, [b.file_name.as_str()]);
        assert_eq!(
            att["verificationResult"]["statement"]["predicate"]["buildDefinition"]["buildType"],
            bottle_attest::provenance::BACKFILL_BUILD_TYPE
        );
        assert_eq!(
            att["verificationResult"]["signature"]["certificate"]["sourceRepositoryURI"],
            format!("https://github.com/{TAP}")
        );
    }

    // sigstore-python, offline, with the tap's identity.
    let Some(sigstore) = crate::sigstore_python::sigstore_python() else {
        return;
    };
    let trust_config = write(&w.dir, "trust_config.json", &w.stack.trust_config_json());
    let bundle = std::fs::read_dir(w.path("tap/bundles"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".sigstore.json"))
        .expect("a signed bundle");
    let signer = WorkflowIdentity::github(TAP, WORKFLOW, "refs/heads/main");
    let listed: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let payload = listed["dsseEnvelope"]["payload"].as_str().unwrap();
    let statement: Value = serde_json::from_slice(&{
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap()
    })
    .unwrap();
    let digest = statement["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap();
    let python = Command::new(sigstore)
        .arg("--trust-config")
        .arg(&trust_config)
        .args(["verify", "github", "--offline", "--bundle"])
        .arg(&bundle)
        .args(["--cert-identity", &signer.san(), "--repository", TAP])
        .arg(format!("sha256:{digest}"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(python.status.success(), "{}", describe(&python));
}

/// `plan` and `audit` requests for 1,000 bottles on the local stack, with and without the bulk
/// endpoint: the README's rate-limit figures. A measurement, run by hand:
/// `cargo test --test it backfill::requests_per_thousand_bottles -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn requests_per_thousand_bottles() {
    for bulk in [true, false] {
        // 334 formulae × 3 tags ≈ 1,000 bottles; every third formula attested upstream.
        let w = World::new(334, 3);
        if !bulk {
            w.api.set_bulk_owner_kind(None);
        }
        let plan = w.path("plan.jsonl");
        let before = w.api.request_counts().api;
        w.plan(&plan, &[]);
        let plan_requests = w.api.request_counts().api - before;
        let before = w.api.request_counts().api;
        let out = w
            .backfill()
            .args(["audit", "--plan"])
            .arg(&plan)
            .args(["--repo", TAP])
            .args(w.api_args())
            .args(w.policy_args())
            .output()
            .unwrap();
        let audit_requests = w.api.request_counts().api - before;
        let bottles = w.bottles.len();
        println!(
            "RESULT bulk={bulk} bottles={bottles} plan_requests={plan_requests} \
             audit_requests={audit_requests} (audit exit {:?})",
            out.status.code()
        );
    }
}

#[test]
fn workflows_pin_actions_use_bash_and_verify_the_tool() {
    // Issue 11: the workflow a tap copies must be safe to run unattended.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    for name in ["backfill.yml", "ci.yml", "release.yml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        // Every action pinned by its full commit SHA (the tag as a comment).
        for line in text.lines().filter(|l| {
            l.trim_start().starts_with("- uses:") || l.trim_start().starts_with("uses:")
        }) {
            let spec = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = spec
                .split_once('@')
                .unwrap_or_else(|| panic!("{name}: {line}"));
            let sha: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {action} is not pinned by SHA: {line}"
            );
            assert!(
                rest.contains("# v"),
                "{name}: {action} pin without its tag: {line}"
            );
        }
        // pipefail everywhere: `shell: bash` as the default.
        assert!(
            text.contains("defaults:\n  run:\n    shell: bash\n"),
            "{name} does not run steps with bash (pipefail)"
        );
    }
    let backfill = std::fs::read_to_string(dir.join("backfill.yml")).unwrap();
    assert!(
        !backfill.contains("cargo install"),
        "the signing workflow builds from source"
    );
    assert!(
        !backfill.contains("--workflow backfill.yml"),
        "the workflow name is hard-coded"
    );
    assert!(backfill.contains("GITHUB_WORKFLOW_REF"));
    // The downloaded binary's attestation is checked before it runs, in every job.
    assert_eq!(
        backfill
            .matches("gh attestation verify \"$archive\"")
            .count(),
        backfill.matches("gh release download").count()
    );
    for step in ["plan:", "sign:", "upload:", "audit:"] {
        assert!(
            backfill.contains(&format!("grep -E '^{step}'")),
            "{step} counts are not written to the job summary"
        );
    }
    let release = std::fs::read_to_string(dir.join("release.yml")).unwrap();
    assert!(
        release.contains("-p brew-backfill"),
        "the release does not ship brew-backfill"
    );
    assert!(release.contains("actions/attest-build-provenance@"));
}

/// The `N API requests` at the end of `plan:`'s summary line.
fn plan_requests(out: &Output) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("plan: ") && l.contains(" need a backfill"))
        .unwrap_or_else(|| panic!("no plan: summary in {stderr}"));
    line.rsplit("; ")
        .next()
        .and_then(|tail| tail.strip_suffix(" API requests"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {line:?}"))
}

/// Issue 13: `plan` counts the requests it needed, not the attempts it took: a retry after a
/// 502 and a re-send after a rate-limit wait are not more requests.
#[test]
fn plan_does_not_count_retries_as_requests() {
    let clean = World::new(4, 2);
    let out = clean.plan(&clean.path("plan.jsonl"), &["--jobs", "1"]);
    let needed = plan_requests(&out);
    let sent_clean = clean.api.api_requests().len();

    let faulty = World::new(4, 2);
    faulty.api.bad_gateway_next(2);
    faulty.api.rate_limit_next(1, Duration::from_secs(1));
    let out = faulty.plan(&faulty.path("plan.jsonl"), &["--jobs", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(faulty.api.api_requests().len(), sent_clean + 3, "{stderr}");
    assert_eq!(plan_requests(&out), needed, "{stderr}");
    // The retries and the wait are reported as what they are.
    assert!(stderr.contains("retrying (2/"), "{stderr}");

    // A rate limit on a first attempt: the request is sent again after the wait, once.
    let limited = World::new(4, 2);
    limited.api.rate_limit_next(1, Duration::from_secs(1));
    let out = limited.plan(&limited.path("plan.jsonl"), &["--jobs", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(limited.api.api_requests().len(), sent_clean + 1, "{stderr}");
    assert_eq!(plan_requests(&out), needed, "{stderr}");
    assert!(stderr.contains("1 rate-limit waits"), "{stderr}");
}

/// `sign --dry-run` without `--identity-token`, in an environment with no CI at all.
fn sign_dry_run_without_token(w: &World, plan: &Path) -> Command {
    let mut cmd = w.backfill();
    for var in [
        "GITHUB_ACTIONS",
        "GITHUB_WORKFLOW_REF",
        "GITLAB_CI",
        "BUILDKITE",
        "CIRCLECI",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(["sign", "--dry-run", "--plan"])
        .arg(plan)
        .arg("--journal")
        .arg(w.path("state/journal.jsonl"))
        .arg("--out")
        .arg(w.path("state/bundles"))
        .args(["--repo", TAP]);
    cmd
}

/// Issue 13: a dry run says who would sign and where, and that a token is at hand.
#[test]
fn sign_dry_run_shows_identity_and_endpoints_and_checks_the_token() {
    let w = World::new(2, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);

    // With the token file: its identity (Fulcio's SAN for the job's workflow) and the services.
    let out = w.sign_cmd(&plan, &["--dry-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let head: Vec<&str> = stdout.lines().take(4).collect();
    assert_eq!(
        head,
        [
            format!(
                "signing identity\thttps://github.com/{TAP}/.github/workflows/{WORKFLOW}@refs/heads/main \
                 (issuer https://token.actions.githubusercontent.com; token from {})",
                w.token_file.display()
            ),
            format!("fulcio\t{}", w.stack.fulcio_url()),
            format!("rekor\t{}", w.stack.rekor_url()),
            format!("timestamp authority\t{}", w.stack.tsa_url().unwrap()),
        ],
        "{stdout}"
    );
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("warning"));
    let out = w
        .sign_cmd(&plan, &["--dry-run", "--no-tsa"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "timestamp authority\tnone (--no-tsa: Rekor's integrated time is the only time)\n"
        ),
        "{}",
        describe(&out)
    );

    // A token file that holds no JWT: a usage error, before anything is counted.
    let bad = write(&w.dir, "bad.jwt", "not a token");
    let out = sign_dry_run_without_token(&w, &plan)
        .arg("--identity-token")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "`{}` does not hold a JWT identity token",
            bad.display()
        )),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty());

    // No token and no CI to ask: a real run would stop at once, and so does the dry run.
    let out = sign_dry_run_without_token(&w, &plan).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "error: no identity token: pass --identity-token FILE, or run in GitHub Actions with \
             `permissions: id-token: write` (a real run would stop here)"
        ),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty());

    // GitHub Actions with `id-token: write`: the workflow signs, asked for its token later.
    let out = sign_dry_run_without_token(&w, &plan)
        .env("GITHUB_ACTIONS", "true")
        .env(
            "GITHUB_WORKFLOW_REF",
            format!("{TAP}/.github/workflows/{WORKFLOW}@refs/heads/main"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!(
            "signing identity\thttps://github.com/{TAP}/.github/workflows/{WORKFLOW}@refs/heads/main \
             (issuer https://token.actions.githubusercontent.com; token requested from GitHub \
             Actions when signing)\nfulcio\thttps://fulcio.sigstore.dev\n"
        )),
        "{}",
        describe(&out)
    );

    // A job without `id-token: write` (the workflow's plan job, where its dry run runs): the
    // counts, and a warning rather than a failure.
    let out = sign_dry_run_without_token(&w, &plan)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "warning: this GitHub Actions job cannot request an OIDC token (it lacks \
             `permissions: id-token: write`); the job that signs needs it"
        ),
        "{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sign (dry run): 6 planned subjects"),
        "{}",
        describe(&out)
    );
    assert!(!w.path("state").exists(), "a dry run created files");
}

/// Issue 13: `--out DIR` is a directory the command writes into wherever it appears (`sign`,
/// `run`); a plan file is `--plan` wherever it appears (`plan` writes it, `sign` and `audit`
/// read it). The old spellings still work: `plan --out PLAN` with a warning, `run --bundles`.
#[test]
fn out_is_always_an_output_directory_and_plan_always_the_plan_file() {
    for (sub, out, plan) in [
        ("plan", None, Some("--plan <PLAN>")),
        ("sign", Some("--out <DIR>"), Some("--plan <PLAN>")),
        ("run", Some("--out <DIR>"), Some("--plan <PLAN>")),
        ("audit", None, Some("--plan <PLAN>")),
    ] {
        let help = workspace_bin("brew-backfill")
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert_eq!(help.status.code(), Some(0));
        let help = String::from_utf8_lossy(&help.stdout);
        let flags: Vec<&str> = help
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("--out ") || l.starts_with("--plan "))
            .collect();
        let expected: Vec<&str> = [plan, out].into_iter().flatten().collect();
        let mut got: Vec<&str> = flags
            .iter()
            .map(|l| l.split("  ").next().unwrap_or(l).trim_end())
            .collect();
        got.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(got, expected, "brew-backfill {sub} --help:\n{help}");
        assert!(!help.contains("--bundles <"), "{sub}: {help}");
    }

    let w = World::new(2, 0);
    // `plan --out PLAN`: still written there, with a warning that names the new flag.
    let old = w.path("old-plan.jsonl");
    let out = w
        .backfill()
        .args(["plan", "--formulae"])
        .arg(&w.formula_file)
        .arg("--out")
        .arg(&old)
        .args(w.api_args())
        .args(w.plan_args())
        .args(w.policy_args())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: `plan --out PLAN` is now `plan --plan PLAN`"),
        "{}",
        describe(&out)
    );
    assert_eq!(plan_lines(&old).len(), 1 + 6);
    // Both spellings at once are refused.
    let out = w
        .backfill()
        .args(["plan", "--formulae"])
        .arg(&w.formula_file)
        .arg("--out")
        .arg(&old)
        .arg("--plan")
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "{}",
        describe(&out)
    );
    // `plan` without either is a usage error that names `--plan`.
    let out = w
        .backfill()
        .args(["plan", "--formulae"])
        .arg(&w.formula_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`plan` needs --plan PLAN (or --dry-run)"),
        "{}",
        describe(&out)
    );

    // `run --bundles DIR` is `run --out DIR`.
    let out = w
        .backfill()
        .args(["run", "--dry-run", "--formulae"])
        .arg(&w.formula_file)
        .arg("--journal")
        .arg(w.path("run/journal.jsonl"))
        .arg("--bundles")
        .arg(w.path("run/bundles"))
        .args(w.api_args())
        .args(w.mode_args())
        .args(w.signing_args())
        .args(w.policy_args())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("6 subjects to sign in 1 new batches"),
        "{}",
        describe(&out)
    );
}

/// The `sign:` summary line of a run (its last; progress lines start the same way).
fn sign_summary(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rfind(|l| l.starts_with("sign: ") && l.contains(" signed in "))
        .unwrap_or_else(|| panic!("no `sign:` line\n{}", describe(out)))
        .to_owned()
}

#[test]
fn fulcio_503s_are_retried_and_the_batch_is_signed_once() {
    // Issue 11: Fulcio's 5xx go through the one retry policy. Two 503s, then the kit's Fulcio
    // answers: one certificate, one log entry, one signed batch, and both retries counted.
    let w = World::new(2, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    w.stack.faults().fulcio.fail_next(2, 503, None);
    let before = w.stack.request_counts();
    let out = w
        .sign_cmd(&plan, &["--batch-size", "6", "--sign-jobs", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(w.stack.faults().fulcio.injected(), 2);
    assert_eq!(w.stack.request_counts().fulcio - before.fulcio, 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for attempt in ["retrying (2/4)", "retrying (3/4)"] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(attempt))
            .unwrap_or_else(|| panic!("no `{attempt}` line\n{stderr}"));
        assert!(line.contains("503"), "{line}");
    }
    assert!(
        sign_summary(&out).contains("Sigstore services: 2 retries, 0 rate-limit waits"),
        "{}",
        describe(&out)
    );
    let journal_path = w.path("state/journal.jsonl");
    let records = journal(&journal_path);
    let count = |t: &str| records.iter().filter(|r| r["type"] == t).count();
    assert_eq!((count("prepared"), count("signed")), (1, 1), "{records:#?}");
    assert_eq!(w.stack.rekor_log_size(), 1);
    let signed = signed_subjects(&journal_path);
    assert_eq!(signed.len(), 6);
    assert!(signed.values().all(|&n| n == 1), "{signed:?}");
}

#[test]
fn rekor_429_is_waited_out_for_as_long_as_its_retry_after_says() {
    // Issue 11: a Rekor 429's Retry-After used to be lost (sigstore-rekor's error carries no
    // headers), so the submission was retried on our backoff instead. The wait is read from
    // the summary, which records what the service asked for, not from a clock.
    let w = World::new(2, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    w.stack
        .faults()
        .rekor
        .fail_next(1, 429, Some(Duration::from_secs(1)));
    let before = w.stack.request_counts();
    let out = w
        .sign_cmd(&plan, &["--batch-size", "6", "--sign-jobs", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(w.stack.faults().rekor.injected(), 1);
    // The refused submission and the one sent after the wait; no transient retry.
    assert_eq!(w.stack.request_counts().rekor - before.rekor, 2);
    let summary = sign_summary(&out);
    assert!(
        summary.contains("Sigstore services: 0 retries, 1 rate-limit wait (asked for 1 second)"),
        "{}",
        describe(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("rate limited: waiting ") && l.contains(&w.stack.rekor_url())),
        "{stderr}"
    );
    assert_eq!(w.stack.rekor_log_size(), 1);
    let signed = signed_subjects(&w.path("state/journal.jsonl"));
    assert_eq!(signed.len(), 6);
    assert!(signed.values().all(|&n| n == 1), "{signed:?}");
}

#[test]
fn a_tsa_outage_then_a_late_rerun_logs_nothing_twice_and_signs_nothing_twice() {
    // Issue 11: a TSA outage followed by a late re-run used to leave every batch logged with
    // an expired certificate, abandoned and signed again. Now: a batch already in the log is
    // finished from its entry (Rekor's time proves the signature in time), and a batch that
    // never reached the log is given up before it does, so each signed batch has exactly one
    // log entry and no subject is signed twice.
    let w = World::new(4, 0);
    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let sign = || w.sign_cmd(&plan, &["--batch-size", "6", "--sign-jobs", "1"]);
    // Half an hour ago (kit time): batch 1 is prepared, then the run dies before its timestamp.
    w.stack
        .set_time(chrono::Utc::now() - chrono::Duration::minutes(30));
    kill_at(sign(), &w.path("state"), "prepared", 1);
    // Still then, the TSA is down: batch 1 is resumed and logged but cannot be timestamped;
    // batch 2 is prepared and cannot be timestamped either, before anything is logged.
    w.stack.faults().tsa.fail_next(100, 503, None);
    let out = sign().output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("batch 1 is signed but not finished; the next run resumes it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("batch 2 was given up before it reached the log"),
        "{stderr}"
    );
    // Four attempts for each of the two batches, under the one retry policy.
    assert_eq!(w.stack.faults().tsa.injected(), 8);
    assert_eq!(w.stack.rekor_log_size(), 1);

    // Now, long after both certificates expired, with the TSA back.
    w.stack.faults().tsa.clear();
    w.stack.use_real_time();
    let out = sign().output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let journal_path = w.path("state/journal.jsonl");
    let records = journal(&journal_path);
    let abandoned: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "abandoned")
        .collect();
    assert_eq!(abandoned.len(), 1, "{records:#?}");
    assert_eq!(abandoned[0]["batch"], 2);
    assert!(
        abandoned[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("the timestamp authority failed before it was logged"),
        "{:?}",
        abandoned[0]
    );
    let signed: Vec<&Value> = records.iter().filter(|r| r["type"] == "signed").collect();
    assert_eq!(signed.len(), 2, "{records:#?}");
    assert!(
        signed
            .iter()
            .any(|r| r["batch"] == 1 && r["recovered"] == true),
        "batch 1 was finished from its existing entry: {records:#?}"
    );
    // One log entry per signed batch: none for the batch given up, none twice for batch 1.
    assert_eq!(w.stack.rekor_log_size(), 2);
    let subjects = signed_subjects(&journal_path);
    assert_eq!(subjects.len(), 12);
    assert!(subjects.values().all(|&n| n == 1), "{subjects:?}");
}

#[test]
fn a_batch_size_over_1024_is_a_usage_error_naming_the_limit() {
    // Issue 11: a statement carries at most 1,024 subjects (actions/attest's limit, which gh
    // and sigstore-go enforce): larger batches are refused before anything is read or sent.
    let dir = temp_dir();
    for command in ["sign", "run"] {
        let mut cmd = workspace_bin("brew-backfill");
        cmd.arg(command)
            .arg("--journal")
            .arg(dir.path().join("journal.jsonl"))
            .arg("--out")
            .arg(dir.path().join("bundles"));
        match command {
            "sign" => cmd.arg("--plan").arg(dir.path().join("plan.jsonl")),
            _ => cmd.arg("--formulae").arg(dir.path().join("formula.json")),
        };
        let out = cmd.args(["--batch-size", "1025"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--batch-size") && stderr.contains("1025 is not in 1..=1024"),
            "{command}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{command}: {}", describe(&out));
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing is written"
    );
}

#[test]
fn the_readmes_core_style_dry_run_plans_without_a_repository() {
    // Issue 11: the README's "Try it locally" dry run, exactly as written but for where the
    // formula JSON and the API live (local stand-ins instead of formulae.brew.sh and GitHub).
    // Core-style without --repo plans what homebrew-core and its existing backfill leave
    // uncovered; tap mode without a tap is a usage error that says what to pass.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("brew-backfill plan --dry-run"))
        .expect("the README's dry-run example");
    let url = "https://formulae.brew.sh/api/formula.json";
    assert!(line.contains(url), "{line}");
    let w = World::new(4, 2);
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == url {
                w.formula_file.display().to_string()
            } else {
                a.to_owned()
            }
        })
        .collect();
    let out = w
        .backfill()
        .args(&args)
        .args(w.api_args())
        .arg("--trusted-root")
        .arg(&w.root_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{line}\n{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let header = &lines[0];
    assert_eq!(header["mode"], "core-style", "{header}");
    assert_eq!(header["repository"], Value::Null, "{header}");
    // Four formulae, their sonoma bottles; formulae 0 and 2 are attested by core.
    assert_eq!(header["counts"]["in_shard"], 4, "{header}");
    assert_eq!(header["counts"]["upstream"], 2, "{header}");
    assert_eq!(header["counts"]["needed"], 2, "{header}");
    assert!(lines[1..].iter().all(|l| l["tag"] == "sonoma"), "{stdout}");

    // The same in tap mode needs the tap.
    let tap_args: Vec<&String> = args
        .iter()
        .filter(|a| !matches!(a.as_str(), "--mode" | "core-style"))
        .collect();
    let out = w
        .backfill()
        .args(tap_args)
        .args(w.api_args())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pass --repo OWNER/REPO"),
        "{}",
        describe(&out)
    );
}

#[test]
fn core_style_plan_leaves_out_bottles_an_existing_backfill_already_covers() {
    // Issue 11, part 2: in core-style mode `plan` also asks every backfill source the policy
    // already has (for homebrew-core: trailofbits' 2024 backfill) and never re-signs a bottle
    // it covers. One formula's bottles carry a trailofbits-like attestation logged before the
    // 2024 cutoff (covered); another's was logged today (after the cutoff: covers nothing).
    let w = World::new(4, 0);
    let trailofbits = "trailofbits/homebrew-brew-verify";
    let id = WorkflowIdentity::github(trailofbits, "backfill_signatures.yml", "refs/heads/main");
    let cache_named = |formula: &str| -> Vec<(String, [u8; 32])> {
        w.bottles
            .iter()
            .filter(|b| b.formula == formula)
            .map(|b| (b.subject(), b.sha256))
            .collect()
    };
    w.stack.set_time(
        chrono::DateTime::parse_from_rfc3339("2024-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let covered = cache_named("legacy001");
    let in_time = w.stack.sign_attestation(&id, SLSA, json!({}), &covered);
    w.stack.use_real_time();
    let late = cache_named("legacy002");
    let too_late = w.stack.sign_attestation(&id, SLSA, json!({}), &late);
    for (subjects, bundle) in [(&covered, &in_time), (&late, &too_late)] {
        for (_, digest) in subjects.iter() {
            w.api.add(trailofbits, &hex::encode(digest), bundle);
        }
    }

    let plan = w.path("plan.jsonl");
    w.plan(&plan, &[]);
    let lines = plan_lines(&plan);
    let counts = &lines[0]["counts"];
    assert_eq!(
        (
            &counts["upstream"],
            &counts["backfilled"],
            &counts["needed"]
        ),
        (&json!(0), &json!(3), &json!(9)),
        "{counts}"
    );
    let planned: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["formula"].as_str().unwrap())
        .collect();
    assert!(!planned.contains(&"legacy001"), "{planned:?}");
    assert_eq!(
        planned.iter().filter(|f| **f == "legacy002").count(),
        3,
        "a backfill logged after the cutoff covers nothing: {planned:?}"
    );
}

#[test]
fn audit_reports_each_bottle_brew_would_refuse() {
    // Issue 11: in tap mode `audit` also concludes what brew would (gh attestation verify
    // --repo TAP, file-name subject). Audited before anything was signed, every planned bottle
    // is one brew refuses: a `brew-refuses` line each, with brew's reason, and exit 1.
    let w = World::new(2, 0);
    let plan = w.path("plan.jsonl");
    let out = w
        .backfill()
        .arg("plan")
        .arg("--formulae")
        .arg(&w.formula_file)
        .arg("--plan")
        .arg(&plan)
        .args(["--repo", TAP])
        .args(w.api_args())
        .args(w.policy_args())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = w.audit(&plan, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| l["status"] == "brew-refuses")
        .collect();
    assert_eq!(refused.len(), 6, "{lines:#?}");
    for (l, b) in refused.iter().zip(&w.bottles) {
        assert_eq!(l["file_name"], b.file_name.as_str(), "{l}");
        assert_eq!(
            l["detail"], "brew would refuse it: no attestation in brew",
            "{l}"
        );
    }
    // brew-verify's own verdict on each is reported beside it.
    assert_eq!(
        lines.iter().filter(|l| l["status"] == "missing").count(),
        6,
        "{lines:#?}"
    );
    assert!(
        describe(&out).contains(&format!(
            "brew (gh attestation verify --repo {TAP}, file-name subject): 0 verified, 6 not"
        )),
        "{}",
        describe(&out)
    );
}
