//! The runtime of a dependency chain: each handler's [`ChainPlan`] (worked out once, by the
//! [`Walk`] over its parameter types), and the per-request [`ChainState`] the extractors share
//! (the scopes in force, scope failures waiting for their dependency to return, the
//! per-request cache of dependency results).

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

use super::{
    SecurityScopes,
    dependency::{CacheEntry, Depends, Resolve},
    function::SecuredFn,
    lifetime::Lifetimes,
    requirement::{Link, Requirement, Walk, Walked},
};
use crate::{error::AuthError, form::FormBody};

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
    /// For a long-lived handler (one that upgrades or streams), how long each credential
    /// verified for it lives.
    lifetimes: Option<Lifetimes>,
}

impl ChainState {
    fn get_mut(parts: &mut Parts) -> &mut ChainState {
        parts.extensions.get_or_insert_default::<ChainState>()
    }

    /// The scopes in force for the extractor being run now.
    pub(crate) fn current_scopes(parts: &Parts) -> SecurityScopes {
        parts.extensions.get::<ChainState>().map(|state| state.scopes.clone()).unwrap_or_default()
    }

    /// Starts the chain of the `#[secured]` handler `H`: its own scopes, and its plan.
    pub(crate) fn enter_handler<H: SecuredFn>(parts: &mut Parts) {
        let plan = ChainPlan::of::<H>();
        let state = Self::get_mut(parts);
        state.scopes = plan.handler_scopes.clone();
        state.depth = 0;
        state.pending.clear();
        state.plan = Some(plan);
        state.lifetimes = plan.long_lived.then(Lifetimes::default);
    }

    /// The declared scopes that imply others, for the handler being run: what closes a
    /// credential's granted scopes.
    pub(crate) fn implications(parts: &Parts) -> &'static [super::ScopeInfo] {
        parts.extensions.get::<ChainState>().and_then(|state| state.plan).map_or(&[], |plan| plan.implications)
    }

    /// Where the credentials of a long-lived handler record how long they live; `None` for
    /// every other request, which then spends nothing on it.
    pub(crate) fn lifetimes(parts: &Parts) -> Option<Lifetimes> {
        parts.extensions.get::<ChainState>()?.lifetimes.clone()
    }

    fn cached(&self, id: TypeId, scopes: &SecurityScopes) -> Option<&CacheEntry> {
        self.cache.iter().find(|(i, s, _)| *i == id && s.same_requirement(scopes)).map(|(_, _, entry)| entry)
    }
}

/// Everything one `#[secured]` handler's parameter types say, worked out once, on first use:
/// its [`Requirement`] (what its OpenAPI operation documents), and for every dependency it
/// reaches, the scopes in force around it and inside it (what each credential enforces at run
/// time), and whether it can be reached twice in one request with the same scopes.
///
/// With it a request allocates nothing for its scopes (each link's list is borrowed from the
/// plan) and clones into the per-request cache only the outputs that can be asked for again.
/// A dependency the walk cannot see into (a hand-written [`Dependency`](super::Dependency)
/// that does not [`describe`](super::Dependency::describe) its parameters) makes the plan fall
/// back to caching every output, and a dependency the walk did not meet at all (reached from
/// inside a hand-written extractor, say) is resolved the way it would be without a plan.
#[derive(Debug)]
pub struct ChainPlan {
    handler_scopes: SecurityScopes,
    requirement: Requirement,
    body: Option<&'static FormBody>,
    nodes: Vec<PlanNode>,
    /// The walk met a dependency it cannot see into.
    opaque: bool,
    /// The handler holds a connection open past the request (a WebSocket, an event stream).
    long_lived: bool,
    /// The declared scopes that imply others: granted scopes are closed under them.
    implications: &'static [super::ScopeInfo],
    /// The handler's `allow = …` rule, and the path parameter naming its record.
    authorization: Option<(&'static crate::authz::Authorization, Option<(&'static str, &'static str)>)>,
}

#[derive(Debug)]
struct PlanNode {
    id: TypeId,
    /// The scopes in force where the dependency is reached.
    outer: SecurityScopes,
    /// The scopes in force inside it: `outer`, then its own.
    effective: SecurityScopes,
    /// Another node has the same dependency and the same effective scopes.
    repeats: bool,
}

/// What the plan says of one resolution.
struct Step {
    effective: SecurityScopes,
    may_repeat: bool,
}

impl ChainPlan {
    /// The plan of the `#[secured]` handler `H`, built by the first use and kept for the life
    /// of the process (one per handler type).
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
        let mut walk = Walk::new(H::SCOPES);
        H::walk(&mut walk);
        let Walked { requirement, links, opaque, body, long_lived, implications, authorization } = walk.finish();
        let mut nodes: Vec<PlanNode> = links
            .into_iter()
            .map(|Link { id, outer, effective }| PlanNode {
                id,
                outer: outer.leak(),
                effective: effective.leak(),
                repeats: false,
            })
            .collect();
        for i in 0..nodes.len() {
            let repeats = nodes.iter().enumerate().any(|(j, other)| {
                j != i && other.id == nodes[i].id && other.effective.same_requirement(&nodes[i].effective)
            });
            nodes[i].repeats = repeats;
        }
        if !H::SCOPES.is_none() && requirement.is_anonymous() {
            tracing::warn!(
                handler = std::any::type_name::<H>(),
                "a #[secured] function declares scopes, but no credential in its chain can carry them: nothing enforces them"
            );
        }
        ChainPlan {
            handler_scopes: SecurityScopes::from_required(H::SCOPES).leak(),
            requirement,
            body,
            nodes,
            opaque,
            long_lived,
            implications,
            authorization,
        }
    }

