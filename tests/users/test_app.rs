//! The users app the users tests drive over HTTP: fastapi-users' full example (the routers at
//! its paths, a `jwt` and a `cookie` backend, `/authenticated-route`), with hooks that record
//! every event and token, on SQLite or PostgreSQL, served on a loopback port with peer addresses.

#![allow(dead_code, unreachable_pub)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use auth_core::{
    AuthBackend, Authenticated, secured,
    security::CredentialLifetime,
    strategies::{DatabaseStrategy, JwtKey, JwtStrategy},
    users::{
        self, ClientIpSource, CurrentUser, Email, LoginThrottle, Mailer, RequestContext, User, UserHooks, UserManager,
        UserStore, UserToken,
    },
};
use axum::{Json, Router, extract::FromRef, routing::get};
use reqwest::{Client, StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The app's own field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Profile {
    #[serde(default)]
    pub full_name: Option<String>,
}

/// One hook call.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Registered(String),
    Updated(String, Vec<String>),
    VerifyRequested { email: String, token: String },
    Verified(String),
    ForgotPassword { email: String, token: String },
    Reset(String),
    LoggedIn(String),
    BeforeDelete(String),
    AfterDelete(String),
}

/// Every hook call, in order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    fn push(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The last verify (`reset == false`) or reset token made for `email`, waiting up to 5 s for
    /// the hook (it runs on a task of its own).
    pub async fn token(&self, reset: bool, email: &str) -> String {
        for _ in 0..500 {
            let found = self.events().into_iter().rev().find_map(|event| match event {
                Event::VerifyRequested { email: e, token } if !reset && e == email => Some(token),
                Event::ForgotPassword { email: e, token } if reset && e == email => Some(token),
                _ => None,
            });
            if let Some(token) = found {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {} token for {email}", if reset { "reset" } else { "verify" });
    }

    /// How many tokens were made for `email`, after giving spawned hooks time to run.
    pub async fn token_count(&self, email: &str) -> usize {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.events()
            .iter()
            .filter(|event| matches!(event, Event::VerifyRequested { email: e, .. } | Event::ForgotPassword { email: e, .. } if e == email))
            .count()
    }
}

pub struct Hooks(pub Arc<Recorder>);

impl UserHooks for Hooks {
    type Fields = Profile;

    async fn after_register(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::Registered(user.email.clone()));
    }
    async fn after_update(&self, user: &User<Profile>, changed: &[String], _: &RequestContext) {
        self.0.push(Event::Updated(user.email.clone(), changed.to_vec()));
    }
    async fn after_request_verify(&self, user: &User<Profile>, token: &str, _: &RequestContext) {
        self.0.push(Event::VerifyRequested { email: user.email.clone(), token: token.to_owned() });
    }
    async fn after_verify(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::Verified(user.email.clone()));
    }
    async fn after_forgot_password(&self, user: &User<Profile>, token: &str, _: &RequestContext) {
        self.0.push(Event::ForgotPassword { email: user.email.clone(), token: token.to_owned() });
    }
    async fn after_reset_password(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::Reset(user.email.clone()));
    }
    async fn after_login(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::LoggedIn(user.email.clone()));
    }
    async fn before_delete(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::BeforeDelete(user.email.clone()));
    }
    async fn after_delete(&self, user: &User<Profile>, _: &RequestContext) {
        self.0.push(Event::AfterDelete(user.email.clone()));
    }
}

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(name = "fastapiusersauth", max_age = 3600, host_prefix = false), strategy = database)]
pub struct CookieBackend {
    strategy: DatabaseStrategy,
}

pub type Backends = (JwtBackend, CookieBackend);

#[derive(Clone, FromRef)]
pub struct AppState {
    pub users: UserManager<Hooks>,
    pub jwt: JwtBackend,
    pub cookie: CookieBackend,
}

async fn authenticated_route(user: CurrentUser<Backends, Hooks>) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

/// An app's own superuser route: the user credential grants `users:superuser` from the row,
/// and the chain requires it. Rejections are auth-core's own (this is not a users route).
#[secured(scopes = ["users:superuser"], declaration = auth_core::users::UserScope)]
async fn superusers_only(
    Authenticated(user): Authenticated<(UserToken<JwtBackend, Hooks>, UserToken<CookieBackend, Hooks>)>,
) -> Json<Value> {
    Json(json!({ "superuser": user.email }))
}

