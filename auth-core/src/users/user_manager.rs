//! [`UserManager`]: fastapi-users' `BaseUserManager`, the logic of every user flow (create,
//! authenticate, verify, reset, update, delete), calling the app's [`UserHooks`] around them.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use uuid::Uuid;

use super::{
    body::app_fields,
    email::{Email, login_key},
    error::FlowError,
    hooks::{RequestContext, UserHooks},
    mail::{MailKind, Mailer},
    model::{StoredUser, User, UserCreate, UserUpdate},
    sessions::SessionStore,
    store::{ReadUser, UserStore},
    throttle::{ClientIpSource, LoginThrottle},
    tokens::{DEFAULT_TOKEN_LIFETIME, FlowToken, RESET_AUDIENCE, VERIFY_AUDIENCE, fingerprint_matches},
};
use crate::{
    error::AuthError,
    password::Passwords,
    strategies::{RevokeSubject, jwt::MIN_HMAC_SECRET_LEN},
};

/// How many times an update or a verification is applied to a freshly read row when other
/// writes to the same user keep coming first, before it is answered 409.
const UPDATE_ATTEMPTS: usize = 3;

/// The user flows of one app; put it in the app state (it is cheap to clone) and mount the
/// routers of [`users`](super) on it.
///
/// ```no_run
/// use std::time::Duration;
/// use auth_core::users::{Mailer, NoFields, UserHooks, UserManager, UserStore};
///
/// struct Hooks;
/// impl UserHooks for Hooks {
///     type Fields = NoFields;
/// }
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let store = UserStore::builder("sqlite://users.db").build().await?;
/// store.migrate().await?;
/// let mailer = Mailer::builder("http://localhost:3000", "App <noreply@example.com>").log().build()?;
/// let users = UserManager::builder(store, Hooks)
///     .verify_token_secret(b"a verify secret of at least 32 bytes!!")
///     .reset_password_token_secret(b"a reset secret of at least 32 bytes!!!")
///     .mailer(mailer)
///     .build()?;
/// # Ok(())
/// # }
/// ```
pub struct UserManager<H: UserHooks> {
    inner: Arc<Inner<H>>,
}

impl<H: UserHooks> Clone for UserManager<H> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<H: UserHooks> std::fmt::Debug for UserManager<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserManager")
            .field("store", &self.inner.store)
            .field("requires_verification", &self.inner.requires_verification)
            .field("throttle", &self.inner.throttle)
            .field("mailer", &self.inner.mailer)
            .finish_non_exhaustive()
    }
}

struct Inner<H> {
    store: UserStore,
    hooks: H,
    passwords: Passwords,
    verify: FlowToken,
    reset: FlowToken,
    mailer: Mailer,
    requires_verification: bool,
    throttle: Option<LoginThrottle>,
    client_ip: ClientIpSource,
    session_stores: Vec<SessionStore>,
    require_current_password: bool,
}

