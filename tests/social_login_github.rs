//! Social login with the GitHub preset (issue 23), over real sockets: the app on one port, and a
//! GitHub twin on another (`GitHub` below, an axum server answering GitHub's four endpoints as
//! GitHub documents them), and a client that walks the flow as a browser does.
//!
//! The twin is strict where GitHub is, so the flow only passes when the preset speaks GitHub's
//! dialect: client credentials in the form, `Accept: application/json` (otherwise the token
//! endpoint answers form-encoded), the `redirect_uri` of the authorization, each code once, the
//! PKCE verifier of the challenge, a `User-Agent` and the bearer token at the API, the
//! `user:email` scope for `/user/emails`. A refused exchange is a 200 with an `error`, as at
//! GitHub.
//!
//! Covered: a new user, a returning user, linking by a verified e-mail and refusing an unverified
//! one (GitHub's `verified` of the primary address), linking to a logged-in user (associate),
//! no e-mail, the token endpoint's
//! 200-with-error, a replayed code, a PKCE mismatch, a redirect on the back channel (not
//! followed), the provider down; then refresh tokens (GitHub Apps' expiring user tokens):
//! a refresh, many concurrent callers in one process and in two (one refresh, every caller
//! served with its token), a refused or unreachable refresh. On PostgreSQL too when `DATABASE_URL_POSTGRES` is set.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use auth_core::{
    AuthBackend, AuthError,
    strategies::{DatabaseStrategy, database::sqlx},
    users::{self, Email, Mailer, NoFields, OAuthProvider, UserHooks, UserManager, UserStore},
};
use axum::{
    Form, Json, Router,
    extract::{FromRef, Query, State},
    http::{HeaderMap, StatusCode as AxumStatus, header as axum_header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{Client, StatusCode, Url, header, redirect};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SECRET: [u8; 32] = [42; 32];
const CLIENT_ID: &str = "Iv1.gh-client";
const CLIENT_SECRET: &str = "gh-client-secret";

fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The GitHub twin.

/// A GitHub user: `emails` is `/user/emails` as (address, primary, verified).
#[derive(Clone)]
struct GhUser {
    id: u64,
    login: String,
    public_email: Option<String>,
    emails: Vec<(String, bool, bool)>,
}

impl GhUser {
    fn new(emails: Vec<(String, bool, bool)>) -> Self {
        let mut id = [0u8; 4];
        getrandom::fill(&mut id).unwrap();
        Self {
            id: u64::from(u32::from_le_bytes(id)) + 1,
            login: format!("octo-{}", unique()),
            public_email: None,
            emails,
        }
    }

    /// One primary address.
    fn with_email(email: &str, verified: bool) -> Self {
        // A secondary, verified address listed first: only the primary one counts.
        Self::new(vec![(format!("other-{}@example.com", unique()), false, true), (email.to_owned(), true, verified)])
    }
}

/// An authorization code's grant.
struct Grant {
    login: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
}

#[derive(Default)]
struct GhState {
    users: HashMap<String, GhUser>,
    codes: HashMap<String, Grant>,
    /// access token → (login, scope)
    tokens: HashMap<String, (String, String)>,
    /// live refresh token → (login, scope); a used one is removed (GitHub's are single-use).
    refresh_tokens: HashMap<String, (String, String)>,
    spent_refresh_tokens: HashSet<String>,
    /// GitHub Apps with expiring user tokens: `expires_in` and a `refresh_token`. The first
    /// token lives 30 s, inside the app's refresh skew, so that its first use refreshes it.
    expiring: bool,
    /// The next code exchange answers 200 with this `error`.
    fail_next_exchange: Option<&'static str>,
    /// The token endpoint answers 307 to `/redirected`.
    redirect_token_endpoint: bool,
    redirected_hits: usize,
    exchanges: usize,
    refreshes: usize,
    /// The callback URL registered for the OAuth app: a `redirect_uri` must be on its host and
    /// port, with a path under its path (GitHub's rule).
    registered_redirect: String,
}

#[derive(Clone)]
struct GitHub {
    base: String,
    state: Arc<Mutex<GhState>>,
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// GitHub's error answers at the token endpoint: 200, with an `error`.
fn token_error(error: &str) -> Response {
    Json(json!({
        "error": error,
        "error_description": "The code passed is incorrect or expired.",
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/",
    }))
    .into_response()
}

async fn gh_authorize(
    State(gh): State<GitHub>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let login = headers
        .get_all(axum_header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split("; "))
        .find_map(|pair| pair.strip_prefix("user_session="))
        .map(str::to_owned);
    let Some(login) = login else { return (AxumStatus::OK, "<html>Sign in to GitHub</html>").into_response() };
    let mut state = gh.state.lock().unwrap();
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (AxumStatus::NOT_FOUND, "unknown client").into_response();
    }
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let registered = Url::parse(&state.registered_redirect).unwrap();
    let allowed = Url::parse(&redirect_uri).is_ok_and(|uri| {
        uri.origin() == registered.origin()
            && (uri.path() == registered.path() || uri.path().starts_with(&format!("{}/", registered.path())))
    });
    if !allowed {
        return (AxumStatus::BAD_REQUEST, "The redirect_uri is not associated with this application.").into_response();
    }
    let challenge = query.get("code_challenge").cloned().unwrap_or_default();
    if query.get("code_challenge_method").map(String::as_str) != Some("S256") || challenge.len() != 43 {
        return (AxumStatus::BAD_REQUEST, "PKCE S256 expected by this twin").into_response();
    }
    if !state.users.contains_key(&login) {
        return (AxumStatus::BAD_REQUEST, "unknown user").into_response();
    }
    let code = random_token("code");
    let scope = query.get("scope").cloned().unwrap_or_default();
    state.codes.insert(code.clone(), Grant { login, redirect_uri: redirect_uri.clone(), challenge, scope });
    let mut location = Url::parse(&redirect_uri).unwrap();
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(csrf) = query.get("state") {
        location.query_pairs_mut().append_pair("state", csrf);
    }
    (AxumStatus::FOUND, [(axum_header::LOCATION, location.to_string())]).into_response()
}

async fn gh_access_token(
    State(gh): State<GitHub>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refresh = form.get("grant_type").map(String::as_str) == Some("refresh_token");
    if refresh {
        // Widens the window in which concurrent refreshes of one account overlap.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut state = gh.state.lock().unwrap();
    if state.redirect_token_endpoint {
        return (AxumStatus::TEMPORARY_REDIRECT, [(axum_header::LOCATION, format!("{}/redirected", gh.base))])
            .into_response();
    }
    let json = headers.get(axum_header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return token_error("incorrect_client_credentials");
    }
    let (login, scope) = if refresh {
        state.refreshes += 1;
        let presented = form.get("refresh_token").cloned().unwrap_or_default();
        match state.refresh_tokens.remove(&presented) {
            Some(grant) => {
                state.spent_refresh_tokens.insert(presented);
                grant
            }
            None => return token_error("bad_refresh_token"),
        }
    } else {
        state.exchanges += 1;
        if let Some(error) = state.fail_next_exchange.take() {
            return token_error(error);
        }
        // Single use: a code is gone once presented, right or wrong.
        let Some(grant) = state.codes.remove(form.get("code").map(String::as_str).unwrap_or_default()) else {
            return token_error("bad_verification_code");
        };
        if form.get("redirect_uri") != Some(&grant.redirect_uri) {
            return token_error("redirect_uri_mismatch");
        }
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
            return token_error("bad_verification_code");
        }
        (grant.login, grant.scope)
    };
    let access_token = random_token(if state.expiring { "ghu" } else { "gho" });
    state.tokens.insert(access_token.clone(), (login.clone(), scope.clone()));
    let mut answer = json!({ "access_token": access_token, "token_type": "bearer", "scope": scope.replace(' ', ",") });
    if state.expiring {
        let refresh_token = random_token("ghr");
        state.refresh_tokens.insert(refresh_token.clone(), (login, scope));
        answer["expires_in"] = json!(if refresh { 28_800 } else { 30 });
        answer["refresh_token"] = json!(refresh_token);
        answer["refresh_token_expires_in"] = json!(15_897_600);
    }
    if json {
        Json(answer).into_response()
    } else {
        // GitHub's default answer is form-encoded.
        let mut form = Url::parse("http://form/").unwrap();
        for (key, value) in answer.as_object().unwrap() {
            form.query_pairs_mut().append_pair(key, &value.to_string());
        }
        let body = form.query().unwrap_or_default().to_owned();
        ([(axum_header::CONTENT_TYPE, "application/x-www-form-urlencoded")], body).into_response()
    }
}

/// The user a request's token is for (GitHub takes `Bearer` and `token`), and its scope.
#[allow(clippy::result_large_err)] // a test server's refusal
fn gh_caller(gh: &GitHub, headers: &HeaderMap) -> Result<(GhUser, String), Response> {
    if headers.get(axum_header::USER_AGENT).is_none() {
        // GitHub refuses API requests without a User-Agent.
        return Err((AxumStatus::FORBIDDEN, "Request forbidden by administrative rules.").into_response());
    }
    let auth = headers.get(axum_header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("token ")).unwrap_or_default();
    let state = gh.state.lock().unwrap();
    match state.tokens.get(token) {
        Some((login, scope)) => Ok((state.users[login].clone(), scope.clone())),
        None => Err((AxumStatus::UNAUTHORIZED, Json(json!({ "message": "Bad credentials" }))).into_response()),
    }
}

async fn gh_user(State(gh): State<GitHub>, headers: HeaderMap) -> Response {
    match gh_caller(&gh, &headers) {
        Ok((user, _)) => Json(json!({
            "login": user.login,
            "id": user.id,
            "node_id": "MDQ6VXNlcjE=",
            "type": "User",
            "email": user.public_email,
        }))
        .into_response(),
        Err(response) => response,
    }
}

async fn gh_emails(State(gh): State<GitHub>, headers: HeaderMap) -> Response {
    match gh_caller(&gh, &headers) {
        Ok((_, scope)) if !scope.split([' ', ',']).any(|s| s == "user:email" || s == "user") => {
            (AxumStatus::NOT_FOUND, Json(json!({ "message": "Not Found" }))).into_response()
        }
        Ok((user, _)) => Json(
            user.emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({ "email": email, "primary": primary, "verified": verified, "visibility": null })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(response) => response,
    }
}

async fn gh_redirected(State(gh): State<GitHub>) -> Response {
    gh.state.lock().unwrap().redirected_hits += 1;
    Json(json!({ "access_token": "from-a-redirect", "token_type": "bearer", "scope": "user:email" })).into_response()
}

impl GitHub {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let gh = GitHub { base, state: Arc::default() };
        let router = Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_access_token))
            .route("/redirected", post(gh_redirected).get(gh_redirected))
            .route("/api/v3/user", get(gh_user))
            .route("/api/v3/user/emails", get(gh_emails))
            .with_state(gh.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        gh
    }

    fn api(&self) -> String {
        format!("{}/api/v3", self.base)
    }

    fn add(&self, user: &GhUser) {
        self.state.lock().unwrap().users.insert(user.login.clone(), user.clone());
    }

    fn with<T>(&self, f: impl FnOnce(&mut GhState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Whether `token` works at the API now.
    async fn token_works(&self, token: &str) -> bool {
        let response =
            Client::new().get(format!("{}/user", self.api())).bearer_auth(token).header(header::USER_AGENT, "t").send();
        response.await.unwrap().status() == StatusCode::OK
    }
}

// ---------------------------------------------------------------------------------------------
// The app.

#[derive(Clone, Default)]
struct Hooks;

impl UserHooks for Hooks {
    type Fields = NoFields;
}

#[derive(AuthBackend, Clone)]
#[backend(name = "gh_session", transport = cookie(name = "__Host-gh-session", max_age = 3600), strategy = database)]
struct CookieBackend {
    strategy: DatabaseStrategy,
}

#[derive(Clone, FromRef)]
struct AppState {
    users: UserManager<Hooks>,
    cookie: CookieBackend,
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct App {
    base: String,
    state: AppState,
    provider: OAuthProvider,
    store: UserStore,
    pool: Pool,
    table: String,
    users_table: String,
    suffix: String,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, Default)]
struct Options {
    associate_by_email: bool,
    is_verified_by_default: bool,
}

impl App {
    /// An app whose GitHub provider is `gh` (or whose URLs are `urls`, for a provider down).
    async fn start(gh: &GitHub, options: Options, postgres: Option<String>) -> Self {
        Self::start_at(gh, (gh.base.clone(), gh.api()), options, postgres).await
    }

    async fn start_at(gh: &GitHub, urls: (String, String), options: Options, postgres: Option<String>) -> Self {
        let timeout = Duration::from_secs(10);
        let suffix = unique();
        let (store, tokens, pool, dir, users_table) = match postgres {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("users.db").display());
                let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
                    .unwrap()
                    .create_if_missing(true)
                    .busy_timeout(timeout);
                let pool: sqlx::SqlitePool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect_with(options).await.unwrap();
                (
                    UserStore::builder(pool.clone()),
                    DatabaseStrategy::builder(pool.clone()),
                    Pool::Sqlite(pool),
                    Some(dir),
                    "users".to_owned(),
                )
            }
            Some(url) => {
                let pool: sqlx::PgPool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect(&url).await.unwrap();
                let store = UserStore::builder(pool.clone()).table(format!("users_{suffix}"));
                let tokens = DatabaseStrategy::builder(pool.clone()).table(format!("tokens_{suffix}"));
                (store, tokens, Pool::Postgres(pool), None, format!("users_{suffix}"))
            }
        };
        let store = store.timeout(timeout).build().await.unwrap();
        store.migrate().await.unwrap();
        let tokens = tokens.lifetime(Duration::from_secs(3600)).timeout(timeout).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let users = UserManager::builder(store.clone(), Hooks)
            .verify_token_secret([1u8; 32])
            .reset_password_token_secret([2u8; 32])
            .passwords(auth_core::password::Passwords::builder().max_concurrency(4).build())
            .mailer(Mailer::disabled())
            .no_login_throttle()
            .build()
            .unwrap();
        let state = AppState { users, cookie: CookieBackend { strategy: tokens } };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let table = format!("oauth_accounts_{suffix}");
        let redirect = format!("{base}/auth/github/callback");
        gh.with(|state| state.registered_redirect = format!("{base}/auth"));
        let provider = OAuthProvider::github(CLIENT_ID, CLIENT_SECRET)
            .github_urls(urls.0, urls.1)
            .secret(SECRET)
            .redirect_url(redirect)
            .associate_redirect_url(format!("{base}/auth/associate/github/callback"))
            .associate_by_email(options.associate_by_email)
            .is_verified_by_default(options.is_verified_by_default)
            .accounts_table(table.clone())
            .store(&store)
            .build()
            .await
            .unwrap();
        provider.migrate().await.unwrap();
        let router = Router::new()
            .nest("/auth", provider.router::<Hooks, CookieBackend, AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>().into())
            .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>().into())
            .nest("/users", users::UserManager::<Hooks>::users_router::<CookieBackend, AppState>().into())
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Self { base, state, provider, store, pool, table, users_table, suffix, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Another process on the same database: a provider of its own (its own refresh locks).
    async fn second_process(&self, gh: &GitHub) -> OAuthProvider {
        OAuthProvider::github(CLIENT_ID, CLIENT_SECRET)
            .github_urls(gh.base.clone(), gh.api())
            .secret(SECRET)
            .redirect_url(self.url("/auth/github/callback"))
            .accounts_table(self.table.clone())
            .store(&self.store)
            .build()
            .await
            .unwrap()
    }

    async fn exec(&self, sql: String) {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
            }
            Pool::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
            }
        }
    }

    /// The rows: (user_id, account_id, account_email, access_token, refresh_token).
    async fn accounts(&self) -> Vec<(String, String, String, String, Option<String>)> {
        let sql = format!(
            r#"SELECT user_id::text, account_id, account_email, access_token, refresh_token FROM "{}" ORDER BY created_at, account_id"#,
            self.table
        );
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.replace("::text", ""))).fetch_all(pool).await.unwrap()
            }
            Pool::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.unwrap(),
        }
    }

    /// Makes every stored provider token expired.
    async fn expire_tokens(&self) {
        self.exec(format!(r#"UPDATE "{}" SET expires_at = 1"#, self.table)).await;
    }

    async fn user_count(&self) -> i64 {
        let sql = format!(r#"SELECT COUNT(*) FROM "{}""#, self.users_table);
        let (count,): (i64,) = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap(),
            Pool::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap(),
        };
        count
    }

    async fn clean_up(&self) {
        if matches!(self.pool, Pool::Postgres(_)) {
            for table in [self.table.clone(), format!("tokens_{}", self.suffix), self.users_table.clone()] {
                self.exec(format!(r#"DROP TABLE IF EXISTS "{table}""#)).await;
            }
        }
    }

    /// `provider.access_token` of the user of `email`, as text.
    async fn access_token_of(&self, provider: &OAuthProvider, email: &str) -> Result<Option<String>, AuthError> {
        let user = self.state.users.get_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap();
        Ok(provider.access_token(user.id).await?.map(|token| token.to_string()))
    }

    async fn user_id(&self, email: &str) -> String {
        let user = self.state.users.get_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap();
        user.id.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The browser.

struct Browser {
    client: Client,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
    text: String,
}

fn detail(answer: &Answer) -> &str {
    answer.body["detail"].as_str().unwrap_or_default()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url).unwrap().query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

impl Browser {
    /// A browser signed in at GitHub as `user` (GitHub's session cookie; cookies ignore ports).
    fn signed_in_at_github(user: &GhUser) -> Self {
        let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
        Self { client, cookies: BTreeMap::from([("user_session".to_owned(), user.login.clone())]) }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let cookies = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>();
        let response = self.client.get(url).header(header::COOKIE, cookies.join("; ")).send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let cookie = cookie::Cookie::parse(value.to_str().unwrap().to_owned()).unwrap();
            if cookie.max_age() == Some(cookie::time::Duration::ZERO) || cookie.value().is_empty() {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// `GET /auth/github/authorize`: the authorization URL.
    async fn authorize(&mut self, app: &App) -> String {
        let answer = self.get(&app.url("/auth/github/authorize")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["authorization_url"].as_str().unwrap().to_owned()
    }

    /// GitHub's authorization page (the user consented before): the redirect back to the app.
    async fn consent(&mut self, authorization_url: &str) -> String {
        let answer = self.get(authorization_url).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text);
        answer.headers[header::LOCATION].to_str().unwrap().to_owned()
    }

    /// The whole login: the callback's answer.
    async fn login(&mut self, app: &App) -> Answer {
        let authorization_url = self.authorize(app).await;
        let callback = self.consent(&authorization_url).await;
        self.get(&callback).await
    }

    async fn me(&mut self, app: &App) -> Answer {
        self.get(&app.url("/users/me")).await
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread")]
async fn a_new_user_then_the_same_user_returning() {
    let gh = GitHub::start().await;
    let app = App::start(&gh, Options { is_verified_by_default: true, ..Options::default() }, None).await;
    let email = format!("new-{}@example.com", unique());
    let user = GhUser::with_email(&email, true);
    gh.add(&user);

    let mut browser = Browser::signed_in_at_github(&user);
    let authorization_url = browser.authorize(&app).await;
    let url = Url::parse(&authorization_url).unwrap();
    assert_eq!(url.path(), "/login/oauth/authorize");
    assert_eq!(query_param(&authorization_url, "scope").as_deref(), Some("user:email"), "no `openid` at GitHub");
    assert_eq!(query_param(&authorization_url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query_param(&authorization_url, "nonce"), None, "GitHub has no nonce");
    assert_eq!(query_param(&authorization_url, "client_id").as_deref(), Some(CLIENT_ID));
    let callback = browser.consent(&authorization_url).await;
    let answer = browser.get(&callback).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(browser.cookies.contains_key("__Host-gh-session"));
    assert!(!browser.cookies.contains_key("fastapiusersoauthcsrf"), "the CSRF cookie is cleared");
    let me = browser.me(&app).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["email"], email.as_str(), "the primary address, not the first listed");
    assert_eq!(me.body["is_verified"], true, "GitHub's `verified` of the primary address");

    let rows = app.accounts().await;
    assert_eq!(rows.len(), 1);
    let (user_id, account_id, account_email, access_token, refresh_token) = &rows[0];
    assert_eq!(user_id, me.body["id"].as_str().unwrap());
    assert_eq!(account_id, &user.id.to_string(), "the numeric `id` of /user");
    assert_eq!(account_email, &email);
    assert!(access_token.starts_with("v1.") && !access_token.contains("gho_"), "encrypted at rest");
    assert_eq!(refresh_token, &None, "OAuth apps' tokens have no refresh token");
    let token = app.access_token_of(&app.provider, &email).await.unwrap().unwrap();
    assert!(gh.token_works(&token).await, "the stored token is GitHub's");

    // Returning: the same user, one row, its token replaced.
    let mut browser = Browser::signed_in_at_github(&user);
    let answer = browser.login(&app).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(browser.me(&app).await.body["id"], me.body["id"]);
    assert_eq!(app.user_count().await, 1);
    let rows = app.accounts().await;
    assert_eq!(rows.len(), 1);
    assert_ne!(&rows[0].3, access_token);
    let second = app.access_token_of(&app.provider, &email).await.unwrap().unwrap();
    assert_ne!(second, token);
    assert!(gh.token_works(&second).await);
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn linking_by_email_takes_githubs_verified_flag() {
    let gh = GitHub::start().await;
    let app = App::start(&gh, Options { associate_by_email: true, ..Options::default() }, None).await;
    let email = format!("link-{}@example.com", unique());
    let register = Client::new()
        .post(app.url("/auth/register"))
        .json(&json!({ "email": email, "password": "a long local password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);
    let local_id = app.user_id(&email).await;

    // The same address, primary but unverified at GitHub: not linked.
    let unverified = GhUser::with_email(&email, false);
    gh.add(&unverified);
    let answer = Browser::signed_in_at_github(&unverified).login(&app).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(detail(&answer), "OAUTH_USER_ALREADY_EXISTS");
    assert!(app.accounts().await.is_empty());

    // An unverified primary address with the same address verified as a secondary one: only the
    // primary counts.
    let mixed = GhUser::new(vec![(email.clone(), false, true), (format!("p-{}@example.com", unique()), true, false)]);
    gh.add(&mixed);
    let answer = Browser::signed_in_at_github(&mixed).login(&app).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(app.user_count().await, 2, "a new user, for the primary address");

    // Verified: linked to the local user.
    let verified = GhUser::with_email(&email, true);
    gh.add(&verified);
    let mut browser = Browser::signed_in_at_github(&verified);
    let answer = browser.login(&app).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(browser.me(&app).await.body["id"], local_id.as_str());
    let linked: Vec<_> = app.accounts().await.into_iter().filter(|row| row.1 == verified.id.to_string()).collect();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].0, local_id);
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_email_at_github() {
    let gh = GitHub::start().await;
    let app = App::start(&gh, Options::default(), None).await;
    let expect_no_email = |answer: Answer| {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert_eq!(answer.body, json!({ "detail": "OAUTH_NOT_AVAILABLE_EMAIL" }));
    };
    let nothing = GhUser::new(vec![]);
    gh.add(&nothing);
    expect_no_email(Browser::signed_in_at_github(&nothing).login(&app).await);
    let no_primary = GhUser::new(vec![(format!("np-{}@example.com", unique()), false, true)]);
    gh.add(&no_primary);
    expect_no_email(Browser::signed_in_at_github(&no_primary).login(&app).await);
    assert_eq!(app.user_count().await, 0);

    // Without the `user:email` scope, /user/emails is 404: the public profile address is taken,
    // as unverified.
    let public = format!("public-{}@example.com", unique());
    let mut user = GhUser::with_email(&format!("private-{}@example.com", unique()), true);
    user.public_email = Some(public.clone());
    gh.add(&user);
    let mut browser = Browser::signed_in_at_github(&user);
    let answer = browser.get(&app.url("/auth/github/authorize?scopes=read:user")).await;
    let authorization_url = answer.body["authorization_url"].as_str().unwrap().to_owned();
    assert_eq!(query_param(&authorization_url, "scope").as_deref(), Some("read:user"));
    let callback = browser.consent(&authorization_url).await;
    let answer = browser.get(&callback).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let me = browser.me(&app).await;
    assert_eq!(me.body["email"], public.as_str());
    assert_eq!(me.body["is_verified"], false);
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_exchange_is_a_502() {
    let gh = GitHub::start().await;
    let app = App::start(&gh, Options::default(), None).await;
    let user = GhUser::with_email(&format!("x-{}@example.com", unique()), true);
    gh.add(&user);
    let bad_gateway = |answer: &Answer, what: &str| {
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{what}: {}", answer.text);
        assert_eq!(answer.body, json!({ "detail": "OAUTH_TOKEN_EXCHANGE_FAILED" }), "{what}");
    };

    // GitHub's refusal: 200 with an `error`.
    gh.with(|state| state.fail_next_exchange = Some("bad_verification_code"));
    bad_gateway(&Browser::signed_in_at_github(&user).login(&app).await, "200 with an error");
    assert_eq!(gh.with(|state| state.exchanges), 1);

    // A replayed code: the first use logs in, the second is refused by GitHub.
    let mut browser = Browser::signed_in_at_github(&user);
    let authorization_url = browser.authorize(&app).await;
    let callback = browser.consent(&authorization_url).await;
    let cookies = browser.cookies.clone();
    assert_eq!(browser.get(&callback).await.status, StatusCode::NO_CONTENT);
    browser.cookies = cookies;
    bad_gateway(&browser.get(&callback).await, "a replayed code");

    // A PKCE mismatch: a code issued for one browser's challenge, redeemed with another's state
    // and cookie (so with that browser's verifier).
    let mut alice = Browser::signed_in_at_github(&user);
    let mut mallory = Browser::signed_in_at_github(&user);
    let alice_url = alice.authorize(&app).await;
    let alice_code = query_param(&alice.consent(&alice_url).await, "code").unwrap();
    let mallory_state = query_param(&mallory.authorize(&app).await, "state").unwrap();
    let mut crossed = Url::parse(&app.url("/auth/github/callback")).unwrap();
    crossed.query_pairs_mut().append_pair("code", &alice_code).append_pair("state", &mallory_state);
    bad_gateway(&mallory.get(crossed.as_str()).await, "a PKCE mismatch");

    // A redirect on the back channel is not followed.
    gh.with(|state| state.redirect_token_endpoint = true);
    bad_gateway(&Browser::signed_in_at_github(&user).login(&app).await, "a redirect");
    assert_eq!(gh.with(|state| state.redirected_hits), 0, "the redirect was not followed");
    gh.with(|state| state.redirect_token_endpoint = false);

    // The control: the same steps log in.
    assert_eq!(Browser::signed_in_at_github(&user).login(&app).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.user_count().await, 1);
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn github_down_is_a_502() {
    let gh = GitHub::start().await;
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let down = format!("http://{closed}");
    let app = App::start_at(&gh, (down.clone(), format!("{down}/api/v3")), Options::default(), None).await;
    let user = GhUser::with_email(&format!("down-{}@example.com", unique()), true);
    let mut browser = Browser::signed_in_at_github(&user);
    let authorization_url = browser.authorize(&app).await;
    assert!(authorization_url.starts_with(&format!("{down}/login/oauth/authorize?")), "{authorization_url}");
    let state = query_param(&authorization_url, "state").unwrap();
    let mut callback = Url::parse(&app.url("/auth/github/callback")).unwrap();
    callback.query_pairs_mut().append_pair("code", "some-code").append_pair("state", &state);
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.text);
    assert_eq!(answer.body, json!({ "detail": "OAUTH_TOKEN_EXCHANGE_FAILED" }));
    app.clean_up().await;
}

#[tokio::test]
async fn github_urls_are_for_the_github_preset_only() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let options =
        <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url).unwrap().create_if_missing(true);
    let pool: sqlx::SqlitePool = sqlx::pool::PoolOptions::new().connect_with(options).await.unwrap();
    let store = UserStore::builder(pool).build().await.unwrap();
    let error = OAuthProvider::builder("oidc", "http://127.0.0.1:1", "id", "secret")
        .github_urls("http://127.0.0.1:2", "http://127.0.0.1:2/api")
        .secret(SECRET)
        .redirect_url("http://127.0.0.1:3/cb")
        .store(&store)
        .build()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("GitHub preset"), "{error}");
    for (web, api) in [("http://github.example.com", "https://api.example.com"), ("https://ok.example.com", "ftp://x")]
    {
        let error = OAuthProvider::github("id", "secret")
            .github_urls(web, api)
            .secret(SECRET)
            .redirect_url("http://127.0.0.1:3/cb")
            .store(&store)
            .build()
            .await
            .unwrap_err();
        assert!(error.to_string().contains("GitHub URL"), "{error}");
    }
    // The defaults need no network: configuration only.
    let github = OAuthProvider::github("id", "secret")
        .secret(SECRET)
        .redirect_url("https://app.example.com/auth/github/callback")
        .store(&store)
        .build()
        .await
        .unwrap();
    assert_eq!(github.name(), "github");
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens.

/// An app whose GitHub App issues expiring tokens, and a user logged in once.
async fn expiring_login(postgres: Option<String>) -> (GitHub, App, String) {
    let gh = GitHub::start().await;
    gh.with(|state| state.expiring = true);
    let app = App::start(&gh, Options::default(), postgres).await;
    let email = format!("refresh-{}@example.com", unique());
    let user = GhUser::with_email(&email, true);
    gh.add(&user);
    let answer = Browser::signed_in_at_github(&user).login(&app).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    (gh, app, email)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_token_is_refreshed_and_stored() {
    let (gh, app, email) = expiring_login(None).await;
    let rows = app.accounts().await;
    let sealed_refresh = rows[0].4.clone().expect("a refresh token stored");
    assert!(sealed_refresh.starts_with("v1.") && !sealed_refresh.contains("ghr_"), "encrypted at rest");
    let login_token = gh.with(|state| state.tokens.keys().next().unwrap().clone());

    // The first token expires within the skew: this call refreshes it.
    let token = app.access_token_of(&app.provider, &email).await.unwrap().unwrap();
    assert_eq!(gh.with(|state| state.refreshes), 1);
    assert_ne!(token, login_token);
    assert!(gh.token_works(&token).await);
    let rows = app.accounts().await;
    assert_ne!(rows[0].4.as_ref(), Some(&sealed_refresh), "the rotated refresh token is stored");
    // Good for 8 hours now: no other refresh.
    assert_eq!(app.access_token_of(&app.provider, &email).await.unwrap().unwrap(), token);
    assert_eq!(gh.with(|state| state.refreshes), 1);

    // Refused (revoked at GitHub): 401 Token expired, and nothing overwritten.
    app.expire_tokens().await;
    gh.with(|state| state.refresh_tokens.clear());
    let error = app.access_token_of(&app.provider, &email).await.unwrap_err();
    assert!(matches!(error, AuthError::TokenExpired), "{error:?}");
    assert_eq!(app.accounts().await[0].4, rows[0].4);
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_with_github_down_is_unavailable_and_without_refresh_token_expired() {
    let (gh, app, email) = expiring_login(None).await;
    // The provider's URLs of a second app on the same database point at a closed port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let down = OAuthProvider::github(CLIENT_ID, CLIENT_SECRET)
        .github_urls(format!("http://{closed}"), format!("http://{closed}/api/v3"))
        .secret(SECRET)
        .redirect_url(app.url("/auth/github/callback"))
        .accounts_table(app.table.clone())
        .store(&app.store)
        .build()
        .await
        .unwrap();
    let error = app.access_token_of(&down, &email).await.unwrap_err();
    assert!(matches!(error, AuthError::Unavailable), "{error:?}");
    // GitHub back: the same refresh token still works.
    assert!(app.access_token_of(&app.provider, &email).await.unwrap().is_some());
    assert_eq!(gh.with(|state| state.refreshes), 1);

    // No refresh token and expired: 401.
    app.expire_tokens().await;
    app.exec(format!(r#"UPDATE "{}" SET refresh_token = NULL"#, app.table)).await;
    let error = app.access_token_of(&app.provider, &email).await.unwrap_err();
    assert!(matches!(error, AuthError::TokenExpired), "{error:?}");
    app.clean_up().await;
}

/// `callers` concurrent `access_token` calls for one account, spread over `providers` (each its
/// own process as far as locks go), while the stored token is expiring: every caller gets a
/// token that works, and the refresh token stored at the end is live at GitHub (a lost rotated
/// refresh token would be a spent one).
async fn concurrent_refreshes(gh: &GitHub, app: &App, email: &str, providers: &[OAuthProvider], callers: usize) {
    let refreshes_before = gh.with(|state| state.refreshes);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..callers {
        let provider = providers[i % providers.len()].clone();
        let user = app.state.users.get_by_email(&Email::parse(email).unwrap()).await.unwrap().unwrap().id;
        tasks.spawn(async move { provider.access_token(user).await.map(|token| token.unwrap().to_string()) });
    }
    let mut tokens = HashSet::new();
    let deadline = Duration::from_secs(60);
    while let Some(joined) = tokio::time::timeout(deadline, tasks.join_next()).await.expect("callers done in time") {
        tokens.insert(joined.unwrap().expect("every caller gets a token"));
    }
    for token in &tokens {
        assert!(gh.token_works(token).await, "a token handed out works");
    }
    let refreshes = gh.with(|state| state.refreshes) - refreshes_before;
    assert_eq!(refreshes, 1, "one refresh for {} processes (the lease in the table)", providers.len());
    assert_eq!(tokens.len(), 1, "one token for every caller");
    assert!(gh.with(|state| state.spent_refresh_tokens.len()) >= 1);
    // The stored refresh token is the live one: the next refresh succeeds.
    app.expire_tokens().await;
    let next = app.access_token_of(&app.provider, email).await.expect("the stored refresh token is live");
    assert!(gh.token_works(&next.unwrap()).await);
    let live = gh.with(|state| state.refresh_tokens.len());
    assert!(live >= 1, "a live refresh token");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_lose_no_rotated_refresh_token() {
    let (gh, app, email) = expiring_login(None).await;
    concurrent_refreshes(&gh, &app, &email, std::slice::from_ref(&app.provider), 32).await;
    let second = app.second_process(&gh).await;
    for _ in 0..3 {
        app.expire_tokens().await;
        concurrent_refreshes(&gh, &app, &email, &[app.provider.clone(), second.clone()], 32).await;
    }
    app.clean_up().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_on_postgres() {
    // Skipped without PostgreSQL, a failure under REQUIRE_SERVICES=1 (CI).
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    let (gh, app, email) = expiring_login(Some(url)).await;
    concurrent_refreshes(&gh, &app, &email, std::slice::from_ref(&app.provider), 32).await;
    let second = app.second_process(&gh).await;
    for _ in 0..3 {
        app.expire_tokens().await;
        concurrent_refreshes(&gh, &app, &email, &[app.provider.clone(), second.clone()], 32).await;
    }
    app.clean_up().await;
}

/// The associate flow from the session `session`, as the GitHub user `account`: the callback's
/// answer.
async fn link(app: &App, account: &GhUser, session: &str) -> Answer {
    let mut browser = Browser::signed_in_at_github(account);
    browser.cookies.insert("__Host-gh-session".to_owned(), session.to_owned());
    let answer = browser.get(&app.url("/auth/associate/github/authorize")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let authorization_url = answer.body["authorization_url"].as_str().unwrap().to_owned();
    let callback = browser.consent(&authorization_url).await;
    assert!(callback.starts_with(&app.url("/auth/associate/github/callback?")), "{callback}");
    browser.get(&callback).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logged_in_user_links_a_github_account() {
    let gh = GitHub::start().await;
    let app = App::start(&gh, Options::default(), None).await;
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let email = format!("local-{}@example.com", unique());
        let client = Client::new();
        let password = "a long local password";
        let register = client.post(app.url("/auth/register")).json(&json!({ "email": email, "password": password }));
        assert_eq!(register.send().await.unwrap().status(), StatusCode::CREATED);
        let login = client
            .post(app.url("/auth/cookie/login"))
            .form(&[("username", &email), ("password", &password.to_owned())]);
        let login = login.send().await.unwrap();
        assert_eq!(login.status(), StatusCode::NO_CONTENT);
        let cookie = cookie::Cookie::parse(login.headers()[header::SET_COOKIE].to_str().unwrap().to_owned()).unwrap();
        sessions.push((email, cookie.value().to_owned()));
    }
    // The GitHub account's address is not the user's: linking is by the session, not the e-mail.
    let account = GhUser::with_email(&format!("gh-{}@example.com", unique()), false);
    gh.add(&account);
    let answer = link(&app, &account, &sessions[0].1).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["email"], sessions[0].0.as_str(), "the logged-in user");
    let rows = app.accounts().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        (answer.body["id"].as_str().unwrap(), account.id.to_string().as_str())
    );
    // The same GitHub account, from another user: refused, nothing changed.
    let answer = link(&app, &account, &sessions[1].1).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.body, json!({ "detail": "OAUTH_USER_ALREADY_EXISTS" }));
    assert_eq!(app.accounts().await.len(), 1);
    // Then logging in with GitHub logs the first user in.
    let mut browser = Browser::signed_in_at_github(&account);
    assert_eq!(browser.login(&app).await.status, StatusCode::NO_CONTENT);
    assert_eq!(browser.me(&app).await.body["email"], sessions[0].0.as_str());
    app.clean_up().await;
}
