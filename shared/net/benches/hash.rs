//! Benchmark: streaming SHA-256 of a bottle-sized file, `hashing::sha256_file` against
//! `openssl dgst -sha256` on the same file in the same run.
//!
//! A file of pseudo-random bytes is written once to a temporary directory (`TMPDIR`), read once
//! untimed so that both sides hash from a warm page cache, then each side hashes it `runs` times,
//! alternating (and alternating which goes first). Nothing is dropped from the page cache. Both
//! digests must agree. The directory is removed at the end, also on failure.
//!
//! std only (`harness = false`, no criterion). Modes, chosen from the arguments cargo passes:
//! - `cargo bench --bench hash`: 1024 MiB, 5 runs each.
//! - `cargo bench --bench hash -- --quick`: 256 MiB, 3 runs each.
//! - no `--bench` argument (how `cargo test --all-targets` runs a bench): 8 MiB, 1 run, a smoke
//!   test.
//!
//! `BENCH_HASH_SIZE_MIB` overrides the size in every mode. Unknown arguments are ignored. The
//! last line is machine-readable: `RESULT key=value …`.

// A benchmark's output is its report: printing is the point.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bottle_attest::digest::sha256_bytes;
use bottle_attest_net::store::hashing::sha256_file;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const MIB: usize = 1024 * 1024;
const GIB: f64 = (1u64 << 30) as f64;

/// Our throughput must reach this fraction of OpenSSL's.
const TARGET_RATIO: f64 = 0.90;

struct Mode {
    name: &'static str,
    size_mib: usize,
    runs: usize,
}

impl Mode {
    fn from_args() -> Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let (name, size_mib, runs) = if !has("--bench") {
            ("smoke (no --bench argument)", 8, 1)
        } else if has("--quick") {
            ("quick", 256, 3)
        } else {
            ("full", 1024, 5)
        };
        let size_mib = match std::env::var("BENCH_HASH_SIZE_MIB") {
            Ok(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("BENCH_HASH_SIZE_MIB={v:?} is not a positive integer"))?,
            Err(_) => size_mib,
        };
        Ok(Self {
            name,
            size_mib,
            runs,
        })
    }
}

/// Write `size_mib` MiB of xorshift64* output: incompressible, cheap to produce.
fn write_file(path: &Path, size_mib: usize) -> Result<()> {
    let mut file = std::io::BufWriter::with_capacity(MIB, std::fs::File::create(path)?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; MIB];
    for _ in 0..size_mib {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        file.write_all(&chunk)?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn ours(path: &Path) -> Result<(Duration, String)> {
    let start = Instant::now();
    let digest = sha256_file(path)?;
    let elapsed = start.elapsed();
    Ok((elapsed, hex::encode(digest.as_bytes())))
}

/// `openssl dgst -sha256 -r FILE`, timed from spawn to exit (process start-up included: a few
/// milliseconds, under 1% of a 1 GiB run).
fn openssl(path: &Path) -> Result<(Duration, String)> {
    let start = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(path)
        .output()?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "openssl dgst failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let stdout = String::from_utf8(out.stdout)?;
    let hex = stdout
        .split_whitespace()
        .next()
        .ok_or("openssl dgst printed nothing")?
        .to_ascii_lowercase();
    Ok((elapsed, hex))
}

/// `Some(version)` when `openssl` runs.
fn openssl_version() -> Option<String> {
    let out = Command::new("openssl").arg("version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2
    }
}

fn gib_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / GIB / d.as_secs_f64()
}

fn fmt_runs(bytes: u64, samples: &[Duration]) -> String {
    samples
        .iter()
        .map(|d| format!("{:.2}", gib_per_s(bytes, *d)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the CPU offers SHA-256, for the report.
fn cpu_note() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    #[cfg(target_arch = "x86_64")]
    let features = format!(
        "SHA-NI {}, AVX2 {}",
        if std::arch::is_x86_feature_detected!("sha") {
            "yes"
        } else {
            "NO"
        },
        if std::arch::is_x86_feature_detected!("avx2") {
            "yes"
        } else {
            "no"
        },
    );
    #[cfg(target_arch = "aarch64")]
    let features = format!(
        "SHA2 extensions {}",
        if std::arch::is_aarch64_feature_detected!("sha2") {
            "yes"
        } else {
            "NO"
        }
    );
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let features = String::from("no SHA feature detection on this architecture");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned());
    format!("{model}; {features}; {cores} cores; load average {load}")
}

/// SHA-256 of an in-memory buffer: the hasher without any I/O, as a ceiling for the file rate.
fn in_memory_gib_per_s() -> f64 {
    let buf: Vec<u8> = (0..64 * MIB).map(|i| (i * 31 + i / 4099) as u8).collect();
    let samples: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(sha256_bytes(std::hint::black_box(&buf)));
            start.elapsed()
        })
        .collect();
    gib_per_s(buf.len() as u64, median(&samples))
}

