//! Social login (feature `oauth`): "Sign in with …" through any OpenID provider, with
//! fastapi-users' `get_oauth_router` and `get_oauth_associate_router` routes and wire format.
//!
//! See [`OAuthProvider`].

mod accounts;
mod client;
mod keys;
mod openapi;
mod routes;
mod state;

use std::{fmt, sync::Arc, time::Duration};

use reqwest::Url;
use uuid::Uuid;
use zeroize::Zeroizing;

use self::{
    accounts::Accounts,
    client::{Client, Protocol},
    keys::Keys,
};
use super::UserStore;
use crate::{
    error::AuthError,
    strategies::{
        database::DatabaseError,
        oidc::{
            HttpOptions, Issuer, OidcError, OidcStrategy, discovery,
            fetch::{Fetcher, secure_url, shorten},
        },
    },
};

/// One identity provider for social login, with fastapi-users' routes: any OpenID provider,
/// found by its issuer URL, or GitHub ([`OAuthProvider::github`], plain OAuth 2.0).
///
/// | route (nested at `/auth`) | answers | fastapi-users |
/// |---|---|---|
/// | `GET /{name}/authorize?scopes=…` | 200 `{"authorization_url"}` and the `fastapiusersoauthcsrf` cookie | `get_oauth_router` |
/// | `GET /{name}/callback?code&state` | the backend's login response | `get_oauth_router` |
/// | `GET /associate/{name}/authorize` | as above, for the logged-in user | `get_oauth_associate_router` |
/// | `GET /associate/{name}/callback` | 200 with the user, the provider account linked | `get_oauth_associate_router` |
///
/// ```no_run
/// # use auth_core::users::{OAuthProvider, UserStore};
/// # async fn run(users: UserStore) -> Result<(), Box<dyn std::error::Error>> {
/// let google = OAuthProvider::builder("google", "https://accounts.google.com", "client-id", "client-secret")
///     .secret(std::env::var("SECRET_KEY")?) // the app's secret; every key here is derived from it
///     .redirect_url("https://app.example.com/auth/google/callback")
///     .associate_redirect_url("https://app.example.com/auth/associate/google/callback")
///     .store(&users)
///     .build() // discovery and the provider's keys: a startup error if it is not there
///     .await?;
/// google.migrate().await?; // the oauth_accounts table
/// // let app = Router::new().nest("/auth", google.router::<Hooks, CookieBackend, AppState>());
/// # Ok(()) }
/// ```
///
/// # The flow, and what is checked
///
/// - **authorize** makes a random CSRF token, sets it as the `fastapiusersoauthcsrf` cookie
///   (`Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax`) and signs it into `state`, an
///   HS256 JWT `{"csrftoken", "aud": "fastapi-users:oauth-state", "exp"}` (and `sub`, the
///   user's id, in the associate flow). The authorization URL asks for the code flow with
///   **PKCE S256** and a **`nonce`**, always. The PKCE verifier and the nonce are HMACs of the
///   CSRF token under a key derived from the app's secret: they are computed again at the
///   callback, so the verifier is never sent anywhere but to the token endpoint, and is bound
///   to the browser that started the login.
/// - **callback** checks, in this order: the provider's `error` (400 with it as `detail`), the
///   `code` (400 `OAUTH_MISSING_CODE`), the `iss` parameter when the provider sends one
///   (RFC 9207; 400 `OAUTH_INVALID_ISSUER`), the state (400 `ACCESS_TOKEN_DECODE_ERROR` or
///   `ACCESS_TOKEN_ALREADY_EXPIRED`), the cookie equal to the state's token, in constant time
///   (400 `OAUTH_INVALID_STATE`). Only then is the code redeemed (with the verifier, client
///   credentials in HTTP Basic), never following a redirect, within the deadline and size cap of
///   [`HttpOptions`]: a refusal or an unreachable provider is 502
///   `OAUTH_TOKEN_EXCHANGE_FAILED`. The ID token must be signed by the issuer's keys (the
///   resource-server code's key cache), name the issuer, be for this client (`aud`; `azp` when
///   it has several audiences), be unexpired, and carry this login's `nonce`: otherwise 400
///   `OAUTH_INVALID_ID_TOKEN`.
/// - **the user**: a provider account already linked logs its user in (its tokens refreshed).
///   Otherwise the `email` decides, from the ID token or, when it has none, from the userinfo
///   endpoint for the same `sub` (none: 400 `OAUTH_NOT_AVAILABLE_EMAIL`): an
///   unknown address makes a new user, with a random password nobody knows and
///   `is_verified = is_verified_by_default` **and** the provider's `email_verified`; a known one
///   is 400 `OAUTH_USER_ALREADY_EXISTS` unless [`associate_by_email`](OAuthProviderBuilder::associate_by_email)
///   is on **and** the provider says `email_verified: true`. That last condition is stricter
///   than fastapi-users, which links on any address the provider sends and so lets whoever
///   controls an unverified provider address take the account over. An inactive user is 400
///   `LOGIN_BAD_CREDENTIALS`, an unverified one where the manager requires verification 400
///   `LOGIN_USER_NOT_VERIFIED`; then the backend writes its token and answers as its `/login`
///   does, and the CSRF cookie is cleared.
/// - **associate** needs the logged-in user (the backend's credential, with the session rules
///   of [`CurrentUser`](super::CurrentUser): a password change ends it) at both routes, and the
///   state's `sub` must be that user (400 `Bad Request`); a provider account linked to someone
///   else is 400 `OAUTH_USER_ALREADY_EXISTS`.
///
/// # Tokens at rest
///
/// The provider's access and refresh tokens go to the `oauth_accounts` table (`oauth_name`,
/// `account_id`, `account_email`, `access_token`, `expires_at`, `refresh_token`, and the
/// user), encrypted with AES-256-GCM under a key derived from the app's secret, bound to their
/// row and column. A provider account links to one user (a unique index).
/// [`access_token`](OAuthProvider::access_token) hands the app a usable access token, refreshed
/// with the stored refresh token when it is about to expire.
#[derive(Clone)]
pub struct OAuthProvider {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    client: Client,
    keys: Keys,
    accounts: Accounts,
    redirect_url: String,
    associate_redirect_url: Option<String>,
    scopes: Vec<String>,
    associate_by_email: bool,
    is_verified_by_default: bool,
    csrf_cookie_secure: bool,
    /// Serialises refreshes of one provider account in this process (striped by account).
    refresh_locks: [tokio::sync::Mutex<()>; 32],
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("OAuthProvider")
            .field("name", &inner.name)
            .field("issuer", &inner.client.issuer)
            .field("client_id", &inner.client.client_id)
            .field("redirect_url", &inner.redirect_url)
            .field("associate_by_email", &inner.associate_by_email)
            .finish_non_exhaustive()
    }
}

