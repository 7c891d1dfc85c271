//! `Depends<f>` where `f` is a plain function, not a `#[secured]` one.

use auth_core::{Depends, Scopes, secured};
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

async fn current_user() -> String {
    "johndoe".to_owned()
}

#[secured(scopes = ["items"])]
async fn read_items(Depends(user): Depends<current_user>) -> String {
    user
}

fn main() {
    let _ = current_user();
    let _app: Router = Router::new().route("/items", get(read_items));
}
