//! Benchmarks of auth-core against hand-written baselines, as `BENCHMARKS.md` describes.
//!
//! - [`port`] is the tutorial port (`examples/oauth2_scopes/app.rs`), included as the
//!   integration tests include it, so the benches drive exactly the code the example serves.
//! - [`baseline`] is the same `GET /users/me/items/` written by hand: plain `FromRequestParts`
//!   impls and jsonwebtoken, no auth-core.

pub mod baseline;

/// FastAPI's OAuth2 scopes tutorial on auth-core: `examples/oauth2_scopes/app.rs`, unchanged
/// (`src/port.rs` is a symbolic link to it, so that the packaged crate carries the file).
pub mod port;

/// The signing secret the benches use for access tokens (HS256, 64 bytes).
pub const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";

/// The signing secret the benches use for refresh tokens.
pub const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";
