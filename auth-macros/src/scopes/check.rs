//! `__check_scopes!`: the callback of the declaration's matcher. Each literal `#[secured]`
//! uses is looked up among the declared scopes; every unknown one becomes an error at the
//! literal, naming the declared scopes and suggesting the nearest.

use proc_macro2::TokenStream;
use syn::{
    LitStr, Token, bracketed,
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
};

use crate::attr::{Errors, nearest};

mod kw {
    syn::custom_keyword!(declaration);
    syn::custom_keyword!(declared);
    syn::custom_keyword!(used);
}

pub(crate) struct CheckInput {
    declaration: LitStr,
    declared: Vec<LitStr>,
    used: Vec<LitStr>,
}

fn list(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    bracketed!(content in input);
    Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?.into_iter().collect())
}

impl Parse for CheckInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.parse::<kw::declaration>()?;
        input.parse::<Token![=]>()?;
        let declaration = input.parse()?;
        input.parse::<Token![,]>()?;
        input.parse::<kw::declared>()?;
        input.parse::<Token![=]>()?;
        let declared = list(input)?;
        input.parse::<Token![,]>()?;
        input.parse::<kw::used>()?;
        input.parse::<Token![=]>()?;
        let used = list(input)?;
        Ok(Self { declaration, declared, used })
    }
}

pub(crate) fn expand(input: &CheckInput) -> TokenStream {
    let declared: Vec<String> = input.declared.iter().map(LitStr::value).collect();
    let listing = declared.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let mut errors = Errors::default();
    for lit in &input.used {
        let scope = lit.value();
        if declared.contains(&scope) {
            continue;
        }
        let mut message = format!("unknown scope `{scope}`");
        if let Some(nearest) = nearest(&scope, &declared) {
            message.push_str(&format!("\nhelp: did you mean `{nearest}`?"));
        }
        if declared.is_empty() {
            message.push_str(&format!("\nnote: `{}` declares no scopes", input.declaration.value()));
        } else {
            message.push_str(&format!("\nnote: the scopes declared in `{}` are: {listing}", input.declaration.value()));
        }
        errors.push_spanned(lit, message);
    }
    errors.to_compile_errors()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::levenshtein;

    #[test]
    fn suggests_the_nearest_declared_scope() {
        let declared = vec!["me".to_owned(), "items".to_owned(), "users:read".to_owned()];
        assert_eq!(nearest("itemz", &declared), Some("items"));
        assert_eq!(nearest("ITEMS", &declared), Some("items"));
        assert_eq!(nearest("user:read", &declared), Some("users:read"));
        assert_eq!(nearest("mee", &declared), Some("me"));
        assert_eq!(nearest("admin", &declared), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
