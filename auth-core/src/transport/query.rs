//! A token in the `access_token` query parameter (RFC 6750 §2.3): for clients that can set
//! neither a header nor a subprotocol. Off unless a handler names it.

use std::{borrow::Cow, marker::PhantomData};

use axum::http::request::Parts;

use super::MAX_CREDENTIAL_LEN;
use crate::security::{ApiKeyLocation, SchemeKind};

/// The query parameter that carries a token, as RFC 6750 §2.3 names it.
pub(crate) const TOKEN_QUERY_PARAMETER: &str = "access_token";

/// The token of credential `C` (a backend, `Claims`, any credential) in the query: `?access_token=<token>`
/// (RFC 6750 §2.3).
///
/// **Off by default:** no other credential reads the query; a handler accepts a token there
/// only if it names `QueryToken<C>`, e.g. `Authenticated<(SubprotocolToken<B>, QueryToken<B>)>`.
/// Prefer the header or [`SubprotocolToken`](super::SubprotocolToken): a URL is written to
/// access logs, proxy logs and browser history, and RFC 6750 advises against it. auth-core
/// never logs a URI or a token; log yours without the query (or with `access_token` redacted),
/// including in a `TraceLayer`'s request span.
///
/// Verified by `C`'s own [`Authenticate::verify`](crate::Authenticate::verify), yielding `C`'s principal, with `C`'s scopes.
/// Documented in OpenAPI as the API key scheme `QueryToken`, in the query parameter
/// `access_token`. No parameter (or two, which is ambiguous) is "not authenticated", with
/// `WWW-Authenticate: Bearer`.
pub struct QueryToken<C>(PhantomData<fn() -> C>);

crate::macros::token_carrier!(
    QueryToken,
    SchemeKind::ApiKey { location: ApiKeyLocation::Query, name: TOKEN_QUERY_PARAMETER.into() },
    |parts| query_token(parts).map(Cow::Owned)
);

/// The one non-empty `access_token` parameter, percent-decoded; `None` when there is none, two,
/// or an overlong one.
fn query_token(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    let mut values =
        form_urlencoded::parse(query.as_bytes()).filter(|(name, _)| name == TOKEN_QUERY_PARAMETER).map(|(_, v)| v);
    let value = values.next()?;
    if values.next().is_some() || value.is_empty() || value.len() > MAX_CREDENTIAL_LEN {
        return None;
    }
    Some(value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn token(uri: &str) -> Option<String> {
        query_token(&Request::get(uri).body(()).unwrap().into_parts().0)
    }

    #[test]
    fn reads_the_one_access_token() {
        assert_eq!(token("/ws?access_token=a.b.c").as_deref(), Some("a.b.c"));
        assert_eq!(token("/ws?room=1&access_token=a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(token("/ws"), None);
        assert_eq!(token("/ws?access_token="), None);
        assert_eq!(token("/ws?access_token=a&access_token=b"), None);
        assert_eq!(token("/ws?token=a"), None);
    }
}
