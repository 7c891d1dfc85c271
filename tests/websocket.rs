//! `#[secured]` WebSockets over a real socket, with tokio-tungstenite as the client (and raw
//! HTTP/1.1 where a response's exact headers matter): each token source, rejections before the
//! upgrade, scopes, expiry and revocation closing with 1008, the subprotocol echo, and
//! cross-site upgrades with a cookie.

#[path = "long_lived/app.rs"]
mod app;

use std::{
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use auth_core::strategies::Strategy;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    addr: SocketAddr,
    state: app::AppState,
    _dir: tempfile::TempDir,
}

async fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let state = app::AppState::new(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server { addr, state, _dir: dir }
}

impl Server {
    fn token(&self, scopes: &[&str]) -> String {
        self.state.jwt.strategy.issue("alice", scopes).unwrap()
    }

    /// Connects with tungstenite, sending `headers`.
    async fn connect(&self, path: &str, headers: &[(&str, &str)]) -> Result<(Socket, Upgraded), Rejected> {
        let mut request = format!("ws://{}{path}", self.addr).into_client_request().unwrap();
        for (name, value) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            request.headers_mut().append(name, value.parse().unwrap());
        }
        match connect_async(request).await {
            Ok((socket, response)) => Ok((
                socket,
                Upgraded {
                    protocol: response.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned()),
                },
            )),
            Err(tungstenite::Error::Http(response)) => Err(Rejected {
                status: response.status().as_u16(),
                www_authenticate: response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()),
                body: serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap_or(Value::Null),
            }),
            Err(other) => panic!("handshake failed: {other}"),
        }
    }

    /// Connects and reads the greeting.
    async fn open(&self, path: &str, headers: &[(&str, &str)]) -> Socket {
        let (mut socket, _) = self.connect(path, headers).await.unwrap_or_else(|r| panic!("refused: {r:?}"));
        assert_eq!(next_text(&mut socket).await, "hello alice");
        socket
    }

    /// A WebSocket handshake written by hand, and the response as it came.
    async fn raw(&self, path: &str, headers: &[(&str, &str)]) -> Raw {
        let mut lines = Vec::new();
        for (name, value) in headers {
            lines.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        self.raw_bytes(path, &lines).await
    }

    /// A WebSocket handshake with `header_lines` (each ending in CRLF) as they are, bytes and all.
    async fn raw_bytes(&self, path: &str, header_lines: &[u8]) -> Raw {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            self.addr
        )
        .into_bytes();
        request.extend_from_slice(header_lines);
        request.extend_from_slice(b"\r\n");
        stream.write_all(&request).await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let head_end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
            assert!(n > 0, "the server closed before answering");
            received.extend_from_slice(&buffer[..n]);
        };
        let head = String::from_utf8(received[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = received[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0);
            body.extend_from_slice(&buffer[..n]);
        }
        Raw { status, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) }
    }
}

#[derive(Debug)]
struct Upgraded {
    protocol: Option<String>,
}

#[derive(Debug)]
struct Rejected {
    status: u16,
    www_authenticate: Option<String>,
    body: Value,
}

#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

async fn next_text(socket: &mut Socket) -> String {
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Waits for the server's close frame, answering nothing else; its code and reason.
async fn close_frame(socket: &mut Socket, within: Duration) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned());
            }
            Ok(Some(Ok(Message::Close(None)))) => panic!("closed without a code"),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => panic!("socket error before the close frame: {error}"),
            Ok(None) => panic!("the connection ended without a close frame"),
            Err(_) => panic!("no close frame within {within:?}"),
        }
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn subprotocols(token: &str) -> String {
    format!("chat.v1, bearer.{token}")
}

#[tokio::test]
async fn the_authorization_header_opens_the_socket_and_the_handler_gets_the_principal() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let mut socket = server.open("/ws", &[("authorization", &bearer(&token))]).await;
    socket.send(Message::text("hi")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: hi");

    // The upgrade may come before the credential in the handler's parameters.
    let mut socket = server.open("/ws/upgrade-first", &[("authorization", &bearer(&token))]).await;
    socket.send(Message::text("again")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: again");
}

#[tokio::test]
async fn a_subprotocol_entry_carries_the_token_and_only_the_apps_protocol_is_echoed() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let (mut socket, upgraded) =
        server.connect("/ws", &[("sec-websocket-protocol", &subprotocols(&token))]).await.unwrap();
    assert_eq!(upgraded.protocol.as_deref(), Some("chat.v1"));
    assert_eq!(next_text(&mut socket).await, "hello alice");

    // In either order, and as the response says it byte for byte.
    let raw = server.raw("/ws", &[("sec-websocket-protocol", &format!("bearer.{token}, chat.v1"))]).await;
    assert_eq!(raw.status, 101);
    assert_eq!(raw.header("sec-websocket-protocol"), Some("chat.v1"));
    assert!(!raw.headers.iter().any(|(_, value)| value.contains(&token)), "{raw:?}");

    // `Claims` travel the same way.
    let (_, upgraded) =
        server.connect("/ws/claims", &[("sec-websocket-protocol", &subprotocols(&token))]).await.unwrap();
    assert_eq!(upgraded.protocol.as_deref(), Some("chat.v1"));
}

