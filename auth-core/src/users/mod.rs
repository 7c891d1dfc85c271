//! User management that a fastapi-users frontend can talk to unchanged (feature `users`):
//! register, verify, forgot and reset password, `/users/me` and the superuser routes, login and
//! logout through any backend, with fastapi-users' paths, statuses and `detail` codes.
//!
//! - **Users** live in SQLite (default) or PostgreSQL ([`UserStore`]): an id (UUID), an email
//!   unique case-insensitively ([`Email`]), an argon2id hash, `is_active`, `is_superuser`,
//!   `is_verified`, and the app's own fields ([`UserFields`]), which also appear in OpenAPI.
//! - **[`UserManager`]** is fastapi-users' `BaseUserManager`: every flow, calling the app's
//!   [`UserHooks`] (after register, update, verify request, verify, forgot password, reset,
//!   login, before and after delete, and the password policy, NIST SP 800-63B by default).
//! - **Tokens** for verify and reset have their own secrets and lifetimes (one hour); a reset
//!   token works once, a verify token stops at verification; `forgot-password` says 202 whether
//!   or not the account exists.
//! - **Mail** ([`Mailer`]) goes over SMTP from a task of its own, or to the log.
//! - **Login throttling** ([`LoginThrottle`]) per account and per client IP, in memory or Redis.
//! - **Routers** ([`routes`]), one per fastapi-users router, each mounted and layered on its
//!   own, with its OpenAPI description; [`CurrentUser`] and [`Superuser`] are the extractors
//!   behind them, for the app's own routes too.
//! - **The user as a credential**: [`UserToken<B, H>`](UserToken) is a
//!   [`Credential`](crate::Credential) like any other. Backend `B` verifies the token, the user
//!   row decides the rest, and the row grants the scopes ([`UserScope`]: `users:superuser` for
//!   superusers). The superuser routes require that scope, so their OpenAPI operations say so,
//!   and an app's own `#[secured(scopes = ["users:superuser"], declaration = UserScope)]`
//!   handlers taking `Authenticated<UserToken<…>>` get the same rule.
//!
//! # The full example, as fastapi-users' docs lay it out
//!
//! ```ignore
//! #[derive(Clone, FromRef)]
//! struct AppState {
//!     users: UserManager<Hooks>,
//!     jwt: JwtBackend,
//!     cookie: CookieBackend,
//! }
//!
//! type Backends = (JwtBackend, CookieBackend);
//!
//! async fn authenticated_route(user: CurrentUser<Backends, Hooks>) -> Json<Value> {
//!     Json(json!({ "message": format!("Hello {}!", user.email) }))
//! }
//!
//! let (router, mut api) = OpenApiRouter::new()
//!     .nest("/auth/jwt", users::UserManager::<Hooks>::auth_router::<JwtBackend, AppState>())
//!     .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>())
//!     .nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>())
//!     .nest("/auth", users::UserManager::<Hooks>::reset_password_router::<AppState>()
//!         .layer(ConcurrencyLimitLayer::new(4)))      // any tower layer, on this router only
//!     .nest("/auth", users::UserManager::<Hooks>::verify_router::<AppState>())
//!     .nest("/users", users::UserManager::<Hooks>::users_router::<Backends, AppState>())
//!     .split_for_parts();
//! SecurityDoc::new().apply(&mut api); // the backends' schemes
//! let app = router.route("/authenticated-route", get(authenticated_route)).with_state(state);
//!
//! // Without docs, each router's `.into()` is an axum `Router`:
//! let app = Router::new().nest("/auth", users::UserManager::<Hooks>::register_router::<AppState>().into());
//! ```
//!
//! `examples/users` is this app, runnable, with its OpenAPI document and `/docs`.
//!
//! # The first superuser
//!
//! [`UserManager::create_superuser`] makes an active, verified superuser; `examples/users` runs
//! it from the command line (`cargo run --example users -- create-superuser admin@example.com`,
//! the password read from `SUPERUSER_PASSWORD` or standard input, never from the arguments,
//! which other local users can see in `ps`). Later superusers are made by a superuser through
//! `PATCH /users/{id}` with `{"is_superuser": true}`.

mod basic;
mod body;
pub(crate) mod current;
pub mod email;
mod error;
mod hooks;
pub mod mail;
mod model;
#[cfg(feature = "oauth")]
mod oauth;
mod openapi;
pub mod routes;
mod sessions;
pub mod store;
pub mod throttle;
pub mod tokens;
mod user_manager;

pub(crate) use current::UserBackends;
pub use current::{CurrentUser, Superuser, UserPrincipal, UserScope, UserToken};
pub use email::{Email, InvalidEmail};
pub use error::{ErrorCode, FlowError, UsersError, ValidationError};
pub use hooks::{InvalidPassword, PasswordPolicy, RequestContext, UserHooks};
pub use mail::{MailError, Mailer, MailerBuilder};
pub use model::{NoFields, User, UserCreate, UserFields, UserUpdate};
#[cfg(feature = "oauth")]
pub use oauth::{OAuthProvider, OAuthProviderBuilder};
pub use store::{UserStore, UserStoreBuilder};
pub use throttle::{ClientIpSource, LoginThrottle, LoginThrottleBuilder, ThrottlePolicy};
pub use user_manager::{LoginOutcome, UserManager, UserManagerBuilder, UserManagerError};
