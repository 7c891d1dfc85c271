//! `#[derive(Scopes)]` on an enum with a tuple variant.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items")]
    Items,
    /// A scope per tenant.
    #[scope("tenant")]
    Tenant(u32),
}

#[secured(scopes = ["items"])]
async fn read_items() -> &'static str {
    "items"
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
