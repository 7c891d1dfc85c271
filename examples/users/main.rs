//! `cargo run --example users`: fastapi-users' full example on auth-core. See the README's
//! "Users" section for a curl session.
//!
//! Environment (`--help` lists it, with the defaults):
//! - `BIND_ADDR`: default `127.0.0.1:8003`;
//! - `DATABASE_URL`: default `sqlite://users-example.sqlite` (created on first run), or
//!   `postgres://…`;
//! - `SMTP_URL`: e.g. `smtp://127.0.0.1:1025`; without it, the verify and reset mails go to the
//!   log;
//! - `PUBLIC_URL`: the frontend's base URL for the links in mails; default `http://<BIND_ADDR>`;
//! - `SECRET_KEY`: the secret the token keys are derived from, at least 32 bytes; without it, a
//!   random one and a warning (tokens then die with the process);
//! - `OAUTH_ISSUER`, `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET`: social login through that OpenID
//!   provider (all three, or none): provider `oidc`, routes `/auth/oidc/authorize` and
//!   `/auth/oidc/callback` on the cookie backend, `/auth/associate/oidc/…` for linking, its
//!   redirect URI `{PUBLIC_URL}/auth/oidc/callback`, and a page at `/` with a "Sign in with
//!   OpenID" button; `OAUTH_ASSOCIATE_BY_EMAIL=1` links a provider account to the user with its
//!   e-mail, when the provider verified the address;
//! - `MAIL_FROM` (default `auth-core users example <noreply@example.com>`), `REDIS_URL` (login
//!   throttling and the JWT logout list in Redis, shared by every process), `REDIS_PREFIX`,
//!   `USERS_TABLE`, `TOKENS_TABLE`, `REQUIRE_VERIFICATION=1`, `TRUSTED_PROXIES=<n>` (client IPs
//!   from `X-Forwarded-For`).
//!
//! `cargo run --example users -- create-superuser <email>` creates the first superuser, with
//! the password from `SUPERUSER_PASSWORD` or, without it, the first line of standard input.
//!
//! `cargo run --example users -- create-api-key <email> [--scopes a,b] [--name n]
//! [--expires-in seconds]` mints an API key for a user, within the user's scopes, and prints it
//! once on standard output (`x-api-key: <key>` on `/authenticated-route`).

mod app;
#[path = "../settings.rs"]
mod settings;

use std::{io::BufRead, net::SocketAddr, process::ExitCode};

use auth_core::{
    ScopeDeclaration,
    users::{ClientIpSource, Email, UserPrincipal, UserScope},
};
use settings::{Example, SettingError, Var};
use tower_http::trace::TraceLayer;

const EXAMPLE: Example = Example {
    name: "users",
    about: "fastapi-users' full example on auth-core",
    usage: "[create-superuser <email> | create-api-key <email> [--scopes a,b] [--name n] [--expires-in s]]",
    vars: &[
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
        Var {
            name: "DATABASE_URL",
            default: DEFAULT_DATABASE_URL,
            about: "sqlite://<file> (created on first run) or postgres://<user>:<password>@<host>/<database>",
        },
        Var {
            name: "SMTP_URL",
            default: "none: mails go to the log",
            about: "where mails go, e.g. smtp://127.0.0.1:1025",
        },
        Var { name: "PUBLIC_URL", default: "http://<BIND_ADDR>", about: "the frontend the mailed links point to" },
        Var {
            name: "SECRET_KEY",
            default: "random, with a warning",
            about: "at least 32 bytes; the access, verify and reset keys are derived from it",
        },
        Var {
            name: "OAUTH_ISSUER",
            default: "none: no social login",
            about: "an OpenID provider's issuer: social login as provider `oidc` (with the next two)",
        },
        Var { name: "OAUTH_CLIENT_ID", default: "none", about: "this app's client id at OAUTH_ISSUER" },
        Var { name: "OAUTH_CLIENT_SECRET", default: "none", about: "this app's client secret at OAUTH_ISSUER" },
        Var {
            name: "OAUTH_ASSOCIATE_BY_EMAIL",
            default: "0",
            about: "1: a provider account whose verified e-mail is a user's logs that user in (linked)",
        },
        Var { name: "MAIL_FROM", default: DEFAULT_MAIL_FROM, about: "the sender of the mails" },
        Var {
            name: "REDIS_URL",
            default: "none: in memory",
            about: "login throttling and logged-out JWTs in Redis, shared by every process",
        },
        Var { name: "REDIS_PREFIX", default: "auth:throttle:", about: "the throttle's Redis key prefix" },
        Var { name: "USERS_TABLE", default: "users", about: "the users table" },
        Var {
            name: "TOKENS_TABLE",
            default: "auth_tokens",
            about: "the cookie backend's tokens table (API keys in <TOKENS_TABLE>_api_keys)",
        },
        Var { name: "REQUIRE_VERIFICATION", default: "0", about: "1: only verified users may log in" },
        Var {
            name: "TRUSTED_PROXIES",
            default: "none: the peer address",
            about: "how many proxies of yours append to X-Forwarded-For, where client IPs then come from",
        },
        Var {
            name: "SUPERUSER_PASSWORD",
            default: "the first line of standard input",
            about: "the password create-superuser gives",
        },
    ],
};

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8003";
const DEFAULT_DATABASE_URL: &str = "sqlite://users-example.sqlite";
const DEFAULT_MAIL_FROM: &str = "auth-core users example <noreply@example.com>";

