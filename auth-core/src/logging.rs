//! What auth-core tells operators, and how credentials stay out of the logs an app writes.
//!
//! - **Failed logins** are logged at `info` with the username (never the password), the
//!   backend or endpoint, and the client's address (OWASP ASVS 7.2.1): a backend's
//!   `POST /login` does it by itself; a token endpoint of the app's own calls [`ClientAddr::login_failed`].
//!   The client's address is known when the app is served with
//!   `into_make_service_with_connect_info::<SocketAddr>()`.
//! - **Rejected JWTs** are logged at `info` with the reason ("bad signature", "token expired"),
//!   never the token.
//! - **URIs** can carry credentials in their query (`?access_token=…`, `?api_key=…`). Log them
//!   through [`RedactedUri`], or, with tower-http's `TraceLayer` (feature `tower-http`), make the
//!   request span with [`RedactingMakeSpan`]:
//!
//! ```
//! use auth_core::logging::RedactedUri;
//! use axum::http::Uri;
//!
//! let uri: Uri = "/status/?access_token=eyJ.secret.sig&page=2".parse().unwrap();
//! assert_eq!(RedactedUri::new(&uri).to_string(), "/status/?access_token=[redacted]&page=2");
//! ```

use std::{convert::Infallible, fmt, net::SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Uri, request::Parts},
};

impl RedactedUri<'_> {
    /// Query parameters whose values [`RedactedUri`] never writes (compared case-insensitively):
    /// OAuth2 and OpenID Connect tokens and codes, API keys, passwords and secrets.
    pub const CREDENTIAL_PARAMETERS: &'static [&'static str] = &[
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "password",
        "client_secret",
        "secret",
        "session",
        "signature",
        "sig",
    ];

    /// What replaces a redacted value.
    pub const REDACTED: &'static str = "[redacted]";
}

/// Longest username written to a log line; the rest is cut off.
const MAX_LOGGED_USERNAME: usize = 128;

/// [`ClientAddr::login_failed`], for the routes that hold the address alone.
pub(crate) fn login_failed(via: &str, username: &str, client: Option<SocketAddr>) {
    tracing::info!(via, username = ?truncate(username, MAX_LOGGED_USERNAME), client = ?client, "login failed");
}

/// The address of the client, as an extractor that never fails: `None` unless the app is served
/// with `into_make_service_with_connect_info::<SocketAddr>()`. For log lines such as
/// [`login_failed`](Self::login_failed)'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl ClientAddr {
    /// Logs a failed login from this client at `info`: the username (escaped, and cut at 128
    /// bytes), `via` (the backend's name or the endpoint) and the client's address. Never the
    /// password.
    ///
    /// A backend's `POST /login` does it by itself; call it from a token endpoint of your own.
    pub fn login_failed(self, via: &str, username: &str) {
        login_failed(via, username, self.0);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(parts)))
    }
}

/// A URI for a log line: path and query as sent, with the value of every credential parameter
/// replaced by `[redacted]`: those of [`RedactedUri::CREDENTIAL_PARAMETERS`] and any added with
/// [`RedactedUri::also`]. Parameter names are compared after percent-decoding, so
/// `access%5Ftoken=…` is redacted too.
#[derive(Clone, Copy)]
pub struct RedactedUri<'a> {
    uri: &'a Uri,
    also: &'a [&'a str],
}

impl<'a> RedactedUri<'a> {
    /// `uri`, redacted.
    pub fn new(uri: &'a Uri) -> Self {
        Self { uri, also: &[] }
    }

