//! API keys for machines: a strategy with a store (SQLite or PostgreSQL), and a backend of its
//! own, so that `Authenticated<(JwtBackend, ApiKeys)>` takes a user's token or a machine's key.
//!
//! # The key
//!
//! `{prefix}_{random}{checksum}`, as GitHub's tokens: the app's prefix (`ak_live`), 30 base62
//! characters from the operating system's generator (178 bits), and the CRC32 of everything
//! before it in 6 base62 characters. A mistyped, truncated or made-up key fails the checksum
//! and is refused without a store look-up; a secret scanner can recognise a key by its prefix
//! and checksum alone.
//!
//! # What is stored
//!
//! Never the key: its HMAC-SHA256 under the server's secret (lowercase hex, the look-up index),
//! the owner, a name, the scopes, the prefix and the key's last 4 characters (what listings
//! show), and the times it was made, expires, was revoked and was last used. The key is shown
//! once, when it is minted ([`ApiKeys::mint`], [`ApiKeys::rotate`]). Someone who reads the table
//! learns who has keys, with which scopes, and 4 characters of each; without the secret, the
//! hashes do not lead back to keys, nor can they be checked against guesses.
//!
//! # Scopes, expiry, revocation, rotation
//!
//! - A key carries typed scopes of the app's declaration, a subset of its owner's: minting more
//!   is refused ([`AuthError::InsufficientScope`]).
//! - A key may expire; it can be revoked ([`ApiKeys::revoke`]); a rotation
//!   ([`ApiKeys::rotate`]) mints a new key with the same owner, name, scopes and expiry, and
//!   keeps the old one valid for an overlap the caller chooses.
//! - `last_used_at` is written at most once a minute per key, off the request path.
//!
//! # On the wire
//!
//! [`ApiKeys`] is a backend: `x-api-key` by default, documented as an `apiKey` scheme named
//! `APIKeyHeader`, challenged with `WWW-Authenticate: APIKey`. For `Authorization: Bearer <key>`
//! instead, declare a backend of your own around it:
//!
//! ```ignore
//! #[derive(AuthBackend, Clone)]
//! #[backend(name = "machine", transport = http_bearer, strategy = api_key)]
//! struct MachineKeys {
//!     strategy: ApiKeys,
//! }
//! ```
//!
//! Keys never travel in the query unless the app declares such a transport.
//!
//! # Example
//!
//! ```
//! use auth_core::strategies::{ApiKeys, Strategy};
//! use auth_core::Scopes;
//!
//! #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
//! pub enum Scope {
//!     /// Read the reports.
//!     #[scope("reports")]
//!     Reports,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let keys = ApiKeys::connect("sqlite::memory:", [7u8; 32]).await?.with_prefix("ak_live")?;
//! keys.migrate().await?;
//! let (key, listed) = keys.mint("alice", &["reports"], "ci", &[Scope::Reports], None).await?;
//! assert!(key.starts_with("ak_live_") && key.ends_with(&listed.last4));
//! assert_eq!(keys.read_token(&key).await?.subject, "alice");
//! keys.revoke(&listed.id).await?;
//! assert!(keys.read_token(&key).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::{borrow::Cow, sync::Arc, time::Duration};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::AssertSqlSafe;

use super::{
    RevokeSubject, Strategy, TokenInfo,
    database::{Database, DatabaseError},
};
use crate::{
    backend::{AuthBackend, Transport},
    db::{self, Backend, Migration, Pool, on_pool, unix_now},
    error::{AuthError, FieldError},
    security::{ApiKeyLocation, ScopeDeclaration, SecurityScopes},
};

