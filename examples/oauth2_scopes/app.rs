//! FastAPI's "OAuth2 scopes" tutorial, written the way auth-core wants it written.
//!
//! Every piece of the Python original is here under the same name: the scopes, the fake user
//! database with the tutorial's bcrypt hashes, `get_current_user` (here `current_user`), which
//! decodes the token, `current_active_user`, which adds the `me` scope, and the four routes.
//! What is gone is the manual loop over `security_scopes.scopes`: the scopes are declared once
//! and enforced by the library, and a misspelt scope does not compile.
//!
//! The example binary and the integration tests both include this module, and each uses a
//! different part of it.
#![allow(unreachable_pub, dead_code)]

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use auth_core::{
    AuthError, Authenticated, Depends, OAuth2PasswordRequestForm, RefreshTokenRequest, ScopeDeclaration, Scopes,
    SecurityScopes,
    logging::ClientAddr,
    openapi::{SecurityDoc, swagger_ui},
    password::Passwords,
    response::TokenResponse,
    secured,
    strategies::{
        jwt::{Claims, JwtError, JwtKey, JwtStrategy},
        refresh::{MemoryFamilyStore, ReloadUser, TokenPair, TokenPairIssuer},
    },
    transport::OAuth2PasswordBearer,
};
use axum::{
    Json, Router,
    extract::{FromRef, State},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// `oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", scopes={...})`: the scopes, each
/// declared once, with the description Swagger UI shows.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
}

/// `ACCESS_TOKEN_EXPIRE_MINUTES = 30`.
pub const ACCESS_TOKEN_EXPIRE: Duration = Duration::from_secs(30 * 60);

/// A user as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct User {
    /// The login name.
    pub username: String,
    /// The display name.
    pub full_name: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// Whether the account is disabled.
    pub disabled: Option<bool>,
}

/// A user as the database stores it.
#[derive(Clone, Debug)]
pub struct UserInDb {
    /// What the API shows.
    pub user: User,
    /// argon2id (or, until the first login, the tutorial's bcrypt) PHC string.
    pub hashed_password: String,
    /// The scopes this user may be granted; the tutorial's "Danger" box, heeded.
    pub allowed_scopes: Vec<Scope>,
}

/// `fake_users_db`, seeded with the tutorial's users and bcrypt hashes.
pub fn fake_users_db() -> HashMap<String, UserInDb> {
    let user = |username: &str, full_name: &str, email: &str, hash: &str, disabled: bool| {
        let user = User {
            username: username.to_owned(),
            full_name: Some(full_name.to_owned()),
            email: Some(email.to_owned()),
            disabled: Some(disabled),
        };
        (
            username.to_owned(),
            UserInDb { user, hashed_password: hash.to_owned(), allowed_scopes: vec![Scope::Me, Scope::Items] },
        )
    };
    HashMap::from([
        user(
            "johndoe",
            "John Doe",
            "johndoe@example.com",
            "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW",
            false,
        ),
        user(
            "alice",
            "Alice Chains",
            "alicechains@example.com",
            "$2b$12$gSvqqUPvlXP2tfVFaWK1Be7DlH.PKZbv5H8KnzzVgXXbVxpva.pFm",
            true,
        ),
    ])
}

/// Everything the handlers share, behind one `Arc` as axum recommends: every dependency that
/// takes `State<AppState>` clones it, and that should cost one reference count, not six.
#[derive(Clone)]
pub struct AppState(Arc<App>);

