//! Every declared string must be a scope-token, and none may appear twice.

use std::collections::HashMap;

use super::parse::Declaration;
use crate::attr::{Errors, is_scope_token, scope_token_error};

pub(crate) fn validate(decl: &Declaration<'_>, errors: &mut Errors) {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for scope in &decl.scopes {
        if !is_scope_token(&scope.name) {
            errors.push(syn::Error::new(scope.span, scope_token_error(&scope.name)));
            continue;
        }
        if let Some(first) = seen.get(scope.name.as_str()) {
            errors.push(syn::Error::new(
                scope.span,
                format!(
                    "scope `{}` is declared twice, by `{first}` and `{}`; each scope is declared once",
                    scope.name, scope.variant
                ),
            ));
        } else {
            seen.insert(&scope.name, scope.variant);
        }
    }
}
