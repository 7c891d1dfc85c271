//! Backends: a name, a transport and a strategy, as fastapi-users' `AuthenticationBackend`.
//!
//! Declare one with `#[derive(AuthBackend)]`; it implements [`AuthBackend`], which makes it a
//! [`Credential`](crate::Credential): [`Authenticated<B>`](crate::Authenticated) then
//! authenticates a request with it (or with the first of several:
//! `Authenticated<(CookieBackend, JwtBackend)>`), yielding a [`Principal`]. [`routes`] builds
//! its login and logout routes.
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
//! let backend = JwtBackend { strategy: DenylistedJwt::new(JwtStrategy::hs256(key).build()?, MemoryDenylist::new()) };
//! ```
//!
//! [`JwtStrategy`]: crate::strategies::JwtStrategy
//! [`DenylistedJwt`]: crate::strategies::DenylistedJwt

mod cookie;
mod credential;
mod routes;
mod transport;

pub use cookie::{CookieOptions, CookieOptionsBuilder, InvalidCookieOption, SameSite};
pub use credential::Principal;
pub use routes::{Authenticator, LoginGrant, SameOrigin, routes};
pub use transport::{ApiKeyLocation, Transport};

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