/// What [`AppState`] shares.
pub struct App {
    /// The user database.
    pub users: Arc<RwLock<HashMap<String, UserInDb>>>,
    /// Issues and verifies access tokens (HS256, 30 minutes).
    pub jwt: JwtStrategy,
    /// Issues and rotates access + refresh token pairs.
    pub pairs: TokenPairIssuer<MemoryFamilyStore>,
    /// argon2id hashing off the async workers.
    pub passwords: Passwords,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl FromRef<AppState> for JwtStrategy {
    fn from_ref(state: &AppState) -> Self {
        state.jwt.clone()
    }
}

impl AppState {
    /// The app's state. Access and refresh tokens are signed with separate secrets (each at
    /// least 32 bytes), so one can never pass for the other.
    pub fn new(secret_key: &[u8], refresh_secret_key: &[u8]) -> Result<Self, JwtError> {
        let jwt = JwtStrategy::builder(JwtKey::hs256(secret_key)).lifetime(ACCESS_TOKEN_EXPIRE).build()?;
        let refresh = JwtStrategy::builder(JwtKey::hs256(refresh_secret_key))
            .lifetime(TokenPairIssuer::DEFAULT_REFRESH_LIFETIME)
            .token_type(JwtStrategy::REFRESH_TOKEN_TYPE)
            .build()?;
        let users = fake_users_db();
        let passwords = Passwords::builder().build();
        // The users still have the tutorial's bcrypt hashes: teach the hasher what one costs
        // before the first login, so that no login answers faster than a bcrypt user's would.
        for user in users.values() {
            passwords.calibrate(&user.hashed_password);
        }
        Ok(Self(Arc::new(App {
            users: Arc::new(RwLock::new(users)),
            pairs: TokenPairIssuer::builder(MemoryFamilyStore::default()).strategies(jwt.clone(), refresh).build()?,
            jwt,
            passwords,
        })))
    }

    fn get_user(&self, username: &str) -> Option<UserInDb> {
        self.users.read().expect("user table lock").get(username).cloned()
    }

    /// `authenticate_user`: the user, if the password is right. An unknown username costs what
    /// a known one costs, and an outdated hash is upgraded on the way. A failed login is logged
    /// (username and client address, never the password).
    async fn authenticate_user(
        &self,
        username: &str,
        password: &str,
        client: ClientAddr,
    ) -> Result<UserInDb, AuthError> {
        let user = self.get_user(username);
        let verified =
            self.passwords.verify_and_upgrade(password, user.as_ref().map(|u| u.hashed_password.as_str())).await?;
        let Some(user) = user.filter(|_| verified.valid) else {
            client.login_failed("token", username);
            return Err(AuthError::IncorrectLogin);
        };
        if let Some(rehash) = verified.rehash {
            if let Some(stored) = self.users.write().expect("user table lock").get_mut(username) {
                stored.hashed_password = rehash;
            }
            tracing::info!(username, "upgraded the password hash to argon2id");
        }
        Ok(user)
    }
}

/// What a refresh asks about the user: still there and not disabled, with the scopes it may
/// have now. A disabled user's refresh fails and ends the session.
impl ReloadUser for AppState {
    async fn reload_user(&self, subject: &str) -> Result<Option<Vec<String>>, AuthError> {
        Ok(self
            .get_user(subject)
            .filter(|user| user.user.disabled != Some(true))
            .map(|user| user.allowed_scopes.iter().map(|scope| scope.as_str().to_owned()).collect()))
    }
}

/// The OAuth2 scheme this app documents; `/openapi.json` describes it.
pub fn oauth2_scheme() -> OAuth2PasswordBearer {
    OAuth2PasswordBearer::new::<Scope>("token")
}

/// `get_current_user`: the user the bearer token names. The token is verified, and its scopes
/// checked against everything that depends on this function, by `Authenticated<Claims>`;
/// what is left is the lookup.
#[secured]
pub async fn current_user(
    State(app): State<AppState>,
    security_scopes: SecurityScopes,
    Authenticated(claims): Authenticated<Claims>,
) -> Result<User, AuthError> {
    let credentials_exception = || AuthError::InvalidCredentials { scopes: security_scopes.clone() };
    let username = claims.sub.as_deref().ok_or_else(credentials_exception)?;
    let user = app.get_user(username).ok_or_else(credentials_exception)?;
    Ok(user.user)
}

/// `get_current_active_user`, which needs the `me` scope.
#[secured(scopes = ["me"])]
pub async fn current_active_user(Depends(current_user): Depends<current_user>) -> Result<User, AuthError> {
    if current_user.disabled == Some(true) {
        return Err(AuthError::InactiveUser);
    }
    Ok(current_user)
}

/// `POST /token`: the OAuth2 password flow. `TokenResponse` is the tutorial's `Token`
/// (`{"access_token": …, "token_type": "bearer"}`), sent with `Cache-Control: no-store`.
// `#[secured]` on a handler that reads no credential only describes it: its form becomes the
// documented request body, with the 422 it answers. (A doc comment here would become the
// operation's description, which FastAPI's document does not have.)
#[utoipa::path(post, path = "/token", summary = "Login For Access Token", responses(
    (status = 200, description = "Successful Response", body = TokenResponse),
    (status = 400, description = "Incorrect username or password"),
))]
#[secured]
pub async fn login_for_access_token(
    State(app): State<AppState>,
    client: ClientAddr,
    form_data: OAuth2PasswordRequestForm,
) -> Result<TokenResponse, AuthError> {
    let user = app.authenticate_user(&form_data.username, &form_data.password, client).await?;
    let scopes = form_data.scopes_within(user.allowed_scopes.iter().map(Scope::as_str));
    let access_token = app.jwt.issue(&user.user.username, &scopes)?;
    Ok(TokenResponse::bearer(access_token))
}

