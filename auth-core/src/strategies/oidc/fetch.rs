//! Every request to an identity provider: HTTPS (plain HTTP only on loopback), no redirects, a
//! deadline, and a cap on the body, read chunk by chunk so a provider cannot make us buffer more.

use std::{fmt, time::Duration};

use axum::http::{HeaderMap, HeaderValue, header};
use reqwest::{Client, Url, redirect};

impl HttpOptions {
    /// Default deadline of one request, connection and body included: the identity-provider timeout
    /// of [the timeout policy](crate::db#timeouts).
    pub const DEFAULT_TIMEOUT: Duration = crate::db::HTTP_TIMEOUT;

    /// Default deadline for the TCP and TLS handshake.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = crate::db::HTTP_CONNECT_TIMEOUT;

    /// Default cap on a response body, 256 KiB: a discovery document is a few KiB, a key set of ten
    /// RSA keys about 5 KiB, an introspection answer well under 1 KiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;
}

/// How the `oidc` strategies talk to identity providers.
///
/// Every fetch has a deadline ([`HttpOptions::timeout`]) and a size cap
/// ([`HttpOptions::max_response_bytes`]); redirects are never followed; URLs must be `https`,
/// except on a loopback host (`127.0.0.0/8`, `::1`, `localhost`), for development and tests.
///
/// ```
/// use std::time::Duration;
/// use auth_core::strategies::oidc::HttpOptions;
///
/// let http = HttpOptions::default().timeout(Duration::from_secs(3)).max_response_bytes(64 * 1024);
/// ```
#[derive(Clone)]
pub struct HttpOptions {
    pub(super) timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) max_response_bytes: usize,
    pub(super) client: Option<Client>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: HttpOptions::DEFAULT_TIMEOUT,
            connect_timeout: HttpOptions::DEFAULT_CONNECT_TIMEOUT,
            max_response_bytes: HttpOptions::DEFAULT_MAX_RESPONSE_BYTES,
            client: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("own_client", &self.client.is_some())
            .finish()
    }
}

impl HttpOptions {
    crate::macros::setters! {
        /// The deadline of one request, from connecting to the last byte of the body; default
        /// [`HttpOptions::DEFAULT_TIMEOUT`].
        timeout(timeout: Duration) => timeout = timeout;

        /// The deadline of the TCP and TLS handshake; default [`HttpOptions::DEFAULT_CONNECT_TIMEOUT`]. Ignored
        /// with [`HttpOptions::client`], whose own setting counts.
        connect_timeout(timeout: Duration) => connect_timeout = timeout;

        /// The largest response body read; default [`HttpOptions::DEFAULT_MAX_RESPONSE_BYTES`]. A longer one is
        /// refused, whatever its `Content-Length` says.
        max_response_bytes(max: usize) => max_response_bytes = max;

        /// Uses this reqwest client, e.g. one that trusts a private CA or goes through a proxy. The
        /// deadline and the size cap still apply to every request. Build it with
        /// `redirect(reqwest::redirect::Policy::none())`: a provider that redirects is refused
        /// either way, but only that policy keeps the redirect from being followed first.
        client(client: Client) => client = Some(client);
    }
}

/// Why a fetch failed. Safe to log: it names no token or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not `https` (nor `http` on a loopback host), or carries credentials or a
    /// fragment.
    #[error("refused URL: {0}")]
    InsecureUrl(String),
    /// No answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// An HTTP status other than 200 (redirects included: they are not followed).
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is larger than the cap.
    #[error("response larger than {limit} bytes")]
    TooLarge {
        /// The cap in force.
        limit: usize,
    },
}

/// A response body that fitted under the cap, with the headers the caches read.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) headers: HeaderMap,
}

/// The HTTP client of one strategy, with its options.
#[derive(Clone)]
pub(crate) struct Fetcher {
    client: Client,
    timeout: Duration,
    max_response_bytes: usize,
}

