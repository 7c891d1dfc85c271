//! Transports: how a credential travels, what a client is told when it is missing, and how
//! login and logout answer.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

use crate::{error::Challenge, transport::authorization_credentials};

/// `SameSite` attribute of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations and same-site requests: the default.
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent everywhere; browsers require `Secure` with it.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// Options of the cookie transport. The defaults are the safe ones: `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// The cookie's name (default `auth`).
    pub name: &'static str,
    /// `Max-Age` in seconds; `None` makes a session cookie.
    pub max_age: Option<u64>,
    /// `Path` (default `/`).
    pub path: &'static str,
    /// `Domain`, if any.
    pub domain: Option<&'static str>,
    /// `Secure` (default on): the browser sends the cookie over HTTPS only.
    pub secure: bool,
    /// `HttpOnly` (default on): scripts cannot read the cookie.
    pub http_only: bool,
    /// `SameSite` (default `Lax`).
    pub same_site: SameSite,
    /// Origins other than the site itself (`https://app.example.com`) whose pages may open a
    /// WebSocket with this cookie; by default none. See [`check_origin`](Self::check_origin).
    pub allowed_origins: &'static [&'static str],
}

impl CookieOptions {
    /// The defaults, for a cookie named `name`.
    pub const fn named(name: &'static str) -> Self {
        Self {
            name,
            max_age: None,
            path: "/",
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            allowed_origins: &[],
        }
    }

    /// Refuses a request sent by a page of another site, unless its `Origin` is one of
    /// [`allowed_origins`](Self::allowed_origins): the check a cookie-authenticated WebSocket
    /// upgrade passes, since a browser sends the cookie with a socket any site opens (`SameSite`
    /// lets same-site pages through, and `SameSite=None` every page). The rules are
    /// [`check_same_origin`](crate::transport::check_same_origin)'s.
    ///
    /// # Errors
    ///
    /// [`AuthError::CrossSiteRequest`](crate::AuthError::CrossSiteRequest) (403).
    pub fn check_origin(&self, parts: &Parts) -> Result<(), crate::AuthError> {
        crate::transport::check_same_origin(parts, self.allowed_origins)
    }

    fn set_cookie(&self, value: &str, max_age: Option<u64>) -> String {
        let mut cookie = format!("{}={}; Path={}", self.name, value, self.path);
        if let Some(domain) = self.domain {
            cookie.push_str(&format!("; Domain={domain}"));
        }
        if let Some(max_age) = max_age {
            cookie.push_str(&format!("; Max-Age={max_age}"));
        }
        if self.http_only {
            cookie.push_str("; HttpOnly");
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie.push_str(&format!("; SameSite={}", self.same_site.as_str()));
        cookie
    }
}

impl Default for CookieOptions {
    fn default() -> Self {
        Self::named("auth")
    }
}

pub use crate::security::ApiKeyLocation;

/// How a backend's credential travels. Each variant is also an OpenAPI security scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// OAuth2 password flow with a bearer token, as FastAPI's `OAuth2PasswordBearer`.
    Bearer {
        /// Where the password form is posted (`tokenUrl`).
        token_url: &'static str,
        /// Where tokens are refreshed (`refreshUrl`).
        refresh_url: Option<&'static str>,
    },
    /// HTTP bearer authentication, as FastAPI's `HTTPBearer`.
    HttpBearer {
        /// `bearerFormat`, a documentation hint such as `JWT`.
        bearer_format: Option<&'static str>,
    },
    /// OAuth2 authorization-code flow; the token arrives as a bearer token.
    OAuth2AuthorizationCode {
        /// `authorizationUrl`.
        authorization_url: &'static str,
        /// `tokenUrl`.
        token_url: &'static str,
    },
    /// OAuth2 client-credentials flow; the token arrives as a bearer token.
    OAuth2ClientCredentials {
        /// `tokenUrl`.
        token_url: &'static str,
    },
    /// OpenID Connect, documented by its discovery URL; the token arrives as a bearer token.
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: &'static str,
    },
    /// An API key in a header, a query parameter or a cookie.
    ApiKey {
        /// Where it travels.
        location: ApiKeyLocation,
        /// The header, parameter or cookie name.
        name: &'static str,
    },
    /// A cookie set at login and cleared at logout, as fastapi-users' `CookieTransport`.
    Cookie(CookieOptions),
}

/// Longest credential a transport hands to a strategy.
const MAX_CREDENTIAL_LEN: usize = 8 * 1024;

