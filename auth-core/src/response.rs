//! Responses that carry a token, and the headers that keep them out of every cache.
//!
//! RFC 6749 §5.1: an authorization server's response holding a token must carry
//! `Cache-Control: no-store` and `Pragma: no-cache`, or a proxy, a CDN or the browser's back
//! button can hand the token to someone else. Every token response auth-core writes goes through
//! [`NoStore`]: [`TokenResponse`] (the password flow's `{"access_token", "token_type"}`),
//! [`TokenPair`](crate::strategies::refresh::TokenPair) (access + refresh) and a backend's login
//! (the token in JSON or in `Set-Cookie`). Return one of them from a token endpoint and the headers
//! are there; nothing to remember.
//!
//! ```
//! use auth_core::response::TokenResponse;
//! use axum::response::IntoResponse;
//!
//! let response = TokenResponse::bearer("eyJ…").into_response();
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! assert_eq!(response.headers()["pragma"], "no-cache");
//! ```

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// Wraps any response that carries a token and adds `Cache-Control: no-store` and
/// `Pragma: no-cache` to it (RFC 6749 §5.1), replacing any caching headers it had.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        forbid_caching(&mut response);
        response
    }
}

/// Marks `response` as never to be stored by any cache.
pub(crate) fn forbid_caching(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The token endpoint's answer in the OAuth2 password flow, as FastAPI's tutorial writes it:
/// `{"access_token": "…", "token_type": "bearer"}`, served with `Cache-Control: no-store` and
/// `Pragma: no-cache`.
///
/// Documented in OpenAPI as the schema `Token`, FastAPI's name for it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = Token, description = "An access token, as the OAuth2 password flow answers it.")
)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// The token type: `bearer`.
    pub token_type: String,
}

impl TokenResponse {
    /// A bearer token response.
    pub fn bearer(access_token: impl Into<String>) -> Self {
        Self { access_token: access_token.into(), token_type: "bearer".to_owned() }
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        NoStore(Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_are_never_cached_and_never_debug_printed() {
        let response = TokenResponse::bearer("secret-token");
        assert!(!format!("{response:?}").contains("secret-token"));
        let response = response.into_response();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");

        let cached = ([(header::CACHE_CONTROL, "public, max-age=3600")], "token");
        let response = NoStore(cached).into_response();
        assert_eq!(response.headers().get_all(header::CACHE_CONTROL).iter().count(), 1);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
