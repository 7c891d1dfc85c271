//! The `oauth_accounts` table: which provider account belongs to which user, with the
//! provider's tokens encrypted ([`Keys::seal`]). Same pool, timeouts and migration runner as the
//! users table it refers to.

use std::{sync::Arc, time::Duration};

use sqlx::AssertSqlSafe;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{client::Refreshed, keys::Keys};
use crate::{
    db::{self, Backend, Migration, Pool, on_pool, unix_now},
    error::AuthError,
    strategies::database::DatabaseError,
    users::UserStore,
};

/// The table's name unless configured.
pub(crate) const DEFAULT_TABLE: &str = "oauth_accounts";

/// The migrations, in order; `{users}` is the users table.
const MIGRATIONS: [(i64, &str, &str); 1] = [(
    1,
    include_str!("../../../migrations/oauth/sqlite/0001_oauth_accounts.sql"),
    include_str!("../../../migrations/oauth/postgres/0001_oauth_accounts.sql"),
)];

/// What a stored token is bound to: its provider, account and column.
fn binding(oauth_name: &str, account_id: &str, column: &str) -> Vec<u8> {
    [oauth_name.as_bytes(), account_id.as_bytes(), column.as_bytes()].join(&0u8)
}

/// What the store logs call it.
const STORE: &str = "oauth accounts database";

/// One provider account as the callback learnt it.
pub(crate) struct Account<'a> {
    pub(crate) oauth_name: &'a str,
    pub(crate) account_id: &'a str,
    pub(crate) account_email: &'a str,
    pub(crate) access_token: &'a str,
    pub(crate) expires_at: Option<i64>,
    pub(crate) refresh_token: Option<&'a str>,
}

/// A provider account's tokens as stored (sealed), for [`Accounts::tokens`].
pub(crate) struct StoredTokens {
    pub(crate) account_id: String,
    access_token: String,
    pub(crate) expires_at: Option<i64>,
    refresh_token: Option<String>,
    /// When the row was last written; in the future while a refresh holds it (a lease).
    pub(crate) updated_at: i64,
}

impl StoredTokens {
    /// The access token, decrypted; `None` when it was sealed under another secret.
    pub(crate) fn access_token(&self, oauth_name: &str, keys: &Keys) -> Option<Zeroizing<String>> {
        keys.open(&self.access_token, &binding(oauth_name, &self.account_id, "access_token"))
    }

    /// The refresh token, decrypted; `None` without one or under another secret.
    pub(crate) fn refresh_token(&self, oauth_name: &str, keys: &Keys) -> Option<Zeroizing<String>> {
        keys.open(self.refresh_token.as_deref()?, &binding(oauth_name, &self.account_id, "refresh_token"))
    }
}

/// A row of [`Accounts::tokens`]: account id, sealed access token, `expires_at`, sealed refresh
/// token, `updated_at`.
type TokensRow = (String, String, Option<i64>, Option<String>, i64);

/// The table, on the users store's pool.
#[derive(Clone)]
pub(crate) struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    table: String,
    users_table: String,
    timeout: Duration,
    by_account: String,
    by_user: String,
    upsert: String,
    refreshed: String,
    claim: String,
    release: String,
}

