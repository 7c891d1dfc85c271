//! The Redis stores against a real redis-server (feature `redis`).
//!
//! - Most tests use the server at `REDIS_URL` and skip, with a notice, when it is unset
//!   (`scripts/services.sh` starts one). Each uses its own key prefix, so they run in parallel.
//! - The outage test starts, kills and restarts its own `redis-server` on a free loopback port;
//!   it skips when the binary is not installed, and fails when it is but does not start.
//!
//! Under `REQUIRE_SERVICES=1` (CI) a skip is a failure (`services/mod.rs`).
#![cfg(feature = "redis")]

mod services;

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use auth_core::{
    error::AuthError,
    strategies::{
        Denylist, DenylistedJwt, JwtKey, JwtStrategy, RefreshFamilyStore, Rotation, Strategy, TokenInfo,
        TokenPairIssuer,
        redis::{ConnectionManager, RedisDenylist, RedisFamilyStore, RedisStrategy},
    },
};
use sha2::{Digest, Sha256};

/// Every user is active and may keep any scope: these tests are about the tokens.
struct Active;

impl auth_core::strategies::ReloadUser for Active {
    async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, AuthError> {
        Ok(Some(["me", "items", "admin"].map(str::to_owned).to_vec()))
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A key prefix no other test (or earlier run) uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("auth-core-test:{test}:{}:{nanos}:", std::process::id())
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A connection to `REDIS_URL`, or `None` (with a notice) when it is unset; a failure under
/// `REQUIRE_SERVICES`.
async fn connection(test: &str) -> Option<ConnectionManager> {
    let url = services::service_url("REDIS_URL", test)?;
    Some(RedisStrategy::connect(&url).await.expect("REDIS_URL is set but the server cannot be reached"))
}

async fn raw<T: redis::FromRedisValue>(connection: &ConnectionManager, command: &redis::Cmd) -> T {
    command.query_async(&mut connection.clone()).await.unwrap()
}

#[tokio::test]
async fn write_read_destroy() {
    let Some(connection) = connection("write_read_destroy").await else { return };
    let prefix = unique_prefix("cycle");
    let tokens = RedisStrategy::builder(connection.clone()).prefix(&prefix).build().unwrap();
    assert_eq!(<RedisStrategy as Strategy>::KIND, "redis");

    let scopes = vec!["me".to_owned(), "items".to_owned()];
    let token = tokens.write_token("johndoe", &scopes).await.unwrap();
    assert_eq!(token.len(), 43);
    let info = tokens.read_token(&token).await.unwrap();
    assert_eq!(
        TokenInfo { issued_at: None, expires_at: None, ..info },
        TokenInfo { subject: "johndoe".into(), scopes, issued_at: None, expires_at: None }
    );

    // Stored under prefix + SHA-256 of the token, with the lifetime as TTL, never raw; and
    // listed in the subject's set (prefix + `user:` + SHA-256 of the subject), which lets a
    // password change end every token of the subject.
    let key = format!("{prefix}{}", sha256_hex(&token));
    let subject_key = format!("{prefix}user:{}", sha256_hex("johndoe"));
    let mut keys: Vec<String> = raw(&connection, redis::cmd("KEYS").arg(format!("{prefix}*"))).await;
    keys.sort();
    let mut expected = vec![key.clone(), subject_key.clone()];
    expected.sort();
    assert_eq!(keys, expected);
    let members: Vec<String> = raw(&connection, redis::cmd("SMEMBERS").arg(&subject_key)).await;
    assert_eq!(members, std::slice::from_ref(&key));
    let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(&subject_key)).await;
    assert!((3590..=3600).contains(&ttl), "the subject's set lives as long as its newest token: TTL {ttl}");
    let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(&key)).await;
    assert!((3590..=3600).contains(&ttl), "TTL {ttl}");
    let value: String = raw(&connection, redis::cmd("GET").arg(&key)).await;
    assert!(!value.contains(&token) && value.contains("johndoe"));

    // A connection the token opens (a WebSocket) ends when the key does (PTTL), and is re-checked.
    const { assert!(<RedisStrategy as Strategy>::REVOCABLE) };
    let info = tokens.read_token(&token).await.unwrap();
    let expires_at = info.expires_at;
    assert_eq!(info.subject, "johndoe");
    let left = expires_at.unwrap().duration_since(SystemTime::now()).unwrap();
    assert!(left <= tokens.lifetime() && left + Duration::from_secs(2) >= tokens.lifetime(), "{left:?}");

