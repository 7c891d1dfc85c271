//! Tokens from identity providers (feature `oidc`): an API that accepts the access tokens that
//! Keycloak, Auth0, Entra ID, Cognito, Google or any OpenID provider issues.
//!
//! - [`OidcStrategy`] verifies JWT access tokens: it discovers each issuer
//!   (`{issuer}/.well-known/openid-configuration`, the issuer in the document checked), fetches
//!   and caches its key set, follows key rotation, and accepts several issuers at once, each
//!   with its own keys and audience, chosen by the token's `iss`.
//! - [`IntrospectionStrategy`] asks the provider about opaque tokens (RFC 7662), with a cache
//!   whose bound is the revocation delay.
//! - Key sets are read defensively, key by key; the parser is also a fuzz target.
//!
//! A `sub` is unique only within its issuer: with several issuers, key users by
//! [`ProviderToken::identity`], the `(iss, sub)` pair ([`SubjectId`]).
//!
//! [`ProviderToken`] and [`IntrospectedToken`] are [`Credential`](crate::Credential)s, verified
//! with the strategy found through `FromRef` on the app's state, as [`Claims`] is: a handler or
//! a `#[secured]` dependency taking `Authenticated<ProviderToken>` gets a verified token whose
//! scopes were checked against the chain's, and is documented in OpenAPI.
//!
//! ```no_run
//! use auth_core::strategies::oidc::{Issuer, OidcStrategy};
//!
//! # async fn run() -> Result<(), auth_core::strategies::oidc::OidcError> {
//! let idp = OidcStrategy::builder(Issuer::new("https://sso.example.com/realms/acme").audience("https://api.example.com"))
//!     .build()
//!     .await?; // discovery and the first key set fetch: a startup error if the provider is not there
//!
//! let token = idp.verify("eyJ…").await; // Ok(ProviderToken) or why not
//! # Ok(()) }
//! ```
//!
//! # What a token must satisfy
//!
//! The verification is the [JWT strategy](crate::strategies::jwt)'s, run over the issuer's
//! current keys (see its docs for the header and claim rules), plus:
//! - the key is the one its `kid` names in the issuer's set, and its algorithm is pinned by the
//!   key (its `alg`, else its type and curve): RS256/384/512, PS256/384/512, ES256/384 and
//!   EdDSA. The token's `alg` must equal it; it is never used to pick one;
//! - `iss` is a configured issuer, `aud` contains that issuer's audience (required), `exp` has
//!   not passed (with a default leeway of 30 s);
//! - RFC 9068 `typ: at+jwt` tokens are accepted, and may be required
//!   ([`Issuer::require_access_token_type`]);
//! - scopes come from `scope` (a space-separated string), `scp` (a string or an array) and
//!   `scopes`; [`Issuer::scopes_from`] maps other claims (Keycloak's `realm_access.roles`).
//!
//! # What comes from the network, and how far it is trusted
//!
//! Every fetch has a deadline and a size cap ([`HttpOptions`]), follows no redirect, and must be
//! `https` (plain `http` only on loopback, and only for a loopback issuer). The discovery
//! document is trusted for its `jwks_uri` once its `issuer` matches; key sets are read key by
//! key, and symmetric keys, private keys, encryption keys and malformed keys are skipped
//! (and listed in the logs). Caching, refetching and what happens while the provider is down are
//! described on [`KeyCachePolicy`]. A token the keys cannot verify is 401, never 500; keys that
//! cannot be had at all (past [`KeyCachePolicy::max_stale`]) are 503.

mod credential;
pub(crate) mod discovery;
pub(crate) mod fetch;
pub(crate) mod introspection;
pub(crate) mod issuer;
mod key_cache;
pub(crate) mod key_set;

