//! Whether a request was sent by a page of the site itself: the check that keeps another site
//! from using a browser's ambient credential (a cookie) on a WebSocket it opens, cross-site
//! WebSocket hijacking, which no same-origin policy stops.

use axum::http::{Method, header, request::Parts};

use crate::{
    error::AuthError,
    logging::{client_addr, truncate},
};

/// Whether the request asks to switch protocols: an HTTP/1.1 `Upgrade` (a WebSocket
/// handshake), or an HTTP/2 extended `CONNECT` (RFC 8441). Such a connection outlives the
/// request, and its responses are not protected by the same-origin policy.
pub(crate) fn is_upgrade(parts: &Parts) -> bool {
    parts.method == Method::CONNECT || parts.headers.contains_key(header::UPGRADE)
}

/// The scheme the client used to reach the site, for the origin check
/// ([`SameOrigin`](crate::backend::SameOrigin)) where the server cannot see it: insert it into the request's
/// extensions (behind a TLS-terminating proxy, [`RequestScheme::from_trusted_proxy`] reads it
/// from `X-Forwarded-Proto`, only when the TCP peer is a proxy of yours).
///
/// Without it, the scheme is the request URI's (HTTP/2's `:scheme`), and otherwise `https`,
/// except on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), where both schemes are the
/// site's own: no network attacker can plant a plain-http page there.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr, SocketAddr};
/// use auth_core::transport::RequestScheme;
/// use axum::{extract::{ConnectInfo, Request}, middleware::Next, response::Response};
///
/// /// The proxy at 10.0.0.1 terminates TLS and says which scheme the client used.
/// async fn forwarded_scheme(mut request: Request, next: Next) -> Response {
///     let proxies = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))];
///     let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
///     if let Some(scheme) = RequestScheme::from_trusted_proxy(request.headers(), peer, &proxies) {
///         request.extensions_mut().insert(scheme);
///     }
///     next.run(request).await
/// }
/// // router.layer(axum::middleware::from_fn(forwarded_scheme))
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScheme {
    /// Plain `http`.
    Http,
    /// `https`.
    Https,
}

impl RequestScheme {
    fn as_str(self) -> &'static str {
        match self {
            RequestScheme::Http => "http",
            RequestScheme::Https => "https",
        }
    }

    /// The one `X-Forwarded-Proto` (`http` or `https`) of a request whose TCP peer (`peer`, from
    /// axum's `ConnectInfo<SocketAddr>`) is one of `trusted_proxies`; `None` from anyone else,
    /// or when the header is missing, repeated, a list, or another value.
    pub fn from_trusted_proxy(
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::SocketAddr>,
        trusted_proxies: &[std::net::IpAddr],
    ) -> Option<Self> {
        let peer = peer?.ip().to_canonical();
        if !trusted_proxies.iter().any(|proxy| proxy.to_canonical() == peer) {
            return None;
        }
        let mut values = headers.get_all("x-forwarded-proto").iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        match value.to_str().ok()?.trim().to_ascii_lowercase().as_str() {
            "http" => Some(RequestScheme::Http),
            "https" => Some(RequestScheme::Https),
            _ => None,
        }
    }
}

/// Refuses a request sent by a page of another site, unless its `Origin` is in `allowed`
/// (`https://app.example.com`, compared case-insensitively, default ports aside). In order:
///
/// 1. an `Origin` in `allowed` passes;
/// 2. `Sec-Fetch-Site: cross-site` is refused;
/// 3. an `Origin` (including `null`, or one given twice) other than the request's own origin
///    is refused: same scheme, host and port (default ports aside). The host is the HTTP/2
///    authority or the `Host` header; the scheme is the [`RequestScheme`] in the request's
///    extensions, or the URI's, or else `https` (either on a loopback host). So a plain-http
///    page of the site's own name (planted by whoever controls the network) is another site;
/// 4. anything else passes: a request without these headers does not come from a browser
///    page that another site controls.
///
/// Behind a proxy that rewrites `Host`, list the public origin in `allowed`; behind one that
/// terminates TLS for a site served over plain http, say so with [`RequestScheme`].
///
/// # Errors
///
/// [`AuthError::CrossSiteRequest`] (403).
pub(crate) fn check_same_origin(parts: &Parts, allowed: &[&str]) -> Result<(), AuthError> {
    let mut origins = parts.headers.get_all(header::ORIGIN).iter();
    let origin = origins.next();
    let ambiguous = origins.next().is_some();
    let origin_str = origin.and_then(|value| value.to_str().ok());
    if !ambiguous
        && let Some(origin) = origin_str.and_then(parse_origin)
        && allowed.iter().any(|allowed| parse_origin(allowed).is_some_and(|allowed| allowed == origin))
    {
        return Ok(());
    }
    let cross_site = parts.headers.get_all("sec-fetch-site").iter().any(|site| site.as_bytes() == b"cross-site");
    let foreign = ambiguous || (origin.is_some() && !origin_str.is_some_and(|o| is_own_origin(o, parts)));
    if cross_site || foreign {
        tracing::info!(
            origin = ?origin_str.map(|origin| truncate(origin, 256)),
            sec_fetch_site = ?parts.headers.get("sec-fetch-site"),
            client = ?client_addr(parts),
            "refused a cross-site request carrying a cookie credential"
        );
        return Err(AuthError::CrossSiteRequest);
    }
    Ok(())
}

