//! Benchmark: in-process parse + verification of the real-bundle corpus.
//!
//! For every `PASS` case of `tests/fixtures/corpus/cases.json` whose root is `production`, one
//! sample is `parse_attestations` (bytes → `Bundle`) followed by `verify_bundle_exact` with the
//! case's exact identity and issuer: the per-bundle work of `brew-verify bundle` once the
//! artifact is hashed. Artifact digests and the trusted root are prepared outside the timed
//! region; `TrustRoot::production()` is timed on its own.
//!
//! std only (`harness = false`, no criterion). Modes, chosen from the arguments cargo passes:
//! - `cargo bench --bench verify`: 3 warm-up rounds, then up to 200 rounds over the set or a
//!   3 s budget, whichever ends first.
//! - `cargo bench --bench verify -- --quick`: up to 30 rounds or 0.5 s.
//! - no `--bench` argument (how `cargo test --all-targets` runs a bench): one round, as a smoke
//!   test that every case still verifies.
//!
//! The floor (`floor/mod.rs`): for every case, the signature checks and hashes that any correct
//! verifier of that bundle must do, on the same keys, messages and signatures, with the same
//! backend (aws-lc-rs). It is timed in the same run, interleaved with ours (per case, ours then
//! the floor on even rounds, the floor then ours on odd ones), so that a busy machine or a
//! frequency change moves both. Reported per case: ours (parse + verify), the floor, and the
//! ratio; the headline is the median ratio over the GitHub attestations (v0.3 DSSE bundles with
//! a Rekor v1 `dsse` entry, signed by GitHub Actions), held to [`FLOOR_TARGET`].
//!
//! Unknown arguments are ignored. The last line is machine-readable: `RESULT key=value …`.
//!
//! `BENCH_VERIFY_GITHUB_ONLY=1` keeps only the GitHub attestations (to profile the headline
//! ratio alone, e.g. under `perf record --call-graph dwarf`).
//!
//! `BENCH_VERIFY_COMPARE_IDS=id,id,…` names the subset compared with sigstore-python
//! (`scripts/bench.sh` passes the cases `scripts/bench_sigstore_python.py` verified). Without
//! it, the subset is the cases sigstore-python 4.5.1 accepts: no `intoto/0.0.2` log entry, no
//! `sha512:` input.
// The benchmark reads the corpus and its settings; the core it measures does not
// (shared/core/clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
// A benchmark's output is its report: printing is the point.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bottle_attest::digest::Digest;
use bottle_attest::{TrustRoot, parse_attestations, verify_bundle_exact};
use bottle_attest_floor::Floor;
use bottle_attest_net::store::hashing::sha256_and_sha512_file;
use sigstore_trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Per-bundle budget the verifier is held to (median, parse + verify).
const TARGET_US: f64 = 500.0;

/// Ours over the floor, median over the GitHub attestations, that the verifier is held to.
const FLOOR_TARGET: f64 = 1.10;

/// The OIDC issuer of GitHub Actions, which marks a GitHub attestation.
const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Representative shapes reported case by case: (label, bundle version, rekor entry kind).
const REPRESENTATIVE: &[(&str, &str, &str)] = &[
    ("v0.3 dsse", "v0.3", "dsse"),
    ("v0.1 intoto", "v0.1", "intoto"),
    ("hashedrekord", "v0.3", "hashedrekord"),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus")
}

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    bundle: String,
    input: String,
    identity: String,
    issuer: String,
    root: String,
    expected: String,
}

/// One case, with everything that is not under test done up front.
struct Prepared {
    id: String,
    origin: String,
    bytes: Vec<u8>,
    digests: Vec<Digest>,
    identity: String,
    issuer: String,
    /// `v0.3`, `v0.1`, …
    version: &'static str,
    /// Rekor entry kind of the first bundle: `dsse`, `intoto`, `hashedrekord`.
    kind: &'static str,
    /// `intoto/0.0.2`, for display.
    kind_version: String,
    /// In the subset compared with sigstore-python.
    compared: bool,
    /// A GitHub attestation: v0.3, DSSE, Rekor v1 `dsse` entry, GitHub Actions issuer.
    github: bool,
    /// The necessary work of the bundle that verifies, or why it has no floor.
    floor: std::result::Result<Floor, String>,
    /// Index of the candidate that verifies (ours tries the ones before it first).
    passing: usize,
}

struct Mode {
    name: &'static str,
    warmup_rounds: usize,
    min_rounds: usize,
    max_rounds: usize,
    budget: Duration,
    root_builds: usize,
}

