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
//! let tokens = DatabaseStrategy::builder("sqlite::memory:")
//!     .lifetime(Duration::from_secs(8 * 60 * 60))
//!     .build()
//!     .await?;
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
//! - `database-sqlite`: `sqlite:` URLs, or a `SqlitePool` given to `DatabaseStrategy::builder`.
//!   sqlx compiles its own libsqlite3, so no system library is needed.
//! - `database-postgres`: `postgres:` URLs, or a `PgPool`. sqlx is built without TLS; enable one
//!   of its `tls-*` features in the application to use TLS.
//!
//! The pools are sqlx 0.9's ([`sqlx`] is re-exported here, so the versions always match).
//!
//! # Schema
//!
//! One table, `auth_tokens` unless [`DatabaseStrategyBuilder::table`] says otherwise, created by
//! [`DatabaseStrategy::migrate`], which applies the crate's versioned migrations as the users
//! store does: each once, recorded in `auth_core_migrations` (component `tokens:<table>`). It is
//! idempotent and safe when several processes start at once. The SQL ships in the crate's
//! `migrations/sqlite/` and `migrations/postgres/` as templates, for applications that run their
//! own migration tool.
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
//! Every statement runs under the store timeout (see [the timeout policy](crate::db#timeouts)), pool acquisition
//! included. A timeout, a closed pool, a refused or broken connection, or a database that says
//! it is busy or shutting down is [`AuthError::Unavailable`] (503), logged with `tracing::warn!`
//! and never with the token. Other database errors, such as a missing table, are
//! [`AuthError::Internal`].

use std::{borrow::Cow, sync::Arc, time::Duration};

use sqlx::AssertSqlSafe;

use super::{RevokeSubject, Strategy, TokenInfo, opaque};
use crate::{
    db::{self, Backend, Migration, Pool, on_pool, unix_now},
    error::AuthError,
};

pub use sqlx;
#[cfg(feature = "database-postgres")]
pub use sqlx::PgPool;
#[cfg(feature = "database-sqlite")]
pub use sqlx::SqlitePool;

/// The token table's name unless configured.
pub(crate) const DEFAULT_TABLE: &str = db::TOKENS_TABLE;

impl DatabaseStrategy {
    /// How long an issued token lives unless configured: one hour.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
}

/// The token table's migrations, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: Cow::Borrowed(include_str!("../../migrations/sqlite/0001_tokens.sql")),
    postgres: Cow::Borrowed(include_str!("../../migrations/postgres/0001_tokens.sql")),
}];

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

/// The database a [`DatabaseStrategy`] or a [`UserStore`](crate::users::UserStore) works in: a
/// URL to connect to, or a pool the application made. Their `builder` takes anything that
/// converts into it:
///
/// - a URL (`&str` or `String`): `sqlite:…` (the file is created if missing) or `postgres:…` /
///   `postgresql:…`, each with its feature. `build().await` opens the pool, with an acquire
///   timeout, SQLite's busy timeout and a wait for the first connection of the store timeout
///   each ([the timeout policy](crate::db#timeouts)), so that a wrong URL fails at startup;
/// - a `SqlitePool` or a `PgPool`, for other pool settings or to share one pool between the
///   token and users tables. Give it an `acquire_timeout` (and SQLite a `busy_timeout`) no
///   longer than the store's timeout.
///
/// Its `Debug` output shows a URL's scheme only: the rest may hold a password.
#[derive(Clone)]
pub struct Database(Source);

#[derive(Clone)]
enum Source {
    Url(String),
    Pool(Pool),
}

impl Database {
    /// The pool: the given one, or one opened for the URL now.
    pub(crate) async fn connect(self) -> Result<Pool, DatabaseError> {
        match self.0 {
            Source::Url(url) => Pool::connect(&url).await,
            Source::Pool(pool) => Ok(pool),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Url(url) => {
                f.debug_tuple("Url").field(&url.split_once(':').map_or("", |(scheme, _)| scheme)).finish()
            }
            Source::Pool(pool) => f.debug_tuple("Pool").field(&pool.backend()).finish(),
        }
    }
}

impl From<&str> for Database {
    fn from(url: &str) -> Self {
        Self(Source::Url(url.to_owned()))
    }
}

impl From<&String> for Database {
    fn from(url: &String) -> Self {
        Self(Source::Url(url.clone()))
    }
}

impl From<String> for Database {
    fn from(url: String) -> Self {
        Self(Source::Url(url))
    }
}

#[cfg(feature = "database-sqlite")]
impl From<sqlx::SqlitePool> for Database {
    fn from(pool: sqlx::SqlitePool) -> Self {
        Self(Source::Pool(Pool::Sqlite(pool)))
    }
}

