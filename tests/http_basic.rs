//! HTTP Basic (RFC 7617) as a built-in credential, over real sockets (issue 22, item 1):
//!
//! - over an app's `PasswordTable`: a good login, wrong and unknown users, malformed base64, no
//!   colon, non-UTF-8, an oversized header, another scheme, a user without the route's scope;
//!   every refusal a 401 with `{"detail"}` and `Basic realm="HTTPBasic", charset="UTF-8"`,
//!   never a 500; the failed login logged without the password;
//! - over the users' `UserManager`, on SQLite and PostgreSQL: the user's id and row scopes, and
//!   the login throttle (429 with `Retry-After`) counting Basic failures as login failures;
//! - the cost of an unknown user against a known one's wrong password, within the login budget
//!   (SPEC: within 1.5x).

use std::{
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use auth_core::{
    Authenticated, Scopes,
    backend::{HttpBasic, PasswordTable},
    password::Passwords,
    secured,
    users::{
        self, ClientIpSource, Email, LoginThrottle, NoFields, ThrottlePolicy, UserCreate, UserHooks, UserManager,
        UserScope, UserStore,
    },
};
use axum::{Router, extract::FromRef, routing::get};
use base64::{Engine, engine::general_purpose::STANDARD};

/// The app's scopes.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the reports.
    #[scope("reports")]
    Reports,
}

struct Hooks;

impl UserHooks for Hooks {
    type Fields = NoFields;
}

#[derive(Clone, FromRef)]
struct TableState {
    table: PasswordTable,
}

#[secured(scopes = ["reports"])]
async fn reports(Authenticated(caller): Authenticated<HttpBasic<PasswordTable>>) -> String {
    format!("{} via {}", caller.subject, caller.backend)
}

#[secured(scopes = ["users:superuser"], declaration = UserScope)]
async fn admin(Authenticated(caller): Authenticated<HttpBasic<UserManager<Hooks>>>) -> String {
    caller.subject.clone()
}

#[secured]
async fn me(Authenticated(caller): Authenticated<HttpBasic<UserManager<Hooks>>>) -> String {
    caller.subject.clone()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

/// Status, body and `WWW-Authenticate` of `GET path` with `headers`.
async fn call(addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> (u16, String, Vec<String>, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, reqwest::header::HeaderValue::from_bytes(value).unwrap());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges =
        response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, response.text().await.unwrap(), challenges, retry_after)
}

fn basic_bytes(credentials: &[u8]) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(credentials)).into_bytes()
}

fn basic(user: &str, password: &str) -> Vec<u8> {
    basic_bytes(format!("{user}:{password}").as_bytes())
}

const CHALLENGE: &str = r#"Basic realm="HTTPBasic", charset="UTF-8""#;
const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;
const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;

/// Log lines written while the test runs, for the failed-login line.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink;
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                logs().lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt().with_writer(|| Sink).with_ansi(false).try_init();
        Mutex::new(Vec::new())
    })
}

