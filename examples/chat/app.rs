//! The chat app: one room, a page at `/` that logs in with the password form and opens a
//! secured WebSocket, and the same room over HTTP (`POST /messages`, `GET /events`).
//!
//! - Reading the room needs `chat:read`; posting needs `chat:write`.
//! - The WebSocket takes its token from a `bearer.<token>` subprotocol entry beside the chat's
//!   own subprotocol `chat.v1` (browsers cannot set headers on a WebSocket), or from the
//!   `Authorization` header (websocat, scripts). Its chain runs before the upgrade: a missing or
//!   insufficient token is answered 401, never 101.
//! - A socket (and an event stream) ends when its token expires: the server closes the socket
//!   with 1008 `Token expired`.
//!
//! The example binary and the integration tests both include this module, and each uses a
//! different part of it.
#![allow(unreachable_pub, dead_code)]

use std::{convert::Infallible, time::Duration};

use auth_core::{
    AuthBackend, AuthError, Authenticated, ScopeDeclaration, Scopes,
    backend::PasswordTable,
    openapi::{SecurityDoc, swagger_ui},
    password::Passwords,
    secured,
    security::CredentialLifetime,
    strategies::{JwtKey, JwtStrategy},
    transport::SubprotocolToken,
    websocket::{Message, WebSocket, WebSocketUpgrade},
};
use axum::{
    Json, Router,
    extract::{FromRef, State},
    http::StatusCode,
    response::{
        Html, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;

/// The chat's own WebSocket subprotocol: what the server echoes, never the token.
pub const PROTOCOL: &str = "chat.v1";

/// The longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// The scopes of the chat.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read the room.
    #[scope("chat:read")]
    ChatRead,
    /// Post to the room.
    #[scope("chat:write")]
    ChatWrite,
}

/// Bearer JWTs, issued by `POST /auth/jwt/login`.
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
pub struct JwtBackend {
    strategy: JwtStrategy,
}

/// Where the chat's token travels: a `bearer.<token>` subprotocol entry (browsers), or the
/// `Authorization` header. Either way it is the `jwt` backend's token, with its scopes.
pub type ChatToken = (SubprotocolToken<JwtBackend>, JwtBackend);

/// The users, each with an argon2id hash and the scopes they may be granted.
pub type Users = PasswordTable;

/// `alice` / `wonderland` may read and post; `bob` / `builder` may only read.
pub async fn seeded_users() -> Result<Users, AuthError> {
    PasswordTable::new(Passwords::builder().build())
        .with_user("alice", "wonderland", ["chat:read", "chat:write"])
        .await?
        .with_user("bob", "builder", ["chat:read"])
        .await
}

/// What the room says to everyone in it, and to one socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Said {
    /// A message posted to the room.
    Message {
        /// Who posted it.
        from: String,
        /// What they said.
        text: String,
    },
    /// To one socket, when it opens: who it is, and whether it may post.
    Welcome {
        /// The user.
        user: String,
        /// Whether the token carries `chat:write`.
        can_post: bool,
    },
    /// To one socket: why what it sent was not posted.
    Notice {
        /// The reason.
        text: String,
    },
}

impl Said {
    fn to_message(&self) -> Message {
        Message::text(serde_json::to_string(self).unwrap_or_default())
    }
}

/// The room: everything posted goes to everyone listening.
#[derive(Clone)]
pub struct Room(broadcast::Sender<Said>);

impl Room {
    fn new() -> Self {
        Self(broadcast::channel(256).0)
    }

    /// Posts `text` from `from`; `Err` with the reason when the text cannot be posted.
    fn post(&self, from: &str, text: &str) -> Result<(), &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("Empty message");
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err("Message too long");
        }
        // Nobody listening is not an error.
        let _ = self.0.send(Said::Message { from: from.to_owned(), text: text.to_owned() });
        Ok(())
    }
}

/// The app's state.
#[derive(Clone, FromRef)]
pub struct AppState {
    jwt: JwtBackend,
    users: Users,
    room: Room,
}

impl AppState {
    /// Tokens signed with `secret_key`, living `token_lifetime`; the seeded users; an empty room.
    pub async fn new(secret_key: &[u8], token_lifetime: Duration) -> Result<Self, Box<dyn std::error::Error>> {
        let strategy = JwtStrategy::builder(JwtKey::hs256(secret_key)).lifetime(token_lifetime).build()?;
        Ok(Self { jwt: JwtBackend { strategy }, users: seeded_users().await?, room: Room::new() })
    }

    /// A token for `subject` with `scopes`, as a login would issue it (for tests).
    pub fn issue(&self, subject: &str, scopes: &[&str]) -> Result<String, AuthError> {
        self.jwt.strategy.issue(subject, scopes)
    }
}

