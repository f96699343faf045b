//! The GitHub Actions workflows in `workflows/` run unattended with an OIDC token and write
//! rights, so what makes them safe is checked here: every action pinned by commit, bash with
//! pipefail on every `run:`, counts in the job summary even when a step fails, the signing job
//! running only a verified release binary, and permissions granted per job, no wider than the
//! job's steps need. The step scripts that matter are also run, with bash, against a stand-in
//! `brew-backfill`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::util::temp_dir;

const WORKFLOWS: [&str; 3] = ["backfill.yml", "ci.yml", "release.yml"];

/// Every third-party action the workflows use, with the commit its tag pointed to when it was
/// pinned (read from the action's own repository: `git show-ref --tags`, the tag peeled to its
/// commit). A new pin must be verified the same way and added here.
const VERIFIED_PINS: [(&str, &str, &str); 6] = [
    (
        "actions/checkout",
        "11d5960a326750d5838078e36cf38b85af677262",
        "v4.4.0",
    ),
    (
        "actions/setup-python",
        "a26af69be951a213d495a4c3e4e4022e16d87065",
        "v5.6.0",
    ),
    (
        "Swatinem/rust-cache",
        "6323deb102c322ba6fcbdcafc7e3dddab59af2b6",
        "v2.9.2",
    ),
    (
        "actions/upload-artifact",
        "ea165f8d65b6e75b540449e92b4886f43607fa02",
        "v4.6.2",
    ),
    (
        "actions/download-artifact",
        "d3f86a106a0bac45b974a628896c90dbdf5c8093",
        "v4.3.0",
    ),
    (
        "actions/attest-build-provenance",
        "e8998f949152b193b063cb0ec769d69d929409be",
        "v2.4.0",
    ),
];

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap()
}

fn load(name: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&text(name)).expect("workflow is YAML");
    assert_eq!(docs.len(), 1, "{name}");
    docs.remove(0)
}

fn keys(y: &Yaml) -> Vec<String> {
    y.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().map(Vec::as_slice).unwrap_or_default()
}

fn perms(y: &Yaml) -> BTreeMap<String, String> {
    y.as_hash()
        .unwrap_or_else(|| panic!("permissions must be a map, not {y:?}"))
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn runs(job: &Yaml) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn uses_action(job: &Yaml, action: &str) -> bool {
    steps(job).iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{action}@")))
    })
}