async fn table() -> PasswordTable {
    PasswordTable::new(Passwords::builder().build())
        .with_user("alice", "wonderland", ["reports"])
        .await
        .unwrap()
        .with_user("bob", "builder", Vec::<String>::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn basic_over_a_password_table() {
    let _ = logs();
    let state = TableState { table: table().await };
    let addr = serve(Router::new().route("/reports", get(reports)).with_state(state)).await;

    let good = call(addr, "/reports", &[("authorization", &basic("alice", "wonderland"))]).await;
    assert_eq!((good.0, good.1.as_str()), (200, "alice via HTTPBasic"));
    // The scheme is case-insensitive; a password may contain colons (split at the first).
    let lower = String::from_utf8(basic("alice", "wonderland")).unwrap().replacen("Basic", "basic", 1);
    assert_eq!(call(addr, "/reports", &[("authorization", lower.as_bytes())]).await.0, 200);

    let missing = call(addr, "/reports", &[]).await;
    assert_eq!(
        (missing.0, missing.1.as_str(), missing.2.clone()),
        (401, NOT_AUTHENTICATED, vec![CHALLENGE.to_owned()])
    );
    let bearer = call(addr, "/reports", &[("authorization", b"Bearer abc")]).await;
    assert_eq!((bearer.0, bearer.1.as_str(), bearer.2.clone()), (401, NOT_AUTHENTICATED, vec![CHALLENGE.to_owned()]));

    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("wrong password", basic("alice", "wrong")),
        ("unknown user", basic("mallory", "wonderland")),
        ("wrong realm user", basic("alice:wonderland", "")),
        ("not base64", b"Basic !!!not-base64!!!".to_vec()),
        ("base64 without padding", b"Basic YWxpY2U6d29uZGVybGFuZA".to_vec()),
        ("no colon", basic_bytes(b"alicewonderland")),
        ("non-UTF-8 user", basic_bytes(b"al\xffice:wonderland")),
        ("non-UTF-8 password", basic_bytes(b"alice:wonder\xc3\x28land")),
        ("empty", basic_bytes(b":")),
        ("decoded over 4 KiB", basic("alice", &"w".repeat(5000))),
    ];
    bad.push(("latin-1 in the header", b"Basic YWxpY2U6\xe9".to_vec()));
    for (case, header) in &bad {
        let refused = call(addr, "/reports", &[("authorization", header)]).await;
        if *case == "latin-1 in the header" {
            // Not visible ASCII: no credential at all.
            assert_eq!((refused.0, refused.1.as_str()), (401, NOT_AUTHENTICATED), "{case}");
        } else {
            assert_eq!((refused.0, refused.1.as_str()), (401, INVALID), "{case}");
        }
        assert_eq!(refused.2, [CHALLENGE], "{case}");
    }
    // Over 8 KiB as sent: not read at all, a 401 all the same.
    let huge = basic("alice", &"w".repeat(9000));
    let refused = call(addr, "/reports", &[("authorization", &huge)]).await;
    assert_eq!(
        (refused.0, refused.1.as_str(), refused.2.clone()),
        (401, NOT_AUTHENTICATED, vec![CHALLENGE.to_owned()])
    );

    // A user the table grants no `reports`: the scope check, as for any credential.
    let bob = call(addr, "/reports", &[("authorization", &basic("bob", "builder"))]).await;
    assert_eq!((bob.0, bob.1.as_str()), (401, r#"{"detail":"Not enough permissions"}"#));

    // Failed logins are logged as the login routes log them, never with the password.
    let logged = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("login failed") && logged.contains("via=\"HTTPBasic\"") && logged.contains("mallory"),
        "{logged}"
    );
    assert!(!logged.contains("wonderland") && !logged.contains("builder\""), "{logged}");
}

/// Unknown users cost what known users' wrong passwords cost: the medians of interleaved
/// requests, over loopback, within 1.5x of each other (the SPEC's login budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_costs_what_a_wrong_password_costs() {
    let state = TableState { table: table().await };
    let addr = serve(Router::new().route("/reports", get(reports)).with_state(state)).await;
    let client = reqwest::Client::new();
    let time = |user: &'static str| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let res = client
                .get(format!("http://{addr}/reports"))
                .header("authorization", basic(user, "not the password"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401);
            started.elapsed().as_secs_f64()
        }
    };
    for _ in 0..3 {
        time("alice").await;
        time("nobody").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        if i % 2 == 0 {
            known.push(time("alice").await);
            unknown.push(time("nobody").await);
        } else {
            unknown.push(time("nobody").await);
            known.push(time("alice").await);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let ratio = known.max(unknown) / known.min(unknown);
    eprintln!(
        "Basic, wrong password: known user {:.1} ms, unknown {:.1} ms, ratio {ratio:.3}",
        known * 1e3,
        unknown * 1e3
    );
    assert!(ratio <= 1.5, "known {known:.4} s, unknown {unknown:.4} s");
}

/// Where the users live for the users cases.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String, String),
}

#[derive(Clone, FromRef)]
struct UsersState {
    users: UserManager<Hooks>,
}

async fn users_app(db: &Db) -> (SocketAddr, UserManager<Hooks>) {
    let (url, table) = match db {
        Db::Sqlite(dir) => (format!("sqlite://{}", dir.path().join("users.sqlite").display()), "users".to_owned()),
        Db::Postgres(url, suffix) => (url.clone(), format!("users_basic_{suffix}")),
    };
    let store = UserStore::builder(url.as_str()).table(table).build().await.unwrap();
    store.migrate().await.unwrap();
    let policy = |free_failures, max_secs| ThrottlePolicy {
        free_failures,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(max_secs),
        window: Duration::from_secs(60),
    };
    let throttle = LoginThrottle::builder()
        .per_account_and_ip(policy(2, 8))
        .per_ip(policy(20, 8))
        .per_account(policy(20, 8))
        .build();
    let users = UserManager::builder(store, Hooks)
        .verify_token_secret([1u8; 32])
        .reset_password_token_secret([2u8; 32])
        .login_throttle(throttle)
        .client_ip(ClientIpSource::Peer)
        .mailer(users::Mailer::disabled())
        .build()
        .unwrap();
    let router = Router::new()
        .route("/admin", get(admin))
        .route("/me", get(me))
        .nest("/auth", users::UserManager::<Hooks>::register_router::<UsersState>().into())
        .with_state(UsersState { users: users.clone() });
    (serve(router).await, users)
}

async fn basic_through_the_users(db: Db) {
    let (addr, users) = users_app(&db).await;
    let create = |email: &str, superuser| UserCreate {
        email: Email::parse(email).unwrap(),
        password: "correct horse battery".to_owned(),
        is_active: Some(true),
        is_superuser: Some(superuser),
        is_verified: Some(true),
        fields: NoFields {},
    };
    let context = users::RequestContext::default();
    let admin = users.create(create("admin@example.com", true), false, &context).await.unwrap();
    let plain = users.create(create("plain@example.com", false), false, &context).await.unwrap();

    // The subject is the user's id; the row grants `users:superuser` to the superuser only.
    let me = call(addr, "/me", &[("authorization", &basic("plain@example.com", "correct horse battery"))]).await;
    assert_eq!((me.0, me.1), (200, plain.id.to_string()));
    let ok = call(addr, "/admin", &[("authorization", &basic("Admin@Example.com", "correct horse battery"))]).await;
    assert_eq!((ok.0, ok.1), (200, admin.id.to_string()));
    let refused =
        call(addr, "/admin", &[("authorization", &basic("plain@example.com", "correct horse battery"))]).await;
    assert_eq!(refused.0, 401);

    // The login throttle: 2 free failures per account and address, a third that sets a
    // one-second delay, then 429 with Retry-After, for the right password too, until it passes.
    for _ in 0..3 {
        let bad = call(addr, "/me", &[("authorization", &basic("plain@example.com", "wrong"))]).await;
        assert_eq!((bad.0, bad.1.as_str(), bad.2.clone()), (401, INVALID, vec![CHALLENGE.to_owned()]));
    }
    let throttled = call(addr, "/me", &[("authorization", &basic("plain@example.com", "correct horse battery"))]).await;
    assert_eq!(
        (throttled.0, throttled.1.as_str()),
        (429, r#"{"detail":"Too many failed attempts, retry later"}"#),
        "{throttled:?}"
    );
    assert_eq!(throttled.3.as_deref(), Some("1"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = call(addr, "/me", &[("authorization", &basic("plain@example.com", "correct horse battery"))]).await;
    assert_eq!(again.0, 200);

    if let Db::Postgres(url, suffix) = &db {
        use auth_core::strategies::database::sqlx;
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in [
            format!(r#"DROP TABLE IF EXISTS "users_basic_{suffix}""#),
            format!("DELETE FROM auth_core_migrations WHERE component = 'users:users_basic_{suffix}'"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
    }
}

#[tokio::test]
async fn basic_through_the_users_on_sqlite() {
    basic_through_the_users(Db::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test]
async fn basic_through_the_users_on_postgres() {
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let suffix = bytes.iter().map(|b| format!("{b:02x}")).collect();
    basic_through_the_users(Db::Postgres(url, suffix)).await;
}
