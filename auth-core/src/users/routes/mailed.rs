//! The two flows that mail a token, one shape: `POST /request-verify-token` and `POST /verify`
//! (fastapi-users' `get_verify_router`), `POST /forgot-password` and `POST /reset-password`
//! (`get_reset_password_router`).

use axum::{Json, Router, extract::FromRef, extract::State, http::StatusCode, routing::post};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::paths;
use crate::users::{
    ErrorCode, RequestContext, User, UserHooks, UserManager, UsersError,
    body::{Fields, JsonObject},
    error::FlowError,
    mail::MailKind,
    openapi,
};

impl<H: UserHooks> UserManager<H> {
    /// `POST /request-verify-token` and `POST /verify` for the users of `H`; fastapi-users nests
    /// them at `/auth`.
    ///
    /// - request-verify-token, `{"email"}`: 202 and `null`, always, whether the account exists,
    ///   is inactive or is already verified, in the same time (the mail and the hook run on a task
    ///   of their own). The mail links to `{PUBLIC_URL}/verify?token=…`.
    /// - verify, `{"token"}`: 200 with the user; 400 `VERIFY_USER_BAD_TOKEN` for a bad, expired or
    ///   outdated token (the user changed address), 400 `VERIFY_USER_ALREADY_VERIFIED`.
    pub fn verify_router<S>() -> OpenApiRouter<S>
    where
        H::Fields: ToSchema,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new()
            .route(
                paths::REQUEST_VERIFY_TOKEN,
                post(|state, request, body| request_by_email::<H>(MailKind::Verify, state, request, body)),
            )
            .route(paths::VERIFY, post(verify::<H>));
        openapi::verify::<H::Fields, S>(router)
    }

    /// `POST /forgot-password` and `POST /reset-password` for the users of `H`; fastapi-users
    /// nests them at `/auth`.
    ///
    /// - forgot-password, `{"email"}`: 202 and `null`, always, whether or not the account exists or
    ///   is active, after the same work (a lookup, a token signed, a task spawned) either way; the
    ///   mail and the hook run on that task, only for a real account. The mail links to `{PUBLIC_URL}/reset-password?token=…`.
    /// - reset-password, `{"token", "password"}`: 200 and `null`; 400 `RESET_PASSWORD_BAD_TOKEN`
    ///   for a bad, expired or used token, or a user who is gone or inactive; 400
    ///   `{"code": "RESET_PASSWORD_INVALID_PASSWORD", "reason"}`. A token works once: using it
    ///   changes the password it is bound to.
    pub fn reset_password_router<S>() -> OpenApiRouter<S>
    where
        H::Fields: ToSchema,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new()
            .route(
                paths::FORGOT_PASSWORD,
                post(|state, request, body| request_by_email::<H>(MailKind::Reset, state, request, body)),
            )
            .route(paths::RESET_PASSWORD, post(reset_password::<H>));
        openapi::reset_password::<H::Fields, S>(router)
    }
}

/// forgot-password (`Reset`) and request-verify-token (`Verify`), one flow: `{"email"}` in,
/// `202 null` out whatever became of the account, after the same work either way, so that the
/// answer tells nothing about it; only a store failure shows (503).
async fn request_by_email<H: UserHooks>(
    kind: MailKind,
    State(manager): State<UserManager<H>>,
    request: RequestContext,
    body: JsonObject,
) -> Result<(StatusCode, Json<()>), UsersError> {
    let mut fields = Fields::embedded(body);
    let email = fields.email("email");
    let email = fields.finish(email)?;
    match manager.request_by_email(kind, &email, &request).await {
        Ok(()) => {}
        Err(FlowError::Store(error)) => return Err(UsersError::Auth(error)),
        Err(error) => {
            let route = if kind == MailKind::Reset { "forgot-password" } else { "request-verify-token" };
            tracing::warn!(%error, "{route} failed");
        }
    }
    Ok((StatusCode::ACCEPTED, Json(())))
}

async fn verify<H: UserHooks>(
    State(manager): State<UserManager<H>>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<User<H::Fields>>, UsersError> {
    let mut fields = Fields::embedded(body);
    let token = fields.string("token");
    let token = fields.finish(token)?;
    match manager.verify(&token, &request).await {
        Ok(user) => Ok(Json(user)),
        Err(FlowError::UserNotExists) => Err(UsersError::Code(ErrorCode::VerifyUserBadToken)),
        Err(error) => Err(UsersError::from_flow(error, ErrorCode::VerifyUserBadToken, ErrorCode::VerifyUserBadToken)),
    }
}

async fn reset_password<H: UserHooks>(
    State(manager): State<UserManager<H>>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<()>, UsersError> {
    let mut fields = Fields::embedded(body);
    let token = fields.string("token");
    let password = fields.string("password");
    let (token, password) = fields.finish(token.zip(password))?;
    match manager.reset_password(&token, &password, &request).await {
        Ok(_) => Ok(Json(())),
        Err(FlowError::UserNotExists | FlowError::UserInactive) => {
            Err(UsersError::Code(ErrorCode::ResetPasswordBadToken))
        }
        Err(error) => {
            Err(UsersError::from_flow(error, ErrorCode::ResetPasswordBadToken, ErrorCode::ResetPasswordInvalidPassword))
        }
    }
}
