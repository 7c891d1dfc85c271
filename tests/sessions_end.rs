//! Sessions end with the password (issue 20, finding 3): after a reset, a change through
//! `PATCH /users/me`, or a superuser's `PATCH /users/{id}` with a new password, every token the
//! user held before is refused, over real sockets:
//!
//! - the old JWT (bearer), refused by its issue time against the row's `password_changed_at`;
//! - the old cookie of the database strategy (SQLite, and PostgreSQL when
//!   `DATABASE_URL_POSTGRES` is set) and of the Redis strategy (when `REDIS_URL` is set),
//!   deleted from their stores: refused by the user routes *and* by a route that checks the
//!   backend alone;
//! - the old refresh token of a token pair, whose family is then revoked;
//! - an open WebSocket of each kind, closed by the server with 1008.
//!
//! A login after the change works. And the option that a change of email or password through
//! `PATCH /users/me` requires the current password.

#[path = "fixtures/postgres_tables.rs"]
mod postgres_tables;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use auth_core::{
    AuthBackend, Authenticated, secured,
    strategies::{DatabaseStrategy, JwtKey, JwtStrategy, RedisStrategy, TokenPairIssuer, refresh::MemoryFamilyStore},
    users::{self, Email, Mailer, NoFields, RequestContext, User, UserHooks, UserManager, UserStore, UserToken},
    websocket::{Message, WebSocketUpgrade},
};
use axum::{
    Json, Router,
    extract::{FromRef, State},
    response::Response,
    routing::{get, post},
};
use futures_util::StreamExt;
use reqwest::Client;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, client::IntoClientRequest},
};

const PASSWORD: &str = "old password 1";
const NEW_PASSWORD: &str = "new password 2";

/// Records reset tokens, as a mailer would deliver them.
#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<Vec<(String, String)>>>);

impl UserHooks for Hooks {
    type Fields = NoFields;

    async fn after_forgot_password(&self, user: &User<NoFields>, token: &str, _: &RequestContext) {
        self.0.lock().unwrap().push((user.email.clone(), token.to_owned()));
    }
}

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt)]
struct JwtBackend {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(name = "__Host-session", max_age = 3600), strategy = database)]
struct CookieBackend {
    strategy: DatabaseStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "redis", transport = cookie(name = "__Host-redis", max_age = 3600), strategy = redis)]
struct RedisBackend {
    strategy: RedisStrategy,
}

type Backends = (JwtBackend, CookieBackend, RedisBackend);

/// The user credential of each backend.
type UserTokens = (UserToken<JwtBackend, Hooks>, UserToken<CookieBackend, Hooks>, UserToken<RedisBackend, Hooks>);

#[derive(Clone, FromRef)]
struct AppState {
    users: UserManager<Hooks>,
    jwt: JwtBackend,
    cookie: CookieBackend,
    redis: RedisBackend,
    pairs: TokenPairIssuer<MemoryFamilyStore>,
}

/// The backend alone, without the user row: only a deleted token is refused here.
#[secured]
async fn backend_only(Authenticated(principal): Authenticated<(CookieBackend, RedisBackend)>) -> Json<Value> {
    Json(json!({ "subject": principal.subject }))
}

/// A WebSocket opened by a user of any backend, re-checked every 100 ms; it says hello and
/// waits.
#[secured]
async fn socket(Authenticated(user): Authenticated<UserTokens>, ws: WebSocketUpgrade) -> Response {
    ws.recheck_every(Duration::from_millis(100)).on_upgrade(move |mut socket| async move {
        if socket.send(Message::text(format!("hello {}", user.email))).await.is_err() {
            return;
        }
        while let Some(Ok(_)) = socket.recv().await {}
    })
}

/// The refresh endpoint of a token-pair app whose users are the manager's.
async fn refresh(State(state): State<AppState>, body: String) -> Result<Json<Value>, auth_core::AuthError> {
    let pair = state.pairs.refresh(&body, &state.users).await?;
    Ok(Json(json!({ "refresh_token": pair.refresh_token })))
}

/// Where the users and the cookie tokens live.
enum Db {
    /// Kept for its `Drop`, which removes the file.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(String, String),
}

struct App {
    base: String,
    client: Client,
    state: AppState,
    hooks: Hooks,
    _db: Db,
}

fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl App {
    async fn start(redis_url: &str, postgres: Option<String>, require_current_password: bool) -> Self {
        use auth_core::strategies::database::sqlx;
        let timeout = Duration::from_secs(10);
        let (store, tokens, db) = match postgres {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("users.db").display());
                let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
                    .unwrap()
                    .create_if_missing(true)
                    .busy_timeout(timeout);
                let pool: sqlx::SqlitePool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect_with(options).await.unwrap();
                (UserStore::builder(pool.clone()), DatabaseStrategy::builder(pool), Db::Sqlite(dir))
            }
            Some(url) => {
                let suffix = unique();
                let pool: sqlx::PgPool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect(&url).await.unwrap();
                let store = UserStore::builder(pool.clone()).table(format!("users_{suffix}"));
                let tokens = DatabaseStrategy::builder(pool).table(format!("tokens_{suffix}"));
                (store, tokens, Db::Postgres(url, suffix))
            }
        };
        let store = store.timeout(timeout).build().await.unwrap();
        store.migrate().await.unwrap();
        let tokens = tokens.lifetime(Duration::from_secs(3600)).timeout(timeout).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let redis_connection = auth_core::strategies::RedisStrategy::connect(redis_url).await.unwrap();
        let redis = RedisStrategy::builder(redis_connection)
            .prefix(format!("sessions-end:{}:", unique()))
            .lifetime(Duration::from_secs(3600))
            .build()
            .unwrap();
        let hooks = Hooks::default();
        let users = UserManager::builder(store, hooks.clone())
            .verify_token_secret([1u8; 32])
            .reset_password_token_secret([2u8; 32])
            .passwords(auth_core::password::Passwords::builder().max_concurrency(4).build())
            .mailer(Mailer::disabled())
            .no_login_throttle()
            .revoke_sessions_in(tokens.clone())
            .revoke_sessions_in(redis.clone())
            .require_current_password(require_current_password)
            .build()
            .unwrap();
        let jwt = JwtStrategy::builder(JwtKey::hs256([3u8; 32])).lifetime(Duration::from_secs(3600)).build().unwrap();
        let refresh_jwt = JwtStrategy::builder(JwtKey::hs256([4u8; 32]))
            .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
            .build()
            .unwrap();
        let pairs =
            TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(jwt.clone(), refresh_jwt).build().unwrap();
        let state = AppState {
            users,
            jwt: JwtBackend { strategy: jwt },
            cookie: CookieBackend { strategy: tokens },
            redis: RedisBackend { strategy: redis },
            pairs,
        };
        let router = Router::new()
            .nest("/auth/jwt", users::UserManager::<Hooks>::auth_router::<JwtBackend, AppState>().into())
            .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>().into())
            .nest("/auth/redis", users::UserManager::<Hooks>::auth_router::<RedisBackend, AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::reset_password_router::<AppState>().into())
            .nest("/users", users::UserManager::<Hooks>::users_router::<Backends, AppState>().into())
            .route("/backend-only", get(backend_only))
            .route("/ws", get(socket))
            .route("/auth/pair/refresh", post(refresh))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Self { base, client: Client::new(), state, hooks, _db: db }
    }

    async fn clean_up(&self) {
        if let Db::Postgres(url, suffix) = &self._db {
            postgres_tables::drop_users_and_tokens(url, suffix).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `(status, body)` of a request with `auth` (`Bearer …` or a cookie pair).
    async fn send(&self, request: reqwest::RequestBuilder, auth: &Auth) -> (u16, Value) {
        let request = match auth {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Cookie(cookie) => request.header("cookie", cookie),
            Auth::None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn me(&self, auth: &Auth) -> u16 {
        self.send(self.client.get(self.url("/users/me")), auth).await.0
    }

    async fn register(&self, email: &str) -> String {
        let body = json!({ "email": email, "password": PASSWORD });
        let (status, body) = self.send(self.client.post(self.url("/auth/register")).json(&body), &Auth::None).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Logs in with `backend`, which must succeed: the credential it hands out.
    async fn login(&self, backend: &str, email: &str, password: &str) -> Auth {
        let form = [("username", email), ("password", password)];
        let response = self.client.post(self.url(&format!("/auth/{backend}/login"))).form(&form).send().await.unwrap();
        let status = response.status().as_u16();
        if backend == "jwt" {
            assert_eq!(status, 200);
            let body: Value = response.json().await.unwrap();
            Auth::Bearer(body["access_token"].as_str().unwrap().to_owned())
        } else {
            assert_eq!(status, 204, "{backend}");
            let header = response.headers().get("set-cookie").unwrap().to_str().unwrap();
            Auth::Cookie(header.split(';').next().unwrap().to_owned())
        }
    }

    /// Every credential of a fresh login: (backend name, credential).
    async fn sessions(&self, email: &str, password: &str) -> Vec<(&'static str, Auth)> {
        let mut sessions = Vec::new();
        for name in ["jwt", "cookie", "redis"] {
            sessions.push((name, self.login(name, email, password).await));
        }
        sessions
    }

    /// Opens the WebSocket with `auth` (a cookie with this app's own origin) and reads the
    /// greeting.
    async fn socket(&self, auth: &Auth) -> Socket {
        let mut request = format!("ws{}/ws", self.base.trim_start_matches("http")).into_client_request().unwrap();
        let headers = request.headers_mut();
        match auth {
            Auth::Bearer(token) => {
                headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
            }
            Auth::Cookie(cookie) => {
                headers.insert("cookie", cookie.parse().unwrap());
                headers.insert("origin", self.base.parse().unwrap());
            }
            Auth::None => {}
        }
        let (mut socket, _) = connect_async(request).await.unwrap_or_else(|error| panic!("not upgraded: {error}"));
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(tungstenite::Message::Text(text)))) => assert!(text.starts_with("hello "), "{text}"),
            other => panic!("expected the greeting, got {other:?}"),
        }
        socket
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.send(self.client.post(self.url("/auth/pair/refresh")).body(refresh_token.to_owned()), &Auth::None).await
    }

    /// The last reset token mailed to `email`.
    async fn reset_token(&self, email: &str) -> String {
        let body = json!({ "email": email });
        let (status, _) = self.send(self.client.post(self.url("/auth/forgot-password")).json(&body), &Auth::None).await;
        assert_eq!(status, 202);
        for _ in 0..500 {
            let found = self.hooks.0.lock().unwrap().iter().rev().find(|(e, _)| e == email).map(|(_, t)| t.clone());
            if let Some(token) = found {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no reset token for {email}");
    }
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(String),
    Cookie(String),
}

/// The server's close code, waiting up to `within`; `None` if the socket stayed open.
async fn close_code(socket: &mut Socket, within: Duration) -> Option<u16> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(tungstenite::Message::Close(frame)))) => return Some(frame.map_or(0, |f| u16::from(f.code))),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => panic!("socket error before a close frame: {error}"),
            Ok(None) => panic!("the connection ended without a close frame"),
            Err(_) => return None,
        }
    }
}

