//! A token in a `Sec-WebSocket-Protocol` entry, `bearer.<token>`: how a browser, which cannot
//! set headers on a WebSocket, sends a bearer token with the upgrade.

use std::{borrow::Cow, marker::PhantomData};

use axum::http::{HeaderMap, header};

use super::MAX_CREDENTIAL_LEN;
use crate::security::{ApiKeyLocation, SchemeKind};

/// The prefix of the subprotocol entry that carries a token: `bearer.<token>`.
pub(crate) const TOKEN_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// The token of credential `C` (a backend, `Claims`, any credential), carried in a `Sec-WebSocket-Protocol`
/// entry `bearer.<token>` of a WebSocket upgrade, beside the app's real subprotocol:
///
/// ```js
/// new WebSocket("wss://example.com/chat", ["chat.v1", "bearer." + token]);
/// ```
///
/// A browser cannot set `Authorization` on a WebSocket, and a token in the URL ends up in
/// logs; a subprotocol entry is a header that no one logs. Send the app's subprotocol too:
/// browsers fail a handshake whose response names no subprotocol when the request offered
/// some. The server never echoes the token entry: `auth_core::websocket::WebSocketUpgrade`
/// hides it from the app's protocol negotiation, so the response names the app's subprotocol,
/// or none when only the token entry was sent.
///
/// Verified by `C`'s own [`Authenticate::verify`](crate::Authenticate::verify), yielding `C`'s principal, with `C`'s scopes:
/// `Authenticated<(SubprotocolToken<JwtBackend>, JwtBackend)>` takes the token from the
/// subprotocol, or else from the `Authorization` header. Documented in OpenAPI as the API key
/// scheme `SubprotocolToken`, in the header `Sec-WebSocket-Protocol`.
///
/// No entry (or two, which is ambiguous) is "not authenticated", with `WWW-Authenticate:
/// Bearer`.
pub struct SubprotocolToken<C>(PhantomData<fn() -> C>);

crate::macros::token_carrier!(
    SubprotocolToken,
    SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "Sec-WebSocket-Protocol".into() },
    |parts| subprotocol_token(&parts.headers).map(Cow::Borrowed)
);

/// The entries of the request's `Sec-WebSocket-Protocol` headers, trimmed, in order.
pub(crate) fn subprotocols(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|entry| !entry.is_empty())
}

/// Whether a subprotocol entry carries a credential (`bearer.…`, any case): such an entry is
/// never a protocol the server may answer with.
pub(crate) fn is_token_entry(entry: &[u8]) -> bool {
    entry.len() >= TOKEN_SUBPROTOCOL_PREFIX.len()
        && entry[..TOKEN_SUBPROTOCOL_PREFIX.len()].eq_ignore_ascii_case(TOKEN_SUBPROTOCOL_PREFIX.as_bytes())
}

/// Whether a header value names a token entry.
#[cfg(feature = "ws")]
pub(crate) fn is_token_value(value: &axum::http::HeaderValue) -> bool {
    is_token_entry(value.as_bytes().trim_ascii())
}

/// The token of the one `bearer.<token>` entry; `None` when there is none, two, or an empty,
/// overlong or non-ASCII one.
pub(crate) fn subprotocol_token(headers: &HeaderMap) -> Option<&str> {
    let mut entries = subprotocols(headers).filter(|entry| is_token_entry(entry));
    let entry = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    let token = &entry[TOKEN_SUBPROTOCOL_PREFIX.len()..];
    if token.is_empty() || token.len() > MAX_CREDENTIAL_LEN {
        return None;
    }
    std::str::from_utf8(token).ok().filter(|token| token.bytes().all(|b| b.is_ascii_graphic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(values: &[&str]) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::SEC_WEBSOCKET_PROTOCOL, axum::http::HeaderValue::from_str(value).unwrap());
        }
        subprotocol_token(&headers).map(str::to_owned)
    }

    #[test]
    fn reads_the_one_bearer_entry() {
        assert_eq!(token(&["chat.v1, bearer.abc.def"]).as_deref(), Some("abc.def"));
        assert_eq!(token(&["bearer.abc", "chat.v1"]).as_deref(), Some("abc"));
        assert_eq!(token(&["chat.v1 ,  Bearer.abc  "]).as_deref(), Some("abc"));
    }

    #[test]
    fn everything_else_is_no_token() {
        assert_eq!(token(&[]), None);
        assert_eq!(token(&["chat.v1"]), None);
        assert_eq!(token(&["bearer."]), None);
        assert_eq!(token(&["bearer"]), None);
        assert_eq!(token(&["bearer.a, bearer.b"]), None, "two tokens are ambiguous");
        assert_eq!(token(&["bearer.a", "bearer.a"]), None);
        assert_eq!(token(&[&format!("bearer.{}", "a".repeat(MAX_CREDENTIAL_LEN + 1))]), None);
    }
}
