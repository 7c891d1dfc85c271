//! The hand-written baseline: the tutorial's `GET /users/me/items/` and `GET /status/` as one
//! writes them in plain axum, without auth-core.
//!
//! It does the same work as the port, step by step: take the bearer token, decode and verify it
//! with `jsonwebtoken::decode` (HS256, `exp` required, no leeway), check the granted scopes
//! against the route's (`items` and `me`), look the user up in the same kind of table (a
//! `RwLock<HashMap>` whose entry is cloned, hash and all), refuse a disabled user, and answer the
//! same JSON. Errors answer as FastAPI's tutorial does, so the two apps are interchangeable for a
//! client. What it does not have is the declarative part: the scopes are spelt out per route
//! in a marker type, and nothing is checked at compile time.

use std::{
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, RwLock},
};

use auth_core::{ScopeDeclaration, strategies::jwt::JwtStrategy};
use axum::{
    Json, Router,
    extract::FromRequestParts,
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A user as the API shows it (the port's `User`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
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

/// A user as the table stores it; cloned on lookup, as the port's `get_user` does.
#[derive(Clone, Debug)]
struct UserInDb {
    user: User,
    #[allow(dead_code)] // Kept so a lookup copies as much as the port's does.
    hashed_password: String,
    #[allow(dead_code)]
    allowed_scopes: Vec<&'static str>,
}

/// The claims the baseline reads from a token: FastAPI's shape.
#[derive(Debug, Deserialize)]
pub struct TokenClaims {
    /// The username.
    pub sub: Option<String>,
    /// The granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// How the baseline decodes a bearer token.
#[derive(Clone)]
enum Decoder {
    /// `jsonwebtoken::decode`, as one writes it by hand.
    Jsonwebtoken { key: Arc<DecodingKey>, validation: Arc<Validation> },
    /// auth-core's own `JwtStrategy::verify`: the same JWT decode as the port, so that what
    /// differs is only the dependency chain.
    AuthCore(JwtStrategy),
}

impl Decoder {
    fn decode(&self, token: &str) -> Option<TokenClaims> {
        match self {
            Decoder::Jsonwebtoken { key, validation } => {
                decode::<TokenClaims>(token, key, validation).ok().map(|t| t.claims)
            }
            Decoder::AuthCore(strategy) => strategy.verify(token).ok().map(|claims| TokenClaims {
                sub: claims.sub,
                scopes: claims.scopes,
                exp: claims.exp,
            }),
        }
    }
}

/// The baseline's state: the user table and the token decoder.
#[derive(Clone)]
pub struct BaselineState {
    users: Arc<RwLock<HashMap<String, UserInDb>>>,
    decoder: Decoder,
}

impl BaselineState {
    /// The tutorial's two users, verifying tokens signed with `secret` (HS256) with
    /// `jsonwebtoken::decode`.
    pub fn new(secret: &[u8]) -> Self {
        let decoder = Decoder::Jsonwebtoken {
            key: Arc::new(DecodingKey::from_secret(secret)),
            validation: Arc::new(validation()),
        };
        Self { users: Arc::new(RwLock::new(users())), decoder }
    }

    /// The same, verifying tokens with auth-core's `JwtStrategy::verify` instead.
    pub fn with_auth_core_jwt(strategy: JwtStrategy) -> Self {
        Self { users: Arc::new(RwLock::new(users())), decoder: Decoder::AuthCore(strategy) }
    }
}

/// The tutorial's two users: the port's `fake_users_db`, in this app's own row type (done once,
/// at start-up), so both apps serve the very same data.
fn users() -> HashMap<String, UserInDb> {
    crate::port::fake_users_db()
        .into_iter()
        .map(|(username, row)| {
            let user = User {
                username: row.user.username,
                full_name: row.user.full_name,
                email: row.user.email,
                disabled: row.user.disabled,
            };
            let allowed_scopes = row.allowed_scopes.iter().map(ScopeDeclaration::as_str).collect();
            (username, UserInDb { user, hashed_password: row.hashed_password, allowed_scopes })
        })
        .collect()
}

/// HS256, `exp` required and checked with no leeway: what auth-core's strategy enforces.
pub fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation
}

/// Why a request is refused; the responses are FastAPI's.
#[derive(Debug)]
pub enum Reject {
    /// No bearer token.
    NotAuthenticated,
    /// A token that does not verify, or names no known user.
    InvalidCredentials(&'static str),
    /// A valid token lacking a required scope.
    NotEnoughPermissions(&'static str),
    /// A disabled user.
    InactiveUser,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let (status, detail, challenge) = match self {
            Reject::NotAuthenticated => (StatusCode::UNAUTHORIZED, "Not authenticated", Some(String::from("Bearer"))),
            Reject::InvalidCredentials(scopes) => {
                (StatusCode::UNAUTHORIZED, "Could not validate credentials", Some(challenge(scopes)))
            }
            Reject::NotEnoughPermissions(scopes) => {
                (StatusCode::UNAUTHORIZED, "Not enough permissions", Some(challenge(scopes)))
            }
            Reject::InactiveUser => (StatusCode::BAD_REQUEST, "Inactive user", None),
        };
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        if let Some(value) = challenge.and_then(|value| HeaderValue::from_str(&value).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn challenge(scopes: &str) -> String {
    if scopes.is_empty() { String::from("Bearer") } else { format!("Bearer scope=\"{scopes}\"") }
}

/// The scopes a route requires, spelt out by hand.
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every scope the token must grant.
    const SCOPES: &'static [&'static str];
    /// The same, space-separated, for `WWW-Authenticate`.
    const SCOPE_STR: &'static str;
}

/// `GET /users/me/items/`: `items`, and `me` for the active-user check.
#[derive(Debug)]
pub struct ItemsScopes;

impl RequiredScopes for ItemsScopes {
    const SCOPES: &'static [&'static str] = &["items", "me"];
    const SCOPE_STR: &'static str = "items me";
}

/// `GET /status/`: any valid token.
#[derive(Debug)]
pub struct NoScopes;

impl RequiredScopes for NoScopes {
    const SCOPES: &'static [&'static str] = &[];
    const SCOPE_STR: &'static str = "";
}

/// The user the bearer token names, once the token is verified and grants `R`'s scopes.
#[derive(Debug)]
pub struct CurrentUser<R>(pub User, PhantomData<R>);

impl<R: RequiredScopes> FromRequestParts<BaselineState> for CurrentUser<R> {
    type Rejection = Reject;

    async fn from_request_parts(parts: &mut Parts, state: &BaselineState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Reject::NotAuthenticated)?;
        let claims = state.decoder.decode(token).ok_or(Reject::InvalidCredentials(R::SCOPE_STR))?;
        let username = claims.sub.ok_or(Reject::InvalidCredentials(R::SCOPE_STR))?;
        let user = state
            .users
            .read()
            .expect("user table lock")
            .get(&username)
            .cloned()
            .ok_or(Reject::InvalidCredentials(R::SCOPE_STR))?;
        if !R::SCOPES.iter().all(|required| claims.scopes.iter().any(|granted| granted == required)) {
            return Err(Reject::NotEnoughPermissions(R::SCOPE_STR));
        }
        Ok(Self(user.user, PhantomData))
    }
}

/// [`CurrentUser`], refused when disabled.
#[derive(Debug)]
pub struct CurrentActiveUser<R>(pub User, PhantomData<R>);

impl<R: RequiredScopes> FromRequestParts<BaselineState> for CurrentActiveUser<R> {
    type Rejection = Reject;

    async fn from_request_parts(parts: &mut Parts, state: &BaselineState) -> Result<Self, Self::Rejection> {
        let CurrentUser(user, _) = CurrentUser::<R>::from_request_parts(parts, state).await?;
        if user.disabled == Some(true) {
            return Err(Reject::InactiveUser);
        }
        Ok(Self(user, PhantomData))
    }
}

/// `GET /users/me/items/`.
pub async fn read_own_items(CurrentActiveUser(user, _): CurrentActiveUser<ItemsScopes>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": user.username }]))
}

/// `GET /status/`.
pub async fn read_system_status(_user: CurrentUser<NoScopes>) -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The baseline app: the two routes the benchmarks drive.
pub fn app(state: BaselineState) -> Router {
    Router::new()
        .route("/users/me/items/", get(read_own_items))
        .route("/status/", get(read_system_status))
        .with_state(state)
}