    let other = tokens.write_token("alice", &[]).await.unwrap();
    tokens.destroy_token(&token).await.unwrap();
    assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
    let exists: i64 = raw(&connection, redis::cmd("EXISTS").arg(&key)).await;
    assert_eq!(exists, 0, "logout deletes the key");
    tokens.destroy_token(&token).await.unwrap();
    tokens.destroy_token("garbage").await.unwrap();
    assert_eq!(tokens.read_token(&other).await.unwrap().subject, "alice");
    tokens.destroy_token(&other).await.unwrap();
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let Some(connection) = connection("expired_tokens_are_refused").await else { return };
    let tokens = RedisStrategy::builder(connection)
        .prefix(unique_prefix("expiry"))
        .lifetime(Duration::from_secs(1))
        .build()
        .unwrap();
    let token = tokens.write_token("johndoe", &[]).await.unwrap();
    assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn prefixes_separate_stores_and_garbage_is_refused() {
    let Some(connection) = connection("prefixes_separate_stores").await else { return };
    let first = RedisStrategy::builder(connection.clone()).prefix(unique_prefix("first")).build().unwrap();
    let second = RedisStrategy::builder(connection).prefix(unique_prefix("second")).build().unwrap();
    let token = first.write_token("johndoe", &[]).await.unwrap();
    assert!(matches!(second.read_token(&token).await, Err(AuthError::InvalidToken)));
    assert_eq!(first.read_token(&token).await.unwrap().subject, "johndoe");
    for bad in ["", "nope", &"x".repeat(513), &"A".repeat(44), &format!("{}B", "A".repeat(42)), "*"] {
        assert!(matches!(first.read_token(bad).await, Err(AuthError::InvalidToken)), "accepted {bad:?}");
    }
    assert!(matches!(first.write_token("johndoe", &["a b".to_owned()]).await, Err(AuthError::Internal)));
    first.destroy_token(&token).await.unwrap();
}

#[tokio::test]
async fn builder_validates_settings() {
    let Some(connection) = connection("builder_validates_settings").await else { return };
    let builder = || RedisStrategy::builder(connection.clone());
    assert!(builder().prefix("").build().is_err());
    assert!(builder().lifetime(Duration::from_millis(500)).build().is_err());
    assert!(builder().timeout(Duration::ZERO).build().is_err());
    let tokens = builder().build().unwrap();
    assert_eq!(
        (tokens.prefix(), tokens.lifetime(), tokens.timeout()),
        ("auth:token:", Duration::from_secs(3600), Duration::from_secs(2))
    );
}

#[tokio::test]
async fn family_store_rotates_once_and_revokes_on_replay() {
    let Some(connection) = connection("family_store").await else { return };
    let prefix = unique_prefix("family");
    let families = RedisFamilyStore::builder(connection.clone()).prefix(&prefix).build();
    let expires_at = now() + 60;

    families.create("f1", "head0", expires_at).await.unwrap();
    let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(format!("{prefix}f1"))).await;
    assert!((55..=60).contains(&ttl), "TTL {ttl}");
    assert_eq!(families.rotate("f1", "head0", "head1", expires_at).await.unwrap(), Rotation::Rotated);
    // Replaying the rotated-out head revokes the family, the current head included.
    assert_eq!(families.rotate("f1", "head0", "head2", expires_at).await.unwrap(), Rotation::Reused);
    assert_eq!(families.rotate("f1", "head1", "head2", expires_at).await.unwrap(), Rotation::Unknown);
    assert_eq!(families.rotate("never", "x", "y", expires_at).await.unwrap(), Rotation::Unknown);

    // Revocation (logout) ends a family.
    families.create("f2", "head0", expires_at).await.unwrap();
    families.revoke("f2").await.unwrap();
    assert_eq!(families.rotate("f2", "head0", "head1", expires_at).await.unwrap(), Rotation::Unknown);

