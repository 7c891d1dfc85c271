//! The app of `examples/users`: fastapi-users' "full example" (SQLAlchemy flavour) on auth-core,
//! with the cookie backend next to the JWT one and a `full_name` of the app's own. Tests and
//! benchmarks include this file as it is.

// Public for the tests and benchmarks that include this file; not all of them use everything.
#![allow(unreachable_pub, dead_code)]

use std::{error::Error, net::SocketAddr, time::Duration};

use auth_core::{
    AuthBackend,
    openapi::{SecurityDoc, swagger_ui},
    secured,
    strategies::{
        ApiKeys, DatabaseError, DatabaseStrategy, Denylist, DenylistedJwt, JwtKey, JwtStrategy, MemoryDenylist,
        RedisDenylist,
    },
    users::{
        self, ClientIpSource, CurrentUser, LoginThrottle, MailError, Mailer, OAuthProvider, RequestContext, User,
        UserHooks, UserManager, UserScope, UserStore,
    },
};
use axum::{
    Json, Router,
    extract::{FromRef, Request},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

/// The app's own user fields: they are stored with the user, answered, accepted by register and
/// `PATCH`, and described in the OpenAPI schemas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// How the user likes to be called.
    #[serde(default)]
    pub full_name: Option<String>,
}

/// The example's hooks: they log, as the full example's `UserManager` prints.
pub struct Hooks;

impl UserHooks for Hooks {
    type Fields = Profile;

    async fn after_register(&self, user: &User<Profile>, _request: &RequestContext) {
        tracing::info!("User {} has registered.", user.id);
    }

    async fn after_forgot_password(&self, user: &User<Profile>, _token: &str, _request: &RequestContext) {
        tracing::info!("User {} has forgot their password.", user.id);
    }

    async fn after_request_verify(&self, user: &User<Profile>, _token: &str, _request: &RequestContext) {
        tracing::info!("Verification requested for user {}.", user.id);
    }
}

/// Bearer JWTs (`/auth/jwt/login`), an hour long, audience `fastapi-users:auth` as fastapi-users'.
/// Logout lists the token in a denylist until it expires, so a logged-out token is refused
/// (fastapi-users' JWT logout forgets nothing: the token works until its `exp`).
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = auth_core::users::UserScope)]
pub struct JwtBackend {
    strategy: DenylistedJwt<LoggedOut>,
}

/// Where logged-out JWTs are listed until they expire: in this process's memory, or in Redis
/// when the example has `REDIS_URL`, so that every process sharing it refuses them.
#[derive(Clone, Debug)]
pub enum LoggedOut {
    /// One process.
    Memory(MemoryDenylist),
    /// Every process sharing the Redis.
    Redis(RedisDenylist),
}

impl Denylist for LoggedOut {
    async fn revoke(&self, id: &str, until: u64) -> Result<(), auth_core::AuthError> {
        match self {
            Self::Memory(list) => list.revoke(id, until).await,
            Self::Redis(list) => list.revoke(id, until).await,
        }
    }

    async fn is_revoked(&self, id: &str, issued_at: u64) -> Result<bool, auth_core::AuthError> {
        match self {
            Self::Memory(list) => list.is_revoked(id, issued_at).await,
            Self::Redis(list) => list.is_revoked(id, issued_at).await,
        }
    }
}

/// fastapi-users' cookie (`fastapiusersauth`: HttpOnly, Secure, SameSite=Lax) holding an opaque
/// token stored hashed in the database (`/auth/cookie/login`).
///
/// `host_prefix = false` keeps fastapi-users' name, for wire compatibility with its frontends
/// (the differential test compares `Set-Cookie`). It is the one place that asks for it: without
/// the `__Host-` prefix a page of a sibling subdomain can plant a cookie of this name (issue 20,
/// finding 8). An app not bound to fastapi-users' frontends keeps the default, `__Host-auth`.
#[derive(AuthBackend, Clone)]
#[backend(name = "cookie", transport = cookie(name = "fastapiusersauth", max_age = 3600, host_prefix = false), strategy = database)]
pub struct CookieBackend {
    strategy: DatabaseStrategy,
}

