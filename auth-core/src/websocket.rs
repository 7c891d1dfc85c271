//! WebSockets whose credentials hold for the life of the connection (feature `ws`).
//!
//! [`WebSocketUpgrade`] is axum's extractor of the same name, with the same methods, for
//! `#[secured]` handlers:
//!
//! - the handler's chain runs before the upgrade, as for any handler: a missing, bad or
//!   insufficient credential is answered with the ordinary HTTP 401/403 and `{"detail": …}`,
//!   and the connection is never upgraded (no 101);
//! - the socket it hands over is closed by the server with **1008 (policy violation)** and
//!   the reason `Token expired` (or `Token revoked`) as soon as any credential of the request
//!   ends; the handler is told by [`WebSocket::recv`] returning `None` (and
//!   [`WebSocket::ended`] saying why), and [`WebSocket::send`] failing;
//! - a token sent as a subprotocol entry (`bearer.<token>`, see
//!   [`SubprotocolToken`](crate::transport::SubprotocolToken)) is never echoed: the app's
//!   protocol negotiation does not see it.
//!
//! `#[secured]` refuses axum's own `WebSocketUpgrade` at compile time, since nothing would close
//! its socket when the token expires.
//!
//! ```
//! use auth_core::{
//!     Authenticated, Scopes, secured,
//!     transport::SubprotocolToken,
//!     websocket::{Message, WebSocketUpgrade},
//! };
//! # use auth_core::{AuthBackend, strategies::JwtStrategy};
//! use axum::response::Response;
//!
//! #[derive(Scopes, Clone, Copy)]
//! pub enum Scope {
//!     /// Read the room.
//!     #[scope("chat:read")]
//!     ChatRead,
//! }
//!
//! # #[derive(AuthBackend, Clone)]
//! # #[backend(name = "jwt", transport = bearer(token_url = "auth/jwt/login"), strategy = jwt, scopes = Scope)]
//! # struct JwtBackend { strategy: JwtStrategy }
//! // The token in a `bearer.<token>` subprotocol entry (browsers), or the Authorization header.
//! #[secured(scopes = ["chat:read"])]
//! async fn room(
//!     Authenticated(user): Authenticated<(SubprotocolToken<JwtBackend>, JwtBackend)>,
//!     ws: WebSocketUpgrade,
//! ) -> Response {
//!     ws.protocols(["chat.v1"]).on_upgrade(move |mut socket| async move {
//!         // `None` once the client leaves, or once the token expires (the server has then
//!         // closed the socket with 1008 "Token expired").
//!         while let Some(Ok(message)) = socket.recv().await {
//!             if let Message::Text(text) = message {
//!                 let reply = format!("{}: {}", user.subject, text.as_str());
//!                 if socket.send(Message::text(reply)).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         }
//!     })
//! }
//! ```

use std::{borrow::Cow, fmt, future::Future, pin::pin, sync::Arc, time::Duration};

pub use axum::extract::ws::{CloseFrame, DefaultOnFailedUpgrade, Message, OnFailedUpgrade, Utf8Bytes, close_code};
use axum::{
    extract::{FromRequestParts, ws},
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use tokio::sync::{Mutex, watch};

use crate::{
    security::{CredentialLifetime, Describe, Ended, SecuredUpgrade, Walk},
    transport::{is_token_entry, is_token_value},
};

/// How long, after closing a socket whose credential ended, the handler's callback may run on
/// (it sees `recv()` return `None` and can clean up) before it is dropped.
const CALLBACK_GRACE: Duration = Duration::from_secs(5);

/// How long sending the close frame, and waiting for the client's, may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// axum's [`WebSocketUpgrade`](ws::WebSocketUpgrade) for `#[secured]` handlers: the same
/// methods, and a [`WebSocket`] that the server closes with 1008 when a credential of the
/// request expires or is revoked. See the [module documentation](self).
///
/// Take it as a parameter of a `#[secured]` handler, in any position. Outside one it refuses
/// the request (500, logged), since nothing would tell it when the credentials end.
#[must_use]
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    inner: ws::WebSocketUpgrade<F>,
    lifetime: CredentialLifetime,
}

