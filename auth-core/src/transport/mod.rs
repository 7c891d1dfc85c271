//! Transports: how a credential travels with a request. Each is an axum extractor that
//! answers FastAPI's 401 when the credential is missing, and a description of the matching
//! OpenAPI security scheme.
//!
//! A token credential ([`TokenCredential`]: `Claims`, every backend) can also travel where a
//! client that cannot set headers puts it: in a WebSocket subprotocol entry
//! ([`SubprotocolToken`]) or, when a handler names it, in the query ([`QueryToken`]). A
//! cookie's WebSocket upgrade is refused from other sites (the origin check of
//! [`SameOrigin`](crate::backend::SameOrigin)).

pub(crate) mod authorization;
mod oauth2;
mod origin;
mod query;
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
pub use token::TokenCredential;
