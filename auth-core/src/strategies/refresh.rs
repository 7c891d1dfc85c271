//! Access + refresh token pairs with rotation and reuse detection (the refresh seed, hardened).
//!
//! A [`TokenPairIssuer`] holds two [`JwtStrategy`]s with separate keys and lifetimes: a short
//! access token and a long refresh token ([`TokenPairIssuerBuilder::hs256`] sets the seed's two secrets
//! with 15 minutes and [`TokenPairIssuer::DEFAULT_REFRESH_LIFETIME`], 7 days). Every refresh token belongs to a
//! *family* (claim `fid`) started at login, and has its own `jti`. The family's store entry
//! remembers the `jti` of the one refresh token that may be used next, its *head*.
//!
//! - [`TokenPairIssuer::refresh`] accepts only the head. It returns a new pair whose refresh
//!   token is the new head, and swaps the head in one compare-and-swap, so two concurrent
//!   refreshes of one token cannot both succeed.
//! - Presenting a refresh token that was already rotated out means two parties hold the family:
//!   the whole family is revoked, and every later refresh in it fails, the current head's too
//!   (OAuth 2.0 Security BCP, refresh token rotation). A client racing itself with the same
//!   refresh token is indistinguishable from a thief and ends the same way: clients must
//!   serialise their refreshes.
//! - Access tokens are stateless: revoking a family stops refreshes, and the access tokens
//!   already issued live out their (short) lifetime.
//! - A refresh asks the app about the user again ([`ReloadUser`]): a user who was disabled or
//!   deleted since the login, or whose password changed since the presented refresh token was
//!   issued (its `iat`), gets no new pair (and the family is revoked), and the new pair
//!   carries only the scopes the user may still have.
//! - A family has an absolute lifetime, [`TokenPairIssuer::DEFAULT_SESSION_LIFETIME`] (30 days) unless set with
//!   [`TokenPairIssuerBuilder::session_lifetime`]: it is written into every refresh token of the
//!   family (claim `fxp`), no token of the family expires after it, and neither does its store
//!   entry. Rotation renews the refresh token's lifetime, never the session's: at the end of
//!   it the user logs in again.
//!
//! Errors follow the seed: an expired refresh token is 401 `Token expired`, anything else
//! (forged, an access token, rotated out, revoked) is 401 `Invalid token`.
//!
//! ```
//! use std::time::Duration;
//! use auth_core::strategies::jwt::{JwtKey, JwtStrategy};
//! use auth_core::strategies::refresh::{MemoryFamilyStore, TokenPairIssuer};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let access = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build()?;
//! let refresh = JwtStrategy::builder(JwtKey::hs256([8u8; 32])).lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME).build()?;
//! let issuer = TokenPairIssuer::builder(MemoryFamilyStore::new()).strategies(access, refresh).build()?;
//!
//! // What the app says about a user at refresh time: here, everyone is active with `me`.
//! struct Users;
//! impl auth_core::strategies::refresh::ReloadUser for Users {
//!     async fn reload_user(&self, _subject: &str) -> Result<Option<Vec<String>>, auth_core::AuthError> {
//!         Ok(Some(vec!["me".to_owned()]))
//!     }
//! }
//!
//! let login = issuer.issue_pair("johndoe", &["me"]).await.unwrap();
//! let rotated = issuer.refresh(&login.refresh_token, &Users).await.unwrap();
//! assert!(issuer.refresh(&login.refresh_token, &Users).await.is_err()); // reuse: family revoked
//! assert!(issuer.refresh(&rotated.refresh_token, &Users).await.is_err());
//! # Ok::<(), auth_core::strategies::jwt::JwtError>(())
//! # }).unwrap();
//! ```

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::jwt::{JwtError, JwtKey, JwtStrategy, now, random_id, same_media_type};
use crate::{error::AuthError, response::NoStore};

impl TokenPairIssuer {
    /// The refresh lifetime this module suggests, 7 days; set it with
    /// `JwtStrategy::…(…).lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)` on the refresh strategy. Each rotation
    /// starts a new refresh lifetime, within the session's absolute one
    /// ([`TokenPairIssuer::DEFAULT_SESSION_LIFETIME`]).
    pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

    /// How long a family lives from its login, however often it is refreshed, unless set with
    /// [`TokenPairIssuerBuilder::session_lifetime`]: 30 days.
    pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