/// Random base62 characters in a key: 30, 178 bits.
const RANDOM_LEN: usize = 30;
/// Base62 characters of the CRC32 checksum: 62⁶ > 2³².
const CHECKSUM_LEN: usize = 6;
/// Base62 characters of a key's public id.
const ID_LEN: usize = 16;
/// The longest prefix accepted.
const MAX_PREFIX_LEN: usize = 32;
/// The longest key name accepted, in characters.
const MAX_NAME_LEN: usize = 100;
/// How often `last_used_at` is written, at most, per key.
const LAST_USED_EVERY: i64 = 60;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The table's migrations, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: Cow::Borrowed(include_str!("../../migrations/api_keys/sqlite/0001_api_keys.sql")),
    postgres: Cow::Borrowed(include_str!("../../migrations/api_keys/postgres/0001_api_keys.sql")),
}];

/// What the log lines call this store.
const STORE: &str = "API key database";

/// API keys: a [`Strategy`] over a table of keyed hashes, and a backend (`x-api-key`); see the
/// [module docs](self). Cheap to clone: clones share the pool. Its `Debug` shows neither the
/// secret nor any key.
#[derive(Clone)]
pub struct ApiKeys {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    pool: Pool,
    table: String,
    prefix: String,
    mac: Hmac<Sha256>,
    timeout: Duration,
    sql: Statements,
    /// Failed keys counted per client IP, with the logins' counters (feature `users`).
    #[cfg(feature = "users")]
    throttle: Option<(crate::users::LoginThrottle, crate::users::ClientIpSource)>,
}

/// A stored key as listings show it: never the key, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// The key's public id, for the routes (`DELETE /api-keys/{id}`).
    pub id: String,
    /// Whose key it is: the subject it authenticates as.
    pub owner: String,
    /// What the owner called it.
    pub name: String,
    /// The key's prefix (`ak_live`).
    pub prefix: String,
    /// The key's last 4 characters, to tell keys apart.
    pub last4: String,
    /// The scopes it grants.
    pub scopes: Vec<String>,
    /// When it was minted, in seconds since the Unix epoch.
    pub created_at: i64,
    /// When it stops working, if ever.
    pub expires_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("backend", &self.inner.pool.backend())
            .field("table", &self.inner.table)
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Random base62 characters from the operating system's generator, without modulo bias.
fn random_base62(len: usize) -> Result<String, AuthError> {
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut bytes).map_err(|e| {
            tracing::error!(error = %e, "random number generator failed");
            AuthError::Internal
        })?;
        // 248 = 4 × 62: bytes at or above it are dropped, so each character is uniform.
        for byte in bytes.iter().filter(|b| **b < 248).take(len - out.len()) {
            out.push(char::from(BASE62[usize::from(byte % 62)]));
        }
    }
    Ok(out)
}

/// The CRC32 of `body` in 6 base62 characters, most significant first.
fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut value = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[usize::try_from(value % 62).unwrap_or(0)];
        value /= 62;
    }
    out
}