impl Mode {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        if !has("--bench") {
            Self {
                name: "smoke (no --bench argument)",
                warmup_rounds: 0,
                min_rounds: 1,
                max_rounds: 1,
                budget: Duration::ZERO,
                root_builds: 1,
            }
        } else if has("--quick") {
            Self {
                name: "quick",
                warmup_rounds: 1,
                min_rounds: 5,
                max_rounds: 30,
                budget: Duration::from_millis(500),
                root_builds: 5,
            }
        } else {
            Self {
                name: "full",
                warmup_rounds: 3,
                min_rounds: 20,
                max_rounds: 200,
                budget: Duration::from_secs(3),
                root_builds: 30,
            }
        }
    }
}

fn digests_for(case: &Case) -> Result<Vec<Digest>> {
    if case.input.starts_with("sha256:") || case.input.starts_with("sha512:") {
        Ok(vec![case.input.parse()?])
    } else {
        let (a, b) = sha256_and_sha512_file(&corpus().join(&case.input))?;
        Ok(vec![Digest::Sha256(a), Digest::Sha512(b)])
    }
}

fn short_version(media_type: &str) -> &'static str {
    ["0.1", "0.2", "0.3"]
        .into_iter()
        .zip(["v0.1", "v0.2", "v0.3"])
        .find(|(v, _)| media_type.ends_with(v) || media_type.contains(&format!("v{v}+")))
        .map_or("v?", |(_, short)| short)
}

fn prepare(
    case: Case,
    compare_ids: Option<&[String]>,
    trust: &TrustRoot,
    root: &TrustedRoot,
) -> Result<Prepared> {
    let bytes = std::fs::read(corpus().join(&case.bundle))?;
    let digests = digests_for(&case)?;
    let candidates = parse_attestations(&case.bundle, &bytes);
    let (passing, passed) = candidates
        .iter()
        .enumerate()
        .find_map(|(i, c)| {
            let bundle = c.bundle.as_ref().ok()?;
            verify_bundle_exact(trust, bundle, &digests, &case.identity, &case.issuer)
                .ok()
                .map(|_| (i, bundle))
        })
        .ok_or_else(|| format!("{}: no bundle verifies", case.id))?;
    let sha256 = digests.iter().find_map(|d| match d {
        Digest::Sha256(h) => Some(h.as_bytes().as_slice()),
        Digest::Sha512(_) => None,
    });
    let floor = Floor::extract(root, passed, sha256).map_err(|e| e.to_string());
    let first = candidates
        .iter()
        .find_map(|c| c.bundle.as_ref().ok())
        .ok_or_else(|| format!("{}: no parseable bundle", case.id))?;
    let (kind, kind_version) = match first.verification_material.tlog_entries.first() {
        Some(entry) => (
            entry.kind_version.kind(),
            format!(
                "{}/{}",
                entry.kind_version.kind(),
                entry.kind_version.version()
            ),
        ),
        None => ("none", "no tlog entry".to_owned()),
    };
    let has_intoto = candidates.iter().any(|c| {
        c.bundle.as_ref().is_ok_and(|b| {
            b.verification_material
                .tlog_entries
                .iter()
                .any(|e| e.kind_version.kind() == "intoto")
        })
    });
    let compared = match compare_ids {
        Some(ids) => ids.contains(&case.id),
        None => !has_intoto && !case.input.starts_with("sha512:"),
    };
    let version = short_version(first.media_type.as_str());
    let github =
        version == "v0.3" && kind_version == "dsse/0.0.1" && case.issuer == GITHUB_ACTIONS_ISSUER;
    Ok(Prepared {
        github,
        floor,
        passing,
        version,
        kind,
        kind_version,
        compared,
        origin: case.bundle,
        bytes,
        digests,
        identity: case.identity,
        issuer: case.issuer,
        id: case.id,
    })
}

