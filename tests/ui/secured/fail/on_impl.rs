//! `#[secured]` on an impl block.

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

#[secured(scopes = ["items"])]
impl Api {
    fn name(&self) -> &'static str {
        "api"
    }
}

#[secured]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _ = Api.name();
    let _app: Router = Router::new().route("/items", get(read_items));
}
