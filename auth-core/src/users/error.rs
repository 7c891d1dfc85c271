//! The errors of the user flows ([`FlowError`]: what went wrong, as fastapi-users' exceptions),
//! and the answers they become ([`UsersError`]: fastapi-users' statuses and `ErrorCode`
//! details), written by [`crate::error`] as every error answer is.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{hooks::InvalidPassword, store::WriteError};
use crate::error::{AuthError, Challenge, respond};

/// fastapi-users' `ErrorCode`: the `detail` of its 400 answers, which frontends match on.
/// `LoginTooManyAttempts` is ours (fastapi-users has no throttling), in the same style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The password policy refused the password at registration.
    RegisterInvalidPassword,
    /// A user with this email exists.
    RegisterUserAlreadyExists,
    /// Wrong email or password, or an inactive user.
    LoginBadCredentials,
    /// The user must verify their email before logging in.
    LoginUserNotVerified,
    /// Too many failed logins: wait `Retry-After` seconds (429).
    LoginTooManyAttempts,
    /// A reset token that is malformed, expired, already used, or whose user is gone or inactive.
    ResetPasswordBadToken,
    /// The password policy refused the new password.
    ResetPasswordInvalidPassword,
    /// A verify token that is malformed, expired, or no longer matches its user.
    VerifyUserBadToken,
    /// The user is already verified.
    VerifyUserAlreadyVerified,
    /// Another user has the new email.
    UpdateUserEmailAlreadyExists,
    /// Other requests changed the user each time this update was applied; send it again (409).
    /// Ours: fastapi-users writes the whole row back and loses one of the updates instead.
    UpdateUserConflict,
    /// The password policy refused the new password.
    UpdateUserInvalidPassword,
    /// `current_password` is missing or wrong, where the app requires it to change the email
    /// or the password (ours: fastapi-users has no such option).
    UpdateUserInvalidCurrentPassword,
    /// Social login: the `state` is not a valid state token (malformed, forged, another
    /// audience).
    AccessTokenDecodeError,
    /// Social login: the `state` token has expired (it lives one hour).
    AccessTokenAlreadyExpired,
    /// Social login: the `state` and the CSRF cookie differ, or the cookie is missing.
    OauthInvalidState,
    /// Social login: the provider gave no usable e-mail address.
    OauthNotAvailableEmail,
    /// Social login: a user with the provider's e-mail exists and may not be linked (linking by
    /// e-mail is off, or the provider has not verified the address), or the provider account
    /// is linked to another user.
    OauthUserAlreadyExists,
}

impl ErrorCode {
    /// The code as sent: `REGISTER_USER_ALREADY_EXISTS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RegisterInvalidPassword => "REGISTER_INVALID_PASSWORD",
            ErrorCode::RegisterUserAlreadyExists => "REGISTER_USER_ALREADY_EXISTS",
            ErrorCode::LoginBadCredentials => "LOGIN_BAD_CREDENTIALS",
            ErrorCode::LoginUserNotVerified => "LOGIN_USER_NOT_VERIFIED",
            ErrorCode::LoginTooManyAttempts => "LOGIN_TOO_MANY_ATTEMPTS",
            ErrorCode::ResetPasswordBadToken => "RESET_PASSWORD_BAD_TOKEN",
            ErrorCode::ResetPasswordInvalidPassword => "RESET_PASSWORD_INVALID_PASSWORD",
            ErrorCode::VerifyUserBadToken => "VERIFY_USER_BAD_TOKEN",
            ErrorCode::VerifyUserAlreadyVerified => "VERIFY_USER_ALREADY_VERIFIED",
            ErrorCode::UpdateUserEmailAlreadyExists => "UPDATE_USER_EMAIL_ALREADY_EXISTS",
            ErrorCode::UpdateUserConflict => "UPDATE_USER_CONFLICT",
            ErrorCode::UpdateUserInvalidPassword => "UPDATE_USER_INVALID_PASSWORD",
            ErrorCode::UpdateUserInvalidCurrentPassword => "UPDATE_USER_INVALID_CURRENT_PASSWORD",
            ErrorCode::AccessTokenDecodeError => "ACCESS_TOKEN_DECODE_ERROR",
            ErrorCode::AccessTokenAlreadyExpired => "ACCESS_TOKEN_ALREADY_EXPIRED",
            ErrorCode::OauthInvalidState => "OAUTH_INVALID_STATE",
            ErrorCode::OauthNotAvailableEmail => "OAUTH_NOT_AVAILABLE_EMAIL",
            ErrorCode::OauthUserAlreadyExists => "OAUTH_USER_ALREADY_EXISTS",
        }
    }
}

