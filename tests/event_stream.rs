//! Server-sent events under `#[secured]`, over a real socket: the same rules as WebSockets.
//! The chain answers 401/403 before any event; the stream ends when its token expires or is
//! revoked, and a client that reconnects then is refused.

#[path = "long_lived/app.rs"]
mod app;

use std::time::{Duration, Instant, SystemTime};

use auth_core::strategies::Strategy;
use reqwest::{Client, Response};
use serde_json::{Value, json};

struct Server {
    base: String,
    state: app::AppState,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let state = app::AppState::new(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server { base, state, client: Client::new(), _dir: dir }
}

impl Server {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.base)).header("accept", "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

/// Reads the stream to its end (or for `at_most`): the `data` lines, and whether it ended.
async fn read_events(response: &mut Response, at_most: Duration) -> (Vec<String>, bool) {
    let deadline = Instant::now() + at_most;
    let mut text = String::new();
    let ended = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(std::str::from_utf8(&chunk).unwrap()),
            Ok(Ok(None)) => break true,
            Ok(Err(error)) => panic!("the stream failed: {error}"),
            Err(_) => break false,
        }
    };
    let data = text.lines().filter_map(|line| line.strip_prefix("data: ")).map(str::to_owned).collect();
    (data, ended)
}

async fn refusal(response: Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap())
}

#[tokio::test]
async fn the_chain_answers_before_any_event() {
    let server = serve().await;
    let refused = refusal(server.get("/events", &[]).await).await;
    assert_eq!(refused, (401, Some("Bearer".to_owned()), json!({"detail": "Not authenticated"})));

    let refused = refusal(server.get("/events", &[("authorization", "Bearer not-a-jwt")]).await).await;
    assert_eq!(
        refused,
        (401, Some("Bearer scope=\"chat:read\"".to_owned()), json!({"detail": "Could not validate credentials"}))
    );

    let reader = server.state.jwt.strategy.issue("alice", &["chat:read"]).unwrap();
    let refused = refusal(server.get("/events/write", &[("authorization", &format!("Bearer {reader}"))]).await).await;
    assert_eq!(
        refused,
        (401, Some("Bearer scope=\"chat:write\"".to_owned()), json!({"detail": "Not enough permissions"}))
    );
}

#[tokio::test]
async fn a_valid_token_streams_events() {
    let server = serve().await;
    let token = server.state.jwt.strategy.issue("alice", &["chat:read"]).unwrap();
    let mut response = server.get("/events", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (events, ended) = read_events(&mut response, Duration::from_millis(800)).await;
    assert!(!ended, "a token valid for an hour ended its stream");
    assert!(events.len() >= 3, "{events:?}");
    assert_eq!(events[..3], ["alice 0", "alice 1", "alice 2"]);
}

#[tokio::test]
async fn the_stream_ends_when_the_token_expires_and_a_reconnect_is_refused() {
    let server = serve().await;
    let token = app::jwt(Duration::from_secs(2)).issue("alice", &["chat:read"]).unwrap();
    let exp = server.state.jwt.strategy.verify(&token).unwrap().exp;
    let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(exp + 1);
    let bearer = format!("Bearer {token}");
    let mut response = server.get("/events", &[("authorization", &bearer)]).await;
    assert_eq!(response.status(), 200);

    let (events, ended) = read_events(&mut response, Duration::from_secs(10)).await;
    let ended_at = SystemTime::now();
    assert!(ended, "the stream outlived its token");
    assert!(events.len() >= 5, "{events:?}");
    assert!(ended_at + Duration::from_millis(50) >= expires_at, "ended before the token expired");
    assert!(ended_at <= expires_at + Duration::from_secs(3), "ended long after the token expired");

    // EventSource reconnects after the stream ends: it is refused now, and gives up.
    let refused = refusal(server.get("/events", &[("authorization", &bearer)]).await).await;
    assert_eq!(refused.0, 401);
    assert_eq!(refused.2, json!({"detail": "Could not validate credentials"}));
}

#[tokio::test]
async fn the_stream_ends_when_the_session_is_revoked() {
    let server = serve().await;
    let session = server.state.session.strategy.write_token("alice", &["chat:read".to_owned()]).await.unwrap();
    let cookie = format!("session={session}");
    let mut response = server.get("/events/session", &[("cookie", &cookie)]).await;
    assert_eq!(response.status(), 200);
    let (events, ended) = read_events(&mut response, Duration::from_millis(500)).await;
    assert!(!ended && !events.is_empty(), "{events:?}");

    server.state.session.strategy.destroy_token(&session).await.unwrap();
    let (_, ended) = read_events(&mut response, Duration::from_secs(5)).await;
    assert!(ended, "the stream outlived its revoked session");
    assert_eq!(server.get("/events/session", &[("cookie", &cookie)]).await.status(), 401);
}