/// The backends that authenticate the users routes and `/authenticated-route`, in order.
pub type Backends = (JwtBackend, CookieBackend);

/// A user's token, or a key a user minted for a machine (`x-api-key`).
pub type UsersOrMachines = (JwtBackend, CookieBackend, ApiKeys);

/// The user flows of this app.
pub type Users = UserManager<Hooks>;

/// Everything the routes need.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The user flows.
    pub users: Users,
    /// The bearer backend.
    pub jwt: JwtBackend,
    /// The cookie backend.
    pub cookie: CookieBackend,
    pub keys: ApiKeys,
}

/// The example's settings, from the environment in `main.rs`.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The users table (tests give each run its own).
    pub users_table: String,
    /// The cookie tokens' table.
    pub tokens_table: String,
    /// `smtp://host:port`; without it, mails go to the log.
    pub smtp_url: Option<String>,
    /// The frontend's base URL, for the links in mails.
    pub public_url: String,
    /// The sender of the mails.
    pub mail_from: String,
    /// The one secret every key is derived from.
    pub secret_key: Vec<u8>,
    /// Where the login throttle keeps its counters; in memory without it.
    pub redis_url: Option<String>,
    /// The throttle's Redis key prefix.
    pub redis_prefix: String,
    /// Where client IPs come from.
    pub client_ip: ClientIpSource,
    /// Require verified users for login and the users routes.
    pub requires_verification: bool,
}

/// A key for one purpose, derived from the one secret: SHA-256 over a label and the secret, so
/// the access, verify and reset keys differ and none reveals another.
pub fn derive_key(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(b"auth-core examples/users ");
    digest.update(purpose.as_bytes());
    digest.update([0]);
    digest.update(secret);
    digest.finalize().into()
}

impl AppState {
    /// Connects to the database (running its migrations), the SMTP server and Redis, as
    /// configured. An error names the setting at fault by its environment variable
    /// (`DATABASE_URL=…: …`), in one line.
    pub async fn new(config: &Config) -> Result<Self, Box<dyn Error>> {
        let database = |error: &dyn std::fmt::Display| setting("DATABASE_URL", &config.database_url, error);
        // A bad table name is the table setting's fault; anything else, the database's.
        let table = |name: &'static str, table: &str, error: DatabaseError| match error {
            DatabaseError::InvalidTableName(_) => setting(name, table, &error),
            error => database(&error),
        };
        let store = UserStore::builder(&config.database_url)
            .table(&config.users_table)
            .build()
            .await
            .map_err(|e| table("USERS_TABLE", &config.users_table, e))?;
        store.migrate().await.map_err(|e| database(&e))?;
        let tokens = DatabaseStrategy::builder(&config.database_url)
            .table(&config.tokens_table)
            .lifetime(Duration::from_secs(3600))
            .build()
            .await
            .map_err(|e| table("TOKENS_TABLE", &config.tokens_table, e))?;
        tokens.migrate().await.map_err(|e| database(&e))?;

        // API keys, in the users' database; the table is named after the token table.
        let keys_table = format!("{}_api_keys", config.tokens_table);
        let keys = ApiKeys::connect(config.database_url.as_str(), derive_key(&config.secret_key, "api-keys"))
            .await
            .map_err(|e| database(&e))?
            .with_prefix("ak_users")?
            .with_table(&keys_table)
            .map_err(|e| setting("TOKENS_TABLE", &config.tokens_table, &e))?;
        keys.migrate().await.map_err(|e| database(&e))?;