/// Social login's settings: all three variables, or none.
fn oauth_config() -> Result<Option<app::OAuthConfig>, SettingError> {
    let vars =
        [settings::var("OAUTH_ISSUER")?, settings::var("OAUTH_CLIENT_ID")?, settings::var("OAUTH_CLIENT_SECRET")?];
    match vars {
        [None, None, None] => Ok(None),
        [Some(issuer), Some(client_id), Some(client_secret)] => {
            let associate_by_email = match settings::var("OAUTH_ASSOCIATE_BY_EMAIL")?.as_deref() {
                None | Some("0" | "false") => false,
                Some("1" | "true") => true,
                Some(other) => {
                    return Err(SettingError(format!(
                        "OAUTH_ASSOCIATE_BY_EMAIL={other:?}: give 1 (or true) to link by verified e-mail, 0 (or false) not to"
                    )));
                }
            };
            Ok(Some(app::OAuthConfig { issuer, client_id, client_secret, associate_by_email }))
        }
        _ => Err(SettingError(
            "social login needs OAUTH_ISSUER, OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET together: set all three, or none"
                .to_owned(),
        )),
    }
}

/// The settings, and whether `SECRET_KEY` was unset (a random key stands in for it).
fn config(bind: SocketAddr) -> Result<(app::Config, bool), SettingError> {
    let secret_key = settings::secret("SECRET_KEY")?;
    let client_ip = match settings::count("TRUSTED_PROXIES", 1)? {
        Some(trusted_proxies) => ClientIpSource::XForwardedFor { trusted_proxies },
        None => ClientIpSource::Peer,
    };
    let requires_verification = match settings::var("REQUIRE_VERIFICATION")?.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(SettingError(format!(
                "REQUIRE_VERIFICATION={other:?}: give 1 (or true) to require it, 0 (or false) not to"
            )));
        }
    };
    let database_url = settings::database_url(DEFAULT_DATABASE_URL)?;
    let (users_table, tokens_table) =
        (settings::var_or("USERS_TABLE", "users")?, settings::var_or("TOKENS_TABLE", "auth_tokens")?);
    let (smtp_url, public_url) = (settings::var("SMTP_URL")?, settings::var("PUBLIC_URL")?);
    let (mail_from, redis_url) = (settings::var_or("MAIL_FROM", DEFAULT_MAIL_FROM)?, settings::var("REDIS_URL")?);
    let redis_prefix = settings::var_or("REDIS_PREFIX", "auth:throttle:")?;
    let random_key = secret_key.is_none();
    let secret_key = secret_key.unwrap_or_else(settings::random_secret);
    let config = app::Config {
        database_url,
        users_table,
        tokens_table,
        smtp_url,
        public_url: public_url.unwrap_or_else(|| format!("http://{bind}")),
        mail_from,
        secret_key,
        redis_url,
        redis_prefix,
        client_ip,
        requires_verification,
    };
    Ok((config, random_key))
}

