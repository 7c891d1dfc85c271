//! The OAuth 2.0 / OpenID Connect client of one provider: the authorization URL, the code
//! exchange at the token endpoint, the ID token's verification (or, for GitHub, its user API),
//! and the refresh of a provider access token.

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
    /// The token endpoint could not be reached, or answered something that is not a token
    /// response; or the provider's user API failed: 502.
    #[error("token exchange failed: {0}")]
    Exchange(String),
    /// The token endpoint refused the grant (a replayed or expired code, a PKCE mismatch,
    /// another client's code, a spent refresh token): an OAuth error answer (RFC 6749 §5.2),
    /// whatever its HTTP status (GitHub answers them with 200): 502 at the callback.
    #[error("the token endpoint refused the grant: {0}")]
    Refused(String),
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

/// The provider tokens of a refresh (RFC 6749 §6).
pub(crate) struct Refreshed {
    pub(crate) access_token: Zeroizing<String>,
    /// A rotated refresh token; `None` when the provider keeps the old one valid.
    pub(crate) refresh_token: Option<Zeroizing<String>>,
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
    /// The OpenID issuer; for GitHub, its web base URL.
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) fetcher: Fetcher,
    pub(crate) protocol: Protocol,
}

/// How a provider tells who logged in.
pub(crate) enum Protocol {
    /// OpenID Connect: a verified ID token, and the userinfo endpoint for the e-mail when the
    /// ID token has none.
    OpenId {
        /// Verifies ID tokens: the issuer's keys, `iss`, `aud` containing the client id, `exp`.
        id_tokens: OidcStrategy,
        /// Where the e-mail is read when the ID token has none.
        userinfo_endpoint: Option<Url>,
    },
    /// GitHub: plain OAuth 2.0 (no ID token, no nonce), the user from `GET {api}/user` and the
    /// e-mail from `GET {api}/user/emails`; client credentials in the form body.
    GitHub {
        /// `https://api.github.com/user`, or its GitHub Enterprise Server or test twin.
        user: Url,
        /// `https://api.github.com/user/emails`.
        emails: Url,
    },
}

impl Client {
    /// Whether this is an OpenID provider (`openid` scope, ID token, `nonce`), not GitHub.
    pub(crate) fn is_openid(&self) -> bool {
        matches!(self.protocol, Protocol::OpenId { .. })
    }

    /// The authorization URL: code flow, PKCE S256, `state`, and `nonce` for OpenID providers.
    pub(crate) fn authorization_url(
        &self,
        redirect_uri: &str,
        scopes: &[String],
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> String {
        let mut url = self.authorization_endpoint.clone();
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", state);
        if self.is_openid() {
            pairs.append_pair("nonce", nonce);
        }
        pairs.append_pair("code_challenge", &pkce_challenge(verifier)).append_pair("code_challenge_method", "S256");
        drop(pairs);
        url.into()
    }

    /// Redeems `code` (with the PKCE verifier) at the token endpoint, then learns who logged in:
    /// from the ID token (signed by the issuer's keys, for this client: `aud`, and `azp` when
    /// there are several audiences; not expired, carrying `nonce`, with a `sub`), or GitHub's
    /// user API.
    pub(crate) async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, ExchangeError> {
        let response = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .await?;
        let access_token = Zeroizing::new(response.access_token);
        let (account_id, email, email_verified) = match &self.protocol {
            Protocol::OpenId { id_tokens, userinfo_endpoint } => {
                let id_token = response
                    .id_token
                    .as_deref()
                    .ok_or_else(|| ExchangeError::IdToken("the provider sent none".into()))?;
                self.open_id_identity(id_tokens, userinfo_endpoint.as_ref(), id_token, &access_token, nonce).await?
            }
            Protocol::GitHub { user, emails } => github_identity(&self.fetcher, user, emails, &access_token).await?,
        };
        Ok(Identity {
            account_id,
            email,
            email_verified,
            access_token,
            refresh_token: response.refresh_token.map(Zeroizing::new),
            expires_at: expires_at(response.expires_in.as_ref()),
        })
    }

    /// Uses `refresh_token` at the token endpoint (RFC 6749 §6) for a new access token.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<Refreshed, ExchangeError> {
        let response = self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await?;
        Ok(Refreshed {
            access_token: Zeroizing::new(response.access_token),
            refresh_token: response.refresh_token.map(Zeroizing::new),
            expires_at: expires_at(response.expires_in.as_ref()),
        })
    }