fn is_sha(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn workflow_every_action_is_pinned_to_a_verified_commit_with_its_tag_as_a_comment() {
    let mut seen = 0;
    for name in WORKFLOWS {
        let wf = load(name);
        // What the YAML says: every `uses:` (steps, and reusable workflows at job level).
        for job in keys(&wf["jobs"]) {
            let job = &wf["jobs"][job.as_str()];
            let all = steps(job)
                .iter()
                .filter_map(|s| s["uses"].as_str())
                .chain(job["uses"].as_str());
            for uses in all {
                let (action, sha) = uses.split_once('@').unwrap_or((uses, ""));
                assert!(is_sha(sha), "{name}: `{uses}` is not pinned to a commit");
                assert!(
                    VERIFIED_PINS
                        .iter()
                        .any(|(a, s, _)| *a == action && *s == sha),
                    "{name}: `{uses}` is not a verified pin"
                );
                seen += 1;
            }
        }
        // What the text says: the tag the commit was read from, as the trailing comment.
        for line in text(name).lines() {
            let Some(at) = line.find("uses:") else {
                continue;
            };
            if line.trim_start().starts_with('#') {
                continue;
            }
            let rest = line[at + "uses:".len()..].trim();
            let (uses, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            let (action, sha) = uses.trim().split_once('@').unwrap();
            let (_, _, tag) = VERIFIED_PINS
                .iter()
                .find(|(a, s, _)| *a == action && *s == sha)
                .unwrap_or_else(|| panic!("{name}: `{line}` is not a verified pin"));
            assert_eq!(comment.trim(), *tag, "{name}: `{line}`");
        }
    }
    assert!(seen >= 20, "{seen} `uses:`");
}

#[test]
fn workflow_every_run_step_uses_bash_with_pipefail() {
    for name in WORKFLOWS {
        let wf = load(name);
        let default = wf["defaults"]["run"]["shell"].as_str();
        for job_name in keys(&wf["jobs"]) {
            let job = &wf["jobs"][job_name.as_str()];
            let job_default = job["defaults"]["run"]["shell"].as_str().or(default);
            for step in steps(job) {
                if step["run"].is_badvalue() {
                    continue;
                }
                let shell = step["shell"].as_str().or(job_default);
                // `bash` is `bash --noprofile --norc -eo pipefail {0}`; a custom bash line would
                // have to say `pipefail` itself.
                assert!(
                    shell == Some("bash")
                        || shell.is_some_and(|s| s.starts_with("bash ") && s.contains("pipefail")),
                    "{name}/{job_name}: step {:?} runs with {shell:?}",
                    step["name"].as_str()
                );
            }
        }
    }
}

#[test]
fn workflow_permissions_are_granted_per_job_and_only_where_a_step_needs_them() {
    for name in WORKFLOWS {
        let wf = load(name);
        assert_eq!(
            perms(&wf["permissions"]),
            BTreeMap::from([("contents".into(), "read".into())]),
            "{name}: the workflow default"
        );
        for job_name in keys(&wf["jobs"]) {
            let job = &wf["jobs"][job_name.as_str()];
            let job_perms = perms(&job["permissions"]);
            let scripts = runs(job);
            let signs = uses_action(job, "actions/attest-build-provenance")
                || scripts.contains("brew-backfill sign $PROGRESS");
            let uploads_attestations = signs;
            for (scope, level) in &job_perms {
                assert!(
                    level == "read" || level == "write" || level == "none",
                    "{name}/{job_name}: {scope}: {level}"
                );
                if level != "write" {
                    continue;
                }
                let needed = match scope.as_str() {
                    "id-token" => signs,
                    "attestations" => uploads_attestations,
                    "contents" => {
                        scripts.contains("gh release create") || scripts.contains("git push")
                    }
                    "pull-requests" => scripts.contains("gh pr create"),
                    _ => false,
                };
                assert!(
                    needed,
                    "{name}/{job_name}: `{scope}: write` is granted but no step needs it"
                );
            }
            if signs {
                assert_eq!(
                    job_perms.get("id-token").map(String::as_str),
                    Some("write"),
                    "{name}/{job_name}"
                );
            }
            // A job that holds an OIDC token writes no code and no releases.
            if job_perms.get("id-token").map(String::as_str) == Some("write") {
                assert_ne!(
                    job_perms.get("contents").map(String::as_str),
                    Some("write"),
                    "{name}/{job_name}"
                );
            }
            assert!(
                job["timeout-minutes"].as_i64().is_some_and(|m| m > 0),
                "{name}/{job_name}: no explicit timeout"
            );
        }
    }
    // The tap workflow: exactly one job can sign and upload.
    let wf = load("backfill.yml");
    let signing: Vec<String> = keys(&wf["jobs"])
        .into_iter()
        .filter(|j| perms(&wf["jobs"][j.as_str()]["permissions"]).contains_key("id-token"))
        .collect();
    assert_eq!(signing, ["sign-upload"]);
}

#[test]
fn workflow_signing_job_runs_only_the_attested_release_binary() {
    let wf = load("backfill.yml");
    let text = text("backfill.yml");
    // The project is named once, in the workflow's env.
    assert_eq!(
        wf["env"]["BREW_BACKFILL_REPO"].as_str(),
        Some("brew-verify/brew-verify")
    );
    assert_eq!(
        text.matches("brew-verify/brew-verify").count(),
        1,
        "the project repository is spelt out more than once"
    );
    let version = wf["on"]["workflow_dispatch"]["inputs"]["brew_backfill_version"]["default"]
        .as_str()
        .unwrap();
    let v = version.strip_prefix('v').unwrap();
    assert!(
        v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()),
        "{version}"
    );
    assert_eq!(
        wf["env"]["BREW_BACKFILL_VERSION"].as_str(),
        Some("${{ inputs.brew_backfill_version }}")
    );
    assert!(!text.contains("cargo install"));
    assert!(!text.contains("cargo build"));

    for job_name in keys(&wf["jobs"]) {
        let job = &wf["jobs"][job_name.as_str()];
        let steps = steps(job);
        let first_run = steps
            .iter()
            .position(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("./tool/brew-backfill "))
            })
            .unwrap_or_else(|| panic!("{job_name} runs no brew-backfill"));
        let install = steps
            .iter()
            .position(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("gh release download"))
            })
            .unwrap_or_else(|| panic!("{job_name} installs no release"));
        assert!(install < first_run, "{job_name}");
        let script = steps[install]["run"].as_str().unwrap().replace("\\\n", " ");
        let download = script.find("gh release download").unwrap();
        let verify = script
            .find("gh attestation verify \"$archive\"")
            .unwrap_or_else(|| panic!("{job_name}: the archive's attestation is not verified"));
        let unpack = script.find("tar -xzf \"$archive\"").unwrap();
        assert!(download < verify && verify < unpack, "{job_name}");
        let verify_line = script[verify..].lines().next().unwrap();
        for flag in [
            "--repo \"$BREW_BACKFILL_REPO\"",
            "--signer-workflow \"${BREW_BACKFILL_REPO}/.github/workflows/release.yml\"",
            "--source-ref \"refs/tags/${BREW_BACKFILL_VERSION}\"",
            "--deny-self-hosted-runners",
        ] {
            assert!(verify_line.contains(flag), "{job_name}: {verify_line}");
        }
        // Nothing swallows the verification's failure.
        assert!(!verify_line.contains("||"), "{verify_line}");
        assert!(steps[install]["continue-on-error"].is_badvalue());
    }
}

