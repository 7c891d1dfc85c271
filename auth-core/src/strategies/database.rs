//! The database strategy: opaque tokens kept, hashed, in a SQL table (SQLite or PostgreSQL).
//!
//! [`DatabaseStrategy`] issues random 256-bit tokens (43 base64url characters) and stores only
//! their SHA-256, with the subject, the scopes and an expiry. Reading a token looks its hash up;
//! logout deletes the row, so unlike a JWT the token stops working at once.
//!
//! ```
//! use std::time::Duration;
//! use auth_core::strategies::{Strategy, database::DatabaseStrategy};
//!
//! # #[cfg(feature = "database-sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // A file would be "sqlite://auth.db", a server "postgres://user:password@host/db".
//! let tokens = DatabaseStrategy::connect("sqlite::memory:").await?
//!     .lifetime(Duration::from_secs(8 * 60 * 60))
//!     .build()?;
//! tokens.migrate().await?;
//!
//! let token = tokens.write_token("johndoe", &["me".to_owned()]).await?;
//! assert_eq!(tokens.read_token(&token).await?.subject, "johndoe");
//! tokens.destroy_token(&token).await?;
//! assert!(tokens.read_token(&token).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Backends and features
//!
//! - `database-sqlite`: `DatabaseStrategy::sqlite` over a `SqlitePool`. sqlx compiles its own
//!   libsqlite3, so no system library is needed.
//! - `database-postgres`: `DatabaseStrategy::postgres` over a `PgPool`. sqlx is built without
//!   TLS; enable one of its `tls-*` features in the application to use TLS.
//!
//! The pools are sqlx 0.9's ([`sqlx`] is re-exported here, so the versions always match).
//!
//! # Schema
//!
//! One table, `auth_tokens` unless [`DatabaseStrategyBuilder::table`] says otherwise, created by
//! [`DatabaseStrategy::migrate`] (idempotent, `CREATE … IF NOT EXISTS`). The SQL ships in the
//! crate's `migrations/sqlite/` and `migrations/postgres/` as templates, for applications that
//! run their own migration tool. sqlx's `migrate!` is deliberately not used: its bookkeeping
//! table would be shared with the application's own sqlx migrations, which then refuse to run
//! because of versions they do not know.
//!
//! | column       | type          | meaning                                            |
//! |--------------|---------------|----------------------------------------------------|
//! | `token_hash` | text, primary | lowercase hex SHA-256 of the token                 |
//! | `subject`    | text          | the principal                                      |
//! | `scopes`     | text          | granted scopes, space-separated                    |
//! | `created_at` | integer       | seconds since the Unix epoch                       |
//! | `expires_at` | integer       | seconds since the Unix epoch; invalid from then on |
//!
//! An index on `subject` serves [`RevokeSubject`], which deletes every
//! token of one user (a password change ends them).
//!
//! Expired rows are deleted when they are presented; [`DatabaseStrategy::purge_expired`] drops
//! the rest, for a periodic job.
//!
//! # Failures
//!
//! Every statement runs under a timeout (2 seconds unless set), pool acquisition
//! included. A timeout, a closed pool, a refused or broken connection, or a database that says
//! it is busy or shutting down is [`AuthError::Unavailable`] (503), logged with `tracing::warn!`
//! and never with the token. Other database errors, such as a missing table, are
//! [`AuthError::Internal`].

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::AssertSqlSafe;

use super::{RevokeSubject, Strategy, TokenInfo, TokenTimes, jwt::now, opaque};
use crate::error::AuthError;

pub use sqlx;
#[cfg(feature = "database-postgres")]
pub use sqlx::PgPool;
#[cfg(feature = "database-sqlite")]
pub use sqlx::SqlitePool;

/// [`DatabaseStrategy::DEFAULT_LIFETIME`], for the crate's own use.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// How long any one database operation may take unless configured: 2 seconds.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The token table's name unless configured.
pub(crate) const DEFAULT_TABLE: &str = "auth_tokens";

/// The longest table name accepted, so that its index name (`<table>_expires_at`) stays within
/// PostgreSQL's 63-byte identifiers.
pub(crate) const MAX_TABLE_NAME_LEN: usize = 48;

