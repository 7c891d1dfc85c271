//! Support shared by the workspace-level integration tests; the tests live in the `[[test]]`
//! targets beside this file.

pub mod idp;
pub mod own_postgres;

pub use own_postgres::OwnPostgres;

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Whether every service-backed test must run: `REQUIRE_SERVICES` set to anything but `""` or
/// `0`. `.ci/run` sets it, so that in CI a missing server is a failure, never a skipped test
/// reported `ok`.
pub fn services_required() -> bool {
    std::env::var_os("REQUIRE_SERVICES").is_some_and(|value| !value.is_empty() && value != "0")
}

/// Skips the running test for `reason` (`DATABASE_URL_POSTGRES is not set`): `None`, with a
/// notice on stderr; under [`services_required`] a panic that names the test and the reason.
pub fn skip<T>(reason: &str) -> Option<T> {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    assert!(!services_required(), "{test}: {reason}, and REQUIRE_SERVICES is set (see scripts/services.sh)");
    eprintln!("skipping {test}: {reason} (see scripts/services.sh)");
    None
}

/// The URL in the environment variable `var` (`REDIS_URL`, `DATABASE_URL_POSTGRES`), or a
/// [`skip`] when it is unset or empty.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => skip(&format!("{var} is not set")),
    }
}

/// A redis-server of the test's own, on a free loopback port, without persistence; killed when
/// dropped. Outage tests stop and restart it.
pub struct OwnRedis {
    /// The port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one, or `None` (a [`skip`]) when redis-server is not installed
    /// (`scripts/services.sh` installs it).
    ///
    /// # Panics
    ///
    /// When redis-server is installed but does not start, with the reason; when it is not
    /// installed and [`services_required`].
    pub fn start() -> Option<Self> {
        let port = free_port();
        let mut server = Self { port, child: None };
        match server.restart() {
            Ok(()) => Some(server),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => skip("redis-server is not installed"),
            Err(error) => panic!("redis-server did not start: {error}"),
        }
    }

    /// Starts the server again on the same port, and waits until it accepts connections. The
    /// spawn's error (`NotFound` when the binary is absent), or an error with the server's last
    /// line of output when it exits or does not listen within 10 s.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let port = self.port.to_string();
        let args = ["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        let mut child =
            Command::new("redis-server").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            let exited = child.try_wait()?;
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait()?;
                let mut output = String::new();
                let _ = std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut output);
                let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut output);
                let silent = if exited.is_some() { "it exited before listening" } else { "no listener within 10 s" };
                return Err(std::io::Error::other(format!(
                    "redis-server on port {port} ({status}): {}",
                    output.trim_end().lines().last().unwrap_or(silent)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its later log lines go nowhere (redis-server ignores SIGPIPE).
        drop((child.stdout.take(), child.stderr.take()));
        self.child = Some(child);
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