#[test]
fn workflow_release_attests_the_archives_the_tap_workflow_verifies() {
    let wf = load("release.yml");
    assert_eq!(wf["on"]["push"]["tags"][0].as_str(), Some("v*.*.*"));
    let build = &wf["jobs"]["build"];
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|m| m["target"].as_str())
        .collect();
    assert!(targets.contains(&"x86_64-unknown-linux-gnu"), "{targets:?}");
    let package = steps(build)
        .iter()
        .position(|s| s["id"].as_str() == Some("package"))
        .unwrap();
    let script = steps(build)[package]["run"].as_str().unwrap();
    assert!(script.contains("name=\"brew-verify-${GITHUB_REF_NAME}-${TARGET}\""));
    assert!(script.contains("release/brew-backfill"));
    let attest = steps(build)
        .iter()
        .position(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
        })
        .expect("the release binaries are attested");
    assert!(package < attest);
    assert_eq!(
        steps(build)[attest]["with"]["subject-path"].as_str(),
        Some("${{ steps.package.outputs.archive }}")
    );
    // What is published is what was attested, under the name the tap workflow downloads.
    let release = runs(&wf["jobs"]["release"]);
    assert!(release.contains("dist/brew-verify-*.tar.gz"));
    let backfill = text("backfill.yml");
    assert!(backfill.contains(
        "archive=\"brew-verify-${BREW_BACKFILL_VERSION}-x86_64-unknown-linux-gnu.tar.gz\""
    ));
    // The source tarball is attested too.
    assert!(uses_action(
        &wf["jobs"]["source"],
        "actions/attest-build-provenance"
    ));
}

/// Run one `run:` script of backfill.yml as GitHub does (`bash --noprofile --norc -eo
/// pipefail`), in `dir`, with `env`.
fn run_step(dir: &Path, script: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn step_script(wf: &Yaml, job: &str, step: &str) -> String {
    steps(&wf["jobs"][job])
        .iter()
        .find(|s| s["name"].as_str() == Some(step))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("{job}: no step {step}"))
        .to_owned()
}

