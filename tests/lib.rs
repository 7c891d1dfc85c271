//! Support shared by the workspace-level integration tests; the tests live in the `[[test]]`
//! targets beside this file.

pub mod idp;

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A redis-server of the test's own, on a free loopback port, without persistence; killed when
/// dropped. Outage tests stop and restart it.
pub struct OwnRedis {
    /// The port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one, or `None` when redis-server is not installed (`scripts/services.sh` installs it).
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?.local_addr().ok()?.port();
        let mut server = Self { port, child: None };
        server.restart().ok()?;
        Some(server)
    }

    /// Starts the server again on the same port, and waits until it accepts connections.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let port = self.port.to_string();
        let args = ["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        self.child = Some(Command::new("redis-server").args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other("redis-server did not start"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Stops the server.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Python of the users tests' venv (fastapi-users 15, uvicorn, aiosmtpd), made on first use
/// by `tests/users/python.sh`. Panics, with the script's output, when it cannot be made: these
/// tests need Python and fail loudly without it.
pub fn users_python() -> std::path::PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/users/python.sh");
    let output = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().expect("run tests/users/python.sh");
    assert!(
        output.status.success(),
        "tests/users/python.sh failed: these tests need python3 with venv and PyPI (see the script)"
    );
    std::path::PathBuf::from(String::from_utf8(output.stdout).expect("a UTF-8 path").trim())
}

/// A port that was free a moment ago, on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A directory of the test's own under the system's temp dir, removed when dropped.
pub struct ScratchDir(pub std::path::PathBuf);

impl ScratchDir {
    /// A new, empty directory named after `label`.
    pub fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("auth-core-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        Self(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real SMTP server (aiosmtpd, `tests/users/smtp_sink.py`) on a free loopback port, which
/// writes every message it accepts to a file; stopped when dropped.
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    dir: ScratchDir,
    _child: ChildGuard,
}

impl SmtpSink {
    /// Starts one with the users tests' Python.
    pub fn start() -> Self {
        use std::io::BufRead;
        let python = users_python();
        let dir = ScratchDir::new("smtp");
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/users/smtp_sink.py"))
            .arg(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("the sink's stdout");
        let child = ChildGuard(child);
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("read the sink's port");
        let port =
            line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("`ready <port>` from the sink");
        Self { port, dir, _child: child }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<_> = std::fs::read_dir(&self.dir.0)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        paths.sort();
        paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
    }

    /// Waits (up to 10 s) until at least `count` messages arrived, and returns them all.
    pub fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(Instant::now() < deadline, "expected {count} mails, got {}", messages.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
