//! The cookie transport's options: validated when they are built (at compile time for
//! `#[derive(AuthBackend)]`), written with the [`cookie`] crate, and the origin check that keeps
//! other sites from logging a browser in or out (login CSRF).

use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use cookie::{Cookie, Expiration, time::OffsetDateTime};

use crate::error::AuthError;

/// `SameSite` attribute of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations and same-site requests: the default.
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent everywhere; browsers require `Secure` with it, so the options refuse it without.
    None,
}

impl SameSite {
    fn to_cookie(self) -> cookie::SameSite {
        match self {
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::None => cookie::SameSite::None,
        }
    }
}

/// Why [`CookieOptionsBuilder::build`] refused a set of cookie options. Each message says what
/// is wrong and what would be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCookieOption {
    /// The name is empty.
    EmptyName,
    /// The name holds a character outside RFC 6265's token (`;`, `,`, `=`, a space, a control
    /// character, non-ASCII…).
    Name,
    /// The path does not start with `/`, or holds `;`, `,`, a space, a control character or
    /// non-ASCII.
    Path,
    /// The domain is not a host name of letters, digits, `-` and `.`.
    Domain,
    /// `SameSite=None` without `Secure`.
    SameSiteNoneWithoutSecure,
    /// A `__Secure-` cookie without `Secure`.
    SecurePrefix,
    /// A `__Host-` cookie without `Secure`, with a `Domain`, or with a path other than `/`.
    HostPrefix,
    /// `max_age` of zero: the browser would delete the cookie at once.
    ZeroMaxAge,
    /// An allowed origin is not `scheme://host[:port]`.
    Origin,
    /// A cookie without a `Domain` not named `__Host-…`: a page of a sibling subdomain could
    /// plant a cookie of that name for this host (session fixation, login CSRF). Name it
    /// `__Host-…` (Secure, path `/`), or opt out with
    /// [`host_prefix(false)`](CookieOptionsBuilder::host_prefix).
    MissingHostPrefix,
}

impl InvalidCookieOption {
    /// What is wrong and what would be right; also the `Display` text.
    pub const fn message(&self) -> &'static str {
        match self {
            InvalidCookieOption::EmptyName => "a cookie name cannot be empty: use a name such as `session`",
            InvalidCookieOption::Name => {
                "a cookie name may only hold letters, digits and !#$%&'*+-.^_`|~ (an RFC 6265 token): no `;`, `,`, `=`, whitespace, control characters or non-ASCII"
            }
            InvalidCookieOption::Path => {
                "a cookie path starts with `/` and holds only visible ASCII other than `;` and `,`, e.g. `/app`"
            }
            InvalidCookieOption::Domain => {
                "a cookie domain is a host name such as `example.com`: letters, digits, `-` and `.`, without a leading or trailing dot, a port or a path"
            }
            InvalidCookieOption::SameSiteNoneWithoutSecure => {
                "SameSite=None needs Secure (browsers drop the cookie otherwise): keep `secure` on, or use SameSite Lax or Strict"
            }
            InvalidCookieOption::SecurePrefix => "a cookie named `__Secure-…` needs Secure: keep `secure` on",
            InvalidCookieOption::HostPrefix => {
                "a cookie named `__Host-…` needs Secure, path `/` and no domain: keep `secure` on and drop `path` and `domain`"
            }
            InvalidCookieOption::ZeroMaxAge => {
                "a max_age of 0 deletes the cookie at once: give a number of seconds, or leave max_age out for a session cookie"
            }
            InvalidCookieOption::Origin => {
                "an allowed origin is `scheme://host` or `scheme://host:port`, e.g. `https://app.example.com`, with no path, not even `/`"
            }
            InvalidCookieOption::MissingHostPrefix => {
                "a cookie without a domain is named `__Host-…` (Secure, path `/`), e.g. `__Host-session`, so that a sibling subdomain cannot plant it; to keep another name (wire compatibility, plain-http development), opt out with `host_prefix = false`"
            }
        }
    }
}