/// Why a [`UserManager`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserManagerError {
    /// A token secret is missing.
    #[error("the {0} token secret is required")]
    MissingSecret(&'static str),
    /// A token secret is shorter than 32 bytes.
    #[error("the {0} token secret must be at least {MIN_HMAC_SECRET_LEN} bytes")]
    ShortSecret(&'static str),
    /// The verify and reset secrets are the same.
    #[error("the verify and reset-password token secrets must differ")]
    SameSecrets,
    /// A token lifetime under one second.
    #[error("token lifetimes must be at least one second")]
    Lifetime,
    /// No mailer was given; use `Mailer::disabled()` to send no mail.
    #[error("a mailer is required (Mailer::builder(…).smtp(…) or .log(), or Mailer::disabled() to send none)")]
    MissingMailer,
}

/// Configures a [`UserManager`]; from [`UserManager::builder`].
#[must_use = "call `.build()` to get the manager"]
pub struct UserManagerBuilder<H> {
    store: UserStore,
    hooks: H,
    passwords: Option<Passwords>,
    verify_secret: Option<Vec<u8>>,
    reset_secret: Option<Vec<u8>>,
    verify_lifetime: Duration,
    reset_lifetime: Duration,
    mailer: Option<Mailer>,
    requires_verification: bool,
    throttle: Option<LoginThrottle>,
    client_ip: ClientIpSource,
    session_stores: Vec<SessionStore>,
    require_current_password: bool,
}

impl<H: UserHooks> UserManagerBuilder<H> {
    /// A token store whose tokens of a user are deleted when that user's password is reset or
    /// changed (a [`DatabaseStrategy`](crate::strategies::DatabaseStrategy), a
    /// [`RedisStrategy`](crate::strategies::RedisStrategy)); call it once per store.
    ///
    /// Tokens are refused after a password change whether or not their store is registered
    /// (the users' credential compares their issue time with the change, see
    /// [`UserToken`](super::UserToken)); registering also deletes them, so that routes that
    /// check the backend alone (`Authenticated<Backend>`, not the user row) refuse them too.
    pub fn revoke_sessions_in(mut self, store: impl RevokeSubject) -> Self {
        self.session_stores.push(Arc::new(store));
        self
    }

    /// Whether `PATCH /users/me` must carry the user's `current_password` to change the email
    /// or the password; default `false`, as fastapi-users. When set, a missing or wrong one is
    /// 400 `UPDATE_USER_INVALID_CURRENT_PASSWORD`, so that a stolen session alone cannot take
    /// the account over. Superusers' `PATCH /users/{id}` is not concerned.
    pub fn require_current_password(mut self, required: bool) -> Self {
        self.require_current_password = required;
        self
    }

    /// The secret verify tokens are signed with (HS256, at least 32 bytes; its own, not the
    /// reset tokens' nor the access tokens').
    pub fn verify_token_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.verify_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// The secret reset-password tokens are signed with (HS256, at least 32 bytes; its own).
    pub fn reset_password_token_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.reset_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// How long verify tokens live; default one hour.
    pub fn verify_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.verify_lifetime = lifetime;
        self
    }

    /// How long reset-password tokens live; default one hour.
    pub fn reset_password_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.reset_lifetime = lifetime;
        self
    }

    /// How the verify and reset mails are sent (required).
    pub fn mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The password hasher; default `Passwords::builder().build()`. Share one with the rest of the app.
    pub fn passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = Some(passwords);
        self
    }

    /// Whether users must be verified to log in and to use the users routes (fastapi-users'
    /// `requires_verification`); default `false`.
    pub fn requires_verification(mut self, required: bool) -> Self {
        self.requires_verification = required;
        self
    }

    /// Login throttling; default `LoginThrottle::builder().build()` (in memory), with its
    /// default policies.
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Turns login throttling off (for benchmarks and apps that throttle in front of the app).
    pub fn no_login_throttle(mut self) -> Self {
        self.throttle = None;
        self
    }

    /// Where the client's IP comes from, for throttling; default the TCP peer.
    pub fn client_ip(mut self, source: ClientIpSource) -> Self {
        self.client_ip = source;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<UserManager<H>, UserManagerError> {
        let verify_secret = self.verify_secret.ok_or(UserManagerError::MissingSecret("verify"))?;
        let reset_secret = self.reset_secret.ok_or(UserManagerError::MissingSecret("reset-password"))?;
        for (secret, name) in [(&verify_secret, "verify"), (&reset_secret, "reset-password")] {
            if secret.len() < MIN_HMAC_SECRET_LEN {
                return Err(UserManagerError::ShortSecret(name));
            }
        }
        if verify_secret == reset_secret {
            return Err(UserManagerError::SameSecrets);
        }
        if self.verify_lifetime < Duration::from_secs(1) || self.reset_lifetime < Duration::from_secs(1) {
            return Err(UserManagerError::Lifetime);
        }
        let verify = FlowToken::new(&verify_secret, VERIFY_AUDIENCE, "verify+jwt", self.verify_lifetime)
            .map_err(|_| UserManagerError::ShortSecret("verify"))?;
        let reset = FlowToken::new(&reset_secret, RESET_AUDIENCE, "reset+jwt", self.reset_lifetime)
            .map_err(|_| UserManagerError::ShortSecret("reset-password"))?;
        Ok(UserManager {
            inner: Arc::new(Inner {
                store: self.store,
                hooks: self.hooks,
                passwords: self.passwords.unwrap_or_else(|| Passwords::builder().build()),
                verify,
                reset,
                mailer: self.mailer.ok_or(UserManagerError::MissingMailer)?,
                requires_verification: self.requires_verification,
                throttle: self.throttle,
                client_ip: self.client_ip,
                session_stores: self.session_stores,
                require_current_password: self.require_current_password,
            }),
        })
    }
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome<F> {
    /// Right password, active user (and verified, where required).
    LoggedIn(User<F>),
    /// Wrong email or password, or an inactive user: one answer for all three.
    BadCredentials,
    /// Right password, but the user must verify their address first.
    NotVerified,
}

impl<H: UserHooks> UserManager<H> {
    /// Starts configuring the flows over `store`, with the app's `hooks`.
    pub fn builder(store: UserStore, hooks: H) -> UserManagerBuilder<H> {
        UserManagerBuilder {
            store,
            hooks,
            passwords: None,
            verify_secret: None,
            reset_secret: None,
            verify_lifetime: DEFAULT_TOKEN_LIFETIME,
            reset_lifetime: DEFAULT_TOKEN_LIFETIME,
            mailer: None,
            requires_verification: false,
            throttle: Some(LoginThrottle::builder().build()),
            client_ip: ClientIpSource::Peer,
            session_stores: Vec::new(),
            require_current_password: false,
        }
    }

    /// The app's hooks.
    pub fn hooks(&self) -> &H {
        &self.inner.hooks
    }

    /// The store.
    pub fn store(&self) -> &UserStore {
        &self.inner.store
    }

    /// The stores whose tokens a password change deletes.
    pub(crate) fn session_stores(&self) -> &[SessionStore] {
        &self.inner.session_stores
    }

    /// The password hasher.
    pub(crate) fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// Whether changing the email or password through `PATCH /users/me` requires the current
    /// password.
    pub fn requires_current_password(&self) -> bool {
        self.inner.require_current_password
    }

    /// Whether users must be verified to log in and use the users routes.
    pub fn requires_verification(&self) -> bool {
        self.inner.requires_verification
    }

    /// The client's IP for `request`, as configured.
    pub fn client_ip(&self, request: &RequestContext) -> Option<std::net::IpAddr> {
        self.inner.client_ip.client_ip(request)
    }

    /// The user with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<User<H::Fields>>, FlowError> {
        Ok(self.inner.store.by_id(id).await?.map(|stored: StoredUser<H::Fields>| stored.user))
    }

    /// The user with this address (compared by [`Email::key`]).
    pub async fn get_by_email(&self, email: &Email) -> Result<Option<User<H::Fields>>, FlowError> {
        Ok(self.inner.store.by_key(email.key()).await?.map(|stored: StoredUser<H::Fields>| stored.user))
    }

    /// Creates a user: checks the password, refuses a taken address, hashes, stores, then runs
    /// `after_register`. With `safe`, the flags of `create` are ignored (a new user is active,
    /// not a superuser, not verified), as through `POST /register`.
    pub async fn create(
        &self,
        create: UserCreate<H::Fields>,
        safe: bool,
        request: &RequestContext,
    ) -> Result<User<H::Fields>, FlowError> {
        let inner = &*self.inner;
        inner
            .hooks
            .validate_password(&create.password, create.email.as_str())
            .await
            .map_err(FlowError::InvalidPassword)?;
        if inner.store.by_key::<H::Fields>(create.email.key()).await?.is_some() {
            return Err(FlowError::UserAlreadyExists);
        }
        let hashed_password = inner.passwords.hash(&create.password).await?;
        let flag = |value: Option<bool>, default: bool| if safe { default } else { value.unwrap_or(default) };
        let stored = StoredUser {
            user: User {
                id: random_id()?,
                email: create.email.as_str().to_owned(),
                is_active: flag(create.is_active, true),
                is_superuser: flag(create.is_superuser, false),
                is_verified: flag(create.is_verified, false),
                fields: create.fields,
            },
            email_key: create.email.key().to_owned(),
            hashed_password,
            password_changed_at: 0,
        };
        // A duplicate: another registration of the same address won the race to the unique index.
        inner.store.insert(&stored).await?;
        tracing::info!(user = %stored.user.id, "user registered");
        inner.hooks.after_register(&stored.user, request).await;
        Ok(stored.user)
    }

    /// Checks a login: throttling first (see [`LoginThrottle`]), then the password, at the same
    /// cost whether or not the account exists; upgrades an outdated hash; counts the outcome.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        request: &RequestContext,
    ) -> Result<LoginOutcome<H::Fields>, FlowError> {
        let inner = &*self.inner;
        let account = login_key(username);
        let attempt = inner
            .throttle
            .as_ref()
            .map(|throttle| (throttle, throttle.keys(&account, inner.client_ip.resolve(request))));
        // The attempt takes its place on the counters before its password is verified, in one
        // atomic step: a burst cannot all pass the check before any failure is counted.
        let reservation = match &attempt {
            Some((throttle, keys)) => match throttle.reserve(keys).await? {
                Ok(reservation) => Some(reservation),
                Err(wait) => {
                    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    return Err(FlowError::Throttled { retry_after });
                }
            },
            None => None,
        };
        let user = match self.authenticate(&account, password).await {
            Ok(user) => user,
            Err(error) => {
                // Nothing was verified (the store or the hashing threads failed): no failure.
                if let (Some((throttle, keys)), Some(reservation)) = (&attempt, &reservation) {
                    throttle.refund(keys, reservation).await?;
                }
                return Err(error);
            }
        };
        let outcome = match user {
            Some(user) if !user.is_active => LoginOutcome::BadCredentials,
            Some(user) if inner.requires_verification && !user.is_verified => LoginOutcome::NotVerified,
            Some(user) => LoginOutcome::LoggedIn(user),
            None => LoginOutcome::BadCredentials,
        };
        if let (Some((throttle, keys)), Some(reservation)) = (&attempt, &reservation) {
            match &outcome {
                LoginOutcome::LoggedIn(_) => throttle.succeeded(keys, reservation).await?,
                // An inactive user's right password counts as a failure: the answer is the same
                // as for a wrong one, and so must the throttling be. It was counted already.
                LoginOutcome::BadCredentials => {}
                // The answer already says the password was right; nothing to count.
                LoginOutcome::NotVerified => throttle.refund(keys, reservation).await?,
            }
        }
        Ok(outcome)
    }

    /// The user with lookup key `account` if `password` is theirs (fastapi-users'
    /// `authenticate`, without throttling: use [`UserManager::login`]). Unknown users cost a
    /// dummy verification.
    async fn authenticate(&self, account: &str, password: &str) -> Result<Option<User<H::Fields>>, FlowError> {
        let inner = &*self.inner;
        let stored: Option<StoredUser<H::Fields>> = inner.store.by_key(account).await?;
        let verified =
            inner.passwords.verify_and_upgrade(password, stored.as_ref().map(|s| s.hashed_password.as_str())).await?;
        let Some(stored) = stored.filter(|_| verified.valid) else { return Ok(None) };
        if let Some(rehash) = &verified.rehash {
            // A failed upgrade must not fail a correct login: the old hash still works.
            if let Err(error) = inner.store.swap_password(stored.user.id, &stored.hashed_password, rehash).await {
                tracing::warn!(user = %stored.user.id, %error, "could not store the upgraded password hash");
            }
        }
        Ok(Some(stored.user))
    }

    /// Starts verification: makes a verify token, mails the link and runs
    /// `after_request_verify`, both off the request path. Refuses inactive and verified users.
    pub async fn request_verify(&self, user: User<H::Fields>, request: &RequestContext) -> Result<(), FlowError> {
        if !user.is_active {
            return Err(FlowError::UserInactive);
        }
        if user.is_verified {
            return Err(FlowError::UserAlreadyVerified);
        }
        let token = self.inner.verify.issue_verify(user.id, &user.email)?;
        self.deliver(MailKind::Verify, Some(user), token, request);
        Ok(())
    }

    /// Completes verification with a token from `request_verify`.
    pub async fn verify(&self, token: &str, request: &RequestContext) -> Result<User<H::Fields>, FlowError> {
        let inner = &*self.inner;
        let (id, email) = inner.verify.read_verify(token).ok_or(FlowError::InvalidVerifyToken)?;
        let email = Email::parse(&email).map_err(|_| FlowError::InvalidVerifyToken)?;
        for _ in 0..UPDATE_ATTEMPTS {
            let read: ReadUser<H::Fields> =
                inner.store.by_key_for_update(email.key()).await?.ok_or(FlowError::InvalidVerifyToken)?;
            if read.stored.user.id != id {
                return Err(FlowError::InvalidVerifyToken);
            }
            if read.stored.user.is_verified {
                return Err(FlowError::UserAlreadyVerified);
            }
            let mut stored = read.stored.clone();
            stored.user.is_verified = true;
            // Conditional on `is_verified` still being false: of many uses of one token at
            // once, one verifies and the others read the row again and are told it is done.
            if inner.store.update_if_unchanged(&read, &stored).await? {
                tracing::info!(user = %stored.user.id, "user verified");
                inner.hooks.after_verify(&stored.user, request).await;
                return Ok(stored.user);
            }
        }
        Err(FlowError::Conflict)
    }

    /// Starts a password reset: makes a reset token bound to the current password, mails the
    /// link and runs `after_forgot_password`, both off the request path. Refuses inactive users.
    pub async fn forgot_password(&self, user: User<H::Fields>, request: &RequestContext) -> Result<(), FlowError> {
        if !user.is_active {
            return Err(FlowError::UserInactive);
        }
        let stored: StoredUser<H::Fields> = self.inner.store.by_id(user.id).await?.ok_or(FlowError::UserNotExists)?;
        let token = self.inner.reset.issue_reset(user.id, &stored.hashed_password)?;
        self.deliver(MailKind::Reset, Some(stored.user), token, request);
        Ok(())
    }

    /// `POST /forgot-password` (`Reset`) or `POST /request-verify-token` (`Verify`) for
    /// `email`: one lookup, one token signed, one task spawned whether or not the address has an
    /// account the mail is for; the task mails and runs the hook only for a real user.
    pub(crate) async fn request_by_email(
        &self,
        kind: MailKind,
        email: &Email,
        request: &RequestContext,
    ) -> Result<(), FlowError> {
        let stored: Option<StoredUser<H::Fields>> = self.inner.store.by_key(email.key()).await?;
        let stored =
            stored.filter(|stored| stored.user.is_active && (kind == MailKind::Reset || !stored.user.is_verified));
        let id = stored.as_ref().map_or(Uuid::nil(), |stored| stored.user.id);
        let token = match kind {
            // A verify token is bound to the address, a reset token to the password hash.
            MailKind::Verify => {
                self.inner.verify.issue_verify(id, stored.as_ref().map_or(NOBODY, |stored| stored.user.email.as_str()))
            }
            MailKind::Reset => self
                .inner
                .reset
                .issue_reset(id, stored.as_ref().map_or(NOBODY, |stored| stored.hashed_password.as_str())),
        }?;
        self.deliver(kind, stored.map(|stored| stored.user), token, request);
        Ok(())
    }

    /// Sets a new password with a token from `forgot_password`. The token dies with the
    /// password it was made for: using it changes that password, so it works once. Every
    /// session of the user ends: see [`UserManagerBuilder::revoke_sessions_in`]; the answer
    /// comes once the second of the change is over.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        request: &RequestContext,
    ) -> Result<User<H::Fields>, FlowError> {
        let inner = &*self.inner;
        let (id, fingerprint) = inner.reset.read_reset(token).ok_or(FlowError::InvalidResetPasswordToken)?;
        let stored: StoredUser<H::Fields> = inner.store.by_id(id).await?.ok_or(FlowError::UserNotExists)?;
        if !fingerprint_matches(&fingerprint, &stored.hashed_password) {
            return Err(FlowError::InvalidResetPasswordToken);
        }
        if !stored.user.is_active {
            return Err(FlowError::UserInactive);
        }
        inner.hooks.validate_password(password, &stored.user.email).await.map_err(FlowError::InvalidPassword)?;
        let hashed = inner.passwords.hash(password).await?;
        // Compare-and-swap on the old hash: of two uses of one token at once, one wins.
        if !inner.store.swap_password(id, &stored.hashed_password, &hashed).await? {
            return Err(FlowError::InvalidResetPasswordToken);
        }
        tracing::info!(user = %id, "password reset");
        self.end_sessions(id).await?;
        inner.hooks.after_reset_password(&stored.user, request).await;
        Ok(stored.user)
    }

    /// Applies `update` to `user` (fastapi-users' `update`): the password is checked and hashed,
    /// a new address must be free and resets `is_verified`, the app's fields are merged. With
    /// `safe` (a user changing themselves), the flags are ignored. Runs `after_update`. A new
    /// password ends every session of the user, as a reset does.
    pub async fn update(
        &self,
        update: UserUpdate,
        user: &User<H::Fields>,
        safe: bool,
        request: &RequestContext,
    ) -> Result<User<H::Fields>, FlowError> {
        let inner = &*self.inner;
        // The slow part first, before the row is read: the window in which another request
        // can change the row is then one lookup wide, not one hashing wide.
        let hashed_password = match &update.password {
            Some(password) => {
                let email = update.email.as_ref().map_or(user.email.as_str(), Email::as_str);
                inner.hooks.validate_password(password, email).await.map_err(FlowError::InvalidPassword)?;
                Some(inner.passwords.hash(password).await?)
            }
            None => None,
        };
        // Read, apply, write only what changed if the row is still as read; if another write
        // came first, read again and re-apply, a bounded number of times.
        for _ in 0..UPDATE_ATTEMPTS {
            let read: ReadUser<H::Fields> =
                inner.store.by_id_for_update(user.id).await?.ok_or(FlowError::UserNotExists)?;
            let (stored, changed) = self.apply(&update, read.stored.clone(), hashed_password.as_deref(), safe).await?;
            if inner.store.update_if_unchanged(&read, &stored).await? {
                if changed.iter().any(|name| name == "password") {
                    self.end_sessions(stored.user.id).await?;
                }
                inner.hooks.after_update(&stored.user, &changed, request).await;
                return Ok(stored.user);
            }
        }
        tracing::warn!(user = %user.id, "update given up: the user was changed by other requests each time");
        Err(FlowError::Conflict)
    }

    /// `update` applied to one reading of the row: the new row and the names of what changed.
    async fn apply(
        &self,
        update: &UserUpdate,
        mut stored: StoredUser<H::Fields>,
        hashed_password: Option<&str>,
        safe: bool,
    ) -> Result<(StoredUser<H::Fields>, Vec<String>), FlowError> {
        let inner = &*self.inner;
        let mut changed = Vec::new();
        // fastapi-users applies the fields in this order: password, email, then the flags.
        if let Some(hashed_password) = hashed_password {
            stored.hashed_password = hashed_password.to_owned();
            changed.push("password".to_owned());
        }
        if let Some(email) = &update.email
            && email.as_str() != stored.user.email
        {
            if email.key() != stored.email_key {
                if inner.store.by_key::<H::Fields>(email.key()).await?.is_some() {
                    return Err(FlowError::UserAlreadyExists);
                }
                stored.user.is_verified = false;
                stored.email_key = email.key().to_owned();
            }
            stored.user.email = email.as_str().to_owned();
            changed.push("email".to_owned());
        }
        if !safe {
            for (name, value, flag) in [
                ("is_active", update.is_active, &mut stored.user.is_active),
                ("is_superuser", update.is_superuser, &mut stored.user.is_superuser),
                ("is_verified", update.is_verified, &mut stored.user.is_verified),
            ] {
                if let Some(value) = value {
                    *flag = value;
                    changed.push(name.to_owned());
                }
            }
        }
        if !update.fields.is_empty() {
            let Ok(Value::Object(mut current)) = serde_json::to_value(&stored.user.fields) else {
                tracing::error!("the app's user fields must serialise to a JSON object (a struct)");
                return Err(AuthError::Internal.into());
            };
            for (key, value) in &update.fields {
                changed.push(key.clone());
                current.insert(key.clone(), value.clone());
            }
            stored.user.fields = app_fields(current).map_err(FlowError::InvalidFields)?;
        }
        Ok((stored, changed))
    }

    /// Deletes a user, between `before_delete` and `after_delete`. Their tokens are refused
    /// from then on: every request looks its user up.
    pub async fn delete(&self, user: &User<H::Fields>, request: &RequestContext) -> Result<(), FlowError> {
        let inner = &*self.inner;
        inner.hooks.before_delete(user, request).await;
        if !inner.store.delete(user.id).await? {
            return Err(FlowError::UserNotExists);
        }
        tracing::info!(user = %user.id, "user deleted");
        inner.hooks.after_delete(user, request).await;
        Ok(())
    }

    /// Creates a superuser (active, verified), for the first one: see the module docs.
    pub async fn create_superuser(&self, email: Email, password: String) -> Result<User<H::Fields>, FlowError>
    where
        H::Fields: Default,
    {
        let create = UserCreate {
            email,
            password,
            is_active: Some(true),
            is_superuser: Some(true),
            is_verified: Some(true),
            fields: H::Fields::default(),
        };
        self.create(create, false, &RequestContext::default()).await
    }

    /// Mails the link and runs the app's hook on a task of their own, so the request does not
    /// wait for either. For nobody (`None`) the task is spawned all the same, and does nothing:
    /// the request path costs the same either way.
    fn deliver(&self, kind: MailKind, user: Option<User<H::Fields>>, token: String, request: &RequestContext) {
        let manager = self.clone();
        let request = request.clone();
        tokio::spawn(async move {
            let Some(user) = user else { return };
            let inner = &*manager.inner;
            match kind {
                MailKind::Verify => {
                    inner.mailer.send(kind, &user.email, &token, inner.verify.lifetime());
                    inner.hooks.after_request_verify(&user, &token, &request).await;
                }
                MailKind::Reset => {
                    inner.mailer.send(kind, &user.email, &token, inner.reset.lifetime());
                    inner.hooks.after_forgot_password(&user, &token, &request).await;
                }
            }
        });
    }
}

/// What the tokens made for nobody are bound to.
const NOBODY: &str = "nobody@example.com";

/// A random (v4) UUID from the operating system's generator.
fn random_id() -> Result<Uuid, AuthError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| {
        tracing::error!(%error, "random number generator failed");
        AuthError::Internal
    })?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}