#[cfg(feature = "database-postgres")]
impl From<sqlx::PgPool> for Database {
    fn from(pool: sqlx::PgPool) -> Self {
        Self(Source::Pool(Pool::Postgres(pool)))
    }
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
    /// Starts a strategy in `database`: a URL (`"sqlite://auth.db"`, `"postgres://…"`) or an sqlx
    /// pool; see [`Database`]. [`build`](DatabaseStrategyBuilder::build) connects.
    pub fn builder(database: impl Into<Database>) -> DatabaseStrategyBuilder {
        DatabaseStrategyBuilder::new(database.into())
    }

    /// Creates the token table and its indexes if they do not exist: applies the migrations
    /// that have not run yet (see the [module docs](self#schema)). Idempotent; call it at
    /// startup.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        db::migrate(&self.inner.pool, "tokens", &self.inner.table, MIGRATIONS, self.inner.timeout).await
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
        db::timed(STORE, operation, self.inner.timeout, future)
            .await?
            .map_err(|error| db::error(STORE, self.inner.pool.backend(), operation, &error))
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
        let at = |seconds: i64| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.max(0).unsigned_abs()));
        // `expires_at > now` here, so it is positive.
        let scopes = scopes.split_ascii_whitespace().map(str::to_owned).collect();
        Ok(TokenInfo { subject, scopes, issued_at: at(created_at), expires_at: at(expires_at) })
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

/// Configures a [`DatabaseStrategy`]; from [`DatabaseStrategy::builder`].
#[derive(Debug)]
#[must_use = "call `.build().await` to get the strategy"]
pub struct DatabaseStrategyBuilder {
    database: Database,
    table: String,
    lifetime: Duration,
    timeout: Duration,
}

impl DatabaseStrategyBuilder {
    fn new(database: Database) -> Self {
        Self {
            database,
            table: DEFAULT_TABLE.to_owned(),
            lifetime: DatabaseStrategy::DEFAULT_LIFETIME,
            timeout: db::STORE_TIMEOUT,
        }
    }

    crate::macros::setters! {
        /// How long issued tokens live, at least one second (rounded up to whole seconds); default
        /// [`DatabaseStrategy::DEFAULT_LIFETIME`], one hour.
        lifetime(lifetime: Duration) => lifetime = lifetime;

        /// How long any one database operation may take, pool acquisition included, before the
        /// request fails with [`AuthError::Unavailable`]; default the store timeout of [the timeout policy](crate::db#timeouts).
        timeout(timeout: Duration) => timeout = timeout;

        /// The token table's name; default `auth_tokens`. Lowercase ASCII letters, digits and
        /// `_`, not starting with a digit, at most 48 bytes; it is always
        /// quoted in SQL, so reserved words are fine.
        table(table: impl Into<String>) => table = table.into();
    }

    /// Checks the settings, connects when given a URL (a wrong URL fails here, naming only its
    /// scheme), and renders the statements. Creates no table: call
    /// [`DatabaseStrategy::migrate`].
    pub async fn build(self) -> Result<DatabaseStrategy, DatabaseError> {
        let table = db::table_name(self.table)?;
        if self.lifetime < Duration::from_secs(1) {
            return Err(DatabaseError::Config("the token lifetime must be at least one second"));
        }
        db::check_timeout(self.timeout)?;
        let pool = self.database.connect().await?;
        let sql = Statements::render(&table, pool.backend());
        Ok(DatabaseStrategy {
            inner: Arc::new(Inner { pool, table, lifetime: self.lifetime, timeout: self.timeout, sql }),
        })
    }
}

impl Statements {
    fn render(table: &str, backend: Backend) -> Self {
        let [p1, p2, p3, p4, p5] = backend.placeholders();
        let columns = "token_hash, subject, scopes, created_at, expires_at";
        Self {
            insert: format!(r#"INSERT INTO "{table}" ({columns}) VALUES ({p1}, {p2}, {p3}, {p4}, {p5})"#).into(),
            select: format!(r#"SELECT subject, scopes, created_at, expires_at FROM "{table}" WHERE token_hash = {p1}"#)
                .into(),
            delete: format!(r#"DELETE FROM "{table}" WHERE token_hash = {p1}"#).into(),
            delete_subject: format!(r#"DELETE FROM "{table}" WHERE subject = {p1}"#).into(),
            purge: format!(r#"DELETE FROM "{table}" WHERE expires_at <= {p1}"#).into(),
        }
    }
}

/// A lifetime in whole seconds, rounded up, as the tables store them.
fn lifetime_secs(lifetime: Duration) -> i64 {
    let secs = lifetime.as_secs().saturating_add(u64::from(lifetime.subsec_nanos() > 0));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// What the log lines call this store.
const STORE: &str = "token database";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_round_up() {
        assert_eq!(lifetime_secs(Duration::from_secs(3600)), 3600);
        assert_eq!(lifetime_secs(Duration::from_millis(1500)), 2);
        assert_eq!(lifetime_secs(Duration::MAX), i64::MAX);
    }
}
