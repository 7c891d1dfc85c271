//! The per-request state of a dependency chain (the scopes in force, how deep the resolution
//! is and which scope failures wait for their dependency to return, the per-request cache of
//! dependency results), and each handler's [`ChainPlan`], worked out once.

use std::{
    any::TypeId,
    cell::RefCell,
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::Mutex,
};

use axum::{
    http::request::Parts,
    response::{IntoResponse, Response},
};

use super::SecurityScopes;
use crate::{
    __private::SecuredFn,
    dependency::{CacheEntry, Depends, Resolve},
    error::AuthError,
    openapi::SecurityCollector,
};

/// Lives in the request's extensions while its extractors run.
#[derive(Clone, Default)]
pub(crate) struct ChainState {
    /// The scopes required at the point being extracted now.
    scopes: SecurityScopes,
    /// How many dependencies are being resolved, one inside the other.
    depth: u32,
    /// Scope failures recorded by credentials, with the depth of the dependency that took the
    /// credential, innermost last. Each is raised when that dependency returns, so the
    /// dependency's own errors (unknown user, say) come first, as in FastAPI. Empty, and so
    /// never allocated, on the happy path.
    pending: Vec<(u32, AuthError)>,
    /// The handler's plan, when a `#[secured]` handler started the chain.
    plan: Option<&'static ChainPlan>,
    /// Cached dependency results: the dependency, the scope set it ran with, its output.
    cache: Vec<(TypeId, SecurityScopes, CacheEntry)>,
}

impl ChainState {
    fn get_mut(parts: &mut Parts) -> &mut ChainState {
        parts.extensions.get_or_insert_default::<ChainState>()
    }

    /// The scopes in force for the extractor being run now.
    pub(crate) fn current_scopes(parts: &Parts) -> SecurityScopes {
        parts.extensions.get::<ChainState>().map(|state| state.scopes.clone()).unwrap_or_default()
    }

    /// Starts a handler's chain with the handler's own scopes and its plan.
    pub(crate) fn enter_handler(parts: &mut Parts, scopes: &'static [&'static str], plan: &'static ChainPlan) {
        let state = Self::get_mut(parts);
        state.scopes = SecurityScopes::from_static(scopes);
        state.depth = 0;
        state.pending.clear();
        state.plan = Some(plan);
    }

    fn cached(&self, id: TypeId, scopes: &SecurityScopes) -> Option<&CacheEntry> {
        self.cache.iter().find(|(i, s, _)| *i == id && same_set(s.scopes(), scopes.scopes())).map(|(_, _, entry)| entry)
    }
}

/// The shape of one `#[secured]` handler's dependency chain, worked out once, on its first
/// request: for every dependency it reaches, the scopes in force around it and inside it, and
/// whether it can be reached twice in one request with the same scope set.
///
/// With it a request allocates nothing for its scopes (each link's list is borrowed from the
/// plan) and clones into the per-request cache only the outputs that can be asked for again.
/// It comes from the same walk over the handler's parameter types that gives its OpenAPI
/// security (see [`SecurityCollector`]). A dependency the walk cannot see into (a hand-written
/// [`Dependency`](crate::Dependency) that does not [`describe`](crate::Dependency::describe) its
/// parameters) makes the plan fall back to caching every output, and a dependency the walk did
/// not meet at all (reached from inside a hand-written extractor, say) is resolved the way it
/// would be without a plan.
#[derive(Debug, Default)]
pub struct ChainPlan {
    nodes: Vec<PlanNode>,
    /// The walk met a dependency it cannot see into.
    opaque: bool,
}

#[derive(Debug)]
struct PlanNode {
    id: TypeId,
    /// The scopes in force where the dependency is reached.
    outer: Vec<&'static str>,
    /// The scopes in force inside it: `outer`, then its own.
    effective: Vec<&'static str>,
    /// Another node has the same dependency and the same effective scope set.
    repeats: bool,
}

/// What the plan says of one resolution.
struct Step {
    effective: SecurityScopes,
    may_repeat: bool,
}

