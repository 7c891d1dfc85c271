//! `cargo run --example resource_server`: an API that accepts the access tokens an OpenID
//! provider issues, checked against the scopes each route declares.
//!
//! Environment (`--help` lists it):
//! - `OIDC_ISSUER` (required): the provider, e.g. `http://127.0.0.1:4000`. It is discovered at
//!   startup; a provider that is missing or misconfigured stops the server with the reason.
//! - `AUDIENCE` (default `https://api.example.test`): this API's identifier at the provider, the
//!   `aud` its tokens must carry, and the `resource` of its RFC 9728 metadata.
//! - `BIND_ADDR` (default `127.0.0.1:8002`).

mod app;
#[path = "../settings.rs"]
mod settings;

use std::{io::IsTerminal, process::ExitCode};

use auth_core::strategies::oidc::{Issuer, OidcStrategy};
use settings::{Example, SettingError, Var};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

const EXAMPLE: Example = Example {
    name: "resource_server",
    about: "an API accepting the access tokens of an OpenID provider, checked against each route's scopes",
    usage: "",
    vars: &[
        Var {
            name: "OIDC_ISSUER",
            default: "none, required",
            about: "the provider's issuer URL, e.g. http://127.0.0.1:4000",
        },
        Var {
            name: "AUDIENCE",
            default: DEFAULT_AUDIENCE,
            about: "this API's identifier: the `aud` its tokens must carry",
        },
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
    ],
};

const DEFAULT_AUDIENCE: &str = "https://api.example.test";
const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8002";

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    EXAMPLE.no_arguments(&args)?;
    // Logs go to stderr, plain unless it is a terminal; stdout says where the server is.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let issuer = settings::var("OIDC_ISSUER")?.ok_or_else(|| {
        SettingError(
            "OIDC_ISSUER is not set: give the URL of your OpenID provider (its issuer), e.g. OIDC_ISSUER=http://127.0.0.1:4000"
                .to_owned(),
        )
    })?;
    let audience = settings::var_or("AUDIENCE", DEFAULT_AUDIENCE)?;
    let addr = settings::bind_addr(DEFAULT_BIND_ADDR)?;

    let strategy = OidcStrategy::builder(Issuer::new(&issuer).audience(&audience)).build().await.map_err(|error| {
        settings::about("OIDC_ISSUER", &issuer, format!("cannot use the OpenID provider at {issuer}: {error}"))
    })?;
    let router = app::app(strategy, &audience)
        .map_err(|error| settings::about("AUDIENCE", &audience, error))?
        .layer(TraceLayer::new_for_http());

    let listener = settings::listen(addr).await?;
    let addr = listener.local_addr()?;
    println!("Serving the resource server on http://{addr}, accepting tokens of {issuer} for {audience}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    axum::serve(listener, router).await?;
    Ok(())
}
