//! [`Claims`] as a [`Credential`]: the bearer token of the request, verified by the app's
//! [`JwtStrategy`] (found through `FromRef`). `Authenticated<Claims>` then checks its scopes
//! against the chain and documents it, as every credential is.

use std::borrow::Cow;

use axum::{extract::FromRef, http::request::Parts};

use super::jwt::{Claims, JwtStrategy};
use crate::{
    error::{AuthError, Challenge},
    security::{Authenticate, Credential, Lifetime, OAuth2Flow, SchemeKind, SecurityScopes},
    transport::{OAuth2PasswordBearer, authorization_credentials},
};

/// Documented as FastAPI documents its tutorial's token: the scheme `OAuth2PasswordBearer`, a
/// password flow posting to `token`. Describe the app's own token URL and scopes with
/// `SecurityDoc::new().scheme::<Claims>(OAuth2PasswordBearer::new::<Scope>("token"))`.
impl Credential for Claims {
    type Principal = Claims;
    const SCHEME_NAME: &'static str = OAuth2PasswordBearer::NAME;

    fn scheme() -> SchemeKind {
        SchemeKind::OAuth2 {
            flows: vec![OAuth2Flow::Password { token_url: "token".into(), refresh_url: None }],
            scopes: Vec::new(),
        }
    }

    fn granted_scopes(claims: &Claims) -> &[String] {
        &claims.scopes
    }

    /// The `Authorization: Bearer` token.
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        bearer(parts)
    }
}

/// Rejects as FastAPI's tutorial does: no bearer token, 401 `Not authenticated` with
/// `WWW-Authenticate: Bearer`; a token that fails verification, 401 `Could not validate
/// credentials` with `WWW-Authenticate: Bearer scope="…"`. Verified by the app's
/// [`JwtStrategy`] wherever the token travels; a connection it opens ends at `exp` (plus the
/// strategy's leeway).
impl<S> Authenticate<S> for Claims
where
    JwtStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn verify(token: &str, state: &S) -> Result<(Claims, Lifetime), AuthError> {
        let strategy = JwtStrategy::from_ref(state);
        // The reason is logged for operators; the client learns only that the credential is bad.
        let claims = strategy.verify(token).map_err(|error| error.into_credentials_error(&SecurityScopes::EMPTY))?;
        let lifetime = Lifetime::until(strategy.valid_until(&claims));
        Ok((claims, lifetime))
    }
}

/// The `Authorization: Bearer` token; without one, 401 `Not authenticated` with `Bearer`.
pub(crate) fn bearer(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
    authorization_credentials(&parts.headers, "Bearer")
        .map(Cow::Borrowed)
        .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })
}
