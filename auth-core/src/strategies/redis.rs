//! Redis-backed token state, for deployments that outgrow one process: opaque tokens
//! ([`RedisStrategy`]), refresh-token families ([`RedisFamilyStore`]) and a JWT denylist
//! ([`RedisDenylist`]).
//!
//! All three share one multiplexed [`ConnectionManager`] (cheap to clone), which reconnects by
//! itself after the server restarts or the network drops. [`RedisStrategy::connect`] makes one with timeouts
//! and a reconnect backoff suited to request handling.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::strategies::{RedisStrategy, Strategy};
//!
//! let connection = RedisStrategy::connect("redis://127.0.0.1:6379").await?;
//! let tokens = RedisStrategy::builder(connection).prefix("myapp:token:").build()?;
//!
//! let token = tokens.write_token("johndoe", &["me".to_owned()]).await?;
//! assert_eq!(tokens.read_token(&token).await?.subject, "johndoe");
//! tokens.destroy_token(&token).await?; // logout: DEL
//! # Ok(())
//! # }
//! ```
//!
//! # Keys
//!
//! | store               | key                                  | value                     | expiry              |
//! |---------------------|--------------------------------------|---------------------------|---------------------|
//! | [`RedisStrategy`]   | `auth:token:` + SHA-256 hex of token | `{"subject","scopes","iat"}` | `EX` lifetime    |
//! | [`RedisStrategy`]   | `auth:token:user:` + SHA-256 hex of subject | a set: the subject's token keys | `EX` lifetime |
//! | [`RedisFamilyStore`]| `auth:family:` + family id           | the head's `jti`          | `EXAT` family       |
//! | [`RedisDenylist`]   | `auth:revoked:` + `jti` or token id  | `1`                       | `EXAT` exp + leeway |
//! | [`RedisDenylist`]   | `auth:revoked:!since`                | since when it holds entries (Unix s) | none     |
//!
//! Tokens are generated and hashed as in the database strategy: 256 random bits, base64url, and
//! only their SHA-256 ever reaches Redis.
//!
//! # Failures
//!
//! Every command runs under the store timeout ([`RedisStrategy::DEFAULT_TIMEOUT`], see [the timeout
//! policy](crate::db#timeouts)). A timeout, a refused
//! or dropped connection, or a server that is loading, read-only or failing over is
//! [`AuthError::Unavailable`] (503), logged with `tracing::warn!` and never with a token. While
//! the server is down each request fails within the timeout; once it is back, the connection
//! manager's next reconnect succeeds and requests go through again. Other errors (a wrong
//! password, a value that is not ours under our key) are [`AuthError::Internal`].

use std::time::Duration;

