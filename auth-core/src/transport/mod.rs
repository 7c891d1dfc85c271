//! Transports: how a credential travels with a request. Each is an axum extractor that
//! answers FastAPI's 401 when the credential is missing, and a description of the matching
//! OpenAPI security scheme.

mod authorization;
mod oauth2;

pub use authorization::{BearerToken, authorization_credentials};
pub use oauth2::{HttpBearer, OAuth2PasswordBearer};
