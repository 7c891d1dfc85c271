//! The routes of [`OAuthProvider`]: fastapi-users' `get_oauth_router` and
//! `get_oauth_associate_router`, one router.

use axum::{
    Extension, Json, Router,
    extract::{FromRef, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{
    OAuthProvider,
    accounts::Account,
    client::{ExchangeError, Identity},
    keys::csrf_token,
    state,
};
use crate::{
    backend::AuthBackend,
    error::{AuthError, respond},
    security::Authenticate,
    strategies::Strategy,
    users::{
        CurrentUser, Email, ErrorCode, FlowError, RequestContext, User, UserCreate, UserHooks, UserManager, UserToken,
        UsersError,
    },
};

/// fastapi-users' `CSRF_TOKEN_COOKIE_NAME`.
pub(crate) const CSRF_COOKIE: &str = "fastapiusersoauthcsrf";

/// Our `detail`s where fastapi-users has no code.
pub(crate) mod detail {
    /// The callback came without `code` (and without `error`).
    pub(crate) const MISSING_CODE: &str = "OAUTH_MISSING_CODE";
    /// The callback's `iss` (RFC 9207) is not the provider's.
    pub(crate) const INVALID_ISSUER: &str = "OAUTH_INVALID_ISSUER";
    /// The token endpoint refused the code or could not be reached (502).
    pub(crate) const TOKEN_EXCHANGE_FAILED: &str = "OAUTH_TOKEN_EXCHANGE_FAILED";
    /// The ID token is missing or fails a check.
    pub(crate) const INVALID_ID_TOKEN: &str = "OAUTH_INVALID_ID_TOKEN";
}

/// A refused social login or link.
pub(crate) enum OAuthError {
    /// A users flow answer (400 with an [`ErrorCode`], 401, 503…).
    Users(UsersError),
    /// 400 with a `detail` of ours, or the provider's `error`.
    BadRequest(String),
    /// 502: the provider failed us.
    BadGateway,
}

impl From<ErrorCode> for OAuthError {
    fn from(code: ErrorCode) -> Self {
        OAuthError::Users(UsersError::Code(code))
    }
}

impl From<AuthError> for OAuthError {
    fn from(error: AuthError) -> Self {
        OAuthError::Users(UsersError::from_auth(error))
    }
}

impl From<FlowError> for OAuthError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::Store(error) => error.into(),
            other => {
                tracing::error!(error = %other, "social login: unexpected users flow error");
                AuthError::Internal.into()
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        match self {
            OAuthError::Users(error) => error.into_response(),
            OAuthError::BadRequest(detail) => respond(StatusCode::BAD_REQUEST, detail, None, None),
            OAuthError::BadGateway => respond(StatusCode::BAD_GATEWAY, detail::TOKEN_EXCHANGE_FAILED, None, None),
        }
    }
}

impl OAuthProvider {
    /// The routes of [`OAuthProvider::router`], without their documentation.
    pub(super) fn routes<H, B, S>(&self) -> Router<S>
    where
        H: UserHooks,
        H::Fields: Default,
        B: AuthBackend + FromRef<S>,
        UserToken<B, H>: Authenticate<S>,
        UserManager<H>: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let name = &self.inner.name;
        let mut router = Router::new()
            .route(&format!("/{name}/authorize"), get(authorize))
            .route(&format!("/{name}/callback"), get(callback::<H, B, S>));
        if self.inner.associate_redirect_url.is_some() {
            router = router
                .route(&format!("/associate/{name}/authorize"), get(associate_authorize::<H, B>))
                .route(&format!("/associate/{name}/callback"), get(associate_callback::<H, B>));
        }
        router.layer(Extension(self.clone()))
    }

    /// The authorization URL answer, with the CSRF cookie.
    fn authorize_response(
        &self,
        query: Option<&str>,
        sub: Option<String>,
        associate: bool,
    ) -> Result<Response, OAuthError> {
        let inner = &*self.inner;
        let scopes = requested_scopes(query, &inner.scopes, inner.client.is_openid())?;
        let csrf = csrf_token()?;
        let state = state::issue(&inner.keys.state[..], &csrf, sub)?;
        let redirect_url = if associate { inner.associate_redirect_url.as_deref() } else { None };
        let url = inner.client.authorization_url(
            redirect_url.unwrap_or(&inner.redirect_url),
            &scopes,
            &state,
            &inner.keys.nonce(&csrf),
            &inner.keys.pkce_verifier(&csrf),
        );
        let cookie = Cookie::build((CSRF_COOKIE, csrf))
            .max_age(CookieDuration::seconds(3600))
            .path("/")
            .http_only(true)
            .secure(inner.csrf_cookie_secure)
            .same_site(SameSite::Lax)
            .build();
        let mut response = Json(json!({ "authorization_url": url })).into_response();
        let headers = response.headers_mut();
        headers.insert(header::SET_COOKIE, header_value(&cookie.to_string())?);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    /// The callback's checks up to a verified identity: the provider's `error`, `code`, `iss`,
    /// the state and the CSRF cookie, the state's `sub` (the logged-in user of an associate
    /// flow, whose id is `associate`; checked before the code is redeemed, so that a state of
    /// another user's session spends nothing), the code exchange and the ID token.
    async fn verified_identity(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        associate: Option<&str>,
    ) -> Result<Identity, OAuthError> {
        let inner = &*self.inner;
        let params = CallbackParams::parse(query);
        if let Some(error) = params.error {
            return Err(OAuthError::BadRequest(error));
        }
        let code = params.code.filter(|code| !code.is_empty() && code.len() <= 2048);
        let Some(code) = code else { return Err(OAuthError::BadRequest(detail::MISSING_CODE.into())) };
        if params.iss.as_ref().is_some_and(|iss| *iss != inner.client.issuer) {
            return Err(OAuthError::BadRequest(detail::INVALID_ISSUER.into()));
        }
        let claims = state::read(&inner.keys.state[..], params.state.as_deref().unwrap_or_default())?;
        let cookie = csrf_cookie(headers).unwrap_or_default();
        if cookie.is_empty() || !bool::from(cookie.as_bytes().ct_eq(claims.csrftoken.as_bytes())) {
            return Err(ErrorCode::OauthInvalidState.into());
        }
        if let Some(user) = associate
            && claims.sub.as_deref() != Some(user)
        {
            // fastapi-users: a bare 400, whose detail FastAPI fills in.
            return Err(OAuthError::BadRequest("Bad Request".into()));
        }
        let redirect_url = if associate.is_some() { inner.associate_redirect_url.as_deref() } else { None };
        let identity = inner
            .client
            .exchange(
                &code,
                redirect_url.unwrap_or(&inner.redirect_url),
                &inner.keys.pkce_verifier(&claims.csrftoken),
                &inner.keys.nonce(&claims.csrftoken),
            )
            .await
            .map_err(|error| {
                let issuer = inner.client.issuer_for_logs();
                match error {
                    ExchangeError::IdToken(reason) => {
                        tracing::info!(provider = %inner.name, issuer, %reason, "social login: ID token refused");
                        OAuthError::BadRequest(detail::INVALID_ID_TOKEN.into())
                    }
                    other => {
                        tracing::warn!(provider = %inner.name, issuer, error = %other, "social login: the provider failed");
                        OAuthError::BadGateway
                    }
                }
            })?;
        Ok(identity)
    }

    /// The provider account as stored.
    fn account<'a>(&'a self, identity: &'a Identity, email: &'a Email) -> Account<'a> {
        Account {
            oauth_name: &self.inner.name,
            account_id: &identity.account_id,
            account_email: email.as_str(),
            access_token: &identity.access_token,
            expires_at: identity.expires_at,
            refresh_token: identity.refresh_token.as_deref().map(String::as_str),
        }
    }

    /// fastapi-users' `oauth_callback`: the linked user, or the user of a verified address when
    /// linking by e-mail is on, or a new user.
    async fn user_for<H>(
        &self,
        manager: &UserManager<H>,
        identity: &Identity,
        email: &Email,
        request: &RequestContext,
    ) -> Result<User<H::Fields>, OAuthError>
    where
        H: UserHooks,
        H::Fields: Default,
    {
        let inner = &*self.inner;
        let account = self.account(identity, email);
        if let Some(id) = inner.accounts.user_of(&inner.name, &identity.account_id).await? {
            // The foreign key deletes a user's accounts with it, so the user is there.
            let user = manager.get(id).await?.ok_or(AuthError::Internal)?;
            inner.accounts.link(user.id, &account, &inner.keys).await?;
            return Ok(user);
        }
        if let Some(user) = manager.get_by_email(email).await? {
            if !inner.associate_by_email || !identity.email_verified {
                return Err(ErrorCode::OauthUserAlreadyExists.into());
            }
            if !inner.accounts.link(user.id, &account, &inner.keys).await? {
                return Err(ErrorCode::OauthUserAlreadyExists.into());
            }
            tracing::info!(provider = %inner.name, user = %user.id, "social login: provider account linked by e-mail");
            return Ok(user);
        }
        let create = UserCreate {
            email: email.clone(),
            password: unusable_password()?,
            is_active: Some(true),
            is_superuser: Some(false),
            is_verified: Some(inner.is_verified_by_default && identity.email_verified),
            fields: H::Fields::default(),
        };
        let user = match manager.create(create, false, request).await {
            Ok(user) => user,
            // A registration of the same address came first.
            Err(FlowError::UserAlreadyExists) => return Err(ErrorCode::OauthUserAlreadyExists.into()),
            Err(error) => return Err(error.into()),
        };
        if !inner.accounts.link(user.id, &account, &inner.keys).await? {
            // Another login of the same provider account linked it first; this user stays
            // without one (and without a usable password).
            return Err(ErrorCode::OauthUserAlreadyExists.into());
        }
        Ok(user)
    }
}

