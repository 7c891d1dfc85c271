//! Strategies: how a token becomes a principal (JWT; access + refresh pairs).
//!
//! - [`jwt`]: signed, self-contained tokens ([`JwtStrategy`]), with key rotation by `kid`.
//! - [`refresh`]: access + refresh token pairs with rotation and reuse detection
//!   ([`TokenPairIssuer`]).
//!
//! [`Claims`] is also an extractor: it takes the bearer token, verifies it with the app's
//! [`JwtStrategy`] (found through `FromRef`), and checks its scopes against the chain.

pub mod jwt;
pub mod refresh;
mod verified;

pub use jwt::{Claims, InvalidReason, JwtError, JwtErrorStyle, JwtKey, JwtKeySet, JwtStrategy, JwtStrategyBuilder};
pub use refresh::{MemoryFamilyStore, RefreshFamilyStore, Rotation, TokenPair, TokenPairIssuer};
