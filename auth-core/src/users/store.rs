//! Where users live: one table in SQLite (feature `database-sqlite`, the default) or PostgreSQL
//! (feature `database-postgres`), through sqlx, with its schema in embedded, versioned
//! migrations.
//!
//! # Schema
//!
//! | column            | SQLite  | PostgreSQL | meaning                                        |
//! |-------------------|---------|------------|------------------------------------------------|
//! | `id`              | text    | uuid       | primary key, a random UUID                     |
//! | `email`           | text    | text       | the normalised address, as answered            |
//! | `email_key`       | text    | text       | unique: the address case-folded ([`Email::key`](super::Email::key)) |
//! | `hashed_password` | text    | text       | argon2id PHC string                            |
//! | `is_active`, `is_superuser`, `is_verified` | boolean | boolean | the flags             |
//! | `fields`          | text    | jsonb      | the app's own fields, a JSON object            |
//! | `created_at`, `updated_at` | bigint | bigint | seconds since the Unix epoch              |
//! | `password_changed_at` | bigint | bigint | when the password last changed (seconds; 0: never): tokens issued then or before are refused |
//!
//! # Migrations
//!
//! [`UserStore::migrate`] applies the SQL files of the crate's `migrations/users/<database>/`
//! that have not run yet, in order, in a transaction, and records each in
//! `auth_core_migrations` (component `users:<table>`), as the token store does. It is
//! idempotent, and safe when several processes start at once (PostgreSQL: an advisory lock;
//! SQLite: `BEGIN IMMEDIATE`). sqlx's own `migrate!` is deliberately not used: its bookkeeping
//! table would be shared with the application's own sqlx migrations, which then refuse to run
//! because of versions they do not know. The files are templates (`{table}`), for apps that run
//! their own migration tool.
//!
//! # Failures
//!
//! Every statement runs under the store timeout of [the timeout policy](crate::db#timeouts). A timeout or an unreachable
//! database is [`AuthError::Unavailable`] (503); other database errors are
//! [`AuthError::Internal`] (500, logged). A second user with the same `email_key` is refused by
//! the unique index, which is what makes concurrent registrations of one address safe.
//!
//! # Concurrent updates
//!
//! An update writes only the columns it changes, in one `UPDATE` conditional on those columns
//! and `email_key` still holding what was read (a compare-and-set; no version column, so no
//! migration). Two updates of different columns (a user's password, an admin's flags) both
//! land; of two updates of the same column, the second finds the row changed and is applied
//! again to the row as it is now (by [`UserManager`](super::UserManager), a bounded number of
//! times, then 409).

use std::{borrow::Cow, sync::Arc, time::Duration};

use serde::{Serialize, de::DeserializeOwned};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::model::{StoredUser, User};
use crate::{
    db::{self, Backend, Migration, Pool, on_pool, unix_now},
    error::AuthError,
    strategies::database::{Database, DatabaseError},
};

/// The users table's name unless configured.
pub(crate) const DEFAULT_TABLE: &str = db::USERS_TABLE;

/// The migrations, in order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: Cow::Borrowed(include_str!("../../migrations/users/sqlite/0001_users.sql")),
        postgres: Cow::Borrowed(include_str!("../../migrations/users/postgres/0001_users.sql")),
    },
    Migration {
        version: 2,
        sqlite: Cow::Borrowed(include_str!("../../migrations/users/sqlite/0002_password_changed_at.sql")),
        postgres: Cow::Borrowed(include_str!("../../migrations/users/postgres/0002_password_changed_at.sql")),
    },
];

/// The users table; see the [module docs](self). Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct UserStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    table: String,
    timeout: Duration,
    sql: Statements,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStore")
            .field("backend", &self.inner.pool.backend())
            .field("table", &self.inner.table)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a write was refused.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// Another user has this `email_key`.
    Duplicate,
    /// The store failed.
    Store(AuthError),
}

/// Configures a [`UserStore`]; from [`UserStore::builder`].
#[derive(Debug)]
#[must_use = "call `.build().await` to get the store"]
pub struct UserStoreBuilder {
    database: Database,
    table: String,
    timeout: Duration,
}

impl UserStore {
    /// Starts a store in `database`: a URL (`"sqlite://users.db"`, `"postgres://…"`) or an sqlx
    /// pool, which may be the pool of a [`DatabaseStrategy`](crate::strategies::DatabaseStrategy)
    /// too; see [`Database`]. [`build`](UserStoreBuilder::build) connects.
    pub fn builder(database: impl Into<Database>) -> UserStoreBuilder {
        UserStoreBuilder::new(database.into())
    }

