//! The scopes required at one point of a dependency chain ([`SecurityScopes`]), and what one link
//! of a chain declares ([`RequiredScopes`]).

use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::Arc,
};

use axum::{extract::FromRequestParts, http::request::Parts};

use super::{ScopeInfo, chain::ChainState};

/// What one `#[secured]` link declares: one list of scopes, all required, or alternatives of
/// lists, any one of which suffices.
///
/// `#[secured(scopes = ["items"])]` is `RequiredScopes::all(&["items"])`;
/// `#[secured(scopes = ["items:read"] | ["admin"])]` is
/// `RequiredScopes::any(&[&["items:read"], &["admin"]])`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequiredScopes(Declared, &'static [ScopeInfo]);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Declared {
    All(&'static [&'static str]),
    Any(&'static [&'static [&'static str]]),
}

impl RequiredScopes {
    /// No scope.
    pub const NONE: Self = Self(Declared::All(&[]), &[]);

    /// Every scope of `scopes`.
    pub const fn all(scopes: &'static [&'static str]) -> Self {
        Self(Declared::All(scopes), &[])
    }

    /// Any one of the lists: each list is all required, and one list is enough.
    pub const fn any(alternatives: &'static [&'static [&'static str]]) -> Self {
        Self(Declared::Any(alternatives), &[])
    }

    /// [`all`](Self::all), from scopes checked against declaration `D` at compile time: what
    /// `#[secured]` writes. Naming `D` here is what makes its visibility count. (Where `D` did
    /// not compile, so that its own error stands alone: see [`all_in`](Self::all_in).)
    #[doc(hidden)]
    pub const fn all_of<D>(scopes: &'static [&'static str]) -> Self {
        Self::all(scopes)
    }

    /// [`any`](Self::any), from scopes checked against declaration `D` at compile time.
    #[doc(hidden)]
    pub const fn any_of<D>(alternatives: &'static [&'static [&'static str]]) -> Self {
        Self::any(alternatives)
    }

    /// [`all_of`](Self::all_of) for a declaration that compiled: `D`'s implications close what
    /// a credential grants.
    #[doc(hidden)]
    pub const fn all_in<D: super::ScopeDeclaration>(scopes: &'static [&'static str]) -> Self {
        Self(Declared::All(scopes), D::ALL)
    }

    /// [`any_of`](Self::any_of) for a declaration that compiled.
    #[doc(hidden)]
    pub const fn any_in<D: super::ScopeDeclaration>(alternatives: &'static [&'static [&'static str]]) -> Self {
        Self(Declared::Any(alternatives), D::ALL)
    }

    /// The declaration the scopes were checked against, when they were: its implications
    /// close what a credential grants.
    pub(crate) const fn declaration(&self) -> &'static [ScopeInfo] {
        self.1
    }

    /// The alternatives as declared: one list for [`all`](Self::all).
    pub fn alternatives(&self) -> &[&'static [&'static str]] {
        match &self.0 {
            Declared::All([]) => &[],
            Declared::All(one) => std::slice::from_ref(one),
            Declared::Any(many) => many,
        }
    }

    /// Whether nothing is declared.
    pub const fn is_none(&self) -> bool {
        matches!(self.0, Declared::All([]) | Declared::Any([]))
    }
}

/// The `N`th scope of declaration `D`, required alone: what `#[secured(scopes = ["one"])]`
/// writes, through the declaration's matcher, as `ScopeAt::<Scope, N>::REQUIRED`: a path to a
/// constant, so each function's own constant has no array or call for the compiler to check.
/// Naming `D` makes its visibility count, as [`RequiredScopes::all_of`] does. Not public API.
#[doc(hidden)]
pub struct ScopeAt<D, const N: usize>(std::marker::PhantomData<fn() -> D>);

impl<D: super::ScopeDeclaration, const N: usize> ScopeAt<D, N> {
    /// The scope's name, as a list of one.
    const NAMES: &'static [&'static str] = &[D::ALL[N].name];
    /// The scope, alone.
    pub const REQUIRED: RequiredScopes = RequiredScopes::all_in::<D>(Self::NAMES);
}

impl Default for RequiredScopes {
    fn default() -> Self {
        Self::NONE
    }
}

impl fmt::Debug for RequiredScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.alternatives()).finish()
    }
}

