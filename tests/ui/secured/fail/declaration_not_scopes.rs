//! `declaration = …` names an enum that does not `#[derive(Scopes)]`.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
}

#[derive(Clone, Copy)]
pub enum Permission {
    Items,
}

#[secured(scopes = ["items"], declaration = Permission)]
async fn read_items() -> &'static str {
    let _ = Permission::Items;
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
