//! How long a verified credential stays valid ([`Lifetime`]), and the end of a connection that
//! outlives its request: a WebSocket or an event stream ends when any credential that opened it
//! expires or, with a strategy that can tell, is revoked ([`CredentialLifetime`]).
//!
//! An ordinary request is checked once, when it arrives. A connection that stays open is not
//! checked again by anything, so a token that expires an hour later would keep its socket open
//! for days. Here, a handler that upgrades or streams declares it by taking
//! [`CredentialLifetime`] (or `auth_core::websocket::WebSocketUpgrade`, which takes it):
//! its plan then knows the handler is long-lived, and every credential the chain verifies for
//! says how long it lives ([`Authenticate::verify`] always does). The
//! connection ends at the earliest expiry; credentials that can be revoked are re-checked
//! every [`recheck interval`](CredentialLifetime::recheck_every).
//!
//! ```
//! use auth_core::{Authenticated, Scopes, secured, security::CredentialLifetime, strategies::Claims};
//! use axum::response::sse::{Event, Sse};
//! use futures_core::Stream;
//! # use std::convert::Infallible;
//!
//! #[derive(Scopes, Clone, Copy)]
//! pub enum Scope {
//!     /// Read the news.
//!     #[scope("news:read")]
//!     NewsRead,
//! }
//!
//! # fn news() -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static { futures_util::stream::empty() }
//! // The stream ends when the token expires; the client reconnects, and is refused with 401.
//! #[secured(scopes = ["news:read"])]
//! async fn events(
//!     Authenticated(claims): Authenticated<Claims>,
//!     lifetime: CredentialLifetime,
//! ) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
//!     Sse::new(lifetime.bound(news()))
//! }
//! ```
//!
//! [`Authenticate::verify`]: super::Authenticate::verify

use std::{
    any::type_name,
    collections::BTreeSet,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{extract::FromRequestParts, http::request::Parts};
use futures_core::Stream;

use super::{
    Credential,
    chain::ChainState,
    requirement::{Describe, Walk},
};
use crate::error::AuthError;

/// What a re-check of a revocable credential runs: `Ok` while the credential holds.
type RecheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), AuthError>> + Send>> + Send + Sync;

/// How long a verified credential stays valid: until an instant (a JWT's `exp`, a stored
/// token's expiry), and, for a credential that can be revoked before then (a logout, a
/// denylist), as long as a re-check says so.
///
/// A credential says it with its principal, in [`Authenticate::verify`](super::Authenticate::verify).
/// A [`revocable`](Self::revocable) credential is re-checked, while a connection it opened
/// stays open, by verifying it again: nothing is built for that on an ordinary request.
#[derive(Clone)]
pub struct Lifetime {
    expires_at: Option<SystemTime>,
    /// Whether verifying the credential again can find it revoked.
    revocable: bool,
    recheck: Option<Arc<RecheckFn>>,
    /// Whether the credential said anything: an unknown lifetime is logged.
    known: bool,
}

impl Lifetime {
    /// The credential does not say how long it lives: nothing ends a connection for it, and the
    /// first such connection logs a warning naming the credential type.
    pub fn unknown() -> Self {
        Self { expires_at: None, revocable: false, recheck: None, known: false }
    }

    /// The credential never expires (an API key without an end, say).
    pub fn unbounded() -> Self {
        Self { expires_at: None, revocable: false, recheck: None, known: true }
    }

    /// Valid until `expires_at`.
    pub fn until(expires_at: SystemTime) -> Self {
        Self { expires_at: Some(expires_at), revocable: false, recheck: None, known: true }
    }

    /// Also valid only while verifying the credential again succeeds: the credential can be
    /// revoked before it expires (a logout, a denylist, a deleted key). While a connection it
    /// opened stays open, it is verified again every recheck interval, and the first `Err`
    /// other than [`AuthError::Unavailable`] or [`AuthError::Internal`] ends the connection. A
    /// store that does not answer does not end it: the credential was valid, and its expiry
    /// still applies.
    pub fn revocable(mut self) -> Self {
        self.revocable = true;
        self.known = true;
        self
    }

