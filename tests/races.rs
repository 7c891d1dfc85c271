//! Races: every state-changing flow attacked with parallel requests over real sockets, on SQLite
//! and PostgreSQL, and, where there is Redis, through two app processes sharing it. Each case
//! asserts an invariant, never a timing:
//!
//! - a reset or a verify token sent by 20 requests at once succeeds exactly once;
//! - a refresh token rotated by 20 requests at once has one winner, and the family ends revoked
//!   (the losers are reuse), so no second head lives on;
//! - one address registered by 20 requests at once makes one user, the others are told
//!   `REGISTER_USER_ALREADY_EXISTS`, none is a 500;
//! - an admin's change to a user survives that user's own concurrent updates (issue 20,
//!   finding 1);
//! - a burst of wrong guesses gets at most the throttle's allowance verified, in memory and in
//!   Redis shared by two processes (issue 20, finding 2).
//!
//! Every burst waits at a barrier so that its requests leave together, and is bounded: at most
//! 40 requests, and 60 seconds before the test fails.
//!
//! PostgreSQL runs when `DATABASE_URL_POSTGRES` is set, Redis when `REDIS_URL` is set
//! (`scripts/services.sh`); without them those cases say so and skip. The second process of the
//! Redis cases is this test binary itself, started again to run only [`child_instance`] (see
//! [`ChildInstance`]).

#[path = "users/test_app.rs"]
mod test_app;

#[path = "../examples/oauth2_scopes/app.rs"]
mod scopes_app;

