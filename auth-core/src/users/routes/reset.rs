//! `POST /forgot-password` and `POST /reset-password` (fastapi-users'
//! `get_reset_password_router`).

use axum::{
    Json, Router,
    extract::{FromRef, State},
    routing::post,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{paths, request_by_email};
use crate::users::{
    ErrorCode, RequestContext, UserHooks, UserManager, UsersError,
    body::{Fields, JsonObject},
    error::FlowError,
    mail::MailKind,
    openapi,
};

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
pub fn reset_password_router<H, S>() -> OpenApiRouter<S>
where
    H: UserHooks,
    H::Fields: ToSchema,
    UserManager<H>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let router = Router::new()
        .route(
            paths::FORGOT_PASSWORD,
            post(|state, request, body| request_by_email::<H, S>(MailKind::Reset, state, request, body)),
        )
        .route(paths::RESET_PASSWORD, post(reset_password::<H, S>));
    openapi::reset_password::<H::Fields, S>(router)
}

async fn reset_password<H, S>(
    State(state): State<S>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<()>, UsersError>
where
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let mut fields = Fields::embedded(body);
    let token = fields.string("token");
    let password = fields.string("password");
    let (token, password) = fields.finish(token.zip(password))?;
    let manager = UserManager::<H>::from_ref(&state);
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
