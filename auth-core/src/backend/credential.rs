//! Every backend is a [`Credential`]: `Authenticated<JwtBackend>` reads its transport, verifies
//! with its strategy, and documents it under the backend's name. Its tokens can also travel in
//! a WebSocket subprotocol entry or the query.

use std::borrow::Cow;

use axum::{extract::FromRef, http::request::Parts};

use super::{AuthBackend, Transport};
use crate::{
    error::{AuthError, Challenge},
    security::{ApiKeyLocation, Authenticate, Credential, Lifetime, SchemeKind},
    strategies::{Strategy, TokenInfo},
    transport::{check_same_origin, is_upgrade},
};

/// Who made the request, and through which backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The strategy's subject: a username or user id.
    pub subject: String,
    /// The scopes the credential grants.
    pub scopes: Vec<String>,
    /// The name of the backend that authenticated the request.
    pub backend: &'static str,
    /// When the token was issued, if its strategy knows ([`TokenInfo::issued_at`](crate::strategies::TokenInfo::issued_at)):
    /// what ends a user's sessions at a password change.
    pub issued_at: Option<std::time::SystemTime>,
}

impl<B: AuthBackend> Credential for B {
    type Principal = Principal;
    const SCHEME_NAME: &'static str = B::NAME;

    fn scheme() -> SchemeKind {
        B::transport().scheme(B::scope_descriptions())
    }

    fn granted_scopes(principal: &Principal) -> &[String] {
        &principal.scopes
    }

    /// What the backend's transport announces.
    fn challenge() -> Challenge {
        B::transport().challenge()
    }

    /// The token, as the backend's transport carries it. A cookie (an ambient credential,
    /// which the browser sends whichever site opens the socket) upgrades a connection only for
    /// a page of the site itself or of an allowed origin: cross-site WebSocket hijacking is
    /// refused (403).
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        read::<B>(parts).map(Cow::Owned)
    }
}

/// The backend's token, as its transport carries it.
fn read<B: AuthBackend>(parts: &Parts) -> Result<String, AuthError> {
    let token =
        B::transport().read(parts).ok_or(AuthError::NotAuthenticated { challenge: B::transport().challenge() })?;
    if is_upgrade(parts) {
        match B::transport() {
            Transport::Cookie(options) => options.check_origin(parts)?,
            Transport::ApiKey { location: ApiKeyLocation::Cookie, .. } => check_same_origin(parts, &[])?,
            _ => {}
        }
    }
    Ok(token)
}

/// A backend's tokens are verified by its strategy, wherever they travel. A strategy that can
/// revoke tokens before they expire (a logout deletes the row, the key, or lists the JWT) is
/// re-checked while a connection the token opened stays open.
impl<B, S> Authenticate<S> for B
where
    B: AuthBackend + FromRef<S>,
    S: Send + Sync,
{
    async fn verify(token: &str, state: &S) -> Result<(Principal, Lifetime), AuthError> {
        let backend = B::from_ref(state);
        principal::<B>(backend.strategy().read_token(token).await)
    }

    async fn verify_request(parts: &Parts, token: &str, state: &S) -> Result<(Principal, Lifetime), AuthError> {
        let backend = B::from_ref(state);
        principal::<B>(backend.strategy().read_token_from(token, parts).await)
    }
}

/// The principal of what backend `B`'s strategy read.
fn principal<B: AuthBackend>(read: Result<TokenInfo, AuthError>) -> Result<(Principal, Lifetime), AuthError> {
    let TokenInfo { subject, scopes, issued_at, expires_at } = read.map_err(credentials_error)?;
    let lifetime = match expires_at {
        Some(at) => Lifetime::until(at),
        None => Lifetime::unknown(),
    };
    let lifetime = if B::Strategy::REVOCABLE { lifetime.revocable() } else { lifetime };
    Ok((Principal { subject, scopes, backend: B::NAME, issued_at }, lifetime))
}

/// A store outage stays what it is, and so does a throttled client; every other failure of the
/// strategy is a bad credential.
fn credentials_error(error: AuthError) -> AuthError {
    match error {
        AuthError::Unavailable | AuthError::Internal | AuthError::TooManyAttempts { .. } => error,
        _ => AuthError::invalid_credentials(),
    }
}
