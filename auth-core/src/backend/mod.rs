//! Backends: a name, a transport and a strategy, as fastapi-users' `AuthenticationBackend`.
//!
//! Declare one with `#[derive(AuthBackend)]`; it implements [`AuthBackend`], which makes it a
//! [`Credential`](crate::Credential): [`Authenticated<B>`](crate::Authenticated) then
//! authenticates a request with it (or with the first of several:
//! `Authenticated<(CookieBackend, JwtBackend)>`), yielding a [`Principal`].
//!
//! The derive also writes `B::router::<A, S>()`: `POST /login` and `POST /logout` for the
//! backend, authenticating logins with the [`Authenticator`] `A`; nest it where the backend's
//! `token_url` points, e.g. `.nest("/auth/jwt", JwtBackend::router::<Users, AppState>())`.
//!
//! - login: 200 `{"access_token", "token_type": "bearer"}`, or 204 with `Set-Cookie` for the
//!   cookie transport, with `Cache-Control: no-store` and `Pragma: no-cache`; 400 `Incorrect
//!   username or password`, logged at `info` with the username and the client's address; 422
//!   for a bad form.
//! - logout: the strategy destroys the token (the row, the Redis key); 204, clearing the cookie
//!   for the cookie transport; 401 without a valid credential.
//! - with the cookie transport, both refuse a request from another site with 403
//!   ([`SameOrigin`]).
//!
//! A JWT backend with a logout that sticks, the way to build one: a bare [`JwtStrategy`]'s
//! logout cannot revoke a token that is valid until its `exp`, so wrap it in a
//! [`DenylistedJwt`], which lists the logged-out token until it expires (`MemoryDenylist` in one
//! process, `RedisDenylist` across several):
//!
//! ```ignore
//! #[derive(AuthBackend, Clone)]
//! #[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
//! pub struct JwtBackend {
//!     strategy: DenylistedJwt<MemoryDenylist>,
//! }
//!
//! let backend = JwtBackend { strategy: DenylistedJwt::new(JwtStrategy::builder(JwtKey::hs256(key)).build()?, MemoryDenylist::new()) };
//! ```
//!
//! [`JwtStrategy`]: crate::strategies::JwtStrategy
//! [`DenylistedJwt`]: crate::strategies::DenylistedJwt

mod basic;
mod credential;
mod password_table;
pub(crate) mod routes;

pub(crate) use crate::transport::cookie::cookie_value;
pub use basic::HttpBasic;
pub use credential::Principal;
pub use password_table::PasswordTable;
pub use routes::{Authenticator, LoginGrant, SameOrigin};
// The transports live in `crate::transport`, with the other ways a credential travels.
pub use crate::transport::{
    backend::Transport,
    cookie::{CookieOptions, CookieOptionsBuilder, InvalidCookieOption, SameSite},
};

use crate::strategies::Strategy;

/// A named pair of a transport and a strategy. Implement it with `#[derive(AuthBackend)]`.
///
/// The value lives in the app state (found with `FromRef`) and holds the strategy's runtime
/// parts: keys, a database pool, a Redis connection.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an authentication backend",
    note = "declare it with `#[derive(AuthBackend)]` and `#[backend(name = \"…\", transport = …, strategy = …)]`"
)]
pub trait AuthBackend: Clone + Send + Sync + 'static {
    /// The backend's unique name: in OpenAPI, in [`Principal::backend`], in logs.
    const NAME: &'static str;
    /// How tokens become principals.
    type Strategy: Strategy;

    /// How the credential travels.
    fn transport() -> &'static Transport;

    /// The strategy instance.
    fn strategy(&self) -> &Self::Strategy;

    /// The declared scopes with their descriptions, for OAuth2 flows in OpenAPI.
    fn scope_descriptions() -> Vec<(&'static str, &'static str)>;
}
