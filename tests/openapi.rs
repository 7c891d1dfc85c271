//! The tutorial port's OpenAPI document: a reviewed snapshot, and separately the SPEC's
//! securitySchemes and per-operation security, all derived from the `#[secured]` chains.

#[path = "../examples/oauth2_scopes/app.rs"]
mod app;

use app::Scope;
use auth_core::{__private::Requirement, Authenticated, openapi::SecurityDoc, secured, strategies::jwt::Claims};
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
    // Nothing of ours but the document itself.
    assert!(!doc.to_string().contains("x-auth-core"));
}

#[test]
fn the_token_endpoint_documents_its_form_and_its_422() {
    let doc = document();
    let operation = &doc["paths"]["/token"]["post"];
    assert_eq!(
        operation["requestBody"],
        json!({
            "content": { "application/x-www-form-urlencoded": {
                "schema": { "$ref": "#/components/schemas/OAuth2PasswordRequestForm" }
            } },
            "required": true
        })
    );
    let form = &doc["components"]["schemas"]["OAuth2PasswordRequestForm"];
    let fields: Vec<&str> = form["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields.len(), 6);
    for field in ["grant_type", "username", "password", "scope", "client_id", "client_secret"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert_eq!(form["required"], json!(["username", "password"]));
    assert_eq!(form["properties"]["password"]["format"], "password");
    assert_eq!(
        form["properties"]["grant_type"],
        json!({ "type": ["string", "null"], "title": "Grant Type", "pattern": "^password$" })
    );
    assert_eq!(form["properties"]["client_secret"]["format"], "password");
    assert_eq!(
        operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
    assert_eq!(
        doc["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]["items"]["$ref"],
        "#/components/schemas/ValidationError"
    );
    assert_eq!(doc["components"]["schemas"]["ValidationError"]["required"], json!(["loc", "msg", "type"]));
}

#[test]
fn requirements_accumulate_along_the_chain() {
    let claims = || auth_core::__private::CredentialRef::of::<Claims>();
    let scopes = |requirement: &auth_core::__private::Requirement| -> Vec<Vec<&'static str>> {
        requirement
            .alternatives()
            .iter()
            .map(|alternative| {
                let entries: Vec<_> = alternative.entries().collect();
                assert_eq!(entries.len(), 1);
                assert_eq!(*entries[0].0, claims());
                entries[0].1.to_vec()
            })
            .collect()
    };
    assert_eq!(scopes(Requirement::of::<app::read_own_items>()), [["items", "me"]]);
    assert_eq!(scopes(Requirement::of::<app::current_active_user>()), [["me"]]);
    assert_eq!(scopes(Requirement::of::<app::read_system_status>()), [Vec::<&str>::new()]);
    assert!(Requirement::of::<app::login_for_access_token>().is_anonymous());
}

// Two handlers on one path, each with its own requirement (issue: the last one used to be
// stamped on every operation of the path).
#[utoipa::path(get, path = "/items/{id}", responses((status = 200, description = "The item")))]
#[secured(scopes = ["items"])]
async fn get_item(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[utoipa::path(post, path = "/items/{id}", responses((status = 201, description = "Stored")))]
#[secured(scopes = ["me"])]
async fn post_item(Authenticated(claims): Authenticated<Claims>) -> String {
    claims.sub.unwrap_or_default()
}

#[utoipa::path(delete, path = "/items/{id}", responses((status = 204, description = "Gone")))]
#[secured]
async fn delete_item() {}

#[test]
fn handlers_sharing_a_path_keep_their_own_requirements() {
    let (_, mut api) = OpenApiRouter::<app::AppState>::new()
        .routes(auth_core::routes!(get_item, post_item, delete_item))
        .split_for_parts();
    SecurityDoc::new().scheme::<Claims>(app::oauth2_scheme()).apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    let item = &doc["paths"]["/items/{id}"];
    assert_eq!(item["get"]["security"], json!([{ "OAuth2PasswordBearer": ["items"] }]));
    assert_eq!(item["post"]["security"], json!([{ "OAuth2PasswordBearer": ["me"] }]));
    assert_eq!(item["delete"]["security"], Value::Null);
}

/// A credential that may be absent.
#[utoipa::path(get, path = "/maybe", responses((status = 200, description = "Who is asking, if anyone")))]
#[secured]
async fn maybe(claims: Option<Authenticated<Claims>>) -> String {
    claims.and_then(|c| c.0.sub).unwrap_or_default()
}

#[test]
fn an_optional_credential_allows_anonymous_requests() {
    let (_, mut api) = OpenApiRouter::<app::AppState>::new().routes(auth_core::routes!(maybe)).split_for_parts();
    SecurityDoc::new().scheme::<Claims>(app::oauth2_scheme()).apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(doc["paths"]["/maybe"]["get"]["security"], json!([{ "OAuth2PasswordBearer": [] }, {}]));
}

#[test]
fn without_a_description_a_credential_documents_its_default_scheme() {
    let (_, mut api) = OpenApiRouter::<app::AppState>::new().routes(auth_core::routes!(maybe)).split_for_parts();
    SecurityDoc::new().apply(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["OAuth2PasswordBearer"],
        json!({ "type": "oauth2", "flows": { "password": { "tokenUrl": "token", "scopes": {} } } })
    );
}

#[test]
#[should_panic(expected = "is described twice")]
fn a_credential_is_described_once() {
    let _ = SecurityDoc::new().scheme::<Claims>(app::oauth2_scheme()).scheme::<Claims>(app::oauth2_scheme());
}
