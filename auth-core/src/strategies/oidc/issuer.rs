//! One trusted issuer: its configuration ([`Issuer`]), the rules its tokens follow, and its
//! verification over the cached key set.

use std::{fmt, sync::Arc, time::Duration, time::Instant};

use serde_json::Value;

use super::{
    OidcError, ProviderTokenError,
    discovery::ProviderMetadata,
    key_cache::{Freshness, KeyCache},
};
#[cfg(test)]
use crate::strategies::jwt::JwtKey;
use crate::strategies::jwt::{Claims, InvalidReason, JwtError, JwtKeySet, JwtStrategy};

impl Issuer {
    /// Clock skew tolerated on `exp` and `nbf` of provider tokens unless configured: 30 seconds,
    /// since the provider's clock is not ours.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

    /// The `typ` of RFC 9068 access tokens.
    pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
}

/// Maps a verified token's claims to the scopes it grants; see [`Issuer::scopes_from`].
pub(crate) type ScopeMapper = Arc<dyn Fn(&Claims) -> Vec<String> + Send + Sync>;

/// An identity provider whose access tokens are accepted, and the rules they must follow.
///
/// The three providers of the README, configured:
///
/// ```
/// use auth_core::strategies::oidc::Issuer;
///
/// // Keycloak. The realm is the issuer. Tokens carry `aud: "account"` unless the client scope
/// // of your API has an Audience mapper adding its client id. Realm roles count as scopes.
/// let keycloak = Issuer::new("https://sso.example.com/realms/acme")
///     .audience("items-api")
///     .scopes_from(Issuer::scopes_and_claim(&["realm_access", "roles"]));
///
/// // Auth0. The issuer ends with a slash; the audience is the API's identifier. With RBAC and
/// // "Add Permissions in the Access Token", permissions count as scopes.
/// let auth0 = Issuer::new("https://acme.eu.auth0.com/")
///     .audience("https://api.example.com")
///     .scopes_from(Issuer::scopes_and_claim(&["permissions"]));
///
/// // Entra ID, v2.0 tokens. The audience is the app's client id; delegated scopes arrive in
/// // `scp`, application roles in `roles`.
/// let entra = Issuer::new("https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0")
///     .audience("11111111-1111-1111-1111-111111111111")
///     .scopes_from(Issuer::scopes_and_claim(&["roles"]));
/// # let _ = (keycloak, auth0, entra);
/// ```
///
/// What a token of this issuer must satisfy, on top of a signature by one of its current keys
/// with the key's own algorithm:
/// - `iss` equal to the issuer, character for character;
/// - `aud` containing the configured audience: required, because without it an ID token, or an
///   access token the same provider issued for another API, would be accepted;
/// - `exp` present and not past (with [`Issuer::DEFAULT_LEEWAY`]), `nbf` not in the future;
/// - `typ` of any value except `refresh+jwt`, or exactly `at+jwt` with
///   [`Issuer::require_access_token_type`].
#[derive(Clone)]
pub struct Issuer {
    pub(super) issuer: String,
    pub(super) audience: Option<String>,
    pub(super) leeway: Duration,
    pub(super) token_type: Option<&'static str>,
    pub(super) jwks_uri: Option<String>,
    pub(super) scopes_from: Option<ScopeMapper>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("token_type", &self.token_type)
            .field("jwks_uri", &self.jwks_uri)
            .field("scopes_from", &self.scopes_from.is_some())
            .finish()
    }
}

impl Issuer {
    /// The issuer identifier, exactly as the provider writes it in `iss` and in its discovery
    /// document (e.g. `https://login.microsoftonline.com/{tenant}/v2.0`,
    /// `https://{tenant}.auth0.com/` with its trailing slash). It must be `https`; plain `http`
    /// is accepted for a loopback host only.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: None,
            leeway: Issuer::DEFAULT_LEEWAY,
            token_type: None,
            jwks_uri: None,
            scopes_from: None,
        }
    }

    crate::macros::setters! {
        /// The audience tokens must be addressed to (`aud`): this API's identifier at the provider.
        /// Required.
        audience(audience: impl Into<String>) => audience = Some(audience.into());

        /// Clock skew tolerated on `exp` and `nbf`; default [`Issuer::DEFAULT_LEEWAY`], at most an hour.
        leeway(leeway: Duration) => leeway = leeway;

        /// Requires `typ: at+jwt` (RFC 9068 §4). Off by default, because Keycloak, Auth0 and Entra
        /// ID write `typ: JWT`; turn it on for providers that follow RFC 9068, so that no other JWT
        /// of theirs can pass as an access token.
        require_access_token_type() => token_type = Some(Issuer::ACCESS_TOKEN_TYPE);

        /// Fetches keys from this URL instead of discovering it, for providers without a discovery
        /// document. The URL must be `https` (or loopback `http` for a loopback issuer).
        jwks_uri(jwks_uri: impl Into<String>) => jwks_uri = Some(jwks_uri.into());

        /// Computes the scopes a token grants from its claims, replacing the default: the `scope`
        /// string, the `scp` string or array, and the `scopes` array, gathered by
        /// [`Claims`](crate::strategies::jwt::Claims). See [`Issuer::scopes_and_claim`] for the common case.
        scopes_from(map: impl Fn(&Claims) -> Vec<String> + Send + Sync + 'static) => scopes_from = Some(Arc::new(map));
    }
}