impl<F> fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrade").field("inner", &self.inner).field("lifetime", &self.lifetime).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lifetime =
            CredentialLifetime::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        // axum's extractor keeps the offered subprotocols for negotiation: let it see only the
        // app's, never a token entry, then put the header back for the credentials to read.
        let offered: Vec<HeaderValue> = parts.headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().cloned().collect();
        let carries_token = offered
            .iter()
            .any(|value| value.as_bytes().split(|b| *b == b',').any(|entry| is_token_entry(entry.trim_ascii())));
        if carries_token {
            parts.headers.remove(header::SEC_WEBSOCKET_PROTOCOL);
            let entries = offered
                .iter()
                .flat_map(|value| value.as_bytes().split(|b| *b == b','))
                .map(<[u8]>::trim_ascii)
                .filter(|entry| !entry.is_empty() && !is_token_entry(entry));
            for entry in entries {
                if let Ok(value) = HeaderValue::from_bytes(entry) {
                    parts.headers.append(header::SEC_WEBSOCKET_PROTOCOL, value);
                }
            }
        }
        let inner = ws::WebSocketUpgrade::from_request_parts(parts, state).await;
        if carries_token {
            parts.headers.remove(header::SEC_WEBSOCKET_PROTOCOL);
            for value in offered {
                parts.headers.append(header::SEC_WEBSOCKET_PROTOCOL, value);
            }
        }
        Ok(Self { inner: inner.map_err(IntoResponse::into_response)?, lifetime })
    }
}

/// Tells the handler's plan that the handler is long-lived, so its credentials say how long
/// they live.
impl<F> Describe for WebSocketUpgrade<F> {
    fn describe(walk: &mut Walk) {
        walk.long_lived();
    }
}

impl<F> SecuredUpgrade for WebSocketUpgrade<F> {}

impl<F> WebSocketUpgrade<F> {
    /// Read buffer capacity; see axum's [`read_buffer_size`](ws::WebSocketUpgrade::read_buffer_size).
    pub fn read_buffer_size(self, size: usize) -> Self {
        self.map(|inner| inner.read_buffer_size(size))
    }

    /// Target write buffer size; see axum's [`write_buffer_size`](ws::WebSocketUpgrade::write_buffer_size).
    pub fn write_buffer_size(self, size: usize) -> Self {
        self.map(|inner| inner.write_buffer_size(size))
    }

    /// Largest write buffer; see axum's [`max_write_buffer_size`](ws::WebSocketUpgrade::max_write_buffer_size).
    pub fn max_write_buffer_size(self, max: usize) -> Self {
        self.map(|inner| inner.max_write_buffer_size(max))
    }

    /// Largest incoming message; see axum's [`max_message_size`](ws::WebSocketUpgrade::max_message_size).
    pub fn max_message_size(self, max: usize) -> Self {
        self.map(|inner| inner.max_message_size(max))
    }

    /// Largest incoming frame; see axum's [`max_frame_size`](ws::WebSocketUpgrade::max_frame_size).
    pub fn max_frame_size(self, max: usize) -> Self {
        self.map(|inner| inner.max_frame_size(max))
    }

    /// Whether to accept unmasked frames; see axum's [`accept_unmasked_frames`](ws::WebSocketUpgrade::accept_unmasked_frames).
    pub fn accept_unmasked_frames(self, accept: bool) -> Self {
        self.map(|inner| inner.accept_unmasked_frames(accept))
    }

    /// The subprotocols the server speaks, most preferred first: the first one the client
    /// offered is chosen and echoed in the response. A token entry (`bearer.…`) is never among
    /// the offered ones, so it is never chosen.
    pub fn protocols<I>(self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        self.map(|inner| inner.protocols(protocols))
    }

    /// The subprotocols the client offered, without any token entry.
    pub fn requested_protocols(&self) -> impl Iterator<Item = &HeaderValue> {
        self.inner.requested_protocols()
    }

    /// Chooses the subprotocol echoed in the response. A token entry (`bearer.…`) is refused:
    /// it is ignored, and logged without its value.
    pub fn set_selected_protocol(&mut self, protocol: HeaderValue) {
        if is_token_value(&protocol) {
            tracing::warn!("refused to echo a token subprotocol entry (`bearer.…`) in a WebSocket response");
            return;
        }
        self.inner.set_selected_protocol(protocol);
    }

