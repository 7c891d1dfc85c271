//! Scope implication (`#[scope("admin", implies = [...])]`): the declaration's table, the
//! descriptions OpenAPI shows, and granted scopes closed under implication at run time, for a
//! handler's own scopes, a dependency's, and an optional credential.

use auth_core::{
    Authenticated, Depends, ScopeDeclaration, Scopes, secured,
    strategies::jwt::{Claims, JwtKey, JwtStrategy},
};
use axum::{Router, body::Body, extract::FromRef, http::Request, routing::get};
use tower::ServiceExt;

/// The scopes of this test app.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read notes.
    #[scope("notes:read")]
    NotesRead,
    /// Write notes.
    #[scope("notes:write", implies = ["notes:read"])]
    NotesWrite,
    /// Administer everything.
    #[scope("admin", implies = ["notes:write"])]
    Admin,
    /// Audit.
    #[scope("audit")]
    Audit,
}

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

#[secured(scopes = ["notes:read"])]
async fn read(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[secured(scopes = ["notes:write", "audit"])]
async fn write_and_audit(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

/// A dependency that needs `notes:read`.
#[secured(scopes = ["notes:read"])]
async fn reader(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[secured]
async fn through_dependency(Depends(user): Depends<reader>) -> String {
    user
}

#[secured(scopes = ["notes:read"])]
async fn optional(user: Option<Authenticated<Claims>>) -> &'static str {
    if user.is_some() { "someone" } else { "anonymous" }
}

#[test]
fn the_table_is_the_transitive_closure_and_the_descriptions_say_it() {
    assert_eq!(Scope::ALL[0].implies, &[] as &[&str]);
    assert_eq!(Scope::ALL[1].implies, ["notes:read"]);
    // `admin` → `notes:write` → `notes:read`, in declaration order.
    assert_eq!(Scope::ALL[2].implies, ["notes:read", "notes:write"]);
    assert_eq!(Scope::implied("admin"), ["notes:read", "notes:write"]);
    assert!(Scope::implied("nope").is_empty());
    assert_eq!(Scope::ALL[0].description, "Read notes.");
    assert_eq!(Scope::ALL[2].description, "Administer everything. Implies `notes:read`, `notes:write`.");
    let described: Vec<_> = Scope::descriptions().collect();
    assert_eq!(described[1], ("notes:write", "Write notes. Implies `notes:read`."));
}

#[tokio::test]
async fn granted_scopes_are_closed_under_implication() {
    let jwt = JwtStrategy::builder(JwtKey::hs256("0123456789abcdef".repeat(2))).build().unwrap();
    let app = Router::new()
        .route("/read", get(read))
        .route("/write-and-audit", get(write_and_audit))
        .route("/dependency", get(through_dependency))
        .route("/optional", get(optional))
        .with_state(AppState { jwt: jwt.clone() });
    let call = |path: &'static str, scopes: &'static [&'static str]| {
        let token = jwt.issue("alice", scopes).unwrap();
        let request =
            Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    for path in ["/read", "/dependency"] {
        assert_eq!(call(path, &["notes:read"]).await.0, 200, "{path}");
        assert_eq!(call(path, &["notes:write"]).await.0, 200, "{path}: write implies read");
        assert_eq!(call(path, &["admin"]).await.0, 200, "{path}: admin implies read through write");
        assert_eq!(call(path, &["audit"]).await.0, 401, "{path}: audit implies nothing");
        assert_eq!(call(path, &[]).await.0, 401, "{path}");
    }
    // Implication closes the grant; it does not stand in for a scope nothing implies.
    assert_eq!(call("/write-and-audit", &["admin"]).await.0, 401);
    assert_eq!(call("/write-and-audit", &["admin", "audit"]).await.0, 200);
    assert_eq!(call("/write-and-audit", &["notes:read", "audit"]).await.0, 401);
    // An optional credential is closed the same way.
    assert_eq!(call("/optional", &["admin"]).await.1, "someone");
    assert_eq!(call("/optional", &["audit"]).await.1, "anonymous");
}