/// The scopes required at one point of a dependency chain, as FastAPI's `SecurityScopes`.
///
/// As an extractor it yields the scopes of the handler and of every `#[secured]` link down to
/// (and including) the function that takes it: outermost first, each link's own scopes after
/// its dependents', duplicates dropped, the first kept. Outside any `#[secured]` chain it is
/// empty. It never rejects.
///
/// # Alternatives
///
/// A link declared with alternatives (`#[secured(scopes = ["items:read"] | ["admin"])]`) makes
/// the requirement a choice: a credential passes when it holds every scope of *one*
/// alternative. Alternatives multiply along the chain: the handler's `["a"] | ["b"]` above a
/// dependency's `["me"]` asks for `["a", "me"]` or `["b", "me"]`. Then:
///
/// - [`alternatives`](Self::alternatives) lists every choice, in declaration order;
/// - [`scopes`](Self::scopes), [`scope_str`](Self::scope_str) and the `scope="…"` of a
///   `WWW-Authenticate` challenge give the *first* alternative: one set of scopes that would
///   suffice, which is what a client needs to ask for;
/// - [`is_satisfied_by`](Self::is_satisfied_by) accepts any alternative, and is what the
///   library enforces. A FastAPI-style loop over [`scopes`](Self::scopes) would demand the
///   first alternative only: check with `is_satisfied_by` instead.
///
/// Alternatives are kept minimal: one that holds every scope of another is dropped (asking for
/// it adds nothing), and an empty alternative means nothing is required at all.
///
/// Cheap to clone: a list the macros declared or a handler's plan holds is borrowed as it is,
/// and a list a chain built up is shared behind an `Arc`.
#[derive(Clone)]
pub struct SecurityScopes {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// One `'static` list without duplicates: a function's own scopes, or a list from a
    /// handler's plan.
    Static(&'static [&'static str]),
    /// One list built by adding one link's scopes to another's.
    Shared(Arc<[&'static str]>),
    /// Two or more alternatives, each without duplicates, none a superset of another.
    Any(Arc<[Arc<[&'static str]>]>),
}

impl Default for SecurityScopes {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl SecurityScopes {
    /// No scope required.
    pub const EMPTY: Self = Self { repr: Repr::Static(&[]) };

    /// Builds a value from one list, dropping duplicates and keeping the first of each.
    pub fn new(scopes: &[&'static str]) -> Self {
        Self::EMPTY.with(scopes)
    }

    /// Builds a value from alternatives, any one of which suffices.
    pub fn any<'a>(alternatives: impl IntoIterator<Item = &'a [&'static str]>) -> Self {
        Self::from_alternatives(alternatives.into_iter().map(dedup).collect())
    }

    /// A `'static` list, borrowed rather than copied when it holds no duplicates.
    pub(crate) fn from_static(scopes: &'static [&'static str]) -> Self {
        if has_duplicates(scopes) { Self::new(scopes) } else { Self { repr: Repr::Static(scopes) } }
    }

    /// What a link declares, on its own.
    pub(crate) fn from_required(required: RequiredScopes) -> Self {
        match required.alternatives() {
            [] => Self::EMPTY,
            [one] => Self::from_static(one),
            many => Self::any(many.iter().copied()),
        }
    }

    /// The same requirement, with every single list moved to `'static` storage: what a
    /// handler's plan keeps for the life of the process, so a request borrows it.
    pub(crate) fn leak(self) -> Self {
        match self.repr {
            Repr::Shared(list) => Self { repr: Repr::Static(Box::leak(list.to_vec().into_boxed_slice())) },
            repr => Self { repr },
        }
    }

    /// The scopes in force at this point of the request's chain; what the extractor yields.
    pub fn current(parts: &Parts) -> Self {
        ChainState::current_scopes(parts)
    }

    /// The required scopes, in accumulation order; with alternatives, the first of them.
    pub fn scopes(&self) -> &[&'static str] {
        match &self.repr {
            Repr::Static(scopes) => scopes,
            Repr::Shared(scopes) => scopes,
            Repr::Any(alternatives) => &alternatives[0],
        }
    }

    /// Every alternative, in declaration order: one list unless the chain declares a choice.
    pub fn alternatives(&self) -> impl ExactSizeIterator<Item = &[&'static str]> {
        let (single, many): (Option<&[&'static str]>, &[Arc<[&'static str]>]) = match &self.repr {
            Repr::Any(alternatives) => (None, alternatives),
            _ => (Some(self.scopes()), &[]),
        };
        Alternatives { single, many: many.iter() }
    }

    /// The scopes joined with single spaces, as OAuth2's `scope` parameter writes them; with
    /// alternatives, those of the first.
    pub fn scope_str(&self) -> String {
        self.scopes().join(" ")
    }

    /// Whether no scope is required.
    pub fn is_empty(&self) -> bool {
        matches!(&self.repr, Repr::Static([])) || matches!(&self.repr, Repr::Shared(list) if list.is_empty())
    }

    /// Whether `scope` is among the required scopes (of the first alternative).
    pub fn contains(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }

    /// The required scopes that `granted` does not hold, in accumulation order. With
    /// alternatives, those of the alternative that misses the fewest (the first of equals).
    pub fn missing<I, S>(&self, granted: I) -> Vec<&'static str>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let granted: Vec<S> = granted.into_iter().collect();
        let missing = |required: &[&'static str]| -> Vec<&'static str> {
            required.iter().copied().filter(|r| !granted.iter().any(|g| g.as_ref() == *r)).collect()
        };
        self.alternatives().map(missing).min_by_key(Vec::len).unwrap_or_default()
    }

    /// Whether `granted` holds every scope of one alternative: the check every credential
    /// makes. It allocates nothing for lists of up to 64 scopes.
    pub fn is_satisfied_by<I, S>(&self, granted: I) -> bool
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<str>,
    {
        match &self.repr {
            Repr::Any(alternatives) => alternatives.iter().any(|one| covers(one, granted.clone())),
            _ => covers(self.scopes(), granted),
        }
    }

    /// Each alternative followed by `more`, without duplicates, the outer link's order winning:
    /// what a dependency declaring `more` adds to the scopes of the chain above it.
    pub fn with(&self, more: &[&'static str]) -> Self {
        match &self.repr {
            Repr::Any(alternatives) => {
                Self::from_alternatives(alternatives.iter().map(|one| append(one, more)).collect())
            }
            _ => {
                let scopes = self.scopes();
                if more.iter().all(|scope| scopes.contains(scope)) {
                    return self.clone();
                }
                Self { repr: Repr::Shared(append(scopes, more).into()) }
            }
        }
    }

    /// What a link declaring `required` adds: with one list, [`with`](Self::with); with
    /// alternatives, every alternative here combined with every one declared.
    pub fn with_required(&self, required: RequiredScopes) -> Self {
        match required.alternatives() {
            [] => self.clone(),
            [one] if self.is_empty() => Self::from_static(one),
            [one] => self.with(one),
            many => Self::from_alternatives(
                self.alternatives().flat_map(|outer| many.iter().map(move |inner| append(outer, inner))).collect(),
            ),
        }
    }

    /// Whether both require the same: the same alternatives, each the same set in any order.
    /// The per-request cache's key equality.
    pub(crate) fn same_requirement(&self, other: &Self) -> bool {
        let (a, b) = (self.alternatives(), other.alternatives());
        a.len() == b.len() && {
            let others: Vec<&[&str]> = other.alternatives().collect();
            self.alternatives().all(|one| others.iter().any(|other| same_set(one, other)))
        }
    }

    /// Normalises: drops duplicate alternatives and those holding every scope of another; an
    /// empty alternative requires nothing.
    fn from_alternatives(mut alternatives: Vec<Vec<&'static str>>) -> Self {
        let mut kept: Vec<Vec<&'static str>> = Vec::with_capacity(alternatives.len());
        for (i, candidate) in alternatives.iter().enumerate() {
            let implied = alternatives
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && is_subset(other, candidate) && (other.len() < candidate.len() || j < i));
            if !implied {
                kept.push(candidate.clone());
            }
        }
        alternatives.clear();
        match kept.len() {
            0 => Self::EMPTY,
            1 => {
                let one = kept.pop().unwrap_or_default();
                if one.is_empty() { Self::EMPTY } else { Self { repr: Repr::Shared(one.into()) } }
            }
            _ => Self { repr: Repr::Any(kept.into_iter().map(Arc::from).collect()) },
        }
    }
}

/// Iterates a [`SecurityScopes`]' alternatives.
struct Alternatives<'a> {
    single: Option<&'a [&'static str]>,
    many: std::slice::Iter<'a, Arc<[&'static str]>>,
}

impl<'a> Iterator for Alternatives<'a> {
    type Item = &'a [&'static str];

    fn next(&mut self) -> Option<Self::Item> {
        self.single.take().or_else(|| self.many.next().map(|one| &**one))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.single.is_some()) + self.many.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Alternatives<'_> {}

/// Whether `granted` holds every scope of `required`: one pass over the grant, one bit per
/// required scope, for lists up to 64 long.
fn covers<I, S>(required: &[&str], granted: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    match required.len() {
        0 => true,
        n @ 1..=64 => {
            let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            let mut found = 0u64;
            for scope in granted {
                if let Some(index) = required.iter().position(|r| *r == scope.as_ref()) {
                    found |= 1 << index;
                    if found == all {
                        return true;
                    }
                }
            }
            false
        }
        _ => {
            let granted: Vec<S> = granted.into_iter().collect();
            required.iter().all(|r| granted.iter().any(|g| g.as_ref() == *r))
        }
    }
}

/// The granted scopes closed under implication: each granted scope, followed by the scopes
/// it implies per `table` (the declared scopes that imply something). Allocates nothing.
pub(crate) fn closed<'a>(
    granted: &'a [String],
    table: &'static [ScopeInfo],
) -> impl Iterator<Item = &'a str> + Clone + 'a {
    granted.iter().flat_map(move |scope| {
        let implied = table.iter().find(|info| info.name == scope.as_str()).map_or(&[][..], |info| info.implies);
        std::iter::once(scope.as_str()).chain(implied.iter().copied())
    })
}

