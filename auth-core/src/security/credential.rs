//! Credentials: the one trait every kind of credential implements, and [`Authenticated`], the one
//! extractor that verifies any of them, enforces the chain's scopes, handles `Option<_>` and
//! documents itself.

use std::{borrow::Cow, fmt, future::Future, ops::Deref, sync::Arc};

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::{
    Lifetime, SchemeKind, SecurityScopes,
    chain::{ChainState, enforce},
    requirement::{CredentialRef, Describe, Walk},
};
use crate::{
    error::{AuthError, Challenge},
    transport::read_as,
};

/// A kind of credential: how a request proves who it is, what that proof grants, where it
/// travels, what a client without it is told, and how it is documented.
///
/// Implement it (and [`Authenticate`], which verifies it) for a type of your own, and take
/// [`Authenticated<YourType>`](Authenticated) in a handler or dependency: the extractor reads
/// the credential where [`scheme`](Self::scheme) says it travels, verifies it, checks its
/// scopes against every scope the dependency chain requires at that point, yields `None`
/// instead of rejecting under `Option<_>`, answers a failure with the scheme's own
/// `WWW-Authenticate` challenge, and adds the credential to the handler's OpenAPI `security`.
/// There is no other step to remember.
///
/// auth-core implements it for [`Claims`](crate::strategies::jwt::Claims) (a bearer JWT
/// verified by the app's `JwtStrategy`) and for every `#[derive(AuthBackend)]` backend.
///
/// ```
/// use auth_core::{AuthError, Authenticate, Authenticated, Credential, secured};
/// use auth_core::security::{ApiKeyLocation, Lifetime, SchemeKind};
///
/// /// A service's key in `x-service-key`, granting the scopes listed after a colon.
/// struct ServiceKey;
///
/// /// Who the key belongs to, and what it grants.
/// struct Service {
///     name: String,
///     scopes: Vec<String>,
/// }
///
/// impl Credential for ServiceKey {
///     type Principal = Service;
///     const SCHEME_NAME: &'static str = "ServiceKey";
///
///     // Read from the `x-service-key` header; a request without it is answered 401
///     // `Not authenticated` with `WWW-Authenticate: APIKey`, a bad key 401 `Could not
///     // validate credentials`, also with `APIKey`.
///     fn scheme() -> SchemeKind {
///         SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "x-service-key".into() }
///     }
///
///     fn granted_scopes(service: &Service) -> &[String] {
///         &service.scopes
///     }
/// }
///
/// impl<S: Send + Sync> Authenticate<S> for ServiceKey {
///     async fn verify(key: &str, _state: &S) -> Result<(Service, Lifetime), AuthError> {
///         // A real key is looked up, and compared in constant time.
///         let (name, scopes) = key.split_once(':').ok_or(AuthError::invalid_credentials())?;
///         let service = Service { name: name.to_owned(), scopes: scopes.split(',').map(str::to_owned).collect() };
///         Ok((service, Lifetime::unbounded()))
///     }
/// }
///
/// #[derive(auth_core::Scopes, Clone, Copy)]
/// pub enum Scope {
///     /// Read the reports.
///     #[scope("reports:read")]
///     ReportsRead,
/// }
///
/// // 401 without the key, 401 "Not enough permissions" without `reports:read`, and documented
/// // as `[{"ServiceKey": ["reports:read"]}]`.
/// #[secured(scopes = ["reports:read"])]
/// async fn reports(Authenticated(service): Authenticated<ServiceKey>) -> String {
///     format!("reports for {}", service.name)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a credential",
    label = "not a credential",
    note = "`Authenticated<C>` takes a type implementing `auth_core::Credential` and `auth_core::Authenticate`: `Claims`, a `#[derive(AuthBackend)]` backend, a type of your own, or a tuple of them tried in order"
)]
pub trait Credential: Send + Sync + 'static {
    /// What a verified credential yields, and `Authenticated<Self>` derefs to.
    type Principal: Send + Sync + 'static;

    /// The name of the credential's security scheme in OpenAPI: its identity in the document.
    /// Two credentials used in one `Authenticated<(A, B)>` cannot share it.
    const SCHEME_NAME: &'static str;

    /// What the security scheme is: how the credential is documented, where
    /// [`read`](Self::read) finds it, and which [`challenge`](Self::challenge) a 401 carries. An
    /// app can document it otherwise with `SecurityDoc::scheme::<Self>(…)`, e.g. to fill in a
    /// URL only known at run time.
    fn scheme() -> SchemeKind;

    /// The scopes a verified credential grants.
    fn granted_scopes(principal: &Self::Principal) -> &[String];

    /// What a 401 of this credential announces in `WWW-Authenticate`. By default the scheme's
    /// own: `Bearer` (with the scopes in force, and `resource_metadata` where the app has it)
    /// for OAuth2, HTTP bearer and OpenID Connect; `Basic realm="<SCHEME_NAME>",
    /// charset="UTF-8"` for HTTP Basic; `APIKey` for an API key.
    fn challenge() -> Challenge {
        challenge_of(&Self::scheme(), Self::SCHEME_NAME)
    }

    /// The credential as the request carries it, not yet verified. By default where
    /// [`scheme`](Self::scheme) says it travels: the token of `Authorization: Bearer` (OAuth2,
    /// HTTP bearer, OpenID Connect), the credentials of `Authorization: Basic` (still base64),
    /// or the API key's header, query parameter or cookie, never longer than 8 KiB.
    ///
    /// Fail with [`AuthError::NotAuthenticated`] when the request does not carry it (the next
    /// credential of an `Authenticated<(A, B)>` is then tried).
    fn read(parts: &Parts) -> Result<Cow<'_, str>, AuthError> {
        read_as(&Self::scheme(), parts).ok_or_else(|| AuthError::NotAuthenticated { challenge: Self::challenge() })
    }
}

