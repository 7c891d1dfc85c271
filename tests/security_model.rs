//! The typed security model, end to end: credentials written against the `Credential` trait
//! in this file (with no other code: no scope check, no `Option` impl, no OpenAPI impl), then
//! any/all of schemes and of scopes, each enforced over HTTP and documented per operation from
//! the same declaration.

use std::collections::BTreeMap;

use auth_core::{
    __private::Requirement,
    AuthError, Authenticate, Authenticated, Credential, Depends, Scopes, secured,
    security::{ApiKeyLocation, Lifetime, SchemeKind},
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    routing::get,
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
/// The scopes of this test app.
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read and write items.
    #[scope("items")]
    Items,
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

/// Who called, and what their key grants.
#[derive(Clone, Debug)]
pub struct Caller {
    name: String,
    scopes: Vec<String>,
}

/// Verifies `<name> <scope>…`: the key names the caller and lists what it grants.
fn verify_key(value: &str) -> Result<(Caller, Lifetime), AuthError> {
    let mut words = value.split_whitespace();
    let name = words.next().filter(|name| *name != "forged").ok_or(AuthError::invalid_credentials())?;
    Ok((Caller { name: name.to_owned(), scopes: words.map(str::to_owned).collect() }, Lifetime::unbounded()))
}

/// A key in `x-key-a`.
pub struct KeyA;

impl Credential for KeyA {
    type Principal = Caller;
    const SCHEME_NAME: &'static str = "KeyA";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-key-a".into() }
    }

    fn granted_scopes(caller: &Caller) -> &[String] {
        &caller.scopes
    }
}

impl<S: Send + Sync> Authenticate<S> for KeyA {
    async fn verify(key: &str, _state: &S) -> Result<(Caller, Lifetime), AuthError> {
        verify_key(key)
    }
}

/// A key in `x-key-b`.
pub struct KeyB;

impl Credential for KeyB {
    type Principal = Caller;
    const SCHEME_NAME: &'static str = "KeyB";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-key-b".into() }
    }

    fn granted_scopes(caller: &Caller) -> &[String] {
        &caller.scopes
    }
}

impl<S: Send + Sync> Authenticate<S> for KeyB {
    async fn verify(key: &str, _state: &S) -> Result<(Caller, Lifetime), AuthError> {
        verify_key(key)
    }
}

/// Either key: the first that authenticates wins.
#[utoipa::path(get, path = "/either-scheme", responses((status = 200, description = "The caller")))]
#[secured(scopes = ["items"])]
async fn either_scheme(Authenticated(caller): Authenticated<(KeyA, KeyB)>) -> String {
    caller.name
}

/// Both keys.
#[utoipa::path(get, path = "/both-schemes", responses((status = 200, description = "Both callers")))]
#[secured(scopes = ["items"])]
async fn both_schemes(a: Authenticated<KeyA>, b: Authenticated<KeyB>) -> String {
    format!("{}+{}", a.name, b.name)
}

/// Either scope on one scheme.
#[utoipa::path(get, path = "/either-scope", responses((status = 200, description = "The caller")))]
#[secured(scopes = ["items:read"] | ["admin"])]
async fn either_scope(Authenticated(caller): Authenticated<KeyA>) -> String {
    caller.name
}

/// A mandatory key beside an optional one.
#[utoipa::path(get, path = "/optional-beside", responses((status = 200, description = "The callers")))]
#[secured]
async fn optional_beside(a: Authenticated<KeyA>, b: Option<Authenticated<KeyB>>) -> String {
    format!("{}+{}", a.name, b.map(|b| b.0.name).unwrap_or_default())
}

/// A dependency adding `me` under a handler with alternatives.
#[secured(scopes = ["me"])]
async fn current_caller(Authenticated(caller): Authenticated<KeyA>) -> Caller {
    caller
}

/// Alternatives multiply along the chain: `items:read me` or `admin me`.
#[utoipa::path(get, path = "/chained", responses((status = 200, description = "The caller")))]
#[secured(scopes = ["items:read"] | ["admin"])]
async fn chained(Depends(caller): Depends<current_caller>) -> String {
    caller.name
}

fn app() -> Router {
    Router::new()
        .route("/either-scheme", get(either_scheme))
        .route("/both-schemes", get(both_schemes))
        .route("/either-scope", get(either_scope))
        .route("/optional-beside", get(optional_beside))
        .route("/chained", get(chained))
}

async fn call(path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, body, challenge)
}

const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const NOT_ENOUGH: &str = r#"{"detail":"Not enough permissions"}"#;
const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;

#[tokio::test]
async fn either_scheme_is_enforced() {
    // Each alternative alone.
    assert_eq!(call("/either-scheme", &[("x-key-a", "ann items")]).await.1, "ann");
    assert_eq!(call("/either-scheme", &[("x-key-b", "bob items")]).await.1, "bob");
    // Both: the first wins.
    assert_eq!(call("/either-scheme", &[("x-key-a", "ann items"), ("x-key-b", "bob items")]).await.1, "ann");
    // Neither.
    let (status, body, challenge) = call("/either-scheme", &[]).await;
    assert_eq!(
        (status, body.as_str(), challenge.as_deref()),
        (StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED, Some("APIKey"))
    );
    // A bad first key and no second: the bad key is what is reported.
    let (status, body, _) = call("/either-scheme", &[("x-key-a", "forged items")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, INVALID));
    // The scope is checked on the credential that authenticated.
    let (status, body, _) = call("/either-scheme", &[("x-key-a", "ann me"), ("x-key-b", "bob items")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, NOT_ENOUGH));
}