/// `POST /token/pair`: the same login, answered with an access + refresh pair.
pub async fn login_for_token_pair(
    State(app): State<AppState>,
    client: ClientAddr,
    form_data: OAuth2PasswordRequestForm,
) -> Result<TokenPair, AuthError> {
    let user = app.authenticate_user(&form_data.username, &form_data.password, client).await?;
    let scopes = form_data.scopes_within(user.allowed_scopes.iter().map(Scope::as_str));
    app.pairs.issue_pair(&user.user.username, &scopes).await
}

/// `POST /refresh` with `{"refresh_token": "…"}`, as the refresh-token seed writes it: rotates
/// the pair, after checking that the user may still log in (and with the scopes it may still
/// have). Replaying a rotated-out refresh token revokes its family.
pub async fn refresh(State(app): State<AppState>, request: RefreshTokenRequest) -> Result<TokenPair, AuthError> {
    app.pairs.refresh(&request.refresh_token, &app).await
}

/// `GET /users/me/`.
#[utoipa::path(get, path = "/users/me/", summary = "Read Users Me", responses((status = 200, description = "Successful Response", body = User)))]
#[secured]
pub async fn read_users_me(Depends(current_user): Depends<current_active_user>) -> Json<User> {
    Json(current_user)
}

/// `GET /users/me/items/`, which needs `items` (and, through `current_active_user`, `me`).
#[utoipa::path(get, path = "/users/me/items/", summary = "Read Own Items", responses((status = 200, description = "Successful Response")))]
#[secured(scopes = ["items"])]
pub async fn read_own_items(Depends(current_user): Depends<current_active_user>) -> Json<serde_json::Value> {
    Json(serde_json::json!([{ "item_id": "Foo", "owner": current_user.username }]))
}

/// `GET /status/`: any valid token, no scope.
#[utoipa::path(get, path = "/status/", summary = "Read System Status", responses((status = 200, description = "Successful Response")))]
#[secured]
pub async fn read_system_status(Depends(_current_user): Depends<current_user>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The document's info, as FastAPI's defaults.
#[derive(OpenApi)]
#[openapi(info(title = "FastAPI", version = "0.1.0"))]
struct ApiDoc;

/// The tutorial's documented routes, and the OpenAPI document generated from them.
///
/// Security is never written here: each operation's `security` comes from the `#[secured]`
/// chain of its handler, and the description of the `Claims` credential's scheme from
/// [`oauth2_scheme`].
pub fn documented(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(auth_core::routes!(login_for_access_token))
        .routes(auth_core::routes!(read_users_me))
        .routes(auth_core::routes!(read_own_items))
        .routes(auth_core::routes!(read_system_status))
        .split_for_parts();
    SecurityDoc::new().scheme::<Claims>(oauth2_scheme()).apply(&mut api);
    // utoipa fills these from Cargo.toml; FastAPI's document has neither.
    api.info.description = None;
    api.info.license = None;
    (router.with_state(state), api)
}

/// The tutorial's app: its routes (each also without the trailing slash), the refresh-token
/// routes, `/openapi.json` and Swagger UI at `/docs`.
pub fn app(state: AppState) -> Router {
    let (documented, api) = documented(state.clone());
    let extra = Router::new()
        .route("/token/pair", post(login_for_token_pair))
        .route("/refresh", post(refresh))
        .route("/users/me", get(read_users_me))
        .route("/users/me/items", get(read_own_items))
        .route("/status", get(read_system_status))
        .with_state(state);
    documented.merge(extra).merge(swagger_ui(api))
}
