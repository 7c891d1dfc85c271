//! Two backends with the same name guarding one route: rejected when the route is built.

use auth_core::{AuthBackend, Authenticated, strategies::jwt::JwtStrategy};
use axum::{Router, extract::FromRef, routing::get};

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "token"), strategy = jwt)]
pub struct First {
    strategy: JwtStrategy,
}

#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = cookie, strategy = jwt)]
pub struct Second {
    strategy: JwtStrategy,
}

#[derive(Clone, FromRef)]
struct AppState {
    first: First,
    second: Second,
}

async fn handler(user: Authenticated<(First, Second)>) -> String {
    user.subject.clone()
}

fn main() {
    let _app: Router<AppState> = Router::new().route("/", get(handler));
}
