//! Strategies: how a token becomes a principal, behind the one [`Strategy`] trait.
//!
//! - [`jwt`]: signed, self-contained tokens ([`JwtStrategy`]), with key rotation by `kid`.
//! - [`denylist`]: JWTs whose logout sticks ([`DenylistedJwt`]), over an in-memory or Redis
//!   denylist.
//! - [`database`]: opaque 256-bit tokens stored as SHA-256 hashes, on SQLite (default) or
//!   PostgreSQL (feature `database-postgres`).
//! - [`api_key`]: API keys for machines (`{prefix}_{random}{checksum}`), stored as keyed
//!   hashes, with scopes, expiry, revocation and rotation; also a backend (`x-api-key`).
//! - [`redis`](mod@redis): opaque tokens in Redis, a Redis refresh-family store and denylist
//!   (feature `redis`).
//! - [`refresh`]: access + refresh token pairs with rotation and reuse detection
//!   ([`TokenPairIssuer`]).
//! - [`oidc`]: access tokens from identity providers, verified with their discovered and cached
//!   key sets, or introspected (RFC 7662) when opaque (feature `oidc`).
//!
//! [`Claims`] is also a [`Credential`](crate::Credential): `Authenticated<Claims>` takes the
//! bearer token, verifies it with the app's [`JwtStrategy`] (found through `FromRef`), and
//! checks its scopes against the chain.

#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub mod api_key;
pub(crate) mod claims_credential;
#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub mod database;
pub mod denylist;
pub mod jwt;
#[cfg(feature = "oidc")]
pub mod oidc;
mod opaque;
#[cfg(feature = "redis")]
pub mod redis;
pub mod refresh;

use std::{future::Future, time::SystemTime};

use crate::error::AuthError;

/// What a verified token says: who, which scopes were granted, and when it was issued and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The principal's identifier (a username, a user id).
    pub subject: String,
    /// The scopes granted when the token was issued.
    pub scopes: Vec<String>,
    /// When the token was issued, if the strategy knows: what ends a user's sessions at a
    /// password change. The users' credential ([`UserToken`](crate::users)) refuses a token
    /// issued at or before the change, whichever strategy issued it, so a stateless JWT ends
    /// with the password as a stored token does.
    pub issued_at: Option<SystemTime>,
    /// When the token stops being valid, if the strategy knows.
    pub expires_at: Option<SystemTime>,
}

/// How a token becomes a principal, as fastapi-users' `Strategy`: write a token at login,
/// read it on each request, destroy it at logout.
///
/// Failures are [`AuthError`]s: a token that is unknown, expired, revoked or forged is
/// [`AuthError::InvalidToken`]; a store that is down or too slow is [`AuthError::Unavailable`]
/// (503), never a 500 or a hang. No implementation logs or returns a token.
pub trait Strategy: Send + Sync + 'static {
    /// The strategy's name in `#[backend(strategy = …)]`: `jwt`, `database`, `redis`.
    const KIND: &'static str;

    /// Whether a token can stop being valid before its expiry (a logout, a revocation): a
    /// connection it opened (a WebSocket, an event stream) is then re-checked with
    /// [`read_token`](Self::read_token) while it stays open. `true` unless the strategy keeps
    /// no state; the JWT strategy without a denylist sets it to `false`.
    const REVOCABLE: bool = true;

    /// Whether each token carries scopes of its own that bound what it grants, as an API key
    /// does: a user's credential ([`UserToken`](crate::users::UserToken)) then grants those of
    /// the token's scopes that the user row still grants, rather than all the row grants.
    /// `false` unless the strategy says so; [`ApiKeys`] sets it.
    const SCOPED_TOKENS: bool = false;

    /// Verifies `token` and says whom it names, and, as far as the strategy knows, when it was
    /// issued (what lets a password change end the sessions issued before it) and when it stops
    /// being valid (what ends a connection the token opened).
    fn read_token(&self, token: &str) -> impl Future<Output = Result<TokenInfo, AuthError>> + Send;

    /// [`read_token`](Self::read_token), for a token the request `parts` carried: what a
    /// backend's credential calls. By default the same; API keys count a client's failed keys
    /// here, as failed logins are counted ([`ApiKeys::with_throttle`]).
    fn read_token_from(
        &self,
        token: &str,
        parts: &axum::http::request::Parts,
    ) -> impl Future<Output = Result<TokenInfo, AuthError>> + Send {
        let _ = parts;
        self.read_token(token)
    }

    /// Issues a token for `subject` with `scopes`.
    fn write_token(&self, subject: &str, scopes: &[String]) -> impl Future<Output = Result<String, AuthError>> + Send;

    /// Revokes `token`, so that reading it fails from now on. Revoking an unknown token is not
    /// an error.
    fn destroy_token(&self, token: &str) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// A token store that can end every token of one subject at once: what ends a user's
/// sessions when their password changes (register it with
/// [`UserManagerBuilder::revoke_sessions_in`](crate::users::UserManagerBuilder::revoke_sessions_in)).
///
/// [`DatabaseStrategy`] deletes the subject's rows (by an index on `subject`), [`RedisStrategy`]
/// the keys it listed in the subject's own set. A JWT has nothing to delete: the users'
/// credential refuses it by its issue time ([`TokenInfo::issued_at`]).
pub trait RevokeSubject: Send + Sync + 'static {
    /// Revokes every token issued to `subject`; none is accepted once this returns.
    fn revoke_subject(&self, subject: &str) -> impl Future<Output = Result<(), AuthError>> + Send;
}

impl Strategy for JwtStrategy {
    const KIND: &'static str = "jwt";
    /// A JWT is self-contained: only its `exp` ends it.
    const REVOCABLE: bool = false;

    async fn read_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        let claims = self.verify(token).map_err(JwtError::into_token_error)?;
        let (issued_at, expires_at) = (Some(self.issued_at(&claims)), Some(self.valid_until(&claims)));
        let subject = claims.sub.ok_or(AuthError::InvalidToken)?;
        Ok(TokenInfo { subject, scopes: claims.scopes, issued_at, expires_at })
    }

    async fn write_token(&self, subject: &str, scopes: &[String]) -> Result<String, AuthError> {
        self.issue(subject, scopes)
    }

    /// A JWT is self-contained: without a denylist, logout cannot revoke it, only forget it.
    async fn destroy_token(&self, _token: &str) -> Result<(), AuthError> {
        Ok(())
    }
}

#[cfg(feature = "redis")]
pub use self::redis::{
    RedisDenylist, RedisFamilyStore, RedisStoreBuilder, RedisStoreError, RedisStrategy, RedisStrategyBuilder,
};
#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub use api_key::{ApiKey, ApiKeys};
#[cfg(any(feature = "database-sqlite", feature = "database-postgres"))]
pub use database::{Database, DatabaseError, DatabaseStrategy, DatabaseStrategyBuilder};
pub use denylist::{Denylist, DenylistedJwt, MemoryDenylist};
pub use jwt::{Claims, InvalidReason, JwtError, JwtKey, JwtKeySet, JwtStrategy, JwtStrategyBuilder};
pub use refresh::{
    MemoryFamilyStore, RefreshFamilyStore, ReloadUser, Rotation, TokenPair, TokenPairIssuer, TokenPairIssuerBuilder,
};