async fn authorize(
    Extension(provider): Extension<OAuthProvider>,
    RawQuery(query): RawQuery,
) -> Result<Response, OAuthError> {
    provider.authorize_response(query.as_deref(), None, false)
}

async fn callback<H, B, S>(
    Extension(provider): Extension<OAuthProvider>,
    State(state): State<S>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    request: RequestContext,
) -> Result<Response, OAuthError>
where
    H: UserHooks,
    H::Fields: Default,
    B: AuthBackend + FromRef<S>,
    UserManager<H>: FromRef<S>,
    S: Send + Sync,
{
    let identity = provider.verified_identity(query.as_deref(), &headers, None).await?;
    let email = provider_email(&identity)?;
    let manager = UserManager::<H>::from_ref(&state);
    let user = provider.user_for(&manager, &identity, &email, &request).await?;
    if !user.is_active {
        return Err(ErrorCode::LoginBadCredentials.into());
    }
    if manager.requires_verification() && !user.is_verified {
        return Err(ErrorCode::LoginUserNotVerified.into());
    }
    let backend = B::from_ref(&state);
    let token = backend.strategy().write_token(&user.id.to_string(), &[]).await?;
    let mut response = match B::transport().login_response(&token) {
        Ok(response) => response,
        Err(error) => {
            let _ = backend.strategy().destroy_token(&token).await;
            return Err(error.into());
        }
    };
    response.headers_mut().append(header::SET_COOKIE, clear_csrf_cookie(&provider)?);
    tracing::info!(backend = B::NAME, provider = %provider.inner.name, user = %user.id, client = ?request.peer, "social login");
    manager.hooks().after_login(&user, &request).await;
    Ok(response)
}

