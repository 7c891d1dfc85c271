//! The grammar of `#[secured(scopes = ["a", "b"] | ["c"], allow = policy | scope("admin"),
//! use_cache = false, declaration = Path, state = Type, crate = "…")]`.

use proc_macro2::Span;
use syn::{
    Expr, LitBool, LitStr, Token, bracketed,
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
};

use crate::attr;

mod kw {
    syn::custom_keyword!(scopes);
    syn::custom_keyword!(use_cache);
    syn::custom_keyword!(declaration);
    syn::custom_keyword!(state);
    syn::custom_keyword!(allow);
}

/// `allow = …`: policies and scopes, combined with `|` and `&` (`&` binding tighter), in
/// parentheses where needed.
pub(crate) enum RuleExpr {
    /// A `#[policy]` function, by its path.
    Policy(syn::Path),
    /// `scope("…")`: a declared scope the credential grants.
    Scope(LitStr),
    And(Box<RuleExpr>, Box<RuleExpr>),
    Or(Box<RuleExpr>, Box<RuleExpr>),
}

impl RuleExpr {
    fn parse_or(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut rule = Self::parse_and(input)?;
        loop {
            if input.peek(Token![||]) {
                input.parse::<Token![||]>()?;
            } else if input.peek(Token![|]) {
                input.parse::<Token![|]>()?;
            } else {
                return Ok(rule);
            }
            rule = RuleExpr::Or(Box::new(rule), Box::new(Self::parse_and(input)?));
        }
    }

    fn parse_and(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut rule = Self::parse_factor(input)?;
        loop {
            if input.peek(Token![&&]) {
                input.parse::<Token![&&]>()?;
            } else if input.peek(Token![&]) {
                input.parse::<Token![&]>()?;
            } else {
                return Ok(rule);
            }
            rule = RuleExpr::And(Box::new(rule), Box::new(Self::parse_factor(input)?));
        }
    }

    fn parse_factor(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let rule = Self::parse_or(&content)?;
            if !content.is_empty() {
                return Err(content.error("expected `|`, `&` or `)`"));
            }
            return Ok(rule);
        }
        if !input.peek(syn::Ident) && !input.peek(Token![::]) {
            return Err(input.error(
                "expected a `#[policy]` function or `scope(\"…\")`, e.g. `allow = owner_of_note | scope(\"admin\")`",
            ));
        }
        let path: syn::Path = input.parse()?;
        if path.is_ident("scope") && input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let lit: LitStr = content.parse().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "expected one declared scope as a string literal, e.g. `scope(\"admin\")`",
                )
            })?;
            if !content.is_empty() {
                return Err(content.error("`scope(…)` takes one scope; combine several with `&` or `|`"));
            }
            return Ok(RuleExpr::Scope(lit));
        }
        Ok(RuleExpr::Policy(path))
    }

    /// The rule as the document shows it.
    pub(crate) fn text(&self) -> String {
        match self {
            RuleExpr::Policy(path) => quote::ToTokens::to_token_stream(path).to_string().replace(' ', ""),
            RuleExpr::Scope(lit) => format!("scope({:?})", lit.value()),
            // Each side of a combination that is itself a combination of the other kind is
            // parenthesised, as people write it (`(a & b) | c`), though `&` binds tighter.
            RuleExpr::And(a, b) => {
                let side = |rule: &RuleExpr| match rule {
                    RuleExpr::Or(..) => format!("({})", rule.text()),
                    _ => rule.text(),
                };
                format!("{} & {}", side(a), side(b))
            }
            RuleExpr::Or(a, b) => {
                let side = |rule: &RuleExpr| match rule {
                    RuleExpr::And(..) => format!("({})", rule.text()),
                    _ => rule.text(),
                };
                format!("{} | {}", side(a), side(b))
            }
        }
    }
}

/// One bracketed list of `scopes = [...] | [...]`: its brackets' span, and its entries.
pub(crate) struct ScopeList {
    pub(crate) span: Span,
    pub(crate) entries: Vec<Expr>,
}

/// The parsed arguments. Scope entries stay `Expr`s here; validation reports non-literals.
#[derive(Default)]
pub(crate) struct SecuredArgs {
    /// The `scopes` key's span, and its lists: one, or alternatives joined by `|`.
    pub(crate) scopes: Option<(Span, Vec<ScopeList>)>,
    pub(crate) use_cache: Option<LitBool>,
    pub(crate) declaration: Option<syn::Path>,
    pub(crate) state: Option<syn::Type>,
    pub(crate) krate: Option<syn::Path>,
    /// The `allow` key's span, and its rule.
    pub(crate) allow: Option<(Span, RuleExpr)>,
}

/// The literal of a well-formed scope entry.
pub(crate) fn scope_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) if attr::is_scope_token(&lit.value()) => Some(lit),
        _ => None,
    }
}

impl SecuredArgs {
    /// The lists, each with its literal, well-formed scopes, skipping entries validation
    /// reports as errors.
    pub(crate) fn scope_lists(&self) -> Vec<Vec<&LitStr>> {
        self.scopes
            .iter()
            .flat_map(|(_, lists)| lists)
            .map(|list| list.entries.iter().filter_map(scope_literal).collect())
            .collect()
    }
}