#[tokio::test]
async fn both_schemes_are_enforced() {
    let ok = call("/both-schemes", &[("x-key-a", "ann items"), ("x-key-b", "bob items")]).await;
    assert_eq!((ok.0, ok.1.as_str()), (StatusCode::OK, "ann+bob"));
    for headers in [&[("x-key-a", "ann items")][..], &[("x-key-b", "bob items")], &[]] {
        let (status, body, _) = call("/both-schemes", headers).await;
        assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, NOT_AUTHENTICATED), "{headers:?}");
    }
    // Each credential carries the scopes in force where it is read.
    let (status, body, _) = call("/both-schemes", &[("x-key-a", "ann items"), ("x-key-b", "bob")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, NOT_ENOUGH));
}

#[tokio::test]
async fn either_scope_is_enforced() {
    assert_eq!(call("/either-scope", &[("x-key-a", "ann items:read")]).await.0, StatusCode::OK);
    assert_eq!(call("/either-scope", &[("x-key-a", "ann admin")]).await.0, StatusCode::OK);
    assert_eq!(call("/either-scope", &[("x-key-a", "ann admin items:read")]).await.0, StatusCode::OK);
    let (status, body, challenge) = call("/either-scope", &[("x-key-a", "ann items me")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, NOT_ENOUGH));
    // The challenge is the API key scheme's own (issue 22): `APIKey`, not a `Bearer` one (a
    // bearer credential's would name the first alternative's scopes, `Bearer scope="items:read"`).
    assert_eq!(challenge.as_deref(), Some("APIKey"));
}

#[tokio::test]
async fn alternatives_multiply_along_the_chain() {
    assert_eq!(call("/chained", &[("x-key-a", "ann items:read me")]).await.0, StatusCode::OK);
    assert_eq!(call("/chained", &[("x-key-a", "ann admin me")]).await.0, StatusCode::OK);
    let (status, _, challenge) = call("/chained", &[("x-key-a", "ann admin")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("APIKey"));
}

#[tokio::test]
async fn an_optional_credential_beside_a_mandatory_one() {
    assert_eq!(call("/optional-beside", &[("x-key-a", "ann")]).await.1, "ann+");
    assert_eq!(call("/optional-beside", &[("x-key-a", "ann"), ("x-key-b", "bob")]).await.1, "ann+bob");
    // A bad optional credential is as good as none; the mandatory one still rejects.
    assert_eq!(call("/optional-beside", &[("x-key-a", "ann"), ("x-key-b", "forged")]).await.1, "ann+");
    assert_eq!(call("/optional-beside", &[("x-key-b", "bob")]).await.0, StatusCode::UNAUTHORIZED);
}

/// Every operation's `security`, by path.
fn security() -> BTreeMap<String, Value> {
    let (_, mut api) = OpenApiRouter::<()>::new()
        .routes(auth_core::routes!(either_scheme))
        .routes(auth_core::routes!(both_schemes))
        .routes(auth_core::routes!(either_scope))
        .routes(auth_core::routes!(optional_beside))
        .routes(auth_core::routes!(chained))
        .split_for_parts();
    auth_core::openapi::SecurityDoc::new().apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    let mut out: BTreeMap<String, Value> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| (path.clone(), item["get"]["security"].clone()))
        .collect();
    out.insert("components".to_owned(), doc["components"]["securitySchemes"].clone());
    out
}

#[test]
fn any_and_all_are_documented() {
    let security = security();
    assert_eq!(security["/either-scheme"], json!([{ "KeyA": ["items"] }, { "KeyB": ["items"] }]));
    assert_eq!(security["/both-schemes"], json!([{ "KeyA": ["items"], "KeyB": ["items"] }]));
    assert_eq!(security["/either-scope"], json!([{ "KeyA": ["items:read"] }, { "KeyA": ["admin"] }]));
    assert_eq!(security["/optional-beside"], json!([{ "KeyA": [], "KeyB": [] }, { "KeyA": [] }]));
    assert_eq!(security["/chained"], json!([{ "KeyA": ["items:read", "me"] }, { "KeyA": ["admin", "me"] }]));
    assert_eq!(security["components"]["KeyA"], json!({ "type": "apiKey", "in": "header", "name": "x-key-a" }));
    insta::assert_json_snapshot!("security_arrays", security);
}

#[test]
fn the_requirement_is_one_typed_value() {
    let requirement = Requirement::of::<both_schemes>();
    let alternative = &requirement.alternatives()[0];
    let names: Vec<&str> = alternative.entries().map(|(credential, _)| credential.scheme_name()).collect();
    assert_eq!(names, ["KeyA", "KeyB"]);
    assert_eq!(requirement.credentials().len(), 2);
    assert!(!requirement.is_anonymous());
}