    /// The users table's name.
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The pool, for the tables that refer to this one (`oauth_accounts`).
    #[cfg(feature = "oauth")]
    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The statement timeout.
    #[cfg(feature = "oauth")]
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Applies the migrations that have not run yet; see the [module docs](self).
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        db::migrate(&self.inner.pool, "users", &self.inner.table, MIGRATIONS, self.inner.timeout).await
    }

    /// Awaits `operation` for at most the configured timeout, mapping failures to
    /// [`AuthError`]s (logged; sqlx errors never carry bound values, so no hash is logged).
    async fn timed<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, WriteError> {
        match db::timed(STORE, operation, self.inner.timeout, future).await.map_err(WriteError::Store)? {
            Ok(value) => Ok(value),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(WriteError::Duplicate),
            Err(error) => Err(WriteError::Store(db::error(STORE, self.inner.pool.backend(), operation, &error))),
        }
    }

    async fn read<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, AuthError> {
        self.timed(operation, future).await.map_err(|error| match error {
            WriteError::Store(error) => error,
            WriteError::Duplicate => AuthError::Internal,
        })
    }

    /// The user with this id.
    pub(crate) async fn by_id<F: DeserializeOwned>(&self, id: Uuid) -> Result<Option<StoredUser<F>>, AuthError> {
        Ok(self.by_id_for_update(id).await?.map(|read| read.stored))
    }

    /// The user with this email key.
    pub(crate) async fn by_key<F: DeserializeOwned>(&self, key: &str) -> Result<Option<StoredUser<F>>, AuthError> {
        Ok(self.by_key_for_update(key).await?.map(|read| read.stored))
    }

    /// Inserts a new user.
    pub(crate) async fn insert<F: Serialize>(&self, stored: &StoredUser<F>) -> Result<(), WriteError> {
        let fields = fields_json(&stored.user.fields).map_err(WriteError::Store)?;
        let user = &stored.user;
        let now = unix_now();
        let sql = &self.inner.sql.insert;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                .bind(user.id.to_string())
                .bind(user.email.clone())
                .bind(stored.email_key.clone())
                .bind(stored.hashed_password.clone())
                .bind(user.is_active)
                .bind(user.is_superuser)
                .bind(user.is_verified)
                .bind(fields)
                .bind(now)
                .bind(now);
            self.timed("insert", query.execute(pool)).await?;
        });
        Ok(())
    }

    /// The user with this id, as read, for [`UserStore::update_if_unchanged`].
    pub(crate) async fn by_id_for_update<F: DeserializeOwned>(
        &self,
        id: Uuid,
    ) -> Result<Option<ReadUser<F>>, AuthError> {
        self.read_one("get", &self.inner.sql.by_id, id.to_string()).await
    }

    /// The user with this email key, as read, for [`UserStore::update_if_unchanged`].
    pub(crate) async fn by_key_for_update<F: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<ReadUser<F>>, AuthError> {
        self.read_one("get_by_email", &self.inner.sql.by_key, key.to_owned()).await
    }

    /// The one row `sql` selects by `value`, as read.
    async fn read_one<F: DeserializeOwned>(
        &self,
        operation: &'static str,
        sql: &Arc<str>,
        value: String,
    ) -> Result<Option<ReadUser<F>>, AuthError> {
        let row: Option<Row> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(Arc::clone(sql))).bind(value);
            self.read(operation, query.fetch_optional(pool)).await?
        });
        row.map(|row| Ok(ReadUser { stored: into_stored(row.clone())?, row })).transpose()
    }

    /// Writes the columns in which `new` differs from `read`, if the row still holds what was
    /// read in those columns and in `email_key`: a compare-and-set, one statement. A new
    /// password hash sets `password_changed_at` in that statement. `false` when
    /// another write came first (or the row is gone): read again and re-apply the change (see
    /// the [module docs](self#concurrent-updates)).
    pub(crate) async fn update_if_unchanged<F: Serialize>(
        &self,
        read: &ReadUser<F>,
        new: &StoredUser<F>,
    ) -> Result<bool, WriteError> {
        let (id, email, email_key, hashed_password, is_active, is_superuser, is_verified, fields, _password_changed_at) =
            &read.row;
        let new_fields = fields_json(&new.user.fields).map_err(WriteError::Store)?;
        // Compared as JSON: PostgreSQL's jsonb text is spelled differently from serde_json's.
        let fields_changed = serde_json::from_str::<serde_json::Value>(fields).ok()
            != serde_json::from_str::<serde_json::Value>(&new_fields).ok();
        let user = &new.user;
        let text =
            |old: &String, new: &String| (old != new).then(|| (Bind::Text(old.clone()), Bind::Text(new.clone())));
        let flag = |old: bool, new: bool| (old != new).then_some((Bind::Bool(old), Bind::Bool(new)));
        let columns = [
            ("email", text(email, &user.email)),
            ("email_key", text(email_key, &new.email_key)),
            ("hashed_password", text(hashed_password, &new.hashed_password)),
            ("is_active", flag(*is_active, user.is_active)),
            ("is_superuser", flag(*is_superuser, user.is_superuser)),
            ("is_verified", flag(*is_verified, user.is_verified)),
            ("fields", fields_changed.then(|| (Bind::Text(fields.clone()), Bind::Text(new_fields)))),
        ];
        let changed: Vec<(&str, Bind, Bind)> =
            columns.into_iter().filter_map(|(column, change)| change.map(|(old, new)| (column, old, new))).collect();
        if changed.is_empty() {
            return Ok(true);
        }
        let (sql, binds) = self.inner.sql.conditional_update(&self.inner.table, id, email_key, changed, unix_now());
        let done = on_pool!(&self.inner.pool, |pool| {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for bind in binds {
                query = match bind {
                    Bind::Text(value) => query.bind(value),
                    Bind::Bool(value) => query.bind(value),
                    Bind::Int(value) => query.bind(value),
                };
            }
            self.timed("update", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Replaces the password hash if it is still `expected`, and records the change's time in
    /// the same statement: `false` when another change came first. This is what makes a reset
    /// token single-use even when it is presented twice at once.
    pub(crate) async fn swap_password(&self, id: Uuid, expected: &str, new: &str) -> Result<bool, AuthError> {
        let sql = &self.inner.sql.swap_password;
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql)))
                .bind(id.to_string())
                .bind(new.to_owned())
                .bind(unix_now())
                .bind(expected.to_owned());
            self.read("swap_password", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Deletes a user; `false` if there was none.
    pub(crate) async fn delete(&self, id: Uuid) -> Result<bool, AuthError> {
        let sql = &self.inner.sql.delete;
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(Arc::clone(sql))).bind(id.to_string());
            self.read("delete", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }
}

fn fields_json<F: Serialize>(fields: &F) -> Result<String, AuthError> {
    match serde_json::to_value(fields) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value.to_string()),
        Ok(_) => {
            tracing::error!("the app's user fields must serialise to a JSON object (a struct)");
            Err(AuthError::Internal)
        }
        Err(error) => {
            tracing::error!(%error, "the app's user fields do not serialise");
            Err(AuthError::Internal)
        }
    }
}

