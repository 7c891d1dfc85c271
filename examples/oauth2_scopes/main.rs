//! `cargo run --example oauth2_scopes`: FastAPI's OAuth2 scopes tutorial on auth-core.
//!
//! Serves on `127.0.0.1:8000` (`BIND_ADDR` overrides it). Tokens are signed with `SECRET_KEY`;
//! without it, with a random key that lives as long as the process.

mod app;
mod logging;

use std::{io::IsTerminal, net::SocketAddr};

fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = std::env::var("RUST_LOG").ok();
    tracing::subscriber::set_global_default(logging::subscriber(
        std::io::stdout,
        std::io::stdout().is_terminal(),
        filter.as_deref(),
    ))?;

    let secret_key = match std::env::var("SECRET_KEY") {
        Ok(key) if !key.is_empty() => key.into_bytes(),
        _ => {
            tracing::warn!("SECRET_KEY is not set: signing with a random key; tokens die with this process");
            random_key()
        }
    };
    // Refresh tokens are signed with a key of their own, so one can never pass for the other.
    let refresh_key = match std::env::var("REFRESH_SECRET_KEY") {
        Ok(key) if !key.is_empty() => key.into_bytes(),
        _ => random_key(),
    };

    let addr: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned()).parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let router = app::app(app::AppState::new(&secret_key, &refresh_key)?).layer(logging::trace_layer());

    println!("Serving FastAPI's OAuth2 scopes tutorial on http://{addr}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    // With the client's address, for the log line of a failed login.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
