//! Every example starts like a real program: `--help` lists its environment variables with
//! their defaults and exits 0; a bad setting stops it with one line on stderr that names the
//! variable and the value (never a secret's), and a non-zero exit; its logs are plain text when
//! they do not go to a terminal. The examples' binaries themselves, as processes.

use std::{
    io::{BufRead, BufReader},
    net::{Ipv4Addr, TcpListener},
    path::PathBuf,
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use auth_tests::ScratchDir;

const EXAMPLES: [&str; 6] = ["oauth2_scopes", "backends", "resource_server", "users", "chat", "notes"];

/// Every variable an example reads from the environment, removed before each run so that the
/// test's own environment cannot change an answer.
const SETTINGS: [&str; 24] = [
    "BIND_ADDR",
    "SECRET_KEY",
    "REFRESH_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "OIDC_ISSUER",
    "AUDIENCE",
    "TOKEN_LIFETIME",
    "SMTP_URL",
    "PUBLIC_URL",
    "MAIL_FROM",
    "REDIS_PREFIX",
    "USERS_TABLE",
    "TOKENS_TABLE",
    "REQUIRE_VERIFICATION",
    "TRUSTED_PROXIES",
    "SUPERUSER_PASSWORD",
    "OAUTH_ISSUER",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "OAUTH_ASSOCIATE_BY_EMAIL",
    "RUST_LOG",
    "NO_COLOR",
    "FORCE_COLOR",
];

/// The example's executable: in `EXAMPLES_DIR` when set, else built by `cargo test --workspace`
/// next to this test's own directory, or built here.
fn executable(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("EXAMPLES_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let example = profile_dir.join("examples").join(name);
    if !example.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "auth-examples", "--all-features", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example {name} failed");
    }
    example
}

/// `name` with `env` (and nothing else of the settings), in a directory of its own.
fn command(name: &str, args: &[&str], env: &[(&str, &str)], dir: &ScratchDir) -> Command {
    let mut command = Command::new(executable(name));
    command.args(args).current_dir(&dir.0).stdin(Stdio::null());
    for variable in SETTINGS {
        command.env_remove(variable);
    }
    // Any free port unless the case says otherwise: the documented ones may be taken here.
    command.env("BIND_ADDR", "127.0.0.1:0");
    command.envs(env.iter().copied());
    command
}

fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = ScratchDir::new(&format!("startup-{name}"));
    command(name, args, env, &dir).output().unwrap()
}

/// Runs `name` with `env`, expecting it to stop: returns its one line of stderr, after checking
/// that it is one line, prefixed with the example's name, with a failing exit.
fn refused(name: &str, env: &[(&str, &str)]) -> String {
    let output = run(name, &[], env);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{name} with {env:?} started; stderr: {stderr}");
    assert_eq!(output.status.code(), Some(1), "{name} with {env:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{name} with {env:?}: not one line:\n{stderr}");
    assert!(lines[0].starts_with(&format!("{name}: ")), "{name} with {env:?}: {stderr}");
    assert!(!stderr.contains("Error: ") && !stderr.contains("Os {"), "debug output: {stderr}");
    lines[0].to_owned()
}

fn assert_names(line: &str, needles: &[&str]) {
    for needle in needles {
        assert!(line.contains(needle), "{line:?} does not say {needle:?}");
    }
}

#[test]
fn help_lists_every_variable_with_its_default_and_exits_0() {
    let expected: [(&str, &[&str]); 6] = [
        ("oauth2_scopes", &["BIND_ADDR", "SECRET_KEY", "REFRESH_SECRET_KEY", "RUST_LOG", "127.0.0.1:8000"]),
        ("backends", &["BIND_ADDR", "DATABASE_URL", "REDIS_URL", "127.0.0.1:8001", "sqlite://backends-example.sqlite"]),
        ("resource_server", &["OIDC_ISSUER", "AUDIENCE", "BIND_ADDR", "127.0.0.1:8002", "https://api.example.test"]),
        (
            "users",
            &[
                "BIND_ADDR",
                "DATABASE_URL",
                "SMTP_URL",
                "SECRET_KEY",
                "TRUSTED_PROXIES",
                "OAUTH_ISSUER",
                "create-superuser",
                "127.0.0.1:8003",
            ],
        ),
        ("chat", &["BIND_ADDR", "SECRET_KEY", "TOKEN_LIFETIME", "127.0.0.1:8004", "900"]),
        ("notes", &["BIND_ADDR", "SECRET_KEY", "DATABASE_URL", "127.0.0.1:8005", "sqlite://notes-example.sqlite"]),
    ];
    for (name, needles) in expected {
        for flag in ["--help", "-h"] {
            // An example that read its settings instead would stop at this address, with 1.
            let output = run(name, &[flag], &[("BIND_ADDR", "not an address")]);
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert_eq!(output.status.code(), Some(0), "{name} {flag}: {stdout}");
            assert!(stdout.starts_with(&format!("{name}: ")), "{name} {flag}: {stdout}");
            assert!(stdout.contains("\nEnvironment:\n"), "{name} {flag}: {stdout}");
            assert_names(&stdout, needles);
            // One line per variable, each with its default.
            for line in stdout.lines().skip_while(|line| *line != "Environment:").skip(1) {
                assert!(line.contains("(default: "), "{name} {flag}: {line:?} has no default");
            }
        }
    }
}