impl DatabaseStrategy {
    /// How long an issued token lives unless configured: one hour.
    pub const DEFAULT_LIFETIME: Duration = DEFAULT_LIFETIME;
}

#[cfg(feature = "database-sqlite")]
const SQLITE_SCHEMA: &str = include_str!("../../migrations/sqlite/0001_tokens.sql");
#[cfg(feature = "database-postgres")]
const POSTGRES_SCHEMA: &str = include_str!("../../migrations/postgres/0001_tokens.sql");

/// Why a [`DatabaseStrategy`] could not be set up (startup errors; requests fail with
/// [`AuthError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// A table name that is not a lowercase SQL identifier of at most
    /// 48 bytes.
    #[error(
        "invalid table name `{0}`: use lowercase ASCII letters, digits and `_`, not starting with a digit, \
         at most 48 bytes"
    )]
    InvalidTableName(String),
    /// A URL whose scheme names no database this build supports.
    #[error("unsupported database URL scheme `{0}`: expected sqlite: or postgres: with the matching feature")]
    UnsupportedUrl(String),
    /// Another invalid setting.
    #[error("invalid database strategy configuration: {0}")]
    Config(&'static str),
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The database did not answer in time.
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
}

/// Opaque, database-backed tokens; see the [module docs](self). Cheap to clone: clones share
/// the pool.
#[derive(Clone)]
pub struct DatabaseStrategy {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    table: String,
    lifetime: Duration,
    timeout: Duration,
    sql: Statements,
}

/// The four statements, rendered once for the table and the backend's placeholder style.
struct Statements {
    insert: Arc<str>,
    select: Arc<str>,
    delete: Arc<str>,
    delete_subject: Arc<str>,
    purge: Arc<str>,
}

/// An sqlx pool of one of the supported databases; shared with the users store.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    #[cfg(feature = "database-sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "database-postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete sqlx pool. The body is written once and
/// compiled per backend, so the query code stays generic without `sqlx::Any`.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            #[cfg(feature = "database-sqlite")]
            $crate::strategies::database::Pool::Sqlite($p) => $body,
            #[cfg(feature = "database-postgres")]
            $crate::strategies::database::Pool::Postgres($p) => $body,
        }
    };
}
#[cfg_attr(not(feature = "users"), allow(unused_imports))]
pub(crate) use on_pool;

impl Pool {
    /// Opens a pool for `url`: `sqlite:…` (the file is created if missing) or `postgres:…` /
    /// `postgresql:…`, each with its feature. Acquire timeout and SQLite's busy timeout are
    /// [`DEFAULT_TIMEOUT`], and so is the wait for the first connection, made now so that a
    /// wrong URL fails at startup.
    pub(crate) async fn connect(url: &str) -> Result<Self, DatabaseError> {
        // Only the scheme ever appears in an error: the rest may hold a password.
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            #[cfg(feature = "database-sqlite")]
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .busy_timeout(DEFAULT_TIMEOUT);
                Ok(Pool::Sqlite(bounded(pool_options().connect_with(options)).await?))
            }
            #[cfg(feature = "database-postgres")]
            "postgres" | "postgresql" => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
                Ok(Pool::Postgres(bounded(pool_options().connect_with(options)).await?))
            }
            other => Err(DatabaseError::UnsupportedUrl(other.to_owned())),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "database-sqlite")]
            Pool::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "database-postgres")]
            Pool::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Which database a [`Pool`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    #[cfg(feature = "database-sqlite")]
    Sqlite,
    #[cfg(feature = "database-postgres")]
    Postgres,
}

