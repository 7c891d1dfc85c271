//! `examples/users`' OpenAPI document: every route documented, the superuser rule in the
//! superuser routes' `security`, the app's own field in the user schemas. The whole document is
//! snapshotted (`tests/snapshots/users_openapi__users_example_openapi.snap`); review its diffs
//! like code.

#[path = "../examples/users/app.rs"]
mod app;

use auth_core::users::ClientIpSource;
use serde_json::{Value, json};

#[tokio::test]
async fn users_example_openapi() {
    let dir = tempfile::tempdir().unwrap();
    let config = app::Config {
        database_url: format!("sqlite://{}", dir.path().join("users.sqlite").display()),
        users_table: "users".to_owned(),
        tokens_table: "auth_tokens".to_owned(),
        smtp_url: None,
        public_url: "https://app.example.com".to_owned(),
        mail_from: "noreply@example.com".to_owned(),
        secret_key: b"openapi-test-secret-0123456789abcdef".to_vec(),
        redis_url: None,
        redis_prefix: String::new(),
        client_ip: ClientIpSource::Peer,
        requires_verification: false,
    };
    let state = app::AppState::new(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::serve(listener, app::router(state)));
    let doc: Value = reqwest::get(format!("{base}/openapi.json")).await.unwrap().json().await.unwrap();

    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((format!("{} {path}", method.to_uppercase()), operation["security"].clone()));
        }
    }
    let either = json!([{ "jwt": [] }, { "cookie": [] }]);
    let superuser = json!([{ "jwt": ["users:superuser"] }, { "cookie": ["users:superuser"] }]);
    let expected = [
        ("POST /auth/jwt/login", Value::Null),
        ("POST /auth/jwt/logout", json!([{ "jwt": [] }])),
        ("POST /auth/cookie/login", Value::Null),
        ("POST /auth/cookie/logout", json!([{ "cookie": [] }])),
        ("POST /auth/register", Value::Null),
        ("POST /auth/forgot-password", Value::Null),
        ("POST /auth/reset-password", Value::Null),
        ("POST /auth/request-verify-token", Value::Null),
        ("POST /auth/verify", Value::Null),
        ("GET /users/me", either.clone()),
        ("PATCH /users/me", either.clone()),
        ("GET /users/{id}", superuser.clone()),
        ("PATCH /users/{id}", superuser.clone()),
        ("DELETE /users/{id}", superuser),
        // Issue 22: a user's token or a machine's key, documented as alternatives.
        ("GET /authenticated-route", json!([{ "jwt": [] }, { "cookie": [] }, { "APIKeyHeader": [] }])),
        // The API key routes take the users' own backends, not keys.
        ("POST /api-keys", either.clone()),
        ("GET /api-keys", either.clone()),
        ("DELETE /api-keys/{id}", either.clone()),
        ("POST /api-keys/{id}/rotate", either),
    ];
    assert_eq!(operations.len(), expected.len(), "{operations:#?}");
    for (operation, security) in expected {
        let found =
            operations.iter().find(|(name, _)| name == operation).unwrap_or_else(|| panic!("{operation} is missing"));
        assert_eq!(found.1, security, "{operation}");
    }
    for schema in ["UserRead", "UserCreate", "UserUpdate"] {
        assert!(doc["components"]["schemas"][schema]["properties"]["full_name"].is_object(), "{schema}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["jwt"]["flows"]["password"]["scopes"]["users:superuser"],
        "Read, change and delete other users (superusers only)."
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["cookie"],
        json!({ "type": "apiKey", "in": "cookie", "name": "fastapiusersauth" })
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["APIKeyHeader"],
        json!({ "type": "apiKey", "in": "header", "name": "x-api-key" })
    );
    insta::assert_json_snapshot!("users_example_openapi", doc);
}