    /// The claim holding a refresh token's family id.
    pub const FAMILY_CLAIM: &str = "fid";

    /// The claim holding the end of a refresh token's family (seconds since the Unix epoch): the
    /// session's absolute lifetime.
    pub const FAMILY_EXPIRY_CLAIM: &str = "fxp";
}

/// What the app says about a refresh token's subject at refresh time, so that a refresh never
/// outlives the user's right to log in. [`TokenPairIssuer::refresh`] requires one.
pub trait ReloadUser: Send + Sync {
    /// The scopes `subject` may still be granted (the new pair carries those of the old one that
    /// are among them), or `None` when the user may no longer refresh: disabled, deleted,
    /// password changed… The family is then revoked, and the refresh fails with 401
    /// `Invalid token`.
    ///
    /// An `Err` (the user store is down: [`AuthError::Unavailable`]) fails this refresh only,
    /// and leaves the family as it was.
    fn reload_user(&self, subject: &str) -> impl Future<Output = Result<Option<Vec<String>>, AuthError>> + Send;

    /// As [`reload_user`](Self::reload_user), knowing when the presented refresh token was
    /// issued (its `iat`): `None` also when the user's password changed since, which ends the
    /// family with the password. The default asks [`reload_user`](Self::reload_user);
    /// [`UserManager`](crate::users::UserManager) compares with the row's password change.
    fn reload_user_issued(
        &self,
        subject: &str,
        issued_at: std::time::SystemTime,
    ) -> impl Future<Output = Result<Option<Vec<String>>, AuthError>> + Send {
        let _ = issued_at;
        self.reload_user(subject)
    }
}

/// What the token endpoint returns: FastAPI's `{"access_token", "refresh_token", "token_type"}`.
///
/// As a response it is JSON with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749
/// §5.1). `Debug` shows neither token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// The short-lived token for `Authorization: Bearer`.
    pub access_token: String,
    /// The long-lived token, only for the refresh endpoint.
    pub refresh_token: String,
    /// Always `"bearer"`.
    pub token_type: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl IntoResponse for TokenPair {
    fn into_response(self) -> Response {
        NoStore(Json(self)).into_response()
    }
}

/// What [`RefreshFamilyStore::rotate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// The presented `jti` was the head; the head is now the new `jti`.
    Rotated,
    /// The family is live but the presented `jti` is not its head: it was rotated out. The
    /// store has revoked the family.
    Reused,
    /// No live family by that id: never created, expired, or revoked.
    Unknown,
}

/// Where refresh families live: one entry per family, holding the `jti` of its head and when it
/// expires (seconds since the Unix epoch).
///
/// [`rotate`](RefreshFamilyStore::rotate) must be atomic, a compare-and-swap on the head: of two
/// concurrent rotations presenting the same head, exactly one may see [`Rotation::Rotated`].
/// Entries past `expires_at` must behave as absent, and may be dropped at any time.
///
/// [`MemoryFamilyStore`] serves one process; a shared store (Redis, SQL) serves several.
pub trait RefreshFamilyStore: Send + Sync + 'static {
    /// Starts a family whose head is `head`.
    fn create(&self, family: &str, head: &str, expires_at: u64) -> impl Future<Output = Result<(), AuthError>> + Send;

    /// If `family` is live and its head is `presented`, makes `next` the head until
    /// `expires_at` ([`Rotation::Rotated`]); if it is live with another head, revokes it
    /// ([`Rotation::Reused`]); otherwise [`Rotation::Unknown`]. All in one atomic step.
    fn rotate(
        &self,
        family: &str,
        presented: &str,
        next: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<Rotation, AuthError>> + Send;

    /// Ends a family (logout, or reuse detected): no token of it refreshes again.
    fn revoke(&self, family: &str) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// An in-process [`RefreshFamilyStore`]: a `HashMap` behind a tokio `Mutex`.
///
/// Growth is bounded by live sessions: expired families are pruned whenever the map has
/// doubled since the last prune (amortised O(1) per login), and on [`MemoryFamilyStore::prune_expired`].
/// Families are lost on restart, which logs everyone out; use a shared store to avoid that or
/// to run several processes.
#[derive(Debug)]
pub struct MemoryFamilyStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug)]
struct MemoryState {
    families: HashMap<String, FamilyEntry>,
    prune_at: usize,
}