impl Accounts {
    /// The table `table` (a valid name, checked by the builder) next to `users`.
    pub(crate) fn new(users: &UserStore, table: String) -> Self {
        let pool = users.pool().clone();
        let backend = pool.backend();
        let [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10] = backend.placeholders();
        let (id_cast, id_out) = match backend {
            #[cfg(feature = "database-sqlite")]
            Backend::Sqlite => ("", "user_id"),
            #[cfg(feature = "database-postgres")]
            Backend::Postgres => ("::uuid", "user_id::text"),
        };
        // A provider account already linked to another user is left alone: the update's
        // condition fails, no row is affected, and the caller refuses the link. A login that
        // brings no refresh token keeps the stored one (Google sends one at the first consent
        // only).
        let upsert = format!(
            r#"INSERT INTO "{table}" (id, user_id, oauth_name, account_id, account_email, access_token, expires_at, refresh_token, created_at, updated_at)
VALUES ({p1}{id_cast}, {p2}{id_cast}, {p3}, {p4}, {p5}, {p6}, {p7}, {p8}, {p9}, {p10})
ON CONFLICT (oauth_name, account_id) DO UPDATE SET account_email = excluded.account_email,
access_token = excluded.access_token, expires_at = excluded.expires_at,
refresh_token = COALESCE(excluded.refresh_token, "{table}".refresh_token), updated_at = excluded.updated_at
WHERE "{table}".user_id = excluded.user_id"#
        );
        let by_account = format!(r#"SELECT {id_out} FROM "{table}" WHERE oauth_name = {p1} AND account_id = {p2}"#);
        let by_user = format!(
            r#"SELECT account_id, access_token, expires_at, refresh_token, updated_at FROM "{table}" WHERE user_id = {p1}{id_cast} AND oauth_name = {p2} ORDER BY updated_at DESC, account_id LIMIT 1"#
        );
        // Compare-and-set on the refresh token read: of two refreshes of one account (two
        // processes), only the first is stored, and a rotated refresh token is never replaced
        // by the result of a refresh that started from the old one.
        let refreshed = format!(
            r#"UPDATE "{table}" SET access_token = {p1}, expires_at = {p2}, refresh_token = {p3}, updated_at = {p4}
WHERE oauth_name = {p5} AND account_id = {p6} AND refresh_token = {p7}"#
        );
        // The refresh lease: `updated_at` moved into the future, as a compare-and-set on the row
        // as read (its refresh token, sealed with a random nonce, and `updated_at`), so one
        // process at a time refreshes an account.
        let claim = format!(
            r#"UPDATE "{table}" SET updated_at = {p1} WHERE oauth_name = {p2} AND account_id = {p3} AND updated_at = {p4} AND refresh_token = {p5}"#
        );
        let release = format!(
            r#"UPDATE "{table}" SET updated_at = {p1} WHERE oauth_name = {p2} AND account_id = {p3} AND updated_at = {p4}"#
        );
        Self {
            inner: Arc::new(Inner {
                pool,
                table,
                users_table: users.table().to_owned(),
                timeout: users.timeout(),
                by_account,
                by_user,
                upsert,
                refreshed,
                claim,
                release,
            }),
        }
    }

    /// Creates or updates the table.
    pub(crate) async fn migrate(&self) -> Result<(), DatabaseError> {
        // The users table's name goes into the templates here; it passed the same check as
        // `{table}` when its store was built.
        let users = &self.inner.users_table;
        let migrations: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|(version, sqlite, postgres)| Migration {
                version: *version,
                sqlite: sqlite.replace("{users}", users).into(),
                postgres: postgres.replace("{users}", users).into(),
            })
            .collect();
        db::migrate(&self.inner.pool, "oauth", &self.inner.table, &migrations, self.inner.timeout).await
    }

    /// The user a provider account is linked to.
    pub(crate) async fn user_of(&self, oauth_name: &str, account_id: &str) -> Result<Option<Uuid>, AuthError> {
        let sql = &self.inner.by_account;
        let row: Option<(String,)> = on_pool!(&self.inner.pool, |pool| {
            let query =
                sqlx::query_as(AssertSqlSafe(sql.clone())).bind(oauth_name.to_owned()).bind(account_id.to_owned());
            self.run("get_by_account", query.fetch_optional(pool)).await?
        });
        row.map(|(id,)| {
            Uuid::parse_str(&id).map_err(|_| {
                tracing::error!("a user id in the oauth accounts table is not a UUID");
                AuthError::Internal
            })
        })
        .transpose()
    }

