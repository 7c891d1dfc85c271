//! RFC 7662 token introspection: opaque access tokens, verified by asking the provider.
//!
//! # The revocation bound
//!
//! Answers are cached, so that a busy API does not ask the provider on every request. An
//! *active* answer is kept until the token's `exp` or for [`cache_ttl`] (default
//! [`IntrospectionStrategy::DEFAULT_CACHE_TTL`], 30 seconds), whichever comes first. So a token revoked
//! at the provider is refused here **at most `cache_ttl` after the revocation**; with
//! `cache_ttl(Duration::ZERO)`, on the next request. An *inactive* answer is kept as long, so a
//! client retrying a dead token does not reach the provider each time.
//!
//! [`cache_ttl`]: IntrospectionStrategyBuilder::cache_ttl
//!
//! # Whose tokens are accepted
//!
//! An active answer is not enough: the provider says the token is alive, not that it was
//! issued for this API. So an answer must also
//! - name this API in `aud` ([`audience`], required: building without one is an error, unless
//!   [`accept_any_audience`] says so explicitly). Otherwise an access token the same provider
//!   issued for another API, an ID token, or a refresh token (which carries no `aud` at
//!   oidc-provider) would be accepted;
//! - name the configured [`issuer`] in `iss`, when the answer has an `iss`;
//! - not say it is a refresh token, where the provider says so: `token_type` of
//!   `refresh_token` (any case) or `urn:ietf:params:oauth:token-type:refresh_token`, Ory
//!   Hydra's `token_use: refresh_token`, Keycloak's `typ: Refresh` or `Offline`, or
//!   `typ: refresh+jwt`;
//! - not be expired or not yet valid here (with the [`leeway`]).
//!
//! [`audience`]: IntrospectionStrategyBuilder::audience
//! [`accept_any_audience`]: IntrospectionStrategyBuilder::accept_any_audience
//! [`issuer`]: IntrospectionStrategyBuilder::issuer
//! [`leeway`]: IntrospectionStrategyBuilder::leeway

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::http::HeaderValue;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::Url;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{
    OidcError, ProviderTokenError,
    discovery::{self, allows_loopback_http},
    fetch::{FetchError, Fetcher, HttpOptions, secure_url},
};
use crate::{error::AuthError, security::SecurityScopes, strategies::jwt::JwtStrategy};

impl IntrospectionStrategy {
    /// How long an introspection answer is cached unless configured: 30 seconds. This is the
    /// longest a revoked token keeps working here.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);

    /// The most answers cached unless configured.
    pub const DEFAULT_MAX_CACHE_ENTRIES: usize = 10_000;
}

/// How this API authenticates to the introspection endpoint (RFC 7662 §2.1 requires it).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    Basic {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Zeroizing<String>,
    },
    /// `client_secret_post`: the id and secret in the form body.
    Post {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Zeroizing<String>,
    },
    /// A bearer token for the endpoint, for providers that protect it that way.
    Bearer(Zeroizing<String>),
}

impl ClientAuth {
    /// `client_secret_basic`, the method every provider supports.
    pub fn basic(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientAuth::Basic { client_id: client_id.into(), client_secret: Zeroizing::new(client_secret.into()) }
    }

