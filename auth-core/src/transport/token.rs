//! Credentials whose proof is a token string, verified the same way wherever the token
//! travels: what lets one token come in the `Authorization` header, in a WebSocket subprotocol
//! entry ([`SubprotocolToken`](super::SubprotocolToken)) or in the query
//! ([`QueryToken`](super::QueryToken)).

use std::future::Future;

use crate::{error::AuthError, security::Credential, security::Lifetime};

/// A [`Credential`] that is a token, verified by the app's state `S` whatever carried it.
///
/// auth-core implements it for [`Claims`](crate::strategies::Claims) (verified by the app's
/// `JwtStrategy`), for every `#[derive(AuthBackend)]` backend (verified by its strategy), and,
/// with the `oidc` feature, for `ProviderToken` and `IntrospectedToken` (verified by the app's
/// `OidcStrategy` or `IntrospectionStrategy`).
/// The token transports take any of them: `SubprotocolToken<JwtBackend>` is the backend's
/// tokens, read from a `bearer.<token>` subprotocol entry, yielding the backend's
/// [`Principal`](crate::Principal).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a token credential that state `{S}` can verify",
    note = "`Claims` (with `impl FromRef<{S}> for JwtStrategy`), `#[derive(AuthBackend)]` backends (with `impl FromRef<{S}> for TheBackend`) and, with the `oidc` feature, `ProviderToken` and `IntrospectedToken` are token credentials"
)]
pub trait TokenCredential<S: Send + Sync>: Credential {
    /// Verifies `token`: [`AuthError::invalid_credentials`] (or a more precise 401) when it is
    /// bad, [`AuthError::Unavailable`] when a store does not answer.
    fn verify_token(token: &str, state: &S) -> impl Future<Output = Result<Self::Principal, AuthError>> + Send;

    /// Verifies `token`, and says how long it stays valid; see
    /// [`Authenticate::authenticate_with_lifetime`](crate::Authenticate::authenticate_with_lifetime).
    /// The default does not know ([`Lifetime::unknown`]).
    fn verify_token_with_lifetime(
        token: &str,
        state: &S,
    ) -> impl Future<Output = Result<(Self::Principal, Lifetime), AuthError>> + Send {
        async move { Ok((Self::verify_token(token, state).await?, Lifetime::unknown())) }
    }
}
