//! Fuzz targets for every parser of `bottle-attest` that reads outside data.
//!
//! Each target is a plain function over bytes. The libFuzzer binaries in `fuzz_targets/` call it
//! (nightly, through `cargo fuzz`, with the `libfuzzer` feature), and `tests/replay.rs` feeds it
//! every file of `corpus/<target>/` on stable, so that `cargo test` catches a regression on any
//! input the fuzzer ever kept. Targets go through the pure core only: no network crate, no
//! files, no clock-dependent state beyond what verification itself reads.
//!
//! A target fails by panicking: either the code under test panicked (the bug the standard
//! forbids: no input may make a binary panic), or a property the target checks does not hold
//! (`assert!`s below: round trips, counts that two parsers must agree on).
//!
//! | target | parser | properties checked |
//! |---|---|---|
//! | `bundle` | `parse_attestations` (bundle, JSON Lines, API body, sidecar), then `verify_bundle` and `Policy::homebrew_core().evaluate_pile` | no panic anywhere, including sigstore-verify |
//! | `statement` | `Statement::from_payload` | subject count and digest lookup agree with the JSON |
//! | `sidecar` | `parse_attestations` on arrays, then policy attribution | one candidate per array item |
//! | `api_page` | `parse_api_page` | agrees with `parse_attestations` on the same body |
//! | `formula_json` | `FormulaIndex::from_json`, `bottle_for`, `with_dependencies` | resolved bottles name their formula and tag and round-trip |
//! | `oci` | `registry::select_platform` and `check_manifest` | accepted documents say what the checks require |
//! | `policy_file` | `Policy::from_file_text` (TOML and JSON), then the policy at work | — |
//! | `bottle_name` | `BottleFilename::from_str`, `cache_name`, `bottle_url` | `parse(display(x)) == x`, URLs are ASCII |
//! | `journal_line` | `journal::split_lines`, `parse_line`, `decode_prepared` | `parse(encode(x)) == x` |

use std::sync::OnceLock;

use bottle_attest::bottle::{BottleRef, DEFAULT_BOTTLE_ROOT, bottle_url, is_github_packages};
use bottle_attest::bundle::{ApiEntry, BundleCandidate, BundleParseError, parse_api_page};
use bottle_attest::digest::{Digest, sha256_bytes};
use bottle_attest::formula::FormulaIndex;
use bottle_attest::journal::{decode_prepared, encode_line, parse_line, split_lines};
use bottle_attest::policy::Lookup;
use bottle_attest::registry::{
    BottleTarget, PlatformEntry, check_manifest, index_tag, platform_ref_name, select_platform,
};
use bottle_attest::statement::Statement;
use bottle_attest::{BottleFilename, Policy, Sha256Hash, TrustRoot, parse_attestations};
use sigstore_types::{Bundle, HashAlgorithm, SignatureContent};

/// A fuzz target: one input, no result (a panic is the finding).
pub type Target = fn(&[u8]);

/// Every target, by name: the name is its corpus directory and its `cargo fuzz` binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("bundle", bundle),
    ("statement", statement),
    ("sidecar", sidecar),
    ("api_page", api_page),
    ("formula_json", formula_json),
    ("oci", oci),
    ("policy_file", policy_file),
    ("bottle_name", bottle_name),
    ("journal_line", journal_line),
];

/// The bottle the targets check against: a real homebrew-core bottle (zrok 0.4.48, whose
/// attestation's subjects are in `tests/fixtures/corpus/bundles/homebrew-partial/`).
const BOTTLE_NAME: &str = "zrok--0.4.48.arm64_sequoia.bottle.tar.gz";
const BOTTLE_SHA256: [u8; 32] = [
    0x46, 0x1c, 0x41, 0xaa, 0x83, 0x5b, 0x42, 0x30, 0xac, 0x14, 0xa4, 0x75, 0x00, 0x91, 0xc6, 0xa3,
    0x6f, 0x9a, 0x13, 0xd4, 0xe3, 0x4e, 0xd8, 0xab, 0x3c, 0x6f, 0xb8, 0x79, 0x72, 0x6c, 0xd8, 0x04,
];

/// A real GitHub Actions bundle that verifies under the production root, for the targets that
/// put a fuzzed policy to work on something that passes the cryptography.
const REAL_BUNDLE: &[u8] = include_bytes!(
    "../../../tests/fixtures/corpus/bundles/gh-actions/konnekt-v0.2.0-alpha.2-linux-amd64.sigstore.json"
);