use redis::{ErrorKind, FromRedisValue, RedisError, ServerErrorKind, aio::ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

use super::{RefreshFamilyStore, RevokeSubject, Rotation, Strategy, TokenInfo, denylist::Denylist, jwt::now, opaque};
use crate::error::AuthError;

pub use redis::aio::ConnectionManager;

/// [`RedisStrategy::DEFAULT_TIMEOUT`], for the crate's own use: the store timeout of
/// [the timeout policy](crate::db#timeouts).
pub(crate) const DEFAULT_TIMEOUT: Duration = crate::db::STORE_TIMEOUT;

impl RedisStrategy {
    /// Connects to `url` (`redis://[user:password@]host[:port][/db]`) with [`connection_config`]
    /// for [`RedisStrategy::DEFAULT_TIMEOUT`]: one connection for a [`RedisStrategy`], a
    /// [`RedisFamilyStore`] and a [`RedisDenylist`] alike. Fails if the server cannot be reached now, so that a wrong URL
    /// shows at startup; later outages are survived.
    pub async fn connect(url: &str) -> Result<ConnectionManager, RedisStoreError> {
        let client = redis::Client::open(url)?;
        let connecting = ConnectionManager::new_with_config(client, connection_config(DEFAULT_TIMEOUT));
        // The manager retries inside; bound the whole attempt, retries included.
        let limit = DEFAULT_TIMEOUT * 4;
        match tokio::time::timeout(limit, connecting).await {
            Ok(manager) => Ok(manager?),
            Err(_) => Err(RedisStoreError::Timeout(limit)),
        }
    }

    /// How long an issued token lives unless configured: one hour.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

    /// How long any one command may take unless configured: 2 seconds.
    pub const DEFAULT_TIMEOUT: Duration = DEFAULT_TIMEOUT;

    /// The key prefix of [`RedisStrategy`] tokens unless configured.
    pub const DEFAULT_PREFIX: &str = "auth:token:";
}

impl RedisFamilyStore {
    /// The key prefix of [`RedisFamilyStore`] families unless configured.
    pub const DEFAULT_PREFIX: &str = "auth:family:";
}

impl RedisDenylist {
    /// The key prefix of [`RedisDenylist`] entries unless configured.
    pub const DEFAULT_PREFIX: &str = "auth:revoked:";
}

/// Why a Redis store could not be set up (startup errors; requests fail with [`AuthError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// An invalid setting.
    #[error("invalid Redis store configuration: {0}")]
    Config(&'static str),
    /// The client refused the URL or the server refused the connection.
    #[error("redis error: {0}")]
    Redis(#[from] RedisError),
    /// The server did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// The connection-manager settings [`RedisStrategy::connect`] uses for `timeout`: connection and response
/// timeouts of `timeout`, and a short reconnect backoff (3 retries, 100 ms doubling, at most
/// 1 s apart), so a restarted server is picked up within a second or two.
#[doc(hidden)]
pub fn connection_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(3)
        .set_min_delay(Duration::from_millis(100))
        .set_exponent_base(2.0)
        .set_max_delay(Duration::from_secs(1))
}

/// Runs one command (or script) for at most `timeout`, mapping failures to [`AuthError`].
pub(crate) async fn timed<T>(
    timeout: Duration,
    operation: &'static str,
    future: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, AuthError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(map_error(operation, &error)),
        Err(_) => {
            tracing::warn!(operation, ?timeout, "redis timed out");
            Err(AuthError::Unavailable)
        }
    }
}

async fn query<T: FromRedisValue>(
    connection: &ConnectionManager,
    timeout: Duration,
    operation: &'static str,
    command: &redis::Cmd,
) -> Result<T, AuthError> {
    let mut connection = connection.clone();
    timed(timeout, operation, command.query_async(&mut connection)).await
}

/// Sorts a Redis error into "the store is unavailable" (503) or "we have a bug" (500), and logs
/// it. Redis errors never carry command arguments, so no token or hash is logged.
fn map_error(operation: &'static str, error: &RedisError) -> AuthError {
    let unavailable = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
            )
        );
    if unavailable {
        tracing::warn!(operation, error = %error, "redis unavailable");
        AuthError::Unavailable
    } else {
        tracing::error!(operation, error = %error, "redis error");
        AuthError::Internal
    }
}

/// Opaque tokens in Redis: `SET <prefix><sha256 hex> <json> EX <lifetime>` at login, `GET` on
/// each request, `DEL` at logout. See the [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct RedisStrategy {
    connection: ConnectionManager,
    prefix: String,
    lifetime: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStrategy")
            .field("prefix", &self.prefix)
            .field("lifetime", &self.lifetime)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What a token's key holds.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    subject: String,
    scopes: Vec<String>,
    /// When it was issued (seconds since the Unix epoch); absent in tokens written before it
    /// was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

