//! Support for the code the macros generate. Not public API: no semver guarantees.

use std::marker::PhantomData;

use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{IntoResponse, Response},
};

pub use ::auth_macros::__check_scopes as check_scopes;
pub use ::axum;
pub use ::core;
pub use ::serde;
pub use ::std;
#[cfg(feature = "openapi")]
pub use ::utoipa_axum;

pub use crate::dependency::{CacheEntry, Dependency, Resolve};
use crate::{
    openapi::{DocumentedSecurity, SecurityCollector},
    scopes::ChainState,
};

/// Compile-time facts about a `#[secured]` function, on its companion type.
pub trait SecuredFn: 'static {
    /// The function's own scopes.
    const SCOPES: &'static [&'static str];

    /// Adds the function's scopes, then each parameter's contribution, to `out`.
    fn security(out: &mut SecurityCollector);
}

/// Autoref specialisation: `(&Probe::<T>::new()).collect_security(out)` calls
/// [`DocumentedSecurity`] when `T` implements it, and does nothing otherwise.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// Chosen when the probed extractor documents security.
pub trait ViaDocumented {
    /// Collects the extractor's contribution.
    fn collect_security(&self, out: &mut SecurityCollector);
}

impl<T: DocumentedSecurity> ViaDocumented for Probe<T> {
    fn collect_security(&self, out: &mut SecurityCollector) {
        T::collect_security(out);
    }
}

/// Chosen for every other extractor.
pub trait ViaNothing {
    /// Collects nothing.
    fn collect_security(&self, _out: &mut SecurityCollector) {}
}

impl<T> ViaNothing for &Probe<T> {}

/// The first parameter `#[secured]` adds to a function. As an axum extractor it starts the
/// handler's chain with the handler's scopes; when the function runs as a dependency, the
/// chain is already set and [`Enter::nested`] is passed instead.
pub struct Enter<M>(PhantomData<fn() -> M>);

impl<M> Enter<M> {
    /// The value passed when the function runs as a dependency.
    pub fn nested() -> Self {
        Self(PhantomData)
    }
}

impl<M: SecuredFn, S: Send + Sync> FromRequestParts<S> for Enter<M> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        ChainState::enter_handler(parts, M::SCOPES);
        Ok(Self(PhantomData))
    }
}

/// Turns what a dependency function returns into `Result<Output, Response>`.
#[diagnostic::on_unimplemented(
    message = "a dependency must return `Result<T, E>` where `E: IntoResponse`, found `{Self}`",
    note = "return a plain value from infallible dependencies"
)]
#[allow(clippy::result_large_err)] // `Response` is what axum rejects with; boxing it buys nothing here.
pub trait IntoDependencyResult {
    /// The success value.
    type Output;
    /// The conversion.
    fn into_dependency_result(self) -> Result<Self::Output, Response>;
}

impl<T, E: IntoResponse> IntoDependencyResult for Result<T, E> {
    type Output = T;

    fn into_dependency_result(self) -> Result<T, Response> {
        self.map_err(IntoResponse::into_response)
    }
}

/// Satisfied by `S` when `T` can live in the per-request cache. The state parameter only
/// keeps the bound from being checked where the dependency is declared, so that handlers whose
/// output is not `Clone` still compile; it is checked where the function is used as a dependency.
#[diagnostic::on_unimplemented(
    message = "dependency output `{T}` must be `Clone + Send + Sync + 'static` to be cached per request",
    note = "derive `Clone` for it, or opt out of caching with `#[secured(use_cache = false)]`"
)]
pub trait CanCache<T> {
    /// Stores a clone of `value`.
    fn store(value: &T) -> CacheEntry;
    /// Reads a clone back.
    fn load(entry: &CacheEntry) -> Option<T>;
}

impl<S, T: Clone + Send + Sync + 'static> CanCache<T> for S {
    fn store(value: &T) -> CacheEntry {
        CacheEntry::new(value)
    }

    fn load(entry: &CacheEntry) -> Option<T> {
        entry.get::<T>()
    }
}

/// Deserializes a declared scope from a string, for `#[derive(Scopes)]`'s serde impl.
pub fn deserialize_scope<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: crate::ScopeDeclaration,
    D: serde::Deserializer<'de>,
{
    let scope = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
    T::from_scope_str(&scope).ok_or_else(|| serde::de::Error::custom(crate::scopes::ParseScopeError::new(&scope)))
}

/// `a == b` for strings, in a `const` context: the derive checks a backend's strategy kind.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