/// Configures an [`OAuthProvider`]; from [`OAuthProvider::builder`].
#[must_use = "call `.build().await` to get the provider"]
pub struct OAuthProviderBuilder {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: Zeroizing<String>,
    secret: Option<Zeroizing<Vec<u8>>>,
    store: Option<UserStore>,
    redirect_url: Option<String>,
    associate_redirect_url: Option<String>,
    scopes: Vec<String>,
    associate_by_email: bool,
    is_verified_by_default: bool,
    csrf_cookie_secure: bool,
    http: HttpOptions,
    table: String,
    /// The GitHub preset's web and API base URLs; `None` for an OpenID provider.
    github: Option<(String, String)>,
    /// Made by [`OAuthProvider::github`].
    github_preset: bool,
}

impl fmt::Debug for OAuthProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProviderBuilder")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthProvider {
    /// The scopes asked for unless the authorize request names others: `openid email`.
    pub const DEFAULT_SCOPES: [&str; 2] = ["openid", "email"];

    /// Starts configuring provider `name` (the routes' path segment: lowercase ASCII letters,
    /// digits, `-` and `_`), the OpenID provider `issuer` (exactly as its discovery document
    /// writes it), and this app's client there.
    pub fn builder(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> OAuthProviderBuilder {
        OAuthProviderBuilder {
            name: name.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: Zeroizing::new(client_secret.into()),
            secret: None,
            store: None,
            redirect_url: None,
            associate_redirect_url: None,
            scopes: Self::DEFAULT_SCOPES.map(str::to_owned).to_vec(),
            associate_by_email: false,
            is_verified_by_default: false,
            csrf_cookie_secure: true,
            http: HttpOptions::default(),
            table: accounts::DEFAULT_TABLE.to_owned(),
            github: None,
            github_preset: false,
        }
    }

    /// Google's preset: provider `google`, issuer `https://accounts.google.com` (Google's ID
    /// tokens carry `email` and `email_verified` with the default scopes). Set the rest as for
    /// any provider.
    pub fn google(client_id: impl Into<String>, client_secret: impl Into<String>) -> OAuthProviderBuilder {
        Self::builder("google", "https://accounts.google.com", client_id, client_secret)
    }

    /// GitHub's preset: provider `github`, plain OAuth 2.0 with GitHub's user API, configuration
    /// only (nothing is fetched at startup). GitHub has no discovery, ID token or `nonce`:
    ///
    /// - authorize at `https://github.com/login/oauth/authorize`, with PKCE S256 as always;
    /// - the code redeemed at `https://github.com/login/oauth/access_token` (client credentials
    ///   in the form, JSON asked for; GitHub answers a refusal as 200 with an `error`, which is a
    ///   failed exchange: 502);
    /// - the account is `GET https://api.github.com/user`'s numeric `id`; the e-mail is the
    ///   primary address of `GET /user/emails`, whose `verified` is `email_verified` for
    ///   [`associate_by_email`](OAuthProviderBuilder::associate_by_email) and
    ///   [`is_verified_by_default`](OAuthProviderBuilder::is_verified_by_default);
    /// - default scope `user:email` (`openid` is not added).
    ///
    /// [`github_urls`](OAuthProviderBuilder::github_urls) points it at GitHub Enterprise Server.
    ///
    /// ```no_run
    /// # use auth_core::users::{OAuthProvider, UserStore};
    /// # async fn run(users: UserStore) -> Result<(), Box<dyn std::error::Error>> {
    /// let github = OAuthProvider::github(std::env::var("GITHUB_CLIENT_ID")?, std::env::var("GITHUB_CLIENT_SECRET")?)
    ///     .secret(std::env::var("SECRET_KEY")?)
    ///     .redirect_url("https://app.example.com/auth/github/callback")
    ///     .store(&users)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn github(client_id: impl Into<String>, client_secret: impl Into<String>) -> OAuthProviderBuilder {
        let mut builder = Self::builder("github", GITHUB_WEB, client_id, client_secret).scopes(["user:email"]);
        builder.github = Some((GITHUB_WEB.to_owned(), GITHUB_API.to_owned()));
        builder.github_preset = true;
        builder
    }

    /// The provider's name, as in its routes.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// How long before its `expires_at` a provider access token counts as expired, and is
    /// refreshed by [`OAuthProvider::access_token`]: 60 seconds.
    pub const REFRESH_SKEW_SECONDS: i64 = 60;

    /// A usable provider access token for `user` (of the account most recently logged in with),
    /// decrypted, for the app to call the provider's APIs on the user's behalf; `None` when the
    /// user has no account at this provider, or its tokens were stored under another secret.
    ///
    /// When the stored token expires within [`REFRESH_SKEW_SECONDS`](Self::REFRESH_SKEW_SECONDS)
    /// and the provider gave a refresh token, it is refreshed at the token endpoint first
    /// (RFC 6749 §6; client credentials as at login) and the new tokens are stored, encrypted as
    /// at login (a rotated refresh token replaces the old one). Concurrent calls for one account
    /// make one refresh: one call takes the account's refresh lease in the table (a
    /// compare-and-set moving its `updated_at` past the HTTP deadline, so this holds across
    /// processes sharing the table too), the others wait for its result and answer with its
    /// token. A rotated refresh token is thus never lost, nor used twice (which providers that
    /// rotate refresh tokens punish by revoking the grant). A lease whose holder died expires
    /// after the HTTP deadline and 2 seconds. A token without an `expires_at` (GitHub OAuth
    /// apps' do not expire) is returned as it is.
    ///
    /// # Errors
    ///
    /// - [`AuthError::TokenExpired`] (401): the token expired and cannot be refreshed: there is
    ///   no refresh token, or the provider refused it (revoked, expired, spent). The user must
    ///   sign in with the provider again, which stores new tokens.
    /// - [`AuthError::Unavailable`] (503): the provider could not be reached, or answered
    ///   something else than a token response; or another process's refresh did not finish in
    ///   time; or the database is unavailable (a database bug is [`AuthError::Internal`]).
    pub async fn access_token(&self, user: Uuid) -> Result<Option<Zeroizing<String>>, AuthError> {
        let inner = &*self.inner;
        let (name, keys) = (inner.name.as_str(), &inner.keys);
        let expiring = |tokens: &accounts::StoredTokens| {
            tokens.expires_at.is_some_and(|at| at <= crate::db::unix_now().saturating_add(Self::REFRESH_SKEW_SECONDS))
        };
        let Some(tokens) = inner.accounts.tokens(user, name).await? else { return Ok(None) };
        if !expiring(&tokens) {
            return Ok(tokens.access_token(name, keys));
        }
        let _one_refresh = inner.refresh_locks[lock_stripe(name, &tokens.account_id)].lock().await;
        let lease = inner.client.fetcher.timeout() + Duration::from_secs(2);
        let give_up = tokio::time::Instant::now() + lease + Duration::from_secs(1);
        loop {
            // Another call of this process, or another process, may have refreshed it.
            let Some(read) = inner.accounts.tokens(user, name).await? else { return Ok(None) };
            if !expiring(&read) {
                return Ok(read.access_token(name, keys));
            }
            if tokio::time::Instant::now() >= give_up {
                tracing::warn!(provider = %name, %user, "social login: a concurrent provider token refresh did not finish");
                return Err(AuthError::Unavailable);
            }
            let now = crate::db::unix_now();
            if read.updated_at > now {
                // Another process holds the refresh lease: its result is awaited, not raced
                // (a provider that rotates refresh tokens revokes the grant at a reuse).
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let Some(refresh_token) = read.refresh_token(name, keys) else {
                if read.access_token(name, keys).is_none() {
                    return Ok(None);
                }
                tracing::info!(provider = %name, %user, "social login: the provider token expired, and there is no refresh token");
                return Err(AuthError::TokenExpired);
            };
            let until = now.saturating_add(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX)).max(read.updated_at + 1);
            if !inner.accounts.claim(name, &read, until).await? {
                continue;
            }
            match inner.client.refresh(&refresh_token).await {
                Ok(refreshed) => {
                    if inner.accounts.refreshed(name, &read, &refreshed, keys).await? {
                        tracing::debug!(provider = %name, %user, "social login: provider token refreshed");
                        return Ok(Some(refreshed.access_token));
                    }
                    // A login stored other tokens meanwhile: they are read again.
                }
                Err(error) => {
                    inner.accounts.release(name, &read.account_id, until).await?;
                    return Err(match error {
                        client::ExchangeError::Refused(reason) => {
                            tracing::info!(provider = %name, %user, %reason, "social login: the provider refused the refresh token");
                            AuthError::TokenExpired
                        }
                        other => {
                            tracing::warn!(provider = %name, %user, error = %other, "social login: provider token refresh failed");
                            AuthError::Unavailable
                        }
                    });
                }
            }
        }
    }

    /// Creates or updates the `oauth_accounts` table (after the users table's own migration,
    /// which it refers to), as [`UserStore::migrate`] does for users.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        self.inner.accounts.migrate().await
    }
}

