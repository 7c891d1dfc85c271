//! Every strategy behind a real backend over HTTP: login → authenticated request → logout →
//! the same token refused, and a token past its lifetime refused. Plus the store outage: with
//! Redis stopped mid-run, requests get 503 and recover when it restarts.
//!
//! SQLite and the JWT denylist need nothing. PostgreSQL and Redis run when
//! `DATABASE_URL_POSTGRES` / `REDIS_URL` are set (`scripts/services.sh` sets them) and say they
//! were skipped otherwise, or fail under `REQUIRE_SERVICES=1` (CI); the outage test starts a
//! redis-server of its own.

use std::time::Duration;

use auth_core::{
    AuthBackend, Authenticated, Scopes,
    backend::PasswordTable,
    password::Passwords,
    secured,
    strategies::{DatabaseStrategy, DenylistedJwt, JwtKey, JwtStrategy, MemoryDenylist},
};
use axum::{Json, Router, extract::FromRef, routing::get};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// The scopes of this test app.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

/// One user, johndoe / secret, who may have `items`.
type Users = PasswordTable;

async fn users() -> Users {
    let passwords = Passwords::builder().max_concurrency(2).build();
    PasswordTable::new(passwords).with_user("johndoe", "secret", ["items"]).await.unwrap()
}

/// A backend type, its state and its guarded route, for one strategy.
macro_rules! backend_app {
    ($module:ident, $name:literal, $transport:ident, $strategy_kind:ident, $strategy:ty) => {
        mod $module {
            use super::*;

            #[derive(AuthBackend, Clone)]
            #[backend(name = $name, transport = $transport, strategy = $strategy_kind, scopes = Scope)]
            pub(crate) struct Backend {
                pub(crate) strategy: $strategy,
            }

            #[derive(Clone, FromRef)]
            pub(crate) struct State {
                pub(crate) backend: Backend,
                pub(crate) users: Users,
            }

            #[secured(scopes = ["items"])]
            async fn items(user: Authenticated<Backend>) -> Json<Value> {
                Json(json!({ "subject": user.subject, "backend": user.backend }))
            }

            pub(crate) fn app(backend: Backend, users: Users) -> Router {
                Router::new()
                    .route("/items", get(items))
                    .nest("/auth", Backend::router::<Users, State>())
                    .with_state(State { backend, users })
            }
        }
    };
}

backend_app!(jwt, "jwt", http_bearer, jwt, DenylistedJwt<MemoryDenylist>);
backend_app!(database, "database", cookie, database, DatabaseStrategy);
#[cfg(feature = "redis")]
backend_app!(redis_store, "redis", http_bearer, redis, auth_core::strategies::RedisStrategy);

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// How the credential travels: `Authorization: Bearer` or a cookie.
#[derive(Clone, Copy)]
enum Carrier {
    Bearer,
    Cookie,
}

/// Logs in and returns the header that carries the credential.
async fn login(client: &Client, base: &str, carrier: Carrier) -> (&'static str, String) {
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", "items")];
    let response = client.post(format!("{base}/auth/login")).form(&form).send().await.unwrap();
    match carrier {
        Carrier::Bearer => {
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            ("authorization", format!("Bearer {}", body["access_token"].as_str().unwrap()))
        }
        Carrier::Cookie => {
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
            let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            ("cookie", cookie)
        }
    }
}

async fn get_items(client: &Client, base: &str, (name, value): &(&'static str, String)) -> (StatusCode, String) {
    let response = client.get(format!("{base}/items")).header(*name, value).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// login → authenticated request → logout → the same token refused.
async fn login_use_logout(base: &str, carrier: Carrier, backend: &str) {
    let client = Client::new();
    let credential = login(&client, base, carrier).await;
    let (status, body) = get_items(&client, base, &credential).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "subject": "johndoe", "backend": backend }).to_string());

    let logout = client.post(format!("{base}/auth/logout")).header(credential.0, &credential.1).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);

    let (status, body) = get_items(&client, base, &credential).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"detail":"Could not validate credentials"}"#));
}

