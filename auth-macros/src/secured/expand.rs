//! The expansion of `#[secured]`: the function with a leading `Enter` parameter, a companion
//! type of the same name (the dependency marker), its impls, and the scope check.
//!
//! The impls only *describe* the function (its scopes, its parameter types, how to call it);
//! auth-core's generic `Dependency` and `Resolve` impls do the work. A function therefore costs the
//! compiler a few associated items, not an async body of its own, and what it needs as a
//! dependency is checked only where it is used as `Depends<function>`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ReturnType, Type};

use super::parse::{SecuredArgs, SecuredFnItem};
use crate::attr::crate_path;

pub(crate) fn expand(args: &SecuredArgs, function: &SecuredFnItem) -> TokenStream {
    let krate = crate_path(args.krate.as_ref());
    // Inside the `const _` block the support module goes by one short, unnameable alias, so
    // the expansion stays small.
    let p = syn::Ident::new("__auth_private", Span::mixed_site());
    // `allow = …`: the `Authorized` parameter gets the function as its rule, and the rule's
    // items go into the block.
    let authorized = super::authorize::expand(args, function, &krate, &p);
    let (function, rule_items) = match &authorized {
        Some((rewritten, items)) => (rewritten, items.clone()),
        None => (function, TokenStream::new()),
    };
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

    let lists = args.scope_lists();
    let use_cache = args.use_cache.as_ref().is_none_or(|lit| lit.value);

    // Each `Depends<f>` names `f` through a local alias that falls back to a type saying "add
    // `#[secured]`" when `f` is a plain function (see `dependency_slots`).
    let slots = dependency_slots(&krate, &sig.inputs);
    let rewritten = function.with_first_parameter(quote!(_: #krate::__private::Enter<#name>));

    let marker_doc = format!("The `#[secured]` function `{name}` as a type: write `Depends<{name}>` to depend on it.");
    let marker = quote! {
        #[doc = #marker_doc]
        #[allow(non_camel_case_types)]
        #vis struct #name {}
    };

    // The aliases name the dependencies only in `Dependencies`, which comes first: the rest
    // of the expansion writes the types as the user did, so that a plain function is reported
    // once more, by rustc, rather than as "not a dependency" at every mention.
    let aliased: Vec<&Type> = slots.tys.iter().collect();
    let tys: Vec<&Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    // Every body is compiler work, once per `#[secured]` function: a function whose parameters
    // add nothing to the walk keeps the default `security`.
    let (dependencies, others) = walk(&p, &aliased);
    let describe = (!others.is_empty()).then(|| {
        quote! {
            fn describe(walk: &mut #p::Walk) {
                #others
            }
        }
    });
    let required = required_scopes(args, &p, &krate, &lists);
    let mut dependencies = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#(#dependencies,)*));
    if let Some(first) = slots.first {
        dependencies.set_span(first);
    }
    // The description a handler needs; a function usable as a dependency says it in its one
    // `DependencyFn` impl (auth-core's blanket `SecuredFn` impl reads it from there): one impl
    // per function rather than two.
    let secured_items = quote! {
        const SCOPES: #p::RequiredScopes = #required;
        type Dependencies = #dependencies;

        #describe
    };

    let dependency = dependency_fn(&p, function, &tys, use_cache, &secured_items);
    // `routes!` checks a `DependencyFn`'s parameters through its `Args`, with no item of its
    // own; a function that is not one (it returns `impl Trait`) says its parameters here.
    let (secured_fn, handler_params) = if dependency.is_empty() {
        (
            quote! {
                #[automatically_derived]
                impl #p::SecuredFn for #name {
                    #secured_items
                }
            },
            Some(quote! {
                #[automatically_derived]
                impl<S, M> #p::HandlerParams<S, M> for #name where (#(#tys,)*): #p::HandlerArgs<S, M> {}
            }),
        )
    } else {
        (TokenStream::new(), None)
    };
    let checks = parameter_checks(&krate, args.state.as_ref(), &tys);
    let aliases = &slots.aliases;

    // The block before the function: rustc checks items in order, and the block's errors (a
    // dependency without `#[secured]`) say more than the signature's.
    quote! {
        #marker
        // One `allow` for the block: the fallback's glob import is unused whenever the
        // dependency is `#[secured]`.
        #[allow(unused_imports)]
        const _: () = {
            use #krate::__private as #p;
            #aliases
            #secured_fn
            #dependency
            #handler_params
            #checks
            #rule_items
        };
        #rewritten
    }
}

/// The parameters with their dependencies named through aliases (see [`dependency_slots`]).
struct Slots {
    /// Each parameter's type, every `Depends<f>` written `Depends<__auth_depJ>`: the alias,
    /// for the items inside the `const _` block.
    tys: Vec<Type>,
    /// The first alias's span: the `Dependencies` tuple's parentheses are put there, so that
    /// an error about the tuple (a dependency without `#[secured]`) is reported there.
    first: Option<Span>,
    /// The aliases and the fallback's glob import, for the `const _` block.
    aliases: TokenStream,
}

/// How many dependency parameters get an alias (`auth_core::__private::fallback` has as many
/// fallbacks); any further one is written as it is.
pub(super) const ALIASES: usize = 16;

/// Each `Depends<f>` (or `Option<Depends<f>>`) of the function names `f`, inside the
/// function's `const _` block, through an alias that falls back to a type saying "add
/// `#[secured]` to that function" when `f` is a plain function, so that this is the first
/// error, at the `Depends<f>`, rather than rustc's "constant provided when a type was expected"
/// at every mention.
///
/// `use f as __auth_depJ;` imports whatever `f` is, and a glob import brings a fallback of the
/// same name, `FunctionWithoutSecured`. An explicit import shadows a glob one per namespace: when `f` names
/// a type (a `#[secured]` function's companion, or a dependency type of the user's), the alias
/// is that type; when it names only a function, the alias is the fallback, which is no
/// dependency and says why. The block is a scope of its own, so its one glob import costs name
/// resolution nothing elsewhere. The function's own signature is left as written: the block
/// comes first in the expansion, and rustc checks items in order.
fn dependency_slots(krate: &TokenStream, inputs: &syn::punctuated::Punctuated<FnArg, syn::Token![,]>) -> Slots {
    let mut tys = Vec::new();
    let mut imports = Vec::new();
    let mut globs = Vec::new();
    let mut first = None;
    for arg in inputs {
        let FnArg::Typed(typed) = arg else { continue };
        let mut ty = (*typed.ty).clone();
        if imports.len() < ALIASES
            && let Some(slot) = dependency_slot(&mut ty)
            && let Type::Path(path) = &*slot
        {
            let written = &path.path;
            let span = written.span();
            first.get_or_insert(span);
            let alias = format_ident!("__auth_dep{}", imports.len(), span = Span::call_site().located_at(span));
            let fallback = format_ident!("d{}", imports.len());
            imports.push(quote!(use #written as #alias;));
            globs.push(quote!(use #krate::__private::fallback::#fallback::*;));
            *slot = Type::Verbatim(alias.into_token_stream());
        }
        tys.push(ty);
    }
    if first.is_none() {
        return Slots { tys, first, aliases: TokenStream::new() };
    }
    let aliases = quote! {
        #(#globs)*
        #(#imports)*
    };
    Slots { tys, first, aliases }
}

/// In `Depends<path>` or `Option<Depends<path>>`, where `path` is a plain path (no generic
/// arguments, no `<T as Trait>::`), the type `path`.
fn dependency_slot(ty: &mut Type) -> Option<&mut Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last_mut()?;
    let syn::PathArguments::AngleBracketed(args) = &mut last.arguments else { return None };
    if args.args.len() != 1 {
        return None;
    }
    let Some(syn::GenericArgument::Type(inner)) = args.args.first_mut() else { return None };
    if last.ident == "Option" {
        return dependency_slot(inner);
    }
    if last.ident != "Depends" {
        return None;
    }
    match inner {
        Type::Path(dependency)
            if dependency.qself.is_none()
                && dependency.path.segments.iter().all(|segment| segment.arguments.is_none()) =>
        {
            Some(inner)
        }
        _ => None,
    }
}

/// Checks that put a type error at the parameter that causes it, in words, rather than at the
/// route as "`Handler<_, _>` is not implemented".
///
/// - Every `WebSocketUpgrade`: it is auth-core's, whose socket is closed when a credential
///   expires, not axum's, whose socket would outlive it.
/// - With `state = S`, as axum's `#[debug_handler]`: every parameter but the last is an
///   extractor of the request's parts for state `S`, and the last an extractor of the request;
///   for a `Depends<d>`, that covers everything `d` needs (its parameters, a cacheable output).
///   Without it the state is unknown (a dependency runs with whatever state its handler has),
///   and a mistake is reported where the handler is routed. These checks cost compile time,
///   which is why they are asked for.
fn parameter_checks(krate: &TokenStream, state: Option<&Type>, tys: &[&Type]) -> TokenStream {
    // Every token of a check carries the parameter's span (one syntax context, one place), so
    // the compiler reports the error there.
    let at = |ty: &Type| {
        let span = ty.span();
        let krate: TokenStream = respan(krate.clone(), span);
        quote_spanned!(span=> #krate::__private)
    };
    let mut checks = Vec::new();
    for ty in tys {
        if last_segment_is(ty, "WebSocketUpgrade") {
            let p = at(ty);
            checks.push(quote_spanned!(ty.span()=> #p::assert_secured_upgrade::<#ty>();));
        }
        if let Some(credentials) = credential_tuple(ty) {
            let p = at(ty);
            checks.push(quote_spanned!(ty.span()=> #p::assert_one_principal::<#credentials>();));
        }
    }
    if let Some(state) = state {
        let last = tys.len().saturating_sub(1);
        for (i, ty) in tys.iter().enumerate() {
            let p = at(ty);
            checks.push(if i == last {
                quote_spanned!(ty.span()=> #p::assert_request_extractor::<#state, _, #ty>();)
            } else {
                quote_spanned!(ty.span()=> #p::assert_parts_extractor::<#state, #ty>();)
            });
        }
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    quote! {
        #[allow(dead_code)]
        fn __auth_checks() {
            #(#checks)*
        }
    }
}

/// In `Authenticated<(A, B, …)>` or `Option<Authenticated<(A, B, …)>>`, the tuple: its
/// credentials must yield one principal, which one check at the parameter says, rather than an
/// error at every mention of the type.
fn credential_tuple(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let Some(syn::GenericArgument::Type(inner)) = args.args.first() else { return None };
    if last.ident == "Option" {
        return credential_tuple(inner);
    }
    (last.ident == "Authenticated" && matches!(inner, Type::Tuple(tuple) if tuple.elems.len() > 1)).then_some(inner)
}

/// The same tokens, every one at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = inner.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Whether `ty` is a path whose last segment is `name`.
fn last_segment_is(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.segments.last().is_some_and(|last| last.ident == name))
}

/// What each parameter tells the walk: the dependencies, and the body describing the others.
///
/// `Depends<…>` and `Option<Depends<…>>`, the usual parameters of a chain, are listed in the
/// `Dependencies` tuple type, which costs the compiler less than a function body. Axum's and
/// auth-core's extractors that never carry a credential (`State`, `SecurityScopes`, `Path`, …)
/// add nothing and are skipped. Every other type (a credential, a form, an extractor of the
/// app's) goes through the autoref probe, which picks `Describe` when the type implements it
/// and does nothing otherwise; the probe costs a method lookup over two traits, so it is kept
/// for the types that need it.
fn walk<'a>(p: &syn::Ident, tys: &[&'a Type]) -> (Vec<&'a Type>, TokenStream) {
    let mut dependencies = Vec::new();
    let mut calls = Vec::new();
    for ty in tys {
        match classify(ty) {
            Param::Dependency => dependencies.push(*ty),
            Param::Silent => {}
            Param::Other => calls.push(quote!((&#p::Probe::<#ty>::new()).describe(walk);)),
        }
    }
    if calls.is_empty() {
        return (dependencies, TokenStream::new());
    }
    let others = quote! {
        use #p::{ViaDescribe as _, ViaNothing as _};
        #(#calls)*
    };
    (dependencies, others)
}

enum Param {
    /// `Depends<…>` or `Option<Depends<…>>`.
    Dependency,
    /// An extractor that never documents security.
    Silent,
    /// Anything else.
    Other,
}

/// Extractors that carry no credential, by their last path segment.
const SILENT: &[&str] =
    &["State", "SecurityScopes", "Extension", "Path", "Query", "HeaderMap", "Method", "Uri", "ConnectInfo"];

fn classify(ty: &Type) -> Param {
    let Type::Path(path) = ty else { return Param::Other };
    let Some(last) = path.path.segments.last() else { return Param::Other };
    if last.ident == "Depends" {
        return Param::Dependency;
    }
    if last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
        && matches!(classify(inner), Param::Dependency)
    {
        return Param::Dependency;
    }
    if path.qself.is_none() && SILENT.iter().any(|name| last.ident == name) {
        return Param::Silent;
    }
    Param::Other
}

/// `DependencyFn` for the marker: the types auth-core's generic `Dependency` and `Resolve`
/// impls need, and the one call. Not for a function whose return type mentions `impl Trait`,
/// which cannot be named as an output type (such a function is a handler only).
fn dependency_fn(
    p: &syn::Ident,
    function: &SecuredFnItem,
    tys: &[&Type],
    use_cache: bool,
    secured_items: &TokenStream,
) -> TokenStream {
    let sig = &function.sig;
    let name = &sig.ident;
    let (returns, finish) = match &sig.output {
        ReturnType::Default => (quote!(()), quote!(#p::PlainFinish)),
        // `impl Trait` anywhere in it (`Result<impl IntoResponse, E>`) cannot be named.
        ReturnType::Type(_, ty) if mentions_impl_trait(ty.to_token_stream()) => return TokenStream::new(),
        ReturnType::Type(_, ty) if is_result(ty) => {
            // An error type that is not a response is reported at the return type.
            let p = syn::Ident::new(&p.to_string(), Span::mixed_site().located_at(ty.span()));
            (quote!(#ty), quote_spanned!(ty.span()=> #p::ResultFinish))
        }
        ReturnType::Type(_, ty) => (quote!(#ty), quote!(#p::PlainFinish)),
    };

    // Mixed-site names cannot collide with anything the user wrote.
    let vars: Vec<syn::Ident> =
        (0..tys.len()).map(|i| format_ident!("__auth_arg{}", i, span = Span::mixed_site())).collect();
    let call = quote!(#name(#p::Enter::nested(), #(#vars),*));
    let call = match sig.asyncness {
        Some(_) => call,
        None => quote!(#p::core::future::ready(#call)),
    };
    let cache = if use_cache { quote!(#p::Cached) } else { quote!(#p::NotCached) };

    quote! {
        #[automatically_derived]
        impl #p::DependencyFn for #name {
            #secured_items
            type Args = (#(#tys,)*);
            type Returns = #returns;
            type Finish = #finish;
            type Cache = #cache;

            fn call((#(#vars,)*): Self::Args) -> impl #p::Future<Output = Self::Returns> + #p::Send {
                #call
            }
        }
    }
}

/// Whether the tokens hold the `impl` keyword, at any depth.
fn mentions_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => mentions_impl_trait(group.stream()),
        _ => false,
    })
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

/// The function's `SCOPES`: `Scope! { scopes: Scope, [::auth_core], [["items"]] }`, which the
/// declaration's matcher checks (reporting each unknown scope at its literal) and turns into
/// the value, naming the declaration's type. The default declaration is `Scope`, resolved where
/// the function is written, like any item: declared there, or imported with `use` from this
/// crate or another. Without scopes, no declaration is needed.
fn required_scopes(
    args: &SecuredArgs,
    p: &syn::Ident,
    krate: &TokenStream,
    lists: &[Vec<&syn::LitStr>],
) -> TokenStream {
    let Some((key_span, _)) = &args.scopes else { return quote!(#p::RequiredScopes::NONE) };
    if lists.iter().all(Vec::is_empty) {
        return quote!(#p::RequiredScopes::NONE);
    }
    let declaration = match &args.declaration {
        Some(path) => quote!(#path),
        None => {
            // Resolved where the attribute is written, reported at the `scopes` key.
            let ident = syn::Ident::new("Scope", Span::call_site().located_at(*key_span));
            quote!(#ident)
        }
    };
    let lists = lists.iter().map(|list| quote!([#(#list),*]));
    quote! {
        #declaration! { scopes: #declaration, [#krate], [#(#lists),*] }
    }
}