impl Transport {
    /// The credential of the request, if it carries one this way.
    pub fn read(&self, parts: &Parts) -> Option<String> {
        let credential = match self {
            Transport::Bearer { .. }
            | Transport::HttpBearer { .. }
            | Transport::OAuth2AuthorizationCode { .. }
            | Transport::OAuth2ClientCredentials { .. }
            | Transport::OpenIdConnect { .. } => authorization_credentials(&parts.headers, "Bearer").map(str::to_owned),
            Transport::ApiKey { location: ApiKeyLocation::Header, name } => {
                let mut values = parts.headers.get_all(*name).iter();
                let value = values.next()?;
                if values.next().is_some() {
                    return None;
                }
                value.to_str().ok().map(str::to_owned)
            }
            Transport::ApiKey { location: ApiKeyLocation::Query, name } => query_param(parts.uri.query()?, name),
            Transport::ApiKey { location: ApiKeyLocation::Cookie, name } => cookie(&parts.headers, name),
            Transport::Cookie(options) => cookie(&parts.headers, options.name),
        }?;
        (!credential.is_empty() && credential.len() <= MAX_CREDENTIAL_LEN).then_some(credential)
    }

    /// What a client without a credential is told.
    pub fn challenge(&self) -> Challenge {
        match self {
            Transport::ApiKey { .. } | Transport::Cookie(_) => Challenge::ApiKey,
            _ => Challenge::Bearer,
        }
    }

    /// The answer to a successful login: the token as `{"access_token", "token_type"}`, or, for
    /// cookies, 204 with `Set-Cookie`.
    pub fn login_response(&self, token: &str) -> Response {
        match self {
            Transport::Cookie(options) => cookie_response(options.set_cookie(token, options.max_age)),
            _ => Json(serde_json::json!({ "access_token": token, "token_type": "bearer" })).into_response(),
        }
    }

    /// The answer to a logout: 204, clearing the cookie for the cookie transport.
    pub fn logout_response(&self) -> Response {
        match self {
            Transport::Cookie(options) => cookie_response(options.set_cookie("", Some(0))),
            _ => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

fn cookie_response(set_cookie: String) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The value of cookie `name`; a cookie given twice counts as absent.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(header::COOKIE) {
        let Ok(header) = header.to_str() else { continue };
        for pair in header.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else { continue };
            if key == name {
                if found.is_some() {
                    return None;
                }
                found = Some(value.trim_matches('"').to_owned());
            }
        }
    }
    found
}

/// The value of query parameter `name`; a parameter given twice counts as absent.
fn query_param(query: &str, name: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key == name).map(|(_, v)| v);
    let value = values.next()?;
    values.next().is_none().then(|| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(request: Request<()>) -> Parts {
        request.into_parts().0
    }

    #[test]
    fn reads_each_location() {
        let cookie_transport = Transport::Cookie(CookieOptions::default());
        let request = Request::get("/").header("cookie", "a=1; auth=tok; b=2").body(()).unwrap();
        assert_eq!(cookie_transport.read(&parts(request)).as_deref(), Some("tok"));
        let twice = Request::get("/").header("cookie", "auth=a; auth=b").body(()).unwrap();
        assert_eq!(cookie_transport.read(&parts(twice)), None);

        let query = Transport::ApiKey { location: ApiKeyLocation::Query, name: "api_key" };
        assert_eq!(query.read(&parts(Request::get("/x?api_key=k%2B1").body(()).unwrap())).as_deref(), Some("k+1"));
        assert_eq!(query.read(&parts(Request::get("/x?api_key=a&api_key=b").body(()).unwrap())), None);

        let header = Transport::ApiKey { location: ApiKeyLocation::Header, name: "x-api-key" };
        assert_eq!(
            header.read(&parts(Request::get("/").header("x-api-key", "k").body(()).unwrap())).as_deref(),
            Some("k")
        );
        assert_eq!(header.read(&parts(Request::get("/").header("x-api-key", "").body(()).unwrap())), None);
    }

    #[test]
    fn cookies_are_safe_by_default() {
        let options = CookieOptions { max_age: Some(3600), ..CookieOptions::default() };
        let response = Transport::Cookie(options).login_response("tok");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[header::SET_COOKIE],
            "auth=tok; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
        );
        let response = Transport::Cookie(CookieOptions::default()).logout_response();
        assert_eq!(response.headers()[header::SET_COOKIE], "auth=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    }
}
