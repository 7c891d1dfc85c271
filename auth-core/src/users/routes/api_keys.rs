//! The API key routes for users: mint, list, revoke and rotate their own keys, and for
//! superusers, anyone's.

use std::time::Duration;

use axum::{
    Router,
    extract::{FromRef, Path, RawQuery, State, rejection::PathRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, post},
};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::{
    error::{AuthError, respond},
    response::forbid_caching,
    security::{ScopeDeclaration, credential::AuthenticateSet},
    strategies::{ApiKey, ApiKeys},
    users::{
        CurrentUser, UserBackends, UserHooks, UserManager, UsersError, ValidationError,
        body::JsonObject,
        current::{RouteRequirement, UserPrincipal},
        openapi,
    },
};

impl ApiKeys {
    /// The API key routes for the users of `H`, authenticated by backend `B` (or a tuple of
    /// them), minting keys with scopes of declaration `D`; nest it at `/api-keys`. Every route
    /// answers 401 without an active user, as the users routes do.
    ///
    /// - `POST /` `{"name", "scopes": [...], "expires_in": seconds or null}`: 201 with the key's
    ///   listing and `"key"`, the key itself, shown this once (`Cache-Control: no-store`). A
    ///   scope `D` does not declare: 422. A scope the owner does not hold (the row's
    ///   `users:superuser`, for a superuser): 403. A superuser may add `"owner": "<user id>"`.
    /// - `GET /`: the caller's keys (a superuser: `?owner=<user id>`), never the keys nor their
    ///   hashes: each with its prefix and last 4 characters.
    /// - `DELETE /{id}`: revokes the key, 204; 404 for a key that is not the caller's (unless a
    ///   superuser's) or does not exist.
    /// - `POST /{id}/rotate` `{"overlap": seconds}` (default 0): 201 with a new key of the same
    ///   owner, name, scopes and expiry; the old one stays valid for the overlap. 409 for a
    ///   revoked or expired key.
    ///
    /// Keys cannot mint keys unless `B` includes `ApiKeys`: give `B` the users' own backends.
    pub fn router<H, B, D, S>() -> OpenApiRouter<S>
    where
        H: UserHooks,
        B: UserBackends<H>,
        B::Credentials: AuthenticateSet<S>,
        D: ScopeDeclaration + Send + Sync,
        UserManager<H>: FromRef<S>,
        ApiKeys: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        let router = Router::new()
            .route("/", post(create::<H, B, D>).get(list::<H, B>))
            .route("/{id}", delete(revoke::<H, B>))
            .route("/{id}/rotate", post(rotate::<H, B>));
        document::<H, B, S>(router)
    }
}

/// The owner a superuser names (`owner`), or the caller; `Forbidden` for anyone else's.
async fn owner<H: UserHooks>(
    manager: &UserManager<H>,
    caller: &crate::users::User<H::Fields>,
    named: Option<&str>,
) -> Result<crate::users::User<H::Fields>, UsersError> {
    let Some(named) = named else { return Ok(caller.clone()) };
    let Ok(id) = Uuid::parse_str(named) else {
        return Err(UsersError::Validation(vec![ValidationError::field(
            "uuid_parsing",
            "owner",
            "Input should be a valid UUID",
        )]));
    };
    if id == caller.id {
        return Ok(caller.clone());
    }
    if !caller.is_superuser {
        return Err(UsersError::Forbidden);
    }
    manager.get(id).await.map_err(|_| UsersError::Auth(AuthError::Unavailable))?.ok_or(UsersError::NotFound)
}

/// A minted key's answer: 201, its listing and the key, never cached.
fn minted(key: String, listed: &ApiKey) -> Response {
    #[derive(serde::Serialize)]
    struct Minted<'a> {
        #[serde(flatten)]
        listed: &'a ApiKey,
        key: String,
    }
    let mut response = (StatusCode::CREATED, axum::Json(Minted { listed, key })).into_response();
    forbid_caching(&mut response);
    response
}

fn object(body: JsonObject) -> Map<String, Value> {
    match body {
        JsonObject::Object(map) => map,
        JsonObject::Absent | JsonObject::NotObject => Map::new(),
    }
}

/// `expires_in` or `overlap`: absent, `null`, or a whole number of seconds.
fn seconds(map: &mut Map<String, Value>, name: &str, errors: &mut Vec<ValidationError>) -> Option<Duration> {
    match map.remove(name) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|s| s > 0 || name == "overlap") => {
            n.as_u64().map(Duration::from_secs)
        }
        Some(_) => {
            errors.push(ValidationError::field("int_type", name, "Input should be a positive whole number of seconds"));
            None
        }
    }
}

