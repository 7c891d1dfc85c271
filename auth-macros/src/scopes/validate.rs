//! Every declared string must be a scope-token, and none may appear twice.

use std::collections::HashMap;

use super::parse::Declaration;
use crate::attr::{Errors, is_scope_token, nearest, scope_token_error};

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

/// Every implied scope is declared, none is implied twice by one scope, and implication has no
/// cycle: each mistake an error at the implied literal.
pub(crate) fn validate_implications(decl: &Declaration<'_>, errors: &mut Errors) {
    let declared: Vec<String> = decl.scopes.iter().map(|s| s.name.clone()).collect();
    let listing = declared.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let mut known = true;
    for scope in &decl.scopes {
        let mut seen: Vec<String> = Vec::new();
        for lit in &scope.implies {
            let implied = lit.value();
            if !declared.contains(&implied) {
                known = false;
                let mut message = format!("`{}` implies `{implied}`, which is not declared", scope.name);
                if let Some(nearest) = nearest(&implied, &declared) {
                    message.push_str(&format!("\nhelp: did you mean `{nearest}`?"));
                }
                message.push_str(&format!(
                    "\nnote: an implied scope must be declared too; the scopes declared are: {listing}"
                ));
                errors.push_spanned(lit, message);
            } else if implied == scope.name {
                known = false;
                errors.push_spanned(lit, format!("scope `{implied}` implies itself; remove it from its `implies`"));
            } else if seen.contains(&implied) {
                errors.push_spanned(lit, format!("`{implied}` is implied twice; list it once"));
            } else {
                seen.push(implied);
            }
        }
    }
    if !known {
        return;
    }
    // A depth-first search from each scope; the cycle is reported once, at the literal that
    // closes it, with the path it takes.
    let index = |name: &str| declared.iter().position(|d| d == name);
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for start in 0..decl.scopes.len() {
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut on_path: Vec<usize> = vec![start];
        let mut done = vec![false; decl.scopes.len()];
        while let Some((node, next)) = stack.pop() {
            let implies = &decl.scopes[node].implies;
            if next == implies.len() {
                on_path.pop();
                done[node] = true;
                continue;
            }
            stack.push((node, next + 1));
            let Some(target) = index(&implies[next].value()) else { continue };
            if target == start {
                let mut cycle = on_path.clone();
                cycle.sort_unstable();
                cycle.dedup();
                if !reported.contains(&cycle) {
                    reported.push(cycle);
                    let path = on_path
                        .iter()
                        .chain(std::iter::once(&start))
                        .map(|&i| format!("`{}`", decl.scopes[i].name))
                        .collect::<Vec<_>>()
                        .join(" → ");
                    errors.push_spanned(
                        &implies[next],
                        format!(
                            "implication cycle: {path}; implication must not loop, remove one `implies` of the cycle"
                        ),
                    );
                }
            } else if !done[target] && !on_path.contains(&target) {
                on_path.push(target);
                stack.push((target, 0));
            }
        }
    }
}

/// Every scope `scope` implies, through any chain of implications, in declaration order.
pub(crate) fn implied_closure(decl: &Declaration<'_>, scope: usize) -> Vec<usize> {
    let mut reached = vec![false; decl.scopes.len()];
    let mut todo = vec![scope];
    while let Some(node) = todo.pop() {
        for lit in &decl.scopes[node].implies {
            if let Some(target) = decl.scopes.iter().position(|s| s.name == lit.value())
                && !reached[target]
            {
                reached[target] = true;
                todo.push(target);
            }
        }
    }
    reached[scope] = false;
    (0..decl.scopes.len()).filter(|&i| reached[i]).collect()
}
