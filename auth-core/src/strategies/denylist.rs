//! Revocation for stateless tokens: a [`Denylist`] of token ids, and [`DenylistedJwt`], a JWT
//! strategy whose logout sticks.
//!
//! A JWT is valid until its `exp` by construction, so [`JwtStrategy`]'s `destroy_token` can
//! only forget a token. [`DenylistedJwt`] records the token's id in a denylist at logout, for as
//! long as verification would accept the token (its `exp` plus the strategy's clock leeway), and
//! refuses listed tokens on every read.
//!
//! The id is something the token's holder cannot change ([`token_id`]): the `jti`, which
//! [`DenylistedJwt`] writes into every token it issues, or for a token without one the SHA-256 of
//! its signing input (header and payload), never of its signature. An ECDSA signature can be
//! re-spelled by anyone as `(r, n − s)`; keyed on the signature, a logged-out ES256 token would
//! come back as a second, unlisted one.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::strategies::{Strategy, denylist::DenylistedJwt, jwt::{JwtKey, JwtStrategy}, redis};
//!
//! let jwt = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).with_jti().build()?;
//! let denylist = redis::RedisDenylist::builder(redis::RedisStrategy::connect("redis://127.0.0.1").await?).build();
//! let tokens = DenylistedJwt::new(jwt, denylist);
//!
//! let token = tokens.write_token("johndoe", &[]).await?;
//! tokens.destroy_token(&token).await?; // logout
//! assert!(tokens.read_token(&token).await.is_err());
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use super::{JwtError, JwtStrategy, Strategy, TokenInfo, jwt::now, opaque};
use crate::error::AuthError;

/// Revoked token ids, each until a given time (seconds since the Unix epoch), after which the
/// entry may be dropped: the token has expired by then and is refused anyway.
///
/// A denylist must fail closed when it loses entries: a token it cannot vouch for is revoked.
/// So [`is_revoked`](Denylist::is_revoked) is asked with the token's issue time, and refuses
/// tokens older than the list's own memory ([`MemoryDenylist`]: the process;
/// [`RedisDenylist`](super::redis::RedisDenylist): the Redis data set).
///
/// Implemented by [`MemoryDenylist`] and [`RedisDenylist`](super::redis::RedisDenylist).
pub trait Denylist: Send + Sync + 'static {
    /// Lists `id` until `until`. Revoking an id twice, or after `until`, is not an error.
    fn revoke(&self, id: &str, until: u64) -> impl Future<Output = Result<(), AuthError>> + Send;

    /// Whether the token `id`, issued at `issued_at` (seconds since the Unix epoch), is
    /// revoked: `id` is listed, or the token is older than what the list remembers.
    fn is_revoked(&self, id: &str, issued_at: u64) -> impl Future<Output = Result<bool, AuthError>> + Send;
}

/// A [`JwtStrategy`] checked against a [`Denylist`]: `destroy_token` lists the token until it
/// can no longer verify (`exp` + leeway), and `read_token` refuses listed tokens with
/// [`AuthError::InvalidToken`]. Every token it issues carries a `jti`, whatever the strategy was
/// built with.
///
/// Every read costs one denylist lookup; if the denylist is down, reads fail with
/// [`AuthError::Unavailable`] rather than let a revoked token through.
#[derive(Debug, Clone)]
pub struct DenylistedJwt<D> {
    jwt: JwtStrategy,
    denylist: D,
}

impl<D: Denylist> DenylistedJwt<D> {
    /// Wraps `jwt` with `denylist`; issued tokens get a `jti` and an `iat`.
    pub fn new(jwt: JwtStrategy, denylist: D) -> Self {
        Self { jwt: jwt.with_jti_always().with_iat_always(), denylist }
    }

    /// The JWT strategy.
    pub fn jwt(&self) -> &JwtStrategy {
        &self.jwt
    }

    /// The denylist.
    pub fn denylist(&self) -> &D {
        &self.denylist
    }
}

