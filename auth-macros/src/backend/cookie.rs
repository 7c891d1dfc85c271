//! The cookie transport's options, checked at the option: the rules of auth-core's
//! `CookieOptionsBuilder::build`, with messages that quote the value, name the offending
//! character and show what would be right. The generated code builds the options through that
//! same `build` in a `static`, so anything this file missed still fails to compile.

/// Checks `name`, `path` or `domain`; `None` when the value is fine.
pub(crate) fn check_string(key: &str, value: &str) -> Option<String> {
    match key {
        "name" => check_name(value),
        "path" => check_path(value),
        "domain" => check_domain(value),
        _ => None,
    }
}

fn check_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a cookie name cannot be empty: use a name such as `name = \"session\"`".to_owned());
    }
    let bad = name.chars().find(|c| !is_token_char(*c))?;
    Some(format!(
        "invalid cookie name `{}`: {}; a cookie name holds only letters, digits and !#$%&'*+-.^_`|~ (an RFC 6265 token), e.g. `name = \"session\"`",
        name.escape_debug(),
        why_not(bad, "name")
    ))
}

fn check_path(path: &str) -> Option<String> {
    let right =
        "a cookie path starts with `/` and holds only visible ASCII other than `;` and `,`, e.g. `path = \"/app\"`";
    if !path.starts_with('/') {
        return Some(format!("invalid cookie path `{}`: it must start with `/`; {right}", path.escape_debug()));
    }
    let bad = path.chars().find(|c| !c.is_ascii_graphic() || matches!(c, ';' | ','))?;
    Some(format!("invalid cookie path `{}`: {}; {right}", path.escape_debug(), why_not(bad, "path")))
}

fn check_domain(domain: &str) -> Option<String> {
    let right = "a cookie domain is a host name such as `domain = \"example.com\"`: letters, digits, `-` and `.`";
    let shown = domain.escape_debug();
    if domain.starts_with('.') {
        return Some(format!(
            "invalid cookie domain `{shown}`: drop the leading `.` (`example.com` already covers its subdomains); {right}"
        ));
    }
    if domain.contains('/') {
        return Some(format!("invalid cookie domain `{shown}`: a cookie domain has no scheme or path; {right}"));
    }
    if let Some(bad) = domain.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))) {
        let why = match bad {
            ':' => "a cookie domain has no port".to_owned(),
            other => why_not(other, "domain"),
        };
        return Some(format!("invalid cookie domain `{shown}`: {why}; {right}"));
    }
    let labels_ok = domain.len() <= 253
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && !label.starts_with('-') && !label.ends_with('-'));
    (!labels_ok).then(|| {
        format!(
            "invalid cookie domain `{shown}`: each dot-separated label needs 1 to 63 characters and cannot start or end with `-`; {right}"
        )
    })
}

/// Checks one entry of `allowed_origins`.
pub(crate) fn check_origin(origin: &str) -> Option<String> {
    let right = "an allowed origin is `scheme://host` or `scheme://host:port`, as browsers send it in `Origin`, e.g. `\"https://app.example.com\"`";
    let shown = origin.escape_debug();
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Some(format!("invalid origin `{shown}`: no `scheme://`; {right}"));
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Some(format!("invalid origin `{shown}`: `{}` is not a URL scheme; {right}", scheme.escape_debug()));
    }
    if rest.contains('/') {
        return Some(format!("invalid origin `{shown}`: an origin has no path, not even a trailing `/`; {right}"));
    }
    if rest.contains('@') {
        return Some(format!("invalid origin `{shown}`: an origin has no user name or password; {right}"));
    }
    // The port, if a `:` follows the host.
    let port = if let Some(v6) = rest.strip_prefix('[') {
        let Some((address, after)) = v6.split_once(']') else {
            return Some(format!("invalid origin `{shown}`: `[` without `]`; {right}"));
        };
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.')) {
            return Some(format!("invalid origin `{shown}`: a bracketed host must be an IPv6 address; {right}"));
        }
        match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Some(format!("invalid origin `{shown}`: unexpected text after the address; {right}")),
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        if check_domain(host).is_some() {
            return Some(format!("invalid origin `{shown}`: `{}` is not a host name; {right}", host.escape_debug()));
        }
        port
    };
    match port {
        Some(port) if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) => {
            Some(format!("invalid origin `{shown}`: the port must be 1 to 5 digits; {right}"))
        }
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
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
    fn the_rules_match_auth_cores() {
        for bad in ["", "a b", "a;b", "a,b", "a=b", "a\tb", "sessión", "a(b"] {
            assert!(check_name(bad).is_some(), "{bad:?}");
        }
        assert!(check_name("__Host-session").is_none());
        for bad in ["", "app", "/; Domain=evil", "/a b", "/a,b", "/a\rb", "/ä"] {
            assert!(check_path(bad).is_some(), "{bad:?}");
        }
        assert!(check_path("/app/v1").is_none());
        for bad in
            ["", ".example.com", "example.com.", "a..b", "exa mple.com", "example.com:80", "-a.com", "bücher.de", "x;y"]
        {
            assert!(check_domain(bad).is_some(), "{bad:?}");
        }
        assert!(check_domain("api.example.com").is_none());
        for bad in [
            "null",
            "app.example.com",
            "https://a.com/",
            "https://a.com:",
            "https://u@a.com",
            "https://a.com:123456",
            "https://[zz]",
            "1a://a.com",
        ] {
            assert!(check_origin(bad).is_some(), "{bad:?}");
        }
        for good in ["https://app.example.com", "http://localhost:3000", "https://[::1]:8443", "https://[::1]"] {
            assert!(check_origin(good).is_none(), "{good:?}");
        }
    }
}
