//! The one migration runner of the stores: versioned SQL templates, applied once each and
//! recorded in `auth_core_migrations`.
//!
//! sqlx's own `migrate!` is deliberately not used: its bookkeeping table would be shared with
//! the application's own sqlx migrations, which then refuse to run because of versions they do
//! not know.

use std::{borrow::Cow, time::Duration};

use sqlx::AssertSqlSafe;

use super::{Backend, MIGRATION_TIMEOUT, Pool, bounded_for, on_pool, unix_now};
use crate::strategies::database::DatabaseError;

/// One version of a table's schema: SQL templates in which `{table}` stands for the table.
/// Borrowed for a store's own files; owned where a store filled in more (another table's name).
pub(crate) struct Migration {
    pub(crate) version: i64,
    #[cfg_attr(not(feature = "database-sqlite"), allow(dead_code))]
    pub(crate) sqlite: Cow<'static, str>,
    #[cfg_attr(not(feature = "database-postgres"), allow(dead_code))]
    pub(crate) postgres: Cow<'static, str>,
}

/// The bookkeeping table, shared by every auth-core component that migrates (keyed by component).
const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS auth_core_migrations (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// Applies the `migrations` of `table` that have not run yet, in order, in one transaction, and
/// records each in `auth_core_migrations` under `component` (`<kind>:<table>`). Idempotent, and
/// safe when several processes start at once (PostgreSQL: an advisory lock; SQLite:
/// `BEGIN IMMEDIATE`). Bounded by the longer of `timeout` and [`MIGRATION_TIMEOUT`].
///
/// `table` must have passed [`valid_table_name`](super::valid_table_name): it goes into the SQL.
pub(crate) async fn migrate(
    pool: &Pool,
    kind: &str,
    table: &str,
    migrations: &[Migration],
    timeout: Duration,
) -> Result<(), DatabaseError> {
    let component = format!("{kind}:{table}");
    let now = unix_now();
    let backend = pool.backend();
    // How each database opens the transaction, takes the lock and spells placeholders.
    let (begin, lock, done_sql, record_sql) = match backend {
        #[cfg(feature = "database-sqlite")]
        Backend::Sqlite => (
            "BEGIN IMMEDIATE",
            None::<&str>,
            "SELECT version FROM auth_core_migrations WHERE component = ?1 AND version = ?2",
            "INSERT INTO auth_core_migrations (component, version, applied_at) VALUES (?1, ?2, ?3)",
        ),
        #[cfg(feature = "database-postgres")]
        Backend::Postgres => (
            "BEGIN",
            Some("SELECT pg_advisory_xact_lock(hashtext('auth-core migrations'))"),
            "SELECT version FROM auth_core_migrations WHERE component = $1 AND version = $2",
            "INSERT INTO auth_core_migrations (component, version, applied_at) VALUES ($1, $2, $3)",
        ),
    };
    let template = |migration: &Migration| -> String {
        let template: &str = match backend {
            #[cfg(feature = "database-sqlite")]
            Backend::Sqlite => &migration.sqlite,
            #[cfg(feature = "database-postgres")]
            Backend::Postgres => &migration.postgres,
        };
        template.replace("{table}", table)
    };
    on_pool!(pool, |pool| {
        bounded_for(timeout.max(MIGRATION_TIMEOUT), async {
            let mut tx = pool.begin_with(begin).await?;
            if let Some(lock) = lock {
                sqlx::raw_sql(lock).execute(&mut *tx).await?;
            }
            sqlx::raw_sql(MIGRATIONS_TABLE).execute(&mut *tx).await?;
            for migration in migrations {
                let done: Option<(i64,)> =
                    sqlx::query_as(done_sql).bind(&component).bind(migration.version).fetch_optional(&mut *tx).await?;
                if done.is_none() {
                    // Safe: `table` passed `valid_table_name`, and the template is ours.
                    let sql = template(migration);
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                    sqlx::query(record_sql)
                        .bind(&component)
                        .bind(migration.version)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await
        })
        .await
    })
}
