//! A real TUF repository on 127.0.0.1, for brew-verify's trusted-root refresh.
//!
//! brew-verify keeps its Sigstore `trusted_root.json` current through TUF (sigstore-tuf's
//! `Updater`). Testing that client against metadata it made itself would prove little, so the
//! repository is written by python-tuf, an independent implementation, through
//! `tests/kit/tuf/repo.py` in the tests' venv (`tests/scripts/python-venv.sh`). Every state the
//! script writes is checked by python-tuf's own client before it is handed over: good states
//! must refresh, attack states must be refused for their reason.
//!
//! [`TufRepo`] owns the script's state (keys, the good repository, version counters), the
//! directory of each state it produced ([`TufState`]) and a loopback HTTP server that serves one
//! of them at a time, counting requests per path (a test can assert that a run made none) and
//! able to go unreachable (connection refused) and come back on the same port.
//!
//! The layout is that of Sigstore's repositories, consistent snapshots: `N.root.json`,
//! `root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json` and
//! `targets/<sha256-hex>.trusted_root.json`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{self, Reply, Request, Service};

/// The generator, next to this file.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/kit/tuf/repo.py");

/// The venv's Python with python-tuf (`<workspace>/.venv/bin/python`, or the interpreter
/// `BREW_VERIFY_PYTHON_TUF` names), or `None` when it is not there. Callers decide whether
/// that skips a test or, under CI, fails it.
pub fn venv_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("BREW_VERIFY_PYTHON_TUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(".venv/bin/python")
        });
    candidate.is_file().then_some(candidate)
}

/// A top-level TUF role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TufRole {
    /// `root`: the keys of every role; rotating its key is a root rotation.
    Root,
    /// `timestamp`: pins the newest snapshot; short-lived.
    Timestamp,
    /// `snapshot`: pins the versions of the targets metadata.
    Snapshot,
    /// `targets`: lists `trusted_root.json` with its length and hash.
    Targets,
}

impl TufRole {
    fn name(self) -> &'static str {
        match self {
            TufRole::Root => "root",
            TufRole::Timestamp => "timestamp",
            TufRole::Snapshot => "snapshot",
            TufRole::Targets => "targets",
        }
    }
}

/// An attack on the metadata: a hostile state that leaves the good repository as it was (the
/// next good state continues from it, with versions above any the attack used).
#[derive(Debug, Clone)]
pub enum TufAttack {
    /// The role's metadata re-signed with a new version and an expiry a day in the past (a
    /// frozen mirror replaying what has since expired).
    Expired(TufRole),
    /// The previous good `timestamp.json`, byte for byte: a version rollback.
    ReplayTimestamp,
    /// A freshly signed timestamp pinning an older snapshot version (a rollback of the
    /// snapshot; needs the timestamp key).
    ReplaySnapshot,
    /// Targets metadata for this new `trusted_root.json`, but the served file has one byte
    /// changed (same length, so the hash check is what refuses it).
    TargetHashMismatch(String),
    /// Root vN+1 whose root role wants two signatures, carrying one.
    RootBelowThreshold,
}

/// One step of the repository's life.
#[derive(Debug, Clone)]
pub enum TufStep {
    /// A new `trusted_root.json` target (new targets, snapshot and timestamp versions).
    Publish(String),
    /// New keys for these roles; with [`TufRole::Root`] in it, root vN+1 is signed by the old
    /// and the new root key, as a client walking the root chain requires. Every online role is
    /// re-signed with a new version.
    Rotate(Vec<TufRole>),
    /// New expiry times (in the future: an expired role is [`TufAttack::Expired`]).
    SetExpiry(Vec<(TufRole, DateTime<Utc>)>),
    /// A hostile state.
    Attack(TufAttack),
}