    // Expiry ends a family: a family born expired never lives, a live one dies on time.
    families.create("f3", "head0", now() - 1).await.unwrap();
    assert_eq!(families.rotate("f3", "head0", "head1", expires_at).await.unwrap(), Rotation::Unknown);
    families.create("f4", "head0", now() + 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(families.rotate("f4", "head0", "head1", expires_at).await.unwrap(), Rotation::Unknown);
}

#[tokio::test]
async fn family_store_rotation_is_atomic() {
    let Some(connection) = connection("family_store_atomic").await else { return };
    let families = RedisFamilyStore::builder(connection).prefix(unique_prefix("atomic")).build();
    let expires_at = now() + 60;
    for round in 0..20 {
        let family = format!("f{round}");
        families.create(&family, "head", expires_at).await.unwrap();
        let (a, b) = tokio::join!(
            families.rotate(&family, "head", "next-a", expires_at),
            families.rotate(&family, "head", "next-b", expires_at)
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        // Exactly one wins; the other sees a foreign head and revokes the family.
        assert!(outcomes.contains(&Rotation::Rotated), "{outcomes:?}");
        assert!(outcomes.contains(&Rotation::Reused), "{outcomes:?}");
    }
}

#[tokio::test]
async fn token_pairs_rotate_through_redis() {
    let Some(connection) = connection("token_pairs").await else { return };
    let families = RedisFamilyStore::builder(connection).prefix(unique_prefix("pairs")).build();
    let access = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap();
    let refresh = JwtStrategy::builder(JwtKey::hs256([8u8; 32]))
        .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
        .build()
        .unwrap();
    let issuer = TokenPairIssuer::builder(families).strategies(access, refresh).build().unwrap();

    let login = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
    let rotated = issuer.refresh(&login.refresh_token, &Active).await.unwrap();
    let again = issuer.refresh(&rotated.refresh_token, &Active).await.unwrap();
    // Replay of an old refresh token: refused, and the whole family with it.
    assert!(matches!(issuer.refresh(&login.refresh_token, &Active).await, Err(AuthError::InvalidToken)));
    assert!(matches!(issuer.refresh(&again.refresh_token, &Active).await, Err(AuthError::InvalidToken)));
}

#[tokio::test]
async fn denylist_revokes_until_expiry() {
    let Some(connection) = connection("denylist").await else { return };
    let prefix = unique_prefix("denylist");
    let denylist = RedisDenylist::builder(connection.clone()).prefix(&prefix).build();

    denylist.revoke("jti-1", now() + 60).await.unwrap();
    assert!(denylist.is_revoked("jti-1", now()).await.unwrap());
    assert!(!denylist.is_revoked("jti-2", now()).await.unwrap());
    let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(format!("{prefix}jti-1"))).await;
    assert!((55..=60).contains(&ttl), "the entry lives as long as the token: TTL {ttl}");
    // Revoking an already-expired token stores nothing.
    denylist.revoke("jti-3", now() - 1).await.unwrap();
    assert!(!denylist.is_revoked("jti-3", now()).await.unwrap());
    let keys: Vec<String> = raw(&connection, redis::cmd("KEYS").arg(format!("{prefix}*"))).await;
    assert_eq!(keys.len(), 2, "one entry, and since when the list holds entries: {keys:?}");
    // The `since` key never expires: if it did, the list would forget that it had lost nothing.
    let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(format!("{prefix}!since"))).await;
    assert_eq!(ttl, -1);
    // A token issued before the list started holding entries is refused: the list cannot vouch
    // for it.
    assert!(denylist.is_revoked("jti-2", now() - 5).await.unwrap());
}

#[tokio::test]
async fn denylisted_jwt_logout_sticks() {
    let Some(connection) = connection("denylisted_jwt").await else { return };
    let prefix = unique_prefix("jwt");
    let denylist = RedisDenylist::builder(connection.clone()).prefix(&prefix).build();
    let jwt =
        JwtStrategy::builder(JwtKey::hs256([7u8; 32])).leeway(std::time::Duration::from_secs(30)).build().unwrap();
    let tokens = DenylistedJwt::new(jwt.clone(), denylist);
    // Issued by the denylisted strategy (with a `jti`), and by the plain one (without: the id
    // is the hash of the signing input).
    for (token, other) in [
        (
            tokens.write_token("johndoe", &["me".to_owned()]).await.unwrap(),
            tokens.write_token("alice", &[]).await.unwrap(),
        ),
        (jwt.issue("bob", &["me"]).unwrap(), jwt.issue("carol", &["me"]).unwrap()),
    ] {
        assert!(tokens.read_token(&token).await.is_ok());
        tokens.destroy_token(&token).await.unwrap();
        assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
        assert!(tokens.read_token(&other).await.is_ok());
        // Logging out with garbage or twice is fine.
        tokens.destroy_token("garbage").await.unwrap();
        tokens.destroy_token(&token).await.unwrap();
    }
    // The entries outlive `exp` by the leeway, during which the tokens would still verify.
    let keys: Vec<String> = raw(&connection, redis::cmd("KEYS").arg(format!("{prefix}*"))).await;
    let keys: Vec<String> = keys.into_iter().filter(|key| !key.ends_with("!since")).collect();
    assert_eq!(keys.len(), 2);
    let lifetime = tokens.jwt().lifetime().as_secs() as i64;
    for key in keys {
        let ttl: i64 = raw(&connection, redis::cmd("TTL").arg(&key)).await;
        assert!((lifetime + 25..=lifetime + 31).contains(&ttl), "{key}: TTL {ttl}");
    }
    assert!(keys_for_plain_token_use_the_signing_input(&jwt));
}

