//! Scopes: how they are declared, how they add up along a dependency chain, and how a
//! credential's granted scopes are checked against them.

mod chain;
mod declaration;

pub use chain::{enforce, is_scope_token};
pub use declaration::{ParseScopeError, ScopeDeclaration, ScopeInfo};

pub(crate) use chain::{ChainState, resolve as chain_resolve};

use std::{fmt, sync::Arc};

use axum::{extract::FromRequestParts, http::request::Parts};

/// The scopes required at one point of a dependency chain, as FastAPI's `SecurityScopes`.
///
/// As an extractor it yields the scopes of the handler and of every `#[secured]` link down to
/// (and including) the function that takes it: outermost first, each link's own scopes after
/// its dependents', duplicates dropped, the first kept. Outside any `#[secured]` chain it is
/// empty. It never rejects.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SecurityScopes {
    scopes: Arc<[&'static str]>,
}

impl SecurityScopes {
    /// Builds a value from a list, dropping duplicates and keeping the first of each.
    pub fn new(scopes: &[&'static str]) -> Self {
        Self::default().with(scopes)
    }

    /// The scopes in force at this point of the request's chain; what the extractor yields.
    pub fn current(parts: &Parts) -> Self {
        ChainState::current_scopes(parts)
    }

    /// The required scopes, in accumulation order.
    pub fn scopes(&self) -> &[&'static str] {
        &self.scopes
    }

    /// The scopes joined with single spaces, as OAuth2's `scope` parameter writes them.
    pub fn scope_str(&self) -> String {
        self.scopes.join(" ")
    }

    /// Whether no scope is required.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Whether `scope` is among the required scopes.
    pub fn contains(&self, scope: &str) -> bool {
        self.scopes.contains(&scope)
    }

    /// The required scopes that `granted` does not hold, in accumulation order.
    pub fn missing<I, S>(&self, granted: I) -> Vec<&'static str>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let granted: Vec<S> = granted.into_iter().collect();
        self.scopes.iter().copied().filter(|required| !granted.iter().any(|g| g.as_ref() == *required)).collect()
    }

    /// This list followed by `more`, without duplicates, the outer link's order winning: what a
    /// dependency declaring `more` adds to the scopes of the chain above it.
    pub fn with(&self, more: &[&'static str]) -> Self {
        if more.iter().all(|scope| self.contains(scope)) {
            return self.clone();
        }
        let mut scopes: Vec<&'static str> = self.scopes.to_vec();
        for scope in more {
            if !scopes.contains(scope) {
                scopes.push(scope);
            }
        }
        Self { scopes: scopes.into() }
    }

    /// The scopes as a sorted set, the per-request cache key of a dependency.
    pub(crate) fn as_set(&self) -> Vec<&'static str> {
        let mut set = self.scopes.to_vec();
        set.sort_unstable();
        set
    }
}

impl fmt::Debug for SecurityScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.scopes.iter()).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SecurityScopes {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ChainState::current_scopes(parts))
    }
}
