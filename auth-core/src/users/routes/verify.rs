//! `POST /request-verify-token` and `POST /verify` (fastapi-users' `get_verify_router`).

use axum::{
    Json, Router,
    extract::{FromRef, State},
    routing::post,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{paths, request_by_email};
use crate::users::{
    ErrorCode, RequestContext, User, UserHooks, UserManager, UsersError,
    body::{Fields, JsonObject},
    error::FlowError,
    mail::MailKind,
    openapi,
};

/// `POST /request-verify-token` and `POST /verify` for the users of `H`; fastapi-users nests
/// them at `/auth`.
///
/// - request-verify-token, `{"email"}`: 202 and `null`, always, whether the account exists,
///   is inactive or is already verified, in the same time (the mail and the hook run on a task
///   of their own). The mail links to `{PUBLIC_URL}/verify?token=…`.
/// - verify, `{"token"}`: 200 with the user; 400 `VERIFY_USER_BAD_TOKEN` for a bad, expired or
///   outdated token (the user changed address), 400 `VERIFY_USER_ALREADY_VERIFIED`.
pub fn verify_router<H, S>() -> OpenApiRouter<S>
where
    H: UserHooks,
    H::Fields: ToSchema,
    UserManager<H>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let router = Router::new()
        .route(
            paths::REQUEST_VERIFY_TOKEN,
            post(|state, request, body| request_by_email::<H, S>(MailKind::Verify, state, request, body)),
        )
        .route(paths::VERIFY, post(verify::<H, S>));
    openapi::verify::<H::Fields, S>(router)
}

async fn verify<H, S>(
    State(state): State<S>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<User<H::Fields>>, UsersError>
where
    H: UserHooks,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let mut fields = Fields::embedded(body);
    let token = fields.string("token");
    let token = fields.finish(token)?;
    let manager = UserManager::<H>::from_ref(&state);
    match manager.verify(&token, &request).await {
        Ok(user) => Ok(Json(user)),
        Err(FlowError::UserNotExists) => Err(UsersError::Code(ErrorCode::VerifyUserBadToken)),
        Err(error) => Err(UsersError::from_flow(error, ErrorCode::VerifyUserBadToken, ErrorCode::VerifyUserBadToken)),
    }
}