/// Verifying a [`Credential`], with app state `S`: the one method a credential writes.
///
/// [`verify`](Self::verify) gets the credential as [`Credential::read`] found it (a token, an
/// API key, Basic's base64 `user:password`), wherever it travelled: the same credential taken
/// from a WebSocket subprotocol entry (`SubprotocolToken<C>`) or the query (`QueryToken<C>`)
/// is verified by the same method. It says who the credential names, and how long it stays
/// valid ([`Lifetime`]): until when, and whether a re-check (verifying it again) can find it
/// revoked before then. A connection that outlives its request (a WebSocket, an event stream:
/// see [`CredentialLifetime`](super::CredentialLifetime)) ends when the credential does.
///
/// Fail with [`AuthError::invalid_credentials`] when the credential is bad (the extractor fills
/// in the scopes in force, and the credential's [`challenge`](Credential::challenge)), and with
/// [`AuthError::Unavailable`] when a store or provider does not answer. Never check scopes
/// here: [`Authenticated`] does.
#[diagnostic::on_unimplemented(
    message = "credential `{Self}` cannot be verified with state `{S}`",
    note = "implement `auth_core::Authenticate<{S}>` for it; a backend needs `impl FromRef<{S}> for {Self}`, and `Claims` needs `impl FromRef<{S}> for JwtStrategy`"
)]
pub trait Authenticate<S: Send + Sync>: Credential {
    /// Verifies `credential`, and says whom it names and how long it stays valid.
    fn verify(
        credential: &str,
        state: &S,
    ) -> impl Future<Output = Result<(Self::Principal, Lifetime), AuthError>> + Send;