/// How the password changes.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// forgot-password, then reset-password with the mailed token.
    Reset,
    /// `PATCH /users/me {"password"}` with the user's own JWT.
    OwnPatch,
    /// A superuser's `PATCH /users/{id} {"password"}`.
    AdminPatch,
}

async fn sessions_end_with_the_password(app: &App) {
    let admin_email = format!("admin-{}@example.com", unique());
    app.state.users.create_superuser(Email::parse(&admin_email).unwrap(), "admin password".to_owned()).await.unwrap();
    let admin = app.login("jwt", &admin_email, "admin password").await;

    for change in [Change::Reset, Change::OwnPatch, Change::AdminPatch] {
        let email = format!("user-{}@example.com", unique());
        let id = app.register(&email).await;
        let sessions = app.sessions(&email, PASSWORD).await;
        let pair = app.state.pairs.issue_pair(&id, &[] as &[&str]).await.unwrap();
        let mut sockets = Vec::new();
        for (name, auth) in &sessions {
            assert_eq!(app.me(auth).await, 200, "{change:?}: {name} works before");
            sockets.push((*name, app.socket(auth).await));
        }
        // A refresh before the change works (and moves the head on).
        let (status, body) = app.refresh(&pair.refresh_token).await;
        assert_eq!(status, 200, "{change:?}: {body}");
        let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        let (_, cookie) = &sessions[1];
        assert_eq!(app.send(app.client.get(app.url("/backend-only")), cookie).await.0, 200);

        match change {
            Change::Reset => {
                let token = app.reset_token(&email).await;
                let body = json!({ "token": token, "password": NEW_PASSWORD });
                let (status, body) =
                    app.send(app.client.post(app.url("/auth/reset-password")).json(&body), &Auth::None).await;
                assert_eq!(status, 200, "{body}");
            }
            Change::OwnPatch => {
                let body = json!({ "password": NEW_PASSWORD });
                let (status, body) = app.send(app.client.patch(app.url("/users/me")).json(&body), &sessions[0].1).await;
                assert_eq!(status, 200, "{body}");
            }
            Change::AdminPatch => {
                let body = json!({ "password": NEW_PASSWORD });
                let (status, body) =
                    app.send(app.client.patch(app.url(&format!("/users/{id}"))).json(&body), &admin).await;
                assert_eq!(status, 200, "{body}");
            }
        }

        for (name, auth) in &sessions {
            assert_eq!(app.me(auth).await, 401, "{change:?}: the old {name} credential is refused");
            let patch = json!({ "email": format!("taken-over-{}@example.com", unique()) });
            let (status, _) = app.send(app.client.patch(app.url("/users/me")).json(&patch), auth).await;
            assert_eq!(status, 401, "{change:?}: the old {name} credential cannot change the account");
        }
        for (name, auth) in &sessions[1..] {
            let (status, _) = app.send(app.client.get(app.url("/backend-only")), auth).await;
            assert_eq!(status, 401, "{change:?}: the old {name} token is gone from its store");
        }
        let (status, body) = app.refresh(&refresh_token).await;
        assert_eq!((status, &body["detail"]), (401, &json!("Invalid token")), "{change:?}: the old refresh token");
        for (name, socket) in &mut sockets {
            assert_eq!(
                close_code(socket, Duration::from_secs(5)).await,
                Some(1008),
                "{change:?}: the {name} WebSocket is closed with 1008"
            );
        }
        // A login with the new password works, on every backend, and keeps its socket open.
        for (name, auth) in app.sessions(&email, NEW_PASSWORD).await {
            assert_eq!(app.me(&auth).await, 200, "{change:?}: a new {name} login works");
            let mut socket = app.socket(&auth).await;
            assert_eq!(close_code(&mut socket, Duration::from_millis(500)).await, None, "{change:?}: {name}");
        }
        // And a new pair refreshes.
        let pair = app.state.pairs.issue_pair(&id, &[] as &[&str]).await.unwrap();
        assert_eq!(app.refresh(&pair.refresh_token).await.0, 200, "{change:?}");
    }
}

