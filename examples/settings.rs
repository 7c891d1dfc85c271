//! How every example starts: `--help` lists its environment variables with their defaults; a
//! bad setting stops it with one line that names the variable, the value and what would be
//! right; its logs go to stderr, in plain text unless stderr is a terminal, and stdout carries
//! only what the program says (where it serves, what a command did).
//!
//! Each example's `main.rs` includes this file (`#[path = "../settings.rs"] mod settings;`), as
//! the examples' tests include their `app.rs`. Secrets are never echoed: a bad `SECRET_KEY` is
//! described by its length, and a URL's password is replaced by `***`.
#![allow(unreachable_pub, dead_code)]

use std::{fmt, future::Future, io::IsTerminal, net::SocketAddr, process::ExitCode, time::Duration};

use auth_core::strategies::jwt::JwtStrategy;
use tracing_subscriber::EnvFilter;

/// One environment variable an example reads, for `--help`.
pub struct Var {
    /// Its name, e.g. `BIND_ADDR`.
    pub name: &'static str,
    /// Its default, as `--help` shows it.
    pub default: &'static str,
    /// What it sets.
    pub about: &'static str,
}

/// An example: its name, what it is, its usage line and its variables.
pub struct Example {
    /// The binary's name, which prefixes every error line.
    pub name: &'static str,
    /// One sentence: what it serves.
    pub about: &'static str,
    /// The arguments after the name, `""` when it takes none.
    pub usage: &'static str,
    /// Every variable it reads.
    pub vars: &'static [Var],
}

/// `RUST_LOG`, which every example reads.
pub const RUST_LOG: Var =
    Var { name: "RUST_LOG", default: "info", about: "what to log, in tracing-subscriber's EnvFilter syntax" };

/// A setting that cannot be used: one line, naming the variable.
#[derive(Debug)]
pub struct SettingError(pub String);

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingError {}

/// Whatever stops an example; its `Display` is the one line printed.
pub type Error = Box<dyn std::error::Error>;

impl Example {
    /// The `--help` text.
    pub fn help(&self) -> String {
        let usage = if self.usage.is_empty() { String::new() } else { format!(" {}", self.usage) };
        let mut text = format!("{}: {}\n\nUsage: {}{usage}\n\nEnvironment:\n", self.name, self.about, self.name);
        let width = self.vars.iter().chain([&RUST_LOG]).map(|var| var.name.len()).max().unwrap_or(0);
        for var in self.vars.iter().chain([&RUST_LOG]) {
            text.push_str(&format!("  {:width$}  {} (default: {})\n", var.name, var.about, var.default));
        }
        text
    }

    /// Runs `main` with the command-line arguments, unless they ask for help: `-h` or `--help`
    /// prints [`help`](Self::help) and exits 0. An error is printed as `<name>: <error>` on
    /// stderr, with exit code 1.
    pub fn run<F, Fut>(&self, main: F) -> ExitCode
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<(), Error>>,
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|arg| arg == "-h" || arg == "--help") {
            print!("{}", self.help());
            return ExitCode::SUCCESS;
        }
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("{}: cannot start the async runtime: {error}", self.name);
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(main(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("{}: {error}", self.name);
                ExitCode::FAILURE
            }
        }
    }

    /// Refuses any argument: for the examples that take none.
    pub fn no_arguments(&self, args: &[String]) -> Result<(), SettingError> {
        match args.first() {
            None => Ok(()),
            Some(arg) => Err(SettingError(format!("unexpected argument `{arg}`: see `{} --help`", self.name))),
        }
    }
}

/// Logs to stderr at `RUST_LOG` (default `info`), with colours only when stderr is a terminal:
/// a file, a pipe or a container's log gets plain text.
pub fn init_logs() -> Result<(), SettingError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(filter) => EnvFilter::try_new(&filter).map_err(|error| {
            SettingError(format!("RUST_LOG={filter:?}: {error}; give e.g. RUST_LOG=info or RUST_LOG=auth_core=debug"))
        })?,
        Err(_) => EnvFilter::new(RUST_LOG.default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|error| SettingError(format!("cannot set up logging: {error}")))
}

/// The variable's value; `None` when it is unset. Set but empty, or not UTF-8, is an error:
/// unset it to get the default.
pub fn var(name: &str) -> Result<Option<String>, SettingError> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => {
            Err(SettingError(format!("{name} is set but empty: give a value, or unset it for the default")))
        }
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(SettingError(format!("{name} is not valid UTF-8"))),
    }
}

