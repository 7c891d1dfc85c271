//! A backend's `POST /login` and `POST /logout` for users (fastapi-users' `get_auth_router`).

use axum::{
    Router,
    extract::{FromRef, State},
    http::request::Parts,
    response::Response,
    routing::post,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::paths;
use crate::{
    backend::{AuthBackend, SameOrigin},
    form::OAuth2PasswordRequestForm,
    logging,
    security::Authenticate,
    strategies::Strategy,
    users::{
        CurrentUser, ErrorCode, RequestContext, UserHooks, UserManager, UserToken, UsersError, error::FlowError,
        openapi, user_manager::LoginOutcome,
    },
};

impl<H: UserHooks> UserManager<H> {
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
    /// With the cookie transport, both refuse a request sent by a page of another site with 403
    /// (login CSRF; see [`SameOrigin`]). A failed login is logged at `info` with the email, the
    /// backend and the client address, never the password.
    ///
    /// Tokens name the user by id (`sub`), so a deleted user's tokens stop working.
    pub fn auth_router<B, S>() -> OpenApiRouter<S>
    where
        H::Fields: ToSchema,
        B: AuthBackend + FromRef<S>,
        UserToken<B, H>: Authenticate<S>,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new().route(paths::LOGIN, post(login::<H, B>)).route(paths::LOGOUT, post(logout::<H, B>));
        openapi::auth::<H, B, S>(router)
    }
}

async fn login<H: UserHooks, B: AuthBackend>(
    _: SameOrigin<B>,
    State(manager): State<UserManager<H>>,
    State(backend): State<B>,
    request: RequestContext,
    form: OAuth2PasswordRequestForm,
) -> Result<Response, UsersError> {
    let outcome = manager.login(&form.username, &form.password, &request).await.map_err(|error| match error {
        FlowError::Throttled { retry_after } => UsersError::TooManyAttempts { retry_after },
        FlowError::Store(error) => UsersError::Auth(error),
        _ => UsersError::Code(ErrorCode::LoginBadCredentials),
    })?;
    let user = match outcome {
        LoginOutcome::LoggedIn(user) => user,
        LoginOutcome::BadCredentials => {
            logging::login_failed(B::NAME, &form.username, request.peer);
            return Err(UsersError::Code(ErrorCode::LoginBadCredentials));
        }
        LoginOutcome::NotVerified => return Err(UsersError::Code(ErrorCode::LoginUserNotVerified)),
    };
    let token = backend.strategy().write_token(&user.id.to_string(), &[]).await?;
    // The transport's answer forbids caching (`Cache-Control: no-store`, RFC 6749 §5.1).
    let response = match B::transport().login_response(&token) {
        Ok(response) => response,
        Err(error) => {
            // The client never receives this token: do not leave it valid in the store.
            let _ = backend.strategy().destroy_token(&token).await;
            return Err(error.into());
        }
    };
    tracing::info!(backend = B::NAME, user = %user.id, client = ?request.peer, "login");
    manager.hooks().after_login(&user, &request).await;
    Ok(response)
}

async fn logout<H: UserHooks, B: AuthBackend>(
    _: SameOrigin<B>,
    State(backend): State<B>,
    user: CurrentUser<B, H>,
    parts: Parts,
) -> Result<Response, UsersError> {
    // `CurrentUser` just read and verified this credential, so it is present.
    let token = B::transport().read(&parts).ok_or(UsersError::Unauthorized { challenge: None })?;
    backend.strategy().destroy_token(&token).await?;
    tracing::info!(backend = B::NAME, user = %user.id, "logout");
    Ok(B::transport().logout_response()?)
}
