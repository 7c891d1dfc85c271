//! auth-core's `WebSocketUpgrade` and `CredentialLifetime` in `#[secured]` handlers, in any
//! position, also inside a dependency.

use auth_core::{
    Authenticated, Depends, Scopes, secured,
    security::CredentialLifetime,
    strategies::{Claims, JwtStrategy},
    transport::{QueryToken, SubprotocolToken},
    websocket::{self, WebSocketUpgrade},
};
use axum::{Router, extract::FromRef, response::Response, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read the room.
    #[scope("chat:read")]
    ChatRead,
}

#[secured(scopes = ["chat:read"])]
async fn room(ws: WebSocketUpgrade, Authenticated(claims): Authenticated<(SubprotocolToken<Claims>, Claims)>) -> Response {
    ws.protocols(["chat.v1"]).on_upgrade(move |_socket| async move { drop(claims) })
}

#[secured]
async fn lifetime(lifetime: CredentialLifetime) -> CredentialLifetime {
    lifetime
}

#[secured(scopes = ["chat:read"])]
async fn watched(
    Authenticated(claims): Authenticated<QueryToken<Claims>>,
    Depends(lifetime): Depends<lifetime>,
    ws: websocket::WebSocketUpgrade,
) -> Response {
    drop(lifetime);
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
    let _app: Router<AppState> = Router::new().route("/ws", get(room)).route("/watched", get(watched));
}