impl ChainPlan {
    /// The plan of the `#[secured]` handler `H`, built by the first request that reaches it and
    /// kept for the life of the process (one per handler type).
    ///
    /// Each thread keeps its own map of the plans it has used, so a request costs one lookup in
    /// a thread-local table and takes no lock; only a thread's first request to a handler looks
    /// in the shared table, and only the first of all builds the plan.
    pub fn of<H: SecuredFn>() -> &'static ChainPlan {
        let id = TypeId::of::<H>();
        LOCAL_PLANS.with(|local| {
            if let Some(plan) = local.borrow().get(&id) {
                return *plan;
            }
            let plan = {
                let mut shared = SHARED_PLANS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *shared.entry(id).or_insert_with(|| Box::leak(Box::new(Self::build::<H>())))
            };
            local.borrow_mut().insert(id, plan);
            plan
        })
    }

    fn build<H: SecuredFn>() -> Self {
        let mut walk = SecurityCollector::default();
        H::security(&mut walk);
        let (reached, opaque) = walk.into_dependencies();
        let mut nodes: Vec<PlanNode> = reached
            .into_iter()
            .map(|(id, outer, effective)| PlanNode { id, outer, effective, repeats: false })
            .collect();
        for i in 0..nodes.len() {
            let repeats = nodes
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other.id == nodes[i].id && same_set(&other.effective, &nodes[i].effective));
            nodes[i].repeats = repeats;
        }
        ChainPlan { nodes, opaque }
    }

    /// Dependency `id` reached where `outer` is in force, if the walk met it there.
    fn step(&'static self, id: TypeId, outer: &SecurityScopes) -> Option<Step> {
        let node = self.nodes.iter().find(|node| node.id == id && node.outer == outer.scopes())?;
        Some(Step { effective: SecurityScopes::from_plan(&node.effective), may_repeat: self.opaque || node.repeats })
    }
}

/// Whether two lists without duplicates hold the same scopes, in any order: the per-request
/// cache's key equality.
fn same_set(a: &[&str], b: &[&str]) -> bool {
    a.len() == b.len() && a.iter().all(|scope| b.contains(scope))
}

type PlanMap = HashMap<TypeId, &'static ChainPlan, BuildHasherDefault<TypeIdHasher>>;

thread_local! {
    static LOCAL_PLANS: RefCell<PlanMap> = const { RefCell::new(HashMap::with_hasher(BuildHasherDefault::new())) };
}

static SHARED_PLANS: Mutex<PlanMap> = Mutex::new(HashMap::with_hasher(BuildHasherDefault::new()));

/// `TypeId`s are already hashes: use the bits as they are.
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
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
    // Outside any chain nothing is required.
    let Some(state) = parts.extensions.get_mut::<ChainState>() else { return Ok(()) };
    if state.scopes.is_satisfied_by(granted) {
        return Ok(());
    }
    let error = AuthError::InsufficientScope { scopes: state.scopes.clone() };
    if state.depth == 0 {
        return Err(error);
    }
    // The first failure inside a dependency is the one reported.
    if state.pending.last().is_none_or(|(depth, _)| *depth != state.depth) {
        state.pending.push((state.depth, error));
    }
    Ok(())
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

/// Runs dependency `D` for this request: adds its scopes (as the handler's plan has them),
/// extracts its parameters, calls it, raises any scope failure recorded meanwhile, and caches
/// the result per scope set when the plan says it can be asked for again.
pub(crate) async fn resolve<D, S>(parts: &mut Parts, state: &S) -> Result<Depends<D>, Response>
where
    D: Resolve<S>,
    S: Send + Sync,
{
    let chain = ChainState::get_mut(parts);
    let id = TypeId::of::<D>();
    let step = chain.plan.and_then(|plan| plan.step(id, &chain.scopes));
    let (effective, may_repeat) = match step {
        Some(Step { effective, may_repeat }) => (effective, may_repeat),
        None => (chain.scopes.with_static(D::SCOPES), true),
    };
    let cache_as = if D::USE_CACHE && may_repeat {
        if let Some(output) = chain.cached(id, &effective).and_then(D::from_cache) {
            return Ok(Depends(output));
        }
        Some(effective.clone())
    } else {
        None
    };
    let outer = std::mem::replace(&mut chain.scopes, effective);
    chain.depth += 1;

    let result = D::run(parts, state).await;

    let chain = ChainState::get_mut(parts);
    chain.scopes = outer;
    let pending = match chain.pending.last() {
        Some((depth, _)) if *depth == chain.depth => chain.pending.pop().map(|(_, error)| error),
        _ => None,
    };
    chain.depth -= 1;

    let output = result?;
    if let Some(error) = pending {
        return Err(error.into_response());
    }
    if let Some(scopes) = cache_as
        && let Some(entry) = D::to_cache(&output)
    {
        chain.cache.push((id, scopes, entry));
    }
    Ok(Depends(output))
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
