//! The resource server's routes: items and an admin page, guarded by scopes that an OpenID
//! provider grants, with the RFC 9728 metadata and the OpenAPI document.
//!
//! Errors are RFC 6750's: a missing or invalid token is 401 (`Not authenticated` /
//! `Could not validate credentials`, `WWW-Authenticate: Bearer …, error="invalid_token"`), a
//! token without the scope is 403 with `error="insufficient_scope"` and the scope required, and
//! every challenge carries `resource_metadata`. Clients of a resource server (MCP clients among
//! them) read these to know whether to get a new token or ask for more scope.
//!
//! The example binary and its test both include this module.
#![allow(unreachable_pub)]

use auth_core::{
    AuthError, Authenticated, Scopes,
    openapi::{SecurityDoc, swagger_ui},
    resource_metadata::ProtectedResourceMetadata,
    secured,
    strategies::oidc::{OidcStrategy, ProviderToken},
};
use axum::{Json, Router, http::StatusCode, middleware::map_response};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// What a token may allow here; the doc comments are the descriptions in OpenAPI.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
    /// Create items.
    #[scope("items:write")]
    ItemsWrite,
    /// Administer the API.
    #[scope("admin")]
    Admin,
}

#[derive(OpenApi)]
#[openapi(info(title = "Resource server", version = "0.1.0"))]
struct ApiDoc;

/// The items of the token's subject.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "The caller's items")))]
#[secured(scopes = ["items:read"])]
pub async fn read_items(Authenticated(token): Authenticated<ProviderToken>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": token.subject() }]))
}

/// Creates an item.
#[utoipa::path(post, path = "/items", responses((status = 201, description = "Created")))]
#[secured(scopes = ["items:write"])]
pub async fn create_item(Authenticated(token): Authenticated<ProviderToken>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "item_id": "Bar", "owner": token.subject() })))
}

/// The admin page.
#[utoipa::path(get, path = "/admin", responses((status = 200, description = "For administrators")))]
#[secured(scopes = ["admin"])]
pub async fn admin(_token: Authenticated<ProviderToken>) -> Json<Value> {
    Json(json!({ "admin": true }))
}

/// The app: `resource` is this API's identifier (the audience of its tokens), and the issuers of
/// `strategy` are its authorization servers.
pub fn app(strategy: OidcStrategy, resource: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(auth_core::routes!(read_items, create_item))
        .routes(auth_core::routes!(admin))
        .split_for_parts();
    // The credential documents itself; the app only says where its provider is.
    SecurityDoc::new().scheme::<ProviderToken>(strategy.openapi_scheme()).apply(&mut api);
    let mut metadata = ProtectedResourceMetadata::new(resource)?.scopes::<Scope>().resource_name("Resource server");
    for issuer in strategy.issuers() {
        metadata = metadata.authorization_server(issuer);
    }
    let router = router.with_state(strategy).merge(swagger_ui(api)).layer(map_response(AuthError::rfc6750));
    Ok(metadata.install(router))
}
