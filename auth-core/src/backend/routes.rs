//! A backend's routes: `POST /login` with the OAuth2 password form, `POST /logout`.

use std::future::Future;

use axum::{
    Router,
    extract::{FromRef, State},
    http::request::Parts,
    response::Response,
    routing::post,
};

use super::AuthBackend;
use crate::{Authenticated, error::AuthError, form::OAuth2PasswordRequestForm, strategies::Strategy};

/// Who may log in: what the app checks a username and password against.
pub trait Authenticator: Send + Sync + 'static {
    /// The login's subject and the scopes it may be granted, if the password is right;
    /// [`AuthError::IncorrectLogin`] otherwise. Unknown users must cost as much as wrong
    /// passwords: use [`Passwords::verify_and_upgrade`](crate::password::Passwords::verify_and_upgrade)
    /// with `None`.
    fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<LoginGrant, AuthError>> + Send;
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGrant {
    /// The strategy's subject for this user.
    pub subject: String,
    /// The scopes this user may be granted; a login gets those it asks for among them.
    pub allowed_scopes: Vec<String>,
}

/// `POST /login` and `POST /logout` for backend `B`, authenticating logins with `A`; nest it
/// where the backend's `token_url` points, e.g. `.nest("/auth/jwt", routes::<JwtBackend, AppState, AppState>())`.
///
/// - login: 200 `{"access_token", "token_type": "bearer"}`, or 204 with `Set-Cookie` for the
///   cookie transport; 400 `Incorrect username or password`; 422 for a bad form.
/// - logout: the strategy destroys the token (the row, the Redis key); 204, clearing the cookie
///   for the cookie transport; 401 without a valid credential.
pub fn routes<B, A, S>() -> Router<S>
where
    B: AuthBackend + FromRef<S>,
    A: Authenticator + FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/login", post(login::<B, A, S>)).route("/logout", post(logout::<B, S>))
}

async fn login<B, A, S>(State(state): State<S>, form: OAuth2PasswordRequestForm) -> Result<Response, AuthError>
where
    B: AuthBackend + FromRef<S>,
    A: Authenticator + FromRef<S>,
    S: Send + Sync,
{
    let grant = A::from_ref(&state).authenticate(&form.username, &form.password).await?;
    let scopes = form.scopes_within(&grant.allowed_scopes);
    let backend = B::from_ref(&state);
    let token = backend.strategy().write_token(&grant.subject, &scopes).await?;
    tracing::info!(backend = B::NAME, subject = %grant.subject, "login");
    Ok(B::transport().login_response(&token))
}

async fn logout<B, S>(State(state): State<S>, user: Authenticated<B>, parts: Parts) -> Result<Response, AuthError>
where
    B: AuthBackend + FromRef<S>,
    S: Send + Sync,
{
    let backend = B::from_ref(&state);
    // The credential was just read and verified by `Authenticated`, so it is present.
    let token = B::transport().read(&parts).ok_or(AuthError::InvalidToken)?;
    backend.strategy().destroy_token(&token).await?;
    tracing::info!(backend = B::NAME, subject = %user.subject, "logout");
    Ok(B::transport().logout_response())
}
