//! JWK sets (RFC 7517 §5) as identity providers publish them at their `jwks_uri`, read into a
//! verify-only [`JwtKeySet`].
//!
//! The document comes from the network, so it is read defensively, key by key. A key that cannot
//! be used is skipped with its reason (and the set still loads); the set is refused only when it
//! is not a JWK set at all, is absurdly large, or leaves no usable key. Skipped:
//! - symmetric (`oct`) keys: a secret published in a key set is no secret, and accepting one would
//!   let anyone sign tokens (HS256 with a public key is the classic forgery);
//! - keys that carry private material (`d`, `p`, `q`…), which a provider must never publish;
//! - encryption keys (`use: enc`, or `key_ops` without `verify`), unknown key types and curves,
//!   and algorithms this library does not verify (`RSA-OAEP`, `ES512`, `ML-DSA-*`…);
//! - keys whose `alg` contradicts their type (an EC key marked `RS256`), RSA keys under 2048 or
//!   over [`MAX_RSA_BITS`] bits;
//! - in a set of several keys, a key without `kid`, and a second key with a `kid` already seen.
//!
//! Each key's algorithm is pinned when it loads: its `alg`, or when absent the usual one for its
//! type and curve (RS256 for RSA, ES256/ES384 for P-256/P-384, EdDSA for Ed25519). A token's own
//! `alg` is never trusted; it must equal the key's.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::strategies::jwt::{Jwk, JwtKey, JwtKeySet};

/// The most keys a set may hold. Providers publish a handful; more is a sign of a broken or
/// hostile document, and each key costs a parse.
pub const MAX_KEYS: usize = 100;

/// The largest RSA modulus accepted, in bits: aws-lc verifies RSA up to 8192 bits, and larger
/// keys would make each verification a cost worth attacking.
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// Private-key members of RSA, EC and OKP JWKs (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// A key set read from a provider: the keys that can verify, and the ones skipped with why.
#[derive(Debug, Clone)]
pub struct ParsedKeySet {
    keys: JwtKeySet,
    skipped: Vec<SkippedKey>,
}

impl ParsedKeySet {
    /// The usable keys, verify-only, each pinned to one algorithm.
    pub fn keys(&self) -> &JwtKeySet {
        &self.keys
    }

    /// The keys left out, in document order.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    pub(crate) fn into_keys(self) -> JwtKeySet {
        self.keys
    }
}

/// A key of the document that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Its `kid`, if it had a string one (cut at 64 bytes).
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// Why a key set was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// Not JSON, not an object, or no `keys` array.
    #[error("not a JWK set (a JSON object with a `keys` array): {0}")]
    Malformed(String),
    /// More than [`MAX_KEYS`] keys.
    #[error("{0} keys, more than the {MAX_KEYS} accepted")]
    TooManyKeys(usize),
    /// Every key was skipped; the reasons are listed.
    #[error("no usable signature key{}", describe(.0))]
    NoUsableKey(Vec<SkippedKey>),
}

fn describe(skipped: &[SkippedKey]) -> String {
    if skipped.is_empty() {
        return " (the set is empty)".to_owned();
    }
    let reasons: Vec<String> = skipped
        .iter()
        .take(5)
        .map(|key| match &key.kid {
            Some(kid) => format!("`{kid}`: {}", key.reason),
            None => key.reason.clone(),
        })
        .collect();
    let more = if skipped.len() > 5 { format!("; and {} more", skipped.len() - 5) } else { String::new() };
    format!(" ({}{more})", reasons.join("; "))
}