async fn create<H: UserHooks, B, D: ScopeDeclaration>(
    State(keys): State<ApiKeys>,
    State(manager): State<UserManager<H>>,
    caller: CurrentUser<B, H>,
    body: JsonObject,
) -> Result<Response, UsersError> {
    let mut map = object(body);
    let mut errors = Vec::new();
    let name = match map.remove("name") {
        Some(Value::String(name)) => Some(name),
        None => {
            errors.push(ValidationError::field("missing", "name", "Field required"));
            None
        }
        Some(_) => {
            errors.push(ValidationError::field("string_type", "name", "Input should be a valid string"));
            None
        }
    };
    let mut scopes: Vec<D> = Vec::new();
    match map.remove("scopes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().and_then(D::from_scope_str) {
                    Some(scope) => scopes.push(scope),
                    None => {
                        let known: Vec<&str> = D::ALL.iter().map(|info| info.name).collect();
                        errors.push(ValidationError::field(
                            "literal_error",
                            "scopes",
                            format!("Input should be one of: {}", known.join(", ")),
                        ));
                    }
                }
            }
        }
        Some(_) => errors.push(ValidationError::field("list_type", "scopes", "Input should be a valid list")),
    }
    let expires_in = seconds(&mut map, "expires_in", &mut errors);
    let named = match map.remove("owner") {
        None | Some(Value::Null) => None,
        Some(Value::String(owner)) => Some(owner),
        Some(_) => {
            errors.push(ValidationError::field("string_type", "owner", "Input should be a valid string"));
            None
        }
    };
    let Some(name) = name.filter(|_| errors.is_empty()) else { return Err(UsersError::Validation(errors)) };
    let owner = owner(&manager, &caller, named.as_deref()).await?;
    let held = UserPrincipal::new(owner.clone()).scopes().to_vec();
    match keys.mint(&owner.id.to_string(), &held, &name, &scopes, expires_in).await {
        Ok((key, listed)) => Ok(minted(key, &listed)),
        Err(AuthError::InsufficientScope { scopes }) => Ok(respond(
            StatusCode::FORBIDDEN,
            format!("A key cannot grant scopes its owner does not hold: {}", scopes.scope_str()),
            None,
            None,
        )),
        Err(AuthError::InvalidForm { errors }) => Err(UsersError::Validation(
            errors.into_iter().map(|e| ValidationError::field(e.kind, e.field, e.message)).collect(),
        )),
        Err(error) => Err(UsersError::Auth(error)),
    }
}

async fn list<H: UserHooks, B>(
    State(keys): State<ApiKeys>,
    State(manager): State<UserManager<H>>,
    caller: CurrentUser<B, H>,
    RawQuery(query): RawQuery,
) -> Result<Response, UsersError> {
    let named = query.as_deref().and_then(|query| {
        form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "owner").map(|(_, value)| value.into_owned())
    });
    let owner = owner(&manager, &caller, named.as_deref()).await?;
    let listed = keys.list(&owner.id.to_string()).await.map_err(UsersError::Auth)?;
    Ok(axum::Json(listed).into_response())
}

/// Key `id` if the caller may manage it: theirs, or any for a superuser; `NotFound` otherwise,
/// so that a key id says nothing about whose it is.
async fn managed<H: UserHooks>(
    keys: &ApiKeys,
    caller: &crate::users::User<H::Fields>,
    id: Result<Path<String>, PathRejection>,
) -> Result<ApiKey, UsersError> {
    let Ok(Path(id)) = id else { return Err(UsersError::NotFound) };
    let key = keys.get(&id).await.map_err(UsersError::Auth)?.ok_or(UsersError::NotFound)?;
    if key.owner != caller.id.to_string() && !caller.is_superuser {
        return Err(UsersError::NotFound);
    }
    Ok(key)
}