/// A long-lived handler (an event stream, a WebSocket) opened by a user: when its token expires,
/// and how the connection ends while the handler waits (re-checked every 100 ms, for at most
/// 5 s).
#[secured]
async fn connection_lifetime(
    Authenticated(user): Authenticated<(UserToken<JwtBackend, Hooks>, UserToken<CookieBackend, Hooks>)>,
    lifetime: CredentialLifetime,
) -> Json<Value> {
    let expires_at = lifetime.expires_at().map(|at| at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    let ended =
        tokio::time::timeout(Duration::from_secs(5), lifetime.recheck_every(Duration::from_millis(100)).ended())
            .await
            .map_or("still open", |ended| ended.reason());
    Json(json!({ "user": user.email, "expires_at": expires_at, "ended": ended }))
}

/// Where the users live.
#[derive(Clone, Debug)]
pub enum Db {
    /// A file of its own.
    Sqlite(std::path::PathBuf),
    /// The test server, in tables of the test's own (`users_<suffix>`, `tokens_<suffix>`).
    Postgres { url: String, suffix: String },
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres { url, .. } => url.clone(),
        }
    }

    fn tables(&self) -> (String, String) {
        match self {
            Db::Sqlite(_) => ("users".to_owned(), "auth_tokens".to_owned()),
            Db::Postgres { suffix, .. } => (format!("users_{suffix}"), format!("tokens_{suffix}")),
        }
    }

    /// A pool with `timeout` for acquiring and for SQLite's busy wait, as the store and the
    /// token strategy's builders.
    async fn pool(
        &self,
        timeout: Duration,
    ) -> (users::UserStoreBuilder, auth_core::strategies::DatabaseStrategyBuilder) {
        use auth_core::strategies::database::sqlx::{self, pool::PoolOptions};
        match self {
            Db::Sqlite(_) => {
                let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&self.url())
                    .unwrap()
                    .create_if_missing(true)
                    .busy_timeout(timeout);
                let pool: sqlx::SqlitePool =
                    PoolOptions::new().acquire_timeout(timeout).connect_with(options).await.unwrap();
                (UserStore::builder(pool.clone()), DatabaseStrategy::builder(pool))
            }
            #[cfg(feature = "database-postgres")]
            Db::Postgres { url, .. } => {
                let pool: sqlx::PgPool = PoolOptions::new().acquire_timeout(timeout).connect(url).await.unwrap();
                (UserStore::builder(pool.clone()), DatabaseStrategy::builder(pool))
            }
            #[cfg(not(feature = "database-postgres"))]
            Db::Postgres { .. } => unreachable!("PostgreSQL tests need the database-postgres feature"),
        }
    }

    /// Drops the test's tables (PostgreSQL; a SQLite file goes with its directory).
    pub async fn clean_up(&self) {
        #[cfg(feature = "database-postgres")]
        if let Db::Postgres { url, suffix } = self {
            use auth_core::strategies::database::sqlx;
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for sql in [
                format!(r#"DROP TABLE IF EXISTS "users_{suffix}""#),
                format!(r#"DROP TABLE IF EXISTS "tokens_{suffix}""#),
                format!("DELETE FROM auth_core_migrations WHERE component = 'users:users_{suffix}'"),
                format!("DELETE FROM auth_core_migrations WHERE component = 'tokens:tokens_{suffix}'"),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
            }
        }
    }
}

/// A random suffix for table names and addresses.
pub fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How to build the app.
pub struct Options {
    pub db: Db,
    pub requires_verification: bool,
    pub throttle: Option<LoginThrottle>,
    pub token_lifetime: Duration,
    pub mailer: Mailer,
    pub client_ip: ClientIpSource,
}

impl Options {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            requires_verification: false,
            throttle: None,
            token_lifetime: Duration::from_secs(3600),
            mailer: Mailer::disabled(),
            client_ip: ClientIpSource::Peer,
        }
    }
}

/// An app being served; clones talk to the same app.
#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub recorder: Arc<Recorder>,
    pub state: AppState,
}

/// An answer: status, JSON body (`Null` when empty), headers.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Res {
    /// The status and body, for one-line assertions.
    pub fn pair(&self) -> (u16, Value) {
        (self.status.as_u16(), self.body.clone())
    }

    /// The `detail` field.
    pub fn detail(&self) -> &Value {
        &self.body["detail"]
    }

    /// The cookie set by the answer, as `name=value`.
    pub fn cookie(&self) -> String {
        let header = self.headers.get("set-cookie").expect("a Set-Cookie header").to_str().unwrap();
        header.split(';').next().unwrap().to_owned()
    }
}

/// How a request proves who it is.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Bearer(String),
    Cookie(String),
}

