//! `#[secured]` on a generic function.

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
async fn read_items<T: Default>() -> &'static str {
    let _ = T::default();
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items::<u8>));
}
