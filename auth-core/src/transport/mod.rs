//! Transports: how a credential travels with a request. Each is an axum extractor that
//! answers FastAPI's 401 when the credential is missing, and a description of the matching
//! OpenAPI security scheme.
//!
//! Any credential (`Claims`, every backend, one of your own) can also travel where a client
//! that cannot set headers puts it: in a WebSocket subprotocol entry ([`SubprotocolToken`]) or,
//! when a handler names it, in the query ([`QueryToken`]); it is verified by its one
//! [`Authenticate::verify`](crate::Authenticate::verify) wherever it travelled. A cookie's
//! WebSocket upgrade is refused from other sites ([`check_same_origin`]).

mod authorization;
mod oauth2;
mod origin;
mod query;
mod subprotocol;
mod token;

pub use authorization::{BearerToken, authorization_credentials};
pub use oauth2::{HttpBearer, OAuth2PasswordBearer};
pub use origin::{RequestScheme, check_same_origin, is_upgrade};
pub use query::{QueryToken, TOKEN_QUERY_PARAMETER};
pub use subprotocol::{SubprotocolToken, TOKEN_SUBPROTOCOL_PREFIX};
#[cfg(feature = "ws")]
pub(crate) use subprotocol::{is_token_entry, is_token_value};
pub(crate) use token::read_as;