impl RedisStrategy {
    /// Starts a strategy over `connection` (from [`RedisStrategy::connect`], or your own manager: give it a
    /// response timeout no longer than the strategy's).
    pub fn builder(connection: ConnectionManager) -> RedisStrategyBuilder {
        RedisStrategyBuilder {
            connection,
            prefix: RedisStrategy::DEFAULT_PREFIX.to_owned(),
            lifetime: RedisStrategy::DEFAULT_LIFETIME,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How long issued tokens live.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How long one command may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn key(&self, hash: &str) -> String {
        format!("{}{hash}", self.prefix)
    }

    /// The set of `subject`'s token keys. Token keys end in 64 hex digits, so `user:` never
    /// names one.
    fn subject_key(&self, subject: &str) -> String {
        format!("{}user:{}", self.prefix, opaque::hash(subject))
    }
}

impl Strategy for RedisStrategy {
    const KIND: &'static str = "redis";

    /// Reads the record and how long its key has left (`GET` and `PTTL`, pipelined: one round
    /// trip).
    async fn read_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        let key = self.key(&opaque::parse_and_hash(token)?);
        let mut pipeline = redis::pipe();
        pipeline.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        let mut connection = self.connection.clone();
        let (value, left): (Option<String>, i64) =
            timed(self.timeout, "read", pipeline.query_async(&mut connection)).await?;
        // Redis expires the key itself: a missing key is unknown, expired or revoked alike.
        let value = value.ok_or(AuthError::InvalidToken)?;
        let stored: StoredToken = serde_json::from_str(&value).map_err(|_| {
            tracing::error!("a token key holds a value this strategy did not write");
            AuthError::Internal
        })?;
        let issued_at = stored.iat.and_then(|iat| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(iat)));
        // -2: the key expired meanwhile; -1: no expiry (not one this strategy wrote).
        let expires_at = match u64::try_from(left) {
            Ok(millis) => Some(std::time::SystemTime::now() + Duration::from_millis(millis)),
            Err(_) if left == -1 => None,
            Err(_) => return Err(AuthError::InvalidToken),
        };
        Ok(TokenInfo { subject: stored.subject, scopes: stored.scopes, issued_at, expires_at })
    }

    async fn write_token(&self, subject: &str, scopes: &[String]) -> Result<String, AuthError> {
        opaque::check_scopes(scopes)?;
        let token = opaque::generate()?;
        let key = self.key(&opaque::hash(&token));
        let value = serde_json::to_string(&StoredToken {
            subject: subject.to_owned(),
            scopes: scopes.to_vec(),
            iat: Some(now()),
        })
        .map_err(|_| AuthError::Internal)?;
        let seconds = self.lifetime.as_secs().saturating_add(u64::from(self.lifetime.subsec_nanos() > 0));
        // NX: never overwrite. With 256 random bits a collision means a broken generator. The
        // subject's set lists the key (for `revoke_subject`) and lives as long as its newest
        // token: every token of this strategy has the same lifetime.
        let subject_key = self.subject_key(subject);
        let mut pipeline = redis::pipe();
        pipeline
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(value)
            .arg("EX")
            .arg(seconds)
            .arg("NX")
            .cmd("SADD")
            .arg(&subject_key)
            .arg(&key)
            .ignore()
            .cmd("EXPIRE")
            .arg(&subject_key)
            .arg(seconds)
            .ignore();
        let mut connection = self.connection.clone();
        let (stored,): (Option<String>,) = timed(self.timeout, "write", pipeline.query_async(&mut connection)).await?;
        if stored.is_none() {
            tracing::error!("a freshly generated token already exists");
            return Err(AuthError::Internal);
        }
        Ok(token)
    }

    /// `DEL`s the token's key. A malformed or unknown token is not an error: there is nothing
    /// to revoke.
    async fn destroy_token(&self, token: &str) -> Result<(), AuthError> {
        let Ok(hash) = opaque::parse_and_hash(token) else { return Ok(()) };
        let _: i64 = query(&self.connection, self.timeout, "destroy", redis::cmd("DEL").arg(self.key(&hash))).await?;
        Ok(())
    }
}

/// KEYS[1] = the subject's set. Deletes every key it lists, then the set; atomic on the server.
const REVOKE_SUBJECT_SCRIPT: &str = r"
local keys = redis.call('SMEMBERS', KEYS[1])
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[1])
return #keys
";

/// Deletes every token key listed in the subject's set, and the set, in one script: a password
/// change ends them all, without scanning the keyspace.
impl RevokeSubject for RedisStrategy {
    async fn revoke_subject(&self, subject: &str) -> Result<(), AuthError> {
        let mut connection = self.connection.clone();
        let script = redis::Script::new(REVOKE_SUBJECT_SCRIPT);
        let invocation = script.key(self.subject_key(subject));
        let _: i64 = timed(self.timeout, "revoke subject", invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }
}

/// Configures a [`RedisStrategy`]; from [`RedisStrategy::builder`].
#[derive(Debug)]
#[must_use = "call `.build()` to get the strategy"]
pub struct RedisStrategyBuilder {
    connection: ConnectionManager,
    prefix: String,
    lifetime: Duration,
    timeout: Duration,
}

impl RedisStrategyBuilder {
    crate::macros::setters! {
        /// The key prefix, default [`RedisStrategy::DEFAULT_PREFIX`] (`auth:token:`). Give each application
        /// sharing a server its own.
        prefix(prefix: impl Into<String>) => prefix = prefix.into();

        /// How long issued tokens live, at least one second (rounded up to whole seconds, as `EX`
        /// counts); default [`RedisStrategy::DEFAULT_LIFETIME`], one hour.
        lifetime(lifetime: Duration) => lifetime = lifetime;

        /// How long one command may take before the request fails with
        /// [`AuthError::Unavailable`]; default [`RedisStrategy::DEFAULT_TIMEOUT`].
        timeout(timeout: Duration) => timeout = timeout;
    }