    /// Verifies `credential` as the request `parts` carried it: what [`Authenticated`] calls.
    /// By default [`verify`](Self::verify). A credential whose checks depend on who sends it
    /// overrides it: HTTP Basic counts and logs failed passwords per client address, as the
    /// login routes do. A re-check of a long-lived connection calls [`verify`](Self::verify).
    fn verify_request(
        parts: &Parts,
        credential: &str,
        state: &S,
    ) -> impl Future<Output = Result<(Self::Principal, Lifetime), AuthError>> + Send {
        let _ = parts;
        Self::verify(credential, state)
    }
}

/// The challenge of a credential documented as `scheme`, named `name`.
pub(crate) fn challenge_of(scheme: &SchemeKind, name: &str) -> Challenge {
    // The challenge is the scheme's own (`SchemeKind::challenge`); a Basic realm is the
    // credential's scheme name.
    match scheme.challenge() {
        Challenge::Basic { realm: None } => Challenge::Basic { realm: Some(name.to_owned()) },
        challenge => challenge,
    }
}

/// A credential's failure, with the credential's challenge when it is not `Bearer` (which is
/// what the error renders by itself). A missing scope is challenged the same way, where the
/// scopes are checked ([`enforce`]).
fn challenged(error: AuthError, challenge: fn() -> Challenge) -> AuthError {
    match error {
        AuthError::InvalidCredentials { .. } | AuthError::InvalidToken | AuthError::TokenExpired => match challenge() {
            Challenge::Bearer => error,
            challenge => AuthError::Challenged { error: Box::new(error), challenge },
        },
        other => other,
    }
}

/// Reads credential `C` and verifies it; for a long-lived handler, also records how long it
/// lives, with a re-check that verifies it again when it is revocable.
async fn verify<C, S>(parts: &mut Parts, state: &S) -> Result<C::Principal, AuthError>
where
    C: Authenticate<S>,
    S: Clone + Send + Sync + 'static,
{
    let credential = C::read(parts)?;
    let (principal, lifetime) =
        C::verify_request(parts, &credential, state).await.map_err(|error| challenged(error, C::challenge))?;
    if let Some(lifetimes) = ChainState::lifetimes(parts) {
        let lifetime = if lifetime.is_revocable() {
            let (credential, state) = (Arc::<str>::from(credential), state.clone());
            lifetime.rechecked(move || {
                let (credential, state) = (Arc::clone(&credential), state.clone());
                async move { C::verify(&credential, &state).await.map(drop) }
            })
        } else {
            lifetime
        };
        lifetimes.record::<C>(lifetime);
    }
    Ok(principal)
}

/// One credential, or a tuple of credentials tried in order, the first to authenticate
/// winning (as fastapi-users tries its backends): what [`Authenticated`] takes. The members of
/// a tuple yield one principal type, the first's; a tuple whose members disagree can be named
/// but not verified. Implemented for every [`Credential`] and tuples of them; not to be
/// implemented elsewhere.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a credential, nor a tuple of credentials",
    label = "not a credential",
    note = "`Authenticated<C>` takes a type implementing `auth_core::Credential` and `auth_core::Authenticate`: `Claims`, a `#[derive(AuthBackend)]` backend, a type of your own, or a tuple of them tried in order"
)]
pub trait CredentialSet: Send + Sync + 'static {
    /// What a verified credential yields.
    type Principal: Send + Sync + 'static;

    /// The credentials, in order.
    fn credentials(out: &mut Vec<CredentialRef>);
}

/// A verified principal, with what its credential grants.
#[doc(hidden)]
pub struct Verified<P> {
    principal: P,
    granted: fn(&P) -> &[String],
    challenge: fn() -> Challenge,
}

impl<P> Verified<P> {
    /// The principal, and how to read what its credential grants.
    pub(crate) fn into_parts(self) -> (P, fn(&P) -> &[String]) {
        (self.principal, self.granted)
    }
}

