//! Checks that need no declaration: literal scope-tokens, no repeats, a supported function.

use syn::{Expr, FnArg};

use super::parse::{SecuredArgs, SecuredFnItem};
use crate::attr::{Errors, is_scope_token, scope_token_error};

pub(crate) fn validate(args: &SecuredArgs, function: &SecuredFnItem, errors: &mut Errors) {
    let lists = args.scopes.iter().flat_map(|(_, lists)| lists).collect::<Vec<_>>();
    let mut alternatives: Vec<Vec<String>> = Vec::new();
    for list in &lists {
        let mut seen: Vec<String> = Vec::new();
        for expr in &list.entries {
            match expr {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => {
                    let scope = lit.value();
                    if !is_scope_token(&scope) {
                        errors.push_spanned(lit, scope_token_error(&scope));
                    } else if seen.contains(&scope) {
                        errors.push_spanned(lit, format!("scope `{scope}` is listed twice; list each scope once"));
                    } else {
                        seen.push(scope);
                    }
                }
                other => errors.push_spanned(
                    other,
                    "expected a string literal such as `\"items\"`: scopes are checked at compile time, so they cannot be computed",
                ),
            }
        }
        if lists.len() > 1 && list.entries.is_empty() {
            errors.push(syn::Error::new(
                list.span,
                "an empty alternative requires no scope, so the others would never be needed; remove it, or remove the alternatives",
            ));
        } else if lists.len() > 1 && alternatives.iter().any(|other| same_set(other, &seen)) {
            errors.push(syn::Error::new(list.span, "this alternative is listed twice; list each alternative once"));
        }
        alternatives.push(seen);
    }

    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        errors.push_spanned(&sig.generics, "`#[secured]` functions cannot be generic: they are axum handlers and dependencies with concrete extractor types");
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                errors.push_spanned(
                    receiver,
                    "`#[secured]` applies to free functions, not methods: `self` cannot be extracted from a request",
                );
            }
            FnArg::Typed(typed) => {
                if let syn::Type::ImplTrait(_) = &*typed.ty {
                    errors.push_spanned(
                        &typed.ty,
                        "`impl Trait` parameters make the function generic; name the extractor type",
                    );
                }
            }
        }
    }
    if sig.constness.is_some() {
        errors.push_spanned(sig.constness, "`#[secured]` functions cannot be `const`");
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|scope| b.contains(scope))
}