#[test]
fn a_bad_address_is_one_line_naming_bind_addr_in_every_example() {
    for name in EXAMPLES {
        let line = refused(name, &[("BIND_ADDR", "localhost"), ("OIDC_ISSUER", "http://127.0.0.1:9")]);
        assert_names(&line, &["BIND_ADDR=\"localhost\"", "is not an IP address and port", "e.g. BIND_ADDR=127.0.0.1:"]);
    }
}

#[test]
fn an_address_in_use_is_one_line_naming_bind_addr() {
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for name in ["oauth2_scopes", "backends", "users", "chat", "notes"] {
        let line = refused(name, &[("BIND_ADDR", &addr)]);
        assert_names(&line, &[&format!("BIND_ADDR={addr}"), "the address is in use"]);
    }
}

#[test]
fn a_short_secret_key_is_refused_naming_it_but_never_echoed() {
    for name in ["oauth2_scopes", "users", "chat", "notes"] {
        let line = refused(name, &[("SECRET_KEY", "hunter2-short")]);
        assert_names(&line, &["SECRET_KEY is 13 bytes long", "at least 32"]);
        assert!(!line.contains("hunter2"), "the secret itself is printed: {line}");
    }
    let line = refused("oauth2_scopes", &[("REFRESH_SECRET_KEY", "short")]);
    assert_names(&line, &["REFRESH_SECRET_KEY is 5 bytes long"]);
}

#[test]
fn an_empty_or_unsupported_database_url_is_one_line_naming_it_without_its_password() {
    for name in ["backends", "users", "notes"] {
        let line = refused(name, &[("DATABASE_URL", "")]);
        assert_names(&line, &["DATABASE_URL is set but empty"]);
        let line = refused(name, &[("DATABASE_URL", "mysql://root:s3cret@db.example/app")]);
        assert_names(&line, &["DATABASE_URL=\"mysql://root:***@db.example/app\"", "sqlite://", "postgres://"]);
        assert!(!line.contains("s3cret"), "the password is printed: {line}");
    }
    // A PostgreSQL URL is supported (the examples crate enables `database-postgres`): nobody
    // listens on port 1, so the connection fails, and says which setting. sqlx retries a refused
    // connection until the pool's timeout, so the cause reads either way, depending on the load.
    let secret = ("SECRET_KEY", "startup-test-secret-0123456789abcdef");
    let line = refused("users", &[("DATABASE_URL", "postgres://auth:s3cret@127.0.0.1:1/auth"), secret]);
    assert_names(&line, &["DATABASE_URL=\"postgres://auth:***@127.0.0.1:1/auth\": "]);
    assert!(line.contains("database error") || line.contains("did not answer"), "no cause given: {line}");
    assert!(!line.contains("s3cret") && !line.contains("Unsupported"), "{line}");
}

/// An example, its environment, and what its one line must say.
type Case = (&'static str, &'static [(&'static str, &'static str)], &'static [&'static str]);