#[tokio::test]
async fn a_token_entry_alone_is_never_echoed() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let raw = server.raw("/ws", &[("sec-websocket-protocol", &format!("bearer.{token}"))]).await;
    assert_eq!(raw.status, 101);
    assert_eq!(raw.header("sec-websocket-protocol"), None, "{raw:?}");

    // Not even by a handler that tries to echo whatever was offered.
    let raw = server.raw("/ws/careless", &[("sec-websocket-protocol", &format!("bearer.{token}"))]).await;
    assert_eq!(raw.status, 101);
    assert_eq!(raw.header("sec-websocket-protocol"), None, "{raw:?}");
    let raw = server.raw("/ws/careless", &[("sec-websocket-protocol", &format!("chat.v1, bearer.{token}"))]).await;
    assert_eq!(raw.status, 101);
    assert_eq!(raw.header("sec-websocket-protocol"), Some("chat.v1"), "{raw:?}");
}

#[tokio::test]
async fn the_query_parameter_is_off_unless_the_handler_names_it() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let refused = server.connect(&format!("/ws?access_token={token}"), &[]).await.unwrap_err();
    assert_eq!((refused.status, refused.body), (401, json!({"detail": "Not authenticated"})));

    let mut socket = server.open(&format!("/ws/query?access_token={token}"), &[]).await;
    socket.send(Message::text("from the query")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: from the query");
}

#[tokio::test]
async fn rejections_come_before_the_upgrade_with_the_ordinary_status_and_body() {
    let server = serve().await;
    let raw = server.raw("/ws", &[]).await;
    assert_eq!(raw.status, 401);
    assert_eq!(raw.body, json!({"detail": "Not authenticated"}));
    assert_eq!(raw.header("www-authenticate"), Some("Bearer"));
    assert_eq!(raw.header("upgrade"), None);
    assert_eq!(raw.header("sec-websocket-accept"), None);

    for source in [("sec-websocket-protocol", "chat.v1, bearer.not-a-jwt"), ("authorization", "Bearer not-a-jwt")] {
        let refused = server.connect("/ws", &[source]).await.unwrap_err();
        assert_eq!(refused.status, 401, "{source:?}");
        assert_eq!(refused.body, json!({"detail": "Could not validate credentials"}));
        assert_eq!(refused.www_authenticate.as_deref(), Some("Bearer scope=\"chat:read\""));
    }

    // A token signed with another key.
    let forged = app::JwtBackend {
        strategy: auth_core::strategies::JwtStrategy::builder(auth_core::strategies::JwtKey::hs256([7u8; 32]))
            .build()
            .unwrap(),
    }
    .strategy
    .issue("alice", &["chat:read"])
    .unwrap();
    let refused = server.connect("/ws", &[("sec-websocket-protocol", &subprotocols(&forged))]).await.unwrap_err();
    assert_eq!((refused.status, refused.body), (401, json!({"detail": "Could not validate credentials"})));

    // A cookie backend announces its own challenge.
    let refused = server.connect("/ws/session", &[]).await.unwrap_err();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.www_authenticate.as_deref(), Some("APIKey"));
}

#[tokio::test]
async fn an_insufficient_scope_is_refused_before_the_upgrade() {
    let server = serve().await;
    let reader = server.token(&["chat:read"]);
    let refused = server.connect("/ws/write", &[("sec-websocket-protocol", &subprotocols(&reader))]).await.unwrap_err();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, json!({"detail": "Not enough permissions"}));
    assert_eq!(refused.www_authenticate.as_deref(), Some("Bearer scope=\"chat:write\""));

    let refused =
        server.connect("/ws/write/rfc6750", &[("sec-websocket-protocol", &subprotocols(&reader))]).await.unwrap_err();
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, json!({"detail": "Not enough permissions"}));
    assert_eq!(refused.www_authenticate.as_deref(), Some("Bearer error=\"insufficient_scope\", scope=\"chat:write\""));

    let writer = server.token(&["chat:write"]);
    server.open("/ws/write", &[("sec-websocket-protocol", &subprotocols(&writer))]).await;
}

