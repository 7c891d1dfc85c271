//! A credential's 401 carries its own scheme's challenge, over a real socket: a custom API key
//! answers `APIKey` and never `Bearer`, a custom HTTP Basic credential `Basic realm="…",
//! charset="UTF-8"`, a tuple of both the challenge of the credential that failed, and a bearer
//! JWT is unchanged (`Bearer scope="…"`). Each credential implements only `Credential` (its
//! scheme says where it travels) and `Authenticate::verify`, and returns
//! `AuthError::invalid_credentials()` as the docs say: nobody names a challenge.

use std::net::SocketAddr;

use auth_core::{
    AuthBackend, AuthError, Authenticate, Authenticated, Credential, Scopes, secured,
    security::{ApiKeyLocation, Lifetime, SchemeKind},
    strategies::{Claims, JwtStrategy},
};
use axum::{Router, extract::FromRef, routing::get};
use base64::{Engine, engine::general_purpose::STANDARD};

/// The scopes of the app.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the reports.
    #[scope("reports")]
    Reports,
}

/// Who called, and what their credential grants.
#[derive(Clone, Debug)]
pub struct Caller {
    name: String,
    scopes: Vec<String>,
}

/// `a == b` without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A service key in `x-api-key`.
pub struct ServiceKey;

impl Credential for ServiceKey {
    type Principal = Caller;
    const SCHEME_NAME: &'static str = "ServiceKey";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-api-key".into() }
    }

    fn granted_scopes(caller: &Caller) -> &[String] {
        &caller.scopes
    }
}

impl<S: Send + Sync> Authenticate<S> for ServiceKey {
    async fn verify(key: &str, _state: &S) -> Result<(Caller, Lifetime), AuthError> {
        let (name, scopes) = match key {
            key if same(key.as_bytes(), b"reporter-key") => ("reporter", vec!["reports".to_owned()]),
            key if same(key.as_bytes(), b"guest-key") => ("guest", vec![]),
            _ => return Err(AuthError::invalid_credentials()),
        };
        Ok((Caller { name: name.to_owned(), scopes }, Lifetime::unbounded()))
    }
}

/// HTTP Basic, for the operators.
pub struct Operator;

impl Credential for Operator {
    type Principal = Caller;
    const SCHEME_NAME: &'static str = "Operators";

    fn scheme() -> SchemeKind {
        SchemeKind::HttpBasic
    }

    fn granted_scopes(caller: &Caller) -> &[String] {
        &caller.scopes
    }
}

impl<S: Send + Sync> Authenticate<S> for Operator {
    async fn verify(credentials: &str, _state: &S) -> Result<(Caller, Lifetime), AuthError> {
        let decoded = STANDARD.decode(credentials).map_err(|_| AuthError::invalid_credentials())?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::invalid_credentials())?;
        let (user, password) = decoded.split_once(':').ok_or(AuthError::invalid_credentials())?;
        if !(same(user.as_bytes(), b"olga") && same(password.as_bytes(), b"correct horse")) {
            return Err(AuthError::invalid_credentials());
        }
        Ok((Caller { name: user.to_owned(), scopes: vec!["reports".to_owned()] }, Lifetime::unbounded()))
    }
}

