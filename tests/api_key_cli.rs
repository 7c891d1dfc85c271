//! `examples/users -- create-api-key` (issue 22, item 3), as a process: it mints a key for a
//! user within the user's scopes and prints it once on standard output; an undeclared scope or
//! an unknown user is refused; the server, with the same `SECRET_KEY` and database, takes the
//! key on `/authenticated-route`.

use std::{
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use auth_tests::{ScratchDir, free_port};

/// examples/users: in `EXAMPLES_DIR` when set, else next to this test's directory, or built.
fn executable() -> PathBuf {
    if let Some(dir) = std::env::var_os("EXAMPLES_DIR") {
        return PathBuf::from(dir).join("users");
    }
    let exe = std::env::current_exe().unwrap();
    let example = exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples").join("users");
    if !example.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "auth-examples", "--all-features", "--example", "users"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example users failed");
    }
    example
}

const SECRET_KEY: &str = "api-key-cli-test-secret-0123456789abcdef";

fn users(dir: &ScratchDir, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(executable());
    command.args(args).current_dir(&dir.0).stdin(Stdio::null());
    for variable in ["DATABASE_URL", "REDIS_URL", "SMTP_URL", "OAUTH_ISSUER", "RUST_LOG"] {
        command.env_remove(variable);
    }
    command.env("SECRET_KEY", SECRET_KEY).env("BIND_ADDR", "127.0.0.1:0").envs(env.iter().copied());
    command
}

fn run(dir: &ScratchDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    users(dir, args, env).output().unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn create_api_key_from_the_command_line() {
    let dir = ScratchDir::new("api-key-cli");
    let created =
        run(&dir, &["create-superuser", "admin@example.com"], &[("SUPERUSER_PASSWORD", "correct horse battery")]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let minted =
        run(&dir, &["create-api-key", "admin@example.com", "--scopes", "users:superuser", "--name", "ops"], &[]);
    let (stdout, stderr) =
        (String::from_utf8(minted.stdout).unwrap(), String::from_utf8_lossy(&minted.stderr).into_owned());
    assert!(minted.status.success(), "{stderr}");
    let key = stdout.trim().to_owned();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(key.starts_with("ak_users_") && key.len() == "ak_users_".len() + 36, "{key:.9}…");
    assert!(stderr.contains("shown this once") && !stderr.contains(&key), "{stderr}");

    // An undeclared scope, an unknown user, a bad option: refused, nothing printed.
    for (args, says) in [
        (&["create-api-key", "admin@example.com", "--scopes", "users:superusr"][..], "unknown scope `users:superusr`"),
        (&["create-api-key", "nobody@example.com"][..], "no user nobody@example.com"),
        (&["create-api-key", "admin@example.com", "--frobnicate"][..], "unknown option --frobnicate"),
    ] {
        let refused = run(&dir, args, &[]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(refused.stdout.is_empty(), "{args:?}");
    }

    // The server, with the same secret and database, takes the key.
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let _server =
        Server(users(&dir, &[], &[("BIND_ADDR", &bind)]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        match client.get(format!("http://{bind}/authenticated-route")).header("x-api-key", &key).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("the server did not start: {error}"),
        }
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"message":"Hello admin@example.com!"}"#);
}