impl std::fmt::Debug for DatabaseStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStrategy")
            .field("backend", &self.inner.pool.backend())
            .field("table", &self.inner.table)
            .field("lifetime", &self.inner.lifetime)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl DatabaseStrategy {
    /// Starts a strategy over an SQLite pool.
    ///
    /// Give the pool an `acquire_timeout` and a `busy_timeout` no longer than the strategy's
    /// timeout; [`DatabaseStrategy::connect`] does.
    #[cfg(feature = "database-sqlite")]
    pub fn sqlite(pool: sqlx::SqlitePool) -> DatabaseStrategyBuilder {
        DatabaseStrategyBuilder::new(Pool::Sqlite(pool))
    }

    /// Starts a strategy over a PostgreSQL pool.
    ///
    /// Give the pool an `acquire_timeout` no longer than the strategy's timeout;
    /// [`DatabaseStrategy::connect`] does.
    #[cfg(feature = "database-postgres")]
    pub fn postgres(pool: sqlx::PgPool) -> DatabaseStrategyBuilder {
        DatabaseStrategyBuilder::new(Pool::Postgres(pool))
    }

    /// Opens a pool for `url` and starts a strategy over it: `sqlite:…` (the file is created if
    /// missing) or `postgres:…` / `postgresql:…`, each with its feature.
    ///
    /// The pool's acquire timeout and SQLite's busy timeout are the default timeout (2 s), and so is
    /// the wait for the first connection, which is made now so that a wrong URL fails at
    /// startup. For other pool settings, build the pool yourself and use
    /// `DatabaseStrategy::sqlite` or `DatabaseStrategy::postgres`.
    pub async fn connect(url: &str) -> Result<DatabaseStrategyBuilder, DatabaseError> {
        Ok(DatabaseStrategyBuilder::new(Pool::connect(url).await?))
    }

    /// Creates the token table and its index if they do not exist. Idempotent; call it at
    /// startup. On PostgreSQL it holds an advisory lock, so that several processes starting at
    /// once do not race on the `CREATE`.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        let table = &self.inner.table;
        let timeout = self.inner.timeout;
        match &self.inner.pool {
            #[cfg(feature = "database-sqlite")]
            Pool::Sqlite(pool) => {
                let sql = SQLITE_SCHEMA.replace("{table}", table);
                // Safe: `table` passed `valid_table_name`, and the template is ours.
                bounded_for(timeout, sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool)).await?;
            }
            #[cfg(feature = "database-postgres")]
            Pool::Postgres(pool) => {
                // Several statements in one simple query form one implicit transaction, so the
                // transaction-scoped lock covers the whole schema.
                let sql = format!(
                    "SELECT pg_advisory_xact_lock(hashtext('auth-core migrate {table}'));\n{}",
                    POSTGRES_SCHEMA.replace("{table}", table)
                );
                bounded_for(timeout, sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool)).await?;
            }
        }
        Ok(())
    }

    /// Deletes every expired token; returns how many. For a periodic job: expired tokens are
    /// refused whether or not they were purged.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let now = unix_now();
        let sql = &self.inner.sql.purge;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(now);
            self.timed("purge", query.execute(pool)).await.map(|done| done.rows_affected())
        })
    }

    /// The token table's name.
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// How long issued tokens live.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    /// How long one database operation may take.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Awaits `operation` for at most the configured timeout, mapping its failures to
    /// [`AuthError`]s and logging them (without any token: sqlx errors never carry bound values).
    async fn timed<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, AuthError> {
        match tokio::time::timeout(self.inner.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(map_error(self.inner.pool.backend(), operation, &error)),
            Err(_) => {
                tracing::warn!(operation, timeout = ?self.inner.timeout, "token database timed out");
                Err(AuthError::Unavailable)
            }
        }
    }

    async fn delete(&self, hash: String) -> Result<(), AuthError> {
        let sql = &self.inner.sql.delete;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(hash);
            self.timed("delete", query.execute(pool)).await.map(drop)
        })
    }
}

impl Strategy for DatabaseStrategy {
    const KIND: &'static str = "database";