impl std::fmt::Display for InvalidCookieOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for InvalidCookieOption {}

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

/// [`CookieOptions::DEFAULT_NAME`], for the crate's own use.
pub(crate) const DEFAULT_NAME: &str = "__Host-auth";

impl CookieOptions {
    /// The cookie name unless one is given: `__Host-auth` (see [`CookieOptions`]).
    pub const DEFAULT_NAME: &str = DEFAULT_NAME;
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
            .same_site(self.same_site.to_cookie());
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
    /// are [`SameOrigin`](super::SameOrigin)'s.
    ///
    /// # Errors
    ///
    /// [`AuthError::CrossSiteRequest`] (403).
    pub fn check_origin(&self, parts: &Parts) -> Result<(), AuthError> {
        crate::transport::check_same_origin(parts, self.allowed_origins)
    }
}

impl CookieOptionsBuilder {
    /// `Max-Age` in seconds (not zero); without it the cookie lasts the browser session.
    pub const fn max_age(mut self, seconds: u64) -> Self {
        self.options.max_age = Some(seconds);
        self
    }

    /// `Path` (default `/`).
    pub const fn path(mut self, path: &'static str) -> Self {
        self.options.path = path;
        self
    }

    /// `Domain` (default none: the cookie goes back to the host that set it only).
    pub const fn domain(mut self, domain: &'static str) -> Self {
        self.options.domain = Some(domain);
        self
    }

    /// `Secure` (default on): the browser sends the cookie over HTTPS only.
    pub const fn secure(mut self, secure: bool) -> Self {
        self.options.secure = secure;
        self
    }

    /// `HttpOnly` (default on): scripts cannot read the cookie.
    pub const fn http_only(mut self, http_only: bool) -> Self {
        self.options.http_only = http_only;
        self
    }

    /// `SameSite` (default `Lax`).
    pub const fn same_site(mut self, same_site: SameSite) -> Self {
        self.options.same_site = same_site;
        self
    }

    /// Origins other than the site itself (`https://app.example.com`) whose pages may log in,
    /// log out or refresh with this cookie; by default none.
    pub const fn allowed_origins(mut self, origins: &'static [&'static str]) -> Self {
        self.options.allowed_origins = origins;
        self
    }

    /// Whether a cookie without a `Domain` must be named `__Host-…` (default `true`; see
    /// [`CookieOptions`]). `false` keeps another name: for wire compatibility (fastapi-users'
    /// `fastapiusersauth`) or plain-http development, at the cost that a sibling subdomain can
    /// plant the cookie.
    pub const fn host_prefix(mut self, required: bool) -> Self {
        self.options.host_prefix = required;
        self
    }

    /// Checks the options; see [`InvalidCookieOption`] for what is refused.
    pub const fn build(self) -> Result<CookieOptions, InvalidCookieOption> {
        let o = self.options;
        if o.name.is_empty() {
            return Err(InvalidCookieOption::EmptyName);
        }
        if !is_token(o.name.as_bytes()) {
            return Err(InvalidCookieOption::Name);
        }
        if !is_cookie_path(o.path.as_bytes()) {
            return Err(InvalidCookieOption::Path);
        }
        if let Some(domain) = o.domain
            && !is_host_name(domain.as_bytes())
        {
            return Err(InvalidCookieOption::Domain);
        }
        if matches!(o.max_age, Some(0)) {
            return Err(InvalidCookieOption::ZeroMaxAge);
        }
        if matches!(o.same_site, SameSite::None) && !o.secure {
            return Err(InvalidCookieOption::SameSiteNoneWithoutSecure);
        }
        // Browsers match the prefixes case-insensitively.
        if starts_with_ignore_case(o.name.as_bytes(), b"__Secure-") && !o.secure {
            return Err(InvalidCookieOption::SecurePrefix);
        }
        if starts_with_ignore_case(o.name.as_bytes(), b"__Host-")
            && (!o.secure || o.domain.is_some() || !matches!(o.path.as_bytes(), [b'/']))
        {
            return Err(InvalidCookieOption::HostPrefix);
        }
        let mut i = 0;
        while i < o.allowed_origins.len() {
            if !is_origin(o.allowed_origins[i].as_bytes()) {
                return Err(InvalidCookieOption::Origin);
            }
            i += 1;
        }
        if o.host_prefix && o.domain.is_none() && !starts_with_ignore_case(o.name.as_bytes(), b"__Host-") {
            return Err(InvalidCookieOption::MissingHostPrefix);
        }
        Ok(o)
    }
}

