//! The one error type of the library, and the one place errors become HTTP responses.
//!
//! Every extractor, strategy and route in auth-core fails with an [`AuthError`]. Its
//! [`IntoResponse`] impl writes FastAPI's bodies and `WWW-Authenticate` headers. The users
//! routes' `UsersError` (feature `users`) picks fastapi-users' status and `detail` and is
//! written by the same function, so every error answer has one shape: `{"detail": …}`, with
//! `WWW-Authenticate` and `Retry-After` where they apply. The error is
//! also stored in the response's extensions, so an app can re-render it in its own style with
//! `axum::middleware::map_response`; [`AuthError::rfc6750`] is such a function, shipped ready to use.

use std::sync::Arc;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::security::SecurityScopes;

/// How a client should authenticate, as announced in `WWW-Authenticate` on a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// `WWW-Authenticate: Bearer` (OAuth2 and HTTP bearer transports).
    Bearer,
    /// `WWW-Authenticate: Basic`, with `realm="…"` when one is configured, and
    /// `charset="UTF-8"` (RFC 7617 §2.1).
    Basic {
        /// The protection space announced to the client.
        realm: Option<String>,
    },
    /// `WWW-Authenticate: APIKey` (API keys in a header, query or cookie, as FastAPI answers).
    ApiKey,
}

impl Challenge {
    /// The header value announcing this challenge, without parameters.
    pub fn header_value(&self) -> String {
        match self {
            Challenge::Bearer => "Bearer".to_owned(),
            Challenge::Basic { realm: None } => "Basic charset=\"UTF-8\"".to_owned(),
            Challenge::Basic { realm: Some(realm) } => {
                format!("Basic realm=\"{}\", charset=\"UTF-8\"", quote_safe(realm))
            }
            Challenge::ApiKey => "APIKey".to_owned(),
        }
    }
}

/// Everything that can go wrong while authenticating or authorising a request.
///
/// Each variant maps to exactly one status and `detail`; see [`AuthError::status`] and the
/// `Display` text, which *is* the `detail`. No variant carries a secret, so rendering one can
/// never leak a token or a password.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential, or one in the wrong scheme: 401.
    #[error("Not authenticated")]
    NotAuthenticated {
        /// What the transport expects.
        challenge: Challenge,
    },
    /// The credential could not be decoded, verified or resolved to a principal: 401.
    #[error("Could not validate credentials")]
    InvalidCredentials {
        /// The scopes required where the failure happened, for `WWW-Authenticate`.
        scopes: SecurityScopes,
    },
    /// The credential is valid but lacks a required scope: 401 (FastAPI) or 403 (RFC 6750).
    #[error("Not enough permissions")]
    InsufficientScope {
        /// Every scope required at the point of the check.
        scopes: SecurityScopes,
    },
    /// A token whose `exp` has passed, where the app asks for this distinction: 401.
    #[error("Token expired")]
    TokenExpired,
    /// A malformed, forged or revoked token, where the app asks for this distinction: 401.
    #[error("Invalid token")]
    InvalidToken,
    /// The principal exists but is disabled: 400, as FastAPI's tutorial answers.
    #[error("Inactive user")]
    InactiveUser,
    /// A login with an unknown username or a wrong password: 400, one message for both.
    #[error("Incorrect username or password")]
    IncorrectLogin,
    /// A form field is missing or invalid: 422, with FastAPI's list of field errors as `detail`.
    #[error("Invalid form")]
    InvalidForm {
        /// One entry per offending field.
        errors: Vec<FieldError>,
    },
    /// A request body over the limit: 413.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// A body sent in another encoding than the endpoint reads: 415.
    #[error("Unsupported media type: send the body as {expected}")]
    UnsupportedMediaType {
        /// The media type the endpoint reads.
        expected: &'static str,
    },
    /// A browser request from another site where the credential is a cookie: a cookie login,
    /// logout or refresh (login CSRF; see
    /// [`CookieOptions::check_origin`](crate::backend::CookieOptions::check_origin)), or a
    /// cookie-authenticated WebSocket upgrade (cross-site WebSocket hijacking; see
    /// [`SameOrigin`](crate::backend::SameOrigin)): 403.
    #[error("Cross-site request refused: this endpoint only accepts requests from its own site")]
    CrossSiteRequest,
    /// The principal may not touch this record: a resource policy denied it. 403, whatever
    /// the answer style (no `WWW-Authenticate`: another token would not help).
    #[error("Not enough permissions")]
    Forbidden,
    /// The record does not exist, or a policy hides it from this principal: 404.
    #[error("Not Found")]
    NotFound,
    /// A token or credential store did not answer in time: 503.
    #[error("Authentication service unavailable")]
    Unavailable,
    /// Too many logins at once: no password hashing thread freed up within the wait limit. 503,
    /// with `Retry-After`.
    #[error("Authentication service busy, retry later")]
    Overloaded {
        /// Seconds the client should wait before retrying, sent as `Retry-After`.
        retry_after: u64,
    },
    /// Too many failed attempts from this client or for this account (a throttled HTTP Basic
    /// login, failed API keys): 429, with `Retry-After`.
    #[error("Too many failed attempts, retry later")]
    TooManyAttempts {
        /// Seconds the client should wait before retrying, sent as `Retry-After`.
        retry_after: u64,
    },
    /// A server-side fault (misconfiguration, a failed hash): 500, with no detail leaked.
    #[error("Internal server error")]
    Internal,
    /// `error`, a bad credential whose scheme is not `Bearer` (an API key, HTTP Basic): 401,
    /// answered with that credential's own `challenge` rather than a `Bearer` one.
    /// [`Authenticated`](crate::Authenticated) makes it from the credential's
    /// [`Credential::challenge`](crate::Credential::challenge): a credential never builds it.
    #[error("{error}")]
    Challenged {
        /// What went wrong.
        error: Box<AuthError>,
        /// What the credential's scheme announces.
        challenge: Challenge,
    },
}

