//! Who the current user is, as a [`Credential`] (see the [users module docs](super)); the row,
//! not the token, grants the scopes, so a user made or unmade superuser is one at the next
//! request, whatever tokens they hold.
//!
//! - [`UserToken<B, H>`] is the credential, for one backend `B`; [`UserBackends`] maps a
//!   backend or a tuple of backends to the matching credentials, so `Authenticated<…>` of them
//!   tries each in order and documents each as an alternative.
//! - [`CurrentUser`] and [`Superuser`] are the extractors the users routes use, answering as
//!   fastapi-users does (401 `Unauthorized`, 403 `Forbidden`).
//!
//! This is the only file of the users module that knows how requests are authenticated.

use std::{borrow::Cow, marker::PhantomData, ops::Deref, time::SystemTime};

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use uuid::Uuid;

use super::{
    error::UsersError,
    hooks::UserHooks,
    model::{StoredUser, User},
    sessions::issued_before_change,
    user_manager::UserManager,
};
use crate::{
    Scopes,
    backend::AuthBackend,
    error::{AuthError, Challenge},
    security::{
        Authenticate, Authenticated, Credential, Describe, Lifetime, RequiredScopes, SchemeKind, Walk,
        credential::{AuthenticateSet, CredentialSet},
        function::SecuredFn,
    },
    strategies::Strategy,
};

/// The scopes a user row grants. Declared like an app's own scopes, so apps can require them
/// in `#[secured(scopes = ["users:superuser"], declaration = auth_core::users::UserScope)]`.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
#[scopes(crate = "crate")]
pub enum UserScope {
    /// Read, change and delete other users (superusers only).
    #[scope("users:superuser")]
    Superuser,
}

/// The scope a superuser's row grants, as written in requirements.
pub(crate) const SUPERUSER_SCOPE: &str = "users:superuser";

/// A user authenticated by backend `B` (which issued the token at the users' `/login`): a
/// [`Credential`] whose principal is the active user, with the scopes the row grants.
///
/// Documented as `B` is (same scheme name, same scheme): it is the same credential on the
/// wire, read with more care. Refused like a bad token: a subject that is not a user id, a
/// deleted user, an inactive one.
pub struct UserToken<B, H>(PhantomData<fn() -> (B, H)>);

/// What a [`UserToken`] yields: the active user, and the scopes its row grants.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPrincipal<F> {
    /// The user.
    pub user: User<F>,
    scopes: Vec<String>,
    backend: &'static str,
}

impl<F> UserPrincipal<F> {
    /// The principal of `user`: superusers are granted `users:superuser`
    /// ([`UserScope::Superuser`]).
    pub fn new(user: User<F>) -> Self {
        let scopes = if user.is_superuser { vec![SUPERUSER_SCOPE.to_owned()] } else { Vec::new() };
        Self { user, scopes, backend: "" }
    }

    /// The scopes the credential grants: those of the row, or for a credential carrying scopes
    /// of its own (an API key), those of its scopes the row still grants.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The name of the backend that authenticated the user: `"jwt"` for a token of the `jwt`
    /// backend, `"APIKeyHeader"` for a key of [`ApiKeys`](crate::strategies::ApiKeys), so a
    /// route taking either learns which it got; `""` for a principal made with
    /// [`new`](Self::new).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The user.
    pub fn into_user(self) -> User<F> {
        self.user
    }
}

impl<F> Deref for UserPrincipal<F> {
    type Target = User<F>;

    fn deref(&self) -> &User<F> {
        &self.user
    }
}

impl<B: AuthBackend, H: UserHooks> Credential for UserToken<B, H> {
    type Principal = UserPrincipal<H::Fields>;
    const SCHEME_NAME: &'static str = B::NAME;

    fn scheme() -> SchemeKind {
        <B as Credential>::scheme()
    }

    fn granted_scopes(principal: &Self::Principal) -> &[String] {
        &principal.scopes
    }

    fn challenge() -> Challenge {
        <B as Credential>::challenge()
    }

    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        <B as Credential>::read(parts)
    }
}

