//! The common `#[secured]` expanded without syn: `#[secured]` or `#[secured(scopes = ["a",
//! "b"], use_cache = false)]` on a plain `async fn` (or `fn`) whose parameters are paths.
//!
//! The proc macro runs unoptimised in a user's debug build, once per function, so its own cost
//! is a good part of what `#[secured]` costs the compiler: syn's parse of the signature and
//! `quote!`'s output made up most of it. Here the function is read as token trees, and the
//! generated items are written as text, lexed here into tokens at the call site (as `quote!`
//! makes them), with the user's own tokens (types, scope literals, the name) spliced in, so
//! every error still points where it did.
//!
//! A function that returns no `impl Trait` goes further: the proc macro writes only an
//! invocation of `auth_core::__secured!` with the pieces that vary (the user's tokens, a few
//! names), and that `macro_rules!` matcher, expanded by rustc's own (optimised) expander,
//! writes the same items. Every token handed back across the proc-macro bridge costs about
//! 2 K instructions in an unoptimised proc macro; this hands back about a third of them.
//!
//! Anything else (another argument, scope alternatives, a generic or `const` function, a
//! receiver, `impl Trait` parameters, a literal that is no scope-token, a credential tuple, a
//! `WebSocketUpgrade`, a return type in parentheses) returns `None`, and the full path in
//! `expand.rs` handles it, with its validation and errors. The items of both do the same (the
//! matcher writes `$crate::__private` paths, leaves out `SCOPES` when there are none, and names
//! a single declared scope through `ScopeAt`).

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::attr::is_scope_token;

/// Extractors that carry no credential, by their last path segment (as `expand::SILENT`).
const SILENT: &[&str] =
    &["State", "SecurityScopes", "Extension", "Path", "Query", "HeaderMap", "Method", "Uri", "ConnectInfo"];

/// The expansion, or `None` for anything but the common case.
pub(crate) fn try_expand(args: &TokenStream, item: &TokenStream) -> Option<TokenStream> {
    let args = Args::parse(args)?;
    let function = Function::parse(item)?;
    match &function.returns {
        Some(returns) if mentions(returns, "impl") => Some(expand(&args, &function)),
        _ => Some(invoke(&args, &function)),
    }
}