/// Reads a JWK set document into the keys that can verify tokens; see the module docs for what
/// is skipped and what is refused. Never panics, whatever the input.
///
/// ```
/// use auth_core::__private::parse_key_set;
///
/// let set = parse_key_set(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}"#);
/// assert!(set.is_err()); // a symmetric key is never taken from a key set
/// ```
pub fn parse_key_set(json: &[u8]) -> Result<ParsedKeySet, KeySetError> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }

    let document: Document = serde_json::from_slice(json).map_err(|e| KeySetError::Malformed(e.to_string()))?;
    if document.keys.len() > MAX_KEYS {
        return Err(KeySetError::TooManyKeys(document.keys.len()));
    }
    let mut loaded = Vec::new();
    let mut skipped = Vec::new();
    for value in &document.keys {
        let kid = value.get("kid").and_then(Value::as_str).map(short_kid);
        match load_key(value) {
            Ok(key) => loaded.push(key),
            Err(reason) => skipped.push(SkippedKey { kid, reason }),
        }
    }

    // With several keys, a token names its key by `kid`: keys without one, and repeats, are
    // ambiguous. (One key alone may go without; it then verifies whatever `kid` a token names.)
    let mut set = JwtKeySet::new();
    if loaded.len() == 1 {
        set = set.verification_key(loaded.remove(0));
    } else {
        let mut seen = HashSet::new();
        for key in loaded {
            match key.kid() {
                None => skipped.push(SkippedKey { kid: None, reason: "no `kid`, in a set of several keys".into() }),
                Some(kid) if !seen.insert(kid.to_owned()) => skipped.push(SkippedKey {
                    kid: Some(short_kid(kid)),
                    reason: "a second key with this `kid`; the first one is kept".into(),
                }),
                Some(_) => set = set.verification_key(key),
            }
        }
    }
    if set.is_empty() {
        return Err(KeySetError::NoUsableKey(skipped));
    }
    Ok(ParsedKeySet { keys: set, skipped })
}

fn load_key(value: &Value) -> Result<JwtKey, String> {
    let Value::Object(jwk) = value else { return Err("not a JSON object".into()) };
    if !matches!(jwk.get("kid"), None | Some(Value::String(_))) {
        return Err("`kid` is not a string".into());
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(usage)) if usage == "sig" => {}
        Some(Value::String(_)) => return Err("not a signature key (`use`)".into()),
        Some(_) => return Err("`use` is not a string".into()),
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array().ok_or("`key_ops` is not an array")?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Err("`key_ops` does not allow `verify`".into());
        }
    }
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|member| jwk.contains_key(**member)) {
        return Err(format!("carries private key material (`{member}`); a key set must hold public keys only"));
    }
    match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => check_rsa_size(jwk)?,
        Some("EC" | "OKP") => {}
        Some("oct") => return Err("a symmetric (`oct`) key: published, it would let anyone sign tokens".into()),
        Some(other) => return Err(format!("unsupported key type `{}`", short_kid(other))),
        None => return Err("no `kty`".into()),
    }
    let parsed: Jwk = serde_json::from_value(value.clone()).map_err(|e| format!("not a usable JWK: {e}"))?;
    // from_jwk pins the algorithm (the JWK's `alg`, or its type's), refuses `alg` values that
    // contradict the key, RSA under 2048 bits, and non-signature algorithms.
    JwtKey::from_jwk(&parsed).map_err(|e| e.to_string())
}

/// RSA moduli over [`MAX_RSA_BITS`] are refused before any crypto sees them.
fn check_rsa_size(jwk: &Map<String, Value>) -> Result<(), String> {
    let n = jwk.get("n").and_then(Value::as_str).ok_or("RSA key without a string `n`")?;
    // base64url without padding: 4 characters per 3 bytes. Leading zero bytes are not allowed
    // by RFC 7518 §6.3.1.1, so the length is the size (a zero-padded modulus only looks larger).
    let bits = n.len() / 4 * 24 + [0, 0, 8, 16][n.len() % 4];
    if bits > MAX_RSA_BITS + 8 {
        return Err(format!("RSA modulus over {MAX_RSA_BITS} bits"));
    }
    Ok(())
}