impl TestApp {
    pub async fn start(options: Options) -> Self {
        let recorder = Arc::new(Recorder::default());
        let (users_table, tokens_table) = options.db.tables();
        // One pool for the users and the cookie tokens, as an app would share it, with generous
        // timeouts: these tests are about answers, and share the machine with builds.
        let timeout = Duration::from_secs(10);
        let (store, tokens) = options.db.pool(timeout).await;
        let store = store.table(users_table).timeout(timeout).build().await.unwrap();
        store.migrate().await.unwrap();
        let tokens =
            tokens.table(tokens_table).lifetime(Duration::from_secs(3600)).timeout(timeout).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let mut builder = UserManager::builder(store, Hooks(Arc::clone(&recorder)))
            .verify_token_secret([1u8; 32])
            .reset_password_token_secret([2u8; 32])
            .verify_token_lifetime(options.token_lifetime)
            .reset_password_token_lifetime(options.token_lifetime)
            .passwords(auth_core::password::Passwords::builder().max_concurrency(4).build())
            .mailer(options.mailer)
            .client_ip(options.client_ip)
            .requires_verification(options.requires_verification);
        builder = match options.throttle {
            Some(throttle) => builder.login_throttle(throttle),
            None => builder.no_login_throttle(),
        };
        let users = builder.build().unwrap();
        let jwt = JwtStrategy::builder(JwtKey::hs256([3u8; 32]))
            .audience("fastapi-users:auth")
            .lifetime(Duration::from_secs(3600))
            .build()
            .unwrap();
        let state = AppState { users, jwt: JwtBackend { strategy: jwt }, cookie: CookieBackend { strategy: tokens } };
        let router = Router::new()
            .nest("/auth/jwt", users::UserManager::<Hooks>::auth_router::<JwtBackend, AppState>().into())
            .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::reset_password_router::<AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::verify_router::<AppState>().into())
            .nest("/users", users::UserManager::<Hooks>::users_router::<Backends, AppState>().into())
            .route("/authenticated-route", get(authenticated_route))
            .route("/superusers-only", get(superusers_only))
            .route("/connection-lifetime", get(connection_lifetime))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Self { base, client: Client::new(), recorder, state }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder, auth: &Auth) -> Res {
        let request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Cookie(cookie) => request.header("cookie", cookie),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Res { status, body, headers }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value, auth: &Auth) -> Res {
        self.send(self.client.post(self.url(path)).json(&body), auth).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Res {
        self.send(self.client.post(self.url(path)).header("content-type", content_type).body(body), &Auth::None).await
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Res {
        self.send(self.client.get(self.url(path)), auth).await
    }

    pub async fn patch(&self, path: &str, body: Value, auth: &Auth) -> Res {
        self.send(self.client.patch(self.url(path)).json(&body), auth).await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Res {
        self.send(self.client.delete(self.url(path)), auth).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Value {
        let res = self.post("/auth/register", json!({ "email": email, "password": password }), &Auth::None).await;
        assert_eq!(res.status, 201, "{res:?}");
        res.body
    }

    pub async fn login(&self, backend: &str, username: &str, password: &str) -> Res {
        let form = [("username", username), ("password", password)];
        self.send(self.client.post(self.url(&format!("/auth/{backend}/login"))).form(&form), &Auth::None).await
    }

    /// Logs in from `ip`, as a proxy trusted by `ClientIpSource::XForwardedFor` says.
    pub async fn login_from(&self, ip: &str, username: &str, password: &str) -> Res {
        let form = [("username", username), ("password", password)];
        let request = self.client.post(self.url("/auth/jwt/login")).header("x-forwarded-for", ip).form(&form);
        self.send(request, &Auth::None).await
    }

    /// Logs in with the JWT backend, which must succeed.
    pub async fn bearer(&self, username: &str, password: &str) -> Auth {
        let res = self.login("jwt", username, password).await;
        assert_eq!(res.status, 200, "{res:?}");
        Auth::Bearer(res.body["access_token"].as_str().unwrap().to_owned())
    }

    /// Logs in with the cookie backend, which must succeed.
    pub async fn cookie(&self, username: &str, password: &str) -> Auth {
        let res = self.login("cookie", username, password).await;
        assert_eq!(res.status, 204, "{res:?}");
        Auth::Cookie(res.cookie())
    }

    /// A superuser made as the command line makes the first one, logged in.
    pub async fn superuser(&self) -> Auth {
        let email = format!("admin-{}@example.com", unique());
        self.state.users.create_superuser(Email::parse(&email).unwrap(), "admin password".to_owned()).await.unwrap();
        self.bearer(&email, "admin password").await
    }
}
