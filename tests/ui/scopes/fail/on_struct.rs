//! `#[derive(Scopes)]` on a struct.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub struct Scope {
    items: bool,
}

#[secured(scopes = ["items"])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