use std::{fmt, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

pub(crate) use discovery::DISCOVERY_PATH;
pub use discovery::ProviderMetadata;
pub use fetch::{FetchError, HttpOptions};
pub use introspection::{ClientAuth, IntrospectedToken, IntrospectionStrategy, IntrospectionStrategyBuilder};
pub use issuer::Issuer;
pub use key_cache::KeyCachePolicy;

use self::{fetch::Fetcher, issuer::IssuerVerifier, key_cache::KeyCache};
use crate::{
    error::AuthError,
    security::SecurityScopes,
    strategies::jwt::{Claims, InvalidReason, JwtError, JwtStrategy},
};

/// Why a provider, its documents or the configuration could not be used. Raised at startup
/// (discovery, first key set) and logged on later refreshes; never shown to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// A request to the provider failed.
    #[error("fetching {url}: {error}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        error: FetchError,
    },
    /// The discovery document is malformed, names another issuer, or gives an insecure URL.
    #[error("discovery of {issuer}: {reason}")]
    Discovery {
        /// The configured issuer.
        issuer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key set is malformed, too large, or holds no usable key.
    #[error("key set at {url}: {reason}")]
    KeySet {
        /// Where it came from.
        url: String,
        /// What is wrong with it: not a JWK set, too many keys, or no usable key (with why
        /// each key was skipped).
        reason: String,
    },
    /// The configuration cannot work (no audience, a floor above the ceiling, two issuers with
    /// one identifier, an issuer that is not a URL…).
    #[error("invalid OIDC configuration: {0}")]
    Config(String),
}

/// Why [`OidcStrategy::verify`] or [`IntrospectionStrategy::verify`] refused a token. Safe to
/// log: it carries no token. Clients see only [`ProviderTokenError::into_auth_error`]'s response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderTokenError {
    /// The token is malformed, forged, expired, not for us, or signed by a key the issuer does
    /// not publish: 401.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The token's `iss` is none of the configured issuers (or is absent with several): 401.
    #[error("invalid token: the issuer is not trusted")]
    UnknownIssuer,
    /// The issuer's keys are past [`KeyCachePolicy::max_stale`] and the provider does not
    /// answer: 503.
    #[error("the issuer's keys are unavailable")]
    KeysUnavailable,
    /// Introspection: the provider says the token is not active (unknown, expired, revoked): 401.
    #[error("the token is not active")]
    Inactive,
    /// Introspection: refused without asking (empty, too long, not a bearer token's characters),
    /// or active but not for us (issuer, audience, a refresh token, expired here): 401.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// Introspection: the endpoint failed, refused our credentials, or answered outside
    /// RFC 7662: 503.
    #[error("introspection failed: {0}")]
    Unavailable(String),
}

impl ProviderTokenError {
    /// The HTTP error, as the JWT extractor answers: 401 `Could not validate credentials` with
    /// the required scopes in `WWW-Authenticate`, or 503 when the keys or the introspection
    /// endpoint cannot be had. The reason is logged at `debug` (`warn` for a 503).
    pub fn into_auth_error(self, scopes: &SecurityScopes) -> AuthError {
        match self {
            ProviderTokenError::Inactive | ProviderTokenError::Invalid(_) | ProviderTokenError::Unavailable(_) => {
                introspection::into_auth_error(self, scopes)
            }
            ProviderTokenError::KeysUnavailable => {
                tracing::warn!("an identity provider's keys are unavailable");
                AuthError::Unavailable
            }
            other => {
                tracing::debug!(reason = %other, "rejected a provider token");
                AuthError::InvalidCredentials { scopes: scopes.clone() }
            }
        }
    }
}

/// A verified access token from an identity provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderToken {
    /// The configured issuer that verified it.
    pub issuer: Arc<str>,
    /// Its claims. `claims.scopes` holds the granted scopes, after [`Issuer::scopes_from`].
    pub claims: Claims,
}

impl ProviderToken {
    /// The subject (`sub`): a user id, or for a client-credentials token the client's.
    ///
    /// Unique only within its issuer (OpenID Connect Core §2): two providers, or two tenants of
    /// one, may give the same `sub` to different people. With several issuers, key users by
    /// [`identity`](Self::identity), never by the subject alone.
    pub fn subject(&self) -> Option<&str> {
        self.claims.sub.as_deref()
    }