    /// Whether the credential is verified again while a connection it opened stays open.
    pub fn is_revocable(&self) -> bool {
        self.revocable || self.recheck.is_some()
    }

    /// Valid until `seconds` after the Unix epoch, as a JWT's `exp` says it.
    pub fn until_unix(seconds: u64) -> Self {
        Self::until(UNIX_EPOCH.checked_add(Duration::from_secs(seconds)).unwrap_or_else(far_future))
    }

    /// Also valid only while `check` says so (see [`revocable`](Self::revocable)): what a
    /// revocable credential of a long-lived request is given. Checks add up.
    pub(crate) fn rechecked<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
    {
        let check: Arc<RecheckFn> = Arc::new(move || Box::pin(check()));
        self.recheck = Some(match self.recheck.take() {
            None => check,
            Some(earlier) => Arc::new(move || {
                let (earlier, check) = (Arc::clone(&earlier), Arc::clone(&check));
                Box::pin(async move {
                    earlier().await?;
                    check().await
                })
            }),
        });
        self.known = true;
        self.revocable = false;
        self
    }

    /// When the credential expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

impl fmt::Debug for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifetime")
            .field("expires_at", &self.expires_at)
            .field("rechecked", &self.recheck.is_some())
            .field("known", &self.known)
            .finish()
    }
}

/// An instant no credential outlives (some 35,000 years from now): where `SystemTime`
/// arithmetic saturates.
pub(crate) fn far_future() -> SystemTime {
    UNIX_EPOCH.checked_add(Duration::from_secs(1 << 40)).unwrap_or(UNIX_EPOCH)
}