    /// The tokens of the most recently used account of provider `oauth_name` linked to `user`.
    pub(crate) async fn tokens(&self, user: Uuid, oauth_name: &str) -> Result<Option<StoredTokens>, AuthError> {
        let sql = &self.inner.by_user;
        let row: Option<TokensRow> = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query_as(AssertSqlSafe(sql.clone())).bind(user.to_string()).bind(oauth_name.to_owned());
            self.run("get_by_user", query.fetch_optional(pool)).await?
        });
        Ok(row.map(|(account_id, access_token, expires_at, refresh_token, updated_at)| StoredTokens {
            account_id,
            access_token,
            expires_at,
            refresh_token,
            updated_at,
        }))
    }

    /// Stores the tokens of a refresh that started from `read`, unless the account's refresh
    /// token changed since (`false`: nothing written). Without a rotated refresh token the old
    /// one stays.
    pub(crate) async fn refreshed(
        &self,
        oauth_name: &str,
        read: &StoredTokens,
        tokens: &Refreshed,
        keys: &Keys,
    ) -> Result<bool, AuthError> {
        let Some(old_refresh_token) = read.refresh_token.clone() else { return Ok(false) };
        let binding = |column: &str| binding(oauth_name, &read.account_id, column);
        let access_token = keys.seal(&tokens.access_token, &binding("access_token"))?;
        let refresh_token = match &tokens.refresh_token {
            Some(token) => keys.seal(token, &binding("refresh_token"))?,
            None => old_refresh_token.clone(),
        };
        let sql = &self.inner.refreshed;
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(access_token)
                .bind(tokens.expires_at)
                .bind(refresh_token)
                .bind(unix_now())
                .bind(oauth_name.to_owned())
                .bind(read.account_id.clone())
                .bind(old_refresh_token);
            self.run("refresh", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Takes the refresh lease of the account `read` until `until` (seconds since the epoch),
    /// if the row is still as read; `false`: another refresh or a login came first.
    pub(crate) async fn claim(&self, oauth_name: &str, read: &StoredTokens, until: i64) -> Result<bool, AuthError> {
        let Some(refresh_token) = read.refresh_token.clone() else { return Ok(false) };
        let sql = &self.inner.claim;
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(until)
                .bind(oauth_name.to_owned())
                .bind(read.account_id.clone())
                .bind(read.updated_at)
                .bind(refresh_token);
            self.run("claim_refresh", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Gives back a lease taken until `until` whose refresh failed.
    pub(crate) async fn release(&self, oauth_name: &str, account_id: &str, until: i64) -> Result<(), AuthError> {
        let sql = &self.inner.release;
        on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(unix_now())
                .bind(oauth_name.to_owned())
                .bind(account_id.to_owned())
                .bind(until);
            self.run("release_refresh", query.execute(pool)).await?;
        });
        Ok(())
    }

    /// Links `account` to `user`, or refreshes its tokens if it is linked to `user` already.
    /// `false`: the account is linked to another user, and nothing was written.
    pub(crate) async fn link(&self, user: Uuid, account: &Account<'_>, keys: &Keys) -> Result<bool, AuthError> {
        let binding = |column: &str| binding(account.oauth_name, account.account_id, column);
        let access_token = keys.seal(account.access_token, &binding("access_token"))?;
        let refresh_token =
            account.refresh_token.map(|token| keys.seal(token, &binding("refresh_token"))).transpose()?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|_| AuthError::Internal)?;
        let id = uuid::Builder::from_random_bytes(id).into_uuid();
        let now = unix_now();
        let sql = &self.inner.upsert;
        let done = on_pool!(&self.inner.pool, |pool| {
            let query = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(id.to_string())
                .bind(user.to_string())
                .bind(account.oauth_name.to_owned())
                .bind(account.account_id.to_owned())
                .bind(account.account_email.to_owned())
                .bind(access_token)
                .bind(account.expires_at)
                .bind(refresh_token)
                .bind(now)
                .bind(now);
            self.run("link", query.execute(pool)).await?.rows_affected()
        });
        Ok(done == 1)
    }

    async fn run<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, AuthError> {
        match db::timed(STORE, operation, self.inner.timeout, future).await? {
            Ok(value) => Ok(value),
            Err(error) => Err(db::error(STORE, self.inner.pool.backend(), operation, &error)),
        }
    }
}
