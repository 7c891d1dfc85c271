//! A PostgreSQL server of the test's own, for tests that stop and restart it (the load-and-fault
//! test): a fresh cluster (`initdb`) in a scratch directory, on a free loopback port, with trust
//! authentication and without fsync. It never touches the machine's own server, so the test can
//! run beside others that use it.

use std::{
    io::Read,
    os::unix::{fs::MetadataExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{ScratchDir, free_port, skip};

/// A PostgreSQL server of the test's own; stopped when dropped.
pub struct OwnPostgres {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    bin: PathBuf,
    dir: ScratchDir,
    /// The `postgres` account's uid and gid when this process runs as root (PostgreSQL refuses
    /// to run as root).
    account: Option<(u32, u32)>,
    child: Option<Child>,
}

impl OwnPostgres {
    /// Makes a cluster and starts it, or `None` (a [`skip`]) when the PostgreSQL server is not
    /// installed (`scripts/services.sh` installs it). `PG_BINDIR` names the directory of
    /// `initdb` and `postgres`; by default the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
    ///
    /// # Panics
    ///
    /// When it is installed but the cluster cannot be made or started, with the reason; when it
    /// is not installed and `REQUIRE_SERVICES` is set.
    pub fn start() -> Option<Self> {
        let bin = bin_dir()?;
        let dir = ScratchDir::new("postgres");
        let account = if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) == 0 {
            let account = postgres_account().expect("running as root, and no `postgres` account in /etc/passwd");
            std::os::unix::fs::chown(&dir.0, Some(account.0), Some(account.1)).expect("chown the scratch directory");
            Some(account)
        } else {
            None
        };
        let mut server = Self { port: free_port(), bin, dir, account, child: None };
        let data = server.data();
        let output = server
            .command("initdb")
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
        if let Err(error) = server.restart() {
            panic!("PostgreSQL did not start: {error}");
        }
        Some(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), and waits until it accepts queries: the error, with the end of
    /// the server's log, when it exits or is not ready within 30 s.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        let log_path = self.dir.0.join("postgres.log");
        let log = std::fs::File::create(&log_path)?;
        if let Some((uid, gid)) = self.account {
            std::os::unix::fs::chown(&log_path, Some(uid), Some(gid))?;
        }
        let mut child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-k"])
            .arg(&self.dir.0)
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self
                .command("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?
                .success();
            if ready {
                break;
            }
            if child.try_wait()?.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait()?;
                let mut log = String::new();
                std::fs::File::open(&log_path)?.read_to_string(&mut log)?;
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(std::io::Error::other(format!(
                    "postgres on port {} ({status}): {}",
                    self.port,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server with a fast shutdown (open connections are cut, as `pg_ctl restart`
    /// does), and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let stopped =
                Command::new("kill").args(["-INT", &child.id().to_string()]).status().is_ok_and(|s| s.success());
            let deadline = Instant::now() + Duration::from_secs(30);
            while stopped && Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// One of the server's programs, as the `postgres` account when we are root.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.account {
            command.uid(uid).gid(gid);
        }
        command
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory of `initdb` and `postgres`, or a [`skip`] when there is none.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|versions| {
        versions
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .max()
            .map(|version| PathBuf::from(format!("/usr/lib/postgresql/{version}/bin")))
    });
    if let Some(dir) = newest.filter(|dir| dir.join("postgres").is_file()) {
        return Some(dir);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    });
    on_path.or_else(|| skip("the PostgreSQL server (initdb, postgres) is not installed"))
}

/// The uid and gid of the `postgres` account.
fn postgres_account() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string(Path::new("/etc/passwd")).ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}
