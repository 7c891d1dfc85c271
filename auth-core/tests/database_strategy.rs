//! The database strategy against real databases: SQLite in a temporary file (feature
//! `database-sqlite`), PostgreSQL when `DATABASE_URL_POSTGRES` is set (feature
//! `database-postgres`; `scripts/services.sh` starts one), and unreachable or unresponsive
//! PostgreSQL servers, which need no server at all.
//!
//! Each test uses its own table, so they run in parallel, also against one shared PostgreSQL.
//! Under `REQUIRE_SERVICES=1` (CI) a missing `DATABASE_URL_POSTGRES` fails (`services/mod.rs`).
#![cfg(any(feature = "database-sqlite", feature = "database-postgres"))]

#[cfg(feature = "database-postgres")]
mod services;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_core::{
    error::AuthError,
    strategies::{
        Strategy, TokenInfo,
        database::{DatabaseError, DatabaseStrategy},
    },
};
use sha2::{Digest, Sha256};

/// A table name no other test (or earlier run) uses.
fn unique_table(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("t_{test}_{}_{nanos}", std::process::id())
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Strings that are not tokens of ours; each must be refused before any query.
fn garbage() -> Vec<String> {
    vec![
        String::new(),
        "not-a-token".to_owned(),
        "x".repeat(513),
        "x".repeat(64 * 1024),
        "A".repeat(43) + "=",
        format!("{}B", "A".repeat(42)), // non-canonical trailing bits
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2huZG9lIn0.c2lnbmF0dXJl".to_owned(),
        "A".repeat(42) + "\u{e9}",
        "' OR 1=1 --".to_owned(),
    ]
}

/// The full lifecycle every backend must pass.
async fn lifecycle(tokens: &DatabaseStrategy) {
    let token = tokens.write_token("johndoe", &scopes(&["me", "items"])).await.unwrap();
    assert_eq!(token.len(), 43, "256 bits in unpadded base64url");
    assert_eq!(
        TokenInfo { issued_at: None, expires_at: None, ..tokens.read_token(&token).await.unwrap() },
        TokenInfo { subject: "johndoe".into(), scopes: scopes(&["me", "items"]), issued_at: None, expires_at: None }
    );
    // A connection the token opens (a WebSocket) ends at its stored expiry, and is re-checked.
    const { assert!(<DatabaseStrategy as Strategy>::REVOCABLE) };
    let info = tokens.read_token(&token).await.unwrap();
    let expires_at = info.expires_at;
    assert_eq!(info.subject, "johndoe");
    let left = expires_at.unwrap().duration_since(std::time::SystemTime::now()).unwrap();
    assert!(left <= tokens.lifetime() && left + std::time::Duration::from_secs(2) >= tokens.lifetime(), "{left:?}");
    let other = tokens.write_token("alice", &[]).await.unwrap();
    assert_ne!(other, token);
    assert_eq!(
        TokenInfo { issued_at: None, expires_at: None, ..tokens.read_token(&other).await.unwrap() },
        TokenInfo { subject: "alice".into(), scopes: vec![], issued_at: None, expires_at: None }
    );

    tokens.destroy_token(&token).await.unwrap();
    assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
    // Logging out twice, or with garbage, is not an error.
    tokens.destroy_token(&token).await.unwrap();
    tokens.destroy_token("garbage").await.unwrap();
    // The other session is untouched.
    assert_eq!(tokens.read_token(&other).await.unwrap().subject, "alice");

    for bad in garbage() {
        assert!(matches!(tokens.read_token(&bad).await, Err(AuthError::InvalidToken)), "accepted {bad:?}");
    }

    // A password change ends every token of the user, and only theirs; each token says when
    // it was issued.
    use auth_core::strategies::RevokeSubject;
    let before = std::time::SystemTime::now() - Duration::from_secs(1);
    let johns = [tokens.write_token("johndoe", &[]).await.unwrap(), tokens.write_token("johndoe", &[]).await.unwrap()];
    let issued_at = tokens.read_token(&johns[0]).await.unwrap().issued_at;
    assert!(issued_at.is_some_and(|at| at >= before && at <= std::time::SystemTime::now()), "{issued_at:?}");
    tokens.revoke_subject("johndoe").await.unwrap();
    for token in &johns {
        assert!(matches!(tokens.read_token(token).await, Err(AuthError::InvalidToken)));
    }
    assert_eq!(tokens.read_token(&other).await.unwrap().subject, "alice");
    tokens.revoke_subject("nobody").await.unwrap();
}

#[tokio::test]
async fn builder_validates_settings() {
    // Validation needs a pool value but no connection: a lazy pool never connects.
    #[cfg(feature = "database-sqlite")]
    let builder = || DatabaseStrategy::builder(sqlx::SqlitePool::connect_lazy("sqlite::memory:").unwrap());
    #[cfg(not(feature = "database-sqlite"))]
    let builder = || DatabaseStrategy::builder(sqlx::PgPool::connect_lazy("postgres://u:p@127.0.0.1:1/db").unwrap());
    for bad in ["", "Tokens", "1tokens", "tokens; DROP TABLE users", "a.b", "t\"x", &"a".repeat(49)] {
        let result = builder().table(bad).build().await;
        assert!(matches!(result, Err(DatabaseError::InvalidTableName(_))), "accepted {bad:?}");
    }
    assert!(matches!(builder().lifetime(Duration::ZERO).build().await, Err(DatabaseError::Config(_))));
    assert!(matches!(builder().lifetime(Duration::from_millis(999)).build().await, Err(DatabaseError::Config(_))));
    assert!(matches!(builder().timeout(Duration::ZERO).build().await, Err(DatabaseError::Config(_))));
    let tokens = builder().table("select").lifetime(Duration::from_secs(90)).build().await.unwrap();
    assert_eq!(tokens.table(), "select");
    assert_eq!(tokens.lifetime(), Duration::from_secs(90));
    assert_eq!(tokens.timeout(), Duration::from_secs(2));
    let defaults = builder().build().await.unwrap();
    assert_eq!((defaults.table(), defaults.lifetime()), ("auth_tokens", Duration::from_secs(3600)));
    assert_eq!(<DatabaseStrategy as Strategy>::KIND, "database");
}

#[test]
fn a_builder_shows_no_more_of_its_url_than_the_scheme() {
    let shown = format!("{:?}", DatabaseStrategy::builder("postgres://root:hunter2@db.example/app"));
    assert!(shown.contains("postgres") && !shown.contains("hunter2") && !shown.contains("db.example"), "{shown}");
}

#[tokio::test]
async fn connect_refuses_unknown_schemes_without_echoing_the_url() {
    let error = DatabaseStrategy::builder("mysql://root:hunter2@localhost/db").build().await.unwrap_err();
    assert!(matches!(&error, DatabaseError::UnsupportedUrl(scheme) if scheme == "mysql"));
    assert!(!error.to_string().contains("hunter2"));
}

#[cfg(feature = "database-sqlite")]
mod sqlite {
    use std::{path::Path, str::FromStr};

    use sqlx::{
        SqlitePool,
        sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    };

    use super::*;

    async fn strategy(dir: &Path, table: &str) -> DatabaseStrategy {
        let url = format!("sqlite://{}", dir.join("auth.db").display());
        let tokens = DatabaseStrategy::builder(&url).table(table).build().await.unwrap();
        tokens.migrate().await.unwrap();
        tokens
    }

    async fn raw_pool(dir: &Path) -> SqlitePool {
        SqlitePool::connect(&format!("sqlite://{}", dir.join("auth.db").display())).await.unwrap()
    }

    #[tokio::test]
    async fn write_read_destroy() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = strategy(dir.path(), &unique_table("cycle")).await;
        tokens.migrate().await.unwrap(); // idempotent
        lifecycle(&tokens).await;
    }

    #[tokio::test]
    async fn expired_tokens_are_refused_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let table = unique_table("expiry");
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let tokens = DatabaseStrategy::builder(&url)
            .table(&table)
            // Expiry is kept in whole seconds: with one second, a write late in a second would be
            // expired by a read just after it.
            .lifetime(Duration::from_secs(2))
            .build()
            .await
            .unwrap();
        tokens.migrate().await.unwrap();
        let token = tokens.write_token("johndoe", &scopes(&["me"])).await.unwrap();
        assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
        let pool = raw_pool(dir.path()).await;
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{table}\"")))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "an expired token is deleted when presented");
    }

    #[tokio::test]
    async fn purge_drops_only_expired_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let table = unique_table("purge");
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let builder = || DatabaseStrategy::builder(&url).table(&table);
        let short = builder().lifetime(Duration::from_secs(1)).build().await.unwrap();
        let long = builder().build().await.unwrap();
        short.migrate().await.unwrap();
        short.write_token("a", &[]).await.unwrap();
        short.write_token("b", &[]).await.unwrap();
        let kept = long.write_token("c", &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(long.purge_expired().await.unwrap(), 2);
        assert_eq!(long.purge_expired().await.unwrap(), 0);
        assert_eq!(long.read_token(&kept).await.unwrap().subject, "c");
    }

    #[tokio::test]
    async fn tokens_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let table = unique_table("hashed");
        let tokens = strategy(dir.path(), &table).await;
        let token = tokens.write_token("johndoe", &scopes(&["me", "items"])).await.unwrap();

        let pool = raw_pool(dir.path()).await;
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT token_hash, subject, scopes, created_at, expires_at FROM \"{table}\""
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 1);
        let (hash, subject, scope_list, created_at, expires_at) = &rows[0];
        assert_eq!(hash, &sha256_hex(&token));
        assert_eq!((subject.as_str(), scope_list.as_str()), ("johndoe", "me items"));
        assert_eq!(expires_at - created_at, 3600, "default lifetime: one hour");
        pool.close().await;
        tokens.destroy_token("unrelated").await.unwrap();

        // Not in any column, and not anywhere on disk (database, WAL, journal).
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "raw token on disk");
        }
    }

    #[tokio::test]
    async fn garbage_is_refused_before_any_query() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = strategy(dir.path(), &unique_table("garbage")).await;
        let token = tokens.write_token("johndoe", &[]).await.unwrap();
        // With the pool closed, any query would fail with Unavailable: InvalidToken proves
        // that none was made.
        let pool = SqlitePool::connect_lazy("sqlite::memory:").unwrap();
        pool.close().await;
        let closed = DatabaseStrategy::builder(pool).table(tokens.table()).build().await.unwrap();
        for bad in garbage() {
            assert!(matches!(closed.read_token(&bad).await, Err(AuthError::InvalidToken)), "{bad:?}");
            closed.destroy_token(&bad).await.unwrap();
        }
        assert!(matches!(closed.read_token(&token).await, Err(AuthError::Unavailable)));
    }

    #[tokio::test]
    async fn a_closed_pool_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_with(SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true))
            .await
            .unwrap();
        let tokens = DatabaseStrategy::builder(pool.clone()).table(unique_table("closed")).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let token = tokens.write_token("johndoe", &[]).await.unwrap();
        pool.close().await;
        assert!(matches!(tokens.read_token(&token).await, Err(AuthError::Unavailable)));
        assert!(matches!(tokens.write_token("johndoe", &[]).await, Err(AuthError::Unavailable)));
        assert!(matches!(tokens.destroy_token(&token).await, Err(AuthError::Unavailable)));
        assert!(matches!(tokens.purge_expired().await, Err(AuthError::Unavailable)));
    }

    #[tokio::test]
    async fn a_locked_database_times_out_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let table = unique_table("locked");
        // SQLite would wait 60 s for the lock; the strategy gives up after 300 ms.
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone().busy_timeout(Duration::from_secs(60)))
            .await
            .unwrap();
        let timeout = Duration::from_millis(300);
        let tokens = DatabaseStrategy::builder(pool).table(&table).timeout(timeout).build().await.unwrap();
        tokens.migrate().await.unwrap();

        let mut locker = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.unwrap();
        let _: sqlx::sqlite::SqliteQueryResult = sqlx::Executor::execute(&mut locker, "BEGIN EXCLUSIVE").await.unwrap();

        let started = Instant::now();
        assert!(matches!(tokens.write_token("johndoe", &[]).await, Err(AuthError::Unavailable)));
        let elapsed = started.elapsed();
        assert!(elapsed >= timeout && elapsed < timeout * 4, "took {elapsed:?}");

        let _: sqlx::sqlite::SqliteQueryResult = sqlx::Executor::execute(&mut locker, "ROLLBACK").await.unwrap();
        // Once the lock is gone the store works again.
        let token = tokens.write_token("johndoe", &[]).await.unwrap();
        assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");
    }

    #[tokio::test]
    async fn a_missing_table_is_an_internal_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.db").display());
        let tokens = DatabaseStrategy::builder(&url).table(unique_table("nomigrate")).build().await.unwrap();
        let valid_shape = "A".repeat(43);
        assert!(matches!(tokens.read_token(&valid_shape).await, Err(AuthError::Internal)));
        assert!(matches!(tokens.write_token("johndoe", &[]).await, Err(AuthError::Internal)));
    }

    #[tokio::test]
    async fn scopes_that_cannot_round_trip_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = strategy(dir.path(), &unique_table("scopes")).await;
        assert!(matches!(tokens.write_token("johndoe", &scopes(&["me items"])).await, Err(AuthError::Internal)));
        assert!(matches!(tokens.write_token("johndoe", &scopes(&[""])).await, Err(AuthError::Internal)));
    }

    #[tokio::test]
    async fn tables_are_independent() {
        let dir = tempfile::tempdir().unwrap();
        let first = strategy(dir.path(), &unique_table("first")).await;
        let second = strategy(dir.path(), &unique_table("second")).await;
        let token = first.write_token("johndoe", &[]).await.unwrap();
        assert!(matches!(second.read_token(&token).await, Err(AuthError::InvalidToken)));
        assert_eq!(first.read_token(&token).await.unwrap().subject, "johndoe");
    }
}

