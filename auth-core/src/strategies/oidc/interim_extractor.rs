//! INTERIM, to be replaced when the typed security model (issue 11) lands: [`ProviderToken`] and
//! [`IntrospectedToken`] as extractors, written exactly as the `Claims` extractor is today
//! (`strategies/verified.rs`), with their OpenAPI description as today's (`DocumentedSecurity`,
//! and an `openIdConnect` scheme for `SecurityDoc`), so that handlers, tests and the
//! `resource_server` example can use them now.
//!
//! Port: delete this file and implement `Credential` + `Authenticate<S>` for both types (the
//! bodies of `verify_*` below become `authenticate`; `granted_scopes` is `&principal.claims.scopes`
//! / `&principal.scopes`; the scheme is `openIdConnect` with the discovery URL of
//! [`OidcStrategy::discovery_url`]). Handlers then take `Authenticated<ProviderToken>` and get
//! enforcement, `Option` and OpenAPI from the model.

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::{IntrospectedToken, IntrospectionStrategy, OidcStrategy, ProviderToken};
use crate::{
    error::{AuthError, Challenge},
    openapi::{BEARER, DocumentedSecurity, SecurityCollector},
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

impl DocumentedSecurity for ProviderToken {
    fn collect_security(out: &mut SecurityCollector) {
        out.transport(BEARER);
    }
}

impl DocumentedSecurity for IntrospectedToken {
    fn collect_security(out: &mut SecurityCollector) {
        out.transport(BEARER);
    }
}

/// An OpenAPI `openIdConnect` security scheme: the provider's discovery URL, from which Swagger
/// UI and client generators read the endpoints and flows. Documents the bearer tokens of
/// [`ProviderToken`] and [`IntrospectedToken`] extractors.
#[cfg(feature = "openapi")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIdConnectScheme {
    name: String,
    url: String,
}

#[cfg(feature = "openapi")]
impl OpenIdConnectScheme {
    /// The scheme `name`, pointing at `discovery_url`.
    pub fn new(name: impl Into<String>, discovery_url: impl Into<String>) -> Self {
        Self { name: name.into(), url: discovery_url.into() }
    }
}

#[cfg(feature = "openapi")]
impl crate::openapi::DocumentedScheme for OpenIdConnectScheme {
    fn scheme_name(&self) -> &str {
        &self.name
    }

    fn transport(&self) -> &'static str {
        BEARER
    }

    fn to_scheme(&self) -> utoipa::openapi::security::SecurityScheme {
        utoipa::openapi::security::SecurityScheme::OpenIdConnect(utoipa::openapi::security::OpenIdConnect::new(
            &self.url,
        ))
    }
}

#[cfg(feature = "openapi")]
impl OidcStrategy {
    /// This strategy as an `openIdConnect` scheme named `name`, pointing at its first issuer's
    /// discovery document.
    pub fn openid_connect_scheme(&self, name: impl Into<String>) -> OpenIdConnectScheme {
        let issuer = self.issuers().next().unwrap_or_default();
        OpenIdConnectScheme::new(name, Self::discovery_url(issuer))
    }
}