    /// `client_secret_post`.
    pub fn post(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientAuth::Post { client_id: client_id.into(), client_secret: Zeroizing::new(client_secret.into()) }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Basic { client_id, .. } => write!(f, "Basic({client_id}, <redacted>)"),
            ClientAuth::Post { client_id, .. } => write!(f, "Post({client_id}, <redacted>)"),
            ClientAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// What the provider says about an active token (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IntrospectedToken {
    /// The granted scopes: `scope`, split on spaces, or what
    /// [`IntrospectionStrategyBuilder::scopes_from`] made of the answer.
    pub scopes: Vec<String>,
    /// The subject (`sub`), if the provider says.
    pub sub: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// A human-readable name of the resource owner.
    pub username: Option<String>,
    /// The token type (`Bearer`).
    pub token_type: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: Option<u64>,
    /// Issue time, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// Not-before, seconds since the Unix epoch.
    pub nbf: Option<u64>,
    /// The issuer.
    pub iss: Option<String>,
    /// The audiences (`aud`, a string or an array in the answer).
    pub aud: Vec<String>,
    /// The token's id.
    pub jti: Option<String>,
    /// Every other member of the answer.
    pub extra: Map<String, Value>,
}

impl IntrospectedToken {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

/// Reads an introspection answer: `Ok(None)` for `{"active": false}` (whatever else it says),
/// `Ok(Some(…))` for an active token, `Err` for an answer that breaks RFC 7662 (not a JSON
/// object, `active` missing or not a boolean, a member of the wrong type).
pub fn parse_introspection_response(json: &[u8]) -> Result<Option<IntrospectedToken>, String> {
    let UniqueObject(mut answer) =
        serde_json::from_slice(json).map_err(|e| format!("not a JSON object without repeated members: {e}"))?;
    match answer.remove("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(None),
        Some(_) => return Err("`active` is not a boolean".into()),
        None => return Err("no `active` member".into()),
    }
    let mut string = |name: &'static str| match answer.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(format!("`{name}` is not a string")),
    };
    let scope = string("scope")?;
    let sub = string("sub")?;
    let client_id = string("client_id")?;
    let username = string("username")?;
    let token_type = string("token_type")?;
    let iss = string("iss")?;
    let jti = string("jti")?;
    let mut date = |name: &'static str| match answer.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|v| v.is_finite() && *v >= 0.0 && *v < u64::MAX as f64).map(|v| v as u64))
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not a NumericDate")),
    };
    let exp = date("exp")?;
    let iat = date("iat")?;
    let nbf = date("nbf")?;
    let aud = match answer.remove("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(one)) => vec![one],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(one) => Ok(one),
                _ => Err("`aud` holds a non-string".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`aud` is neither a string nor an array".into()),
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in scope.iter().flat_map(|scope| scope.split(' ')) {
        if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(Some(IntrospectedToken {
        scopes,
        sub,
        client_id,
        username,
        token_type,
        exp,
        iat,
        nbf,
        iss,
        aud,
        jti,
        extra: answer,
    }))
}

/// A JSON object whose members are each given once: with a repeated `active`, which one counts
/// would depend on the parser.
struct UniqueObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut object = Map::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if object.contains_key(&name) {
                        return Err(serde::de::Error::custom(format_args!(
                            "`{}` is given twice",
                            super::fetch::shorten(&name)
                        )));
                    }
                    object.insert(name, value);
                }
                Ok(UniqueObject(object))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// [`ProviderTokenError::into_auth_error`] for introspection's refusals, logged from here.
pub(super) fn into_auth_error(error: ProviderTokenError, scopes: &SecurityScopes) -> AuthError {
    match error {
        ProviderTokenError::Unavailable(reason) => {
            tracing::warn!(%reason, "token introspection failed");
            AuthError::Unavailable
        }
        other => {
            tracing::debug!(reason = %other, "rejected an introspected token");
            AuthError::InvalidCredentials { scopes: scopes.clone() }
        }
    }
}

type IntrospectionScopeMapper = Arc<dyn Fn(&IntrospectedToken) -> Vec<String> + Send + Sync>;

/// Verifies opaque tokens by asking the provider's introspection endpoint (RFC 7662), with a
/// cache whose lifetime bounds how long a revoked token keeps working (see the module docs).
/// Cheap to clone (an `Arc`).
///
/// ```no_run
/// use std::time::Duration;
/// use auth_core::strategies::oidc::{ClientAuth, IntrospectionStrategy};
///
/// # async fn run() -> Result<(), auth_core::strategies::oidc::OidcError> {
/// let introspection = IntrospectionStrategy::builder(ClientAuth::basic("my-api", "its-secret"))
///     .issuer("https://sso.example.com/realms/acme") // the endpoint comes from discovery
///     .audience("https://api.example.com")
///     .cache_ttl(Duration::from_secs(10)) // a revoked token dies here within 10 s
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IntrospectionStrategy {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Url,
    client_auth: ClientAuth,
    issuer: Option<String>,
    /// `None` only with [`IntrospectionStrategyBuilder::accept_any_audience`].
    audience: Option<String>,
    leeway: Duration,
    cache_ttl: Duration,
    max_entries: usize,
    fetcher: Fetcher,
    scopes_from: Option<IntrospectionScopeMapper>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

#[derive(Clone)]
struct Cached {
    answer: Option<IntrospectedToken>,
    until: Instant,
}

impl fmt::Debug for IntrospectionStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("IntrospectionStrategy")
            .field("endpoint", &inner.endpoint.as_str())
            .field("client_auth", &inner.client_auth)
            .field("issuer", &inner.issuer)
            .field("audience", &inner.audience)
            .field("cache_ttl", &inner.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// Options of an [`IntrospectionStrategy`] being built.
#[must_use = "call .build().await to get an IntrospectionStrategy"]
pub struct IntrospectionStrategyBuilder {
    endpoint: Option<String>,
    issuer: Option<String>,
    client_auth: ClientAuth,
    audience: Option<String>,
    any_audience: bool,
    leeway: Duration,
    cache_ttl: Duration,
    max_entries: usize,
    http: HttpOptions,
    scopes_from: Option<IntrospectionScopeMapper>,
}

impl fmt::Debug for IntrospectionStrategyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionStrategyBuilder")
            .field("endpoint", &self.endpoint)
            .field("issuer", &self.issuer)
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

impl IntrospectionStrategyBuilder {
    crate::macros::setters! {
        /// The introspection endpoint. Without it, [`issuer`](Self::issuer)'s discovery document
        /// gives it (`introspection_endpoint`).
        endpoint(url: impl Into<String>) => endpoint = Some(url.into());

        /// The provider: its discovery document gives the endpoint unless one is set, and an
        /// answer naming another `iss` is refused.
        issuer(issuer: impl Into<String>) => issuer = Some(issuer.into());

        /// The audience tokens must be addressed to: the answer's `aud` (a string or an array)
        /// must contain it, and an answer without `aud` is refused. This API's identifier at the
        /// provider (its resource indicator, its client id at Keycloak). Required, unless
        /// [`accept_any_audience`](Self::accept_any_audience) is called instead.
        audience(audience: impl Into<String>) => audience = Some(audience.into());

        /// Accepts every active token of the provider, whatever its `aud`, instead of requiring an
        /// [`audience`](Self::audience). Only for a provider that writes no `aud` in its answers
        /// and issues tokens for this API alone: otherwise a token issued for any other API of the
        /// provider is accepted here. The issuer, expiry and refresh-token checks still apply.
        accept_any_audience() => any_audience = true;

        /// Clock skew tolerated on `exp` and `nbf`; default 30 seconds.
        leeway(leeway: Duration) => leeway = leeway;

        /// How long an answer is cached, at most (and never past the token's `exp`): the longest a
        /// revoked token keeps working. Default [`IntrospectionStrategy::DEFAULT_CACHE_TTL`]; zero disables
        /// the cache.
        cache_ttl(ttl: Duration) => cache_ttl = ttl;

        /// How many answers the cache holds, at most; default [`IntrospectionStrategy::DEFAULT_MAX_CACHE_ENTRIES`].
        max_cache_entries(max: usize) => max_entries = max;

        /// How the provider is reached; see [`HttpOptions`].
        http(http: HttpOptions) => http = http;

        /// Computes the granted scopes from the answer, replacing its `scope`.
        scopes_from(map: impl Fn(&IntrospectedToken) -> Vec<String> + Send + Sync + 'static) => scopes_from = Some(Arc::new(map));
    }

    /// Checks the options, discovering the endpoint when only the issuer is given.
    pub async fn build(self) -> Result<IntrospectionStrategy, OidcError> {
        let client_auth = self.client_auth;
        match (&self.audience, self.any_audience) {
            (None, false) => {
                return Err(OidcError::Config(
                    "introspection has no audience: set IntrospectionStrategyBuilder::audience to this API's \
                     identifier at the provider (or call accept_any_audience to accept tokens issued for any API)"
                        .into(),
                ));
            }
            (Some(_), true) => {
                return Err(OidcError::Config("introspection: both an audience and accept_any_audience".into()));
            }
            (Some(audience), false) if audience.is_empty() => {
                return Err(OidcError::Config("the audience is empty".into()));
            }
            _ => {}
        }
        if self.leeway > crate::strategies::jwt::JwtStrategy::MAX_LEEWAY {
            return Err(OidcError::Config("leeway must be at most one hour".into()));
        }
        let fetcher = Fetcher::new(&self.http).map_err(|error| OidcError::Config(format!("HTTP client: {error}")))?;
        let issuer_url = self.issuer.as_deref().map(discovery::issuer_url).transpose()?;
        let (endpoint, loopback_http) = match (self.endpoint, &self.issuer, &issuer_url) {
            (Some(endpoint), _, Some(issuer_url)) => (endpoint, allows_loopback_http(issuer_url)),
            (Some(endpoint), None, _) => (endpoint, true),
            (None, Some(issuer), Some(issuer_url)) => {
                let metadata = discovery::discover(&fetcher, issuer).await?;
                let endpoint = metadata.introspection_endpoint.ok_or_else(|| OidcError::Discovery {
                    issuer: issuer.clone(),
                    reason: "no `introspection_endpoint`; set IntrospectionStrategyBuilder::endpoint".into(),
                })?;
                (endpoint, allows_loopback_http(issuer_url))
            }
            _ => return Err(OidcError::Config("introspection needs an endpoint or an issuer".into())),
        };
        let endpoint = secure_url(&endpoint, loopback_http)
            .map_err(|e| OidcError::Config(format!("introspection endpoint: {e}")))?;
        Ok(IntrospectionStrategy {
            inner: Arc::new(Inner {
                endpoint,
                client_auth,
                issuer: self.issuer,
                audience: self.audience,
                leeway: self.leeway,
                cache_ttl: self.cache_ttl,
                max_entries: self.max_entries,
                fetcher,
                scopes_from: self.scopes_from,
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl IntrospectionStrategy {
    /// Starts a configuration with how this API authenticates to the endpoint; then give an
    /// [`issuer`](IntrospectionStrategyBuilder::issuer) or an
    /// [`endpoint`](IntrospectionStrategyBuilder::endpoint), and the
    /// [`audience`](IntrospectionStrategyBuilder::audience).
    pub fn builder(client_auth: ClientAuth) -> IntrospectionStrategyBuilder {
        IntrospectionStrategyBuilder {
            endpoint: None,
            issuer: None,
            client_auth,
            audience: None,
            any_audience: false,
            leeway: Duration::from_secs(30),
            cache_ttl: IntrospectionStrategy::DEFAULT_CACHE_TTL,
            max_entries: IntrospectionStrategy::DEFAULT_MAX_CACHE_ENTRIES,
            http: HttpOptions::default(),
            scopes_from: None,
        }
    }

    /// The endpoint asked.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// Verifies an opaque token: from the cache if a recent answer is there, else by asking the
    /// provider. See the module docs for the revocation bound.
    pub async fn verify(&self, token: &str) -> Result<IntrospectedToken, ProviderTokenError> {
        check_shape(token)?;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        let cached = self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let answer = match cached {
            Some(cached) if now < cached.until => cached.answer,
            _ => {
                let answer = self.ask(token).await?;
                self.remember(key, &answer, now);
                answer
            }
        };
        let answer = answer.ok_or(ProviderTokenError::Inactive)?;
        self.check(&answer)?;
        Ok(answer)
    }

    async fn ask(&self, token: &str) -> Result<Option<IntrospectedToken>, ProviderTokenError> {
        let inner = &*self.inner;
        let (body, authorization) = request_body(token, &inner.client_auth)?;
        let fetched = inner.fetcher.post_form(&inner.endpoint, body, authorization).await.map_err(|error| {
            let hint = match error {
                FetchError::Status(401 | 403) => " (the endpoint refused this API's client credentials)",
                _ => "",
            };
            ProviderTokenError::Unavailable(format!("{}: {error}{hint}", inner.endpoint))
        })?;
        let mut answer = parse_introspection_response(&fetched.body)
            .map_err(|reason| ProviderTokenError::Unavailable(format!("{}: {reason}", inner.endpoint)))?;
        if let (Some(token), Some(map)) = (answer.as_mut(), &inner.scopes_from) {
            token.scopes = map(token);
        }
        Ok(answer)
    }

    /// Caches an answer: an active one until its `exp` or the TTL, an inactive one for the TTL.
    fn remember(&self, key: [u8; 32], answer: &Option<IntrospectedToken>, now: Instant) {
        let inner = &*self.inner;
        let mut ttl = inner.cache_ttl;
        if let Some(exp) = answer.as_ref().and_then(|token| token.exp) {
            ttl = ttl.min(Duration::from_secs(exp.saturating_sub(crate::strategies::jwt::now())));
        }
        if ttl.is_zero() || inner.max_entries == 0 {
            return;
        }
        let mut cache = inner.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= inner.max_entries {
            cache.retain(|_, cached| now < cached.until);
        }
        if cache.len() >= inner.max_entries {
            // Still full of live answers: drop a tenth, whichever they are; they are asked again.
            let drop: Vec<[u8; 32]> = cache.keys().take(inner.max_entries / 10 + 1).copied().collect();
            drop.iter().for_each(|key| {
                cache.remove(key);
            });
        }
        cache.insert(key, Cached { answer: answer.clone(), until: now + ttl });
    }

    /// An active answer must still hold here: not expired, not before its time, for us, and
    /// not a refresh token.
    fn check(&self, token: &IntrospectedToken) -> Result<(), ProviderTokenError> {
        let inner = &*self.inner;
        let now = crate::strategies::jwt::now();
        let leeway = inner.leeway.as_secs();
        if token.exp.is_some_and(|exp| exp < now.saturating_sub(leeway)) {
            return Err(ProviderTokenError::Invalid("expired"));
        }
        if token.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(ProviderTokenError::Invalid("not yet valid"));
        }
        if let (Some(expected), Some(iss)) = (&inner.issuer, &token.iss)
            && expected != iss
        {
            return Err(ProviderTokenError::Invalid("wrong issuer"));
        }
        if let Some(audience) = &inner.audience
            && !token.aud.iter().any(|aud| aud == audience)
        {
            return Err(ProviderTokenError::Invalid("wrong audience"));
        }
        if is_refresh_answer(token) {
            return Err(ProviderTokenError::Invalid("a refresh token"));
        }
        Ok(())
    }
}

/// Whether the answer says the token is a refresh token, in one of the ways providers say it:
/// RFC 7662's `token_type` (`refresh_token`, or RFC 8693's URN), Ory Hydra's `token_use`,
/// Keycloak's `typ` (`Refresh`, `Offline`), or a `refresh+jwt` `typ`.
fn is_refresh_answer(token: &IntrospectedToken) -> bool {
    let extra = |name: &str| token.extra.get(name).and_then(Value::as_str);
    let refresh_type = |value: &str| {
        ["refresh_token", "refresh", "urn:ietf:params:oauth:token-type:refresh_token"]
            .iter()
            .any(|refresh| value.trim().eq_ignore_ascii_case(refresh))
    };
    token.token_type.as_deref().is_some_and(refresh_type)
        || extra("token_use").is_some_and(refresh_type)
        || extra("typ").is_some_and(|typ| {
            ["refresh", "offline", "refresh+jwt"].iter().any(|refresh| typ.trim().eq_ignore_ascii_case(refresh))
        })
}

/// The form body and `Authorization` of an introspection request (RFC 7662 §2.1).
fn request_body(token: &str, auth: &ClientAuth) -> Result<(String, Option<HeaderValue>), ProviderTokenError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token).append_pair("token_type_hint", "access_token");
    let authorization = match auth {
        ClientAuth::Basic { client_id, client_secret } => {
            let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = Zeroizing::new(format!("{}:{}", encode(client_id), encode(client_secret.as_str())));
            let value = Zeroizing::new(format!("Basic {}", STANDARD.encode(credentials.as_bytes())));
            Some(header_value(&value)?)
        }
        ClientAuth::Post { client_id, client_secret } => {
            form.append_pair("client_id", client_id).append_pair("client_secret", client_secret);
            None
        }
        ClientAuth::Bearer(token) => Some(header_value(&format!("Bearer {}", token.as_str()))?),
    };
    let body = form.finish();
    Ok((body, authorization))
}

fn header_value(value: &str) -> Result<HeaderValue, ProviderTokenError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| ProviderTokenError::Unavailable("the client credentials are not a valid header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// RFC 6750 §2.1 `b64token`, at most [`JwtStrategy::DEFAULT_MAX_TOKEN_LEN`] bytes: anything else is not
/// worth a request to the provider.
fn check_shape(token: &str) -> Result<(), ProviderTokenError> {
    if token.is_empty() {
        return Err(ProviderTokenError::Invalid("empty token"));
    }
    if token.len() > JwtStrategy::DEFAULT_MAX_TOKEN_LEN {
        return Err(ProviderTokenError::Invalid("token too long"));
    }
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)) {
        return Err(ProviderTokenError::Invalid("not a bearer token"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_rfc_7662_writes_them() {
        let answer =
            br#"{"active":true,"scope":"a  b a","client_id":"app","exp":2000000000.4,"aud":["x","y"],"ext":1}"#;
        let token = parse_introspection_response(answer).unwrap().unwrap();
        assert_eq!(token.scopes, ["a", "b"]);
        assert_eq!(token.client_id.as_deref(), Some("app"));
        assert_eq!(token.exp, Some(2_000_000_000));
        assert_eq!(token.aud, ["x", "y"]);
        assert_eq!(token.extra.get("ext"), Some(&Value::from(1)));

        assert_eq!(parse_introspection_response(br#"{"active":false,"scope":1}"#), Ok(None));
        for bad in [
            &br#"{"active":"true"}"#[..],
            br#"{}"#,
            br#"[]"#,
            br#"{"active":true,"scope":["a"]}"#,
            br#"{"active":true,"exp":"soon"}"#,
            br#"{"active":true,"exp":-1}"#,
            br#"{"active":true,"aud":[1]}"#,
            br#"{"active":true,"active":false}"#,
            b"<html>",
        ] {
            assert!(parse_introspection_response(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn only_bearer_token_shapes_are_sent() {
        assert!(check_shape("DPb-ZjTCSdbdO6hyExlQcPTSvova7S2CQQsB_XpF57o").is_ok());
        assert!(check_shape("abc+/==").is_ok());
        for bad in ["", "=", "a b", "a\"b", "a,b", "é", "a=b"] {
            assert!(check_shape(bad).is_err(), "{bad}");
        }
        assert!(check_shape(&"a".repeat(JwtStrategy::DEFAULT_MAX_TOKEN_LEN + 1)).is_err());
    }

    #[test]
    fn refresh_tokens_are_recognised_where_the_provider_says_so() {
        let answer = |json: &str| parse_introspection_response(json.as_bytes()).unwrap().unwrap();
        for refresh in [
            r#"{"active":true,"token_type":"refresh_token"}"#,
            r#"{"active":true,"token_type":"Refresh_Token"}"#,
            r#"{"active":true,"token_type":"urn:ietf:params:oauth:token-type:refresh_token"}"#,
            r#"{"active":true,"token_type":"Bearer","token_use":"refresh_token"}"#,
            r#"{"active":true,"token_type":"Bearer","typ":"Refresh"}"#,
            r#"{"active":true,"typ":"Offline"}"#,
            r#"{"active":true,"typ":"refresh+jwt"}"#,
        ] {
            assert!(is_refresh_answer(&answer(refresh)), "{refresh}");
        }
        for access in [
            r#"{"active":true}"#,
            r#"{"active":true,"token_type":"Bearer"}"#,
            r#"{"active":true,"token_type":"DPoP","typ":"Bearer"}"#,
            r#"{"active":true,"token_use":"access_token"}"#,
            r#"{"active":true,"token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
            r#"{"active":true,"typ":["Refresh"]}"#,
        ] {
            assert!(!is_refresh_answer(&answer(access)), "{access}");
        }
    }

    #[tokio::test]
    async fn an_audience_or_the_explicit_opt_out_is_required() {
        let builder = || {
            IntrospectionStrategy::builder(ClientAuth::basic("api", "secret")).endpoint("http://127.0.0.1:9/introspect")
        };
        let error = builder().build().await.unwrap_err().to_string();
        assert!(error.contains("has no audience") && error.contains("accept_any_audience"), "{error}");
        let error = builder().audience("").build().await.unwrap_err().to_string();
        assert!(error.contains("the audience is empty"), "{error}");
        let error = builder().audience("api").accept_any_audience().build().await.unwrap_err().to_string();
        assert!(error.contains("both"), "{error}");
        assert!(builder().audience("https://api.example.com").build().await.is_ok());
        assert!(builder().accept_any_audience().build().await.is_ok());
    }
}
