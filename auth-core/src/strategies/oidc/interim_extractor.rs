//! INTERIM, to be replaced when the typed security model (issue 11) lands: [`ProviderToken`] and
//! [`IntrospectedToken`] as extractors, written exactly as the `Claims` extractor is today
//! (`strategies/verified.rs`), so that handlers and tests can use them now.
//!
//! Port: delete this file and implement `Credential` + `Authenticate<S>` for both types (the
//! bodies of `verify` below become `authenticate`; `granted_scopes` is `&principal.claims.scopes`
//! / `&principal.scopes`; the scheme is `openIdConnect` with the discovery URL). Handlers then
//! take `Authenticated<ProviderToken>` and get enforcement, `Option` and OpenAPI from the model.

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::{IntrospectedToken, IntrospectionStrategy, OidcStrategy, ProviderToken};
use crate::{
    error::{AuthError, Challenge},
    schemes::authorization_credentials,
    scopes::{SecurityScopes, enforce},
};

async fn verify_provider_token<S>(parts: &Parts, state: &S) -> Result<Option<ProviderToken>, AuthError>
where
    OidcStrategy: FromRef<S>,
{
    let Some(token) = authorization_credentials(&parts.headers, "Bearer") else { return Ok(None) };
    let strategy = OidcStrategy::from_ref(state);
    strategy.verify(token).await.map(Some).map_err(|error| error.into_auth_error(&SecurityScopes::current(parts)))
}

/// 401 `Not authenticated` without a bearer token; 401 `Could not validate credentials` for a
/// token that fails verification; 503 when the issuer's keys cannot be had; the chain's scopes
/// enforced as for every credential.
impl<S> FromRequestParts<S> for ProviderToken
where
    OidcStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = verify_provider_token(parts, state)
            .await?
            .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        enforce(parts, token.scopes())?;
        Ok(token)
    }
}

/// `Option<ProviderToken>` never rejects.
impl<S> OptionalFromRequestParts<S> for ProviderToken
where
    OidcStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let token = verify_provider_token(parts, state).await.ok().flatten();
        let required = SecurityScopes::current(parts);
        Ok(token.filter(|token| required.is_satisfied_by(token.scopes())))
    }
}

async fn verify_introspected<S>(parts: &Parts, state: &S) -> Result<Option<IntrospectedToken>, AuthError>
where
    IntrospectionStrategy: FromRef<S>,
{
    let Some(token) = authorization_credentials(&parts.headers, "Bearer") else { return Ok(None) };
    let strategy = IntrospectionStrategy::from_ref(state);
    strategy.verify(token).await.map(Some).map_err(|error| error.into_auth_error(&SecurityScopes::current(parts)))
}

/// As [`ProviderToken`]'s, with 503 when the introspection endpoint fails.
impl<S> FromRequestParts<S> for IntrospectedToken
where
    IntrospectionStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = verify_introspected(parts, state)
            .await?
            .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        enforce(parts, &token.scopes)?;
        Ok(token)
    }
}

/// `Option<IntrospectedToken>` never rejects.
impl<S> OptionalFromRequestParts<S> for IntrospectedToken
where
    IntrospectionStrategy: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let token = verify_introspected(parts, state).await.ok().flatten();
        let required = SecurityScopes::current(parts);
        Ok(token.filter(|token| required.is_satisfied_by(&token.scopes)))
    }
}
