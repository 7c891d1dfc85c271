//! `allow = …` and the `Authorized<R, C>` parameter it checks: the parameter's type gets the
//! handler as its rule (`Authorized<R, C, One<handler>>`, or `Many<handler>` for a
//! `Vec<R>`), and the handler's companion type implements the rule, its description, and a
//! check at each policy's name that its types fit.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, GenericArgument, PathArguments, Type, spanned::Spanned};

use super::parse::{RuleExpr, SecuredArgs, SecuredFnItem};
use crate::attr::Errors;

/// The `Authorized<R, C>` parameter: its index among the parameters, the record type `R` (the
/// element type for a `Vec<R>`), the credential `C`, and whether it is a list.
struct Target {
    index: usize,
    element: Type,
    credential: Type,
    list: bool,
}

/// An `Authorized` parameter: its index, its type, and its two generic arguments (record,
/// credential) when it has exactly two.
type AuthorizedParam<'a> = (usize, &'a Type, Option<(&'a Type, &'a Type)>);

/// The `Authorized` parameters of the function.
fn authorized_params(function: &SecuredFnItem) -> Vec<AuthorizedParam<'_>> {
    let mut out = Vec::new();
    for (index, input) in function.sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        let Type::Path(path) = &*typed.ty else { continue };
        let Some(last) = path.path.segments.last() else { continue };
        if last.ident != "Authorized" {
            continue;
        }
        let args = match &last.arguments {
            PathArguments::AngleBracketed(args) if args.args.len() == 2 => match (&args.args[0], &args.args[1]) {
                (GenericArgument::Type(resource), GenericArgument::Type(credential)) => Some((resource, credential)),
                _ => None,
            },
            _ => None,
        };
        out.push((index, &*typed.ty, args));
    }
    out
}

/// Checks that `allow` and an `Authorized` parameter come together.
pub(crate) fn validate(args: &SecuredArgs, function: &SecuredFnItem, errors: &mut Errors) {
    let params = authorized_params(function);
    for (i, (_, ty, generics)) in params.iter().enumerate() {
        if i > 0 {
            errors
                .push_spanned(ty, "one `Authorized` parameter per function: the rule checks one record (or one list)");
        } else if generics.is_none() {
            errors.push_spanned(
                ty,
                "expected `Authorized<Resource, Credential>`, e.g. `Authorized<Note, Claims>` (or `Authorized<Vec<Note>, Claims>` for a list)",
            );
        } else if args.allow.is_none() {
            errors.push_spanned(
                ty,
                "`Authorized<…>` is checked by the function's rule: add `allow = …` to `#[secured]`, e.g. `allow = owner_of_note | scope(\"admin\")`",
            );
        }
    }
    if let Some((span, _)) = &args.allow
        && params.is_empty()
    {
        errors.push(syn::Error::new(
            *span,
            "`allow` checks a record: add a parameter `Authorized<Resource, Credential>`, e.g. `note: Authorized<Note, Claims>`",
        ));
    }
}

