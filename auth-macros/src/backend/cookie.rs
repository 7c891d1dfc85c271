//! The cookie transport's options, checked at the option by auth-rules, the rules auth-core's
//! `CookieOptionsBuilder::build` runs: this file only words each [`Flaw`] and broken rule for
//! the attribute, quoting the value, naming the offending character and showing what would be
//! right. The generated code also builds the options through `build` in a `static`.

use auth_rules::cookie::{
    self as rules, CookieRules, Flaw, HOST_PREFIX, InvalidCookieOption, SECURE_PREFIX, has_prefix,
};
use syn::{Ident, LitStr};

use super::validate::Value;
use crate::attr::Errors;

/// Checks a cookie `name`, `path` or `domain` (`what`); `None` when the value is fine.
pub(crate) fn check_string(what: &str, value: &str) -> Option<String> {
    let (result, right) = match what {
        "name" => (
            rules::check_name(value),
            "a cookie name holds only letters, digits and !#$%&'*+-.^_`|~ (an RFC 6265 token), e.g. `name = \"session\"`",
        ),
        "path" => (
            rules::check_path(value),
            "a cookie path starts with `/` and holds only visible ASCII other than `;` and `,`, e.g. `path = \"/app\"`",
        ),
        _ => (
            rules::check_domain(value),
            "a cookie domain is a host name such as `domain = \"example.com\"`: letters, digits, `-` and `.`",
        ),
    };
    let flaw = result.err()?;
    let why = match flaw {
        Flaw::Empty => {
            return Some("a cookie name cannot be empty: use a name such as `name = \"session\"`".to_owned());
        }
        Flaw::Char(at) => match char_at(value, at) {
            ':' if what == "domain" => "a cookie domain has no port".to_owned(),
            bad => why_not(bad, what),
        },
        Flaw::NotAbsolute => "it must start with `/`".to_owned(),
        Flaw::LeadingDot => "drop the leading `.` (`example.com` already covers its subdomains)".to_owned(),
        Flaw::Slash => "a cookie domain has no scheme or path".to_owned(),
        Flaw::Label => "each dot-separated label needs 1 to 63 characters and cannot start or end with `-`".to_owned(),
        _ => "it is not valid here".to_owned(),
    };
    Some(format!("invalid cookie {what} `{}`: {why}; {right}", value.escape_debug()))
}

/// Checks one entry of `allowed_origins`.
pub(crate) fn check_origin(origin: &str) -> Option<String> {
    let right = "an allowed origin is `scheme://host` or `scheme://host:port`, as browsers send it in `Origin`, e.g. `\"https://app.example.com\"`";
    let why = match rules::check_origin(origin).err()? {
        Flaw::NoScheme => "no `scheme://`".to_owned(),
        Flaw::Scheme => {
            let scheme = origin.split_once("://").map_or(origin, |(scheme, _)| scheme);
            format!("`{}` is not a URL scheme", scheme.escape_debug())
        }
        Flaw::Path => "an origin has no path, not even a trailing `/`".to_owned(),
        Flaw::UserInfo => "an origin has no user name or password".to_owned(),
        Flaw::UnclosedBracket => "`[` without `]`".to_owned(),
        Flaw::NotIpv6 => "a bracketed host must be an IPv6 address".to_owned(),
        Flaw::AfterAddress => "unexpected text after the address".to_owned(),
        Flaw::Host(start, end) => {
            format!("`{}` is not a host name", origin.get(start..end).unwrap_or(origin).escape_debug())
        }
        Flaw::Port => "the port must be 1 to 5 digits".to_owned(),
        _ => "it is not an origin".to_owned(),
    };
    Some(format!("invalid origin `{}`: {why}; {right}", origin.escape_debug()))
}

