//! Declarative, compile-time checked security for axum, after FastAPI's `Security` and
//! fastapi-users' backends.
//!
//! You declare your scopes once, mark handlers and dependencies with
//! `#[secured(scopes = [...])]`, and the library does the rest: every link of a dependency
//! chain adds its scopes to one [`SecurityScopes`] value, a credential lacking a required scope
//! is rejected before the handler runs, and a misspelt scope is a compile error that suggests
//! the scope you meant.
//!
//! ```
//! use auth_core::{Depends, SecurityScopes, Scopes, secured};
//! use axum::{Router, routing::get};
//!
//! #[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
//! pub enum Scope {
//!     /// Read information about the current user.
//!     #[scope("me")]
//!     Me,
//!     /// Read items.
//!     #[scope("items")]
//!     Items,
//! }
//!
//! // A dependency: it sees the scopes of everything that depends on it.
//! #[secured]
//! async fn required(scopes: SecurityScopes) -> String {
//!     scopes.scope_str()
//! }
//!
//! #[secured(scopes = ["items"])]
//! async fn read_items(Depends(required): Depends<required>) -> String {
//!     required // "items"
//! }
//!
//! let app: Router = Router::new().route("/items", get(read_items));
//! ```
//!
//! A scope that is not declared does not compile, and the error says what was meant:
//!
//! ```compile_fail
//! use auth_core::{Scopes, secured};
//!
//! #[derive(Scopes, Clone, Copy)]
//! pub enum Scope {
//!     /// Read items.
//!     #[scope("items")]
//!     Items,
//! }
//!
//! #[secured(scopes = ["itemz"])] // error: unknown scope `itemz` ... did you mean `items`?
//! async fn read_items() {}
//! ```

// docs.rs (`--cfg docsrs`, see Cargo.toml) badges each feature-gated item with its features.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backend;
pub mod error;
pub mod form;
pub mod logging;
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
pub use auth_macros::{AuthBackend, Scopes, secured};
pub use backend::Principal;
pub use error::{AuthError, Challenge, FieldError};
pub use form::{OAuth2PasswordRequestForm, OAuth2PasswordRequestFormStrict, RefreshTokenRequest};
pub use security::{
    Authenticate, Authenticated, Credential, Dependency, Depends, RequiredScopes, Requirement, Resolve,
    ScopeDeclaration, ScopeInfo, SecurityScopes,
};
