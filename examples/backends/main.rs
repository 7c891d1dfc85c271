//! `cargo run --example backends`: two backends guarding one route, as fastapi-users does it.
//!
//! - `jwt`: bearer tokens, JWTs (`POST /auth/jwt/login`, `POST /auth/jwt/logout`); logout
//!   lists the token in a denylist until it expires, so a logged-out token is refused;
//! - `cookie`: an HttpOnly, Secure, SameSite=Lax cookie holding an opaque token stored hashed in
//!   SQLite (`POST /auth/cookie/login`, `POST /auth/cookie/logout`); logout deletes the row;
//!   a login or logout posted by a page of another site is refused (403);
//! - `redis`: bearer tokens kept in Redis, only when `REDIS_URL` is set.
//!
//! `GET /users/me/items/` accepts any of them and says which one authenticated the request.
//! Serves on `127.0.0.1:8001` (`BIND_ADDR` overrides it); the SQLite file is `DATABASE_URL`,
//! by default `sqlite://backends-example.sqlite`, created on first run (or `postgres://…`).
//! Docs at `/docs`; `--help` lists every variable.

#[path = "../settings.rs"]
mod settings;

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use auth_core::{
    AuthBackend, Authenticated, Scopes,
    backend::PasswordTable,
    openapi::{SecurityDoc, swagger_ui},
    password::Passwords,
    secured,
    strategies::{DatabaseStrategy, DenylistedJwt, JwtKey, JwtStrategy, MemoryDenylist, RedisStrategy},
};
use axum::{Json, Router, extract::FromRef, routing::get};
use serde_json::{Value, json};
use settings::{Example, Var};
use utoipa_axum::router::OpenApiRouter;

const EXAMPLE: Example = Example {
    name: "backends",
    about: "two backends guarding one route (bearer JWTs, and a cookie holding a token stored in the database)",
    usage: "",
    vars: &[
        Var { name: "BIND_ADDR", default: DEFAULT_BIND_ADDR, about: "where to listen" },
        Var {
            name: "DATABASE_URL",
            default: DEFAULT_DATABASE_URL,
            about: "the cookie backend's tokens: sqlite://<file> or postgres://<user>:<password>@<host>/<database>",
        },
        Var {
            name: "REDIS_URL",
            default: "none: no `redis` backend",
            about: "a third backend, bearer tokens kept in Redis, e.g. redis://127.0.0.1:6379",
        },
    ],
};

const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8001";
const DEFAULT_DATABASE_URL: &str = "sqlite://backends-example.sqlite";

/// The scopes this app grants.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
}

/// Bearer JWTs whose logout sticks: the denylist refuses a logged-out token until it expires.
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
struct JwtBackend {
    strategy: DenylistedJwt<MemoryDenylist>,
}

/// A cookie holding an opaque token, stored hashed in SQLite.
#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(name = "__Host-session", max_age = 3600), strategy = database)]
struct CookieBackend {
    strategy: DatabaseStrategy,
}

/// Bearer tokens kept in Redis.
#[derive(AuthBackend, Clone)]
#[backend(name = "redis", transport = bearer(token_url = "auth/redis/login"), strategy = redis, scopes = Scope)]
struct RedisBackend {
    strategy: RedisStrategy,
}

/// The users: argon2id hashes and the scopes each may be granted.
type Users = PasswordTable;

#[derive(Clone, FromRef)]
struct AppState {
    jwt: JwtBackend,
    cookie: CookieBackend,
    users: Users,
}

/// The items of whoever is logged in, through either backend.
#[utoipa::path(get, path = "/users/me/items/", summary = "Read Own Items", responses((status = 200, description = "The items")))]
#[secured(scopes = ["items"])]
async fn read_own_items(user: Authenticated<(CookieBackend, JwtBackend)>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": user.subject, "backend": user.backend }]))
}

/// Redis-backed items, when Redis is configured.
#[secured(scopes = ["items"])]
async fn read_own_items_redis(user: Authenticated<RedisBackend>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": user.subject, "backend": user.backend }]))
}

fn main() -> ExitCode {
    EXAMPLE.run(run)
}

async fn run(args: Vec<String>) -> Result<(), settings::Error> {
    EXAMPLE.no_arguments(&args)?;
    settings::init_logs()?;
    let addr = settings::bind_addr(DEFAULT_BIND_ADDR)?;
    let database_url = settings::database_url(DEFAULT_DATABASE_URL)?;
    let redis_url = settings::var("REDIS_URL")?;
    let listener = settings::listen(addr).await?;

    let users =
        PasswordTable::new(Passwords::builder().build()).with_user("johndoe", "secret", ["me", "items"]).await?;

    let database = async {
        let database = DatabaseStrategy::builder(&database_url).lifetime(Duration::from_secs(3600)).build().await?;
        database.migrate().await?;
        Ok::<_, auth_core::strategies::database::DatabaseError>(database)
    }
    .await
    .map_err(|error| settings::about("DATABASE_URL", &database_url, error))?;

    let state = AppState {
        jwt: JwtBackend {
            strategy: DenylistedJwt::new(
                JwtStrategy::builder(JwtKey::hs256(settings::random_secret()))
                    .lifetime(Duration::from_secs(1800))
                    .build()?,
                MemoryDenylist::new(),
            ),
        },
        cookie: CookieBackend { strategy: database },
        users,
    };

    let (documented, mut api) =
        OpenApiRouter::<AppState>::new().routes(auth_core::routes!(read_own_items)).split_for_parts();
    // Backends describe themselves; the Redis one is listed even where no documented route
    // uses it.
    let mut docs = SecurityDoc::new();

    let mut app = documented
        .nest("/auth/jwt", JwtBackend::router::<Users, AppState>())
        .nest("/auth/cookie", CookieBackend::router::<Users, AppState>())
        .with_state(state.clone());

    if let Some(url) = redis_url {
        let connection = auth_core::strategies::RedisStrategy::connect(&url)
            .await
            .map_err(|error| settings::about("REDIS_URL", &url, error))?;
        let redis = RedisBackend { strategy: RedisStrategy::builder(connection).build()? };
        docs = docs.credential::<RedisBackend>();
        #[derive(Clone, FromRef)]
        struct RedisState {
            redis: RedisBackend,
            users: Users,
        }
        let redis_state = RedisState { redis, users: state.users.clone() };
        app = app.merge(
            Router::new()
                .route("/redis/users/me/items/", get(read_own_items_redis))
                .nest("/auth/redis", RedisBackend::router::<Users, RedisState>())
                .with_state(redis_state),
        );
        tracing::info!("REDIS_URL is set: the `redis` backend is on");
    }
    docs.apply(&mut api);
    let app = app.merge(swagger_ui(api));

    println!("Backends example on http://{} (docs at /docs)", listener.local_addr()?);
    // With the client's address, for the log line of a failed login.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
