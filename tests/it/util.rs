//! Shared helpers for the integration tests: the built binaries and temp dirs.

use std::path::PathBuf;
use std::process::Command;

/// A command for one of the workspace's binaries, built (once per test run) so that a test
/// never runs a stale binary: `cargo test -p workspace-tests` alone does not rebuild them.
pub(crate) fn workspace_bin(name: &str) -> Command {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .to_path_buf();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", name, "--bin", name]);
        if dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
        built.push(name.to_owned());
    }
    let mut cmd = Command::new(dir.join(name));
    no_tuf(&mut cmd);
    cmd
}

/// Point both TUF repositories at a closed loopback port, so that a run refreshes no trusted
/// root off this machine (tests use no network but loopback) and falls back to the cached or
/// embedded roots at once. Commands that clear the environment call it again afterwards;
/// tests about TUF set their own repository.
pub(crate) fn no_tuf(cmd: &mut Command) -> &mut Command {
    cmd.env("HOMEBREW_BREW_VERIFY_TUF_URL", "http://127.0.0.1:9/")
        .env("HOMEBREW_BREW_VERIFY_GITHUB_TUF_URL", "http://127.0.0.1:9/")
}

/// A fresh registry (Debian's docker-registry behind the kit's proxy), or `None` after saying
/// so when it is not installed and this is not CI: under CI a missing registry is a failure,
/// never a silently skipped test.
pub(crate) fn registry() -> Option<testkit::registry::Registry> {
    use testkit::registry::Registry;
    if !Registry::is_installed() {
        assert!(
            std::env::var_os("CI").is_none(),
            "docker-registry is not installed (apt-get install docker-registry); CI must run the \
             registry tests"
        );
        eprintln!("skipping: docker-registry is not installed (apt-get install docker-registry)");
        return None;
    }
    Some(Registry::start())
}

/// A fresh temporary directory that lives as long as the returned guard.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Write `text` to `dir/name` and return the path.
pub(crate) fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// A static file server on loopback (a bottle mirror): `GET /<path>` serves `<root>/<path>`
/// (percent-decoded), 404 otherwise. One thread per connection, `Connection: close`; it stops
/// when the returned guard is dropped (the listener thread ends on its next accept).
pub(crate) struct StaticServer {
    pub(crate) url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(crate) requests: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
}

impl StaticServer {
    pub(crate) fn start(root: PathBuf) -> StaticServer {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let root = root.clone();
                let requests = requests2.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let mut has_auth = false;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        has_auth |= h.to_ascii_lowercase().starts_with("authorization:");
                    }
                    requests.lock().expect("log").push((path.clone(), has_auth));
                    let decoded = percent_decode(path.trim_start_matches('/'));
                    let file = root.join(decoded);
                    let reply = match std::fs::read(&file) {
                        Ok(body) if file.starts_with(&root) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend(body);
                            r
                        }
                        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec(),
                    };
                    let _ = stream.write_all(&reply);
                });
            }
        });
        StaticServer {
            url,
            stop,
            requests,
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a [`HostileServer`] does with a request whose path starts with a given prefix.
#[derive(Clone, Debug)]
pub(crate) enum Hostile {
    /// Answer with this status, extra headers and body (`Content-Length` set). `{self}` in a
    /// header value or the body is replaced by the server's own URL.
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// `200` with no `Content-Length`, then zeros until the client hangs up (a body that never
    /// ends).
    Endless,
    /// `200` announcing this `Content-Length`, then zeros until the client hangs up.
    Announce(u64),
    /// Accept, read the request, never answer (a blackholed service).
    Blackhole,
    /// Close the connection without answering (a reset).
    Hangup,
}

/// A loopback server that plays a hostile or broken party: it records every request head (so a
/// test can prove that no secret reached it) and answers by path prefix, first match wins; no
/// match is a 404. Body bytes it managed to write are counted.
pub(crate) struct HostileServer {
    pub(crate) url: String,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub(crate) bytes_written: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl HostileServer {
    pub(crate) fn start(routes: Vec<(&'static str, Hostile)>) -> HostileServer {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let bytes_written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (heads2, written2, url2) = (heads.clone(), bytes_written.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (routes, heads, written, url) = (
                    routes.clone(),
                    heads2.clone(),
                    written2.clone(),
                    url2.clone(),
                );
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    heads.lock().unwrap_or_else(|e| e.into_inner()).push(head);
                    let action = routes
                        .iter()
                        .find(|(prefix, _)| path.starts_with(prefix))
                        .map(|(_, a)| a.clone())
                        .unwrap_or(Hostile::Reply(404, Vec::new(), Vec::new()));
                    let zeros = vec![0u8; 64 * 1024];
                    let stream_zeros = |stream: &mut std::net::TcpStream| {
                        while stream.write_all(&zeros).is_ok() {
                            written.fetch_add(zeros.len() as u64, Ordering::Relaxed);
                        }
                    };
                    match action {
                        Hostile::Reply(status, headers, body) => {
                            let body = String::from_utf8_lossy(&body).replace("{self}", &url);
                            let mut reply = format!(
                                "HTTP/1.1 {status} Hostile\r\nContent-Length: {}\r\nConnection: close\r\n",
                                body.len()
                            );
                            for (name, value) in headers {
                                reply.push_str(&format!(
                                    "{name}: {}\r\n",
                                    value.replace("{self}", &url)
                                ));
                            }
                            reply.push_str("\r\n");
                            reply.push_str(&body);
                            let _ = stream.write_all(reply.as_bytes());
                        }
                        Hostile::Endless => {
                            let _ = stream.write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                            );
                            stream_zeros(&mut stream);
                        }
                        Hostile::Announce(length) => {
                            let _ = stream.write_all(
                                format!(
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                                )
                                .as_bytes(),
                            );
                            stream_zeros(&mut stream);
                        }
                        Hostile::Blackhole => {
                            std::thread::sleep(std::time::Duration::from_secs(120));
                        }
                        Hostile::Hangup => {}
                    }
                });
            }
        });
        HostileServer {
            url,
            heads,
            bytes_written,
        }
    }

    /// Every request head received so far (request line and headers).
    pub(crate) fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `host:port`.
    pub(crate) fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

/// A loopback port where nothing listens (bound a moment ago, then released).
pub(crate) fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A key of the test's own that signs a fixture formula API the way Homebrew signs
/// `formula.jws.json` (RSA-PSS SHA-512, `alg: PS512`, `b64: false`, `kid: homebrew-1`).
pub(crate) struct ApiSigner {
    pair: aws_lc_rs::signature::RsaKeyPair,
}

impl ApiSigner {
    pub(crate) fn new() -> Self {
        Self {
            pair: aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .expect("RSA key"),
        }
    }

    /// The public key, PEM (for `--formula-api-key`).
    pub(crate) fn public_pem(&self) -> String {
        use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
        use aws_lc_rs::signature::KeyPair as _;
        use base64::Engine as _;
        let der: PublicKeyX509Der<'_> = self.pair.public_key().as_der().expect("SPKI");
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        )
    }

    /// `formula.jws.json` for `payload` (the JSON text of the formula array).
    pub(crate) fn sign(&self, payload: &str) -> String {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let protected = b64(br#"{"alg":"PS512","b64":false,"crit":["b64"]}"#);
        let input = format!("{protected}.{payload}");
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PSS_SHA512,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        serde_json::json!({
            "payload": payload,
            "signatures": [{"protected": protected, "header": {"kid": "homebrew-1"}, "signature": b64(&sig)}],
        })
        .to_string()
    }
}