#[tokio::test]
async fn an_expired_token_closes_the_socket_with_1008() {
    let server = serve().await;
    let token = app::jwt(Duration::from_secs(2)).issue("alice", &["chat:read"]).unwrap();
    // The token verifies through the second `exp`; the socket lives as long.
    let exp = server.state.jwt.strategy.verify(&token).unwrap().exp;
    let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(exp + 1);
    let mut socket = server.open("/ws", &[("sec-websocket-protocol", &subprotocols(&token))]).await;
    socket.send(Message::text("still here")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: still here");

    // The client says nothing more: the server closes at expiry, by itself.
    let (code, reason) = close_frame(&mut socket, Duration::from_secs(10)).await;
    let closed_at = SystemTime::now();
    assert_eq!((code, reason.as_str()), (u16::from(CloseCode::Policy), "Token expired"));
    assert_eq!(code, 1008);
    assert!(closed_at + Duration::from_millis(50) >= expires_at, "closed before the token expired");
    assert!(closed_at <= expires_at + Duration::from_secs(3), "closed long after the token expired");
    // Nothing passes after the close frame.
    let rest = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap();
    assert!(!matches!(rest, Some(Ok(Message::Text(_)))), "{rest:?}");

    // The header and the query end the same way.
    let token = app::jwt(Duration::from_secs(1)).issue("alice", &["chat:read"]).unwrap();
    let mut socket = server.open("/ws", &[("authorization", &bearer(&token))]).await;
    assert_eq!(close_frame(&mut socket, Duration::from_secs(10)).await, (1008, "Token expired".to_owned()));
    let token = app::jwt(Duration::from_secs(1)).issue("alice", &["chat:read"]).unwrap();
    let mut socket = server.open(&format!("/ws/query?access_token={token}"), &[]).await;
    assert_eq!(close_frame(&mut socket, Duration::from_secs(10)).await, (1008, "Token expired".to_owned()));
}

#[tokio::test]
async fn a_revoked_token_closes_the_socket_with_1008() {
    let server = serve().await;

    // A JWT under a denylist, logged out while its socket is open.
    let token = server.state.revocable.strategy.write_token("alice", &["chat:read".to_owned()]).await.unwrap();
    let mut socket = server.open("/ws/revocable", &[("sec-websocket-protocol", &subprotocols(&token))]).await;
    socket.send(Message::text("before")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: before");
    server.state.revocable.strategy.destroy_token(&token).await.unwrap();
    let (code, reason) = close_frame(&mut socket, Duration::from_secs(5)).await;
    assert_eq!((code, reason.as_str()), (1008, "Token revoked"));

    // An opaque session token deleted from the database.
    let session = server.state.session.strategy.write_token("alice", &["chat:read".to_owned()]).await.unwrap();
    let mut socket = server.open("/ws/session", &[("cookie", &format!("session={session}"))]).await;
    server.state.session.strategy.destroy_token(&session).await.unwrap();
    assert_eq!(close_frame(&mut socket, Duration::from_secs(5)).await, (1008, "Token revoked".to_owned()));

    // A token that stays valid keeps its socket.
    let token = server.state.revocable.strategy.write_token("alice", &["chat:read".to_owned()]).await.unwrap();
    let mut socket = server.open("/ws/revocable", &[("authorization", &bearer(&token))]).await;
    tokio::time::sleep(app::RECHECK * 5).await;
    socket.send(Message::text("after several re-checks")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "alice: after several re-checks");
}

#[tokio::test]
async fn a_cookie_upgrade_from_another_site_is_refused() {
    let server = serve().await;
    let session = server.state.session.strategy.write_token("alice", &["chat:read".to_owned()]).await.unwrap();
    let cookie = format!("session={session}");
    let own_origin = format!("http://{}", server.addr);

    // The site's own pages, and clients that are not browsers, open it.
    server.open("/ws/session", &[("cookie", &cookie)]).await;
    server.open("/ws/session", &[("cookie", &cookie), ("origin", &own_origin)]).await;

    // Another site's page: the browser sends the cookie, the server refuses, before any 101.
    for foreign in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("origin", &*own_origin), ("sec-fetch-site", "cross-site")],
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(foreign.iter().copied());
        let raw = server.raw("/ws/session", &headers).await;
        assert_eq!(raw.status, 403, "{foreign:?}");
        assert_eq!(
            raw.body,
            json!({"detail": "Cross-site request refused: this endpoint only accepts requests from its own site"})
        );
        assert_eq!(raw.header("upgrade"), None);
    }

    // An origin the cookie transport allows.
    let partner = server.state.partner.strategy.issue("alice", &["chat:read"]).unwrap();
    let cookie = format!("partner={partner}");
    server.open("/ws/partner", &[("cookie", &cookie), ("origin", "https://partner.example")]).await;
    let refused = server.connect("/ws/partner", &[("cookie", &cookie), ("origin", "https://evil.example")]).await;
    assert_eq!(refused.unwrap_err().status, 403);

    // A token that is not ambient (the subprotocol, the header) needs no origin check.
    let token = server.token(&["chat:read"]);
    server.open("/ws", &[("sec-websocket-protocol", &subprotocols(&token)), ("origin", "https://evil.example")]).await;
}