impl Fetcher {
    pub(crate) fn new(options: &HttpOptions) -> Result<Self, FetchError> {
        let client = match &options.client {
            Some(client) => client.clone(),
            None => Client::builder()
                .redirect(redirect::Policy::none())
                .connect_timeout(options.connect_timeout)
                .timeout(options.timeout)
                .user_agent(concat!("auth-core/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError::Connect(format!("could not build the HTTP client: {e}")))?,
        };
        Ok(Self { client, timeout: options.timeout, max_response_bytes: options.max_response_bytes })
    }

    /// The deadline of one request.
    #[cfg(feature = "oauth")]
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET url`, expecting JSON.
    pub(crate) async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        let request = self.client.get(url.clone()).header(header::ACCEPT, "application/json");
        self.send(request).await
    }

    /// `GET url` with an `Authorization` (a userinfo request), expecting JSON.
    #[cfg(feature = "oauth")]
    pub(crate) async fn get_authorized(&self, url: &Url, authorization: HeaderValue) -> Result<Fetched, FetchError> {
        let request = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::AUTHORIZATION, authorization);
        self.send(request).await
    }

    /// `POST url` with a form body (RFC 7662 introspection), optionally with an `Authorization`.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        body: String,
        authorization: Option<HeaderValue>,
    ) -> Result<Fetched, FetchError> {
        let mut request = self
            .client
            .post(url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, FetchError> {
        let timeout = self.timeout;
        // The deadline covers the body too: a provider that trickles bytes is cut off.
        let exchange = async {
            let mut response = request.timeout(timeout).send().await.map_err(|e| transport_error(&e, timeout))?;
            let status = response.status();
            if status != reqwest::StatusCode::OK {
                return Err(FetchError::Status(status.as_u16()));
            }
            let limit = self.max_response_bytes;
            if response.content_length().is_some_and(|len| len > limit as u64) {
                return Err(FetchError::TooLarge { limit });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e, timeout))? {
                if body.len() + chunk.len() > limit {
                    return Err(FetchError::TooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched { body, headers: response.headers().clone() })
        };
        tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(FetchError::Timeout(timeout)))
    }
}

fn transport_error(error: &reqwest::Error, timeout: Duration) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout(timeout);
    }
    // reqwest's message names the URL and the cause (refused, reset, TLS), never a body.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Connect(message)
}

/// Parses `url` and checks it may be fetched: `https`, or `http` on a loopback host when
/// `allow_loopback_http`; no user info, no fragment.
pub(crate) fn secure_url(url: &str, allow_loopback_http: bool) -> Result<Url, FetchError> {
    let parsed =
        Url::parse(url).map_err(|e| FetchError::InsecureUrl(format!("`{}` is not a URL: {e}", shorten(url))))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FetchError::InsecureUrl(format!("`{}` carries credentials", shorten(url))));
    }
    if parsed.fragment().is_some() {
        return Err(FetchError::InsecureUrl(format!("`{}` has a fragment", shorten(url))));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if allow_loopback_http && is_loopback(&parsed) => Ok(parsed),
        "http" if is_loopback(&parsed) => {
            Err(FetchError::InsecureUrl(format!("`{}` is plain http, and the issuer is https", shorten(url))))
        }
        _ => Err(FetchError::InsecureUrl(format!(
            "`{}` is not https (plain http is accepted on loopback only)",
            shorten(url)
        ))),
    }
}

/// Whether the URL's host is this machine.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL quoted in an error, cut at 200 bytes so a hostile document cannot flood the logs.
pub(crate) fn shorten(text: &str) -> &str {
    crate::logging::truncate(text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        assert!(secure_url("https://idp.example.com/jwks", false).is_ok());
        assert!(secure_url("http://127.0.0.1:4000/jwks", true).is_ok());
        assert!(secure_url("http://localhost:4000/jwks", true).is_ok());
        assert!(secure_url("http://[::1]:4000/jwks", true).is_ok());
        for (url, loopback) in [
            ("http://127.0.0.1:4000/jwks", false),
            ("http://idp.example.com/jwks", true),
            ("ftp://idp.example.com/jwks", true),
            ("https://user:pw@idp.example.com/jwks", true),
            ("https://idp.example.com/jwks#frag", true),
            ("/jwks", true),
            ("file:///etc/passwd", true),
        ] {
            assert!(secure_url(url, loopback).is_err(), "{url}");
        }
    }
}
