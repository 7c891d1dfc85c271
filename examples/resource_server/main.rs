//! `cargo run --example resource_server`: an API that accepts the access tokens an OpenID
//! provider issues, checked against the scopes each route declares.
//!
//! Environment:
//! - `OIDC_ISSUER` (required): the provider, e.g. `http://127.0.0.1:4000`. It is discovered at
//!   startup; a provider that is missing or misconfigured stops the server with the reason.
//! - `AUDIENCE` (default `https://api.example.test`): this API's identifier at the provider, the
//!   `aud` its tokens must carry, and the `resource` of its RFC 9728 metadata.
//! - `BIND_ADDR` (default `127.0.0.1:8002`).

mod app;

use std::{io::IsTerminal, net::SocketAddr, process::ExitCode};

use auth_core::strategies::oidc::{Issuer, OidcStrategy};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr, plain unless it is a terminal; stdout says where the server is.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("resource_server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("OIDC_ISSUER").ok().filter(|issuer| !issuer.is_empty()).ok_or(
        "OIDC_ISSUER is not set: give the URL of your OpenID provider (its issuer), e.g. OIDC_ISSUER=http://127.0.0.1:4000",
    )?;
    let audience = std::env::var("AUDIENCE").unwrap_or_else(|_| "https://api.example.test".to_owned());
    let addr: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8002".to_owned()).parse()?;

    let strategy = OidcStrategy::builder()
        .issuer(Issuer::new(&issuer).audience(&audience))
        .build()
        .await
        .map_err(|error| format!("cannot use the OpenID provider at {issuer}: {error}"))?;
    let router = app::app(strategy, &audience)?.layer(TraceLayer::new_for_http());

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("Serving the resource server on http://{addr}, accepting tokens of {issuer} for {audience}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    axum::serve(listener, router).await?;
    Ok(())
}
