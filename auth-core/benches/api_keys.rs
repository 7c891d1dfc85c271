//! What verifying an API key costs per request, against the look-up an app would write by hand,
//! and what refusing a mistyped key costs (issue 22; SPEC: "API keys: verification per request
//! at most 1.1x a hand-written hash + indexed select; a checksum refusal at least 10x cheaper
//! than a look-up").
//!
//! One criterion group, in one run, alternating: `ApiKeys::read_token` of a valid key (the
//! checksum, the HMAC-SHA256, the indexed `SELECT`, the constant-time comparison, the expiry
//! and revocation checks), then the hand-written look-up (the same HMAC-SHA256 and an indexed
//! `SELECT` of the same row, on the same pool, nothing else), twice over; then a key whose
//! checksum is wrong. Both look-ups cycle through 1 000 keys in a SQLite file (the default
//! store), on a current-thread runtime.
//!
//! `cargo bench -p auth-core --bench api_keys`

use std::time::Duration;

use auth_core::{
    Scopes,
    strategies::{ApiKeys, Strategy, database::sqlx},
};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The bench's scopes.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the reports.
    #[scope("reports")]
    Reports,
}

const SECRET: [u8; 32] = [7; 32];
const KEYS: usize = 1_000;

/// The look-up an app writes by hand: the keyed hash, one indexed `SELECT`.
async fn hand_written(pool: &sqlx::SqlitePool, mac: &Hmac<Sha256>, key: &str) -> Option<(String, String)> {
    let digest = mac.clone().chain_update(key.as_bytes()).finalize().into_bytes();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash = String::with_capacity(64);
    for byte in digest.iter() {
        hash.push(char::from(HEX[usize::from(byte >> 4)]));
        hash.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    sqlx::query_as("SELECT owner, scopes FROM api_keys WHERE key_hash = ?1")
        .bind(hash)
        .fetch_optional(pool)
        .await
        .expect("select")
}

fn api_keys(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("keys.sqlite").display());
    let (keys, pool, minted) = runtime.block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(
                <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
                    .expect("url")
                    .create_if_missing(true),
            )
            .await
            .expect("pool");
        let keys = ApiKeys::connect(pool.clone(), SECRET).await.expect("keys").with_prefix("ak_bench").expect("prefix");
        keys.migrate().await.expect("migrate");
        let mut minted = Vec::with_capacity(KEYS);
        for i in 0..KEYS {
            let (key, _) =
                keys.mint(&format!("owner-{i}"), &["reports"], "bench", &[Scope::Reports], None).await.expect("mint");
            minted.push(key);
        }
        // Every key used once: `last_used_at` is written now, not while measuring.
        for key in &minted {
            keys.read_token(key).await.expect("valid");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        (keys, pool, minted)
    });
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&SECRET).expect("hmac");
    let mistyped = {
        let mut key = minted[0].clone().into_bytes();
        key[12] = if key[12] == b'a' { b'b' } else { b'a' };
        String::from_utf8(key).expect("ascii")
    };
    assert!(runtime.block_on(keys.read_token(&mistyped)).is_err());
    assert!(runtime.block_on(hand_written(&pool, &mac, &minted[1])).is_some());

    let mut group = c.benchmark_group("api_keys");
    group.sample_size(50).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(6));
    for round in 1..=2 {
        let mut next = 0usize;
        group.bench_function(format!("read_token/{round}"), |b| {
            b.iter(|| {
                next = (next + 1) % KEYS;
                runtime.block_on(keys.read_token(&minted[next])).expect("valid")
            });
        });
        let mut next = 0usize;
        group.bench_function(format!("hand_written/{round}"), |b| {
            b.iter(|| {
                next = (next + 1) % KEYS;
                runtime.block_on(hand_written(&pool, &mac, &minted[next])).expect("found")
            });
        });
    }
    group.bench_function("checksum_refusal", |b| {
        b.iter(|| runtime.block_on(keys.read_token(&mistyped)).is_err());
    });
    group.finish();
}

criterion_group!(benches, api_keys);
criterion_main!(benches);
