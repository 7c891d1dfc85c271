//! Every key present, every transport and strategy known, every option applicable and typed.

use syn::{Ident, Lit, LitStr};

use super::{
    cookie,
    parse::{Backend, OptionValue, TransportSpec},
};
use crate::attr::{Errors, nearest};

/// Transports with the options each takes (required ones first, marked `!`).
const TRANSPORTS: &[(&str, &[&str])] = &[
    ("bearer", &["!token_url", "refresh_url"]),
    ("http_bearer", &["bearer_format"]),
    ("oauth2_authorization_code", &["!authorization_url", "!token_url"]),
    ("oauth2_client_credentials", &["!token_url"]),
    ("openid_connect", &["!url"]),
    ("api_key", &["header", "query", "cookie"]),
    (
        "cookie",
        &["name", "max_age", "path", "domain", "secure", "http_only", "same_site", "allowed_origins", "host_prefix"],
    ),
];

const STRATEGIES: &[&str] = &["jwt", "database", "redis"];

/// A checked option value.
pub(crate) enum Value {
    Str(LitStr),
    Int(u64),
    Bool(bool),
    StrList(Vec<LitStr>),
}

pub(crate) struct Validated<'a> {
    pub(crate) backend: Backend<'a>,
    pub(crate) name: LitStr,
    pub(crate) transport: String,
    pub(crate) options: Vec<(String, Value)>,
    pub(crate) strategy: Ident,
}

fn one_of(list: &[&str]) -> String {
    list.iter().map(|s| format!("`{}`", s.trim_start_matches('!'))).collect::<Vec<_>>().join(", ")
}

fn suggestion(given: &str, list: &[&str]) -> String {
    let candidates: Vec<String> = list.iter().map(|s| s.trim_start_matches('!').to_owned()).collect();
    nearest(given, &candidates).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default()
}

pub(crate) fn validate<'a>(backend: Backend<'a>, errors: &mut Errors) -> Option<Validated<'a>> {
    let before = errors.is_empty();
    let span = &backend.attr_tokens;
    let name = match &backend.args.name {
        Some(name) => {
            let value = name.value();
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                errors.push_spanned(
                    name,
                    "a backend name is its OpenAPI security-scheme name: use letters, digits, `.`, `-` and `_`, e.g. `name = \"jwt\"`",
                );
            }
            Some(name.clone())
        }
        None => {
            errors.push_spanned(
                span,
                "missing `name = \"…\"`: every backend needs a unique name, e.g. `#[backend(name = \"jwt\", …)]`",
            );
            None
        }
    };
    let transport = match &backend.args.transport {
        Some(spec) => check_transport(spec, errors),
        None => {
            errors.push_spanned(
                span,
                format!(
                    "missing `transport = …`: one of {}",
                    one_of(&TRANSPORTS.iter().map(|t| t.0).collect::<Vec<_>>())
                ),
            );
            None
        }
    };
    let strategy = match &backend.args.strategy {
        Some(strategy) if STRATEGIES.contains(&strategy.to_string().as_str()) => Some(strategy.clone()),
        Some(strategy) => {
            errors.push_spanned(
                strategy,
                format!(
                    "unknown strategy `{strategy}`, expected one of: {}{}",
                    one_of(STRATEGIES),
                    suggestion(&strategy.to_string(), STRATEGIES)
                ),
            );
            None
        }
        None => {
            errors.push_spanned(span, "missing `strategy = …`: one of `jwt`, `database`, `redis`");
            None
        }
    };
    if !before || !errors.is_empty() || backend.strategy_field.is_none() {
        return None;
    }
    let (transport, options) = transport?;
    Some(Validated { backend, name: name?, transport, options, strategy: strategy? })
}

