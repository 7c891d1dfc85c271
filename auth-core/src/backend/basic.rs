//! HTTP Basic (RFC 7617) as a built-in credential, verified by the app's [`Authenticator`].

use std::marker::PhantomData;

use axum::{
    extract::{ConnectInfo, FromRef},
    http::request::Parts,
};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::{Authenticator, LoginGrant, Principal};
use crate::{
    error::AuthError,
    logging,
    security::{Authenticate, Credential, Lifetime, SchemeKind},
};

/// The scheme's name in OpenAPI, its realm, and the `backend` of its principals.
const NAME: &str = "HTTPBasic";

/// The longest `user-id:password` accepted once decoded: far above any real login, far below
/// what would make password hashing a denial of service.
const MAX_DECODED_LEN: usize = 4 * 1024;

/// HTTP Basic authentication (RFC 7617), verified by the app's [`Authenticator`] `A` (found in
/// the state by `FromRef`): the same check, on the same password pool and with the same
/// timing, as `POST /login` (an unknown user costs what a wrong password costs), and with the
/// users' `UserManager` as `A`, the same login throttle (429 with `Retry-After`).
///
/// - Its principal is a [`Principal`] whose `subject` is the login's subject, whose `scopes`
///   are every scope `A` allows the user ([`LoginGrant::allowed_scopes`]), so
///   `#[secured(scopes = …)]` works as for any credential, and whose `backend` is `"HTTPBasic"`.
/// - No credential: 401 `Not authenticated`; a wrong user or password, malformed base64, no
///   colon, a user-id or password that is not UTF-8, or credentials over 4 KiB decoded (8 KiB as
///   sent): 401 `Could not validate credentials`. Each with `WWW-Authenticate: Basic
///   realm="HTTPBasic", charset="UTF-8"`. Never a 500.
/// - A wrong user or password is logged at `info` as a failed login (`via = "HTTPBasic"`, the
///   user-id, the client's address), never the password.
/// - Documented in OpenAPI as `{"type": "http", "scheme": "basic"}`, named `HTTPBasic`.
///
/// The password travels with every request: serve it over TLS only. Each request costs a
/// password verification (argon2id); prefer tokens or API keys for busy clients.
///
/// ```ignore
/// #[secured(scopes = ["reports"])]
/// async fn reports(Authenticated(caller): Authenticated<(JwtBackend, HttpBasic<PasswordTable>)>) -> String {
///     format!("reports for {} (through {})", caller.subject, caller.backend)
/// }
/// ```
pub struct HttpBasic<A>(PhantomData<fn() -> A>);

impl<A: Authenticator> Credential for HttpBasic<A> {
    type Principal = Principal;
    const SCHEME_NAME: &'static str = NAME;

    fn scheme() -> SchemeKind {
        SchemeKind::HttpBasic
    }

    fn granted_scopes(principal: &Principal) -> &[String] {
        &principal.scopes
    }
}

/// `user-id:password` from the base64 of `Authorization: Basic`, split at the first colon
/// (RFC 7617 §2: a user-id cannot contain one), both UTF-8 (the challenge's `charset`).
fn decode(credentials: &str) -> Result<(String, zeroize::Zeroizing<String>), AuthError> {
    if credentials.len() > MAX_DECODED_LEN.div_ceil(3) * 4 {
        return Err(AuthError::invalid_credentials());
    }
    let bytes = zeroize::Zeroizing::new(STANDARD.decode(credentials).map_err(|_| AuthError::invalid_credentials())?);
    let text = std::str::from_utf8(&bytes).map_err(|_| AuthError::invalid_credentials())?;
    let (user, password) = text.split_once(':').ok_or_else(AuthError::invalid_credentials)?;
    Ok((user.to_owned(), zeroize::Zeroizing::new(password.to_owned())))
}

impl<A, S> Authenticate<S> for HttpBasic<A>
where
    A: Authenticator + FromRef<S>,
    S: Send + Sync,
{
    async fn verify(credentials: &str, state: &S) -> Result<(Principal, Lifetime), AuthError> {
        let (user, password) = decode(credentials)?;
        let grant = A::from_ref(state).authenticate(&user, &password).await;
        principal(grant, &user, None)
    }

    async fn verify_request(parts: &Parts, credentials: &str, state: &S) -> Result<(Principal, Lifetime), AuthError> {
        let (user, password) = decode(credentials)?;
        let grant = A::from_ref(state).authenticate_request(&user, &password, parts).await;
        let client = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|ConnectInfo(addr)| *addr);
        principal(grant, &user, client)
    }
}

/// The principal of a login's outcome; a refused login is logged as the login routes log it,
/// and answered as a bad credential (401), not as the login routes' 400.
fn principal(
    grant: Result<LoginGrant, AuthError>,
    user: &str,
    client: Option<std::net::SocketAddr>,
) -> Result<(Principal, Lifetime), AuthError> {
    match grant {
        Ok(LoginGrant { subject, allowed_scopes }) => {
            let principal = Principal { subject, scopes: allowed_scopes, backend: NAME, issued_at: None };
            // The password is checked again on each request; nothing to re-check in between.
            Ok((principal, Lifetime::unknown()))
        }
        Err(AuthError::IncorrectLogin | AuthError::InactiveUser) => {
            logging::login_failed(NAME, user, client);
            Err(AuthError::invalid_credentials())
        }
        Err(error) => Err(error),
    }
}
