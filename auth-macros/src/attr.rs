//! Attribute grammar shared by the macros: error collection, the `crate = "…"` override, scope
//! tokens and their suggestions, and doc comments as descriptions.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

/// Gathers every error of one macro call, so one compile reports all of them
/// (after serde_derive's `Ctxt`).
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn push_spanned<T: ToTokens, D: std::fmt::Display>(&mut self, tokens: T, message: D) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    /// The combined error, if any.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.combined
    }

    /// The `compile_error!`s, or nothing.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.combined.as_ref().map(syn::Error::to_compile_error).unwrap_or_default()
    }
}

/// The path generated code uses to reach auth-core: `::auth_core` unless overridden.
pub(crate) fn crate_path(custom: Option<&syn::Path>) -> TokenStream {
    match custom {
        Some(path) => path.to_token_stream(),
        None => quote!(::auth_core),
    }
}

/// Reports a key given twice, at the second occurrence.
pub(crate) fn duplicate_key(span: Span, key: &str) -> syn::Error {
    syn::Error::new(span, format!("`{key}` specified more than once"))
}

/// The value of a `key = value` argument whose key was just read: refuses a second occurrence
/// (at the second key), takes the `=`, and parses the value with `value`, replacing its error by
/// `expected` when one is given, so the message says what would be right.
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    key_span: Span,
    key: &str,
    input: syn::parse::ParseStream<'_>,
    expected: Option<&str>,
    value: impl FnOnce(syn::parse::ParseStream<'_>) -> syn::Result<T>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate_key(key_span, key));
    }
    input.parse::<syn::Token![=]>()?;
    let parsed = value(input).map_err(|error| match expected {
        Some(expected) => syn::Error::new(error.span(), expected),
        None => error,
    })?;
    *slot = Some(parsed);
    Ok(())
}

/// Parses the string form of `crate = "…"` into a path.
pub(crate) fn parse_crate_path(lit: &syn::LitStr) -> syn::Result<syn::Path> {
    lit.parse::<syn::Path>()
        .map_err(|_| syn::Error::new_spanned(lit, "expected a path to auth-core, such as `crate = \"::auth_core\"`"))
}

/// The RFC 6749 §3.3 scope-token rule: non-empty, of `%x21 / %x23-5B / %x5D-7E`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Explains why a string is not a scope-token, for the compile error.
pub(crate) fn scope_token_error(scope: &str) -> String {
    if scope.is_empty() {
        return "a scope cannot be empty: write a scope such as `\"items\"`, or remove the entry".to_owned();
    }
    let reason = {
        let bad = scope
            .chars()
            .find(|c| !c.is_ascii() || !is_scope_token(c.encode_utf8(&mut [0; 4])))
            .expect("a non-token string has a non-token character");
        format!("{bad:?} is not allowed in a scope")
    };
    format!(
        "invalid scope `{}`: {reason}; a scope is an RFC 6749 scope-token: printable ASCII without spaces, `\"` or `\\`",
        scope.escape_debug()
    )
}

/// The candidate closest to `scope`, if any is close enough to be a likely typo.
pub(crate) fn nearest<'a>(scope: &str, declared: &'a [String]) -> Option<&'a str> {
    let lower = scope.to_lowercase();
    declared
        .iter()
        .map(|candidate| {
            let distance =
                if candidate.to_lowercase() == lower { 0 } else { levenshtein(&lower, &candidate.to_lowercase()) };
            (distance, candidate)
        })
        .filter(|(distance, candidate)| *distance <= scope.chars().count().max(candidate.chars().count()).max(3) / 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The doc comment, lines trimmed and joined: the description OpenAPI shows.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}