    /// What the handler requires, as its OpenAPI operation documents it.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// The request body the handler reads, when it is one of auth-core's forms.
    pub fn body(&self) -> Option<&'static FormBody> {
        self.body
    }

    /// The handler's `allow = …` rule, with the path parameter naming its record (none for a
    /// list), when it takes an `Authorized` parameter.
    pub fn authorization(
        &self,
    ) -> Option<(&'static crate::authz::Authorization, Option<(&'static str, &'static str)>)> {
        self.authorization
    }

    /// Whether the handler holds a connection open past the request (it takes a
    /// [`CredentialLifetime`](super::CredentialLifetime), or a `WebSocketUpgrade` of
    /// auth-core's): its credentials then say how long they live.
    pub fn is_long_lived(&self) -> bool {
        self.long_lived
    }

    /// Dependency `id` reached where `outer` is in force, if the walk met it there.
    fn step(&'static self, id: TypeId, outer: &SecurityScopes) -> Option<Step> {
        let node = self.nodes.iter().find(|node| node.id == id && node.outer == *outer)?;
        Some(Step { effective: node.effective.clone(), may_repeat: self.opaque || node.repeats })
    }
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

/// Checks a verified credential's granted scopes against the scopes required where it is
/// extracted; [`Authenticated`](super::Authenticated) calls it, and nothing else does.
///
/// When the scopes are granted it returns `Ok`. Otherwise the failure is
/// [`AuthError::InsufficientScope`]: raised at once when the credential is taken directly by a
/// handler, or, inside a dependency, raised as soon as that dependency returns, before anything
/// that depends on it runs.
///
/// The failure carries the credential's `challenge` when it is not `Bearer` (an API key answers
/// `APIKey`, HTTP Basic its `Basic realm`); a bearer credential's names the scopes that would
/// do (`Bearer scope="…"`).
pub(crate) fn enforce(
    parts: &mut Parts,
    granted: &[String],
    challenge: fn() -> crate::error::Challenge,
) -> Result<(), AuthError> {
    // Outside any chain nothing is required.
    let Some(state) = parts.extensions.get_mut::<ChainState>() else { return Ok(()) };
    let implications = state.plan.map_or(&[][..], |plan| plan.implications);
    if super::scopes::satisfied(&state.scopes, granted, implications) {
        return Ok(());
    }
    let error = AuthError::InsufficientScope { scopes: state.scopes.clone() };
    let error = match challenge() {
        crate::error::Challenge::Bearer => error,
        challenge => AuthError::Challenged { error: Box::new(error), challenge },
    };
    if state.depth == 0 {
        return Err(error);
    }
    // The first failure inside a dependency is the one reported.
    if state.pending.last().is_none_or(|(depth, _)| *depth != state.depth) {
        state.pending.push((state.depth, error));
    }
    Ok(())
}

/// Checks a verified credential's grant against the scopes in force, failing at once even
/// inside a dependency: what an `Authorized` record does, so that nothing is loaded for a
/// request that fails the scopes. One look-up, nothing cloned on success.
pub(crate) fn enforce_now(parts: &Parts, granted: &[String]) -> Result<(), AuthError> {
    let Some(state) = parts.extensions.get::<ChainState>() else { return Ok(()) };
    let implications = state.plan.map_or(&[][..], |plan| plan.implications);
    if super::scopes::satisfied(&state.scopes, granted, implications) {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope { scopes: state.scopes.clone() })
    }
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
        None => (chain.scopes.with_required(D::SCOPES), true),
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

#[cfg(feature = "openapi")]
/// Every credential named by a plan built so far in this process: where the OpenAPI document
/// finds the default description of a scheme an operation names.
pub(crate) fn known_credentials() -> Vec<super::CredentialRef> {
    let shared = SHARED_PLANS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out: Vec<super::CredentialRef> = Vec::new();
    for plan in shared.values() {
        for credential in plan.requirement.credentials() {
            if !out.contains(&credential) {
                out.push(credential);
            }
        }
    }
    out
}