/// A repository state the generator wrote (one directory), and what python-tuf's client made
/// of it.
#[derive(Debug, Clone, Deserialize)]
pub struct TufState {
    /// The complete repository directory.
    pub dir: PathBuf,
    /// The directory's label (`init`, `publish`, `attack-expired-timestamp`, …).
    pub label: String,
    /// For an attack state, the attack (`expired`, `replay_timestamp`, …).
    #[serde(default)]
    pub attack: Option<String>,
    /// For a good state, the root version.
    #[serde(default)]
    pub root_version: Option<u64>,
    /// For a good state, the timestamp version.
    #[serde(default)]
    pub timestamp_version: Option<u64>,
    /// For a good state, the snapshot version.
    #[serde(default)]
    pub snapshot_version: Option<u64>,
    /// For a good state, the targets version.
    #[serde(default)]
    pub targets_version: Option<u64>,
    /// For a good state, the SHA-256 (hex) of the `trusted_root.json` it serves.
    #[serde(default)]
    pub target_sha256: Option<String>,
    /// python-tuf's verdict: `ok`, or the exception class it refused the state with.
    pub python_tuf: String,
    /// python-tuf's message, for an attack state.
    #[serde(default)]
    pub python_tuf_error: Option<String>,
}

/// What python-tuf's client (`tuf.ngclient.Updater`) made of the served repository, from
/// [`TufRepo::python_tuf_check`].
#[derive(Debug, Clone, Deserialize)]
pub struct PythonTufCheck {
    /// The refresh and the download of `trusted_root.json` succeeded.
    pub ok: bool,
    /// The exception class when it did not (`ExpiredMetadataError`, …).
    pub error_type: Option<String>,
    /// Its message.
    pub error: Option<String>,
    /// The root version it ended on.
    #[serde(default)]
    pub root_version: Option<u64>,
    /// The timestamp version it ended on.
    #[serde(default)]
    pub timestamp_version: Option<u64>,
    /// SHA-256 (hex) of the `trusted_root.json` it fetched.
    #[serde(default)]
    pub target_sha256: Option<String>,
}