fn check_transport(spec: &TransportSpec, errors: &mut Errors) -> Option<(String, Vec<(String, Value)>)> {
    let kind = spec.kind.to_string();
    if kind == "basic" || kind == "http_basic" {
        errors.push_spanned(
            &spec.kind,
            "HTTP basic carries a username and password, not a token, so it cannot be a backend's transport; log in with `POST /login` and use `bearer` or `cookie`",
        );
        return None;
    }
    let names: Vec<&str> = TRANSPORTS.iter().map(|t| t.0).collect();
    let Some((_, allowed)) = TRANSPORTS.iter().find(|t| t.0 == kind) else {
        errors.push_spanned(
            &spec.kind,
            format!("unknown transport `{kind}`, expected one of: {}{}", one_of(&names), suggestion(&kind, &names)),
        );
        return None;
    };
    let mut options: Vec<(String, Value)> = Vec::new();
    let mut ok = true;
    for (key, lit) in &spec.options {
        let key_str = key.to_string();
        if !allowed.iter().any(|a| a.trim_start_matches('!') == key_str) {
            let takes =
                if allowed.is_empty() { "takes no options".to_owned() } else { format!("takes: {}", one_of(allowed)) };
            errors.push_spanned(
                key,
                format!(
                    "`{key_str}` does not apply to the `{kind}` transport, which {takes}{}",
                    suggestion(&key_str, allowed)
                ),
            );
            ok = false;
            continue;
        }
        if options.iter().any(|(k, _)| *k == key_str) {
            errors.push_spanned(key, format!("`{key_str}` specified more than once"));
            ok = false;
            continue;
        }
        match check_value(&kind, &key_str, lit) {
            Ok(value) => options.push((key_str, value)),
            Err(error) => {
                errors.push(error);
                ok = false;
            }
        }
    }
    if kind == "cookie" && ok {
        ok = check_cookie_combination(&options, &spec.kind, errors);
    }
    for required in allowed.iter().filter_map(|a| a.strip_prefix('!')) {
        if !options.iter().any(|(k, _)| k == required) && !spec.options.iter().any(|(k, _)| k == required) {
            errors.push_spanned(
                &spec.kind,
                format!("the `{kind}` transport needs `{required}`, e.g. `{kind}({required} = \"…\")`"),
            );
            ok = false;
        }
    }
    if kind == "api_key" {
        let places = spec
            .options
            .iter()
            .filter(|(k, _)| ["header", "query", "cookie"].contains(&k.to_string().as_str()))
            .count();
        if places != 1 {
            errors.push_spanned(
                &spec.kind,
                "`api_key` needs exactly one of `header = \"…\"`, `query = \"…\"` or `cookie = \"…\"`",
            );
            ok = false;
        }
    }
    ok.then_some((kind, options))
}

fn check_value(kind: &str, key: &str, value: &OptionValue) -> syn::Result<Value> {
    let lit = match value {
        OptionValue::Lit(lit) => lit,
        OptionValue::List { items, .. } if key == "allowed_origins" => {
            let mut errors = Errors::default();
            for item in items {
                if let Some(message) = cookie::check_origin(&item.value()) {
                    errors.push_spanned(item, message);
                }
            }
            return match errors.into_error() {
                Some(error) => Err(error),
                None => Ok(Value::StrList(items.clone())),
            };
        }
        OptionValue::List { .. } => {
            return Err(syn::Error::new_spanned(value, format!("expected a single value for `{key}`, not a list")));
        }
    };
    let fail = |message: String| Err(syn::Error::new_spanned(lit, message));
    match (key, lit) {
        ("allowed_origins", _) => fail(
            "expected a list of origins, e.g. `allowed_origins = [\"https://app.example.com\"]`".to_owned(),
        ),
        ("max_age", Lit::Int(int)) => match int.base10_parse::<u64>() {
            Ok(0) => fail(
                "a cookie `max_age` of 0 deletes the cookie at once: give a number of seconds such as `max_age = 3600`, or leave `max_age` out for a session cookie".to_owned(),
            ),
            Ok(seconds) => Ok(Value::Int(seconds)),
            Err(e) => fail(e.to_string()),
        },
        ("max_age", _) => fail("expected a number of seconds, e.g. `max_age = 3600`".to_owned()),
        ("secure" | "http_only" | "host_prefix", Lit::Bool(b)) => Ok(Value::Bool(b.value)),
        ("secure" | "http_only" | "host_prefix", _) => fail(format!("expected `true` or `false`, e.g. `{key} = true`")),
        ("same_site", Lit::Str(s)) if ["lax", "strict", "none"].contains(&s.value().to_lowercase().as_str()) => {
            Ok(Value::Str(s.clone()))
        }
        ("same_site", _) => fail("expected one of: `\"lax\"`, `\"strict\"`, `\"none\"`".to_owned()),
        ("name" | "path" | "domain", Lit::Str(s)) if kind == "cookie" => match cookie::check_string(key, &s.value()) {
            Some(message) => fail(message),
            None => Ok(Value::Str(s.clone())),
        },
        ("cookie", Lit::Str(s)) if kind == "api_key" => match cookie::check_string("name", &s.value()) {
            Some(message) => fail(message),
            None => Ok(Value::Str(s.clone())),
        },
        (_, Lit::Str(s)) if s.value().is_empty() => fail(format!("`{key}` of the `{kind}` transport cannot be empty")),
        (_, Lit::Str(s)) => Ok(Value::Str(s.clone())),
        _ => fail(format!("expected a string, e.g. `{key} = \"…\"`")),
    }
}