    /// The chosen subprotocol, if any.
    pub fn selected_protocol(&self) -> Option<&HeaderValue> {
        self.inner.selected_protocol()
    }

    /// How often revocable credentials (a database or Redis token, a JWT under a denylist) are
    /// re-checked while the socket is open (default 30 s); see
    /// [`CredentialLifetime::recheck_every`].
    pub fn recheck_every(mut self, interval: Duration) -> Self {
        self.lifetime = self.lifetime.recheck_every(interval);
        self
    }

    /// When the first credential of the request expires, if any does.
    pub fn expires_at(&self) -> Option<std::time::SystemTime> {
        self.lifetime.expires_at()
    }

    /// What to do if the upgrade fails; see axum's [`on_failed_upgrade`](ws::WebSocketUpgrade::on_failed_upgrade).
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade { inner: self.inner.on_failed_upgrade(callback), lifetime: self.lifetime }
    }

    /// Finishes the upgrade: the response to return (101 Switching Protocols), and, once the
    /// client has switched, `callback` with the socket.
    ///
    /// When a credential of the request ends, the server closes the socket with 1008 and the
    /// reason (`Token expired`, `Token revoked`): [`WebSocket::recv`] then returns `None` and
    /// [`WebSocket::send`] fails, on the socket and on its [split](WebSocket::split) halves,
    /// whatever task holds them. The callback gets a few seconds to finish after that (to clean
    /// up after its loop); then it is dropped.
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let lifetime = self.lifetime;
        self.inner.on_upgrade(move |socket| supervise(socket, lifetime, callback))
    }

    fn map(self, f: impl FnOnce(ws::WebSocketUpgrade<F>) -> ws::WebSocketUpgrade<F>) -> Self {
        Self { inner: f(self.inner), lifetime: self.lifetime }
    }
}

/// Runs the app's callback on the socket, and ends the connection when a credential ends.
async fn supervise<C, Fut>(socket: ws::WebSocket, lifetime: CredentialLifetime, callback: C)
where
    C: FnOnce(WebSocket) -> Fut,
    Fut: Future<Output = ()>,
{
    let protocol = socket.protocol().cloned();
    let (sink, stream) = socket.split();
    let shared = Arc::new(Shared { sink: Mutex::new(sink), stream: Mutex::new(stream) });
    let (ended_tx, ended_rx) = watch::channel(None);
    let socket = WebSocket {
        sender: WebSocketSender { shared: Arc::clone(&shared), ended: ended_rx.clone() },
        receiver: WebSocketReceiver { shared: Arc::clone(&shared), ended: ended_rx },
        protocol,
    };

    let mut app = pin!(callback(socket));
    let mut app_done = false;
    // Watches until a credential ends, or until the app has let go of every half of the socket
    // (then nothing is left to close). Halves the app moved into tasks of its own are watched
    // as long as they live.
    let watch = async {
        tokio::select! {
            () = ended_tx.closed() => None,
            reason = lifetime.ended() => Some(reason),
        }
    };
    let mut watch = pin!(watch);
    let reason = tokio::select! {
        () = &mut app => {
            app_done = true;
            watch.await
        }
        reason = &mut watch => reason,
    };
    let Some(reason) = reason else { return };

    tracing::info!(reason = reason.reason(), "closing a WebSocket whose credential ended (1008)");
    // From here every `recv` returns `None` and every `send` fails, in every task.
    ended_tx.send_replace(Some(reason));
    let close = async {
        if let Ok(mut sink) = tokio::time::timeout(CLOSE_TIMEOUT, shared.sink.lock()).await {
            let frame = CloseFrame { code: close_code::POLICY, reason: Utf8Bytes::from_static(reason.reason()) };
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
        }
    };
    // The app is polled meanwhile: a `send` it is in releases the sink when it sees the end.
    let finish_app = async {
        if !app_done {
            let _ = tokio::time::timeout(CALLBACK_GRACE, &mut app).await;
        }
    };
    tokio::join!(close, finish_app);
    // The closing handshake: wait briefly for the client's close frame.
    if let Ok(mut stream) = tokio::time::timeout(CLOSE_TIMEOUT, shared.stream.lock()).await {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// The socket's two directions, each behind its own lock so that one task can receive while
/// another sends, and the server can still close the socket whatever the app does.
struct Shared {
    sink: Mutex<SplitSink<ws::WebSocket, Message>>,
    stream: Mutex<SplitStream<ws::WebSocket>>,
}

/// A WebSocket that the server closes with 1008 when a credential that opened it ends: axum's
/// `recv` and `send`, plus [`ended`](Self::ended). [`split`](Self::split) it to receive and
/// send from different tasks.
pub struct WebSocket {
    sender: WebSocketSender,
    receiver: WebSocketReceiver,
    protocol: Option<HeaderValue>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket").field("protocol", &self.protocol).field("ended", &self.ended()).finish()
    }
}

impl WebSocket {
    /// The next message; `None` when the client has gone, or when a credential ended (the
    /// server then closed the socket with 1008: see [`ended`](Self::ended)).
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        self.receiver.recv().await
    }

    /// Sends a message. Fails once a credential has ended.
    pub async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
        self.sender.send(message).await
    }

    /// The subprotocol chosen in the handshake, if any (never a token entry).
    pub fn protocol(&self) -> Option<&HeaderValue> {
        self.protocol.as_ref()
    }

    /// Why the server ended the connection, once it has: a credential expired or was revoked.
    pub fn ended(&self) -> Option<Ended> {
        *self.receiver.ended.borrow()
    }

    /// The sending and receiving halves, for two tasks. Both stop when a credential ends.
    pub fn split(self) -> (WebSocketSender, WebSocketReceiver) {
        (self.sender, self.receiver)
    }
}

