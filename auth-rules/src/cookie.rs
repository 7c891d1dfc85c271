//! The rules of a cookie's options, as `const fn`s: which names, paths, domains and allowed
//! origins form a safe `Set-Cookie` header, and which combinations browsers refuse or an
//! attacker could exploit (`SameSite=None` without `Secure`, the `__Secure-` and `__Host-`
//! prefixes, a cookie without a domain that is not a `__Host-` one).
//!
//! Each value check returns the precise [`Flaw`], for an error at the option; [`CookieRules`]
//! checks a whole set of options and says which rule failed ([`InvalidCookieOption`]).

/// The cookie name when none is given: a `__Host-` one, so that a sibling subdomain cannot
/// plant it.
pub const DEFAULT_NAME: &str = "__Host-auth";

/// The name prefix that needs `Secure`, path `/` and no domain.
pub const HOST_PREFIX: &str = "__Host-";

/// The name prefix that needs `Secure`.
pub const SECURE_PREFIX: &str = "__Secure-";

/// The name of a cookie whose options give none: [`DEFAULT_NAME`], or `auth` for a cookie that
/// cannot be a `__Host-` one by the app's choice (it has a domain, or `host_prefix` is off).
pub const fn default_name(has_domain: bool, host_prefix: bool) -> &'static str {
    if has_domain || !host_prefix { "auth" } else { DEFAULT_NAME }
}

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

/// The `SameSite` value named `name` (`lax`, `strict` or `none`, in any case).
pub fn same_site(name: &str) -> Option<SameSite> {
    [("lax", SameSite::Lax), ("strict", SameSite::Strict), ("none", SameSite::None)]
        .into_iter()
        .find_map(|(known, value)| name.eq_ignore_ascii_case(known).then_some(value))
}

/// Why a set of cookie options was refused. Each message says what is wrong and what would be
/// right.
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
    /// `__Host-…` (Secure, path `/`), or opt out with `host_prefix(false)`.
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

impl core::fmt::Display for InvalidCookieOption {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for InvalidCookieOption {}

/// Precisely what is wrong with a cookie name, path or domain, or an allowed origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flaw {
    /// The value is empty.
    Empty,
    /// The character that starts at this byte offset is not allowed.
    Char(usize),
    /// A path that does not start with `/`.
    NotAbsolute,
    /// A domain that starts with `.`.
    LeadingDot,
    /// A domain with a `/`: a URL, with a scheme or a path.
    Slash,
    /// A host name longer than 253 bytes, or with a dot-separated label that is empty, longer
    /// than 63 bytes, or starts or ends with `-`.
    Label,
    /// An origin without `scheme://`.
    NoScheme,
    /// An origin whose scheme is not a letter followed by letters, digits, `+`, `-` and `.`.
    Scheme,
    /// An origin with a path, even `/`.
    Path,
    /// An origin with a user name or a password.
    UserInfo,
    /// An origin with `[` but no `]`.
    UnclosedBracket,
    /// An origin whose bracketed host is not an IPv6 address.
    NotIpv6,
    /// An origin with text after `]` that is not a port.
    AfterAddress,
    /// An origin whose host, at this byte range, is not a host name.
    Host(usize, usize),
    /// An origin whose port is not 1 to 5 digits.
    Port,
}

/// A cookie name: a non-empty RFC 6265 token (RFC 9110 `tchar`s).
pub const fn check_name(name: &str) -> Result<(), Flaw> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(Flaw::Empty);
    }
    let mut i = 0;
    while i < bytes.len() {
        if !is_token_char(bytes[i]) {
            return Err(Flaw::Char(i));
        }
        i += 1;
    }
    Ok(())
}

/// RFC 9110 `tchar`, what a cookie name is made of (RFC 6265 §4.1.1).
pub const fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// RFC 6265 `cookie-octet`, what a cookie value is made of: visible ASCII without `"`, `,`,
/// `;` and `\`.
pub const fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// A cookie path: `/` then visible ASCII without `;` (which would start another attribute) and
/// `,` (which some proxies take for a header-list separator).
pub const fn check_path(path: &str) -> Result<(), Flaw> {
    let bytes = path.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        return Err(Flaw::NotAbsolute);
    }
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(bytes[i], 0x21..=0x7E) || bytes[i] == b';' || bytes[i] == b',' {
            return Err(Flaw::Char(i));
        }
        i += 1;
    }
    Ok(())
}