#[test]
fn other_bad_settings_are_one_line_naming_the_variable() {
    let cases: [Case; 10] = [
        ("users", &[("TRUSTED_PROXIES", "two")], &["TRUSTED_PROXIES=\"two\" is not a whole number"]),
        ("users", &[("REQUIRE_VERIFICATION", "yes")], &["REQUIRE_VERIFICATION=\"yes\"", "give 1"]),
        ("chat", &[("TOKEN_LIFETIME", "0")], &["TOKEN_LIFETIME=0", "at least 1"]),
        ("chat", &[("TOKEN_LIFETIME", "15m")], &["TOKEN_LIFETIME=\"15m\" is not a number of seconds"]),
        ("chat", &[("RUST_LOG", "[[[")], &["RUST_LOG=\"[[[\""]),
        ("resource_server", &[], &["OIDC_ISSUER is not set", "OIDC_ISSUER=http://127.0.0.1:4000"]),
        ("resource_server", &[("OIDC_ISSUER", "http://127.0.0.1:9")], &["OIDC_ISSUER=\"http://127.0.0.1:9\""]),
        (
            "users",
            &[("OAUTH_ISSUER", "http://127.0.0.1:9")],
            &["OAUTH_ISSUER, OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET together"],
        ),
        (
            "users",
            &[
                ("OAUTH_ISSUER", "http://127.0.0.1:9"),
                ("OAUTH_CLIENT_ID", "web"),
                ("OAUTH_CLIENT_SECRET", "do-not-echo-this-secret"),
                ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
                // The mails-go-to-the-log warning comes first otherwise.
                ("RUST_LOG", "error"),
            ],
            &["OAUTH_ISSUER=\"http://127.0.0.1:9\""],
        ),
        (
            "users",
            &[
                ("OAUTH_ISSUER", "x"),
                ("OAUTH_CLIENT_ID", "web"),
                ("OAUTH_CLIENT_SECRET", "s"),
                ("OAUTH_ASSOCIATE_BY_EMAIL", "yes"),
            ],
            &["OAUTH_ASSOCIATE_BY_EMAIL=\"yes\""],
        ),
    ];
    for (name, env, needles) in cases {
        let line = refused(name, env);
        assert_names(&line, needles);
        assert!(!line.contains("do-not-echo"), "a client secret is echoed: {line}");
    }
}

#[test]
fn an_unexpected_argument_is_refused() {
    for name in ["oauth2_scopes", "backends", "resource_server", "chat", "notes"] {
        let output = run(name, &["--port", "8000"], &[]);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert_names(&stderr, &["unexpected argument `--port`", "--help"]);
    }
    let output = run("users", &["create-admin"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_names(&String::from_utf8(output.stderr).unwrap(), &["usage: users [create-superuser <email>]"]);
}

#[test]
fn logs_written_to_a_pipe_are_plain_text() {
    // No SECRET_KEY: each logs a warning as it starts. Its stderr is a pipe here, as in a
    // container or `>file`, so no ANSI colour codes.
    for name in ["users", "chat", "backends"] {
        let dir = ScratchDir::new(&format!("startup-logs-{name}"));
        let mut child = command(name, &[], &[("BIND_ADDR", "127.0.0.1:0"), ("RUST_LOG", "debug")], &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = sender.send(first);
            for _ in lines {}
        });
        let line = receiver.recv_timeout(Duration::from_secs(60));
        let _ = child.kill();
        let _ = child.wait();
        let line = line.unwrap_or_else(|_| panic!("{name} logged nothing within 60 s"));
        assert!(!line.is_empty(), "{name} logged nothing");
        assert!(line.contains("DEBUG") || line.contains("INFO") || line.contains("WARN"), "{name}: {line:?}");
        assert!(!line.contains('\u{1b}'), "{name} writes ANSI codes into a pipe: {line:?}");
    }
}

/// One request over a fresh connection: the status line, and the body.
fn http(addr: &str, request: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn notes_starts_creates_its_database_and_serves() {
    let dir = ScratchDir::new("startup-notes");
    let env = [("SECRET_KEY", "startup-test-secret-0123456789abcdef")];
    let mut child = auth_tests::ChildGuard(
        command("notes", &[], &env, &dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = sender.send(lines.next().and_then(Result::ok).unwrap_or_default());
        for _ in lines {}
    });
    let line = receiver.recv_timeout(Duration::from_secs(120)).expect("notes printed nothing within 120 s");
    let addr = line.strip_prefix("Serving the notes on http://").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    assert!(dir.0.join("notes-example.sqlite").exists(), "the SQLite file is created on first run");
    let (status, body) = http(&addr, "GET /notes/1 HTTP/1.1\r\nHost: notes\r\nConnection: close\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(body, r#"{"detail":"Not authenticated"}"#);
    let form = "username=alice&password=alice-password&scope=notes:read";
    let login = format!(
        "POST /token HTTP/1.1\r\nHost: notes\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let (status, body) = http(&addr, &login);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let token = body.split('"').nth(3).unwrap().to_owned();
    let read =
        format!("GET /notes/1 HTTP/1.1\r\nHost: notes\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    let (status, body) = http(&addr, &read);
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 404 Not Found", r#"{"detail":"Not Found"}"#));
}
