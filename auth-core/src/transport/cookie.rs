//! The cookie transport's options: validated when they are built, by the rules of the
//! `auth-rules` crate that `#[derive(AuthBackend)]` checks its options with at compile time;
//! written with the [`cookie`] crate; and the origin check that keeps other sites from logging a
//! browser in or out (login CSRF).

use auth_rules::cookie::{CookieRules, is_cookie_octet};
pub use auth_rules::cookie::{InvalidCookieOption, SameSite};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use cookie::{Cookie, Expiration, time::OffsetDateTime};

use crate::error::AuthError;

/// Options of the cookie transport, checked when built: a `CookieOptions` value always forms a
/// valid `Set-Cookie` header. The defaults are the safe ones: `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`, a session cookie, and logins accepted only from the site itself.
///
/// A cookie without a `Domain` must be named `__Host-…` ([`CookieOptions::DEFAULT_NAME`] is `__Host-auth`):
/// browsers then accept it only from this very host, over HTTPS, for path `/`, so a page of a
/// sibling subdomain (`evil.example.com` next to `app.example.com`) cannot plant one of its own
/// (session fixation, login CSRF). An app that needs another name (wire compatibility with an
/// existing frontend, plain-http development) opts out with
/// [`host_prefix(false)`](CookieOptionsBuilder::host_prefix); a cookie with a `Domain` is
/// shared with the subdomains on purpose, and is not concerned.
///
/// ```
/// use auth_core::backend::{CookieOptions, SameSite};
///
/// let options = CookieOptions::builder("__Host-session")
///     .max_age(3600)
///     .same_site(SameSite::Strict)
///     .allowed_origins(&["https://app.example.com"])
///     .build()?;
/// assert_eq!(options.name(), "__Host-session");
///
/// // An option that cannot form a cookie is refused, not written.
/// assert!(CookieOptions::builder("__Host-session").path("/; Domain=evil.example").build().is_err());
/// // A name a sibling subdomain could plant is refused, unless the app opts out.
/// assert!(CookieOptions::builder("session").build().is_err());
/// assert!(CookieOptions::builder("session").host_prefix(false).build().is_ok());
/// # Ok::<(), auth_core::backend::InvalidCookieOption>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    name: &'static str,
    max_age: Option<u64>,
    path: &'static str,
    domain: Option<&'static str>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    allowed_origins: &'static [&'static str],
    host_prefix: bool,
}

impl CookieOptions {
    /// The cookie name unless one is given: `__Host-auth` (see [`CookieOptions`]).
    pub const DEFAULT_NAME: &str = auth_rules::cookie::DEFAULT_NAME;
}

/// [`CookieOptions`] being built; every setter is a `const fn`, so options can be built in a
/// `static`. Nothing is checked until [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use = "call .build() to get CookieOptions"]
pub struct CookieOptionsBuilder {
    options: CookieOptions,
}

impl CookieOptions {
    /// Options for a cookie named `name`, with the defaults.
    pub const fn builder(name: &'static str) -> CookieOptionsBuilder {
        CookieOptionsBuilder {
            options: CookieOptions {
                name,
                max_age: None,
                path: "/",
                domain: None,
                secure: true,
                http_only: true,
                same_site: SameSite::Lax,
                allowed_origins: &[],
                host_prefix: true,
            },
        }
    }