/// The cookie rules that span several options: `SameSite=None` needs `Secure`, the
/// `__Secure-` and `__Host-` name prefixes, and a cookie without a domain is a `__Host-` one
/// unless `host_prefix = false` (auth-core's `CookieOptionsBuilder::build` holds the rule; this
/// says it at the option).
fn check_cookie_combination(options: &[(String, Value)], kind: &syn::Ident, errors: &mut Errors) -> bool {
    let find = |key: &str| options.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let string = |key: &str| match find(key) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    };
    let secure = !matches!(find("secure"), Some(Value::Bool(false)));
    let mut ok = true;
    let mut fail = |tokens: &dyn quote::ToTokens, message: &str| {
        errors.push_spanned(tokens, message);
        ok = false;
    };
    if let Some(same_site) = string("same_site")
        && same_site.value().eq_ignore_ascii_case("none")
        && !secure
    {
        fail(
            same_site,
            "`same_site = \"none\"` needs a Secure cookie: browsers drop a SameSite=None cookie without it; remove `secure = false`, or use `same_site = \"lax\"` or `\"strict\"`",
        );
    }
    if let Some(name) = string("name") {
        let lower = name.value().to_ascii_lowercase();
        if lower.starts_with("__secure-") && !secure {
            fail(
                name,
                "a cookie named `__Secure-…` must be Secure (browsers refuse it otherwise): remove `secure = false`, or rename the cookie",
            );
        }
        let path_is_root = string("path").is_none_or(|path| path.value() == "/");
        if lower.starts_with("__host-") && (!secure || string("domain").is_some() || !path_is_root) {
            fail(
                name,
                "a cookie named `__Host-…` must be Secure, with path `/` and no domain (browsers refuse it otherwise): remove `secure = false`, `domain` and `path`, or rename the cookie",
            );
        }
    }
    let host_prefix = !matches!(find("host_prefix"), Some(Value::Bool(false)));
    if host_prefix && string("domain").is_none() {
        const WHY: &str = "a cookie without a domain is named `__Host-…` (Secure, path `/`), so that a sibling subdomain cannot plant it";
        match string("name") {
            Some(name) if !name.value().to_ascii_lowercase().starts_with("__host-") => {
                let value = name.value();
                // `__Secure-sid` becomes `__Host-sid`, not `__Host-__Secure-sid`.
                let bare = if value.to_ascii_lowercase().starts_with("__secure-") { &value[9..] } else { &value[..] };
                fail(
                    name,
                    &format!(
                        "{WHY}: name it `__Host-{bare}`, or keep this name with `host_prefix = false` (wire compatibility, plain-http development)"
                    ),
                )
            }
            // The default name is `__Host-auth`, which these options cannot carry.
            None if !secure || string("path").is_some_and(|path| path.value() != "/") => fail(
                kind,
                &format!(
                    "{WHY}; with `secure = false` or a `path` it cannot be: add `host_prefix = false` and a `name`, or drop those options"
                ),
            ),
            _ => {}
        }
    }
    ok
}
