//! An API key in a cookie opening a `#[secured]` WebSocket, over a real socket: the cookie is an
//! ambient credential (the browser attaches it whichever site's page opens the socket), so an
//! upgrade from another site's page is refused before any 101, as for a session cookie.
//!
//! The origin check for this transport is its own branch (`backend/credential.rs`, `read`):
//! removing it left `tests/websocket.rs` green (issue 24), because that suite covers the cookie
//! transport only. This test fails when it is removed.

use std::net::SocketAddr;

use auth_core::{
    AuthBackend, Authenticated, Scopes, secured,
    strategies::{JwtKey, JwtStrategy},
    websocket::{Message, WebSocket, WebSocketUpgrade},
};
use axum::{Router, response::Response, routing::get};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{self, client::IntoClientRequest},
};

/// The scopes of the room.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the room.
    #[scope("chat:read")]
    ChatRead,
}

/// An API key (here a JWT) read from the `api_key` cookie.
#[derive(AuthBackend, Clone)]
#[backend(name = "key_cookie", transport = api_key(cookie = "api_key"), strategy = jwt)]
struct KeyCookie {
    strategy: JwtStrategy,
}

#[secured(scopes = ["chat:read"])]
async fn room(Authenticated(user): Authenticated<KeyCookie>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |mut socket: WebSocket| async move {
        let _ = socket.send(Message::text(format!("hello {}", user.subject))).await;
    })
}

/// The app on a loopback port, and a key for `alice`.
async fn serve() -> (SocketAddr, String) {
    let strategy = JwtStrategy::builder(JwtKey::hs256(b"websocket-api-key-tests-0123456789abcdef")).build().unwrap();
    let key = strategy.issue("alice", &["chat:read"]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/ws", get(room)).with_state(KeyCookie { strategy });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, key)
}

/// Opens `/ws` with `headers`: the greeting, or the refusal's status and body.
async fn connect(addr: SocketAddr, headers: &[(&str, &str)]) -> Result<String, (u16, Value, bool)> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().append(name, value.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((mut socket, _)) => match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(tungstenite::Message::Text(text)))) => Ok(text.as_str().to_owned()),
            other => panic!("expected the greeting, got {other:?}"),
        },
        Err(tungstenite::Error::Http(response)) => Err((
            response.status().as_u16(),
            serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap_or(Value::Null),
            response.headers().contains_key("upgrade"),
        )),
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn an_api_key_cookie_upgrade_from_another_site_is_refused() {
    let (addr, key) = serve().await;
    let cookie = format!("api_key={key}");
    let own_origin = format!("http://{addr}");

    // The site's own pages, and clients that are not browsers (no `Origin`), open it.
    assert_eq!(connect(addr, &[("cookie", &cookie)]).await.unwrap(), "hello alice");
    assert_eq!(connect(addr, &[("cookie", &cookie), ("origin", &own_origin)]).await.unwrap(), "hello alice");

    // Another site's page: the browser sends the cookie anyway; refused, before any 101.
    let cross_site =
        json!({"detail": "Cross-site request refused: this endpoint only accepts requests from its own site"});
    for foreign in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("origin", own_origin.as_str()), ("sec-fetch-site", "cross-site")],
        vec![("origin", own_origin.as_str()), ("origin", "https://evil.example")],
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(foreign.iter().copied());
        let refused = connect(addr, &headers).await.expect_err(&format!("{foreign:?} must be refused"));
        assert_eq!(refused, (403, cross_site.clone(), false), "{foreign:?}");
    }

    // Without the cookie the origin does not matter: 401, as for any missing credential.
    let missing = connect(addr, &[("origin", "https://evil.example")]).await.unwrap_err();
    assert_eq!(missing.0, 401);
}