async fn revoke<H: UserHooks, B>(
    State(keys): State<ApiKeys>,
    caller: CurrentUser<B, H>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, UsersError> {
    let key = managed::<H>(&keys, &caller, id).await?;
    keys.revoke(&key.id).await.map_err(UsersError::Auth)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate<H: UserHooks, B>(
    State(keys): State<ApiKeys>,
    caller: CurrentUser<B, H>,
    id: Result<Path<String>, PathRejection>,
    body: JsonObject,
) -> Result<Response, UsersError> {
    let key = managed::<H>(&keys, &caller, id).await?;
    let mut map = object(body);
    let mut errors = Vec::new();
    let overlap = seconds(&mut map, "overlap", &mut errors).unwrap_or(Duration::ZERO);
    if !errors.is_empty() {
        return Err(UsersError::Validation(errors));
    }
    match keys.rotate(&key.id, overlap).await {
        Ok((new, listed)) => Ok(minted(new, &listed)),
        Err(AuthError::InvalidToken) => {
            Ok(respond(StatusCode::CONFLICT, "The key is revoked or expired: mint a new one", None, None))
        }
        Err(error) => Err(UsersError::Auth(error)),
    }
}

/// The routes' OpenAPI description; each operation's `security` from the route's requirement.
fn document<H, B, S>(router: Router<S>) -> OpenApiRouter<S>
where
    H: UserHooks,
    B: UserBackends<H>,
    S: Clone + Send + Sync + 'static,
{
    let unauthorized = json!({ "description": "Missing token or inactive user." });
    let not_found = json!({ "description": "No such key of the caller's." });
    let listed = json!({ "$ref": "#/components/schemas/ApiKey" });
    let minted = json!({
        "description": "The key, shown this once, and its listing.",
        "content": { "application/json": { "schema": { "allOf": [listed, {
            "type": "object", "required": ["key"],
            "properties": { "key": { "type": "string", "title": "Key" } }
        }] } } }
    });
    let id = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "title": "Id" } }]);
    let seconds = json!({ "anyOf": [{ "type": "integer", "minimum": 0 }, { "type": "null" }] });
    let paths = json!({
        "/": {
            "post": openapi::operation("api-keys", "Api Keys:Create", "api_keys:create", json!({
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["name"],
                    "properties": {
                        "name": { "type": "string", "minLength": 1, "maxLength": 100, "title": "Name" },
                        "scopes": { "type": "array", "items": { "type": "string" }, "title": "Scopes" },
                        "expires_in": seconds,
                        "owner": { "anyOf": [{ "type": "string", "format": "uuid" }, { "type": "null" }] }
                    }
                } } } },
                "responses": {
                    "201": minted, "401": unauthorized,
                    "403": { "description": "A scope the owner does not hold, or another user's key for a user who is not a superuser." },
                    "422": crate::openapi::validation_error_response()
                }
            })),
            "get": openapi::operation("api-keys", "Api Keys:List", "api_keys:list", json!({
                "parameters": [{ "name": "owner", "in": "query", "required": false, "schema": { "type": "string", "format": "uuid" } }],
                "responses": {
                    "200": { "description": "The keys, without secrets.", "content": { "application/json": {
                        "schema": { "type": "array", "items": listed }
                    } } },
                    "401": unauthorized, "403": { "description": "Another user's keys, for a user who is not a superuser." }
                }
            }))
        },
        "/{id}": {
            "delete": openapi::operation("api-keys", "Api Keys:Revoke", "api_keys:revoke", json!({
                "parameters": id,
                "responses": { "204": { "description": "The key is revoked." }, "401": unauthorized, "404": not_found }
            }))
        },
        "/{id}/rotate": {
            "post": openapi::operation("api-keys", "Api Keys:Rotate", "api_keys:rotate", json!({
                "parameters": id,
                "requestBody": { "required": false, "content": { "application/json": { "schema": {
                    "type": "object", "properties": { "overlap": seconds }
                } } } },
                "responses": {
                    "201": minted, "401": unauthorized, "404": not_found,
                    "409": { "description": "The key is revoked or expired." },
                    "422": crate::openapi::validation_error_response()
                }
            }))
        }
    });
    let when = |title: &str| json!({ "anyOf": [{ "type": "integer" }, { "type": "null" }], "title": title });
    let mut schemas = json!({
        "ApiKey": {
            "type": "object",
            "title": "ApiKey",
            "required": ["id", "owner", "name", "prefix", "last4", "scopes", "created_at"],
            "properties": {
                "id": { "type": "string", "title": "Id" },
                "owner": { "type": "string", "title": "Owner" },
                "name": { "type": "string", "title": "Name" },
                "prefix": { "type": "string", "title": "Prefix" },
                "last4": { "type": "string", "title": "Last4" },
                "scopes": { "type": "array", "items": { "type": "string" }, "title": "Scopes" },
                "created_at": { "type": "integer", "title": "Created At" },
                "expires_at": when("Expires At"),
                "revoked_at": when("Revoked At"),
                "last_used_at": when("Last Used At")
            }
        }
    });
    for (name, schema) in crate::openapi::validation_error_schemas() {
        openapi::merge(&mut schemas, json!({ name: schema }));
    }
    let requirement = crate::openapi::document_operation::<RouteRequirement<H, B, false>>;
    openapi::documented(
        router,
        paths,
        json!({ "schemas": schemas }),
        &[("/", requirement), ("/{id}", requirement), ("/{id}/rotate", requirement)],
    )
}
