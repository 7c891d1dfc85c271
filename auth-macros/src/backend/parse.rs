//! The grammar of `#[backend(name = "…", transport = kind(option = value, …), strategy = kind,
//! scopes = Path, crate = "…")]`, and of `#[backend(strategy)]` on a field.

use syn::{
    Ident, Lit, LitStr, Token, bracketed, parenthesized,
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
};

use crate::attr::{self, Errors};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(transport);
    syn::custom_keyword!(strategy);
    syn::custom_keyword!(scopes);
}

/// `kind` or `kind(key = value, …)`.
pub(crate) struct TransportSpec {
    pub(crate) kind: Ident,
    pub(crate) options: Vec<(Ident, OptionValue)>,
}

/// An option's value: a literal, or a list of string literals (`["…", "…"]`).
pub(crate) enum OptionValue {
    Lit(Lit),
    List {
        /// The whole `[…]`, for spans.
        tokens: proc_macro2::TokenStream,
        items: Vec<LitStr>,
    },
}

impl quote::ToTokens for OptionValue {
    fn to_tokens(&self, out: &mut proc_macro2::TokenStream) {
        match self {
            OptionValue::Lit(lit) => lit.to_tokens(out),
            OptionValue::List { tokens, .. } => out.extend(tokens.clone()),
        }
    }
}

impl Parse for TransportSpec {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a transport, e.g. `transport = bearer(token_url = \"auth/jwt/login\")`")
        })?;
        let mut options = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let pairs = Punctuated::<OptionPair, Token![,]>::parse_terminated(&content)?;
            options = pairs.into_iter().map(|p| (p.key, p.value)).collect();
        }
        Ok(Self { kind, options })
    }
}

struct OptionPair {
    key: Ident,
    value: OptionValue,
}

impl Parse for OptionPair {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        if input.peek(syn::token::Bracket) {
            let tokens = input.fork().parse::<proc_macro2::TokenTree>()?.into();
            let content;
            bracketed!(content in input);
            let items = Punctuated::<LitStr, Token![,]>::parse_terminated(&content).map_err(|e| {
                syn::Error::new(e.span(), format!("expected a list of strings for `{key}`, e.g. `{key} = [\"…\"]`"))
            })?;
            return Ok(Self { key, value: OptionValue::List { tokens, items: items.into_iter().collect() } });
        }
        let value: Lit = input.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("expected a literal value for `{key}`, e.g. `{key} = \"…\"`"))
        })?;
        Ok(Self { key, value: OptionValue::Lit(value) })
    }
}

/// The container attribute's arguments.
#[derive(Default)]
pub(crate) struct BackendArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) transport: Option<TransportSpec>,
    pub(crate) strategy: Option<Ident>,
    pub(crate) scopes: Option<syn::Path>,
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for BackendArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = BackendArgs::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let key: kw::name = input.parse()?;
                let expected = "expected the backend's name as a string, e.g. `name = \"jwt\"`";
                attr::set_once(&mut args.name, key.span, "name", input, Some(expected), |input| input.parse())?;
            } else if lookahead.peek(kw::transport) {
                let key: kw::transport = input.parse()?;
                attr::set_once(&mut args.transport, key.span, "transport", input, None, |input| input.parse())?;
            } else if lookahead.peek(kw::strategy) {
                let key: kw::strategy = input.parse()?;
                let expected = "expected a strategy: `jwt`, `database`, `redis` or `api_key`";
                attr::set_once(&mut args.strategy, key.span, "strategy", input, Some(expected), |input| input.parse())?;
            } else if lookahead.peek(kw::scopes) {
                let key: kw::scopes = input.parse()?;
                let expected = "expected the `#[derive(Scopes)]` enum, e.g. `scopes = Scope`";
                attr::set_once(&mut args.scopes, key.span, "scopes", input, Some(expected), |input| input.parse())?;
            } else if lookahead.peek(Token![crate]) {
                let key: Token![crate] = input.parse()?;
                attr::set_once(&mut args.krate, key.span, "crate", input, None, |input| {
                    attr::parse_crate_path(&input.parse()?)
                })?;
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// The parsed derive input.
pub(crate) struct Backend<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) args: BackendArgs,
    /// Where to report a missing key: the attribute, or the struct's name.
    pub(crate) attr_tokens: proc_macro2::TokenStream,
    pub(crate) strategy_field: Option<(syn::Member, &'a syn::Type)>,
}

impl<'a> Backend<'a> {
    pub(crate) fn from_input(input: &'a syn::DeriveInput, errors: &mut Errors) -> Option<Self> {
        let syn::Data::Struct(data) = &input.data else {
            errors.push_spanned(
                &input.ident,
                "`#[derive(AuthBackend)]` applies to a struct holding the backend's strategy, e.g. `struct JwtBackend { strategy: JwtStrategy }`",
            );
            return None;
        };
        if !input.generics.params.is_empty() {
            errors.push_spanned(&input.generics, "a backend cannot be generic: its name and transport are fixed");
            return None;
        }
        let mut args = BackendArgs::default();
        let mut attr_tokens = quote::ToTokens::to_token_stream(&input.ident);
        let mut seen = false;
        for attribute in input.attrs.iter().filter(|a| a.path().is_ident("backend")) {
            if seen {
                errors.push_spanned(attribute, "`#[backend(...)]` given twice; put every key in one attribute");
                continue;
            }
            seen = true;
            attr_tokens = quote::ToTokens::to_token_stream(attribute);
            match attribute.parse_args::<BackendArgs>() {
                Ok(parsed) => args = parsed,
                Err(error) => {
                    errors.push(error);
                    return None;
                }
            }
        }

        let fields: Vec<&syn::Field> = data.fields.iter().collect();
        let mut marked = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            for attribute in field.attrs.iter().filter(|a| a.path().is_ident("backend")) {
                let result = attribute.parse_nested_meta(|meta| {
                    if meta.path.is_ident("strategy") {
                        marked.push(index);
                        Ok(())
                    } else {
                        Err(meta.error("unknown field attribute, expected `#[backend(strategy)]`"))
                    }
                });
                if let Err(error) = result {
                    errors.push(error);
                }
            }
        }
        let member = |index: usize| match &fields[index].ident {
            Some(ident) => syn::Member::Named(ident.clone()),
            None => syn::Member::Unnamed(syn::Index::from(index)),
        };
        let strategy_field = match (marked.as_slice(), fields.len()) {
            ([index], _) => Some((member(*index), &fields[*index].ty)),
            ([], 1) => Some((member(0), &fields[0].ty)),
            ([], _) => {
                errors.push_spanned(
                    &input.ident,
                    "mark the field holding the strategy with `#[backend(strategy)]`, e.g. `#[backend(strategy)] strategy: JwtStrategy`",
                );
                None
            }
            (_, _) => {
                errors.push_spanned(&input.ident, "only one field can be `#[backend(strategy)]`");
                None
            }
        };
        Some(Backend { ident: &input.ident, args, attr_tokens, strategy_field })
    }
}
