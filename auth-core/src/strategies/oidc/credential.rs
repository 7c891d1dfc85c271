//! [`ProviderToken`] and [`IntrospectedToken`] as [`Credential`]s: the bearer token of the
//! request, verified by the app's [`OidcStrategy`] or [`IntrospectionStrategy`] (found through
//! `FromRef`). `Authenticated<ProviderToken>` then checks its scopes against the chain, handles
//! `Option<_>` and documents it, as every credential is.

use axum::{extract::FromRef, http::request::Parts};

use super::{IntrospectedToken, IntrospectionStrategy, OidcStrategy, ProviderToken};
use crate::{
    error::{AuthError, Challenge},
    security::{Authenticate, Credential, SchemeKind, SecurityScopes},
    transport::authorization_credentials,
};

/// Documented as an HTTP bearer JWT under the name `OpenIdConnect` until the app says where
/// its provider is: `SecurityDoc::new().scheme::<ProviderToken>(idp.openapi_scheme())` makes it
/// an `openIdConnect` scheme with the discovery URL, which Swagger UI and client generators
/// read the provider's endpoints from.
impl Credential for ProviderToken {
    type Principal = ProviderToken;
    const SCHEME_NAME: &'static str = "OpenIdConnect";

    fn scheme() -> SchemeKind {
        SchemeKind::HttpBearer { bearer_format: Some("JWT".into()) }
    }

    fn granted_scopes(token: &ProviderToken) -> &[String] {
        &token.claims.scopes
    }
}

/// No bearer token: 401 `Not authenticated`, `WWW-Authenticate: Bearer`. A token that fails
/// verification: 401 `Could not validate credentials`. The issuer's keys unavailable: 503.
impl<S> Authenticate<S> for ProviderToken
where
    OidcStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn authenticate(parts: &mut Parts, state: &S) -> Result<ProviderToken, AuthError> {
        let token = authorization_credentials(&parts.headers, "Bearer")
            .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        let strategy = OidcStrategy::from_ref(state);
        strategy.verify(token).await.map_err(|error| error.into_auth_error(&SecurityScopes::EMPTY))
    }
}

/// Documented as an HTTP bearer token under the name `IntrospectedToken`; describe it otherwise
/// with `SecurityDoc::scheme::<IntrospectedToken>(…)`.
impl Credential for IntrospectedToken {
    type Principal = IntrospectedToken;
    const SCHEME_NAME: &'static str = "IntrospectedToken";

    fn scheme() -> SchemeKind {
        SchemeKind::HttpBearer { bearer_format: None }
    }

    fn granted_scopes(token: &IntrospectedToken) -> &[String] {
        &token.scopes
    }
}

/// As [`ProviderToken`]'s, with 503 when the introspection endpoint fails.
impl<S> Authenticate<S> for IntrospectedToken
where
    IntrospectionStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn authenticate(parts: &mut Parts, state: &S) -> Result<IntrospectedToken, AuthError> {
        let token = authorization_credentials(&parts.headers, "Bearer")
            .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })?;
        let strategy = IntrospectionStrategy::from_ref(state);
        strategy.verify(token).await.map_err(|error| error.into_auth_error(&SecurityScopes::EMPTY))
    }
}

impl OidcStrategy {
    /// The `openIdConnect` scheme of this strategy's first issuer (its discovery URL), for
    /// `SecurityDoc::new().scheme::<ProviderToken>(idp.openapi_scheme())`.
    pub fn openapi_scheme(&self) -> SchemeKind {
        let issuer = self.issuers().next().unwrap_or_default();
        SchemeKind::OpenIdConnect { url: Self::discovery_url(issuer).into() }
    }
}