/// What the log lines call this store.
const STORE: &str = "user database";

/// The columns as selected: id, email, email_key, hashed_password, is_active, is_superuser,
/// is_verified, fields, password_changed_at.
type Row = (String, String, String, String, bool, bool, bool, String, i64);

/// A user as read, with the columns as they were in the database, which
/// [`UserStore::update_if_unchanged`] compares against.
pub(crate) struct ReadUser<F> {
    /// The user.
    pub(crate) stored: StoredUser<F>,
    row: Row,
}

/// A value bound to a statement built at run time.
enum Bind {
    Text(String),
    Bool(bool),
    Int(i64),
}

fn into_stored<F: DeserializeOwned>(row: Row) -> Result<StoredUser<F>, AuthError> {
    let (id, email, email_key, hashed_password, is_active, is_superuser, is_verified, fields, password_changed_at) =
        row;
    let id = Uuid::parse_str(&id).map_err(|_| {
        tracing::error!("a user id in the database is not a UUID");
        AuthError::Internal
    })?;
    let fields = serde_json::from_str(&fields).map_err(|error| {
        tracing::error!(user = %id, %error, "stored user fields do not deserialise into the app's type");
        AuthError::Internal
    })?;
    Ok(StoredUser {
        user: User { id, email, is_active, is_superuser, is_verified, fields },
        email_key,
        hashed_password,
        password_changed_at,
    })
}

/// The statements, rendered once for the table and the database's placeholders and types.
struct Statements {
    by_id: Arc<str>,
    by_key: Arc<str>,
    insert: Arc<str>,
    swap_password: Arc<str>,
    delete: Arc<str>,
    /// How the conditional update spells placeholders and casts.
    backend: Backend,
    id_cast: &'static str,
    fields_cast: &'static str,
}

/// How one database spells the casts the statements need.
struct Dialect {
    id: &'static str,
    fields: &'static str,
    id_out: &'static str,
    fields_out: &'static str,
}