impl AuthError {
    /// A credential that is present but bad: 401 `Could not validate credentials`. A
    /// credential's [`Authenticate`](crate::Authenticate) returns it; the extractor fills in
    /// the scopes in force, which `WWW-Authenticate` announces.
    pub fn invalid_credentials() -> Self {
        AuthError::InvalidCredentials { scopes: SecurityScopes::EMPTY }
    }

    /// The error as raised at the request's current point of the chain: a credential failure
    /// announces the scopes in force there, unless it names scopes already.
    pub(crate) fn in_chain(self, parts: &axum::http::request::Parts) -> Self {
        match self {
            AuthError::InvalidCredentials { scopes } if scopes.is_empty() => {
                AuthError::InvalidCredentials { scopes: SecurityScopes::current(parts) }
            }
            other => other,
        }
    }

    /// The HTTP status this error is answered with in the default (FastAPI) style.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::NotAuthenticated { .. }
            | AuthError::InvalidCredentials { .. }
            | AuthError::InsufficientScope { .. }
            | AuthError::TokenExpired
            | AuthError::InvalidToken => StatusCode::UNAUTHORIZED,
            AuthError::InactiveUser | AuthError::IncorrectLogin => StatusCode::BAD_REQUEST,
            AuthError::InvalidForm { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AuthError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AuthError::CrossSiteRequest | AuthError::Forbidden => StatusCode::FORBIDDEN,
            AuthError::NotFound => StatusCode::NOT_FOUND,
            AuthError::Unavailable | AuthError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::Challenged { error, .. } => error.status(),
        }
    }

    /// The `WWW-Authenticate` value FastAPI sends with this error, if any.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            AuthError::NotAuthenticated { challenge } => Some(challenge.header_value()),
            AuthError::InvalidCredentials { scopes } | AuthError::InsufficientScope { scopes } => {
                Some(bearer_with_scope(scopes, None))
            }
            AuthError::TokenExpired | AuthError::InvalidToken => Some("Bearer".to_owned()),
            AuthError::Challenged { challenge, .. } => Some(challenge.header_value()),
            _ => None,
        }
    }

    /// Renders the error in RFC 6750 style: `error="invalid_token"` on credential failures, and
    /// 403 with `error="insufficient_scope"` when a scope is missing. Bodies stay `{"detail"}`.
    pub fn to_rfc6750_response(&self) -> Response {
        let (status, challenge) = match self {
            AuthError::InvalidCredentials { scopes } => {
                (StatusCode::UNAUTHORIZED, Some(bearer_with_scope(scopes, Some("invalid_token"))))
            }
            AuthError::TokenExpired | AuthError::InvalidToken => {
                (StatusCode::UNAUTHORIZED, Some(bearer_with_scope(&SecurityScopes::default(), Some("invalid_token"))))
            }
            AuthError::InsufficientScope { scopes } => {
                (StatusCode::FORBIDDEN, Some(bearer_with_scope(scopes, Some("insufficient_scope"))))
            }
            _ => (self.status(), self.www_authenticate()),
        };
        self.render(status, challenge)
    }

    /// Re-renders any [`AuthError`] response in RFC 6750 style; use it as
    /// `router.layer(axum::middleware::map_response(auth_core::AuthError::rfc6750))`.
    ///
    /// Challenge parameters a layer added (RFC 9728's `resource_metadata`) are kept, whichever of
    /// the two layers is outside.
    pub async fn rfc6750(response: Response) -> Response {
        let Some(error) = response.extensions().get::<AuthError>() else { return response };
        let mut rendered = error.to_rfc6750_response();
        if let Some(ChallengeParams(params)) = response.extensions().get::<ChallengeParams>() {
            for (name, value) in params {
                add_challenge_param(&mut rendered, name, value);
            }
        }
        rendered
    }

    fn render(&self, status: StatusCode, challenge: Option<String>) -> Response {
        let retry_after = match self {
            AuthError::Overloaded { retry_after } | AuthError::TooManyAttempts { retry_after } => Some(*retry_after),
            _ => None,
        };
        let mut response = match self {
            AuthError::InvalidForm { errors } => respond(status, errors, challenge.as_deref(), retry_after),
            other => respond(status, other.to_string(), challenge.as_deref(), retry_after),
        };
        response.extensions_mut().insert(self.clone());
        response
    }
}