/// The sending half of a [`WebSocket`].
pub struct WebSocketSender {
    shared: Arc<Shared>,
    ended: watch::Receiver<Option<Ended>>,
}

impl fmt::Debug for WebSocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketSender").field("ended", &*self.ended.borrow()).finish()
    }
}

impl WebSocketSender {
    /// Sends a message. Fails once a credential has ended.
    pub async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
        if let Some(reason) = *self.ended.borrow() {
            return Err(axum::Error::new(CredentialEnded(reason)));
        }
        let Self { shared, ended } = self;
        tokio::select! {
            biased;
            reason = wait_ended(ended) => Err(axum::Error::new(CredentialEnded(reason))),
            sent = async { shared.sink.lock().await.send(message).await } => sent,
        }
    }

    /// Why the server ended the connection, once it has.
    pub fn ended(&self) -> Option<Ended> {
        *self.ended.borrow()
    }
}

/// The receiving half of a [`WebSocket`].
pub struct WebSocketReceiver {
    shared: Arc<Shared>,
    ended: watch::Receiver<Option<Ended>>,
}

impl fmt::Debug for WebSocketReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketReceiver").field("ended", &*self.ended.borrow()).finish()
    }
}

impl WebSocketReceiver {
    /// The next message; `None` when the client has gone, or when a credential ended.
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        if self.ended.borrow().is_some() {
            return None;
        }
        let Self { shared, ended } = self;
        tokio::select! {
            biased;
            _ = wait_ended(ended) => None,
            message = async { shared.stream.lock().await.next().await } => message,
        }
    }

    /// Why the server ended the connection, once it has.
    pub fn ended(&self) -> Option<Ended> {
        *self.ended.borrow()
    }
}

/// Resolves with the reason once the connection has been ended; never if the socket is gone
/// first (the sender is dropped only after the app is).
async fn wait_ended(ended: &mut watch::Receiver<Option<Ended>>) -> Ended {
    let reason = match ended.wait_for(Option::is_some).await {
        Ok(reason) => *reason,
        Err(_) => None,
    };
    match reason {
        Some(reason) => reason,
        None => std::future::pending().await,
    }
}

/// The error of a send after a credential ended.
#[derive(Debug)]
struct CredentialEnded(Ended);

impl fmt::Display for CredentialEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the WebSocket was closed by the server: {}", self.0)
    }
}

impl std::error::Error for CredentialEnded {}
