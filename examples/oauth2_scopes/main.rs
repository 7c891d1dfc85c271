//! `cargo run --example oauth2_scopes`: FastAPI's OAuth2 scopes tutorial on auth-core.
//!
//! Serves on `127.0.0.1:8000` (`BIND_ADDR` overrides it). Tokens are signed with `SECRET_KEY`;
//! without it, with a random key that lives as long as the process. `--help` lists every
//! variable.

mod app;
mod logging;
#[path = "../settings.rs"]
mod settings;

use std::{io::IsTerminal, net::SocketAddr, process::ExitCode};

use settings::{Example, SettingError, Var};

const EXAMPLE: Example = Example {
    name: "oauth2_scopes",
    about: "FastAPI's OAuth2 scopes tutorial on auth-core",
    usage: "",
    vars: &[
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
        Var {
            name: "SECRET_KEY",
            default: "random, with a warning",
            about: "the access tokens' HS256 key, at least 32 bytes",
        },
        Var {
            name: "REFRESH_SECRET_KEY",
            default: "random",
            about: "the refresh tokens' HS256 key, at least 32 bytes",
        },
    ],
};

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8000";

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    EXAMPLE.no_arguments(&args)?;
    let filter = settings::var("RUST_LOG")?;
    if let Some(filter) = &filter {
        tracing_subscriber::EnvFilter::try_new(filter)
            .map_err(|error| settings::about("RUST_LOG", filter, format!("{error}; give e.g. RUST_LOG=info")))?;
    }
    tracing::subscriber::set_global_default(logging::subscriber(
        std::io::stdout,
        std::io::stdout().is_terminal(),
        filter.as_deref(),
    ))
    .map_err(|error| SettingError(format!("cannot set up logging: {error}")))?;

    let addr = settings::bind_addr(DEFAULT_BIND_ADDR)?;
    let secret_key = settings::secret("SECRET_KEY")?;
    // Refresh tokens are signed with a key of their own, so one can never pass for the other.
    let refresh_key = settings::secret("REFRESH_SECRET_KEY")?.unwrap_or_else(settings::random_secret);
    let listener = settings::listen(addr).await?;
    let addr = listener.local_addr()?;
    let secret_key = secret_key
        .unwrap_or_else(|| settings::random_secret_with_warning("SECRET_KEY", "tokens die with this process"));
    let router = app::app(app::AppState::new(&secret_key, &refresh_key)?).layer(logging::trace_layer());

    println!("Serving FastAPI's OAuth2 scopes tutorial on http://{addr}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    // With the client's address, for the log line of a failed login.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
