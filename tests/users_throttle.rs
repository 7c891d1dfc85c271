//! Login throttling over HTTP: 429 with `Retry-After` after the free failures, delays that
//! double, a success that clears the account's counters (and only for the address it came from),
//! the per-IP counter across accounts, and the Redis store shared by two app instances (and its
//! outage, a 503). Client IPs come from `X-Forwarded-For` here, as behind one trusted proxy, so
//! that one test can be many clients.

#[path = "users/test_app.rs"]
mod test_app;

use std::time::Duration;

use auth_core::users::{ClientIpSource, LoginThrottle, LoginThrottleBuilder, ThrottlePolicy};
use serde_json::json;
use test_app::{Db, Options, Res, TestApp, unique};

const PASSWORD: &str = "guinevere";

fn policy(free_failures: u32, max_secs: u64) -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(max_secs),
        window: Duration::from_secs(60),
    }
}

/// Small limits, so the test meets each of them: 2 free failures per account and IP, 8 per IP,
/// 6 per account.
fn throttle(store: LoginThrottleBuilder) -> LoginThrottle {
    store.per_account_and_ip(policy(2, 8)).per_ip(policy(8, 8)).per_account(policy(6, 2)).build()
}

async fn app(db: Db, throttle: LoginThrottle) -> TestApp {
    let mut options = Options::new(db);
    options.throttle = Some(throttle);
    options.client_ip = ClientIpSource::XForwardedFor { trusted_proxies: 1 };
    TestApp::start(options).await
}

fn assert_throttled(res: &Res, retry_after: u64) {
    assert_eq!(res.pair(), (429, json!({ "detail": "LOGIN_TOO_MANY_ATTEMPTS" })), "{res:?}");
    assert_eq!(res.headers["retry-after"], retry_after.to_string().as_str(), "{res:?}");
}

fn assert_bad(res: &Res) {
    assert_eq!(res.pair(), (400, json!({ "detail": "LOGIN_BAD_CREDENTIALS" })), "{res:?}");
}

/// What throttling does, on any store.
async fn backoff_and_reset(attacked: &TestApp, other_instance: &TestApp) {
    let email = format!("arthur-{}@camelot.bt", unique());
    attacked.register(&email, PASSWORD).await;
    let attacker = "203.0.113.10";
    let owner = "198.51.100.20";

    // Two free failures, a third that sets a one-second delay.
    for _ in 0..3 {
        assert_bad(&attacked.login_from(attacker, &email, "wrong password").await);
    }
    // Throttled before the password is looked at: the right one is refused too, on both
    // instances when they share the store.
    assert_throttled(&attacked.login_from(attacker, &email, PASSWORD).await, 1);
    assert_throttled(&other_instance.login_from(attacker, &email, PASSWORD).await, 1);
    // The owner, from elsewhere, is not held up by the attacker's failures.
    assert_eq!(other_instance.login_from(owner, &email, PASSWORD).await.status, 200);
    // That success clears the owner's counters, not the attacker's.
    assert_throttled(&attacked.login_from(attacker, &email, "wrong password").await, 1);

    // The delay doubles with each failure past the free ones.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_bad(&attacked.login_from(attacker, &email, "wrong password").await);
    assert_throttled(&attacked.login_from(attacker, &email, "wrong password").await, 2);
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // A success from the attacker's address (the right password) resets its account counter:
    // two free failures again. (Its IP counter, at 4 of its 8 free failures, stays.)
    assert_eq!(attacked.login_from(attacker, &email, PASSWORD).await.status, 200);
    for _ in 0..2 {
        assert_bad(&attacked.login_from(attacker, &email, "wrong password").await);
    }
    assert_bad(&attacked.login_from(attacker, &email, "wrong password").await);
    assert_throttled(&attacked.login_from(attacker, &email, "wrong password").await, 1);
}

/// One address trying many accounts meets the per-IP counter; unknown accounts count the same
/// as known ones, so a 429 says nothing about which exist.
async fn per_ip(app: &TestApp) {
    let sprayer = "192.0.2.77";
    let known = format!("bors-{}@camelot.bt", unique());
    app.register(&known, PASSWORD).await;
    for i in 0..9 {
        assert_bad(&app.login_from(sprayer, &format!("user{i}-{}@camelot.bt", unique()), PASSWORD).await);
    }
    assert_throttled(&app.login_from(sprayer, &known, PASSWORD).await, 1);
    assert_throttled(&app.login_from(sprayer, &format!("nobody-{}@camelot.bt", unique()), PASSWORD).await, 1);
    // Another address is not affected.
    assert_eq!(app.login_from("192.0.2.78", &known, PASSWORD).await.status, 200);
}

