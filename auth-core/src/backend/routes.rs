//! A backend's routes: `POST /login` with the OAuth2 password form, `POST /logout`.

use std::{future::Future, marker::PhantomData};

use axum::{
    Router,
    extract::{FromRef, FromRequestParts, State},
    http::request::Parts,
    response::Response,
    routing::post,
};

use super::AuthBackend;
use crate::{Authenticated, error::AuthError, form::OAuth2PasswordRequestForm, logging, strategies::Strategy};

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

    /// [`authenticate`](Self::authenticate), for a login sent by the request `parts`: what HTTP
    /// Basic ([`HttpBasic`](super::HttpBasic)) calls on every request. By default the same; an
    /// authenticator that throttles per client address (the users' `UserManager`) reads the
    /// address here, and answers a throttled client [`AuthError::TooManyAttempts`].
    fn authenticate_request(
        &self,
        username: &str,
        password: &str,
        parts: &Parts,
    ) -> impl Future<Output = Result<LoginGrant, AuthError>> + Send {
        let _ = parts;
        self.authenticate(username, password)
    }
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGrant {
    /// The strategy's subject for this user.
    pub subject: String,
    /// The scopes this user may be granted; a login gets those it asks for among them.
    pub allowed_scopes: Vec<String>,
}

/// `POST /login` and `POST /logout` for backend `B`, authenticating logins with `A`: what the
/// derive's `B::router::<A, S>()` returns (see [the module](super)).
///
/// - login: 200 `{"access_token", "token_type": "bearer"}`, or 204 with `Set-Cookie` for the
///   cookie transport, with `Cache-Control: no-store` and `Pragma: no-cache`; 400 `Incorrect
///   username or password`, logged at `info` with the username and the client's address; 422
///   for a bad form.
/// - logout: the strategy destroys the token (the row, the Redis key); 204, clearing the cookie
///   for the cookie transport; 401 without a valid credential.
/// - with the cookie transport, both refuse a request from another site with 403
///   ([`SameOrigin`]).
pub fn routes<B, A, S>() -> Router<S>
where
    B: AuthBackend + FromRef<S>,
    A: Authenticator + FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/login", post(login::<B, A, S>)).route("/logout", post(logout::<B, S>))
}

/// An extractor that refuses, for backend `B`'s cookie transport, a request sent by a page of
/// another site: 403 [`AuthError::CrossSiteRequest`] (see
/// [`CookieOptions::check_origin`](super::CookieOptions::check_origin)). Other transports pass
/// every request. The backend's login and logout routes take it first; put it first in a refresh
/// route of your own.
pub struct SameOrigin<B>(PhantomData<fn() -> B>);

impl<B, S> FromRequestParts<S> for SameOrigin<B>
where
    B: AuthBackend,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        B::transport().check_origin(parts)?;
        Ok(Self(PhantomData))
    }
}

async fn login<B, A, S>(
    _: SameOrigin<B>,
    State(state): State<S>,
    client: logging::ClientAddr,
    form: OAuth2PasswordRequestForm,
) -> Result<Response, AuthError>
where
    B: AuthBackend + FromRef<S>,
    A: Authenticator + FromRef<S>,
    S: Send + Sync,
{
    let grant = match A::from_ref(&state).authenticate(&form.username, &form.password).await {
        Ok(grant) => grant,
        Err(error) => {
            if matches!(error, AuthError::IncorrectLogin | AuthError::InactiveUser) {
                logging::login_failed(B::NAME, &form.username, client.0);
            }
            return Err(error);
        }
    };
    let scopes = form.scopes_within(&grant.allowed_scopes);
    let backend = B::from_ref(&state);
    let token = backend.strategy().write_token(&grant.subject, &scopes).await?;
    match B::transport().login_response(&token) {
        Ok(response) => {
            tracing::info!(backend = B::NAME, subject = %grant.subject, client = ?client.0, "login");
            Ok(response)
        }
        Err(error) => {
            // The client never receives this token: do not leave it valid in the store.
            let _ = backend.strategy().destroy_token(&token).await;
            Err(error)
        }
    }
}

async fn logout<B, S>(
    _: SameOrigin<B>,
    State(state): State<S>,
    user: Authenticated<B>,
    parts: Parts,
) -> Result<Response, AuthError>
where
    B: AuthBackend + FromRef<S>,
    S: Send + Sync,
{
    let backend = B::from_ref(&state);
    // The credential was just read and verified by `Authenticated`, so it is present.
    let token = B::transport().read(&parts).ok_or(AuthError::InvalidToken)?;
    backend.strategy().destroy_token(&token).await?;
    tracing::info!(backend = B::NAME, subject = %user.subject, client = ?logging::client_addr(&parts), "logout");
    B::transport().logout_response()
}
