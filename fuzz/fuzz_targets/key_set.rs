//! `parse_key_set` over arbitrary JWK set documents, as a provider's `jwks_uri` could serve them:
//! never panics, and whatever it accepts is a key set the JWT strategy takes as it is (not empty,
//! at most `MAX_KEYS`, every key named by `kid` when there are several, no two alike).
#![no_main]

use auth_core::{
    __private::{MAX_KEYS, parse_key_set},
    strategies::jwt::JwtStrategy,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse_key_set(data) else { return };
    let keys = parsed.keys();
    assert!(!keys.is_empty() && keys.len() <= MAX_KEYS);
    assert!(parsed.skipped().iter().all(|skipped| !skipped.reason.is_empty()));
    if let Err(error) = JwtStrategy::builder(keys.clone()).audience("fuzz").build() {
        panic!("an accepted key set does not build a strategy: {error}");
    }
});
