//! Opaque bearer tokens for the stateful strategies: 256 random bits, base64url, kept by the
//! store only as a SHA-256 hash.
//!
//! A token is 32 bytes from the operating system's generator ([`getrandom`]), encoded as
//! unpadded base64url: 43 characters. The store keys it by the lowercase hex SHA-256 of those 43
//! characters, so a leaked table or keyspace does not hand out working tokens, and anyone holding
//! a token can find its row with `printf %s "$TOKEN" | sha256sum`. The token carries 256 bits of
//! entropy, so an unsalted fast hash is enough: there is nothing to brute-force.

// Without a store feature only `hash` (for the JWT denylist) is used.
#![cfg_attr(not(any(feature = "database-sqlite", feature = "database-postgres", feature = "redis")), allow(dead_code))]

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// The length of an encoded token: 32 bytes in unpadded base64url.
const TOKEN_LEN: usize = 43;

/// A fresh token.
pub(crate) fn generate() -> Result<String, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!(error = %e, "random number generator failed");
        AuthError::Internal
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The store key of a well-formed `token`: its SHA-256 in lowercase hex; `InvalidToken` for
/// anything that is not the base64url encoding of 32 bytes, before any store is asked.
pub(crate) fn parse_and_hash(token: &str) -> Result<String, AuthError> {
    // A length check first: oversize input (a pasted JWT, a 1 MB header) is never scanned.
    if token.len() != TOKEN_LEN {
        return Err(AuthError::InvalidToken);
    }
    // Canonical only: the decoder refuses padding, foreign characters and non-zero trailing
    // bits, so each 32-byte value has exactly one accepted spelling.
    let mut bytes = [0u8; TOKEN_BYTES + 3];
    match URL_SAFE_NO_PAD.decode_slice(token, &mut bytes) {
        Ok(TOKEN_BYTES) => Ok(hash(token)),
        _ => Err(AuthError::InvalidToken),
    }
}

/// The lowercase hex SHA-256 of `value`.
pub(crate) fn hash(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Refuses scopes that could not round-trip through a space-separated list (RFC 6749 §3.3:
/// a scope token is non-empty printable ASCII without spaces, `"` or `\`). Issuing such a scope
/// is the application's bug, so it is an internal error.
pub(crate) fn check_scopes(scopes: &[String]) -> Result<(), AuthError> {
    let valid =
        |scope: &String| !scope.is_empty() && scope.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e));
    if scopes.iter().all(valid) {
        Ok(())
    } else {
        tracing::error!("refusing to issue a token with a scope that is not an RFC 6749 scope-token");
        Err(AuthError::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse() {
        let token = generate().unwrap();
        assert_eq!(token.len(), TOKEN_LEN);
        let hashed = parse_and_hash(&token).unwrap();
        assert_eq!(hashed.len(), 64);
        assert_ne!(hashed, token);
        assert_ne!(generate().unwrap(), token);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn garbage_is_refused() {
        let token = generate().unwrap();
        for bad in [
            String::new(),
            "x".repeat(513),
            format!("{token}="),
            format!("{token}A"),
            token[..42].to_owned(),
            token.replace(|c: char| c.is_ascii_alphanumeric(), "+").chars().take(43).collect(),
            format!("{}!", &token[..42]),
            // Non-zero trailing bits: the last character of 32 bytes encodes 2 spare bits.
            format!("{}B", &"A".repeat(42)),
        ] {
            assert!(matches!(parse_and_hash(&bad), Err(AuthError::InvalidToken)), "accepted {bad:?}");
        }
        assert!(parse_and_hash(&format!("{}A", "A".repeat(42))).is_ok());
    }

    #[test]
    fn scopes_must_be_scope_tokens() {
        assert!(check_scopes(&["me".into(), "items:read".into()]).is_ok());
        assert!(check_scopes(&[]).is_ok());
        for bad in ["", "a b", "a\"", "a\\b", "é", "a\n"] {
            assert!(check_scopes(&[bad.to_owned()]).is_err(), "accepted {bad:?}");
        }
    }
}