/// The id of a token without `jti` does not depend on its signature's spelling.
fn keys_for_plain_token_use_the_signing_input(jwt: &JwtStrategy) -> bool {
    let token = jwt.issue("dave", &["me"]).unwrap();
    let (message, _) = token.rsplit_once('.').unwrap();
    auth_core::__private::token_id(&token) == sha256_hex(message)
        && auth_core::__private::token_id(&format!("{message}.other")) == sha256_hex(message)
}

/// A redis-server of our own on a loopback port, killed when dropped.
struct OwnServer {
    port: u16,
    child: Option<Child>,
}

impl OwnServer {
    /// Starts one on a free port, or `None` (a [`services::skip`]) when redis-server is not
    /// installed. Any other failure to start panics with the reason.
    fn start(test: &str) -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let mut server = Self { port, child: None };
        match server.restart() {
            Ok(()) => Some(server),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                services::skip(test, "redis-server is not installed")
            }
            Err(error) => panic!("redis-server did not start on port {port}: {error}"),
        }
    }

    /// Starts the server (again) and waits until it accepts connections. The spawn's error
    /// (`NotFound` when the binary is absent), or an error with the server's own output when it
    /// exits or does not listen within 10 s.
    fn restart(&mut self) -> std::io::Result<()> {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            let exited = child.try_wait()?;
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait()?;
                let mut output = String::new();
                let _ = std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut output);
                let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut output);
                let silent = if exited.is_some() { "it exited before listening" } else { "no listener within 10 s" };
                return Err(std::io::Error::other(format!(
                    "redis-server on port {} ({status}): {}",
                    self.port,
                    output.trim_end().lines().last().unwrap_or(silent)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its later log lines go nowhere (redis-server ignores SIGPIPE).
        drop((child.stdout.take(), child.stderr.take()));
        self.child = Some(child);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `operation`; returns its error, if any, and how long it took.
async fn failure<T>(operation: impl Future<Output = Result<T, AuthError>>) -> (Option<AuthError>, Duration) {
    let started = Instant::now();
    let error = operation.await.err();
    (error, started.elapsed())
}

#[tokio::test]
async fn outage_is_unavailable_within_the_timeout_and_recovers() {
    let Some(mut server) = OwnServer::start("outage_is_unavailable_within_the_timeout_and_recovers") else { return };
    let timeout = Duration::from_millis(500);
    let client = redis::Client::open(server.url()).unwrap();
    let connection =
        ConnectionManager::new_with_config(client, auth_core::__private::connection_config(timeout)).await.unwrap();
    let tokens = RedisStrategy::builder(connection.clone()).timeout(timeout).build().unwrap();
    let denylist = RedisDenylist::builder(connection.clone()).timeout(timeout).build();
    let families = RedisFamilyStore::builder(connection).timeout(timeout).build();

    let token = tokens.write_token("johndoe", &[]).await.unwrap();
    assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");

    server.kill();
    // Every operation fails with 503, each within the timeout (plus scheduling slack), while
    // the connection manager keeps trying to reconnect in the background.
    for round in 0..3 {
        let results = [
            failure(tokens.read_token(&token)).await,
            failure(tokens.write_token("johndoe", &[])).await,
            failure(tokens.destroy_token(&token)).await,
            failure(denylist.is_revoked("jti", now())).await,
            failure(families.rotate("f", "a", "b", now() + 60)).await,
        ];
        for (i, (error, elapsed)) in results.into_iter().enumerate() {
            assert!(matches!(error, Some(AuthError::Unavailable)), "round {round}, operation {i}: {error:?}");
            assert!(elapsed < timeout + Duration::from_millis(250), "round {round}, operation {i} took {elapsed:?}");
        }
    }

    server.restart().unwrap();
    // The manager reconnects by itself: requests succeed again without a new connection.
    let started = Instant::now();
    let token = loop {
        match tokens.write_token("johndoe", &[]).await {
            Ok(token) => break token,
            Err(AuthError::Unavailable) => {
                assert!(started.elapsed() < Duration::from_secs(15), "no recovery after {:?}", started.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("unexpected error after restart: {other:?}"),
        }
    };
    eprintln!("recovered {:?} after the restart", started.elapsed());
    assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");
    assert!(!denylist.is_revoked("jti", now()).await.unwrap());
    families.create("f", "a", now() + 60).await.unwrap();
    assert_eq!(families.rotate("f", "a", "b", now() + 60).await.unwrap(), Rotation::Rotated);
}

/// A password change ends every token of the user: `revoke_subject` deletes the keys listed in
/// the subject's set, and the set, and leaves other subjects' tokens alone.
#[tokio::test]
async fn revoke_subject_deletes_every_token_of_the_subject() {
    use auth_core::strategies::RevokeSubject;
    let Some(connection) = connection("revoke_subject_deletes_every_token_of_the_subject").await else { return };
    let prefix = unique_prefix("revoke-subject");
    let tokens = RedisStrategy::builder(connection.clone()).prefix(&prefix).build().unwrap();
    let mut johns = Vec::new();
    for _ in 0..3 {
        johns.push(tokens.write_token("johndoe", &[]).await.unwrap());
    }
    let alice = tokens.write_token("alice", &[]).await.unwrap();
    // One of them already logged out: its stale entry in the set is harmless.
    tokens.destroy_token(&johns[0]).await.unwrap();
    tokens.revoke_subject("johndoe").await.unwrap();
    for token in &johns {
        assert!(matches!(tokens.read_token(token).await, Err(AuthError::InvalidToken)));
    }
    assert_eq!(tokens.read_token(&alice).await.unwrap().subject, "alice");
    let keys: Vec<String> = raw(&connection, redis::cmd("KEYS").arg(format!("{prefix}*"))).await;
    assert_eq!(keys.len(), 2, "alice's token and set remain: {keys:?}");
    // Nothing to revoke is not an error; a new login after it works.
    tokens.revoke_subject("johndoe").await.unwrap();
    let fresh = tokens.write_token("johndoe", &[]).await.unwrap();
    assert_eq!(tokens.read_token(&fresh).await.unwrap().subject, "johndoe");
}

/// The load_fault failure of 2026-12-07: a redis-server without persistence restarted, the
/// denylist came back empty, and a logged-out JWT was accepted again. The list now knows since
/// when it holds entries, and refuses every token issued before: logged out or not, a token
/// from before the loss is refused, and new logins work.
#[tokio::test]
async fn a_denylist_that_lost_its_data_refuses_every_older_token() {
    let Some(mut server) = OwnServer::start("a_denylist_that_lost_its_data_refuses_every_older_token") else { return };
    let timeout = Duration::from_millis(500);
    let client = redis::Client::open(server.url()).unwrap();
    let connection =
        ConnectionManager::new_with_config(client, auth_core::__private::connection_config(timeout)).await.unwrap();
    let denylist = RedisDenylist::builder(connection).timeout(timeout).build();
    let jwt = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap();
    let tokens = DenylistedJwt::new(jwt, denylist);

    let logged_out = tokens.write_token("johndoe", &[]).await.unwrap();
    let kept = tokens.write_token("alice", &[]).await.unwrap();
    assert!(tokens.read_token(&logged_out).await.is_ok());
    tokens.destroy_token(&logged_out).await.unwrap();
    assert!(matches!(tokens.read_token(&logged_out).await, Err(AuthError::InvalidToken)));
    assert!(tokens.read_token(&kept).await.is_ok());

    // The server loses everything (no persistence), in a later second than the tokens' `iat`.
    std::thread::sleep(Duration::from_millis(1100));
    server.kill();
    server.restart().unwrap();
    let started = Instant::now();
    let outcome = loop {
        match tokens.read_token(&logged_out).await {
            Err(AuthError::Unavailable) => {
                assert!(started.elapsed() < Duration::from_secs(15), "no recovery after {:?}", started.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            outcome => break outcome,
        }
    };
    assert!(matches!(outcome, Err(AuthError::InvalidToken)), "a logged-out token came back: {outcome:?}");
    assert!(matches!(tokens.read_token(&kept).await, Err(AuthError::InvalidToken)));
    let fresh = tokens.write_token("johndoe", &[]).await.unwrap();
    assert_eq!(tokens.read_token(&fresh).await.unwrap().subject, "johndoe");
}