/// One sample: parse + verify `case`. Returns (parse time, total time); an error if no bundle
/// of the case verifies, since every benchmarked case is expected to pass.
#[inline(never)] // a named frame for profilers (`valgrind --toggle-collect=*run_case*`)
fn run_case(trust: &TrustRoot, case: &Prepared) -> Result<(Duration, Duration)> {
    let start = Instant::now();
    let candidates = parse_attestations(&case.origin, black_box(&case.bytes));
    let parsed = start.elapsed();
    let mut errors = Vec::new();
    for candidate in &candidates {
        match &candidate.bundle {
            Ok(bundle) => {
                match verify_bundle_exact(
                    trust,
                    bundle,
                    &case.digests,
                    &case.identity,
                    &case.issuer,
                ) {
                    Ok(verified) => {
                        black_box(&verified);
                        return Ok((parsed, start.elapsed()));
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(format!("{}: expected PASS, got {errors:?}", case.id).into())
}

/// One sample of the floor: (with per-call key parsing, with the trusted keys parsed once);
/// `None` for a case without a floor.
#[inline(never)]
fn run_floor(case: &Prepared) -> Result<Option<(Duration, Duration)>> {
    let Ok(floor) = &case.floor else {
        return Ok(None);
    };
    let start = Instant::now();
    let ok = floor.run();
    let plain = start.elapsed();
    let start = Instant::now();
    let ok = ok & floor.run_preparsed();
    let preparsed = start.elapsed();
    if !ok {
        return Err(format!("{}: a floor check failed", case.id).into());
    }
    Ok(Some((plain, preparsed)))
}

/// Per case: ours against the floor. Prints the table and the summary; returns the `RESULT`
/// fields.
fn floor_report(cases: &[Prepared], samples: &[Vec<Sample>]) -> String {
    struct Row<'a> {
        case: &'a Prepared,
        ours: f64,
        verify_only: f64,
        floor: f64,
        preparsed: f64,
    }
    let median_of = |s: &[Sample], f: fn(&Sample) -> Option<f64>| {
        quantile(&sorted(s.iter().filter_map(f).collect()), 0.5)
    };
    println!(
        "ours against the floor (medians, µs; floor = the bundle's signature checks and hashes \
         alone, same keys and messages, aws-lc-rs; G = GitHub attestation):"
    );
    println!(
        "  {:<47} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}  floor work",
        "case", "ours", "verify", "floor", "floor/pk", "ratio", "v/flr"
    );
    let mut rows = Vec::new();
    for (case, s) in cases.iter().zip(samples) {
        let floor = match &case.floor {
            Ok(floor) => floor,
            Err(e) => {
                println!("  {:<47} no floor: {e}", case.id);
                continue;
            }
        };
        let row = Row {
            case,
            ours: median_of(s, |x| Some(x.total)),
            verify_only: median_of(s, |x| Some(x.total - x.parse)),
            floor: median_of(s, |x| x.floor),
            preparsed: median_of(s, |x| x.floor_preparsed),
        };
        println!(
            "  {}{:<46} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.2} {:>6.2}  {}{}",
            if case.github { 'G' } else { ' ' },
            case.id,
            row.ours,
            row.verify_only,
            row.floor,
            row.preparsed,
            row.ours / row.floor,
            row.verify_only / row.floor,
            floor.describe(),
            if case.passing > 0 {
                format!(" (ours first tries {} failing bundle(s))", case.passing)
            } else {
                String::new()
            }
        );
        rows.push(row);
    }
    let summary = |pick: &dyn Fn(&Row) -> bool| {
        let picked: Vec<&Row> = rows.iter().filter(|r| pick(r)).collect();
        let med =
            |f: &dyn Fn(&Row) -> f64| quantile(&sorted(picked.iter().map(|r| f(r)).collect()), 0.5);
        (
            picked.len(),
            med(&|r| r.ours),
            med(&|r| r.floor),
            med(&|r| r.ours / r.floor),
            med(&|r| r.verify_only / r.floor),
            med(&|r| r.ours / r.preparsed),
            picked
                .iter()
                .map(|r| r.ours / r.floor)
                .fold(f64::NAN, f64::max),
        )
    };
    let (gh_n, gh_ours, gh_floor, gh_ratio, gh_vratio, gh_pratio, gh_max) =
        summary(&|r| r.case.github);
    let (all_n, all_ours, all_floor, all_ratio, all_vratio, all_pratio, all_max) =
        summary(&|_| true);
    println!();
    println!(
        "  {:<30} {:>5} {:>8} {:>8} {:>7} {:>13} {:>13} {:>7}",
        "median over cases",
        "cases",
        "ours",
        "floor",
        "ratio",
        "verify/floor",
        "ours/floor-pk",
        "worst"
    );
    for (label, n, ours, floor, ratio, vratio, pratio, max) in [
        (
            "GitHub attestations",
            gh_n,
            gh_ours,
            gh_floor,
            gh_ratio,
            gh_vratio,
            gh_pratio,
            gh_max,
        ),
        (
            "all with a floor",
            all_n,
            all_ours,
            all_floor,
            all_ratio,
            all_vratio,
            all_pratio,
            all_max,
        ),
    ] {
        println!(
            "  {label:<30} {n:>5} {ours:>8.1} {floor:>8.1} {ratio:>6.2}x {vratio:>12.2}x {pratio:>12.2}x {max:>6.2}x"
        );
    }
    let met = gh_ratio <= FLOOR_TARGET;
    println!(
        "floor target: GitHub attestations at most {FLOOR_TARGET:.2}x the floor: {} ({gh_ratio:.2}x)",
        if met { "met" } else { "NOT met" }
    );
    format!(
        "floor_gh_ours_us={gh_ours:.1} floor_gh_floor_us={gh_floor:.1} floor_gh_ratio={gh_ratio:.3} \
         floor_gh_verify_ratio={gh_vratio:.3} floor_gh_preparsed_ratio={gh_pratio:.3} \
         floor_gh_cases={gh_n} floor_all_ours_us={all_ours:.1} floor_all_floor_us={all_floor:.1} \
         floor_all_ratio={all_ratio:.3} floor_max_ratio={all_max:.3} floor_cases={all_n} \
         floor_target={FLOOR_TARGET:.2} floor_target_met={met}"
    )
}

/// One round of one case, in µs.
#[derive(Clone, Copy)]
struct Sample {
    parse: f64,
    total: f64,
    floor: Option<f64>,
    floor_preparsed: Option<f64>,
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Quantile `q` (0..=1) of sorted samples, linearly interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn main() -> Result<()> {
    let mode = Mode::from_args();
    let compare_ids: Option<Vec<String>> = std::env::var("BENCH_VERIFY_COMPARE_IDS")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|id| id.trim().to_owned()).collect());

    // Trusted root construction, timed apart: a process builds it once.
    let mut root_samples = Vec::with_capacity(mode.root_builds);
    for _ in 0..mode.root_builds {
        let start = Instant::now();
        black_box(TrustRoot::production()?);
        root_samples.push(us(start.elapsed()));
    }
    let root_samples = sorted(root_samples);
    let trust = TrustRoot::production()?;
    // The same embedded root, as data: the floor takes its keys from it.
    let root = TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT)?;

    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(corpus().join("cases.json"))?)?;
    let cases: Vec<Prepared> = cases
        .into_iter()
        .filter(|c| c.expected == "PASS" && c.root == "production")
        .map(|c| prepare(c, compare_ids.as_deref(), &trust, &root))
        .collect::<Result<_>>()?;
    // For profiling the headline figure alone (`perf record … verify-* --bench`).
    let cases: Vec<Prepared> = if std::env::var_os("BENCH_VERIFY_GITHUB_ONLY").is_some() {
        cases.into_iter().filter(|c| c.github).collect()
    } else {
        cases
    };
    if cases.is_empty() {
        return Err("no PASS production case in cases.json".into());
    }
    if let Some(ids) = &compare_ids {
        for id in ids {
            if !cases.iter().any(|c| c.id == *id) {
                eprintln!("warning: BENCH_VERIFY_COMPARE_IDS names `{id}`, not a benchmarked case");
            }
        }
    }

    for _ in 0..mode.warmup_rounds {
        for case in &cases {
            run_case(&trust, case)?;
            run_floor(case)?;
        }
    }

    // samples[i] = one Sample of case i per round; ours and the floor alternate order per round.
    let mut samples: Vec<Vec<Sample>> = vec![Vec::with_capacity(mode.max_rounds); cases.len()];
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < mode.max_rounds && (rounds < mode.min_rounds || started.elapsed() < mode.budget)
    {
        for (case, out) in cases.iter().zip(&mut samples) {
            let (ours, floors) = if rounds % 2 == 0 {
                let ours = run_case(&trust, case)?;
                (ours, run_floor(case)?)
            } else {
                let floors = run_floor(case)?;
                (run_case(&trust, case)?, floors)
            };
            out.push(Sample {
                parse: us(ours.0),
                total: us(ours.1),
                floor: floors.map(|f| us(f.0)),
                floor_preparsed: floors.map(|f| us(f.1)),
            });
        }
        rounds += 1;
    }
    let wall = started.elapsed();

    let pooled = |pick: &dyn Fn(&Prepared) -> bool, field: fn(&Sample) -> f64| {
        sorted(
            cases
                .iter()
                .zip(&samples)
                .filter(|(c, _)| pick(c))
                .flat_map(|(_, s)| s.iter().map(field))
                .collect(),
        )
    };
    let all = pooled(&|_| true, |s| s.total);
    let parse = pooled(&|_| true, |s| s.parse);
    let verify_only = pooled(&|_| true, |s| s.total - s.parse);
    let subset = pooled(&|c| c.compared, |s| s.total);
    let per_case: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| sorted(s.iter().map(|x| x.total).collect()))
        .collect();
    let case_medians = sorted(per_case.iter().map(|s| quantile(s, 0.5)).collect());
    let subset_count = cases.iter().filter(|c| c.compared).count();

    let median = quantile(&all, 0.5);
    let p90 = quantile(&all, 0.9);
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let root_median = quantile(&root_samples, 0.5);

    println!(
        "verify bench, mode {}: {} PASS production cases x {rounds} rounds = {} samples in {:.2} s \
         (after {} warm-up rounds)",
        mode.name,
        cases.len(),
        all.len(),
        wall.as_secs_f64(),
        mode.warmup_rounds
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "{} cores; load average at the end {} (a busy machine inflates the numbers)",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load.join(" ")
        );
    }
    println!();
    println!(
        "TrustRoot::production(): median {root_median:.0} µs, min {:.0} µs over {} builds \
         (once per process, not in the per-bundle numbers)",
        root_samples.first().copied().unwrap_or(f64::NAN),
        root_samples.len()
    );
    println!();
    println!("per bundle, parse + verify (µs):");
    println!(
        "  all {:>2} cases          median {median:>8.1}  p90 {p90:>8.1}  mean {mean:>8.1}",
        cases.len()
    );
    println!(
        "    parse only          median {:>8.1}  p90 {:>8.1}",
        quantile(&parse, 0.5),
        quantile(&parse, 0.9)
    );
    println!(
        "    verify only         median {:>8.1}  p90 {:>8.1}",
        quantile(&verify_only, 0.5),
        quantile(&verify_only, 0.9)
    );
    println!(
        "    median of per-case medians {:.1}, fastest case {:.1}, slowest case {:.1}",
        quantile(&case_medians, 0.5),
        case_medians.first().copied().unwrap_or(f64::NAN),
        case_medians.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  python-comparable {subset_count:>2}   median {:>8.1}  p90 {:>8.1}  ({})",
        quantile(&subset, 0.5),
        quantile(&subset, 0.9),
        if compare_ids.is_some() {
            "cases from BENCH_VERIFY_COMPARE_IDS"
        } else {
            "no intoto/0.0.2 entry, no sha512 input"
        }
    );
    println!();
    println!("representative cases (median / p90 µs):");
    for (label, version, kind) in REPRESENTATIVE {
        let found = cases
            .iter()
            .position(|c| c.version == *version && c.kind == *kind)
            .or_else(|| cases.iter().position(|c| c.kind == *kind));
        match found {
            Some(i) => println!(
                "  {label:<13} {:<45} {:>8.1} / {:>8.1}",
                cases[i].id,
                quantile(&per_case[i], 0.5),
                quantile(&per_case[i], 0.9)
            ),
            None => println!("  {label:<13} (no such case in the corpus)"),
        }
    }
    println!();
    println!("every case (median / p90 µs; * = python-comparable):");
    for (case, s) in cases.iter().zip(&per_case) {
        println!(
            "  {} {:<47} {} {:<18} {:>8.1} / {:>8.1}",
            if case.compared { '*' } else { ' ' },
            case.id,
            case.version,
            case.kind_version,
            quantile(s, 0.5),
            quantile(s, 0.9)
        );
    }
    println!();
    let floor = floor_report(&cases, &samples);
    println!();
    let met = median < TARGET_US;
    println!(
        "target: median < {TARGET_US:.0} µs per bundle: {} ({median:.1} µs)",
        if met { "met" } else { "NOT met" }
    );
    println!(
        "RESULT verify_median_us={median:.1} verify_p90_us={p90:.1} parse_median_us={:.1} \
         pysubset_median_us={:.1} pysubset_p90_us={:.1} trust_root_build_us={root_median:.0} \
         cases={} pysubset_cases={subset_count} rounds={rounds} target_us={TARGET_US:.0} \
         target_met={met} {floor}",
        quantile(&parse, 0.5),
        quantile(&subset, 0.5),
        quantile(&subset, 0.9),
        cases.len(),
    );
    Ok(())
}