async fn associate_authorize<H, B>(
    Extension(provider): Extension<OAuthProvider>,
    user: CurrentUser<B, H>,
    RawQuery(query): RawQuery,
) -> Result<Response, OAuthError>
where
    H: UserHooks,
{
    provider.authorize_response(query.as_deref(), Some(user.id.to_string()), true)
}

async fn associate_callback<H, B>(
    Extension(provider): Extension<OAuthProvider>,
    user: CurrentUser<B, H>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, OAuthError>
where
    H: UserHooks,
{
    let user = user.into_inner();
    let identity = provider.verified_identity(query.as_deref(), &headers, Some(&user.id.to_string())).await?;
    let email = provider_email(&identity)?;
    let inner = &*provider.inner;
    if !inner.accounts.link(user.id, &provider.account(&identity, &email), &inner.keys).await? {
        return Err(ErrorCode::OauthUserAlreadyExists.into());
    }
    tracing::info!(provider = %inner.name, user = %user.id, "social login: provider account linked");
    let mut response = Json(user).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_csrf_cookie(&provider)?);
    Ok(response)
}

/// The provider's e-mail, as an address users can have.
fn provider_email(identity: &Identity) -> Result<Email, OAuthError> {
    let email = identity.email.as_deref().ok_or(ErrorCode::OauthNotAvailableEmail)?;
    Email::parse(email).map_err(|_| ErrorCode::OauthNotAvailableEmail.into())
}