/// The directory the server serves and its request log, shared with the handler.
#[derive(Default)]
struct Served {
    dir: Mutex<PathBuf>,
    log: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not take the server down with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct FileService(Arc<Served>);

impl Service for FileService {
    fn handle(&self, request: &Request) -> Reply {
        lock(&self.0.log).push(request.path.clone());
        if request.method != Method::GET {
            return Reply::not_found(request);
        }
        let relative = request.path.trim_start_matches('/');
        let safe = !relative.is_empty()
            && Path::new(relative)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        let file = lock(&self.0.dir).join(relative);
        match std::fs::read(&file) {
            Ok(body) if safe => Reply::bytes(StatusCode::OK, "application/json", body),
            _ => Reply::not_found(request),
        }
    }
}

/// A TUF repository written by python-tuf and served on loopback. Lives (servers, files) until
/// drop.
pub struct TufRepo {
    python: PathBuf,
    dir: tempfile::TempDir,
    states: Vec<TufState>,
    inputs: usize,
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    served: Arc<Served>,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
    counter: Arc<AtomicU64>,
}

impl std::fmt::Debug for TufRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TufRepo")
            .field("url", &self.url())
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TufRepo {
    /// A new repository, root v1, whose one target is `trusted_root` (a `trusted_root.json`,
    /// e.g. [`crate::SigstoreStack::trusted_root_json`]), served from now on. Root and targets
    /// keys are ECDSA P-256 (as Sigstore's), snapshot and timestamp keys Ed25519, so clients
    /// meet both schemes. Panics if python-tuf refuses its own repository.
    pub fn start(python: &Path, trusted_root: &str) -> TufRepo {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("testkit-tuf")
            .enable_io()
            .enable_time()
            .build()
            .expect("a runtime for the kit's TUF server");
        let listener = http::bind().expect("a loopback port for the TUF repository");
        let addr = listener.local_addr().expect("the TUF server's address");
        let served = Arc::new(Served::default());
        let counter = Arc::new(AtomicU64::new(0));
        let accept = http::serve(
            &runtime,
            listener,
            Arc::new(FileService(Arc::clone(&served))),
            Arc::clone(&counter),
        )
        .expect("serving the TUF repository");
        let mut repo = TufRepo {
            python: python.to_owned(),
            dir: tempfile::tempdir().expect("a temp dir for the TUF repository"),
            states: Vec::new(),
            inputs: 0,
            runtime: Some(runtime),
            addr,
            served,
            accept: Mutex::new(Some(accept)),
            counter,
        };
        let input = repo.input(trusted_root);
        repo.run(vec![json!({
            "op": "init",
            "trusted_root": input,
            "key_types": {"root": "ecdsa", "targets": "ecdsa", "snapshot": "ed25519", "timestamp": "ed25519"},
        })]);
        repo
    }

    /// Base URL of the repository (`http://127.0.0.1:PORT`), for
    /// `HOMEBREW_BREW_VERIFY_TUF_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Root v1, the anchor a client starts from (`HOMEBREW_BREW_VERIFY_TUF_ROOT`). Never changes:
    /// the file is in the first state's directory.
    pub fn root_v1(&self) -> PathBuf {
        self.states[0].dir.join("1.root.json")
    }

    /// Every state written so far, oldest first.
    pub fn states(&self) -> &[TufState] {
        &self.states
    }

    /// The newest good state (the one a client should end on after refusing an attack).
    pub fn last_good(&self) -> &TufState {
        self.states
            .iter()
            .rev()
            .find(|s| s.attack.is_none())
            .expect("init is a good state")
    }

    /// Run `steps` (one generator run), serve the last state written, and return the new states.
    pub fn apply(&mut self, steps: &[TufStep]) -> Vec<TufState> {
        let plan = steps.iter().map(|step| self.plan_step(step)).collect();
        self.run(plan)
    }

    /// [`Self::apply`] of [`TufStep::Publish`].
    pub fn publish(&mut self, trusted_root: &str) -> TufState {
        self.one(TufStep::Publish(trusted_root.to_owned()))
    }

    /// [`Self::apply`] of [`TufStep::Rotate`].
    pub fn rotate(&mut self, roles: &[TufRole]) -> TufState {
        self.one(TufStep::Rotate(roles.to_vec()))
    }

    /// [`Self::apply`] of [`TufStep::Attack`].
    pub fn attack(&mut self, attack: TufAttack) -> TufState {
        self.one(TufStep::Attack(attack))
    }

    fn one(&mut self, step: TufStep) -> TufState {
        self.apply(&[step])
            .pop()
            .expect("the generator writes a state per step")
    }

    /// Serve `state` from now on (e.g. the good state again after an attack).
    pub fn serve(&self, state: &TufState) {
        *lock(&self.served.dir) = state.dir.clone();
    }

    /// Every path requested so far, in order (including 404s).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.served.log).clone()
    }

    /// How many requests the repository has answered so far.
    pub fn request_count(&self) -> usize {
        lock(&self.served.log).len()
    }

