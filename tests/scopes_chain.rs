//! Behaviour of `#[secured]` dependency chains through a real axum `Router`: the scope lists
//! the SPEC requires, sibling isolation, per-request caching and its opt-out, optional
//! dependencies, state, and declarative enforcement.

use std::{
    borrow::Cow,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use auth_core::{
    AuthError, Authenticate, Authenticated, Challenge, Credential, Depends, Scopes, SecurityScopes, secured,
    security::{ApiKeyLocation, Lifetime, SchemeKind},
};
use axum::{
    Json, Router,
    body::Body,
    extract::{FromRequestParts, State},
    http::{Request, StatusCode, header, request::Parts},
    routing::get,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
/// The scopes of this test app.
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

/// One dependency run: who ran, and the scopes it saw.
type Seen = (&'static str, Vec<&'static str>);

/// What the dependencies saw, per request.
#[derive(Clone, Default)]
struct AppState {
    seen: Arc<Mutex<Vec<Seen>>>,
    runs: Arc<AtomicUsize>,
}

impl AppState {
    fn record(&self, who: &'static str, scopes: &SecurityScopes) {
        self.seen.lock().unwrap().push((who, scopes.scopes().to_vec()));
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// A simple in-test credential: `x-user` names the principal, `x-grant` lists granted scopes.
/// It only reads and verifies: `Authenticated<TestCredential>` checks the scopes.
struct TestCredential {
    user: String,
    granted: Vec<String>,
}

impl Credential for TestCredential {
    type Principal = TestCredential;
    const SCHEME_NAME: &'static str = "TestCredential";

    fn scheme() -> SchemeKind {
        SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-user".into() }
    }

    fn granted_scopes(credential: &TestCredential) -> &[String] {
        &credential.granted
    }

    fn challenge() -> Challenge {
        Challenge::Bearer
    }

    /// `x-user`, and the scopes `x-grant` lists.
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        let header = |name| parts.headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
        let user = header("x-user").ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        Ok(Cow::Owned(format!("{user}\n{}", header("x-grant").unwrap_or_default())))
    }
}

impl<S: Send + Sync> Authenticate<S> for TestCredential {
    async fn verify(credential: &str, _state: &S) -> Result<(Self, Lifetime), AuthError> {
        let (user, granted) = credential.split_once('\n').unwrap_or((credential, ""));
        let granted = granted.split_whitespace().map(str::to_owned).collect();
        Ok((Self { user: user.to_owned(), granted }, Lifetime::unknown()))
    }
}

#[derive(Clone, Debug, serde::Serialize)]
struct User {
    name: String,
    disabled: bool,
}

#[secured]
async fn current_user(
    State(app): State<AppState>,
    scopes: SecurityScopes,
    Authenticated(credential): Authenticated<TestCredential>,
) -> Result<User, AuthError> {
    app.record("current_user", &scopes);
    app.runs.fetch_add(1, Ordering::SeqCst);
    match credential.user.as_str() {
        "johndoe" => Ok(User { name: "johndoe".into(), disabled: false }),
        "alice" => Ok(User { name: "alice".into(), disabled: true }),
        _ => Err(AuthError::InvalidCredentials { scopes }),
    }
}

#[secured(scopes = ["me"])]
async fn current_active_user(
    State(app): State<AppState>,
    scopes: SecurityScopes,
    Depends(user): Depends<current_user>,
) -> Result<User, AuthError> {
    app.record("current_active_user", &scopes);
    if user.disabled { Err(AuthError::InactiveUser) } else { Ok(user) }
}

#[secured(scopes = ["items"])]
async fn read_own_items(Depends(user): Depends<current_active_user>) -> Json<serde_json::Value> {
    Json(serde_json::json!([{ "item_id": "Foo", "owner": user.name }]))
}

#[secured]
async fn read_users_me(Depends(user): Depends<current_active_user>) -> Json<User> {
    Json(user)
}

async fn read_system_status(Depends(_user): Depends<current_user>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

// Siblings: two dependencies of one handler, each with its own scopes, over one leaf.
#[secured(use_cache = false)]
async fn leaf(State(app): State<AppState>, scopes: SecurityScopes) -> &'static str {
    app.record("leaf", &scopes);
    "leaf"
}

#[secured(scopes = ["me"])]
async fn left(Depends(_leaf): Depends<leaf>) {}

#[secured(scopes = ["admin"])]
async fn right(Depends(_leaf): Depends<leaf>) {}

#[secured(scopes = ["items"])]
async fn siblings(Depends(()): Depends<left>, Depends(()): Depends<right>, Depends(_leaf): Depends<leaf>) {}

// Caching: a counted dependency reached twice per request.
#[secured]
async fn counted(State(app): State<AppState>) -> usize {
    app.runs.fetch_add(1, Ordering::SeqCst) + 1
}

#[secured(use_cache = false)]
async fn counted_uncached(State(app): State<AppState>) -> usize {
    app.runs.fetch_add(1, Ordering::SeqCst) + 1
}

#[secured]
async fn via_plain(Depends(n): Depends<counted>) -> usize {
    n
}

#[secured(scopes = ["admin"])]
async fn via_admin(Depends(n): Depends<counted>) -> usize {
    n
}

#[secured]
async fn same_set(Depends(a): Depends<counted>, Depends(b): Depends<via_plain>) -> String {
    format!("{a} {b}")
}

#[secured]
async fn different_sets(Depends(a): Depends<via_plain>, Depends(b): Depends<via_admin>) -> String {
    format!("{a} {b}")
}

#[secured]
async fn opted_out(Depends(a): Depends<counted_uncached>, Depends(b): Depends<counted_uncached>) -> String {
    format!("{a} {b}")
}

// Optional: never rejects.
#[secured(scopes = ["me"])]
async fn maybe_user(user: Option<Depends<current_user>>) -> String {
    match user {
        Some(Depends(user)) => user.name,
        None => "anonymous".to_owned(),
    }
}

// The handler's own SecurityScopes.
#[secured(scopes = ["items", "me"])]
async fn own_scopes(scopes: SecurityScopes) -> String {
    scopes.scope_str()
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/users/me/items/", get(read_own_items))
        .route("/users/me/", get(read_users_me))
        .route("/status/", get(read_system_status))
        .route("/siblings", get(siblings))
        .route("/same-set", get(same_set))
        .route("/different-sets", get(different_sets))
        .route("/opted-out", get(opted_out))
        .route("/maybe", get(maybe_user))
        .route("/own", get(own_scopes))
        .with_state(state)
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    body: String,
}

async fn call(state: &AppState, path: &str, user: Option<&str>, grant: &str) -> Reply {
    let mut request = Request::get(path);
    if let Some(user) = user {
        request = request.header("x-user", user).header("x-grant", grant);
    }
    let response = app(state.clone()).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let www_authenticate = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply { status, www_authenticate, body }
}

#[tokio::test]
async fn read_own_items_chain_sees_items_then_me() {
    let state = AppState::default();
    let reply = call(&state, "/users/me/items/", Some("johndoe"), "me items").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, r#"[{"item_id":"Foo","owner":"johndoe"}]"#);
    assert_eq!(state.take(), vec![("current_user", vec!["items", "me"]), ("current_active_user", vec!["items", "me"])]);
}

#[tokio::test]
async fn read_users_me_chain_sees_me() {
    let state = AppState::default();
    let reply = call(&state, "/users/me/", Some("johndoe"), "me").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(state.take(), vec![("current_user", vec!["me"]), ("current_active_user", vec!["me"])]);
}

#[tokio::test]
async fn read_system_status_chain_sees_nothing() {
    let state = AppState::default();
    let reply = call(&state, "/status/", Some("johndoe"), "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(state.take(), vec![("current_user", vec![])]);
}

#[tokio::test]
async fn missing_scope_is_rejected_before_the_handler_runs() {
    let state = AppState::default();
    let reply = call(&state, "/users/me/items/", Some("johndoe"), "me").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, r#"{"detail":"Not enough permissions"}"#);
    assert_eq!(reply.www_authenticate.as_deref(), Some(r#"Bearer scope="items me""#));
    // current_user ran (the lookup comes first, as in FastAPI); current_active_user did not.
    assert_eq!(state.take(), vec![("current_user", vec!["items", "me"])]);
}

#[tokio::test]
async fn unknown_user_error_comes_before_the_scope_error() {
    let state = AppState::default();
    let reply = call(&state, "/users/me/", Some("nobody"), "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, r#"{"detail":"Could not validate credentials"}"#);
    assert_eq!(reply.www_authenticate.as_deref(), Some(r#"Bearer scope="me""#));
}

#[tokio::test]
async fn inactive_user_and_missing_credential() {
    let state = AppState::default();
    let reply = call(&state, "/users/me/", Some("alice"), "me").await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::BAD_REQUEST, r#"{"detail":"Inactive user"}"#));
    let reply = call(&state, "/users/me/", None, "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, r#"{"detail":"Not authenticated"}"#);
    assert_eq!(reply.www_authenticate.as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn siblings_do_not_leak_into_each_other() {
    let state = AppState::default();
    let reply = call(&state, "/siblings", None, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        state.take(),
        vec![("leaf", vec!["items", "me"]), ("leaf", vec!["items", "admin"]), ("leaf", vec!["items"])]
    );
}

#[tokio::test]
async fn same_scope_set_runs_once_per_request() {
    let state = AppState::default();
    let reply = call(&state, "/same-set", None, "").await;
    assert_eq!(reply.body, "1 1");
    assert_eq!(state.runs.load(Ordering::SeqCst), 1);
    // A new request runs it again: the cache lives for one request only.
    let reply = call(&state, "/same-set", None, "").await;
    assert_eq!(reply.body, "2 2");
    assert_eq!(state.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn different_scope_sets_run_once_per_set() {
    let state = AppState::default();
    let reply = call(&state, "/different-sets", None, "").await;
    assert_eq!(reply.body, "1 2");
    assert_eq!(state.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn opt_out_runs_every_time() {
    let state = AppState::default();
    let reply = call(&state, "/opted-out", None, "").await;
    assert_eq!(reply.body, "1 2");
    assert_eq!(state.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn optional_dependency_never_rejects() {
    let state = AppState::default();
    for (user, grant, expected) in [
        (None, "", "anonymous"),
        (Some("johndoe"), "", "anonymous"),
        (Some("nobody"), "me", "anonymous"),
        (Some("johndoe"), "me", "johndoe"),
    ] {
        let reply = call(&state, "/maybe", user, grant).await;
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, expected), "{user:?} {grant:?}");
    }
}

#[tokio::test]
async fn handler_sees_its_own_scopes() {
    let reply = call(&AppState::default(), "/own", None, "").await;
    assert_eq!(reply.body, "items me");
}

#[test]
fn scopes_declaration_parses_formats_and_serializes() {
    use auth_core::ScopeDeclaration;
    assert_eq!(Scope::ALL.iter().map(|s| s.name).collect::<Vec<_>>(), ["me", "items", "admin"]);
    assert_eq!(Scope::ALL[0].description, "Read information about the current user.");
    assert_eq!("items".parse::<Scope>(), Ok(Scope::Items));
    assert!("itemz".parse::<Scope>().is_err());
    assert_eq!(Scope::Admin.to_string(), "admin");
    assert_eq!(serde_json::to_string(&[Scope::Me, Scope::Items]).unwrap(), r#"["me","items"]"#);
    assert_eq!(serde_json::from_str::<Vec<Scope>>(r#"["admin","me"]"#).unwrap(), [Scope::Admin, Scope::Me]);
    assert!(serde_json::from_str::<Scope>(r#""root""#).is_err());
}

#[tokio::test]
async fn rfc6750_style_is_a_choice() {
    let app = app(AppState::default()).layer(axum::middleware::map_response(auth_core::AuthError::rfc6750));
    let request = |grant: &str| {
        Request::get("/users/me/items/")
            .header("x-user", "johndoe")
            .header("x-grant", grant)
            .body(Body::empty())
            .unwrap()
    };
    let response = app.clone().oneshot(request("me")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], r#"Bearer error="insufficient_scope", scope="items me""#);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"detail":"Not enough permissions"}"#);

    let response = app.clone().oneshot(request("me items")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// A dependency written by hand, without `#[secured]`: `Dependency` and `Resolve` implemented for
// a type of the app's own. It does not describe its parameters, so the handler's plan caches
// every cacheable output of the chain.
struct HandCounted;

impl auth_core::__private::Dependency for HandCounted {
    type Output = usize;
    const SCOPES: auth_core::__private::RequiredScopes = auth_core::__private::RequiredScopes::all(&["admin"]);
    const USE_CACHE: bool = true;
}

impl auth_core::__private::Resolve<AppState> for HandCounted {
    async fn run(parts: &mut Parts, state: &AppState) -> Result<usize, axum::response::Response> {
        state.record("hand_counted", &SecurityScopes::current(parts));
        Ok(state.runs.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn to_cache(output: &usize) -> Option<auth_core::__private::CacheEntry> {
        Some(auth_core::__private::CacheEntry::new(output))
    }

    fn from_cache(entry: &auth_core::__private::CacheEntry) -> Option<usize> {
        entry.get::<usize>()
    }
}

#[secured]
async fn via_hand(Depends(n): Depends<HandCounted>) -> usize {
    n
}

#[secured(scopes = ["me"])]
async fn hand_twice(Depends(a): Depends<HandCounted>, Depends(b): Depends<via_hand>) -> String {
    format!("{a} {b}")
}

// An extractor of the app's own that resolves a dependency inside, and says so through
// `Describe`, so the handler's plan (and its OpenAPI security) sees it.
struct CountedTwice(usize);

impl FromRequestParts<AppState> for CountedTwice {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Depends(n) = Depends::<counted>::from_request_parts(parts, state).await?;
        Ok(Self(n))
    }
}

impl auth_core::__private::Describe for CountedTwice {
    fn describe(walk: &mut auth_core::__private::Walk) {
        <Depends<counted> as auth_core::__private::Describe>::describe(walk);
    }
}

#[secured]
async fn wrapped(Depends(a): Depends<counted>, CountedTwice(b): CountedTwice) -> String {
    format!("{a} {b}")
}

fn more_routes(state: AppState) -> Router {
    Router::new()
        .route("/hand", get(hand_twice))
        .route("/wrapped", get(wrapped))
        .route("/same-set", get(same_set))
        .with_state(state)
}

async fn call_more(state: &AppState, path: &str) -> String {
    let response = more_routes(state.clone()).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn a_hand_written_dependency_chains_and_is_cached() {
    let state = AppState::default();
    assert_eq!(call_more(&state, "/hand").await, "1 1");
    assert_eq!(state.runs.load(Ordering::SeqCst), 1);
    // Its scopes add up like any link's: the handler's `me`, then its own `admin`.
    assert_eq!(state.take(), vec![("hand_counted", vec!["me", "admin"])]);
    // It reads no credential the walk can see, so the handler documents no security.
    assert!(auth_core::__private::Requirement::of::<hand_twice>().is_anonymous());
}

#[tokio::test]
async fn a_dependency_inside_a_documented_extractor_is_cached() {
    let state = AppState::default();
    assert_eq!(call_more(&state, "/wrapped").await, "1 1");
    assert_eq!(state.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_several_threads_share_one_plan() {
    // The plan is built once per handler and shared by every router and thread; each request
    // still runs a twice-reached dependency once.
    let state = AppState::default();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { call_more(&state, "/same-set").await })
        })
        .collect();
    for handle in handles {
        let body = handle.await.unwrap();
        let (a, b) = body.split_once(' ').unwrap();
        assert_eq!(a, b, "one run per request: {body}");
    }
    assert_eq!(state.runs.load(Ordering::SeqCst), 4);
}

// Mutation testing (TESTING.md): a hand-written dependency that opts out of the cache runs every
// time it is reached, even though it can be cached and the plan cannot see inside the chain.
struct HandUncached;

impl auth_core::__private::Dependency for HandUncached {
    type Output = usize;
    const SCOPES: auth_core::__private::RequiredScopes = auth_core::__private::RequiredScopes::all(&[]);
    const USE_CACHE: bool = false;
}

impl auth_core::__private::Resolve<AppState> for HandUncached {
    async fn run(_parts: &mut Parts, state: &AppState) -> Result<usize, axum::response::Response> {
        Ok(state.runs.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn to_cache(output: &usize) -> Option<auth_core::__private::CacheEntry> {
        Some(auth_core::__private::CacheEntry::new(output))
    }

    fn from_cache(entry: &auth_core::__private::CacheEntry) -> Option<usize> {
        entry.get::<usize>()
    }
}

#[secured]
async fn hand_uncached_twice(Depends(a): Depends<HandUncached>, Depends(b): Depends<HandUncached>) -> String {
    format!("{a} {b}")
}

#[tokio::test]
async fn a_hand_written_dependency_that_opts_out_runs_every_time() {
    let state = AppState::default();
    let app = Router::new().route("/hand-uncached", get(hand_uncached_twice)).with_state(state.clone());
    let response = app.oneshot(Request::get("/hand-uncached").body(Body::empty()).unwrap()).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"1 2");
    assert_eq!(state.runs.load(Ordering::SeqCst), 2);
}

// Mutation testing (TESTING.md): a scope failure inside a nested dependency is raised when that
// dependency returns, with its own (larger) scope set, even when the dependency around it has
// already failed its own check; the outer dependency's body never runs.
#[secured(scopes = ["admin"])]
async fn inner_checked(
    State(app): State<AppState>,
    scopes: SecurityScopes,
    Authenticated(_credential): Authenticated<TestCredential>,
) {
    app.record("inner_checked", &scopes);
}

#[secured(scopes = ["me"])]
async fn outer_checked(
    State(app): State<AppState>,
    scopes: SecurityScopes,
    Authenticated(_credential): Authenticated<TestCredential>,
    Depends(()): Depends<inner_checked>,
) {
    app.record("outer_checked", &scopes);
}

#[secured]
async fn nested_failures(Depends(()): Depends<outer_checked>) -> &'static str {
    "ran"
}

#[tokio::test]
async fn the_innermost_scope_failure_is_raised_first() {
    let state = AppState::default();
    let app = Router::new().route("/nested", get(nested_failures)).with_state(state.clone());
    let request = Request::get("/nested").header("x-user", "johndoe").header("x-grant", "items");
    let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(challenge.as_deref(), Some(r#"Bearer scope="me admin""#));
    // The inner dependency ran (a failure is raised when it returns); the outer one did not.
    assert_eq!(state.take(), vec![("inner_checked", vec!["me", "admin"])]);
}

// Mutation testing (TESTING.md): a dependency's own scope failure is raised when it returns, not
// by a dependency inside it that passed: the outer body runs (as FastAPI runs it), then the
// request is refused with the outer scope set, and the handler never runs.
#[secured(scopes = ["me"])]
async fn outer_lenient(
    State(app): State<AppState>,
    scopes: SecurityScopes,
    Authenticated(_credential): Authenticated<TestCredential>,
    Depends(_n): Depends<counted>,
) {
    app.record("outer_lenient", &scopes);
}

#[secured]
async fn lenient(Depends(()): Depends<outer_lenient>) -> &'static str {
    "ran"
}

#[tokio::test]
async fn a_dependency_fails_when_it_returns_not_when_an_inner_one_does() {
    let state = AppState::default();
    let app = Router::new().route("/lenient", get(lenient)).with_state(state.clone());
    let request = Request::get("/lenient").header("x-user", "johndoe").header("x-grant", "items");
    let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(challenge.as_deref(), Some(r#"Bearer scope="me""#));
    assert_eq!(state.runs.load(Ordering::SeqCst), 1, "the inner dependency ran once");
    assert_eq!(state.take(), vec![("outer_lenient", vec!["me"])]);
}

// Mutation testing (TESTING.md): after a dependency returns, the handler's own credential is
// checked at the handler's level again, so its failure refuses the request at once.
#[secured(scopes = ["admin"])]
async fn after_a_dependency(
    Depends(_n): Depends<counted>,
    Authenticated(_c): Authenticated<TestCredential>,
) -> &'static str {
    "ran"
}

#[tokio::test]
async fn the_handlers_own_check_holds_after_a_dependency() {
    let state = AppState::default();
    let app = Router::new().route("/after", get(after_a_dependency)).with_state(state.clone());
    let request = Request::get("/after").header("x-user", "johndoe").header("x-grant", "items");
    let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(challenge.as_deref(), Some(r#"Bearer scope="admin""#));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"detail":"Not enough permissions"}"#);
}