        let mailer = Mailer::builder(&config.public_url, &config.mail_from).app_name("the auth-core users example");
        let mailer = match &config.smtp_url {
            Some(url) => mailer.smtp(url),
            None => mailer.log(),
        };
        let mailer = mailer.build().map_err(|e| match (&e, &config.smtp_url) {
            (MailError::SmtpUrl(_) | MailError::NoRuntime, Some(url)) => setting("SMTP_URL", url, &e),
            _ => setting("PUBLIC_URL or MAIL_FROM", &format!("{} / {}", config.public_url, config.mail_from), &e),
        })?;
        let redis = match &config.redis_url {
            Some(url) => Some(
                auth_core::strategies::RedisStrategy::connect(url).await.map_err(|e| setting("REDIS_URL", url, &e))?,
            ),
            None => None,
        };
        let (throttle, logged_out) = match redis {
            Some(connection) => (
                LoginThrottle::builder().redis(connection.clone()).prefix(&config.redis_prefix).build(),
                LoggedOut::Redis(RedisDenylist::builder(connection).build()),
            ),
            None => (LoginThrottle::builder().build(), LoggedOut::Memory(MemoryDenylist::new())),
        };
        // Failed API keys count on the logins' per-IP counters.
        let keys = keys.with_throttle(throttle.clone(), config.client_ip.clone());
        let users = UserManager::builder(store, Hooks)
            .verify_token_secret(derive_key(&config.secret_key, "verify"))
            .reset_password_token_secret(derive_key(&config.secret_key, "reset"))
            .mailer(mailer)
            .login_throttle(throttle)
            .client_ip(config.client_ip.clone())
            .requires_verification(config.requires_verification)
            // A reset or a password change deletes the user's cookie sessions (and the row check
            // refuses their JWTs): stricter than fastapi-users, which keeps them.
            .revoke_sessions_in(tokens.clone())
            .build()?;
        let jwt = JwtStrategy::builder(JwtKey::hs256(derive_key(&config.secret_key, "access")))
            .audience("fastapi-users:auth")
            .lifetime(Duration::from_secs(3600))
            .build()?;
        let jwt = DenylistedJwt::new(jwt, logged_out);
        Ok(Self { users, jwt: JwtBackend { strategy: jwt }, cookie: CookieBackend { strategy: tokens }, keys })
    }
}

/// One line naming the setting at fault: `NAME="value": error`, a URL's password hidden.
fn setting(name: &str, value: &str, error: &dyn std::fmt::Display) -> Box<dyn Error> {
    let value = match value.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                format!("{scheme}://{}:***@{host}", userinfo.split_once(':').map_or("", |(user, _)| user))
            }
            _ => value.to_owned(),
        },
        None => value.to_owned(),
    };
    format!("{name}={value:?}: {error}").into()
}

/// `GET /authenticated-route`: the full example's protected route. Its `security` in OpenAPI
/// comes from `CurrentUser`'s credentials, as for any `#[secured]` handler.
#[utoipa::path(
    get,
    path = "/authenticated-route",
    summary = "Authenticated Route",
    responses(
        (status = 200, description = "A greeting", example = json!({"message": "Hello king.arthur@camelot.bt!"})),
        (status = 401, description = "Missing token or inactive user."),
    )
)]
#[secured]
async fn authenticated_route(user: CurrentUser<UsersOrMachines, Hooks>) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

/// The routes at fastapi-users' full-example paths, `/openapi.json` and `/docs`.
pub fn router(state: AppState) -> Router {
    router_with(state, None)
}

/// Social login's settings (`OAUTH_ISSUER`, `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET`).
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The OpenID provider's issuer URL.
    pub issuer: String,
    /// This app's client id there.
    pub client_id: String,
    /// And its secret.
    pub client_secret: String,
    /// Link a provider account to the user with its e-mail, when the provider verified it.
    pub associate_by_email: bool,
}

/// The provider `oidc`: its redirect URI `{PUBLIC_URL}/auth/oidc/callback`, linking at
/// `{PUBLIC_URL}/auth/associate/oidc/callback`, its state and keys from `SECRET_KEY`, its
/// accounts next to the users. The CSRF cookie is `Secure`, as the cookie backend's is (browsers
/// take `Secure` cookies over plain http from loopback hosts only).
pub async fn oauth_provider(
    config: &Config,
    oauth: &OAuthConfig,
    state: &AppState,
) -> Result<OAuthProvider, Box<dyn Error>> {
    let public_url = config.public_url.trim_end_matches('/');
    let provider = OAuthProvider::builder("oidc", &oauth.issuer, &oauth.client_id, &oauth.client_secret)
        .secret(derive_key(&config.secret_key, "oauth"))
        .redirect_url(format!("{public_url}/auth/oidc/callback"))
        .associate_redirect_url(format!("{public_url}/auth/associate/oidc/callback"))
        .associate_by_email(oauth.associate_by_email)
        .store(state.users.store())
        .build()
        .await
        .map_err(|e| setting("OAUTH_ISSUER", &oauth.issuer, &e))?;
    provider.migrate().await.map_err(|e| setting("DATABASE_URL", &config.database_url, &e))?;
    Ok(provider)
}

