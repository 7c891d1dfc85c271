//! Every literal of every alternative is checked; an empty or repeated alternative is refused.

use auth_core::{Scopes, secured};
use axum::{Router, routing::get};

#[derive(Scopes, Clone, Copy)]
pub enum Scope {
    /// Read items.
    #[scope("items:read")]
    ItemsRead,
    /// Administer the system.
    #[scope("admin")]
    Admin,
}

#[secured(scopes = ["items:read"] | ["admn"])]
async fn misspelt() -> &'static str {
    "misspelt"
}

#[secured(scopes = ["items:read"] | [])]
async fn empty() -> &'static str {
    "empty"
}

#[secured(scopes = ["items:read", "admin"] | ["admin", "items:read"])]
async fn repeated() -> &'static str {
    "repeated"
}

#[secured(scopes = ["items:read"] | "admin")]
async fn not_a_list() -> &'static str {
    "not a list"
}

fn main() {
    let _app: Router = Router::new()
        .route("/a", get(misspelt))
        .route("/b", get(empty))
        .route("/c", get(repeated))
        .route("/d", get(not_a_list));
}