/// What went wrong in a user flow, as fastapi-users' exceptions; each route turns it into its
/// own [`UsersError`] (a taken email is `REGISTER_USER_ALREADY_EXISTS` on register and
/// `UPDATE_USER_EMAIL_ALREADY_EXISTS` on update).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// Another user has this email.
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    /// No such user.
    #[error("no such user")]
    UserNotExists,
    /// The user is inactive.
    #[error("the user is inactive")]
    UserInactive,
    /// The user is already verified.
    #[error("the user is already verified")]
    UserAlreadyVerified,
    /// A bad verify token.
    #[error("invalid verify token")]
    InvalidVerifyToken,
    /// A bad, expired or used reset token.
    #[error("invalid reset password token")]
    InvalidResetPasswordToken,
    /// The password policy refused the password.
    #[error("invalid password: {0}")]
    InvalidPassword(InvalidPassword),
    /// The app's fields, once changed, do not deserialise into its type.
    #[error("invalid user fields")]
    InvalidFields(Vec<ValidationError>),
    /// A login that must wait.
    #[error("too many failed logins; retry in {retry_after} s")]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Other requests changed the user each time the change was applied (409).
    #[error("the user was changed by other requests at the same time")]
    Conflict,
    /// The store failed: 503 when it is unavailable, 500 otherwise.
    #[error("store failure: {0}")]
    Store(AuthError),
}

impl From<AuthError> for FlowError {
    fn from(error: AuthError) -> Self {
        FlowError::Store(error)
    }
}

/// A write the unique index refused is a taken email.
impl From<WriteError> for FlowError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Duplicate => FlowError::UserAlreadyExists,
            WriteError::Store(error) => FlowError::Store(error),
        }
    }
}

/// One entry of a 422 answer, in FastAPI's (pydantic's) shape:
/// `{"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": null}`.
///
/// `input` is always `null`: the offending input is never echoed (it may be a password).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    /// pydantic's error type: `missing`, `string_type`, `bool_type`, `value_error`, …
    pub kind: &'static str,
    /// Where: `["body", "email"]`.
    pub loc: Vec<Value>,
    /// For people.
    pub msg: String,
    /// pydantic's `ctx`, e.g. `{"reason": …}` for an invalid email.
    pub ctx: Option<Value>,
}

impl ValidationError {
    /// An error at `body.<field>`.
    pub fn field(kind: &'static str, field: &str, msg: impl Into<String>) -> Self {
        Self { kind, loc: vec!["body".into(), field.into()], msg: msg.into(), ctx: None }
    }

    /// An error about the whole body.
    pub fn body(kind: &'static str, msg: impl Into<String>) -> Self {
        Self { kind, loc: vec!["body".into()], msg: msg.into(), ctx: None }
    }
}

impl Serialize for ValidationError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.kind)?;
        map.serialize_entry("loc", &self.loc)?;
        map.serialize_entry("msg", &self.msg)?;
        map.serialize_entry("input", &Value::Null)?;
        if let Some(ctx) = &self.ctx {
            map.serialize_entry("ctx", ctx)?;
        }
        map.end()
    }
}

/// An answer of the users routes: fastapi-users' status and `detail` for each user-flow error,
/// written as every auth-core error answer is ([`crate::error`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    /// 400 `{"detail": "CODE"}`.
    #[error("{}", .0.as_str())]
    Code(ErrorCode),
    /// 400 `{"detail": {"code": "CODE", "reason": "…"}}`: a refused password.
    #[error("{}: {reason}", code.as_str())]
    InvalidPassword {
        /// `REGISTER_INVALID_PASSWORD`, `RESET_PASSWORD_INVALID_PASSWORD` or
        /// `UPDATE_USER_INVALID_PASSWORD`.
        code: ErrorCode,
        /// The policy's reason.
        reason: String,
    },
    /// 401 `{"detail": "Unauthorized"}`: no valid credential, or an inactive user.
    #[error("Unauthorized")]
    Unauthorized {
        /// The `WWW-Authenticate` challenge of the first backend, as RFC 9110 asks of a 401.
        challenge: Option<String>,
    },
    /// 403 `{"detail": "Forbidden"}`: not a superuser, or not verified where that is required.
    #[error("Forbidden")]
    Forbidden,
    /// 404 `{"detail": "Not Found"}`.
    #[error("Not Found")]
    NotFound,
    /// 422 with FastAPI's list of field errors.
    #[error("invalid request body")]
    Validation(Vec<ValidationError>),
    /// 413: a body over the limit.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// 429 `{"detail": "LOGIN_TOO_MANY_ATTEMPTS"}` with `Retry-After`.
    #[error("LOGIN_TOO_MANY_ATTEMPTS")]
    TooManyAttempts {
        /// Seconds to wait, sent as `Retry-After`.
        retry_after: u64,
    },
    /// 409 `{"detail": "UPDATE_USER_CONFLICT"}`: other requests changed the user each time
    /// this one was applied; sending it again applies it to the user as they are now.
    #[error("UPDATE_USER_CONFLICT")]
    Conflict,
    /// Anything the authentication layer answers itself (503 for a store that is down, 500).
    #[error(transparent)]
    Auth(AuthError),
}