/// The page at `/` with social login: a "Sign in with OpenID" button, and who is signed in.
const HOME_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>auth-core users example</title></head>
<body>
<h1>auth-core users example</h1>
<p id="who">Not signed in.</p>
<button id="sign-in" type="button">Sign in with OpenID</button>
<button id="sign-out" type="button" hidden>Sign out</button>
<script>
const who = document.getElementById('who');
const signIn = document.getElementById('sign-in');
const signOut = document.getElementById('sign-out');
fetch('/users/me', { credentials: 'same-origin' }).then(async (response) => {
  if (response.ok) {
    const user = await response.json();
    who.textContent = `Signed in as ${user.email}.`;
    signIn.hidden = true;
    signOut.hidden = false;
  }
});
signIn.addEventListener('click', async () => {
  const response = await fetch('/auth/oidc/authorize', { credentials: 'same-origin' });
  const { authorization_url } = await response.json();
  window.location.assign(authorization_url);
});
signOut.addEventListener('click', async () => {
  await fetch('/auth/cookie/logout', { method: 'POST', credentials: 'same-origin' });
  window.location.reload();
});
</script>
</body></html>
"#;

async fn home_page() -> Html<&'static str> {
    Html(HOME_PAGE)
}

/// A browser that comes back from the provider to `/auth/oidc/callback` gets the cookie
/// backend's answer, 204 and its cookie, on which it would stay on the provider's page: a
/// navigation (`Accept: text/html`) is sent on to `/` with the same cookies instead (303). API
/// clients get the 204.
async fn back_to_the_page(request: Request, next: Next) -> Response {
    let navigation = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let mut response = next.run(request).await;
    if navigation && response.status() == StatusCode::NO_CONTENT {
        *response.status_mut() = StatusCode::SEE_OTHER;
        response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    response.into_response()
}

/// [`router`], with social login through `provider` when there is one: its routes under
/// `/auth` on the cookie backend, and the page at `/`.
pub fn router_with(state: AppState, provider: Option<OAuthProvider>) -> Router {
    let auth = OpenApiRouter::new()
        .merge(users::UserManager::<Hooks>::register_router::<AppState>())
        .merge(users::UserManager::<Hooks>::reset_password_router::<AppState>())
        .merge(users::UserManager::<Hooks>::verify_router::<AppState>());
    let info = utoipa::openapi::InfoBuilder::new()
        .title("auth-core users example")
        .description(Some("fastapi-users' full example, on auth-core."))
        .version("0.1.0")
        .build();
    let router = OpenApiRouter::with_openapi(utoipa::openapi::OpenApiBuilder::new().info(info).build())
        .nest("/auth/jwt", users::UserManager::<Hooks>::auth_router::<JwtBackend, AppState>())
        .nest("/auth/cookie", users::UserManager::<Hooks>::auth_router::<CookieBackend, AppState>())
        .nest("/auth", auth)
        .nest("/users", users::UserManager::<Hooks>::users_router::<Backends, AppState>())
        .nest("/api-keys", ApiKeys::router::<Hooks, Backends, UserScope, AppState>())
        .routes(auth_core::routes!(authenticated_route));
    let (router, mut api) = match &provider {
        Some(provider) => (router.nest(
            "/auth",
            provider.router::<Hooks, CookieBackend, AppState>().layer(middleware::from_fn(back_to_the_page)),
        ))
        .split_for_parts(),
        None => router.split_for_parts(),
    };
    SecurityDoc::new().apply(&mut api);
    let router = router.with_state(state).merge(swagger_ui(api));
    match provider {
        Some(_) => router.route("/", get(home_page)),
        None => router,
    }
}

/// Serves `router` on `listener` with the peer address of each connection, which login
/// throttling counts by.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
}
