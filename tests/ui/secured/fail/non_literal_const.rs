//! A const instead of a string literal: scopes are checked at compile time, so they must be literals.

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

const ITEMS: &str = "items";

#[secured(scopes = [ITEMS])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _ = ITEMS;
    let _app: Router = Router::new().route("/items", get(read_items));
}