    async fn read_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        self.read_token_with_expiry(token).await.map(|(info, _)| info)
    }

    async fn read_token_with_expiry(
        &self,
        token: &str,
    ) -> Result<(TokenInfo, Option<std::time::SystemTime>), AuthError> {
        self.read_token_with_times(token).await.map(|(info, times)| (info, times.expires_at))
    }

    async fn read_token_issued(&self, token: &str) -> Result<(TokenInfo, Option<std::time::SystemTime>), AuthError> {
        self.read_token_with_times(token).await.map(|(info, times)| (info, times.issued_at))
    }

    async fn read_token_with_times(&self, token: &str) -> Result<(TokenInfo, TokenTimes), AuthError> {
        let hash = opaque::parse_and_hash(token)?;
        let sql = &self.inner.sql.select;
        let row: Option<(String, String, i64, i64)> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(Arc::clone(sql))).bind(hash.clone());
            self.timed("read", query.fetch_optional(pool)).await?
        });
        let Some((subject, scopes, created_at, expires_at)) = row else { return Err(AuthError::InvalidToken) };
        if expires_at <= unix_now() {
            // Lazy cleanup. The token is refused whether or not the delete gets through.
            let _ = self.delete(hash).await;
            return Err(AuthError::InvalidToken);
        }
        let info = TokenInfo { subject, scopes: scopes.split_ascii_whitespace().map(str::to_owned).collect() };
        let at = |seconds: i64| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.max(0).unsigned_abs()));
        // `expires_at > now` here, so it is positive.
        Ok((info, TokenTimes { issued_at: at(created_at), expires_at: at(expires_at) }))
    }

    async fn write_token(&self, subject: &str, scopes: &[String]) -> Result<String, AuthError> {
        opaque::check_scopes(scopes)?;
        let token = opaque::generate()?;
        let hash = opaque::hash(&token);
        let created_at = unix_now();
        let expires_at = created_at.saturating_add(lifetime_secs(self.inner.lifetime));
        let sql = &self.inner.sql.insert;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                .bind(hash)
                .bind(subject.to_owned())
                .bind(scopes.join(" "))
                .bind(created_at)
                .bind(expires_at);
            self.timed("write", query.execute(pool)).await?;
        });
        Ok(token)
    }

    /// Deletes the token's row. A malformed or unknown token is not an error: there is nothing
    /// to revoke.
    async fn destroy_token(&self, token: &str) -> Result<(), AuthError> {
        match opaque::parse_and_hash(token) {
            Ok(hash) => self.delete(hash).await,
            Err(_) => Ok(()),
        }
    }
}

/// Deletes every token of `subject` (one indexed `DELETE`): a password change ends them all.
impl RevokeSubject for DatabaseStrategy {
    async fn revoke_subject(&self, subject: &str) -> Result<(), AuthError> {
        let sql = &self.inner.sql.delete_subject;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(subject.to_owned());
            self.timed("revoke subject", query.execute(pool)).await.map(drop)
        })
    }
}

/// Configures a [`DatabaseStrategy`]; from `DatabaseStrategy::sqlite`,
/// `DatabaseStrategy::postgres` or [`DatabaseStrategy::connect`].
#[derive(Debug)]
#[must_use = "call `.build()` to get the strategy"]
pub struct DatabaseStrategyBuilder {
    pool: Pool,
    table: String,
    lifetime: Duration,
    timeout: Duration,
}

impl DatabaseStrategyBuilder {
    fn new(pool: Pool) -> Self {
        Self { pool, table: DEFAULT_TABLE.to_owned(), lifetime: DEFAULT_LIFETIME, timeout: DEFAULT_TIMEOUT }
    }

    /// How long issued tokens live, at least one second (rounded up to whole seconds); default
    /// [`DatabaseStrategy::DEFAULT_LIFETIME`], one hour.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long any one database operation may take, pool acquisition included, before the
    /// request fails with [`AuthError::Unavailable`]; default 2 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The token table's name; default `auth_tokens`. Lowercase ASCII letters, digits and
    /// `_`, not starting with a digit, at most 48 bytes; it is always
    /// quoted in SQL, so reserved words are fine.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Checks the settings and renders the statements.
    pub fn build(self) -> Result<DatabaseStrategy, DatabaseError> {
        if !valid_table_name(&self.table) {
            return Err(DatabaseError::InvalidTableName(self.table));
        }
        if self.lifetime < Duration::from_secs(1) {
            return Err(DatabaseError::Config("the token lifetime must be at least one second"));
        }
        if self.timeout.is_zero() {
            return Err(DatabaseError::Config("the timeout must not be zero"));
        }
        let sql = Statements::render(&self.table, self.pool.backend());
        Ok(DatabaseStrategy {
            inner: Arc::new(Inner {
                pool: self.pool,
                table: self.table,
                lifetime: self.lifetime,
                timeout: self.timeout,
                sql,
            }),
        })
    }
}

