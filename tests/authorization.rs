//! `#[secured(allow = …)]` through a router, with a credential and a loader that count their
//! calls: the credential is verified once however the rule's alternatives branch, the record
//! is loaded once, nothing is loaded when the scopes fail, the denial that says most wins, and a
//! rule in a dependency's position keeps the order.

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use auth_core::{
    AuthError, Authenticate, Credential, Scopes,
    authz::{Authorized, Resource},
    policy, secured,
    security::{ApiKeyLocation, Lifetime, SchemeKind},
};
use axum::{
    Router,
    body::Body,
    http::{Request, request::Parts},
    routing::get,
};
use tower::ServiceExt;

/// The scopes of this test.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read.
    #[scope("read")]
    Read,
    /// Audit.
    #[scope("audit")]
    Audit,
    /// Everything.
    #[scope("admin", implies = ["read", "audit"])]
    Admin,
}

#[derive(Clone, Default)]
struct AppState {
    verified: Arc<AtomicUsize>,
    loads: Arc<AtomicUsize>,
    policy_calls: Arc<AtomicUsize>,
}

/// `x-user: name:scope,scope`, counted.
struct TestKey;

/// Who the key names.
struct User {
    name: String,
    scopes: Vec<String>,
}

impl Credential for TestKey {
    type Principal = User;
    const SCHEME_NAME: &'static str = "TestKey";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-user".into() }
    }

    fn granted_scopes(user: &User) -> &[String] {
        &user.scopes
    }

    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        parts
            .headers
            .get("x-user")
            .and_then(|value| value.to_str().ok())
            .map(Cow::Borrowed)
            .ok_or(AuthError::NotAuthenticated { challenge: auth_core::Challenge::ApiKey })
    }
}

impl Authenticate<AppState> for TestKey {
    async fn verify(key: &str, state: &AppState) -> Result<(User, Lifetime), AuthError> {
        state.verified.fetch_add(1, Ordering::SeqCst);
        let (name, scopes) = key.split_once(':').unwrap_or((key, ""));
        let scopes = scopes.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Ok((User { name: name.to_owned(), scopes }, Lifetime::unbounded()))
    }
}

/// A report, owned by someone, audited or not.
#[derive(Clone, Debug)]
struct Report {
    owner: String,
    public: bool,
}

impl Resource for Report {
    type Id = u32;
    type State = AppState;

    async fn load(id: u32, state: &AppState) -> Result<Option<Report>, AuthError> {
        state.loads.fetch_add(1, Ordering::SeqCst);
        Ok(match id {
            1 => Some(Report { owner: "ann".into(), public: false }),
            2 => Some(Report { owner: "ben".into(), public: true }),
            _ => None,
        })
    }

    async fn load_all(state: &AppState) -> Result<Vec<Report>, AuthError> {
        state.loads.fetch_add(1, Ordering::SeqCst);
        Ok(vec![Report { owner: "ann".into(), public: false }, Report { owner: "ben".into(), public: true }])
    }
}

/// The report's owner.
#[policy]
fn owner(user: &User, report: &Report, state: &AppState) -> bool {
    state.policy_calls.fetch_add(1, Ordering::SeqCst);
    user.name == report.owner
}

/// A public report; a private one is hidden from whoever this policy denies.
#[policy(hide)]
fn public(_user: &User, report: &Report, state: &AppState) -> bool {
    state.policy_calls.fetch_add(1, Ordering::SeqCst);
    report.public
}

/// Four alternatives, of which only the last can allow most callers.
#[secured(scopes = ["read"], allow = owner | scope("audit") | (public & owner) | public)]
async fn read_report(report: Authorized<Report, TestKey>) -> String {
    format!("{} by {}", report.principal().name, report.owner)
}

#[secured(allow = owner | scope("audit"))]
async fn list_reports(reports: Authorized<Vec<Report>, TestKey>) -> String {
    reports.iter().map(|report| report.owner.as_str()).collect::<Vec<_>>().join(",")
}

fn app(state: AppState) -> Router {
    Router::new().route("/reports/{id}", get(read_report)).route("/reports", get(list_reports)).with_state(state)
}

async fn get_as(app: &Router, path: &str, user: Option<&str>) -> (u16, String) {
    let mut request = Request::get(path);
    if let Some(user) = user {
        request = request.header("x-user", user);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// What one request cost: verifications, loads, policy calls.
fn taken(state: &AppState) -> (usize, usize, usize) {
    (
        state.verified.swap(0, Ordering::SeqCst),
        state.loads.swap(0, Ordering::SeqCst),
        state.policy_calls.swap(0, Ordering::SeqCst),
    )
}

#[tokio::test]
async fn the_credential_is_verified_once_and_the_record_loaded_once_however_the_rule_branches() {
    let state = AppState::default();
    let app = app(state.clone());
    // Every alternative denies but the last: one verification, one load, and four policy
    // calls (`owner`; `public` then `owner` in `public & owner`; `public`, which allows).
    let (status, body) = get_as(&app, "/reports/2", Some("cat:read")).await;
    assert_eq!((status, body.as_str()), (200, "cat by ben"));
    assert_eq!(taken(&state), (1, 1, 4));
    // The first alternative allows: the rest is not evaluated.
    let (status, _) = get_as(&app, "/reports/1", Some("ann:read")).await;
    assert_eq!(status, 200);
    assert_eq!(taken(&state), (1, 1, 1));
    // `scope("audit")`, implied by `admin`, allows without any policy beyond the first.
    let (status, _) = get_as(&app, "/reports/1", Some("root:admin")).await;
    assert_eq!(status, 200);
    assert_eq!(taken(&state), (1, 1, 1));
}

#[tokio::test]
async fn the_denial_that_says_most_wins_and_nothing_is_loaded_before_the_scopes() {
    let state = AppState::default();
    let app = app(state.clone());
    // No credential: 401, nothing verified or loaded.
    assert_eq!(get_as(&app, "/reports/1", None).await.0, 401);
    assert_eq!(taken(&state), (0, 0, 0));
    // Without `read`: refused at the scopes, verified once, nothing loaded.
    assert_eq!(get_as(&app, "/reports/1", Some("ann:audit")).await.0, 401);
    assert_eq!(taken(&state), (1, 0, 0));
    // Missing: 404 after one load.
    assert_eq!(get_as(&app, "/reports/9", Some("ann:read")).await, (404, r#"{"detail":"Not Found"}"#.to_owned()));
    assert_eq!(taken(&state).1, 1);
    // ann's private report, for cat: `owner` denies (403), `public` hides (404): every
    // alternative denies, and the visible denial wins, as cat could be told it exists by the
    // rule's other branch. 403.
    let (status, body) = get_as(&app, "/reports/1", Some("cat:read")).await;
    assert_eq!((status, body.as_str()), (403, r#"{"detail":"Not enough permissions"}"#));
}

#[tokio::test]
async fn the_list_is_filtered_by_the_rule_with_one_load_and_one_verification() {
    let state = AppState::default();
    let app = app(state.clone());
    assert_eq!(get_as(&app, "/reports", Some("ann:")).await, (200, "ann".to_owned()));
    assert_eq!(taken(&state), (1, 1, 2));
    assert_eq!(get_as(&app, "/reports", Some("cat:")).await, (200, String::new()));
    assert_eq!(get_as(&app, "/reports", Some("cat:audit")).await, (200, "ann,ben".to_owned()));
    assert_eq!(get_as(&app, "/reports", Some("cat:admin")).await, (200, "ann,ben".to_owned()));
}
