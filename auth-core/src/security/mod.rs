//! The security model: what a handler requires, kept once, as a typed value.
//!
//! - [`SecurityScopes`] and [`RequiredScopes`]: the scopes in force at a point of a dependency
//!   chain, and what one `#[secured]` link declares (one list, or alternatives).
//! - [`ScopeDeclaration`]: the closed set of scopes an app knows, from `#[derive(Scopes)]`.
//! - [`Credential`] and [`Authenticate`]: what every kind of credential implements, and
//!   [`Authenticated`], the one extractor that verifies any of them, enforces the chain's
//!   scopes, handles `Option<_>` and documents itself.
//! - [`Depends`] and [`Dependency`]: FastAPI's dependencies, and the chain they form; its
//!   runtime lives in one place, the handler's [`ChainPlan`].
//! - [`Requirement`]: what a handler requires, worked out once by a [`Walk`] over its
//!   parameter types, which its OpenAPI operation documents; [`Scheme`] is how a credential is
//!   documented.
//! - [`Lifetime`] and [`CredentialLifetime`]: how long a verified credential stays valid, and
//!   the end of a WebSocket or an event stream when a credential that opened it expires or is
//!   revoked.

mod chain;
pub(crate) mod checks;
pub(crate) mod credential;
pub(crate) mod declaration;
mod dependency;
pub(crate) mod function;
pub(crate) mod lifetime;
mod requirement;
mod scopes;

pub use chain::ChainPlan;
#[cfg(feature = "openapi")]
pub(crate) use chain::known_credentials;
pub use credential::{Authenticate, Authenticated, Credential};
pub use declaration::{ParseScopeError, ScopeDeclaration, ScopeInfo};
pub use dependency::{CacheEntry, Dependency, Depends, Resolve};
pub use lifetime::{Bounded, CredentialLifetime, DEFAULT_RECHECK_INTERVAL, Ended, Lifetime, SecuredUpgrade};
pub use requirement::{Alternative, CredentialRef, Describe, Requirement, Walk};
// How a credential is documented lives with the transports, in `crate::transport`.
pub use crate::transport::scheme::{ApiKeyLocation, OAuth2Flow, Scheme, SchemeKind};
pub use scopes::{RequiredScopes, SecurityScopes, is_scope_token};
