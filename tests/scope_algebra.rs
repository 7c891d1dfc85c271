//! Property tests for the scope algebra and the two parsers every request meets first.
//!
//! - Accumulation along random dependency trees matches a straightforward model of FastAPI's
//!   rule (outermost first, each link's own scopes after its dependents', duplicates dropped,
//!   the first kept), and a node's scopes depend only on its ancestors.
//! - `scope_str` round-trips; `missing` is empty exactly when the granted set covers the required
//!   one; `is_scope_token` is RFC 6749's character class.
//! - `authorization_credentials` and `OAuth2PasswordRequestForm::parse` never panic on arbitrary
//!   bytes and accept only what they document.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Mutex, OnceLock},
};

use auth_core::{
    __private::{authorization_credentials, is_scope_token},
    AuthError, OAuth2PasswordRequestForm, SecurityScopes,
};
use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use proptest::prelude::*;

/// The scopes the trees draw from: few, so that duplicates along a path are common.
const ALPHABET: &[&str] = &["a", "b", "c", "me", "items", "read:user", "x/y"];

/// A `&'static str` for a generated scope; each distinct string is leaked once.
fn intern(scope: &str) -> &'static str {
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut interned = INTERNED.get_or_init(Default::default).lock().unwrap();
    match interned.get(scope) {
        Some(scope) => scope,
        None => {
            let leaked: &'static str = Box::leak(scope.to_owned().into_boxed_str());
            interned.insert(leaked);
            leaked
        }
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
const SCOPE_TOKEN_REGEX: &str = "[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,12}";

fn scope_token() -> impl Strategy<Value = &'static str> {
    SCOPE_TOKEN_REGEX.prop_map(|scope| intern(&scope))
}

// ---------------------------------------------------------------------------------------------
// Dependency trees
// ---------------------------------------------------------------------------------------------

/// A handler (the root) or a dependency: the scopes its `#[secured]` declares, and what it
/// depends on.
#[derive(Clone, Debug)]
struct Node {
    scopes: Vec<&'static str>,
    children: Vec<Node>,
}

fn link_scopes() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..4)
}

fn tree() -> impl Strategy<Value = Node> {
    let leaf = link_scopes().prop_map(|scopes| Node { scopes, children: Vec::new() });
    leaf.prop_recursive(5, 48, 4, |inner| {
        (link_scopes(), prop::collection::vec(inner, 0..4)).prop_map(|(scopes, children)| Node { scopes, children })
    })
}

/// A node's place: the child indices from the root.
type NodeId = Vec<usize>;

/// The reference model: concatenate the scope lists from the root down to the node, and keep
/// the first occurrence of each scope.
fn reference(path: &[&[&'static str]]) -> Vec<&'static str> {
    let mut seen = HashSet::new();
    path.iter().flat_map(|link| link.iter().copied()).filter(|scope| seen.insert(*scope)).collect()
}

/// Every node's root-to-node list of declared scopes, by id.
fn paths(node: &Node) -> BTreeMap<NodeId, Vec<&[&'static str]>> {
    fn walk<'n>(
        node: &'n Node,
        id: &mut NodeId,
        path: &mut Vec<&'n [&'static str]>,
        out: &mut BTreeMap<NodeId, Vec<&'n [&'static str]>>,
    ) {
        path.push(&node.scopes);
        out.insert(id.clone(), path.clone());
        for (index, child) in node.children.iter().enumerate() {
            id.push(index);
            walk(child, id, path, out);
            id.pop();
        }
        path.pop();
    }
    let mut out = BTreeMap::new();
    walk(node, &mut Vec::new(), &mut Vec::new(), &mut out);
    out
}

/// The library's view: one depth-first pass, as a request resolves its dependencies. Each node
/// sets the chain's scopes to `outer.with(own)` while it (and its dependencies) run, and the
/// outer value is restored when it returns, so siblings run one after another on one value.
fn library_sets(root: &Node) -> BTreeMap<NodeId, SecurityScopes> {
    fn walk(node: &Node, current: &mut SecurityScopes, id: &mut NodeId, out: &mut BTreeMap<NodeId, SecurityScopes>) {
        let outer = current.clone();
        *current = outer.with(&node.scopes);
        out.insert(id.clone(), current.clone());
        for (index, child) in node.children.iter().enumerate() {
            id.push(index);
            walk(child, current, id, out);
            id.pop();
        }
        *current = outer;
    }
    let mut out = BTreeMap::new();
    walk(root, &mut SecurityScopes::new(&[]), &mut Vec::new(), &mut out);
    out
}