use std::{
    future::Future,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use auth_core::users::{ClientIpSource, LoginThrottle, LoginThrottleBuilder, ThrottlePolicy};
use serde_json::{Value, json};
use test_app::{Auth, Db, Event, Options, Res, TestApp, unique};

const PASSWORD: &str = "guinevere";

/// How many requests one burst sends.
const BURST: usize = 20;

/// How long any burst may take before the test fails.
const BURST_TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh address on a domain email-validator accepts.
fn email(label: &str) -> String {
    format!("{label}-{}@camelot.bt", unique())
}

/// Runs `make(0..n)` on `n` tasks that wait at one barrier, so that the requests leave together;
/// the results in order of `i`.
async fn burst<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let request = make(i);
            tokio::spawn(async move {
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    tokio::time::timeout(BURST_TIMEOUT, async {
        let mut results = Vec::with_capacity(n);
        for task in tasks {
            results.push(task.await.expect("a request task panicked"));
        }
        results
    })
    .await
    .expect("the burst did not finish in time")
}

fn statuses(results: &[Res]) -> Vec<u16> {
    results.iter().map(|r| r.status.as_u16()).collect()
}

/// A reset token sent 20 times at once changes the password once; the winner's password is the
/// one that works afterwards.
async fn reset_token_once(app: &TestApp) {
    let address = email("reset");
    app.register(&address, PASSWORD).await;
    let res = app.post("/auth/forgot-password", json!({ "email": address }), &Auth::None).await;
    assert_eq!(res.status, 202);
    let token = app.recorder.token(true, &address).await;
    let results = burst(BURST, |i| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            app.post(
                "/auth/reset-password",
                json!({ "token": token, "password": format!("new password {i}") }),
                &Auth::None,
            )
            .await
        }
    })
    .await;
    let winners: Vec<usize> = (0..BURST).filter(|&i| results[i].status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one reset wins: {:?}", statuses(&results));
    for (i, res) in results.iter().enumerate().filter(|(i, _)| *i != winners[0]) {
        assert_eq!(res.pair(), (400, json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" })), "request {i}");
    }
    assert_eq!(app.login("jwt", &address, &format!("new password {}", winners[0])).await.status, 200);
    assert_eq!(app.login("jwt", &address, PASSWORD).await.status, 400);
    let loser = (winners[0] + 1) % BURST;
    assert_eq!(app.login("jwt", &address, &format!("new password {loser}")).await.status, 400);
}

/// A verify token sent 20 times at once verifies once: one 200, one `after_verify`.
async fn verify_token_once(app: &TestApp) {
    let address = email("verify");
    app.register(&address, PASSWORD).await;
    let res = app.post("/auth/request-verify-token", json!({ "email": address }), &Auth::None).await;
    assert_eq!(res.status, 202);
    let token = app.recorder.token(false, &address).await;
    let results = burst(BURST, |_| {
        let (app, token) = (app.clone(), token.clone());
        async move { app.post("/auth/verify", json!({ "token": token }), &Auth::None).await }
    })
    .await;
    let verified = results.iter().filter(|r| r.status == 200).count();
    let already =
        results.iter().filter(|r| r.pair() == (400, json!({ "detail": "VERIFY_USER_ALREADY_VERIFIED" }))).count();
    assert_eq!((verified, already), (1, BURST - 1), "{:?}", statuses(&results));
    let hooks = app.recorder.events().into_iter().filter(|e| *e == Event::Verified(address.clone())).count();
    assert_eq!(hooks, 1, "after_verify runs once");
}

/// One address from 20 requests at once: one user; the rest told it exists, none a 500.
async fn register_once(app: &TestApp) {
    let address = email("register");
    let results = burst(BURST, |i| {
        let app = app.clone();
        // Half of them spell it in upper case: the same account.
        let spelling = if i % 2 == 0 { address.clone() } else { address.to_uppercase() };
        async move { app.post("/auth/register", json!({ "email": spelling, "password": PASSWORD }), &Auth::None).await }
    })
    .await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let refused =
        results.iter().filter(|r| r.pair() == (400, json!({ "detail": "REGISTER_USER_ALREADY_EXISTS" }))).count();
    assert_eq!((created, refused), (1, BURST - 1), "{:?}", statuses(&results));
    assert_eq!(app.login("jwt", &address, PASSWORD).await.status, 200);
}

/// Issue 20, finding 1: a user keeps changing their password while a superuser demotes and
/// deactivates them. The demotion must hold, whatever order the writes land in.
async fn admin_change_sticks(app: &TestApp) {
    let admin = app.superuser().await;
    for round in 0..3 {
        let address = email("mordred");
        let id = app.register(&address, PASSWORD).await["id"].as_str().unwrap().to_owned();
        let res = app.patch(&format!("/users/{id}"), json!({ "is_superuser": true }), &admin).await;
        assert_eq!(res.body["is_superuser"], json!(true), "{res:?}");
        let rogue = app.bearer(&address, PASSWORD).await;

        // Four of the user's own tasks, each sending password changes back to back (at most 10,
        // for at most 5 s), and the admin's demotion in the middle of them.
        let deadline = Instant::now() + Duration::from_secs(5);
        let results = burst(5, |task| {
            let (app, rogue, admin, id) = (app.clone(), rogue.clone(), admin.clone(), id.clone());
            async move {
                let mut answers = Vec::new();
                if task == 4 {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let res = app
                        .patch(&format!("/users/{id}"), json!({ "is_superuser": false, "is_active": false }), &admin)
                        .await;
                    assert_eq!(res.status, 200, "the admin's demotion: {res:?}");
                    answers.push(res.status.as_u16());
                    return answers;
                }
                for n in 0..10 {
                    let body = json!({ "password": format!("password {task}.{n}") });
                    let res = app.patch("/users/me", body, &rogue).await;
                    assert!([200, 401, 409].contains(&res.status.as_u16()), "the user's update: {res:?}");
                    answers.push(res.status.as_u16());
                    if res.status == 401 || Instant::now() > deadline {
                        break;
                    }
                }
                answers
            }
        })
        .await;
        // Let anything still in flight land, then look at the row.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let row = app.get(&format!("/users/{id}"), &admin).await;
        assert_eq!(
            (&row.body["is_superuser"], &row.body["is_active"]),
            (&json!(false), &json!(false)),
            "round {round}: the user's updates undid the admin's demotion (answers: {results:?})"
        );
        assert_eq!(app.get("/users/me", &rogue).await.status, 401, "round {round}: the demoted user still reads");
    }
}

/// The first delay is already the longest (a minute), so that the check after a burst does not
/// depend on how long the burst took.
fn policy(free_failures: u32) -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures,
        base_delay: Duration::from_secs(60),
        max_delay: Duration::from_secs(60),
        window: Duration::from_secs(120),
    }
}

/// 3 free failures per account and IP: an allowance of 4 verified guesses before the first
/// delay (the fourth failure sets it); the other counters are wider.
const ALLOWANCE: usize = 4;

fn throttle(store: LoginThrottleBuilder) -> LoginThrottle {
    store.per_account_and_ip(policy(3)).per_ip(policy(10)).per_account(policy(20)).build()
}

fn throttled_options(db: Db, throttle: LoginThrottle) -> Options {
    let mut options = Options::new(db);
    options.throttle = Some(throttle);
    options.client_ip = ClientIpSource::XForwardedFor { trusted_proxies: 1 };
    options
}

/// Issue 20, finding 2: 40 wrong guesses from one address at once, spread over `apps` (one or
/// two instances); at most the allowance is verified (400), the rest are 429 before any
/// password is looked at, and the right password is refused afterwards.
async fn throttle_burst(apps: &[TestApp]) {
    let address = email("throttled");
    apps[0].register(&address, PASSWORD).await;
    let attacker = format!("203.0.113.{}", 1 + u8::from_str_radix(&unique()[..2], 16).unwrap() % 250);
    let results = burst(2 * BURST, |i| {
        let (app, address, attacker) = (apps[i % apps.len()].clone(), address.clone(), attacker.clone());
        async move { app.login_from(&attacker, &address, &format!("wrong guess {i}")).await }
    })
    .await;
    let verified = results.iter().filter(|r| r.status == 400).count();
    let throttled = results.iter().filter(|r| r.status == 429).count();
    assert_eq!(verified + throttled, 2 * BURST, "only 400s and 429s: {:?}", statuses(&results));
    assert!(
        verified <= ALLOWANCE,
        "{verified} guesses verified, the allowance is {ALLOWANCE}: {:?}",
        statuses(&results)
    );
    for app in apps {
        assert_eq!(app.login_from(&attacker, &address, PASSWORD).await.status, 429);
    }
}

/// The cases that use the database, on one app.
async fn suite(db: Db) {
    let app = TestApp::start(Options::new(db.clone())).await;
    admin_change_sticks(&app).await;
    reset_token_once(&app).await;
    verify_token_once(&app).await;
    register_once(&app).await;
    db.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    suite(Db::Sqlite(dir.path().join("users.sqlite"))).await;
}

#[cfg(feature = "database-postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let Some(url) = auth_tests::service_url("DATABASE_URL_POSTGRES") else { return };
    suite(Db::Postgres { url, suffix: unique() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_burst_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("users.sqlite"));
    let app = TestApp::start(throttled_options(db, throttle(LoginThrottle::builder()))).await;
    throttle_burst(&[app]).await;
}

/// The second process of the Redis cases: this test binary, started again by the parent to run
/// only [`child_instance`], which serves one app configured by `RACES_CHILD_*` variables and
/// prints `ready <base URL>`. It ends when the parent closes its standard input, or is killed
/// when dropped.
struct ChildInstance {
    base: String,
    _child: auth_tests::ChildGuard,
}

impl ChildInstance {
    fn start(kind: &str, env: &[(&str, String)]) -> Self {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args(["child_instance", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("RACES_CHILD", kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the second process");
        let stdout = child.stdout.take().expect("its stdout");
        let child = auth_tests::ChildGuard(child);
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest writes `test child_instance ... ` before the test's own output.
                if let Some((_, base)) = line.split_once("ready ") {
                    let _ = sender.send(base.trim().to_owned());
                }
            }
        });
        let base = receiver.recv_timeout(Duration::from_secs(60)).expect("the second process did not get ready");
        Self { base, _child: child }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the second process of the Redis cases, started by them"]
async fn child_instance() {
    let Ok(kind) = std::env::var("RACES_CHILD") else { return };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let base = match kind.as_str() {
        "users" => {
            let connection = auth_core::strategies::RedisStrategy::connect(&var("RACES_CHILD_REDIS")).await.unwrap();
            let store = throttle(LoginThrottle::builder().redis(connection).prefix(var("RACES_CHILD_PREFIX")));
            let db = Db::Sqlite(var("RACES_CHILD_SQLITE").into());
            TestApp::start(throttled_options(db, store)).await.base
        }
        "refresh" => refresh_app::serve(&var("RACES_CHILD_REDIS"), &var("RACES_CHILD_PREFIX")).await,
        other => panic!("unknown RACES_CHILD {other}"),
    };
    println!("ready {base}");
    // Serve until the parent closes our standard input (or kills us).
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_burst_in_redis_shared_by_two_processes() {
    let Some(url) = auth_tests::service_url("REDIS_URL") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.sqlite");
    let prefix = format!("races:{}:", unique());
    let connection = auth_core::strategies::RedisStrategy::connect(&url).await.unwrap();
    let here = TestApp::start(throttled_options(
        Db::Sqlite(path.clone()),
        throttle(LoginThrottle::builder().redis(connection).prefix(&prefix)),
    ))
    .await;
    let child = ChildInstance::start(
        "users",
        &[
            ("RACES_CHILD_REDIS", url.clone()),
            ("RACES_CHILD_PREFIX", prefix.clone()),
            ("RACES_CHILD_SQLITE", path.display().to_string()),
        ],
    );
    // The other process's app, reached over its socket with this process's client.
    let there = TestApp { base: child.base.clone(), ..here.clone() };
    throttle_burst(&[here, there]).await;
}

/// A minimal refresh endpoint over a Redis family store: `POST /pair` logs `u` in,
/// `POST /refresh` rotates.
mod refresh_app {
    use auth_core::{
        AuthError, RefreshTokenRequest,
        strategies::{
            jwt::{JwtKey, JwtStrategy},
            redis::RedisFamilyStore,
            refresh::{ReloadUser, TokenPair, TokenPairIssuer},
        },
    };
    use axum::{Router, extract::State, routing::post};
    use std::sync::Arc;

    struct Everyone;

    impl ReloadUser for Everyone {
        async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, AuthError> {
            Ok(Some(vec!["me".to_owned()]))
        }
    }

    type Issuer = Arc<TokenPairIssuer<RedisFamilyStore>>;

    async fn pair(State(issuer): State<Issuer>) -> Result<TokenPair, AuthError> {
        issuer.issue_pair("u", &["me"]).await
    }

    async fn refresh(State(issuer): State<Issuer>, request: RefreshTokenRequest) -> Result<TokenPair, AuthError> {
        issuer.refresh(&request.refresh_token, &Everyone).await
    }

    /// Serves one instance, with its own connection; its base URL.
    pub(super) async fn serve(redis_url: &str, prefix: &str) -> String {
        let connection = auth_core::strategies::RedisStrategy::connect(redis_url).await.unwrap();
        let access = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap();
        let refresh_strategy = JwtStrategy::builder(JwtKey::hs256([8u8; 32]))
            .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
            .build()
            .unwrap();
        let store = RedisFamilyStore::builder(connection).prefix(prefix).build();
        let issuer: Issuer =
            Arc::new(TokenPairIssuer::builder(store).strategies(access, refresh_strategy).build().unwrap());
        let router = Router::new().route("/pair", post(pair)).route("/refresh", post(refresh)).with_state(issuer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        base
    }
}

/// 20 rotations of one refresh token at once, spread over `bases`: one new pair; every loser
/// is reuse, so the family ends revoked and the winner's refresh token is refused too.
async fn refresh_rotation(bases: &[String], login: reqwest::RequestBuilder) {
    let client = reqwest::Client::new();
    let pair: Value = login.send().await.unwrap().json().await.unwrap();
    let token = pair["refresh_token"].as_str().expect("a refresh token").to_owned();
    let results = burst(BURST, |i| {
        let request =
            client.post(format!("{}/refresh", bases[i % bases.len()])).json(&json!({ "refresh_token": token }));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    })
    .await;
    let winners: Vec<&Value> = results.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    assert_eq!(winners.len(), 1, "{:?}", results.iter().map(|(s, _)| s).collect::<Vec<_>>());
    for (status, body) in results.iter().filter(|(status, _)| *status != 200) {
        assert_eq!((*status, body), (401, &json!({ "detail": "Invalid token" })));
    }
    for base in bases {
        for stale in [&token, winners[0]["refresh_token"].as_str().unwrap()] {
            let res = client.post(format!("{base}/refresh")).json(&json!({ "refresh_token": stale })).send().await;
            assert_eq!(res.unwrap().status(), 401, "a token of the revoked family still refreshes");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_in_memory() {
    const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
    const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";
    let state = scopes_app::AppState::new(SECRET, REFRESH_SECRET).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = scopes_app::app(state);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let form = [("username", "johndoe"), ("password", "secret"), ("scope", "me items")];
    let login = reqwest::Client::new().post(format!("{base}/token/pair")).form(&form);
    refresh_rotation(&[base], login).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_in_redis_shared_by_two_processes() {
    let Some(url) = auth_tests::service_url("REDIS_URL") else { return };
    let prefix = format!("races:family:{}:", unique());
    let here = refresh_app::serve(&url, &prefix).await;
    let child = ChildInstance::start("refresh", &[("RACES_CHILD_REDIS", url), ("RACES_CHILD_PREFIX", prefix)]);
    let login = reqwest::Client::new().post(format!("{here}/pair"));
    refresh_rotation(&[here, child.base.clone()], login).await;
}

/// Issue 20, finding 6, measured rather than asserted (a timing, on a shared machine): 400
/// interleaved pairs of `forgot-password` and of `request-verify-token`, one for an address with
/// an account and one without, each pair in alternating order, timed by the client over
/// loopback. Prints the median, p90 and mean of each, and the median of the per-pair
/// differences. SECURITY.md ("Concurrency") has the figures before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p auth-tests --all-features --test races -- --ignored --nocapture enumeration_timing"]
async fn enumeration_timing() {
    const PAIRS: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(Options::new(Db::Sqlite(dir.path().join("users.sqlite")))).await;
    let known = email("known");
    app.register(&known, PASSWORD).await;
    let time = |address: String, path: &'static str| {
        let app = app.clone();
        async move {
            let started = Instant::now();
            let res = app.post(path, json!({ "email": address }), &Auth::None).await;
            assert_eq!(res.status, 202);
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    for path in ["/auth/forgot-password", "/auth/request-verify-token"] {
        // Warm-up: connections, statements, caches.
        for _ in 0..50 {
            time(known.clone(), path).await;
            time(email("nobody"), path).await;
        }
        let (mut ours, mut nobody, mut differences) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..PAIRS {
            let unknown = email("nobody");
            let (k, u) = if i % 2 == 0 {
                let k = time(known.clone(), path).await;
                (k, time(unknown, path).await)
            } else {
                let u = time(unknown, path).await;
                (time(known.clone(), path).await, u)
            };
            ours.push(k);
            nobody.push(u);
            differences.push(k - u);
        }
        let summary = |samples: &mut Vec<f64>| {
            samples.sort_by(f64::total_cmp);
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            format!("p50 {:.3} ms, p90 {:.3} ms, mean {:.3} ms", at(0.5), at(0.9), mean)
        };
        println!("{path}, {PAIRS} interleaved pairs:");
        println!("  known address:   {}", summary(&mut ours));
        println!("  unknown address: {}", summary(&mut nobody));
        differences.sort_by(f64::total_cmp);
        println!("  known - unknown, per pair: median {:.3} ms", differences[PAIRS / 2]);
    }
}
