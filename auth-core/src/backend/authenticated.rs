//! [`Authenticated`]: the principal of a request, authenticated by the first backend of a set
//! that accepts its credential, with its scopes checked against the dependency chain.

use std::{future::Future, marker::PhantomData};

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::AuthBackend;
use crate::{
    error::AuthError,
    scopes::{SecurityScopes, enforce},
    strategies::{Strategy, TokenInfo},
};

/// Who made the request, and through which backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The strategy's subject: a username or user id.
    pub subject: String,
    /// The scopes the credential grants.
    pub scopes: Vec<String>,
    /// The name of the backend that authenticated the request.
    pub backend: &'static str,
}

/// What one backend made of a request.
enum Attempt {
    NoCredential(crate::error::Challenge),
    Failed(AuthError),
    Authenticated(Principal),
}

async fn try_backend<B, S>(parts: &Parts, state: &S) -> Attempt
where
    B: AuthBackend + FromRef<S>,
{
    let backend = B::from_ref(state);
    let Some(token) = backend.transport().read(parts) else {
        return Attempt::NoCredential(backend.transport().challenge());
    };
    match backend.strategy().read_token(&token).await {
        Ok(TokenInfo { subject, scopes }) => Attempt::Authenticated(Principal { subject, scopes, backend: B::NAME }),
        Err(error) => Attempt::Failed(error),
    }
}

/// One backend, or a tuple of backends tried in order (fastapi-users: the first to
/// authenticate wins).
pub trait BackendSet<S>: BackendNames {
    #[doc(hidden)]
    fn authenticate(parts: &Parts, state: &S) -> impl Future<Output = Result<Principal, AuthError>> + Send;
}

/// The names of one backend or of a tuple of backends, in order; what OpenAPI lists.
pub trait BackendNames: Send + Sync + 'static {
    /// The backends' names, in order.
    fn names() -> Vec<&'static str>;
}

impl<B: AuthBackend> BackendNames for B {
    fn names() -> Vec<&'static str> {
        vec![B::NAME]
    }
}

/// Combines the outcomes: the first success wins; otherwise a store outage (503) beats a bad
/// credential (401 `Could not validate credentials`), which beats no credential at all.
fn settle(attempts: Vec<Attempt>, scopes: &SecurityScopes) -> Result<Principal, AuthError> {
    let mut first_challenge = None;
    let mut failure: Option<AuthError> = None;
    for attempt in attempts {
        match attempt {
            Attempt::Authenticated(principal) => return Ok(principal),
            Attempt::NoCredential(challenge) => {
                first_challenge.get_or_insert(challenge);
            }
            Attempt::Failed(error) => {
                let error = match error {
                    AuthError::Unavailable | AuthError::Internal => error,
                    _ => AuthError::InvalidCredentials { scopes: scopes.clone() },
                };
                if !matches!(failure, Some(AuthError::Unavailable | AuthError::Internal)) {
                    failure = Some(error);
                }
            }
        }
    }
    Err(failure.unwrap_or(AuthError::NotAuthenticated {
        challenge: first_challenge.unwrap_or(crate::error::Challenge::Bearer),
    }))
}

impl<B, S> BackendSet<S> for B
where
    B: AuthBackend + FromRef<S>,
    S: Send + Sync,
{
    async fn authenticate(parts: &Parts, state: &S) -> Result<Principal, AuthError> {
        let attempt = try_backend::<B, S>(parts, state).await;
        settle(vec![attempt], &SecurityScopes::current(parts))
    }
}

macro_rules! backend_tuple {
    ($($backend:ident),+) => {
        impl<S, $($backend),+> BackendSet<S> for ($($backend,)+)
        where
            S: Send + Sync,
            $($backend: AuthBackend + FromRef<S>,)+
        {
            async fn authenticate(parts: &Parts, state: &S) -> Result<Principal, AuthError> {
                let () = <Self as DistinctNames>::CHECK;
                let mut attempts = Vec::new();
                $(
                    let attempt = try_backend::<$backend, S>(parts, state).await;
                    let done = matches!(attempt, Attempt::Authenticated(_));
                    attempts.push(attempt);
                    if done {
                        return settle(attempts, &SecurityScopes::current(parts));
                    }
                )+
                settle(attempts, &SecurityScopes::current(parts))
            }
        }

        impl<$($backend: AuthBackend),+> BackendNames for ($($backend,)+) {
            fn names() -> Vec<&'static str> {
                vec![$($backend::NAME),+]
            }
        }

        impl<$($backend: AuthBackend),+> DistinctNames for ($($backend,)+) {
            const CHECK: () = {
                let names = [$($backend::NAME),+];
                let mut i = 0;
                while i < names.len() {
                    let mut j = i + 1;
                    while j < names.len() {
                        assert!(!crate::__private::str_eq(names[i], names[j]), "two backends of one `Authenticated<(…)>` share a name; backend names must be unique");
                        j += 1;
                    }
                    i += 1;
                }
            };
        }
    };
}

/// Rejects, at compile time, a tuple of backends in which two share a name.
trait DistinctNames {
    const CHECK: ();
}

backend_tuple!(A, B);
backend_tuple!(A, B, C);
backend_tuple!(A, B, C, D);

/// The authenticated principal, as an extractor and a `#[secured]` dependency's parameter.
///
/// `Authenticated<JwtBackend>` uses one backend; `Authenticated<(CookieBackend, JwtBackend)>`
/// tries them in order, and [`Principal::backend`] says which one accepted the credential.
/// Rejections: no credential at all, 401 `Not authenticated` with the first backend's
/// challenge; a bad credential, 401 `Could not validate credentials`; a store that is down,
/// 503; a credential lacking a required scope, 401 `Not enough permissions` (see
/// [`enforce`]). `Option<Authenticated<B>>` never rejects.
pub struct Authenticated<B>(pub Principal, PhantomData<fn() -> B>);

impl<B> Authenticated<B> {
    /// The principal.
    pub fn into_inner(self) -> Principal {
        self.0
    }
}

impl<B> std::ops::Deref for Authenticated<B> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<B> Clone for Authenticated<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<B> std::fmt::Debug for Authenticated<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Authenticated").field(&self.0).finish()
    }
}

impl<B: BackendSet<S>, S: Send + Sync> FromRequestParts<S> for Authenticated<B> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = B::authenticate(parts, state).await?;
        enforce(parts, &principal.scopes)?;
        Ok(Self(principal, PhantomData))
    }
}

impl<B: BackendSet<S>, S: Send + Sync> OptionalFromRequestParts<S> for Authenticated<B> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let principal = B::authenticate(parts, state).await.ok();
        let required = SecurityScopes::current(parts);
        Ok(principal.filter(|p| required.is_satisfied_by(&p.scopes)).map(|p| Self(p, PhantomData)))
    }
}
