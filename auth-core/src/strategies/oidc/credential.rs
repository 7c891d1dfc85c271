//! [`ProviderToken`] and [`IntrospectedToken`] as [`Credential`]s: the bearer token of the
//! request, verified by the app's [`OidcStrategy`] or [`IntrospectionStrategy`] (found through
//! `FromRef`). `Authenticated<ProviderToken>` then checks its scopes against the chain, handles
//! `Option<_>` and documents it, as every credential is. Their tokens can also come in a
//! WebSocket subprotocol entry
//! (`SubprotocolToken<ProviderToken>`) or the query, and a connection one opens ends when the
//! token does: at a provider JWT's `exp`, and for an introspected token at its `exp` or when a
//! re-introspection finds it revoked.

use std::borrow::Cow;

use axum::{extract::FromRef, http::request::Parts};

use super::{IntrospectedToken, IntrospectionStrategy, OidcStrategy, ProviderToken};
use crate::{
    error::AuthError,
    security::{Authenticate, Credential, Lifetime, SchemeKind, SecurityScopes},
    strategies::claims_credential::bearer,
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

    /// The `Authorization: Bearer` token.
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        bearer(parts)
    }
}

/// No bearer token: 401 `Not authenticated`, `WWW-Authenticate: Bearer`. A token that fails
/// verification: 401 `Could not validate credentials`. The issuer's keys unavailable: 503.
/// Verified by the app's [`OidcStrategy`] wherever the token travels; a connection it opens
/// ends at the token's `exp`.
impl<S> Authenticate<S> for ProviderToken
where
    OidcStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn verify(token: &str, state: &S) -> Result<(ProviderToken, Lifetime), AuthError> {
        let strategy = OidcStrategy::from_ref(state);
        let verified = strategy.verify(token).await.map_err(|error| error.into_auth_error(&SecurityScopes::EMPTY))?;
        let lifetime = Lifetime::until_unix(verified.claims.exp);
        Ok((verified, lifetime))
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

    /// The `Authorization: Bearer` token.
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        bearer(parts)
    }
}

/// As [`ProviderToken`]'s, with 503 when the introspection endpoint fails. Verified by the
/// app's [`IntrospectionStrategy`] wherever the token travels. A connection it opens ends at
/// the token's `exp` (when the provider says it), and is re-checked: a re-introspection that
/// finds the token inactive ends it, at most the strategy's `cache_ttl` after the revocation
/// plus the connection's re-check interval. An endpoint that does not answer does not end it.
impl<S> Authenticate<S> for IntrospectedToken
where
    IntrospectionStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn verify(token: &str, state: &S) -> Result<(IntrospectedToken, Lifetime), AuthError> {
        let strategy = IntrospectionStrategy::from_ref(state);
        let introspected =
            strategy.verify(token).await.map_err(|error| error.into_auth_error(&SecurityScopes::EMPTY))?;
        let lifetime = match introspected.exp {
            Some(exp) => Lifetime::until_unix(exp),
            None => Lifetime::unbounded(),
        };
        Ok((introspected, lifetime.revocable()))
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