#[tokio::test]
async fn sessions_end_with_the_password_on_sqlite() {
    let Some(redis) = auth_tests::service_url("REDIS_URL") else { return };
    let app = App::start(&redis, None, false).await;
    sessions_end_with_the_password(&app).await;
}

#[tokio::test]
async fn sessions_end_with_the_password_on_postgres() {
    let Some(redis) = auth_tests::service_url("REDIS_URL") else { return };
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    let app = App::start(&redis, Some(url), false).await;
    sessions_end_with_the_password(&app).await;
    app.clean_up().await;
}

/// With the option, `PATCH /users/me` needs the current password to change the email or the
/// password (400 `UPDATE_USER_INVALID_CURRENT_PASSWORD` when missing or wrong); other fields do
/// not. Without it (the default, fastapi-users' behaviour) it is not asked for.
#[tokio::test]
async fn changing_email_or_password_can_require_the_current_password() {
    let Some(redis) = auth_tests::service_url("REDIS_URL") else { return };
    let app = App::start(&redis, None, true).await;
    let email = format!("user-{}@example.com", unique());
    app.register(&email).await;
    let auth = app.login("jwt", &email, PASSWORD).await;
    let refused = (400, json!({ "detail": "UPDATE_USER_INVALID_CURRENT_PASSWORD" }));
    let patch = |body: Value| app.send(app.client.patch(app.url("/users/me")).json(&body), &auth);
    let new_email = format!("new-{}@example.com", unique());
    for body in [
        json!({ "password": NEW_PASSWORD }),
        json!({ "password": NEW_PASSWORD, "current_password": "wrong password" }),
        json!({ "password": NEW_PASSWORD, "current_password": 12 }),
        json!({ "email": new_email }),
        json!({ "email": new_email, "current_password": "" }),
    ] {
        assert_eq!(patch(body.clone()).await, refused, "{body}");
    }
    // Nothing changed: the old password still logs in.
    app.login("jwt", &email, PASSWORD).await;
    // Other fields need nothing.
    let (status, _) = patch(json!({})).await;
    assert_eq!(status, 200);
    // The right one lets the change through.
    let (status, body) = patch(json!({ "email": new_email, "current_password": PASSWORD })).await;
    assert_eq!((status, body["email"].as_str()), (200, Some(new_email.as_str())));
    let (status, _) = patch(json!({ "password": NEW_PASSWORD, "current_password": PASSWORD })).await;
    assert_eq!(status, 200);
    app.login("jwt", &new_email, NEW_PASSWORD).await;

    // The default: no current password asked.
    let app = App::start(&redis, None, false).await;
    let email = format!("user-{}@example.com", unique());
    app.register(&email).await;
    let auth = app.login("jwt", &email, PASSWORD).await;
    let (status, body) =
        app.send(app.client.patch(app.url("/users/me")).json(&json!({ "password": NEW_PASSWORD })), &auth).await;
    assert_eq!(status, 200, "{body}");
}
