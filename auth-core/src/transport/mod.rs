//! Transports: how a credential travels with a request. Each is an axum extractor that
//! answers FastAPI's 401 when the credential is missing, and a description of the matching
//! OpenAPI security scheme.
//!
//! Any credential (`Claims`, every backend, one of your own) can also travel where a client
//! that cannot set headers puts it: in a WebSocket subprotocol entry ([`SubprotocolToken`]) or,
//! when a handler names it, in the query ([`QueryToken`]); it is verified by its one
//! [`Authenticate::verify`](crate::Authenticate::verify) wherever it travelled. A cookie's
//! WebSocket upgrade is refused from other sites (the origin check of
//! [`SameOrigin`](crate::backend::SameOrigin)).
//!
//! Each transport is defined here once: how it reads the credential, the OpenAPI security
//! scheme it is documented as ([`Scheme`](crate::security::Scheme)), and its challenge. A
//! backend's transport ([`Transport`](crate::backend::Transport)) and its cookie options
//! ([`CookieOptions`](crate::backend::CookieOptions)) live here too, checked by the rules of the
//! `auth-rules` crate, which `#[derive(AuthBackend)]` checks its options with at compile time.

pub(crate) mod authorization;
pub(crate) mod backend;
pub(crate) mod cookie;
mod oauth2;
mod origin;
mod query;
pub(crate) mod scheme;
mod subprotocol;
mod token;

pub use authorization::BearerToken;
pub(crate) use authorization::authorization_credentials;
pub use oauth2::{HttpBearer, OAuth2PasswordBearer};
pub use origin::RequestScheme;
pub(crate) use origin::{check_same_origin, is_upgrade};
pub use query::QueryToken;
pub use subprotocol::SubprotocolToken;
#[cfg(feature = "ws")]
pub(crate) use subprotocol::{is_token_entry, is_token_value};
pub(crate) use token::read_as;

/// Longest credential read from a request (a header, the query, a cookie, a subprotocol entry)
/// and handed to a strategy.
pub(crate) const MAX_CREDENTIAL_LEN: usize = 8 * 1024;
