//! The expansion of `#[secured]`: the function with a leading `Enter` parameter, a companion
//! type of the same name (the dependency marker), its impls, and the scope check.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, ReturnType, Type};

use super::parse::SecuredArgs;
use crate::attr::crate_path;

pub(crate) fn expand(args: &SecuredArgs, function: &syn::ItemFn, _valid: bool) -> TokenStream {
    let krate = crate_path(args.krate.as_ref());
    let sig = &function.sig;
    let name = &sig.ident;
    let vis = &function.vis;

    // A signature we cannot turn into a dependency is emitted as written; validation has
    // already explained why.
    let usable = sig.generics.params.is_empty()
        && sig.inputs.iter().all(|arg| matches!(arg, FnArg::Typed(t) if !matches!(*t.ty, Type::ImplTrait(_))));
    if !usable {
        return quote!(#function);
    }

    let scopes = args.scope_literals();
    let use_cache = args.use_cache.as_ref().is_none_or(|lit| lit.value);

    let mut rewritten = function.clone();
    let enter: FnArg = syn::parse_quote!(_: #krate::__private::Enter<#name>);
    rewritten.sig.inputs.insert(0, enter);

    let marker_doc = format!("The `#[secured]` function `{name}` as a type: write `Depends<{name}>` to depend on it.");
    let marker = quote! {
        #[doc = #marker_doc]
        #[allow(non_camel_case_types)]
        #vis struct #name {}
    };

    let tys = sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Typed(t) => Some(&*t.ty),
        FnArg::Receiver(_) => None,
    });
    let secured_fn = quote! {
        #[automatically_derived]
        impl #krate::__private::SecuredFn for #name {
            const SCOPES: &'static [&'static str] = &[#(#scopes),*];

            fn security(out: &mut #krate::openapi::SecurityCollector) {
                #[allow(unused_imports)]
                use #krate::__private::{ViaDocumented as _, ViaNothing as _};
                out.scopes(<Self as #krate::__private::SecuredFn>::SCOPES);
                #( (&#krate::__private::Probe::<#tys>::new()).collect_security(out); )*
            }
        }
    };

    let dependency = dependency_impls(&krate, function, &scopes, use_cache);
    let check = scope_check(args, &scopes);

    quote! {
        #rewritten
        #marker
        const _: () = {
            #secured_fn
            #dependency
        };
        #check
    }
}

/// `Dependency` and `Resolve<S>` for the marker, unless the function returns `impl Trait`,
/// which cannot be named as an output type (such a function is a handler only).
fn dependency_impls(
    krate: &TokenStream,
    function: &syn::ItemFn,
    scopes: &[&syn::LitStr],
    use_cache: bool,
) -> TokenStream {
    let sig = &function.sig;
    let name = &sig.ident;
    let (output_ty, returns_result) = match &sig.output {
        ReturnType::Default => (quote!(()), false),
        ReturnType::Type(_, ty) => match &**ty {
            Type::ImplTrait(_) => return TokenStream::new(),
            ty => (quote!(#ty), is_result(ty)),
        },
    };
    let output = if returns_result {
        quote!(<#output_ty as #krate::__private::IntoDependencyResult>::Output)
    } else {
        output_ty.clone()
    };

    let tys: Vec<&Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let vars: Vec<syn::Ident> =
        (0..tys.len()).map(|i| format_ident!("__auth_arg{}", i, span = Span::mixed_site())).collect();
    // Mixed-site names cannot collide with anything the user wrote.
    let parts = syn::Ident::new("__auth_parts", Span::mixed_site());
    let state = syn::Ident::new("__auth_state", Span::mixed_site());
    let out = syn::Ident::new("__auth_output", Span::mixed_site());
    let awaited = sig.asyncness.map(|_| quote!(.await));
    let finish = if returns_result {
        quote!(#krate::__private::IntoDependencyResult::into_dependency_result(#out))
    } else {
        quote!(#krate::__private::core::result::Result::Ok(#out))
    };

    let extract = tys.iter().zip(&vars).map(|(ty, var)| {
        quote_spanned! {Span::mixed_site()=>
            let #var = <#ty as #krate::__private::axum::extract::FromRequestParts<__S>>::from_request_parts(#parts, #state)
                .await
                .map_err(#krate::__private::axum::response::IntoResponse::into_response)?;
        }
    });

    let cache = if use_cache {
        quote! {
            fn to_cache(output: &Self::Output) -> #krate::__private::core::option::Option<#krate::__private::CacheEntry> {
                #krate::__private::core::option::Option::Some(<__S as #krate::__private::CanCache<#output>>::store(output))
            }

            fn from_cache(entry: &#krate::__private::CacheEntry) -> #krate::__private::core::option::Option<Self::Output> {
                <__S as #krate::__private::CanCache<#output>>::load(entry)
            }
        }
    } else {
        TokenStream::new()
    };
    let cache_bound = use_cache.then(|| quote!(__S: #krate::__private::CanCache<#output>,));

    quote! {
        #[automatically_derived]
        impl #krate::__private::Dependency for #name {
            type Output = #output;
            const SCOPES: &'static [&'static str] = &[#(#scopes),*];
            const USE_CACHE: bool = #use_cache;
        }

        #[automatically_derived]
        impl<__S> #krate::__private::Resolve<__S> for #name
        where
            __S: #krate::__private::core::marker::Send + #krate::__private::core::marker::Sync,
            #cache_bound
            #( #tys: #krate::__private::axum::extract::FromRequestParts<__S>, )*
        {
            fn run(
                #parts: &mut #krate::__private::axum::http::request::Parts,
                #state: &__S,
            ) -> impl #krate::__private::core::future::Future<
                Output = #krate::__private::core::result::Result<Self::Output, #krate::__private::axum::response::Response>,
            > + #krate::__private::core::marker::Send {
                async move {
                    #( #extract )*
                    let #out = #name(#krate::__private::Enter::nested(), #(#vars),*) #awaited;
                    #finish
                }
            }

            #cache
        }
    }
}

/// `Result<…>` by its last path segment (`Result`, `axum::response::Result`, `io::Result`).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path.path.segments.last().is_some_and(|segment| segment.ident == "Result"),
        Type::Paren(inner) => is_result(&inner.elem),
        Type::Group(inner) => is_result(&inner.elem),
        _ => false,
    }
}

/// `Scope! { check: ["items"] }`: the declaration's matcher checks the literals, reporting
/// each unknown one at its own span. The default declaration is `Scope`, resolved where the
/// function is written.
fn scope_check(args: &SecuredArgs, scopes: &[&syn::LitStr]) -> TokenStream {
    let Some((key_span, _)) = &args.scopes else { return TokenStream::new() };
    if scopes.is_empty() {
        return TokenStream::new();
    }
    let declaration = match &args.declaration {
        Some(path) => quote!(#path),
        None => {
            // Resolved where the attribute is written, reported at the `scopes` key.
            let ident = syn::Ident::new("Scope", Span::call_site().located_at(*key_span));
            quote!(#ident)
        }
    };
    quote! {
        #declaration! { check: [#(#scopes),*] }
    }
}