/// Many addresses against one account meet the account-wide counter, whose delay is capped
/// short (2 s here, 1 minute by default): the owner waits at most that long.
async fn per_account(app: &TestApp) {
    let email = format!("kay-{}@camelot.bt", unique());
    app.register(&email, PASSWORD).await;
    for i in 0..7 {
        assert_bad(&app.login_from(&format!("10.0.{i}.1"), &email, "wrong password").await);
    }
    assert_throttled(&app.login_from("10.9.9.9", &email, PASSWORD).await, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.login_from("10.9.9.9", &email, PASSWORD).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("users.sqlite"));
    let memory = throttle(LoginThrottle::builder());
    let app = app(db, memory).await;
    backoff_and_reset(&app, &app).await;
    per_ip(&app).await;
    per_account(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_redis_shared_by_two_instances() {
    let Some(url) = auth_tests::service_url("REDIS_URL") else { return };
    // One database, two app instances, each with its own connection to one Redis, under a
    // prefix of this run's own.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("users.sqlite"));
    let prefix = format!("users-test:{}:", unique());
    let store = || async {
        throttle(
            LoginThrottle::builder()
                .redis(auth_core::strategies::RedisStrategy::connect(&url).await.unwrap())
                .prefix(&prefix),
        )
    };
    let first = app(db.clone(), store().await).await;
    let second = app(db, store().await).await;
    backoff_and_reset(&first, &second).await;
    per_ip(&second).await;
    per_account(&first).await;
}

/// Issue 20, finding 4: a proxy that writes `ip:port` counts that IP, as without the port; a
/// value that is no address at all is counted in a bucket of its own, which never locks the
/// account's known clients out.
/// Warnings of every test of this file, as plain text (a global subscriber: the apps log from
/// their own tasks).
fn warnings() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink(&'static std::sync::Mutex<Vec<u8>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let logs: &'static std::sync::Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || Sink(logs))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_ports_and_unparsable_addresses() {
    let logs = warnings();
    let dir = tempfile::tempdir().unwrap();
    let app = app(Db::Sqlite(dir.path().join("users.sqlite")), throttle(LoginThrottle::builder())).await;
    let email = format!("tristan-{}@camelot.bt", unique());
    app.register(&email, PASSWORD).await;
    let owner = "198.51.100.20";

    for _ in 0..3 {
        assert_bad(&app.login_from("203.0.113.9:4711", &email, "wrong password").await);
    }
    assert_throttled(&app.login_from("203.0.113.9", &email, PASSWORD).await, 1);
    assert_throttled(&app.login_from("203.0.113.9:80", &email, PASSWORD).await, 1);
    for _ in 0..3 {
        assert_bad(&app.login_from("[2001:db8::9]:4711", &email, "wrong password").await);
    }
    assert_throttled(&app.login_from("2001:db8::9", &email, PASSWORD).await, 1);
    assert_eq!(app.login_from(owner, &email, PASSWORD).await.status, 200);

    // Twenty guesses under values that are no address: throttled among themselves…
    let mut statuses = Vec::new();
    for garbage in (0..20).map(|i| format!("not-an-ip-{i}")) {
        statuses.push(app.login_from(&garbage, &email, "wrong password").await.status.as_u16());
    }
    assert_eq!(&statuses[..3], [400, 400, 400], "{statuses:?}");
    assert!(statuses[3..].iter().all(|&status| status == 429), "{statuses:?}");
    // …and the owner, from a known address, is not held up by them.
    assert_eq!(app.login_from(owner, &email, PASSWORD).await.status, 200);
    assert_eq!(app.login_from("192.0.2.33:5555", &email, PASSWORD).await.status, 200);

    // Each value that is no address is logged, escaped and cut short.
    let long = format!("{}{}", "a".repeat(64), "SHOULD-NOT-BE-LOGGED");
    app.login_from(&long, &email, "wrong password").await;
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains(r#"not a client IP; the login is throttled as from an unknown client header="X-Forwarded-For" value="not-an-ip-19""#), "{logs}");
    assert!(logs.contains(&format!("value=\"{}\"", "a".repeat(64))), "{logs}");
    assert!(!logs.contains("SHOULD-NOT-BE-LOGGED"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_503() {
    let Some(mut server) = auth_tests::OwnRedis::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let connection = auth_core::strategies::RedisStrategy::connect(&server.url()).await.unwrap();
    let app =
        app(Db::Sqlite(dir.path().join("users.sqlite")), throttle(LoginThrottle::builder().redis(connection))).await;
    let email = format!("lot-{}@camelot.bt", unique());
    app.register(&email, PASSWORD).await;
    assert_eq!(app.login_from("192.0.2.1", &email, PASSWORD).await.status, 200);
    server.kill();
    let res = app.login_from("192.0.2.1", &email, PASSWORD).await;
    assert_eq!(res.pair(), (503, json!({ "detail": "Authentication service unavailable" })));
}
