//! The security model: what a handler requires, kept once, as a typed value.
//!
//! - [`SecurityScopes`]: the scopes in force at a point of a dependency chain (what the
//!   `#[secured(scopes = …)]` links above it declare, one list or alternatives).
//! - [`ScopeDeclaration`]: the closed set of scopes an app knows, from `#[derive(Scopes)]`.
//! - [`Credential`] and [`Authenticate`]: what every kind of credential implements, and
//!   [`Authenticated`], the one extractor that verifies any of them, enforces the chain's
//!   scopes, handles `Option<_>` and documents itself.
//! - [`Depends`]: FastAPI's dependencies, and the chain they form; its runtime lives in one
//!   place, worked out once per handler.
//! - What a handler requires is worked out once from its parameter types, and its OpenAPI
//!   operation documents it; [`Scheme`] is how a credential is documented.
//! - [`Lifetime`] and [`CredentialLifetime`]: how long a verified credential stays valid, and
//!   the end of a WebSocket or an event stream when a credential that opened it expires or is
//!   revoked.
//!
//! The machinery `#[secured]` generates code against (the chain's plan and walk, the
//! dependency traits, the declared scopes of one link) is in `auth_core::__private`: not
//! public API.

pub(crate) mod chain;
pub(crate) mod checks;
pub(crate) mod credential;
pub(crate) mod declaration;
pub(crate) mod dependency;
pub(crate) mod function;
pub(crate) mod lifetime;
pub(crate) mod requirement;
pub(crate) mod scopes;

pub(crate) use chain::ChainPlan;
#[cfg(feature = "openapi")]
pub(crate) use chain::known_credentials;
pub use credential::{Authenticate, Authenticated, Credential};
pub use declaration::{ScopeDeclaration, ScopeInfo};
pub(crate) use dependency::Dependency;
pub use dependency::Depends;
#[cfg(feature = "ws")]
pub(crate) use lifetime::SecuredUpgrade;
pub use lifetime::{CredentialLifetime, Ended, Lifetime};
#[cfg(feature = "openapi")]
pub(crate) use requirement::{CredentialRef, Requirement};
pub(crate) use requirement::{Describe, Walk};
pub(crate) use scopes::RequiredScopes;
pub use scopes::SecurityScopes;
// How a credential is documented lives with the transports, in `crate::transport`.
pub(crate) use crate::transport::scheme::Scheme;
pub use crate::transport::scheme::{ApiKeyLocation, OAuth2Flow, SchemeKind};
