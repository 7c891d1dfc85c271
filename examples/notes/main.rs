//! `cargo run --example notes`: notes that belong to someone, with who may touch which record
//! declared beside the scopes (`#[secured(allow = …)]`, `#[policy]`).
//!
//! Environment (`--help` lists it):
//! - `BIND_ADDR` (default `127.0.0.1:8005`).
//! - `SECRET_KEY`: the tokens' HS256 key, at least 32 bytes (default: a random key for this
//!   process, with a warning).
//! - `DATABASE_URL` (default `sqlite://notes-example.sqlite`, created on first run): where the
//!   notes live, SQLite or PostgreSQL.

mod app;
#[path = "../settings.rs"]
mod settings;

use std::process::ExitCode;

use settings::{Example, Var};
use tower_http::trace::TraceLayer;

const EXAMPLE: Example = Example {
    name: "notes",
    about: "notes that belong to someone: policies and loaders declared with the scopes",
    usage: "",
    vars: &[
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
        Var {
            name: "SECRET_KEY",
            default: "a random key, tokens die with the process",
            about: "the tokens' HS256 key, at least 32 bytes",
        },
        Var {
            name: "DATABASE_URL",
            default: DEFAULT_DATABASE_URL,
            about: "where the notes live (sqlite:// or postgres://)",
        },
    ],
};

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8005";
const DEFAULT_DATABASE_URL: &str = "sqlite://notes-example.sqlite";

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    EXAMPLE.no_arguments(&args)?;
    settings::init_logs()?;
    let addr = settings::bind_addr(DEFAULT_BIND_ADDR)?;
    let secret_key = settings::secret("SECRET_KEY")?;
    let database_url = settings::database_url(DEFAULT_DATABASE_URL)?;
    let notes = app::NoteStore::connect(&database_url)
        .await
        .map_err(|error| settings::about("DATABASE_URL", &database_url, error))?;
    let listener = settings::listen(addr).await?;
    let secret_key = secret_key
        .unwrap_or_else(|| settings::random_secret_with_warning("SECRET_KEY", "tokens die with this process"));
    let router = app::app(app::AppState::new(&secret_key, notes).await?).layer(TraceLayer::new_for_http());
    let addr = listener.local_addr()?;
    println!("Serving the notes on http://{addr}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    axum::serve(listener, router).await?;
    Ok(())
}