impl Statements {
    fn render(table: &str, backend: Backend) -> Self {
        // Ids and fields travel as text; PostgreSQL casts them to its uuid and jsonb types.
        let dialect = match backend {
            #[cfg(feature = "database-sqlite")]
            Backend::Sqlite => Dialect { id: "", fields: "", id_out: "id", fields_out: "fields" },
            #[cfg(feature = "database-postgres")]
            Backend::Postgres => Dialect {
                id: "::uuid",
                fields: "::jsonb",
                id_out: "id::text AS id",
                fields_out: "fields::text AS fields",
            },
        };
        let Dialect { id, fields, id_out, fields_out } = dialect;
        let [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10] = backend.placeholders();
        let columns = format!(
            "{id_out}, email, email_key, hashed_password, is_active, is_superuser, is_verified, {fields_out}, password_changed_at"
        );
        let insert_columns = "id, email, email_key, hashed_password, is_active, is_superuser, is_verified, fields, created_at, updated_at";
        let values = format!("{p1}{id}, {p2}, {p3}, {p4}, {p5}, {p6}, {p7}, {p8}{fields}, {p9}, {p10}");
        Self {
            by_id: format!(r#"SELECT {columns} FROM "{table}" WHERE id = {p1}{id}"#).into(),
            by_key: format!(r#"SELECT {columns} FROM "{table}" WHERE email_key = {p1}"#).into(),
            insert: format!(r#"INSERT INTO "{table}" ({insert_columns}) VALUES ({values})"#).into(),
            swap_password: format!(
                r#"UPDATE "{table}" SET hashed_password = {p2}, updated_at = {p3}, password_changed_at = {p3} WHERE id = {p1}{id} AND hashed_password = {p4}"#
            )
            .into(),
            delete: format!(r#"DELETE FROM "{table}" WHERE id = {p1}{id}"#).into(),
            backend,
            id_cast: id,
            fields_cast: fields,
        }
    }

    /// `UPDATE … SET <changed> = <new>, updated_at = … WHERE id = … AND email_key = <read> AND
    /// <changed> = <read> …`, and its values in placeholder order. Only column names of ours
    /// and placeholders go into the text.
    fn conditional_update(
        &self,
        table: &str,
        id: &str,
        email_key: &str,
        changed: Vec<(&str, Bind, Bind)>,
        now: i64,
    ) -> (String, Vec<Bind>) {
        let mut binds = Vec::with_capacity(2 * changed.len() + 3);
        let mut placeholder = |bind: Bind, cast: &str| {
            binds.push(bind);
            format!("{}{cast}", self.backend.placeholder(binds.len()))
        };
        let cast = |column: &str| if column == "fields" { self.fields_cast } else { "" };
        let mut sets = Vec::with_capacity(changed.len() + 1);
        let mut olds = Vec::with_capacity(changed.len());
        for (column, old, new) in changed {
            sets.push(format!("{column} = {}", placeholder(new, cast(column))));
            olds.push((column, old));
        }
        let password_changed = olds.iter().any(|(column, _)| *column == "hashed_password");
        sets.push(format!("updated_at = {}", placeholder(Bind::Int(now), "")));
        if password_changed {
            // In the same statement as the password: no write of one without the other.
            sets.push(format!("password_changed_at = {}", placeholder(Bind::Int(now), "")));
        }
        let mut conditions = vec![
            format!("id = {}", placeholder(Bind::Text(id.to_owned()), self.id_cast)),
            format!("email_key = {}", placeholder(Bind::Text(email_key.to_owned()), "")),
        ];
        for (column, old) in olds {
            conditions.push(format!("{column} = {}", placeholder(old, cast(column))));
        }
        (format!(r#"UPDATE "{table}" SET {} WHERE {}"#, sets.join(", "), conditions.join(" AND ")), binds)
    }
}

impl UserStoreBuilder {
    fn new(database: Database) -> Self {
        Self { database, table: DEFAULT_TABLE.to_owned(), timeout: db::STORE_TIMEOUT }
    }

    /// The users table's name; default `users`. Lowercase ASCII letters, digits and
    /// `_`, not starting with a digit, at most 48 bytes; always quoted in SQL.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// How long any one statement may take before the request fails with 503; default the store
    /// timeout of [the timeout policy](crate::db#timeouts).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the settings, connects when given a URL (a wrong URL fails here, naming only its
    /// scheme), and renders the statements. Creates no table: call [`UserStore::migrate`].
    pub async fn build(self) -> Result<UserStore, DatabaseError> {
        let table = db::table_name(self.table)?;
        db::check_timeout(self.timeout)?;
        let pool = self.database.connect().await?;
        let sql = Statements::render(&table, pool.backend());
        Ok(UserStore { inner: Arc::new(Inner { pool, table, timeout: self.timeout, sql }) })
    }
}
