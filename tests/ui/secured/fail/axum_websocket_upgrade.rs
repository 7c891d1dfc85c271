//! axum's own `WebSocketUpgrade` in a `#[secured]` handler: nothing would close its socket
//! when the token expires.

use auth_core::{
    Authenticated, Scopes, secured,
    strategies::{Claims, JwtStrategy},
};
use axum::{
    Router,
    extract::{FromRef, WebSocketUpgrade},
    response::Response,
    routing::get,
};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read the room.
    #[scope("chat:read")]
    ChatRead,
}

#[secured(scopes = ["chat:read"])]
async fn room(Authenticated(claims): Authenticated<Claims>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |_socket| async move { drop(claims) })
}

#[derive(Clone)]
struct AppState {
    jwt: JwtStrategy,
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

fn main() {
    let _app: Router<AppState> = Router::new().route("/ws", get(room));
}