#[derive(Debug)]
struct FamilyEntry {
    head: String,
    expires_at: u64,
}

/// The map size below which pruning is not worth a scan.
const MIN_PRUNE_AT: usize = 1024;

impl Default for MemoryFamilyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryFamilyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self { state: Mutex::new(MemoryState { families: HashMap::new(), prune_at: MIN_PRUNE_AT }) }
    }

    /// The number of families held, expired ones not yet pruned included.
    pub async fn len(&self) -> usize {
        self.state.lock().await.families.len()
    }

    /// Whether the store holds no family.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Drops every expired family now.
    pub async fn prune_expired(&self) {
        self.state.lock().await.prune(now());
    }
}

impl MemoryState {
    fn prune(&mut self, now: u64) {
        self.families.retain(|_, entry| entry.expires_at >= now);
        self.prune_at = (self.families.len() * 2).max(MIN_PRUNE_AT);
    }
}

impl RefreshFamilyStore for MemoryFamilyStore {
    async fn create(&self, family: &str, head: &str, expires_at: u64) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        if state.families.len() >= state.prune_at {
            state.prune(now());
        }
        state.families.insert(family.to_owned(), FamilyEntry { head: head.to_owned(), expires_at });
        Ok(())
    }

    async fn rotate(&self, family: &str, presented: &str, next: &str, expires_at: u64) -> Result<Rotation, AuthError> {
        let mut state = self.state.lock().await;
        let now = now();
        let Some(entry) = state.families.get_mut(family) else { return Ok(Rotation::Unknown) };
        if entry.expires_at < now {
            state.families.remove(family);
            return Ok(Rotation::Unknown);
        }
        if entry.head != presented {
            state.families.remove(family);
            return Ok(Rotation::Reused);
        }
        entry.head = next.to_owned();
        entry.expires_at = expires_at;
        Ok(Rotation::Rotated)
    }

    async fn revoke(&self, family: &str) -> Result<(), AuthError> {
        self.state.lock().await.families.remove(family);
        Ok(())
    }
}

/// Issues access + refresh pairs and rotates them; see the module docs.
///
/// The refresh strategy is used with `typ: refresh+jwt` in its header (set here, whatever it
/// was built with), which a strategy without an explicit token type refuses. So a refresh token
/// is never accepted as an access token, and an access token never as a refresh token, even if
/// both strategies were given the same key by mistake. Give them different keys anyway, as the
/// seed does.
pub struct TokenPairIssuer<S = MemoryFamilyStore> {
    access: JwtStrategy,
    refresh: JwtStrategy,
    store: Arc<S>,
    session_lifetime: Duration,
}

impl<S> Clone for TokenPairIssuer<S> {
    fn clone(&self) -> Self {
        Self {
            access: self.access.clone(),
            refresh: self.refresh.clone(),
            store: Arc::clone(&self.store),
            session_lifetime: self.session_lifetime,
        }
    }
}