#[test]
fn workflow_counts_reach_the_summary_and_failures_fail_the_step() {
    let wf = load("backfill.yml");
    let progress = wf["env"]["PROGRESS"].as_str().unwrap();
    let cases = [
        ("plan", "Plan", "plan"),
        ("sign-upload", "Sign", "sign"),
        ("sign-upload", "Upload", "upload"),
        ("audit", "Audit every planned bottle", "audit"),
        ("plan", "What would be signed (dry run)", "sign (dry run)"),
    ];
    for (job, step, prefix) in cases {
        let script = step_script(&wf, job, step);
        assert!(script.contains("$GITHUB_STEP_SUMMARY"), "{step}");
        for status in [0, 1, 3] {
            let dir = temp_dir();
            let d = dir.path();
            std::fs::create_dir_all(d.join("tool")).unwrap();
            std::fs::create_dir_all(d.join("plans")).unwrap();
            std::fs::write(d.join("plans/shard-1.jsonl"), "{}\n").unwrap();
            std::fs::write(d.join("plans/shard-2.jsonl"), "{}\n").unwrap();
            // A stand-in that talks like brew-backfill: verdicts on stdout, counts on stderr
            // (the dry run's on stdout), then its exit status.
            let fake = d.join("tool/brew-backfill");
            std::fs::write(
                &fake,
                format!(
                    "#!/usr/bin/env bash\n\
                     echo \"progress: working\" >&2\n\
                     echo \"verdict\tsome-bottle\"\n\
                     if [[ \" $* \" == *\" --dry-run \"* ]]; then\n\
                       echo \"sign (dry run): 7 subjects to sign\"\n\
                     else\n\
                       echo \"$1: 7 counted ($*)\" >&2\n\
                     fi\n\
                     exit {status}\n"
                ),
            )
            .unwrap();
            std::process::Command::new("chmod")
                .arg("+x")
                .arg(&fake)
                .status()
                .unwrap();
            let summary = d.join("summary.md");
            let (code, _stdout, stderr) = run_step(
                d,
                &script,
                &[
                    ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
                    ("GITHUB_REPOSITORY", "owner/homebrew-tap"),
                    ("PROGRESS", progress),
                    ("SHARD", "1"),
                    ("SHARDS", "2"),
                    ("BATCH_SIZE", "256"),
                    ("MODE", "tap"),
                    ("FORMULAE", "https://formulae.example/formula.json"),
                    ("CORE", "Homebrew/homebrew-core"),
                    ("WORKFLOW", "backfill.yml"),
                ],
            );
            assert_eq!(
                code, status,
                "{step}: brew-backfill exited {status}, the step {code}: {stderr}"
            );
            let summary = std::fs::read_to_string(&summary).unwrap_or_default();
            assert!(
                summary
                    .lines()
                    .any(|l| l.starts_with(&format!("{prefix}: 7"))),
                "{step} (exit {status}): summary {summary:?}"
            );
            assert!(!summary.contains("progress:"), "{summary}");
            if prefix != "sign (dry run)" {
                // The counts still reach the log, and the flags the workflow passes arrive.
                assert!(stderr.contains(&format!("{prefix}: 7")), "{stderr}");
                assert!(summary.contains("--progress-interval 60"), "{summary}");
            }
            if job == "audit" {
                let verdicts = std::fs::read_to_string(d.join("audit.txt")).unwrap();
                assert_eq!(verdicts, "verdict\tsome-bottle\n");
                assert!(summary.contains("--plan plans/shard-1.jsonl --plan plans/shard-2.jsonl"));
            }
        }
    }
}