#[cfg(feature = "database-postgres")]
mod postgres {
    use sqlx::postgres::PgPoolOptions;

    use super::*;

    /// The test database, or `None` (with a notice) when `DATABASE_URL_POSTGRES` is unset; a
    /// failure under `REQUIRE_SERVICES`.
    fn database_url(test: &str) -> Option<String> {
        super::services::service_url("DATABASE_URL_POSTGRES", &format!("postgres::{test}"))
    }

    async fn drop_table(tokens: &DatabaseStrategy, url: &str) {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS \"{}\"", tokens.table())))
            .execute(&pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn unreachable_server_is_unavailable() {
        // Port 1 on loopback: connection refused, at once.
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_lazy("postgres://user:secret@127.0.0.1:1/db")
            .unwrap();
        let tokens = DatabaseStrategy::builder(pool).timeout(Duration::from_secs(2)).build().await.unwrap();
        let started = Instant::now();
        assert!(matches!(tokens.read_token(&"A".repeat(43)).await, Err(AuthError::Unavailable)));
        assert!(matches!(tokens.write_token("johndoe", &[]).await, Err(AuthError::Unavailable)));
        assert!(matches!(tokens.destroy_token(&"A".repeat(43)).await, Err(AuthError::Unavailable)));
        assert!(started.elapsed() < Duration::from_secs(7), "took {:?}", started.elapsed());
        assert!(matches!(tokens.migrate().await, Err(DatabaseError::Sqlx(_) | DatabaseError::Timeout(_))));
    }

    #[tokio::test]
    async fn a_silent_server_times_out_instead_of_hanging() {
        // Accepts connections and never says a word.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(60))
            .connect_lazy(&format!("postgres://user:secret@127.0.0.1:{port}/db"))
            .unwrap();
        let timeout = Duration::from_millis(300);
        let tokens = DatabaseStrategy::builder(pool).timeout(timeout).build().await.unwrap();
        for _ in 0..2 {
            let started = Instant::now();
            assert!(matches!(tokens.read_token(&"A".repeat(43)).await, Err(AuthError::Unavailable)));
            let elapsed = started.elapsed();
            assert!(elapsed >= timeout && elapsed < timeout * 4, "took {elapsed:?}");
        }
        hold.abort();
    }

    #[tokio::test]
    async fn write_read_destroy() {
        let Some(url) = database_url("write_read_destroy") else { return };
        let tokens = DatabaseStrategy::builder(&url).table(unique_table("cycle")).build().await.unwrap();
        // Concurrent migrations of one table do not race (advisory lock), and repeat cleanly.
        let (a, b) = tokio::join!(tokens.migrate(), tokens.migrate());
        a.unwrap();
        b.unwrap();
        tokens.migrate().await.unwrap();
        lifecycle(&tokens).await;
        drop_table(&tokens, &url).await;
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let Some(url) = database_url("expired_tokens_are_refused") else { return };
        let tokens = DatabaseStrategy::builder(&url)
            .table(unique_table("expiry"))
            // Expiry is kept in whole seconds: with one second, a write late in a second would be
            // expired by a read just after it.
            .lifetime(Duration::from_secs(2))
            .build()
            .await
            .unwrap();
        tokens.migrate().await.unwrap();
        let token = tokens.write_token("johndoe", &[]).await.unwrap();
        let survivor = tokens.write_token("alice", &[]).await.unwrap();
        assert_eq!(tokens.read_token(&token).await.unwrap().subject, "johndoe");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(matches!(tokens.read_token(&token).await, Err(AuthError::InvalidToken)));
        // `token` was deleted on read; `survivor` is left for the purge.
        assert_eq!(tokens.purge_expired().await.unwrap(), 1);
        assert!(matches!(tokens.read_token(&survivor).await, Err(AuthError::InvalidToken)));
        drop_table(&tokens, &url).await;
    }

    #[tokio::test]
    async fn tokens_are_stored_hashed() {
        let Some(url) = database_url("tokens_are_stored_hashed") else { return };
        let tokens = DatabaseStrategy::builder(&url).table(unique_table("hashed")).build().await.unwrap();
        tokens.migrate().await.unwrap();
        let token = tokens.write_token("johndoe", &scopes(&["me"])).await.unwrap();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT token_hash, subject, scopes, created_at, expires_at FROM \"{}\"",
            tokens.table()
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 1);
        let (hash, subject, scope_list, created_at, expires_at) = &rows[0];
        assert_eq!(hash, &sha256_hex(&token));
        for column in [hash, subject, scope_list] {
            assert!(!column.contains(&token));
        }
        assert_eq!((subject.as_str(), scope_list.as_str()), ("johndoe", "me"));
        assert_eq!(expires_at - created_at, 3600);
        drop_table(&tokens, &url).await;
    }
}
