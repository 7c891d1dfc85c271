//! `#[policy]`: a function of the principal and a resource (and the app's state) that allows or
//! denies, described for `#[secured(allow = …)]` and the OpenAPI document by a companion type
//! of the same name.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::{FnArg, Type, spanned::Spanned};

use crate::attr::{self, Errors, crate_path};

mod kw {
    syn::custom_keyword!(hide);
}

/// `#[policy]`, `#[policy(hide)]`, `#[policy(crate = "…")]`.
#[derive(Default)]
struct PolicyArgs {
    hide: Option<kw::hide>,
    krate: Option<syn::Path>,
}

impl syn::parse::Parse for PolicyArgs {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let mut args = PolicyArgs::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::hide) {
                let key: kw::hide = input.parse()?;
                if args.hide.is_some() {
                    return Err(attr::duplicate_key(key.span, "hide"));
                }
                args.hide = Some(key);
            } else if lookahead.peek(syn::Token![crate]) {
                let key: syn::Token![crate] = input.parse()?;
                attr::set_once(&mut args.krate, key.span, "crate", input, None, |input| {
                    attr::parse_crate_path(&input.parse()?)
                })?;
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(args)
    }
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = syn::parse2::<PolicyArgs>(args).unwrap_or_else(|error| {
        errors.push(error);
        PolicyArgs::default()
    });
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let mut out = item.clone();
            out.extend(
                syn::Error::new_spanned(
                    item.into_iter().take(3).collect::<TokenStream>(),
                    "`#[policy]` applies to a function `fn(&Principal, &Resource) -> bool`, or `fn(&Principal, &Resource, &State) -> bool`",
                )
                .to_compile_error(),
            );
            return out;
        }
    };
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        errors.push_spanned(asyncness, "a policy decides from what is loaded, without waiting: remove `async` (load what it needs in the resource's loader)");
    }
    if !sig.generics.params.is_empty() {
        errors.push_spanned(&sig.generics, "a policy cannot be generic: name its principal and resource types");
    }
    let mut referents = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Typed(typed) => match &*typed.ty {
                Type::Reference(reference) if reference.mutability.is_none() => referents.push(&*reference.elem),
                other => errors.push_spanned(
                    other,
                    "a policy takes its principal, resource and state by shared reference, e.g. `note: &Note`",
                ),
            },
            FnArg::Receiver(receiver) => errors.push_spanned(receiver, "a policy is a free function, not a method"),
        }
    }
    if !(2..=3).contains(&sig.inputs.len()) {
        errors.push_spanned(
            &sig.inputs,
            "a policy takes `(principal: &P, resource: &R)`, or `(principal: &P, resource: &R, state: &S)`",
        );
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        errors.push_spanned(&sig.ident, "a policy returns `bool`: `true` allows");
    }
    if !errors.is_empty() {
        let mut out = function.to_token_stream();
        out.extend(errors.to_compile_errors());
        return out;
    }

    let krate = crate_path(args.krate.as_ref());
    let name = &sig.ident;
    let vis = &function.vis;
    let name_str = name.to_string();
    let description = attr::doc_text(&function.attrs);
    let hides = args.hide.is_some();
    let (principal, resource) = (referents[0], referents[1]);
    let p = syn::Ident::new("__auth_private", proc_macro2::Span::mixed_site());
    // The state a policy reads is its resource's (what the loader reads): a policy taking
    // another type is a type error here, at the policy.
    let state = quote!(<#resource as #p::Resource>::State);
    let call = match referents.get(2) {
        None => quote!(#name(principal, resource)),
        Some(written) => quote_spanned!(written.span()=> #name(principal, resource, state)),
    };
    let policy = quote! {
        #[automatically_derived]
        impl #p::Policy<#principal, #resource> for #name {
            #[allow(unused_variables)]
            fn allows(principal: &#principal, resource: &#resource, state: &#state) -> bool {
                #call
            }
        }
    };
    let doc = format!("The `#[policy]` `{name}` as a type, for `#[secured(allow = {name})]`.");
    quote! {
        #function

        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #vis struct #name {}

        const _: () = {
            use #krate::__private as #p;

            #[automatically_derived]
            impl #p::PolicyDoc for #name {
                const INFO: #p::PolicyInfo = #p::PolicyInfo { name: #name_str, description: #description, hides: #hides };
            }

            #policy
        };
    }
}
