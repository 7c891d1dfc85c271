//! A declaration needs no `Copy` (or even `Clone`): `ScopeDeclaration` only reads variants.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

#[secured(scopes = ["items"])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
