//! The OAuth 2.0 / OpenID Connect client of one provider: the authorization URL, the code
//! exchange at the token endpoint, and the ID token's verification.

use axum::http::HeaderValue;
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::keys::pkce_challenge;
use crate::strategies::oidc::{
    FetchError, OidcStrategy, ProviderTokenError,
    fetch::{Fetcher, shorten},
};

/// Why a callback could not get a verified identity from the provider.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// The token endpoint refused the code (replayed, expired, PKCE mismatch, another client's)
    /// or could not be reached, or answered something that is not a token response: 502.
    #[error("token exchange failed: {0}")]
    Exchange(String),
    /// The provider's keys cannot be had: 502.
    #[error("the provider's keys are unavailable")]
    KeysUnavailable,
    /// The ID token is missing, forged, expired, for another client, or carries another nonce:
    /// 400.
    #[error("invalid ID token: {0}")]
    IdToken(String),
}

/// What the token endpoint answered, and the ID token's identity.
pub(crate) struct Identity {
    /// The provider's `sub`.
    pub(crate) account_id: String,
    /// The `email` claim, if any.
    pub(crate) email: Option<String>,
    /// Whether the provider says it verified that address (`email_verified`).
    pub(crate) email_verified: bool,
    pub(crate) access_token: Zeroizing<String>,
    pub(crate) refresh_token: Option<Zeroizing<String>>,
    /// When the access token expires, seconds since the Unix epoch.
    pub(crate) expires_at: Option<i64>,
}

/// A token endpoint's success answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

/// One provider's endpoints and client credentials.
pub(crate) struct Client {
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    /// Where the e-mail is read when the ID token has none.
    pub(crate) userinfo_endpoint: Option<Url>,
    pub(crate) fetcher: Fetcher,
    /// Verifies ID tokens: the issuer's keys, `iss`, `aud` containing the client id, `exp`.
    pub(crate) id_tokens: OidcStrategy,
}

impl Client {
    /// The authorization URL: code flow, PKCE S256, `state` and `nonce`.
    pub(crate) fn authorization_url(
        &self,
        redirect_uri: &str,
        scopes: &[String],
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> String {
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &pkce_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Redeems `code` (with the PKCE verifier) at the token endpoint, then verifies the ID token:
    /// signed by the issuer's keys, for this client (`aud`, and `azp` when there are several
    /// audiences), not expired, carrying `nonce`, with a `sub`.
    pub(crate) async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, ExchangeError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier)
            .finish();
        let body = Zeroizing::new(body);
        let fetched =
            self.fetcher.post_form(&self.token_endpoint, body.to_string(), Some(self.basic_auth()?)).await.map_err(
                |error| match error {
                    FetchError::Status(status) => {
                        ExchangeError::Exchange(format!("the token endpoint answered HTTP {status}"))
                    }
                    other => ExchangeError::Exchange(other.to_string()),
                },
            )?;
        let response: TokenResponse = serde_json::from_slice(&fetched.body)
            .map_err(|e| ExchangeError::Exchange(format!("not a token response: {e}")))?;
        let id_token = response.id_token.ok_or_else(|| ExchangeError::IdToken("the provider sent none".into()))?;
        let claims = match self.id_tokens.verify(&id_token).await {
            Ok(token) => token.claims,
            Err(ProviderTokenError::KeysUnavailable) => return Err(ExchangeError::KeysUnavailable),
            Err(error) => return Err(ExchangeError::IdToken(error.to_string())),
        };
        let extra = &claims.extra;
        let audiences = match extra.get("aud") {
            Some(Value::Array(list)) => list.len(),
            _ => 1,
        };
        let azp = extra.get("azp").and_then(Value::as_str);
        if (audiences > 1 || azp.is_some()) && azp != Some(self.client_id.as_str()) {
            return Err(ExchangeError::IdToken("`azp` is not this client".into()));
        }
        let presented = extra.get("nonce").and_then(Value::as_str).unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(nonce.as_bytes())) {
            return Err(ExchangeError::IdToken("`nonce` is not this login's".into()));
        }
        let account_id = claims.sub.clone().ok_or_else(|| ExchangeError::IdToken("no `sub`".into()))?;
        let (mut email, mut email_verified) = email_claims(extra);
        if email.is_none()
            && let Some(userinfo) = &self.userinfo_endpoint
        {
            // Providers that keep the ID token minimal (OpenID Connect Core §5.4) answer the
            // e-mail at userinfo, for the subject of the ID token only (§5.3.2).
            let mut bearer = HeaderValue::try_from(format!("Bearer {}", response.access_token))
                .map_err(|_| ExchangeError::Exchange("the access token does not fit a header".into()))?;
            bearer.set_sensitive(true);
            let fetched = self.fetcher.get_authorized(userinfo, bearer).await.map_err(|error| match error {
                FetchError::Status(status) => {
                    ExchangeError::Exchange(format!("the userinfo endpoint answered HTTP {status}"))
                }
                other => ExchangeError::Exchange(other.to_string()),
            })?;
            let info: serde_json::Map<String, Value> = serde_json::from_slice(&fetched.body)
                .map_err(|e| ExchangeError::Exchange(format!("not a userinfo answer: {e}")))?;
            if info.get("sub").and_then(Value::as_str) != Some(account_id.as_str()) {
                return Err(ExchangeError::IdToken("the userinfo `sub` is not the ID token's".into()));
            }
            (email, email_verified) = email_claims(&info);
        }
        let expires_at = response
            .expires_in
            .as_ref()
            .and_then(|value| value.as_i64().or_else(|| value.as_str()?.parse().ok()))
            .filter(|seconds| *seconds > 0)
            .map(|seconds| crate::db::unix_now().saturating_add(seconds));
        Ok(Identity {
            account_id,
            email,
            email_verified,
            access_token: Zeroizing::new(response.access_token),
            refresh_token: response.refresh_token.map(Zeroizing::new),
            expires_at,
        })
    }

    /// `client_secret_basic` (RFC 6749 §2.3.1: both parts form-encoded first).
    fn basic_auth(&self) -> Result<HeaderValue, ExchangeError> {
        let encode = |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
        let credentials = Zeroizing::new(format!("{}:{}", encode(&self.client_id), encode(&self.client_secret)));
        let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials.as_bytes())))
            .map_err(|_| ExchangeError::Exchange("the client credentials do not fit a header".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// The issuer, shortened for logs.
    pub(crate) fn issuer_for_logs(&self) -> &str {
        shorten(&self.issuer)
    }
}

/// `email` and `email_verified` of an ID token or a userinfo answer (some providers write the
/// flag as a string).
fn email_claims(claims: &serde_json::Map<String, Value>) -> (Option<String>, bool) {
    let email = claims.get("email").and_then(Value::as_str).map(str::to_owned);
    let verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
        || claims.get("email_verified").and_then(Value::as_str) == Some("true");
    (email, verified)
}