    /// The cookie's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// `Max-Age` in seconds; `None` for a session cookie.
    pub const fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// `Path`.
    pub const fn path(&self) -> &'static str {
        self.path
    }

    /// `Domain`, if any.
    pub const fn domain(&self) -> Option<&'static str> {
        self.domain
    }

    /// Whether the cookie is `Secure`.
    pub const fn secure(&self) -> bool {
        self.secure
    }

    /// Whether the cookie is `HttpOnly`.
    pub const fn http_only(&self) -> bool {
        self.http_only
    }

    /// `SameSite`.
    pub const fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// Origins other than the site itself whose pages may log in, out or refresh with this
    /// cookie (see [`check_origin`](Self::check_origin)).
    pub const fn allowed_origins(&self) -> &'static [&'static str] {
        self.allowed_origins
    }

    /// The `Set-Cookie` value that hands `token` to the browser at login.
    ///
    /// # Errors
    ///
    /// [`AuthError::Internal`], logged, when `token` cannot be a cookie value (RFC 6265
    /// cookie-octets: visible ASCII without `"`, `,`, `;`, `\` and spaces). The strategies of
    /// this crate only issue such values, so this means a strategy of the app's own misbehaved.
    pub fn set_cookie(&self, token: &str) -> Result<HeaderValue, AuthError> {
        if token.is_empty() || !token.bytes().all(is_cookie_octet) {
            tracing::error!(
                cookie = self.name,
                "the strategy issued a token that is not a valid cookie value; the login fails"
            );
            return Err(AuthError::Internal);
        }
        let mut cookie = self.cookie(token);
        if let Some(max_age) = self.max_age {
            cookie.set_max_age(cookie::time::Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX)));
        }
        header_value(&cookie)
    }

    /// The `Set-Cookie` value that clears the cookie at logout: empty, `Max-Age=0` and an
    /// `Expires` in 1970, with the same `Path`, `Domain` and flags, so the browser matches it.
    pub fn clear_cookie(&self) -> Result<HeaderValue, AuthError> {
        let mut cookie = self.cookie("");
        cookie.set_max_age(cookie::time::Duration::ZERO);
        cookie.set_expires(Expiration::DateTime(OffsetDateTime::UNIX_EPOCH));
        header_value(&cookie)
    }

    fn cookie(&self, value: &str) -> Cookie<'static> {
        let mut builder = Cookie::build((self.name, value.to_owned()))
            .path(self.path)
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(match self.same_site {
                SameSite::Lax => cookie::SameSite::Lax,
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::None => cookie::SameSite::None,
            });
        if let Some(domain) = self.domain {
            builder = builder.domain(domain);
        }
        builder.build()
    }

    /// The cookie's value in the request: `None` when it is absent, empty, or given more than
    /// once (which copy counts would depend on the parser).
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        cookie_value(headers, self.name)
    }

    /// Refuses a browser request sent by a page of another site, unless its `Origin` is in
    /// [`allowed_origins`](Self::allowed_origins): the check for login, logout and refresh with
    /// this cookie (login CSRF; `SameSite` does not stop a response from *setting* a cookie),
    /// and for a WebSocket upgrade it authenticates (cross-site WebSocket hijacking). The rules
    /// are [`SameOrigin`](crate::backend::SameOrigin)'s.
    ///
    /// # Errors
    ///
    /// [`AuthError::CrossSiteRequest`] (403).
    pub fn check_origin(&self, parts: &Parts) -> Result<(), AuthError> {
        crate::transport::check_same_origin(parts, self.allowed_origins)
    }
}

