//! API keys (issue 22, item 2) over real sockets, on SQLite and PostgreSQL: mint, use, the
//! scope subset, expiry, revocation, rotation with an overlap; a checksum refusal that asks the
//! store nothing (its queries counted from sqlx's own statement log); the stored form, which is
//! never the key; logs that never contain a key; `x-api-key` by default and `Authorization:
//! Bearer` through a backend of the app's own; a user's token or a machine's key on one route.

use std::{
    net::SocketAddr,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use auth_core::{
    AuthBackend, AuthError, Authenticated, Scopes, secured,
    strategies::{
        ApiKeys, JwtKey, JwtStrategy, Strategy,
        database::sqlx::{self, AssertSqlSafe},
    },
};
use axum::{Router, extract::FromRef, routing::get};

/// The app's scopes.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the reports.
    #[scope("reports")]
    Reports,
    /// Write the reports.
    #[scope("reports:write")]
    ReportsWrite,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwt, scopes = Scope)]
struct JwtBackend {
    strategy: JwtStrategy,
}

/// The same keys, sent as `Authorization: Bearer <key>`.
#[derive(AuthBackend, Clone)]
#[backend(name = "machine", transport = http_bearer, strategy = api_key)]
struct BearerKeys {
    strategy: ApiKeys,
}

#[derive(Clone, FromRef)]
struct AppState {
    keys: ApiKeys,
    jwt: JwtBackend,
}

impl FromRef<AppState> for BearerKeys {
    fn from_ref(state: &AppState) -> Self {
        BearerKeys { strategy: state.keys.clone() }
    }
}

#[secured(scopes = ["reports"])]
async fn reports(Authenticated(caller): Authenticated<ApiKeys>) -> String {
    format!("{} via {}", caller.subject, caller.backend)
}

#[secured(scopes = ["reports"])]
async fn either(Authenticated(caller): Authenticated<(JwtBackend, ApiKeys)>) -> String {
    format!("{} via {}", caller.subject, caller.backend)
}

#[secured(scopes = ["reports"])]
async fn bearer(Authenticated(caller): Authenticated<BearerKeys>) -> String {
    format!("{} via {}", caller.subject, caller.backend)
}

/// Every log line of the test binary, sqlx's statements included (DEBUG, target `sqlx::query`).
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
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
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(|| Sink)
            .with_ansi(false)
            .try_init();
        Mutex::new(Vec::new())
    })
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// Statements sqlx ran on `table` so far, from its statement log.
fn queries_on(table: &str) -> usize {
    log_text().lines().filter(|line| line.contains("sqlx::query") && line.contains(table)).count()
}

/// Where the keys live.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

fn unique() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct App {
    addr: SocketAddr,
    keys: ApiKeys,
    jwt: JwtStrategy,
    table: String,
}

async fn app(db: &Db) -> App {
    let _ = logs();
    let table = format!("api_keys_{}", unique());
    let url = match db {
        Db::Sqlite(dir) => format!("sqlite://{}", dir.path().join("keys.sqlite").display()),
        Db::Postgres(url) => url.clone(),
    };
    let keys = ApiKeys::connect(url.as_str(), [9u8; 32])
        .await
        .unwrap()
        .with_prefix("ak_test")
        .unwrap()
        .with_table(table.clone())
        .unwrap()
        .with_timeout(Duration::from_secs(10))
        .unwrap();
    keys.migrate().await.unwrap();
    // Twice: idempotent.
    keys.migrate().await.unwrap();
    let jwt = JwtStrategy::builder(JwtKey::hs256([4u8; 32])).build().unwrap();
    let state = AppState { keys: keys.clone(), jwt: JwtBackend { strategy: jwt.clone() } };
    let router = Router::new()
        .route("/reports", get(reports))
        .route("/either", get(either))
        .route("/bearer", get(bearer))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    App { addr, keys, jwt, table }
}