/// The rules that span several options ([`CookieRules`]): `SameSite=None` needs `Secure`, the
/// `__Secure-` and `__Host-` name prefixes, and a cookie without a domain is a `__Host-` one
/// unless `host_prefix = false`. Each broken rule is reported at the option to change.
pub(crate) fn check_combination(options: &[(String, Value)], kind: &Ident, errors: &mut Errors) -> bool {
    let find = |key: &str| options.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let string = |key: &str| match find(key) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    };
    let value = |key: &str| string(key).map(LitStr::value);
    let flag = |key: &str, default: bool| match find(key) {
        Some(Value::Bool(b)) => *b,
        _ => default,
    };
    let (name, path, domain) = (value("name"), value("path"), value("domain"));
    let host_prefix = flag("host_prefix", true);
    let cookie = CookieRules {
        name: name.as_deref().unwrap_or(rules::default_name(domain.is_some(), host_prefix)),
        path: path.as_deref().unwrap_or("/"),
        domain: domain.as_deref(),
        max_age: None,
        secure: flag("secure", true),
        same_site: string("same_site").and_then(|s| rules::same_site(&s.value())).unwrap_or(rules::SameSite::Lax),
        allowed_origins: &[],
        host_prefix,
    };
    let mut ok = true;
    let mut fail = |tokens: &dyn quote::ToTokens, message: &str| {
        errors.push_spanned(tokens, message);
        ok = false;
    };
    if let (Err(InvalidCookieOption::SameSiteNoneWithoutSecure), Some(same_site)) =
        (cookie.check_same_site(), string("same_site"))
    {
        fail(
            same_site,
            "`same_site = \"none\"` needs a Secure cookie: browsers drop a SameSite=None cookie without it; remove `secure = false`, or use `same_site = \"lax\"` or `\"strict\"`",
        );
    }
    const WHY: &str =
        "a cookie without a domain is named `__Host-…` (Secure, path `/`), so that a sibling subdomain cannot plant it";
    match string("name") {
        Some(name) => {
            if cookie.check_secure_prefix().is_err() {
                fail(
                    name,
                    "a cookie named `__Secure-…` must be Secure (browsers refuse it otherwise): remove `secure = false`, or rename the cookie",
                );
            }
            if cookie.check_host_prefix().is_err() {
                fail(
                    name,
                    "a cookie named `__Host-…` must be Secure, with path `/` and no domain (browsers refuse it otherwise): remove `secure = false`, `domain` and `path`, or rename the cookie",
                );
            }
            if cookie.check_missing_host_prefix().is_err() {
                let value = name.value();
                // `__Secure-sid` becomes `__Host-sid`, not `__Host-__Secure-sid`.
                let bare = if has_prefix(&value, SECURE_PREFIX) { &value[SECURE_PREFIX.len()..] } else { &value[..] };
                fail(
                    name,
                    &format!(
                        "{WHY}: name it `{HOST_PREFIX}{bare}`, or keep this name with `host_prefix = false` (wire compatibility, plain-http development)"
                    ),
                );
            }
        }
        // The default name is `__Host-auth` where the cookie has no domain and keeps the
        // prefix, and these options may not allow it.
        None if cookie.check_host_prefix().is_err() => fail(
            kind,
            &format!(
                "{WHY}; with `secure = false` or a `path` it cannot be: add `host_prefix = false` and a `name`, or drop those options"
            ),
        ),
        None => {}
    }
    ok
}

/// The character at byte offset `at`, where a rule found it.
fn char_at(value: &str, at: usize) -> char {
    value.get(at..).and_then(|rest| rest.chars().next()).unwrap_or('\u{FFFD}')
}

/// Why `c` cannot appear in a cookie's `what`.
fn why_not(c: char, what: &str) -> String {
    match c {
        ';' => format!("`;` would end the {what} and start another cookie attribute"),
        ',' => format!("`,` is not allowed in a cookie {what}: some proxies split headers at commas"),
        '=' => "`=` would end the name and start the value".to_owned(),
        ' ' | '\t' => format!("whitespace is not allowed in a cookie {what}"),
        c if c.is_control() => format!("the control character {:?} is not allowed in a cookie {what}", c),
        c if !c.is_ascii() => format!("the non-ASCII character {c:?} is not allowed in a cookie {what}"),
        c => format!("{c:?} is not allowed in a cookie {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flaw_is_worded_at_the_option() {
        assert_eq!(
            check_string("name", "").as_deref(),
            Some("a cookie name cannot be empty: use a name such as `name = \"session\"`")
        );
        assert!(check_string("name", "sid; Secure").unwrap().contains("`;` would end the name"));
        assert!(check_string("name", "sessión").unwrap().contains("the non-ASCII character 'ó'"));
        assert!(check_string("name", "__Host-session").is_none());
        assert!(check_string("path", "app").unwrap().contains("it must start with `/`"));
        assert!(check_string("path", "/a\rb").unwrap().contains("the control character '\\r'"));
        assert!(check_string("path", "/app/v1").is_none());
        assert!(check_string("domain", ".example.com").unwrap().contains("drop the leading `.`"));
        assert!(check_string("domain", "https://example.com").unwrap().contains("no scheme or path"));
        assert!(check_string("domain", "example.com:8443").unwrap().contains("no port"));
        assert!(check_string("domain", "example..com").unwrap().contains("each dot-separated label"));
        assert!(check_string("domain", "api.example.com").is_none());
        for (bad, why) in [
            ("null", "no `scheme://`"),
            ("1a://a.com", "`1a` is not a URL scheme"),
            ("https://a.com/", "no path"),
            ("https://u@a.com", "no user name"),
            ("https://[::1", "`[` without `]`"),
            ("https://[zz]", "IPv6"),
            ("https://[::1]x", "after the address"),
            ("https://a b", "`a b` is not a host name"),
            ("https://a.com:https", "1 to 5 digits"),
        ] {
            assert!(check_origin(bad).unwrap().contains(why), "{bad:?}");
        }
        for good in ["https://app.example.com", "http://localhost:3000", "https://[::1]:8443"] {
            assert!(check_origin(good).is_none(), "{good:?}");
        }
    }
}
