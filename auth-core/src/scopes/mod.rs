//! Scopes: how they are declared, how they add up along a dependency chain, and how a
//! credential's granted scopes are checked against them.

mod chain;
mod declaration;

pub use chain::{ChainPlan, enforce, is_scope_token};
pub use declaration::{ParseScopeError, ScopeDeclaration, ScopeInfo};

pub(crate) use chain::{ChainState, resolve as chain_resolve};

use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::Arc,
};

use axum::{extract::FromRequestParts, http::request::Parts};

/// The scopes required at one point of a dependency chain, as FastAPI's `SecurityScopes`.
///
/// As an extractor it yields the scopes of the handler and of every `#[secured]` link down to
/// (and including) the function that takes it: outermost first, each link's own scopes after
/// its dependents', duplicates dropped, the first kept. Outside any `#[secured]` chain it is
/// empty. It never rejects.
///
/// Cheap to clone: a list the macros declared is borrowed as it is, and a list that a chain
/// built up is shared behind an `Arc`.
#[derive(Clone)]
pub struct SecurityScopes {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// A `'static` list without duplicates: a `#[secured]` function's own scopes, or a list
    /// from a handler's [`ChainPlan`].
    Static(&'static [&'static str]),
    /// A list built by adding one link's scopes to another's.
    Shared(Arc<[&'static str]>),
}

impl Default for SecurityScopes {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl SecurityScopes {
    /// No scope required.
    pub(crate) const EMPTY: Self = Self { repr: Repr::Static(&[]) };

    /// Builds a value from a list, dropping duplicates and keeping the first of each.
    pub fn new(scopes: &[&'static str]) -> Self {
        Self::default().with(scopes)
    }

    /// A `'static` list, borrowed rather than copied when it holds no duplicates.
    pub(crate) fn from_static(scopes: &'static [&'static str]) -> Self {
        if has_duplicates(scopes) { Self::new(scopes) } else { Self { repr: Repr::Static(scopes) } }
    }

    /// A list a handler's [`ChainPlan`] holds for the life of the process.
    pub(crate) fn from_plan(scopes: &'static [&'static str]) -> Self {
        Self { repr: Repr::Static(scopes) }
    }

    /// The scopes in force at this point of the request's chain; what the extractor yields.
    pub fn current(parts: &Parts) -> Self {
        ChainState::current_scopes(parts)
    }

    /// The required scopes, in accumulation order.
    pub fn scopes(&self) -> &[&'static str] {
        match &self.repr {
            Repr::Static(scopes) => scopes,
            Repr::Shared(scopes) => scopes,
        }
    }

    /// The scopes joined with single spaces, as OAuth2's `scope` parameter writes them.
    pub fn scope_str(&self) -> String {
        self.scopes().join(" ")
    }

    /// Whether no scope is required.
    pub fn is_empty(&self) -> bool {
        self.scopes().is_empty()
    }

    /// Whether `scope` is among the required scopes.
    pub fn contains(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }

    /// The required scopes that `granted` does not hold, in accumulation order.
    pub fn missing<I, S>(&self, granted: I) -> Vec<&'static str>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let required = self.scopes();
        if required.is_empty() {
            return Vec::new();
        }
        let granted: Vec<S> = granted.into_iter().collect();
        required.iter().copied().filter(|required| !granted.iter().any(|g| g.as_ref() == *required)).collect()
    }

    /// Whether `granted` holds every required scope. Unlike [`missing`](Self::missing), it
    /// allocates nothing for up to 64 required scopes: the check every credential makes.
    pub fn is_satisfied_by<I, S>(&self, granted: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let required = self.scopes();
        match required.len() {
            0 => true,
            n @ 1..=64 => {
                // One pass over the grant, one bit per required scope.
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
            _ => self.missing(granted).is_empty(),
        }
    }

    /// This list followed by `more`, without duplicates, the outer link's order winning: what a
    /// dependency declaring `more` adds to the scopes of the chain above it.
    pub fn with(&self, more: &[&'static str]) -> Self {
        if more.iter().all(|scope| self.contains(scope)) {
            return self.clone();
        }
        let mut scopes: Vec<&'static str> = self.scopes().to_vec();
        for scope in more {
            if !scopes.contains(scope) {
                scopes.push(scope);
            }
        }
        Self { repr: Repr::Shared(scopes.into()) }
    }

    /// [`with`](Self::with) for a `'static` list, borrowing it when this list is empty: the
    /// step each dependency of a chain takes, which then allocates only where scopes add up.
    pub(crate) fn with_static(&self, more: &'static [&'static str]) -> Self {
        if self.is_empty() { Self::from_static(more) } else { self.with(more) }
    }
}

fn has_duplicates(scopes: &[&str]) -> bool {
    scopes.iter().enumerate().any(|(i, scope)| scopes[..i].contains(scope))
}

impl PartialEq for SecurityScopes {
    fn eq(&self, other: &Self) -> bool {
        self.scopes() == other.scopes()
    }
}

impl Eq for SecurityScopes {}

impl Hash for SecurityScopes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.scopes().hash(state);
    }
}

impl fmt::Debug for SecurityScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.scopes()).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SecurityScopes {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ChainState::current_scopes(parts))
    }
}
