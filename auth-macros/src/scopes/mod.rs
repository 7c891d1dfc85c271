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
        return errors.to_compile_errors();
    };
    validate::validate(&decl, &mut errors);
    let mut tokens = expand::expand(&decl);
    tokens.extend(errors.to_compile_errors());
    tokens
}
