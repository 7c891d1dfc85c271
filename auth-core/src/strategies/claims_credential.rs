//! [`Claims`] as a [`Credential`]: the bearer token of the request, verified by the app's
//! [`JwtStrategy`] (found through `FromRef`). `Authenticated<Claims>` then checks its scopes
//! against the chain and documents it, as every credential is.

use axum::{extract::FromRef, http::request::Parts};

use super::jwt::{Claims, JwtStrategy};
use crate::{
    error::{AuthError, Challenge},
    security::{Authenticate, Credential, Lifetime, OAuth2Flow, SchemeKind, SecurityScopes},
    transport::{OAuth2PasswordBearer, TokenCredential, authorization_credentials},
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
}

/// Rejects as FastAPI's tutorial does: no bearer token, 401 `Not authenticated` with
/// `WWW-Authenticate: Bearer`; a token that fails verification, 401 `Could not validate
/// credentials` with `WWW-Authenticate: Bearer scope="…"`.
impl<S> Authenticate<S> for Claims
where
    JwtStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn authenticate(parts: &mut Parts, state: &S) -> Result<Claims, AuthError> {
        Claims::verify_token(bearer(parts)?, state).await
    }

    async fn authenticate_with_lifetime(parts: &mut Parts, state: &S) -> Result<(Claims, Lifetime), AuthError> {
        Claims::verify_token_with_lifetime(bearer(parts)?, state).await
    }
}

fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    authorization_credentials(&parts.headers, "Bearer")
        .ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })
}

/// Verified by the app's [`JwtStrategy`] wherever the token travels; a connection it opens
/// ends at `exp` (plus the strategy's leeway).
impl<S> TokenCredential<S> for Claims
where
    JwtStrategy: FromRef<S>,
    S: Send + Sync,
{
    async fn verify_token(token: &str, state: &S) -> Result<Claims, AuthError> {
        // The reason is logged for operators; the client learns only that the credential is bad.
        JwtStrategy::from_ref(state).verify(token).map_err(|error| error.into_credentials_error(&SecurityScopes::EMPTY))
    }

    async fn verify_token_with_lifetime(token: &str, state: &S) -> Result<(Claims, Lifetime), AuthError> {
        let strategy = JwtStrategy::from_ref(state);
        let claims = strategy.verify(token).map_err(|error| error.into_credentials_error(&SecurityScopes::EMPTY))?;
        let lifetime = Lifetime::until(strategy.valid_until(&claims));
        Ok((claims, lifetime))
    }
}
