//! Load with faults, bounded in time, on loopback only. Run it with `bash scripts/load_fault.sh`
//! (`.ci/run` does, in debug); it is `#[ignore]`d in the normal test run because it takes half a
//! minute of both cores. It stops and restarts servers of its own (a redis-server and a fresh
//! PostgreSQL cluster on free ports), never the machine's.
//!
//! Three backends guard one route: Redis opaque tokens, PostgreSQL opaque tokens, and JWTs with
//! a Redis denylist. While thousands of authenticated requests run concurrently:
//! - redis-server (our own, on a free port) is killed and restarted, then PostgreSQL (our own)
//!   restarts;
//! - logouts race with use of the same tokens;
//! - refreshes of one refresh token race each other.
//!
//! Asserted: no 5xx but the documented 503, and 503s only while a store is down or just after;
//! no token accepted by a request that started after its logout completed, nor, after Redis
//! lost its data, one logged out before; no refresh family with two live heads.

#![cfg(all(feature = "redis", feature = "database-postgres"))]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use auth_core::{
    AuthBackend, AuthError, Authenticated, Scopes,
    backend::{Authenticator, LoginGrant},
    secured,
    strategies::{
        DatabaseStrategy, DenylistedJwt, JwtKey, JwtStrategy, RedisDenylist, RedisFamilyStore, RedisStrategy,
        TokenPairIssuer,
    },
};
use auth_tests::{OwnPostgres, OwnRedis};
use axum::{Json, Router, extract::FromRef, routing::get};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Every user stays active with `items`: refresh races are about the family store.
struct Active;

impl auth_core::strategies::ReloadUser for Active {
    async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, auth_core::AuthError> {
        Ok(Some(vec!["items".to_owned()]))
    }
}

/// The scopes of this test app.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "redis", transport = bearer(token_url = "auth/redis/login"), strategy = redis, scopes = Scope)]
struct RedisBackend {
    strategy: RedisStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "postgres", transport = api_key(header = "x-token"), strategy = database, scopes = Scope)]
struct PgBackend {
    strategy: DatabaseStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = cookie(name = "jwt", host_prefix = false), strategy = jwt, scopes = Scope)]
struct JwtBackend {
    strategy: DenylistedJwt<RedisDenylist>,
}

/// Logins are not under test here: everyone is johndoe, with no password hashing.
#[derive(Clone)]
struct Anyone;

impl Authenticator for Anyone {
    async fn authenticate(&self, username: &str, password: &str) -> Result<LoginGrant, AuthError> {
        if username == "johndoe" && password == "secret" {
            Ok(LoginGrant { subject: "johndoe".to_owned(), allowed_scopes: vec!["items".to_owned()] })
        } else {
            Err(AuthError::IncorrectLogin)
        }
    }
}

#[derive(Clone, FromRef)]
struct AppState {
    redis: RedisBackend,
    postgres: PgBackend,
    jwt: JwtBackend,
    users: Anyone,
}

#[secured(scopes = ["items"])]
async fn items(user: Authenticated<(RedisBackend, PgBackend, JwtBackend)>) -> Json<Value> {
    Json(json!({ "backend": user.backend }))
}

/// The credential a login response hands out, as the header that carries it.
async fn credential_of(backend: &str, response: reqwest::Response) -> (&'static str, String) {
    match backend {
        "jwt" => ("cookie", response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()),
        "redis" => {
            let body: Value = response.json().await.unwrap();
            ("authorization", format!("Bearer {}", body["access_token"].as_str().unwrap()))
        }
        _ => {
            let body: Value = response.json().await.unwrap();
            ("x-token", body["access_token"].as_str().unwrap().to_owned())
        }
    }
}

