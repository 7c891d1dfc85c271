//! The flagship example, served on a real loopback socket, answering every row of the SPEC's
//! table byte for byte, plus logins, hash upgrades, and the refresh rotation/replay cycle.

#[path = "../examples/oauth2_scopes/app.rs"]
mod app;

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";

struct Server {
    base: String,
    client: Client,
    state: app::AppState,
}

async fn serve() -> Server {
    let state = app::AppState::new(SECRET, REFRESH_SECRET).expect("valid secrets");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server { base, client: Client::new(), state }
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

impl Server {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let www_authenticate = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Reply { status, www_authenticate, body }
    }

    async fn login(&self, username: &str, password: &str, scope: &str) -> Reply {
        let form = [("username", username), ("password", password), ("scope", scope)];
        self.send(self.client.post(format!("{}/token", self.base)).form(&form)).await
    }

    async fn token(&self, username: &str, password: &str, scope: &str) -> String {
        let reply = self.login(username, password, scope).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send(request).await
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn forge(claims: Value) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
}

fn assert_reply(reply: &Reply, status: u16, body: &str, www_authenticate: Option<&str>) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    assert_eq!(reply.body, body);
    assert_eq!(reply.www_authenticate.as_deref(), www_authenticate);
}

const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const COULD_NOT_VALIDATE: &str = r#"{"detail":"Could not validate credentials"}"#;
const NOT_ENOUGH: &str = r#"{"detail":"Not enough permissions"}"#;
const JOHNDOE: &str = r#"{"username":"johndoe","full_name":"John Doe","email":"johndoe@example.com","disabled":false}"#;

