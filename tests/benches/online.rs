//! `brew-verify` over 200 bottles against the local stand-ins (Debian's docker-registry with
//! token auth, the GitHub API fixture server, the kit's Sigstore stack): cold cache and warm
//! cache, sequential (`--jobs 1`, the reference) and concurrent (`--jobs 8`), with the requests
//! each run made. Run with `cargo bench -p workspace-tests --bench online`
//! (`BENCH_ONLINE_BOTTLES` changes the count). Needs `docker-registry` (apt).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::github_api::GitHubApiServer;
use testkit::registry::{PlatformBottle, PushedBottles, Registry, formula_json};
use testkit::{SigstoreStack, WorkflowIdentity};

const TAG: &str = "x86_64_linux";
const ROUNDS: usize = 3;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // Under `cargo test --all-targets` (no `--bench`) there is nothing to measure: the same
    // paths are covered by tests/it/online.rs.
    if !std::env::args().any(|a| a == "--bench") {
        println!("online benchmark: run with `cargo bench -p workspace-tests --bench online`");
        return;
    }
    let count: usize = std::env::var("BENCH_ONLINE_BOTTLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    if !Registry::is_installed() {
        println!("skipped: docker-registry is not installed (apt-get install docker-registry)");
        return;
    }
    let bin = testkit::release_binary("brew-verify");
    let stack = SigstoreStack::start();
    let registry = Registry::start();
    let api = GitHubApiServer::start();
    let dir = tempfile::tempdir().expect("temp dir");

    eprintln!("setting up {count} bottles…");
    let core = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    );
    let mut pushed: Vec<PushedBottles> = Vec::new();
    for i in 0..count {
        let p = registry.push_bottles(&format!("f{i:04}"), "1.0", 0, &[PlatformBottle::new(TAG)]);
        let b = p.bottle(TAG);
        let bundle = stack.sign_attestation(
            &core,
            "https://slsa.dev/provenance/v1",
            json!({}),
            &[(b.filename.to_string(), *b.sha256.as_bytes())],
        );
        api.add("Homebrew/homebrew-core", &b.sha256.to_hex(), &bundle);
        pushed.push(p);
    }
    let with_deps: Vec<(&PushedBottles, &[&str])> = pushed.iter().map(|p| (p, &[][..])).collect();
    let formulae = dir.path().join("formula.json");
    std::fs::write(&formulae, formula_json(&with_deps).to_string()).expect("write");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, stack.trusted_root_json()).expect("write");
    let names: Vec<String> = pushed.iter().map(|p| p.formula.clone()).collect();

    let run = |jobs: u16, cache: &Path, offline: bool| -> (Duration, u64, usize) {
        let api_before = api.request_counts().api;
        let registry_before = registry.request_count();
        let mut cmd = Command::new(&bin);
        cmd.env_remove("HOMEBREW_GITHUB_API_TOKEN")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .arg("--json")
            .arg("--trusted-root")
            .arg(&root)
            .arg("--formula-json")
            .arg(&formulae)
            .args(["--api-url", &api.url(), "--bottle-tag", TAG])
            .arg("--cache-dir")
            .arg(cache)
            .args(["--jobs", &jobs.to_string()]);
        if offline {
            cmd.arg("--offline");
        }
        let start = Instant::now();
        let out = cmd.args(&names).output().expect("run brew-verify");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "brew-verify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            took,
            api.request_counts().api - api_before,
            registry.request_count() - registry_before,
        )
    };

    let mut rows = Vec::new();
    for (label, jobs) in [("jobs=1 (reference)", 1u16), ("jobs=8", 8)] {
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        let mut offline = Vec::new();
        let mut requests = (0, 0, 0, 0);
        for round in 0..ROUNDS {
            let cache = dir.path().join(format!("cache-{jobs}-{round}"));
            let c = run(jobs, &cache, false);
            let w = run(jobs, &cache, false);
            let o = run(jobs, &cache, true);
            cold.push(c.0);
            warm.push(w.0);
            offline.push(o.0);
            requests = (c.1, c.2, w.1, w.2);
        }
        rows.push((
            label,
            median(&mut cold),
            median(&mut warm),
            median(&mut offline),
            requests,
        ));
    }

    println!("\nbrew-verify over {count} bottles (median of {ROUNDS} runs, release build)");
    println!(
        "{:<20} {:>10} {:>10} {:>10} {:>14} {:>14} {:>14} {:>14}",
        "", "cold", "warm", "offline", "cold API/b", "cold reg/b", "warm API/b", "warm reg/b"
    );
    for (label, cold, warm, offline, (ca, cr, wa, wr)) in &rows {
        println!(
            "{label:<20} {:>9.2}s {:>9.2}s {:>9.2}s {:>14.2} {:>14.2} {:>14.2} {:>14.2}",
            cold.as_secs_f64(),
            warm.as_secs_f64(),
            offline.as_secs_f64(),
            *ca as f64 / count as f64,
            *cr as f64 / count as f64,
            *wa as f64 / count as f64,
            *wr as f64 / count as f64,
        );
    }
    let speedup = rows[0].1.as_secs_f64() / rows[1].1.as_secs_f64();
    println!("cold jobs=8 vs jobs=1: {speedup:.2}x faster");
    println!(
        "RESULT bottles={count} cold_s={:.3} warm_s={:.3} offline_s={:.3} cold_api_per_bottle={:.2} cold_registry_per_bottle={:.2} warm_api_per_bottle={:.2} reference_cold_s={:.3}",
        rows[1].1.as_secs_f64(),
        rows[1].2.as_secs_f64(),
        rows[1].3.as_secs_f64(),
        rows[1].4.0 as f64 / count as f64,
        rows[1].4.1 as f64 / count as f64,
        rows[1].4.2 as f64 / count as f64,
        rows[0].1.as_secs_f64(),
    );
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
