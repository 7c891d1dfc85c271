//! A backend's transport: how its credential travels, how it is documented in OpenAPI, what a
//! client is told when it is missing, and how login and logout answer.

use axum::{
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

use super::{
    MAX_CREDENTIAL_LEN, authorization_credentials,
    cookie::{CookieOptions, cookie_value},
    scheme::{ApiKeyLocation, OAuth2Flow, SchemeKind},
};
use crate::{
    error::{AuthError, Challenge},
    response::{TokenResponse, forbid_caching},
};

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
    /// A cookie set at login and cleared at logout, as fastapi-users' `CookieTransport`. Its
    /// login, logout and refresh refuse requests from other sites
    /// ([`CookieOptions::check_origin`]).
    Cookie(CookieOptions),
}

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
            Transport::ApiKey { location: ApiKeyLocation::Cookie, name } => cookie_value(&parts.headers, name),
            Transport::Cookie(options) => options.read(&parts.headers),
        }?;
        (!credential.is_empty() && credential.len() <= MAX_CREDENTIAL_LEN).then_some(credential)
    }

    /// What a client without a credential is told: its scheme's challenge
    /// ([`SchemeKind::challenge`](crate::security::SchemeKind::challenge)), `Bearer`, or
    /// `APIKey` for an API key or a cookie.
    pub fn challenge(&self) -> Challenge {
        self.scheme(Vec::new()).challenge()
    }

    /// The OpenAPI security scheme it is documented as, with the backend's scopes for OAuth2
    /// flows.
    pub(crate) fn scheme(&self, scopes: Vec<(&'static str, &'static str)>) -> SchemeKind {
        let scopes = scopes.into_iter().map(|(name, description)| (name.into(), description.into())).collect();
        let oauth2 = |flow| SchemeKind::OAuth2 { flows: vec![flow], scopes };
        match self {
            Transport::Bearer { token_url, refresh_url } => oauth2(OAuth2Flow::Password {
                token_url: (*token_url).into(),
                refresh_url: refresh_url.map(Into::into),
            }),
            Transport::HttpBearer { bearer_format } => {
                SchemeKind::HttpBearer { bearer_format: bearer_format.map(Into::into) }
            }
            Transport::OAuth2AuthorizationCode { authorization_url, token_url } => {
                oauth2(OAuth2Flow::AuthorizationCode {
                    authorization_url: (*authorization_url).into(),
                    token_url: (*token_url).into(),
                    refresh_url: None,
                })
            }
            Transport::OAuth2ClientCredentials { token_url } => {
                oauth2(OAuth2Flow::ClientCredentials { token_url: (*token_url).into(), refresh_url: None })
            }
            Transport::OpenIdConnect { url } => SchemeKind::OpenIdConnect { url: (*url).into() },
            Transport::ApiKey { location, name } => SchemeKind::ApiKey { location: *location, name: (*name).into() },
            Transport::Cookie(options) => {
                SchemeKind::ApiKey { location: ApiKeyLocation::Cookie, name: options.name().into() }
            }
        }
    }

    /// The answer to a successful login, never cached (`Cache-Control: no-store`,
    /// `Pragma: no-cache`): the token as `{"access_token", "token_type": "bearer"}`, or, for
    /// cookies, 204 with `Set-Cookie`.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`] (logged) when the token cannot be a cookie value; see
    /// [`CookieOptions::set_cookie`]. Never a 204 without the cookie.
    pub fn login_response(&self, token: &str) -> Result<Response, AuthError> {
        match self {
            Transport::Cookie(options) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                response.headers_mut().insert(header::SET_COOKIE, options.set_cookie(token)?);
                forbid_caching(&mut response);
                Ok(response)
            }
            _ => Ok(TokenResponse::bearer(token).into_response()),
        }
    }

    /// The answer to a logout: 204, clearing the cookie for the cookie transport.
    pub fn logout_response(&self) -> Result<Response, AuthError> {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Transport::Cookie(options) = self {
            response.headers_mut().insert(header::SET_COOKIE, options.clear_cookie()?);
        }
        Ok(response)
    }

    /// For the cookie transport, refuses a login, logout or refresh sent by a page of another
    /// site ([`CookieOptions::check_origin`]); other transports carry no ambient credential, so
    /// every request passes.
    ///
    /// # Errors
    ///
    /// [`AuthError::CrossSiteRequest`] (403).
    pub fn check_origin(&self, parts: &Parts) -> Result<(), AuthError> {
        match self {
            Transport::Cookie(options) => options.check_origin(parts),
            _ => Ok(()),
        }
    }
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
        // The default cookie is `__Host-auth` (it was `auth`; issue 20, finding 8).
        let cookie_transport = Transport::Cookie(CookieOptions::default());
        let request = Request::get("/").header("cookie", "a=1; __Host-auth=tok; b=2").body(()).unwrap();
        assert_eq!(cookie_transport.read(&parts(request)).as_deref(), Some("tok"));
        let twice = Request::get("/").header("cookie", "__Host-auth=a; __Host-auth=b").body(()).unwrap();
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
    fn cookies_are_safe_by_default_and_login_is_never_cached() {
        let options = CookieOptions::builder("__Host-auth").max_age(3600).build().unwrap();
        let response = Transport::Cookie(options).login_response("tok").unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[header::SET_COOKIE],
            "__Host-auth=tok; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
        let response = Transport::Cookie(CookieOptions::default()).logout_response().unwrap();
        assert_eq!(
            response.headers()[header::SET_COOKIE],
            "__Host-auth=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );

        let bearer = Transport::Bearer { token_url: "token", refresh_url: None };
        let response = bearer.login_response("tok").unwrap();
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    }

    /// The definition `#[derive(AuthBackend)]` checks a transport's options against. The match
    /// is exhaustive: a new variant does not compile until auth-rules defines it.
    fn definition(transport: &Transport) -> &'static auth_rules::transport::TransportDef {
        use auth_rules::transport as defs;
        match transport {
            Transport::Bearer { .. } => &defs::BEARER,
            Transport::HttpBearer { .. } => &defs::HTTP_BEARER,
            Transport::OAuth2AuthorizationCode { .. } => &defs::OAUTH2_AUTHORIZATION_CODE,
            Transport::OAuth2ClientCredentials { .. } => &defs::OAUTH2_CLIENT_CREDENTIALS,
            Transport::OpenIdConnect { .. } => &defs::OPENID_CONNECT,
            Transport::ApiKey { .. } => &defs::API_KEY,
            Transport::Cookie(_) => &defs::COOKIE,
        }
    }

    #[test]
    fn every_transport_and_strategy_is_defined_for_the_derive() {
        let transports = [
            Transport::Bearer { token_url: "token", refresh_url: Some("refresh") },
            Transport::HttpBearer { bearer_format: Some("JWT") },
            Transport::OAuth2AuthorizationCode { authorization_url: "a", token_url: "t" },
            Transport::OAuth2ClientCredentials { token_url: "t" },
            Transport::OpenIdConnect { url: "u" },
            Transport::ApiKey { location: ApiKeyLocation::Query, name: "k" },
            Transport::Cookie(CookieOptions::default()),
        ];
        let mut names: Vec<&str> = transports.iter().map(|t| definition(t).name).collect();
        names.dedup();
        let defined: Vec<&str> = auth_rules::transport::TRANSPORTS.iter().map(|t| t.name).collect();
        assert_eq!(names, defined);

        use crate::strategies::{ApiKeys, DatabaseStrategy, JwtStrategy, RedisStrategy, Strategy};
        let kinds = [JwtStrategy::KIND, DatabaseStrategy::KIND, RedisStrategy::KIND, ApiKeys::KIND];
        assert_eq!(kinds.as_slice(), auth_rules::transport::STRATEGIES);
    }

    #[test]
    fn each_transport_challenges_as_its_scheme() {
        let bearer = [
            Transport::Bearer { token_url: "token", refresh_url: None },
            Transport::HttpBearer { bearer_format: None },
            Transport::OAuth2AuthorizationCode { authorization_url: "a", token_url: "t" },
            Transport::OAuth2ClientCredentials { token_url: "t" },
            Transport::OpenIdConnect { url: "u" },
        ];
        for transport in bearer {
            assert_eq!(transport.challenge(), Challenge::Bearer, "{transport:?}");
        }
        let api_key = [
            Transport::ApiKey { location: ApiKeyLocation::Header, name: "x-api-key" },
            Transport::ApiKey { location: ApiKeyLocation::Cookie, name: "key" },
            Transport::Cookie(CookieOptions::default()),
        ];
        for transport in api_key {
            assert_eq!(transport.challenge(), Challenge::ApiKey, "{transport:?}");
        }
    }

    #[test]
    fn a_token_that_cannot_be_a_cookie_is_an_error_not_a_silent_success() {
        let response = Transport::Cookie(CookieOptions::default()).login_response("a; Domain=evil.example");
        assert!(matches!(response, Err(AuthError::Internal)));
    }
}