impl UsersError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            UsersError::Code(_) | UsersError::InvalidPassword { .. } => StatusCode::BAD_REQUEST,
            UsersError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            UsersError::Forbidden => StatusCode::FORBIDDEN,
            UsersError::NotFound => StatusCode::NOT_FOUND,
            UsersError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UsersError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UsersError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            UsersError::Conflict => StatusCode::CONFLICT,
            UsersError::Auth(error) => error.status(),
        }
    }

    /// A rejection of the authentication layer, as fastapi-users answers it: a missing or bad
    /// credential is a bare 401, a missing scope (a user who is not a superuser) a bare 403, a
    /// store outage stays a 503.
    pub fn from_auth(error: AuthError) -> Self {
        match error {
            AuthError::Unavailable | AuthError::Internal | AuthError::PayloadTooLarge => UsersError::Auth(error),
            AuthError::InsufficientScope { .. } => UsersError::Forbidden,
            AuthError::Challenged { ref error, .. } if matches!(**error, AuthError::InsufficientScope { .. }) => {
                UsersError::Forbidden
            }
            AuthError::TooManyAttempts { retry_after } => UsersError::TooManyAttempts { retry_after },
            AuthError::NotAuthenticated { ref challenge } => {
                UsersError::Unauthorized { challenge: Some(challenge.header_value()) }
            }
            other => UsersError::Unauthorized {
                challenge: other.www_authenticate().or_else(|| Some(Challenge::Bearer.header_value())),
            },
        }
    }

    /// The answer to a flow error on a route where a taken email is `exists` and a refused
    /// password is `password` (`REGISTER_…` on register, `UPDATE_USER_…` on update).
    pub(crate) fn from_flow(error: FlowError, exists: ErrorCode, password: ErrorCode) -> Self {
        match error {
            FlowError::UserAlreadyExists => UsersError::Code(exists),
            FlowError::InvalidPassword(invalid) => {
                UsersError::InvalidPassword { code: password, reason: invalid.reason }
            }
            FlowError::InvalidFields(errors) => UsersError::Validation(errors),
            FlowError::Throttled { retry_after } => UsersError::TooManyAttempts { retry_after },
            FlowError::Store(error) => UsersError::Auth(error),
            FlowError::Conflict => UsersError::Conflict,
            FlowError::UserNotExists => UsersError::NotFound,
            FlowError::UserInactive => UsersError::Unauthorized { challenge: None },
            FlowError::UserAlreadyVerified => UsersError::Code(ErrorCode::VerifyUserAlreadyVerified),
            FlowError::InvalidVerifyToken => UsersError::Code(ErrorCode::VerifyUserBadToken),
            FlowError::InvalidResetPasswordToken => UsersError::Code(ErrorCode::ResetPasswordBadToken),
        }
    }

    /// The answer's `detail`: the code, the code and reason of a refused password, the list of
    /// field errors, or the `Display` text (which for the other variants is fastapi-users').
    pub(crate) fn detail(&self) -> Value {
        match self {
            UsersError::InvalidPassword { code, reason } => json!({ "code": code.as_str(), "reason": reason }),
            UsersError::Validation(errors) => json!(errors),
            other => json!(other.to_string()),
        }
    }
}

impl From<AuthError> for UsersError {
    fn from(error: AuthError) -> Self {
        UsersError::from_auth(error)
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        let (challenge, retry_after) = match &self {
            UsersError::Auth(error) => return error.clone().into_response(),
            UsersError::Unauthorized { challenge } => (challenge.as_deref(), None),
            UsersError::TooManyAttempts { retry_after } => (None, Some(*retry_after)),
            _ => (None, None),
        };
        respond(self.status(), self.detail(), challenge, retry_after)
    }
}
