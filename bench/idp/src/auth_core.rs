//! `GET /items` behind auth-core's `OidcStrategy`: RS256 tokens of `ISSUER`, keys from its
//! discovered JWKS, `aud` = `AUDIENCE`, scope `items:read` required. Serves on `BIND_ADDR`.

use auth_core::{
    Authenticated, Scopes, secured,
    strategies::oidc::{Issuer, OidcStrategy, ProviderToken},
};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

/// The one scope of the endpoint.
#[derive(Scopes, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
}

#[secured(scopes = ["items:read"])]
async fn items(Authenticated(token): Authenticated<ProviderToken>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": token.subject() }]))
}

#[tokio::main]
async fn main() {
    let issuer = std::env::var("ISSUER").expect("ISSUER");
    let audience = std::env::var("AUDIENCE").expect("AUDIENCE");
    let strategy = OidcStrategy::builder(Issuer::new(&issuer).audience(&audience))
        .build()
        .await
        .expect("the provider");
    let app = Router::new().route("/items", get(items)).with_state(strategy);
    let listener = tokio::net::TcpListener::bind(std::env::var("BIND_ADDR").expect("BIND_ADDR")).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
