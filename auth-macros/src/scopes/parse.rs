//! Borrowed views of the enum a `#[derive(Scopes)]` sits on.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, LitStr, spanned::Spanned};

use crate::attr::{self, Errors};

pub(crate) struct Declaration<'a> {
    pub(crate) ident: &'a syn::Ident,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) scopes: Vec<DeclaredScope<'a>>,
    /// False when a variant was rejected, so the impls (which match every variant) are skipped.
    pub(crate) complete: bool,
}

pub(crate) struct DeclaredScope<'a> {
    pub(crate) variant: &'a syn::Ident,
    /// The scope string, and the literal it came from (or the variant, when derived from its name).
    pub(crate) name: String,
    pub(crate) span: Span,
    pub(crate) description: String,
    /// `implies = ["…"]`: the scopes this one grants too, as written.
    pub(crate) implies: Vec<LitStr>,
}

impl<'a> Declaration<'a> {
    /// Returns `None` only when the input is not something we can expand at all.
    pub(crate) fn from_input(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let Data::Enum(data) = &input.data else {
            errors.push_spanned(
                &input.ident,
                "`#[derive(Scopes)]` applies to fieldless enums: one unit variant per scope, e.g. `enum Scope { #[scope(\"items\")] Items }`",
            );
            return None;
        };
        if !input.generics.params.is_empty() {
            errors.push_spanned(&input.generics, "a scopes declaration cannot be generic");
            return None;
        }
        let krate = parse_container_attrs(&input.attrs, errors);
        let mut scopes = Vec::new();
        let mut complete = true;
        for variant in &data.variants {
            if !matches!(variant.fields, Fields::Unit) {
                complete = false;
                errors.push_spanned(
                    &variant.fields,
                    format!("scope `{}` cannot carry data: declare it as a unit variant", variant.ident),
                );
                continue;
            }
            let (name, span, implies) = match scope_attr(variant, errors) {
                Some(ScopeAttr { lit, implies }) => (lit.value(), lit.span(), implies),
                None => (snake_case(&variant.ident.to_string()), variant.ident.span(), Vec::new()),
            };
            scopes.push(DeclaredScope {
                variant: &variant.ident,
                name,
                span,
                description: attr::doc_text(&variant.attrs),
                implies,
            });
        }
        Some(Declaration { ident: &input.ident, krate, scopes, complete })
    }
}

/// `#[scopes(crate = "…")]` on the enum.
fn parse_container_attrs(attrs: &[syn::Attribute], errors: &mut Errors) -> Option<syn::Path> {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("scopes")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                if krate.is_some() {
                    return Err(attr::duplicate_key(meta.path.span(), "crate"));
                }
                krate = Some(attr::parse_crate_path(&meta.value()?.parse()?)?);
                Ok(())
            } else {
                Err(meta.error("unknown key in `#[scopes(...)]`, expected `crate`"))
            }
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    krate
}

/// `#[scope("items")]` or `#[scope("admin", implies = ["items"])]` on a variant.
struct ScopeAttr {
    lit: LitStr,
    implies: Vec<LitStr>,
}

mod kw {
    syn::custom_keyword!(implies);
}

impl syn::parse::Parse for ScopeAttr {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let lit = match input.parse::<syn::Expr>()? {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => lit,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected the scope as a string literal, e.g. `#[scope(\"items\")]`",
                ));
            }
        };
        let mut implies = None;
        while !input.is_empty() {
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let lookahead = input.lookahead1();
            if !lookahead.peek(kw::implies) {
                return Err(lookahead.error());
            }
            let key: kw::implies = input.parse()?;
            let expected = "expected a list of declared scopes, e.g. `implies = [\"items:read\", \"items:write\"]`";
            attr::set_once(&mut implies, key.span, "implies", input, Some(expected), |input| {
                let content;
                syn::bracketed!(content in input);
                Ok(syn::punctuated::Punctuated::<LitStr, syn::Token![,]>::parse_terminated(&content)?
                    .into_iter()
                    .collect())
            })?;
        }
        Ok(Self { lit, implies: implies.unwrap_or_default() })
    }
}

fn scope_attr(variant: &syn::Variant, errors: &mut Errors) -> Option<ScopeAttr> {
    let mut found: Option<ScopeAttr> = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("scope")) {
        match attr.parse_args::<ScopeAttr>() {
            Ok(parsed) => {
                if found.is_some() {
                    errors.push_spanned(
                        attr,
                        format!("`{}` has two `#[scope]` attributes; a variant declares one scope", variant.ident),
                    );
                } else {
                    found = Some(parsed);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    found
}

/// `ReadItems` → `read_items`, the scope of a variant without `#[scope("…")]`.
fn snake_case(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