/// Whether `granted`, closed under `table`'s implications, satisfies `required`.
pub(crate) fn satisfied(required: &SecurityScopes, granted: &[String], table: &'static [ScopeInfo]) -> bool {
    if table.is_empty() { required.is_satisfied_by(granted) } else { required.is_satisfied_by(closed(granted, table)) }
}

/// `base` followed by the scopes of `more` it lacks.
fn append(base: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    let mut out = base.to_vec();
    for scope in more {
        if !out.contains(scope) {
            out.push(scope);
        }
    }
    out
}

fn dedup(scopes: &[&'static str]) -> Vec<&'static str> {
    append(&[], scopes)
}

fn has_duplicates(scopes: &[&str]) -> bool {
    scopes.iter().enumerate().any(|(i, scope)| scopes[..i].contains(scope))
}

fn is_subset(a: &[&str], b: &[&str]) -> bool {
    a.iter().all(|scope| b.contains(scope))
}

/// Whether two lists without duplicates hold the same scopes, in any order.
pub(crate) fn same_set(a: &[&str], b: &[&str]) -> bool {
    a.len() == b.len() && is_subset(a, b)
}

impl PartialEq for SecurityScopes {
    fn eq(&self, other: &Self) -> bool {
        self.alternatives().len() == other.alternatives().len()
            && self.alternatives().zip(other.alternatives()).all(|(a, b)| a == b)
    }
}

impl Eq for SecurityScopes {}

impl Hash for SecurityScopes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for alternative in self.alternatives() {
            alternative.hash(state);
        }
    }
}