    /// Who this token is about, across issuers: the issuer that verified it and its `sub`
    /// (`None` without a `sub`). This pair, not the `sub` alone, is the key to store users
    /// under (two columns with one unique constraint, or a map keyed by [`SubjectId`]).
    pub fn identity(&self) -> Option<SubjectId> {
        let subject = self.claims.sub.clone()?;
        Some(SubjectId { issuer: Arc::clone(&self.issuer), subject })
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.claims.scopes
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }

    /// The OAuth client the token was issued to (`client_id`, RFC 9068 §2.2; `azp` for
    /// providers that write that instead).
    pub fn client_id(&self) -> Option<&str> {
        ["client_id", "azp"].iter().find_map(|name| self.claims.extra.get(*name)?.as_str())
    }
}

/// A subject as OpenID Connect identifies it: the pair of the issuer and its `sub` (OpenID
/// Connect Core §2: "locally unique and never reassigned within the Issuer"). Two issuers
/// giving the same `sub` are two different subjects; compare, hash and store both parts.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::strategies::oidc::SubjectId;
///
/// let at_a = SubjectId { issuer: Arc::from("https://a.example.com"), subject: "42".into() };
/// let at_b = SubjectId { issuer: Arc::from("https://b.example.com"), subject: "42".into() };
/// assert_ne!(at_a, at_b, "the same sub at two issuers: two people");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId {
    /// The issuer, exactly as configured and as the token's `iss` writes it.
    pub issuer: Arc<str>,
    /// The `sub`, unique within that issuer.
    pub subject: String,
}

/// Verifies access tokens from one or more identity providers. Cheap to clone (an `Arc`).
///
/// Build it with [`OidcStrategy::builder`]; [`build`](OidcStrategyBuilder::build) discovers
/// every issuer and fetches its keys, so a provider that is missing or misconfigured is a
/// startup error, with the reason.
#[derive(Clone)]
pub struct OidcStrategy {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerVerifier>,
}

impl fmt::Debug for OidcStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcStrategy").field("issuers", &self.issuers().collect::<Vec<_>>()).finish()
    }
}

/// Issuers and options of an [`OidcStrategy`] being built.
#[derive(Debug)]
#[must_use = "call .build().await to get an OidcStrategy"]
pub struct OidcStrategyBuilder {
    issuers: Vec<Issuer>,
    http: HttpOptions,
    key_cache: KeyCachePolicy,
}

impl OidcStrategyBuilder {
    /// Trusts one more issuer, besides the one given to [`OidcStrategy::builder`]. Call once per
    /// further provider (or tenant); tokens are routed by `iss`.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    crate::macros::setters! {
        /// How the provider is reached; default [`HttpOptions::default`]; see [`HttpOptions`].
        http(http: HttpOptions) => http = http;

        /// How key sets are cached and refetched; default [`KeyCachePolicy::default`]; see
        /// [`KeyCachePolicy`].
        key_cache(policy: KeyCachePolicy) => key_cache = policy;
    }

    /// Discovers every issuer (unless given its `jwks_uri`) and fetches its key set.
    pub async fn build(self) -> Result<OidcStrategy, OidcError> {
        self.key_cache.validate()?;
        let fetcher = Fetcher::new(&self.http).map_err(|error| OidcError::Config(format!("HTTP client: {error}")))?;
        let mut issuers: Vec<IssuerVerifier> = Vec::with_capacity(self.issuers.len());
        for issuer in &self.issuers {
            if issuers.iter().any(|known| *known.issuer == issuer.issuer) {
                return Err(OidcError::Config(format!("issuer `{}` is configured twice", issuer.issuer)));
            }
            let rules = IssuerVerifier::rules(issuer)?;
            let issuer_url = discovery::issuer_url(&issuer.issuer)?;
            let (metadata, jwks_uri) = match &issuer.jwks_uri {
                Some(jwks_uri) => (None, jwks_uri.clone()),
                None => {
                    let metadata = discovery::discover(&fetcher, &issuer.issuer).await?;
                    let jwks_uri = metadata.jwks_uri.clone();
                    (Some(metadata), jwks_uri)
                }
            };
            let jwks_uri = fetch::secure_url(&jwks_uri, discovery::allows_loopback_http(&issuer_url))
                .map_err(|e| OidcError::Config(format!("`jwks_uri` of `{}`: {e}", issuer.issuer)))?;
            let cache = KeyCache::load(jwks_uri, fetcher.clone(), self.key_cache, rules).await?;
            issuers.push(IssuerVerifier::new(issuer, metadata, cache));
        }
        Ok(OidcStrategy { inner: Arc::new(Inner { issuers }) })
    }
}

