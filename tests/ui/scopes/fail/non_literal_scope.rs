//! `#[scope(items)]`: the scope must be a string literal.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope(items)]
    Items,
    /// Read information about the current user.
    #[scope("me")]
    Me,
}

#[secured(scopes = ["items"])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