    /// Checks the settings.
    pub fn build(self) -> Result<RedisStrategy, RedisStoreError> {
        if self.prefix.is_empty() {
            return Err(RedisStoreError::Config("the key prefix must not be empty"));
        }
        if self.lifetime < Duration::from_secs(1) {
            return Err(RedisStoreError::Config("the token lifetime must be at least one second"));
        }
        if self.timeout.is_zero() {
            return Err(RedisStoreError::Config("the timeout must not be zero"));
        }
        Ok(RedisStrategy {
            connection: self.connection,
            prefix: self.prefix,
            lifetime: self.lifetime,
            timeout: self.timeout,
        })
    }
}

/// A [`RefreshFamilyStore`] in Redis, shared by every process: one key per family holding its
/// head's `jti`, expiring with the family (`EXAT`). [`rotate`](RefreshFamilyStore::rotate) is one
/// Lua script, so the compare-and-swap is atomic on the server.
#[derive(Clone)]
pub struct RedisFamilyStore {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    rotate: redis::Script,
}

impl std::fmt::Debug for RedisFamilyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFamilyStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// KEYS[1] = family key; ARGV = presented, next, expires_at. Returns 2 rotated, 1 reused (and
/// the family deleted), 0 unknown.
const ROTATE_SCRIPT: &str = r"
local head = redis.call('GET', KEYS[1])
if not head then return 0 end
if head ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
return 2
";

/// Configures a [`RedisFamilyStore`] or a [`RedisDenylist`]; from their `builder`.
#[derive(Debug)]
#[must_use = "call `.build()` to get the store"]
pub struct RedisStoreBuilder<T> {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    make: fn(ConnectionManager, String, Duration) -> T,
}

impl<T> RedisStoreBuilder<T> {
    crate::macros::setters! {
        /// The key prefix; default the store's `DEFAULT_PREFIX` ([`RedisFamilyStore::DEFAULT_PREFIX`],
        /// [`RedisDenylist::DEFAULT_PREFIX`]).
        prefix(prefix: impl Into<String>) => prefix = prefix.into();

        /// How long one command may take before it fails with [`AuthError::Unavailable`]; default
        /// [`RedisStrategy::DEFAULT_TIMEOUT`], 2 seconds.
        timeout(timeout: Duration) => timeout = timeout;
    }

    /// The store.
    pub fn build(self) -> T {
        (self.make)(self.connection, self.prefix, self.timeout)
    }
}

impl RedisFamilyStore {
    /// Starts a store over `connection` (from [`RedisStrategy::connect`], or your own manager).
    pub fn builder(connection: ConnectionManager) -> RedisStoreBuilder<Self> {
        RedisStoreBuilder {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            make: |connection, prefix, timeout| Self {
                connection,
                prefix,
                timeout,
                rotate: redis::Script::new(ROTATE_SCRIPT),
            },
        }
    }

    fn key(&self, family: &str) -> String {
        format!("{}{family}", self.prefix)
    }
}

impl RefreshFamilyStore for RedisFamilyStore {
    async fn create(&self, family: &str, head: &str, expires_at: u64) -> Result<(), AuthError> {
        if expires_at <= now() {
            // Born dead: `EXAT` in the past would be refused or deleted anyway.
            return Ok(());
        }
        let command = redis::cmd("SET").arg(self.key(family)).arg(head).arg("EXAT").arg(expires_at).clone();
        let _: String = query(&self.connection, self.timeout, "family create", &command).await?;
        Ok(())
    }