/// The lifetimes of the credentials verified for one long-lived request, shared by the
/// credentials that record them and the connection that ends with them. Created when a
/// `#[secured]` handler whose plan is long-lived starts its chain, so the order of the
/// handler's parameters does not matter.
#[derive(Clone, Default)]
pub(crate) struct Lifetimes(Arc<Mutex<Vec<(&'static str, Lifetime)>>>);

impl Lifetimes {
    /// Records what credential `C` said of its lifetime.
    pub(crate) fn record<C: Credential>(&self, lifetime: Lifetime) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push((type_name::<C>(), lifetime));
    }

    fn snapshot(&self) -> Vec<(&'static str, Lifetime)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Why a connection was ended by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// A credential of the connection expired.
    Expired,
    /// A re-check said a credential of the connection is no longer valid (logged out, revoked).
    Revoked,
}

impl Ended {
    /// The reason sent to the client, e.g. in a WebSocket close frame: `Token expired` or
    /// `Token revoked`.
    pub const fn reason(self) -> &'static str {
        match self {
            Ended::Expired => "Token expired",
            Ended::Revoked => "Token revoked",
        }
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl CredentialLifetime {
    /// How often a revocable credential is re-checked by default while a connection is open.
    pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(30);
}

/// The shortest recheck interval accepted; shorter ones are raised to it.
const MIN_RECHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The lifetime of the credentials of a long-lived request: what ends a WebSocket or an event
/// stream when any credential that opened it expires or is revoked.
///
/// Take it as a parameter of a `#[secured]` handler, in any position: taking it tells the
/// handler's plan that the handler is long-lived, so every credential its chain verifies also
/// records how long it lives. Then, after extraction:
///
/// - [`bound`](Self::bound) a stream (an event stream's events): it ends at the earliest
///   expiry or revocation;
/// - or await [`ended`](Self::ended), e.g. in a `tokio::select!` beside your own work.
///
/// `auth_core::websocket::WebSocketUpgrade` (feature `ws`) takes it for you and closes the
/// socket with 1008.
///
/// Outside a `#[secured]` handler there is no plan to tell, so it refuses the request with 500
/// and an error in the log, rather than let a connection outlive its credentials.
#[derive(Clone)]
pub struct CredentialLifetime {
    lifetimes: Lifetimes,
    recheck_every: Duration,
}

impl fmt::Debug for CredentialLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialLifetime")
            .field("expires_at", &self.expires_at())
            .field("recheck_every", &self.recheck_every)
            .finish()
    }
}

impl CredentialLifetime {
    /// When the first credential of the request expires, if any does. Read it in the handler
    /// (after every parameter was extracted), not in an extractor.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.lifetimes.snapshot().iter().filter_map(|(_, lifetime)| lifetime.expires_at).min()
    }

    /// Re-checks revocable credentials every `interval` (default 30 s; at least 100 ms). Each
    /// re-check asks the credential's store, once per open connection.
    pub fn recheck_every(mut self, interval: Duration) -> Self {
        self.recheck_every = interval.max(MIN_RECHECK_INTERVAL);
        self
    }

    /// The interval at which revocable credentials are re-checked.
    pub fn recheck_interval(&self) -> Duration {
        self.recheck_every
    }

    /// Resolves when the first credential of the request expires or is revoked; never, when
    /// none can. Call it in the handler or later (the credentials are read when it is called).
    pub fn ended(&self) -> impl Future<Output = Ended> + Send + 'static {
        let lifetimes = self.lifetimes.snapshot();
        warn_unknown(&lifetimes);
        let expires_at = lifetimes.iter().filter_map(|(_, lifetime)| lifetime.expires_at).min();
        let rechecks: Vec<(&'static str, Arc<RecheckFn>)> =
            lifetimes.into_iter().filter_map(|(name, lifetime)| Some((name, lifetime.recheck?))).collect();
        let interval = self.recheck_every;
        async move {
            let expiry = async {
                match expires_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let revocation = async {
                if rechecks.is_empty() {
                    return std::future::pending().await;
                }
                loop {
                    tokio::time::sleep(interval).await;
                    for (credential, recheck) in &rechecks {
                        match recheck().await {
                            Ok(()) => {}
                            Err(AuthError::Unavailable | AuthError::Internal) => tracing::warn!(
                                credential,
                                "could not re-check the credential of an open connection; it stays open until its expiry or the next re-check"
                            ),
                            Err(_) => return,
                        }
                    }
                }
            };
            tokio::select! {
                () = expiry => Ended::Expired,
                () = revocation => Ended::Revoked,
            }
        }
    }

    /// `stream`, ending when the first credential of the request expires or is revoked: for an
    /// event stream, `Sse::new(lifetime.bound(events))`. Call it in the handler.
    pub fn bound<S: Stream>(&self, stream: S) -> Bounded<S> {
        Bounded { stream, ended: Some(Box::pin(self.ended())), reason: None }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CredentialLifetime {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match ChainState::lifetimes(parts) {
            Some(lifetimes) => Ok(Self { lifetimes, recheck_every: CredentialLifetime::DEFAULT_RECHECK_INTERVAL }),
            None => {
                tracing::error!(
                    "CredentialLifetime (or auth_core's WebSocketUpgrade) was extracted outside a #[secured] handler, or by an extractor that does not describe it: mark the handler #[secured] so its credentials record how long they live"
                );
                Err(AuthError::Internal)
            }
        }
    }
}

/// Tells the handler's plan that the handler is long-lived.
impl Describe for CredentialLifetime {
    fn describe(walk: &mut Walk) {
        walk.long_lived();
    }
}

pin_project_lite::pin_project! {
    /// A stream that ends when the credentials of the request that opened it end; see
    /// [`CredentialLifetime::bound`].
    pub struct Bounded<S> {
        #[pin]
        stream: S,
        ended: Option<Pin<Box<dyn Future<Output = Ended> + Send>>>,
        reason: Option<Ended>,
    }
}

impl<S> Bounded<S> {
    /// Why the stream ended early, once it has.
    pub fn ended(&self) -> Option<Ended> {
        self.reason
    }
}

impl<S: fmt::Debug> fmt::Debug for Bounded<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bounded").field("stream", &self.stream).field("ended", &self.reason).finish()
    }
}

impl<S: Stream> Stream for Bounded<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(ended) = this.ended else { return Poll::Ready(None) };
        if let Poll::Ready(reason) = ended.as_mut().poll(cx) {
            tracing::info!(reason = reason.reason(), "ending a stream whose credential ended");
            *this.ended = None;
            *this.reason = Some(reason);
            return Poll::Ready(None);
        }
        this.stream.poll_next(cx)
    }
}

