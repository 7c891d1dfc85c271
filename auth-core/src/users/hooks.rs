//! What an app plugs into the user flows: its own user fields, the password policy, and code
//! that runs after each event, as the methods of fastapi-users' `BaseUserManager` that apps
//! override.

use std::{future::Future, net::SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use super::model::{User, UserFields};

/// The app's side of the user flows. Every method has a default, so an app writes only what it
/// needs; the one required item is the type of its own user fields.
///
/// ```
/// use auth_core::users::{InvalidPassword, NoFields, RequestContext, User, UserHooks};
///
/// struct Hooks;
///
/// impl UserHooks for Hooks {
///     type Fields = NoFields;
///
///     async fn after_register(&self, user: &User<NoFields>, _request: &RequestContext) {
///         tracing::info!(user = %user.id, "registered");
///     }
/// }
/// ```
///
/// The hooks run after the change is stored, as in fastapi-users; a hook cannot undo it. Two of
/// them run off the request path, on a task of their own: `after_request_verify` and
/// `after_forgot_password`, so that their answer (always 202) takes the same time whether or
/// not the account exists. The verify and reset mails themselves are sent by the
/// [`Mailer`](super::Mailer), whatever these hooks do; hooks are for the app's own work.
#[allow(unused_variables)] // the defaults do nothing with their arguments
pub trait UserHooks: Send + Sync + 'static {
    /// The app's own user fields; [`NoFields`](super::NoFields) for none.
    type Fields: UserFields;

    /// Accepts or refuses a password for the user with address `email` (on register, reset and
    /// update). The default is [`PasswordPolicy::default`]. A refusal is answered with 400 and
    /// its reason, e.g. `{"detail": {"code": "REGISTER_INVALID_PASSWORD", "reason": …}}`.
    fn validate_password(
        &self,
        password: &str,
        email: &str,
    ) -> impl Future<Output = Result<(), InvalidPassword>> + Send {
        let verdict = PasswordPolicy::default().check(password, email);
        async move { verdict }
    }

    /// After a user registered.
    fn after_register(&self, user: &User<Self::Fields>, request: &RequestContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a user was changed; `changed` names the fields that were given (never values: one
    /// may be a password).
    fn after_update(
        &self,
        user: &User<Self::Fields>,
        changed: &[String],
        request: &RequestContext,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a verify token was made for `user` (who exists, is active and is not verified);
    /// runs on its own task.
    fn after_request_verify(
        &self,
        user: &User<Self::Fields>,
        token: &str,
        request: &RequestContext,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a user confirmed their address.
    fn after_verify(&self, user: &User<Self::Fields>, request: &RequestContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a reset token was made for `user` (who exists and is active); runs on its own task.
    fn after_forgot_password(
        &self,
        user: &User<Self::Fields>,
        token: &str,
        request: &RequestContext,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a user reset their password.
    fn after_reset_password(
        &self,
        user: &User<Self::Fields>,
        request: &RequestContext,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a user logged in through a backend's `/login`.
    fn after_login(&self, user: &User<Self::Fields>, request: &RequestContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Before a user is deleted: the row still exists.
    fn before_delete(&self, user: &User<Self::Fields>, request: &RequestContext) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// After a user was deleted.
    fn after_delete(&self, user: &User<Self::Fields>, request: &RequestContext) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The request behind an event, for hooks (fastapi-users passes its `Request`): its headers and,
/// when the app is served with `into_make_service_with_connect_info::<SocketAddr>()`, the peer
/// address. Events that no request caused (the command-line superuser) have an empty context.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The TCP peer, if known. Behind a proxy this is the proxy; see
    /// [`ClientIpSource`](super::ClientIpSource) for the client.
    pub peer: Option<SocketAddr>,
}

impl RequestContext {
    /// The context of `parts`.
    pub fn from_parts(parts: &Parts) -> Self {
        Self {
            headers: parts.headers.clone(),
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// A refused password, with the reason the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidPassword {
    /// For people: "Password should be at least 8 characters".
    pub reason: String,
}

impl InvalidPassword {
    /// A refusal with `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into() }
    }
}

/// The default password rules, after NIST SP 800-63B §5.1.1.2 (memorized secrets): length is
/// what counts, with no composition rules (no "one digit, one symbol").
///
/// - at least [`min_chars`](Self::min_chars) characters (default 8), counting each Unicode code
///   point as one, as NIST says;
/// - at most [`max_chars`](Self::max_chars) (default 1024: NIST asks for at least 64, and
///   argon2 hashes any length at the same cost);
/// - not containing the account's email address, nor being its local part (NIST: no
///   context-specific words such as the username), compared case-insensitively.
///
/// Apps that also check a list of breached passwords (NIST's other "SHALL") do it in their
/// [`UserHooks::validate_password`], after calling this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The fewest characters accepted.
    pub min_chars: usize,
    /// The most characters accepted.
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 8, max_chars: 1024 }
    }
}

impl PasswordPolicy {
    /// Checks `password` for the account with address `email`.
    pub fn check(&self, password: &str, email: &str) -> Result<(), InvalidPassword> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(InvalidPassword::new(format!("Password should be at least {} characters", self.min_chars)));
        }
        if chars > self.max_chars {
            return Err(InvalidPassword::new(format!("Password should be at most {} characters", self.max_chars)));
        }
        let password = password.to_lowercase();
        let email = email.to_lowercase();
        let local = email.rsplit_once('@').map_or(email.as_str(), |(local, _)| local);
        if !email.is_empty() && (password.contains(&email) || password == local) {
            return Err(InvalidPassword::new("Password should not contain e-mail"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_defaults() {
        let policy = PasswordPolicy::default();
        let email = "King.Arthur@camelot.bt";
        assert!(policy.check("guinevere", email).is_ok());
        assert!(policy.check("12345678", email).is_ok());
        assert!(policy.check("ééééééé€", email).is_ok(), "8 code points, more bytes");
        assert_eq!(policy.check("1234567", email).unwrap_err().reason, "Password should be at least 8 characters");
        assert!(policy.check(&"x".repeat(1024), email).is_ok());
        assert_eq!(
            policy.check(&"x".repeat(1025), email).unwrap_err().reason,
            "Password should be at most 1024 characters"
        );
        assert!(policy.check("king.arthur@camelot.bt!", email).is_err());
        assert!(policy.check("KING.ARTHUR", email).is_err());
        assert!(policy.check("king.arthur2", email).is_ok());
    }
}
