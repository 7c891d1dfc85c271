//! `examples/chat`, served on a real socket and driven as its page and the README drive it: log
//! in with the password form, talk over the WebSocket (subprotocol token, `chat.v1` echoed),
//! a reader that cannot post, the room over HTTP and server-sent events, expiry closing the
//! socket with 1008, and the OpenAPI document.

#[path = "../examples/chat/app.rs"]
mod app;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Client;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest},
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &[u8] = b"chat-example-test-secret-0123456789abcdef";

struct Server {
    addr: String,
    client: Client,
}

async fn serve(token_lifetime: Duration) -> Server {
    let state = app::AppState::new(SECRET, token_lifetime).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app::app(state)).await.unwrap() });
    Server { addr, client: Client::new() }
}

impl Server {
    async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .client
            .post(format!("http://{}/auth/jwt/login", self.addr))
            .form(&[("username", username), ("password", password), ("scope", "chat:read chat:write")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Joins as the page does: `chat.v1` and `bearer.<token>`; the welcome it gets.
    async fn join(&self, token: &str) -> (Socket, Value) {
        let mut request = format!("ws://{}/ws", self.addr).into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", format!("chat.v1, bearer.{token}").parse().unwrap());
        let (mut socket, response) = connect_async(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat.v1");
        let welcome = next(&mut socket).await;
        (socket, welcome)
    }

    async fn post(&self, token: &str, text: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("http://{}/messages", self.addr))
            .bearer_auth(token)
            .json(&json!({ "text": text }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn next(socket: &mut Socket) -> Value {
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a JSON text frame, got {other:?}"),
    }
}

fn message(from: &str, text: &str) -> Value {
    json!({"type": "message", "from": from, "text": text})
}

#[tokio::test]
async fn the_page_is_served_and_talks_chat_v1_with_a_subprotocol_token() {
    let server = serve(Duration::from_secs(900)).await;
    let page = server.client.get(format!("http://{}/", server.addr)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"new WebSocket(url, [PROTOCOL, "bearer." + token])"#));
    assert!(html.contains(r#"const PROTOCOL = "chat.v1";"#));
}

#[tokio::test]
async fn a_writer_posts_everyone_hears_and_a_reader_cannot_post() {
    let server = serve(Duration::from_secs(900)).await;
    let alice = server.login("alice", "wonderland").await;
    let bob = server.login("bob", "builder").await;

    let (mut alice_socket, welcome) = server.join(&alice).await;
    assert_eq!(welcome, json!({"type": "welcome", "user": "alice", "can_post": true}));
    let (mut bob_socket, welcome) = server.join(&bob).await;
    assert_eq!(welcome, json!({"type": "welcome", "user": "bob", "can_post": false}));

    alice_socket.send(Message::text("hello, room")).await.unwrap();
    assert_eq!(next(&mut alice_socket).await, message("alice", "hello, room"));
    assert_eq!(next(&mut bob_socket).await, message("alice", "hello, room"));

    // Bob's token was granted `chat:read` only: what he sends is refused, and no one hears it.
    bob_socket.send(Message::text("bob here")).await.unwrap();
    assert_eq!(
        next(&mut bob_socket).await,
        json!({"type": "notice", "text": "Not enough permissions: posting needs chat:write"})
    );
    alice_socket.send(Message::text("anyone?")).await.unwrap();
    assert_eq!(next(&mut alice_socket).await, message("alice", "anyone?"));
    assert_eq!(next(&mut bob_socket).await, message("alice", "anyone?"));

    // Over HTTP: the same rule, declared.
    assert_eq!(server.post(&alice, "via HTTP").await.0, 204);
    assert_eq!(next(&mut bob_socket).await, message("alice", "via HTTP"));
    assert_eq!(server.post(&bob, "via HTTP").await, (401, json!({"detail": "Not enough permissions"})));
    assert_eq!(server.post(&alice, "   ").await, (422, json!({"detail": "Empty message"})));
}

#[tokio::test]
async fn joining_without_a_good_token_is_refused_before_the_upgrade() {
    let server = serve(Duration::from_secs(900)).await;
    let request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
    match connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body, json!({"detail": "Not authenticated"}));
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    let wrong = server
        .client
        .post(format!("http://{}/auth/jwt/login", server.addr))
        .form(&[("username", "alice"), ("password", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
}

#[tokio::test]
async fn the_room_streams_as_server_sent_events() {
    let server = serve(Duration::from_secs(900)).await;
    let alice = server.login("alice", "wonderland").await;
    let mut events =
        server.client.get(format!("http://{}/events", server.addr)).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    // Posted once the stream is open.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.post(&alice, "for the stream").await.0, 204);
    let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8(chunk.to_vec()).unwrap();
    assert_eq!(text, "event: message\ndata: {\"type\":\"message\",\"from\":\"alice\",\"text\":\"for the stream\"}\n\n");
}

#[tokio::test]
async fn the_socket_closes_with_1008_when_the_token_expires() {
    let server = serve(Duration::from_secs(2)).await;
    let alice = server.login("alice", "wonderland").await;
    let (mut socket, _) = server.join(&alice).await;
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame.unwrap(),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!((u16::from(frame.code), frame.reason.as_str()), (1008, "Token expired"));
}

#[tokio::test]
async fn the_openapi_document_carries_each_routes_security() {
    let server = serve(Duration::from_secs(900)).await;
    let document: Value =
        server.client.get(format!("http://{}/openapi.json", server.addr)).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        document["paths"]["/ws"]["get"]["security"],
        json!([{"SubprotocolToken": ["chat:read"]}, {"jwt": ["chat:read"]}])
    );
    assert_eq!(document["paths"]["/messages"]["post"]["security"], json!([{"jwt": ["chat:write"]}]));
    assert_eq!(document["paths"]["/events"]["get"]["security"], json!([{"jwt": ["chat:read"]}]));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        schemes["SubprotocolToken"],
        json!({"type": "apiKey", "in": "header", "name": "Sec-WebSocket-Protocol"})
    );
    assert_eq!(
        schemes["jwt"]["flows"]["password"],
        json!({"tokenUrl": "auth/jwt/login", "scopes": {"chat:read": "Read the room.", "chat:write": "Post to the room."}})
    );
}