/// A prefix: 1 to 32 of `[a-z0-9_]`, starting with a letter.
fn valid_prefix(prefix: &str) -> bool {
    let mut bytes = prefix.bytes();
    prefix.len() <= MAX_PREFIX_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl ApiKeys {
    /// The table's name unless configured.
    pub const DEFAULT_TABLE: &'static str = "api_keys";
    /// The key prefix unless configured.
    pub const DEFAULT_PREFIX: &'static str = "ak";
    /// The shortest server secret accepted, in bytes.
    pub const MIN_SECRET_LEN: usize = 32;

    /// Keys in `database` (a URL or an sqlx pool; see [`Database`]), hashed with `secret` (at
    /// least 32 random bytes, kept out of the database: the stored hashes are only as safe as
    /// it is), in table `api_keys`, with prefix `ak`. Connects now; creates no table (call
    /// [`migrate`](Self::migrate)).
    ///
    /// # Errors
    ///
    /// A secret under 32 bytes, a URL that does not connect.
    pub async fn connect(database: impl Into<Database>, secret: impl AsRef<[u8]>) -> Result<Self, DatabaseError> {
        let secret = secret.as_ref();
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(DatabaseError::Config("the API key secret must be at least 32 bytes"));
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .map_err(|_| DatabaseError::Config("the API key secret cannot key HMAC-SHA256"))?;
        let pool = database.into().connect().await?;
        let table = Self::DEFAULT_TABLE.to_owned();
        let sql = Statements::render(&table, pool.backend());
        let inner = Inner {
            pool,
            table,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            mac,
            timeout: db::STORE_TIMEOUT,
            sql,
            #[cfg(feature = "users")]
            throttle: None,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The keys' prefix (`ak_live`, `ak_test`): 1 to 32 of `a-z`, `0-9` and `_`, starting with a
    /// letter. Keys minted with another prefix are refused by this store.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self, DatabaseError> {
        let prefix = prefix.into();
        if !valid_prefix(&prefix) {
            return Err(DatabaseError::Config(
                "an API key prefix is 1 to 32 of a-z, 0-9 and _, starting with a letter",
            ));
        }
        Arc::make_mut(&mut self.inner).prefix = prefix;
        Ok(self)
    }

    /// The table's name; default `api_keys`. Lowercase ASCII letters, digits and `_`, not
    /// starting with a digit, at most 48 bytes.
    pub fn with_table(mut self, table: impl Into<String>) -> Result<Self, DatabaseError> {
        let table = db::table_name(table.into())?;
        let inner = Arc::make_mut(&mut self.inner);
        inner.sql = Statements::render(&table, inner.pool.backend());
        inner.table = table;
        Ok(self)
    }

    /// How long one database operation may take, pool acquisition included; default the store
    /// timeout of [the timeout policy](crate::db#timeouts).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, DatabaseError> {
        db::check_timeout(timeout)?;
        Arc::make_mut(&mut self.inner).timeout = timeout;
        Ok(self)
    }

    /// Counts failed keys per client IP on `throttle`'s per-IP counter, the one failed logins
    /// count on (share the users' `LoginThrottle`, a clone, so that guessing keys and guessing
    /// passwords add up), the IP as `client_ip` finds it. A key is counted as a failure before
    /// it is checked, in the same atomic step as the check of the counter, and given back when
    /// it is good: a burst of guesses at once gets no more checked than the same guesses one
    /// after another. A client past its allowance is answered 429 with `Retry-After`
    /// ([`AuthError::TooManyAttempts`]) before its key is looked at. Feature `users`.
    #[cfg(feature = "users")]
    pub fn with_throttle(
        mut self,
        throttle: crate::users::LoginThrottle,
        client_ip: crate::users::ClientIpSource,
    ) -> Self {
        Arc::make_mut(&mut self.inner).throttle = Some((throttle, client_ip));
        self
    }

    /// Creates the table and its indexes if they do not exist (versioned, recorded in
    /// `auth_core_migrations` under `api_keys:<table>`). Idempotent; call it at startup.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        db::migrate(&self.inner.pool, "api_keys", &self.inner.table, MIGRATIONS, self.inner.timeout).await
    }

    /// The keys' prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Mints a key for `owner`, who holds `owner_scopes`, named `name` (1 to 100 characters),
    /// granting `scopes` (typed: variants of the app's scopes declaration), valid for
    /// `expires_in` or until revoked. Returns the key, which is shown this once and never
    /// stored, and what listings show of it.
    ///
    /// # Errors
    ///
    /// [`AuthError::InsufficientScope`] naming the scopes `owner_scopes` lacks, when `scopes`
    /// asks for more; [`AuthError::InvalidForm`] for a bad name or a zero expiry; a store
    /// failure.
    pub async fn mint<D: ScopeDeclaration>(
        &self,
        owner: &str,
        owner_scopes: &[impl AsRef<str>],
        name: &str,
        scopes: &[D],
        expires_in: Option<Duration>,
    ) -> Result<(String, ApiKey), AuthError> {
        let excess: Vec<&'static str> = scopes
            .iter()
            .map(ScopeDeclaration::as_str)
            .filter(|scope| !owner_scopes.iter().any(|held| held.as_ref() == *scope))
            .collect();
        if !excess.is_empty() {
            return Err(AuthError::InsufficientScope { scopes: SecurityScopes::new(&excess) });
        }
        check_name(name)?;
        let now = unix_now();
        let expires_at = match expires_in {
            Some(lifetime) if lifetime.is_zero() => {
                return Err(invalid("expires_in", "greater_than", "Input should be greater than 0"));
            }
            Some(lifetime) => Some(now.saturating_add(i64::try_from(lifetime.as_secs().max(1)).unwrap_or(i64::MAX))),
            None => None,
        };
        let mut granted: Vec<String> = Vec::new();
        for scope in scopes {
            if !granted.iter().any(|s| s == scope.as_str()) {
                granted.push(scope.as_str().to_owned());
            }
        }
        let record = NewKey { owner, name, scopes: &granted, created_at: now, expires_at };
        self.insert(record, None).await
    }

    /// A new key for key `id`, with its owner, name, scopes and expiry; the old key stays valid
    /// for `overlap` more (or until its own expiry, if sooner), so that clients can move over.
    /// `Duration::ZERO` ends it now.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] when there is no such key, or it is revoked or expired; a
    /// store failure.
    pub async fn rotate(&self, id: &str, overlap: Duration) -> Result<(String, ApiKey), AuthError> {
        let old = self.get(id).await?.ok_or(AuthError::InvalidToken)?;
        let now = unix_now();
        if old.revoked_at.is_some() || old.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::InvalidToken);
        }
        let until = now.saturating_add(i64::try_from(overlap.as_secs()).unwrap_or(i64::MAX));
        let record = NewKey {
            owner: &old.owner,
            name: &old.name,
            scopes: &old.scopes,
            created_at: now,
            expires_at: old.expires_at,
        };
        self.insert(record, Some((id, until))).await
    }

    /// Revokes key `id`: refused from now on. Revoking a revoked key changes nothing.
    /// Returns whether there is such a key.
    pub async fn revoke(&self, id: &str) -> Result<bool, AuthError> {
        let sql = &self.inner.sql.revoke;
        let now = unix_now();
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(now).bind(id.to_owned());
            self.timed("revoke", query.execute(pool)).await?.rows_affected()
        });
        if done == 0 {
            return Ok(self.get(id).await?.is_some());
        }
        tracing::info!(key = %id, "API key revoked");
        Ok(true)
    }

    /// Key `id`, as listings show it.
    pub async fn get(&self, id: &str) -> Result<Option<ApiKey>, AuthError> {
        let sql = &self.inner.sql.get;
        let row: Option<Row> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(Arc::clone(sql))).bind(id.to_owned());
            self.timed("get", query.fetch_optional(pool)).await?
        });
        Ok(row.map(listed))
    }

    /// The keys of `owner`, oldest first, revoked and expired ones included.
    pub async fn list(&self, owner: &str) -> Result<Vec<ApiKey>, AuthError> {
        let sql = &self.inner.sql.list;
        let rows: Vec<Row> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(Arc::clone(sql))).bind(owner.to_owned());
            self.timed("list", query.fetch_all(pool)).await?
        });
        Ok(rows.into_iter().map(listed).collect())
    }

    /// Whether `key` is well formed for this store: the prefix, 36 base62 characters, and the
    /// checksum. No store is asked.
    fn well_formed(&self, key: &str) -> bool {
        let prefix = &self.inner.prefix;
        let Some(rest) = key.strip_prefix(prefix.as_str()).and_then(|rest| rest.strip_prefix('_')) else {
            return false;
        };
        if rest.len() != RANDOM_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let (body, sum) = key.split_at(key.len() - CHECKSUM_LEN);
        checksum(body) == sum.as_bytes()
    }

    /// The stored form of `key`: HMAC-SHA256 under the secret, lowercase hex.
    fn hash(&self, key: &str) -> String {
        hex(&self.inner.mac.clone().chain_update(key.as_bytes()).finalize().into_bytes())
    }

    async fn insert(&self, key: NewKey<'_>, rotating: Option<(&str, i64)>) -> Result<(String, ApiKey), AuthError> {
        let body = format!("{}_{}", self.inner.prefix, random_base62(RANDOM_LEN)?);
        let secret = format!("{body}{}", String::from_utf8_lossy(&checksum(&body)));
        let id = random_base62(ID_LEN)?;
        let last4 = secret[secret.len() - 4..].to_owned();
        let hash = self.hash(&secret);
        let (insert, shorten) = (&self.inner.sql.insert, &self.inner.sql.shorten);
        on_pool!(&self.inner.pool, |pool| {
            self.timed("mint", async {
                let mut tx = pool.begin().await?;
                sqlx::query(AssertSqlSafe(Arc::clone(insert)))
                    .bind(id.clone())
                    .bind(hash)
                    .bind(key.owner.to_owned())
                    .bind(key.name.to_owned())
                    .bind(self.inner.prefix.clone())
                    .bind(last4.clone())
                    .bind(key.scopes.join(" "))
                    .bind(key.created_at)
                    .bind(key.expires_at)
                    .execute(&mut *tx)
                    .await?;
                if let Some((old, until)) = rotating {
                    sqlx::query(AssertSqlSafe(Arc::clone(shorten)))
                        .bind(until)
                        .bind(old.to_owned())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            })
            .await?;
        });
        match rotating {
            Some((old, _)) => tracing::info!(key = %id, rotated = %old, owner = %key.owner, "API key rotated"),
            None => tracing::info!(key = %id, owner = %key.owner, "API key minted"),
        }
        let listed = ApiKey {
            id,
            owner: key.owner.to_owned(),
            name: key.name.to_owned(),
            prefix: self.inner.prefix.clone(),
            last4,
            scopes: key.scopes.to_vec(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        Ok((secret, listed))
    }

    /// Awaits `operation` for at most the configured timeout, mapping its failures to
    /// [`AuthError`]s and logging them (never a key: sqlx errors carry no bound values).
    async fn timed<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, AuthError> {
        db::timed(STORE, operation, self.inner.timeout, future)
            .await?
            .map_err(|error| db::error(STORE, self.inner.pool.backend(), operation, &error))
    }

    /// Writes `last_used_at` for key `id` if the row's is a minute old or more, on a task of its
    /// own; the `WHERE` makes it once a minute across processes too.
    fn touch(&self, id: String, now: i64) {
        let keys = self.clone();
        tokio::spawn(async move {
            let sql = &keys.inner.sql.touch;
            let _ = on_pool!(&keys.inner.pool, |pool| {
                let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(now).bind(id).bind(now - LAST_USED_EVERY);
                keys.timed("touch", query.execute(pool)).await.map(drop)
            });
        });
    }
}

struct NewKey<'a> {
    owner: &'a str,
    name: &'a str,
    scopes: &'a [String],
    created_at: i64,
    expires_at: Option<i64>,
}

fn invalid(field: &'static str, kind: &'static str, message: &str) -> AuthError {
    AuthError::InvalidForm { errors: vec![FieldError { kind, field, message: message.to_owned() }] }
}

fn check_name(name: &str) -> Result<(), AuthError> {
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_LEN {
        return Err(invalid("name", "string_length", "A key's name is 1 to 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "string_pattern_mismatch", "A key's name has no control characters"));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks(2).map(|pair| Some(digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?)).collect()
}

/// A row as listings read it: id, owner, name, prefix, last4, scopes, created, expires, revoked,
/// last used.
type Row = (String, String, String, String, String, String, i64, Option<i64>, Option<i64>, Option<i64>);

fn listed((id, owner, name, prefix, last4, scopes, created_at, expires_at, revoked_at, last_used_at): Row) -> ApiKey {
    ApiKey {
        id,
        owner,
        name,
        prefix,
        last4,
        scopes: scopes.split_ascii_whitespace().map(str::to_owned).collect(),
        created_at,
        expires_at,
        revoked_at,
        last_used_at,
    }
}

impl Strategy for ApiKeys {
    const KIND: &'static str = "api_key";
    const SCOPED_TOKENS: bool = true;

    /// The key's owner and scopes. A key that fails its checksum is refused before any store
    /// query; then its keyed hash is looked up (one indexed `SELECT`) and compared again in
    /// constant time; a revoked or expired key is refused.
    async fn read_token(&self, key: &str) -> Result<TokenInfo, AuthError> {
        if !self.well_formed(key) {
            return Err(AuthError::InvalidToken);
        }
        let hash = self.hash(key);
        let sql = &self.inner.sql.select;
        type Found = (String, String, String, String, i64, Option<i64>, Option<i64>, Option<i64>);
        let row: Option<Found> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(Arc::clone(sql))).bind(hash);
            self.timed("read", query.fetch_optional(pool)).await?
        });
        let Some((id, stored, owner, scopes, created_at, expires_at, revoked_at, last_used_at)) = row else {
            return Err(AuthError::InvalidToken);
        };
        // The index found the row by equality; this compares the secret-derived values again
        // without an early exit, whatever the database's comparison does.
        let matches = unhex(&stored)
            .is_some_and(|stored| self.inner.mac.clone().chain_update(key.as_bytes()).verify_slice(&stored).is_ok());
        let now = unix_now();
        if !matches || revoked_at.is_some() || expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::InvalidToken);
        }
        if last_used_at.is_none_or(|at| at <= now - LAST_USED_EVERY) {
            self.touch(id, now);
        }
        let at = |seconds: i64| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.max(0).unsigned_abs()));
        Ok(TokenInfo {
            subject: owner,
            scopes: scopes.split_ascii_whitespace().map(str::to_owned).collect(),
            issued_at: at(created_at),
            expires_at: expires_at.and_then(at),
        })
    }

    /// [`read_token`](Self::read_token), counting a failed key on the client IP's counter when
    /// the keys are throttled ([`ApiKeys::with_throttle`]).
    #[cfg(feature = "users")]
    async fn read_token_from(&self, key: &str, parts: &axum::http::request::Parts) -> Result<TokenInfo, AuthError> {
        use crate::users::{LoginThrottle, RequestContext};
        let Some((throttle, source)) = &self.inner.throttle else { return self.read_token(key).await };
        let counters = throttle.ip_keys(source.resolve(&RequestContext::from_parts(parts)));
        if LoginThrottle::is_empty(&counters) {
            return self.read_token(key).await;
        }
        let reservation = match throttle.reserve(&counters).await? {
            Ok(reservation) => reservation,
            Err(wait) => {
                let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(AuthError::TooManyAttempts { retry_after });
            }
        };
        let read = self.read_token(key).await;
        // A bad key keeps its place on the counter; a good one, or a store that failed to say,
        // gives it back.
        if !matches!(read, Err(AuthError::InvalidToken)) {
            throttle.refund(&counters, &reservation).await?;
        }
        read
    }

    /// Keys are minted with [`ApiKeys::mint`], for an owner and within the owner's scopes, not
    /// by a password login: refused (500, logged).
    async fn write_token(&self, _subject: &str, _scopes: &[String]) -> Result<String, AuthError> {
        tracing::error!("API keys are minted with ApiKeys::mint, not by a login route");
        Err(AuthError::Internal)
    }

    /// Revokes the key (a logout through its backend). A malformed or unknown key is not an
    /// error.
    async fn destroy_token(&self, key: &str) -> Result<(), AuthError> {
        if !self.well_formed(key) {
            return Ok(());
        }
        let hash = self.hash(key);
        let sql = &self.inner.sql.revoke_hash;
        let now = unix_now();
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(now).bind(hash);
            self.timed("revoke", query.execute(pool)).await.map(drop)
        })
    }
}

