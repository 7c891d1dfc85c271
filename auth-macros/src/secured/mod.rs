//! `#[secured(...)]`: parse the arguments and the function, validate, expand.
//!
//! The user's item is always emitted, even when the arguments are wrong, so one mistake never
//! cascades into "cannot find function" errors wherever the handler is routed.

mod authorize;
mod expand;
mod fast;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::attr::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    // The common case without syn (see `fast`); everything else, errors included, below.
    if let Some(expanded) = fast::try_expand(&args, &item) {
        return expanded;
    }
    expand_full(args, item)
}

/// The expansion through syn, with validation and errors.
fn expand_full(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse2::<parse::SecuredArgs>(args) {
        Ok(args) => args,
        Err(error) => {
            errors.push(error);
            parse::SecuredArgs::default()
        }
    };
    let function = match syn::parse2::<parse::SecuredFnItem>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let what = syn::parse2::<syn::Item>(item.clone()).map(|item| describe(&item)).unwrap_or("this item");
            errors.push(syn::Error::new_spanned(
                first_tokens(&item),
                format!(
                    "`#[secured]` applies to functions (handlers and dependencies), not to {what}; put it on an `async fn`"
                ),
            ));
            let mut out = item;
            out.extend(errors.to_compile_errors());
            return out;
        }
    };
    validate::validate(&args, &function, &mut errors);
    authorize::validate(&args, &function, &mut errors);
    let mut out = expand::expand(&args, &function);
    out.extend(errors.to_compile_errors());
    out
}

fn describe(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Impl(_) => "an impl block",
        syn::Item::Const(_) => "a const",
        syn::Item::Static(_) => "a static",
        syn::Item::Mod(_) => "a module",
        syn::Item::Trait(_) => "a trait",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}

/// The item's leading tokens up to its name, so the error underlines `struct Foo`, not the body.
fn first_tokens(item: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    let mut take_name = false;
    for tree in item.clone() {
        if take_name {
            out.extend(tree.into_token_stream());
            break;
        }
        let is_ident = matches!(&tree, proc_macro2::TokenTree::Ident(_));
        let keyword = is_ident && {
            let s = tree.to_string();
            matches!(
                s.as_str(),
                "struct" | "enum" | "impl" | "const" | "static" | "mod" | "trait" | "type" | "use" | "union"
            )
        };
        out.extend(tree.into_token_stream());
        take_name = keyword;
    }
    out
}