/// A token past its lifetime is refused.
async fn expires(base: &str, carrier: Carrier) {
    let client = Client::new();
    let credential = login(&client, base, carrier).await;
    assert_eq!(get_items(&client, base, &credential).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = get_items(&client, base, &credential).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, r#"{"detail":"Could not validate credentials"}"#));
}

fn jwt_backend(lifetime: Duration) -> jwt::Backend {
    let jwt = JwtStrategy::builder(JwtKey::hs256([3u8; 32])).lifetime(lifetime).with_jti().build().unwrap();
    jwt::Backend { strategy: DenylistedJwt::new(jwt, MemoryDenylist::new()) }
}

#[tokio::test]
async fn jwt_with_denylist() {
    let users = users().await;
    login_use_logout(
        &serve(jwt::app(jwt_backend(Duration::from_secs(60)), users.clone())).await,
        Carrier::Bearer,
        "jwt",
    )
    .await;
    expires(&serve(jwt::app(jwt_backend(Duration::from_secs(1)), users)).await, Carrier::Bearer).await;
}

async fn sqlite_backend(dir: &std::path::Path, lifetime: Duration) -> database::Backend {
    let url = format!("sqlite://{}", dir.join(format!("tokens-{}.sqlite", lifetime.as_secs())).display());
    let strategy = DatabaseStrategy::builder(&url).lifetime(lifetime).build().await.unwrap();
    strategy.migrate().await.unwrap();
    database::Backend { strategy }
}

#[tokio::test]
async fn database_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let users = users().await;
    let backend = sqlite_backend(dir.path(), Duration::from_secs(60)).await;
    login_use_logout(&serve(database::app(backend, users.clone())).await, Carrier::Cookie, "database").await;
    // Stored expiry is in whole seconds: with one second, a use just after the login could
    // already be past it.
    let backend = sqlite_backend(dir.path(), Duration::from_secs(2)).await;
    expires(&serve(database::app(backend, users)).await, Carrier::Cookie).await;
}

#[cfg(feature = "database-postgres")]
#[tokio::test]
async fn database_on_postgres() {
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    let users = users().await;
    // Stored expiry is in whole seconds: two, so the first use cannot already be past it.
    for (table, lifetime) in [("http_tokens_long", 60), ("http_tokens_short", 2)] {
        let strategy =
            DatabaseStrategy::builder(&url).table(table).lifetime(Duration::from_secs(lifetime)).build().await.unwrap();
        strategy.migrate().await.unwrap();
        let base = serve(database::app(database::Backend { strategy }, users.clone())).await;
        if lifetime == 60 {
            login_use_logout(&base, Carrier::Cookie, "database").await;
        } else {
            expires(&base, Carrier::Cookie).await;
        }
    }
}

#[cfg(feature = "redis")]
mod redis_tests {
    use std::time::Instant;

    use auth_core::strategies::RedisStrategy;
    use auth_tests::OwnRedis;

    use super::*;

    async fn redis_backend(url: &str, prefix: &str, lifetime: Duration, timeout: Duration) -> redis_store::Backend {
        let connection = RedisStrategy::connect(url).await.unwrap();
        let strategy =
            RedisStrategy::builder(connection).prefix(prefix).lifetime(lifetime).timeout(timeout).build().unwrap();
        redis_store::Backend { strategy }
    }

    #[tokio::test]
    async fn redis() {
        let Some(url) = auth_tests::service_url("REDIS_URL") else { return };
        let users = users().await;
        let timeout = Duration::from_secs(2);
        let backend = redis_backend(&url, "http-test:long:", Duration::from_secs(60), timeout).await;
        login_use_logout(&serve(redis_store::app(backend, users.clone())).await, Carrier::Bearer, "redis").await;
        let backend = redis_backend(&url, "http-test:short:", Duration::from_secs(1), timeout).await;
        expires(&serve(redis_store::app(backend, users)).await, Carrier::Bearer).await;
    }

    #[tokio::test]
    async fn redis_outage_is_503_and_recovers() {
        let Some(mut server) = OwnRedis::start() else { return };
        let url = server.url();
        let backend = redis_backend(&url, "outage:", Duration::from_secs(600), Duration::from_millis(500)).await;
        let base = serve(redis_store::app(backend, users().await)).await;
        let client = Client::new();
        let credential = login(&client, &base, Carrier::Bearer).await;
        assert_eq!(get_items(&client, &base, &credential).await.0, StatusCode::OK);

        server.kill();
        for _ in 0..3 {
            let started = Instant::now();
            let (status, body) = get_items(&client, &base, &credential).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body, r#"{"detail":"Authentication service unavailable"}"#);
            assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
        }
        // The store is in memory only: the restarted server has forgotten the token, so the
        // client logs in again; what matters is that the service answers again.
        server.restart().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let credential = loop {
            let form = [("username", "johndoe"), ("password", "secret"), ("scope", "items")];
            let response = client.post(format!("{base}/auth/login")).form(&form).send().await.unwrap();
            if response.status() == StatusCode::OK {
                let body: Value = response.json().await.unwrap();
                break ("authorization", format!("Bearer {}", body["access_token"].as_str().unwrap()));
            }
            assert!(Instant::now() < deadline, "the service did not recover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(get_items(&client, &base, &credential).await.0, StatusCode::OK);
    }
}