/// The common function as an invocation of `auth_core::__secured!`, which writes the same
/// items as [`expand`] (and the full path) from the pieces that vary: the tokens handed across
/// the proc-macro bridge, which cost more per token than rustc's own expander, are about a
/// third of the items'. Each piece keeps the span the items give it.
fn invoke(args: &Args, function: &Function) -> TokenStream {
    let mut input = Out::default();
    input.tree(TokenTree::Literal(Literal::string(&format!(
        "The `#[secured]` function `{0}` as a type: write `Depends<{0}>` to depend on it.",
        function.name
    ))));
    let mut vis = Out::default();
    vis.trees(&function.vis);
    input.group(Delimiter::Bracket, None, vis).tree(TokenTree::Ident(function.name.clone()));

    // The scopes: the declaration's name, at the `scopes` key, and the list as written.
    let mut scopes = Out::default();
    if let Some((key, literals, list)) = &args.scopes {
        scopes.tree(TokenTree::Ident(Ident::new("Scope", Span::call_site().located_at(*key))));
        if list.stream().into_iter().last().is_some_and(|last| is_punct(Some(&last), ',')) {
            let mut rebuilt = Out::default();
            for (i, literal) in literals.iter().enumerate() {
                if i > 0 {
                    rebuilt.text(",");
                }
                rebuilt.tree(TokenTree::Literal(literal.clone()));
            }
            scopes.group(Delimiter::Bracket, None, rebuilt);
        } else {
            scopes.tree(TokenTree::Group(list.clone()));
        }
    }
    input.group(Delimiter::Bracket, None, scopes);

    // The aliases, the `Dependencies` tuple, the other parameters.
    let mut aliases = Out::default();
    let mut dependencies = Out::default();
    let mut others = Out::default();
    let mut first = None;
    let mut count = 0usize;
    for ty in &function.tys {
        match classify(ty).expect("checked by the caller") {
            Param::Dependency => {
                match dependency_path(ty) {
                    Some(path) if count < super::expand::ALIASES => {
                        let span = path[0].span();
                        first.get_or_insert(span);
                        let alias = TokenTree::Ident(Ident::new(
                            &format!("__auth_dep{count}"),
                            Span::call_site().located_at(span),
                        ));
                        let mut written = Out::default();
                        written.trees(path);
                        aliases.made(&format!("d{count}")).tree(alias.clone()).group(Delimiter::Brace, None, written);
                        aliased(&mut dependencies, ty, &alias);
                        count += 1;
                    }
                    _ => {
                        dependencies.trees(ty);
                    }
                }
                dependencies.text(",");
            }
            Param::Silent => {}
            Param::Other => {
                let mut other = Out::default();
                other.trees(ty);
                others.group(Delimiter::Brace, None, other);
            }
        }
    }
    input.group(Delimiter::Bracket, None, aliases);
    input.group(Delimiter::Parenthesis, first, dependencies);
    input.group(Delimiter::Bracket, None, others);

    // `Args`, `Returns`, `Finish`, `Cache`, and how `call` calls the function.
    let mut args_tuple = Out::default();
    for ty in &function.tys {
        args_tuple.trees(ty).text(",");
    }
    input.group(Delimiter::Parenthesis, None, args_tuple);
    let mut returns = Out::default();
    returns.trees(&function.output);
    let finish = match &function.returns {
        None => Ident::new("PlainFinish", Span::call_site()),
        Some(ty) => {
            if last_segment(ty).is_some_and(|(last, _)| last == "Result") {
                Ident::new("ResultFinish", ty[0].span())
            } else {
                Ident::new("PlainFinish", Span::call_site())
            }
        }
    };
    input.group(Delimiter::Bracket, None, returns).tree(TokenTree::Ident(finish));
    input.tree(TokenTree::Ident(Ident::new(if args.use_cache { "Cached" } else { "NotCached" }, Span::call_site())));
    let mut ready = Out::default();
    if !function.is_async {
        ready.text("ready");
    }
    input.group(Delimiter::Bracket, None, ready);
    let mut fields = Out::default();
    for i in 0..function.tys.len() {
        fields.tree(TokenTree::Literal(Literal::usize_unsuffixed(i)));
    }
    input.group(Delimiter::Bracket, None, fields);

    // The function, in pieces: before the parameters, the parameters, the output, the body.
    let mut before = Out::default();
    before.trees(&function.before);
    input.group(Delimiter::Brace, None, before);
    input.tree(TokenTree::Group(function.params.clone()));
    input.tree(function.body.clone());

    let mut out = Out::default();
    out.text("::auth_core::__secured!").group(Delimiter::Brace, None, input);
    out.0
}

/// `scopes = [...]` (its key and literals) and `use_cache`.
struct Args {
    /// The `scopes` key's span, the literals, and the list as written.
    scopes: Option<(Span, Vec<Literal>, Group)>,
    use_cache: bool,
}

impl Args {
    fn parse(args: &TokenStream) -> Option<Self> {
        let trees: Vec<TokenTree> = args.clone().into_iter().collect();
        let mut parsed = Args { scopes: None, use_cache: true };
        let mut seen_cache = false;
        let mut i = 0;
        while i < trees.len() {
            let TokenTree::Ident(key) = &trees[i] else { return None };
            if !is_punct(trees.get(i + 1), '=') {
                return None;
            }
            if key == "scopes" && parsed.scopes.is_none() {
                let TokenTree::Group(list) = trees.get(i + 2)? else { return None };
                if list.delimiter() != Delimiter::Bracket {
                    return None;
                }
                parsed.scopes = Some((key.span(), scope_literals(list.stream())?, list.clone()));
            } else if key == "use_cache" && !seen_cache {
                let TokenTree::Ident(value) = trees.get(i + 2)? else { return None };
                parsed.use_cache = match value.to_string().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                };
                seen_cache = true;
            } else {
                return None;
            }
            i += 3;
            match trees.get(i) {
                None => {}
                Some(tree) if is_punct(Some(tree), ',') => i += 1,
                Some(_) => return None,
            }
        }
        Some(parsed)
    }
}

