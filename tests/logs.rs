//! What reaches the logs: failed logins at `info` (username, backend, client address; never the
//! password), JWT rejections at `info` with their reason, URIs with credentials redacted, and
//! the tutorial port's own log format (`info` by default, no ANSI colours when not a terminal).
//!
//! Each test captures the events of its own thread (`tracing::subscriber::set_default` on a
//! current-thread runtime, where the server and the client also run), so tests never see each
//! other's lines.

#[path = "fixtures/password_table.rs"]
mod password_table;

#[path = "../examples/oauth2_scopes/app.rs"]
mod app;
#[path = "../examples/oauth2_scopes/logging.rs"]
mod logging;

use std::{
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use auth_core::{
    AuthBackend,
    strategies::jwt::{JwtKey, JwtStrategy},
};
use axum::{Router, extract::FromRef};
use password_table::Users;
use reqwest::{Client, StatusCode};
use tracing_subscriber::fmt::MakeWriter;

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";

/// Everything the subscriber writes, as bytes.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for Buffer {
    type Writer = Buffer;

    fn make_writer(&self) -> Buffer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Serves `router` on loopback with the client's address, as the example binary does.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    base
}

/// A wrong password, an unknown user, a good login, a request with the token in the query and
/// one with a forged token, against the tutorial port; returns the log and the secrets sent.
async fn exercise_the_port(filter: Option<&str>) -> (String, Vec<String>) {
    let buffer = Buffer::default();
    let _guard = tracing::subscriber::set_default(logging::subscriber(buffer.clone(), false, filter));
    let state = app::AppState::new(SECRET, REFRESH_SECRET).unwrap();
    let base = serve(app::app(state).layer(logging::trace_layer())).await;
    let client = Client::new();
    let login = |username: &'static str, password: &'static str| {
        client.post(format!("{base}/token")).form(&[("username", username), ("password", password)]).send()
    };

    let password = "Zq7-a-wrong-password";
    assert_eq!(login("johndoe", password).await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(login("nobody-Zq7", password).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = login("johndoe", "secret").await.unwrap().json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let status = client.get(format!("{base}/status/?access_token={token}&page=2")).bearer_auth(&token).send().await;
    assert_eq!(status.unwrap().status(), StatusCode::OK);
    let forged = JwtStrategy::builder(JwtKey::hs256([3u8; 32])).build().unwrap().issue("johndoe", &["me"]).unwrap();
    let me = client.get(format!("{base}/users/me/")).bearer_auth(&forged).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    (buffer.text(), vec![password.to_owned(), token, forged])
}

#[tokio::test]
async fn the_port_logs_failed_logins_and_rejected_tokens_at_info_in_plain_text() {
    let (log, secrets) = exercise_the_port(None).await;

    // The default filter is `info`: no per-request DEBUG lines, and no colours off a terminal.
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a log that is not a terminal:\n{log}");
    assert!(!log.contains("DEBUG") && !log.contains("TRACE"), "{log}");

    // Failed logins: username, where, and the client's address (ASVS 7.2.1).
    let failed: Vec<&str> = log.lines().filter(|line| line.contains("login failed")).collect();
    assert_eq!(failed.len(), 2, "{log}");
    for (line, username) in failed.iter().zip(["\"johndoe\"", "\"nobody-Zq7\""]) {
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains(&format!("username={username}")), "{line}");
        assert!(line.contains("via=\"token\""), "{line}");
        assert!(line.contains("client=Some(127.0.0.1:"), "{line}");
        // In the request's span, with its (redacted) URI.
        assert!(line.contains("request{method=POST uri=/token"), "{line}");
    }
    // JWT rejections, with the reason.
    let rejected = log.lines().find(|line| line.contains("rejected a JWT")).unwrap_or_else(|| panic!("{log}"));
    assert!(rejected.contains(" INFO ") && rejected.contains("reason=invalid token: bad signature"), "{rejected}");

    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret in the log: {secret}\n{log}");
    }
}

#[tokio::test]
async fn credentials_in_query_strings_never_reach_the_log_at_any_level() {
    let (log, secrets) = exercise_the_port(Some("trace")).await;
    assert!(log.contains("uri=/status/?access_token=[redacted]&page=2"), "the request span is logged:\n{log}");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret in the log: {secret}");
    }
}

/// A bearer backend whose logins fail or succeed.
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt)]
struct JwtBackend {
    strategy: JwtStrategy,
}

#[derive(Clone, FromRef)]
struct AppState {
    jwt: JwtBackend,
    users: Users,
}

#[tokio::test]
async fn a_backend_logs_its_failed_logins_without_the_password() {
    let buffer = Buffer::default();
    let _guard = tracing::subscriber::set_default(logging::subscriber(buffer.clone(), false, None));
    let state = AppState {
        jwt: JwtBackend { strategy: JwtStrategy::builder(JwtKey::hs256([9u8; 32])).build().unwrap() },
        users: password_table::johndoe().await,
    };
    let base = serve(Router::new().nest("/auth/jwt", JwtBackend::router::<Users, AppState>()).with_state(state)).await;
    let client = Client::new();
    // A username that would forge a second log line if written raw.
    for (username, password, status) in [
        ("johndoe", "Zq7-wrong", StatusCode::BAD_REQUEST),
        ("eve\nINFO forged line", "Zq7-wrong", StatusCode::BAD_REQUEST),
        ("johndoe", "secret", StatusCode::OK),
    ] {
        let form = [("username", username), ("password", password)];
        let response = client.post(format!("{base}/auth/jwt/login")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), status);
    }
    let log = buffer.text();
    let failed: Vec<&str> = log.lines().filter(|line| line.contains("login failed")).collect();
    assert_eq!(failed.len(), 2, "{log}");
    assert!(failed[0].contains("via=\"jwt\"") && failed[0].contains("username=\"johndoe\""), "{}", failed[0]);
    assert!(failed[0].contains("client=Some(127.0.0.1:"), "{}", failed[0]);
    assert!(failed[1].contains(r#"username="eve\nINFO forged line""#), "escaped: {}", failed[1]);
    assert!(!log.lines().any(|line| line.starts_with("INFO forged line")), "{log}");
    assert!(!log.contains("Zq7-wrong"), "{log}");
    assert!(
        log.lines().any(|line| line.contains(" INFO ") && line.contains("login") && line.contains("subject=johndoe"))
    );
}