impl Statements {
    fn render(table: &str, backend: Backend) -> Self {
        // `?1` is SQLite's numbered placeholder, `$1` PostgreSQL's.
        let p: &dyn Fn(u8) -> String = match backend {
            #[cfg(feature = "database-sqlite")]
            Backend::Sqlite => &|n| format!("?{n}"),
            #[cfg(feature = "database-postgres")]
            Backend::Postgres => &|n| format!("${n}"),
        };
        Self {
            insert: format!(
                r#"INSERT INTO "{table}" (token_hash, subject, scopes, created_at, expires_at) VALUES ({}, {}, {}, {}, {})"#,
                p(1),
                p(2),
                p(3),
                p(4),
                p(5)
            )
            .into(),
            select: format!(
                r#"SELECT subject, scopes, created_at, expires_at FROM "{table}" WHERE token_hash = {}"#,
                p(1)
            )
            .into(),
            delete: format!(r#"DELETE FROM "{table}" WHERE token_hash = {}"#, p(1)).into(),
            delete_subject: format!(r#"DELETE FROM "{table}" WHERE subject = {}"#, p(1)).into(),
            purge: format!(r#"DELETE FROM "{table}" WHERE expires_at <= {}"#, p(1)).into(),
        }
    }
}

/// A lowercase SQL identifier: `[a-z_][a-z0-9_]*`, at most [`MAX_TABLE_NAME_LEN`] bytes.
/// Lowercase only, because PostgreSQL folds unquoted names to lowercase: a `Tokens` table
/// would be a trap for anyone querying it by hand.
pub(crate) fn valid_table_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_TABLE_NAME_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new().acquire_timeout(DEFAULT_TIMEOUT)
}

async fn bounded<T>(future: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, DatabaseError> {
    bounded_for(DEFAULT_TIMEOUT, future).await
}

pub(crate) async fn bounded_for<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DatabaseError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(DatabaseError::Timeout(timeout)),
    }
}

/// Seconds since the Unix epoch, as the tables store them.
pub(crate) fn unix_now() -> i64 {
    i64::try_from(now()).unwrap_or(i64::MAX)
}

/// A lifetime in whole seconds, rounded up, as the tables store them.
fn lifetime_secs(lifetime: Duration) -> i64 {
    let secs = lifetime.as_secs().saturating_add(u64::from(lifetime.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Sorts a sqlx error into "the store is unavailable" (503) or "we have a bug" (500), and logs it.
fn map_error(backend: Backend, operation: &'static str, error: &sqlx::Error) -> AuthError {
    if is_unavailable(backend, error) {
        tracing::warn!(operation, error = %error, "token database unavailable");
        AuthError::Unavailable
    } else {
        tracing::error!(operation, error = %error, "token database error");
        AuthError::Internal
    }
}

/// Whether `error` means "not now" (503) rather than "never" (500).
pub(crate) fn is_unavailable(backend: Backend, error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(backend, &code)),
        _ => false,
    }
}

/// Database error codes that mean "not now" rather than "never": the request may succeed later
/// without anyone changing the code or the schema.
fn unavailable_code(backend: Backend, code: &str) -> bool {
    match backend {
        // Primary result codes (the extended code's low byte): BUSY, LOCKED, IOERR, FULL, CANTOPEN.
        #[cfg(feature = "database-sqlite")]
        Backend::Sqlite => code.parse::<u32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)),
        // SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57 (operator
        // intervention: shutdown, statement timeout), and a read-only standby (25006).
        #[cfg(feature = "database-postgres")]
        Backend::Postgres => ["08", "53", "57"].iter().any(|class| code.starts_with(class)) || code == "25006",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for good in ["auth_tokens", "_t", "t1", "select", &"a".repeat(MAX_TABLE_NAME_LEN)] {
            assert!(valid_table_name(good), "{good}");
        }
        for bad in [
            "",
            "1t",
            "Tokens",
            "a-b",
            "a b",
            "a\"b",
            "t;drop table x",
            "schema.t",
            "é",
            &"a".repeat(MAX_TABLE_NAME_LEN + 1),
        ] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn lifetimes_round_up() {
        assert_eq!(lifetime_secs(Duration::from_secs(3600)), 3600);
        assert_eq!(lifetime_secs(Duration::from_millis(1500)), 2);
        assert_eq!(lifetime_secs(Duration::MAX), i64::MAX);
    }
}
