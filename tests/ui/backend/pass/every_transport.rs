//! Every transport with its options, and a backend routed with its login and logout routes.

use auth_core::{
    AuthBackend, AuthError, Authenticated, Scopes,
    backend::{Authenticator, LoginGrant},
    secured,
    strategies::jwt::{JwtKey, JwtStrategy},
};
use axum::{Router, extract::FromRef, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

macro_rules! backend {
    ($name:ident, $($attr:tt)*) => {
        #[derive(AuthBackend, Clone)]
        #[backend($($attr)*)]
        pub struct $name {
            strategy: JwtStrategy,
        }
    };
}

backend!(A, name = "a", transport = bearer(token_url = "auth/login", refresh_url = "auth/refresh"), strategy = jwt, scopes = Scope);
backend!(B, name = "b", transport = http_bearer(bearer_format = "JWT"), strategy = jwt);
backend!(C, name = "c", transport = oauth2_authorization_code(authorization_url = "https://id/authorize", token_url = "https://id/token"), strategy = jwt, scopes = Scope);
backend!(D, name = "d", transport = oauth2_client_credentials(token_url = "https://id/token"), strategy = jwt);
backend!(E, name = "e", transport = openid_connect(url = "https://id/.well-known/openid-configuration"), strategy = jwt);
backend!(F, name = "f", transport = api_key(header = "x-api-key"), strategy = jwt);
backend!(G, name = "g", transport = api_key(query = "api_key"), strategy = jwt);
backend!(H, name = "h", transport = cookie(name = "sid", max_age = 60, path = "/app", domain = "example.com", secure = true, http_only = true, same_site = "strict"), strategy = jwt);
backend!(I, name = "i", transport = cookie, strategy = jwt);
backend!(J, name = "j", transport = cookie(name = "__Host-sid", same_site = "none", allowed_origins = ["https://app.example.com", "http://localhost:3000"]), strategy = jwt);
backend!(K, name = "k", transport = cookie(name = "dev", secure = false, http_only = false, same_site = "lax", allowed_origins = [], host_prefix = false), strategy = jwt);
backend!(L, name = "l", transport = api_key(cookie = "key"), strategy = jwt);

#[derive(Clone)]
struct Users;

impl Authenticator for Users {
    async fn authenticate(&self, _username: &str, _password: &str) -> Result<LoginGrant, AuthError> {
        Err(AuthError::IncorrectLogin)
    }
}

#[derive(Clone, FromRef)]
struct AppState {
    a: A,
    h: H,
    users: Users,
}

#[secured(scopes = ["items"])]
async fn items(user: Authenticated<(H, A)>) -> String {
    user.backend.to_owned()
}

fn main() {
    let state = AppState {
        a: A { strategy: JwtStrategy::builder(JwtKey::hs256([1u8; 32])).build().unwrap() },
        h: H { strategy: JwtStrategy::builder(JwtKey::hs256([2u8; 32])).build().unwrap() },
        users: Users,
    };
    let transport = <H as auth_core::backend::AuthBackend>::transport();
    assert!(matches!(transport, auth_core::backend::Transport::Cookie(options) if options.path() == "/app"));
    let _app: Router = Router::new()
        .route("/items", get(items))
        .nest("/auth", A::router::<Users, AppState>())
        .with_state(state);
}