fn short_kid(kid: &str) -> String {
    crate::logging::truncate(kid, 64).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "pGYG1z_sX6GW9xtG5JtKstYpCacpleNvIwSLG4l2JU26h84q8cQEcYRxS2YOB2VAXJ_ve1xhmW31tLYvBBhPvvS6-6xHkEMJxClyHcw9IV-MB5omrSsRAa_ihuJIxdcH4EWVN26ZekEVH2xRPmCyDVveJVkJSy5KEvjuaJ4IK75GAyglm0KvK-rIPrn0dPPbS-mKFSAldfbmurK0_mbRWP4o-az0GEnL8fheuVFTEPflyQOGMiS5k3HP-2XNPjUCjtoRm5-V-0xDqy4BWXhXYeVBb41X4r0qG7bcYZjRwOqxr5YssUC7TcZi-_E7yHcufqI-qzd6P6DgJ1QpINZguQ";

    fn rsa(kid: &str, extra: &str) -> String {
        format!(r#"{{"kty":"RSA","kid":"{kid}","e":"AQAB","n":"{RSA_N}"{extra}}}"#)
    }

    fn set(keys: &[String]) -> Vec<u8> {
        format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes()
    }

    #[test]
    fn a_provider_set_loads_and_skips_what_it_cannot_use() {
        let json = set(&[
            rsa("sig", r#","use":"sig","alg":"RS256""#),
            rsa("enc", r#","use":"enc","alg":"RSA-OAEP""#),
            r#"{"kty":"oct","kid":"hmac","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}"#.to_owned(),
            r#"{"kty":"AKP","kid":"pq","alg":"ML-DSA-44","pub":"AAAA"}"#.to_owned(),
            rsa("sig", r#","alg":"PS256""#),
        ]);
        let parsed = parse_key_set(&json).unwrap();
        assert_eq!(parsed.keys().len(), 1);
        let reasons: Vec<_> = parsed.skipped().iter().map(|s| (s.kid.as_deref(), s.reason.as_str())).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("not a signature key"));
        assert!(reasons[1].1.contains("symmetric"));
        assert!(reasons[2].1.contains("unsupported key type"));
        assert!(reasons[3].1.contains("second key"));
    }

    #[test]
    fn sets_without_a_usable_key_are_refused_with_the_reasons() {
        let error = parse_key_set(&set(&[rsa("a", r#","alg":"ES256""#)])).unwrap_err();
        assert!(matches!(&error, KeySetError::NoUsableKey(skipped) if skipped.len() == 1), "{error}");
        assert!(error.to_string().contains("`a`"), "{error}");

        let private = parse_key_set(&set(&[rsa("a", r#","d":"AAAA""#)])).unwrap_err();
        assert!(private.to_string().contains("private key material"), "{private}");

        assert!(matches!(parse_key_set(br#"{"keys":[]}"#), Err(KeySetError::NoUsableKey(_))));
        for malformed in [&b""[..], b"[]", b"{}", br#"{"keys":{}}"#, br#"{"keys":[1],"keys":[2]}"#, b"\xff"] {
            assert!(matches!(parse_key_set(malformed), Err(KeySetError::Malformed(_))));
        }
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| rsa(&i.to_string(), "")).collect();
        assert_eq!(parse_key_set(&set(&many)).unwrap_err(), KeySetError::TooManyKeys(MAX_KEYS + 1));
    }

    #[test]
    fn ambiguous_keys_are_dropped_from_a_set_of_several() {
        let no_kid = format!(r#"{{"kty":"RSA","e":"AQAB","n":"{RSA_N}"}}"#);
        let parsed = parse_key_set(&set(&[no_kid.clone(), rsa("a", "")])).unwrap();
        assert_eq!(parsed.keys().len(), 1);
        assert_eq!(parsed.skipped()[0].reason, "no `kid`, in a set of several keys");
        // Alone, a key without `kid` is fine.
        assert_eq!(parse_key_set(&set(&[no_kid])).unwrap().keys().len(), 1);
    }

    #[test]
    fn oversized_rsa_moduli_are_refused_before_any_crypto() {
        let huge = "A".repeat(16384 / 6 + 8);
        let json = set(&[format!(r#"{{"kty":"RSA","kid":"big","e":"AQAB","n":"{huge}"}}"#)]);
        let error = parse_key_set(&json).unwrap_err();
        assert!(error.to_string().contains("over 8192 bits"), "{error}");
    }
}
