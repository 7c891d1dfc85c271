//! The routers, one per fastapi-users router, each mounted on its own: an app takes the ones it
//! wants, at fastapi-users' prefixes or its own, and wraps any of them in tower layers.
//!
//! Each is a utoipa-axum `OpenApiRouter` that carries its OpenAPI description, so nesting and
//! layering it moves the documentation along: fastapi-users' schemas (`UserRead`, `UserCreate`
//! and `UserUpdate` with the app's fields, from their `utoipa::ToSchema`; `ErrorModel`,
//! `BearerResponse`, FastAPI's `HTTPValidationError`), the error codes as examples, and each
//! operation's `security` from its route's requirement, as for `#[secured]` handlers: one
//! alternative per backend, with `users:superuser` on the superuser routes. An app without
//! docs turns each into an axum `Router` with `.into()`. The [module docs](super) show them
//! all nested.
//!
//! | router | routes | fastapi-users |
//! |---|---|---|
//! | [`UserManager::auth_router`](super::UserManager::auth_router) | `POST /login`, `POST /logout` | `get_auth_router(backend)` |
//! | [`UserManager::register_router`](super::UserManager::register_router) | `POST /register` | `get_register_router` |
//! | [`UserManager::verify_router`](super::UserManager::verify_router) | `POST /request-verify-token`, `POST /verify` | `get_verify_router` |
//! | [`UserManager::reset_password_router`](super::UserManager::reset_password_router) | `POST /forgot-password`, `POST /reset-password` | `get_reset_password_router` |
//! | [`UserManager::users_router`](super::UserManager::users_router) | `GET`/`PATCH /me`, `GET`/`PATCH`/`DELETE /{id}` | `get_users_router` |
//! | [`ApiKeys::router`](crate::strategies::ApiKeys::router) | `POST`/`GET /`, `DELETE /{id}`, `POST /{id}/rotate` | (none: the users' API keys) |

mod api_keys;
mod auth;
mod mailed;
mod register;
mod users;

/// The routes' paths, relative to where each router is nested; the OpenAPI description reads
/// them from here too.
pub(crate) mod paths {
    pub(crate) const LOGIN: &str = "/login";
    pub(crate) const LOGOUT: &str = "/logout";
    pub(crate) const REGISTER: &str = "/register";
    pub(crate) const REQUEST_VERIFY_TOKEN: &str = "/request-verify-token";
    pub(crate) const VERIFY: &str = "/verify";
    pub(crate) const FORGOT_PASSWORD: &str = "/forgot-password";
    pub(crate) const RESET_PASSWORD: &str = "/reset-password";
    pub(crate) const ME: &str = "/me";
    pub(crate) const USER: &str = "/{id}";
}
