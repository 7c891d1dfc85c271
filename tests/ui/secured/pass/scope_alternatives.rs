//! `scopes = [...] | [...]`: any one list is enough; every literal is checked.

use auth_core::{Depends, Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read information about the current user.
    #[scope("me")]
    Me,
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

#[secured(scopes = ["me"])]
async fn current_user() -> &'static str {
    "johndoe"
}

#[secured(scopes = ["items:read"] | ["admin"])]
async fn read_items(Depends(user): Depends<current_user>) -> &'static str {
    user
}

#[secured(scopes = ["items:read", "me"] | ["admin"] | ["me", "admin"])]
async fn three() -> &'static str {
    "three"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items)).route("/three", get(three));
}