    async fn rotate(&self, family: &str, presented: &str, next: &str, expires_at: u64) -> Result<Rotation, AuthError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.rotate.key(self.key(family));
        invocation.arg(presented).arg(next).arg(expires_at.max(1));
        let outcome: i64 = timed(self.timeout, "family rotate", invocation.invoke_async(&mut connection)).await?;
        Ok(match outcome {
            2 => Rotation::Rotated,
            1 => Rotation::Reused,
            _ => Rotation::Unknown,
        })
    }

    async fn revoke(&self, family: &str) -> Result<(), AuthError> {
        let _: i64 =
            query(&self.connection, self.timeout, "family revoke", redis::cmd("DEL").arg(self.key(family))).await?;
        Ok(())
    }
}

/// Revoked token ids in Redis, each kept until the token would be refused anyway, so the
/// list never outgrows the tokens in circulation. Use it with
/// [`DenylistedJwt`](super::denylist::DenylistedJwt) to make JWT logout stick, or directly.
///
/// An id is a JWT's `jti`, or for a token without one the SHA-256 of its signing input
/// (see [`DenylistedJwt`](super::denylist::DenylistedJwt)).
///
/// A denylist that loses its entries would let logged-out tokens back in. This one notices: it
/// keeps, beside its entries, the second since which it has held them (`<prefix>!since`), and
/// refuses every token issued in an earlier second. When Redis loses its data (restarted
/// without persistence, flushed, failed over to a replica that was behind), the key goes with
/// the entries, is written anew at the next check, and every older token is refused: its
/// holders log in again, and no revoked token comes back. (`iat` counts whole seconds: a token
/// issued and logged out within the very second in which the list noticed the loss is the one
/// case this cannot tell apart.) Entries must not be evicted while the key stays, so run Redis
/// with `maxmemory-policy noeviction` (the default). The key is written at the first check, so
/// tokens issued before a list's first check are refused too: once, on a new deployment or an
/// upgrade from a version without the key.
#[derive(Clone)]
pub struct RedisDenylist {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    check: redis::Script,
}

/// The denylist check, one round trip: whether the id's entry exists, and since when the list
/// has held its entries. The `since` key (no expiry) is written the first time the list is
/// checked; when Redis loses its data (a restart without persistence, a `FLUSHDB`, a failover
/// to a replica that had not caught up), the key is gone with the entries and is written anew,
/// and tokens issued before then are refused rather than trusted.
const CHECK_SCRIPT: &str = r"
local since = redis.call('GET', KEYS[1])
if not since then
  redis.call('SET', KEYS[1], ARGV[1])
  since = ARGV[1]
end
return {tonumber(since), redis.call('EXISTS', KEYS[2])}
";

impl std::fmt::Debug for RedisDenylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDenylist")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDenylist {
    /// Starts a denylist over `connection` (from [`RedisStrategy::connect`], or your own manager).
    pub fn builder(connection: ConnectionManager) -> RedisStoreBuilder<Self> {
        RedisStoreBuilder {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            make: |connection, prefix, timeout| Self {
                connection,
                prefix,
                timeout,
                check: redis::Script::new(CHECK_SCRIPT),
            },
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// The key holding since when the list has held its entries: `!` is in neither a `jti` we
    /// write nor a token id (hex), so it cannot collide with an entry.
    fn since_key(&self) -> String {
        format!("{}!since", self.prefix)
    }
}

impl Denylist for RedisDenylist {
    async fn revoke(&self, id: &str, until: u64) -> Result<(), AuthError> {
        if until <= now() {
            // The token has expired: it is refused without an entry.
            return Ok(());
        }
        let command = redis::cmd("SET").arg(self.key(id)).arg(1).arg("EXAT").arg(until).clone();
        let _: String = query(&self.connection, self.timeout, "denylist revoke", &command).await?;
        Ok(())
    }

    /// Listed, or issued in a second before the list (re)started holding entries: a list that
    /// lost its entries cannot vouch for older tokens.
    async fn is_revoked(&self, id: &str, issued_at: u64) -> Result<bool, AuthError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.check.key(self.since_key());
        invocation.key(self.key(id)).arg(now());
        let (since, listed): (u64, i64) =
            timed(self.timeout, "denylist check", invocation.invoke_async(&mut connection)).await?;
        Ok(listed > 0 || issued_at < since)
    }
}