/// The backend's token, then the user row: a connection opened by a user ends when the token
/// does (its expiry, and its store's revocation), or when the user is deleted or deactivated,
/// or changes their password, all found by verifying it again.
impl<B, H, S> Authenticate<S> for UserToken<B, H>
where
    B: AuthBackend + FromRef<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    async fn verify(token: &str, state: &S) -> Result<(Self::Principal, Lifetime), AuthError> {
        let verified = <B as Authenticate<S>>::verify(token, state).await?;
        user::<B, H, S>(verified, state).await
    }

    async fn verify_request(parts: &Parts, token: &str, state: &S) -> Result<(Self::Principal, Lifetime), AuthError> {
        let verified = <B as Authenticate<S>>::verify_request(parts, token, state).await?;
        user::<B, H, S>(verified, state).await
    }
}

/// The active user behind what backend `B` verified, with the scopes the credential grants.
async fn user<B, H, S>(
    (principal, lifetime): (crate::backend::Principal, Lifetime),
    state: &S,
) -> Result<(UserPrincipal<H::Fields>, Lifetime), AuthError>
where
    B: AuthBackend,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
{
    let manager = UserManager::<H>::from_ref(state);
    let user = active_row(&manager, user_id(&principal.subject)?, principal.issued_at).await?;
    let mut user = UserPrincipal::new(user);
    user.backend = B::NAME;
    if <B::Strategy as Strategy>::SCOPED_TOKENS {
        // A key grants what it was minted with, within what its owner still holds.
        user.scopes.retain(|scope| principal.scopes.contains(scope));
    }
    Ok((user, lifetime.revocable()))
}

/// A subject that is not a user id (a token of another kind of login) is no user.
fn user_id(subject: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(subject).map_err(|_| AuthError::invalid_credentials())
}

/// The user `id` if it exists, is active, and has not changed their password since the token
/// was issued (`issued_at`, when the strategy knows it; see [`issued_before_change`]); a store
/// that does not answer stays what it is.
async fn active_row<H: UserHooks>(
    manager: &UserManager<H>,
    id: Uuid,
    issued_at: Option<SystemTime>,
) -> Result<User<H::Fields>, AuthError> {
    let stored: StoredUser<H::Fields> = manager.store().by_id(id).await?.ok_or_else(AuthError::invalid_credentials)?;
    if !stored.user.is_active || issued_before_change(issued_at, stored.password_changed_at) {
        return Err(AuthError::invalid_credentials());
    }
    Ok(stored.user)
}

/// A backend, or a tuple of backends, whose tokens name users of `H`: the matching
/// [`UserToken`] credentials, tried in order.
pub trait UserBackends<H: UserHooks>: Send + Sync + 'static {
    /// `UserToken<B, H>`, or a tuple of them.
    type Credentials: CredentialSet<Principal = UserPrincipal<H::Fields>>;
}

impl<H: UserHooks, B: AuthBackend> UserBackends<H> for B {
    type Credentials = UserToken<B, H>;
}

macro_rules! user_backend_tuple {
    ($($backend:ident),+) => {
        impl<H: UserHooks, $($backend: AuthBackend),+> UserBackends<H> for ($($backend,)+) {
            type Credentials = ($(UserToken<$backend, H>,)+);
        }
    };
}

user_backend_tuple!(A, B);
user_backend_tuple!(A, B, C);
user_backend_tuple!(A, B, C, D);

/// The active user behind the request, authenticated by backend `B` (or the first of a tuple of
/// backends) as [`Authenticated`] authenticates (scopes of a `#[secured]` chain included), with
/// fastapi-users' answers, as its `current_user(active=True)`:
///
/// - no credential, a bad one, a token of a deleted user, an inactive user: 401
///   `{"detail": "Unauthorized"}` (with the backend's `WWW-Authenticate`);
/// - a scope the chain requires and the row does not grant, or an unverified user where the
///   manager requires verification: 403 `{"detail": "Forbidden"}`;
/// - a store that is down: 503.
///
/// `Option<CurrentUser<B, H>>` is `None` instead of any of these but the 503. In a `#[secured]`
/// handler it is documented as `Authenticated` of its backends.
///
/// With `SUPERUSER`, it is [`Superuser`].
pub struct CurrentUser<B, H: UserHooks, const SUPERUSER: bool = false>(pub User<H::Fields>, PhantomData<fn() -> B>);