impl App {
    async fn call(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<String>) {
        let mut request = reqwest::Client::new().get(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenges =
            response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        (status, response.text().await.unwrap(), challenges)
    }

    async fn with_key(&self, path: &str, key: &str) -> (u16, String, Vec<String>) {
        self.call(path, &[("x-api-key", key)]).await
    }

    /// Every column of every row of the key table, as text.
    async fn stored(&self, url: &str) -> Vec<String> {
        let sql = format!(
            r#"SELECT id, key_hash, owner, name, prefix, last4, scopes, CAST(created_at AS TEXT), CAST(expires_at AS TEXT), CAST(last_used_at AS TEXT) FROM "{}""#,
            self.table
        );
        type Row = (String, String, String, String, String, String, String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = if url.starts_with("sqlite") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap()
        };
        rows.into_iter()
            .flat_map(|r| [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8.unwrap_or_default(), r.9.unwrap_or_default()])
            .collect()
    }

    async fn drop_table(&self, db: &Db) {
        if let Db::Postgres(url) = db {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for sql in [
                format!(r#"DROP TABLE IF EXISTS "{}""#, self.table),
                format!("DELETE FROM auth_core_migrations WHERE component = 'api_keys:{}'", self.table),
            ] {
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(&pool).await.unwrap();
            }
        }
    }
}

const INVALID: &str = r#"{"detail":"Could not validate credentials"}"#;
const NOT_AUTHENTICATED: &str = r#"{"detail":"Not authenticated"}"#;
const NOT_ENOUGH: &str = r#"{"detail":"Not enough permissions"}"#;

/// Replaces the character at `at` with another base62 character.
fn mistype(key: &str, at: usize) -> String {
    let mut bytes = key.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    String::from_utf8(bytes).unwrap()
}

async fn lifecycle(db: Db) {
    let url = match &db {
        Db::Sqlite(dir) => format!("sqlite://{}", dir.path().join("keys.sqlite").display()),
        Db::Postgres(url) => url.clone(),
    };
    let app = app(&db).await;
    let owner_scopes = ["reports", "reports:write"];

    // Mint, and use: the owner is the subject, the backend says it was a key.
    let (key, listed) = app.keys.mint("alice", &owner_scopes, "ci", &[Scope::Reports], None).await.unwrap();
    assert!(key.starts_with("ak_test_"), "{}", &key[..8]);
    assert_eq!(key.len(), "ak_test_".len() + 36);
    assert_eq!(listed.last4, key[key.len() - 4..]);
    assert_eq!((listed.prefix.as_str(), listed.scopes.clone()), ("ak_test", vec!["reports".to_owned()]));
    assert_eq!(app.with_key("/reports", &key).await, (200, "alice via APIKeyHeader".to_owned(), vec![]));
    // Listings: prefix and last 4, never the key.
    let listing = app.keys.list("alice").await.unwrap();
    assert_eq!(listing.len(), 1);
    assert!(!format!("{listing:?}").contains(&key[8..]));
    assert!(!format!("{:?}", app.keys).contains("9, 9, 9"));

    // The scope subset: more than the owner holds is refused, naming what is missing.
    let refused = app.keys.mint("bob", &["reports"], "ci", &[Scope::Reports, Scope::ReportsWrite], None).await;
    match refused {
        Err(AuthError::InsufficientScope { scopes }) => assert_eq!(scopes.scopes(), ["reports:write"]),
        other => panic!("{other:?}"),
    }
    // A key without the route's scope: the scope check, answered with the key scheme's own
    // challenge.
    let (narrow, _) = app.keys.mint("alice", &owner_scopes, "narrow", &[Scope::ReportsWrite], None).await.unwrap();
    assert_eq!(app.with_key("/reports", &narrow).await, (401, NOT_ENOUGH.to_owned(), vec!["APIKey".to_owned()]));

    // No key, a bad key: 401 with `APIKey`.
    assert_eq!(app.call("/reports", &[]).await, (401, NOT_AUTHENTICATED.to_owned(), vec!["APIKey".to_owned()]));
    // Never from the query, nor as a bearer token, on the default transport.
    let query = app.call(&format!("/reports?x-api-key={key}&api_key={key}"), &[]).await;
    assert_eq!(query.0, 401);
    let as_bearer = app.call("/reports", &[("authorization", &format!("Bearer {key}"))]).await;
    assert_eq!(as_bearer.0, 401);
    // The bearer option, through a backend of the app's own.
    let bearer = app.call("/bearer", &[("authorization", &format!("Bearer {key}"))]).await;
    assert_eq!(bearer, (200, "alice via machine".to_owned(), vec![]));

    // Checksum refusals ask the store nothing; a well-formed unknown key asks once.
    let before = queries_on(&app.table);
    for forged in [
        mistype(&key, 10),
        mistype(&key, key.len() - 1),
        key[..key.len() - 1].to_owned(),
        format!("{key}0"),
        key.replacen("ak_test", "ak_live", 1),
        "ak_test_".to_owned() + &"0".repeat(36),
        "not a key at all".to_owned(),
    ] {
        assert_eq!(app.with_key("/reports", &forged).await, (401, INVALID.to_owned(), vec!["APIKey".to_owned()]));
    }
    assert_eq!(queries_on(&app.table), before, "a checksum refusal queried the store");
    let unknown = {
        let body = format!("ak_test_{}", "A".repeat(30));
        // A well-formed key that was never minted: minted by no one, checksum computed here.
        let crc = crc32fast_hash(body.as_bytes());
        format!("{body}{}", base62_6(crc))
    };
    assert_eq!(app.with_key("/reports", &unknown).await.0, 401);
    assert_eq!(queries_on(&app.table), before + 1, "an unknown well-formed key is one look-up");
    assert!(before > 0, "sqlx's statement log is not captured");

    // Expiry.
    let (short, _) =
        app.keys.mint("alice", &owner_scopes, "short", &[Scope::Reports], Some(Duration::from_secs(3))).await.unwrap();
    assert_eq!(app.with_key("/reports", &short).await.0, 200);

    // Revocation.
    let (revoked, revoked_listed) =
        app.keys.mint("alice", &owner_scopes, "revoked", &[Scope::Reports], None).await.unwrap();
    assert_eq!(app.with_key("/reports", &revoked).await.0, 200);
    assert!(app.keys.revoke(&revoked_listed.id).await.unwrap());
    assert_eq!(app.with_key("/reports", &revoked).await, (401, INVALID.to_owned(), vec!["APIKey".to_owned()]));
    assert!(!app.keys.revoke("no-such-key").await.unwrap());

    // Rotation with an overlap: both work, then only the new one.
    let (rotated, rotated_listed) = app.keys.rotate(&listed.id, Duration::from_secs(3)).await.unwrap();
    assert_ne!(rotated, key);
    assert_eq!((rotated_listed.name.as_str(), rotated_listed.scopes.clone()), ("ci", listed.scopes.clone()));
    assert_eq!(app.with_key("/reports", &key).await.0, 200);
    assert_eq!(app.with_key("/reports", &rotated).await.0, 200);
    // Rotation without an overlap ends the old key now.
    let (next, _) = app.keys.rotate(&rotated_listed.id, Duration::ZERO).await.unwrap();
    assert_eq!(app.with_key("/reports", &rotated).await.0, 401);
    assert_eq!(app.with_key("/reports", &next).await.0, 200);
    assert!(matches!(app.keys.rotate(&revoked_listed.id, Duration::ZERO).await, Err(AuthError::InvalidToken)));

    // Times are whole seconds: 3 s from the mint and the rotation, plus one.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(app.with_key("/reports", &short).await.0, 401, "expired");
    assert_eq!(app.with_key("/reports", &key).await.0, 401, "past the rotation's overlap");
    assert_eq!(app.with_key("/reports", &next).await.0, 200);

    // `last_used_at` was written for a used key (off the request path: give it a moment), and
    // at most once a minute: the many uses above wrote it once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let used = app.keys.get(&revoked_listed.id).await.unwrap().unwrap();
    assert!(used.last_used_at.is_some() && used.revoked_at.is_some());
    let touches = log_text()
        .lines()
        .filter(|line| line.contains("sqlx::query") && line.contains(&app.table) && line.contains("SET last_used_at"))
        .count();
    let used_keys = 5; // key, short, revoked, rotated, next (narrow failed its scope after the look-up)
    assert!(touches <= used_keys + 1, "{touches} writes of last_used_at");

    // A user's token or a machine's key on one route; the handler learns which.
    let token = app.jwt.issue("carol", &["reports"]).unwrap();
    let by_token = app.call("/either", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(by_token, (200, "carol via jwt".to_owned(), vec![]));
    assert_eq!(app.with_key("/either", &next).await, (200, "alice via APIKeyHeader".to_owned(), vec![]));
    let neither = app.call("/either", &[]).await;
    assert_eq!(neither, (401, NOT_AUTHENTICATED.to_owned(), vec!["Bearer".to_owned()]));

    // The stored form is never the key, nor any part of it past the prefix but the last 4.
    let minted = [&key, &narrow, &short, &revoked, &rotated, &next];
    for value in app.stored(&url).await {
        for key in minted {
            assert!(!value.contains(&key[8..key.len() - 4]), "a stored value holds a key");
        }
    }
    // Logs never contain a key.
    let text = log_text();
    for key in minted {
        assert!(!text.contains(key.as_str()), "a key was logged");
    }
    app.drop_table(&db).await;
}

fn crc32fast_hash(bytes: &[u8]) -> u32 {
    // CRC-32 (IEEE), bit by bit: the test's own, independent of the library's.
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn base62_6(mut value: u32) -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_on_sqlite() {
    lifecycle(Db::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_on_postgres() {
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    lifecycle(Db::Postgres(url)).await;
}

#[tokio::test]
async fn the_secret_and_prefix_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.sqlite").display());
    assert!(ApiKeys::connect(url.as_str(), [1u8; 31]).await.is_err());
    let keys = ApiKeys::connect(url.as_str(), [1u8; 32]).await.unwrap();
    for bad in ["", "Ak", "ak-live", "1ak"] {
        assert!(keys.clone().with_prefix(bad).is_err(), "{bad}");
    }
    assert!(keys.clone().with_table("Bad Table").is_err());
    // Minting is not a login: the strategy's write_token refuses.
    assert!(keys.write_token("alice", &[]).await.is_err());
}

/// The state of the documented route: a token, a key, or a password.
#[derive(Clone, FromRef)]
struct DocState {
    keys: ApiKeys,
    jwt: JwtBackend,
    table: auth_core::backend::PasswordTable,
}

/// A report, for a user's token, a machine's key, or an operator's password.
#[utoipa::path(get, path = "/machines", responses((status = 200, description = "Who called, and how")))]
#[secured(scopes = ["reports"])]
async fn machines(
    Authenticated(caller): Authenticated<(
        JwtBackend,
        ApiKeys,
        auth_core::backend::HttpBasic<auth_core::backend::PasswordTable>,
    )>,
) -> String {
    format!("{} via {}", caller.subject, caller.backend)
}

/// OpenAPI: the `apiKey` and `http`/`basic` schemes, and the operation's alternatives, one per
/// credential, each with the route's scopes; the document passes openapi-spec-validator when its
/// venv is there (`tests/openapi/validate.sh` makes it).
#[test]
fn openapi_documents_each_alternative() {
    let (_, mut api) =
        utoipa_axum::router::OpenApiRouter::<DocState>::new().routes(auth_core::routes!(machines)).split_for_parts();
    auth_core::openapi::SecurityDoc::new().apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(
        doc["paths"]["/machines"]["get"]["security"],
        serde_json::json!([{ "jwt": ["reports"] }, { "APIKeyHeader": ["reports"] }, { "HTTPBasic": ["reports"] }])
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["APIKeyHeader"], serde_json::json!({ "type": "apiKey", "in": "header", "name": "x-api-key" }));
    assert_eq!(schemes["HTTPBasic"], serde_json::json!({ "type": "http", "scheme": "basic" }));
    assert_eq!(schemes["jwt"]["type"], "oauth2");

    let venv = std::env::var_os("OPENAPI_VENV").map(std::path::PathBuf::from).or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cache")))?;
        Some(cache.join("auth-core/openapi-validator-0.9.0"))
    });
    let python = venv.map(|venv| venv.join("bin/python")).filter(|python| python.exists());
    let Some(python) = python else {
        // Under REQUIRE_SERVICES=1 (CI, which installs it first) a missing validator is a
        // failure: a green run never means "not checked".
        assert!(
            std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
            "openapi-spec-validator is not installed (INSTALL_ONLY=1 bash tests/openapi/validate.sh installs it)"
        );
        eprintln!(
            "openapi-spec-validator is not installed (INSTALL_ONLY=1 bash tests/openapi/validate.sh installs it): not run"
        );
        return;
    };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let status = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))",
        ])
        .arg(file.path())
        .status()
        .unwrap();
    assert!(status.success(), "openapi-spec-validator refused the document");
}

