//! The same scope listed twice in one attribute.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items")]
    Items,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

#[secured(scopes = ["items", "me", "items"])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
