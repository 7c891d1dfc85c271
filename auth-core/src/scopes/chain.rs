//! The per-request state of a dependency chain: the scopes in force, the open dependency
//! frames, and the per-request cache of dependency results.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::Arc,
};

use axum::{
    http::request::Parts,
    response::{IntoResponse, Response},
};

use super::SecurityScopes;
use crate::{
    dependency::{CacheEntry, Resolve},
    error::AuthError,
};

type CacheKey = (TypeId, Vec<&'static str>);

/// Lives in the request's extensions while its extractors run.
#[derive(Clone, Default)]
pub(crate) struct ChainState {
    /// The scopes required at the point being extracted now.
    scopes: SecurityScopes,
    /// One entry per dependency being resolved, innermost last. A credential whose scopes fall
    /// short records the failure here; it is raised when that dependency returns, so the
    /// dependency's own errors (unknown user, say) come first, as in FastAPI.
    frames: Vec<Option<AuthError>>,
    cache: HashMap<CacheKey, Arc<dyn Any + Send + Sync>>,
}

impl ChainState {
    fn get_mut(parts: &mut Parts) -> &mut ChainState {
        if parts.extensions.get::<ChainState>().is_none() {
            parts.extensions.insert(ChainState::default());
        }
        parts.extensions.get_mut::<ChainState>().expect("inserted just above")
    }

    /// The scopes in force for the extractor being run now.
    pub(crate) fn current_scopes(parts: &Parts) -> SecurityScopes {
        parts.extensions.get::<ChainState>().map(|state| state.scopes.clone()).unwrap_or_default()
    }

    /// Starts a handler's chain with the handler's own scopes.
    pub(crate) fn enter_handler(parts: &mut Parts, scopes: &[&'static str]) {
        let state = Self::get_mut(parts);
        state.scopes = SecurityScopes::new(scopes);
        state.frames.clear();
    }
}

/// Checks a credential's granted scopes against the scopes required where it is extracted.
///
/// Credential extractors (transports and strategies) call this once they have a verified
/// credential. When every required scope is granted it returns `Ok`. Otherwise the failure is
/// [`AuthError::InsufficientScope`]: raised at once when the credential is taken directly by a
/// handler, or, inside a dependency, raised as soon as that dependency returns, before anything
/// that depends on it runs.
pub fn enforce<I, S>(parts: &mut Parts, granted: I) -> Result<(), AuthError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let required = ChainState::current_scopes(parts);
    if required.missing(granted).is_empty() {
        return Ok(());
    }
    let error = AuthError::InsufficientScope { scopes: required };
    let state = ChainState::get_mut(parts);
    match state.frames.last_mut() {
        Some(pending) => {
            pending.get_or_insert(error);
            Ok(())
        }
        None => Err(error),
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

/// Runs dependency `D` for this request: adds its scopes, extracts its parameters, calls it,
/// raises any scope failure recorded meanwhile, and caches the result per scope set.
pub(crate) async fn resolve<D, S>(parts: &mut Parts, state: &S) -> Result<D::Output, Response>
where
    D: Resolve<S>,
    S: Send + Sync,
{
    let outer = ChainState::current_scopes(parts);
    let effective = outer.with(D::SCOPES);
    let key: Option<CacheKey> = D::USE_CACHE.then(|| (TypeId::of::<D>(), effective.as_set()));
    if let Some(key) = &key {
        let hit = ChainState::get_mut(parts).cache.get(key).cloned();
        if let Some(output) = hit.and_then(|entry| D::from_cache(&CacheEntry(entry))) {
            return Ok(output);
        }
    }

    {
        let chain = ChainState::get_mut(parts);
        chain.scopes = effective;
        chain.frames.push(None);
    }
    let result = D::run(parts, state).await;
    let pending = {
        let chain = ChainState::get_mut(parts);
        chain.scopes = outer;
        chain.frames.pop().flatten()
    };

    let output = result?;
    if let Some(error) = pending {
        return Err(error.into_response());
    }
    if let Some((key, CacheEntry(entry))) = key.zip(D::to_cache(&output)) {
        ChainState::get_mut(parts).cache.insert(key, entry);
    }
    Ok(output)
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
}
