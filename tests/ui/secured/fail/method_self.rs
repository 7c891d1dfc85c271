//! `#[secured]` on a method that takes `self`.

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

struct Api;

impl Api {
    #[secured(scopes = ["items"])]
    async fn read_items(&self) -> &'static str {
        "items"
    }
}

#[secured]
async fn index() -> &'static str {
    "items"
}

fn main() {
    let _ = Api.read_items();
    let _app: Router = Router::new().route("/items", get(index));
}
