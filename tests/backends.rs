//! Backends declared with `#[derive(AuthBackend)]`: login, authenticated requests, logout, two
//! backends on one route, scope enforcement, and their OpenAPI schemes.

use auth_core::{
    AuthBackend, Authenticated, Scopes,
    backend::PasswordTable,
    openapi::SecurityDoc,
    password::Passwords,
    secured,
    strategies::jwt::{JwtKey, JwtStrategy},
};
use axum::{
    Json, Router,
    extract::FromRef,
    http::{HeaderMap, StatusCode},
    routing::get,
};
use serde_json::{Value, json};

/// The scopes of this test app.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
    /// Read information about the current user.
    #[scope("me")]
    Me,
}

/// Bearer tokens, JWTs.
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

/// A cookie, here also carrying a JWT (the database and Redis strategies are tested apart).
#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(name = "__Host-session", max_age = 3600), strategy = jwt)]
pub struct CookieBackend {
    #[backend(strategy)]
    strategy: JwtStrategy,
}

/// Usernames, argon2id hashes and the scopes each may have.
type Users = PasswordTable;

#[derive(Clone, FromRef)]
struct AppState {
    jwt: JwtBackend,
    cookie: CookieBackend,
    users: Users,
}

#[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
#[secured(scopes = ["items"])]
async fn items(user: Authenticated<(CookieBackend, JwtBackend)>) -> Json<Value> {
    Json(json!({ "subject": user.subject, "backend": user.backend }))
}

async fn state() -> AppState {
    let users =
        PasswordTable::new(Passwords::builder().build()).with_user("johndoe", "secret", ["items", "me"]).await.unwrap();
    AppState {
        jwt: JwtBackend { strategy: JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap() },
        cookie: CookieBackend { strategy: JwtStrategy::builder(JwtKey::hs256([9u8; 32])).build().unwrap() },
        users,
    }
}

async fn serve() -> (String, reqwest::Client) {
    let state = state().await;
    let app = Router::new()
        .route("/items", get(items))
        .nest("/auth/jwt", JwtBackend::router::<Users, AppState>())
        .nest("/auth/cookie", CookieBackend::router::<Users, AppState>())
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, reqwest::Client::new())
}

async fn login(base: &str, client: &reqwest::Client, backend: &str, scope: &str) -> reqwest::Response {
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", scope)];
    client.post(format!("{base}/auth/{backend}/login")).form(&form).send().await.unwrap()
}

async fn get_items(base: &str, client: &reqwest::Client, headers: HeaderMap) -> (StatusCode, HeaderMap, String) {
    let response = client.get(format!("{base}/items")).headers(headers).send().await.unwrap();
    (response.status(), response.headers().clone(), response.text().await.unwrap())
}

fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, value.parse().unwrap());
    headers
}

#[tokio::test]
async fn bearer_backend_login_use_and_logout() {
    let (base, client) = serve().await;
    let response = login(&base, &client, "jwt", "items").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let (status, _, body) = get_items(&base, &client, header("authorization", &format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"backend":"jwt","subject":"johndoe"}"#);

    let logout = client.post(format!("{base}/auth/jwt/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let logout = client.post(format!("{base}/auth/jwt/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_backend_sets_and_clears_a_safe_cookie() {
    let (base, client) = serve().await;
    let response = login(&base, &client, "cookie", "items me").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.ends_with("; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let (status, _, body) = get_items(&base, &client, header("cookie", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"backend":"cookie","subject":"johndoe"}"#);

    let logout = client.post(format!("{base}/auth/cookie/logout")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        logout.headers()["set-cookie"],
        "__Host-session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
}

#[tokio::test]
async fn two_backends_accept_either_credential_in_order() {
    let (base, client) = serve().await;
    let body: Value = login(&base, &client, "jwt", "items").await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let cookie_login = login(&base, &client, "cookie", "items").await;
    let cookie = cookie_login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    // Both credentials: the first backend (cookie) wins.
    let mut both = header("cookie", &cookie);
    both.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (_, _, body) = get_items(&base, &client, both).await;
    assert_eq!(body, r#"{"backend":"cookie","subject":"johndoe"}"#);

    // A bad cookie does not hide a good bearer token.
    let mut bad_cookie = header("cookie", "__Host-session=forged");
    bad_cookie.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (status, _, body) = get_items(&base, &client, bad_cookie).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"backend":"jwt","subject":"johndoe"}"#));

    // Neither: 401 with the first backend's challenge. A bad one only: could not validate.
    let (status, headers, body) = get_items(&base, &client, HeaderMap::new()).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"detail":"Not authenticated"}"#));
    assert_eq!(headers["www-authenticate"], "APIKey");
    let (status, headers, body) = get_items(&base, &client, header("authorization", "Bearer forged")).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"detail":"Could not validate credentials"}"#));
    assert_eq!(headers["www-authenticate"], r#"Bearer scope="items""#);
}

#[tokio::test]
async fn backend_credentials_are_held_to_the_chain_scopes() {
    let (base, client) = serve().await;
    let body: Value = login(&base, &client, "jwt", "me").await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let (status, headers, body) = get_items(&base, &client, header("authorization", &format!("Bearer {token}"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"detail":"Not enough permissions"}"#));
    assert_eq!(headers["www-authenticate"], r#"Bearer scope="items""#);

    let wrong = [("username", "johndoe"), ("password", "wrong")];
    let response = client.post(format!("{base}/auth/jwt/login")).form(&wrong).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn both_backends_appear_in_openapi_as_alternatives() {
    // Backends describe themselves: nothing to register.
    let (_, mut api) =
        utoipa_axum::router::OpenApiRouter::<AppState>::new().routes(auth_core::routes!(items)).split_for_parts();
    SecurityDoc::new().apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(doc["paths"]["/items"]["get"]["security"], json!([{ "cookie": ["items"] }, { "jwt": ["items"] }]));
    assert_eq!(
        doc["components"]["securitySchemes"]["cookie"],
        json!({ "type": "apiKey", "in": "cookie", "name": "__Host-session" })
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["jwt"]["flows"]["password"],
        json!({ "tokenUrl": "auth/jwt/login", "scopes": { "items": "Read items.", "me": "Read information about the current user." } })
    );
}
