//! sqlx pools of the supported databases, table names, and how their failures become
//! [`AuthError`]s.

use std::{str::FromStr, time::Duration};

use super::STORE_TIMEOUT;
use crate::{
    error::AuthError,
    strategies::{database::DatabaseError, jwt::now},
};

/// The longest table name accepted, so that its index names (`<table>_expires_at`,
/// `<table>_email_key`) stay within PostgreSQL's 63-byte identifiers.
pub(crate) const MAX_TABLE_NAME_LEN: usize = 48;

/// The token table's name unless configured.
pub(crate) const TOKENS_TABLE: &str = "auth_tokens";

/// The users table's name unless configured.
#[cfg_attr(not(feature = "users"), allow(dead_code))]
pub(crate) const USERS_TABLE: &str = "users";

/// An sqlx pool of one of the supported databases; the token and users stores may share one.
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
            $crate::db::Pool::Sqlite($p) => $body,
            #[cfg(feature = "database-postgres")]
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Pool {
    /// Opens a pool for `url`: `sqlite:…` (the file is created if missing) or `postgres:…` /
    /// `postgresql:…`, each with its feature. Acquire timeout, SQLite's busy timeout and the
    /// wait for the first connection, made now so that a wrong URL fails at startup, are the
    /// [store timeout](super#timeouts).
    pub(crate) async fn connect(url: &str) -> Result<Self, DatabaseError> {
        // Only the scheme ever appears in an error: the rest may hold a password.
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            #[cfg(feature = "database-sqlite")]
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .busy_timeout(STORE_TIMEOUT);
                Ok(Pool::Sqlite(bounded_for(STORE_TIMEOUT, pool_options().connect_with(options)).await?))
            }
            #[cfg(feature = "database-postgres")]
            "postgres" | "postgresql" => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
                Ok(Pool::Postgres(bounded_for(STORE_TIMEOUT, pool_options().connect_with(options)).await?))
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

impl Backend {
    /// The placeholder of the `n`th bound value: `?n` (SQLite) or `$n` (PostgreSQL).
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            #[cfg(feature = "database-sqlite")]
            Backend::Sqlite => format!("?{n}"),
            #[cfg(feature = "database-postgres")]
            Backend::Postgres => format!("${n}"),
        }
    }

    /// The placeholders of the first `N` bound values.
    pub(crate) fn placeholders<const N: usize>(self) -> [String; N] {
        std::array::from_fn(|i| self.placeholder(i + 1))
    }
}

fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new().acquire_timeout(STORE_TIMEOUT)
}

/// A store's table name, checked at build time (see [`valid_table_name`]).
pub(crate) fn table_name(table: String) -> Result<String, DatabaseError> {
    if valid_table_name(&table) { Ok(table) } else { Err(DatabaseError::InvalidTableName(table)) }
}

/// A store's timeout, checked at build time: not zero.
pub(crate) fn check_timeout(timeout: Duration) -> Result<(), DatabaseError> {
    if timeout.is_zero() { Err(DatabaseError::Config("the timeout must not be zero")) } else { Ok(()) }
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

/// Awaits `future` for at most `timeout`: for startup work, whose errors are [`DatabaseError`]s.
pub(crate) async fn bounded_for<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DatabaseError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(DatabaseError::Timeout(timeout)),
    }
}

/// Awaits `future` for at most `timeout`, for a request: a timeout is
/// [`AuthError::Unavailable`], logged as `"{store} timed out"`; the database's own errors are
/// left to the caller (for [`error`]).
pub(crate) async fn timed<T>(
    store: &'static str,
    operation: &'static str,
    timeout: Duration,
    future: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<Result<T, sqlx::Error>, AuthError> {
    tokio::time::timeout(timeout, future).await.map_err(|_| {
        tracing::warn!(operation, timeout = ?timeout, "{store} timed out");
        AuthError::Unavailable
    })
}

/// Sorts a sqlx error into "the store is unavailable" (503) or "we have a bug" (500), and logs
/// it (sqlx errors never carry bound values, so no token or hash is logged).
pub(crate) fn error(store: &'static str, backend: Backend, operation: &'static str, error: &sqlx::Error) -> AuthError {
    if is_unavailable(backend, error) {
        tracing::warn!(operation, error = %error, "{store} unavailable");
        AuthError::Unavailable
    } else {
        tracing::error!(operation, error = %error, "{store} error");
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

/// Seconds since the Unix epoch, as the tables store them.
pub(crate) fn unix_now() -> i64 {
    i64::try_from(now()).unwrap_or(i64::MAX)
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
}
