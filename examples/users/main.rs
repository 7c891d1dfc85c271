//! `cargo run --example users`: fastapi-users' full example on auth-core. See the README's
//! "Users" section for a curl session.
//!
//! Environment:
//! - `BIND_ADDR`: default `127.0.0.1:8003`;
//! - `DATABASE_URL`: default `sqlite://users-example.sqlite` (created on first run), or
//!   `postgres://…`;
//! - `SMTP_URL`: e.g. `smtp://127.0.0.1:1025`; without it, the verify and reset mails go to the
//!   log;
//! - `PUBLIC_URL`: the frontend's base URL for the links in mails; default `http://<BIND_ADDR>`;
//! - `SECRET_KEY`: the secret the token keys are derived from; without it, a random one and a
//!   warning (tokens then die with the process);
//! - `MAIL_FROM` (default `auth-core users example <noreply@example.com>`), `REDIS_URL` (login
//!   throttling in Redis, shared by every process), `REDIS_PREFIX`, `USERS_TABLE`,
//!   `TOKENS_TABLE`, `REQUIRE_VERIFICATION=1`, `TRUSTED_PROXIES=<n>` (client IPs from
//!   `X-Forwarded-For`).
//!
//! `cargo run --example users -- create-superuser <email>` creates the first superuser, with
//! the password from `SUPERUSER_PASSWORD` or, without it, the first line of standard input.

mod app;

use std::{io::BufRead, net::SocketAddr};

use auth_core::users::{ClientIpSource, Email};
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn config(bind: SocketAddr) -> Result<app::Config, Box<dyn std::error::Error>> {
    let secret_key = match env("SECRET_KEY") {
        Some(key) => key.into_bytes(),
        None => {
            tracing::warn!("SECRET_KEY is not set: using a random key; tokens and mailed links die with this process");
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key)?;
            key
        }
    };
    let client_ip = match env("TRUSTED_PROXIES") {
        Some(n) => ClientIpSource::XForwardedFor { trusted_proxies: n.parse()? },
        None => ClientIpSource::Peer,
    };
    Ok(app::Config {
        database_url: env("DATABASE_URL").unwrap_or_else(|| "sqlite://users-example.sqlite".to_owned()),
        users_table: env("USERS_TABLE").unwrap_or_else(|| "users".to_owned()),
        tokens_table: env("TOKENS_TABLE").unwrap_or_else(|| "auth_tokens".to_owned()),
        smtp_url: env("SMTP_URL"),
        public_url: env("PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}")),
        mail_from: env("MAIL_FROM").unwrap_or_else(|| "auth-core users example <noreply@example.com>".to_owned()),
        secret_key,
        redis_url: env("REDIS_URL"),
        redis_prefix: env("REDIS_PREFIX").unwrap_or_else(|| "auth:throttle:".to_owned()),
        client_ip,
        requires_verification: env("REQUIRE_VERIFICATION").is_some_and(|v| v == "1" || v == "true"),
    })
}

/// `create-superuser <email>`: the first superuser, from the command line.
async fn create_superuser(config: &app::Config, email: &str) -> Result<(), Box<dyn std::error::Error>> {
    let email = Email::parse(email).map_err(|e| format!("invalid email: {e}"))?;
    let password = match env("SUPERUSER_PASSWORD") {
        Some(password) => password,
        None => {
            eprintln!("Password for {email} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let state = app::AppState::new(config).await?;
    let user = state.users.create_superuser(email, password).await.map_err(|e| format!("not created: {e}"))?;
    println!("Created superuser {} <{}>", user.id, user.email);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let bind: SocketAddr = env("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8003".to_owned()).parse()?;
    let config = config(bind)?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {}
        ["create-superuser", email] => return create_superuser(&config, email).await,
        _ => return Err("usage: users [create-superuser <email>]".into()),
    }

    let state = app::AppState::new(&config).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    println!("Serving fastapi-users' full example on http://{addr}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    app::serve(listener, app::router(state).layer(TraceLayer::new_for_http())).await?;
    Ok(())
}
