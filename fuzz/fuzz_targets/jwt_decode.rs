//! Token verification over arbitrary strings, with every JWT verifier shape auth-core offers:
//! HS256 (plain, and with issuer, audience, leeway and `typ` rules), RS256, ES256 (accepting
//! both ECDSA spellings, and low-S only) and EdDSA verify-only keys, a two-key `kid` set, and
//! the refresh-token issuer.
//!
//! Oracles besides "never panics": an accepted token is in canonical base64url (no padding, no
//! non-zero trailing bits), three segments, not expired, and its claims serialize; a token the
//! low-S ES256 verifier accepts has `s ≤ n/2`.
#![no_main]

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth_core::strategies::{
    jwt::{Claims, JwtKey, JwtKeySet, JwtStrategy},
    refresh::{MemoryFamilyStore, TokenPairIssuer},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";
const RSA_PUBLIC: &[u8] = include_bytes!("../../auth-core/tests/keys/rsa_public.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../../auth-core/tests/keys/ec_public.pem");
const ED25519_PUBLIC: &[u8] = include_bytes!("../../auth-core/tests/keys/ed25519_public.pem");

/// Every subject is an active user with every scope: the target is about the tokens.
struct Active;

impl auth_core::strategies::ReloadUser for Active {
    async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, auth_core::AuthError> {
        Ok(Some(vec!["me".to_owned(), "items".to_owned()]))
    }
}

struct Verifiers {
    strategies: Vec<(&'static str, JwtStrategy, u64)>,
    refresh: TokenPairIssuer<MemoryFamilyStore>,
    runtime: tokio::runtime::Runtime,
}

static VERIFIERS: LazyLock<Verifiers> = LazyLock::new(|| {
    let keys = JwtKeySet::new()
        .verification_key(JwtKey::hs256([1u8; 32]).unwrap().with_kid("a"))
        .signing_key(JwtKey::hs256(SECRET).unwrap().with_kid("b"));
    let strategies = vec![
        ("hs256", JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap(), 0),
        (
            "hs256-rules",
            JwtStrategy::builder(JwtKey::hs256(SECRET))
                .issuer("https://issuer.example")
                .audience("api")
                .leeway(Duration::from_secs(60))
                .token_type("at+jwt")
                .build()
                .unwrap(),
            60,
        ),
        ("rs256", JwtStrategy::builder(JwtKey::rs256_public_pem(RSA_PUBLIC)).build().unwrap(), 0),
        ("es256", JwtStrategy::builder(JwtKey::es256_public_pem(EC_PUBLIC)).build().unwrap(), 0),
        (
            "es256-low-s",
            JwtStrategy::builder(JwtKeySet::single(JwtKey::es256_public_pem(EC_PUBLIC).unwrap().require_low_s()))
                .build()
                .unwrap(),
            0,
        ),
        ("eddsa", JwtStrategy::builder(JwtKey::eddsa_public_pem(ED25519_PUBLIC)).build().unwrap(), 0),
        ("kid-set", JwtStrategy::builder(keys).build().unwrap(), 0),
    ];
    let access = JwtStrategy::builder(JwtKey::hs256(SECRET)).build().unwrap();
    let refresh = JwtStrategy::builder(JwtKey::hs256(REFRESH_SECRET))
        .lifetime(Duration::from_secs(7 * 24 * 3600))
        .build()
        .unwrap();
    let refresh = TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(access, refresh).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    Verifiers { strategies, refresh, runtime }
});

fn check_accepted(name: &str, token: &str, claims: &Claims, leeway: u64) {
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "{name}: accepted a token of {} segments", segments.len());
    for segment in &segments {
        let bytes = URL_SAFE_NO_PAD.decode(segment).unwrap_or_else(|_| panic!("{name}: accepted non-base64url"));
        assert_eq!(&URL_SAFE_NO_PAD.encode(bytes), segment, "{name}: accepted a non-canonical encoding");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(claims.exp.saturating_add(leeway) >= now, "{name}: accepted an expired token");
    serde_json::to_string(claims).unwrap();
}

/// floor(n / 2) for P-256, big-endian.
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d,
    0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// An ES256 signature accepted by the low-S verifier has `s ≤ floor(n / 2)`.
fn check_low_s(token: &str) {
    let signature = URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(signature.len(), 64, "es256-low-s: accepted a signature of {} bytes", signature.len());
    assert!(signature[32..] <= P256_HALF_N[..], "es256-low-s: accepted a high-S signature");
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let verifiers = &*VERIFIERS;
    for (name, strategy, leeway) in &verifiers.strategies {
        if let Ok(claims) = strategy.verify(token) {
            check_accepted(name, token, &claims, *leeway);
            if *name == "es256-low-s" {
                check_low_s(token);
            }
        }
    }
    // The refresh endpoint's path: verify, then look the family up (always unknown here).
    let refreshed = verifiers.runtime.block_on(verifiers.refresh.refresh(token, &Active));
    assert!(refreshed.is_err(), "refreshed a token of a family that was never issued");
});