impl<S> std::fmt::Debug for TokenPairIssuer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPairIssuer")
            .field("access", &self.access)
            .field("refresh", &self.refresh)
            .field("session_lifetime", &self.session_lifetime)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenPairIssuer`]; from [`TokenPairIssuer::builder`]. Give it its two
/// strategies, with [`strategies`](Self::strategies) or [`hs256`](Self::hs256).
#[must_use = "call `.build()` to get the issuer"]
pub struct TokenPairIssuerBuilder<S> {
    store: S,
    strategies: Option<Result<(JwtStrategy, JwtStrategy), JwtError>>,
    session_lifetime: Duration,
}

impl<S> std::fmt::Debug for TokenPairIssuerBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPairIssuerBuilder")
            .field("strategies", &self.strategies)
            .field("session_lifetime", &self.session_lifetime)
            .finish_non_exhaustive()
    }
}

impl<S: RefreshFamilyStore> TokenPairIssuerBuilder<S> {
    /// Pairs an access strategy and a refresh strategy.
    ///
    /// Both strategies must be able to sign; the refresh lifetime must be longer than the access
    /// lifetime (build the refresh strategy with `.lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)` or your
    /// own; the seed uses 1 and 10 minutes); and the access strategy must not itself use the
    /// refresh token type. Checked by [`build`](Self::build).
    pub fn strategies(mut self, access: JwtStrategy, refresh: JwtStrategy) -> Self {
        self.strategies = Some(Ok((access, refresh)));
        self
    }

    /// The seed's setup instead of [`strategies`](Self::strategies): HS256 with two different
    /// secrets, access tokens for 15 minutes ([`JwtStrategy::DEFAULT_LIFETIME`](super::jwt::JwtStrategy::DEFAULT_LIFETIME))
    /// and refresh tokens for [`TokenPairIssuer::DEFAULT_REFRESH_LIFETIME`] (7 days).
    pub fn hs256(mut self, access_secret: impl AsRef<[u8]>, refresh_secret: impl AsRef<[u8]>) -> Self {
        let strategies = || {
            if access_secret.as_ref() == refresh_secret.as_ref() {
                return Err(JwtError::Config("access and refresh tokens need different secrets".into()));
            }
            let access = JwtStrategy::builder(JwtKey::hs256(access_secret.as_ref())).build()?;
            let refresh = JwtStrategy::builder(JwtKey::hs256(refresh_secret.as_ref()))
                .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
                .build()?;
            Ok((access, refresh))
        };
        self.strategies = Some(strategies());
        self
    }

    /// How long a family lives from its login, however often it is refreshed; default
    /// [`TokenPairIssuer::DEFAULT_SESSION_LIFETIME`] (30 days). Whole seconds, at least one.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime.max(Duration::from_secs(1));
        self
    }

    /// Checks the strategies and builds the issuer.
    pub fn build(self) -> Result<TokenPairIssuer<S>, JwtError> {
        let (access, refresh) = self.strategies.unwrap_or_else(|| {
            Err(JwtError::Config("a token pair needs its strategies: call .strategies(…) or .hs256(…)".into()))
        })?;
        if !access.can_issue() || !refresh.can_issue() {
            return Err(JwtError::Config("both strategies of a token pair need a signing key".into()));
        }
        if refresh.lifetime() <= access.lifetime() {
            return Err(JwtError::Config("the refresh lifetime must be longer than the access lifetime".into()));
        }
        if access.token_type().is_some_and(|typ| same_media_type(typ, JwtStrategy::REFRESH_TOKEN_TYPE)) {
            return Err(JwtError::Config(format!(
                "the access strategy may not use token type `{}`",
                JwtStrategy::REFRESH_TOKEN_TYPE
            )));
        }
        // `iat` in every refresh token: what a password change is compared with
        // (`ReloadUser::reload_user_issued`), exact even where the session's end cut `exp` short.
        let refresh = refresh.with_token_type(JwtStrategy::REFRESH_TOKEN_TYPE).with_iat_always();
        Ok(TokenPairIssuer { access, refresh, store: Arc::new(self.store), session_lifetime: self.session_lifetime })
    }
}

impl<S: RefreshFamilyStore> TokenPairIssuer<S> {
    /// Starts an issuer over `store`, the family store ([`MemoryFamilyStore`] in one process,
    /// `RedisFamilyStore` across several); give it its strategies on the builder.
    pub fn builder(store: S) -> TokenPairIssuerBuilder<S> {
        TokenPairIssuerBuilder { store, strategies: None, session_lifetime: TokenPairIssuer::DEFAULT_SESSION_LIFETIME }
    }

    /// The access strategy, to verify access tokens in extractors.
    pub fn access_strategy(&self) -> &JwtStrategy {
        &self.access
    }

    /// The family store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Issues the first pair of a new family (login); the family ends after the session
    /// lifetime, whatever happens.
    pub async fn issue_pair(&self, subject: &str, scopes: &[impl AsRef<str>]) -> Result<TokenPair, AuthError> {
        let family = random_id().map_err(JwtError::into_token_error)?;
        let ends_at = now().saturating_add(self.session_lifetime.as_secs());
        let (pair, head, expires_at) = self.sign_pair(subject, scopes, &family, ends_at)?;
        self.store.create(&family, &head, expires_at).await?;
        Ok(pair)
    }

    /// Exchanges the family's current refresh token for a new pair (the refresh endpoint).
    ///
    /// `users` is asked about the token's subject first ([`ReloadUser`]): a user who may no
    /// longer refresh gets 401 `Invalid token` and the family is revoked; otherwise the new pair
    /// carries the subject, and the scopes of the presented token that the user may still have.
    /// No token of the pair outlives the family's session lifetime. Fails with
    /// [`AuthError::TokenExpired`] for an expired refresh token or session, and
    /// [`AuthError::InvalidToken`] for anything else; a rotated-out token also revokes its family.
    pub async fn refresh(&self, refresh_token: &str, users: &impl ReloadUser) -> Result<TokenPair, AuthError> {
        let claims = self.refresh.verify(refresh_token).map_err(JwtError::into_token_error)?;
        let (Some(subject), Some(presented), Some(Value::String(family))) =
            (claims.sub.as_deref(), claims.jti.as_deref(), claims.extra.get(TokenPairIssuer::FAMILY_CLAIM))
        else {
            tracing::info!("refused a refresh token without sub, jti or fid");
            return Err(AuthError::InvalidToken);
        };
        // A family started before sessions had an end gets one from its first refresh on.
        let ends_at = match claims.extra.get(TokenPairIssuer::FAMILY_EXPIRY_CLAIM) {
            None => now().saturating_add(self.session_lifetime.as_secs()),
            Some(value) => value.as_u64().ok_or_else(|| {
                tracing::info!("refused a refresh token whose `fxp` is not a number");
                AuthError::InvalidToken
            })?,
        };
        if now() >= ends_at {
            tracing::info!(family = %family, "refused a refresh: the session has reached its absolute lifetime");
            return Err(AuthError::TokenExpired);
        }
        let Some(allowed) = users.reload_user_issued(subject, self.refresh.issued_at(&claims)).await? else {
            self.store.revoke(family).await?;
            tracing::info!(family = %family, "refused a refresh: the user may no longer log in; family revoked");
            return Err(AuthError::InvalidToken);
        };
        let scopes: Vec<&str> =
            claims.scopes.iter().filter(|scope| allowed.contains(scope)).map(String::as_str).collect();
        // Sign before swapping the head: if signing failed after the swap, the family would be
        // left pointing at a token nobody holds.
        let (pair, next, expires_at) = self.sign_pair(subject, &scopes, family, ends_at)?;
        match self.store.rotate(family, presented, &next, expires_at).await? {
            Rotation::Rotated => Ok(pair),
            Rotation::Reused => {
                tracing::warn!(family = %family, "refresh token reused; family revoked");
                Err(AuthError::InvalidToken)
            }
            Rotation::Unknown => {
                tracing::info!(family = %family, "refused a refresh token of an unknown or revoked family");
                Err(AuthError::InvalidToken)
            }
        }
    }

    /// Revokes the family of `refresh_token` (logout): none of its refresh tokens works again.
    /// The token must be a valid, unexpired refresh token of ours; the errors are those of
    /// [`TokenPairIssuer::refresh`].
    pub async fn revoke_family(&self, refresh_token: &str) -> Result<(), AuthError> {
        let claims = self.refresh.verify(refresh_token).map_err(JwtError::into_token_error)?;
        let Some(Value::String(family)) = claims.extra.get(TokenPairIssuer::FAMILY_CLAIM) else {
            return Err(AuthError::InvalidToken);
        };
        self.store.revoke(family).await
    }

    /// Signs an access token and a refresh token of `family`, which ends at `ends_at`, with a
    /// fresh `jti`; returns the pair, that `jti` and when the family entry expires.
    fn sign_pair(
        &self,
        subject: &str,
        scopes: &[impl AsRef<str>],
        family: &str,
        ends_at: u64,
    ) -> Result<(TokenPair, String, u64), AuthError> {
        let sign = || {
            let now = now();
            let access_jti = if self.access.writes_jti() { Some(random_id()?) } else { None };
            let (access_token, _) = self.access.sign(subject, scopes, Map::new(), access_jti, now, Some(ends_at))?;
            let head = random_id()?;
            let mut claims = Map::new();
            claims.insert(TokenPairIssuer::FAMILY_CLAIM.to_owned(), family.into());
            claims.insert(TokenPairIssuer::FAMILY_EXPIRY_CLAIM.to_owned(), ends_at.into());
            let (refresh_token, exp) =
                self.refresh.sign(subject, scopes, claims, Some(head.clone()), now, Some(ends_at))?;
            // The family lives as long as verification accepts its head, leeway included.
            let expires_at = exp.saturating_add(self.refresh.leeway_secs());
            Ok((TokenPair { access_token, refresh_token, token_type: "bearer".to_owned() }, head, expires_at))
        };
        sign().map_err(JwtError::into_token_error)
    }
}