/// The tree with every node that is not `target` or one of its ancestors given other scopes.
fn scramble_all_but_path(node: &Node, target: &[usize], fresh: &mut impl Iterator<Item = Vec<&'static str>>) -> Node {
    fn walk(node: &Node, on_path: bool, target: &[usize], fresh: &mut dyn Iterator<Item = Vec<&'static str>>) -> Node {
        let scopes = if on_path { node.scopes.clone() } else { fresh.next().unwrap_or_default() };
        let children = node
            .children
            .iter()
            .enumerate()
            .map(|(index, child)| {
                let child_on_path = on_path && target.first() == Some(&index);
                let rest = if child_on_path { &target[1..] } else { &[][..] };
                walk(child, child_on_path, rest, fresh)
            })
            .collect();
        Node { scopes, children }
    }
    walk(node, true, target, fresh)
}

/// The tree with every node's dependencies in reverse order.
fn reversed(node: &Node) -> Node {
    Node { scopes: node.scopes.clone(), children: node.children.iter().rev().map(reversed).collect() }
}

/// Maps an id in `reversed(tree)` back to the id of the same node in `tree`.
fn unreverse(tree: &Node, id: &[usize]) -> NodeId {
    let mut node = tree;
    let mut original = Vec::new();
    for &index in id {
        let real = node.children.len() - 1 - index;
        original.push(real);
        node = &node.children[real];
    }
    original
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn accumulation_matches_fastapis_rule(root in tree()) {
        let library = library_sets(&root);
        let paths = paths(&root);
        prop_assert_eq!(library.len(), paths.len());
        for (id, path) in &paths {
            let expected = reference(path);
            prop_assert_eq!(library[id].scopes(), &expected[..], "node {:?}, path {:?}", id, path);
            // The pure fold along the path gives the same answer as the depth-first pass.
            let folded = path.iter().fold(SecurityScopes::new(&[]), |acc, link| acc.with(link));
            prop_assert_eq!(&folded, &library[id]);
        }
    }

    #[test]
    fn a_dependency_extends_its_dependents_scopes(root in tree()) {
        let library = library_sets(&root);
        for (id, scopes) in &library {
            let unique: HashSet<_> = scopes.scopes().iter().collect();
            prop_assert_eq!(unique.len(), scopes.scopes().len(), "duplicates at {:?}: {:?}", id, scopes);
            if let Some((_, parent_id)) = id.split_last() {
                let parent = library[parent_id].scopes();
                // Outermost first: the dependent's list is a prefix of the dependency's.
                prop_assert_eq!(&scopes.scopes()[..parent.len()], parent, "{:?} under {:?}", id, parent_id);
            }
        }
    }

    #[test]
    fn siblings_do_not_leak(
        root in tree(),
        pick in any::<prop::sample::Index>(),
        fresh in prop::collection::vec(link_scopes(), 64),
    ) {
        let before = library_sets(&root);
        let ids: Vec<&NodeId> = before.keys().collect();
        let target = ids[pick.index(ids.len())];
        let mut fresh = fresh.into_iter().cycle();
        let scrambled = scramble_all_but_path(&root, target, &mut fresh);
        let after = library_sets(&scrambled);
        prop_assert_eq!(&after[target], &before[target], "node {:?} saw a non-ancestor's scopes", target);

        // Resolving the dependencies in another order changes nothing either.
        let flipped = reversed(&root);
        for (id, scopes) in library_sets(&flipped) {
            prop_assert_eq!(&scopes, &before[&unreverse(&root, &id)]);
        }
    }

    #[test]
    fn with_is_append_then_dedup(a in link_scopes(), b in link_scopes()) {
        let joined: Vec<&'static str> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(SecurityScopes::new(&a).with(&b), SecurityScopes::new(&joined));
        let s = SecurityScopes::new(&a);
        prop_assert_eq!(s.with(s.scopes()), s.clone());
        prop_assert_eq!(s.with(&[]), s);
    }

    #[test]
    fn scope_str_round_trips(scopes in prop::collection::vec(scope_token(), 0..8)) {
        let scopes = SecurityScopes::new(&scopes);
        let text = scopes.scope_str();
        if scopes.is_empty() {
            prop_assert_eq!(text, "");
        } else {
            prop_assert_eq!(text.split(' ').collect::<Vec<_>>(), scopes.scopes());
        }
    }

    #[test]
    fn missing_is_empty_iff_granted_covers_required(
        required in link_scopes(),
        granted in prop::collection::vec(
            prop_oneof![
                prop::sample::select(ALPHABET).prop_map(str::to_owned),
                prop::sample::select(&["ME", "me ", "", "me items", "item", "a\0"][..]).prop_map(str::to_owned),
            ],
            0..6,
        ),
    ) {
        let required = SecurityScopes::new(&required);
        let missing = required.missing(&granted);
        let covered = required.scopes().iter().all(|scope| granted.iter().any(|g| g == scope));
        prop_assert_eq!(missing.is_empty(), covered);
        // Exactly the uncovered scopes, in accumulation order.
        let expected: Vec<&str> =
            required.scopes().iter().copied().filter(|scope| !granted.iter().any(|g| g == scope)).collect();
        prop_assert_eq!(missing, expected);
    }

    #[test]
    fn is_scope_token_is_rfc_6749s_class(
        text in prop_oneof![any::<String>(), "[\\x00-\\x7f]{0,8}", SCOPE_TOKEN_REGEX, "[ -~]{0,6}"],
    ) {
        let expected =
            !text.is_empty() && text.chars().all(|c| matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'));
        prop_assert_eq!(is_scope_token(&text), expected, "{:?}", text);
    }
}

// ---------------------------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------------------------

/// Bytes that make interesting `Authorization` values: a likely scheme, then a mix of spaces,
/// tabs, token characters, obs-text and arbitrary bytes.
fn authorization_bytes() -> impl Strategy<Value = Vec<u8>> {
    const SCHEMES: &[&[u8]] =
        &[b"", b"Bearer", b"bearer", b"BEARER", b"BeArEr", b"Basic", b"Bearer ", b"Bearerx", b"Bear"];
    let scheme = prop::sample::select(SCHEMES);
    let byte = prop_oneof![
        4 => Just(b' '),
        1 => Just(b'\t'),
        4 => prop::sample::select(&b"aZ09-_.~+/=eyJ"[..]),
        1 => 0x80u8..=0xff,
        1 => any::<u8>(),
    ];
    (scheme, prop::collection::vec(byte, 0..24)).prop_map(|(scheme, rest)| [scheme, &rest[..]].concat())
}

/// What `authorization_credentials(headers, "Bearer")` must answer, written from RFC 9110's
/// grammar rather than from the implementation: one header, visible ASCII (SP and HTAB allowed),
/// at most 16 KiB, `bearer` in any case, one or more SP, then a non-empty credential whose
/// surrounding spaces do not count.
fn expected_credentials(values: &[Vec<u8>]) -> Option<String> {
    let [value] = values else { return None };
    let visible = value.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b));
    if !visible || value.len() > 16 * 1024 || value.len() < 7 {
        return None;
    }
    if !value[..6].eq_ignore_ascii_case(b"bearer") || value[6] != b' ' {
        return None;
    }
    let rest = &value[7..];
    let start = rest.iter().position(|&b| b != b' ')?;
    let end = rest.iter().rposition(|&b| b != b' ')? + 1;
    Some(String::from_utf8(rest[start..end].to_vec()).unwrap())
}