/// Sleeps until the wall-clock instant `at`, in steps of at most a day, so a clock that is
/// set forward or back while a connection is open moves the end with it.
async fn sleep_until(at: SystemTime) {
    const STEP: Duration = Duration::from_secs(24 * 60 * 60);
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(STEP)).await;
    }
}

/// Logs, once per credential type and process, that a credential said nothing of its lifetime.
fn warn_unknown(lifetimes: &[(&'static str, Lifetime)]) {
    static WARNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    for (credential, lifetime) in lifetimes {
        if !lifetime.known && WARNED.lock().unwrap_or_else(PoisonError::into_inner).insert(credential) {
            tracing::warn!(
                credential,
                "this credential does not say when it expires (Lifetime::unknown, from Authenticate::verify): nothing ends a connection it opened"
            );
        }
    }
}

/// An upgrade extractor whose connection ends with the credentials that opened it: what
/// `#[secured]` requires of a parameter named `WebSocketUpgrade`, where it is written.
///
/// auth-core's `websocket::WebSocketUpgrade` implements it; axum's does not, since nothing
/// would close its socket when the token expires. Implement it for an upgrade extractor of
/// your own only if its connection ends when a [`CredentialLifetime`] it takes says so.
#[diagnostic::on_unimplemented(
    message = "`{Self}` would let the WebSocket outlive the credentials that opened it",
    label = "nothing closes this socket when its token expires",
    note = "in a `#[secured]` function take `auth_core::websocket::WebSocketUpgrade` (feature `ws`): axum's API, and the socket is closed with 1008 when a credential of the request expires or is revoked"
)]
pub trait SecuredUpgrade {}

/// `#[secured]`'s check on a parameter named `WebSocketUpgrade`.
pub fn assert_secured_upgrade<T: SecuredUpgrade>() {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;
    impl Credential for Never {
        type Principal = ();
        const SCHEME_NAME: &'static str = "Never";
        fn scheme() -> crate::security::SchemeKind {
            crate::security::SchemeKind::HttpBasic
        }
        fn granted_scopes(_: &()) -> &[String] {
            &[]
        }
    }

    fn lifetime_of(entries: Vec<Lifetime>) -> CredentialLifetime {
        let lifetimes = Lifetimes::default();
        for lifetime in entries {
            lifetimes.record::<Never>(lifetime);
        }
        CredentialLifetime { lifetimes, recheck_every: Duration::from_millis(100) }
    }

    #[test]
    fn the_earliest_expiry_counts() {
        let soon = SystemTime::now() + Duration::from_secs(10);
        let later = soon + Duration::from_secs(10);
        let lifetime = lifetime_of(vec![Lifetime::until(later), Lifetime::unbounded(), Lifetime::until(soon)]);
        assert_eq!(lifetime.expires_at(), Some(soon));
        assert_eq!(lifetime_of(vec![Lifetime::unknown()]).expires_at(), None);
        assert_eq!(Lifetime::until_unix(u64::MAX).expires_at(), Some(far_future()));
    }

    #[tokio::test(start_paused = true)]
    async fn ends_at_expiry_or_at_the_first_failed_recheck() {
        let expired = lifetime_of(vec![Lifetime::until(SystemTime::now())]);
        assert_eq!(expired.ended().await, Ended::Expired);

        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = Arc::clone(&calls);
        let revoked = lifetime_of(vec![Lifetime::unbounded().rechecked(move || {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(AuthError::Unavailable),
                    1 => Ok(()),
                    _ => Err(AuthError::InvalidToken),
                }
            }
        })]);
        assert_eq!(revoked.ended().await, Ended::Revoked);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3, "an outage does not end the connection");
    }

    #[tokio::test(start_paused = true)]
    async fn a_bounded_stream_ends_with_its_credential() {
        let stream = futures_util::stream::repeat(1u8);
        let mut bounded = lifetime_of(vec![Lifetime::until(SystemTime::now())]).bound(stream);
        assert_eq!(std::future::poll_fn(|cx| Pin::new(&mut bounded).poll_next(cx)).await, None);
        assert_eq!(bounded.ended(), Some(Ended::Expired));
    }
}
