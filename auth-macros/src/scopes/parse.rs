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
            let (name, span) = match scope_attr(variant, errors) {
                Some(lit) => (lit.value(), lit.span()),
                None => (snake_case(&variant.ident.to_string()), variant.ident.span()),
            };
            scopes.push(DeclaredScope { variant: &variant.ident, name, span, description: doc_text(&variant.attrs) });
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

/// `#[scope("items")]` on a variant.
fn scope_attr(variant: &syn::Variant, errors: &mut Errors) -> Option<LitStr> {
    let mut found: Option<LitStr> = None;
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("scope")) {
        match attr.parse_args::<syn::Expr>() {
            Ok(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. })) => {
                if found.is_some() {
                    errors.push_spanned(
                        attr,
                        format!("`{}` has two `#[scope]` attributes; a variant declares one scope", variant.ident),
                    );
                } else {
                    found = Some(lit);
                }
            }
            Ok(other) => {
                errors.push_spanned(other, "expected the scope as a string literal, e.g. `#[scope(\"items\")]`")
            }
            Err(_) => errors.push_spanned(attr, "expected the scope as a string literal, e.g. `#[scope(\"items\")]`"),
        }
    }
    found
}

/// The doc comment, lines trimmed and joined: the description OpenAPI shows.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
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
