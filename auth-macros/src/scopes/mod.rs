//! `#[derive(Scopes)]`: parse the enum, validate the scope strings, expand the declaration.

pub(crate) mod check;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::attr::Errors;

pub(crate) fn expand(input: &syn::DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Some(decl) = parse::Declaration::from_input(input, &mut errors) else {
        // Still define the matcher, accepting anything, so that every `#[secured]` using this
        // declaration stays quiet and the one real error stands alone.
        let mut tokens = expand::matcher(&input.ident, None);
        tokens.extend(errors.to_compile_errors());
        return tokens;
    };
    validate::validate(&decl, &mut errors);
    validate::validate_implications(&decl, &mut errors);
    let mut tokens = if decl.complete { expand::impls(&decl) } else { TokenStream::new() };
    let declared: Vec<&str> = decl.scopes.iter().map(|s| s.name.as_str()).collect();
    let checked = errors.is_empty().then_some(declared.as_slice());
    tokens.extend(expand::matcher(decl.ident, checked));
    tokens.extend(errors.to_compile_errors());
    tokens
}