/// A password nobody knows: 256 random bits, hashed and forgotten (fastapi-users'
/// `password_helper.generate()`). The user can set one through forgot-password.
fn unusable_password() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The query of a callback.
#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

impl CallbackParams {
    fn parse(query: Option<&str>) -> Self {
        let mut params = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match &*key {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "error" => &mut params.error,
                "iss" => &mut params.iss,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        // The provider's `error` is echoed as the `detail`: only an RFC 6749 error code, cut short.
        params.error = params.error.map(|error| {
            let clean: String =
                error.chars().filter(|c| matches!(c, '\x20'..='\x7e') && !matches!(c, '"' | '\\')).take(64).collect();
            if clean.is_empty() { "OAUTH_ERROR".to_owned() } else { clean }
        });
        params
    }
}

/// The `scopes` of an authorize request (`?scopes=a&scopes=b`, as FastAPI reads a list), or the
/// provider's; `openid` always among them for an OpenID provider.
fn requested_scopes(query: Option<&str>, default: &[String], openid: bool) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "scopes")
        .map(|(_, value)| value.into_owned())
        .collect();
    if scopes.is_empty() {
        return Ok(default.to_vec());
    }
    if scopes.len() > 32 || scopes.iter().any(|scope| !is_scope_token(scope)) {
        return Err(OAuthError::BadRequest("OAUTH_INVALID_SCOPES".into()));
    }
    if openid && !scopes.iter().any(|scope| scope == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    Ok(scopes)
}

/// RFC 6749 §3.3 `scope-token`: `%x21 / %x23-5B / %x5D-7E`, non-empty.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 256
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The CSRF cookie's value, if the request carries exactly one.
fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        for cookie in Cookie::split_parse(value.to_str().ok()?).flatten() {
            if cookie.name() == CSRF_COOKIE {
                if found.is_some() {
                    return None;
                }
                found = Some(cookie.value().to_owned());
            }
        }
    }
    found
}

fn clear_csrf_cookie(provider: &OAuthProvider) -> Result<HeaderValue, OAuthError> {
    let cookie = Cookie::build((CSRF_COOKIE, ""))
        .max_age(CookieDuration::ZERO)
        .path("/")
        .http_only(true)
        .secure(provider.inner.csrf_cookie_secure)
        .same_site(SameSite::Lax)
        .build();
    header_value(&cookie.to_string())
}

fn header_value(text: &str) -> Result<HeaderValue, OAuthError> {
    HeaderValue::try_from(text).map_err(|_| AuthError::Internal.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_params_take_the_first_value_and_clean_the_error() {
        let params = CallbackParams::parse(Some("code=a&code=b&state=s&error=access_denied%22%3Cx%3E&iss=i"));
        assert_eq!(params.code.as_deref(), Some("a"));
        assert_eq!(params.state.as_deref(), Some("s"));
        assert_eq!(params.error.as_deref(), Some("access_denied<x>"));
        assert_eq!(params.iss.as_deref(), Some("i"));
        assert_eq!(CallbackParams::parse(Some("error=%00%01")).error.as_deref(), Some("OAUTH_ERROR"));
        assert!(CallbackParams::parse(None).code.is_none());
    }

    #[test]
    fn scopes_come_from_the_query_or_the_defaults() {
        let default = vec!["openid".to_owned(), "email".to_owned()];
        assert_eq!(requested_scopes(None, &default, true).ok(), Some(default.clone()));
        assert_eq!(
            requested_scopes(Some("scopes=profile&scopes=email"), &default, true).ok().unwrap(),
            ["openid", "profile", "email"]
        );
        assert!(requested_scopes(Some("scopes=a%20b"), &default, true).is_err());
        assert!(requested_scopes(Some("scopes="), &default, true).is_err());
        // GitHub is not an OpenID provider: no `openid` added.
        assert_eq!(requested_scopes(Some("scopes=read:user"), &default, false).ok().unwrap(), ["read:user"]);
    }

    #[test]
    fn exactly_one_csrf_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; fastapiusersoauthcsrf=tok; b=2"));
        assert_eq!(csrf_cookie(&headers).as_deref(), Some("tok"));
        headers.append(header::COOKIE, HeaderValue::from_static("fastapiusersoauthcsrf=other"));
        assert_eq!(csrf_cookie(&headers), None);
    }
}
