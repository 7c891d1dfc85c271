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

pub use axum::extract::{FromRequest, FromRequestParts};

pub use crate::security::{
    CacheEntry, Dependency, Describe, RequiredScopes, Resolve, Walk,
    checks::{
        Depth, Four, FunctionWithoutSecured, HandlerArgs, HandlerParams, Later, Next, OnePrincipal, StateOf, Zero,
        assert_one_principal, check_handler, fallback, route_on,
    },
    credential::{AuthenticateSet, CredentialSet, Verified, str_eq},
    declaration::deserialize_scope,
    function::{
        CachePolicy, CacheSwitch, Cached, DependencyFn, DescribeAll, Enter, ExtractArgs, Finish, NotCached,
        PlainFinish, Probe, ResultFinish, SecuredFn, ViaDescribe, ViaNothing, assert_parts_extractor,
        assert_request_extractor,
    },
    lifetime::assert_secured_upgrade,
};