/// A backend whose tokens travel as an API key in `x-token`.
#[derive(AuthBackend, Clone)]
#[backend(name = "key_backend", transport = api_key(header = "x-token"), strategy = jwt)]
struct KeyBackend {
    strategy: JwtStrategy,
}

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for KeyBackend {
    fn from_ref(state: &AppState) -> Self {
        KeyBackend { strategy: state.jwt.clone() }
    }
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

#[secured(scopes = ["reports"])]
async fn by_key(Authenticated(caller): Authenticated<ServiceKey>) -> String {
    caller.name
}

#[secured(scopes = ["reports"])]
async fn by_operator(Authenticated(caller): Authenticated<Operator>) -> String {
    caller.name
}

#[secured(scopes = ["reports"])]
async fn by_either(Authenticated(caller): Authenticated<(ServiceKey, Operator)>) -> String {
    caller.name
}

#[secured(scopes = ["reports"])]
async fn by_token(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[secured(scopes = ["reports"])]
async fn by_backend(Authenticated(principal): Authenticated<KeyBackend>) -> String {
    principal.subject.clone()
}

/// The app on a loopback port, and a JWT strategy for the bearer route.
async fn serve() -> (SocketAddr, JwtStrategy) {
    let jwt = JwtStrategy::builder(auth_core::strategies::JwtKey::hs256(b"credential-challenges-0123456789abcdef"))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/key", get(by_key))
        .route("/operator", get(by_operator))
        .route("/either", get(by_either))
        .route("/token", get(by_token))
        .route("/backend", get(by_backend))
        .with_state(AppState { jwt: jwt.clone() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, jwt)
}

/// Status, body and `WWW-Authenticate` values of `GET path` with `headers`.
async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<String>) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges =
        response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    (status, response.text().await.unwrap(), challenges)
}

const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;
const NOT_ENOUGH: &str = r#"{"detail":"Not enough permissions"}"#;
const BASIC: &str = r#"Basic realm="Operators", charset="UTF-8""#;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test]
async fn a_missing_or_bad_api_key_is_not_challenged_with_bearer() {
    let (addr, _) = serve().await;
    assert_eq!(get_with(addr, "/key", &[("x-api-key", "reporter-key")]).await.1, "reporter");

    let missing = get_with(addr, "/key", &[]).await;
    assert_eq!(missing, (401, NOT_AUTHENTICATED.to_owned(), vec!["APIKey".to_owned()]));
    for bad in ["forged-key", "reporter-ke", "reporter-keyy"] {
        let refused = get_with(addr, "/key", &[("x-api-key", bad)]).await;
        assert_eq!(refused, (401, INVALID.to_owned(), vec!["APIKey".to_owned()]), "{bad}");
    }
    // The key in another place, or the bearer scheme, is no key.
    let bearer = get_with(addr, "/key", &[("authorization", "Bearer reporter-key")]).await;
    assert_eq!(bearer, (401, NOT_AUTHENTICATED.to_owned(), vec!["APIKey".to_owned()]));
    // A key without the scope: the key scheme's own challenge too (issue 22), never `Bearer`.
    let guest = get_with(addr, "/key", &[("x-api-key", "guest-key")]).await;
    assert_eq!((guest.0, guest.1.as_str()), (401, NOT_ENOUGH));
    assert_eq!(guest.2, ["APIKey"]);
}

#[tokio::test]
async fn a_basic_credential_is_challenged_with_its_realm() {
    let (addr, _) = serve().await;
    let good = basic("olga", "correct horse");
    assert_eq!(get_with(addr, "/operator", &[("authorization", &good)]).await.1, "olga");
    // The scheme matches case-insensitively (RFC 9110 §11.1).
    let lower = good.replacen("Basic", "basic", 1);
    assert_eq!(get_with(addr, "/operator", &[("authorization", &lower)]).await.1, "olga");

    let missing = get_with(addr, "/operator", &[]).await;
    assert_eq!(missing, (401, NOT_AUTHENTICATED.to_owned(), vec![BASIC.to_owned()]));
    let wrong_scheme = get_with(addr, "/operator", &[("authorization", "Bearer abc")]).await;
    assert_eq!(wrong_scheme, (401, NOT_AUTHENTICATED.to_owned(), vec![BASIC.to_owned()]));
    for bad in
        [basic("olga", "wrong"), basic("eve", "correct horse"), "Basic !!!".to_owned(), "Basic b2xnYQ==".to_owned()]
    {
        let refused = get_with(addr, "/operator", &[("authorization", &bad)]).await;
        assert_eq!(refused, (401, INVALID.to_owned(), vec![BASIC.to_owned()]), "{bad}");
    }
}

#[tokio::test]
async fn a_key_or_a_password_on_one_route() {
    let (addr, _) = serve().await;
    let good = basic("olga", "correct horse");
    assert_eq!(get_with(addr, "/either", &[("x-api-key", "reporter-key")]).await.1, "reporter");
    assert_eq!(get_with(addr, "/either", &[("authorization", &good)]).await.1, "olga");
    // Both: the first wins.
    let both = get_with(addr, "/either", &[("x-api-key", "reporter-key"), ("authorization", &good)]).await;
    assert_eq!(both.1, "reporter");
    // A bad key does not hide a good password.
    assert_eq!(get_with(addr, "/either", &[("x-api-key", "forged"), ("authorization", &good)]).await.1, "olga");

    // Neither: the first credential's challenge.
    let missing = get_with(addr, "/either", &[]).await;
    assert_eq!(missing, (401, NOT_AUTHENTICATED.to_owned(), vec!["APIKey".to_owned()]));
    // A bad one only: the challenge of the credential that failed, never `Bearer`.
    let bad_key = get_with(addr, "/either", &[("x-api-key", "forged")]).await;
    assert_eq!(bad_key, (401, INVALID.to_owned(), vec!["APIKey".to_owned()]));
    let bad_password = get_with(addr, "/either", &[("authorization", &basic("olga", "wrong"))]).await;
    assert_eq!(bad_password, (401, INVALID.to_owned(), vec![BASIC.to_owned()]));
}

#[tokio::test]
async fn a_bearer_token_is_challenged_as_before() {
    let (addr, jwt) = serve().await;
    let token = jwt.issue("alice", &["reports"]).unwrap();
    assert_eq!(get_with(addr, "/token", &[("authorization", &format!("Bearer {token}"))]).await.1, "alice");
    let missing = get_with(addr, "/token", &[]).await;
    assert_eq!(missing, (401, NOT_AUTHENTICATED.to_owned(), vec!["Bearer".to_owned()]));
    let forged = get_with(addr, "/token", &[("authorization", "Bearer not-a-jwt")]).await;
    assert_eq!(forged, (401, INVALID.to_owned(), vec![r#"Bearer scope="reports""#.to_owned()]));
}

#[tokio::test]
async fn a_backend_api_key_is_challenged_as_an_api_key() {
    let (addr, jwt) = serve().await;
    let token = jwt.issue("alice", &["reports"]).unwrap();
    assert_eq!(get_with(addr, "/backend", &[("x-token", &token)]).await.1, "alice");
    let missing = get_with(addr, "/backend", &[]).await;
    assert_eq!(missing, (401, NOT_AUTHENTICATED.to_owned(), vec!["APIKey".to_owned()]));
    let forged = get_with(addr, "/backend", &[("x-token", "not-a-jwt")]).await;
    assert_eq!(forged, (401, INVALID.to_owned(), vec!["APIKey".to_owned()]));
}
