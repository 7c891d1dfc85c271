//! A backend's `POST /login` and `POST /logout` for users (fastapi-users' `get_auth_router`).

use axum::{
    Router,
    extract::{FromRef, State},
    http::{HeaderValue, header, request::Parts},
    response::Response,
    routing::post,
};

use super::paths;
use crate::{
    backend::AuthBackend,
    form::OAuth2PasswordRequestForm,
    security::Authenticate,
    strategies::Strategy,
    users::{
        CurrentUser, ErrorCode, RequestContext, UserHooks, UserManager, UserToken, UsersError, error::FlowError,
        user_manager::LoginOutcome,
    },
};

/// `POST /login` and `POST /logout` of backend `B` for the users of `H`; nest it at the
/// backend's token URL (`/auth/jwt`).
///
/// - login, with the OAuth2 password form (`username` is the email): the backend's answer
///   (200 `{"access_token", "token_type": "bearer"}`, or 204 with `Set-Cookie`); 400
///   `LOGIN_BAD_CREDENTIALS` for a wrong email or password or an inactive user; 400
///   `LOGIN_USER_NOT_VERIFIED` when verification is required; 422 for a bad form; 429
///   `LOGIN_TOO_MANY_ATTEMPTS` with `Retry-After` when throttled.
/// - logout: the backend destroys the token; 204 (clearing the cookie); 401 without an active
///   user; 403 for an unverified one where verification is required.
///
/// Tokens name the user by id (`sub`), so a deleted user's tokens stop working.
pub fn auth_router<H, B, S>() -> Router<S>
where
    H: UserHooks,
    B: AuthBackend + FromRef<S>,
    UserToken<B, H>: Authenticate<S>,
    UserManager<H>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route(paths::LOGIN, post(login::<H, B, S>)).route(paths::LOGOUT, post(logout::<H, B, S>))
}

async fn login<H, B, S>(
    State(state): State<S>,
    request: RequestContext,
    form: OAuth2PasswordRequestForm,
) -> Result<Response, UsersError>
where
    H: UserHooks,
    B: AuthBackend + FromRef<S>,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let manager = UserManager::<H>::from_ref(&state);
    let outcome = manager.login(&form.username, &form.password, &request).await.map_err(|error| match error {
        FlowError::Throttled { retry_after } => UsersError::TooManyAttempts { retry_after },
        FlowError::Store(error) => UsersError::Auth(error),
        _ => UsersError::Code(ErrorCode::LoginBadCredentials),
    })?;
    let user = match outcome {
        LoginOutcome::LoggedIn(user) => user,
        LoginOutcome::BadCredentials => return Err(UsersError::Code(ErrorCode::LoginBadCredentials)),
        LoginOutcome::NotVerified => return Err(UsersError::Code(ErrorCode::LoginUserNotVerified)),
    };
    let backend = B::from_ref(&state);
    let token = backend.strategy().write_token(&user.id.to_string(), &[]).await?;
    tracing::info!(backend = B::NAME, user = %user.id, "login");
    let mut response = B::transport().login_response(&token);
    response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    manager.hooks().after_login(&user, &request).await;
    Ok(response)
}

async fn logout<H, B, S>(State(state): State<S>, user: CurrentUser<B, H>, parts: Parts) -> Result<Response, UsersError>
where
    H: UserHooks,
    B: AuthBackend + FromRef<S>,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let backend = B::from_ref(&state);
    // `CurrentUser` just read and verified this credential, so it is present.
    let token = B::transport().read(&parts).ok_or(UsersError::Unauthorized { challenge: None })?;
    backend.strategy().destroy_token(&token).await?;
    tracing::info!(backend = B::NAME, user = %user.id, "logout");
    Ok(B::transport().logout_response())
}