/// The request's own host: the HTTP/2 `:authority`, or the one `Host` header.
fn request_host(parts: &Parts) -> Option<&str> {
    if let Some(authority) = parts.uri.authority() {
        return Some(authority.as_str());
    }
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return None;
    }
    host.to_str().ok()
}

/// An origin, `scheme://host[:port]` (http or https only), as (scheme, host, port), lowercase,
/// the port made explicit.
fn parse_origin(origin: &str) -> Option<(String, String, u16)> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default = default_port(&scheme)?;
    let (host, port) = split_authority(authority, default)?;
    Some((scheme, host, port))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// `host[:port]` (or `[v6][:port]`) as (lowercase host, port), `default` when none is given.
fn split_authority(authority: &str, default: u16) -> Option<(String, u16)> {
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return None;
    }
    let (host, port) = match authority.rfind(':') {
        // A colon inside brackets belongs to an IPv6 address.
        Some(colon) if !authority[colon..].contains(']') => (&authority[..colon], Some(&authority[colon + 1..])),
        _ => (authority, None),
    };
    let port = match port {
        None => default,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok()?,
        Some(_) => return None,
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// Whether `origin` is the request's own origin: same host and port, and the request's scheme
/// (see [`check_same_origin`]).
fn is_own_origin(origin: &str, parts: &Parts) -> bool {
    let Some((scheme, host, port)) = parse_origin(origin) else { return false };
    let Some(request_host) = request_host(parts) else { return false };
    let own_scheme = parts
        .extensions
        .get::<RequestScheme>()
        .map(|scheme| scheme.as_str())
        .or_else(|| parts.uri.scheme_str().filter(|scheme| default_port(scheme).is_some()));
    let own_scheme = match own_scheme {
        Some(own) => own.to_ascii_lowercase(),
        None if is_loopback(&host) => scheme.clone(),
        None => "https".to_owned(),
    };
    let Some(own_port) = default_port(&own_scheme) else { return false };
    let Some((own_host, own_port)) = split_authority(request_host, own_port) else { return false };
    scheme == own_scheme && host == own_host && port == own_port
}

/// `localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`: no one but this machine serves these.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::get("/ws").header("host", "chat.example.com");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    fn check(headers: &[(&str, &str)]) -> bool {
        check_same_origin(&parts(headers), &["https://app.example.com"]).is_ok()
    }

    #[test]
    fn the_site_itself_and_allowed_origins_pass() {
        assert!(check(&[]), "no Origin: not a page of another site");
        assert!(check(&[("origin", "https://chat.example.com")]));
        assert!(check(&[("origin", "https://CHAT.example.com:443")]));
        assert!(check(&[("origin", "https://app.example.com"), ("sec-fetch-site", "cross-site")]));
        assert!(check(&[("origin", "https://app.example.com:443")]), "an allowed origin, default port spelled out");
        assert!(check(&[("sec-fetch-site", "same-origin")]));
    }

    #[test]
    fn other_sites_are_refused() {
        assert!(!check(&[("origin", "https://evil.example")]));
        assert!(!check(&[("origin", "https://evil.chat.example.com")]), "a sibling is same-site, not same-origin");
        assert!(!check(&[("origin", "null")]));
        assert!(!check(&[("origin", "https://chat.example.com:8443")]));
        assert!(!check(&[("origin", "https://chat.example.com"), ("origin", "https://chat.example.com")]));
        assert!(!check(&[("sec-fetch-site", "cross-site")]));
        assert!(!check(&[("origin", "https://chat.example.com@evil.example")]));
    }

    /// Issue 20, finding 9: the scheme is part of the origin.
    #[test]
    fn a_plain_http_page_of_the_same_name_is_another_site() {
        assert!(!check(&[("origin", "http://chat.example.com")]), "the site is https unless it says otherwise");
        assert!(!check(&[("origin", "http://chat.example.com:443")]));
        assert!(!check(&[("origin", "http://app.example.com")]), "allowed origins are compared with their scheme");
        assert!(!check(&[("origin", "https://chat.example.com:80")]));
    }

    fn with_host(host: &str, origin: &str, scheme: Option<RequestScheme>) -> bool {
        let mut parts =
            Request::get("/ws").header("host", host).header("origin", origin).body(()).unwrap().into_parts().0;
        if let Some(scheme) = scheme {
            parts.extensions.insert(scheme);
        }
        check_same_origin(&parts, &[]).is_ok()
    }

    #[test]
    fn the_request_scheme_and_default_ports_decide() {
        use RequestScheme::{Http, Https};
        // A site that says it is served over plain http.
        assert!(with_host("app.example.com", "http://app.example.com", Some(Http)));
        assert!(with_host("app.example.com:80", "http://app.example.com", Some(Http)));
        assert!(with_host("app.example.com", "http://app.example.com:80", Some(Http)));
        assert!(!with_host("app.example.com", "https://app.example.com", Some(Http)));
        assert!(!with_host("app.example.com:8080", "http://app.example.com", Some(Http)));
        // Over https, said or assumed.
        for scheme in [Some(Https), None] {
            assert!(with_host("app.example.com", "https://app.example.com", scheme));
            assert!(with_host("app.example.com:443", "https://app.example.com", scheme));
            assert!(with_host("APP.example.com", "https://app.example.com:443", scheme));
            assert!(with_host("app.example.com:8443", "https://app.example.com:8443", scheme));
            assert!(!with_host("app.example.com", "http://app.example.com", scheme));
            assert!(!with_host("app.example.com:8443", "https://app.example.com", scheme));
        }
        // Loopback hosts: either scheme, the port still counts.
        for host in ["127.0.0.1:3000", "localhost:3000", "[::1]:3000"] {
            let name = host.rsplit_once(':').unwrap().0;
            assert!(with_host(host, &format!("http://{name}:3000"), None), "{host}");
            assert!(with_host(host, &format!("https://{name}:3000"), None), "{host}");
            assert!(!with_host(host, &format!("http://{name}:3001"), None), "{host}");
            assert!(!with_host(host, &format!("http://{name}:3000"), Some(Https)), "{host}: said https");
        }
        // HTTP/2: the request's own :scheme.
        let parts =
            |uri: &str, origin: &str| Request::get(uri).header("origin", origin).body(()).unwrap().into_parts().0;
        assert!(check_same_origin(&parts("http://app.example.com/ws", "http://app.example.com"), &[]).is_ok());
        assert!(check_same_origin(&parts("https://app.example.com/ws", "http://app.example.com"), &[]).is_err());
    }

    #[test]
    fn x_forwarded_proto_is_read_from_trusted_proxies_only() {
        use std::net::{IpAddr, Ipv4Addr, SocketAddr};
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let headers = |values: &[&str]| {
            let mut headers = axum::http::HeaderMap::new();
            for value in values {
                headers.append("x-forwarded-proto", value.parse().unwrap());
            }
            headers
        };
        let from = |ip: IpAddr| Some(SocketAddr::new(ip, 4711));
        let read = |values: &[&str], peer| RequestScheme::from_trusted_proxy(&headers(values), peer, &[proxy]);
        assert_eq!(read(&["http"], from(proxy)), Some(RequestScheme::Http));
        assert_eq!(read(&["HTTPS"], from(proxy)), Some(RequestScheme::Https));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(read(&["http"], from(mapped)), Some(RequestScheme::Http), "an IPv4-mapped peer is the proxy");
        assert_eq!(read(&["http"], from(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)))), None, "not a proxy of ours");
        assert_eq!(read(&["http"], None), None, "no peer known");
        assert_eq!(read(&["http", "https"], from(proxy)), None, "repeated");
        assert_eq!(read(&["http, https"], from(proxy)), None, "a list");
        assert_eq!(read(&["ftp"], from(proxy)), None);
        assert_eq!(read(&[], from(proxy)), None);
    }

    #[test]
    fn upgrades_are_recognised() {
        assert!(is_upgrade(&parts(&[("upgrade", "websocket"), ("connection", "upgrade")])));
        assert!(!is_upgrade(&parts(&[])));
        let connect = Request::connect("https://chat.example.com/ws").body(()).unwrap().into_parts().0;
        assert!(is_upgrade(&connect));
    }
}