/// Which of [`Inner::refresh_locks`] serialises the refreshes of a provider account.
fn lock_stripe(name: &str, account_id: &str) -> usize {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    (name, account_id).hash(&mut hasher);
    (hasher.finish() % 32) as usize
}

/// github.com, where users log in and codes are redeemed.
const GITHUB_WEB: &str = "https://github.com";
/// GitHub's REST API.
const GITHUB_API: &str = "https://api.github.com";

impl OAuthProviderBuilder {
    /// The app's secret, at least 32 bytes (required). It signs the state tokens (fastapi-users'
    /// `state_secret`); the PKCE and nonce key and the key of the provider tokens at rest are
    /// derived from it (HKDF-SHA256), each for its one use. Changing it voids logins in
    /// progress and makes stored provider tokens unreadable (they are replaced at the user's
    /// next login).
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(Zeroizing::new(secret.as_ref().to_vec()));
        self
    }

    /// The users store (required): users are found and made there, and the `oauth_accounts`
    /// table lives next to it, on its pool.
    pub fn store(mut self, store: &UserStore) -> Self {
        self.store = Some(store.clone());
        self
    }

    /// The callback URL registered at the provider (required), e.g.
    /// `https://app.example.com/auth/google/callback`: the frontend page that passes `code` and
    /// `state` on to `GET /auth/{name}/callback`, or that route itself.
    pub fn redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }

    /// The associate flow's callback URL; without it the `/associate/{name}/…` routes are not
    /// mounted.
    pub fn associate_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.associate_redirect_url = Some(url.into());
        self
    }

    /// The scopes asked for by default; `openid` is always added (not for GitHub). Default
    /// [`OAuthProvider::DEFAULT_SCOPES`].
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a provider account whose e-mail belongs to an existing user is linked to that
    /// user (default `false`: 400 `OAUTH_USER_ALREADY_EXISTS`). Even when on, only an address
    /// the provider says it verified (`email_verified: true`) is linked.
    pub fn associate_by_email(mut self, on: bool) -> Self {
        self.associate_by_email = on;
        self
    }

    /// Whether new users are verified (default `false`); only when the provider also says
    /// `email_verified: true`.
    pub fn is_verified_by_default(mut self, on: bool) -> Self {
        self.is_verified_by_default = on;
        self
    }

    /// Whether the CSRF cookie is `Secure` (default `true`). Turn it off only for an app served
    /// over plain `http` on another host than `localhost` in development.
    pub fn csrf_cookie_secure(mut self, secure: bool) -> Self {
        self.csrf_cookie_secure = secure;
        self
    }

    /// The provider accounts table's name; default `oauth_accounts`. Lowercase ASCII letters,
    /// digits and `_`, not starting with a digit, at most 48 bytes. Every provider of an app
    /// may share one table.
    pub fn accounts_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// For the [GitHub preset](OAuthProvider::github) only: where GitHub's web pages
    /// (`{web}/login/oauth/authorize`, `{web}/login/oauth/access_token`) and REST API
    /// (`{api}/user`, `{api}/user/emails`) are, instead of `https://github.com` and
    /// `https://api.github.com`: GitHub Enterprise Server (`https://ghe.example.com` and
    /// `https://ghe.example.com/api/v3`), or a test double (plain `http` only on loopback).
    pub fn github_urls(mut self, web: impl Into<String>, api: impl Into<String>) -> Self {
        let web = web.into();
        if self.github_preset {
            self.issuer.clone_from(&web);
        }
        // Kept even on another provider, for `build` to refuse.
        self.github = Some((web, api.into()));
        self
    }

    /// How the provider is reached (deadline, size cap, client); see [`HttpOptions`].
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Checks the settings, discovers the provider and fetches its keys: a provider that is
    /// missing or misconfigured is a startup error, with the reason.
    pub async fn build(self) -> Result<OAuthProvider, OidcError> {
        let config = |reason: String| OidcError::Config(format!("social login `{}`: {reason}", shorten(&self.name)));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(config("the name must be lowercase ASCII letters, digits, `-` and `_`".into()));
        }
        let secret = self.secret.as_ref().ok_or_else(|| config("no secret (`.secret(…)`)".into()))?;
        if secret.len() < 32 {
            return Err(config("the secret must be at least 32 bytes".into()));
        }
        let store = self.store.as_ref().ok_or_else(|| config("no users store (`.store(…)`)".into()))?;
        let redirect_url = self.redirect_url.clone().ok_or_else(|| config("no redirect URL".into()))?;
        for url in std::iter::once(&redirect_url).chain(&self.associate_redirect_url) {
            let parsed =
                reqwest::Url::parse(url).map_err(|e| config(format!("redirect URL `{}`: {e}", shorten(url))))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.fragment().is_some() {
                return Err(config(format!("redirect URL `{}` must be http(s) without a fragment", shorten(url))));
            }
        }
        if self.client_id.is_empty() {
            return Err(config("an empty client id".into()));
        }
        let mut scopes = self.scopes.clone();
        if self.github.is_none() && !scopes.iter().any(|scope| scope == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        if let Some(bad) = scopes.iter().find(|scope| !routes::is_scope_token(scope)) {
            return Err(config(format!("`{}` is not a scope (RFC 6749 §3.3)", shorten(bad))));
        }

        let fetcher = Fetcher::new(&self.http).map_err(|error| config(format!("HTTP client: {error}")))?;
        let (issuer, authorization_endpoint, token_endpoint, protocol) = match &self.github {
            Some(_) if !self.github_preset => {
                return Err(config("`github_urls` is for the GitHub preset (`OAuthProvider::github`)".into()));
            }
            Some((web, api)) => self.github_endpoints(web, api).map_err(config)?,
            None => self.open_id_endpoints(&fetcher).await?,
        };
        let keys = Keys::derive(secret);
        let table = crate::db::table_name(self.table.clone()).map_err(|e| config(e.to_string()))?;
        let accounts = Accounts::new(store, table);
        let client = Client {
            issuer,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            authorization_endpoint,
            token_endpoint,
            fetcher,
            protocol,
        };
        Ok(OAuthProvider {
            inner: Arc::new(Inner {
                name: self.name.clone(),
                client,
                keys,
                accounts,
                redirect_url,
                associate_redirect_url: self.associate_redirect_url.clone(),
                scopes,
                associate_by_email: self.associate_by_email,
                is_verified_by_default: self.is_verified_by_default,
                csrf_cookie_secure: self.csrf_cookie_secure,
                refresh_locks: Default::default(),
            }),
        })
    }

    /// Discovers an OpenID provider: its endpoints, and an ID token verifier on its keys.
    async fn open_id_endpoints(&self, fetcher: &Fetcher) -> Result<(String, Url, Url, Protocol), OidcError> {
        let issuer_url = discovery::issuer_url(&self.issuer)?;
        let metadata = discovery::discover(fetcher, &self.issuer).await?;
        let loopback = discovery::allows_loopback_http(&issuer_url);
        let endpoint = |name: &str, url: Option<&String>| {
            let url = url
                .ok_or_else(|| OidcError::Discovery { issuer: self.issuer.clone(), reason: format!("no `{name}`") })?;
            secure_url(url, loopback)
                .map_err(|e| OidcError::Discovery { issuer: self.issuer.clone(), reason: format!("`{name}`: {e}") })
        };
        let authorization_endpoint = endpoint("authorization_endpoint", metadata.authorization_endpoint.as_ref())?;
        let token_endpoint = endpoint("token_endpoint", metadata.token_endpoint.as_ref())?;
        let userinfo_endpoint = match metadata.userinfo_endpoint.as_ref() {
            Some(url) => Some(endpoint("userinfo_endpoint", Some(url))?),
            None => None,
        };
        let id_tokens = OidcStrategy::builder(
            Issuer::new(self.issuer.clone()).audience(self.client_id.clone()).jwks_uri(metadata.jwks_uri.clone()),
        )
        .http(self.http.clone())
        .build()
        .await?;
        Ok((
            self.issuer.clone(),
            authorization_endpoint,
            token_endpoint,
            Protocol::OpenId { id_tokens, userinfo_endpoint },
        ))
    }

    /// GitHub's four endpoints under its web and API base URLs: `https`, or `http` on loopback.
    fn github_endpoints(&self, web: &str, api: &str) -> Result<(String, Url, Url, Protocol), String> {
        let join = |base: &str, path: &str| {
            let url = format!("{}{path}", base.trim_end_matches('/'));
            match secure_url(&url, true) {
                Ok(url) if url.query().is_none() => Ok(url),
                Ok(_) => Err(format!("`{}` has a query", shorten(base))),
                Err(error) => Err(format!("GitHub URL: {error}")),
            }
        };
        Ok((
            web.trim_end_matches('/').to_owned(),
            join(web, "/login/oauth/authorize")?,
            join(web, "/login/oauth/access_token")?,
            Protocol::GitHub { user: join(api, "/user")?, emails: join(api, "/user/emails")? },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_google_preset_is_configuration_only() {
        let google = OAuthProvider::google("id", "secret");
        assert_eq!((google.name.as_str(), google.issuer.as_str()), ("google", "https://accounts.google.com"));
        assert_eq!(google.scopes, ["openid", "email"]);
        assert!(!google.associate_by_email && !google.is_verified_by_default && google.csrf_cookie_secure);
        assert!(google.github.is_none() && !google.github_preset, "Google is an OpenID provider, by discovery");
    }

    #[test]
    fn the_github_preset_is_configuration_only() {
        let github = OAuthProvider::github("id", "secret");
        assert_eq!((github.name.as_str(), github.issuer.as_str()), ("github", "https://github.com"));
        assert_eq!(github.scopes, ["user:email"]);
        assert!(github.github_preset);
        let (web, api) = github.github.clone().unwrap();
        let (issuer, authorize, token, protocol) = github.github_endpoints(&web, &api).unwrap();
        assert_eq!(issuer, "https://github.com");
        assert_eq!(authorize.as_str(), "https://github.com/login/oauth/authorize");
        assert_eq!(token.as_str(), "https://github.com/login/oauth/access_token");
        let Protocol::GitHub { user, emails } = protocol else { panic!("GitHub is not an OpenID provider") };
        assert_eq!(user.as_str(), "https://api.github.com/user");
        assert_eq!(emails.as_str(), "https://api.github.com/user/emails");

        // GitHub Enterprise Server.
        let ghe = OAuthProvider::github("id", "secret")
            .github_urls("https://ghe.example.com/", "https://ghe.example.com/api/v3");
        assert_eq!(ghe.issuer, "https://ghe.example.com/");
        let (web, api) = ghe.github.clone().unwrap();
        let (issuer, authorize, _, protocol) = ghe.github_endpoints(&web, &api).unwrap();
        assert_eq!(issuer, "https://ghe.example.com");
        assert_eq!(authorize.as_str(), "https://ghe.example.com/login/oauth/authorize");
        let Protocol::GitHub { emails, .. } = protocol else { panic!() };
        assert_eq!(emails.as_str(), "https://ghe.example.com/api/v3/user/emails");
        // Plain http only on loopback; no query.
        assert!(ghe.github_endpoints("http://ghe.example.com", "https://ghe.example.com/api").is_err());
        assert!(ghe.github_endpoints("https://ghe.example.com", "https://ghe.example.com/api?x=1").is_err());
        assert!(ghe.github_endpoints("http://127.0.0.1:8080", "http://127.0.0.1:8080/api").is_ok());
    }
}