    /// One token endpoint request, authenticated as this client: HTTP Basic for OpenID
    /// providers (`client_secret_basic`, their default), the form body for GitHub (which
    /// documents only that). An OAuth error answer is [`ExchangeError::Refused`] whatever its
    /// status: GitHub answers them with 200.
    async fn token_request(&self, params: &[(&str, &str)]) -> Result<TokenResponse, ExchangeError> {
        // The serializer is not `Send`: it is done with before the request.
        let (body, authorization) = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.extend_pairs(params);
            let authorization = if self.is_openid() {
                Some(self.basic_auth()?)
            } else {
                body.append_pair("client_id", &self.client_id).append_pair("client_secret", &self.client_secret);
                None
            };
            (Zeroizing::new(body.finish()), authorization)
        };
        let fetched = match self.fetcher.post_form(&self.token_endpoint, body.to_string(), authorization).await {
            Ok(fetched) => fetched,
            Err(FetchError::Status(status @ (400 | 401))) => {
                return Err(ExchangeError::Refused(format!("HTTP {status}")));
            }
            Err(FetchError::Status(status)) => {
                return Err(ExchangeError::Exchange(format!("the token endpoint answered HTTP {status}")));
            }
            Err(other) => return Err(ExchangeError::Exchange(other.to_string())),
        };
        let object: serde_json::Map<String, Value> = serde_json::from_slice(&fetched.body)
            .map_err(|e| ExchangeError::Exchange(format!("not a token response: {e}")))?;
        if let Some(error) = object.get("error") {
            // Only the error code is kept: its description may quote what was sent.
            let code = error.as_str().unwrap_or("not a string");
            return Err(ExchangeError::Refused(format!("`{}`", crate::logging::truncate(code, 64))));
        }
        serde_json::from_value(Value::Object(object))
            .map_err(|e| ExchangeError::Exchange(format!("not a token response: {e}")))
    }

    /// The identity of an OpenID login: the verified ID token, and userinfo for the e-mail when
    /// the ID token has none.
    async fn open_id_identity(
        &self,
        id_tokens: &OidcStrategy,
        userinfo_endpoint: Option<&Url>,
        id_token: &str,
        access_token: &str,
        nonce: &str,
    ) -> Result<(String, Option<String>, bool), ExchangeError> {
        let claims = match id_tokens.verify(id_token).await {
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
            && let Some(userinfo) = userinfo_endpoint
        {
            // Providers that keep the ID token minimal (OpenID Connect Core §5.4) answer the
            // e-mail at userinfo, for the subject of the ID token only (§5.3.2).
            let fetched = self
                .fetcher
                .get_authorized(userinfo, bearer(access_token)?)
                .await
                .map_err(|error| api_error("userinfo", error))?;
            let info: serde_json::Map<String, Value> = serde_json::from_slice(&fetched.body)
                .map_err(|e| ExchangeError::Exchange(format!("not a userinfo answer: {e}")))?;
            if info.get("sub").and_then(Value::as_str) != Some(account_id.as_str()) {
                return Err(ExchangeError::IdToken("the userinfo `sub` is not the ID token's".into()));
            }
            (email, email_verified) = email_claims(&info);
        }
        Ok((account_id, email, email_verified))
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

/// `Authorization: Bearer {token}`, marked sensitive.
fn bearer(access_token: &str) -> Result<HeaderValue, ExchangeError> {
    let mut value = HeaderValue::try_from(format!("Bearer {access_token}"))
        .map_err(|_| ExchangeError::Exchange("the access token does not fit a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A failed request to the provider's user API (userinfo, GitHub's `/user`).
fn api_error(what: &str, error: FetchError) -> ExchangeError {
    match error {
        FetchError::Status(status) => ExchangeError::Exchange(format!("the {what} endpoint answered HTTP {status}")),
        other => ExchangeError::Exchange(format!("the {what} endpoint: {other}")),
    }
}

/// `expires_in` (a number, or a string of one, as some providers write it) as a time.
fn expires_at(expires_in: Option<&Value>) -> Option<i64> {
    expires_in
        .and_then(|value| value.as_i64().or_else(|| value.as_str()?.parse().ok()))
        .filter(|seconds| *seconds > 0)
        .map(|seconds| crate::db::unix_now().saturating_add(seconds))
}

/// Who logged in at GitHub: `GET /user`'s numeric `id`, and the primary address of
/// `GET /user/emails` with its `verified` flag (`/user`'s own `email` is the public profile
/// address and says nothing of verification). Without the `user:email` scope (a 403 or 404
/// there), the public address is taken as unverified.
async fn github_identity(
    fetcher: &Fetcher,
    user: &Url,
    emails: &Url,
    access_token: &str,
) -> Result<(String, Option<String>, bool), ExchangeError> {
    let fetched = fetcher.get_authorized(user, bearer(access_token)?).await.map_err(|e| api_error("GitHub user", e))?;
    let profile: serde_json::Map<String, Value> = serde_json::from_slice(&fetched.body)
        .map_err(|e| ExchangeError::Exchange(format!("not a GitHub user: {e}")))?;
    let account_id = match profile.get("id") {
        Some(Value::Number(id)) if id.is_u64() => id.to_string(),
        _ => return Err(ExchangeError::Exchange("the GitHub user has no numeric `id`".into())),
    };
    let fetched = match fetcher.get_authorized(emails, bearer(access_token)?).await {
        Ok(fetched) => fetched,
        Err(FetchError::Status(403 | 404)) => {
            let public = profile.get("email").and_then(Value::as_str).map(str::to_owned);
            return Ok((account_id, public, false));
        }
        Err(error) => return Err(api_error("GitHub e-mails", error)),
    };
    #[derive(Deserialize)]
    struct GitHubEmail {
        email: String,
        #[serde(default)]
        primary: bool,
        #[serde(default)]
        verified: bool,
    }
    let list: Vec<GitHubEmail> = serde_json::from_slice(&fetched.body)
        .map_err(|e| ExchangeError::Exchange(format!("not a GitHub e-mail list: {e}")))?;
    Ok(match list.into_iter().find(|entry| entry.primary) {
        Some(primary) => (account_id, Some(primary.email), primary.verified),
        None => (account_id, None, false),
    })
}

/// `email` and `email_verified` of an ID token or a userinfo answer (some providers write the
/// flag as a string).
fn email_claims(claims: &serde_json::Map<String, Value>) -> (Option<String>, bool) {
    let email = claims.get("email").and_then(Value::as_str).map(str::to_owned);
    let verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
        || claims.get("email_verified").and_then(Value::as_str) == Some("true");
    (email, verified)
}
