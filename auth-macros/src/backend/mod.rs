//! `#[derive(AuthBackend)]`: parse the `#[backend(...)]` attribute, validate the transport
//! and its options, expand the `AuthBackend` impl and the router constructor.

mod cookie;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::attr::Errors;

pub(crate) fn expand(input: &syn::DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse::Backend::from_input(input, &mut errors);
    let tokens = match parsed.and_then(|backend| validate::validate(backend, &mut errors)) {
        Some(backend) => expand::expand(&backend),
        None => TokenStream::new(),
    };
    let mut out = tokens;
    out.extend(errors.to_compile_errors());
    out
}
