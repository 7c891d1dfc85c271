//! Declarative, compile-time checked security for axum, after FastAPI's `Security` and
//! fastapi-users' backends.
//!
//! | what you write | which derive, attribute or trait |
//! |---|---|
//! | the scopes your app grants | `#[derive(Scopes)]` on a fieldless enum ([`ScopeDeclaration`]) |
//! | a protected handler | `#[secured(scopes = ["items"])]` on the async fn |
//! | a dependency (FastAPI's `Depends`/`Security`) | `#[secured]` on the async fn, taken as [`Depends<dep>`](Depends) |
//! | a verified credential as a parameter | [`Authenticated<C>`](Authenticated), `C` a [`Credential`]: [`Claims`](strategies::jwt::Claims), a backend, `ProviderToken`… |
//! | the scopes in force, inside a dependency | [`SecurityScopes`] as a parameter |
//! | HTTP Basic, or API keys for machines | [`backend::HttpBasic<A>`](backend::HttpBasic), `strategies::ApiKeys` (with a database feature) |
//! | a credential of your own | `impl` [`Credential`] for your type |
//! | how tokens are issued and verified | a strategy ([`JwtStrategy`](strategies::jwt::JwtStrategy), [`DatabaseStrategy`](strategies::DatabaseStrategy)…) your state gives by `FromRef` |
//! | a login/logout backend | `#[derive(AuthBackend)]` ([`AuthBackend`](backend::AuthBackend)), logins checked by your [`Authenticator`](backend::Authenticator) |
//! | OpenAPI from the declarations (`openapi`) | `auth_core::routes!` and `SecurityDoc` |
//! | fastapi-users' user routes (`users`) | `impl UserHooks`, then the `users::*_router` functions |
//! | who may touch which record | `#[policy]` fns, `#[secured(allow = …)]` and an [`Authorized`](authz::Authorized) parameter ([`authz`]) |
//! | a rejection | an [`AuthError`], answered `{"detail": …}` |
//!
//! The other public items are what these take and give: builders, options, errors. What the
//! derives and `#[secured]` generate code against lives in `auth_core::__private`, which is not
//! public API.
//!
//! Declare your scopes once, mark handlers and dependencies with `#[secured(scopes = [...])]`,
//! and take the credential as a parameter: [`Authenticated<C>`](Authenticated) reads it,
//! verifies it, and checks it against every scope required along the handler's dependency chain
//! before the handler runs. A misspelt scope is a compile error that suggests the scope you
//! meant. The same declaration documents the route in OpenAPI.
//!
//! # A first API
//!
//! A bearer JWT is read and verified, and the route requires its `items` scope:
//!
//! ```
//! use auth_core::{Authenticated, Scopes, secured, strategies::jwt::{Claims, JwtKey, JwtStrategy}};
//! use axum::{Router, extract::FromRef, routing::get};
//!
//! /// The API's scopes, declared once: `#[secured]` checks its literals against them.
//! #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
//! pub enum Scope {
//!     /// Read items.
//!     #[scope("items")]
//!     Items,
//!     /// Change items.
//!     #[scope("items:write")]
//!     ItemsWrite,
//! }
//!
//! #[derive(Clone)]
//! struct AppState {
//!     jwt: JwtStrategy,
//! }
//!
//! // `Authenticated<Claims>` verifies tokens with the app's `JwtStrategy`.
//! impl FromRef<AppState> for JwtStrategy {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.jwt.clone()
//!     }
//! }
//!
//! /// Runs only for a valid token that grants `items`.
//! #[secured(scopes = ["items"])]
//! async fn read_items(Authenticated(claims): Authenticated<Claims>) -> String {
//!     format!("the items of {}", claims.sub.unwrap_or_default())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jwt = JwtStrategy::builder(JwtKey::hs256(std::env::var("SECRET_KEY").unwrap_or_else(|_| "0123456789abcdef".repeat(2)))).build()?;
//! let app = Router::new().route("/items", get(read_items)).with_state(AppState { jwt: jwt.clone() });
//!
//! // What it answers, through the router as a server would call it:
//! use axum::{body::Body, http::Request};
//! use tower::ServiceExt;
//! let get = |token: Option<String>| {
//!     let mut request = Request::get("/items");
//!     if let Some(token) = token {
//!         request = request.header("authorization", format!("Bearer {token}"));
//!     }
//!     app.clone().oneshot(request.body(Body::empty()).unwrap())
//! };
//! assert_eq!(get(None).await?.status(), 401); // no token: {"detail":"Not authenticated"}
//! let writer = jwt.issue("alice", &["items:write"])?;
//! assert_eq!(get(Some(writer)).await?.status(), 401); // {"detail":"Not enough permissions"}
//! let reader = jwt.issue("alice", &["items"])?;
//! assert_eq!(get(Some(reader)).await?.status(), 200); // "the items of alice"
//! # Ok(())
//! # }
//! ```
//!
//! A scope that is not declared does not compile, and the error says which was meant
//! (`error: unknown scope `itemz`` … `help: did you mean `items`?`). This is the example above
//! with that one literal changed, so the unknown scope is the only error it can have:
//!
//! ```compile_fail
//! # use auth_core::{Authenticated, Scopes, secured, strategies::jwt::{Claims, JwtKey, JwtStrategy}};
//! # use axum::{Router, extract::FromRef, routing::get};
//! #
//! # /// The API's scopes, declared once: `#[secured]` checks its literals against them.
//! # #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
//! # pub enum Scope {
//! #     /// Read items.
//! #     #[scope("items")]
//! #     Items,
//! #     /// Change items.
//! #     #[scope("items:write")]
//! #     ItemsWrite,
//! # }
//! #
//! # #[derive(Clone)]
//! # struct AppState {
//! #     jwt: JwtStrategy,
//! # }
//! #
//! # // `Authenticated<Claims>` verifies tokens with the app's `JwtStrategy`.
//! # impl FromRef<AppState> for JwtStrategy {
//! #     fn from_ref(state: &AppState) -> Self {
//! #         state.jwt.clone()
//! #     }
//! # }
//! #
//! # /// Runs only for a valid token that grants `items`.
//! #[secured(scopes = ["itemz"])]
//! async fn read_items(Authenticated(claims): Authenticated<Claims>) -> String {
//!     format!("the items of {}", claims.sub.unwrap_or_default())
//! }
//! #
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let jwt = JwtStrategy::builder(JwtKey::hs256(std::env::var("SECRET_KEY").unwrap_or_else(|_| "0123456789abcdef".repeat(2)))).build()?;
//! # let app = Router::new().route("/items", get(read_items)).with_state(AppState { jwt: jwt.clone() });
//! #
//! # // What it answers, through the router as a server would call it:
//! # use axum::{body::Body, http::Request};
//! # use tower::ServiceExt;
//! # let get = |token: Option<String>| {
//! #     let mut request = Request::get("/items");
//! #     if let Some(token) = token {
//! #         request = request.header("authorization", format!("Bearer {token}"));
//! #     }
//! #     app.clone().oneshot(request.body(Body::empty()).unwrap())
//! # };
//! # assert_eq!(get(None).await?.status(), 401); // no token: {"detail":"Not authenticated"}
//! # let writer = jwt.issue("alice", &["items:write"])?;
//! # assert_eq!(get(Some(writer)).await?.status(), 401); // {"detail":"Not enough permissions"}
//! # let reader = jwt.issue("alice", &["items"])?;
//! # assert_eq!(get(Some(reader)).await?.status(), 200); // "the items of alice"
//! # Ok(())
//! # }
//! ```
//!
//! (`tests/crate_docs.rs` checks that the two stay twins, differing in that literal only.)
//!
//! # What you write, and what it gives you
//!
//! | you write | you get |
//! |---|---|
//! | `#[derive(Scopes)]` on an enum | the scopes, each with its description ([`ScopeDeclaration`]); unknown scopes in `#[secured]` are compile errors |
//! | `#[secured(scopes = ["a"])]` on a handler | its chain's requirement: every credential below must grant `a` ([`SecurityScopes`]) |
//! | `#[secured(scopes = ["a"] \| ["b"])]` | either set will do; the `WWW-Authenticate` challenge names the first |
//! | a parameter `Authenticated<C>` | `C` read from the request, verified, scope-checked, documented in OpenAPI ([`Credential`]) |
//! | `Authenticated<(A, B)>` / `Option<Authenticated<C>>` | the first of several that authenticates / an optional credential |
//! | a parameter `Depends<dep>` | `dep` (itself `#[secured]`) run first, seeing the scopes of everything above it ([`Depends`]) |
//! | [`SecurityScopes`] as a parameter | the scopes in force at that point of the chain, as FastAPI's |
//! | `#[derive(AuthBackend)]` | a fastapi-users backend: a transport and a strategy, with `POST /login` and `/logout` ([`backend`]) |
//! | `strategy: DenylistedJwt<…>` in a JWT backend | a logout that sticks: the token is refused until it expires ([`strategies::denylist`]) |
//! | `Authenticated<ProviderToken>` (`oidc`) | tokens of Keycloak, Auth0, Entra ID…, keys discovered and rotated (`strategies::oidc`) |
//! | `auth_core::routes!` + `SecurityDoc` (`openapi`) | each operation's `security` from its handler's requirement (`openapi`) |
//! | `users::*_router` (`users`) | fastapi-users' user routes, statuses and error codes (`users`) |
//! | `auth_core::websocket::WebSocketUpgrade` (`ws`) | a socket closed with 1008 when its credential expires or is revoked (`websocket`) |
//!
//! Every rejection is an [`AuthError`], answered `{"detail": …}` with the status and challenge
//! FastAPI would send ([`error`]).
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `database-sqlite` (default) | [`DatabaseStrategy`](strategies::DatabaseStrategy): opaque tokens stored hashed, SQLite bundled |
//! | `database-postgres` | the same on PostgreSQL |
//! | `redis` | `RedisStrategy`, a Redis refresh-family store and JWT denylist |
//! | `oidc` | tokens from identity providers: `OidcStrategy` (discovery, cached JWKS, several issuers), `IntrospectionStrategy` (RFC 7662) |
//! | `openapi` | `SecurityDoc` and `auth_core::routes!` (utoipa) |
//! | `swagger-ui` | Swagger UI at `/docs`, vendored |
//! | `bcrypt` | legacy bcrypt hashes verified and upgraded to argon2id at login |
//! | `tower-http` | `logging::RedactingMakeSpan`: request logs with credentials redacted from URIs |
//! | `users` | fastapi-users-compatible users (`auth_core::users`), on a database feature; throttling in Redis with `redis` |
//! | `ws` | `auth_core::websocket`: WebSockets that end with their credentials |
//!
//! # Examples
//!
//! Each runs with `cargo run --example NAME` from the repository; `--help` lists its settings.
//!
//! - [`oauth2_scopes`](https://example.invalid/auth-rs/tree/main/examples/oauth2_scopes): FastAPI's
//!   OAuth2 scopes tutorial, with refresh-token pairs and Swagger UI.
//! - [`backends`](https://example.invalid/auth-rs/tree/main/examples/backends): a JWT backend whose
//!   logout sticks and a cookie backend on one route.
//! - [`resource_server`](https://example.invalid/auth-rs/tree/main/examples/resource_server): an API
//!   accepting an OpenID provider's access tokens, with RFC 9728 metadata.
//! - [`users`](https://example.invalid/auth-rs/tree/main/examples/users): fastapi-users' full
//!   example: register, verify, reset, the users routes, on SQLite or PostgreSQL.
//! - [`chat`](https://example.invalid/auth-rs/tree/main/examples/chat): a chat room over a secured
//!   WebSocket and server-sent events.

// docs.rs (`--cfg docsrs`, see Cargo.toml) badges each feature-gated item with its features.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authz;
pub mod backend;
pub mod db;
pub mod error;
pub mod form;
pub mod logging;
mod macros;
pub mod openapi;
pub mod password;
pub mod resource_metadata;
pub mod response;
pub mod security;
pub mod strategies;
pub mod transport;
#[cfg(all(feature = "users", any(feature = "database-sqlite", feature = "database-postgres")))]
pub mod users;
#[cfg(all(feature = "users", not(any(feature = "database-sqlite", feature = "database-postgres"))))]
compile_error!("the `users` feature stores users in a database: enable `database-sqlite` or `database-postgres` too");
#[cfg(feature = "ws")]
pub mod websocket;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[doc(inline)]
pub use auth_macros::{AuthBackend, Scopes, policy, secured};
pub use backend::Principal;
pub use error::{AuthError, Challenge, FieldError};
pub use form::{OAuth2PasswordRequestForm, OAuth2PasswordRequestFormStrict, RefreshTokenRequest};
pub use security::{Authenticate, Authenticated, Credential, Depends, ScopeDeclaration, ScopeInfo, SecurityScopes};
