//! `brew-backfill` against the local stack: subjects signed per second for batch sizes 1, 64
//! and 512 (each run: Fulcio certificate, Rekor entry and TSA timestamp per batch, our
//! verifier on every subject, a journal record fsynced per step), and the Fulcio, Rekor, TSA
//! and GitHub API requests of plan → sign → upload → audit, scaled to 10,000 bottles.
//! Run with `cargo bench -p workspace-tests --bench backfill` (`BENCH_BACKFILL_BOTTLES`
//! changes the bottle count of the request census, default 3,000).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use testkit::github_api::GitHubApiServer;
use testkit::{SigstoreStack, WorkflowIdentity};

const TAP: &str = "acme/homebrew-backfill";
const WORKFLOW: &str = "backfill.yml";
const ROOT: &str = "https://bottles.example.invalid/core";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("backfill benchmark: run with `cargo bench -p workspace-tests --bench backfill`");
        return;
    }
    let bin = testkit::release_binary("brew-backfill");

    println!("== subjects signed per second (local stack, release build) ==");
    println!("batch size | subjects | batches | seconds | subjects/s | Fulcio | Rekor | TSA");
    for (batch, subjects) in [(1usize, 96usize), (64, 1536), (512, 3072)] {
        let w = World::new(&bin, subjects);
        let plan = w.plan(&[]);
        let before = w.stack.request_counts();
        let start = Instant::now();
        let out = w.sign(&plan, batch);
        let secs = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = w.stack.request_counts();
        println!(
            "{batch:>10} | {subjects:>8} | {:>7} | {secs:>7.2} | {:>10.1} | {:>6} | {:>5} | {:>3}",
            subjects.div_ceil(batch),
            subjects as f64 / secs,
            after.fulcio - before.fulcio,
            after.rekor - before.rekor,
            after.tsa - before.tsa,
        );
        println!(
            "RESULT backfill_sign batch={batch} subjects={subjects} seconds={secs:.3} per_second={:.1}",
            subjects as f64 / secs
        );
    }

    let count: usize = std::env::var("BENCH_BACKFILL_BOTTLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    println!();
    println!("== requests for {count} bottles, scaled to 10,000 (batch size 512) ==");
    let w = World::new(&bin, count);
    let api0 = w.api.request_counts().api;
    let plan = w.plan(&["--repo", TAP]);
    let api_plan = w.api.request_counts().api - api0;
    let s0 = w.stack.request_counts();
    let out = w.sign(&plan, 512);
    assert!(
        out.status.success(),
        "sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s1 = w.stack.request_counts();
    let api1 = w.api.request_counts().api;
    let out = w.run(
        &["upload", "--journal"],
        &[w.journal().as_os_str()],
        &["--repo", TAP],
    );
    assert!(
        out.status.success(),
        "upload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api_upload = w.api.request_counts().api - api1;
    let api2 = w.api.request_counts().api;
    let out = w.run(&["audit", "--plan"], &[plan.as_os_str()], &["--repo", TAP]);
    assert!(
        out.status.success(),
        "audit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api_audit = w.api.request_counts().api - api2;
    let per10k = |n: u64| n as f64 * 10_000.0 / count as f64;
    println!("step   | requests | per 10,000 bottles");
    println!(
        "plan   | API {api_plan:>6} | {:>8.0}  (core lookup + tap lookup per bottle)",
        per10k(api_plan)
    );
    println!(
        "sign   | Fulcio {:>3}, Rekor {:>3}, TSA {:>3} | {:>5.0} each",
        s1.fulcio - s0.fulcio,
        s1.rekor - s0.rekor,
        s1.tsa - s0.tsa,
        per10k(s1.fulcio - s0.fulcio)
    );
    println!(
        "upload | API {api_upload:>6} | {:>8.0}  (one POST per bundle)",
        per10k(api_upload)
    );
    println!(
        "audit  | API {api_audit:>6} | {:>8.0}  (core + tap per bottle, as brew-verify)",
        per10k(api_audit)
    );
    println!(
        "RESULT backfill_requests bottles={count} plan_api={api_plan} fulcio={} rekor={} tsa={} upload_api={api_upload} audit_api={api_audit}",
        s1.fulcio - s0.fulcio,
        s1.rekor - s0.rekor,
        s1.tsa - s0.tsa
    );
}

struct World<'b> {
    bin: &'b Path,
    stack: SigstoreStack,
    api: GitHubApiServer,
    dir: tempfile::TempDir,
    formula_file: PathBuf,
    root_file: PathBuf,
    token_file: PathBuf,
}

impl<'b> World<'b> {
    fn new(bin: &'b Path, bottles: usize) -> Self {
        let stack = SigstoreStack::start();
        let api = GitHubApiServer::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p
        };
        let formula_file = write("formula.json", &formulae(bottles).to_string());
        let root_file = write("trusted_root.json", &stack.trusted_root_json());
        let token_file = write(
            "token.jwt",
            &stack.identity_token(&WorkflowIdentity::github(TAP, WORKFLOW, "refs/heads/main")),
        );
        Self {
            bin,
            stack,
            api,
            dir,
            formula_file,
            root_file,
            token_file,
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("state/journal.jsonl")
    }

    fn run(&self, head: &[&str], paths: &[&std::ffi::OsStr], tail: &[&str]) -> Output {
        Command::new(self.bin)
            .env_remove("GITHUB_REPOSITORY")
            .env("GITHUB_TOKEN", "kit-token")
            .args(head)
            .args(paths)
            .args(tail)
            .args(["--api-url", &self.api.url(), "--quiet"])
            .args(if head[0] == "upload" {
                vec![]
            } else {
                vec![
                    "--trusted-root".to_owned(),
                    self.root_file.display().to_string(),
                    "--workflow".to_owned(),
                    WORKFLOW.to_owned(),
                ]
            })
            .output()
            .expect("run brew-backfill")
    }

    fn plan(&self, extra: &[&str]) -> PathBuf {
        let plan = self.dir.path().join("plan.jsonl");
        let out = self.run(
            &["plan", "--formulae"],
            &[
                self.formula_file.as_os_str(),
                "--out".as_ref(),
                plan.as_os_str(),
            ],
            extra,
        );
        assert!(
            out.status.success(),
            "plan: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        plan
    }

    fn sign(&self, plan: &Path, batch: usize) -> Output {
        let _ = std::fs::remove_dir_all(self.dir.path().join("state"));
        Command::new(self.bin)
            .env_remove("GITHUB_REPOSITORY")
            .args(["sign", "--quiet", "--plan"])
            .arg(plan)
            .arg("--journal")
            .arg(self.journal())
            .arg("--out")
            .arg(self.dir.path().join("state/bundles"))
            .args(["--batch-size", &batch.to_string(), "--repo", TAP])
            .arg("--identity-token")
            .arg(&self.token_file)
            .args(["--fulcio-url", &self.stack.fulcio_url()])
            .args(["--rekor-url", &self.stack.rekor_url()])
            .args(["--tsa-url", &self.stack.tsa_url().expect("kit TSA")])
            .arg("--trusted-root")
            .arg(&self.root_file)
            .args(["--workflow", WORKFLOW])
            .output()
            .expect("run brew-backfill sign")
    }
}

/// Formula JSON with `bottles` bottles (three tags per formula).
fn formulae(bottles: usize) -> Value {
    let tags = ["arm64_sonoma", "sonoma", "x86_64_linux"];
    let mut list = Vec::new();
    let mut left = bottles;
    let mut i = 0;
    while left > 0 {
        let name = format!("legacy{i:05}");
        let mut files = serde_json::Map::new();
        for tag in tags.iter().take(left.min(3)) {
            let sha = hex::encode(Sha256::digest(format!("{name}-{tag}")));
            files.insert(
                (*tag).to_owned(),
                json!({"cellar": ":any", "url": format!("{ROOT}/{name}/blobs/sha256:{sha}"), "sha256": sha}),
            );
        }
        left -= left.min(3);
        list.push(json!({
            "name": name,
            "versions": {"stable": "1.0"},
            "bottle": {"stable": {"rebuild": 0, "root_url": ROOT, "files": files}},
        }));
        i += 1;
    }
    Value::Array(list)
}
