//! `brew provenance --offline` over a fake Homebrew of 1,000 installed kegs with a warm cache,
//! against its floor, measured in the same run (issue 12, "Speed: close to the floor").
//!
//! The harness builds what brew leaves behind: a Cellar of kegs with install receipts
//! (`<cellar>/<name>/<version>/INSTALL_RECEIPT.json`, poured from a homebrew-core bottle), each
//! bottle file in Homebrew's download cache under its cache name, and an attestation per bottle
//! signed by the kit's Sigstore stand-ins and served by the GitHub API fixture. One online run
//! fills brew-verify's attestation cache; the timed runs are `--offline`, as a user re-checking
//! their machine would run it.
//!
//! The floor is what any verifier must do, spread over every core:
//! `(kegs × the signature floor of one bundle + hashing every bottle file at openssl's speed)
//! ÷ cores`. The signature floor is `bottle-attest-floor` (`shared/floor`) run on the bundles of this run
//! (same keys, messages and backend as the verifier); hashing is timed with `openssl dgst
//! -sha256` over the same files. Both are measured here, in the same run as ours.
//!
//! Run with `cargo bench -p workspace-tests --bench provenance`. Environment: `BENCH_KEGS`
//! (default 1000), `BENCH_KEG_KIB` (bottle size, default 1024), `BENCH_ROUNDS` (default 5),
//! `BENCH_KEEP` (set: keep the fake Homebrew and print the command, for profiling).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bottle_attest::bottle::DEFAULT_BOTTLE_ROOT;
use bottle_attest::{BottleFilename, BottleRef};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use testkit::github_api::GitHubApiServer;
use testkit::{SigstoreStack, WorkflowIdentity};

