//! The user: fastapi-users' `BaseUser` fields plus the app's own ([`UserFields`]), and the
//! bodies that create and update one.

use std::fmt;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::email::Email;

/// The fields an app adds to its users, such as a `full_name`: any struct that serialises to a
/// JSON object and back. They are stored as JSON in the user's `fields` column, answered
/// alongside `id` and `email`, read from the register and update bodies, and described in the
/// OpenAPI schemas (`UserRead`, `UserCreate`, `UserUpdate`) from its `utoipa::ToSchema`, which
/// the [routers](super::routes) ask for.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
/// struct Profile {
///     /// Shown in greetings.
///     full_name: Option<String>,
/// }
/// // `Profile` is now a `UserFields`: declare it as `type Fields = Profile;` in your hooks.
/// ```
///
/// Field names must not be one of the base fields (`id`, `email`, `password`,
/// `hashed_password`, `is_active`, `is_superuser`, `is_verified`): those are read first and
/// never reach the app's type. [`NoFields`] is the type for apps that add nothing.
pub trait UserFields: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static> UserFields for T {}

/// No fields of the app's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoFields {}

/// The names the base model uses; an app field by one of these names is never read.
pub(crate) const BASE_FIELDS: [&str; 7] =
    ["id", "email", "password", "hashed_password", "is_active", "is_superuser", "is_verified"];

/// A user as answered (fastapi-users' `UserRead`): never with the password hash.
///
/// Serialised flat: `{"id", "email", "is_active", "is_superuser", "is_verified", …fields}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User<F = NoFields> {
    /// The user's id, a random (v4) UUID.
    pub id: Uuid,
    /// The normalised address ([`Email`]); unique case-insensitively.
    pub email: String,
    /// Inactive users cannot log in, and their tokens are refused.
    pub is_active: bool,
    /// Superusers may read, change and delete other users.
    pub is_superuser: bool,
    /// Whether the address was confirmed through the verify flow.
    pub is_verified: bool,
    /// The app's own fields.
    #[serde(flatten)]
    pub fields: F,
}

/// A user row: the user and its password hash. The hash never leaves the crate's flows.
#[derive(Clone)]
pub(crate) struct StoredUser<F> {
    pub(crate) user: User<F>,
    pub(crate) email_key: String,
    pub(crate) hashed_password: String,
    /// When the password last changed (seconds since the Unix epoch; 0: never). Tokens issued
    /// then or before are refused.
    pub(crate) password_changed_at: i64,
}

impl<F: fmt::Debug> fmt::Debug for StoredUser<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredUser").field("user", &self.user).field("hashed_password", &"<redacted>").finish()
    }
}

/// What a new user is made of (fastapi-users' `UserCreate`).
///
/// Through `POST /register` the flags are ignored (fastapi-users' `safe=True`): a new user is
/// active, not a superuser, not verified. [`UserManager::create`](super::UserManager::create)
/// with `safe: false` honours them, for the first superuser and admin tools.
#[derive(Clone)]
pub struct UserCreate<F = NoFields> {
    /// The address.
    pub email: Email,
    /// The password, as typed; checked by the password policy, then hashed.
    pub password: String,
    /// Default `true`.
    pub is_active: Option<bool>,
    /// Default `false`.
    pub is_superuser: Option<bool>,
    /// Default `false`.
    pub is_verified: Option<bool>,
    /// The app's own fields.
    pub fields: F,
}

impl<F: fmt::Debug> fmt::Debug for UserCreate<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCreate")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("fields", &self.fields)
            .finish()
    }
}

/// A change to a user (fastapi-users' `UserUpdate`): each field given is applied, the others are
/// left alone.
///
/// Through `PATCH /users/me` the flags are ignored (`safe=True`); a superuser's
/// `PATCH /users/{id}` applies them. `fields` is a JSON object merged key by key into the app's
/// fields (a key set to `null` sets that field to `null`); the result must still deserialise
/// into the app's type.
#[derive(Clone, Default)]
pub struct UserUpdate {
    /// A new password.
    pub password: Option<String>,
    /// A new address; changing it resets `is_verified`.
    pub email: Option<Email>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Grant or revoke superuser rights.
    pub is_superuser: Option<bool>,
    /// Mark verified or not.
    pub is_verified: Option<bool>,
    /// Changes to the app's own fields.
    pub fields: Map<String, Value>,
}

impl fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserUpdate")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email)
            .field("is_active", &self.is_active)
            .field("is_superuser", &self.is_superuser)
            .field("is_verified", &self.is_verified)
            .field("fields", &self.fields)
            .finish()
    }
}