mod users_keys {
    //! A user's key in the users world: `UserToken<ApiKeys, H>` yields the user, says it came
    //! through a key (`UserPrincipal::backend`), and grants the key's scopes only while the row
    //! still grants them; a password change ends the user's keys.

    use auth_core::{
        Authenticated, secured,
        strategies::ApiKeys,
        users::{
            self, Email, NoFields, UserCreate, UserHooks, UserManager, UserScope, UserStore, UserToken, UserUpdate,
        },
    };
    use axum::{Router, extract::FromRef, routing::get};

    struct Hooks;

    impl UserHooks for Hooks {
        type Fields = NoFields;
    }

    #[derive(Clone, FromRef)]
    struct State {
        users: UserManager<Hooks>,
        keys: ApiKeys,
    }

    #[secured]
    async fn which(Authenticated(user): Authenticated<UserToken<ApiKeys, Hooks>>) -> String {
        format!("{} via {} with {:?}", user.email, user.backend(), user.scopes())
    }

    #[secured(scopes = ["users:superuser"], declaration = UserScope)]
    async fn admin(Authenticated(user): Authenticated<UserToken<ApiKeys, Hooks>>) -> String {
        user.email.clone()
    }

    #[tokio::test]
    async fn a_users_key_grants_its_scopes_within_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("users.sqlite").display());
        let store = UserStore::builder(url.as_str()).build().await.unwrap();
        store.migrate().await.unwrap();
        let users = UserManager::builder(store, Hooks)
            .verify_token_secret([1u8; 32])
            .reset_password_token_secret([2u8; 32])
            .mailer(users::Mailer::disabled())
            .build()
            .unwrap();
        let keys = ApiKeys::connect(url.as_str(), [3u8; 32]).await.unwrap();
        keys.migrate().await.unwrap();
        let context = users::RequestContext::default();
        let admin_user = users
            .create(
                UserCreate {
                    email: Email::parse("root@example.com").unwrap(),
                    password: "correct horse battery".to_owned(),
                    is_active: Some(true),
                    is_superuser: Some(true),
                    is_verified: Some(true),
                    fields: NoFields {},
                },
                false,
                &context,
            )
            .await
            .unwrap();
        let held = users::UserPrincipal::new(admin_user.clone()).scopes().to_vec();
        let (key, _) =
            keys.mint(&admin_user.id.to_string(), &held, "ops", &[UserScope::Superuser], None).await.unwrap();
        let router = Router::new()
            .route("/which", get(which))
            .route("/admin", get(admin))
            .with_state(State { users: users.clone(), keys: keys.clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let call = |path: &'static str, key: String| async move {
            let response = reqwest::Client::new()
                .get(format!("http://{addr}{path}"))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        };

        assert_eq!(
            call("/which", key.clone()).await,
            (200, r#"root@example.com via APIKeyHeader with ["users:superuser"]"#.to_owned())
        );
        assert_eq!(call("/admin", key.clone()).await, (200, "root@example.com".to_owned()));

        // Demoted: the key keeps working, without the scope the row no longer grants.
        let demoted = UserUpdate { is_superuser: Some(false), ..UserUpdate::default() };
        let admin_user = users.update(demoted, &admin_user, false, &context).await.unwrap();
        assert_eq!(call("/which", key.clone()).await, (200, "root@example.com via APIKeyHeader with []".to_owned()));
        assert_eq!(call("/admin", key.clone()).await.0, 401);

        // A password change ends the keys minted before it, as it ends sessions.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let new_password = UserUpdate { password: Some("another horse battery".to_owned()), ..UserUpdate::default() };
        users.update(new_password, &admin_user, false, &context).await.unwrap();
        assert_eq!(call("/which", key).await.0, 401);
    }
}