/// The literals of `["a", "b"]`: plain string literals of distinct, well-formed scope-tokens
/// (no escapes: a scope-token has no `"` or `\`), at least one.
fn scope_literals(list: TokenStream) -> Option<Vec<Literal>> {
    let mut literals = Vec::new();
    let mut values: Vec<String> = Vec::new();
    let mut expect_literal = true;
    for tree in list {
        match tree {
            TokenTree::Literal(literal) if expect_literal => {
                let text = literal.to_string();
                let value = text.strip_prefix('"')?.strip_suffix('"')?;
                if !is_scope_token(value) || values.iter().any(|seen| seen == value) {
                    return None;
                }
                values.push(value.to_owned());
                literals.push(literal);
                expect_literal = false;
            }
            TokenTree::Punct(punct) if !expect_literal && punct.as_char() == ',' => expect_literal = true,
            _ => return None,
        }
    }
    (!literals.is_empty()).then_some(literals)
}

/// The function, as token trees: what comes before the parameters, the parameters, the return
/// type, and the body.
struct Function {
    /// Attributes, visibility, `async`, `fn`, the name.
    before: Vec<TokenTree>,
    vis: Vec<TokenTree>,
    name: Ident,
    is_async: bool,
    params: Group,
    /// Each parameter's type.
    tys: Vec<Vec<TokenTree>>,
    /// `-> …`, as written, and the type.
    output: Vec<TokenTree>,
    returns: Option<Vec<TokenTree>>,
    body: TokenTree,
}

impl Function {
    fn parse(item: &TokenStream) -> Option<Self> {
        let trees: Vec<TokenTree> = item.clone().into_iter().collect();
        let mut i = 0;
        // Outer attributes.
        while is_punct(trees.get(i), '#') {
            match trees.get(i + 1) {
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => i += 2,
                _ => return None,
            }
        }
        let vis_start = i;
        if is_ident(trees.get(i), "pub") {
            i += 1;
            if let Some(TokenTree::Group(group)) = trees.get(i)
                && group.delimiter() == Delimiter::Parenthesis
            {
                i += 1;
            }
        }
        let vis = trees[vis_start..i].to_vec();
        let is_async = is_ident(trees.get(i), "async");
        if is_async {
            i += 1;
        }
        if !is_ident(trees.get(i), "fn") {
            return None;
        }
        let TokenTree::Ident(name) = trees.get(i + 1)? else { return None };
        let TokenTree::Group(params) = trees.get(i + 2)? else { return None };
        if params.delimiter() != Delimiter::Parenthesis {
            return None;
        }
        let before = trees[..i + 2].to_vec();
        let rest = &trees[i + 3..];
        let (body, signature_rest) = rest.split_last()?;
        match body {
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {}
            _ => return None,
        }
        let returns = match signature_rest {
            [] => None,
            [TokenTree::Punct(dash), TokenTree::Punct(gt), ty @ ..]
                if dash.as_char() == '-'
                    && dash.spacing() == Spacing::Joint
                    && gt.as_char() == '>'
                    && !ty.is_empty() =>
            {
                if ty.iter().any(|tree| is_ident(Some(tree), "where")) || matches!(ty[0], TokenTree::Group(_)) {
                    return None;
                }
                Some(ty.to_vec())
            }
            _ => return None,
        };
        let mut tys = Vec::new();
        for param in split_top_level(params.stream()) {
            let colon = param_colon(&param)?;
            let (pattern, ty) = (&param[..colon], &param[colon + 1..]);
            if ty.is_empty() || pattern.iter().any(|tree| is_ident(Some(tree), "self")) || mentions(ty, "impl") {
                return None;
            }
            classify(ty)?;
            tys.push(ty.to_vec());
        }
        Some(Function {
            before,
            vis,
            name: name.clone(),
            is_async,
            params: params.clone(),
            tys,
            output: signature_rest.to_vec(),
            returns,
            body: body.clone(),
        })
    }
}

fn is_punct(tree: Option<&TokenTree>, ch: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(punct)) if punct.as_char() == ch)
}

fn is_ident(tree: Option<&TokenTree>, name: &str) -> bool {
    matches!(tree, Some(TokenTree::Ident(ident)) if ident == name)
}

/// Whether the ident `name` is among the tokens, at any depth.
fn mentions(trees: &[TokenTree], name: &str) -> bool {
    trees.iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(&group.stream().into_iter().collect::<Vec<_>>(), name),
        _ => false,
    })
}

