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
pub fn is_upgrade(parts: &Parts) -> bool {
    parts.method == Method::CONNECT || parts.headers.contains_key(header::UPGRADE)
}

/// Refuses a request sent by a page of another site, unless its `Origin` is in `allowed`
/// (`https://app.example.com`, compared case-insensitively). In order:
///
/// 1. an `Origin` in `allowed` passes;
/// 2. `Sec-Fetch-Site: cross-site` is refused;
/// 3. an `Origin` (including `null`, or one given twice) other than the request's own host is
///    refused; the host is the HTTP/2 authority or the `Host` header, default ports aside;
/// 4. anything else passes: a request without these headers does not come from a browser
///    page that another site controls.
///
/// Behind a proxy that rewrites `Host`, list the public origin in `allowed`.
///
/// # Errors
///
/// [`AuthError::CrossSiteRequest`] (403).
pub fn check_same_origin(parts: &Parts, allowed: &[&str]) -> Result<(), AuthError> {
    let mut origins = parts.headers.get_all(header::ORIGIN).iter();
    let origin = origins.next();
    let ambiguous = origins.next().is_some();
    let origin_str = origin.and_then(|value| value.to_str().ok());
    if !ambiguous
        && let Some(origin) = origin_str
        && allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let cross_site = parts.headers.get_all("sec-fetch-site").iter().any(|site| site.as_bytes() == b"cross-site");
    let foreign = ambiguous || (origin.is_some() && !origin_str.is_some_and(|o| same_host(o, request_host(parts))));
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

/// Whether `origin` (`scheme://host[:port]`) names `host` (`host[:port]`), ignoring case and the
/// scheme's default port.
fn same_host(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return false,
    };
    let strip = |authority: &str| authority.strip_suffix(default_port).unwrap_or(authority).to_ascii_lowercase();
    !authority.is_empty() && !authority.contains(['/', '@']) && strip(authority) == strip(host)
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
        assert!(check(&[("origin", "http://chat.example.com")]));
        assert!(check(&[("origin", "https://app.example.com"), ("sec-fetch-site", "cross-site")]));
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

    #[test]
    fn upgrades_are_recognised() {
        assert!(is_upgrade(&parts(&[("upgrade", "websocket"), ("connection", "upgrade")])));
        assert!(!is_upgrade(&parts(&[])));
        let connect = Request::connect("https://chat.example.com/ws").body(()).unwrap().into_parts().0;
        assert!(is_upgrade(&connect));
    }
}