/// The function with its `Authorized` parameter given the rule, and the rule's items, when
/// `allow` and one well-formed `Authorized` parameter are there.
pub(crate) fn expand(
    args: &SecuredArgs,
    function: &SecuredFnItem,
    krate: &TokenStream,
    p: &syn::Ident,
) -> Option<(SecuredFnItem, TokenStream)> {
    let (_, rule) = args.allow.as_ref()?;
    let params = authorized_params(function);
    let [(index, _, Some((resource, credential)))] = params.as_slice() else { return None };
    let (element, list) = match vec_element(resource) {
        Some(element) => (element.clone(), true),
        None => ((*resource).clone(), false),
    };
    let target = Target { index: *index, element, credential: (*credential).clone(), list };

    let name = &function.sig.ident;
    let mut sig = function.sig.clone();
    if let Some(FnArg::Typed(typed)) = sig.inputs.iter_mut().nth(target.index)
        && let Type::Path(path) = &mut *typed.ty
        && let Some(last) = path.path.segments.last_mut()
        && let PathArguments::AngleBracketed(generics) = &mut last.arguments
    {
        let span = generics.span();
        let mode = if target.list { quote_spanned!(span=> Many) } else { quote_spanned!(span=> One) };
        let rule_type: Type = syn::parse_quote_spanned!(span=> #krate::__private::#mode<#name>);
        generics.args.push(GenericArgument::Type(rule_type));
    }
    let rewritten = function.with_params(sig);
    Some((rewritten, items(args, rule, &target, name, krate, p)))
}

/// In `Vec<E>`, `E`.
fn vec_element(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// The policies and scopes a rule names, each once, in order.
#[derive(Default)]
struct Terms<'a> {
    policies: Vec<&'a syn::Path>,
    scopes: Vec<&'a syn::LitStr>,
}

impl<'a> Terms<'a> {
    fn collect(&mut self, rule: &'a RuleExpr) {
        match rule {
            RuleExpr::Policy(path) => {
                if !self.policies.iter().any(|known| same_path(known, path)) {
                    self.policies.push(path);
                }
            }
            RuleExpr::Scope(lit) => {
                if !self.scopes.iter().any(|known| known.value() == lit.value()) {
                    self.scopes.push(lit);
                }
            }
            RuleExpr::And(a, b) | RuleExpr::Or(a, b) => {
                self.collect(a);
                self.collect(b);
            }
        }
    }

    fn policy_index(&self, path: &syn::Path) -> usize {
        self.policies.iter().position(|known| same_path(known, path)).unwrap_or_default()
    }

    fn scope_index(&self, lit: &syn::LitStr) -> usize {
        self.scopes.iter().position(|known| known.value() == lit.value()).unwrap_or_default()
    }
}

fn same_path(a: &syn::Path, b: &syn::Path) -> bool {
    quote!(#a).to_string() == quote!(#b).to_string()
}

fn policy_alias(i: usize, span: Span) -> syn::Ident {
    format_ident!("__auth_policy{}", i, span = Span::call_site().located_at(span))
}

fn scope_const(i: usize) -> syn::Ident {
    format_ident!("__AUTH_SCOPE{}", i)
}

/// The decision of `rule`, as an expression over `principal`, `granted`, `resource`, `state`.
fn decision(
    rule: &RuleExpr,
    terms: &Terms<'_>,
    p: &syn::Ident,
    principal: &TokenStream,
    element: &Type,
) -> TokenStream {
    match rule {
        RuleExpr::Policy(path) => {
            // At the policy's name: a policy whose types do not fit is one error there.
            let at = path.span();
            let alias = policy_alias(terms.policy_index(path), at);
            let p_at = syn::Ident::new(&p.to_string(), Span::mixed_site().located_at(at));
            quote_spanned!(at=> #p_at::policy_decision::<#alias, #principal, #element>(principal, resource, state))
        }
        RuleExpr::Scope(lit) => {
            let constant = scope_const(terms.scope_index(lit));
            quote!(#p::scope_decision(#constant, granted))
        }
        RuleExpr::And(a, b) => {
            let (a, b) = (decision(a, terms, p, principal, element), decision(b, terms, p, principal, element));
            quote!({ let decided = #a; if decided.is_allow() { #b } else { decided } })
        }
        RuleExpr::Or(a, b) => {
            let (a, b) = (decision(a, terms, p, principal, element), decision(b, terms, p, principal, element));
            quote!({ let decided = #a; if decided.is_allow() { decided } else { decided.or(#b) } })
        }
    }
}

/// The rule's items, for the function's `const _` block.
fn items(
    args: &SecuredArgs,
    rule: &RuleExpr,
    target: &Target,
    name: &syn::Ident,
    krate: &TokenStream,
    p: &syn::Ident,
) -> TokenStream {
    let mut terms = Terms::default();
    terms.collect(rule);
    let credential = &target.credential;
    let element = &target.element;
    let principal = quote!(<#credential as #p::CredentialSet>::Principal);

    // Each policy is named once, through an alias at its name: an unknown one is one error
    // there ("cannot find type", with rustc's suggestion of a similar name).
    let aliases = terms.policies.iter().enumerate().map(|(i, path)| {
        let alias = policy_alias(i, path.span());
        quote_spanned!(path.span()=> #[allow(non_camel_case_types)] type #alias = #path;)
    });
    let aliases_list: Vec<syn::Ident> =
        terms.policies.iter().enumerate().map(|(i, path)| policy_alias(i, path.span())).collect();
    // Each scope is checked against the declaration as `scopes = […]` literals are.
    let declaration = match &args.declaration {
        Some(path) => quote!(#path),
        None => {
            let span = args.allow.as_ref().map_or_else(Span::call_site, |(span, _)| *span);
            let ident = syn::Ident::new("Scope", Span::call_site().located_at(span));
            quote!(#ident)
        }
    };
    let scope_consts = terms.scopes.iter().enumerate().map(|(i, lit)| {
        let constant = scope_const(i);
        quote!(const #constant: #p::RequiredScopes = #declaration! { scopes: #declaration, [#krate], [[#lit]] };)
    });
    let scope_names = &terms.scopes;
    let text = rule.text();
    let decide = decision(rule, &terms, p, &principal, element);

    quote! {
        #(#aliases)*
        #(#scope_consts)*

        #[automatically_derived]
        impl #p::Rule<#principal, #element> for #name {
            #[allow(unused_variables)]
            fn decide(
                principal: &#principal,
                granted: &[#p::std::string::String],
                resource: &#element,
                state: &<#element as #p::Resource>::State,
            ) -> #p::Decision {
                #decide
            }
        }

        #[automatically_derived]
        impl #p::RuleDoc for #name {
            const AUTHORIZATION: #p::Authorization = #p::Authorization {
                rule: #text,
                policies: &[#( <#aliases_list as #p::PolicyDoc>::INFO ),*],
                scopes: &[#(#scope_names),*],
            };
        }
    }
}