/// The variable's value, or `default`.
pub fn var_or(name: &str, default: &str) -> Result<String, SettingError> {
    Ok(var(name)?.unwrap_or_else(|| default.to_owned()))
}

/// `BIND_ADDR`, or `default`: an IP address and a port.
pub fn bind_addr(default: &str) -> Result<SocketAddr, SettingError> {
    let value = var_or("BIND_ADDR", default)?;
    value.parse().map_err(|_| {
        SettingError(format!(
            "BIND_ADDR={value:?} is not an IP address and port: give e.g. BIND_ADDR={default} (or port 0 for any free port)"
        ))
    })
}

/// Listens on `addr` (from `BIND_ADDR`), saying in one line why it cannot.
pub async fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener, SettingError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        let why = match error.kind() {
            std::io::ErrorKind::AddrInUse => "the address is in use (is the example already running?)".to_owned(),
            std::io::ErrorKind::AddrNotAvailable => "no interface of this machine has that address".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".to_owned(),
            _ => format!("cannot listen: {error}"),
        };
        SettingError(format!(
            "BIND_ADDR={addr}: {why}; give another address or port, e.g. BIND_ADDR={}:0 for any free port",
            addr.ip()
        ))
    })
}

/// A secret from `name`, at least [`JwtStrategy::MIN_HMAC_SECRET_LEN`] bytes; `None` when unset. Its value
/// is never printed, only its length.
pub fn secret(name: &str) -> Result<Option<Vec<u8>>, SettingError> {
    let Some(value) = var(name)? else { return Ok(None) };
    if value.len() < JwtStrategy::MIN_HMAC_SECRET_LEN {
        return Err(SettingError(format!(
            "{name} is {} bytes long: give at least {} random bytes, e.g. {name}=$(openssl rand -hex 32)",
            value.len(),
            JwtStrategy::MIN_HMAC_SECRET_LEN
        )));
    }
    Ok(Some(value.into_bytes()))
}

/// A random secret standing in for the unset `name`, with a warning saying what dies with it
/// (`consequence`). Call it once every setting is read, so that a bad one is the only line.
pub fn random_secret_with_warning(name: &str, consequence: &str) -> Vec<u8> {
    tracing::warn!("{name} is not set: using a random key; {consequence}");
    random_secret()
}

/// 32 random bytes from the operating system.
pub fn random_secret() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key
}

/// A duration in whole seconds from `name`, at least one second, or `default`.
pub fn seconds(name: &str, default: Duration) -> Result<Duration, SettingError> {
    let Some(value) = var(name)? else { return Ok(default) };
    match value.parse::<u64>() {
        Ok(0) => Err(SettingError(format!(
            "{name}=0: nothing would live that long; give a number of seconds of at least 1, e.g. {name}={}",
            default.as_secs()
        ))),
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => Err(SettingError(format!(
            "{name}={value:?} is not a number of seconds: give a whole number of at least 1, e.g. {name}={}",
            default.as_secs()
        ))),
    }
}

/// A count from `name` (a whole number, 0 included), `None` when unset.
pub fn count(name: &str, example: usize) -> Result<Option<usize>, SettingError> {
    let Some(value) = var(name)? else { return Ok(None) };
    value
        .parse()
        .map(Some)
        .map_err(|_| SettingError(format!("{name}={value:?} is not a whole number: give e.g. {name}={example}")))
}

/// `DATABASE_URL`, or `default`: a `sqlite:` or `postgres:` URL.
pub fn database_url(default: &str) -> Result<String, SettingError> {
    let url = var_or("DATABASE_URL", default)?;
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme {
        "sqlite" | "postgres" | "postgresql" => Ok(url),
        _ => Err(SettingError(format!(
            "DATABASE_URL={:?} is not a database URL this example supports: give sqlite://<file> \
             (e.g. {default}) or postgres://<user>:<password>@<host>/<database>",
            redact(&url)
        ))),
    }
}

/// An error about the value of `name`: `NAME=<value, its password hidden>: <error>`.
pub fn about(name: &str, value: &str, error: impl fmt::Display) -> SettingError {
    SettingError(format!("{name}={:?}: {error}", redact(value)))
}

/// `value` with the password of a URL (`scheme://user:password@host`) replaced by `***`.
pub fn redact(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else { return value.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => value.to_owned(),
    }
}
