//! The `Authorization: <scheme> <credentials>` header, as RFC 9110 §11.6.2 writes it.

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, header, request::Parts},
};

use crate::error::{AuthError, Challenge};

/// Longest `Authorization` value we look at; anything longer is not a credential of ours.
const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

/// The credentials of the request's `Authorization` header, if it uses `scheme`.
///
/// The scheme matches case-insensitively (`Bearer`, `bearer`, `BEARER`). Spaces between the
/// scheme and the credentials are skipped. Returns `None`, meaning "not authenticated", when the
/// header is missing, repeated, not visible ASCII, longer than 16 KiB, in another scheme, or
/// has empty credentials.
pub fn authorization_credentials<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() || value.len() > MAX_AUTHORIZATION_LEN {
        // Two headers make "which one counts" ambiguous between proxies and us: accept neither.
        return None;
    }
    let value = value.to_str().ok()?;
    let (given, credentials) = value.split_once(' ')?;
    if !given.eq_ignore_ascii_case(scheme) {
        return None;
    }
    let credentials = credentials.trim_matches(' ');
    (!credentials.is_empty()).then_some(credentials)
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
///
/// Rejects with 401 `{"detail":"Not authenticated"}` and `WWW-Authenticate: Bearer` when there
/// is no bearer token; `Option<BearerToken>` never rejects. The token is not verified here:
/// that is a strategy's job. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(pub String);

impl BearerToken {
    /// The raw token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_parts(parts: &Parts) -> Option<Self> {
        authorization_credentials(&parts.headers, "Bearer").map(|token| Self(token.to_owned()))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts).ok_or(AuthError::NotAuthenticated { challenge: Challenge::Bearer })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for BearerToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn credentials(values: &[&[u8]]) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        authorization_credentials(&headers, "Bearer").map(str::to_owned)
    }

    #[test]
    fn parses_the_bearer_scheme_case_insensitively() {
        assert_eq!(credentials(&[b"Bearer abc"]).as_deref(), Some("abc"));
        assert_eq!(credentials(&[b"bearer abc"]).as_deref(), Some("abc"));
        assert_eq!(credentials(&[b"BEARER abc"]).as_deref(), Some("abc"));
        assert_eq!(credentials(&[b"Bearer   abc  "]).as_deref(), Some("abc"));
    }

    #[test]
    fn everything_else_is_not_authenticated() {
        for bad in [
            &b""[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer    ",
            b"Notexistent x",
            b"Basic abc",
            b"Bearer\tabc",
            b"Bearerabc",
        ] {
            assert_eq!(credentials(&[bad]), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(credentials(&[]), None);
        assert_eq!(credentials(&[b"Bearer a", b"Bearer b"]), None);
        assert_eq!(credentials(&[b"Bearer \xff\xfe"]), None);
        assert_eq!(credentials(&[format!("Bearer {}", "a".repeat(64 * 1024)).as_bytes()]), None);
    }
}