impl Issuer {
    /// A scope mapping for [`Issuer::scopes_from`]: the token's scopes, plus the strings found at
    /// `path` in its claims (an array of strings, or one string).
    ///
    /// - Keycloak realm roles: `Issuer::scopes_and_claim(&["realm_access", "roles"])`;
    /// - Entra ID app roles: `Issuer::scopes_and_claim(&["roles"])`;
    /// - Auth0 RBAC permissions: `Issuer::scopes_and_claim(&["permissions"])`.
    ///
    /// ```
    /// use auth_core::strategies::oidc::Issuer;
    /// # use auth_core::strategies::jwt::{JwtKey, JwtStrategy, Claims};
    /// # let strategy = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap();
    /// # let token = strategy
    /// #     .issue_claims("u", &["profile"], &serde_json::json!({ "realm_access": { "roles": ["admin"] } }))
    /// #     .unwrap();
    /// # let claims: Claims = strategy.verify(&token).unwrap();
    /// // claims: {"scopes": ["profile"], "realm_access": {"roles": ["admin"]}, …}
    /// let map = Issuer::scopes_and_claim(&["realm_access", "roles"]);
    /// assert_eq!(map(&claims), ["profile", "admin"]);
    /// ```
    pub fn scopes_and_claim(path: &'static [&'static str]) -> impl Fn(&Claims) -> Vec<String> + Send + Sync + 'static {
        move |claims| {
            let mut scopes = claims.scopes.clone();
            let found = path.split_first().and_then(|(first, rest)| {
                rest.iter().try_fold(claims.extra.get(*first)?, |value, name| value.get(*name))
            });
            let mut add = |scope: &str| {
                if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            };
            match found {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut add),
                Some(Value::String(one)) => add(one),
                _ => {}
            }
            scopes
        }
    }
}

/// What a token of one issuer must satisfy, applied over whatever keys are current.
#[derive(Clone)]
pub(super) struct Rules {
    pub(super) issuer: Arc<str>,
    audience: String,
    leeway: Duration,
    token_type: Option<&'static str>,
}

impl Rules {
    /// The JWT strategy that verifies this issuer's tokens with `keys`: the one verifier of this
    /// crate, configured once per fetched key set.
    pub(super) fn strategy(&self, keys: JwtKeySet) -> Result<JwtStrategy, OidcError> {
        let mut builder = JwtStrategy::builder(keys).issuer(&*self.issuer).audience(&self.audience).leeway(self.leeway);
        if let Some(token_type) = self.token_type {
            builder = builder.token_type(token_type);
        }
        builder.build().map_err(|e| OidcError::Config(e.to_string()))
    }
}

/// One issuer at run time: its rules, its cached keys, and its scope mapping.
pub(super) struct IssuerVerifier {
    pub(super) issuer: Arc<str>,
    pub(super) metadata: Option<ProviderMetadata>,
    cache: Arc<KeyCache>,
    scopes_from: Option<ScopeMapper>,
}

impl IssuerVerifier {
    pub(super) fn rules(issuer: &Issuer) -> Result<Rules, OidcError> {
        let audience = issuer.audience.clone().ok_or_else(|| {
            OidcError::Config(format!(
                "issuer `{}` has no audience: set Issuer::audience to this API's identifier at the provider",
                issuer.issuer
            ))
        })?;
        if audience.is_empty() {
            return Err(OidcError::Config("the audience is empty".into()));
        }
        if issuer.leeway > crate::strategies::jwt::JwtStrategy::MAX_LEEWAY {
            return Err(OidcError::Config("leeway must be at most one hour".into()));
        }
        Ok(Rules {
            issuer: issuer.issuer.as_str().into(),
            audience,
            leeway: issuer.leeway,
            token_type: issuer.token_type,
        })
    }

    pub(super) fn new(issuer: &Issuer, metadata: Option<ProviderMetadata>, cache: Arc<KeyCache>) -> Self {
        Self { issuer: issuer.issuer.as_str().into(), metadata, cache, scopes_from: issuer.scopes_from.clone() }
    }

    /// Verifies a token of this issuer with the cached keys, refetching them once if the token
    /// names a key we do not have.
    pub(super) async fn verify(&self, token: &str) -> Result<Claims, ProviderTokenError> {
        let mut snapshot = self.cache.snapshot();
        match snapshot.freshness(Instant::now()) {
            Freshness::Fresh => {}
            Freshness::Due => self.cache.refresh_in_background(snapshot.generation),
            Freshness::Expired => {
                if !self.cache.refresh(snapshot.generation).await {
                    return Err(ProviderTokenError::KeysUnavailable);
                }
                snapshot = self.cache.snapshot();
            }
        }
        let mut claims = match snapshot.strategy.verify(token) {
            Err(JwtError::Invalid(InvalidReason::UnknownKid)) => {
                if !self.cache.refresh(snapshot.generation).await {
                    return Err(ProviderTokenError::Jwt(JwtError::Invalid(InvalidReason::UnknownKid)));
                }
                self.cache.snapshot().strategy.verify(token)?
            }
            other => other?,
        };
        if let Some(map) = &self.scopes_from {
            claims.scopes = map(&claims);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scopes_and_claim_adds_strings_without_duplicates() {
        let strategy = JwtStrategy::builder(JwtKey::hs256([7u8; 32])).build().unwrap();
        let claims = |extra| {
            let token = strategy.issue_claims("u", &["a"], &extra).unwrap();
            strategy.verify(&token).unwrap()
        };
        let roles = Issuer::scopes_and_claim(&["realm_access", "roles"]);
        assert_eq!(roles(&claims(json!({ "realm_access": { "roles": ["b", "a", 1, "c"] } }))), ["a", "b", "c"]);
        assert_eq!(roles(&claims(json!({ "realm_access": { "roles": "b" } }))), ["a", "b"]);
        assert_eq!(roles(&claims(json!({ "realm_access": ["b"] }))), ["a"]);
        assert_eq!(roles(&claims(json!({}))), ["a"]);
        assert_eq!(Issuer::scopes_and_claim(&[])(&claims(json!({}))), ["a"]);
    }
}