/// The denylist id of a token without a `jti`: the lowercase hex SHA-256 of its signing input
/// (`header.payload`, everything before the last `.`), so every spelling of its signature maps
/// to the same id. The header and payload themselves are read only in canonical base64url, so
/// they have one spelling each.
#[doc(hidden)]
pub fn token_id(token: &str) -> String {
    let signing_input = token.rsplit_once('.').map_or(token, |(message, _)| message);
    opaque::hash(signing_input)
}

/// The denylist id of a verified token: its `jti`, or [`token_id`].
fn id_of(jti: Option<String>, token: &str) -> String {
    jti.unwrap_or_else(|| token_id(token))
}

impl<D: Denylist> Strategy for DenylistedJwt<D> {
    const KIND: &'static str = "jwt";

    async fn read_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        let claims = self.jwt.verify(token).map_err(JwtError::into_token_error)?;
        let (issued_at, expires_at) = (self.jwt.issued_at(&claims), self.jwt.valid_until(&claims));
        let subject = claims.sub.ok_or(AuthError::InvalidToken)?;
        let issued_secs = issued_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
        if self.denylist.is_revoked(&id_of(claims.jti, token), issued_secs).await? {
            return Err(AuthError::InvalidToken);
        }
        Ok(TokenInfo { subject, scopes: claims.scopes, issued_at: Some(issued_at), expires_at: Some(expires_at) })
    }

    async fn write_token(&self, subject: &str, scopes: &[String]) -> Result<String, AuthError> {
        self.jwt.issue(subject, scopes)
    }

    /// Lists the token for as long as it would verify: verification accepts it while
    /// `now ≤ exp + leeway`, so the entry lives until one second after that. A token that does
    /// not verify (forged, expired) is not an error: it is refused already.
    async fn destroy_token(&self, token: &str) -> Result<(), AuthError> {
        let Ok(claims) = self.jwt.verify(token) else { return Ok(()) };
        let until = claims.exp.saturating_add(self.jwt.leeway_secs()).saturating_add(1);
        self.denylist.revoke(&id_of(claims.jti, token), until).await
    }
}

/// A denylist in this process's memory: revocations survive until their token expires or the
/// process ends. For one process; several share a [`RedisDenylist`](super::redis::RedisDenylist).
///
/// Its entries end with the process, so it refuses every token issued before it was created
/// (in an earlier second): after a restart, holders of older tokens log in again, and no token
/// logged out before the restart comes back.
#[derive(Debug, Clone)]
pub struct MemoryDenylist {
    entries: std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, u64>>>,
    /// When the list was created (seconds since the Unix epoch): it remembers nothing older.
    since: u64,
}

impl Default for MemoryDenylist {
    fn default() -> Self {
        Self { entries: std::sync::Arc::default(), since: now() }
    }
}

impl MemoryDenylist {
    /// An empty denylist, refusing tokens issued before this second.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many ids are listed, expired ones included until the next prune.
    pub async fn len(&self) -> usize {
        self.entries.lock().await.len()
    }

    /// Whether nothing is listed.
    pub async fn is_empty(&self) -> bool {
        self.entries.lock().await.is_empty()
    }
}

impl Denylist for MemoryDenylist {
    async fn revoke(&self, id: &str, until: u64) -> Result<(), AuthError> {
        let mut entries = self.entries.lock().await;
        let now = now();
        // Entries whose token has expired are refused by `exp` anyway; drop them as we go so
        // the map cannot grow without bound.
        if entries.len() >= 1024 && entries.len().is_power_of_two() {
            entries.retain(|_, until| *until > now);
        }
        if until > now {
            let entry = entries.entry(id.to_owned()).or_insert(until);
            *entry = (*entry).max(until);
        }
        Ok(())
    }

    async fn is_revoked(&self, id: &str, issued_at: u64) -> Result<bool, AuthError> {
        if issued_at < self.since {
            return Ok(true);
        }
        Ok(self.entries.lock().await.get(id).is_some_and(|until| *until > now()))
    }
}
