//! `cargo run --example chat`: a chat room over a secured WebSocket.
//!
//! Open `http://127.0.0.1:8004/`, log in as `alice` / `wonderland` (may read and post) or `bob`
//! / `builder` (may only read), and talk. The same room answers over HTTP: `POST /messages`
//! (`chat:write`) and `GET /events` (`chat:read`, server-sent events). Docs at `/docs`.
//!
//! - `BIND_ADDR`: where to listen (default `127.0.0.1:8004`);
//! - `SECRET_KEY`: the tokens' HS256 key, at least 32 bytes (default: a random key for this
//!   process, with a warning);
//! - `TOKEN_LIFETIME`: how long a token lives, in seconds, at least 1 (default 900). A socket is
//!   closed with 1008 `Token expired` when its token expires: try `TOKEN_LIFETIME=30`.

mod app;
#[path = "../settings.rs"]
mod settings;

use std::{process::ExitCode, time::Duration};

use settings::{Example, Var};
use tower_http::trace::TraceLayer;

const EXAMPLE: Example = Example {
    name: "chat",
    about: "a chat room over a secured WebSocket (alice / wonderland may post, bob / builder may read)",
    usage: "",
    vars: &[
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
        Var {
            name: "SECRET_KEY",
            default: "random, with a warning",
            about: "the tokens' HS256 key, at least 32 bytes",
        },
        Var { name: "TOKEN_LIFETIME", default: "900", about: "how long a token lives, in seconds, at least 1" },
    ],
};

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8004";

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    EXAMPLE.no_arguments(&args)?;
    settings::init_logs()?;
    let addr = settings::bind_addr(DEFAULT_BIND_ADDR)?;
    let secret_key = settings::secret("SECRET_KEY")?;
    let lifetime = settings::seconds("TOKEN_LIFETIME", Duration::from_secs(15 * 60))?;
    let listener = settings::listen(addr).await?;
    let addr = listener.local_addr()?;
    let secret_key = secret_key
        .unwrap_or_else(|| settings::random_secret_with_warning("SECRET_KEY", "tokens die with this process"));
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