/// Percent-encodes every byte but ASCII letters and digits.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn authorization_credentials_accepts_only_bearer_shapes(
        values in prop::collection::vec(prop_oneof![authorization_bytes(), prop::collection::vec(any::<u8>(), 0..32)], 0..3),
    ) {
        // HeaderValue itself refuses control characters; such requests never reach us.
        let values: Vec<Vec<u8>> =
            values.into_iter().filter(|value| HeaderValue::from_bytes(value).is_ok()).collect();
        let mut headers = HeaderMap::new();
        for value in &values {
            headers.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        let got = authorization_credentials(&headers, "Bearer").map(str::to_owned);
        prop_assert_eq!(got, expected_credentials(&values), "{:?}", values);
    }

    #[test]
    fn password_form_parse_never_panics(body in prop::collection::vec(any::<u8>(), 0..512), strict in any::<bool>()) {
        match OAuth2PasswordRequestForm::parse(&body, strict) {
            Ok(form) => {
                prop_assert!(!form.username.is_empty() && !form.password.is_empty());
                prop_assert!((form.grant_type.is_none() && !strict) || form.grant_type.as_deref() == Some("password"));
            }
            Err(AuthError::InvalidForm { errors }) => prop_assert!(!errors.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }

    #[test]
    fn password_form_parse_never_panics_on_form_shaped_bodies(
        pairs in prop::collection::vec(
            (
                prop::sample::select(&["grant_type", "username", "password", "scope", "client_id", "client_secret", "x", ""][..]),
                prop_oneof![Just(String::new()), "[%+=&a-z0-9]{0,8}", any::<String>()],
            ),
            0..8,
        ),
        strict in any::<bool>(),
    ) {
        let body = pairs.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&");
        let _ = OAuth2PasswordRequestForm::parse(body.as_bytes(), strict);
    }

    #[test]
    fn password_form_round_trips(
        username in any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        password in any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        scopes in prop::collection::vec(scope_token(), 0..5),
        strict in any::<bool>(),
    ) {
        let scope = scopes.join(" ");
        let mut body = format!("username={}&password={}", percent_encode(&username), percent_encode(&password));
        if !scope.is_empty() {
            body.push_str(&format!("&scope={}", percent_encode(&scope)));
        }
        if strict {
            body.insert_str(0, "grant_type=password&");
        }
        let form = OAuth2PasswordRequestForm::parse(body.as_bytes(), strict).unwrap();
        prop_assert_eq!(&form.username, &username);
        prop_assert_eq!(&form.password, &password);
        prop_assert_eq!(form.scopes, scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }
}