/// Verifying a [`CredentialSet`] with app state `S`: implemented for every credential that
/// implements [`Authenticate<S>`], and tuples of them; not to be implemented elsewhere.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be verified with state `{S}`",
    note = "each credential of `Authenticated<…>` must implement `auth_core::Authenticate<{S}>` (a backend needs `impl FromRef<{S}> for TheBackend`, `Claims` needs `impl FromRef<{S}> for JwtStrategy`), and the credentials of a tuple must yield the same `Credential::Principal`"
)]
pub trait AuthenticateSet<S: Send + Sync>: CredentialSet {
    #[doc(hidden)]
    fn authenticate(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<Verified<Self::Principal>, AuthError>> + Send;
}

impl<C: Credential> CredentialSet for C {
    type Principal = C::Principal;

    fn credentials(out: &mut Vec<CredentialRef>) {
        out.push(CredentialRef::of::<C>());
    }
}

impl<C: Authenticate<S>, S: Clone + Send + Sync + 'static> AuthenticateSet<S> for C {
    async fn authenticate(parts: &mut Parts, state: &S) -> Result<Verified<C::Principal>, AuthError> {
        let principal = verify::<C, S>(parts, state).await?;
        Ok(Verified { principal, granted: C::granted_scopes, challenge: C::challenge })
    }
}

/// What the credentials of a set made of a request, combined: the first success wins;
/// otherwise a store outage (503) beats a bad credential (401), which beats no credential.
#[derive(Default)]
struct Outcome {
    challenge: Option<Challenge>,
    failure: Option<AuthError>,
}

impl Outcome {
    fn record(&mut self, error: AuthError) {
        match error {
            AuthError::NotAuthenticated { challenge } => {
                self.challenge.get_or_insert(challenge);
            }
            AuthError::Unavailable | AuthError::Internal => {
                if !matches!(self.failure, Some(AuthError::Unavailable | AuthError::Internal)) {
                    self.failure = Some(error);
                }
            }
            other => {
                self.failure.get_or_insert(other);
            }
        }
    }

    fn into_error(self) -> AuthError {
        self.failure.unwrap_or(AuthError::NotAuthenticated { challenge: self.challenge.unwrap_or(Challenge::Bearer) })
    }
}

/// `a == b` for strings, in a `const` context: tuples of credentials and the backend derive
/// check names with it.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Refuses, at compile time, a tuple of credentials two of which share a scheme name.
trait DistinctSchemes {
    const CHECK: ();
}

macro_rules! credential_tuple {
    ($first:ident $(, $rest:ident)+) => {
        // Holds whatever the members yield, so a tuple whose principals differ is one error, at
        // the parameter (`#[secured]`'s `OnePrincipal` check), rather than one at every mention
        // of the type; verifying it (`AuthenticateSet`) needs the principals to agree.
        impl<$first: Credential, $($rest: Credential),+> CredentialSet for ($first, $($rest),+) {
            type Principal = $first::Principal;

            fn credentials(out: &mut Vec<CredentialRef>) {
                let () = <Self as DistinctSchemes>::CHECK;
                out.push(CredentialRef::of::<$first>());
                $(out.push(CredentialRef::of::<$rest>());)+
            }
        }

        impl<S, $first, $($rest),+> AuthenticateSet<S> for ($first, $($rest),+)
        where
            S: Clone + Send + Sync + 'static,
            $first: Authenticate<S>,
            $($rest: Authenticate<S> + Credential<Principal = $first::Principal>,)+
        {
            async fn authenticate(parts: &mut Parts, state: &S) -> Result<Verified<Self::Principal>, AuthError> {
                let () = <Self as DistinctSchemes>::CHECK;
                let mut outcome = Outcome::default();
                match verify::<$first, S>(parts, state).await {
                    Ok(principal) => {
                        return Ok(Verified { principal, granted: $first::granted_scopes, challenge: $first::challenge });
                    }
                    Err(error) => outcome.record(error),
                }
                $(
                    match verify::<$rest, S>(parts, state).await {
                        Ok(principal) => {
                            return Ok(Verified { principal, granted: $rest::granted_scopes, challenge: $rest::challenge });
                        }
                        Err(error) => outcome.record(error),
                    }
                )+
                Err(outcome.into_error())
            }
        }

        impl<$first: Credential, $($rest: Credential),+> DistinctSchemes for ($first, $($rest),+) {
            const CHECK: () = {
                let names = [$first::SCHEME_NAME, $($rest::SCHEME_NAME),+];
                let mut i = 0;
                while i < names.len() {
                    let mut j = i + 1;
                    while j < names.len() {
                        assert!(!str_eq(names[i], names[j]), "two credentials of one `Authenticated<(…)>` share a scheme name; backend and scheme names must be unique");
                        j += 1;
                    }
                    i += 1;
                }
            };
        }
    };
}