/// Warns that tokens die with the process, once every setting is read and the address bound, so
/// that a bad setting is the only line printed.
fn warn_if_random(random_key: bool) {
    if random_key {
        tracing::warn!("SECRET_KEY is not set: using a random key; tokens and mailed links die with this process");
    }
}

/// `create-superuser <email>`: the first superuser, from the command line.
async fn create_superuser(config: &app::Config, email: &str) -> Result<(), settings::Error> {
    let email = Email::parse(email).map_err(|e| format!("invalid email: {e}"))?;
    let password = match settings::var("SUPERUSER_PASSWORD")? {
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

/// `create-api-key <email> [--scopes a,b] [--name n] [--expires-in seconds]`: a key for a
/// user, within the scopes the user holds, printed once.
async fn create_api_key(config: &app::Config, email: &str, options: &[&str]) -> Result<(), settings::Error> {
    let email = Email::parse(email).map_err(|e| format!("invalid email: {e}"))?;
    let (mut scopes, mut name, mut expires_in) = (Vec::new(), "cli".to_owned(), None);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let mut value = || options.next().ok_or_else(|| format!("{option} needs a value"));
        match *option {
            "--scopes" => {
                for scope in value()?.split([',', ' ']).filter(|scope| !scope.is_empty()) {
                    let known = UserScope::ALL.iter().map(|info| info.name).collect::<Vec<_>>().join(", ");
                    scopes.push(
                        UserScope::from_scope_str(scope)
                            .ok_or_else(|| format!("unknown scope `{scope}`; declared: {known}"))?,
                    );
                }
            }
            "--name" => name = (*value()?).to_owned(),
            "--expires-in" => {
                let seconds = value()?.parse().map_err(|_| "--expires-in takes whole seconds".to_owned())?;
                expires_in = Some(std::time::Duration::from_secs(seconds));
            }
            other => return Err(SettingError(format!("unknown option {other}; see `users --help`")).into()),
        }
    }
    let state = app::AppState::new(config).await?;
    let user = state
        .users
        .get_by_email(&email)
        .await
        .map_err(|e| format!("could not read the user: {e}"))?
        .ok_or_else(|| format!("no user {email}"))?;
    let held = UserPrincipal::new(user.clone()).scopes().to_vec();
    let (key, listed) = state
        .keys
        .mint(&user.id.to_string(), &held, &name, &scopes, expires_in)
        .await
        .map_err(|e| format!("not minted: {e} (a key's scopes are a subset of its owner's: {held:?})"))?;
    eprintln!("API key {} for {} <{}>, shown this once:", listed.id, user.id, user.email);
    println!("{key}");
    Ok(())
}

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    settings::init_logs()?;
    let bind = settings::bind_addr(DEFAULT_BIND_ADDR)?;
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {}
        ["create-superuser", email] => {
            let (config, random_key) = config(bind)?;
            warn_if_random(random_key);
            return create_superuser(&config, email).await;
        }
        ["create-api-key", email, options @ ..] => {
            let (config, random_key) = config(bind)?;
            warn_if_random(random_key);
            return create_api_key(&config, email, options).await;
        }
        _ => {
            return Err(SettingError(
                "usage: users [create-superuser <email>], users create-api-key <email> [--scopes a,b]; see `users --help`"
                    .to_owned(),
            )
            .into());
        }
    }
    let (config, random_key) = config(bind)?;
    let oauth = oauth_config()?;
    let listener = settings::listen(bind).await?;
    warn_if_random(random_key);
    let state = app::AppState::new(&config).await?;
    let provider = match &oauth {
        Some(oauth) => Some(app::oauth_provider(&config, oauth, &state).await?),
        None => None,
    };
    let addr = listener.local_addr()?;
    println!("Serving fastapi-users' full example on http://{addr}");
    println!("API docs: http://{addr}/docs (OpenAPI document: http://{addr}/openapi.json)");
    if provider.is_some() {
        println!("Sign in with OpenID: {}/", config.public_url.trim_end_matches('/'));
    }
    app::serve(listener, app::router_with(state, provider).layer(TraceLayer::new_for_http())).await?;
    Ok(())
}