    /// Redacts these parameters too, e.g. the name of an API key in the query.
    pub fn also(mut self, parameters: &'a [&'a str]) -> Self {
        self.also = parameters;
        self
    }

    fn is_credential(&self, name: &str) -> bool {
        RedactedUri::CREDENTIAL_PARAMETERS.iter().chain(self.also).any(|secret| secret.eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = self.uri.scheme() {
            write!(f, "{scheme}://")?;
        }
        if let Some(authority) = self.uri.authority() {
            // Userinfo (`user:password@`) is a credential too.
            let host = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, host)| host);
            f.write_str(host)?;
        }
        f.write_str(self.uri.path())?;
        let Some(query) = self.uri.query() else { return Ok(()) };
        f.write_str("?")?;
        for (index, pair) in query.split('&').enumerate() {
            if index > 0 {
                f.write_str("&")?;
            }
            let (raw_name, value) = match pair.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (pair, None),
            };
            let name: String = form_urlencoded::parse(raw_name.as_bytes()).map(|(name, _)| name).collect();
            match value {
                Some(_) if self.is_credential(&name) => write!(f, "{raw_name}={}", RedactedUri::REDACTED)?,
                Some(value) => write!(f, "{raw_name}={value}")?,
                None => f.write_str(raw_name)?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// tower-http's `TraceLayer` span, with the URI redacted: use it in place of `DefaultMakeSpan`.
///
/// ```
/// use auth_core::logging::RedactingMakeSpan;
/// use tower_http::trace::TraceLayer;
///
/// let layer = TraceLayer::new_for_http().make_span_with(RedactingMakeSpan::new());
/// # let _ = layer;
/// ```
///
/// The span is named `request` and records `method`, `uri` (a [`RedactedUri`]) and `version`,
/// at `DEBUG` unless set with [`level`](Self::level). Request headers are never recorded.
#[cfg(feature = "tower-http")]
#[derive(Debug, Clone)]
pub struct RedactingMakeSpan {
    level: tracing::Level,
    also: &'static [&'static str],
}

#[cfg(feature = "tower-http")]
impl Default for RedactingMakeSpan {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "tower-http")]
impl RedactingMakeSpan {
    /// Spans at `DEBUG`, as tower-http's default.
    pub fn new() -> Self {
        Self { level: tracing::Level::DEBUG, also: &[] }
    }

    crate::macros::setters! {
        /// The level of the span.
        level(level: tracing::Level) => level = level;

        /// Redacts these query parameters too (see [`RedactedUri::also`]).
        also(parameters: &'static [&'static str]) => also = parameters;
    }
}

#[cfg(feature = "tower-http")]
impl<B> tower_http::trace::MakeSpan<B> for RedactingMakeSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> tracing::Span {
        let uri = RedactedUri::new(request.uri()).also(self.also);
        macro_rules! span {
            ($level:expr) => {
                tracing::span!($level, "request", method = %request.method(), uri = %uri, version = ?request.version())
            };
        }
        match self.level {
            tracing::Level::ERROR => span!(tracing::Level::ERROR),
            tracing::Level::WARN => span!(tracing::Level::WARN),
            tracing::Level::INFO => span!(tracing::Level::INFO),
            tracing::Level::DEBUG => span!(tracing::Level::DEBUG),
            tracing::Level::TRACE => span!(tracing::Level::TRACE),
        }
    }
}

/// The address of the client, when the app is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub(crate) fn client_addr(parts: &Parts) -> Option<SocketAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr)
}

/// At most `max` bytes of `text`, cut at a character boundary: what a log line shows of a value
/// a client chose.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(uri: &str) -> String {
        RedactedUri::new(&uri.parse().unwrap()).also(&["my_key"]).to_string()
    }

    #[test]
    fn credential_parameters_are_redacted_and_nothing_else() {
        assert_eq!(redacted("/status/"), "/status/");
        assert_eq!(redacted("/status/?"), "/status/?");
        assert_eq!(redacted("/s?access_token=abc"), "/s?access_token=[redacted]");
        assert_eq!(redacted("/s?page=2&ACCESS_TOKEN=abc&q=x%20y"), "/s?page=2&ACCESS_TOKEN=[redacted]&q=x%20y");
        assert_eq!(redacted("/s?access%5Ftoken=abc"), "/s?access%5Ftoken=[redacted]");
        assert_eq!(redacted("/s?api_key=a&api_key=b"), "/s?api_key=[redacted]&api_key=[redacted]");
        assert_eq!(redacted("/s?my_key=k&code=c&flag"), "/s?my_key=[redacted]&code=[redacted]&flag");
        assert_eq!(redacted("/s?token="), "/s?token=[redacted]");
        assert_eq!(redacted("https://user:pw@example.com/s?x=1"), "https://example.com/s?x=1");
    }
}