/// Joins the room over a WebSocket (subprotocol `chat.v1`).
///
/// Every message posted to the room arrives as a JSON text frame. A text frame sent is posted
/// when the token carries `chat:write`, and answered with a notice otherwise. The server closes
/// the socket with 1008 `Token expired` when the token expires.
///
/// Opening the socket is declared (`chat:read`, checked before the upgrade); what each frame
/// may do once it is open is the app's decision, made here from the token's scopes.
#[utoipa::path(
    get,
    path = "/ws",
    summary = "Join the room (WebSocket, subprotocol chat.v1)",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol chat.v1"),
        (status = 401, description = "No token, a bad one, or one without chat:read"),
    )
)]
#[secured(scopes = ["chat:read"])]
pub async fn join(
    Authenticated(user): Authenticated<ChatToken>,
    State(room): State<Room>,
    ws: WebSocketUpgrade,
) -> Response {
    let can_post = user.scopes.iter().any(|scope| *scope == Scope::ChatWrite.as_str());
    ws.protocols([PROTOCOL])
        .max_message_size(16 * 1024)
        .on_upgrade(move |socket| converse(socket, user.subject, can_post, room))
}

/// One socket in the room, until the client leaves or its token expires (`recv` is `None`
/// then, and the server has closed the socket with 1008).
async fn converse(mut socket: WebSocket, user: String, can_post: bool, room: Room) {
    let mut heard = room.0.subscribe();
    if socket.send(Said::Welcome { user: user.clone(), can_post }.to_message()).await.is_err() {
        return;
    }
    loop {
        // Both are cancel-safe: what one branch was waiting for is not lost when the other wins.
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                let refused = if can_post {
                    room.post(&user, text.as_str()).err()
                } else {
                    Some("Not enough permissions: posting needs chat:write")
                };
                if let Some(reason) = refused
                    && socket.send(Said::Notice { text: reason.to_owned() }.to_message()).await.is_err()
                {
                    break;
                }
            }
            said = heard.recv() => match said {
                Ok(said) => {
                    if socket.send(said.to_message()).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    if let Some(reason) = socket.ended() {
        tracing::info!(user, %reason, "socket closed by the server");
    }
}

/// A message to post.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMessage {
    /// What to say (at most 1000 characters).
    pub text: String,
}

/// Posts a message to the room.
#[utoipa::path(
    post,
    path = "/messages",
    summary = "Post a message",
    request_body = NewMessage,
    responses(
        (status = 204, description = "Posted"),
        (status = 401, description = "No token, a bad one, or one without chat:write"),
        (status = 422, description = "An empty or overlong message"),
    )
)]
#[secured(scopes = ["chat:write"])]
pub async fn post_message(
    Authenticated(user): Authenticated<JwtBackend>,
    State(room): State<Room>,
    Json(message): Json<NewMessage>,
) -> Result<StatusCode, (StatusCode, Json<serde_json::Value>)> {
    room.post(&user.subject, &message.text)
        .map(|()| StatusCode::NO_CONTENT)
        .map_err(|reason| (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "detail": reason }))))
}

/// The room as server-sent events, one `message` event per message, until the token expires.
#[utoipa::path(
    get,
    path = "/events",
    summary = "Follow the room (server-sent events)",
    responses(
        (status = 200, description = "The room's messages, as `message` events", content_type = "text/event-stream"),
        (status = 401, description = "No token, a bad one, or one without chat:read"),
    )
)]
#[secured(scopes = ["chat:read"])]
pub async fn events(
    Authenticated(_user): Authenticated<JwtBackend>,
    lifetime: CredentialLifetime,
    State(room): State<Room>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let heard = futures_util::stream::unfold(room.0.subscribe(), |mut heard| async move {
        loop {
            match heard.recv().await {
                Ok(said) => {
                    let event = Event::default().event("message").json_data(&said).unwrap_or_default();
                    return Some((Ok(event), heard));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(lifetime.bound(heard)).keep_alive(KeepAlive::default())
}

/// The page: log in, then chat over the WebSocket.
pub async fn page() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// The app: the page, the login routes, the room, `/openapi.json` and `/docs`.
pub fn app(state: AppState) -> Router {
    let (documented, mut api) = OpenApiRouter::<AppState>::new()
        .routes(auth_core::routes!(join))
        .routes(auth_core::routes!(post_message))
        .routes(auth_core::routes!(events))
        .split_for_parts();
    api.info.title = "auth-core chat".to_owned();
    SecurityDoc::new().apply(&mut api);
    documented
        .route("/", axum::routing::get(page))
        .nest("/auth/jwt", JwtBackend::router::<Users, AppState>())
        .with_state(state)
        .merge(swagger_ui(api))
}