#[test]
fn workflow_signing_identity_is_the_running_workflow() {
    let wf = load("backfill.yml");
    let script = step_script(&wf, "plan", "Shards, signing identity and resumed run");
    let setup = |ref_: &str, workflow_ref: &str, shards: &str, version: &str| {
        let dir = temp_dir();
        let output = dir.path().join("output");
        // `::error::` annotations go to stdout, where the runner reads them.
        let (code, stdout, _) = run_step(
            dir.path(),
            &script,
            &[
                ("GITHUB_OUTPUT", output.to_str().unwrap()),
                ("GITHUB_REPOSITORY", "owner/homebrew-tap"),
                ("GITHUB_REF", ref_),
                ("WORKFLOW_REF", workflow_ref),
                ("SHARDS", shards),
                ("BREW_BACKFILL_VERSION", version),
                ("RESUME", ""),
            ],
        );
        (
            code,
            std::fs::read_to_string(output).unwrap_or_default(),
            stdout,
        )
    };
    let (code, out, err) = setup(
        "refs/heads/main",
        "owner/homebrew-tap/.github/workflows/legacy-backfill.yml@refs/heads/main",
        "4",
        "v0.1.0",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "shards=[1,2,3,4]\nworkflow=legacy-backfill.yml\n");
    // A branch with an `@` in it.
    let (code, out, err) = setup(
        "refs/heads/me@work",
        "owner/homebrew-tap/.github/workflows/backfill.yml@refs/heads/me@work",
        "1",
        "v0.1.0",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "shards=[1]\nworkflow=backfill.yml\n");
    // Refused: another repository's workflow, a ref that is not this run's, too many shards,
    // a version that is not a release tag.
    for (ref_, workflow_ref, shards, version, why) in [
        (
            "refs/heads/main",
            "other/repo/.github/workflows/backfill.yml@refs/heads/main",
            "4",
            "v0.1.0",
            "unexpected workflow_ref",
        ),
        (
            "refs/heads/main",
            "owner/homebrew-tap/.github/workflows/backfill.yml@refs/heads/dev",
            "4",
            "v0.1.0",
            "unexpected workflow_ref",
        ),
        (
            "refs/heads/main",
            "owner/homebrew-tap/.github/workflows/backfill.yml@refs/heads/main",
            "17",
            "v0.1.0",
            "shards must be 1 to 16",
        ),
        (
            "refs/heads/main",
            "owner/homebrew-tap/.github/workflows/backfill.yml@refs/heads/main",
            "4",
            "main",
            "must be a release tag",
        ),
    ] {
        let (code, out, err) = setup(ref_, workflow_ref, shards, version);
        assert_ne!(code, 0, "{workflow_ref} {shards} {version}");
        assert!(err.contains(why), "{err}");
        assert_eq!(out, "");
    }
    // Every command that names the signing workflow takes it from that step.
    let text = text("backfill.yml");
    assert_eq!(
        text.matches("--workflow \"$WORKFLOW\"").count(),
        4,
        "plan, sign, audit and policy"
    );
}

#[test]
fn workflow_formulae_has_no_default_and_tap_mode_refuses_homebrew_cores_index() {
    // Issue 11: the default mode is tap, so a default formula JSON of homebrew-core would plan
    // core's bottles under the tap's identity. The input is required, with no default, and the
    // plan step refuses formulae.brew.sh in tap mode before anything runs.
    let wf = load("backfill.yml");
    let formulae = &wf["on"]["workflow_dispatch"]["inputs"]["formulae"];
    assert_eq!(formulae["required"].as_bool(), Some(true), "{formulae:?}");
    assert!(formulae["default"].is_badvalue(), "{formulae:?}");
    assert_eq!(
        wf["on"]["workflow_dispatch"]["inputs"]["mode"]["default"].as_str(),
        Some("tap")
    );
    let script = step_script(&wf, "plan", "Plan");
    let core_index = "https://formulae.brew.sh/api/formula.json";
    for (mode, formulae, refused) in [
        ("tap", core_index, true),
        ("core-style", core_index, false),
        ("tap", "Formula/formula.json", false),
    ] {
        let dir = temp_dir();
        let d = dir.path();
        std::fs::create_dir_all(d.join("tool")).unwrap();
        // A stand-in brew-backfill that records that it ran.
        let fake = d.join("tool/brew-backfill");
        std::fs::write(
            &fake,
            "#!/usr/bin/env bash\necho ran > ran.txt\necho 'plan: 0 bottles' >&2\n",
        )
        .unwrap();
        Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
        let summary = d.join("summary.md");
        let (code, stdout, _) = run_step(
            d,
            &script,
            &[
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
                ("GITHUB_REPOSITORY", "owner/homebrew-tap"),
                ("PROGRESS", ""),
                ("SHARD", "1"),
                ("SHARDS", "1"),
                ("MODE", mode),
                ("FORMULAE", formulae),
                ("CORE", "Homebrew/homebrew-core"),
                ("WORKFLOW", "backfill.yml"),
            ],
        );
        let ran = d.join("ran.txt").exists();
        if refused {
            assert_eq!((code, ran), (1, false), "{mode} {formulae}: {stdout}");
            assert!(
                stdout.contains("::error::formulae.brew.sh lists homebrew-core's bottles"),
                "{stdout}"
            );
        } else {
            assert_eq!((code, ran), (0, true), "{mode} {formulae}: {stdout}");
        }
    }
}
