//! Sessions end with the password: when a user's password is reset or changed, every token
//! issued to them before is refused, whichever backend issued it.
//!
//! - The row records when (`password_changed_at`), in the statement that writes the new
//!   password hash, so that neither is ever written without the other; the users' credential
//!   ([`UserToken`](super::UserToken)) refuses a token issued at or before it (whole seconds),
//!   on each request and on the re-check of a connection the token opened (a WebSocket, an
//!   event stream), which then ends with close code 1008.
//! - The token stores registered with
//!   [`UserManagerBuilder::revoke_sessions_in`](super::UserManagerBuilder::revoke_sessions_in)
//!   delete the user's tokens ([`RevokeSubject`]): database rows, Redis keys.
//! - A refresh family ends at its next refresh: [`UserManager`] is a [`ReloadUser`] that refuses
//!   refresh tokens issued before the change, and the family is revoked.
//! - The change answers only once the second it happened in is over, so that a login after the
//!   answer is never taken for one before the change.
//!
//! fastapi-users keeps sessions across a reset; this is stricter on purpose (issue 20,
//! finding 3).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use uuid::Uuid;

use super::{UserPrincipal, error::FlowError, hooks::UserHooks, model::StoredUser, user_manager::UserManager};
use crate::{
    db::unix_now,
    error::AuthError,
    strategies::{ReloadUser, RevokeSubject},
};

/// A [`RevokeSubject`] behind a pointer, so that a manager can hold several kinds.
pub(crate) type SessionStore = Arc<dyn DynRevokeSubject>;

/// [`RevokeSubject`], object-safe.
pub(crate) trait DynRevokeSubject: Send + Sync + 'static {
    fn revoke<'a>(&'a self, subject: &'a str) -> Pin<Box<dyn Future<Output = Result<(), AuthError>> + Send + 'a>>;
}

impl<R: RevokeSubject> DynRevokeSubject for R {
    fn revoke<'a>(&'a self, subject: &'a str) -> Pin<Box<dyn Future<Output = Result<(), AuthError>> + Send + 'a>> {
        Box::pin(self.revoke_subject(subject))
    }
}

/// Whether a token issued at `issued_at` predates (or may predate) a password change at
/// `changed_at` (seconds since the Unix epoch; 0: never changed). Whole seconds: a token of the
/// change's own second is refused too, since it may have come just before it.
pub(crate) fn issued_before_change(issued_at: Option<SystemTime>, changed_at: i64) -> bool {
    let Some(issued_at) = issued_at else { return false };
    let issued = issued_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    changed_at > 0 && i64::try_from(issued).unwrap_or(i64::MAX) <= changed_at
}

impl<H: UserHooks> UserManager<H> {
    /// Ends every session of user `id` after their password changed. The change's time is
    /// already on the row, written with the password in one statement (`swap_password`,
    /// `update_if_unchanged`), so every older token is refused whatever happens here; this
    /// deletes their tokens from the registered stores, and returns once the second of the
    /// change is over. Every store is tried; the first failure is returned.
    pub(crate) async fn end_sessions(&self, id: Uuid) -> Result<(), FlowError> {
        let at = unix_now();
        let subject = id.to_string();
        let mut failure = None;
        for store in self.session_stores() {
            if let Err(error) = store.revoke(&subject).await {
                tracing::warn!(user = %id, %error, "could not delete a user's tokens after a password change");
                failure.get_or_insert(error);
            }
        }
        tracing::info!(user = %id, "sessions ended: password changed");
        let next_second = UNIX_EPOCH + Duration::from_secs(at.unsigned_abs().saturating_add(1));
        if let Ok(wait) = next_second.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        failure.map_or(Ok(()), |error| Err(error.into()))
    }

    /// Whether `password` is user `id`'s current password (for changes that require it), at
    /// the cost of one verification either way.
    pub(crate) async fn is_current_password(&self, id: Uuid, password: &str) -> Result<bool, FlowError> {
        let stored: Option<StoredUser<H::Fields>> = self.store().by_id(id).await?;
        let verified =
            self.passwords().verify_and_upgrade(password, stored.as_ref().map(|s| s.hashed_password.as_str())).await?;
        Ok(stored.is_some() && verified.valid)
    }
}

/// A refresh family of a user ends when the user may no longer log in (deleted, inactive) or
/// changed their password after its refresh token was issued. The scopes are those the row
/// grants ([`UserPrincipal`]).
impl<H: UserHooks> ReloadUser for UserManager<H> {
    async fn reload_user(&self, subject: &str) -> Result<Option<Vec<String>>, AuthError> {
        self.reload(subject, None).await
    }

    async fn reload_user_issued(&self, subject: &str, issued_at: SystemTime) -> Result<Option<Vec<String>>, AuthError> {
        self.reload(subject, Some(issued_at)).await
    }
}

impl<H: UserHooks> UserManager<H> {
    async fn reload(&self, subject: &str, issued_at: Option<SystemTime>) -> Result<Option<Vec<String>>, AuthError> {
        let Ok(id) = Uuid::parse_str(subject) else { return Ok(None) };
        let Some(stored) = self.store().by_id::<H::Fields>(id).await? else { return Ok(None) };
        if !stored.user.is_active
            || (self.requires_verification() && !stored.user.is_verified)
            || issued_before_change(issued_at, stored.password_changed_at)
        {
            return Ok(None);
        }
        Ok(Some(UserPrincipal::new(stored.user).scopes().to_vec()))
    }
}
