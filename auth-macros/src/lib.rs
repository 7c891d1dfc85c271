//! Implementation detail of auth-core. Depend on `auth-core`, which re-exports these macros
//! with their documentation.

mod attr;
mod backend;
mod scopes;
mod secured;

use proc_macro::TokenStream;

/// Marks a handler or a dependency; see `auth_core::secured`.
///
/// `#[secured(scopes = ["items"])]` adds the scopes to the chain, checks each literal against
/// the scopes declaration at compile time, and makes the function usable as
/// `Depends<function_name>`.
#[proc_macro_attribute]
pub fn secured(args: TokenStream, item: TokenStream) -> TokenStream {
    debug_print("secured", secured::expand(args.into(), item.into())).into()
}

/// Declares an app's scopes on a fieldless enum; see `auth_core::Scopes`.
#[proc_macro_derive(Scopes, attributes(scope, scopes))]
pub fn derive_scopes(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    debug_print("Scopes", scopes::expand(&input)).into()
}

/// Declares an authentication backend; see `auth_core::AuthBackend`.
#[proc_macro_derive(AuthBackend, attributes(backend))]
pub fn derive_auth_backend(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    debug_print("AuthBackend", backend::expand(&input)).into()
}

/// Checks scope literals against a declaration; called by the `macro_rules!` matcher that
/// `#[derive(Scopes)]` emits. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn __check_scopes(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as scopes::check::CheckInput);
    debug_print("check_scopes", scopes::check::expand(&input)).into()
}

/// `AUTH_MACROS_DEBUG=1` prints every expansion to stderr while compiling.
fn debug_print(name: &str, tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if std::env::var_os("AUTH_MACROS_DEBUG").is_some() {
        eprintln!("--- auth-macros: #[{name}] expansion ---\n{tokens}\n");
    }
    tokens
}