impl fmt::Debug for SecurityScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Any(alternatives) => {
                let mut first = true;
                for alternative in alternatives.iter() {
                    if !first {
                        f.write_str(" | ")?;
                    }
                    first = false;
                    f.debug_list().entries(alternative.iter()).finish()?;
                }
                Ok(())
            }
            _ => f.debug_list().entries(self.scopes()).finish(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SecurityScopes {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ChainState::current_scopes(parts))
    }
}

/// Whether `scope` is an RFC 6749 §3.3 scope-token: non-empty, of `%x21 / %x23-5B / %x5D-7E`.
pub const fn is_scope_token(scope: &str) -> bool {
    let bytes = scope.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b == 0x21 || (b >= 0x23 && b <= 0x5B) || (b >= 0x5D && b <= 0x7E)) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        for ok in ["items", "me", "read:user", "a", "!#[]~", "https://x/y"] {
            assert!(is_scope_token(ok), "{ok}");
        }
        for bad in ["", "two words", "quote\"", "back\\slash", "tab\t", "é", "\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn alternatives_multiply_along_the_chain() {
        static EITHER: RequiredScopes = RequiredScopes::any(&[&["items:read"], &["admin"]]);
        let handler = SecurityScopes::from_required(EITHER);
        let inner = handler.with(&["me"]);
        let listed: Vec<&[&str]> = inner.alternatives().collect();
        assert_eq!(listed, [&["items:read", "me"][..], &["admin", "me"][..]]);
        assert_eq!(inner.scopes(), ["items:read", "me"]);
        assert!(inner.is_satisfied_by(["admin", "me"]));
        assert!(inner.is_satisfied_by(["me", "items:read"]));
        assert!(!inner.is_satisfied_by(["admin"]));
        assert_eq!(inner.missing(["admin"]), ["me"]);
        assert_eq!(format!("{inner:?}"), r#"["items:read", "me"] | ["admin", "me"]"#);
    }

    #[test]
    fn alternatives_stay_minimal() {
        // `a` or (`a` and `b`) is just `a`; and an empty alternative requires nothing.
        assert_eq!(SecurityScopes::any([&["a", "b"][..], &["a"]]), SecurityScopes::new(&["a"]));
        assert!(SecurityScopes::any([&["a"][..], &[]]).is_empty());
        assert_eq!(SecurityScopes::any([&["a"][..], &["a"]]), SecurityScopes::new(&["a"]));
        let two = SecurityScopes::any([&["a"][..], &["b"]]);
        assert_eq!(two.alternatives().len(), 2);
        // Combining alternatives with alternatives: every pair.
        static MORE: RequiredScopes = RequiredScopes::any(&[&["x"], &["y"]]);
        assert_eq!(two.with_required(MORE).alternatives().len(), 4);
        assert!(two.same_requirement(&SecurityScopes::any([&["b"][..], &["a"]])));
        assert!(!two.same_requirement(&SecurityScopes::new(&["a"])));
    }
}