/// The active superuser behind the request, as fastapi-users' `current_user(active=True,
/// superuser=True)`: [`CurrentUser`]'s answers, and 403 `{"detail": "Forbidden"}` for a user who
/// is not a superuser, whether or not a chain requires [`UserScope::Superuser`].
pub type Superuser<B, H> = CurrentUser<B, H, true>;

impl<B, H: UserHooks, const SUPERUSER: bool> CurrentUser<B, H, SUPERUSER> {
    /// The user.
    pub fn into_inner(self) -> User<H::Fields> {
        self.0
    }
}

impl<B, H: UserHooks, const SUPERUSER: bool> Deref for CurrentUser<B, H, SUPERUSER> {
    type Target = User<H::Fields>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<B, H: UserHooks, const SUPERUSER: bool> std::fmt::Debug for CurrentUser<B, H, SUPERUSER> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple(if SUPERUSER { "Superuser" } else { "CurrentUser" }).field(&self.0).finish()
    }
}

/// The request's active user, with fastapi-users' answers; see [`CurrentUser`].
async fn active_user<B, H, S>(parts: &mut Parts, state: &S) -> Result<User<H::Fields>, UsersError>
where
    B: UserBackends<H>,
    B::Credentials: AuthenticateSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let Authenticated(principal) =
        <Authenticated<B::Credentials> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(UsersError::from_auth)?;
    if UserManager::<H>::from_ref(state).requires_verification() && !principal.is_verified {
        return Err(UsersError::Forbidden);
    }
    Ok(principal.into_user())
}

impl<B, H, S, const SUPERUSER: bool> FromRequestParts<S> for CurrentUser<B, H, SUPERUSER>
where
    B: UserBackends<H>,
    B::Credentials: AuthenticateSet<S>,
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = UsersError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = active_user::<B, H, S>(parts, state).await?;
        // The row decides, also where no chain requires the superuser scope.
        if SUPERUSER && !user.is_superuser {
            return Err(UsersError::Forbidden);
        }
        Ok(Self(user, PhantomData))
    }
}

impl<B, H, S> OptionalFromRequestParts<S> for CurrentUser<B, H>
where
    B: UserBackends<H>,
    B::Credentials: AuthenticateSet<S>,
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

impl<B: UserBackends<H>, H: UserHooks, const SUPERUSER: bool> Describe for CurrentUser<B, H, SUPERUSER> {
    fn describe(walk: &mut Walk) {
        <Authenticated<B::Credentials> as Describe>::describe(walk);
    }
}

/// What a users route requires, described as `#[secured]` describes a handler: its scopes
/// (`users:superuser` for the superuser routes) and its credential (`B`'s [`UserToken`]s).
///
/// The routes are generic over the app's types, which `#[secured]` functions cannot be, so
/// their descriptions are written here. The superuser routes enter their chain with it, as a
/// `#[secured]` handler does, so [`Authenticated`] enforces the scope; and every route's
/// OpenAPI operation documents its requirement from it.
pub(crate) struct RouteRequirement<H, B, const SUPERUSER: bool>(PhantomData<fn() -> (H, B)>);

impl<H: UserHooks, B: UserBackends<H>, const SUPERUSER: bool> SecuredFn for RouteRequirement<H, B, SUPERUSER> {
    const SCOPES: RequiredScopes =
        if SUPERUSER { RequiredScopes::all(&[SUPERUSER_SCOPE]) } else { RequiredScopes::NONE };
    type Dependencies = ();

    fn describe(walk: &mut Walk) {
        <Authenticated<B::Credentials> as Describe>::describe(walk);
    }
}

/// What `POST /login` reads: the OAuth2 password form, and no credential.
pub(crate) struct LoginRequirement;

impl SecuredFn for LoginRequirement {
    const SCOPES: RequiredScopes = RequiredScopes::NONE;
    type Dependencies = ();

    fn describe(walk: &mut Walk) {
        <crate::form::OAuth2PasswordRequestForm as Describe>::describe(walk);
    }
}
