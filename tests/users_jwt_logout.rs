//! examples/users' JWT logout sticks (issue 20, finding 7): after `POST /auth/jwt/logout` the
//! token is refused everywhere it was accepted, in this process (the in-memory denylist) and,
//! with `REDIS_URL`, in every process sharing the Redis. fastapi-users' JWT logout answers 204
//! and leaves the token valid; `tests/users_differential.rs` states that difference.

#[path = "../examples/users/app.rs"]
mod app;

use auth_core::users::ClientIpSource;
use reqwest::{Client, StatusCode};
use serde_json::json;

fn config(dir: &std::path::Path, redis_url: Option<String>, table: &str) -> app::Config {
    app::Config {
        database_url: format!("sqlite://{}", dir.join("users.sqlite").display()),
        users_table: format!("users_{table}"),
        tokens_table: format!("tokens_{table}"),
        smtp_url: None,
        public_url: "https://app.example.com".to_owned(),
        mail_from: "noreply@example.com".to_owned(),
        secret_key: b"logout-test-secret-0123456789abcdef".to_vec(),
        redis_url,
        redis_prefix: format!("auth:logout-test:{}:", std::process::id()),
        client_ip: ClientIpSource::Peer,
        requires_verification: false,
    }
}

/// Serves one instance of the app; returns its base URL.
async fn serve(config: &app::Config) -> String {
    let state = app::AppState::new(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::serve(listener, app::router(state)));
    base
}

async fn login(client: &Client, base: &str) -> String {
    let answer: serde_json::Value = client
        .post(format!("{base}/auth/jwt/login"))
        .form(&[("username", "king.arthur@camelot.bt"), ("password", "guinevere")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().expect("a token").to_owned()
}

async fn status(client: &Client, base: &str, path: &str, token: &str) -> StatusCode {
    client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().status()
}

async fn logout(client: &Client, base: &str, token: &str) -> StatusCode {
    client.post(format!("{base}/auth/jwt/logout")).bearer_auth(token).send().await.unwrap().status()
}

async fn register(client: &Client, base: &str) {
    let response = client
        .post(format!("{base}/auth/register"))
        .json(&json!({ "email": "king.arthur@camelot.bt", "password": "guinevere" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_logged_out_jwt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve(&config(dir.path(), None, "memory")).await;
    let client = Client::new();
    register(&client, &base).await;
    let token = login(&client, &base).await;
    let other = login(&client, &base).await;
    assert_ne!(token, other, "each login issues its own token (its own jti)");
    assert_eq!(status(&client, &base, "/users/me", &token).await, StatusCode::OK);

    assert_eq!(logout(&client, &base, &token).await, StatusCode::NO_CONTENT);
    for path in ["/users/me", "/authenticated-route"] {
        assert_eq!(status(&client, &base, path, &token).await, StatusCode::UNAUTHORIZED, "{path}");
    }
    // The logout route itself refuses it now: it is no longer a credential.
    assert_eq!(logout(&client, &base, &token).await, StatusCode::UNAUTHORIZED);
    // Only that token: the user's other session, and a new login, still work.
    assert_eq!(status(&client, &base, "/users/me", &other).await, StatusCode::OK);
    let again = login(&client, &base).await;
    assert_eq!(status(&client, &base, "/authenticated-route", &again).await, StatusCode::OK);
}

#[tokio::test]
async fn with_redis_a_logout_in_one_process_is_refused_by_another() {
    let Some(url) = auth_tests::service_url("REDIS_URL") else { return };
    let dir = tempfile::tempdir().unwrap();
    // Two instances on one database and one Redis, as two processes behind a load balancer.
    let config = config(dir.path(), Some(url), "redis");
    let (first, second) = (serve(&config).await, serve(&config).await);
    let client = Client::new();
    register(&client, &first).await;
    let token = login(&client, &first).await;
    assert_eq!(status(&client, &second, "/users/me", &token).await, StatusCode::OK);
    assert_eq!(logout(&client, &first, &token).await, StatusCode::NO_CONTENT);
    assert_eq!(status(&client, &second, "/users/me", &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&client, &first, "/users/me", &token).await, StatusCode::UNAUTHORIZED);
}
