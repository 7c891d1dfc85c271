//! The verify and reset-password tokens: HS256 JWTs as fastapi-users makes them, each kind with
//! its own secret, audience and lifetime, verified by the crate's hardened [`JwtStrategy`].
//!
//! - **verify:** `{"sub": <user id>, "email": <address>, "aud": "fastapi-users:verify", "exp"}`.
//!   It names the address it confirms: once the user changes address it no longer matches, and
//!   once the user is verified it is answered `VERIFY_USER_ALREADY_VERIFIED`.
//! - **reset:** `{"sub": <user id>, "password_fgpt": <fingerprint>, "aud": "fastapi-users:reset",
//!   "exp"}`. The fingerprint is the SHA-256 of the user's current password hash (a PHC string
//!   with its own salt), so the token dies as soon as the password changes: after it is used,
//!   after any other reset, after a `PATCH`. fastapi-users argon2-hashes the hash for the
//!   fingerprint; a plain digest is enough here, since the token is signed and the hash's salt
//!   is not in it, and it keeps `forgot-password` cheap.
//!
//! Each kind also has its own `typ` header (`verify+jwt`, `reset+jwt`), and the secrets must
//! differ from each other. They are not access tokens: a `JwtStrategy` without an audience
//! refuses any token that has one, and one with the audience `fastapi-users:auth` refuses
//! these audiences. Still, give them secrets of their own, never the access tokens' one.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    error::AuthError,
    strategies::{JwtError, JwtKey, JwtStrategy},
};

/// fastapi-users' audience of verify tokens.
pub(crate) const VERIFY_AUDIENCE: &str = "fastapi-users:verify";
/// fastapi-users' audience of reset-password tokens.
pub(crate) const RESET_AUDIENCE: &str = "fastapi-users:reset";
/// How long a verify or reset token lives unless configured: one hour, as fastapi-users.
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The longest verify or reset token read; longer ones are refused before any decoding.
const MAX_TOKEN_LEN: usize = 2048;

/// A token kind's signer and verifier.
#[derive(Clone)]
pub(crate) struct FlowToken {
    jwt: JwtStrategy,
}

impl std::fmt::Debug for FlowToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowToken").field("lifetime", &self.jwt.lifetime()).finish_non_exhaustive()
    }
}

impl FlowToken {
    /// A kind with `secret` (at least 32 bytes), `audience`, `typ` and `lifetime`.
    pub(crate) fn new(secret: &[u8], audience: &str, typ: &str, lifetime: Duration) -> Result<Self, JwtError> {
        let jwt = JwtStrategy::builder(JwtKey::hs256(secret))
            .audience(audience)
            .token_type(typ)
            .lifetime(lifetime)
            .max_token_len(MAX_TOKEN_LEN)
            .build()?;
        Ok(Self { jwt })
    }

    /// How long tokens of this kind live.
    pub(crate) fn lifetime(&self) -> Duration {
        self.jwt.lifetime()
    }

    fn issue(&self, user: Uuid, claim: &str, value: &str) -> Result<String, AuthError> {
        let mut extra = Map::new();
        extra.insert(claim.to_owned(), Value::from(value));
        self.jwt.issue_claims(&user.to_string(), &[] as &[&str], &extra)
    }

    /// The user id and the named claim of a valid token of this kind.
    fn read(&self, token: &str, claim: &str) -> Option<(Uuid, String)> {
        let claims = self.jwt.verify(token).ok()?;
        let user = Uuid::parse_str(claims.sub.as_deref()?).ok()?;
        let value = claims.extra.get(claim)?.as_str()?.to_owned();
        Some((user, value))
    }

    /// A verify token for `user` at `email`.
    pub(crate) fn issue_verify(&self, user: Uuid, email: &str) -> Result<String, AuthError> {
        self.issue(user, "email", email)
    }

    /// The user id and address of a valid verify token.
    pub(crate) fn read_verify(&self, token: &str) -> Option<(Uuid, String)> {
        self.read(token, "email")
    }

    /// A reset token for `user`, bound to its current password hash.
    pub(crate) fn issue_reset(&self, user: Uuid, hashed_password: &str) -> Result<String, AuthError> {
        self.issue(user, "password_fgpt", &fingerprint(hashed_password))
    }

    /// The user id and fingerprint of a valid reset token.
    pub(crate) fn read_reset(&self, token: &str) -> Option<(Uuid, String)> {
        self.read(token, "password_fgpt")
    }
}

/// The password fingerprint a reset token carries.
fn fingerprint(hashed_password: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(hashed_password.as_bytes()))
}

/// Whether `presented` is the fingerprint of `hashed_password`, in constant time.
pub(crate) fn fingerprint_matches(presented: &str, hashed_password: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(fingerprint(hashed_password).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn kinds_do_not_mix() {
        let verify = FlowToken::new(SECRET, VERIFY_AUDIENCE, "verify+jwt", DEFAULT_TOKEN_LIFETIME).unwrap();
        let reset = FlowToken::new(SECRET, RESET_AUDIENCE, "reset+jwt", DEFAULT_TOKEN_LIFETIME).unwrap();
        let id = Uuid::from_bytes([7; 16]);
        let token = verify.issue_verify(id, "a@b.co").unwrap();
        assert_eq!(verify.read_verify(&token), Some((id, "a@b.co".to_owned())));
        assert_eq!(reset.read_reset(&token), None, "a verify token is not a reset token, even with one secret");

        let token = reset.issue_reset(id, "$argon2id$v=19$m=19456,t=2,p=1$salt$hash").unwrap();
        let (user, fgpt) = reset.read_reset(&token).unwrap();
        assert_eq!(user, id);
        assert!(fingerprint_matches(&fgpt, "$argon2id$v=19$m=19456,t=2,p=1$salt$hash"));
        assert!(!fingerprint_matches(&fgpt, "$argon2id$v=19$m=19456,t=2,p=1$salt$other"));
        assert_eq!(verify.read_verify(&token), None);

        assert_eq!(verify.read_verify(&"a".repeat(10_000)), None);
        assert_eq!(verify.read_verify(""), None);
        assert!(FlowToken::new(b"short", VERIFY_AUDIENCE, "verify+jwt", DEFAULT_TOKEN_LIFETIME).is_err());
    }
}
