//! [`Claims`] as an extractor: the bearer token of the request, verified, with its scopes
//! checked against every scope required at this point of the dependency chain.

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::jwt::{Claims, JwtStrategy};
use crate::{
    error::{AuthError, Challenge},
    schemes::authorization_credentials,
    scopes::{SecurityScopes, enforce},
};

fn verify<S>(parts: &Parts, state: &S) -> Result<Option<Claims>, AuthError>
where
    JwtStrategy: FromRef<S>,
{
    let Some(token) = authorization_credentials(&parts.headers, "Bearer") else { return Ok(None) };
    JwtStrategy::from_ref(state).verify(token).map(Some).map_err(|error| {
        // The reason is for operators; the client learns only that the credential is bad.
        tracing::debug!(%error, "rejected a bearer token");
        error.into_credentials_error(&SecurityScopes::current(parts))
    })
}

/// Rejects as FastAPI's tutorial does:
/// - no bearer token: 401 `Not authenticated`, `WWW-Authenticate: Bearer`;
/// - a token that fails verification: 401 `Could not validate credentials`,
///   `WWW-Authenticate: Bearer scope="…"`;
/// - a valid token lacking a required scope: 401 `Not enough permissions` — raised when the
///   enclosing dependency returns (see [`enforce`]).
impl<S> FromRequestParts<S> for Claims
where
    JwtStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = verify(parts, state)?.ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        enforce(parts, &claims.scopes)?;
        Ok(claims)
    }
}

/// `Option<Claims>` never rejects: no token, a bad token and a token lacking a required scope
/// are all `None`.
impl<S> OptionalFromRequestParts<S> for Claims
where
    JwtStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let claims = verify(parts, state).ok().flatten();
        let required = SecurityScopes::current(parts);
        Ok(claims.filter(|claims| required.is_satisfied_by(&claims.scopes)))
    }
}