/// Milliseconds since the run started.
fn ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    unauthorized: AtomicU64,
    unavailable: AtomicU64,
    other: Mutex<Vec<(u64, u16, String)>>,
    /// When each 503 was seen, for the outage windows.
    unavailable_at: Mutex<Vec<(u64, &'static str)>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "half a minute of load; run with scripts/load_fault.sh"]
async fn load_with_faults() {
    let mut postgres = OwnPostgres::start().expect("the PostgreSQL server is installed (scripts/services.sh)");
    let postgres_url = postgres.url();
    let mut redis = OwnRedis::start().expect("redis-server is installed (scripts/services.sh)");
    let redis_url = redis.url();
    // The library's default: long enough that a loaded but healthy store is not reported down.
    let timeout = Duration::from_secs(2);

    let connection = RedisStrategy::connect(&redis_url).await.unwrap();
    let jwt =
        JwtStrategy::builder(JwtKey::hs256([5u8; 32])).with_jti().lifetime(Duration::from_secs(600)).build().unwrap();
    let database = DatabaseStrategy::builder(&postgres_url).table("load_fault_tokens").timeout(timeout);
    let database = database.build().await.unwrap();
    database.migrate().await.unwrap();
    let state = AppState {
        redis: RedisBackend {
            strategy: RedisStrategy::builder(connection.clone()).prefix("load:").timeout(timeout).build().unwrap(),
        },
        postgres: PgBackend { strategy: database },
        jwt: JwtBackend {
            strategy: DenylistedJwt::new(
                jwt.clone(),
                RedisDenylist::builder(connection.clone()).timeout(timeout).build(),
            ),
        },
        users: Anyone,
    };
    let app = Router::new()
        .route("/items", get(items))
        .nest("/auth/redis", RedisBackend::router::<Anyone, AppState>())
        .nest("/auth/postgres", PgBackend::router::<Anyone, AppState>())
        .nest("/auth/jwt", JwtBackend::router::<Anyone, AppState>())
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = Client::builder().pool_max_idle_per_host(64).build().unwrap();

    // Credentials: 20 per backend.
    let mut credentials: Vec<(&'static str, String)> = Vec::new();
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", "items")];
    for _ in 0..20 {
        let body: Value =
            client.post(format!("{base}/auth/redis/login")).form(&form).send().await.unwrap().json().await.unwrap();
        credentials.push(("authorization", format!("Bearer {}", body["access_token"].as_str().unwrap())));
        let body: Value =
            client.post(format!("{base}/auth/postgres/login")).form(&form).send().await.unwrap().json().await.unwrap();
        credentials.push(("x-token", body["access_token"].as_str().unwrap().to_owned()));
        let response = client.post(format!("{base}/auth/jwt/login")).form(&form).send().await.unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        credentials.push(("cookie", cookie));
    }
    let credentials = Arc::new(credentials);

    // Warm-up: open the connection pools before the clock starts. A cold pool under a burst can
    // take longer than the timeout to connect, and answers 503 then, which is the documented
    // behaviour but not what this test measures.
    let warm_up: Vec<_> = (0..64)
        .map(|i| {
            let (client, base, credentials) = (client.clone(), base.clone(), credentials.clone());
            tokio::spawn(async move {
                let (name, value) = &credentials[i % credentials.len()];
                let _ = client.get(format!("{base}/items")).header(*name, value).send().await;
            })
        })
        .collect();
    for task in warm_up {
        task.await.unwrap();
    }

    let start = Instant::now();
    let run_for = Duration::from_secs(24);
    let tally = Arc::new(Tally::default());
    let outages: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();

    // The load: 64 workers, each looping over the credentials until the time is up.
    let semaphore = Arc::new(Semaphore::new(64));
    let mut workers = Vec::new();
    for worker in 0..64usize {
        let (client, base, credentials, tally, semaphore) =
            (client.clone(), base.clone(), credentials.clone(), tally.clone(), semaphore.clone());
        workers.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await.unwrap();
            let mut i = worker;
            while start.elapsed() < run_for {
                let (name, value) = &credentials[i % credentials.len()];
                i += 7;
                let sent = ms(start);
                let response = client.get(format!("{base}/items")).header(*name, value).send().await;
                let Ok(response) = response else { continue };
                match response.status() {
                    StatusCode::OK => tally.ok.fetch_add(1, Ordering::Relaxed),
                    StatusCode::UNAUTHORIZED => tally.unauthorized.fetch_add(1, Ordering::Relaxed),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        tally.unavailable_at.lock().unwrap().push((sent, name));
                        tally.unavailable.fetch_add(1, Ordering::Relaxed)
                    }
                    status => {
                        let body = response.text().await.unwrap_or_default();
                        tally.other.lock().unwrap().push((sent, status.as_u16(), body));
                        0
                    }
                };
            }
        }));
    }

    // Logout racing with use: for each of 30 fresh tokens, hammer it while logging it out;
    // no request sent after the logout's 204 may succeed.
    let late_acceptances = Arc::new(AtomicU64::new(0));
    let logouts = {
        let (client, base, late) = (client.clone(), base.clone(), late_acceptances.clone());
        tokio::spawn(async move {
            for round in 0..30 {
                let backend = ["redis", "postgres", "jwt"][round % 3];
                let response = client.post(format!("{base}/auth/{backend}/login")).form(&form).send().await.unwrap();
                if !response.status().is_success() {
                    continue; // a store is down right now
                }
                let credential = credential_of(backend, response).await;
                let logged_out_at = Arc::new(Mutex::new(None::<Instant>));
                let mut users = Vec::new();
                for _ in 0..8 {
                    let (client, base, credential, logged_out_at, late) =
                        (client.clone(), base.clone(), credential.clone(), logged_out_at.clone(), late.clone());
                    users.push(tokio::spawn(async move {
                        for _ in 0..10 {
                            let sent = Instant::now();
                            let response =
                                client.get(format!("{base}/items")).header(credential.0, &credential.1).send().await;
                            let accepted = response.is_ok_and(|r| r.status() == StatusCode::OK);
                            let logged_out = *logged_out_at.lock().unwrap();
                            if accepted && logged_out.is_some_and(|at| sent > at) {
                                late.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }));
                }
                let logout = client
                    .post(format!("{base}/auth/{backend}/logout"))
                    .header(credential.0, &credential.1)
                    .send()
                    .await;
                if logout.is_ok_and(|r| r.status() == StatusCode::NO_CONTENT) {
                    *logged_out_at.lock().unwrap() = Some(Instant::now());
                }
                for user in users {
                    user.await.unwrap();
                }
            }
        })
    };

    // Refreshes racing each other, on the Redis family store: at most one winner per token, and
    // afterwards at most one live head per family.
    let refresh_store = RedisFamilyStore::builder(connection.clone()).prefix("load:family:").timeout(timeout).build();
    let refresh_jwt = JwtStrategy::builder(JwtKey::hs256([6u8; 32]))
        .lifetime(Duration::from_secs(3600))
        .token_type(JwtStrategy::REFRESH_TOKEN_TYPE);
    let pairs =
        TokenPairIssuer::builder(refresh_store).strategies(jwt.clone(), refresh_jwt.build().unwrap()).build().unwrap();
    let two_heads = Arc::new(AtomicU64::new(0));
    let refreshes = {
        let (pairs, two_heads) = (pairs.clone(), two_heads.clone());
        tokio::spawn(async move {
            for _ in 0..40 {
                let Ok(pair) = pairs.issue_pair("johndoe", &["items"]).await else { continue };
                let racers: Vec<_> = (0..4)
                    .map(|_| {
                        let (pairs, token) = (pairs.clone(), pair.refresh_token.clone());
                        tokio::spawn(async move { pairs.refresh(&token, &Active).await })
                    })
                    .collect();
                let mut heads = Vec::new();
                for racer in racers {
                    if let Ok(new_pair) = racer.await.unwrap() {
                        heads.push(new_pair.refresh_token);
                    }
                }
                // Every head that survived: at most one may still refresh.
                let mut live = 0;
                for head in heads {
                    if pairs.refresh(&head, &Active).await.is_ok() {
                        live += 1;
                    }
                }
                if live > 1 {
                    two_heads.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    // The faults.
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Logged out just before Redis loses its data (no persistence): after the restart, none of
    // these may be accepted, although the Redis denylist and token keys are gone.
    let mut logged_out_before_outage = Vec::new();
    for backend in ["redis", "postgres", "jwt"] {
        let response = client.post(format!("{base}/auth/{backend}/login")).form(&form).send().await.unwrap();
        let credential = credential_of(backend, response).await;
        let logout =
            client.post(format!("{base}/auth/{backend}/logout")).header(credential.0, &credential.1).send().await;
        assert_eq!(logout.unwrap().status(), StatusCode::NO_CONTENT, "{backend} logout before the outage");
        logged_out_before_outage.push(credential);
    }
    let down = ms(start);
    redis.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.restart().unwrap();
    outages.lock().unwrap().push((down, ms(start)));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let down = ms(start);
    let _postgres = tokio::task::spawn_blocking(move || {
        postgres.restart().expect("PostgreSQL restarts");
        postgres
    })
    .await
    .unwrap();
    outages.lock().unwrap().push((down, ms(start)));

    for worker in workers {
        worker.await.unwrap();
    }
    logouts.await.unwrap();
    refreshes.await.unwrap();
    let mut back_after_outage = Vec::new();
    for (name, value) in &logged_out_before_outage {
        let status = client.get(format!("{base}/items")).header(*name, value).send().await.unwrap().status();
        if status != StatusCode::UNAUTHORIZED {
            back_after_outage.push((*name, status));
        }
    }

    // A restarted store is back when it accepts connections; the pool then re-opens its
    // connections one request at a time, and those requests may still time out. 503s count as
    // part of an outage from 3 s before it until `grace` after it.
    let grace = 6000;
    let outages = outages.lock().unwrap().clone();
    let unexplained_503: Vec<(u64, &str)> = tally
        .unavailable_at
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|(at, _)| !outages.iter().any(|(down, up)| *at + 3000 >= *down && *at <= up + grace))
        .collect();
    let other = tally.other.lock().unwrap().clone();
    let last_503_after_recovery: Vec<i64> = outages
        .iter()
        .map(|(down, up)| {
            let seen = tally
                .unavailable_at
                .lock()
                .unwrap()
                .iter()
                .filter(|(at, _)| at + 3000 >= *down && *at <= up + grace)
                .map(|(at, _)| *at)
                .max();
            seen.map_or(0, |at| at as i64 - *up as i64)
        })
        .collect();
    println!(
        "load_fault: {} requests in {:?}: {} ok, {} unauthorized, {} unavailable (503); outages at {:?} ms; \
         last 503 relative to each recovery: {:?} ms; other statuses: {}; 503 outside outages: {}; late acceptances after logout: {}; families with two live heads: {}",
        tally.ok.load(Ordering::Relaxed)
            + tally.unauthorized.load(Ordering::Relaxed)
            + tally.unavailable.load(Ordering::Relaxed),
        start.elapsed(),
        tally.ok.load(Ordering::Relaxed),
        tally.unauthorized.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        outages,
        last_503_after_recovery,
        other.len(),
        unexplained_503.len(),
        late_acceptances.load(Ordering::Relaxed),
        two_heads.load(Ordering::Relaxed),
    );
    assert!(other.is_empty(), "statuses other than 200/401/503: {:?}", &other[..other.len().min(5)]);
    assert!(
        unexplained_503.is_empty(),
        "503s outside the outages at {:?}",
        &unexplained_503[..unexplained_503.len().min(10)]
    );
    assert_eq!(late_acceptances.load(Ordering::Relaxed), 0, "a token was accepted after its logout completed");
    assert!(back_after_outage.is_empty(), "logged out before Redis lost its data, then: {back_after_outage:?}");
    assert_eq!(two_heads.load(Ordering::Relaxed), 0, "a refresh family had two live heads");
    assert!(tally.ok.load(Ordering::Relaxed) > 1000, "too little load got through");
}