/// Revokes every key of `subject`: registered with the users' manager, a password change ends
/// a user's keys as it ends their sessions.
impl RevokeSubject for ApiKeys {
    async fn revoke_subject(&self, subject: &str) -> Result<(), AuthError> {
        let sql = &self.inner.sql.revoke_owner;
        let now = unix_now();
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(now).bind(subject.to_owned());
            self.timed("revoke owner", query.execute(pool)).await.map(drop)
        })
    }
}

/// The keys as a backend: `x-api-key`, documented as `APIKeyHeader`, its principals'
/// `backend` is `"APIKeyHeader"`. Give the app state `impl FromRef<AppState> for ApiKeys`
/// (`#[derive(FromRef)]` does), and take `Authenticated<ApiKeys>`, or
/// `Authenticated<(JwtBackend, ApiKeys)>` for a user's token or a machine's key.
impl AuthBackend for ApiKeys {
    const NAME: &'static str = "APIKeyHeader";
    type Strategy = Self;

    fn transport() -> &'static Transport {
        static TRANSPORT: Transport = Transport::ApiKey { location: ApiKeyLocation::Header, name: "x-api-key" };
        &TRANSPORT
    }

    fn strategy(&self) -> &Self {
        self
    }

    fn scope_descriptions() -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// The statements, rendered once for the table and the backend's placeholder style.
