//! `#[secured]` on a struct.

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

#[secured(scopes = ["items"])]
struct Items {
    count: usize,
}

#[secured]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _ = Items { count: 0 }.count;
    let _app: Router = Router::new().route("/items", get(read_items));
}
