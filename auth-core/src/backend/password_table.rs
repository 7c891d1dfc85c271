//! [`PasswordTable`]: an in-memory [`Authenticator`].

use std::{collections::HashMap, sync::Arc};

use super::{Authenticator, LoginGrant};
use crate::{error::AuthError, password::Passwords};

/// Who may log in, kept in memory: usernames, their argon2id hashes and the scopes each may be
/// granted. For examples, tests and small fixed user lists; a real user table implements
/// [`Authenticator`] over its own store the same way.
///
/// A login is checked by [`Passwords::verify_and_upgrade`], on the password pool, as a stored
/// user would be: the hash comparison is constant-time, and an unknown username costs one dummy
/// verification, so the answer takes as long whether or not the user exists. Either failure is
/// [`AuthError::IncorrectLogin`]. A hash the verifier would upgrade is not rewritten: the table
/// is fixed once built.
///
/// ```
/// use auth_core::{backend::{Authenticator, PasswordTable}, password::Passwords};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let users = PasswordTable::new(Passwords::builder().build()).with_user("alice", "wonderland", ["me", "items"]).await?;
/// let grant = users.authenticate("alice", "wonderland").await?;
/// assert_eq!(grant.allowed_scopes, ["me", "items"]);
/// assert!(users.authenticate("alice", "wrong").await.is_err());
/// assert!(users.authenticate("nobody", "wonderland").await.is_err());
/// # Ok::<(), auth_core::AuthError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PasswordTable {
    passwords: Passwords,
    users: Arc<HashMap<String, (String, Vec<String>)>>,
}

impl PasswordTable {
    /// An empty table, hashing and verifying with `passwords`.
    pub fn new(passwords: Passwords) -> Self {
        Self { passwords, users: Arc::default() }
    }

    /// Adds (or replaces) `username`, with `password` hashed now and the `scopes` a login may
    /// be granted.
    pub async fn with_user(
        mut self,
        username: impl Into<String>,
        password: &str,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, AuthError> {
        let hash = self.passwords.hash(password).await?;
        let scopes = scopes.into_iter().map(Into::into).collect();
        Arc::make_mut(&mut self.users).insert(username.into(), (hash, scopes));
        Ok(self)
    }
}

impl std::fmt::Debug for PasswordTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Usernames only: never the hashes.
        f.debug_struct("PasswordTable").field("users", &self.users.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Authenticator for PasswordTable {
    async fn authenticate(&self, username: &str, password: &str) -> Result<LoginGrant, AuthError> {
        let user = self.users.get(username);
        let verified = self.passwords.verify_and_upgrade(password, user.map(|(hash, _)| hash.as_str())).await?;
        match user {
            Some((_, scopes)) if verified.valid => {
                Ok(LoginGrant { subject: username.to_owned(), allowed_scopes: scopes.clone() })
            }
            _ => Err(AuthError::IncorrectLogin),
        }
    }
}