/// Writes an error answer: `status`, the body `{"detail": detail}`, and `WWW-Authenticate` and
/// `Retry-After` when given. Every error answer of auth-core is written here.
pub(crate) fn respond(
    status: StatusCode,
    detail: impl serde::Serialize,
    challenge: Option<&str>,
    retry_after: Option<u64>,
) -> Response {
    #[derive(serde::Serialize)]
    struct Body<T> {
        detail: T,
    }
    let mut response = (status, Json(Body { detail })).into_response();
    if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(retry_after) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    }
    response
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        if matches!(self, AuthError::Internal) {
            tracing::error!("authentication failed with an internal error");
        }
        self.render(self.status(), self.www_authenticate())
    }
}

/// One invalid field of a request body, rendered as FastAPI (pydantic) renders it:
/// `{"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": null}`.
///
/// The offending input is never echoed back: it may be a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The pydantic error type, e.g. `missing` or `string_pattern_mismatch`.
    pub kind: &'static str,
    /// The field's name in the body.
    pub field: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl serde::Serialize for FieldError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("type", self.kind)?;
        map.serialize_entry("loc", &["body", self.field])?;
        map.serialize_entry("msg", &self.message)?;
        map.serialize_entry("input", &serde_json::Value::Null)?;
        map.end()
    }
}

/// Auth-params added to a response's `Bearer` challenges after it was rendered, remembered so
/// that a re-rendering ([`AuthError::rfc6750`]) adds them again.
#[derive(Debug, Clone, Default)]
struct ChallengeParams(Vec<(&'static str, Arc<str>)>);

/// Adds `name="value"` to every `Bearer` challenge of the response (`Bearer` becomes
/// `Bearer name="value"`, `Bearer scope="me"` becomes `Bearer scope="me", name="value"`), once.
/// Responses without a `Bearer` challenge are left as they are.
pub(crate) fn add_challenge_param(response: &mut Response, name: &'static str, value: &Arc<str>) {
    let values: Vec<HeaderValue> = response.headers().get_all(header::WWW_AUTHENTICATE).iter().cloned().collect();
    let mut changed = false;
    let rewritten: Vec<HeaderValue> = values
        .into_iter()
        .map(|challenge| {
            let Ok(text) = challenge.to_str() else { return challenge };
            let is_bearer = text.get(..6).is_some_and(|scheme| scheme.eq_ignore_ascii_case("Bearer"))
                && matches!(text.as_bytes().get(6), None | Some(b' '));
            let param = format!("{name}=\"{}\"", quote_safe(value));
            if !is_bearer || text.contains(&param) {
                return challenge;
            }
            let separator = if text.len() == 6 { " " } else { ", " };
            match HeaderValue::from_str(&format!("{text}{separator}{param}")) {
                Ok(value) => {
                    changed = true;
                    value
                }
                Err(_) => challenge,
            }
        })
        .collect();
    if !changed {
        return;
    }
    let headers = response.headers_mut();
    headers.remove(header::WWW_AUTHENTICATE);
    for value in rewritten {
        headers.append(header::WWW_AUTHENTICATE, value);
    }
    let params = response.extensions_mut().get_or_insert_default::<ChallengeParams>();
    if !params.0.iter().any(|(known, _)| *known == name) {
        params.0.push((name, Arc::clone(value)));
    }
}

/// `Bearer`, or `Bearer scope="a b"` when scopes are required, as FastAPI's tutorial writes it.
fn bearer_with_scope(scopes: &SecurityScopes, error: Option<&str>) -> String {
    let mut params = Vec::new();
    if let Some(error) = error {
        params.push(format!("error=\"{error}\""));
    }
    if !scopes.is_empty() {
        params.push(format!("scope=\"{}\"", quote_safe(&scopes.scope_str())));
    }
    if params.is_empty() { "Bearer".to_owned() } else { format!("Bearer {}", params.join(", ")) }
}

/// Keeps a quoted-string parameter well formed: scope-tokens never contain `"` or `\`, realms might.
fn quote_safe(value: &str) -> String {
    value.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect()
}

#[cfg(test)]
mod resource_error_tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.expect("a small body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn a_denied_record_is_403_and_a_missing_one_404_in_both_styles() {
        for (error, status, detail) in [
            (AuthError::Forbidden, StatusCode::FORBIDDEN, r#"{"detail":"Not enough permissions"}"#),
            (AuthError::NotFound, StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#),
        ] {
            for response in [error.clone().into_response(), error.to_rfc6750_response()] {
                assert_eq!(response.status(), status);
                assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none(), "{error:?}");
                assert_eq!(body(response).await, detail);
            }
        }
        // The scope failure keeps its own wire format: 401 with a challenge (403 in RFC 6750 style).
        let scope = AuthError::InsufficientScope { scopes: SecurityScopes::new(&["notes:write"]) };
        assert_eq!(scope.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(scope.to_rfc6750_response().status(), StatusCode::FORBIDDEN);
    }
}
