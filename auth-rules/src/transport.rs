//! The transports a backend can declare: each one's name, as `#[backend(transport = name(…))]`
//! spells it, and the options it takes. auth-core's `Transport` has one variant per entry.

/// What an option's value is, and so how it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionKind {
    /// A non-empty string, such as a URL or a header name.
    Text,
    /// A cookie name ([`check_name`](crate::cookie::check_name)).
    CookieName,
    /// A cookie path ([`check_path`](crate::cookie::check_path)).
    CookiePath,
    /// A cookie domain ([`check_domain`](crate::cookie::check_domain)).
    CookieDomain,
    /// A number of seconds, not zero (a cookie's `max_age`).
    Seconds,
    /// `true` or `false`.
    Flag,
    /// A `SameSite` value ([`same_site`](crate::cookie::same_site)).
    SameSite,
    /// A list of origins ([`check_origin`](crate::cookie::check_origin)).
    Origins,
}

/// One option of a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportOption {
    /// Its name, as the attribute spells it.
    pub name: &'static str,
    /// What its value is.
    pub kind: OptionKind,
    /// Whether the transport needs it.
    pub required: bool,
}

/// A transport: its name and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportDef {
    /// Its name, as the attribute spells it.
    pub name: &'static str,
    /// The options it takes, required ones first.
    pub options: &'static [TransportOption],
    /// Options of which exactly one must be given (where an API key travels); empty if none.
    pub exactly_one_of: &'static [&'static str],
}

impl TransportDef {
    /// The option named `name`, if the transport takes it.
    pub fn option(&self, name: &str) -> Option<&'static TransportOption> {
        self.options.iter().find(|option| option.name == name)
    }
}

const fn required(name: &'static str, kind: OptionKind) -> TransportOption {
    TransportOption { name, kind, required: true }
}

const fn optional(name: &'static str, kind: OptionKind) -> TransportOption {
    TransportOption { name, kind, required: false }
}

/// OAuth2 password flow with a bearer token (`Transport::Bearer`).
pub const BEARER: TransportDef = TransportDef {
    name: "bearer",
    options: &[required("token_url", OptionKind::Text), optional("refresh_url", OptionKind::Text)],
    exactly_one_of: &[],
};

/// HTTP bearer authentication (`Transport::HttpBearer`).
pub const HTTP_BEARER: TransportDef =
    TransportDef { name: "http_bearer", options: &[optional("bearer_format", OptionKind::Text)], exactly_one_of: &[] };

/// OAuth2 authorization-code flow (`Transport::OAuth2AuthorizationCode`).
pub const OAUTH2_AUTHORIZATION_CODE: TransportDef = TransportDef {
    name: "oauth2_authorization_code",
    options: &[required("authorization_url", OptionKind::Text), required("token_url", OptionKind::Text)],
    exactly_one_of: &[],
};

/// OAuth2 client-credentials flow (`Transport::OAuth2ClientCredentials`).
pub const OAUTH2_CLIENT_CREDENTIALS: TransportDef = TransportDef {
    name: "oauth2_client_credentials",
    options: &[required("token_url", OptionKind::Text)],
    exactly_one_of: &[],
};

/// OpenID Connect (`Transport::OpenIdConnect`).
pub const OPENID_CONNECT: TransportDef =
    TransportDef { name: "openid_connect", options: &[required("url", OptionKind::Text)], exactly_one_of: &[] };

/// An API key in a header, a query parameter or a cookie (`Transport::ApiKey`); the option
/// names its location, and its value is the header, parameter or cookie name.
pub const API_KEY: TransportDef = TransportDef {
    name: "api_key",
    options: &[
        optional("header", OptionKind::Text),
        optional("query", OptionKind::Text),
        optional("cookie", OptionKind::CookieName),
    ],
    exactly_one_of: &["header", "query", "cookie"],
};

/// The cookie transport (`Transport::Cookie`), with the options of `CookieOptionsBuilder`.
pub const COOKIE: TransportDef = TransportDef {
    name: "cookie",
    options: &[
        optional("name", OptionKind::CookieName),
        optional("max_age", OptionKind::Seconds),
        optional("path", OptionKind::CookiePath),
        optional("domain", OptionKind::CookieDomain),
        optional("secure", OptionKind::Flag),
        optional("http_only", OptionKind::Flag),
        optional("same_site", OptionKind::SameSite),
        optional("allowed_origins", OptionKind::Origins),
        optional("host_prefix", OptionKind::Flag),
    ],
    exactly_one_of: &[],
};

/// Every transport, in the order errors list them.
pub const TRANSPORTS: &[TransportDef] =
    &[BEARER, HTTP_BEARER, OAUTH2_AUTHORIZATION_CODE, OAUTH2_CLIENT_CREDENTIALS, OPENID_CONNECT, API_KEY, COOKIE];

/// The transport named `name`.
pub fn transport(name: &str) -> Option<&'static TransportDef> {
    TRANSPORTS.iter().find(|transport| transport.name == name)
}

/// Names of schemes that carry a username and password rather than a token, and so cannot be
/// a backend's transport (HTTP basic).
pub const PASSWORD_SCHEMES: &[&str] = &["basic", "http_basic"];

/// The strategies a backend can declare (`strategy = jwt`), as their `Strategy::KIND`.
pub const STRATEGIES: &[&str] = &["jwt", "database", "redis", "api_key"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transport_is_found_by_its_name_and_nothing_else_is() {
        for def in TRANSPORTS {
            assert_eq!(transport(def.name), Some(def));
        }
        for unknown in ["", "Bearer", "beaer", "basic", "http_basic", "cookie "] {
            assert_eq!(transport(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn options_are_known_by_their_transport_only() {
        assert_eq!(BEARER.option("token_url").map(|o| o.required), Some(true));
        assert_eq!(BEARER.option("refresh_url").map(|o| o.required), Some(false));
        assert_eq!(BEARER.option("max_age"), None);
        assert_eq!(COOKIE.option("max_age").map(|o| o.kind), Some(OptionKind::Seconds));
        assert_eq!(COOKIE.option("token_url"), None);
        assert_eq!(API_KEY.option("cookie").map(|o| o.kind), Some(OptionKind::CookieName));
        assert_eq!(API_KEY.option("header").map(|o| o.kind), Some(OptionKind::Text));
        for def in TRANSPORTS {
            // Required options come first, so that errors list them first.
            let first_optional = def.options.iter().position(|o| !o.required).unwrap_or(def.options.len());
            assert!(def.options[first_optional..].iter().all(|o| !o.required), "{}", def.name);
            for name in def.exactly_one_of {
                assert!(def.option(name).is_some_and(|o| !o.required), "{}: {name}", def.name);
            }
        }
    }
}
