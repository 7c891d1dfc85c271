//! `Depends<T>` where `T` is a type that is not a dependency.

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

#[derive(Clone)]
struct CurrentUser {
    name: String,
}

#[secured(scopes = ["items"])]
async fn read_items(Depends(user): Depends<CurrentUser>) -> String {
    user.name
}

fn main() {
    let _app: Router = Router::new().route("/items", get(read_items));
}
