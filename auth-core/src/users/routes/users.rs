//! `GET`/`PATCH /me` and, for superusers, `GET`/`PATCH`/`DELETE /{id}` (fastapi-users'
//! `get_users_router`).

use axum::{
    Json, Router,
    extract::{FromRef, Path, State, rejection::PathRejection},
    http::StatusCode,
    routing::get,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::paths;
use crate::{
    security::{credential::AuthenticateSet, function::Enter},
    users::{
        CurrentUser, ErrorCode, RequestContext, Superuser, User, UserBackends, UserHooks, UserManager, UsersError,
        body::{JsonObject, user_update},
        current::RouteRequirement,
        error::FlowError,
        openapi,
    },
};

/// The first parameter of the superuser routes: it starts their chain with the superuser scope,
/// as `#[secured(scopes = ["users:superuser"])]` would.
type SuperuserChain<H, B> = Enter<RouteRequirement<H, B, true>>;

impl<H: UserHooks> UserManager<H> {
    /// The users routes for the users of `H`, authenticated by backend `B` (or a tuple of them);
    /// fastapi-users nests them at `/users`.
    ///
    /// - `GET /me`: 200 with the current user; 401 without an active user.
    /// - `PATCH /me`: changes `email`, `password` and the app's fields (flags are ignored, as
    ///   fastapi-users ignores them); 400 `UPDATE_USER_EMAIL_ALREADY_EXISTS`, 400
    ///   `{"code": "UPDATE_USER_INVALID_PASSWORD", "reason"}`, 422. A new password ends every
    ///   session of the user (see [`UserManager::update`]). With
    ///   [`require_current_password`](crate::users::UserManagerBuilder::require_current_password),
    ///   changing the email or the password also needs `current_password`, or 400
    ///   `UPDATE_USER_INVALID_CURRENT_PASSWORD`.
    /// - `GET`, `PATCH` (flags included) and `DELETE` (204) `/{id}`: superusers only; 401, then 403
    ///   `{"detail": "Forbidden"}` for a user who is not one, then 404 for an unknown or malformed
    ///   id.
    ///
    /// A `PATCH` writes only the columns it changes, and only if they still hold what it read, so
    /// concurrent updates of one user never undo each other (an admin's demotion survives the
    /// user's own password changes). One that keeps losing to other writes is answered 409
    /// `{"detail": "UPDATE_USER_CONFLICT"}` (ours; fastapi-users has no such answer, and loses one
    /// of the updates instead); sending it again applies it to the user as they are now.
    ///
    /// 403 also answers an unverified user where the manager requires verification. The superuser
    /// routes require [`users:superuser`](crate::users::UserScope::Superuser), which the user row grants
    /// to superusers, and their OpenAPI operations say so.
    pub fn users_router<B, S>() -> OpenApiRouter<S>
    where
        H::Fields: ToSchema,
        B: UserBackends<H>,
        B::Credentials: AuthenticateSet<S>,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new()
            .route(paths::ME, get(me::<H, B>).patch(update_me::<H, B>))
            .route(paths::USER, get(user::<H, B>).patch(update_user::<H, B>).delete(delete_user::<H, B>));
        openapi::users::<H, B, S>(router)
    }
}

async fn me<H: UserHooks, B>(user: CurrentUser<B, H>) -> Json<User<H::Fields>> {
    Json(user.into_inner())
}

async fn update_me<H: UserHooks, B>(
    State(manager): State<UserManager<H>>,
    user: CurrentUser<B, H>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<User<H::Fields>>, UsersError> {
    let mut body = body;
    // Read (and taken out of the body) only where the app asks for it: otherwise it is an
    // app field like any other, as in fastapi-users.
    let current_password = match &mut body {
        JsonObject::Object(map) if manager.requires_current_password() => map.remove("current_password"),
        _ => None,
    };
    let update = user_update(body)?;
    if manager.requires_current_password() && (update.password.is_some() || update.email.is_some()) {
        let confirmed = match current_password {
            Some(serde_json::Value::String(password)) => {
                manager.is_current_password(user.id, &password).await.map_err(update_error)?
            }
            _ => false,
        };
        if !confirmed {
            return Err(UsersError::Code(ErrorCode::UpdateUserInvalidCurrentPassword));
        }
    }
    Ok(Json(manager.update(update, &user, true, &request).await.map_err(update_error)?))
}

/// A flow error of these routes: a taken email and a refused password are `UPDATE_USER_…`.
fn update_error(error: FlowError) -> UsersError {
    UsersError::from_flow(error, ErrorCode::UpdateUserEmailAlreadyExists, ErrorCode::UpdateUserInvalidPassword)
}

/// The user named by the path, or 404 (fastapi-users' `get_user_or_404`): a path that is not a
/// UUID is as unknown as one that names nobody.
async fn user_or_404<H: UserHooks>(
    manager: &UserManager<H>,
    id: Result<Path<String>, PathRejection>,
) -> Result<User<H::Fields>, UsersError> {
    let Ok(Path(id)) = id else { return Err(UsersError::NotFound) };
    let Ok(id) = Uuid::parse_str(&id) else { return Err(UsersError::NotFound) };
    manager.get(id).await.map_err(update_error)?.ok_or(UsersError::NotFound)
}

async fn user<H: UserHooks, B>(
    _chain: SuperuserChain<H, B>,
    State(manager): State<UserManager<H>>,
    _superuser: Superuser<B, H>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<User<H::Fields>>, UsersError> {
    Ok(Json(user_or_404(&manager, id).await?))
}

async fn update_user<H: UserHooks, B>(
    _chain: SuperuserChain<H, B>,
    State(manager): State<UserManager<H>>,
    _superuser: Superuser<B, H>,
    id: Result<Path<String>, PathRejection>,
    request: RequestContext,
    body: JsonObject,
) -> Result<Json<User<H::Fields>>, UsersError> {
    let user = user_or_404(&manager, id).await?;
    let update = user_update(body)?;
    Ok(Json(manager.update(update, &user, false, &request).await.map_err(update_error)?))
}

async fn delete_user<H: UserHooks, B>(
    _chain: SuperuserChain<H, B>,
    State(manager): State<UserManager<H>>,
    _superuser: Superuser<B, H>,
    id: Result<Path<String>, PathRejection>,
    request: RequestContext,
) -> Result<StatusCode, UsersError> {
    let user = user_or_404(&manager, id).await?;
    manager.delete(&user, &request).await.map_err(update_error)?;
    Ok(StatusCode::NO_CONTENT)
}