/// `[...]`, or an error saying what is expected.
fn scope_list(input: ParseStream<'_>) -> syn::Result<ScopeList> {
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(
            "expected a list of scopes in brackets, e.g. `scopes = [\"items\"]`, or alternatives, e.g. `scopes = [\"items:read\"] | [\"admin\"]`",
        ));
    }
    let content;
    let brackets = bracketed!(content in input);
    let list = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    Ok(ScopeList { span: brackets.span.join(), entries: list.into_iter().collect() })
}

impl Parse for SecuredArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = SecuredArgs::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::scopes) {
                let key: kw::scopes = input.parse()?;
                attr::set_once(&mut args.scopes, key.span, "scopes", input, None, |input| {
                    let mut lists = vec![scope_list(input)?];
                    while input.peek(Token![|]) {
                        input.parse::<Token![|]>()?;
                        lists.push(scope_list(input)?);
                    }
                    Ok((key.span, lists))
                })?;
            } else if lookahead.peek(kw::use_cache) {
                let key: kw::use_cache = input.parse()?;
                let expected = "expected `true` or `false`, e.g. `use_cache = false`";
                attr::set_once(&mut args.use_cache, key.span, "use_cache", input, Some(expected), |input| {
                    input.parse()
                })?;
            } else if lookahead.peek(kw::declaration) {
                let key: kw::declaration = input.parse()?;
                let expected = "expected the path of a `#[derive(Scopes)]` enum, e.g. `declaration = crate::Scope`";
                attr::set_once(&mut args.declaration, key.span, "declaration", input, Some(expected), |input| {
                    input.parse()
                })?;
            } else if lookahead.peek(kw::state) {
                let key: kw::state = input.parse()?;
                let expected = "expected the app's state type, e.g. `state = AppState`";
                attr::set_once(&mut args.state, key.span, "state", input, Some(expected), |input| input.parse())?;
            } else if lookahead.peek(kw::allow) {
                let key: kw::allow = input.parse()?;
                attr::set_once(&mut args.allow, key.span, "allow", input, None, |input| {
                    Ok((key.span, RuleExpr::parse_or(input)?))
                })?;
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

/// The function `#[secured]` is on: attributes, visibility and signature parsed, the body kept
/// as tokens. The body is passed through untouched, so parsing it would only cost time, and a
/// syntax error inside it is reported by rustc where it is, as without the attribute. The
/// tokens before the body are kept as written too, so the expansion re-emits them rather than
/// printing the parsed signature back.
#[derive(Clone)]
pub(crate) struct SecuredFnItem {
    pub(crate) vis: syn::Visibility,
    pub(crate) sig: syn::Signature,
    /// Attributes, visibility and signature, as written.
    pub(crate) head: Vec<proc_macro2::TokenTree>,
    pub(crate) body: proc_macro2::Group,
}

impl Parse for SecuredFnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let begin = input.cursor();
        input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let mut head = Vec::new();
        let (mut cursor, end) = (begin, input.cursor());
        while cursor != end {
            let Some((tree, next)) = cursor.token_tree() else { break };
            head.push(tree);
            cursor = next;
        }
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body in braces"));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(Self { vis, sig, head, body })
    }
}

impl SecuredFnItem {
    /// The function as written, with `first` inserted before its first parameter.
    pub(crate) fn with_first_parameter(&self, first: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        let mut out = proc_macro2::TokenStream::new();
        let mut done = false;
        let mut after_fn = false;
        for tree in &self.head {
            match tree {
                // The first parenthesised group after `fn` is the parameter list (generics are
                // not a group, and the return type comes after it).
                proc_macro2::TokenTree::Group(group)
                    if after_fn && !done && group.delimiter() == proc_macro2::Delimiter::Parenthesis =>
                {
                    let mut params = first.clone();
                    if !group.stream().is_empty() {
                        params.extend(quote::quote!(,));
                        params.extend(group.stream());
                    }
                    let mut rewritten = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, params);
                    rewritten.set_span(group.span());
                    out.extend([proc_macro2::TokenTree::Group(rewritten)]);
                    done = true;
                }
                proc_macro2::TokenTree::Ident(ident) if ident == "fn" => {
                    after_fn = true;
                    out.extend([tree.clone()]);
                }
                other => out.extend([other.clone()]),
            }
        }
        out.extend([proc_macro2::TokenTree::Group(self.body.clone())]);
        out
    }
}

impl SecuredFnItem {
    /// The function with its parameters replaced by `params` (the signature's, rewritten).
    pub(crate) fn with_params(&self, sig: syn::Signature) -> Self {
        let params = quote::ToTokens::to_token_stream(&sig.inputs);
        let mut head = Vec::with_capacity(self.head.len());
        let (mut after_fn, mut done) = (false, false);
        for tree in &self.head {
            match tree {
                proc_macro2::TokenTree::Group(group)
                    if after_fn && !done && group.delimiter() == proc_macro2::Delimiter::Parenthesis =>
                {
                    let mut rewritten = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, params.clone());
                    rewritten.set_span(group.span());
                    head.push(proc_macro2::TokenTree::Group(rewritten));
                    done = true;
                }
                proc_macro2::TokenTree::Ident(ident) if ident == "fn" => {
                    after_fn = true;
                    head.push(tree.clone());
                }
                other => head.push(other.clone()),
            }
        }
        Self { vis: self.vis.clone(), sig, head, body: self.body.clone() }
    }
}

impl quote::ToTokens for SecuredFnItem {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        tokens.extend(self.head.iter().cloned());
        self.body.to_tokens(tokens);
    }
}
