//! panva's oidc-provider as the tests' identity provider: `tests/oidc/idp.mjs`, run by node on a
//! free loopback port. Its npm packages are installed on first use (`npm ci`), under a file lock so
//! that concurrent test binaries install once. Without node or npm the tests fail, saying so.

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// How long the provider may take to start (node, the package, key generation).
const START_TIMEOUT: Duration = Duration::from_secs(30);

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Runs `npm ci` in `tests/oidc` unless `oidc-provider` is installed. Panics with the reason if
/// it cannot: CI installs node, and a test that silently skipped would prove nothing.
pub fn ensure_installed() {
    let dir = idp_dir();
    let installed = || dir.join("node_modules/oidc-provider/package.json").exists();
    if installed() {
        return;
    }
    let lock = File::create(dir.join(".npm-install.lock")).expect("create tests/oidc/.npm-install.lock");
    lock.lock().expect("lock tests/oidc/.npm-install.lock");
    if installed() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .unwrap_or_else(|e| panic!("the OIDC tests need node and npm (node >= 20) to run oidc-provider: {e}"));
    assert!(status.success(), "npm ci in {} failed ({status})", dir.display());
}

/// A running test identity provider.
pub struct TestIdp {
    /// Its port on 127.0.0.1; kept across restarts, so the issuer stays the same.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
    /// The current `kid` of each algorithm's key.
    pub kids: HashMap<String, String>,
    algs: String,
    jwks_max_age: Option<u64>,
    child: Option<Child>,
    /// The provider exits when this closes: when the test process ends, however it ends.
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl TestIdp {
    /// Starts one with an RS256 key.
    pub fn start() -> Self {
        Self::start_with(&["RS256"], None)
    }

    /// Starts one with a key for each algorithm (RS256 always), serving its key set with
    /// `Cache-Control: max-age=<jwks_max_age>` when given.
    pub fn start_with(algs: &[&str], jwks_max_age: Option<u64>) -> Self {
        ensure_installed();
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let mut idp = Self {
            port,
            issuer: format!("http://127.0.0.1:{port}"),
            kids: HashMap::new(),
            algs: algs.join(","),
            jwks_max_age,
            child: None,
            stdin: None,
            log: std::env::temp_dir().join(format!("auth-core-test-idp-{port}.log")),
        };
        idp.spawn();
        idp
    }

    fn spawn(&mut self) {
        let log = File::create(&self.log).unwrap();
        let mut command = Command::new("node");
        command.arg("idp.mjs").args(["--port", &self.port.to_string(), "--algs", &self.algs]);
        if let Some(max_age) = self.jwks_max_age {
            command.args(["--jwks-max-age", &max_age.to_string()]);
        }
        let mut child = command
            .current_dir(idp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("the OIDC tests need node (>= 20) to run oidc-provider: {e}"));
        self.stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = sender.send(line);
            // Drained until the provider exits: it logs notices to stdout, and a closed pipe
            // would kill it.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        self.child = Some(child);
        let line = receiver.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let Some(ready) = line.strip_prefix("ready ") else {
            self.stop();
            let mut log = String::new();
            let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut log));
            panic!("oidc-provider did not start on port {}:\n{log}", self.port);
        };
        let ready: serde_json::Value = serde_json::from_str(ready).unwrap();
        assert_eq!(ready["issuer"], self.issuer.as_str());
        self.kids = ready["kids"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(alg, kid)| (alg.clone(), kid.as_str().unwrap().to_owned()))
            .collect();
    }

    /// Stops it and starts it again on the same port with fresh keys: a key rotation, the old
    /// keys gone. Its tokens and its JWKS fetch count start over.
    pub fn restart_with_new_keys(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops it; its port refuses connections until it is restarted.
    pub fn stop(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The number of `GET /jwks` it has served since it started.
    pub fn jwks_fetches(&self) -> u64 {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).unwrap();
        write!(stream, "GET /test/jwks-fetches HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{response}"));
        body["count"].as_u64().unwrap()
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}