#[tokio::test]
async fn token_endpoint_answers_as_the_tutorial() {
    let server = serve().await;
    let reply = server.login("johndoe", "secret", "me items").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["access_token", "token_type"]);
    assert_eq!(body["token_type"], "bearer");

    let incorrect = r#"{"detail":"Incorrect username or password"}"#;
    assert_reply(&server.login("johndoe", "wrong", "").await, 400, incorrect, None);
    assert_reply(&server.login("nobody", "secret", "").await, 400, incorrect, None);
    // alice is disabled, but her password is right: the login succeeds, /users/me/ refuses her.
    assert_eq!(server.login("alice", "secretalice", "me").await.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_or_foreign_authorization_is_not_authenticated() {
    let server = serve().await;
    for path in ["/users/me/", "/users/me", "/users/me/items/", "/status/", "/status"] {
        assert_reply(&server.get(path, None).await, 401, NOT_AUTHENTICATED, Some("Bearer"));
        assert_reply(&server.get(path, Some("Notexistent x")).await, 401, NOT_AUTHENTICATED, Some("Bearer"));
    }
}

#[tokio::test]
async fn bad_tokens_could_not_be_validated() {
    let server = serve().await;
    let exp = now() + 600;
    let cases = [
        ("garbage".to_owned(), "garbage"),
        (forge(json!({ "scopes": ["me"], "exp": exp })), "no sub"),
        (forge(json!({ "sub": "nobody", "scopes": ["me"], "exp": exp })), "unknown user"),
        (forge(json!({ "sub": "nobody", "exp": exp })), "unknown user, no scopes"),
        (forge(json!({ "sub": "johndoe", "scopes": ["me"], "exp": now() - 600 })), "expired"),
    ];
    for (token, what) in cases {
        let reply = server.get("/users/me/", Some(&format!("Bearer {token}"))).await;
        assert_eq!(reply.body, COULD_NOT_VALIDATE, "{what}");
        assert_reply(&reply, 401, COULD_NOT_VALIDATE, Some(r#"Bearer scope="me""#));
    }
    let reply = server.get("/users/me/items/", Some("Bearer garbage")).await;
    assert_reply(&reply, 401, COULD_NOT_VALIDATE, Some(r#"Bearer scope="items me""#));
    // /status/ requires no scope, so the challenge carries none.
    assert_reply(&server.get("/status/", Some("Bearer garbage")).await, 401, COULD_NOT_VALIDATE, Some("Bearer"));
}

#[tokio::test]
async fn scopes_are_enforced() {
    let server = serve().await;
    let none = server.token("johndoe", "secret", "").await;
    let me = server.token("johndoe", "secret", "me").await;
    let both = server.token("johndoe", "secret", "me items").await;

    assert_reply(
        &server.get("/users/me/", Some(&format!("Bearer {none}"))).await,
        401,
        NOT_ENOUGH,
        Some(r#"Bearer scope="me""#),
    );
    assert_reply(
        &server.get("/users/me/items/", Some(&format!("Bearer {me}"))).await,
        401,
        NOT_ENOUGH,
        Some(r#"Bearer scope="items me""#),
    );
    assert_reply(&server.get("/users/me/", Some(&format!("Bearer {me}"))).await, 200, JOHNDOE, None);
    assert_reply(&server.get("/users/me", Some(&format!("bearer {me}"))).await, 200, JOHNDOE, None);
    let items = r#"[{"item_id":"Foo","owner":"johndoe"}]"#;
    assert_reply(&server.get("/users/me/items/", Some(&format!("Bearer {both}"))).await, 200, items, None);
    assert_reply(&server.get("/users/me/items", Some(&format!("BEARER {both}"))).await, 200, items, None);
    for token in [&none, &me, &both] {
        assert_reply(&server.get("/status/", Some(&format!("Bearer {token}"))).await, 200, r#"{"status":"ok"}"#, None);
    }
}

#[tokio::test]
async fn the_app_grants_only_what_the_user_may_have() {
    let server = serve().await;
    let token = server.token("johndoe", "secret", "me admin items root").await;
    let claims = server.state.jwt.verify(&token).unwrap();
    assert_eq!(claims.scopes, ["me", "items"]);
}

#[tokio::test]
async fn inactive_user_is_refused() {
    let server = serve().await;
    let alice = server.token("alice", "secretalice", "me").await;
    assert_reply(
        &server.get("/users/me/", Some(&format!("Bearer {alice}"))).await,
        400,
        r#"{"detail":"Inactive user"}"#,
        None,
    );
    // /status/ does not go through current_active_user.
    assert_eq!(server.get("/status/", Some(&format!("Bearer {alice}"))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tutorial_bcrypt_hashes_are_upgraded_to_argon2id_on_login() {
    let server = serve().await;
    for (user, password) in [("johndoe", "secret"), ("alice", "secretalice")] {
        let before = server.state.users.read().unwrap()[user].hashed_password.clone();
        assert!(before.starts_with("$2b$12$"));
        server.token(user, password, "").await;
        let after = server.state.users.read().unwrap()[user].hashed_password.clone();
        assert!(after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{after}");
        // The new hash verifies, and needs no further upgrade.
        server.token(user, password, "").await;
        assert_eq!(server.state.users.read().unwrap()[user].hashed_password, after);
    }
}

#[tokio::test]
async fn the_password_form_names_bad_fields() {
    let server = serve().await;
    let reply = server.send(server.client.post(format!("{}/token", server.base)).form(&[("scope", "me")])).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        r#"{"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required","input":null},{"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]}"#
    );
    let form = [("grant_type", "client_credentials"), ("username", "johndoe"), ("password", "secret")];
    let reply = server.send(server.client.post(format!("{}/token", server.base)).form(&form)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["detail"][0]["loc"], json!(["body", "grant_type"]));

    let huge = format!("username=johndoe&password={}", "x".repeat(10 * 1024 * 1024));
    let request = server
        .client
        .post(format!("{}/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge);
    assert_eq!(server.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    let request = server.client.post(format!("{}/token", server.base)).json(&json!({"username": "johndoe"}));
    assert_eq!(server.send(request).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn refresh_rotates_and_replay_revokes_the_family() {
    let server = serve().await;
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", "me items")];
    let reply = server.send(server.client.post(format!("{}/token/pair", server.base)).form(&form)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let first = reply.json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(server.get("/users/me/items/", Some(&format!("Bearer {access}"))).await.status, StatusCode::OK);

    let refresh = |token: Value| {
        let request = server.client.post(format!("{}/refresh", server.base)).json(&json!({ "refresh_token": token }));
        server.send(request)
    };
    // Rotation: a new pair, and the new access token works.
    let reply = refresh(first["refresh_token"].clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = reply.json();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(server.get("/users/me/items/", Some(&format!("Bearer {access}"))).await.status, StatusCode::OK);

    // Replay of the rotated-out token: refused, and the whole family is revoked.
    assert_reply(&refresh(first["refresh_token"].clone()).await, 401, r#"{"detail":"Invalid token"}"#, Some("Bearer"));
    assert_reply(&refresh(second["refresh_token"].clone()).await, 401, r#"{"detail":"Invalid token"}"#, Some("Bearer"));

    // An access token is not a refresh token.
    assert_eq!(refresh(second["access_token"].clone()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_response_carrying_a_token_forbids_caching() {
    // RFC 6749 §5.1: `Cache-Control: no-store` and `Pragma: no-cache` on /token, /token/pair
    // and /refresh; the library's response types add them, not the example.
    let server = serve().await;
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", "me")];
    let token = server.client.post(format!("{}/token", server.base)).form(&form).send().await.unwrap();
    let pair = server.client.post(format!("{}/token/pair", server.base)).form(&form).send().await.unwrap();
    for response in [&token, &pair] {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refresh_token = pair.headers().clone();
    let body: Value = pair.json().await.unwrap();
    let refreshed = server
        .client
        .post(format!("{}/refresh", server.base))
        .json(&json!({ "refresh_token": body["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    for (what, headers) in
        [("/token", token.headers()), ("/token/pair", &refresh_token), ("/refresh", refreshed.headers())]
    {
        assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{what}");
        assert_eq!(headers.get("pragma").map(|v| v.to_str().unwrap()), Some("no-cache"), "{what}");
        assert_eq!(headers["content-type"], "application/json", "{what}");
    }
}

#[tokio::test]
async fn refresh_asks_about_the_user_again() {
    let server = serve().await;
    let pair = |username: &'static str, password: &'static str| {
        let form = [("username", username), ("password", password), ("scope", "me items")];
        server.send(server.client.post(format!("{}/token/pair", server.base)).form(&form))
    };
    let refresh = |token: Value| {
        server.send(server.client.post(format!("{}/refresh", server.base)).json(&json!({ "refresh_token": token })))
    };
    let set_user = |username: &str, disabled: bool, scopes: Vec<app::Scope>| {
        let mut users = server.state.users.write().unwrap();
        let user = users.get_mut(username).unwrap();
        user.user.disabled = Some(disabled);
        user.allowed_scopes = scopes;
    };

    // Scopes taken away since the login are not in the refreshed pair.
    let first = pair("johndoe", "secret").await.json();
    set_user("johndoe", false, vec![app::Scope::Me]);
    let second = refresh(first["refresh_token"].clone()).await.json();
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(server.get("/users/me/", Some(&format!("Bearer {access}"))).await.status, StatusCode::OK);
    assert_reply(
        &server.get("/users/me/items/", Some(&format!("Bearer {access}"))).await,
        401,
        r#"{"detail":"Not enough permissions"}"#,
        Some(r#"Bearer scope="items me""#),
    );

    // A user disabled since the login gets no new pair, and the session ends for good.
    set_user("johndoe", true, vec![app::Scope::Me, app::Scope::Items]);
    assert_reply(&refresh(second["refresh_token"].clone()).await, 401, r#"{"detail":"Invalid token"}"#, Some("Bearer"));
    set_user("johndoe", false, vec![app::Scope::Me, app::Scope::Items]);
    assert_reply(&refresh(second["refresh_token"].clone()).await, 401, r#"{"detail":"Invalid token"}"#, Some("Bearer"));
}
