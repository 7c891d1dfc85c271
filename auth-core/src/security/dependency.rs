//! Dependencies: async functions (or types) that run before a handler, as extractors do, and
//! add their scopes to the chain, like FastAPI's `Depends` and `Security`.

use std::{
    any::Any,
    future::Future,
    ops::{Deref, DerefMut},
    sync::Arc,
};

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
    response::Response,
};

use super::{
    RequiredScopes,
    chain::resolve,
    requirement::{Describe, Walk},
};

/// What a dependency produces and which scopes it adds, independent of the app state.
///
/// `#[secured]` implements this for a hidden type named like the function, so that
/// `Depends<current_user>` names the dependency `current_user`. Implement it by hand (with
/// [`Resolve`]) to make a type of your own a dependency.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a dependency",
    label = "not a dependency: add `#[secured]` to this function",
    note = "mark an async fn with `#[secured]` or `#[secured(scopes = [...])]` to use it as `Depends<that_fn>`"
)]
pub trait Dependency: Send + Sync + 'static {
    /// The value the dependency yields, which `Depends<Self>` derefs to.
    type Output;
    /// The scopes this link adds for itself and everything it depends on.
    const SCOPES: RequiredScopes = RequiredScopes::NONE;
    /// Whether a result is reused within one request for the same effective scope set.
    const USE_CACHE: bool = false;

    /// Tells the walk what this dependency's own parameters are (the credentials it reads,
    /// the dependencies it resolves); its [`SCOPES`](Self::SCOPES) are already in force.
    /// `#[secured]` functions describe each parameter. The default says that nothing more is
    /// known, which keeps every cacheable output of the chain cached, and documents nothing.
    fn describe(walk: &mut Walk) {
        walk.opaque_dependency();
    }
}

/// How a dependency is run against a request, for app state `S`.
#[diagnostic::on_unimplemented(
    message = "dependency `{Self}` cannot run with state `{S}`",
    note = "every parameter of a dependency must implement `FromRequestParts<{S}>` (a dependency cannot read the body), and it must return `Result<T, E>` with `E: IntoResponse` or a plain value",
    note = "a cached dependency's output must be `Clone + Send + Sync + 'static`; derive `Clone` or opt out with `#[secured(use_cache = false)]`",
    note = "add `#[secured(state = YourState)]` to the function that takes it, to have each parameter checked where it is written"
)]
pub trait Resolve<S>: Dependency {
    /// Extracts the dependency's parameters and calls it. The chain's scopes are already set.
    fn run(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self::Output, Response>> + Send;

    /// Stores an output in the per-request cache; `None` opts out.
    fn to_cache(_output: &Self::Output) -> Option<CacheEntry> {
        None
    }

    /// Reads an output back from the per-request cache.
    fn from_cache(_entry: &CacheEntry) -> Option<Self::Output> {
        None
    }
}

/// A type-erased cached dependency result.
#[derive(Clone)]
pub struct CacheEntry(pub(crate) Arc<dyn Any + Send + Sync>);

impl CacheEntry {
    /// Wraps a clone of `value` for the cache.
    pub fn new<T: Clone + Send + Sync + 'static>(value: &T) -> Self {
        Self(Arc::new(value.clone()))
    }

    /// A clone of the cached value, if it has type `T`.
    pub fn get<T: Clone + 'static>(&self) -> Option<T> {
        self.0.downcast_ref::<T>().cloned()
    }
}

/// Runs dependency `D` before the handler and hands over its output, like FastAPI's `Depends`.
///
/// ```ignore
/// #[secured(scopes = ["me"])]
/// async fn current_active_user(Depends(user): Depends<current_user>) -> Result<User, AuthError> {
///     if user.disabled { Err(AuthError::InactiveUser) } else { Ok(user) }
/// }
/// ```
///
/// `Option<Depends<D>>` runs `D` too, but yields `None` instead of rejecting the request; what
/// `D` requires is then documented as optional.
///
/// Under a `#[secured]` handler, the chain's shape (the scopes at each link, which dependencies
/// can be reached twice) is worked out once from the handler's parameter types; see
/// [`ChainPlan`](super::ChainPlan). An extractor of your own that resolves a `Depends` inside
/// should implement [`Describe`] by delegating to it, so the plan and the OpenAPI document see
/// that dependency; otherwise it may run once more than FastAPI would run it.
pub struct Depends<D: Dependency>(pub D::Output);

impl<D: Dependency> Depends<D> {
    /// The dependency's output.
    pub fn into_inner(self) -> D::Output {
        self.0
    }
}

impl<D: Dependency> Deref for Depends<D> {
    type Target = D::Output;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<D: Dependency> DerefMut for Depends<D> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<D: Dependency> std::fmt::Debug for Depends<D>
where
    D::Output: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Depends").field(&self.0).finish()
    }
}

impl<D: Dependency> Clone for Depends<D>
where
    D::Output: Clone,
{
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<D, S> FromRequestParts<S> for Depends<D>
where
    D: Resolve<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    // The resolution's own future, not one wrapped around it: chains nest these, and every
    // level of `async` around another would be one more copy of the inner future.
    fn from_request_parts(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        resolve::<D, S>(parts, state)
    }
}

impl<D, S> OptionalFromRequestParts<S> for Depends<D>
where
    D: Resolve<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(resolve::<D, S>(parts, state).await.ok())
    }
}

/// A dependency walks into its own parameters, with its scopes added.
impl<D: Dependency> Describe for Depends<D> {
    fn describe(walk: &mut Walk) {
        walk.dependency::<D>();
    }
}