impl Default for CookieOptions {
    /// The defaults, for a cookie named [`CookieOptions::DEFAULT_NAME`] (`__Host-auth`).
    fn default() -> Self {
        const DEFAULT: CookieOptions = match CookieOptions::builder(DEFAULT_NAME).build() {
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
pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
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

const fn is_token(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if !is_token_char(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// RFC 9110 `tchar`, what a cookie name is made of (RFC 6265 §4.1.1).
const fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// RFC 6265 `cookie-octet`: visible ASCII without `"`, `,`, `;` and `\`.
const fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// `/` then visible ASCII without `;` (which would start another attribute) and `,` (which
/// some proxies take for a header-list separator).
const fn is_cookie_path(path: &[u8]) -> bool {
    if path.is_empty() || path[0] != b'/' {
        return false;
    }
    let mut i = 0;
    while i < path.len() {
        if !matches!(path[i], 0x21..=0x7E) || path[i] == b';' || path[i] == b',' {
            return false;
        }
        i += 1;
    }
    true
}

/// Dot-separated labels of letters, digits and inner hyphens, 1–63 bytes each, 253 in all.
const fn is_host_name(host: &[u8]) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let mut label_start = 0;
    let mut i = 0;
    while i <= host.len() {
        if i == host.len() || host[i] == b'.' {
            let len = i - label_start;
            if len == 0 || len > 63 || host[label_start] == b'-' || host[i - 1] == b'-' {
                return false;
            }
            label_start = i + 1;
        } else if !(host[i].is_ascii_alphanumeric() || host[i] == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// `scheme://host[:port]`: a scheme of letters, digits, `+`, `-` and `.` starting with a letter;
/// a host name or a bracketed IPv6 address; a port of 1–5 digits; nothing after it.
const fn is_origin(origin: &[u8]) -> bool {
    let mut i = 0;
    while i < origin.len() && origin[i] != b':' {
        let b = origin[i];
        if !(b.is_ascii_alphabetic() || (i > 0 && (b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')))) {
            return false;
        }
        i += 1;
    }
    if i == 0 || i + 3 > origin.len() || origin[i + 1] != b'/' || origin[i + 2] != b'/' {
        return false;
    }
    let host_start = i + 3;
    let mut host_end = host_start;
    if host_end < origin.len() && origin[host_end] == b'[' {
        while host_end < origin.len() && origin[host_end] != b']' {
            let b = origin[host_end];
            if !(b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'[') {
                return false;
            }
            host_end += 1;
        }
        if host_end == origin.len() || host_end == host_start + 1 {
            return false;
        }
        host_end += 1;
    } else {
        while host_end < origin.len() && origin[host_end] != b':' {
            host_end += 1;
        }
        let (_, rest) = origin.split_at(host_start);
        let (host, _) = rest.split_at(host_end - host_start);
        if !is_host_name(host) {
            return false;
        }
    }
    if host_end == origin.len() {
        return true;
    }
    if origin[host_end] != b':' {
        return false;
    }
    let digits = origin.len() - host_end - 1;
    if digits == 0 || digits > 5 {
        return false;
    }
    let mut j = host_end + 1;
    while j < origin.len() {
        if !origin[j].is_ascii_digit() {
            return false;
        }
        j += 1;
    }
    true
}

const fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    if text.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if !text[i].eq_ignore_ascii_case(&prefix[i]) {
            return false;
        }
        i += 1;
    }
    true
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
        assert_eq!(options.name(), DEFAULT_NAME);
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
