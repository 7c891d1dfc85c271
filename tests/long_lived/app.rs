//! The app the WebSocket and event-stream tests drive: a room per token source (header,
//! subprotocol, query, cookie, an allowed-origin cookie, `Claims`), stores that can revoke a
//! token (a denylisted JWT, opaque tokens in SQLite), and event streams bounded by their
//! credentials.

#![allow(dead_code, unreachable_pub)]

use std::{convert::Infallible, time::Duration};

use auth_core::{
    AuthBackend, Authenticated, Scopes,
    backend::{CookieOptions, Transport},
    secured,
    security::CredentialLifetime,
    strategies::{Claims, DatabaseStrategy, DenylistedJwt, JwtKey, JwtStrategy, MemoryDenylist},
    transport::{QueryToken, SubprotocolToken},
    websocket::{Message, WebSocket, WebSocketUpgrade},
};
use axum::{
    Router,
    extract::FromRef,
    http::{HeaderMap, HeaderValue, header},
    middleware::map_response,
    response::{
        Response,
        sse::{Event, Sse},
    },
    routing::get,
};
use futures_util::Stream;

/// The HS256 key of every JWT of the app.
pub const KEY: &[u8] = b"websocket-tests-key-0123456789abcdef";

/// How often revocable credentials are re-checked here.
pub const RECHECK: Duration = Duration::from_millis(200);

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

/// Bearer JWTs.
#[derive(AuthBackend, Clone)]
#[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
pub struct JwtBackend {
    pub strategy: JwtStrategy,
}

/// JWTs that a logout revokes.
#[derive(AuthBackend, Clone)]
#[backend(name = "revocable", transport = bearer(token_url = "auth/revocable/login"), strategy = jwt, scopes = Scope)]
pub struct RevocableBackend {
    pub strategy: DenylistedJwt<MemoryDenylist>,
}

/// A session cookie holding an opaque token stored in SQLite (plain HTTP in tests: not Secure).
#[derive(AuthBackend, Clone)]
#[backend(name = "session", transport = cookie(name = "session", secure = false, host_prefix = false), strategy = database)]
pub struct SessionBackend {
    pub strategy: DatabaseStrategy,
}

/// A cookie that pages of `https://partner.example` may use too.
#[derive(Clone)]
pub struct PartnerBackend {
    pub strategy: JwtStrategy,
}

impl auth_core::backend::AuthBackend for PartnerBackend {
    const NAME: &'static str = "partner";
    type Strategy = JwtStrategy;

    fn transport() -> &'static Transport {
        static TRANSPORT: Transport = Transport::Cookie(
            match CookieOptions::builder("partner")
                .secure(false)
                .host_prefix(false)
                .allowed_origins(&["https://partner.example"])
                .build()
            {
                Ok(options) => options,
                Err(error) => panic!("{}", error.message()),
            },
        );
        &TRANSPORT
    }

    fn strategy(&self) -> &JwtStrategy {
        &self.strategy
    }

    fn scope_descriptions() -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub jwt: JwtBackend,
    pub revocable: RevocableBackend,
    pub session: SessionBackend,
    pub partner: PartnerBackend,
}

/// `Claims` are verified by the `jwt` backend's strategy.
impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.strategy.clone()
    }
}

impl AppState {
    /// A fresh app, its session tokens in a SQLite file in `dir`.
    pub async fn new(dir: &std::path::Path) -> Self {
        let url = format!("sqlite://{}", dir.join("sessions.sqlite").display());
        let session = DatabaseStrategy::builder(&url).build().await.expect("SQLite, valid options");
        session.migrate().await.expect("migrated");
        Self {
            jwt: JwtBackend { strategy: jwt(Duration::from_secs(3600)) },
            revocable: RevocableBackend {
                strategy: DenylistedJwt::new(
                    JwtStrategy::builder(JwtKey::hs256(KEY)).with_jti().build().expect("valid key"),
                    MemoryDenylist::new(),
                ),
            },
            session: SessionBackend { strategy: session },
            partner: PartnerBackend { strategy: jwt(Duration::from_secs(3600)) },
        }
    }
}

/// A strategy on the app's key issuing tokens that live `lifetime`.
pub fn jwt(lifetime: Duration) -> JwtStrategy {
    JwtStrategy::builder(JwtKey::hs256(KEY)).lifetime(lifetime).build().expect("valid key")
}

/// The token sources of the main room: a `bearer.<token>` subprotocol entry, or the header.
pub type Chat = (SubprotocolToken<JwtBackend>, JwtBackend);

/// Greets, then echoes each text message with the sender's name, until the socket ends.
async fn echo(mut socket: WebSocket, who: String) {
    if socket.send(Message::text(format!("hello {who}"))).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Text(text) = message
            && socket.send(Message::text(format!("{who}: {}", text.as_str()))).await.is_err()
        {
            break;
        }
    }
}

