//! Every backend is a [`Credential`]: `Authenticated<JwtBackend>` reads its transport, verifies
//! with its strategy, and documents it under the backend's name.

use axum::{extract::FromRef, http::request::Parts};

use super::{AuthBackend, Transport};
use crate::{
    error::AuthError,
    security::{Authenticate, Credential, OAuth2Flow, SchemeKind},
    strategies::{Strategy, TokenInfo},
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
}

impl<B: AuthBackend> Credential for B {
    type Principal = Principal;
    const SCHEME_NAME: &'static str = B::NAME;

    fn scheme() -> SchemeKind {
        scheme_of(B::transport(), B::scope_descriptions())
    }

    fn granted_scopes(principal: &Principal) -> &[String] {
        &principal.scopes
    }
}

impl<B, S> Authenticate<S> for B
where
    B: AuthBackend + FromRef<S>,
    S: Send + Sync,
{
    async fn authenticate(parts: &mut Parts, state: &S) -> Result<Principal, AuthError> {
        let backend = B::from_ref(state);
        let token =
            B::transport().read(parts).ok_or(AuthError::NotAuthenticated { challenge: B::transport().challenge() })?;
        match backend.strategy().read_token(&token).await {
            Ok(TokenInfo { subject, scopes }) => Ok(Principal { subject, scopes, backend: B::NAME }),
            Err(error @ (AuthError::Unavailable | AuthError::Internal)) => Err(error),
            Err(_) => Err(AuthError::invalid_credentials()),
        }
    }
}

/// How a transport is documented, with the backend's scopes for OAuth2 flows.
fn scheme_of(transport: &Transport, scopes: Vec<(&'static str, &'static str)>) -> SchemeKind {
    let scopes = scopes.into_iter().map(|(name, description)| (name.into(), description.into())).collect();
    let oauth2 = |flow| SchemeKind::OAuth2 { flows: vec![flow], scopes };
    match transport {
        Transport::Bearer { token_url, refresh_url } => {
            oauth2(OAuth2Flow::Password { token_url: (*token_url).into(), refresh_url: refresh_url.map(Into::into) })
        }
        Transport::HttpBearer { bearer_format } => {
            SchemeKind::HttpBearer { bearer_format: bearer_format.map(Into::into) }
        }
        Transport::OAuth2AuthorizationCode { authorization_url, token_url } => oauth2(OAuth2Flow::AuthorizationCode {
            authorization_url: (*authorization_url).into(),
            token_url: (*token_url).into(),
            refresh_url: None,
        }),
        Transport::OAuth2ClientCredentials { token_url } => {
            oauth2(OAuth2Flow::ClientCredentials { token_url: (*token_url).into(), refresh_url: None })
        }
        Transport::OpenIdConnect { url } => SchemeKind::OpenIdConnect { url: (*url).into() },
        Transport::ApiKey { location, name } => SchemeKind::ApiKey { location: *location, name: (*name).into() },
        Transport::Cookie(options) => {
            SchemeKind::ApiKey { location: crate::security::ApiKeyLocation::Cookie, name: options.name.into() }
        }
    }
}
