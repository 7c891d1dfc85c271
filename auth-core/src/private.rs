//! Re-exports for the code the macros generate. Not public API: no semver guarantees, and no
//! logic of its own.

pub use ::auth_macros::__check_scopes as check_scopes;
pub use ::axum;
pub use ::core;
pub use ::serde;
pub use ::std;
#[cfg(feature = "openapi")]
pub use ::utoipa;
#[cfg(feature = "openapi")]
pub use ::utoipa_axum;

pub use core::{future::Future, marker::Send, option::Option};

pub use axum::extract::{FromRef, FromRequest, FromRequestParts};

pub use crate::authz::{
    Authorization, Decision, Many, One, Policy, PolicyDoc, PolicyInfo, Resource, Rule, RuleDoc, policy_decision,
    scope_decision,
};
pub use crate::backend::routes::routes as backend_routes;
pub use crate::form::{FormBody, FormField};
pub use crate::security::{
    chain::ChainPlan,
    checks::{
        Depth, Four, FunctionWithoutSecured, HandlerArgs, HandlerParams, Later, Next, OnePrincipal, StateOf, Zero,
        assert_one_principal, check_handler, fallback, route_on,
    },
    credential::{AuthenticateSet, CredentialSet, Verified, str_eq},
    declaration::ParseScopeError,
    declaration::deserialize_scope,
    dependency::{CacheEntry, Dependency, Resolve},
    function::{
        CachePolicy, CacheSwitch, Cached, DependencyFn, DescribeAll, Enter, ExtractArgs, Finish, NotCached,
        PlainFinish, Probe, ResultFinish, SecuredFn, ViaDescribe, ViaNothing, assert_parts_extractor,
        assert_request_extractor,
    },
    lifetime::assert_secured_upgrade,
    lifetime::{Bounded, SecuredUpgrade},
    requirement::{Alternative, CredentialRef, Describe, Requirement, Walk},
    scopes::{RequiredScopes, ScopeAt, is_scope_token},
};
pub use crate::transport::scheme::Scheme;

/// The defensive parsers of provider documents, for the fuzz targets and tests: not public API.
#[cfg(feature = "oidc")]
pub use crate::strategies::oidc::{
    discovery::parse_metadata,
    introspection::parse_introspection_response,
    key_set::{MAX_KEYS, ParsedKeySet, SkippedKey, parse_key_set},
};

#[cfg(feature = "openapi")]
pub use crate::openapi::document::document_operation;
#[cfg(feature = "redis")]
pub use crate::strategies::redis::connection_config;
pub use crate::{strategies::denylist::token_id, transport::authorization::authorization_credentials};

/// What the users routers accept as backends: one backend, or a tuple of them.
#[cfg(all(feature = "users", any(feature = "database-sqlite", feature = "database-postgres")))]
pub use crate::users::current::UserBackends;