impl CookieOptionsBuilder {
    crate::macros::setters! {
        const
        /// `Max-Age` in seconds (not zero); without it the cookie lasts the browser session.
        max_age(seconds: u64) => options.max_age = Some(seconds);

        /// `Path` (default `/`).
        path(path: &'static str) => options.path = path;

        /// `Domain` (default none: the cookie goes back to the host that set it only).
        domain(domain: &'static str) => options.domain = Some(domain);

        /// `Secure` (default on): the browser sends the cookie over HTTPS only.
        secure(secure: bool) => options.secure = secure;

        /// `HttpOnly` (default on): scripts cannot read the cookie.
        http_only(http_only: bool) => options.http_only = http_only;

        /// `SameSite` (default `Lax`).
        same_site(same_site: SameSite) => options.same_site = same_site;

        /// Origins other than the site itself (`https://app.example.com`) whose pages may log in,
        /// log out or refresh with this cookie; by default none.
        allowed_origins(origins: &'static [&'static str]) => options.allowed_origins = origins;

        /// Whether a cookie without a `Domain` must be named `__Host-…` (default `true`; see
        /// [`CookieOptions`]). `false` keeps another name: for wire compatibility (fastapi-users'
        /// `fastapiusersauth`) or plain-http development, at the cost that a sibling subdomain can
        /// plant the cookie.
        host_prefix(required: bool) => options.host_prefix = required;
    }

    /// Checks the options; see [`InvalidCookieOption`] for what is refused.
    pub const fn build(self) -> Result<CookieOptions, InvalidCookieOption> {
        let o = self.options;
        let rules = CookieRules {
            name: o.name,
            path: o.path,
            domain: o.domain,
            max_age: o.max_age,
            secure: o.secure,
            same_site: o.same_site,
            allowed_origins: o.allowed_origins,
            host_prefix: o.host_prefix,
        };
        match rules.check() {
            Ok(()) => Ok(o),
            Err(error) => Err(error),
        }
    }
}

impl Default for CookieOptions {
    /// The defaults, for a cookie named [`CookieOptions::DEFAULT_NAME`] (`__Host-auth`).
    fn default() -> Self {
        const DEFAULT: CookieOptions = match CookieOptions::builder(CookieOptions::DEFAULT_NAME).build() {
            Ok(options) => options,
            Err(error) => panic!("{}", error.message()),
        };
        DEFAULT
    }
}

fn header_value(cookie: &Cookie<'_>) -> Result<HeaderValue, AuthError> {
    HeaderValue::from_str(&cookie.to_string()).map_err(|_| {
        tracing::error!(cookie = cookie.name(), "could not write a Set-Cookie header");
        AuthError::Internal
    })
}

/// The value of cookie `name` in the request's `Cookie` headers; a cookie given twice, or
/// empty, counts as absent.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(header::COOKIE) {
        let Ok(header) = header.to_str() else { continue };
        for cookie in Cookie::split_parse(header).flatten() {
            if cookie.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(cookie.value_trimmed().to_owned());
            }
        }
    }
    found.filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn build(builder: CookieOptionsBuilder) -> Result<CookieOptions, InvalidCookieOption> {
        builder.build()
    }

    #[test]
    fn options_that_cannot_form_a_cookie_are_refused() {
        use InvalidCookieOption as E;
        let b = CookieOptions::builder;
        let cases: Vec<(CookieOptionsBuilder, E)> = vec![
            (b(""), E::EmptyName),
            (b("a b"), E::Name),
            (b("a;b"), E::Name),
            (b("a,b"), E::Name),
            (b("a=b"), E::Name),
            (b("a\tb"), E::Name),
            (b("a\nb"), E::Name),
            (b("sessión"), E::Name),
            (b("s").path("/; Domain=evil.example"), E::Path),
            (b("s").path("app"), E::Path),
            (b("s").path(""), E::Path),
            (b("s").path("/a b"), E::Path),
            (b("s").path("/a,b"), E::Path),
            (b("s").path("/a\rb"), E::Path),
            (b("s").path("/ä"), E::Path),
            (b("s").domain("evil.example; Secure"), E::Domain),
            (b("s").domain(""), E::Domain),
            (b("s").domain(".example.com"), E::Domain),
            (b("s").domain("example.com."), E::Domain),
            (b("s").domain("exa mple.com"), E::Domain),
            (b("s").domain("example.com:8080"), E::Domain),
            (b("s").domain("-example.com"), E::Domain),
            (b("s").domain("bücher.example"), E::Domain),
            (b("s").max_age(0), E::ZeroMaxAge),
            (b("s").same_site(SameSite::None).secure(false), E::SameSiteNoneWithoutSecure),
            (b("__Secure-s").secure(false), E::SecurePrefix),
            (b("__host-s").secure(false), E::HostPrefix),
            (b("__Host-s").path("/app"), E::HostPrefix),
            (b("__Host-s").domain("example.com"), E::HostPrefix),
            (b("s").allowed_origins(&["https://app.example.com/"]), E::Origin),
            (b("s").allowed_origins(&["app.example.com"]), E::Origin),
            (b("s").allowed_origins(&["https://app.example.com:"]), E::Origin),
            (b("s").allowed_origins(&["https://user@app.example.com"]), E::Origin),
            (b("s").allowed_origins(&["https://app.example.com; x"]), E::Origin),
            (b("s").allowed_origins(&["null"]), E::Origin),
            // Issue 20, finding 8: a name a sibling subdomain could plant.
            (b("session"), E::MissingHostPrefix),
            (b("s").secure(false), E::MissingHostPrefix),
            (b("s").path("/app"), E::MissingHostPrefix),
            (b("__Secure-s"), E::MissingHostPrefix),
            (b("_Host-s"), E::MissingHostPrefix),
        ];
        for (builder, expected) in cases {
            let what = format!("{:?}", builder.options);
            assert_eq!(build(builder), Err(expected), "{what}");
        }
        for good in [
            b("session").path("/app/v1").domain("example.com").max_age(60).same_site(SameSite::Strict),
            b("__Host-session"),
            b("__host-session"),
            b("__Secure-session").domain("example.com"),
            b("s").domain("example.com"),
            b("s").same_site(SameSite::None).host_prefix(false),
            b("s").secure(false).http_only(false).host_prefix(false),
            b("s").path("/app").host_prefix(false),
            b("__Host-s").allowed_origins(&["https://app.example.com", "http://localhost:3000", "https://[::1]:8443"]),
        ] {
            let what = format!("{:?}", builder_debug(&good));
            assert!(build(good).is_ok(), "{what}");
        }
    }

    fn builder_debug(builder: &CookieOptionsBuilder) -> String {
        format!("{:?}", builder.options)
    }

    #[test]
    fn set_cookie_is_written_by_the_cookie_crate() {
        let options = CookieOptions::builder("__Host-session").max_age(3600).build().unwrap();
        assert_eq!(
            options.set_cookie("tok").unwrap(),
            "__Host-session=tok; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"
        );
        assert_eq!(
            options.clear_cookie().unwrap(),
            "__Host-session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let options = CookieOptions::builder("s").domain("example.com").path("/app").secure(false).http_only(false);
        assert_eq!(
            options.build().unwrap().set_cookie("t").unwrap(),
            "s=t; SameSite=Lax; Path=/app; Domain=example.com"
        );
        // A value that is no cookie-octet never reaches a header.
        let options = CookieOptions::default();
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "a\\b", "a\nb", "é"] {
            assert!(matches!(options.set_cookie(bad), Err(AuthError::Internal)), "{bad:?}");
        }
    }

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::post("/login");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn cross_site_requests_are_refused_unless_allowed() {
        let options = CookieOptions::builder("__Host-s").allowed_origins(&["https://app.example.com"]).build().unwrap();
        let ok = [
            vec![],
            vec![("host", "api.example.com")],
            vec![("host", "api.example.com"), ("origin", "https://api.example.com")],
            vec![("host", "api.example.com:443"), ("origin", "https://API.example.com")],
            vec![("host", "localhost:8000"), ("origin", "http://localhost:8000"), ("sec-fetch-site", "same-origin")],
            vec![("host", "api.example.com"), ("origin", "https://app.example.com"), ("sec-fetch-site", "cross-site")],
            vec![("host", "api.example.com"), ("sec-fetch-site", "same-site")],
            vec![("sec-fetch-site", "none")],
        ];
        for headers in ok {
            assert!(options.check_origin(&parts(&headers)).is_ok(), "{headers:?}");
        }
        let refused = [
            vec![("sec-fetch-site", "cross-site")],
            vec![("host", "api.example.com"), ("sec-fetch-site", "cross-site"), ("origin", "https://api.example.com")],
            vec![("host", "api.example.com"), ("origin", "https://evil.example")],
            vec![("host", "api.example.com"), ("origin", "null")],
            vec![("host", "api.example.com"), ("origin", "https://api.example.com.evil.example")],
            vec![("host", "api.example.com"), ("origin", "https://api.example.com:8443")],
            vec![("host", "api.example.com"), ("origin", "ftp://api.example.com")],
            vec![("origin", "https://api.example.com")],
            vec![
                ("host", "api.example.com"),
                ("origin", "https://app.example.com"),
                ("origin", "https://app.example.com"),
            ],
        ];
        for headers in refused {
            assert!(matches!(options.check_origin(&parts(&headers)), Err(AuthError::CrossSiteRequest)), "{headers:?}");
        }
    }

    #[test]
    fn reads_the_one_cookie_of_its_name() {
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for value in values {
                map.append(header::COOKIE, value.parse().unwrap());
            }
            map
        };
        // The default name is `__Host-auth` (issue 20, finding 8; it was `auth`).
        let options = CookieOptions::default();
        assert_eq!(options.name(), CookieOptions::DEFAULT_NAME);
        assert_eq!(options.read(&headers(&["a=1; __Host-auth=tok; b=2"])).as_deref(), Some("tok"));
        assert_eq!(options.read(&headers(&["__Host-auth=\"tok\""])).as_deref(), Some("tok"));
        assert_eq!(options.read(&headers(&["__Host-auth=a; __Host-auth=b"])), None);
        assert_eq!(options.read(&headers(&["__Host-auth=a", "__Host-auth=a"])), None);
        assert_eq!(options.read(&headers(&["__Host-auth="])), None);
        assert_eq!(options.read(&headers(&["__Host-auth"])), None);
        assert_eq!(options.read(&headers(&["__host-auth=tok"])), None);
        assert_eq!(options.read(&headers(&["auth=tok"])), None, "a cookie a sibling could plant");
    }
}
