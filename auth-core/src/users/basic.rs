//! The users as an [`Authenticator`]: what HTTP Basic ([`HttpBasic<UserManager<H>>`]) and a
//! backend's own `/login` check, through [`UserManager::login`] and so through its throttle.
//!
//! [`HttpBasic<UserManager<H>>`]: crate::backend::HttpBasic

use axum::http::request::Parts;

use super::{
    current::UserPrincipal,
    error::FlowError,
    hooks::{RequestContext, UserHooks},
    user_manager::{LoginOutcome, UserManager},
};
use crate::{
    backend::{Authenticator, LoginGrant},
    error::AuthError,
};

/// A user's email and password, checked as `POST /auth/jwt/login` checks them: the login
/// throttle first (429 [`AuthError::TooManyAttempts`] with `Retry-After`), then the password
/// on the password pool, an unknown email costing what a wrong password costs. The grant's
/// subject is the user's id, its scopes those the row grants (`users:superuser` for a
/// superuser). A wrong password or an inactive user is [`AuthError::IncorrectLogin`]; an
/// unverified user where verification is required is refused as a bad credential.
impl<H: UserHooks> Authenticator for UserManager<H> {
    async fn authenticate(&self, username: &str, password: &str) -> Result<LoginGrant, AuthError> {
        grant(self.login(username, password, &RequestContext::default()).await)
    }

    async fn authenticate_request(
        &self,
        username: &str,
        password: &str,
        parts: &Parts,
    ) -> Result<LoginGrant, AuthError> {
        grant(self.login(username, password, &RequestContext::from_parts(parts)).await)
    }
}

fn grant<F>(outcome: Result<LoginOutcome<F>, FlowError>) -> Result<LoginGrant, AuthError> {
    match outcome {
        Ok(LoginOutcome::LoggedIn(user)) => {
            let subject = user.id.to_string();
            Ok(LoginGrant { subject, allowed_scopes: UserPrincipal::new(user).scopes().to_vec() })
        }
        Ok(LoginOutcome::BadCredentials) => Err(AuthError::IncorrectLogin),
        Ok(LoginOutcome::NotVerified) => Err(AuthError::invalid_credentials()),
        Err(FlowError::Throttled { retry_after }) => Err(AuthError::TooManyAttempts { retry_after }),
        Err(FlowError::Store(error)) => Err(error),
        Err(_) => Err(AuthError::Internal),
    }
}