/// A cookie domain: a host name, dot-separated labels of letters, digits and inner hyphens,
/// 1–63 bytes each, 253 in all.
pub const fn check_domain(domain: &str) -> Result<(), Flaw> {
    host_name(domain.as_bytes())
}

const fn host_name(host: &[u8]) -> Result<(), Flaw> {
    if !host.is_empty() && host[0] == b'.' {
        return Err(Flaw::LeadingDot);
    }
    let mut i = 0;
    while i < host.len() {
        if host[i] == b'/' {
            return Err(Flaw::Slash);
        }
        i += 1;
    }
    i = 0;
    while i < host.len() {
        if !(host[i].is_ascii_alphanumeric() || host[i] == b'-' || host[i] == b'.') {
            return Err(Flaw::Char(i));
        }
        i += 1;
    }
    if host.is_empty() || host.len() > 253 {
        return Err(Flaw::Label);
    }
    let mut label_start = 0;
    i = 0;
    while i <= host.len() {
        if i == host.len() || host[i] == b'.' {
            let len = i - label_start;
            if len == 0 || len > 63 || host[label_start] == b'-' || host[i - 1] == b'-' {
                return Err(Flaw::Label);
            }
            label_start = i + 1;
        }
        i += 1;
    }
    Ok(())
}

/// An allowed origin, as browsers send it in `Origin`: `scheme://host[:port]`, a scheme of
/// letters, digits, `+`, `-` and `.` starting with a letter; a host name or a bracketed IPv6
/// address; a port of 1–5 digits; nothing after it.
pub const fn check_origin(origin: &str) -> Result<(), Flaw> {
    let o = origin.as_bytes();
    let mut sep = 0;
    while sep + 3 <= o.len() && !(o[sep] == b':' && o[sep + 1] == b'/' && o[sep + 2] == b'/') {
        sep += 1;
    }
    if sep + 3 > o.len() {
        return Err(Flaw::NoScheme);
    }
    if sep == 0 || !o[0].is_ascii_alphabetic() {
        return Err(Flaw::Scheme);
    }
    let mut i = 1;
    while i < sep {
        if !(o[i].is_ascii_alphanumeric() || matches!(o[i], b'+' | b'-' | b'.')) {
            return Err(Flaw::Scheme);
        }
        i += 1;
    }
    let start = sep + 3;
    i = start;
    while i < o.len() {
        if o[i] == b'/' {
            return Err(Flaw::Path);
        }
        i += 1;
    }
    i = start;
    while i < o.len() {
        if o[i] == b'@' {
            return Err(Flaw::UserInfo);
        }
        i += 1;
    }
    // Where the port starts, if a `:` follows the host.
    let port;
    if start < o.len() && o[start] == b'[' {
        let mut close = start + 1;
        while close < o.len() && o[close] != b']' {
            close += 1;
        }
        if close == o.len() {
            return Err(Flaw::UnclosedBracket);
        }
        if close == start + 1 {
            return Err(Flaw::NotIpv6);
        }
        i = start + 1;
        while i < close {
            if !(o[i].is_ascii_hexdigit() || o[i] == b':' || o[i] == b'.') {
                return Err(Flaw::NotIpv6);
            }
            i += 1;
        }
        if close + 1 == o.len() {
            return Ok(());
        }
        if o[close + 1] != b':' {
            return Err(Flaw::AfterAddress);
        }
        port = close + 2;
    } else {
        let mut end = start;
        while end < o.len() && o[end] != b':' {
            end += 1;
        }
        let (_, rest) = o.split_at(start);
        let (host, _) = rest.split_at(end - start);
        if host_name(host).is_err() {
            return Err(Flaw::Host(start, end));
        }
        if end == o.len() {
            return Ok(());
        }
        port = end + 1;
    }
    let digits = o.len() - port;
    if digits == 0 || digits > 5 {
        return Err(Flaw::Port);
    }
    i = port;
    while i < o.len() {
        if !o[i].is_ascii_digit() {
            return Err(Flaw::Port);
        }
        i += 1;
    }
    Ok(())
}

