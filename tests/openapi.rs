//! The tutorial port's OpenAPI document: a reviewed snapshot, and separately the SPEC's
//! securitySchemes and per-operation security, all derived from the `#[secured]` chains.

#[path = "../examples/oauth2_scopes/app.rs"]
mod app;

use auth_core::{
    openapi::{SecurityDoc, requirement_of},
    schemes::HttpBearer,
    secured,
    strategies::jwt::Claims,
};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

const SECRET: &[u8] = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7";
const REFRESH_SECRET: &[u8] = b"a-different-secret-for-refresh-tokens-only-0123456789";

fn document() -> Value {
    let state = app::AppState::new(SECRET, REFRESH_SECRET).unwrap();
    let (_, api) = app::documented(state);
    serde_json::to_value(&api).unwrap()
}

#[test]
fn tutorial_document_snapshot() {
    insta::assert_json_snapshot!("oauth2_scopes_openapi", document());
}

#[test]
fn security_schemes_match_fastapi() {
    let doc = document();
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({
            "OAuth2PasswordBearer": {
                "type": "oauth2",
                "flows": {
                    "password": {
                        "tokenUrl": "token",
                        "scopes": {
                            "me": "Read information about the current user.",
                            "items": "Read items."
                        }
                    }
                }
            }
        })
    );
}

#[test]
fn per_operation_security_matches_fastapi() {
    let doc = document();
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/users/me/", "get"), json!([{ "OAuth2PasswordBearer": ["me"] }]));
    assert_eq!(security("/users/me/items/", "get"), json!([{ "OAuth2PasswordBearer": ["items", "me"] }]));
    assert_eq!(security("/status/", "get"), json!([{ "OAuth2PasswordBearer": [] }]));
    // The token endpoint is public.
    assert_eq!(security("/token", "post"), Value::Null);
    // The carrier extension never leaks into the document.
    assert!(!doc.to_string().contains("x-auth-core"));
}

#[test]
fn requirements_accumulate_along_the_chain() {
    let items = requirement_of::<app::read_own_items>();
    assert_eq!(items.required_scopes(), ["items", "me"]);
    assert_eq!(items.transports(), ["bearer"]);
    assert_eq!(requirement_of::<app::current_active_user>().required_scopes(), ["me"]);
    assert!(requirement_of::<app::read_system_status>().required_scopes().is_empty());
}

/// A credential that may be absent.
#[utoipa::path(get, path = "/maybe", responses((status = 200, description = "Who is asking, if anyone")))]
#[secured]
async fn maybe(claims: Option<Claims>) -> String {
    claims.and_then(|c| c.sub).unwrap_or_default()
}

#[test]
fn two_schemes_are_alternatives_and_optional_credentials_allow_none() {
    let (_, mut api) = OpenApiRouter::<app::AppState>::new()
        .routes(auth_core::routes!(app::read_own_items))
        .routes(auth_core::routes!(maybe))
        .split_for_parts();
    SecurityDoc::new()
        .scheme(app::oauth2_scheme())
        .scheme(HttpBearer::new().name("JWT").bearer_format("JWT"))
        .apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(
        doc["paths"]["/users/me/items/"]["get"]["security"],
        json!([{ "OAuth2PasswordBearer": ["items", "me"] }, { "JWT": ["items", "me"] }])
    );
    assert_eq!(doc["paths"]["/maybe"]["get"]["security"], json!([{ "OAuth2PasswordBearer": [] }, { "JWT": [] }, {}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["JWT"],
        json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" })
    );
}

#[test]
#[should_panic(expected = "security scheme `OAuth2PasswordBearer` is declared twice")]
fn duplicate_scheme_names_are_refused() {
    let _ = SecurityDoc::new().scheme(app::oauth2_scheme()).scheme(app::oauth2_scheme());
}
