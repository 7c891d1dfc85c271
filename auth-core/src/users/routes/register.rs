//! `POST /register` (fastapi-users' `get_register_router`).

use axum::{
    Json, Router,
    extract::{FromRef, State},
    http::StatusCode,
    routing::post,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::paths;
use crate::users::{
    ErrorCode, RequestContext, User, UserHooks, UserManager, UsersError,
    body::{JsonObject, user_create},
    openapi,
};

impl<H: UserHooks> UserManager<H> {
    /// `POST /register` for the users of `H`; fastapi-users nests it at `/auth`.
    ///
    /// The body is `{"email", "password"}` plus the app's fields (`is_active`, `is_superuser` and
    /// `is_verified` are ignored). 201 with the user; 400 `REGISTER_USER_ALREADY_EXISTS` when the
    /// email is taken (compared case-insensitively); 400 `{"code": "REGISTER_INVALID_PASSWORD",
    /// "reason"}` when the password policy refuses; 422 for a bad body.
    pub fn register_router<S>() -> OpenApiRouter<S>
    where
        H::Fields: ToSchema,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        openapi::register::<H::Fields, S>(Router::new().route(paths::REGISTER, post(register::<H>)))
    }
}

async fn register<H: UserHooks>(
    State(manager): State<UserManager<H>>,
    request: RequestContext,
    body: JsonObject,
) -> Result<(StatusCode, Json<User<H::Fields>>), UsersError> {
    let create = user_create::<H::Fields>(body)?;
    let user = manager.create(create, true, &request).await.map_err(|error| {
        UsersError::from_flow(error, ErrorCode::RegisterUserAlreadyExists, ErrorCode::RegisterInvalidPassword)
    })?;
    Ok((StatusCode::CREATED, Json(user)))
}