fn open(ws: WebSocketUpgrade, who: String) -> Response {
    ws.protocols(["chat.v1"]).recheck_every(RECHECK).on_upgrade(move |socket| echo(socket, who))
}

#[secured(scopes = ["chat:read"])]
pub async fn room(Authenticated(user): Authenticated<Chat>, ws: WebSocketUpgrade) -> Response {
    open(ws, user.subject)
}

/// The upgrade extracted before the credential: the order does not matter.
#[secured(scopes = ["chat:read"])]
pub async fn room_upgrade_first(ws: WebSocketUpgrade, Authenticated(user): Authenticated<Chat>) -> Response {
    open(ws, user.subject)
}

#[secured(scopes = ["chat:write"])]
pub async fn post_room(Authenticated(user): Authenticated<Chat>, ws: WebSocketUpgrade) -> Response {
    open(ws, user.subject)
}

/// The query parameter is on here, and only here.
#[secured(scopes = ["chat:read"])]
pub async fn query_room(
    Authenticated(user): Authenticated<(SubprotocolToken<JwtBackend>, QueryToken<JwtBackend>)>,
    ws: WebSocketUpgrade,
) -> Response {
    open(ws, user.subject)
}

#[secured(scopes = ["chat:read"])]
pub async fn claims_room(
    Authenticated(claims): Authenticated<(SubprotocolToken<Claims>, Claims)>,
    ws: WebSocketUpgrade,
) -> Response {
    open(ws, claims.sub.unwrap_or_default())
}

#[secured(scopes = ["chat:read"])]
pub async fn session_room(Authenticated(user): Authenticated<SessionBackend>, ws: WebSocketUpgrade) -> Response {
    open(ws, user.subject)
}

#[secured(scopes = ["chat:read"])]
pub async fn partner_room(Authenticated(user): Authenticated<PartnerBackend>, ws: WebSocketUpgrade) -> Response {
    open(ws, user.subject)
}

#[secured(scopes = ["chat:read"])]
pub async fn revocable_room(
    Authenticated(user): Authenticated<(SubprotocolToken<RevocableBackend>, RevocableBackend)>,
    ws: WebSocketUpgrade,
) -> Response {
    open(ws, user.subject)
}

/// Tries to echo every offered subprotocol, token entry included, as careless code might.
#[secured(scopes = ["chat:read"])]
pub async fn careless_room(
    Authenticated(user): Authenticated<Chat>,
    headers: HeaderMap,
    mut ws: WebSocketUpgrade,
) -> Response {
    let offered: Vec<HeaderValue> = ws.requested_protocols().cloned().collect();
    for protocol in offered {
        ws.set_selected_protocol(protocol);
    }
    let raw = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().flat_map(|v| v.to_str().unwrap_or("").split(','));
    for entry in raw.map(str::trim).collect::<Vec<_>>() {
        if let Ok(value) = HeaderValue::from_str(entry) {
            ws.set_selected_protocol(value);
        }
    }
    ws.on_upgrade(move |socket| echo(socket, user.subject))
}

/// Not `#[secured]`: nothing would tell the socket when its credentials end, so it is refused.
pub async fn unsecured_room(Authenticated(user): Authenticated<JwtBackend>, ws: WebSocketUpgrade) -> Response {
    open(ws, user.subject)
}

/// One event every 100 ms, numbered, for `who`.
fn ticks(who: String) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(0u32, move |n| {
        let who = who.clone();
        async move {
            if n > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some((Ok(Event::default().event("tick").data(format!("{who} {n}"))), n + 1))
        }
    })
}

#[secured(scopes = ["chat:read"])]
pub async fn events(
    Authenticated(user): Authenticated<JwtBackend>,
    lifetime: CredentialLifetime,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(lifetime.recheck_every(RECHECK).bound(ticks(user.subject)))
}

#[secured(scopes = ["chat:write"])]
pub async fn write_events(
    Authenticated(user): Authenticated<JwtBackend>,
    lifetime: CredentialLifetime,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(lifetime.bound(ticks(user.subject)))
}

#[secured(scopes = ["chat:read"])]
pub async fn session_events(
    lifetime: CredentialLifetime,
    Authenticated(user): Authenticated<SessionBackend>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(lifetime.recheck_every(RECHECK).bound(ticks(user.subject)))
}

/// The app.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(room))
        .route("/ws/upgrade-first", get(room_upgrade_first))
        .route("/ws/write", get(post_room))
        .route("/ws/write/rfc6750", get(post_room).layer(map_response(auth_core::AuthError::rfc6750)))
        .route("/ws/query", get(query_room))
        .route("/ws/claims", get(claims_room))
        .route("/ws/session", get(session_room))
        .route("/ws/partner", get(partner_room))
        .route("/ws/revocable", get(revocable_room))
        .route("/ws/careless", get(careless_room))
        .route("/ws/unsecured", get(unsecured_room))
        .route("/events", get(events))
        .route("/events/write", get(write_events))
        .route("/events/session", get(session_events))
        .with_state(state)
}