/// The embedded production root, parsed once per process (as the binaries do).
fn root() -> &'static TrustRoot {
    static ROOT: OnceLock<TrustRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        TrustRoot::production().unwrap_or_else(|e| panic!("the embedded root must load: {e}"))
    })
}

fn homebrew_core() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::homebrew_core)
}

fn fixed_bottle() -> BottleRef {
    BottleRef {
        digest: Sha256Hash::new(BOTTLE_SHA256),
        filename: BOTTLE_NAME
            .parse()
            .unwrap_or_else(|e| panic!("the fixed bottle name must parse: {e}")),
    }
}

/// The digest a bundle says it is about (unverified): its statement's first subject, or the
/// digest of a message signature. Verifying against it, not only against a fixed digest, takes
/// the fuzzer past the subject check into the rest of the verifier.
fn claimed_digest(bundle: &Bundle) -> Option<Digest> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            let statement = Statement::from_payload(envelope.payload.as_bytes()).ok()?;
            let subject = statement.subjects.first()?;
            subject
                .sha256
                .map(Digest::Sha256)
                .or(subject.sha512.map(Digest::Sha512))
        }
        SignatureContent::MessageSignature(sig) => {
            let digest = sig.message_digest.as_ref()?;
            match digest.algorithm {
                HashAlgorithm::Sha2256 => Sha256Hash::try_from(digest.digest.as_bytes())
                    .ok()
                    .map(Digest::Sha256),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Exercise every message a candidate's error can print (Display must never panic).
fn describe(candidates: &[BundleCandidate]) {
    for c in candidates {
        if let Err(e) = &c.bundle {
            let _ = e.to_string();
        }
    }
}

/// Bytes as they arrive in a bundle file, a JSON Lines file, an attestations API body or a
/// sidecar: parsed, each bundle verified (for a fixed digest and for the digest it claims), and
/// the whole pile run through the homebrew-core policy for a fixed bottle.
pub fn bundle(data: &[u8]) {
    let pile = parse_attestations("fuzz", data);
    describe(&pile);
    let trust = root();
    let fixed = Digest::Sha256(Sha256Hash::new(BOTTLE_SHA256));
    let mut bottle = fixed_bottle();
    for candidate in &pile {
        let Ok(b) = &candidate.bundle else { continue };
        if let Err(e) = bottle_attest::verify_bundle(trust, b, &fixed) {
            let _ = e.to_string();
        }
        if let Some(claimed) = claimed_digest(b) {
            if let Ok(verified) = bottle_attest::verify_bundle(trust, b, &claimed) {
                assert!(!verified.timestamps().is_empty(), "verified without a time");
            }
            if let Digest::Sha256(d) = claimed {
                bottle.digest = d;
            }
        }
    }
    let (verdict, _ignored) = homebrew_core().evaluate_pile(&bottle, trust, &pile);
    let _ = format!("{verdict:?}");
}

/// A DSSE payload: the in-toto statement.
pub fn statement(data: &[u8]) {
    let Ok(statement) = Statement::from_payload(data) else {
        return;
    };
    let raw = statement
        .raw()
        .expect("a payload that parsed into a statement is JSON");
    let listed = raw
        .get("subject")
        .and_then(serde_json::Value::as_array)
        .map(Vec::len);
    assert_eq!(listed, Some(statement.subjects.len()), "subject count");
    for subject in &statement.subjects {
        if let Some(d) = &subject.sha256 {
            assert!(
                statement.subjects_with_sha256(d).any(|s| s == subject),
                "a subject is not found by its own sha256"
            );
        }
        let _ = serde_json::to_string(subject);
    }
}

/// A mirror sidecar (`<bottle url>.sigs`): a JSON array of bundles. Each item becomes exactly
/// one candidate, and the pile is filed under the policy's sources (which reads the unverified
/// statement and certificate of every bundle).
pub fn sidecar(data: &[u8]) {
    let pile = parse_attestations("sidecar", data);
    describe(&pile);
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_slice(data) {
        assert_eq!(pile.len(), items.len(), "one candidate per sidecar item");
        for (i, c) in pile.iter().enumerate() {
            assert_eq!(c.origin, format!("sidecar[{i}]"));
        }
    }
    let mut digest = Sha256Hash::new(BOTTLE_SHA256);
    for b in pile.iter().filter_map(|c| c.bundle.as_ref().ok()) {
        if let Some(Digest::Sha256(d)) = claimed_digest(b) {
            digest = d;
        }
    }
    let policy = homebrew_core();
    let bottle = BottleRef {
        digest,
        ..fixed_bottle()
    };
    let attributed = policy.attribute(&bottle, &pile);
    assert_eq!(attributed.lookups.len(), policy.sources.len());
    let filed: usize = attributed
        .lookups
        .iter()
        .map(|l| match l {
            Lookup::Found(c) => c.len(),
            _ => 0,
        })
        .sum();
    assert!(filed + attributed.ignored.len() <= pile.len());
}

/// One page of the GitHub attestations API. Where the page parses, the general reader must
/// agree with it entry for entry.
pub fn api_page(data: &[u8]) {
    let Ok(entries) = parse_api_page(data) else {
        return;
    };
    let candidates = parse_attestations("api", data);
    assert_eq!(entries.len(), candidates.len(), "entry count");
    let items = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("attestations").and_then(|a| a.as_array()).cloned())
        .unwrap_or_default();
    for ((entry, candidate), item) in entries.iter().zip(&candidates).zip(&items) {
        if let ApiEntry::Inline(Err(e)) = entry {
            let _ = e.to_string();
        }
        // An entry that is an object without `mediaType` is read the same way by both.
        if item.as_object().is_none_or(|o| o.contains_key("mediaType")) {
            continue;
        }
        match (entry, &candidate.bundle) {
            (ApiEntry::Inline(Ok(a)), Ok(b)) => assert_eq!(a, b),
            (ApiEntry::Inline(Err(_)), Err(_)) => {}
            (ApiEntry::BundleUrl(u), Err(BundleParseError::NotInline(v))) => assert_eq!(u, v),
            (entry, candidate) => panic!("the readers disagree: {entry:?} / {candidate:?}"),
        }
    }
}

/// The formula JSON API (`formula.json` or one formula): every tag of every formula resolved,
/// its URLs and registry coordinates derived, and the dependency closure walked.
pub fn formula_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(index) = FormulaIndex::from_json(text) else {
        return;
    };
    let names: Vec<String> = index.iter().map(|f| f.name.clone()).collect();
    for formula in index.iter() {
        let mut tags: Vec<String> = formula.tags().iter().map(|t| (*t).to_owned()).collect();
        tags.push("arm64_sequoia".into());
        for tag in &tags {
            match formula.bottle_for(tag) {
                Ok(resolved) => {
                    let file = &resolved.bottle.filename;
                    assert_eq!(file.name(), formula.name);
                    assert!(
                        file.tag() == tag || file.tag() == "all",
                        "tag {tag} → {file}"
                    );
                    let again: Result<BottleFilename, _> = file.to_string().parse();
                    assert_eq!(again.as_ref(), Ok(file));
                    let _ = resolved.bottle.cache_name(&resolved.root_url);
                    let _ = bottle_url(&resolved.root_url, &resolved.bottle);
                    let _ = BottleTarget::new("homebrew/core", &resolved.bottle);
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
    let mut with_unknown = names.clone();
    with_unknown.push("not-a-formula".into());
    let closure = index.with_dependencies(&with_unknown);
    assert!(closure.len() >= names.len(), "the closure lost formulae");
}

/// An OCI image index and a platform manifest, separated by the first NUL byte (JSON holds
/// none). Checked against a fixed bottle (`testball 1.0_1`, rebuild 1, `arm64_sonoma`, whose
/// sha256 is the corpus's), then the manifest alone, as if the index had named its digest.
pub fn oci(data: &[u8]) {
    let (index_bytes, manifest_bytes) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let bottle = BottleRef {
        digest: sha256_bytes(b"testball bottle"),
        filename: BottleFilename::new("testball", "1.0_1", "arm64_sonoma", 1)
            .unwrap_or_else(|e| panic!("the fixed bottle name must parse: {e}")),
    };
    let target = BottleTarget::new("homebrew/core", &bottle);
    let expected_hex = target.expected.to_hex();
    let entry = match select_platform(&target, index_bytes) {
        Ok(entry) => {
            let annotation = |k: &str| entry.annotations.get(k).map(String::as_str);
            assert_eq!(
                annotation(bottle_attest::registry::ANNOTATION_REF_NAME),
                Some(target.ref_name.as_str())
            );
            assert!(
                annotation(bottle_attest::registry::ANNOTATION_BOTTLE_DIGEST)
                    .is_some_and(|d| d.eq_ignore_ascii_case(&expected_hex))
            );
            match check_manifest(&target, &entry, manifest_bytes) {
                Ok(m) => assert_eq!(m.manifest_digest, sha256_bytes(manifest_bytes)),
                Err(e) => {
                    let _ = e.to_string();
                }
            }
            entry
        }
        Err(e) => {
            if let bottle_attest::registry::RegistryError::NoPlatform { available, .. } = &e {
                // Names from the registry go through the tag mapping: it must only emit
                // characters an OCI tag can hold.
                for name in available {
                    let tag = index_tag(name, 1);
                    assert!(
                        tag.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    );
                    let _ = platform_ref_name(name, "all", 0);
                }
            }
            let _ = e.to_string();
            PlatformEntry {
                manifest_digest: sha256_bytes(manifest_bytes),
                annotations: Default::default(),
            }
        }
    };
    // The manifest checks proper, past the digest comparison the fuzzer can never satisfy.
    let entry = PlatformEntry {
        manifest_digest: sha256_bytes(manifest_bytes),
        ..entry
    };
    match check_manifest(&target, &entry, manifest_bytes) {
        Ok(m) => {
            let _ = m.tab();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// A policy file, read as TOML and as JSON, then put to work: evaluated for the fixed bottle
/// with nothing found, and for a real bundle's subject with that bundle.
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let real = parse_attestations("real", REAL_BUNDLE);
    let real_bottle = real
        .first()
        .and_then(|c| c.bundle.as_ref().ok())
        .and_then(|b| claimed_digest(b))
        .and_then(|d| d.sha256().copied())
        .map(|digest| BottleRef {
            digest,
            filename: fixed_bottle().filename,
        });
    for file_name in ["policy.toml", "policy.json"] {
        match Policy::from_file_text(file_name, text) {
            Ok(policy) => {
                let trust = root();
                let (verdict, _) = policy.evaluate_pile(&fixed_bottle(), trust, &[]);
                let _ = format!("{verdict:?}");
                if let Some(bottle) = &real_bottle {
                    let (verdict, _) = policy.evaluate_pile(bottle, trust, &real);
                    let _ = format!("{verdict:?}");
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// A bottle file name (from a command line, a cache directory, a statement subject): parsed,
/// printed, and turned into the names and URLs brew would use.
pub fn bottle_name(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The name as a bottle domain: only string handling, never a panic.
    let _ = is_github_packages(text);
    let _ = bottle_url(text, &fixed_bottle());
    let name: BottleFilename = match text.parse() {
        Ok(name) => name,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let shown = name.to_string();
    let again: Result<BottleFilename, _> = shown.parse();
    assert_eq!(
        again.as_ref(),
        Ok(&name),
        "parse(display(x)) != x for {text:?}"
    );
    let rebuilt = BottleFilename::new(name.name(), name.version(), name.tag(), name.rebuild());
    assert_eq!(rebuilt.as_ref(), Ok(&name));
    let bottle = BottleRef {
        digest: Sha256Hash::new(BOTTLE_SHA256),
        filename: name,
    };
    let cache = bottle.cache_name(DEFAULT_BOTTLE_ROOT);
    assert!(cache.ends_with(&format!("--{shown}")));
    let ghcr = bottle_url(DEFAULT_BOTTLE_ROOT, &bottle);
    assert!(ghcr.starts_with(DEFAULT_BOTTLE_ROOT));
    let mirror = bottle_url("https://mirror.example/bottles/", &bottle);
    let file_part = mirror
        .strip_prefix("https://mirror.example/bottles/")
        .unwrap_or_else(|| panic!("the mirror URL lost its domain: {mirror}"));
    assert!(
        file_part.is_ascii() && !file_part.contains(['/', '?', '#', ' ']),
        "the file name escapes its path segment: {mirror}"
    );
    let _ = BottleTarget::new("homebrew/core", &bottle);
}

/// brew-backfill's journal text: cut into lines, each parsed; a parsed record must survive
/// being written and read back, and a `prepared` record's contents are decoded.
pub fn journal_line(data: &[u8]) {
    let split = split_lines(data);
    assert!(split.valid_len <= data.len());
    for (_, line) in &split.lines {
        assert!(!line.contains(&b'\n'));
        let parsed = match parse_line(line) {
            Ok(parsed) => parsed,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        let text = encode_line(parsed.at, parsed.record.clone())
            .unwrap_or_else(|e| panic!("a parsed record must encode: {e}"));
        let again = parse_line(text.trim_end_matches('\n').as_bytes());
        assert_eq!(again.as_ref(), Ok(&parsed), "parse(encode(x)) != x: {text}");
        if let bottle_attest::journal::Record::Prepared {
            batch,
            envelope,
            certificate,
            ..
        } = &parsed.record
        {
            if let Err(e) = decode_prepared(*batch, envelope, certificate) {
                let _ = e.to_string();
            }
        }
    }
}
