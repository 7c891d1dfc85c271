//! Who the current user is: a backend authenticates the request ([`Authenticated`]), its
//! subject is a user id, and the user row decides the rest (active, verified, superuser).
//!
//! This is the only file of the users module that knows how requests are authenticated: once
//! credentials are a trait of their own (`Credential`), a user credential whose granted scopes
//! come from the row replaces these two extractors.

use std::marker::PhantomData;

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use uuid::Uuid;

use super::{
    error::{FlowError, UsersError},
    hooks::UserHooks,
    model::User,
    user_manager::UserManager,
};
use crate::backend::{Authenticated, BackendSet};

/// The active user behind the request, authenticated by backend `B` (or the first of a tuple of
/// backends), as fastapi-users' `current_user(active=True)`.
///
/// - no credential, a bad one, a token of a deleted user, an inactive user: 401
///   `{"detail": "Unauthorized"}`;
/// - an unverified user where the manager requires verification: 403 `{"detail": "Forbidden"}`;
/// - a store that is down: 503.
///
/// `Option<CurrentUser<B, H>>` is `None` instead of any of these but the 503.
pub struct CurrentUser<B, H: UserHooks>(pub User<H::Fields>, PhantomData<fn() -> B>);

/// The active superuser behind the request, as fastapi-users' `current_user(active=True,
/// superuser=True)`: [`CurrentUser`]'s answers, and 403 `{"detail": "Forbidden"}` for a user who
/// is not a superuser.
pub struct Superuser<B, H: UserHooks>(pub User<H::Fields>, PhantomData<fn() -> B>);

impl<B, H: UserHooks> CurrentUser<B, H> {
    /// The user.
    pub fn into_inner(self) -> User<H::Fields> {
        self.0
    }
}

impl<B, H: UserHooks> Superuser<B, H> {
    /// The user.
    pub fn into_inner(self) -> User<H::Fields> {
        self.0
    }
}

impl<B, H: UserHooks> std::ops::Deref for CurrentUser<B, H> {
    type Target = User<H::Fields>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<B, H: UserHooks> std::ops::Deref for Superuser<B, H> {
    type Target = User<H::Fields>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<B, H: UserHooks> std::fmt::Debug for CurrentUser<B, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CurrentUser").field(&self.0).finish()
    }
}

impl<B, H: UserHooks> std::fmt::Debug for Superuser<B, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Superuser").field(&self.0).finish()
    }
}

/// The request's active user, with fastapi-users' answers; see [`CurrentUser`].
async fn active_user<B, H, S>(parts: &mut Parts, state: &S) -> Result<User<H::Fields>, UsersError>
where
    B: BackendSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let principal = <Authenticated<B> as FromRequestParts<S>>::from_request_parts(parts, state)
        .await
        .map_err(UsersError::from_auth)?;
    // A subject that is not a user id (a token of another kind of backend) is no user.
    let id = Uuid::parse_str(&principal.subject).map_err(|_| UsersError::Unauthorized { challenge: None })?;
    let manager = UserManager::<H>::from_ref(state);
    let user = match manager.get(id).await {
        Ok(Some(user)) if user.is_active => user,
        Ok(_) => return Err(UsersError::Unauthorized { challenge: None }),
        Err(FlowError::Store(error)) => return Err(UsersError::Auth(error)),
        Err(_) => return Err(UsersError::Unauthorized { challenge: None }),
    };
    if manager.requires_verification() && !user.is_verified {
        return Err(UsersError::Forbidden);
    }
    Ok(user)
}

impl<B, H, S> FromRequestParts<S> for CurrentUser<B, H>
where
    B: BackendSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UsersError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(active_user::<B, H, S>(parts, state).await?, PhantomData))
    }
}

impl<B, H, S> OptionalFromRequestParts<S> for CurrentUser<B, H>
where
    B: BackendSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UsersError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match active_user::<B, H, S>(parts, state).await {
            Ok(user) => Ok(Some(Self(user, PhantomData))),
            Err(error @ UsersError::Auth(_)) => Err(error),
            Err(_) => Ok(None),
        }
    }
}

impl<B, H, S> FromRequestParts<S> for Superuser<B, H>
where
    B: BackendSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UsersError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = active_user::<B, H, S>(parts, state).await?;
        if !user.is_superuser {
            return Err(UsersError::Forbidden);
        }
        Ok(Self(user, PhantomData))
    }
}
