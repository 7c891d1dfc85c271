//! Logout racing with requests that carry the same token (issue 20, the race suite): many
//! requests at once over real sockets, a logout among them. The invariant, not a timing: once
//! the logout has answered, no request carrying that token is accepted, whichever request
//! started after it. Requests already in flight when the logout began may go either way.
//!
//! For the cookie backends of the database strategy (SQLite, and PostgreSQL when
//! `DATABASE_URL_POSTGRES` is set) and of the Redis strategy (when `REDIS_URL` is set), and for
//! a denylisted JWT (in memory, and in Redis). Each case is bounded: 16 workers of at most 150
//! requests each, within 20 seconds.

#[path = "fixtures/postgres_tables.rs"]
mod postgres_tables;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use auth_core::{
    AuthBackend,
    strategies::{DatabaseStrategy, DenylistedJwt, JwtKey, JwtStrategy, MemoryDenylist, RedisDenylist, RedisStrategy},
    users::{self, Mailer, NoFields, UserHooks, UserManager, UserStore},
};
use axum::{Router, extract::FromRef};
use reqwest::Client;
use serde_json::{Value, json};

const WORKERS: usize = 16;
const REQUESTS_PER_WORKER: usize = 150;
const TIME_LIMIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "a password 123";

struct Hooks;

impl UserHooks for Hooks {
    type Fields = NoFields;
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

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt)]
struct JwtBackend {
    strategy: DenylistedJwt<MemoryDenylist>,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "redisjwt", transport = bearer(token_url = "auth/redisjwt/login"), strategy = jwt)]
struct RedisJwtBackend {
    strategy: DenylistedJwt<RedisDenylist>,
}

#[derive(Clone, FromRef)]
struct AppState {
    users: UserManager<Hooks>,
    cookie: CookieBackend,
    redis: RedisBackend,
    jwt: JwtBackend,
    redisjwt: RedisJwtBackend,
}

type Backends = (CookieBackend, RedisBackend, JwtBackend, RedisJwtBackend);

struct App {
    base: String,
    client: Client,
    _dir: tempfile::TempDir,
    postgres_suffix: Option<(String, String)>,
}

fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl App {
    async fn start(redis_url: &str, postgres: Option<String>) -> Self {
        use auth_core::strategies::database::sqlx;
        let timeout = Duration::from_secs(10);
        let dir = tempfile::tempdir().unwrap();
        let (store, tokens, postgres_suffix) = match postgres {
            None => {
                let url = format!("sqlite://{}", dir.path().join("users.db").display());
                let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
                    .unwrap()
                    .create_if_missing(true)
                    .busy_timeout(timeout);
                let pool: sqlx::SqlitePool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect_with(options).await.unwrap();
                (UserStore::builder(pool.clone()), DatabaseStrategy::builder(pool), None)
            }
            Some(url) => {
                let suffix = unique();
                let pool: sqlx::PgPool =
                    sqlx::pool::PoolOptions::new().acquire_timeout(timeout).connect(&url).await.unwrap();
                let store = UserStore::builder(pool.clone()).table(format!("users_{suffix}"));
                let tokens = DatabaseStrategy::builder(pool).table(format!("tokens_{suffix}"));
                (store, tokens, Some((url, suffix)))
            }
        };
        let store = store.timeout(timeout).build().await.unwrap();
        store.migrate().await.unwrap();
        let tokens = tokens.timeout(timeout).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let connection = auth_core::strategies::RedisStrategy::connect(redis_url).await.unwrap();
        let prefix = format!("session-races:{}:", unique());
        let redis = RedisStrategy::builder(connection.clone()).prefix(format!("{prefix}token:")).build().unwrap();
        // One key each: a token of one JWT backend must not pass for the other's (whose denylist
        // would not know of its logout).
        let jwt = JwtStrategy::builder(JwtKey::hs256([5u8; 32])).build().unwrap();
        let redis_jwt = JwtStrategy::builder(JwtKey::hs256([6u8; 32])).build().unwrap();
        let users = UserManager::builder(store, Hooks)
            .verify_token_secret([1u8; 32])
            .reset_password_token_secret([2u8; 32])
            .passwords(auth_core::password::Passwords::builder().max_concurrency(4).build())
            .mailer(Mailer::disabled())
            .no_login_throttle()
            .build()
            .unwrap();
        let state = AppState {
            users,
            cookie: CookieBackend { strategy: tokens },
            redis: RedisBackend { strategy: redis },
            jwt: JwtBackend { strategy: DenylistedJwt::new(jwt, MemoryDenylist::new()) },
            redisjwt: RedisJwtBackend {
                strategy: DenylistedJwt::new(
                    redis_jwt,
                    RedisDenylist::builder(connection).prefix(format!("{prefix}revoked:")).build(),
                ),
            },
        };
        let router = Router::new()
            .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>().into())
            .nest("/auth/redis", users::UserManager::<Hooks>::auth_router::<RedisBackend, AppState>().into())
            .nest("/auth/jwt", users::UserManager::<Hooks>::auth_router::<JwtBackend, AppState>().into())
            .nest("/auth/redisjwt", users::UserManager::<Hooks>::auth_router::<RedisJwtBackend, AppState>().into())
            .nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>().into())
            .nest("/users", users::UserManager::<Hooks>::users_router::<Backends, AppState>().into())
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        // Many connections at once: no pooling limit, and a fresh one whenever a worker needs it.
        let client = Client::builder().pool_max_idle_per_host(WORKERS).build().unwrap();
        Self { base, client, _dir: dir, postgres_suffix }
    }

    async fn clean_up(&self) {
        if let Some((url, suffix)) = &self.postgres_suffix {
            postgres_tables::drop_users_and_tokens(url, suffix).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request carrying `credential` (a `Cookie` pair, or a bearer token).
    fn with(&self, request: reqwest::RequestBuilder, credential: &Credential) -> reqwest::RequestBuilder {
        match credential {
            Credential::Cookie(pair) => request.header("cookie", pair),
            Credential::Bearer(token) => request.bearer_auth(token),
        }
    }

    async fn login(&self, backend: &str, email: &str) -> Credential {
        let form = [("username", email), ("password", PASSWORD)];
        let response = self.client.post(self.url(&format!("/auth/{backend}/login"))).form(&form).send().await.unwrap();
        match response.status().as_u16() {
            200 => {
                let body: Value = response.json().await.unwrap();
                Credential::Bearer(body["access_token"].as_str().unwrap().to_owned())
            }
            204 => {
                let header = response.headers()["set-cookie"].to_str().unwrap();
                Credential::Cookie(header.split(';').next().unwrap().to_owned())
            }
            other => panic!("{backend} login answered {other}"),
        }
    }
}

#[derive(Clone, Debug)]
enum Credential {
    Cookie(String),
    Bearer(String),
}

/// One request of a worker: when it started, and what it got.
struct Seen {
    started: Instant,
    status: u16,
}

/// Logs in with `backend`, lets the workers hammer `/users/me` with the token, logs out in the
/// middle of it, and checks that nothing that started after the logout answered was accepted.
async fn logout_races_requests(app: &Arc<App>, backend: &'static str) {
    let email = format!("racer-{}@example.com", unique());
    let body = json!({ "email": email, "password": PASSWORD });
    assert_eq!(app.client.post(app.url("/auth/register")).json(&body).send().await.unwrap().status(), 201);
    let credential = app.login(backend, &email).await;
    let deadline = Instant::now() + TIME_LIMIT;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (app, credential) = (Arc::clone(app), credential.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..REQUESTS_PER_WORKER {
                if Instant::now() > deadline {
                    break;
                }
                let started = Instant::now();
                let response = app.with(app.client.get(app.url("/users/me")), &credential).send().await.unwrap();
                let status = response.status().as_u16();
                assert!(matches!(status, 200 | 401), "{backend}: /users/me answered {status}");
                seen.push(Seen { started, status });
                // Once refused, a few more to be sure it stays so, then done.
                if status == 401 && seen.iter().filter(|s| s.status == 401).count() >= 10 {
                    break;
                }
            }
            seen
        }));
    }
    // Let the workers get going, then log out among them.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let logout = app.with(app.client.post(app.url(&format!("/auth/{backend}/logout"))), &credential);
    let status = logout.send().await.unwrap().status().as_u16();
    let logged_out = Instant::now();
    assert!(matches!(status, 200 | 204), "{backend}: logout answered {status}");

    let mut accepted_before = 0;
    let mut refused_after = 0;
    for worker in workers {
        for seen in worker.await.unwrap() {
            if seen.started > logged_out {
                assert_eq!(
                    seen.status, 401,
                    "{backend}: a request that started after the logout answered was accepted"
                );
                refused_after += 1;
            } else if seen.status == 200 {
                accepted_before += 1;
            }
        }
    }
    // The race happened: requests were accepted before, and refused after.
    assert!(accepted_before > 0, "{backend}: no request got in before the logout");
    assert!(refused_after >= WORKERS, "{backend}: only {refused_after} requests started after the logout");
    // And a last burst, all at once, is refused.
    let burst: Vec<_> =
        (0..WORKERS).map(|_| app.with(app.client.get(app.url("/users/me")), &credential).send()).collect();
    for response in futures_util::future::join_all(burst).await {
        assert_eq!(response.unwrap().status().as_u16(), 401, "{backend}: after the logout");
    }
    eprintln!("{backend}: {accepted_before} accepted before the logout answered, {refused_after} refused after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_racing_requests_on_sqlite_and_redis() {
    let Some(redis) = auth_tests::service_url("REDIS_URL") else { return };
    let app = Arc::new(App::start(&redis, None).await);
    for backend in ["cookie", "redis", "jwt", "redisjwt"] {
        logout_races_requests(&app, backend).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_racing_requests_on_postgres() {
    let Some(redis) = auth_tests::service_url("REDIS_URL") else { return };
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    let app = Arc::new(App::start(&redis, Some(url)).await);
    logout_races_requests(&app, "cookie").await;
    app.clean_up().await;
}