#[tokio::test]
async fn hostile_token_entries_and_parameters_are_answered_never_upgraded() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let not_authenticated = json!({"detail": "Not authenticated"});
    let invalid = json!({"detail": "Could not validate credentials"});
    let long = "a".repeat(9000);
    let huge = "a".repeat(64 * 1024);
    let commas = ",".repeat(10_000);
    let cases: Vec<(Vec<u8>, &Value)> = vec![
        (b"Sec-WebSocket-Protocol: bearer.\r\n".to_vec(), &not_authenticated),
        (b"Sec-WebSocket-Protocol: chat.v1, bearer.a, bearer.b\r\n".to_vec(), &not_authenticated),
        (
            format!("Sec-WebSocket-Protocol: bearer.{token}\r\nSec-WebSocket-Protocol: bearer.{token}\r\n")
                .into_bytes(),
            &not_authenticated,
        ),
        (format!("Sec-WebSocket-Protocol: bearer.{long}\r\n").into_bytes(), &not_authenticated),
        (format!("Sec-WebSocket-Protocol: bearer.{huge}\r\n").into_bytes(), &not_authenticated),
        (b"Sec-WebSocket-Protocol: bearer.\xff\xfe\xfd\r\n".to_vec(), &not_authenticated),
        (format!("Sec-WebSocket-Protocol: {commas}\r\n").into_bytes(), &not_authenticated),
        (b"Sec-WebSocket-Protocol: bearer.a\"b\r\n".to_vec(), &invalid),
        (format!("Sec-WebSocket-Protocol: chat.v1, bearer.{token}x\r\n").into_bytes(), &invalid),
        (
            format!("Sec-WebSocket-Protocol: chat.v1, bearer.{token}\r\nAuthorization: Bearer nope\r\n").into_bytes(),
            &Value::Null,
        ),
    ];
    for (lines, detail) in cases {
        let raw = server.raw_bytes("/ws", &lines).await;
        let shown = String::from_utf8_lossy(&lines[..lines.len().min(80)]).into_owned();
        if detail.is_null() {
            // The subprotocol is tried first and wins; the bad header is never read.
            assert_eq!(raw.status, 101, "{shown}");
            continue;
        }
        assert_eq!(raw.status, 401, "{shown}: {raw:?}");
        assert_eq!(&raw.body, detail, "{shown}");
        assert!(!raw.headers.iter().any(|(_, value)| value.contains(&token)), "{shown}: {raw:?}");
    }
    for query in ["access_token=%ZZ", "access_token=a&access_token=a", &format!("access_token={long}")] {
        let raw = server.raw(&format!("/ws/query?{query}"), &[]).await;
        assert_eq!(raw.status, 401, "{query}");
    }
    // An upgrade request that is not a WebSocket handshake, with a good token: axum's 400s.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[tokio::test]
async fn an_upgrade_outside_a_secured_handler_is_refused() {
    let server = serve().await;
    let token = server.token(&["chat:read"]);
    let refused = server.connect("/ws/unsecured", &[("authorization", &bearer(&token))]).await.unwrap_err();
    assert_eq!((refused.status, refused.body), (500, json!({"detail": "Internal server error"})));
}

/// Collects everything logged on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// The process's one global subscriber (a scoped one misses events whose callsites other tests
// registered first): it hears every test of this file, each of which sends tokens too.
#[tokio::test]
async fn a_token_in_the_query_stays_out_of_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber of this test binary");

    let server = serve().await;
    let token = app::jwt(Duration::from_secs(1)).issue("alice", &["chat:read"]).unwrap();
    let mut socket = server.open(&format!("/ws/query?access_token={token}"), &[]).await;
    assert_eq!(close_frame(&mut socket, Duration::from_secs(10)).await, (1008, "Token expired".to_owned()));
    let refused = server.connect(&format!("/ws/query?access_token={token}"), &[]).await.unwrap_err();
    assert_eq!(refused.status, 401);
    let forged = format!("{token}x");
    server.connect(&format!("/ws/query?access_token={forged}"), &[]).await.unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("closing a WebSocket whose credential ended"), "the capture saw nothing:\n{logs}");
    assert!(logs.contains("rejected a JWT"), "{logs}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token was logged:\n{logs}");
    assert!(!logs.contains("access_token"), "a URI with its query was logged:\n{logs}");
}