    /// Stop listening (`false`: connections are refused, as for a repository that is down) or
    /// listen again on the same port (`true`). While the port is closed another server of the
    /// test run could be given it; tests that come back (`true`) should do so soon.
    pub fn set_reachable(&self, reachable: bool) {
        let mut accept = lock(&self.accept);
        if !reachable {
            if let Some(task) = accept.take() {
                task.abort();
            }
            // The abort takes effect on the runtime; wait until the port refuses.
            for _ in 0..200 {
                if std::net::TcpStream::connect(self.addr).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!(
                "the TUF repository still accepts connections on {}",
                self.addr
            );
        }
        if accept.is_some() {
            return;
        }
        let listener = (0..200)
            .find_map(|_| {
                std::net::TcpListener::bind(self.addr).ok().or_else(|| {
                    std::thread::sleep(Duration::from_millis(10));
                    None
                })
            })
            .expect("rebinding the TUF repository's port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        *accept = Some(
            http::serve(
                runtime,
                listener,
                Arc::new(FileService(Arc::clone(&self.served))),
                Arc::clone(&self.counter),
            )
            .expect("serving the TUF repository again"),
        );
    }

    /// Run python-tuf's client against the served repository over HTTP, with its metadata cache
    /// in `cache` (warm from an earlier call, or empty: then `bootstrap` or root v1 is the
    /// anchor).
    pub fn python_tuf_check(&self, cache: &Path, bootstrap: Option<&Path>) -> PythonTufCheck {
        let mut command = Command::new(&self.python);
        command.arg(SCRIPT).arg("check").arg(self.url()).arg(cache);
        let fresh = !cache.join("root.json").exists();
        if let Some(root) = bootstrap
            .map(Path::to_owned)
            .or_else(|| fresh.then(|| self.root_v1()))
        {
            command.arg("--bootstrap").arg(root);
        }
        let output = command
            .output()
            .expect("running tests/kit/tuf/repo.py check");
        assert!(
            output.status.success(),
            "repo.py check failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("repo.py check prints one JSON object")
    }

    fn input(&mut self, trusted_root: &str) -> String {
        let inputs = self.dir.path().join("inputs");
        std::fs::create_dir_all(&inputs).expect("inputs dir");
        self.inputs += 1;
        let path = inputs.join(format!("{}.trusted_root.json", self.inputs));
        std::fs::write(&path, trusted_root).expect("writing a trusted root for the generator");
        path.to_str().expect("temp paths are UTF-8").to_owned()
    }

    fn plan_step(&mut self, step: &TufStep) -> Value {
        let names = |roles: &[TufRole]| roles.iter().map(|r| r.name()).collect::<Vec<_>>();
        match step {
            TufStep::Publish(root) => json!({"op": "publish", "trusted_root": self.input(root)}),
            TufStep::Rotate(roles) => json!({"op": "rotate", "roles": names(roles)}),
            TufStep::SetExpiry(times) => {
                let expires: serde_json::Map<String, Value> = times
                    .iter()
                    .map(|(role, t)| (role.name().to_owned(), json!(t.to_rfc3339())))
                    .collect();
                json!({"op": "set_expiry", "expires": expires})
            }
            TufStep::Attack(attack) => match attack {
                TufAttack::Expired(role) => {
                    json!({"op": "attack", "kind": "expired", "role": role.name()})
                }
                TufAttack::ReplayTimestamp => json!({"op": "attack", "kind": "replay_timestamp"}),
                TufAttack::ReplaySnapshot => json!({"op": "attack", "kind": "replay_snapshot"}),
                TufAttack::TargetHashMismatch(root) => json!({
                    "op": "attack",
                    "kind": "target_hash_mismatch",
                    "trusted_root": self.input(root),
                }),
                TufAttack::RootBelowThreshold => {
                    json!({"op": "attack", "kind": "root_below_threshold"})
                }
            },
        }
    }

    fn run(&mut self, steps: Vec<Value>) -> Vec<TufState> {
        let mut child = Command::new(&self.python)
            .arg(SCRIPT)
            .arg("apply")
            .arg(self.dir.path().join("state"))
            .arg(self.dir.path().join("out"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running tests/kit/tuf/repo.py (python-tuf)");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(json!({"steps": steps}).to_string().as_bytes())
            .expect("writing the plan to repo.py");
        let output = child.wait_with_output().expect("waiting for repo.py");
        assert!(
            output.status.success(),
            "repo.py apply failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let new: Vec<TufState> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("repo.py prints one JSON state a line"))
            .collect();
        assert_eq!(new.len(), steps.len(), "one state per step");
        if let Some(last) = new.last() {
            self.serve(last);
        }
        self.states.extend(new.iter().cloned());
        new
    }
}

impl Drop for TufRepo {
    fn drop(&mut self) {
        // Does not block, so dropping a repository inside an async test is fine too.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