/// The parameters, split at the commas outside `<…>` (`->` is no closing bracket).
fn split_top_level(stream: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut params = vec![Vec::new()];
    let mut depth = 0usize;
    let mut after_dash = false;
    for tree in stream {
        if let TokenTree::Punct(punct) = &tree {
            match punct.as_char() {
                '<' => depth += 1,
                '>' if !after_dash => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    params.push(Vec::new());
                    after_dash = false;
                    continue;
                }
                _ => {}
            }
            after_dash = punct.as_char() == '-' && punct.spacing() == Spacing::Joint;
        } else {
            after_dash = false;
        }
        params.last_mut().expect("one at least").push(tree);
    }
    if params.last().is_some_and(Vec::is_empty) {
        params.pop();
    }
    params
}

/// The `:` between a parameter's pattern and its type (not one of a `::`).
fn param_colon(param: &[TokenTree]) -> Option<usize> {
    let mut i = 0;
    while i < param.len() {
        if let TokenTree::Punct(punct) = &param[i]
            && punct.as_char() == ':'
        {
            if punct.spacing() == Spacing::Joint && is_punct(param.get(i + 1), ':') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A path type's last segment and the tokens inside its `<…>`, if the tokens are a plain path
/// (`a::b::C` or `a::b::C<…>`).
fn last_segment(ty: &[TokenTree]) -> Option<(&Ident, Option<&[TokenTree]>)> {
    let open = ty.iter().position(|tree| is_punct(Some(tree), '<'));
    let path = &ty[..open.unwrap_or(ty.len())];
    let TokenTree::Ident(last) = path.last()? else { return None };
    if !path.iter().all(|tree| matches!(tree, TokenTree::Ident(_)) || is_punct(Some(tree), ':')) {
        return None;
    }
    match open {
        None => Some((last, None)),
        Some(open) if ty.len() >= open + 2 && is_punct(ty.last(), '>') => {
            Some((last, Some(&ty[open + 1..ty.len() - 1])))
        }
        Some(_) => None,
    }
}

/// What a parameter is to the walk (as `expand::classify`), or `None` for a parameter the full
/// path handles (a credential tuple, a `WebSocketUpgrade`).
#[derive(PartialEq)]
enum Param {
    Dependency,
    Silent,
    Other,
}

fn classify(ty: &[TokenTree]) -> Option<Param> {
    let Some((last, inner)) = last_segment(ty) else {
        return (!mentions(ty, "Depends")).then_some(Param::Other);
    };
    if last == "Depends" {
        return inner.map(|_| Param::Dependency);
    }
    if last == "WebSocketUpgrade"
        || last == "Authenticated" && inner.is_some_and(|inner| matches!(inner, [TokenTree::Group(_)]))
    {
        return None;
    }
    if last == "Option" {
        let inner = inner?;
        return match classify(inner)? {
            Param::Dependency => Some(Param::Dependency),
            _ if mentions(inner, "Authenticated") || mentions(inner, "Depends") => None,
            _ => Some(Param::Other),
        };
    }
    // `Authorized<…>` is rewritten by the full path, with the handler's `allow`.
    if mentions(ty, "Depends") || mentions(ty, "Authorized") {
        return None;
    }
    Some(if SILENT.iter().any(|name| last == name) { Param::Silent } else { Param::Other })
}

/// In `Depends<path>` or `Option<Depends<path>>`, the plain `path` (no generic arguments).
fn dependency_path(ty: &[TokenTree]) -> Option<&[TokenTree]> {
    let (last, inner) = last_segment(ty)?;
    let inner = inner?;
    if last == "Option" {
        return dependency_path(inner);
    }
    let plain = !inner.is_empty()
        && inner.iter().all(|tree| matches!(tree, TokenTree::Ident(_)) || is_punct(Some(tree), ':'))
        && matches!(inner.last(), Some(TokenTree::Ident(_)));
    (last == "Depends" && plain).then_some(inner)
}

/// Output: text lexed by the compiler, and token trees spliced in.
#[derive(Default)]
struct Out(TokenStream);

impl Out {
    /// Generated text that is the same on every call: lexed once per compiler process (see
    /// [`lexed`]).
    fn text(&mut self, text: &'static str) -> &mut Self {
        lexed(text, |toks| self.0.extend(toks.iter().map(Tok::tree)));
        self
    }

    /// Generated text made for this call.
    fn made(&mut self, text: &str) -> &mut Self {
        self.0.extend(lex(text).iter().map(Tok::tree));
        self
    }

    fn trees<'a>(&mut self, trees: impl IntoIterator<Item = &'a TokenTree>) -> &mut Self {
        self.0.extend(trees.into_iter().cloned());
        self
    }

    fn tree(&mut self, tree: TokenTree) -> &mut Self {
        self.0.extend([tree]);
        self
    }

    fn group(&mut self, delimiter: Delimiter, span: Option<Span>, inner: Out) -> &mut Self {
        let mut group = Group::new(delimiter, inner.0);
        if let Some(span) = span {
            group.set_span(span);
        }
        self.tree(TokenTree::Group(group))
    }
}

/// A lexed token of the generated text, kept between calls (a `TokenTree` is only valid in the
/// call that made it).
enum Tok {
    Ident(Box<str>),
    Punct(char, Spacing),
    Group(Delimiter, Vec<Tok>),
}

impl Tok {
    /// The token, at the call site.
    fn tree(&self) -> TokenTree {
        match self {
            Tok::Ident(name) => TokenTree::Ident(Ident::new(name, Span::call_site())),
            Tok::Punct(ch, spacing) => TokenTree::Punct(Punct::new(*ch, *spacing)),
            Tok::Group(delimiter, toks) => {
                TokenTree::Group(Group::new(*delimiter, toks.iter().map(Tok::tree).collect()))
            }
        }
    }
}

/// `f` applied to the lexed `text`. The proc macro stays loaded for the whole compilation and
/// runs once per `#[secured]` function, unoptimised in a debug build: each constant piece of
/// text is lexed on its first use only, and found again by its address.
fn lexed(text: &'static str, f: impl FnOnce(&[Tok])) {
    /// Each piece's address and length, and its tokens.
    type Table = Vec<(usize, usize, std::rc::Rc<[Tok]>)>;
    thread_local! {
        static LEXED: std::cell::RefCell<Table> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (text.as_ptr() as usize, text.len());
    let found = LEXED
        .with_borrow(|lexed| lexed.iter().find(|(ptr, len, _)| (*ptr, *len) == key).map(|(_, _, toks)| toks.clone()));
    let toks = found.unwrap_or_else(|| {
        let toks: std::rc::Rc<[Tok]> = lex(text).into();
        LEXED.with_borrow_mut(|lexed| lexed.push((key.0, key.1, toks.clone())));
        toks
    });
    f(&toks);
}

/// The generated text as tokens, as `quote!` writes them: lexed here rather than by the
/// compiler, whose `TokenStream::from_str` makes a source file of every piece. Only what the
/// text here holds: identifiers, punctuation and balanced delimiters.
fn lex(text: &str) -> Vec<Tok> {
    fn is_punct_char(c: u8) -> bool {
        b"#!:;,.=&<>+-*/|?@$%^~".contains(&c)
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<(Delimiter, Vec<Tok>)> = vec![(Delimiter::None, Vec::new())];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            stack.last_mut().expect("balanced").1.push(Tok::Ident(text[start..i].into()));
        } else {
            i += 1;
            let delimiter = match c {
                b'(' => Some(Delimiter::Parenthesis),
                b'[' => Some(Delimiter::Bracket),
                b'{' => Some(Delimiter::Brace),
                _ => None,
            };
            if let Some(delimiter) = delimiter {
                stack.push((delimiter, Vec::new()));
            } else if matches!(c, b')' | b']' | b'}') {
                let (delimiter, toks) = stack.pop().expect("balanced");
                stack.last_mut().expect("balanced").1.push(Tok::Group(delimiter, toks));
            } else {
                let joint = bytes.get(i).is_some_and(|&next| is_punct_char(next));
                let spacing = if joint { Spacing::Joint } else { Spacing::Alone };
                stack.last_mut().expect("balanced").1.push(Tok::Punct(c as char, spacing));
            }
        }
    }
    stack.pop().expect("balanced").1
}

fn expand(args: &Args, function: &Function) -> TokenStream {
    let name = TokenTree::Ident(function.name.clone());
    let p = "__auth_private";
    let mut out = Out::default();

    // The marker.
    let doc = Literal::string(&format!(
        "The `#[secured]` function `{0}` as a type: write `Depends<{0}>` to depend on it.",
        function.name
    ));
    let mut doc_attr = Out::default();
    doc_attr.text("doc =").tree(TokenTree::Literal(doc));
    out.text("#").group(Delimiter::Bracket, None, doc_attr).text("#[allow(non_camel_case_types)]");
    out.trees(&function.vis).text("struct").tree(name.clone()).text("{}");

    // The block.
    let mut block = Out::default();
    block.text("use ::auth_core::__private as __auth_private;");
    let mut imports = Out::default();
    let mut dependencies = Out::default();
    let mut describe = Out::default();
    let mut first = None;
    let mut aliases = 0usize;
    for ty in &function.tys {
        match classify(ty).expect("checked by the caller") {
            Param::Dependency => {
                match dependency_path(ty) {
                    Some(path) if aliases < super::expand::ALIASES => {
                        let span = path[0].span();
                        first.get_or_insert(span);
                        let alias = TokenTree::Ident(Ident::new(
                            &format!("__auth_dep{aliases}"),
                            Span::call_site().located_at(span),
                        ));
                        block.text("use ::auth_core::__private::fallback::").made(&format!("d{aliases}")).text("::*;");
                        imports.text("use").trees(path).text("as").tree(alias.clone()).text(";");
                        aliased(&mut dependencies, ty, &alias);
                        aliases += 1;
                    }
                    _ => {
                        dependencies.trees(ty);
                    }
                }
                dependencies.text(",");
            }
            Param::Silent => {}
            Param::Other => {
                let mut probe = Out::default();
                probe.text("&__auth_private::Probe::<").trees(ty).text(">::new()");
                describe.group(Delimiter::Parenthesis, None, probe).text(".describe(walk);");
            }
        }
    }

    block.0.extend(imports.0);

    // The `SecuredFn` items.
    let mut secured = Out::default();
    secured.text("const SCOPES: __auth_private::RequiredScopes =");
    match &args.scopes {
        None => {
            secured.text("__auth_private::RequiredScopes::NONE");
        }
        Some((key, literals, _)) => {
            let scope = TokenTree::Ident(Ident::new("Scope", Span::call_site().located_at(*key)));
            let mut list = Out::default();
            for (i, literal) in literals.iter().enumerate() {
                if i > 0 {
                    list.text(",");
                }
                list.tree(TokenTree::Literal(literal.clone()));
            }
            let mut lists = Out::default();
            lists.group(Delimiter::Bracket, None, list);
            let mut call = Out::default();
            call.text("scopes:").tree(scope.clone()).text(", [::auth_core],").group(Delimiter::Bracket, None, lists);
            secured.tree(scope).text("!").group(Delimiter::Brace, None, call);
        }
    }
    secured.text("; type Dependencies =").group(Delimiter::Parenthesis, first, dependencies).text(";");
    if !describe.0.is_empty() {
        let mut body = Out::default();
        body.text("use __auth_private::{ViaDescribe as _, ViaNothing as _};");
        body.0.extend(describe.0);
        secured.text("fn describe(walk: &mut __auth_private::Walk)").group(Delimiter::Brace, None, body);
    }

    // `DependencyFn` with the `SecuredFn` items, or, for a function returning `impl Trait`,
    // `SecuredFn` and `HandlerParams`.
    let mut args_tuple = Out::default();
    for ty in &function.tys {
        args_tuple.trees(ty).text(",");
    }
    match &function.returns {
        Some(returns) if mentions(returns, "impl") => {
            block.text("#[automatically_derived] impl __auth_private::SecuredFn for").tree(name.clone()).group(
                Delimiter::Brace,
                None,
                secured,
            );
            block
                .text("#[automatically_derived] impl<S, M> __auth_private::HandlerParams<S, M> for")
                .tree(name.clone())
                .text("where")
                .group(Delimiter::Parenthesis, None, args_tuple)
                .text(": __auth_private::HandlerArgs<S, M> {}");
        }
        returns => {
            let mut dependency = secured;
            dependency.text("type Args =").group(Delimiter::Parenthesis, None, args_tuple).text("; type Returns =");
            match returns {
                None => {
                    dependency.text("(); type Finish = __auth_private::PlainFinish;");
                }
                Some(returns) => {
                    dependency.trees(returns).text("; type Finish =");
                    if last_segment(returns).is_some_and(|(last, _)| last == "Result") {
                        let span = returns[0].span();
                        dependency
                            .tree(TokenTree::Ident(Ident::new(p, Span::call_site().located_at(span))))
                            .text("::")
                            .tree(TokenTree::Ident(Ident::new("ResultFinish", span)))
                            .text(";");
                    } else {
                        dependency.text("__auth_private::PlainFinish;");
                    }
                }
            }
            dependency.text(if args.use_cache {
                "type Cache = __auth_private::Cached;"
            } else {
                "type Cache = __auth_private::NotCached;"
            });
            let vars: Vec<String> = (0..function.tys.len()).map(|i| format!("__auth_arg{i}")).collect();
            let mut call = Out::default();
            call.tree(name.clone());
            let mut call_args = Out::default();
            call_args.text("__auth_private::Enter::nested(),");
            for (i, var) in vars.iter().enumerate() {
                if i > 0 {
                    call_args.text(",");
                }
                call_args.made(var);
            }
            call.group(Delimiter::Parenthesis, None, call_args);
            if !function.is_async {
                let mut ready = Out::default();
                ready.text("__auth_private::core::future::ready").group(Delimiter::Parenthesis, None, call);
                call = ready;
            }
            let mut pattern = Out::default();
            for var in &vars {
                pattern.made(var).text(",");
            }
            let mut param = Out::default();
            param.group(Delimiter::Parenthesis, None, pattern).text(": Self::Args");
            dependency.text("fn call").group(Delimiter::Parenthesis, None, param);
            dependency.text("-> impl __auth_private::Future<Output = Self::Returns> + __auth_private::Send");
            dependency.group(Delimiter::Brace, None, call);
            block.text("#[automatically_derived] impl __auth_private::DependencyFn for").tree(name.clone()).group(
                Delimiter::Brace,
                None,
                dependency,
            );
        }
    }
    out.text("#[allow(unused_imports)] const _: () =").group(Delimiter::Brace, None, block).text(";");

    // The function, with `Enter<name>` first.
    out.trees(&function.before);
    let mut params = Out::default();
    params.text("_: ::auth_core::__private::Enter<").tree(name).text(">");
    let written = function.params.stream();
    if !written.is_empty() {
        params.text(",");
        params.0.extend(written);
    }
    out.group(Delimiter::Parenthesis, Some(function.params.span()), params);
    out.trees(&function.output).tree(function.body.clone());
    out.0
}

/// `ty` (`Depends<path>` or `Option<Depends<path>>`) with `path` replaced by `alias`.
fn aliased(out: &mut Out, ty: &[TokenTree], alias: &TokenTree) {
    let open = ty.iter().position(|tree| is_punct(Some(tree), '<')).expect("a dependency has arguments");
    let (last, inner) = last_segment(ty).expect("a dependency is a path");
    out.trees(&ty[..=open]);
    if last == "Option" {
        aliased(out, inner.expect("checked"), alias);
    } else {
        out.tree(alias.clone());
    }
    out.trees(&ty[ty.len() - 1..]);
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;

    /// The tokens, flattened, without their spacing (`>,` as written and `> ,` as printed by
    /// syn are the same two tokens).
    fn flat(stream: TokenStream, out: &mut Vec<String>) {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Group(group) => {
                    out.push(format!("{:?}(", group.delimiter()));
                    flat(group.stream(), out);
                    out.push(")".to_owned());
                }
                proc_macro2::TokenTree::Punct(punct) => out.push(punct.as_char().to_string()),
                other => out.push(other.to_string()),
            }
        }
    }

    /// The fast path's output is the full path's, token for token.
    fn same(args: &str, item: &str) {
        let args: TokenStream = args.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        let (mut fast, mut full) = (Vec::new(), Vec::new());
        flat(super::try_expand(&args, &item).expect("the fast path takes it"), &mut fast);
        flat(super::super::expand_full(args, item), &mut full);
        assert_eq!(fast.join(" "), full.join(" "));
    }

    /// The fast path leaves it to the full path.
    fn declined(args: &str, item: &str) {
        let args: TokenStream = args.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        assert!(super::try_expand(&args, &item).is_none(), "{args} {item}");
    }

    /// The fast path's output, flattened.
    fn fast(args: &str, item: &str) -> String {
        let mut out = Vec::new();
        flat(
            super::try_expand(&args.parse().unwrap(), &item.parse().unwrap()).expect("the fast path takes it"),
            &mut out,
        );
        out.join(" ")
    }

    /// A function returning `impl Trait` is expanded here as by the full path, token for token.
    #[test]
    fn same_output_as_the_full_path() {
        same("", "async fn returns_impl(Depends(user): Depends<current_user>) -> impl IntoResponse { user }");
        same(
            "",
            "async fn fallible(Depends(user): Depends<current_user>) -> Result<impl IntoResponse, AuthError> { Ok(user) }",
        );
    }

    /// Every other function is handed to `auth_core::__secured!` in pieces (the matcher there
    /// writes the items the full path writes; the UI and integration tests compile it).
    #[test]
    fn the_common_function_is_an_invocation_of_the_matcher() {
        let head = ": : auth_core : : __secured ! Brace(";
        assert_eq!(
            fast("", "async fn f() -> String { String::new() }"),
            format!(
                "{head} \"The `#[secured]` function `f` as a type: write `Depends<f>` to depend on it.\" Bracket( ) f \
                 Bracket( ) Bracket( ) Parenthesis( ) Bracket( ) Parenthesis( ) Bracket( - > String ) PlainFinish Cached \
                 Bracket( ) Bracket( ) Brace( async fn f ) Parenthesis( ) Brace( String : : new Parenthesis( ) ) )"
            )
        );
        assert_eq!(
            fast(
                r#"scopes = ["me", "items",]"#,
                "pub async fn current_user(State(app): State<AppState>, Depends(u): Depends<crate::other>, Authenticated(claims): Authenticated<Claims>) -> Result<User, AuthError> { todo!() }",
            ),
            format!(
                "{head} \"The `#[secured]` function `current_user` as a type: write `Depends<current_user>` to depend on it.\" \
                 Bracket( pub ) current_user Bracket( Scope Bracket( \"me\" , \"items\" ) ) \
                 Bracket( d0 __auth_dep0 Brace( crate : : other ) ) Parenthesis( Depends < __auth_dep0 > , ) \
                 Bracket( Brace( Authenticated < Claims > ) ) \
                 Parenthesis( State < AppState > , Depends < crate : : other > , Authenticated < Claims > , ) \
                 Bracket( - > Result < User , AuthError > ) ResultFinish Cached Bracket( ) Bracket( 0 1 2 ) \
                 Brace( pub async fn current_user ) \
                 Parenthesis( State Parenthesis( app ) : State < AppState > , Depends Parenthesis( u ) : Depends < crate : : other > , Authenticated Parenthesis( claims ) : Authenticated < Claims > ) \
                 Brace( todo ! Parenthesis( ) ) )"
            )
        );
        assert_eq!(
            fast(r#"scopes = ["a"], use_cache = false"#, "fn sync(x: Option<Depends<d>>) {}"),
            format!(
                "{head} \"The `#[secured]` function `sync` as a type: write `Depends<sync>` to depend on it.\" Bracket( ) sync \
                 Bracket( Scope Bracket( \"a\" ) ) Bracket( d0 __auth_dep0 Brace( d ) ) Parenthesis( Option < Depends < __auth_dep0 > > , ) \
                 Bracket( ) Parenthesis( Option < Depends < d > > , ) Bracket( ) PlainFinish NotCached Bracket( ready ) \
                 Bracket( 0 ) Brace( fn sync ) Parenthesis( x : Option < Depends < d > > ) Brace( ) )"
            )
        );
    }

    #[test]
    fn unusual_functions_take_the_full_path() {
        declined(r#"scopes = ["a"] | ["b"]"#, "async fn f() {}");
        declined(r#"scopes = ["a", "a"]"#, "async fn f() {}");
        declined(r#"scopes = ["bad scope"]"#, "async fn f() {}");
        declined(r#"scopes = [SCOPE]"#, "async fn f() {}");
        declined(r#"scopes = []"#, "async fn f() {}");
        declined("state = AppState", "async fn f() {}");
        declined("declaration = crate::Scope", "async fn f() {}");
        declined(r#"crate = "::auth_core""#, "async fn f() {}");
        declined("", "async fn f<T>(x: T) {}");
        declined("", "const fn f() {}");
        declined("", "async fn f(&self) {}");
        declined("", "async fn f(x: impl Send) {}");
        declined("", "async fn f(ws: WebSocketUpgrade) {}");
        declined("", "async fn f(user: Authenticated<(ApiKey, Claims)>) {}");
        declined("", "async fn f() -> (u8) { 1 }");
        declined("", "async fn f() -> u8 where u8: Send { 1 }");
        declined("", "struct S;");
    }
}
