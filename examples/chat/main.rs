//! `cargo run --example chat`: a chat room over a secured WebSocket.
//!
//! Open `http://127.0.0.1:8004/`, log in as `alice` / `wonderland` (may read and post) or `bob`
//! / `builder` (may only read), and talk. The same room answers over HTTP: `POST /messages`
//! (`chat:write`) and `GET /events` (`chat:read`, server-sent events). Docs at `/docs`.
//!
//! - `BIND_ADDR`: where to listen (default `127.0.0.1:8004`);
//! - `SECRET_KEY`: the tokens' HS256 key (default: a random key for this process, with a
//!   warning);
//! - `TOKEN_LIFETIME`: how long a token lives, in seconds (default 900). A socket is closed with
//!   1008 `Token expired` when its token expires: try `TOKEN_LIFETIME=30`.

mod app;

use std::{net::SocketAddr, time::Duration};

use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();

    let secret_key = match std::env::var("SECRET_KEY") {
        Ok(key) if !key.is_empty() => key.into_bytes(),
        _ => {
            tracing::warn!("SECRET_KEY is not set: signing with a random key; tokens die with this process");
            random_key()
        }
    };
    let lifetime = match std::env::var("TOKEN_LIFETIME") {
        Ok(seconds) => Duration::from_secs(seconds.parse().map_err(|_| "TOKEN_LIFETIME is a number of seconds")?),
        Err(_) => Duration::from_secs(15 * 60),
    };

    let addr: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8004".to_owned()).parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    // The request span logs method and path only: no query, so no token that a client put there.
    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
    });
    let router = app::app(app::AppState::new(&secret_key, lifetime).await?).layer(trace);

    println!("Chat on http://{addr}/ (alice / wonderland may post, bob / builder may read)");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    axum::serve(listener, router).await?;
    Ok(())
}