const TAG: &str = "x86_64_linux";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "provenance benchmark: run with `cargo bench -p workspace-tests --bench provenance`"
        );
        return;
    }
    let kegs = env_usize("BENCH_KEGS", 1000);
    let kib = env_usize("BENCH_KEG_KIB", 1024);
    let rounds = env_usize("BENCH_ROUNDS", 5).max(1);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let bin = testkit::release_binary("brew-verify");
    let stack = SigstoreStack::start();
    let api = GitHubApiServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    let cellar = home.join("Cellar");
    let cache = home.join("cache");
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).expect("mkdir");
    let root_file = home.join("trusted_root.json");
    std::fs::write(&root_file, stack.trusted_root_json()).expect("write root");

    eprintln!("setting up {kegs} kegs with {kib} KiB bottles…");
    let core = WorkflowIdentity::github(
        "Homebrew/homebrew-core",
        "publish-commit-bottles.yml",
        "refs/heads/main",
    );
    let mut files = Vec::with_capacity(kegs);
    let mut bundles = Vec::with_capacity(kegs);
    for i in 0..kegs {
        let name = format!("f{i:04}");
        let version = "1.0";
        let keg = cellar.join(&name).join(version);
        std::fs::create_dir_all(&keg).expect("mkdir keg");
        let receipt = json!({
            "poured_from_bottle": true,
            "source": {"tap": "homebrew/core", "versions": {"stable": version}},
            "built_on": {"os": "Linux"},
            "arch": "x86_64",
        });
        std::fs::write(keg.join("INSTALL_RECEIPT.json"), receipt.to_string()).expect("receipt");
        // Distinct contents per bottle, so no two digests (or cache entries) coincide.
        let mut contents = vec![0u8; kib * 1024];
        for (j, chunk) in contents.chunks_mut(8).enumerate() {
            let word = (i as u64) << 40 | j as u64;
            let bytes = word.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let sha: [u8; 32] = Sha256::digest(&contents).into();
        let filename: BottleFilename = format!("{name}--{version}.{TAG}.bottle.tar.gz")
            .parse()
            .expect("bottle name");
        let bottle = BottleRef {
            digest: bottle_attest::Sha256Hash::new(sha),
            filename,
        };
        let path = downloads.join(bottle.cache_name(DEFAULT_BOTTLE_ROOT));
        std::fs::write(&path, &contents).expect("write bottle");
        let bundle = stack.sign_attestation(
            &core,
            "https://slsa.dev/provenance/v1",
            json!({}),
            &[(bottle.filename.to_string(), sha)],
        );
        api.add("Homebrew/homebrew-core", &hex::encode(sha), &bundle);
        files.push(path);
        bundles.push((bundle, sha));
    }

    let run = |offline: bool, jobs: u16| -> Duration {
        let mut cmd = Command::new(&bin);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("HOMEBREW_CELLAR", &cellar)
            .env("HOMEBREW_CACHE", &cache)
            .env("HOMEBREW_PREFIX", home)
            .arg("provenance")
            .arg("--json")
            .arg("--trusted-root")
            .arg(&root_file)
            .args(["--api-url", &api.url(), "--bottle-tag", TAG])
            .args(["--jobs", &jobs.to_string()]);
        if offline {
            cmd.arg("--offline");
        }
        let start = Instant::now();
        let out = cmd.output().expect("run brew-verify provenance");
        let took = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let verified = stdout
            .lines()
            .filter(|l| l.contains(r#""status":"verified""#))
            .count();
        assert!(
            out.status.success() && verified == kegs,
            "provenance verified {verified} of {kegs}: {}\nfirst other result: {}",
            String::from_utf8_lossy(&out.stderr),
            stdout
                .lines()
                .find(|l| !l.contains(r#""status":"verified""#))
                .unwrap_or_default()
        );
        took
    };

    eprintln!("filling the attestation cache (one online run)…");
    let cold = run(false, 8);
    let before = api.request_counts().api;
    // The set-up wrote a gigabyte of bottles and the cold run the cache: have the kernel write
    // them back now, not while the timed runs (ours and openssl alike) read them.
    let synced = Command::new("sync").status().expect("run sync");
    assert!(synced.success(), "sync failed");

    // The signature floor of one bundle, on every bundle of the run (the median is used).
    let trusted =
        sigstore_trust_root::TrustedRoot::from_json(&stack.trusted_root_json()).expect("root");
    let floors: Vec<bottle_attest_floor::Floor> = bundles
        .iter()
        .take(50)
        .map(|(json, sha)| {
            let bundle = sigstore_types::Bundle::from_json(json).expect("bundle");
            bottle_attest_floor::Floor::extract(&trusted, &bundle, Some(&sha[..])).expect("floor")
        })
        .collect();

    let mut ours = Vec::new();
    let mut one_job = Vec::new();
    let mut hashing = Vec::new();
    let mut signatures = Vec::new();
    for _ in 0..rounds {
        // Interleaved: ours (default --jobs), ours one keg at a time (the reference: what
        // a single core does), openssl over the same files, then the signature floor.
        ours.push(run(true, 8));
        one_job.push(run(true, 1));
        hashing.push(openssl_sha256(&files));
        let start = Instant::now();
        let mut ok = true;
        for f in &floors {
            ok &= f.run();
        }
        assert!(ok, "a floor check failed");
        signatures.push(start.elapsed() / floors.len() as u32);
    }
    assert_eq!(
        api.request_counts().api,
        before,
        "an --offline run made API requests"
    );
    if keep {
        // For profiling: the fake Homebrew stays, with the command that checks it.
        let kept = dir.keep();
        eprintln!(
            "kept {}: HOME={0} HOMEBREW_CELLAR={0}/Cellar HOMEBREW_CACHE={0}/cache \
             HOMEBREW_PREFIX={0} {} provenance --offline --json --trusted-root \
             {0}/trusted_root.json --bottle-tag {TAG}",
            kept.display(),
            bin.display()
        );
    }
    let ours = median(&mut ours);
    let one_job = median(&mut one_job);
    let hashing = median(&mut hashing);
    let signature = median(&mut signatures);
    let floor = (signature * kegs as u32 + hashing) / cores as u32;
    let ratio = ours.as_secs_f64() / floor.as_secs_f64();

    println!(
        "\nbrew-verify provenance --offline, {kegs} kegs, {kib} KiB bottles, warm cache \
         (median of {rounds} runs, release build, {cores} cores)"
    );
    println!(
        "  first (online) run, filling the cache  {:>8.3} s",
        cold.as_secs_f64()
    );
    println!(
        "  ours, --offline                        {:>8.3} s",
        ours.as_secs_f64()
    );
    println!(
        "  ours, --offline --jobs 1 (reference)   {:>8.3} s ({:.2}x the time of the default)",
        one_job.as_secs_f64(),
        one_job.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "  floor: ({kegs} × {:.0} µs signatures + {:.3} s openssl sha256) ÷ {cores} = {:.3} s",
        signature.as_secs_f64() * 1e6,
        hashing.as_secs_f64(),
        floor.as_secs_f64()
    );
    println!("  ratio                                  {ratio:>8.2}x (target ≤ 1.2x)");
    println!(
        "RESULT kegs={kegs} keg_kib={kib} cores={cores} ours_s={:.3} floor_s={:.3} ratio={ratio:.2} \
         signature_floor_us={:.0} openssl_hash_s={:.3} cold_s={:.3} jobs1_s={:.3}",
        ours.as_secs_f64(),
        floor.as_secs_f64(),
        signature.as_secs_f64() * 1e6,
        hashing.as_secs_f64(),
        cold.as_secs_f64(),
        one_job.as_secs_f64(),
    );
}

/// `openssl dgst -sha256` over `files`, in one process (the openssl speed the floor assumes).
fn openssl_sha256(files: &[PathBuf]) -> Duration {
    let start = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .args(files)
        .output()
        .expect("run openssl");
    let took = start.elapsed();
    assert!(out.status.success(), "openssl dgst failed");
    took
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