/// A cookie's `max_age`: not 0, which would delete the cookie at once.
pub const fn check_max_age(seconds: u64) -> Result<(), InvalidCookieOption> {
    if seconds == 0 { Err(InvalidCookieOption::ZeroMaxAge) } else { Ok(()) }
}

/// Whether `name` starts with `prefix`, ignoring ASCII case, as browsers match the cookie
/// prefixes.
pub const fn has_prefix(name: &str, prefix: &str) -> bool {
    let (name, prefix) = (name.as_bytes(), prefix.as_bytes());
    if name.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if !name[i].eq_ignore_ascii_case(&prefix[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// A whole set of cookie options, as the rules see them (`HttpOnly` is free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieRules<'a> {
    /// The cookie's name.
    pub name: &'a str,
    /// `Path`.
    pub path: &'a str,
    /// `Domain`, if any.
    pub domain: Option<&'a str>,
    /// `Max-Age` in seconds, if any.
    pub max_age: Option<u64>,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite`.
    pub same_site: SameSite,
    /// Origins other than the site itself allowed to log in with the cookie.
    pub allowed_origins: &'a [&'a str],
    /// Whether a cookie without a domain must be named `__Host-…`.
    pub host_prefix: bool,
}

macro_rules! check {
    ($result:expr) => {
        if let Err(error) = $result {
            return Err(error);
        }
    };
}

impl CookieRules<'_> {
    /// Every rule, in this order: name, path, domain, `max_age`, `SameSite`, the `__Secure-`
    /// and `__Host-` prefixes, the allowed origins, and the `__Host-` name of a cookie without
    /// a domain. The first that fails says why.
    pub const fn check(&self) -> Result<(), InvalidCookieOption> {
        match check_name(self.name) {
            Ok(()) => {}
            Err(Flaw::Empty) => return Err(InvalidCookieOption::EmptyName),
            Err(_) => return Err(InvalidCookieOption::Name),
        }
        if check_path(self.path).is_err() {
            return Err(InvalidCookieOption::Path);
        }
        if let Some(domain) = self.domain
            && check_domain(domain).is_err()
        {
            return Err(InvalidCookieOption::Domain);
        }
        check!(self.check_max_age());
        check!(self.check_same_site());
        check!(self.check_secure_prefix());
        check!(self.check_host_prefix());
        let mut i = 0;
        while i < self.allowed_origins.len() {
            if check_origin(self.allowed_origins[i]).is_err() {
                return Err(InvalidCookieOption::Origin);
            }
            i += 1;
        }
        self.check_missing_host_prefix()
    }

    /// A `max_age` of 0 would delete the cookie at once.
    pub const fn check_max_age(&self) -> Result<(), InvalidCookieOption> {
        match self.max_age {
            Some(seconds) => check_max_age(seconds),
            None => Ok(()),
        }
    }

    /// `SameSite=None` needs `Secure`.
    pub const fn check_same_site(&self) -> Result<(), InvalidCookieOption> {
        if matches!(self.same_site, SameSite::None) && !self.secure {
            Err(InvalidCookieOption::SameSiteNoneWithoutSecure)
        } else {
            Ok(())
        }
    }

    /// A `__Secure-` cookie needs `Secure`.
    pub const fn check_secure_prefix(&self) -> Result<(), InvalidCookieOption> {
        if has_prefix(self.name, SECURE_PREFIX) && !self.secure {
            Err(InvalidCookieOption::SecurePrefix)
        } else {
            Ok(())
        }
    }

    /// A `__Host-` cookie needs `Secure`, path `/` and no domain.
    pub const fn check_host_prefix(&self) -> Result<(), InvalidCookieOption> {
        let root = matches!(self.path.as_bytes(), [b'/']);
        if has_prefix(self.name, HOST_PREFIX) && (!self.secure || self.domain.is_some() || !root) {
            Err(InvalidCookieOption::HostPrefix)
        } else {
            Ok(())
        }
    }

    /// A cookie without a domain is a `__Host-` one, unless `host_prefix` is off.
    pub const fn check_missing_host_prefix(&self) -> Result<(), InvalidCookieOption> {
        if self.host_prefix && self.domain.is_none() && !has_prefix(self.name, HOST_PREFIX) {
            Err(InvalidCookieOption::MissingHostPrefix)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(name: &str) -> CookieRules<'_> {
        CookieRules {
            name,
            path: "/",
            domain: None,
            max_age: None,
            secure: true,
            same_site: SameSite::Lax,
            allowed_origins: &[],
            host_prefix: true,
        }
    }

    #[test]
    fn names_are_tokens() {
        for good in ["s", "__Host-session", "a!#$%&'*+-.^_`|~9"] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
        assert_eq!(check_name(""), Err(Flaw::Empty));
        for (bad, at) in
            [("a b", 1), ("a;b", 1), ("a,b", 1), ("a=b", 1), ("a\tb", 1), ("a\nb", 1), ("sessión", 5), ("a(b", 1)]
        {
            assert_eq!(check_name(bad), Err(Flaw::Char(at)), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_absolute_visible_ascii_without_separators() {
        for good in ["/", "/app/v1", "/a-b_c~d"] {
            assert_eq!(check_path(good), Ok(()), "{good:?}");
        }
        for bad in ["", "app", " /app"] {
            assert_eq!(check_path(bad), Err(Flaw::NotAbsolute), "{bad:?}");
        }
        for (bad, at) in [("/; Domain=evil", 1), ("/a b", 2), ("/a,b", 2), ("/a\rb", 2), ("/ä", 1)] {
            assert_eq!(check_path(bad), Err(Flaw::Char(at)), "{bad:?}");
        }
    }

    #[test]
    fn domains_are_host_names() {
        for good in ["example.com", "api.example.com", "localhost", "a-b.c1", &["a"; 127].join(".")] {
            assert_eq!(check_domain(good), Ok(()), "{good:?}");
        }
        assert_eq!(check_domain(".example.com"), Err(Flaw::LeadingDot));
        assert_eq!(check_domain("https://example.com"), Err(Flaw::Slash));
        assert_eq!(check_domain("example.com/app"), Err(Flaw::Slash));
        for (bad, at) in [("example.com:8080", 11), ("exa mple.com", 3), ("x;y", 1), ("bücher.example", 1)] {
            assert_eq!(check_domain(bad), Err(Flaw::Char(at)), "{bad:?}");
        }
        let long_label = "a".repeat(64);
        let too_long = ["a"; 128].join(".");
        for bad in ["", "example.com.", "a..b", "-a.com", "a-.com", &long_label, &too_long] {
            assert_eq!(check_domain(bad), Err(Flaw::Label), "{bad:?}");
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        for good in [
            "https://app.example.com",
            "http://localhost:3000",
            "https://[::1]:8443",
            "https://[::1]",
            "web+app.v2://example.com:1",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good:?}");
        }
        let cases = [
            ("null", Flaw::NoScheme),
            ("app.example.com", Flaw::NoScheme),
            ("https:/a.com", Flaw::NoScheme),
            ("1a://a.com", Flaw::Scheme),
            ("://a.com", Flaw::Scheme),
            ("ht tp://a.com", Flaw::Scheme),
            ("https://a.com/", Flaw::Path),
            ("https://a.com/app", Flaw::Path),
            ("https://u@a.com", Flaw::UserInfo),
            ("https://[::1", Flaw::UnclosedBracket),
            ("https://[]", Flaw::NotIpv6),
            ("https://[zz]", Flaw::NotIpv6),
            ("https://[[::1]", Flaw::NotIpv6),
            ("https://[::1]x", Flaw::AfterAddress),
            ("https://a.com; x", Flaw::Host(8, 16)),
            ("https://", Flaw::Host(8, 8)),
            ("https://a.com:", Flaw::Port),
            ("https://a.com:123456", Flaw::Port),
            ("https://a.com:https", Flaw::Port),
            ("https://[::1]:", Flaw::Port),
        ];
        for (bad, flaw) in cases {
            assert_eq!(check_origin(bad), Err(flaw), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_match_ignoring_case() {
        assert!(has_prefix("__Host-s", HOST_PREFIX));
        assert!(has_prefix("__host-s", HOST_PREFIX));
        assert!(has_prefix("__SECURE-s", SECURE_PREFIX));
        assert!(!has_prefix("_Host-s", HOST_PREFIX));
        assert!(!has_prefix("__Host", HOST_PREFIX));
    }

    #[test]
    fn the_default_name_is_a_host_cookie_where_it_can_be() {
        assert_eq!(default_name(false, true), DEFAULT_NAME);
        assert_eq!(rules(default_name(false, true)).check(), Ok(()));
        assert_eq!(default_name(true, true), "auth");
        assert_eq!(default_name(false, false), "auth");
        assert_eq!(CookieRules { host_prefix: false, ..rules(default_name(false, false)) }.check(), Ok(()));
    }

    #[test]
    fn same_site_is_named_in_any_case() {
        assert_eq!(same_site("lax"), Some(SameSite::Lax));
        assert_eq!(same_site("Strict"), Some(SameSite::Strict));
        assert_eq!(same_site("NONE"), Some(SameSite::None));
        assert_eq!(same_site("sometimes"), None);
        assert_eq!(same_site(""), None);
    }

    #[test]
    fn each_rule_refuses_its_case_and_accepts_the_fixed_one() {
        use InvalidCookieOption as E;
        let s = rules("__Host-s");
        let cases = [
            (rules(""), E::EmptyName),
            (rules("a b"), E::Name),
            (CookieRules { path: "/; Domain=evil.example", ..s }, E::Path),
            (CookieRules { domain: Some("evil.example; Secure"), ..rules("s") }, E::Domain),
            (CookieRules { max_age: Some(0), ..s }, E::ZeroMaxAge),
            (CookieRules { same_site: SameSite::None, secure: false, ..rules("s") }, E::SameSiteNoneWithoutSecure),
            (CookieRules { secure: false, ..rules("__Secure-s") }, E::SecurePrefix),
            (CookieRules { secure: false, ..rules("__host-s") }, E::HostPrefix),
            (CookieRules { path: "/app", ..s }, E::HostPrefix),
            (CookieRules { domain: Some("example.com"), ..s }, E::HostPrefix),
            (CookieRules { allowed_origins: &["https://app.example.com/"], ..s }, E::Origin),
            (rules("session"), E::MissingHostPrefix),
            (rules("__Secure-s"), E::MissingHostPrefix),
            (rules("_Host-s"), E::MissingHostPrefix),
            (CookieRules { path: "/app", ..rules("s") }, E::MissingHostPrefix),
        ];
        for (options, expected) in cases {
            assert_eq!(options.check(), Err(expected), "{options:?}");
        }
        let accepted = [
            s,
            rules("__host-s"),
            CookieRules { max_age: Some(1), same_site: SameSite::None, ..s },
            CookieRules { domain: Some("example.com"), ..rules("__Secure-s") },
            CookieRules { domain: Some("example.com"), path: "/app", same_site: SameSite::Strict, ..rules("s") },
            CookieRules { same_site: SameSite::None, host_prefix: false, ..rules("s") },
            CookieRules { secure: false, host_prefix: false, ..rules("s") },
            CookieRules { path: "/app", host_prefix: false, ..rules("s") },
            CookieRules { allowed_origins: &["https://app.example.com", "http://localhost:3000"], ..s },
        ];
        for options in accepted {
            assert_eq!(options.check(), Ok(()), "{options:?}");
        }
    }

    #[test]
    fn the_rules_run_in_const_context() {
        const CHECKED: Result<(), InvalidCookieOption> = CookieRules {
            name: "session",
            path: "/",
            domain: None,
            max_age: None,
            secure: true,
            same_site: SameSite::Lax,
            allowed_origins: &[],
            host_prefix: true,
        }
        .check();
        assert_eq!(CHECKED, Err(InvalidCookieOption::MissingHostPrefix));
    }

    #[test]
    fn cookie_values_are_cookie_octets() {
        for good in b"aZ09!#$%&'()*+-./:<=>?@[]^_`{|}~" {
            assert!(is_cookie_octet(*good), "{}", *good as char);
        }
        for bad in b" \",;\\\t\n\x7f" {
            assert!(!is_cookie_octet(*bad), "{:?}", *bad as char);
        }
        assert!(!is_cookie_octet(0xC3));
    }
}
