//! Every key present, every transport and strategy known, every option applicable and typed.

use auth_rules::{
    cookie as rules,
    transport::{self as transports, OptionKind, PASSWORD_SCHEMES, STRATEGIES, TRANSPORTS, TransportOption},
};
use syn::{Ident, Lit, LitStr};

use super::{
    cookie,
    parse::{Backend, OptionValue, TransportSpec},
};
use crate::attr::{Errors, nearest};

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
    list.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

fn suggestion(given: &str, list: &[&str]) -> String {
    let candidates: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
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
                    one_of(&TRANSPORTS.iter().map(|t| t.name).collect::<Vec<_>>())
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
            errors.push_spanned(span, format!("missing `strategy = …`: one of {}", one_of(STRATEGIES)));
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
    if PASSWORD_SCHEMES.contains(&kind.as_str()) {
        errors.push_spanned(
            &spec.kind,
            "HTTP basic carries a username and password, not a token, so it cannot be a backend's transport; log in with `POST /login` and use `bearer` or `cookie`",
        );
        return None;
    }
    let Some(transport) = transports::transport(&kind) else {
        let names: Vec<&str> = TRANSPORTS.iter().map(|t| t.name).collect();
        errors.push_spanned(
            &spec.kind,
            format!("unknown transport `{kind}`, expected one of: {}{}", one_of(&names), suggestion(&kind, &names)),
        );
        return None;
    };
    let allowed: Vec<&str> = transport.options.iter().map(|o| o.name).collect();
    let mut options: Vec<(String, Value)> = Vec::new();
    let mut ok = true;
    for (key, lit) in &spec.options {
        let key_str = key.to_string();
        let Some(option) = transport.option(&key_str) else {
            let takes =
                if allowed.is_empty() { "takes no options".to_owned() } else { format!("takes: {}", one_of(&allowed)) };
            errors.push_spanned(
                key,
                format!(
                    "`{key_str}` does not apply to the `{kind}` transport, which {takes}{}",
                    suggestion(&key_str, &allowed)
                ),
            );
            ok = false;
            continue;
        };
        if options.iter().any(|(k, _)| *k == key_str) {
            errors.push_spanned(key, format!("`{key_str}` specified more than once"));
            ok = false;
            continue;
        }
        match check_value(&kind, option, lit) {
            Ok(value) => options.push((key_str, value)),
            Err(error) => {
                errors.push(error);
                ok = false;
            }
        }
    }
    if *transport == transports::COOKIE && ok {
        ok = cookie::check_combination(&options, &spec.kind, errors);
    }
    for required in transport.options.iter().filter(|o| o.required).map(|o| o.name) {
        if !options.iter().any(|(k, _)| k == required) && !spec.options.iter().any(|(k, _)| k == required) {
            errors.push_spanned(
                &spec.kind,
                format!("the `{kind}` transport needs `{required}`, e.g. `{kind}({required} = \"…\")`"),
            );
            ok = false;
        }
    }
    let one_of = transport.exactly_one_of;
    if !one_of.is_empty() {
        let given = spec.options.iter().filter(|(k, _)| one_of.contains(&k.to_string().as_str())).count();
        if given != 1 {
            let choices: Vec<String> = one_of.iter().map(|o| format!("`{o} = \"…\"`")).collect();
            let (last, rest) = choices.split_last().expect("not empty");
            errors.push_spanned(&spec.kind, format!("`{kind}` needs exactly one of {} or {last}", rest.join(", ")));
            ok = false;
        }
    }
    ok.then_some((kind, options))
}

fn check_value(kind: &str, option: &TransportOption, value: &OptionValue) -> syn::Result<Value> {
    let key = option.name;
    let lit = match (option.kind, value) {
        (OptionKind::Origins, OptionValue::List { items, .. }) => {
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
        (_, OptionValue::List { .. }) => {
            return Err(syn::Error::new_spanned(value, format!("expected a single value for `{key}`, not a list")));
        }
        (_, OptionValue::Lit(lit)) => lit,
    };
    let fail = |message: String| Err(syn::Error::new_spanned(lit, message));
    match (option.kind, lit) {
        (OptionKind::Origins, _) => {
            fail(format!("expected a list of origins, e.g. `{key} = [\"https://app.example.com\"]`"))
        }
        (OptionKind::Seconds, Lit::Int(int)) => match int.base10_parse::<u64>() {
            Ok(seconds) if rules::check_max_age(seconds).is_err() => fail(format!(
                "a cookie `{key}` of 0 deletes the cookie at once: give a number of seconds such as `{key} = 3600`, or leave `{key}` out for a session cookie"
            )),
            Ok(seconds) => Ok(Value::Int(seconds)),
            Err(e) => fail(e.to_string()),
        },
        (OptionKind::Seconds, _) => fail(format!("expected a number of seconds, e.g. `{key} = 3600`")),
        (OptionKind::Flag, Lit::Bool(b)) => Ok(Value::Bool(b.value)),
        (OptionKind::Flag, _) => fail(format!("expected `true` or `false`, e.g. `{key} = true`")),
        (OptionKind::SameSite, Lit::Str(s)) if rules::same_site(&s.value()).is_some() => Ok(Value::Str(s.clone())),
        (OptionKind::SameSite, _) => fail("expected one of: `\"lax\"`, `\"strict\"`, `\"none\"`".to_owned()),
        (OptionKind::CookieName | OptionKind::CookiePath | OptionKind::CookieDomain, Lit::Str(s)) => {
            let what = match option.kind {
                OptionKind::CookieName => "name",
                OptionKind::CookiePath => "path",
                _ => "domain",
            };
            match cookie::check_string(what, &s.value()) {
                Some(message) => fail(message),
                None => Ok(Value::Str(s.clone())),
            }
        }
        (_, Lit::Str(s)) if s.value().is_empty() => fail(format!("`{key}` of the `{kind}` transport cannot be empty")),
        (_, Lit::Str(s)) => Ok(Value::Str(s.clone())),
        _ => fail(format!("expected a string, e.g. `{key} = \"…\"`")),
    }
}
