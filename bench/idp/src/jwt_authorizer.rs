//! `GET /items` behind jwt-authorizer 0.15, configured as its README shows: RS256 tokens of
//! `ISSUER` (OIDC discovery, JWKS refreshed on an unknown `kid`), `iss` and `aud` = `AUDIENCE`
//! validated, scope `items:read` required by a claims check. Serves on `BIND_ADDR`.

use axum07::{Json, Router, routing::get};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    scope: String,
}

async fn items(JwtClaims(claims): JwtClaims<Claims>) -> Json<Value> {
    Json(json!([{ "item_id": "Foo", "owner": claims.sub }]))
}

#[tokio::main]
async fn main() {
    let issuer = std::env::var("ISSUER").expect("ISSUER");
    let audience = std::env::var("AUDIENCE").expect("AUDIENCE");
    let authorizer: Authorizer<Claims> = JwtAuthorizer::from_oidc(&issuer)
        .validation(Validation::new().iss(&[issuer.as_str()]).aud(&[audience.as_str()]))
        .check(|claims: &Claims| claims.scope.split(' ').any(|scope| scope == "items:read"))
        .build()
        .await
        .expect("the provider");
    let app = Router::new().route("/items", get(items)).layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind(std::env::var("BIND_ADDR").expect("BIND_ADDR")).await.unwrap();
    axum07::serve(listener, app).await.unwrap();
}
