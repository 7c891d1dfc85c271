//! The hand-written baseline app, served like the example: `BIND_ADDR` (default
//! `127.0.0.1:8001`), `SECRET_KEY` (required: it must verify the example's tokens), and the
//! example's logging setup (`RUST_LOG`, a `TraceLayer`), so the two processes differ only in how
//! they authenticate. `BASELINE_JWT=auth-core` decodes tokens with auth-core's `JwtStrategy`
//! instead of `jsonwebtoken::decode`, so that only the dependency chain differs.

use std::net::SocketAddr;

use auth_bench::baseline::{BaselineState, app};
use auth_core::strategies::jwt::{JwtKey, JwtStrategy};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=debug")))
        .init();

    let secret_key = std::env::var("SECRET_KEY").map_err(|_| "SECRET_KEY must be set (the example's signing key)")?;
    let addr: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".to_owned()).parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = match std::env::var("BASELINE_JWT").as_deref() {
        Ok("auth-core") => {
            BaselineState::with_auth_core_jwt(JwtStrategy::builder(JwtKey::hs256(secret_key.as_bytes())).build()?)
        }
        Ok("jsonwebtoken") | Err(_) => BaselineState::new(secret_key.as_bytes()),
        Ok(other) => return Err(format!("BASELINE_JWT must be `jsonwebtoken` or `auth-core`, not `{other}`").into()),
    };
    let router = app(state).layer(TraceLayer::new_for_http());

    println!("Serving the hand-written baseline on http://{addr}");
    axum::serve(listener, router).await?;
    Ok(())
}