credential_tuple!(A, B);
credential_tuple!(A, B, C);
credential_tuple!(A, B, C, D);

/// The principal of a request, authenticated by credential `C`: the one extractor for every
/// kind of credential.
///
/// - `Authenticated<Claims>`: a bearer JWT verified by the app's `JwtStrategy`;
/// - `Authenticated<JwtBackend>`: a `#[derive(AuthBackend)]` backend, yielding a
///   [`Principal`](crate::backend::Principal);
/// - `Authenticated<(CookieBackend, JwtBackend)>`: the first of several that authenticates
///   (documented as alternatives, `[{cookie: […]}, {jwt: […]}]`);
/// - two `Authenticated` parameters: both are required (`[{A: […], B: […]}]`);
/// - `Option<Authenticated<C>>`: the principal, or `None` when there is no credential, a bad
///   one, or one lacking a required scope. It never rejects, and documents the credential as
///   optional (an extra anonymous alternative), leaving the others as they are.
///
/// Rejections, as FastAPI's: no credential, 401 `Not authenticated` with the (first)
/// credential's challenge; a bad credential, 401 `Could not validate credentials` (or the
/// credential's own error); a store that is down, 503; a credential lacking a scope required
/// at this point of the chain, 401 `Not enough permissions`. Inside a dependency, the scope
/// failure is raised when that dependency returns, so the dependency's own errors come first.
///
/// In a handler that holds a connection open (a WebSocket, an event stream), the credential
/// also records how long it lives, and the connection ends with it: see
/// [`CredentialLifetime`](super::CredentialLifetime).
pub struct Authenticated<C: CredentialSet>(pub C::Principal);

impl<C: CredentialSet> Authenticated<C> {
    /// The principal.
    pub fn into_inner(self) -> C::Principal {
        self.0
    }
}

impl<C: CredentialSet> Deref for Authenticated<C> {
    type Target = C::Principal;

    fn deref(&self) -> &C::Principal {
        &self.0
    }
}

impl<C: CredentialSet> Clone for Authenticated<C>
where
    C::Principal: Clone,
{
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: CredentialSet> fmt::Debug for Authenticated<C>
where
    C::Principal: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated").field(&self.0).finish()
    }
}

impl<C, S> FromRequestParts<S> for Authenticated<C>
where
    C: AuthenticateSet<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verified = C::authenticate(parts, state).await.map_err(|error| error.in_chain(parts))?;
        enforce(parts, (verified.granted)(&verified.principal), verified.challenge)?;
        Ok(Self(verified.principal))
    }
}

impl<C, S> OptionalFromRequestParts<S> for Authenticated<C>
where
    C: AuthenticateSet<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let Ok(verified) = C::authenticate(parts, state).await else { return Ok(None) };
        let required = SecurityScopes::current(parts);
        let granted = (verified.granted)(&verified.principal);
        let implications = ChainState::implications(parts);
        Ok(super::scopes::satisfied(&required, granted, implications).then(|| Self(verified.principal)))
    }
}

impl<C: CredentialSet> Describe for Authenticated<C> {
    fn describe(walk: &mut Walk) {
        let mut credentials = Vec::new();
        C::credentials(&mut credentials);
        walk.credential(&credentials);
    }
}