impl OidcStrategy {
    /// Starts a configuration trusting `issuer`; add more with [`OidcStrategyBuilder::issuer`].
    /// [`build`](OidcStrategyBuilder::build) discovers every issuer and fetches its keys.
    pub fn builder(issuer: Issuer) -> OidcStrategyBuilder {
        OidcStrategyBuilder {
            issuers: vec![issuer],
            http: HttpOptions::default(),
            key_cache: KeyCachePolicy::default(),
        }
    }

    /// Where `issuer` publishes its discovery document: `{issuer}/.well-known/openid-configuration`
    /// (an OpenAPI `openIdConnect` scheme's URL).
    pub fn discovery_url(issuer: &str) -> String {
        format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
    }

    /// The configured issuers, in configuration order.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|issuer| &*issuer.issuer)
    }

    /// The discovery document of `issuer`, as read at startup (`None` for an issuer configured
    /// with its `jwks_uri`, or not configured).
    pub fn metadata(&self, issuer: &str) -> Option<&ProviderMetadata> {
        self.inner.issuers.iter().find(|known| &*known.issuer == issuer)?.metadata.as_ref()
    }

    /// Verifies an access token: finds its issuer, then checks it with that issuer's keys and
    /// rules (see the module docs). May wait for one key set fetch, when the token names a key
    /// not yet cached.
    pub async fn verify(&self, token: &str) -> Result<ProviderToken, ProviderTokenError> {
        let issuer = match self.inner.issuers.as_slice() {
            // One issuer: its rules check `iss` like every other claim.
            [only] => only,
            several => {
                let iss = unverified_issuer(token)?;
                several.iter().find(|known| *known.issuer == iss).ok_or(ProviderTokenError::UnknownIssuer)?
            }
        };
        let claims = issuer.verify(token).await?;
        Ok(ProviderToken { issuer: Arc::clone(&issuer.issuer), claims })
    }
}

/// The `iss` of a token not yet verified, read only to choose which issuer's keys verify it.
/// Everything else is left to that verification, which checks `iss` again.
fn unverified_issuer(token: &str) -> Result<String, ProviderTokenError> {
    #[derive(serde::Deserialize)]
    struct Payload {
        iss: Option<String>,
    }

    let malformed = || ProviderTokenError::Jwt(JwtError::Invalid(InvalidReason::Malformed));
    if token.len() > JwtStrategy::DEFAULT_MAX_TOKEN_LEN {
        return Err(ProviderTokenError::Jwt(JwtError::Invalid(InvalidReason::TooLong)));
    }
    let mut segments = token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(malformed());
    };
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
    let Payload { iss } = serde_json::from_slice(&payload).map_err(|_| malformed())?;
    iss.ok_or(ProviderTokenError::UnknownIssuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn the_issuer_is_read_only_to_route_the_token() {
        assert_eq!(unverified_issuer(&token(r#"{"iss":"https://a","x":[1]}"#)).unwrap(), "https://a");
        assert_eq!(unverified_issuer(&token(r#"{"sub":"x"}"#)), Err(ProviderTokenError::UnknownIssuer));
        for bad in [
            token(r#"{"iss":1}"#),
            token(r#"{"iss":"a","iss":"b"}"#),
            token("[]"),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "a.!!!.c".to_owned(),
            "x".repeat(JwtStrategy::DEFAULT_MAX_TOKEN_LEN + 1),
        ] {
            assert!(matches!(unverified_issuer(&bad), Err(ProviderTokenError::Jwt(_))), "{bad:.40}");
        }
    }
}