#[derive(Clone)]
struct Statements {
    insert: Arc<str>,
    select: Arc<str>,
    touch: Arc<str>,
    get: Arc<str>,
    list: Arc<str>,
    revoke: Arc<str>,
    revoke_hash: Arc<str>,
    revoke_owner: Arc<str>,
    shorten: Arc<str>,
}

impl Statements {
    fn render(table: &str, backend: Backend) -> Self {
        let [p1, p2, p3, p4, p5, p6, p7, p8, p9] = backend.placeholders();
        let listed = "id, owner, name, prefix, last4, scopes, created_at, expires_at, revoked_at, last_used_at";
        Self {
            insert: format!(
                r#"INSERT INTO "{table}" (id, key_hash, owner, name, prefix, last4, scopes, created_at, expires_at) VALUES ({p1}, {p2}, {p3}, {p4}, {p5}, {p6}, {p7}, {p8}, {p9})"#
            )
            .into(),
            select: format!(
                r#"SELECT id, key_hash, owner, scopes, created_at, expires_at, revoked_at, last_used_at FROM "{table}" WHERE key_hash = {p1}"#
            )
            .into(),
            touch: format!(
                r#"UPDATE "{table}" SET last_used_at = {p1} WHERE id = {p2} AND (last_used_at IS NULL OR last_used_at <= {p3})"#
            )
            .into(),
            get: format!(r#"SELECT {listed} FROM "{table}" WHERE id = {p1}"#).into(),
            list: format!(r#"SELECT {listed} FROM "{table}" WHERE owner = {p1} ORDER BY created_at, id"#).into(),
            revoke: format!(r#"UPDATE "{table}" SET revoked_at = {p1} WHERE id = {p2} AND revoked_at IS NULL"#).into(),
            revoke_hash: format!(
                r#"UPDATE "{table}" SET revoked_at = {p1} WHERE key_hash = {p2} AND revoked_at IS NULL"#
            )
            .into(),
            revoke_owner: format!(r#"UPDATE "{table}" SET revoked_at = {p1} WHERE owner = {p2} AND revoked_at IS NULL"#)
                .into(),
            shorten: format!(
                r#"UPDATE "{table}" SET expires_at = {p1} WHERE id = {p2} AND (expires_at IS NULL OR expires_at > {p1})"#
            )
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_six_base62_characters() {
        assert_eq!(checksum("ak_").len(), CHECKSUM_LEN);
        // CRC32 of the empty string is 0.
        assert_eq!(&checksum(""), b"000000");
        assert_ne!(checksum("ak_abc"), checksum("ak_abd"));
        let random = random_base62(RANDOM_LEN).unwrap();
        assert_eq!(random.len(), RANDOM_LEN);
        assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn prefixes() {
        for good in ["ak", "ak_live", "a1"] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in ["", "1ak", "Ak", "ak-live", "ak live", &"a".repeat(33)] {
            assert!(!valid_prefix(bad), "{bad}");
        }
    }
}