fn main() -> Result<()> {
    let mode = Mode::from_args()?;
    let bytes = (mode.size_mib * MIB) as u64;
    println!(
        "hash bench, mode {}: {} MiB file, {} runs each",
        mode.name, mode.size_mib, mode.runs
    );
    println!("cpu: {}", cpu_note());

    let dir = tempfile::Builder::new()
        .prefix("bottle-attest-bench-hash-")
        .tempdir()?;
    let path = dir.path().join("bottle.tar.gz");
    let start = Instant::now();
    write_file(&path, mode.size_mib)?;
    println!(
        "wrote {} in {:.2} s",
        path.display(),
        start.elapsed().as_secs_f64()
    );

    // Untimed warm read; its digest is the reference both sides must reproduce.
    let (_, reference) = ours(&path)?;

    let openssl_version = openssl_version();
    match &openssl_version {
        Some(v) => println!("openssl: {v}"),
        None => println!("openssl: not found on PATH; reporting bottle-attest alone"),
    }

    let mut ours_samples = Vec::with_capacity(mode.runs);
    let mut openssl_samples = Vec::with_capacity(mode.runs);
    for run in 0..mode.runs {
        let mut order = [true, false]; // true = ours
        if run % 2 == 1 {
            order.reverse();
        }
        for is_ours in order {
            if is_ours {
                let (d, hex) = ours(&path)?;
                if hex != reference {
                    return Err(format!("sha256_file gave {hex}, earlier {reference}").into());
                }
                ours_samples.push(d);
            } else if openssl_version.is_some() {
                let (d, hex) = openssl(&path)?;
                if hex != reference {
                    return Err(format!("openssl gave {hex}, sha256_file {reference}").into());
                }
                openssl_samples.push(d);
            }
        }
    }
    let memory = in_memory_gib_per_s();
    dir.close()?;

    let ours_gib = gib_per_s(bytes, median(&ours_samples));
    println!();
    println!("sha256 {reference}");
    println!(
        "bottle-attest sha256_file   median {ours_gib:.2} GiB/s  (runs: {})",
        fmt_runs(bytes, &ours_samples)
    );
    let mut result = format!("RESULT hash_ours_gib_s={ours_gib:.3}");
    if openssl_samples.is_empty() {
        println!("openssl dgst -sha256        not measured (openssl not on PATH)");
        result.push_str(" hash_openssl_gib_s=na hash_ratio=na target_met=na");
    } else {
        let openssl_gib = gib_per_s(bytes, median(&openssl_samples));
        let ratio = ours_gib / openssl_gib;
        let met = ratio >= TARGET_RATIO;
        println!(
            "openssl dgst -sha256        median {openssl_gib:.2} GiB/s  (runs: {})",
            fmt_runs(bytes, &openssl_samples)
        );
        println!(
            "ratio ours/openssl {:.1}%; target >= {:.0}%: {}",
            ratio * 100.0,
            TARGET_RATIO * 100.0,
            if met { "met" } else { "NOT met" }
        );
        result.push_str(&format!(
            " hash_openssl_gib_s={openssl_gib:.3} hash_ratio={ratio:.3} target_met={met}"
        ));
    }
    println!("in-memory sha256 (no I/O, 64 MiB buffer): {memory:.2} GiB/s");
    println!("temporary file removed");
    result.push_str(&format!(
        " hash_in_memory_gib_s={memory:.3} size_mib={} runs={}",
        mode.size_mib, mode.runs
    ));
    println!("{result}");
    Ok(())
}
